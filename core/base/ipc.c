#include "base/ipc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

bool ipc_pair(int fds[2]) {
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0)
    return false;
  int size = IPC_MAX + 4096;
  for (int i = 0; i < 2; i++) {
    setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  return true;
}

bool ipc_send_text(int fd, const char *s, size_t n) {
  if (n > IPC_MAX) {
    log_kv(SLOG_ERROR, "ipc_too_large", KV_U("bytes", n));
    return false;
  }
  ssize_t w;
  do {
    w = send(fd, s, n, MSG_NOSIGNAL);
  } while (w < 0 && errno == EINTR);
  return w == (ssize_t)n;
}

bool ipc_send(int fd, const json_t *msg) {
  char *s = json_dumps(msg, JSON_COMPACT);
  if (!s)
    return false;
  bool ok = ipc_send_text(fd, s, strlen(s));
  free(s);
  return ok;
}

json_t *ipc_recv(int fd, bool *eof) {
  *eof = false;
  /* Peek at the datagram's size first (MSG_TRUNC gives the real length for
   * AF_UNIX sequenced packets), then read exactly that. */
  ssize_t len;
  do {
    len = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
  } while (len < 0 && errno == EINTR);
  if (len <= 0) {
    /* EOF, or the socket is broken: either way nothing more will come. */
    *eof = true;
    return NULL;
  }
  char *buf = xmalloc((size_t)len + 1);
  ssize_t r;
  do {
    r = recv(fd, buf, (size_t)len + 1, 0);
  } while (r < 0 && errno == EINTR);
  json_t *msg = NULL;
  if (r == 0) {
    *eof = true;
  } else if (r > IPC_MAX) {
    log_kv(SLOG_ERROR, "ipc_too_large", KV_I("bytes", r));
  } else if (r > 0) {
    json_error_t jerr;
    msg = json_loadb(buf, (size_t)r, 0, &jerr);
    if (!json_is_object(msg)) {
      log_kv(SLOG_ERROR, "ipc_malformed", KV_S("msg", jerr.text));
      json_decref(msg);
      msg = NULL;
    }
  } else {
    *eof = true;
  }
  free(buf);
  return msg;
}

json_t *ipc_read(ipc_reader *r, int fd, bool wait, ipc_status *st) {
  if (!r->buf)
    r->buf = xmalloc(IPC_MAX + 1);
  /* One byte more than the largest message: a longer datagram is cut
   * (MSG_TRUNC reports its real length) and refused. */
  ssize_t n;
  do {
    n = recv(fd, r->buf, IPC_MAX + 1, MSG_TRUNC | (wait ? 0 : MSG_DONTWAIT));
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    *st = IPC_AGAIN;
    return NULL;
  }
  if (n <= 0) {
    *st = IPC_EOF;
    return NULL;
  }
  if (n > IPC_MAX) {
    log_kv(SLOG_ERROR, "ipc_too_large", KV_I("bytes", n));
    *st = IPC_BAD;
    return NULL;
  }
  json_error_t jerr;
  json_t *msg = json_loadb(r->buf, (size_t)n, 0, &jerr);
  if (!json_is_object(msg)) {
    log_kv(SLOG_ERROR, "ipc_malformed", KV_S("msg", jerr.text));
    json_decref(msg);
    *st = IPC_BAD;
    return NULL;
  }
  *st = IPC_MSG;
  return msg;
}

void ipc_reader_free(ipc_reader *r) {
  free(r->buf);
  r->buf = NULL;
}
