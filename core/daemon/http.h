/* libmicrohttpd glue for the front door. */
#ifndef SLASHD_HTTP_H
#define SLASHD_HTTP_H

#include <stdbool.h>

#include "daemon/server.h"

/* Binds [server] listen and starts serving. On failure *err says why. */
bool http_start(server *s, const config *c, char **err);
/* Stops accepting new connections; requests in progress still complete. */
void http_quiesce(server *s);
void http_stop(server *s);

#endif
