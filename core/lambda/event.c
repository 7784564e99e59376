#include "lambda/event.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/codec.h"
#include "base/util.h"

/* Header lookup in either case: API Gateway v1 keeps the client's case. */
static const char *header(const json_t *headers, const char *name) {
  const char *k;
  json_t *v;
  if (!json_is_object(headers))
    return NULL;
  json_object_foreach((json_t *)headers, k, v) {
    if (strcasecmp(k, name) == 0 && json_is_string(v))
      return json_string_value(v);
  }
  return NULL;
}

static bool take_body(const json_t *ev, event_http *out, char **err) {
  const json_t *body = json_object_get(ev, "body");
  if (json_is_null(body) || !body) {
    out->body = xstrdup("");
    return true;
  }
  if (!json_is_string(body)) {
    *err = xstrdup("event body is not a string");
    return false;
  }
  const char *s = json_string_value(body);
  size_t n = json_string_length(body);
  if (json_is_true(json_object_get(ev, "isBase64Encoded"))) {
    unsigned char *raw = NULL;
    size_t rn = 0;
    if (!aws_base64_decode(s, &raw, &rn)) {
      *err = xstrdup("event body is marked base64 but does not decode");
      return false;
    }
    out->body = xrealloc(raw, rn + 1);
    out->body[rn] = '\0';
    out->body_len = rn;
    return true;
  }
  out->body = xstrndup(s, n);
  out->body_len = n;
  return true;
}

bool event_http_parse(const json_t *ev, event_http *out, char **err) {
  memset(out, 0, sizeof *out);
  if (!json_is_object(ev)) {
    *err = xstrdup("the event is not a JSON object");
    return false;
  }
  const json_t *headers = json_object_get(ev, "headers");
  const char *version = json_string_value(json_object_get(ev, "version"));
  const char *v1method = json_string_value(json_object_get(ev, "httpMethod"));
  if (version && strcmp(version, "2.0") == 0) {
    out->kind = EVENT_HTTP_V2;
    const json_t *http = json_object_get(json_object_get(ev, "requestContext"), "http");
    out->method = json_string_value(json_object_get(http, "method"));
  } else if (v1method) {
    out->kind = EVENT_HTTP_V1;
    out->method = v1method;
  } else if (json_is_string(json_object_get(ev, "body")) && !headers) {
    out->kind = EVENT_MAPPING_TEMPLATE;
  } else {
    *err = xstrdup("not an HTTP event (API Gateway v1/v2, Function URL or {\"body\": form})");
    return false;
  }
  if (out->kind != EVENT_MAPPING_TEMPLATE && !out->method) {
    *err = xstrdup("HTTP event without a method");
    return false;
  }
  out->content_type = header(headers, "Content-Type");
  out->timestamp = header(headers, "X-Slack-Request-Timestamp");
  out->signature = header(headers, "X-Slack-Signature");
  out->authorization = header(headers, "Authorization");
  return take_body(ev, out, err);
}

void event_http_free(event_http *h) {
  free(h->body);
  h->body = NULL;
}

char *event_http_response(int status, const char *content_type, const char *allow,
                          const char *body) {
  json_t *headers = json_pack("{s:s}", "Content-Type", content_type);
  if (allow)
    json_object_set_new(headers, "Allow", json_string(allow));
  char *clean = utf8_sanitize(body ? body : "", body ? strlen(body) : 0);
  json_t *j = json_pack("{s:i, s:o, s:s, s:b}", "statusCode", status, "headers", headers, "body",
                        clean, "isBase64Encoded", 0);
  free(clean);
  char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  return s ? s : xstrdup("{\"statusCode\":500}");
}

static void read_record(const json_t *r, event_records_kind kind, event_record *out) {
  memset(out, 0, sizeof *out);
  const json_t *body;
  if (kind == EVENT_RECORDS_SQS) {
    out->id = json_string_value(json_object_get(r, "messageId"));
    body = json_object_get(r, "body");
  } else {
    const json_t *sns = json_object_get(r, "Sns");
    out->id = json_string_value(json_object_get(sns, "MessageId"));
    body = json_object_get(sns, "Message");
  }
  if (!out->id)
    out->id = "";
  if (!json_is_string(body)) {
    out->why =
        kind == EVENT_RECORDS_SQS ? "SQS record without a body" : "SNS record without Message";
    return;
  }
  out->body = json_string_value(body);
  out->body_len = json_string_length(body);
}

static bool record_kind(const json_t *r, event_records_kind *kind) {
  const char *sqs = json_string_value(json_object_get(r, "eventSource"));
  const char *sns = json_string_value(json_object_get(r, "EventSource"));
  if (sqs && strcmp(sqs, "aws:sqs") == 0)
    *kind = EVENT_RECORDS_SQS;
  else if (sns && strcmp(sns, "aws:sns") == 0)
    *kind = EVENT_RECORDS_SNS;
  else
    return false;
  return true;
}

bool event_records_parse(const json_t *ev, event_records_kind *kind, event_record **recs, size_t *n,
                         char **err) {
  *recs = NULL;
  *n = 0;
  const json_t *records = json_object_get(ev, "Records");
  if (!json_is_array(records) || json_array_size(records) == 0) {
    *err = xstrdup("not a queue event (no Records)");
    return false;
  }
  size_t count = json_array_size(records);
  if (!record_kind(json_array_get(records, 0), kind)) {
    *err = xstrdup("Records are neither aws:sqs nor aws:sns");
    return false;
  }
  *recs = xcalloc(count, sizeof **recs);
  for (size_t i = 0; i < count; i++) {
    const json_t *r = json_array_get(records, i);
    event_records_kind k;
    if (!record_kind(r, &k) || k != *kind) {
      (*recs)[i] = (event_record){.id = "", .why = "record of another event source"};
      continue;
    }
    read_record(r, k, &(*recs)[i]);
  }
  *n = count;
  return true;
}
