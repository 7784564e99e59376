/* One libcurl easy handle per client: connections are kept and reused
 * between requests. Redirects are never followed, only http and https are
 * spoken, signals are never used (CURLOPT_NOSIGNAL), and the header list
 * sent is exactly the one given (libcurl's own Host/Content-Type give way
 * to ours; Expect and Accept are switched off). */
#ifndef SLASHD_AWS_HTTP_H
#define SLASHD_AWS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "hdrs.h"
#include "common/util.h"

typedef struct http_conn http_conn;

typedef struct http_request {
  const char *method; /* GET, HEAD, POST, PUT */
  const char *url;
  const aws_headers *headers;
  const void *body;
  size_t body_len;
  long connect_timeout_ms;
  long timeout_ms;     /* whole request */
  size_t max_response; /* body bytes; more is an error */
  bool no_proxy;       /* link-local metadata services: never through a proxy */
} http_request;

typedef struct http_response {
  long status;         /* 0 when there was no HTTP answer */
  aws_headers headers; /* of the final response */
  sbuf body;
  bool network_error; /* no complete answer */
  bool transient;     /* a network error worth another attempt */
  bool timed_out;
  bool too_large;
  char *error; /* network error text, NULL otherwise */
} http_response;

http_conn *http_conn_new(void);
/* A PEM file of CA certificates to trust instead of the system's. */
void http_conn_set_ca_bundle(http_conn *h, const char *path);
void http_conn_free(http_conn *h);

/* Performs one request; *out is always filled (free with
 * http_response_free). */
void http_perform(http_conn *h, const http_request *req, http_response *out);
/* wipe: OPENSSL_cleanse the body first (credentials, KMS plaintext). */
void http_response_free(http_response *r, bool wipe);

#endif
