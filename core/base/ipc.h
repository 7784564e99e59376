/* Messages between the main process and its workers: one JSON object per
 * SOCK_SEQPACKET datagram, so boundaries are kept by the kernel. */
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
/* Receives one message. Returns NULL on EOF (*eof = true) or on error or a
 * malformed message (*eof = false). */
json_t *ipc_recv(int fd, bool *eof);

/* A receive buffer for one thread's loop: one recv(2) per message instead of
 * a peek at its size and then the read. The IPC_MAX + 1 bytes are allocated
 * on first use; only the pages a message touches become resident. */
typedef struct ipc_reader {
  char *buf;
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
void ipc_reader_free(ipc_reader *r);

#endif
