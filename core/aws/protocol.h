/* From (service, action, params) to an HTTP request, and from a 2xx answer
 * to JSON: the four wire protocols (EC2 Query, Query, JSON 1.1, S3 REST-XML).
 * S3 operations are rows of a table (method, bucket or not, sub-resource,
 * accepted query parameters, response headers to report): adding one is
 * adding a row. */
#ifndef SLASHD_AWS_PROTOCOL_H
#define SLASHD_AWS_PROTOCOL_H

#include <stdbool.h>

#include <jansson.h>

#include "aws.h"
#include "endpoint.h"
#include "hdrs.h"
#include "common/util.h"

typedef struct s3_op s3_op;

typedef struct aws_req {
  const aws_service *svc;
  char *action;
  const char *method;
  char *bucket;        /* S3 bucket operations: virtual host or path style */
  char *path;          /* encoded wire path (after the bucket, when there is one) */
  char *query;         /* encoded, or NULL */
  aws_headers headers; /* Content-Type, X-Amz-Target, …; no Host yet */
  sbuf body;
  const s3_op *op;
} aws_req;

/* Builds the request. AWS_ERR_UNSUPPORTED with *err for an unknown action or
 * parameters that cannot be sent. */
aws_status protocol_build(const aws_service *svc, const char *action, const json_t *params,
                          aws_req *out, char **err);
void aws_req_free(aws_req *r);

/* Host header and wire path for `req` on endpoint `e` (bucket in the host
 * on AWS when DNS-safe, in the path on an override). New strings. */
void protocol_target(const aws_req *req, const struct aws_endpoint *e, char **host_header,
                     char **path);

/* Reads a 2xx answer into JSON. AWS_ERR_PARSE with *err on a bad body. */
aws_status protocol_parse(const aws_req *req, const aws_headers *headers, const char *body,
                          size_t len, json_t **out, char **err);

/* A form body for Query protocols: Action, Version, then params. Exposed
 * for the web identity call, which is built by hand. */
aws_status protocol_query_body(const char *action, const char *version, const json_t *params,
                               sbuf *body, char **err);

#endif
