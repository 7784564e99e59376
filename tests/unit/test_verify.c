/* verify.c: Slack's v0 request signature and the legacy token, checked
 * against Slack's own published vector in shared/vectors/slack/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/util.h"
#include "base/verify.h"
#include "shared_dir.h"

#define VECTOR_SUBDIR "vectors/slack"

typedef struct vector {
  char *secret;
  char *timestamp;
  char *signature;
  char *body;
  size_t body_len;
  int64_t ts;
} vector;

/* The text between the backticks that follow `label` on one line of the
 * README, e.g. "- signing secret: `8f74…`". */
static char *readme_value(const char *readme, const char *label) {
  const char *p = strstr(readme, label);
  assert_non_null(p);
  const char *eol = strchr(p, '\n');
  const char *open = strchr(p, '`');
  assert_non_null(open);
  assert_true(eol == NULL || open < eol);
  const char *close = strchr(open + 1, '`');
  assert_non_null(close);
  return xstrndup(open + 1, (size_t)(close - open - 1));
}

static int vector_setup(void **state) {
  vector *v = xcalloc(1, sizeof *v);
  char *dir = shared_path(VECTOR_SUBDIR), *path = xasprintf("%s/README.md", dir);
  char *readme = read_file(path, 1 << 16, NULL);
  free(path);
  if (!readme) {
    free(dir);
    free(v);
    return -1;
  }
  v->secret = readme_value(readme, "signing secret:");
  v->timestamp = readme_value(readme, "X-Slack-Request-Timestamp:");
  v->signature = readme_value(readme, "expected X-Slack-Signature:");
  free(readme);
  path = xasprintf("%s/body.txt", dir);
  free(dir);
  v->body = read_file(path, 1 << 16, &v->body_len);
  free(path);
  if (!v->body)
    return -1;
  long ts;
  if (!parse_int(v->timestamp, 0, 99999999999L, &ts))
    return -1;
  v->ts = ts;
  *state = v;
  return 0;
}

static int vector_teardown(void **state) {
  vector *v = *state;
  free(v->secret);
  free(v->timestamp);
  free(v->signature);
  free(v->body);
  free(v);
  return 0;
}

static verify_result check(const vector *v, const char *ts, const char *sig, int64_t now) {
  return verify_slack_signature(v->secret, strlen(v->secret), ts, sig, v->body, v->body_len, now);
}

static void test_vector_parsed(void **state) {
  const vector *v = *state;
  /* Guards the README parsing itself: the published values' shapes. */
  assert_int_equal(strlen(v->secret), 32);
  assert_int_equal(strlen(v->signature), 67);
  assert_true(str_starts(v->signature, "v0="));
  assert_true(v->body_len > 100);
  assert_int_not_equal(v->body[v->body_len - 1], '\n');
  assert_true(str_starts(v->body, "token="));
}

static void test_vector_signs(void **state) {
  const vector *v = *state;
  char out[68];
  verify_sign(v->secret, strlen(v->secret), v->timestamp, v->body, v->body_len, out);
  assert_string_equal(out, v->signature);
}

/* With a signing secret, a request without a valid signature is refused
 * whatever token it carries (issue 11, item 4). */
static void test_no_downgrade_to_token(void **state) {
  const vector *v = *state;
  static const char tok[] = "legacy-token-value";
  char *body = xasprintf("token=%s&user_id=U1&text=help", tok);
  verify_inputs in = {.secret = (const unsigned char *)v->secret,
                      .secret_len = strlen(v->secret),
                      .token = (const unsigned char *)tok,
                      .token_len = strlen(tok),
                      .body = body,
                      .body_len = strlen(body),
                      .now = v->ts};
  verify_parsed p;
  assert_int_equal(verify_request(&in, &p), VERIFY_MISSING);
  verify_parsed_free(&p);
  in.authorization = "Token legacy-token-value";
  assert_int_equal(verify_request(&in, &p), VERIFY_MISSING);
  verify_parsed_free(&p);
  in.timestamp = v->timestamp;
  in.signature = "v0=0000000000000000000000000000000000000000000000000000000000000000";
  assert_int_equal(verify_request(&in, &p), VERIFY_MISMATCH);
  verify_parsed_free(&p);
  /* Without a secret, the token is what is checked (Mattermost). */
  in.secret = NULL;
  in.secret_len = 0;
  assert_int_equal(verify_request(&in, &p), VERIFY_OK);
  verify_parsed_free(&p);
  free(body);
}

static void test_vector_verifies(void **state) {
  const vector *v = *state;
  assert_int_equal(check(v, v->timestamp, v->signature, v->ts), VERIFY_OK);
}

static void test_skew(void **state) {
  const vector *v = *state;
  assert_int_equal(check(v, v->timestamp, v->signature, v->ts + 299), VERIFY_OK);
  assert_int_equal(check(v, v->timestamp, v->signature, v->ts - 299), VERIFY_OK);
  assert_int_equal(check(v, v->timestamp, v->signature, v->ts + 300), VERIFY_OK);
  assert_int_equal(check(v, v->timestamp, v->signature, v->ts - 300), VERIFY_OK);
  assert_int_equal(check(v, v->timestamp, v->signature, v->ts + 301), VERIFY_OLD);
  assert_int_equal(check(v, v->timestamp, v->signature, v->ts - 301), VERIFY_FUTURE);
  assert_int_equal(check(v, v->timestamp, v->signature, v->ts + 86400), VERIFY_OLD);
  assert_int_equal(check(v, v->timestamp, v->signature, 0), VERIFY_FUTURE);
  assert_string_equal(verify_reason(VERIFY_OLD), "stale");
  assert_string_equal(verify_reason(VERIFY_FUTURE), "future");
}

static void test_tampered_body(void **state) {
  const vector *v = *state;
  for (size_t pos = 0; pos < v->body_len; pos += v->body_len / 7 + 1) {
    char *b = xstrndup(v->body, v->body_len);
    b[pos] ^= 0x01;
    assert_int_equal(verify_slack_signature(v->secret, strlen(v->secret), v->timestamp,
                                            v->signature, b, v->body_len, v->ts),
                     VERIFY_MISMATCH);
    free(b);
  }
  /* One byte shorter or longer. */
  assert_int_equal(verify_slack_signature(v->secret, strlen(v->secret), v->timestamp, v->signature,
                                          v->body, v->body_len - 1, v->ts),
                   VERIFY_MISMATCH);
  char *longer = xasprintf("%s&", v->body);
  assert_int_equal(verify_slack_signature(v->secret, strlen(v->secret), v->timestamp, v->signature,
                                          longer, v->body_len + 1, v->ts),
                   VERIFY_MISMATCH);
  free(longer);
}

static void test_other_secret_or_timestamp(void **state) {
  const vector *v = *state;
  char *other = xstrdup(v->secret);
  other[0] = other[0] == 'a' ? 'b' : 'a';
  assert_int_equal(verify_slack_signature(other, strlen(other), v->timestamp, v->signature, v->body,
                                          v->body_len, v->ts),
                   VERIFY_MISMATCH);
  free(other);
  /* A timestamp one second later is within the skew but signs differently. */
  char *ts1 = xasprintf("%lld", (long long)v->ts + 1);
  assert_int_equal(check(v, ts1, v->signature, v->ts), VERIFY_MISMATCH);
  free(ts1);
}

static void test_tampered_signature(void **state) {
  const vector *v = *state;
  char *sig = xstrdup(v->signature);
  size_t last = strlen(sig) - 1;
  sig[last] = sig[last] == '0' ? '1' : '0';
  assert_int_equal(check(v, v->timestamp, sig, v->ts), VERIFY_MISMATCH);
  free(sig);
}

static void test_upper_case_hex(void **state) {
  const vector *v = *state;
  char *sig = xstrdup(v->signature);
  for (char *p = sig + 3; *p; p++)
    if (*p >= 'a' && *p <= 'f')
      *p = (char)(*p - 'a' + 'A');
  assert_string_not_equal(sig, v->signature);
  assert_int_equal(check(v, v->timestamp, sig, v->ts), VERIFY_OK);
  /* The prefix itself stays lower case. */
  sig[0] = 'V';
  assert_int_equal(check(v, v->timestamp, sig, v->ts), VERIFY_BAD_FORMAT);
  free(sig);
}

static void test_bad_format(void **state) {
  const vector *v = *state;
  char *sig = xstrdup(v->signature);
  sig[10] = 'g'; /* not hex */
  assert_int_equal(check(v, v->timestamp, sig, v->ts), VERIFY_BAD_FORMAT);
  free(sig);
  sig = xstrndup(v->signature, 66); /* one digit short */
  assert_int_equal(check(v, v->timestamp, sig, v->ts), VERIFY_BAD_FORMAT);
  free(sig);
  sig = xasprintf("%s0", v->signature); /* one digit long */
  assert_int_equal(check(v, v->timestamp, sig, v->ts), VERIFY_BAD_FORMAT);
  free(sig);
  sig = xasprintf("v1=%s", v->signature + 3); /* other scheme */
  assert_int_equal(check(v, v->timestamp, sig, v->ts), VERIFY_BAD_FORMAT);
  free(sig);
  assert_int_equal(check(v, v->timestamp, v->signature + 3, v->ts), VERIFY_BAD_FORMAT);
  assert_int_equal(check(v, v->timestamp, "v0=", v->ts), VERIFY_BAD_FORMAT);
}

static void test_missing(void **state) {
  const vector *v = *state;
  assert_int_equal(check(v, NULL, v->signature, v->ts), VERIFY_MISSING);
  assert_int_equal(check(v, v->timestamp, NULL, v->ts), VERIFY_MISSING);
  assert_int_equal(check(v, "", v->signature, v->ts), VERIFY_MISSING);
  assert_int_equal(check(v, v->timestamp, "", v->ts), VERIFY_MISSING);
  assert_int_equal(
      verify_slack_signature(NULL, 0, v->timestamp, v->signature, v->body, v->body_len, v->ts),
      VERIFY_NOT_CONFIGURED);
  assert_int_equal(
      verify_slack_signature("", 0, v->timestamp, v->signature, v->body, v->body_len, v->ts),
      VERIFY_NOT_CONFIGURED);
}

static void test_bad_timestamp(void **state) {
  const vector *v = *state;
  static const char *const bad[] = {"-1531420618", "+1531420618",  " 1531420618", "1531420618 ",
                                    "15314x0618",  "1531420618.5", "0x5b475b4a",  "1234567890123"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(check(v, bad[i], v->signature, v->ts), VERIFY_BAD_TIMESTAMP);
}

static void test_token(void **state) {
  (void)state;
  static const char tok[] = "xoxv-legacy-token";
  assert_int_equal(verify_token(tok, strlen(tok), "xoxv-legacy-token"), VERIFY_OK);
  assert_int_equal(verify_token(tok, strlen(tok), "xoxv-legacy-tokeN"), VERIFY_BAD_TOKEN);
  assert_int_equal(verify_token(tok, strlen(tok), "xoxv-legacy-toke"), VERIFY_BAD_TOKEN);
  assert_int_equal(verify_token(tok, strlen(tok), "xoxv-legacy-token2"), VERIFY_BAD_TOKEN);
  assert_int_equal(verify_token(tok, strlen(tok), ""), VERIFY_BAD_TOKEN);
  assert_int_equal(verify_token(tok, strlen(tok), NULL), VERIFY_BAD_TOKEN);
  assert_int_equal(verify_token(NULL, 0, "anything"), VERIFY_NOT_CONFIGURED);
  assert_int_equal(verify_token("", 0, ""), VERIFY_NOT_CONFIGURED);
  /* A prefix of the expected token is not enough (lengths are compared). */
  assert_int_equal(verify_token(tok, 4, "xoxv-legacy-token"), VERIFY_BAD_TOKEN);
  assert_int_equal(verify_token(tok, 4, "xoxv"), VERIFY_OK);
}

int main(void) {
  shared_require("test_verify", VECTOR_SUBDIR);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vector_parsed),
      cmocka_unit_test(test_vector_signs),
      cmocka_unit_test(test_vector_verifies),
      cmocka_unit_test(test_skew),
      cmocka_unit_test(test_tampered_body),
      cmocka_unit_test(test_other_secret_or_timestamp),
      cmocka_unit_test(test_tampered_signature),
      cmocka_unit_test(test_upper_case_hex),
      cmocka_unit_test(test_bad_format),
      cmocka_unit_test(test_missing),
      cmocka_unit_test(test_bad_timestamp),
      cmocka_unit_test(test_token),
      cmocka_unit_test(test_no_downgrade_to_token),
  };
  return cmocka_run_group_tests(tests, vector_setup, vector_teardown);
}
