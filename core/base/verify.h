/* Proving a request came from Slack: signing secret v0, or a legacy token. */
#ifndef SLASHD_VERIFY_H
#define SLASHD_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/form.h"

#define VERIFY_MAX_SKEW 300 /* seconds, both directions */

typedef enum {
  VERIFY_OK = 0,
  VERIFY_MISSING,        /* no signature/timestamp headers (and no token) */
  VERIFY_BAD_TIMESTAMP,  /* not a plain decimal number */
  VERIFY_OLD,            /* older than the allowed skew */
  VERIFY_FUTURE,         /* newer than the allowed skew */
  VERIFY_BAD_FORMAT,     /* signature not "v0=" + 64 hex digits */
  VERIFY_MISMATCH,       /* signature does not match */
  VERIFY_BAD_TOKEN,      /* legacy token missing or wrong */
  VERIFY_NOT_CONFIGURED, /* neither a secret nor a token is configured */
  VERIFY_REPLAYED        /* a valid signature already accepted (base/replay.h) */
} verify_result;

/* Checks X-Slack-Request-Timestamp / X-Slack-Signature over the raw body,
 * with `now` injected (seconds since the epoch). */
verify_result verify_slack_signature(const void *secret, size_t secret_len, const char *timestamp,
                                     const char *signature, const void *body, size_t body_len,
                                     int64_t now);

/* A signing secret keyed once (the HMAC key schedule), for the ack path:
 * OpenSSL 3's one-shot HMAC() looks the algorithm up and keys it again for
 * every request. */
typedef struct verify_key verify_key;
/* NULL when OpenSSL cannot make the key (the caller falls back to
 * verify_slack_signature). */
verify_key *verify_key_new(const void *secret, size_t secret_len);
void verify_key_free(verify_key *k);
/* verify_slack_signature with a prepared key: the same checks, in the same
 * order, with the same results. Safe from several threads at once. */
verify_result verify_slack_signature_key(const verify_key *k, const char *timestamp,
                                         const char *signature, const void *body, size_t body_len,
                                         int64_t now);

/* Constant-time check of a legacy verification token (Slack's `token`
 * field, Mattermost's `token` field or `Authorization: Token …`). */
verify_result verify_token(const void *expected, size_t expected_len, const char *got);

/* "v0=<hex>" for `timestamp` and `body` into out (at least 68 bytes). */
void verify_sign(const void *secret, size_t secret_len, const char *timestamp, const void *body,
                 size_t body_len, char out[68]);

/* Everything one request's verification needs, whatever door it came
 * through. All borrowed. */
typedef struct verify_inputs {
  const unsigned char *secret; /* signing secret, or NULL */
  size_t secret_len;
  const verify_key *key;      /* the secret keyed once, or NULL (then `secret` is used) */
  const unsigned char *token; /* legacy verification token, or NULL */
  size_t token_len;
  const char *timestamp;     /* X-Slack-Request-Timestamp, or NULL */
  const char *signature;     /* X-Slack-Signature, or NULL */
  const char *authorization; /* Authorization header (Mattermost: "Token …"), or NULL */
  const char *body;          /* the raw form body */
  size_t body_len;
  int64_t now; /* seconds since the epoch */
} verify_inputs;

/* The form, when verification had to parse the body to find a token. */
typedef struct verify_parsed {
  bool parsed;  /* false: the caller parses the body itself (after VERIFY_OK) */
  form_err err; /* when parsed */
  form form;    /* when parsed and err == FORM_OK; the caller frees it */
  char *bad;    /* the field form_parse named, or NULL; the caller frees it */
} verify_parsed;

/* Proves a request's origin. With a signing secret the raw bytes must carry
 * a valid signature (a token is then never enough) and are verified before
 * anything parses them; only legacy-token mode (no secret: Mattermost)
 * parses the form first, to find the token in it (then *out holds that
 * parse). `out` is zeroed first. */
verify_result verify_request(const verify_inputs *in, verify_parsed *out);
/* Frees what verify_request left in *p (safe on a zeroed one). */
void verify_parsed_free(verify_parsed *p);

/* A short stable name, for logs and metrics labels. */
const char *verify_reason(verify_result r);

#endif
