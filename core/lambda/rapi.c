#include "lambda/rapi.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#include "base/util.h"

struct rapi {
  char *base; /* http://host:port/2018-06-01/runtime */
  CURL *curl; /* one kept-alive connection to the loopback API */
};

/* host:port with a host of letters, digits, '.', '-', ':' or brackets (IPv6). */
static bool api_ok(const char *api) {
  size_t n = strlen(api);
  if (n == 0 || n > 200 || !strchr(api, ':'))
    return false;
  for (const char *p = api; *p; p++)
    if (!isalnum((unsigned char)*p) && !strchr(".-:[]", *p))
      return false;
  return true;
}

rapi *rapi_new(const char *api) {
  if (!api || !api_ok(api))
    return NULL;
  rapi *r = xcalloc(1, sizeof *r);
  r->base = xasprintf("http://%s/2018-06-01/runtime", api);
  r->curl = curl_easy_init();
  if (!r->curl) {
    rapi_free(r);
    return NULL;
  }
  return r;
}

void rapi_free(rapi *r) {
  if (!r)
    return;
  if (r->curl)
    curl_easy_cleanup(r->curl);
  free(r->base);
  free(r);
}

typedef struct reply {
  sbuf body;
  bool too_big;
  rapi_invocation *inv; /* headers go here (GET next only) */
} reply;

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  reply *rp = ud;
  size_t len = size * n;
  if (rp->body.len + len > RAPI_MAX_EVENT) {
    rp->too_big = true;
    return 0;
  }
  sbuf_add(&rp->body, p, len);
  return len;
}

/* Copies a header's value (trimmed) when its name matches. */
static bool header_value(const char *line, size_t len, const char *name, char *dst, size_t cap) {
  size_t nl = strlen(name);
  if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
    return false;
  const char *v = line + nl + 1;
  const char *end = line + len;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
    end--;
  size_t vl = (size_t)(end - v);
  if (vl >= cap)
    vl = cap - 1;
  memcpy(dst, v, vl);
  dst[vl] = '\0';
  return true;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  reply *rp = ud;
  size_t len = size * n;
  rapi_invocation *inv = rp->inv;
  if (!inv)
    return len;
  char deadline[32];
  if (header_value(p, len, "Lambda-Runtime-Deadline-Ms", deadline, sizeof deadline)) {
    char *end = NULL;
    long long v = strtoll(deadline, &end, 10);
    inv->deadline_ms = (end && *end == '\0' && v > 0) ? v : 0;
  }
  header_value(p, len, "Lambda-Runtime-Aws-Request-Id", inv->request_id, sizeof inv->request_id);
  header_value(p, len, "Lambda-Runtime-Trace-Id", inv->trace_id, sizeof inv->trace_id);
  header_value(p, len, "Lambda-Runtime-Invoked-Function-Arn", inv->function_arn,
               sizeof inv->function_arn);
  return len;
}

/* One request. *status is the HTTP status (0 when there was no answer). */
static bool call(rapi *r, const char *method, const char *path, const char *error_type,
                 const char *body, size_t len, reply *rp, long *status, char **err) {
  char *url = xasprintf("%s%s", r->base, path);
  CURL *c = r->curl;
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROXY, "");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, rp);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, rp);
  struct curl_slist *h = NULL;
  if (strcmp(method, "POST") == 0) {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    if (error_type) {
      char *line = xasprintf("Lambda-Runtime-Function-Error-Type: %s", error_type);
      h = curl_slist_append(h, line);
      free(line);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  }
  CURLcode rc = curl_easy_perform(c);
  *status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
  curl_slist_free_all(h);
  bool ok = rc == CURLE_OK;
  if (!ok)
    *err = xasprintf("%s %s: %s", method, url,
                     rp->too_big ? "event larger than 6 MB" : curl_easy_strerror(rc));
  free(url);
  return ok;
}

bool rapi_next(rapi *r, rapi_invocation *out, char **err) {
  memset(out, 0, sizeof *out);
  reply rp = {.inv = out};
  long status = 0;
  if (!call(r, "GET", "/invocation/next", NULL, NULL, 0, &rp, &status, err))
    goto fail;
  if (status != 200) {
    *err = xasprintf("GET /invocation/next answered %ld", status);
    goto fail;
  }
  /* The id becomes part of the URL the result is posted to. */
  size_t idn = strlen(out->request_id);
  bool id_ok = idn > 0;
  for (size_t i = 0; i < idn; i++)
    if (!isalnum((unsigned char)out->request_id[i]) && out->request_id[i] != '-')
      id_ok = false;
  if (!id_ok || out->deadline_ms <= 0) {
    *err = xstrdup("GET /invocation/next: no valid Lambda-Runtime-Aws-Request-Id or "
                   "Lambda-Runtime-Deadline-Ms");
    goto fail;
  }
  out->body_len = rp.body.len;
  out->body = sbuf_steal(&rp.body);
  return true;
fail:
  sbuf_free(&rp.body);
  return false;
}

void rapi_invocation_free(rapi_invocation *inv) {
  free(inv->body);
  inv->body = NULL;
  inv->body_len = 0;
}

static bool post(rapi *r, const char *path, const char *error_type, const char *body, size_t len,
                 char **err) {
  reply rp = {0};
  long status = 0;
  bool ok = call(r, "POST", path, error_type, body, len, &rp, &status, err);
  sbuf_free(&rp.body);
  if (ok && status != 202) {
    *err = xasprintf("POST %s answered %ld", path, status);
    ok = false;
  }
  return ok;
}

bool rapi_respond(rapi *r, const char *request_id, const char *body, size_t len, char **err) {
  char *path = xasprintf("/invocation/%s/response", request_id);
  bool ok = post(r, path, NULL, body, len, err);
  free(path);
  return ok;
}

static char *error_body(const char *type, const char *message) {
  /* jansson refuses invalid UTF-8; a message may quote a hostile byte. */
  char *clean = utf8_sanitize(message ? message : "", message ? strlen(message) : 0);
  json_t *j = json_pack("{s:s, s:s, s:[]}", "errorMessage", clean, "errorType",
                        type ? type : "Runtime.Unknown", "stackTrace");
  char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  free(clean);
  return s ? s : xstrdup("{}");
}

bool rapi_fail(rapi *r, const char *request_id, const char *type, const char *message, char **err) {
  char *path = xasprintf("/invocation/%s/error", request_id);
  char *body = error_body(type, message);
  bool ok = post(r, path, "Unhandled", body, strlen(body), err);
  free(body);
  free(path);
  return ok;
}

bool rapi_init_error(rapi *r, const char *type, const char *message, char **err) {
  char *body = error_body(type, message);
  bool ok = post(r, "/init/error", "Unhandled", body, strlen(body), err);
  free(body);
  return ok;
}
