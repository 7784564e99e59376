/* A scripted HTTP/1.1 server on 127.0.0.1 in a thread, for the transport
 * and credential tests: it answers each request with the next scripted
 * reply (or drops the connection, or waits first) and records every request
 * byte for byte, so tests can check exactly what went on the wire. */
#ifndef SLASHD_TESTS_AWS_STUB_SERVER_H
#define SLASHD_TESTS_AWS_STUB_SERVER_H

#include <stdbool.h>
#include <stddef.h>

typedef struct stub_reply {
  int status;
  const char *headers; /* extra header lines, each ending in \r\n; or NULL */
  const char *body;    /* or NULL */
  unsigned delay_ms;   /* wait before answering */
  bool drop;           /* close the connection instead of answering */
} stub_reply;

typedef struct stub stub;

stub *stub_start(void);
void stub_stop(stub *s);
int stub_port(const stub *s);
/* "http://127.0.0.1:PORT" */
const char *stub_url(const stub *s);

/* Appends replies to the script (copied). */
void stub_push(stub *s, stub_reply r);
/* Forgets script and recorded requests. */
void stub_reset(stub *s);

size_t stub_requests(stub *s);
/* Recorded request i (headers and body, as received); valid until reset. */
const char *stub_request(stub *s, size_t i);
/* Connections accepted so far. */
int stub_connections(stub *s);
/* Replies still unused. */
size_t stub_pending(stub *s);

/* Occurrences of header `name` (case-insensitive) in request i; the first
 * value in *value (a new string) when value is not NULL. */
int stub_header(stub *s, size_t i, const char *name, char **value);
/* The body of request i (after the blank line). */
const char *stub_body(stub *s, size_t i);

#endif
