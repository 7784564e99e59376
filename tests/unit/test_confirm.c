/* confirm.c: the signed token, the code, the store of used nonces and the
 * prompt; message.c's Block Kit limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/confirm.h"
#include "base/message.h"
#include "base/util.h"

static const char SECRET[] = "8f742231b10e8888abcd99yyyzzz85a5";

static confirm_token sample(int64_t expires) {
  confirm_token t = {.team_id = "T1",
                     .user_id = "U1",
                     .user_name = "ann",
                     .channel_id = "C1",
                     .text = "ec2 stop i-0123456789abcdef0 --region eu-west-1",
                     .region = "eu-west-1",
                     .account = "prod",
                     .doing = "Stopping i-0123456789abcdef0 (web-1)",
                     .expires = expires};
  return t;
}

static void test_round_trip_and_refusals(void **state) {
  (void)state;
  unsigned char key[CONFIRM_KEY_LEN], other[CONFIRM_KEY_LEN];
  confirm_key_derive(SECRET, strlen(SECRET), key);
  confirm_key_derive("another secret", 14, other);
  confirm_token t = sample(1000);
  assert_true(confirm_new_nonce(&t));
  assert_int_equal(strlen(t.nonce), 32);
  char *v = confirm_sign(key, &t);
  assert_non_null(v);
  assert_true(str_starts(v, "v1."));
  confirm_token got;
  assert_int_equal(confirm_verify(key, v, 999, &got), CONFIRM_OK);
  assert_string_equal(got.user_id, "U1");
  assert_string_equal(got.user_name, "ann");
  assert_string_equal(got.text, t.text);
  assert_string_equal(got.region, "eu-west-1");
  assert_string_equal(got.account, "prod");
  assert_string_equal(got.nonce, t.nonce);
  assert_int_equal(got.expires, 1000);
  confirm_token_free(&got);
  /* At the expiry second it is over. */
  assert_int_equal(confirm_verify(key, v, 1000, &got), CONFIRM_EXPIRED);
  confirm_token_free(&got);
  /* Another key, any changed byte, junk: tampered. */
  assert_int_equal(confirm_verify(other, v, 999, &got), CONFIRM_TAMPERED);
  for (size_t i = 3; i < strlen(v); i += 7) {
    char *w = xstrdup(v);
    w[i] = w[i] == 'A' ? 'B' : 'A';
    confirm_check c = confirm_verify(key, w, 999, &got);
    if (c != CONFIRM_TAMPERED)
      fail_msg("byte %zu changed, still %s", i, confirm_check_name(c));
    free(w);
  }
  const char *junk[] = {"", "v1.", "v1..", "v2.abc.def", "v1.abc", "v1.+/=.xyz"};
  for (size_t i = 0; i < ARRAY_LEN(junk); i++)
    assert_int_equal(confirm_verify(key, junk[i], 999, &got), CONFIRM_TAMPERED);
  free(v);
  /* Too long to fit a button's value: not signed. */
  char *longtext = xmalloc(1500);
  memset(longtext, 'x', 1499);
  longtext[1499] = '\0';
  t.text = longtext;
  assert_null(confirm_sign(key, &t));
  free(longtext);
}

static void test_code_and_store(void **state) {
  (void)state;
  unsigned char key[CONFIRM_KEY_LEN];
  confirm_key_derive(SECRET, strlen(SECRET), key);
  char a[CONFIRM_CODE_LEN + 1], b[CONFIRM_CODE_LEN + 1], c[CONFIRM_CODE_LEN + 1];
  confirm_code(key, "00000000000000000000000000000000", a);
  confirm_code(key, "00000000000000000000000000000000", b);
  confirm_code(key, "00000000000000000000000000000001", c);
  assert_string_equal(a, b);
  assert_string_not_equal(a, c);
  assert_int_equal(strlen(a), CONFIRM_CODE_LEN);
  assert_int_equal(strcspn(a, "01OIL"), CONFIRM_CODE_LEN); /* no look-alikes */
  confirm_store s;
  confirm_store_init(&s);
  assert_true(confirm_store_add(&s, a, "token-a", 100, 10));
  char *tok = confirm_store_token(&s, a, 50);
  assert_string_equal(tok, "token-a");
  free(tok);
  assert_null(confirm_store_token(&s, a, 100)); /* expired */
  assert_null(confirm_store_token(&s, c, 50));
  /* A nonce is used once; after its expiry it is forgotten. */
  assert_true(confirm_store_use(&s, "n1", 100, 10));
  assert_false(confirm_store_use(&s, "n1", 100, 20));
  assert_true(confirm_store_use(&s, "n2", 100, 20));
  assert_true(confirm_store_use(&s, "n1", 300, 200));
  /* Full: refused rather than forgetting a use. */
  for (int i = 0; i < CONFIRM_STORE_MAX + 5; i++) {
    char n[16];
    snprintf(n, sizeof n, "x%d", i);
    bool ok = confirm_store_use(&s, n, 1000, 250);
    if (i >= CONFIRM_STORE_MAX)
      assert_false(ok);
  }
  confirm_store_destroy(&s);
}

static void test_prompt_shape_and_limits(void **state) {
  (void)state;
  char verb[100];
  memset(verb, 'S', sizeof verb - 1);
  verb[sizeof verb - 1] = '\0';
  confirm_prompt p = {.slash = "/aws",
                      .what = "*Stop i-0abc (web-1, t3.micro, running)* in eu-west-1 (prod)?",
                      .verb = verb,
                      .token = "v1.x.y",
                      .code = "ABCDEFGH",
                      .seconds = 300,
                      .request_id = "r-1"};
  json_t *m = confirm_prompt_json(&p);
  json_t *actions = json_array_get(json_object_get(m, "blocks"), 1);
  json_t *go = json_array_get(json_object_get(actions, "elements"), 0);
  const char *label = json_string_value(json_object_get(json_object_get(go, "text"), "text"));
  assert_int_equal(utf8_count(label), 75);
  assert_string_equal(json_string_value(json_object_get(go, "style")), "danger");
  json_t *dialog = json_object_get(go, "confirm");
  const char *yes = json_string_value(json_object_get(json_object_get(dialog, "confirm"), "text"));
  assert_true(utf8_count(yes) <= 30);
  assert_non_null(strstr(json_string_value(json_object_get(m, "text")), "`/aws confirm ABCDEFGH`"));
  json_decref(m);
}

static void test_blocks_fit(void **state) {
  (void)state;
  json_t *blocks = json_array();
  char *big = xmalloc(5000), *value = xmalloc(2100);
  memset(big, 'a', 4999);
  big[4999] = '\0';
  memset(value, 'v', 2099);
  value[2099] = '\0';
  json_array_append_new(blocks, json_pack("{s:s, s:{s:s, s:s}}", "type", "section", "text", "type",
                                          "mrkdwn", "text", big));
  json_array_append_new(blocks,
                        json_pack("{s:s, s:[{s:s, s:{s:s, s:s}, s:s}, {s:s, s:{s:s, s:s}, s:s}]}",
                                  "type", "actions", "elements", "type", "button", "text", "type",
                                  "plain_text", "text", big, "value", "ok", "type", "button",
                                  "text", "type", "plain_text", "text", "x", "value", value));
  for (int i = 0; i < 60; i++)
    json_array_append_new(blocks, json_pack("{s:s}", "type", "divider"));
  size_t cut = 0;
  json_t *fit = message_blocks_fit(blocks, &cut);
  assert_int_equal(json_array_size(fit), SLACK_BLOCKS_MAX);
  assert_int_equal(cut, 62 - 49);
  const char *t =
      json_string_value(json_object_get(json_object_get(json_array_get(fit, 0), "text"), "text"));
  assert_int_equal(utf8_count(t), SLACK_BLOCK_TEXT_MAX);
  json_t *els = json_object_get(json_array_get(fit, 1), "elements");
  assert_int_equal(json_array_size(els), 1); /* the button whose value was too long is gone */
  const char *lbl =
      json_string_value(json_object_get(json_object_get(json_array_get(els, 0), "text"), "text"));
  assert_int_equal(utf8_count(lbl), SLACK_BUTTON_LABEL_MAX);
  const char *more = json_string_value(json_object_get(
      json_array_get(json_object_get(json_array_get(fit, 49), "elements"), 0), "text"));
  assert_string_equal(more, "… 13 more not shown (Slack shows 50 blocks at most).");
  json_decref(fit);
  free(big);
  free(value);
  assert_null(message_blocks_fit(json_object(), &cut));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip_and_refusals),
      cmocka_unit_test(test_code_and_store),
      cmocka_unit_test(test_prompt_shape_and_limits),
      cmocka_unit_test(test_blocks_fit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
