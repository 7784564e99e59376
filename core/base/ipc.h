/* Messages between the main process and its workers: one JSON object per
 * SOCK_SEQPACKET datagram, so boundaries are kept by the kernel; a message
 * that carries raw bytes (base/wire.h: a reply's text) has them after its
 * header and one NUL byte. */
#ifndef SLASHD_IPC_H
#define SLASHD_IPC_H

#include <stdbool.h>

#include <jansson.h>

#define IPC_MAX (256 * 1024)

/* A connected SOCK_SEQPACKET pair, both ends close-on-exec. */
bool ipc_pair(int fds[2]);
/* Sends one message (blocking, no SIGPIPE). False on error (peer gone). */
bool ipc_send(int fd, const json_t *msg);
/* Sends one message already written as JSON text (s[0..n)). */
bool ipc_send_text(int fd, const char *s, size_t n);

/* A receive buffer for one thread's loop: one recv(2) per message instead of
 * a peek at its size and then the read. The IPC_MAX + 1 bytes are allocated
 * on first use; only the pages a message touches become resident. */
typedef struct ipc_reader {
  char *buf;
  /* The last message's bytes after its header's NUL (NULL: none), NUL-
   * terminated in buf; valid until the next read. */
  const char *payload;
  size_t payload_len;
} ipc_reader;

typedef enum {
  IPC_MSG,   /* a message */
  IPC_AGAIN, /* nothing queued (wait = false only) */
  IPC_BAD,   /* an oversized or malformed message, dropped */
  IPC_EOF,   /* the peer is gone, or the socket broke */
} ipc_status;

/* Receives one message through r. With wait = false it does not block and
 * says IPC_AGAIN when nothing is queued. Returns the message (a new
 * reference) only with IPC_MSG. */
json_t *ipc_read(ipc_reader *r, int fd, bool wait, ipc_status *st);
/* One datagram buf[0..n), with buf[n] == '\0': the header parsed (a new
 * reference, or NULL with jerr->text when it is not a JSON object) and the
 * bytes after its first NUL, if any, in *payload / *payload_len. */
json_t *ipc_parse(const char *buf, size_t n, const char **payload, size_t *payload_len,
                  json_error_t *jerr);
void ipc_reader_free(ipc_reader *r);

#endif
