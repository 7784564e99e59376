#include "base/ipc.h"

#include <errno.h>
#include <stdio.h>
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

json_t *ipc_parse(const char *buf, size_t n, const char **payload, size_t *payload_len,
                  json_error_t *jerr) {
  /* JSON text holds no raw NUL: the first one ends the header. */
  const char *z = memchr(buf, '\0', n);
  size_t head = z ? (size_t)(z - buf) : n;
  *payload = z ? z + 1 : NULL;
  *payload_len = z ? n - head - 1 : 0;
  json_t *msg = json_loadb(buf, head, 0, jerr);
  if (msg && !json_is_object(msg)) {
    json_decref(msg);
    snprintf(jerr->text, sizeof jerr->text, "%s", "not a JSON object");
    return NULL;
  }
  return msg;
}

json_t *ipc_read(ipc_reader *r, int fd, bool wait, ipc_status *st) {
  if (!r->buf)
    r->buf = xmalloc(IPC_MAX + 1);
  r->payload = NULL;
  r->payload_len = 0;
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
  r->buf[n] = '\0'; /* ends the payload, as wire_decode expects */
  json_error_t jerr;
  json_t *msg = ipc_parse(r->buf, (size_t)n, &r->payload, &r->payload_len, &jerr);
  if (!msg) {
    log_kv(SLOG_ERROR, "ipc_malformed", KV_S("msg", jerr.text));
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
