#include "worker/output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#include <sanitizer/common_interface_defs.h>
#endif

#include "base/log.h"
#include "base/util.h"

/* A pipe whose write end becomes `target` (1 or 2); returns the read end. */
static int redirect(int target) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0)
    return -1;
  fcntl(p[1], F_SETPIPE_SZ, OUTPUT_PIPE_BYTES);
  fcntl(p[0], F_SETFL, O_NONBLOCK);
  fcntl(p[1], F_SETFL, O_NONBLOCK);
  if (dup2(p[1], target) < 0) {
    close(p[0]);
    close(p[1]);
    return -1;
  }
  close(p[1]);
  return p[0];
}

bool output_capture(plugin_output *po) {
  po->out_r = po->err_r = -1;
  int logfd = fcntl(2, F_DUPFD_CLOEXEC, 3);
  if (logfd < 0)
    return false;
  log_set_fd(logfd);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  __sanitizer_set_report_fd((void *)(intptr_t)logfd);
#endif
  po->out_r = redirect(1);
  po->err_r = redirect(2);
  return po->out_r >= 0 || po->err_r >= 0;
}

typedef struct drain_state {
  const char *plugin, *req, *stream;
  unsigned lines, dropped;
  size_t dropped_bytes;
} drain_state;

static void one_line(drain_state *d, const char *p, size_t n) {
  if (d->lines >= OUTPUT_LINES_PER_JOB) {
    d->dropped++;
    d->dropped_bytes += n;
    return;
  }
  d->lines++;
  bool cut = n > OUTPUT_LINE_MAX;
  size_t keep = cut ? OUTPUT_LINE_MAX : n;
  while (cut && keep > 0 && ((unsigned char)p[keep] & 0xc0) == 0x80)
    keep--;
  char *line = utf8_sanitize(p, keep);
  log_kv(SLOG_INFO, "plugin_output", KV_S("plugin", d->plugin), KV_S("req", d->req),
         KV_S("stream", d->stream), KV_S("line", line), KV_B("cut", cut));
  free(line);
}

/* Reads what the pipe holds now and logs it line by line. */
static void drain_fd(int fd, drain_state *d) {
  sbuf pending = {0};
  char buf[65536];
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    sbuf_add(&pending, buf, (size_t)r);
    size_t start = 0;
    for (size_t i = 0; i < pending.len; i++) {
      if (pending.p[i] == '\n') {
        one_line(d, pending.p + start, i - start);
        start = i + 1;
      }
    }
    /* Keep an unfinished line for the next read (bounded: cut it). */
    size_t rest = pending.len - start;
    if (rest > OUTPUT_LINE_MAX * 4) {
      one_line(d, pending.p + start, rest);
      rest = 0;
      start = pending.len;
    }
    memmove(pending.p, pending.p + start, rest);
    pending.len = rest;
  }
  if (pending.len)
    one_line(d, pending.p, pending.len);
  sbuf_free(&pending);
}

void output_drain(plugin_output *po, const char *plugin, const char *req) {
  fflush(stdout);
  fflush(stderr);
  /* A write that found a pipe full failed: the stream may write again. */
  clearerr(stdout);
  clearerr(stderr);
  drain_state d = {.plugin = plugin ? plugin : "-", .req = req ? req : "-"};
  if (po->out_r >= 0) {
    d.stream = "stdout";
    drain_fd(po->out_r, &d);
  }
  if (po->err_r >= 0) {
    d.stream = "stderr";
    drain_fd(po->err_r, &d);
  }
  if (d.dropped)
    log_kv(SLOG_WARN, "plugin_output_dropped", KV_S("plugin", d.plugin), KV_S("req", d.req),
           KV_U("lines", d.dropped), KV_U("bytes", d.dropped_bytes),
           KV_S("msg", "more output than a job may log; plugins should reply or log, not print"));
}
