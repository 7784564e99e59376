#include "worker/fanout.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "base/log.h"
#include "base/message.h"
#include "base/util.h"

#define CHILD_OUTPUT_MAX (64 * 1024)

typedef struct region_run {
  const char *region;
  pid_t pid;
  int fd; /* read end, -1 when done */
  sbuf out;
  bool started, done;
} region_run;

/* In the child: replies are collected, interims dropped (one message in the
 * end is all a fan-out may show). */
typedef struct child_sink {
  sbuf text;
  bool error;
} child_sink;

static void child_emit(void *ud, unsigned flags, bool interim, const char *text) {
  child_sink *cs = ud;
  if (interim)
    return;
  if (cs->text.len)
    sbuf_addc(&cs->text, '\n');
  sbuf_adds(&cs->text, text);
  if (flags & SLASHD_REPLY_ERROR)
    cs->error = true;
}

static void child_main(aws_glue *g, slashd_call *call, const char *region, int fd, int argc,
                       const char *const *argv) {
  awsglue_forked(g);
  child_sink cs = {0};
  slashd_call c = *call;
  c.caller.region = region;
  c.label = NULL; /* the section names the region */
  c.sink = (call_sink){.emit = child_emit, .ud = &cs};
  c.posts = c.interims = 0;
  c.error_reported = false;
  slashd_status st = call_run(&c, argc, argv);
  json_t *m = json_pack("{s:i, s:b, s:s}", "status", (int)st, "error", cs.error || c.error_reported,
                        "text", cs.text.p ? cs.text.p : "");
  char *s = m ? json_dumps(m, JSON_COMPACT) : NULL;
  bool ok = s && write_all(fd, s, strlen(s));
  _exit(ok ? 0 : 1);
}

static bool start_one(aws_glue *g, slashd_call *call, region_run *r, int argc,
                      const char *const *argv) {
  int p[2];
  r->started = true;
  if (pipe(p) != 0)
    return false;
  pid_t pid = fork();
  if (pid < 0) {
    close(p[0]);
    close(p[1]);
    return false;
  }
  if (pid == 0) {
    close(p[0]);
    child_main(g, call, r->region, p[1], argc, argv);
  }
  close(p[1]);
  r->pid = pid;
  r->fd = p[0];
  return true;
}

/* Reads what is there; false at EOF (or too much). */
static bool drain(region_run *r) {
  char buf[4096];
  ssize_t n = read(r->fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return true;
  if (n > 0 && r->out.len + (size_t)n <= CHILD_OUTPUT_MAX) {
    sbuf_add(&r->out, buf, (size_t)n);
    return true;
  }
  return false;
}

static void finish(region_run *r, bool kill_it) {
  if (r->fd >= 0)
    close(r->fd);
  r->fd = -1;
  if (r->pid > 0) {
    if (kill_it)
      kill(r->pid, SIGKILL);
    while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR) {
    }
  }
  r->pid = 0;
  r->done = true;
}

/* Waits for output of the running children until all are done or the
 * deadline passes; starts the next region whenever one finishes. */
static void run_all(aws_glue *g, slashd_call *call, region_run *rs, size_t n, int argc,
                    const char *const *argv) {
  size_t next = 0, running = 0;
  for (;;) {
    while (running < FANOUT_PARALLEL && next < n) {
      if (start_one(g, call, &rs[next], argc, argv))
        running++;
      else
        rs[next].done = true;
      next++;
    }
    if (running == 0)
      return;
    struct pollfd pf[FANOUT_PARALLEL];
    region_run *who[FANOUT_PARALLEL];
    nfds_t np = 0;
    for (size_t i = 0; i < n; i++)
      if (rs[i].started && !rs[i].done) {
        pf[np] = (struct pollfd){.fd = rs[i].fd, .events = POLLIN};
        who[np++] = &rs[i];
      }
    long left = call->deadline_ms ? (long)(call->deadline_ms - mono_ms()) : 60000;
    if (left <= 0 || poll(pf, np, (int)(left > 1000 ? 1000 : left)) < 0) {
      if (left > 0 && errno == EINTR)
        continue;
      for (nfds_t i = 0; i < np; i++)
        finish(who[i], true); /* out of time: what has not answered is cut off */
      return;
    }
    for (nfds_t i = 0; i < np; i++)
      if (pf[i].revents && !drain(who[i])) {
        finish(who[i], false);
        running--;
      }
  }
}

static void add_section(sbuf *b, const region_run *r, bool *all_ok, bool *any_error) {
  json_t *m = r->out.len ? json_loadb(r->out.p, r->out.len, 0, NULL) : NULL;
  const char *text = json_string_value(json_object_get(m, "text"));
  int status = (int)json_integer_value(json_object_get(m, "status"));
  sbuf_addf(b, "%s*%s*\n", b->len ? "\n" : "", r->region);
  if (!m) {
    sbuf_adds(b, ":warning: no answer from this region in time.");
    *all_ok = false;
  } else if (text && *text) {
    size_t cut = strlen(text);
    if (utf8_count(text) > FANOUT_SECTION_MAX) {
      cut = FANOUT_SECTION_MAX;
      while (cut > 0 && ((unsigned char)text[cut] & 0xc0) == 0x80)
        cut--;
    }
    sbuf_add(b, text, cut);
    if (cut < strlen(text))
      sbuf_adds(b, "… " TRUNCATED_MARK);
  } else {
    sbuf_addf(b, "failed: %s.", status_text((slashd_status)status));
  }
  if (m && status != SLASHD_OK)
    *all_ok = false;
  if (json_is_true(json_object_get(m, "error")))
    *any_error = true;
  json_decref(m);
}

slashd_status fanout_run(aws_glue *g, slashd_call *call, char *const *regions, size_t n, int argc,
                         const char *const *argv) {
  region_run *rs = xcalloc(n ? n : 1, sizeof *rs);
  for (size_t i = 0; i < n; i++) {
    rs[i].region = regions[i];
    rs[i].fd = -1;
  }
  log_kv(SLOG_INFO, "fanout", KV_S("req", call->caller.request_id), KV_U("regions", n));
  run_all(g, call, rs, n, argc, argv);
  sbuf b = {0};
  bool all_ok = true, any_error = false;
  for (size_t i = 0; i < n; i++) {
    add_section(&b, &rs[i], &all_ok, &any_error);
    sbuf_free(&rs[i].out);
  }
  free(rs);
  char *text = sbuf_steal(&b);
  /* Each section is already final Slack text: only the whole is cut. */
  char *final = hostapi_add_label(call, message_text(SLASHD_REPLY_MRKDWN, text, NULL));
  call->sink.emit(call->sink.ud, SLASHD_REPLY_MRKDWN, false, final);
  call->posts++;
  free(final);
  free(text);
  /* A region that failed says so in its section; the answer as a whole
   * went out. */
  call->error_reported = !all_ok || any_error;
  return SLASHD_OK;
}
