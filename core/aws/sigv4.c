#include "sigv4.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "codec.h"
#include "common/util.h"

#define ALGORITHM "AWS4-HMAC-SHA256"

void sigv4_sha256_hex(const void *data, size_t n, char out[65]) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(data, n, md);
  hex_encode(md, sizeof md, out);
}

static void hmac(const void *key, size_t klen, const char *msg, unsigned char out[32]) {
  unsigned int len = 32;
  HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &len);
}

void sigv4_signing_key(const char *secret, const char *date8, const char *region,
                       const char *service, unsigned char key[32]) {
  char *k0 = xasprintf("AWS4%s", secret);
  unsigned char a[32], b[32];
  hmac(k0, strlen(k0), date8, a);
  hmac(a, 32, region, b);
  hmac(b, 32, service, a);
  hmac(a, 32, "aws4_request", key);
  OPENSSL_cleanse(k0, strlen(k0));
  OPENSSL_cleanse(a, sizeof a);
  OPENSSL_cleanse(b, sizeof b);
  free(k0);
}

void sigv4_cache_clear(sigv4_cache *c) {
  OPENSSL_cleanse(c, sizeof *c);
  memset(c, 0, sizeof *c);
}

static bool fits(const char *s, size_t cap) {
  return strlen(s) < cap;
}

static void cached_key(sigv4_cache *c, const char *akid, const char *secret, const char *date8,
                       const char *region, const char *service, unsigned char key[32]) {
  if (!c || !fits(akid, sizeof c->slot[0].akid) || !fits(region, sizeof c->slot[0].region) ||
      !fits(service, sizeof c->slot[0].service)) {
    sigv4_signing_key(secret, date8, region, service, key);
    return;
  }
  for (unsigned i = 0; i < SIGV4_CACHE_SLOTS; i++) {
    if (c->slot[i].used && strcmp(c->slot[i].akid, akid) == 0 &&
        strcmp(c->slot[i].date, date8) == 0 && strcmp(c->slot[i].region, region) == 0 &&
        strcmp(c->slot[i].service, service) == 0) {
      memcpy(key, c->slot[i].key, 32);
      c->hits++;
      return;
    }
  }
  c->misses++;
  sigv4_signing_key(secret, date8, region, service, key);
  unsigned i = c->next++ % SIGV4_CACHE_SLOTS;
  snprintf(c->slot[i].akid, sizeof c->slot[i].akid, "%s", akid);
  snprintf(c->slot[i].date, sizeof c->slot[i].date, "%s", date8);
  snprintf(c->slot[i].region, sizeof c->slot[i].region, "%s", region);
  snprintf(c->slot[i].service, sizeof c->slot[i].service, "%s", service);
  memcpy(c->slot[i].key, key, 32);
  c->slot[i].used = true;
}

/* ---- canonical path ---- */

/* Removes "." and empty segments and resolves ".."; keeps a trailing slash
 * (the botocore/aws-c-auth behaviour the vectors encode). */
static char *normalize_path(const char *path) {
  size_t n = strlen(path);
  const char **seg = xmalloc((n / 2 + 2) * sizeof *seg);
  size_t *len = xmalloc((n / 2 + 2) * sizeof *len);
  size_t k = 0;
  const char *p = path;
  while (*p) {
    while (*p == '/')
      p++;
    const char *s = p;
    while (*p && *p != '/')
      p++;
    size_t l = (size_t)(p - s);
    if (l == 0 || (l == 1 && s[0] == '.'))
      continue;
    if (l == 2 && s[0] == '.' && s[1] == '.') {
      if (k)
        k--;
      continue;
    }
    seg[k] = s;
    len[k] = l;
    k++;
  }
  sbuf b = {0};
  for (size_t i = 0; i < k; i++) {
    sbuf_addc(&b, '/');
    sbuf_add(&b, seg[i], len[i]);
  }
  if (k == 0 || (n && path[n - 1] == '/'))
    sbuf_addc(&b, '/');
  free(seg);
  free(len);
  return sbuf_steal(&b);
}

char *sigv4_canonical_path(const char *path, bool s3, bool normalize) {
  if (!path || !*path)
    path = "/";
  sbuf b = {0};
  if (s3) {
    /* Once: whatever escapes the wire path holds are decoded first, so a
     * raw and an encoded key give the same canonical form. */
    size_t dn;
    char *d = aws_uri_decode(path, strlen(path), &dn);
    aws_uri_encode(&b, d, dn, true);
    free(d);
  } else {
    /* Twice: the wire path is already encoded; encode it again. */
    char *p = normalize ? normalize_path(path) : xstrdup(path);
    aws_uri_encode(&b, p, strlen(p), true);
    free(p);
  }
  return sbuf_steal(&b);
}

/* ---- canonical query ---- */

typedef struct kv {
  char *k, *v;
} kv;

static int kv_cmp(const void *a, const void *b) {
  const kv *x = a, *y = b;
  int c = strcmp(x->k, y->k);
  return c ? c : strcmp(x->v, y->v);
}

static char *reencode(const char *s, size_t n) {
  size_t dn;
  char *d = aws_uri_decode(s, n, &dn);
  sbuf b = {0};
  aws_uri_encode(&b, d, dn, false);
  free(d);
  return sbuf_steal(&b);
}

char *sigv4_canonical_query(const char *query) {
  if (!query || !*query)
    return xstrdup("");
  size_t cap = 1;
  for (const char *p = query; *p; p++)
    cap += *p == '&';
  kv *v = xmalloc(cap * sizeof *v);
  size_t n = 0;
  const char *p = query;
  while (*p) {
    const char *end = strchr(p, '&');
    if (!end)
      end = p + strlen(p);
    if (end > p) {
      const char *eq = memchr(p, '=', (size_t)(end - p));
      const char *kend = eq ? eq : end;
      v[n].k = reencode(p, (size_t)(kend - p));
      v[n].v = eq ? reencode(eq + 1, (size_t)(end - eq - 1)) : xstrdup("");
      n++;
    }
    p = *end ? end + 1 : end;
  }
  qsort(v, n, sizeof *v, kv_cmp);
  sbuf b = {0};
  sbuf_add(&b, "", 0);
  for (size_t i = 0; i < n; i++) {
    if (i)
      sbuf_addc(&b, '&');
    sbuf_adds(&b, v[i].k);
    sbuf_addc(&b, '=');
    sbuf_adds(&b, v[i].v);
    free(v[i].k);
    free(v[i].v);
  }
  free(v);
  return sbuf_steal(&b);
}

/* ---- canonical headers ---- */

static bool never_signed(const char *lname) {
  static const char *const names[] = {"authorization",     "connection", "expect",
                                      "transfer-encoding", "user-agent", "x-amzn-trace-id"};
  for (size_t i = 0; i < ARRAY_LEN(names); i++)
    if (strcmp(lname, names[i]) == 0)
      return true;
  return false;
}

typedef struct hent {
  char *name, *value;
  size_t idx;
} hent;

static int hent_cmp(const void *a, const void *b) {
  const hent *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  if (c)
    return c;
  return x->idx < y->idx ? -1 : x->idx > y->idx; /* keep repeats in order */
}

static bool ws(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Trims and folds every run of white space (multi-line values included)
 * into one space. */
static char *fold(const char *s) {
  sbuf b = {0};
  sbuf_add(&b, "", 0);
  while (ws(*s))
    s++;
  while (*s) {
    if (ws(*s)) {
      while (ws(*s))
        s++;
      if (*s)
        sbuf_addc(&b, ' ');
      continue;
    }
    sbuf_addc(&b, *s++);
  }
  return sbuf_steal(&b);
}

static char *lower_trim(const char *s) {
  while (ws(*s))
    s++;
  size_t n = strlen(s);
  while (n && ws(s[n - 1]))
    n--;
  char *o = xstrndup(s, n);
  for (char *p = o; *p; p++)
    *p = (char)tolower((unsigned char)*p);
  return o;
}

char *sigv4_canonical_headers(const aws_headers *h, char **signed_headers) {
  hent *e = xmalloc((h->n + 1) * sizeof *e);
  size_t n = 0;
  for (size_t i = 0; i < h->n; i++) {
    char *name = lower_trim(h->v[i].name);
    if (never_signed(name) || !*name) {
      free(name);
      continue;
    }
    e[n].name = name;
    e[n].value = fold(h->v[i].value);
    e[n].idx = i;
    n++;
  }
  qsort(e, n, sizeof *e, hent_cmp);
  sbuf c = {0}, s = {0};
  sbuf_add(&c, "", 0);
  sbuf_add(&s, "", 0);
  for (size_t i = 0; i < n; i++) {
    bool first = i == 0 || strcmp(e[i].name, e[i - 1].name) != 0;
    if (first) {
      if (i) {
        sbuf_addc(&c, '\n');
        sbuf_addc(&s, ';');
      }
      sbuf_adds(&c, e[i].name);
      sbuf_addc(&c, ':');
      sbuf_adds(&s, e[i].name);
    } else {
      sbuf_addc(&c, ',');
    }
    sbuf_adds(&c, e[i].value);
  }
  if (n)
    sbuf_addc(&c, '\n');
  for (size_t i = 0; i < n; i++) {
    free(e[i].name);
    free(e[i].value);
  }
  free(e);
  *signed_headers = sbuf_steal(&s);
  return sbuf_steal(&c);
}

/* ---- signing ---- */

void sigv4_trace_free(sigv4_trace *t) {
  if (!t)
    return;
  free(t->canonical_request);
  free(t->string_to_sign);
  t->canonical_request = t->string_to_sign = NULL;
}

static bool nonempty(const char *s) {
  return s && *s;
}

bool sigv4_sign(const sigv4_request *req, const sigv4_creds *creds, const sigv4_opts *opts,
                sigv4_trace *trace, char **err) {
  if (!creds || !nonempty(creds->access_key_id) || !nonempty(creds->secret_access_key)) {
    *err = xstrdup("cannot sign: no access key id or secret access key");
    return false;
  }
  if (!nonempty(opts->region) || !nonempty(opts->service)) {
    *err = xstrdup("cannot sign: no signing region or service");
    return false;
  }
  if (!nonempty(hdrs_get(req->headers, "host"))) {
    *err = xstrdup("cannot sign: the request has no Host header");
    return false;
  }
  char amz_date[17], date8[9];
  aws_amz_date(opts->now, amz_date);
  memcpy(date8, amz_date, 8);
  date8[8] = '\0';

  char body_hash[65];
  const char *payload_hash = opts->payload_hash;
  if (!payload_hash) {
    sigv4_sha256_hex(req->body ? req->body : "", req->body ? req->body_len : 0, body_hash);
    payload_hash = body_hash;
  }
  bool token = nonempty(creds->session_token);
  hdrs_del(req->headers, "authorization");
  hdrs_set(req->headers, "X-Amz-Date", amz_date);
  if (opts->s3 || opts->content_sha256)
    hdrs_set(req->headers, "x-amz-content-sha256", payload_hash);
  if (token && !opts->omit_session_token)
    hdrs_set(req->headers, "X-Amz-Security-Token", creds->session_token);

  char *path = sigv4_canonical_path(req->path, opts->s3, !opts->s3 && !opts->no_normalize);
  char *query = sigv4_canonical_query(req->query);
  char *signed_headers = NULL;
  char *headers = sigv4_canonical_headers(req->headers, &signed_headers);
  char *creq = xasprintf("%s\n%s\n%s\n%s\n%s\n%s", req->method, path, query, headers,
                         signed_headers, payload_hash);
  free(path);
  free(query);
  free(headers);

  char creq_hash[65];
  sigv4_sha256_hex(creq, strlen(creq), creq_hash);
  char *scope = xasprintf("%s/%s/%s/aws4_request", date8, opts->region, opts->service);
  char *sts = xasprintf(ALGORITHM "\n%s\n%s\n%s", amz_date, scope, creq_hash);

  unsigned char key[32], mac[32];
  cached_key(opts->cache, creds->access_key_id, creds->secret_access_key, date8, opts->region,
             opts->service, key);
  hmac(key, sizeof key, sts, mac);
  OPENSSL_cleanse(key, sizeof key);
  char sig[65];
  hex_encode(mac, sizeof mac, sig);

  char *auth = xasprintf(ALGORITHM " Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                         creds->access_key_id, scope, signed_headers, sig);
  hdrs_set(req->headers, "Authorization", auth);
  if (token && opts->omit_session_token)
    hdrs_set(req->headers, "X-Amz-Security-Token", creds->session_token);
  free(auth);
  free(scope);
  free(signed_headers);
  if (trace) {
    trace->canonical_request = creq;
    trace->string_to_sign = sts;
    memcpy(trace->signature, sig, sizeof sig);
  } else {
    free(creq);
    free(sts);
  }
  return true;
}

double sigv4_benchmark(unsigned ms) {
  static const char body[] = "Action=DescribeInstances&Version=2016-11-15&MaxResults=100";
  sigv4_cache cache = {0};
  sigv4_creds creds = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL};
  sigv4_opts opts = {.region = "us-east-1", .service = "ec2", .now = 1440938160, .cache = &cache};
  uint64_t start = mono_us(), end = start + (uint64_t)ms * 1000u, now = start;
  unsigned long n = 0;
  do {
    aws_headers h = {0};
    hdrs_add(&h, "Host", "ec2.us-east-1.amazonaws.com");
    hdrs_add(&h, "Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
    sigv4_request req = {"POST", "/", NULL, &h, body, sizeof body - 1};
    char *err = NULL;
    if (!sigv4_sign(&req, &creds, &opts, NULL, &err))
      free(err);
    hdrs_free(&h);
    n++;
    if ((n & 63) == 0)
      now = mono_us();
  } while (now < end);
  now = mono_us();
  sigv4_cache_clear(&cache);
  return now > start ? (double)n * 1e6 / (double)(now - start) : 0.0;
}
