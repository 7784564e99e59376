/* One WebSocket client connection for the Socket Mode door, driven by the
 * door's poll loop. libcurl (CONNECT_ONLY, on the door's multi handle) does
 * the name lookup, TCP and TLS (OpenSSL; certificate and host name checked
 * as for every other curl call of slashd); this file writes the HTTP/1.1
 * Upgrade handshake and checks the answer; wslay does the framing. Nothing
 * here blocks. Not thread-safe: one thread owns a connection. */
#ifndef SLASHD_SOCKET_WS_H
#define SLASHD_SOCKET_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

typedef struct wsconn wsconn;

typedef enum { WS_CONNECTING, WS_HANDSHAKE, WS_OPEN, WS_CLOSED } ws_phase;

typedef struct ws_handlers {
  /* A whole text message (msg is not NUL-terminated; borrowed). */
  void (*on_text)(void *ud, const char *msg, size_t len);
  void (*on_pong)(void *ud);
} ws_handlers;

/* Largest message accepted from the server; a longer one closes the
 * connection (a slash command envelope is a few KiB). */
#define WS_MAX_MESSAGE (256 * 1024)
/* Bounds of the server's handshake answer. */
#define WS_MAX_HANDSHAKE 8192
#define WS_MAX_HEADER_LINES 64

/* Whether a URL may be connected to: wss:// always, ws:// only to a
 * loopback address (tests). On false, *why (owned) says why. */
bool ws_url_ok(const char *url, char **why);

/* Starts connecting to url (checked with ws_url_ok) on multi. The handle
 * stays on multi until ws_free. NULL with *err (owned) when the URL is
 * refused. ca_file: a CA bundle to trust instead of the system's, or NULL.
 * h and ud are borrowed and must outlive the connection. */
wsconn *ws_connect(CURLM *multi, const char *url, const char *ca_file, long connect_timeout_ms,
                   const ws_handlers *h, void *ud, char **err);
/* Whether easy is this connection's transfer. */
bool ws_owns(const wsconn *c, CURL *easy);
/* The transfer finished (TCP + TLS up, or failed): sends the handshake. */
void ws_connected(wsconn *c, CURLcode rc);
/* The descriptor to poll and its events; false when there is none. */
bool ws_pollfd(const wsconn *c, struct curl_waitfd *out);
/* Reads and writes what the descriptor allows; handlers run from here. */
void ws_io(wsconn *c);

/* Queues a text message / ping / close and sends what the socket takes. */
bool ws_send_text(wsconn *c, const char *msg, size_t len);
bool ws_ping(wsconn *c);
void ws_close(wsconn *c, uint16_t code);

ws_phase ws_phase_of(const wsconn *c);
/* Why the connection closed (static or owned by c), or NULL. */
const char *ws_error(const wsconn *c);
/* Whether everything queued has been written. */
bool ws_flushed(const wsconn *c);
void ws_free(wsconn *c, CURLM *multi);

/* Checks the server's answer head to our upgrade with Sec-WebSocket-Key
 * `key` (head: NUL-terminated, without the blank line; cut up in place).
 * NULL when it is a proper 101 upgrade, else why not (owned). */
char *ws_check_answer(const char *key, char *head);
/* Sec-WebSocket-Accept for a key (RFC 6455 section 4.2.2): out holds 29 bytes. */
void ws_accept_for(const char *key, char out[29]);

#endif
