/* apps.connections.open, Socket Mode's one Web API call: it trades the
 * app-level token for a single-use WebSocket URL. */
#ifndef SLASHD_SOCKET_API_H
#define SLASHD_SOCKET_API_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "base/util.h"

typedef enum { SOPEN_OK, SOPEN_REFUSED, SOPEN_FAILED } sopen_result;

/* One call in flight (on a multi handle, or performed at once). */
typedef struct api_call {
  CURL *easy; /* CURLOPT_PRIVATE points back at the api_call */
  struct curl_slist *hdrs;
  sbuf body;
} api_call;

/* Prepares POST {api_url}apps.connections.open with Authorization: Bearer
 * <token> (borrowed; it goes into the header and nowhere else). ca_file: a CA
 * bundle to trust instead of the system's, or NULL. */
void api_call_init(api_call *a, const char *api_url, const char *ca_file,
                   const unsigned char *token, size_t token_len, long timeout_ms);
/* Reads the finished call. SOPEN_OK: *url (owned) is a fresh WebSocket URL.
 * SOPEN_REFUSED: Slack said ok:false and *err (owned) is its error code.
 * SOPEN_FAILED: no usable answer (network, HTTP status, not JSON); *err
 * (owned) says why. */
sopen_result api_call_result(api_call *a, CURLcode rc, char **url, char **err);
void api_call_free(api_call *a);

/* The whole call, blocking for at most timeout_ms (start, check-config). */
sopen_result socket_open_once(const char *api_url, const char *ca_file, const unsigned char *token,
                              size_t token_len, long timeout_ms, char **url, char **err);
/* Errors after which retrying cannot help: the token is wrong. */
bool socket_error_is_fatal(const char *slack_error);

#endif
