/* credential_process: the command a profile names, run directly (no shell),
 * its words split as the AWS CLI splits them (Python's shlex.split in POSIX
 * mode), with a time limit and a bounded answer. Its stdout is the version 1
 * JSON of the AWS CLI ({"Version": 1, "AccessKeyId": …, "SecretAccessKey":
 * …, "SessionToken": …, "Expiration": …}); its stderr goes to the log, line
 * by line, so an operator sees why a helper failed. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "aws.h"
#include "client_internal.h"
#include "codec.h"
#include "common/util.h"

#define PROCESS_TIMEOUT_MS 30000
#define PROCESS_MAX_OUT (64u << 10)
#define PROCESS_MAX_ERR (8u << 10)
#define PROCESS_MAX_WORDS 64

typedef struct words {
  char *v[PROCESS_MAX_WORDS + 1];
  size_t n;
} words;

static void words_free(words *w) {
  for (size_t i = 0; i < w->n; i++)
    free(w->v[i]);
  w->n = 0;
}

static bool push_word(words *w, sbuf *cur) {
  if (w->n == PROCESS_MAX_WORDS)
    return false;
  w->v[w->n++] = sbuf_steal(cur);
  w->v[w->n] = NULL;
  return true;
}

/* shlex.split(s) with posix=True, comments off: white space separates;
 * '…' is literal; in "…" a backslash escapes only " and \; elsewhere a
 * backslash escapes any character. NULL on success, else the error. */
static const char *split_words(const char *s, words *w) {
  sbuf cur = {0};
  bool in_word = false;
  char quote = 0;
  const char *err = NULL;
  for (const char *p = s;; p++) {
    char ch = *p;
    if (quote) {
      if (!ch) {
        err = "no closing quotation";
        break;
      }
      if (ch == quote)
        quote = 0;
      else if (quote == '"' && ch == '\\' && (p[1] == '"' || p[1] == '\\'))
        sbuf_addc(&cur, *++p);
      else
        sbuf_addc(&cur, ch);
      continue;
    }
    if (!ch || strchr(" \t\r\n", ch)) {
      if (in_word && !push_word(w, &cur)) {
        err = "too many words";
        break;
      }
      in_word = false;
      if (!ch)
        break;
    } else if (ch == '\'' || ch == '"') {
      quote = ch;
      in_word = true;
    } else if (ch == '\\') {
      if (!p[1]) {
        err = "no escaped character after the last backslash";
        break;
      }
      sbuf_addc(&cur, *++p);
      in_word = true;
    } else {
      sbuf_addc(&cur, ch);
      in_word = true;
    }
  }
  sbuf_free(&cur);
  if (!err && !w->n)
    err = "empty command";
  if (err)
    words_free(w);
  return err;
}

typedef struct child {
  pid_t pid;
  int out, err; /* read ends */
} child;

static bool spawn(const words *w, child *ch, int *spawn_errno) {
  int po[2], pe[2], px[2];
  if (pipe2(po, O_CLOEXEC) != 0)
    return false;
  if (pipe2(pe, O_CLOEXEC) != 0 || pipe2(px, O_CLOEXEC) != 0) {
    close(po[0]);
    close(po[1]);
    return false;
  }
  pid_t pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(po[1], 1);
    dup2(pe[1], 2);
    /* Nothing else of the worker's (its socket to the main process above
     * all) reaches the helper; the error pipe closes on exec. */
    fcntl(px[1], F_SETFD, FD_CLOEXEC);
    close_range(3, px[1] > 3 ? (unsigned)px[1] - 1 : 2, 0);
    close_range((unsigned)px[1] + 1, ~0u, 0);
    execvp(w->v[0], w->v);
    int e = errno;
    (void)!write(px[1], &e, sizeof e);
    _exit(127);
  }
  close(po[1]);
  close(pe[1]);
  close(px[1]);
  *spawn_errno = 0;
  if (pid > 0 && read(px[0], spawn_errno, sizeof *spawn_errno) != (ssize_t)sizeof *spawn_errno)
    *spawn_errno = 0;
  close(px[0]);
  if (pid < 0) {
    close(po[0]);
    close(pe[0]);
    return false;
  }
  ch->pid = pid;
  ch->out = po[0];
  ch->err = pe[0];
  return true;
}

/* Reads stdout and stderr until both close, the deadline passes or stdout
 * grows past its bound. Returns "" or what went wrong. */
static const char *collect(child *ch, unsigned timeout_ms, sbuf *out, sbuf *err) {
  uint64_t deadline = mono_ms() + timeout_ms;
  struct pollfd fds[2] = {{ch->out, POLLIN, 0}, {ch->err, POLLIN, 0}};
  char buf[4096];
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    uint64_t now = mono_ms();
    if (now >= deadline)
      return "timed out";
    int n = poll(fds, 2, (int)(deadline - now));
    if (n < 0 && errno != EINTR)
      return "poll failed";
    for (int i = 0; n > 0 && i < 2; i++) {
      if (fds[i].fd < 0 || !fds[i].revents)
        continue;
      ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        *(i == 0 ? &ch->out : &ch->err) = -1;
        continue;
      }
      sbuf *dst = i == 0 ? out : err;
      size_t max = i == 0 ? PROCESS_MAX_OUT : PROCESS_MAX_ERR;
      if (dst->len + (size_t)got > max) {
        if (i == 0)
          return "printed more than 64 KiB";
        got = (ssize_t)(max - dst->len); /* stderr: keep the start */
      }
      sbuf_add(dst, buf, (size_t)got);
    }
  }
  return "";
}

static void log_stderr(aws_client *c, const char *profile, const sbuf *err) {
  if (!err->len)
    return;
  char *copy = utf8_sanitize(err->p, err->len), *save = NULL;
  for (char *line = strtok_r(copy, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save))
    AWS_LOG(c, SLOG_WARN, "aws_credential_process_stderr", KV_S("profile", profile),
            KV_S("line", line));
  free(copy);
}

static bool parse_answer(const sbuf *out, const char *src, aws_creds *cr, sbuf *why) {
  json_error_t je;
  json_t *j = json_loadb(out->p ? out->p : "", out->len, 0, &je);
  const json_t *ver = json_object_get(j, "Version");
  const char *akid = json_string_value(json_object_get(j, "AccessKeyId"));
  const char *sec = json_string_value(json_object_get(j, "SecretAccessKey"));
  const char *tok = json_string_value(json_object_get(j, "SessionToken"));
  const char *exp = json_string_value(json_object_get(j, "Expiration"));
  int64_t t = 0;
  bool ok = false;
  if (!json_is_object(j))
    sbuf_addf(why, "its output is not a JSON object (%s)", je.text);
  else if (!json_is_integer(ver) || json_integer_value(ver) != 1)
    sbuf_adds(why, "its output's Version is not 1");
  else if (!akid || !*akid || !sec || !*sec)
    sbuf_adds(why, "its output lacks AccessKeyId or SecretAccessKey");
  else if (exp && !aws_parse_iso8601(exp, &t))
    sbuf_addf(why, "its output's Expiration \"%s\" is not an ISO 8601 time", exp);
  else {
    creds_fill(cr, akid, sec, tok, t, src);
    ok = true;
  }
  if (sec)
    OPENSSL_cleanse((char *)sec, strlen(sec));
  if (tok)
    OPENSSL_cleanse((char *)tok, strlen(tok));
  json_decref(j);
  return ok;
}

static void describe_end(sbuf *why, int status, const sbuf *err) {
  if (WIFEXITED(status))
    sbuf_addf(why, "exited with status %d", WEXITSTATUS(status));
  else if (WIFSIGNALED(status))
    sbuf_addf(why, "was killed by signal %d", WTERMSIG(status));
  if (err->len) {
    size_t n = strcspn(err->p, "\r\n");
    char *first = utf8_sanitize(err->p, n > 200 ? 200 : n);
    sbuf_addf(why, ": %s", first);
    free(first);
  }
}

src_result creds_process(aws_client *c, const char *profile, const char *cmdline, const char *where,
                         aws_creds *out, sbuf *why) {
  words w = {0};
  sbuf o = {0}, e = {0};
  src_result r = SRC_STOP;
  sbuf_addf(why, "profile \"%s\": credential_process (%s) ", profile, where);
  const char *serr = split_words(cmdline, &w);
  if (serr) {
    sbuf_addf(why, "cannot be split into words: %s", serr);
    goto out;
  }
  child ch;
  int spawn_errno = 0;
  if (!spawn(&w, &ch, &spawn_errno)) {
    sbuf_addf(why, "could not be started: %s", strerror(errno));
    goto out;
  }
  const char *cerr =
      collect(&ch, c->process_timeout_ms ? c->process_timeout_ms : PROCESS_TIMEOUT_MS, &o, &e);
  if (*cerr)
    kill(ch.pid, SIGKILL);
  if (ch.out >= 0)
    close(ch.out);
  if (ch.err >= 0)
    close(ch.err);
  int status = 0;
  while (waitpid(ch.pid, &status, 0) < 0 && errno == EINTR) {
  }
  log_stderr(c, profile, &e);
  if (spawn_errno)
    sbuf_addf(why, "could not run %s: %s", w.v[0], strerror(spawn_errno));
  else if (*cerr)
    sbuf_addf(why, "%s (%s)", cerr, w.v[0]);
  else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    describe_end(why, status, &e);
  else if (parse_answer(&o, "", out, why))
    r = SRC_FOUND;
out:
  if (o.p)
    OPENSSL_cleanse(o.p, o.len);
  sbuf_free(&o);
  sbuf_free(&e);
  words_free(&w);
  return r;
}
