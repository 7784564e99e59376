#include "base/verify.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#include "base/util.h"

void verify_sign(const void *secret, size_t secret_len, const char *timestamp, const void *body,
                 size_t body_len, char out[68]) {
  /* Base string: "v0:" + timestamp + ":" + body. */
  sbuf base = {0};
  sbuf_adds(&base, "v0:");
  sbuf_adds(&base, timestamp);
  sbuf_addc(&base, ':');
  sbuf_add(&base, body, body_len);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (!HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)base.p, base.len, mac,
            &mac_len) ||
      mac_len != 32) {
    memset(out, 0, 68);
  } else {
    memcpy(out, "v0=", 3);
    hex_encode(mac, 32, out + 3);
  }
  sbuf_free(&base);
}

static bool all_digits(const char *s, size_t max) {
  size_t n = 0;
  for (; *s; s++, n++)
    if (!isdigit((unsigned char)*s) || n >= max)
      return false;
  return n > 0;
}

/* The checks before any HMAC: headers present, timestamp fresh, signature
 * well formed. VERIFY_OK means: compute and compare. */
static verify_result check_headers(const char *timestamp, const char *signature, int64_t now) {
  if (!timestamp || !signature || !*timestamp || !*signature)
    return VERIFY_MISSING;
  if (!all_digits(timestamp, 12))
    return VERIFY_BAD_TIMESTAMP;
  long long ts = 0;
  for (const char *p = timestamp; *p; p++)
    ts = ts * 10 + (*p - '0');
  if (ts < now - VERIFY_MAX_SKEW)
    return VERIFY_OLD;
  if (ts > now + VERIFY_MAX_SKEW)
    return VERIFY_FUTURE;
  size_t slen = strlen(signature);
  if (slen != 67 || strncmp(signature, "v0=", 3) != 0)
    return VERIFY_BAD_FORMAT;
  for (size_t i = 3; i < slen; i++)
    if (!isxdigit((unsigned char)signature[i]))
      return VERIFY_BAD_FORMAT;
  return VERIFY_OK;
}

static verify_result compare(const char expected[68], const char *signature) {
  /* Slack sends lower-case hex; accept upper case too by folding it before
   * the constant-time compare. */
  char got[68];
  for (size_t i = 0; i < 68; i++)
    got[i] = (char)tolower((unsigned char)signature[i]);
  return ct_equal(expected, 67, got, 67) ? VERIFY_OK : VERIFY_MISMATCH;
}

verify_result verify_slack_signature(const void *secret, size_t secret_len, const char *timestamp,
                                     const char *signature, const void *body, size_t body_len,
                                     int64_t now) {
  if (!secret || !secret_len)
    return VERIFY_NOT_CONFIGURED;
  verify_result v = check_headers(timestamp, signature, now);
  if (v != VERIFY_OK)
    return v;
  char expected[68];
  verify_sign(secret, secret_len, timestamp, body, body_len, expected);
  return compare(expected, signature);
}

struct verify_key {
  EVP_MAC *mac;
  EVP_MAC_CTX *keyed; /* initialised with the secret; only ever duplicated */
};

verify_key *verify_key_new(const void *secret, size_t secret_len) {
  if (!secret || !secret_len)
    return NULL;
  verify_key *k = xcalloc(1, sizeof *k);
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  k->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  k->keyed = k->mac ? EVP_MAC_CTX_new(k->mac) : NULL;
  if (!k->keyed || !EVP_MAC_init(k->keyed, secret, secret_len, params)) {
    verify_key_free(k);
    return NULL;
  }
  return k;
}

void verify_key_free(verify_key *k) {
  if (!k)
    return;
  EVP_MAC_CTX_free(k->keyed); /* OpenSSL cleanses the key material */
  EVP_MAC_free(k->mac);
  free(k);
}

/* HMAC-SHA256 over "v0:" ts ":" body, streamed (no copy of the body). */
static bool sign_keyed(const verify_key *k, const char *timestamp, const void *body,
                       size_t body_len, char out[68]) {
  EVP_MAC_CTX *c = EVP_MAC_CTX_dup(k->keyed);
  unsigned char mac[32];
  size_t mac_len = 0;
  bool ok = c && EVP_MAC_update(c, (const unsigned char *)"v0:", 3) &&
            EVP_MAC_update(c, (const unsigned char *)timestamp, strlen(timestamp)) &&
            EVP_MAC_update(c, (const unsigned char *)":", 1) && EVP_MAC_update(c, body, body_len) &&
            EVP_MAC_final(c, mac, &mac_len, sizeof mac) && mac_len == 32;
  EVP_MAC_CTX_free(c);
  if (!ok)
    return false;
  memcpy(out, "v0=", 3);
  hex_encode(mac, 32, out + 3);
  return true;
}

verify_result verify_slack_signature_key(const verify_key *k, const char *timestamp,
                                         const char *signature, const void *body, size_t body_len,
                                         int64_t now) {
  if (!k)
    return VERIFY_NOT_CONFIGURED;
  verify_result v = check_headers(timestamp, signature, now);
  if (v != VERIFY_OK)
    return v;
  char expected[68];
  if (!sign_keyed(k, timestamp, body, body_len, expected))
    memset(expected, 0, sizeof expected); /* never matches a well-formed signature */
  return compare(expected, signature);
}

verify_result verify_token(const void *expected, size_t expected_len, const char *got) {
  if (!expected || !expected_len)
    return VERIFY_NOT_CONFIGURED;
  if (!got || !*got)
    return VERIFY_BAD_TOKEN;
  return ct_equal(expected, expected_len, got, strlen(got)) ? VERIFY_OK : VERIFY_BAD_TOKEN;
}

verify_result verify_request(const verify_inputs *in, verify_parsed *out) {
  memset(out, 0, sizeof *out);
  /* With a signing secret, only a valid signature will do, whatever token
   * the body carries: a token is a static password, replayable for ever.
   * Token-only verification is for hosts without a secret (Mattermost). */
  if (in->secret) {
    if (in->key)
      return verify_slack_signature_key(in->key, in->timestamp, in->signature, in->body,
                                        in->body_len, in->now);
    return verify_slack_signature(in->secret, in->secret_len, in->timestamp, in->signature,
                                  in->body, in->body_len, in->now);
  }
  if (!in->token)
    return VERIFY_NOT_CONFIGURED;
  out->parsed = true;
  out->err = form_parse(in->body, in->body_len, &out->form, &out->bad);
  const char *tok = out->err == FORM_OK ? form_get(&out->form, "token") : NULL;
  if ((!tok || !*tok) && in->authorization && strncasecmp(in->authorization, "Token ", 6) == 0)
    tok = in->authorization + 6;
  return verify_token(in->token, in->token_len, tok);
}

void verify_parsed_free(verify_parsed *p) {
  form_free(&p->form);
  free(p->bad);
  p->bad = NULL;
}

const char *verify_reason(verify_result r) {
  switch (r) {
  case VERIFY_OK:
    return "ok";
  case VERIFY_MISSING:
    return "missing";
  case VERIFY_BAD_TIMESTAMP:
    return "bad_timestamp";
  case VERIFY_OLD:
    return "stale";
  case VERIFY_FUTURE:
    return "future";
  case VERIFY_BAD_FORMAT:
    return "bad_format";
  case VERIFY_MISMATCH:
    return "mismatch";
  case VERIFY_BAD_TOKEN:
    return "bad_token";
  case VERIFY_NOT_CONFIGURED:
    return "not_configured";
  case VERIFY_REPLAYED:
    return "replayed";
  }
  return "unknown";
}
