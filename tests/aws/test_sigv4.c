/* SigV4 signer against the official vectors, read at test time from
 * ../shared/vectors/sigv4 (never copied into the project; see shared_dir.h):
 *   aws-c-auth/tests/aws-signing-test-suite/v4/<case>/   (header signing)
 *   botocore/tests/unit/auth/aws4_testsuite/ (recursively; .req/.creq/.sts/.authz)
 *   s3-doc-examples/<case>/                              (S3 API Reference)
 * Every case found must parse and pass; the counts are printed and checked
 * against the known size of each suite, so a missing or emptied directory
 * fails instead of passing vacuously. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "aws/codec.h"
#include "aws/sigv4.h"
#include "base/util.h"
#include "shared_dir.h"

#define VEC_SUBDIR "vectors/sigv4"
#define CRT_SUBDIR VEC_SUBDIR "/aws-c-auth/tests/aws-signing-test-suite/v4"
#define BOTO_SUBDIR VEC_SUBDIR "/botocore/tests/unit/auth/aws4_testsuite"
#define S3_SUBDIR VEC_SUBDIR "/s3-doc-examples"

/* Known suite sizes (LICENSES.md): fewer cases found means a broken checkout. */
#define CRT_CASES 38
#define BOTO_CASES 34
#define S3_CASES 2

/* ---- helpers ---- */

static char *slurp(const char *dir, const char *name) {
  char *path = xasprintf("%s/%s", dir, name);
  size_t len;
  char *s = read_file(path, 1 << 20, &len);
  if (!s)
    fprintf(stderr, "  cannot read %s\n", path);
  free(path);
  return s;
}

/* Drops trailing CR/LF (the expected files end without, or with, one). */
static char *chomp(char *s) {
  if (s) {
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
      s[--n] = '\0';
  }
  return s;
}

static bool is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool same(const char *what, const char *tcase, const char *got, const char *want) {
  if (got && want && strcmp(got, want) == 0)
    return true;
  fprintf(stderr, "  %s: %s differs\n  --- expected\n%s\n  --- got\n%s\n", tcase, what,
          want ? want : "(missing)", got ? got : "(missing)");
  return false;
}

/* ---- a tiny raw HTTP request parser (request.txt / .req) ---- */

typedef struct raw_req {
  char *method, *path, *query;
  aws_headers h;
  char *body;
  size_t body_len;
} raw_req;

static void raw_req_free(raw_req *r) {
  free(r->method);
  free(r->path);
  free(r->query);
  free(r->body);
  hdrs_free(&r->h);
  memset(r, 0, sizeof *r);
}

/* Request line "METHOD URI [HTTP/x.y]" (the URI may hold spaces), header
 * lines "Name:value" with continuation lines starting with white space,
 * then an optional blank line and the body. */
static bool parse_request(const char *text, raw_req *r) {
  memset(r, 0, sizeof *r);
  const char *p = text;
  const char *eol = strchr(p, '\n');
  size_t ll = eol ? (size_t)(eol - p) : strlen(p);
  char *line = xstrndup(p, ll);
  if (ll && line[ll - 1] == '\r')
    line[--ll] = '\0';
  char *sp = strchr(line, ' ');
  if (!sp) {
    free(line);
    return false;
  }
  r->method = xstrndup(line, (size_t)(sp - line));
  char *uri = sp + 1;
  char *last = strrchr(uri, ' ');
  if (last && str_starts(last + 1, "HTTP/"))
    *last = '\0';
  char *q = strchr(uri, '?');
  if (q) {
    r->query = xstrdup(q + 1);
    *q = '\0';
  }
  r->path = xstrdup(uri);
  free(line);
  if (!*r->method || !*r->path)
    return false;
  p = eol ? eol + 1 : p + ll;

  sbuf val = {0};
  char *name = NULL;
  while (*p) {
    eol = strchr(p, '\n');
    ll = eol ? (size_t)(eol - p) : strlen(p);
    if (ll && p[ll - 1] == '\r')
      ll--;
    const char *next = eol ? eol + 1 : p + strlen(p);
    if (ll == 0) { /* blank line: the body follows */
      p = next;
      r->body_len = strlen(p);
      r->body = xstrdup(p);
      break;
    }
    if (p[0] == ' ' || p[0] == '\t') {
      if (!name) {
        sbuf_free(&val);
        return false;
      }
      sbuf_addc(&val, '\n');
      sbuf_add(&val, p, ll);
    } else {
      const char *colon = memchr(p, ':', ll);
      if (!colon || colon == p) {
        free(name);
        sbuf_free(&val);
        return false;
      }
      if (name) {
        hdrs_add(&r->h, name, val.p ? val.p : "");
        free(name);
        sbuf_reset(&val);
      }
      name = xstrndup(p, (size_t)(colon - p));
      sbuf_add(&val, colon + 1, ll - (size_t)(colon + 1 - p));
    }
    p = next;
  }
  if (name) {
    hdrs_add(&r->h, name, val.p ? val.p : "");
    free(name);
  }
  sbuf_free(&val);
  return hdrs_get(&r->h, "host") != NULL;
}

static int64_t iso(const char *s) {
  int64_t t = 0;
  assert_true(aws_parse_iso8601(s, &t));
  return t;
}

/* ---- aws-c-auth ---- */

static bool crt_case(const char *dir, const char *name) {
  bool ok = false;
  raw_req r = {0};
  sigv4_trace tr = {0};
  char *err = NULL, *req_txt = slurp(dir, "request.txt"), *ctx_txt = slurp(dir, "context.json");
  char *want_creq = chomp(slurp(dir, "header-canonical-request.txt"));
  char *want_sts = chomp(slurp(dir, "header-string-to-sign.txt"));
  char *want_sig = chomp(slurp(dir, "header-signature.txt"));
  char *signed_txt = slurp(dir, "header-signed-request.txt");
  json_t *ctx = ctx_txt ? json_loads(ctx_txt, 0, NULL) : NULL;
  if (!req_txt || !ctx || !want_creq || !want_sts || !want_sig || !signed_txt) {
    fprintf(stderr, "  %s: missing or unparsable vector files\n", name);
    goto out;
  }
  if (!parse_request(req_txt, &r)) {
    fprintf(stderr, "  %s: request.txt not parsed\n", name);
    goto out;
  }
  json_t *cr = json_object_get(ctx, "credentials");
  sigv4_creds creds = {json_string_value(json_object_get(cr, "access_key_id")),
                       json_string_value(json_object_get(cr, "secret_access_key")),
                       json_string_value(json_object_get(cr, "token"))};
  const char *ts = json_string_value(json_object_get(ctx, "timestamp"));
  json_t *norm = json_object_get(ctx, "normalize");
  sigv4_opts o = {
      .region = json_string_value(json_object_get(ctx, "region")),
      .service = json_string_value(json_object_get(ctx, "service")),
      .now = ts ? iso(ts) : 0,
      .no_normalize = norm && json_is_false(norm),
      .content_sha256 = json_is_true(json_object_get(ctx, "sign_body")),
      .omit_session_token = json_is_true(json_object_get(ctx, "omit_session_token")),
  };
  if (!creds.access_key_id || !creds.secret_access_key || !o.region || !o.service || !ts) {
    fprintf(stderr, "  %s: context.json lacks a field\n", name);
    goto out;
  }
  sigv4_request req = {r.method, r.path, r.query, &r.h, r.body, r.body_len};
  if (!sigv4_sign(&req, &creds, &o, &tr, &err)) {
    fprintf(stderr, "  %s: sign failed: %s\n", name, err);
    goto out;
  }
  ok = same("canonical request", name, tr.canonical_request, want_creq);
  ok = same("string to sign", name, tr.string_to_sign, want_sts) && ok;
  ok = same("signature", name, tr.signature, want_sig) && ok;

  /* The Authorization header of the signed request, and the session token
   * where the case has one (signed, or added afterwards with omit). */
  raw_req sr = {0};
  if (!parse_request(signed_txt, &sr)) {
    fprintf(stderr, "  %s: header-signed-request.txt not parsed\n", name);
    ok = false;
  } else {
    ok = same("Authorization", name, hdrs_get(&r.h, "authorization"),
              hdrs_get(&sr.h, "authorization")) &&
         ok;
    const char *want_tok = hdrs_get(&sr.h, "x-amz-security-token");
    if (want_tok || creds.session_token)
      ok = same("X-Amz-Security-Token", name, hdrs_get(&r.h, "x-amz-security-token"), want_tok) &&
           ok;
  }
  raw_req_free(&sr);
out:
  sigv4_trace_free(&tr);
  raw_req_free(&r);
  json_decref(ctx);
  free(err);
  free(req_txt);
  free(ctx_txt);
  free(want_creq);
  free(want_sts);
  free(want_sig);
  free(signed_txt);
  return ok;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the sub-directories of dir. */
static size_t subdirs(const char *dir, char ***out) {
  DIR *d = opendir(dir);
  size_t n = 0;
  char **v = NULL;
  if (d) {
    struct dirent *e;
    while ((e = readdir(d))) {
      if (e->d_name[0] == '.')
        continue;
      char *p = xasprintf("%s/%s", dir, e->d_name);
      if (is_dir(p)) {
        v = xrealloc(v, (n + 1) * sizeof *v);
        v[n++] = xstrdup(e->d_name);
      }
      free(p);
    }
    closedir(d);
  }
  if (n)
    qsort(v, n, sizeof *v, cmp_str);
  *out = v;
  return n;
}

static void test_vectors_aws_c_auth(void **state) {
  (void)state;
  char *d = shared_path(CRT_SUBDIR);
  if (!is_dir(d))
    fail_msg("vector directory missing: %s", d);
  char **names;
  size_t found = subdirs(d, &names), passed = 0;
  for (size_t i = 0; i < found; i++) {
    char *dir = xasprintf("%s/%s", d, names[i]);
    if (crt_case(dir, names[i]))
      passed++;
    free(dir);
  }
  strv_free(names, found);
  printf("sigv4 vectors aws-c-auth: %zu found, %zu passed (expected %d)\n", found, passed,
         CRT_CASES);
  assert_int_equal(found, CRT_CASES);
  assert_int_equal(passed, found);
  free(d);
}

/* ---- botocore ---- */

#define BOTO_AKID "AKIDEXAMPLE"
#define BOTO_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define BOTO_TIME "2015-08-30T12:36:00Z"
/* The tokens the suite's test driver and readme supply (not in the .req). */
#define BOTO_VANILLA_TOKEN "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"
#define BOTO_STS_TOKEN                                                                             \
  "AQoDYXdzEPT//////////"                                                                          \
  "wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx" \
  "7"                                                                                              \
  "mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8T" \
  "x6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+"                                    \
  "scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKT"                                                           \
  "r4rvx3iSIlTJabIQwj2ICCR/oLxBA=="

static bool boto_case(const char *dir, const char *name) {
  bool ok = false;
  raw_req r = {0};
  sigv4_trace tr = {0};
  char *err = NULL, *base = xasprintf("%s.req", name);
  char *req_txt = slurp(dir, base);
  free(base);
  base = xasprintf("%s.creq", name);
  char *want_creq = chomp(slurp(dir, base));
  free(base);
  base = xasprintf("%s.sts", name);
  char *want_sts = chomp(slurp(dir, base));
  free(base);
  base = xasprintf("%s.authz", name);
  char *want_authz = chomp(slurp(dir, base));
  free(base);
  if (!req_txt || !want_creq || !want_sts || !want_authz)
    goto out;
  if (!parse_request(req_txt, &r)) {
    fprintf(stderr, "  %s: .req not parsed\n", name);
    goto out;
  }
  sigv4_creds creds = {BOTO_AKID, BOTO_SECRET, NULL};
  sigv4_opts o = {.region = "us-east-1", .service = "service", .now = iso(BOTO_TIME)};
  if (strcmp(name, "get-vanilla-with-session-token") == 0)
    creds.session_token = BOTO_VANILLA_TOKEN;
  if (strcmp(name, "post-sts-header-after") == 0) {
    creds.session_token = BOTO_STS_TOKEN; /* added after signing */
    o.omit_session_token = true;
  }
  sigv4_request req = {r.method, r.path, r.query, &r.h, r.body, r.body_len};
  if (!sigv4_sign(&req, &creds, &o, &tr, &err)) {
    fprintf(stderr, "  %s: sign failed: %s\n", name, err);
    goto out;
  }
  ok = same("canonical request", name, tr.canonical_request, want_creq);
  ok = same("string to sign", name, tr.string_to_sign, want_sts) && ok;
  ok = same("Authorization", name, hdrs_get(&r.h, "authorization"), want_authz) && ok;
  if (o.omit_session_token)
    ok = same("X-Amz-Security-Token", name, hdrs_get(&r.h, "x-amz-security-token"),
              BOTO_STS_TOKEN) &&
         ok;
out:
  sigv4_trace_free(&tr);
  raw_req_free(&r);
  free(err);
  free(req_txt);
  free(want_creq);
  free(want_sts);
  free(want_authz);
  return ok;
}

/* A case is a directory holding <dirname>.req; others are groups (e.g.
 * normalize-path, post-sts-token) and are walked into. */
static void boto_walk(const char *dir, size_t *found, size_t *passed) {
  char **names;
  size_t n = subdirs(dir, &names);
  for (size_t i = 0; i < n; i++) {
    char *sub = xasprintf("%s/%s", dir, names[i]);
    char *req = xasprintf("%s/%s.req", sub, names[i]);
    struct stat st;
    if (stat(req, &st) == 0) {
      (*found)++;
      if (boto_case(sub, names[i]))
        (*passed)++;
    } else {
      boto_walk(sub, found, passed);
    }
    free(req);
    free(sub);
  }
  strv_free(names, n);
}

static void test_vectors_botocore(void **state) {
  (void)state;
  char *d = shared_path(BOTO_SUBDIR);
  if (!is_dir(d))
    fail_msg("vector directory missing: %s", d);
  size_t found = 0, passed = 0;
  boto_walk(d, &found, &passed);
  printf("sigv4 vectors botocore: %zu found, %zu passed (expected %d)\n", found, passed,
         BOTO_CASES);
  assert_int_equal(found, BOTO_CASES);
  assert_int_equal(passed, found);
  free(d);
}

/* ---- S3 documentation examples ---- */

#define S3_AKID "AKIAIOSFODNN7EXAMPLE"
#define S3_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define S3_TIME "2013-05-24T00:00:00Z"

/* AWS published no raw request, only the request line: the header fields
 * the caller sends (host, range) are the canonical headers minus the two the
 * signer itself adds (x-amz-date, x-amz-content-sha256). */
static void s3_headers_from_creq(const char *creq, aws_headers *h) {
  const char *p = strchr(creq, '\n');
  for (int skip = 0; p && skip < 2; skip++) /* path, query */
    p = strchr(p + 1, '\n');
  if (!p)
    return;
  p++;
  while (*p && *p != '\n') {
    const char *eol = strchr(p, '\n');
    if (!eol)
      break;
    const char *colon = memchr(p, ':', (size_t)(eol - p));
    if (colon) {
      char *name = xstrndup(p, (size_t)(colon - p));
      char *value = xstrndup(colon + 1, (size_t)(eol - colon - 1));
      if (strcmp(name, "x-amz-date") != 0 && strcmp(name, "x-amz-content-sha256") != 0)
        hdrs_add(h, name, value);
      free(name);
      free(value);
    }
    p = eol + 1;
  }
}

/* The published header has no space after the commas; botocore's has one. */
static char *no_comma_space(const char *s) {
  sbuf b = {0};
  char prev = 0;
  for (; s && *s; prev = *s++)
    if (!(*s == ' ' && prev == ','))
      sbuf_addc(&b, *s);
  return sbuf_steal(&b);
}

static bool s3_case(const char *dir, const char *name) {
  bool ok = false;
  raw_req r = {0};
  sigv4_trace tr = {0};
  char *err = NULL, *got = NULL;
  char *line = chomp(slurp(dir, "request-line.txt"));
  char *want_creq = chomp(slurp(dir, "canonical-request.txt"));
  char *want_sts = chomp(slurp(dir, "string-to-sign.txt"));
  char *want_authz = chomp(slurp(dir, "authorization.txt"));
  if (!line || !want_creq || !want_sts || !want_authz)
    goto out;
  aws_headers extra = {0};
  s3_headers_from_creq(want_creq, &extra);
  sbuf text = {0};
  sbuf_adds(&text, line);
  sbuf_addc(&text, '\n');
  for (size_t i = 0; i < extra.n; i++)
    sbuf_addf(&text, "%s:%s\n", extra.v[i].name, extra.v[i].value);
  hdrs_free(&extra);
  bool parsed = parse_request(text.p, &r);
  sbuf_free(&text);
  if (!parsed) {
    fprintf(stderr, "  %s: request not parsed\n", name);
    goto out;
  }
  sigv4_creds creds = {S3_AKID, S3_SECRET, NULL};
  sigv4_opts o = {.region = "us-east-1", .service = "s3", .now = iso(S3_TIME), .s3 = true};
  sigv4_request req = {r.method, r.path, r.query, &r.h, NULL, 0};
  if (!sigv4_sign(&req, &creds, &o, &tr, &err)) {
    fprintf(stderr, "  %s: sign failed: %s\n", name, err);
    goto out;
  }
  ok = same("canonical request", name, tr.canonical_request, want_creq);
  ok = same("string to sign", name, tr.string_to_sign, want_sts) && ok;
  got = no_comma_space(hdrs_get(&r.h, "authorization"));
  ok = same("Authorization", name, got, want_authz) && ok;
out:
  sigv4_trace_free(&tr);
  raw_req_free(&r);
  free(err);
  free(got);
  free(line);
  free(want_creq);
  free(want_sts);
  free(want_authz);
  return ok;
}

static void test_vectors_s3(void **state) {
  (void)state;
  char *d = shared_path(S3_SUBDIR);
  if (!is_dir(d))
    fail_msg("vector directory missing: %s", d);
  char **names;
  size_t n = subdirs(d, &names), found = 0, passed = 0;
  for (size_t i = 0; i < n; i++) {
    char *dir = xasprintf("%s/%s", d, names[i]);
    found++;
    if (s3_case(dir, names[i]))
      passed++;
    free(dir);
  }
  strv_free(names, n);
  printf("sigv4 vectors s3-doc-examples: %zu found, %zu passed (expected %d)\n", found, passed,
         S3_CASES);
  assert_int_equal(found, S3_CASES);
  assert_int_equal(passed, found);
  free(d);
}

/* ---- our own rules beyond the vectors ---- */

static void test_parts(void **state) {
  (void)state;
  char *s;
  /* S3: never normalized, encoded once whether given raw or encoded. */
  s = sigv4_canonical_path("/my-object//example//photo.user", true, false);
  assert_string_equal(s, "/my-object//example//photo.user");
  free(s);
  s = sigv4_canonical_path("/a b/c%20d/e+f", true, false);
  assert_string_equal(s, "/a%20b/c%20d/e%2Bf");
  free(s);
  /* Others: normalized, then the encoded path encoded again. */
  s = sigv4_canonical_path("/a%20b/./c/../d//", false, true);
  assert_string_equal(s, "/a%2520b/d/");
  free(s);
  s = sigv4_canonical_path("", false, true);
  assert_string_equal(s, "/");
  free(s);
  s = sigv4_canonical_path("/a/b/..", false, true);
  assert_string_equal(s, "/a");
  free(s);
  /* Query: decode, re-encode strictly, sort by name then value, key=. */
  s = sigv4_canonical_query("b=2&a=%7e&&k&a=+&c=%2f%zz");
  assert_string_equal(s, "a=%2B&a=~&b=2&c=%2F%25zz&k=");
  free(s);
  s = sigv4_canonical_query(NULL);
  assert_string_equal(s, "");
  free(s);
}

static void test_headers_rules(void **state) {
  (void)state;
  aws_headers h = {0};
  hdrs_add(&h, "Host", "127.0.0.1:4566");
  hdrs_add(&h, "User-Agent", "slashd/1");
  hdrs_add(&h, "Expect", "100-continue");
  hdrs_add(&h, "Connection", "keep-alive");
  hdrs_add(&h, "Transfer-Encoding", "chunked");
  hdrs_add(&h, "X-Amz-Target", "  TrentService.Decrypt ");
  hdrs_add(&h, "Content-Type", "application/x-amz-json-1.1");
  sigv4_creds creds = {"AKID", "SECRET", "TOKEN"};
  sigv4_cache cache = {0};
  sigv4_opts o = {.region = "us-west-2", .service = "kms", .now = 1700000000, .cache = &cache};
  sigv4_request req = {"POST", "/", NULL, &h, "{}", 2};
  sigv4_trace tr = {0};
  char *err = NULL;
  assert_true(sigv4_sign(&req, &creds, &o, &tr, &err));
  const char *auth = hdrs_get(&h, "authorization");
  assert_non_null(strstr(auth, "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;"
                               "x-amz-target, Signature="));
  assert_non_null(strstr(tr.canonical_request, "\nhost:127.0.0.1:4566\n"));
  assert_non_null(strstr(tr.canonical_request, "\nx-amz-target:TrentService.Decrypt\n"));
  assert_string_equal(hdrs_get(&h, "x-amz-security-token"), "TOKEN");
  assert_null(hdrs_get(&h, "x-amz-content-sha256")); /* not S3, not asked */
  char sig1[65];
  memcpy(sig1, tr.signature, sizeof sig1);
  sigv4_trace_free(&tr);

  /* Signing again (same day, region, service, key) reuses the derived key
   * and yields the same signature; one X-Amz-Date and one Authorization. */
  assert_true(sigv4_sign(&req, &creds, &o, &tr, &err));
  assert_string_equal(sig1, tr.signature);
  assert_int_equal(cache.misses, 1);
  assert_int_equal(cache.hits, 1);
  size_t dates = 0, auths = 0;
  for (size_t i = 0; i < h.n; i++) {
    dates += strcasecmp(h.v[i].name, "x-amz-date") == 0;
    auths += strcasecmp(h.v[i].name, "authorization") == 0;
  }
  assert_int_equal(dates, 1);
  assert_int_equal(auths, 1);
  sigv4_trace_free(&tr);
  sigv4_cache_clear(&cache);
  hdrs_free(&h);

  /* S3 always sends and signs x-amz-content-sha256. */
  hdrs_add(&h, "Host", "s3.amazonaws.com");
  sigv4_opts s3 = {.region = "us-east-1", .service = "s3", .now = 1700000000, .s3 = true};
  sigv4_request get = {"GET", "/", "max-buckets=5", &h, NULL, 0};
  creds.session_token = NULL;
  assert_true(sigv4_sign(&get, &creds, &s3, NULL, &err));
  assert_string_equal(hdrs_get(&h, "x-amz-content-sha256"), SIGV4_EMPTY_SHA256);
  assert_non_null(
      strstr(hdrs_get(&h, "authorization"), "SignedHeaders=host;x-amz-content-sha256;x-amz-date,"));
  hdrs_free(&h);

  /* No Host: refused with a reason. */
  hdrs_add(&h, "X-Amz-Target", "x");
  assert_false(sigv4_sign(&get, &creds, &s3, NULL, &err));
  assert_non_null(strstr(err, "Host"));
  free(err);
  hdrs_free(&h);
}

static void test_benchmark(void **state) {
  (void)state;
  double rate = sigv4_benchmark(100);
  printf("sigv4 benchmark: %.0f signatures/second\n", rate);
  assert_true(rate > 100.0);
}

int main(void) {
  shared_require("test_sigv4", VEC_SUBDIR);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vectors_aws_c_auth), cmocka_unit_test(test_vectors_botocore),
      cmocka_unit_test(test_vectors_s3),         cmocka_unit_test(test_parts),
      cmocka_unit_test(test_headers_rules),      cmocka_unit_test(test_benchmark),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
