/* base/jsonread.c against jansson: the same value or the same refusal for
 * every input, hand-picked edge cases and random ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/jsonread.h"
#include "base/util.h"

/* Both read s[0..n) alike: equal values, or both refuse. Returns whether
 * it was accepted. */
static bool same_as_jansson(const char *s, size_t n) {
  json_error_t e1, e2;
  json_t *a = jsonread(s, n, &e1);
  json_t *b = json_loadb(s, n, 0, &e2);
  if (!a != !b)
    fail_msg("%.*s: jsonread %s, jansson %s (%s)", (int)n, s, a ? "accepts" : e1.text,
             b ? "accepts" : "refuses", b ? "" : e2.text);
  if (a && !json_equal(a, b))
    fail_msg("%.*s: different values", (int)n, s);
  if (!a)
    assert_true(e1.text[0] != '\0');
  json_decref(a);
  json_decref(b);
  return b != NULL;
}

static bool same(const char *s) {
  return same_as_jansson(s, strlen(s));
}

static void test_accepted(void **state) {
  (void)state;
  const char *ok[] = {
      "{}",
      "[]",
      " \t\r\n{ } \n",
      "[1,-2,0,-0,9223372036854775807,-9223372036854775808]",
      "[1.5,-0.25,1e3,1E+3,2e-3,0.0,-0.0,1e-400,123456789012345678901234567890.5]",
      "{\"a\":\"x\",\"b\":[true,false,null],\"c\":{\"d\":{}}}",
      "{\"e\":\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\u20AC \\ud83d\\ude00\"}",
      "{\"k\\u00e9y\":1,\"k\\u00e9y\":2}", /* a later duplicate wins */
      "{\"a\":1,\"a\":\"two\"}",
      "{\"\":\"\"}",
      "[\"ü €\xf0\x9f\x98\x80\x7f\"]",
      "{\"t\":\"reply\",\"v\":1,\"id\":\"r1\",\"flags\":0,\"interim\":false,\"text_bytes\":2}",
  };
  for (size_t i = 0; i < ARRAY_LEN(ok); i++)
    if (!same(ok[i]))
      fail_msg("refused: %s", ok[i]);
  json_t *v = jsonread("{\"a\":1,\"a\":\"two\"}", 17, NULL);
  assert_string_equal(json_string_value(json_object_get(v, "a")), "two");
  json_decref(v);
}

static void test_refused(void **state) {
  (void)state;
  const char *bad[] = {
      "",
      " ",
      "1",
      "\"s\"",
      "true",
      "null",
      "{",
      "[",
      "{]",
      "[}",
      "{\"a\"}",
      "{\"a\":}",
      "{\"a\":1,}",
      "[1,]",
      "[,1]",
      "{,}",
      "{a:1}",
      "{'a':1}",
      "[01]",
      "[-]",
      "[1.]",
      "[.5]",
      "[+1]",
      "[1e]",
      "[1e+]",
      "[0x10]",
      "[9223372036854775808]",
      "[-9223372036854775809]",
      "[1e400]",
      "[-1e400]",
      "[tru]",
      "[nul]",
      "[True]",
      "[NaN]",
      "[Infinity]",
      "{} x",
      "{}{}",
      "[\"\\u0000\"]",
      "[\"\\ud800\"]",
      "[\"\\udc00\"]",
      "[\"\\ud800\\u0041\"]",
      "[\"\\ud800x\"]",
      "[\"\\u12\"]",
      "[\"\\u12g4\"]",
      "[\"\\x41\"]",
      "[\"\\a\"]",
      "[\"a\nb\"]",
      "[\"a\tb\"]",
      "[\"\x01\"]",
      "[\"\xff\"]",
      "[\"\xc3\"]",
      "[\"\xc0\xaf\"]",
      "[\"\xed\xa0\x80\"]",
      "[\"unterminated]",
      "[\"\\",
      "[\"\\u",
      "{\"\\u0000\":1}",
      "[1 2]",
      "[\xef\xbb\xbf]",
  };
  for (size_t i = 0; i < ARRAY_LEN(bad); i++)
    if (same(bad[i]))
      fail_msg("accepted: %s", bad[i]);
  assert_false(same_as_jansson("[\"a\0b\"]", 7)); /* a NUL byte */
  assert_false(same_as_jansson("{}\0", 3));
}

/* Nested n deep: jansson's limit is 2048. */
static void test_depth(void **state) {
  (void)state;
  for (int n = 2047; n <= 2049; n++) {
    sbuf b = {0};
    for (int i = 0; i < n; i++)
      sbuf_addc(&b, '[');
    for (int i = 0; i < n; i++)
      sbuf_addc(&b, ']');
    assert_int_equal(same_as_jansson(b.p, b.len), n <= 2048);
    sbuf_free(&b);
  }
}

static unsigned next(unsigned *seed) {
  *seed = *seed * 1103515245u + 12345u;
  return *seed >> 16;
}

/* A random valid JSON value, depth at most d. */
static void gen(sbuf *b, unsigned *seed, int d) {
  static const char *const atoms[] = {"0",           "-1",
                                      "12.5e-3",     "9223372036854775807",
                                      "true",        "false",
                                      "null",        "\"\"",
                                      "\"k\"",       "\"a\\\"b\\\\\"",
                                      "\"\\u00e9\"", "\"\\ud83d\\ude00\"",
                                      "\"ü\"",       "\"\\n\\t/\"",
                                      "1E2",         "-0.0"};
  unsigned r = next(seed) % 10;
  if (d <= 0 || r < 5) {
    sbuf_adds(b, atoms[next(seed) % ARRAY_LEN(atoms)]);
    return;
  }
  bool obj = r < 8;
  sbuf_addc(b, obj ? '{' : '[');
  int n = (int)(next(seed) % 4);
  for (int i = 0; i < n; i++) {
    if (i)
      sbuf_adds(b, next(seed) % 4 ? "," : " , ");
    if (obj)
      sbuf_adds(b, next(seed) % 2 ? "\"a\":" : "\"b\" : ");
    gen(b, seed, d - 1);
  }
  sbuf_addc(b, obj ? '}' : ']');
}

/* Random documents, a third of them with one byte changed, removed or
 * added: the two agree on every one. */
static void test_random_agree(void **state) {
  (void)state;
  static const char bytes[] = "{}[],:\"\\0123456789.eE+-tfnu \x01\xc3\xa9\xff";
  unsigned seed = 2026;
  int accepted = 0, refused = 0;
  for (int round = 0; round < 20000; round++) {
    sbuf b = {0};
    sbuf_addc(&b, next(&seed) % 2 ? '{' : '[');
    gen(&b, &seed, 4);
    sbuf_adds(&b, b.p[0] == '{' ? "" : "]");
    if (b.p[0] == '{') { /* "{" value is not an object: make it one */
      b.len = 1;
      sbuf_adds(&b, "\"x\":");
      gen(&b, &seed, 4);
      sbuf_addc(&b, '}');
    }
    unsigned m = next(&seed) % 3;
    size_t at = next(&seed) % b.len;
    char c = bytes[next(&seed) % (sizeof bytes - 1)];
    if (m == 1)
      b.p[at] = c;
    else if (m == 2)
      memmove(b.p + at, b.p + at + 1, b.len-- - at);
    if (same_as_jansson(b.p, b.len))
      accepted++;
    else
      refused++;
    sbuf_free(&b);
  }
  assert_true(accepted > 5000 && refused > 3000); /* both answers were tried a lot */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_accepted),
      cmocka_unit_test(test_refused),
      cmocka_unit_test(test_depth),
      cmocka_unit_test(test_random_agree),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
