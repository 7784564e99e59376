/* AWS Signature Version 4, header form.
 *
 * The signer works on a request as it will go on the wire: the caller gives
 * method, path, query, headers (Host included) and body; sigv4_sign() adds
 * X-Amz-Date, x-amz-content-sha256 (S3, or when asked), X-Amz-Security-Token
 * and Authorization to the header list. The time is a parameter so that tests
 * (and the official vectors) can fix it.
 *
 * Rules (aws.md): non-S3 paths are normalized (".", "..", "//") and encoded a
 * second time; S3 paths are encoded exactly once and never normalized. The
 * query is decoded, re-encoded strictly and sorted by name, then value. Every
 * header given is signed except expect, transfer-encoding, user-agent,
 * connection, authorization and x-amzn-trace-id (proxies and libcurl change
 * those). */
#ifndef SLASHD_AWS_SIGV4_H
#define SLASHD_AWS_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hdrs.h"

#define SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

/* Signing keys are derived once per (access key, day, region, service): an
 * access key id names exactly one secret, so it is the cache key. */
#define SIGV4_CACHE_SLOTS 8
typedef struct sigv4_cache {
  struct {
    char akid[128];
    char date[9];
    char region[64];
    char service[64];
    unsigned char key[32];
    bool used;
  } slot[SIGV4_CACHE_SLOTS];
  unsigned next;
  unsigned long hits, misses; /* for tests and the benchmark */
} sigv4_cache;

/* Wipes every cached key. */
void sigv4_cache_clear(sigv4_cache *c);

typedef struct sigv4_creds {
  const char *access_key_id;
  const char *secret_access_key;
  const char *session_token; /* NULL or "" for long-term keys */
} sigv4_creds;

typedef struct sigv4_opts {
  const char *region;
  const char *service;
  int64_t now;              /* unix seconds */
  bool s3;                  /* S3 rules: encode the path once, never normalize, always
                               send x-amz-content-sha256 */
  bool no_normalize;        /* non-S3: skip path normalization (test vectors only) */
  bool content_sha256;      /* add and sign x-amz-content-sha256 (implied by s3) */
  bool omit_session_token;  /* add X-Amz-Security-Token after signing, unsigned */
  const char *payload_hash; /* hex SHA-256 or UNSIGNED-PAYLOAD; NULL: hash the body */
  sigv4_cache *cache;       /* NULL: derive the key every time */
} sigv4_opts;

typedef struct sigv4_request {
  const char *method;
  const char *path;     /* as sent; may hold %XX escapes */
  const char *query;    /* without the '?'; NULL or "" when none */
  aws_headers *headers; /* in: must hold Host; out: signing headers added */
  const void *body;
  size_t body_len;
} sigv4_request;

/* What the signature was computed from, for tests and debugging. */
typedef struct sigv4_trace {
  char *canonical_request;
  char *string_to_sign;
  char signature[65];
} sigv4_trace;

void sigv4_trace_free(sigv4_trace *t);

/* Signs `req` in place. trace may be NULL. On failure returns false and
 * *err (a new string) says why (no Host header, no credentials). */
bool sigv4_sign(const sigv4_request *req, const sigv4_creds *creds, const sigv4_opts *opts,
                sigv4_trace *trace, char **err);

/* The parts, exposed for tests. Each returns a new string. */
char *sigv4_canonical_path(const char *path, bool s3, bool normalize);
char *sigv4_canonical_query(const char *query);
/* Lower-cased, trimmed, folded, sorted; *signed_headers gets "a;b;c". */
char *sigv4_canonical_headers(const aws_headers *h, char **signed_headers);
/* The derived key (32 bytes). */
void sigv4_signing_key(const char *secret, const char *date8, const char *region,
                       const char *service, unsigned char key[32]);
/* Hex SHA-256 of n bytes into out (65 bytes). */
void sigv4_sha256_hex(const void *data, size_t n, char out[65]);

/* Microbenchmark: signs a typical EC2 Query POST (with a key cache, as the
 * client does) for about `ms` milliseconds and returns signatures/second. */
double sigv4_benchmark(unsigned ms);

#endif
