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
/* Receives one message. Returns NULL on EOF (*eof = true) or on error or a
 * malformed message (*eof = false). */
json_t *ipc_recv(int fd, bool *eof);

#endif
