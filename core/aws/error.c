#include "error.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/util.h"
#include "xml.h"

#define MAX_MESSAGE 1000 /* bytes of a service message kept for the user */

static bool in(const char *code, const char *const *list, size_t n) {
  if (!code)
    return false;
  for (size_t i = 0; i < n; i++)
    if (strcmp(code, list[i]) == 0)
      return true;
  return false;
}

bool aws_error_is_throttle(const char *code) {
  static const char *const codes[] = {
      "Throttling",
      "ThrottlingException",
      "ThrottledException",
      "RequestThrottled",
      "RequestThrottledException",
      "TooManyRequestsException",
      "SlowDown",
      "RequestLimitExceeded",
      "EC2ThrottledException",
      "BandwidthLimitExceeded",
      "ProvisionedThroughputExceededException",
  };
  return in(code, codes, ARRAY_LEN(codes));
}

bool aws_error_is_transient(const char *code) {
  static const char *const codes[] = {"RequestTimeout",          "RequestTimeoutException",
                                      "PriorRequestNotComplete", "InternalError",
                                      "InternalFailure",         "ServiceUnavailable"};
  return in(code, codes, ARRAY_LEN(codes));
}

bool aws_error_is_bad_credentials(const char *code) {
  static const char *const codes[] = {
      "AuthFailure",           "SignatureDoesNotMatch",        "ExpiredToken",
      "ExpiredTokenException", "UnrecognizedClientException",  "InvalidClientTokenId",
      "InvalidAccessKeyId",    "IncompleteSignature",          "MissingAuthenticationToken",
      "InvalidToken",          "TokenRefreshRequired",         "RequestExpired",
      "RequestTimeTooSkewed",  "AuthorizationHeaderMalformed", "InvalidSignatureException",
  };
  return in(code, codes, ARRAY_LEN(codes));
}

bool aws_error_is_skew(const char *code) {
  static const char *const codes[] = {"RequestTimeTooSkewed", "SignatureDoesNotMatch",
                                      "InvalidSignatureException", "RequestExpired"};
  return in(code, codes, ARRAY_LEN(codes));
}

bool aws_error_is_auth(const char *code) {
  static const char *const codes[] = {"AccessDenied",          "AccessDeniedException",
                                      "UnauthorizedOperation", "Forbidden",
                                      "OptInRequired",         "NotAuthorized"};
  return aws_error_is_bad_credentials(code) || in(code, codes, ARRAY_LEN(codes));
}

bool aws_error_retryable(long status, const char *code) {
  if (aws_error_is_auth(code))
    return false;
  if (aws_error_is_throttle(code) || aws_error_is_transient(code))
    return true;
  return status == 429 || (status >= 500 && status <= 599);
}

const char *aws_http_reason(long status) {
  switch (status) {
  case 301:
    return "Moved Permanently";
  case 307:
    return "Temporary Redirect";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 409:
    return "Conflict";
  case 413:
    return "Payload Too Large";
  case 429:
    return "Too Many Requests";
  case 500:
    return "Internal Server Error";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  default:
    return "";
  }
}

/* The value of a JSON string member, trimmed, or NULL. */
static char *jstr(const json_t *o, const char *key) {
  const char *s = json_string_value(json_object_get(o, key));
  if (!s)
    return NULL;
  char *t = str_trim(xstrdup(s));
  if (!*t) {
    free(t);
    return NULL;
  }
  if (strlen(t) > MAX_MESSAGE)
    strcpy(t + MAX_MESSAGE - 3, "...");
  return t;
}

/* A list element may be an object or an array of them: the first. */
static const json_t *first(const json_t *v) {
  return json_is_array(v) ? json_array_get(v, 0) : v;
}

static void from_xml(const json_t *doc, aws_error *e) {
  const json_t *err = first(json_object_get(first(json_object_get(doc, "Errors")), "Error"));
  if (!err)
    err = first(json_object_get(doc, "Error"));
  if (!json_is_object(err))
    err = doc; /* S3: <Error> is the root */
  e->code = jstr(err, "Code");
  e->message = jstr(err, "Message");
  static const char *const ids[] = {"RequestId", "RequestID", "requestId"};
  for (size_t i = 0; i < ARRAY_LEN(ids) && !e->request_id; i++)
    e->request_id = jstr(doc, ids[i]);
  if (!e->request_id)
    e->request_id = jstr(err, "RequestId");
}

/* "aws.protocoltests.json#FooError:http://internal…" → "FooError". */
static char *json_code(const char *raw) {
  if (!raw)
    return NULL;
  const char *hash = strrchr(raw, '#');
  const char *s = hash ? hash + 1 : raw;
  size_t n = strcspn(s, ":");
  char *c = str_trim(xstrndup(s, n));
  if (!*c) {
    free(c);
    return NULL;
  }
  return c;
}

static void from_json(const json_t *doc, const aws_headers *headers, aws_error *e) {
  const char *type = headers ? hdrs_get(headers, "x-amzn-errortype") : NULL;
  if (!type)
    type = json_string_value(json_object_get(doc, "__type"));
  if (!type)
    type = json_string_value(json_object_get(doc, "code"));
  e->code = json_code(type);
  e->message = jstr(doc, "message");
  if (!e->message)
    e->message = jstr(doc, "Message");
}

void aws_error_parse(long status, const aws_headers *headers, const char *body, size_t len,
                     aws_error *e) {
  memset(e, 0, sizeof *e);
  e->http_status = status;
  size_t i = 0;
  while (body && i < len && isspace((unsigned char)body[i]))
    i++;
  if (body && i < len && body[i] == '{') {
    json_t *doc = json_loadb(body, len, 0, NULL);
    if (json_is_object(doc))
      from_json(doc, headers, e);
    json_decref(doc);
  } else if (body && i < len && body[i] == '<') {
    char *err = NULL;
    json_t *doc = xml_to_json(body, len, 0, &err);
    if (json_is_object(doc))
      from_xml(doc, e);
    json_decref(doc);
    free(err);
  } else if (headers && hdrs_get(headers, "x-amzn-errortype")) {
    e->code = json_code(hdrs_get(headers, "x-amzn-errortype"));
  }
  if (headers) {
    const char *rid = hdrs_get(headers, "x-amzn-requestid");
    if (!rid)
      rid = hdrs_get(headers, "x-amz-request-id");
    if (!e->request_id && rid && *rid)
      e->request_id = xstrdup(rid);
    const char *br = hdrs_get(headers, "x-amz-bucket-region");
    if (br && *br)
      e->bucket_region = xstrdup(br);
  }
}

void aws_error_free(aws_error *e) {
  free(e->code);
  free(e->message);
  free(e->request_id);
  free(e->bucket_region);
  memset(e, 0, sizeof *e);
}

char *aws_error_sentence(const aws_error *e) {
  sbuf b = {0};
  if (e->code) {
    sbuf_adds(&b, e->code);
  } else {
    sbuf_addf(&b, "HTTP %ld", e->http_status);
    const char *reason = aws_http_reason(e->http_status);
    if (*reason)
      sbuf_addf(&b, " %s", reason);
  }
  if (e->message)
    sbuf_addf(&b, ": %s", e->message);
  if (e->bucket_region)
    sbuf_addf(&b, " (the bucket is in %s)", e->bucket_region);
  if (e->request_id)
    sbuf_addf(&b, " (request id %s)", e->request_id);
  return sbuf_steal(&b);
}
