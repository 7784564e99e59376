/* A client of the Lambda Runtime API (2018-06-01): the loopback HTTP server
 * at $AWS_LAMBDA_RUNTIME_API that hands a custom runtime its invocations and
 * takes their results (shared/reference/aws-examples/lambda-runtime-api.txt).
 *
 * One per process, used from one thread. A failure of any call is fatal for
 * the container: Lambda answers 500 when it wants the runtime gone, and a
 * runtime that cannot reach its API has nothing left to do but exit. */
#ifndef SLASHD_LAMBDA_RAPI_H
#define SLASHD_LAMBDA_RAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Lambda's synchronous payload limit is 6 MB; an event larger than that is
 * not from Lambda. */
#define RAPI_MAX_EVENT (6u * 1024 * 1024 + 4096)

typedef struct rapi rapi;

typedef struct rapi_invocation {
  char request_id[80]; /* Lambda-Runtime-Aws-Request-Id: [A-Za-z0-9-], checked */
  int64_t deadline_ms; /* Lambda-Runtime-Deadline-Ms: Unix epoch milliseconds */
  char trace_id[256];  /* Lambda-Runtime-Trace-Id or "" */
  char function_arn[256];
  char *body; /* owned: the event JSON, NUL-terminated */
  size_t body_len;
} rapi_invocation;

/* api: "host:port" as in $AWS_LAMBDA_RUNTIME_API. NULL on a malformed value. */
rapi *rapi_new(const char *api);
void rapi_free(rapi *r);

/* Waits (without a time limit, as Lambda may freeze us meanwhile) for the
 * next invocation. False with *err (new string) when the API is gone. */
bool rapi_next(rapi *r, rapi_invocation *out, char **err);
void rapi_invocation_free(rapi_invocation *inv);

/* The invocation's result (body: JSON, borrowed). */
bool rapi_respond(rapi *r, const char *request_id, const char *body, size_t len, char **err);
/* The invocation failed: {"errorMessage", "errorType", "stackTrace": []}. */
bool rapi_fail(rapi *r, const char *request_id, const char *type, const char *message, char **err);
/* The runtime cannot start (bad configuration): reported once, then exit. */
bool rapi_init_error(rapi *r, const char *type, const char *message, char **err);

#endif
