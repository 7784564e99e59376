#include "protocol.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "xml.h"

/* ---- S3 operations ---- */

typedef struct s3_param {
  const char *member; /* botocore's name */
  const char *wire;   /* query parameter */
} s3_param;

struct s3_op {
  const char *action;
  const char *method;
  bool bucket;             /* needs "Bucket" */
  const char *subresource; /* "location" → ?location */
  s3_param params[6];
  s3_param header_out[2]; /* response header → output member */
};

static const s3_op s3_ops[] = {
    {"ListBuckets",
     "GET",
     false,
     NULL,
     {{"ContinuationToken", "continuation-token"},
      {"MaxBuckets", "max-buckets"},
      {"Prefix", "prefix"},
      {"BucketRegion", "bucket-region"}},
     {{NULL, NULL}}},
    {"GetBucketLocation", "GET", true, "location", {{NULL, NULL}}, {{NULL, NULL}}},
    {"HeadBucket", "HEAD", true, NULL, {{NULL, NULL}}, {{"BucketRegion", "x-amz-bucket-region"}}},
};

static const s3_op *s3_find(const char *action) {
  for (size_t i = 0; i < ARRAY_LEN(s3_ops); i++)
    if (strcmp(s3_ops[i].action, action) == 0)
      return &s3_ops[i];
  return NULL;
}

static const char *s3_wire_name(const s3_op *op, const char *key) {
  for (const s3_param *p = op->params; p->member; p++)
    if (strcmp(p->member, key) == 0 || strcmp(p->wire, key) == 0)
      return p->wire;
  return NULL;
}

/* Bucket names per the S3 rules (they can end up in a host name). */
static bool bucket_ok(const char *b) {
  size_t n = strlen(b);
  if (n < 3 || n > 63 || !isalnum((unsigned char)b[0]) || !isalnum((unsigned char)b[n - 1]))
    return false;
  for (const char *p = b; *p; p++)
    if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-' && *p != '.')
      return false;
  return strstr(b, "..") == NULL;
}

/* A parameter value as text: strings as they are, numbers and booleans
 * formatted; NULL (with *err) for anything else. */
static char *scalar(const char *key, const json_t *v, char **err) {
  switch (json_typeof(v)) {
  case JSON_STRING:
    return xstrndup(json_string_value(v), json_string_length(v));
  case JSON_INTEGER:
    return xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
  case JSON_REAL:
    return xasprintf("%.17g", json_real_value(v));
  case JSON_TRUE:
    return xstrdup("true");
  case JSON_FALSE:
    return xstrdup("false");
  default:
    *err = xasprintf("parameter %s must be a string, number or boolean (Query parameters are flat: "
                     "use wire names like \"InstanceId.1\")",
                     key);
    return NULL;
  }
}

static aws_status s3_build(const char *action, const json_t *params, aws_req *r, char **err) {
  const s3_op *op = s3_find(action);
  if (!op) {
    sbuf names = {0};
    for (size_t i = 0; i < ARRAY_LEN(s3_ops); i++)
      sbuf_addf(&names, "%s%s", i ? ", " : "", s3_ops[i].action);
    *err = xasprintf("the S3 operation %s is not supported by slashd's AWS client (supported: %s)",
                     action, names.p);
    sbuf_free(&names);
    return AWS_ERR_UNSUPPORTED;
  }
  r->op = op;
  r->method = op->method;
  sbuf q = {0};
  if (op->subresource)
    sbuf_adds(&q, op->subresource);
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)params, key, v) {
    if (json_is_null(v))
      continue;
    if (op->bucket && strcmp(key, "Bucket") == 0) {
      if (!json_is_string(v) || !bucket_ok(json_string_value(v))) {
        *err = xstrdup("parameter Bucket must be a valid S3 bucket name");
        sbuf_free(&q);
        return AWS_ERR_UNSUPPORTED;
      }
      r->bucket = xstrdup(json_string_value(v));
      continue;
    }
    const char *wire = s3_wire_name(op, key);
    char *val = wire ? scalar(key, v, err) : NULL;
    if (!wire)
      *err = xasprintf("S3 %s does not take the parameter %s", action, key);
    if (!val) {
      sbuf_free(&q);
      return AWS_ERR_UNSUPPORTED;
    }
    if (q.len)
      sbuf_addc(&q, '&');
    aws_uri_encode(&q, wire, strlen(wire), false);
    sbuf_addc(&q, '=');
    aws_uri_encode(&q, val, strlen(val), false);
    free(val);
  }
  if (op->bucket && !r->bucket) {
    *err = xasprintf("S3 %s needs the parameter Bucket", action);
    sbuf_free(&q);
    return AWS_ERR_UNSUPPORTED;
  }
  r->path = xstrdup("/");
  r->query = q.len ? sbuf_steal(&q) : NULL;
  sbuf_free(&q);
  return AWS_OK;
}

void protocol_target(const aws_req *req, const aws_endpoint *e, char **host_header, char **path) {
  if (!req->bucket) {
    *host_header = xstrdup(e->host_header);
    *path = xasprintf("%s%s", e->base_path, req->path);
  } else if (e->path_style || strchr(req->bucket, '.')) {
    /* Dots break the TLS name check of virtual hosts; overrides (LocalStack,
     * moto, the fake) want path style. */
    *host_header = xstrdup(e->host_header);
    *path =
        xasprintf("%s/%s%s", e->base_path, req->bucket, strcmp(req->path, "/") ? req->path : "");
  } else {
    *host_header = xasprintf("%s.%s", req->bucket, e->host_header);
    *path = xasprintf("%s%s", e->base_path, req->path);
  }
}

/* ---- Query and JSON ---- */

static bool action_ok(const char *a) {
  if (!a || !isupper((unsigned char)a[0]) || strlen(a) > 128)
    return false;
  for (; *a; a++)
    if (!isalnum((unsigned char)*a))
      return false;
  return true;
}

static void form_pair(sbuf *b, const char *k, const char *v) {
  if (b->len)
    sbuf_addc(b, '&');
  aws_uri_encode(b, k, strlen(k), false);
  sbuf_addc(b, '=');
  aws_uri_encode(b, v, strlen(v), false);
}

aws_status protocol_query_body(const char *action, const char *version, const json_t *params,
                               sbuf *body, char **err) {
  if (params && !json_is_object(params)) {
    *err = xstrdup("Query parameters must be a JSON object");
    return AWS_ERR_UNSUPPORTED;
  }
  form_pair(body, "Action", action);
  form_pair(body, "Version", version);
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)params, key, v) {
    if (json_is_null(v))
      continue;
    if (!*key || strcmp(key, "Action") == 0 || strcmp(key, "Version") == 0) {
      *err =
          xasprintf("parameter \"%s\" cannot be set (Action and Version come from the call)", key);
      return AWS_ERR_UNSUPPORTED;
    }
    char *val = scalar(key, v, err);
    if (!val)
      return AWS_ERR_UNSUPPORTED;
    form_pair(body, key, val);
    free(val);
  }
  return AWS_OK;
}

aws_status protocol_build(const aws_service *svc, const char *action, const json_t *params,
                          aws_req *r, char **err) {
  memset(r, 0, sizeof *r);
  r->svc = svc;
  r->action = xstrdup(action ? action : "");
  if (!action_ok(action)) {
    *err = xasprintf("\"%s\" is not an AWS operation name", action ? action : "(null)");
    return AWS_ERR_UNSUPPORTED;
  }
  if (params && !json_is_object(params)) {
    *err = xstrdup("parameters must be a JSON object");
    return AWS_ERR_UNSUPPORTED;
  }
  switch (svc->protocol) {
  case AWS_PROTO_EC2:
  case AWS_PROTO_QUERY:
    r->method = "POST";
    r->path = xstrdup("/");
    hdrs_add(&r->headers, "Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
    return protocol_query_body(action, svc->version, params, &r->body, err);
  case AWS_PROTO_JSON: {
    r->method = "POST";
    r->path = xstrdup("/");
    char *target = xasprintf("%s.%s", svc->json_target, action);
    hdrs_add(&r->headers, "Content-Type", "application/x-amz-json-1.1");
    hdrs_add(&r->headers, "X-Amz-Target", target);
    free(target);
    char *js = params ? json_dumps(params, JSON_COMPACT) : NULL;
    sbuf_adds(&r->body, js ? js : "{}");
    free(js);
    return AWS_OK;
  }
  case AWS_PROTO_REST_XML:
    return s3_build(action, params, r, err);
  }
  return AWS_ERR_UNSUPPORTED;
}

void aws_req_free(aws_req *r) {
  free(r->action);
  free(r->bucket);
  free(r->path);
  free(r->query);
  hdrs_free(&r->headers);
  sbuf_free(&r->body);
  memset(r, 0, sizeof *r);
}

static bool blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isspace((unsigned char)s[i]))
      return false;
  return true;
}

aws_status protocol_parse(const aws_req *req, const aws_headers *headers, const char *body,
                          size_t len, json_t **out, char **err) {
  char *why = NULL;
  json_t *j = NULL;
  if (blank(body, len) && req->svc->protocol != AWS_PROTO_EC2 &&
      req->svc->protocol != AWS_PROTO_QUERY) {
    j = json_object(); /* HEAD, or an empty JSON answer */
  } else if (req->svc->protocol == AWS_PROTO_JSON) {
    json_error_t je;
    j = json_loadb(body, len, 0, &je);
    if (!j)
      why = xstrdup(je.text);
    else if (!json_is_object(j))
      why = xstrdup("not a JSON object");
  } else {
    j = xml_to_json(body, len, req->svc->protocol == AWS_PROTO_EC2 ? XML_EC2_SETS : 0, &why);
  }
  if (why || !j) {
    *err = xasprintf("could not read the %s %s response: %s", req->svc->name, req->action,
                     why ? why : "empty");
    free(why);
    json_decref(j);
    return AWS_ERR_PARSE;
  }
  if (!json_is_object(j)) { /* a root of <item>s: keep the object promise */
    json_t *o = json_object();
    json_object_set_new(o, "items", j);
    j = o;
  }
  for (const s3_param *h = req->op ? req->op->header_out : NULL; h && h->member; h++) {
    const char *v = hdrs_get(headers, h->wire);
    if (v)
      json_object_set_new(j, h->member, json_string(v));
  }
  *out = j;
  return AWS_OK;
}
