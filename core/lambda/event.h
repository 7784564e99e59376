/* The Lambda event shapes slashd accepts, turned into plain structs, and
 * the shapes it answers with (shared/reference/aws-examples/lambda-*.json).
 *
 * HTTP events (front): API Gateway REST proxy (v1: httpMethod, headers of
 * any case), HTTP API and Function URL (v2: "version": "2.0", lower-case
 * headers), and the original two-function design's mapping-template event
 * {"body": "<form>"} (no headers, no method). Queue events (worker): SQS
 * (Records[].eventSource "aws:sqs", body) and SNS (Records[].EventSource
 * "aws:sns", Sns.Message). */
#ifndef SLASHD_LAMBDA_EVENT_H
#define SLASHD_LAMBDA_EVENT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

typedef enum { EVENT_HTTP_V1, EVENT_HTTP_V2, EVENT_MAPPING_TEMPLATE } event_http_kind;

typedef struct event_http {
  event_http_kind kind;
  const char *method;        /* "POST"; NULL for a mapping-template event */
  const char *content_type;  /* header values or NULL; borrowed from the event */
  const char *timestamp;     /* X-Slack-Request-Timestamp */
  const char *signature;     /* X-Slack-Signature */
  const char *authorization; /* Authorization */
  char *body;                /* owned: the raw bytes (base64 already decoded) */
  size_t body_len;
} event_http;

/* Reads an HTTP event. False with *err (new string) when `ev` is none of
 * the three shapes, or its base64 body does not decode. */
bool event_http_parse(const json_t *ev, event_http *out, char **err);
void event_http_free(event_http *h);

/* A proxy integration response {"statusCode", "headers", "body"}, as a new
 * JSON string. body is borrowed text. */
char *event_http_response(int status, const char *content_type, const char *allow,
                          const char *body);

typedef enum { EVENT_RECORDS_SQS, EVENT_RECORDS_SNS } event_records_kind;

typedef struct event_record {
  const char *id;   /* SQS messageId / SNS MessageId (borrowed), or "" */
  const char *body; /* the job message (borrowed), or NULL when the record is malformed */
  size_t body_len;
  const char *why; /* static reason when body is NULL */
} event_record;

/* Reads a queue event's records. False with *err when `ev` is not a
 * queue event at all (no Records, or records of another source). A
 * malformed record inside a queue event is returned with body NULL, so it
 * can be logged and dropped rather than fail the whole batch. *recs is a
 * new array (free()), its strings borrowed from ev. */
bool event_records_parse(const json_t *ev, event_records_kind *kind, event_record **recs, size_t *n,
                         char **err);

#endif
