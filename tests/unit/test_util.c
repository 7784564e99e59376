/* util.c: the helpers that security checks lean on (UTF-8 validation and
 * repair, constant-time compare, integer and list parsing) and the
 * buffers everything else is built on. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "unit_util.h"
#include "base/util.h"
#include "common/backoff.h"

#define FFFD "\xef\xbf\xbd"

static bool clean(const char *s) {
  return utf8_is_clean(s, strlen(s));
}

static void test_utf8_clean_valid(void **state) {
  (void)state;
  assert_true(utf8_is_clean("", 0));
  assert_true(clean("plain ascii ~"));
  assert_true(clean("tab\there\r\nnew line"));
  assert_true(clean("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80"));
  assert_true(clean("\xf4\x8f\xbf\xbf")); /* U+10FFFF, the last code point */
  assert_true(clean("\xed\x9f\xbf"));     /* U+D7FF, just below the surrogates */
  assert_true(clean("\xee\x80\x80"));     /* U+E000, just above them */
  assert_true(clean(FFFD));
  /* Only n bytes are looked at. */
  assert_true(utf8_is_clean("abc\xff", 3));
  assert_true(utf8_is_clean("\xc3\xa9\xc3", 2));
}

static void test_utf8_clean_controls(void **state) {
  (void)state;
  assert_false(utf8_is_clean("a\0b", 3));
  assert_false(clean("\x01"));
  assert_false(clean("red \x1b[31m text")); /* terminal escapes */
  assert_false(clean("bell\a"));
  assert_false(clean("del\x7f"));
  assert_false(clean("\x0b")); /* vertical tab */
  assert_false(clean("\x0c")); /* form feed */
}

static void test_utf8_clean_invalid(void **state) {
  (void)state;
  static const char *const bad[] = {
      "\xff",             /* never valid */
      "\x80",             /* lone continuation */
      "\xc3",             /* truncated */
      "\xe2\x82",         /* truncated */
      "\xc3\x28",         /* bad continuation */
      "\xc0\x80",         /* overlong NUL */
      "\xc1\xbf",         /* overlong */
      "\xe0\x80\xaf",     /* overlong '/' */
      "\xf0\x80\x80\xaf", /* overlong '/' */
      "\xed\xa0\x80",     /* surrogate U+D800 */
      "\xed\xbf\xbf",     /* surrogate U+DFFF */
      "\xf4\x90\x80\x80", /* U+110000 */
      "\xf5\x80\x80\x80", /* beyond Unicode */
      "\xf8\x88\x80\x80\x80",
  };
  for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
    if (clean(bad[i]))
      fail_msg("bad[%zu] accepted", i);
    char *s = xasprintf("ok %s ok", bad[i]);
    assert_false(clean(s));
    free(s);
  }
}

static void expect_sanitized(const char *in, size_t n, const char *want) {
  char *got = utf8_sanitize(in, n);
  assert_string_equal(got, want);
  free(got);
}

static void test_utf8_sanitize(void **state) {
  (void)state;
  expect_sanitized("", 0, "");
  expect_sanitized("caf\xc3\xa9", 5, "caf\xc3\xa9");
  expect_sanitized("a\xff"
                   "b",
                   3, "a" FFFD "b");
  expect_sanitized("a\0b\0", 4, "ab"); /* NUL bytes dropped */
  expect_sanitized("\xc0\x80", 2, FFFD FFFD);
  expect_sanitized("\xed\xa0\x80!", 4, FFFD FFFD FFFD "!");
  /* Cut by n, a sequence is invalid. */
  expect_sanitized("\xc3\xa9", 1, FFFD);
  /* Controls other than NUL are valid UTF-8 and kept (JSON escapes them). */
  expect_sanitized("\x01\t", 2, "\x01\t");
}

static void test_utf8_sanitize_any_bytes_make_json(void **state) {
  (void)state;
  /* Every byte string becomes valid JSON text (jansson refuses invalid
   * UTF-8), with no NUL left and nothing changed when sanitized again. */
  unsigned seed = 12345;
  unsigned char buf[64];
  for (int round = 0; round < 2000; round++) {
    size_t n = (size_t)(round % 64);
    for (size_t i = 0; i < n; i++) {
      seed = seed * 1103515245u + 12345u;
      unsigned r = seed >> 16;
      /* Mostly high bytes and ASCII, so that sequences are tried a lot. */
      buf[i] = (unsigned char)(r % 3 == 0   ? 0x80 + (r >> 2) % 0x80
                               : r % 3 == 1 ? 0xc0 + (r >> 2) % 0x40
                                            : (r >> 2) % 0x80);
    }
    char *s = utf8_sanitize((const char *)buf, n);
    json_t *j = json_string(s);
    if (!j)
      fail_msg("round %d: not valid UTF-8 after sanitizing", round);
    json_decref(j);
    char *again = utf8_sanitize(s, strlen(s));
    assert_string_equal(again, s);
    free(again);
    free(s);
  }
}

/* The direct JSON writer says what jansson would read back: the sanitized
 * text, for any bytes (controls and quotes escaped, bad UTF-8 as U+FFFD). */
static void test_json_string_any_bytes(void **state) {
  (void)state;
  unsigned seed = 777;
  unsigned char buf[64];
  for (int round = 0; round < 3000; round++) {
    size_t n = (size_t)(round % 64);
    for (size_t i = 0; i < n; i++) {
      seed = seed * 1103515245u + 12345u;
      unsigned r = seed >> 16;
      buf[i] = (unsigned char)(r % 4 == 0   ? 0x80 + (r >> 2) % 0x80
                               : r % 4 == 1 ? 0xc0 + (r >> 2) % 0x40
                               : r % 4 == 2 ? (r >> 2) % 0x20
                                            : (unsigned)"\"\\/a\x7f"[(r >> 2) % 5]);
    }
    sbuf b = {0};
    sbuf_add_json_string(&b, (const char *)buf, n);
    json_error_t err;
    json_t *j = json_loadb(b.p, b.len, JSON_DECODE_ANY, &err);
    if (!json_is_string(j))
      fail_msg("round %d: %s is not a JSON string: %s", round, b.p, err.text);
    char *want = utf8_sanitize((const char *)buf, n);
    assert_string_equal(json_string_value(j), want);
    free(want);
    json_decref(j);
    sbuf_free(&b);
  }
  sbuf b = {0};
  sbuf_add_json_string(&b, "a\"b\\c\n\t\x01é", strlen("a\"b\\c\n\t\x01é"));
  assert_string_equal(b.p, "\"a\\\"b\\\\c\\n\\t\\u0001é\"");
  sbuf_free(&b);
}

/* utf8_valid says what a reply's payload may hold: what jansson takes as a
 * string's UTF-8, without NUL bytes; control characters pass. */
static void test_utf8_valid_as_jansson(void **state) {
  (void)state;
  unsigned seed = 4242;
  unsigned char buf[48];
  int valid = 0;
  for (int round = 0; round < 4000; round++) {
    size_t n = (size_t)(round % 48);
    for (size_t i = 0; i < n; i++) {
      seed = seed * 1103515245u + 12345u;
      unsigned r = seed >> 16;
      buf[i] = (unsigned char)(r % 5 == 0   ? 0x80 + (r >> 2) % 0x80
                               : r % 5 == 1 ? 0xc0 + (r >> 2) % 0x40
                               : r % 5 == 2 ? (r >> 2) % 0x20
                                            : 0x20 + (r >> 2) % 0x60);
    }
    json_t *j = json_stringn((const char *)buf, n);
    bool want = j && !memchr(buf, 0, n);
    json_decref(j);
    if (utf8_valid((const char *)buf, n) != want)
      fail_msg("round %d: utf8_valid says %d", round, !want);
    valid += want;
  }
  assert_true(valid > 100); /* both answers were tried */
  const char *ok = "tab\tesc\x1b ü \xf0\x9f\x98\x80";
  assert_true(utf8_valid(ok, strlen(ok)));
  assert_false(utf8_valid("a\0b", 3));
  assert_false(utf8_valid("\xed\xa0\x80", 3)); /* a surrogate */
  assert_false(utf8_valid("\xc0\xaf", 2));     /* overlong */
}

static void test_sbuf_json_member_int(void **state) {
  (void)state;
  sbuf b = {0};
  sbuf_add_json_member(&b, "a", "x\"y"); /* from an empty buffer */
  sbuf_add_json_member(&b, "nothing", NULL);
  sbuf_add_int(&b, 0);
  sbuf_addc(&b, ' ');
  sbuf_add_int(&b, -42);
  sbuf_addc(&b, ' ');
  sbuf_add_int(&b, LLONG_MIN);
  sbuf_addc(&b, ' ');
  sbuf_add_int(&b, LLONG_MAX);
  assert_string_equal(b.p, ",\"a\":\"x\\\"y\",\"nothing\":null0 -42 -9223372036854775808 "
                           "9223372036854775807");
  assert_int_equal(b.len, strlen(b.p));
  /* With room to spare, the same bytes. */
  sbuf c = {0};
  sbuf_adds(&c, "{\"t\":1");
  for (int i = 0; i < 100; i++)
    sbuf_add_json_member(&c, "key", "v");
  sbuf d = {0};
  sbuf_adds(&d, "{\"t\":1");
  for (int i = 0; i < 100; i++)
    sbuf_addf(&d, ",\"%s\":\"%s\"", "key", "v");
  assert_string_equal(c.p, d.p);
  assert_int_equal(c.len, d.len);
  sbuf_free(&b);
  sbuf_free(&c);
  sbuf_free(&d);
}

static void test_ct_equal(void **state) {
  (void)state;
  assert_true(ct_equal("secret", 6, "secret", 6));
  assert_false(ct_equal("secret", 6, "secreT", 6));
  assert_false(ct_equal("secret", 6, "Secret", 6));
  assert_false(ct_equal("secret", 6, "secre", 5)); /* a prefix is not equal */
  assert_false(ct_equal("secre", 5, "secret", 6));
  assert_false(ct_equal("secret", 6, "", 0));
  assert_true(ct_equal("", 0, "", 0));
  assert_true(ct_equal("a\0b", 3, "a\0b", 3)); /* bytes, not C strings */
  assert_false(ct_equal("a\0b", 3, "a\0c", 3));
}

static void test_parse_int(void **state) {
  (void)state;
  long v = 0;
  assert_true(parse_int("42", 0, 100, &v));
  assert_int_equal(v, 42);
  assert_true(parse_int("-5", -10, 10, &v));
  assert_int_equal(v, -5);
  assert_true(parse_int("0", 0, 0, &v));
  assert_int_equal(v, 0);
  assert_true(parse_int("256", 1, 256, &v)); /* bounds are inclusive */
  assert_int_equal(v, 256);
  assert_true(parse_int("007", 0, 10, &v)); /* decimal, not octal */
  assert_int_equal(v, 7);
  v = 99;
  static const char *const bad[] = {
      "", " 5", "5 ", "5x", "0x10", "1e3", "4.0", "--1", "257", "-11", "99999999999999999999999"};
  for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
    if (parse_int(bad[i], -10, 256, &v))
      fail_msg("\"%s\" accepted", bad[i]);
    assert_int_equal(v, 99); /* untouched on failure */
  }
  assert_false(parse_int(NULL, 0, 1, &v));
}

static void expect_list(const char *s, const char *const *want, size_t n) {
  char **v = (char **)0x1;
  size_t got = str_split_list(s, &v);
  assert_int_equal(got, n);
  for (size_t i = 0; i < n; i++)
    assert_string_equal(v[i], want[i]);
  if (!n)
    assert_null(v);
  strv_free(v, got);
}

static void test_str_split_list(void **state) {
  (void)state;
  expect_list("U1, U2", (const char *const[]){"U1", "U2"}, 2);
  expect_list("a,b  c,,d ,", (const char *const[]){"a", "b", "c", "d"}, 4);
  expect_list("  one  ", (const char *const[]){"one"}, 1);
  /* Continuation lines join with newlines: those separate too. */
  expect_list("a.example\nb.example\tc", (const char *const[]){"a.example", "b.example", "c"}, 3);
  expect_list("", NULL, 0);
  expect_list(" , ,\n", NULL, 0);
  expect_list(NULL, NULL, 0);
  /* Many items grow the array. */
  char many[400] = "";
  for (int i = 0; i < 40; i++)
    snprintf(many + strlen(many), sizeof many - strlen(many), "u%d,", i);
  char **v;
  size_t n = str_split_list(many, &v);
  assert_int_equal(n, 40);
  assert_string_equal(v[39], "u39");
  strv_free(v, n);
}

static void test_strings(void **state) {
  (void)state;
  char s[] = " \t padded \n";
  assert_string_equal(str_trim(s), "padded");
  char e[] = "   ";
  assert_string_equal(str_trim(e), "");
  assert_true(str_eq("a", "a"));
  assert_false(str_eq("a", NULL));
  assert_false(str_eq(NULL, NULL));
  assert_true(str_ieq("Json", "JSON"));
  assert_true(str_starts("env:X", "env:"));
  assert_false(str_starts(NULL, "env:"));
  assert_false(str_starts("en", "env:"));
}

static void test_hex_encode(void **state) {
  (void)state;
  char out[9];
  hex_encode((const unsigned char *)"\x00\x9f\xAB\xff", 4, out);
  assert_string_equal(out, "009fabff");
  hex_encode(NULL, 0, out);
  assert_string_equal(out, "");
}

static void test_sbuf(void **state) {
  (void)state;
  sbuf b = {0};
  sbuf_addf(&b, "%d-%s", 7, "x");
  assert_string_equal(b.p, "7-x");
  /* Longer than the 256-byte fast path. */
  char big[600];
  memset(big, 'z', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  sbuf_addf(&b, "[%s]", big);
  assert_int_equal(b.len, 3 + 2 + 599);
  assert_int_equal(strlen(b.p), b.len);
  assert_int_equal(b.p[b.len - 1], ']');
  sbuf_reset(&b);
  assert_int_equal(b.len, 0);
  assert_string_equal(b.p, "");
  sbuf_add(&b, "a\0b", 3);
  assert_int_equal(b.len, 3);
  char *p = sbuf_steal(&b);
  assert_memory_equal(p, "a\0b", 4);
  assert_null(b.p);
  free(p);
  p = sbuf_steal(&b); /* an empty buffer still gives a string */
  assert_string_equal(p, "");
  free(p);
}

static void test_read_file(void **state) {
  (void)state;
  char *path = unit_write_temp("0123456789");
  size_t len = 0;
  char *s = read_file(path, 10, &len);
  assert_string_equal(s, "0123456789");
  assert_int_equal(len, 10);
  free(s);
  assert_null(read_file(path, 9, &len)); /* over the limit */
  unlink(path);
  free(path);
  assert_null(read_file("/nonexistent/file", 100, &len));
}

/* The one backoff, with the three policies the project uses. */
static void test_backoff(void **state) {
  (void)state;
  backoff_policy full = {100, 5000, BACKOFF_FULL_JITTER};
  assert_int_equal(backoff_ms(&full, 0, 100), 100);
  assert_int_equal(backoff_ms(&full, 0, 101), 0);
  assert_int_equal(backoff_ms(&full, 6, 5000), 5000); /* 6400 capped */
  assert_int_equal(backoff_ms(&full, 200, UINT32_MAX), UINT32_MAX % 5001);
  backoff_policy quarter = {500, 8000, BACKOFF_ADDED_QUARTER};
  assert_int_equal(backoff_ms(&quarter, 0, 0), 500);
  assert_int_equal(backoff_ms(&quarter, 0, 125), 625);
  assert_int_equal(backoff_ms(&quarter, 0, 126), 500);
  assert_int_equal(backoff_ms(&quarter, 9, 2000), 10000);
  backoff_policy none = {250, 30000, BACKOFF_NO_JITTER};
  assert_int_equal(backoff_ms(&none, 0, 12345), 250);
  assert_int_equal(backoff_ms(&none, 3, 0), 2000);
  assert_int_equal(backoff_ms(&none, 7, 0), 30000);
  assert_int_equal(backoff_ms(&none, 1000, 0), 30000);
  uint64_t st = backoff_seed();
  assert_true(st != 0);
  uint32_t a = backoff_random(&st), b = backoff_random(&st);
  assert_true(a != b || backoff_random(&st) != a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_utf8_clean_valid),
      cmocka_unit_test(test_utf8_clean_controls),
      cmocka_unit_test(test_utf8_clean_invalid),
      cmocka_unit_test(test_utf8_sanitize),
      cmocka_unit_test(test_utf8_sanitize_any_bytes_make_json),
      cmocka_unit_test(test_json_string_any_bytes),
      cmocka_unit_test(test_utf8_valid_as_jansson),
      cmocka_unit_test(test_sbuf_json_member_int),
      cmocka_unit_test(test_ct_equal),
      cmocka_unit_test(test_parse_int),
      cmocka_unit_test(test_str_split_list),
      cmocka_unit_test(test_strings),
      cmocka_unit_test(test_hex_encode),
      cmocka_unit_test(test_sbuf),
      cmocka_unit_test(test_read_file),
      cmocka_unit_test(test_backoff),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
