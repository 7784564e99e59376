#include "worker/recycle.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "slashd/plugin.h"

/* This process's /proc/self/status fields, one read(2) for all of them: a
 * thread count and, in kB, the peak and current resident size (-1 each
 * when unknown). Once per job, so no stdio and no directory walk. */
typedef struct self_status {
  long threads, hwm_kb, rss_kb;
} self_status;

static long status_field(const char *text, const char *name) {
  const char *at = strstr(text, name);
  return at ? strtol(at + strlen(name), NULL, 10) : -1;
}

static self_status read_status(void) {
  self_status st = {-1, -1, -1};
  char buf[8192];
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return st;
  size_t len = 0;
  ssize_t n;
  while (len < sizeof buf - 1 && (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
    len += (size_t)n;
  close(fd);
  buf[len] = '\0';
  st.threads = status_field(buf, "\nThreads:");
  st.hwm_kb = status_field(buf, "\nVmHWM:");
  st.rss_kb = status_field(buf, "\nVmRSS:");
  return st;
}

static int count_threads(void) {
  return (int)read_status().threads;
}

#if defined(__SANITIZE_THREAD__)
static void *tsan_noop(void *arg) {
  return arg;
}

/* ThreadSanitizer starts a background thread of its own with a process's
 * first pthread_create: start it here, so that it is in the baseline
 * rather than blamed on the plugin whose thread came first. */
static void tsan_settle(void) {
  pthread_t t;
  if (pthread_create(&t, NULL, tsan_noop, NULL) == 0)
    pthread_join(t, NULL);
}
#endif

void recycle_start(recycle *r, const config *c) {
  memset(r, 0, sizeof *r);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  if (c->worker_memory_mb > 0) {
    rlim_t lim = (rlim_t)c->worker_memory_mb * 1024 * 1024;
    struct rlimit rl = {.rlim_cur = lim, .rlim_max = lim};
    r->limited = setrlimit(RLIMIT_DATA, &rl) == 0;
    if (r->limited)
      log_kv(SLOG_DEBUG, "worker_memory_limit", KV_I("mb", c->worker_memory_mb));
  }
#endif
#if defined(__SANITIZE_THREAD__)
  tsan_settle();
#endif
  r->base_threads = count_threads();
}

bool recycle_out_of_memory(const recycle *r, const config *c, int status) {
  if (!r->limited)
    return false;
  if (status == SLASHD_ERR_NOMEM)
    return true;
  long peak = read_status().hwm_kb;
  return peak >= 0 && peak / 1024 + 8 >= c->worker_memory_mb;
}

recycle_verdict recycle_check(recycle *r, const config *c, const char *plugin, bool oom) {
  r->jobs++;
  self_status st = read_status();
  int threads = (int)st.threads;
  /* A thread of the host's own (libcurl's resolver) may take a moment to
   * end after the job's last request. */
  for (int i = 0; i < 10 && r->base_threads > 0 && threads > r->base_threads; i++) {
    usleep(10000);
    threads = count_threads();
  }
  if (r->base_threads > 0 && threads > r->base_threads) {
    int left = threads - r->base_threads;
    snprintf(r->why, sizeof r->why, "plugin %s left %d thread%s running", plugin, left,
             left == 1 ? "" : "s");
    log_kv(SLOG_ERROR, "plugin_threads_left", KV_S("plugin", plugin), KV_I("threads", left),
           KV_S("msg", "plugins must not start threads; the worker is replaced"));
    return RECYCLE_NOW;
  }
  if (oom) {
    snprintf(r->why, sizeof r->why, "a job ran out of memory (limit %d MB)", c->worker_memory_mb);
    return RECYCLE_AFTER;
  }
  long rss = st.rss_kb;
  if (c->worker_recycle_mb > 0 && rss >= 0 && rss / 1024 > c->worker_recycle_mb) {
    snprintf(r->why, sizeof r->why, "resident size %ld MB is over worker_recycle_mb %d", rss / 1024,
             c->worker_recycle_mb);
    return RECYCLE_AFTER;
  }
  if (c->worker_max_jobs > 0 && r->jobs >= c->worker_max_jobs) {
    snprintf(r->why, sizeof r->why, "ran %ld jobs (worker_max_jobs)", r->jobs);
    return RECYCLE_AFTER;
  }
  return RECYCLE_NO;
}
