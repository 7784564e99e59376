#include "base/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "base/log.h"
#include "base/safefile.h"
#include "base/util.h"

struct audit {
  pthread_mutex_t mu;
  char *path; /* NULL: lines go to the log; set once at open */
  int fd;     /* guarded by mu: a reload reopens it while pool threads write */
};

audit *audit_open(const char *path, char **err) {
  audit *a = xcalloc(1, sizeof *a);
  pthread_mutex_init(&a->mu, NULL);
  a->fd = -1;
  if (path) {
    char *why = NULL;
    a->fd = safefile_append(path, &why);
    if (a->fd < 0) {
      *err = xasprintf("[audit] file %s", why);
      free(why);
      audit_close(a);
      return NULL;
    }
    a->path = xstrdup(path);
  }
  return a;
}

void audit_close(audit *a) {
  if (!a)
    return;
  if (a->fd >= 0)
    close(a->fd);
  free(a->path);
  pthread_mutex_destroy(&a->mu);
  free(a);
}

bool audit_reopen(audit *a, char **err) {
  if (!a || !a->path)
    return true;
  char *why = NULL;
  int fd = safefile_append(a->path, &why);
  if (fd < 0) {
    *err = xasprintf("[audit] file %s", why);
    free(why);
    return false;
  }
  pthread_mutex_lock(&a->mu);
  int old = a->fd;
  a->fd = fd;
  pthread_mutex_unlock(&a->mu);
  if (old >= 0) {
    fdatasync(old);
    close(old);
  }
  return true;
}

static const char *nz(const char *s) {
  return s ? s : "";
}

/* One JSON line, appended and fsync'd; takes `line`. */
static void write_line(audit *a, json_t *line, const char *req) {
  char *out = line ? json_dumps(line, JSON_COMPACT) : NULL;
  json_decref(line);
  if (!out)
    return;
  size_t n = strlen(out);
  out[n] = '\n'; /* the terminating NUL becomes the newline: one write */
  pthread_mutex_lock(&a->mu);
  bool ok = write_all(a->fd, out, n + 1) && fdatasync(a->fd) == 0;
  pthread_mutex_unlock(&a->mu);
  if (!ok)
    log_kv(SLOG_ERROR, "audit_write_failed", KV_S("file", a->path), KV_S("msg", strerror(errno)),
           KV_S("req", req));
  free(out);
}

void audit_job(audit *a, const job *j, job_outcome o, uint64_t duration_us) {
  const char *identity = j->identity ? j->identity : "none";
  double ms = (double)duration_us / 1000.0;
  if (!a || !a->path) {
    log_kv(SLOG_INFO, "audit", KV_S("req", j->id), KV_I("accepted", j->accepted_wall),
           KV_S("team", j->team_id), KV_S("user", j->user_id), KV_S("channel", j->channel_id),
           KV_S("text", j->text), KV_S("plugin", j->plugin), KV_S("cmd", j->cmd),
           KV_S("identity", identity), KV_S("session", nz(j->session)),
           KV_S("outcome", job_outcome_name(o)), KV_D("ms", ms));
    return;
  }
  char ts[32];
  struct tm tm;
  time_t t = (time_t)j->accepted_wall;
  gmtime_r(&t, &tm);
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
  char *text = utf8_sanitize(nz(j->text), strlen(nz(j->text)));
  json_t *line =
      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:f}", "time", ts,
                "request_id", j->id, "team", nz(j->team_id), "user", nz(j->user_id), "user_name",
                nz(j->user_name), "channel", nz(j->channel_id), "text", text, "plugin",
                nz(j->plugin), "command", nz(j->cmd), "identity", identity, "session",
                nz(j->session), "outcome", job_outcome_name(o), "duration_ms", ms);
  free(text);
  write_line(a, line, j->id);
}

static void now_iso(char ts[32]) {
  struct tm tm;
  time_t t = time(NULL);
  gmtime_r(&t, &tm);
  strftime(ts, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void audit_confirm(audit *a, const audit_confirm_line *l) {
  if (!a || !a->path) {
    log_kv(SLOG_INFO, "audit", KV_S("event", l->event), KV_S("req", nz(l->request_id)),
           KV_S("team", nz(l->team_id)), KV_S("user", nz(l->user_id)), KV_S("by", nz(l->actor_id)),
           KV_S("channel", nz(l->channel_id)), KV_S("text", nz(l->text)),
           KV_S("region", nz(l->region)), KV_S("account", nz(l->account)),
           KV_S("detail", nz(l->detail)));
    return;
  }
  char ts[32];
  now_iso(ts);
  char *text = utf8_sanitize(nz(l->text), strlen(nz(l->text)));
  json_t *line =
      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "time", ts, "event",
                l->event, "request_id", nz(l->request_id), "team", nz(l->team_id), "user",
                nz(l->user_id), "by", nz(l->actor_id), "channel", nz(l->channel_id), "text", text,
                "region", nz(l->region), "account", nz(l->account), "detail", nz(l->detail));
  free(text);
  write_line(a, line, nz(l->request_id));
}
