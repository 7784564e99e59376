/* Proving a request came from Slack: signing secret v0, or a legacy token. */
#ifndef SLASHD_VERIFY_H
#define SLASHD_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VERIFY_MAX_SKEW 300 /* seconds, both directions */

typedef enum {
  VERIFY_OK = 0,
  VERIFY_MISSING,       /* no signature/timestamp headers (and no token) */
  VERIFY_BAD_TIMESTAMP, /* not a plain decimal number */
  VERIFY_OLD,           /* older than the allowed skew */
  VERIFY_FUTURE,        /* newer than the allowed skew */
  VERIFY_BAD_FORMAT,    /* signature not "v0=" + 64 hex digits */
  VERIFY_MISMATCH,      /* signature does not match */
  VERIFY_BAD_TOKEN,     /* legacy token missing or wrong */
  VERIFY_NOT_CONFIGURED /* neither a secret nor a token is configured */
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

/* A short stable name, for logs and metrics labels. */
const char *verify_reason(verify_result r);

#endif
