/* The Socket Mode door ([slack] mode = socket): slash commands arrive over
 * outbound WebSocket connections to Slack instead of HTTP POSTs, and go
 * through the very same admission as the HTTP door. One thread runs every
 * connection from one poll loop (curl_multi_poll), so nothing here waits on
 * a single connection, and an ack leaves as soon as admission has decided. */
#ifndef SLASHD_SOCKET_H
#define SLASHD_SOCKET_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/server.h"
#include "daemon/socket_api.h"

#define SOCKET_MAX_CONNECTIONS 10
/* Envelope ids are remembered this long (Slack re-sends an unacked one). */
#define SOCKET_ENVELOPE_MEMORY_S 600

typedef struct socket_door socket_door;

/* Opens the first connection (a fatal Slack error fails the start: *err
 * names it) and then serves [slack] socket_connections connections in a
 * thread of its own. s is borrowed and must outlive the door. */
socket_door *socket_start(server *s, char **err);
/* Closes every connection and joins the thread. NULL is fine. */
void socket_stop(socket_door *d);

#endif
