#include "transport.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

struct http_conn {
  CURL *curl;
  char errbuf[CURL_ERROR_SIZE];
  char *ca_bundle; /* AWS_CA_BUNDLE / ca_bundle, or NULL: the system's */
};

void http_conn_set_ca_bundle(http_conn *h, const char *path) {
  free(h->ca_bundle);
  h->ca_bundle = path && *path ? xstrdup(path) : NULL;
}

http_conn *http_conn_new(void) {
  http_conn *h = xcalloc(1, sizeof *h);
  h->curl = curl_easy_init();
  if (!h->curl) {
    free(h);
    return NULL;
  }
  return h;
}

void http_conn_free(http_conn *h) {
  if (!h)
    return;
  curl_easy_cleanup(h->curl);
  free(h->ca_bundle);
  free(h);
}

typedef struct sink {
  http_response *r;
  size_t max;
} sink;

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  sink *s = ud;
  size_t len = size * n;
  if (s->r->body.len + len > s->max) {
    s->r->too_large = true;
    return 0; /* CURLE_WRITE_ERROR */
  }
  sbuf_add(&s->r->body, p, len);
  return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  sink *s = ud;
  size_t len = size * n;
  if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
    hdrs_free(&s->r->headers); /* a new response (after 100 Continue, …) */
    return len;
  }
  const char *colon = memchr(p, ':', len);
  if (!colon || colon == p)
    return len;
  char *name = xstrndup(p, (size_t)(colon - p));
  char *value = str_trim(xstrndup(colon + 1, len - (size_t)(colon + 1 - p)));
  hdrs_add(&s->r->headers, name, value);
  free(name);
  free(value);
  return len;
}

/* curl_slist of "Name: value"; an empty value needs "Name;". Our Host and
 * Content-Type replace libcurl's; Expect (100-continue) and Accept are
 * removed so that nothing unexpected travels beside the signed headers. */
static struct curl_slist *header_list(const http_request *req, bool *ok) {
  struct curl_slist *l = NULL;
  bool has_ctype = false;
  *ok = true;
  for (size_t i = 0; req->headers && i < req->headers->n; i++) {
    const aws_header *f = &req->headers->v[i];
    if (strpbrk(f->name, "\r\n:") || strpbrk(f->value, "\r\n")) {
      *ok = false; /* header injection */
      break;
    }
    char *line = *f->value ? xasprintf("%s: %s", f->name, f->value) : xasprintf("%s;", f->name);
    struct curl_slist *nl = curl_slist_append(l, line);
    OPENSSL_cleanse(line, strlen(line));
    free(line);
    if (!nl) {
      *ok = false;
      break;
    }
    l = nl;
    has_ctype |= strcasecmp(f->name, "content-type") == 0;
  }
  static const char *const off[] = {"Expect:", "Accept:"};
  for (size_t i = 0; *ok && i < ARRAY_LEN(off); i++) {
    struct curl_slist *nl = curl_slist_append(l, off[i]);
    if (nl)
      l = nl;
  }
  if (*ok && !has_ctype && strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
    struct curl_slist *nl = curl_slist_append(l, "Content-Type:");
    if (nl)
      l = nl;
  }
  return l;
}

static bool transient_code(CURLcode rc) {
  switch (rc) {
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_CONNECT:
  case CURLE_OPERATION_TIMEDOUT:
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
    return true;
  default:
    return false;
  }
}

static void set_method(CURL *c, const http_request *req) {
  if (strcmp(req->method, "GET") == 0) {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else if (strcmp(req->method, "HEAD") == 0) {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else {
    /* POSTFIELDS with an explicit size: a Content-Length, never chunked. */
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
    if (strcmp(req->method, "POST") != 0)
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
  }
}

void http_perform(http_conn *h, const http_request *req, http_response *out) {
  memset(out, 0, sizeof *out);
  sbuf_add(&out->body, "", 0);
  CURL *c = h->curl;
  curl_easy_reset(c); /* options only: the connection cache stays */
  bool ok;
  struct curl_slist *hl = header_list(req, &ok);
  if (!ok) {
    curl_slist_free_all(hl);
    out->network_error = true;
    out->error = xstrdup("refused to send a header with a line break or colon in it");
    return;
  }
  sink s = {out, req->max_response ? req->max_response : (16u << 20)};
  h->errbuf[0] = '\0';
  curl_easy_setopt(c, CURLOPT_URL, req->url);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req->timeout_ms);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)s.max);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "slashd/" SLASHD_VERSION);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &s);
  /* Options stick to the handle: say it both ways, or one metadata request
   * would take every later call off the proxy. NULL: libcurl reads
   * NO_PROXY/no_proxy. HTTPS_PROXY/https_proxy (and http_proxy) come from
   * the environment too, as libcurl does by default. */
  curl_easy_setopt(c, CURLOPT_NOPROXY, req->no_proxy ? "*" : NULL);
  if (h->ca_bundle)
    curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_bundle);
  set_method(c, req);

  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(hl);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    return;
  }
  out->status = 0;
  out->network_error = true;
  out->transient = transient_code(rc);
  out->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
  if (out->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    out->too_large = true;
    out->error = xasprintf("response larger than %zu bytes", s.max);
  } else if (out->timed_out) {
    /* Name the limit that was hit, not the time measured: on a loaded host
     * curl notices its deadline late, and "after 2 s" for a 1 s limit
     * misleads whoever tunes [aws] timeout. No connection yet: the connect
     * limit (curl applies the smaller of the two). */
    double connected = 0;
    curl_easy_getinfo(c, CURLINFO_CONNECT_TIME, &connected);
    long ms = req->timeout_ms;
    if (connected <= 0 && req->connect_timeout_ms > 0 && (ms <= 0 || req->connect_timeout_ms < ms))
      ms = req->connect_timeout_ms;
    out->error = ms >= 1000 && ms % 1000 == 0 ? xasprintf("timed out after %ld s", ms / 1000)
                                              : xasprintf("timed out after %ld ms", ms);
  } else {
    const char *msg = h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc);
    out->error = xstrdup(msg);
    size_t n = strlen(out->error);
    while (n && isspace((unsigned char)out->error[n - 1]))
      out->error[--n] = '\0';
  }
}

void http_response_free(http_response *r, bool wipe) {
  if (wipe && r->body.p)
    OPENSSL_cleanse(r->body.p, r->body.len);
  sbuf_free(&r->body);
  hdrs_free(&r->headers);
  free(r->error);
  memset(r, 0, sizeof *r);
}
