/* form.c: strict application/x-www-form-urlencoded decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/form.h"

static form_err parse(const char *body, form *f, char **bad) {
  return form_parse(body, strlen(body), f, bad);
}

static void test_plus_and_percent(void **state) {
  (void)state;
  form f;
  assert_int_equal(parse("text=ec2+list%20all&user_id=U1", &f, NULL), FORM_OK);
  assert_int_equal(f.n, 2);
  assert_string_equal(form_get(&f, "text"), "ec2 list all");
  assert_string_equal(form_get(&f, "user_id"), "U1");
  form_free(&f);
}

static void test_hex_case(void **state) {
  (void)state;
  form f;
  /* %2F and %2f are both '/', %3a and %3A both ':' */
  assert_int_equal(parse("u=https%3A%2F%2Fa%2fb%3a1", &f, NULL), FORM_OK);
  assert_string_equal(form_get(&f, "u"), "https://a/b:1");
  form_free(&f);
  assert_int_equal(parse("x=%c3%a9%C3%A9", &f, NULL), FORM_OK);
  assert_string_equal(form_get(&f, "x"), "\xc3\xa9\xc3\xa9");
  form_free(&f);
}

static void test_plus_encoded_stays_plus(void **state) {
  (void)state;
  form f;
  assert_int_equal(parse("a=1%2B1", &f, NULL), FORM_OK);
  assert_string_equal(form_get(&f, "a"), "1+1");
  form_free(&f);
}

static void test_bad_encoding(void **state) {
  (void)state;
  static const char *const bad[] = {"a=%",     "a=%4", "a=%zz",  "a=%4g&b=1",
                                    "a=1&b=%", "a%=1", "a=%%41", "a=%-1"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    form f;
    char *name = (char *)"sentinel";
    assert_int_equal(parse(bad[i], &f, &name), FORM_BAD_ENCODING);
    /* On error the form is empty and *bad is only set for duplicates. */
    assert_int_equal(f.n, 0);
    assert_null(f.f);
    assert_null(name);
  }
}

static void test_percent_at_last_valid_position(void **state) {
  (void)state;
  form f;
  /* "%41" ends exactly at the end of the body: must decode, not be refused. */
  assert_int_equal(parse("a=%41", &f, NULL), FORM_OK);
  assert_string_equal(form_get(&f, "a"), "A");
  form_free(&f);
}

static void test_duplicate(void **state) {
  (void)state;
  form f;
  char *bad = NULL;
  assert_int_equal(parse("token=a&text=x&token=b", &f, &bad), FORM_DUPLICATE);
  assert_non_null(bad);
  assert_string_equal(bad, "token");
  assert_int_equal(f.n, 0);
  free(bad);
  /* Duplicates are found after decoding: "te%78t" is "text". */
  bad = NULL;
  assert_int_equal(parse("text=1&te%78t=2", &f, &bad), FORM_DUPLICATE);
  assert_string_equal(bad, "text");
  free(bad);
  /* Without a place for the name it is still refused. */
  assert_int_equal(parse("a=1&a=1", &f, NULL), FORM_DUPLICATE);
}

static void test_missing_vs_empty(void **state) {
  (void)state;
  form f;
  assert_int_equal(parse("text=&user_id=U1", &f, NULL), FORM_OK);
  assert_non_null(form_get(&f, "text"));
  assert_string_equal(form_get(&f, "text"), "");
  assert_int_equal(form_field_get(&f, "text")->value_len, 0);
  assert_null(form_get(&f, "channel_id"));
  assert_null(form_field_get(&f, "channel_id"));
  form_free(&f);
}

static void test_empty_pairs_skipped(void **state) {
  (void)state;
  form f;
  assert_int_equal(parse("a=1&&b=2&", &f, NULL), FORM_OK);
  assert_int_equal(f.n, 2);
  assert_string_equal(f.f[0].name, "a");
  assert_string_equal(f.f[0].value, "1");
  assert_string_equal(f.f[1].name, "b");
  assert_string_equal(f.f[1].value, "2");
  form_free(&f);
  assert_int_equal(parse("", &f, NULL), FORM_OK);
  assert_int_equal(f.n, 0);
  form_free(&f);
  assert_int_equal(parse("&&&", &f, NULL), FORM_OK);
  assert_int_equal(f.n, 0);
  form_free(&f);
}

static void test_field_without_equals(void **state) {
  (void)state;
  form f;
  assert_int_equal(parse("ssl_check&b=2", &f, NULL), FORM_OK);
  assert_int_equal(f.n, 2);
  assert_string_equal(form_get(&f, "ssl_check"), "");
  assert_int_equal(form_field_get(&f, "ssl_check")->value_len, 0);
  assert_string_equal(form_get(&f, "b"), "2");
  form_free(&f);
  /* Only the first '=' splits; the rest belongs to the value. */
  assert_int_equal(parse("a=b=c", &f, NULL), FORM_OK);
  assert_string_equal(form_get(&f, "a"), "b=c");
  form_free(&f);
}

static void test_bad_names(void **state) {
  (void)state;
  form f;
  assert_int_equal(parse("=1", &f, NULL), FORM_BAD_NAME);
  assert_int_equal(parse("a+b=1", &f, NULL), FORM_BAD_NAME);   /* decodes to "a b" */
  assert_int_equal(parse("a%00b=1", &f, NULL), FORM_BAD_NAME); /* NUL in a name */
  assert_int_equal(parse("a%0A=1", &f, NULL), FORM_BAD_NAME);
  char longname[80];
  memset(longname, 'n', 65);
  strcpy(longname + 65, "=1");
  assert_int_equal(parse(longname, &f, NULL), FORM_BAD_NAME);
  longname[64] = '\0';
  strcat(longname, "=1"); /* 64 characters: accepted */
  assert_int_equal(parse(longname, &f, NULL), FORM_OK);
  assert_int_equal(f.n, 1);
  form_free(&f);
}

static void test_nul_bytes_kept(void **state) {
  (void)state;
  form f;
  assert_int_equal(parse("t=a%00b%00", &f, NULL), FORM_OK);
  const form_field *ff = form_field_get(&f, "t");
  assert_non_null(ff);
  assert_int_equal(ff->value_len, 4);
  assert_memory_equal(ff->value, "a\0b\0", 5); /* and still NUL-terminated */
  assert_int_equal(strlen(form_get(&f, "t")), 1);
  form_free(&f);
}

static void test_raw_nul_in_body(void **state) {
  (void)state;
  form f;
  static const char body[] = "a=x\0y&b=2";
  assert_int_equal(form_parse(body, sizeof body - 1, &f, NULL), FORM_OK);
  assert_int_equal(form_field_get(&f, "a")->value_len, 3);
  assert_memory_equal(form_get(&f, "a"), "x\0y", 3);
  assert_string_equal(form_get(&f, "b"), "2");
  form_free(&f);
}

static void test_too_many(void **state) {
  (void)state;
  char body[2048] = "";
  size_t n = 0;
  for (int i = 0; i < FORM_MAX_FIELDS; i++)
    n += (size_t)snprintf(body + n, sizeof body - n, "%sf%d=%d", i ? "&" : "", i, i);
  form f;
  assert_int_equal(form_parse(body, n, &f, NULL), FORM_OK);
  assert_int_equal(f.n, FORM_MAX_FIELDS);
  assert_string_equal(form_get(&f, "f63"), "63");
  form_free(&f);
  n += (size_t)snprintf(body + n, sizeof body - n, "&one=more");
  assert_int_equal(form_parse(body, n, &f, NULL), FORM_TOO_MANY);
  assert_int_equal(f.n, 0);
  assert_null(f.f);
}

/* The decoded names and values share one block sized from the body: the
 * densest body (one-byte names, no '=', so two NULs per field) must fit,
 * including the one field over the limit that is decoded before it is
 * refused (ASan checks the bound). */
static void test_densest_body_fits(void **state) {
  (void)state;
  static const char names[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-!";
  _Static_assert(sizeof names - 1 == FORM_MAX_FIELDS + 1, "a name per field and one over");
  char body[2 * (FORM_MAX_FIELDS + 1) + 1];
  size_t n = 0;
  for (int i = 0; i < FORM_MAX_FIELDS; i++) {
    body[n++] = names[i];
    body[n++] = '&';
  }
  form f;
  assert_int_equal(form_parse(body, n - 1, &f, NULL), FORM_OK);
  assert_int_equal(f.n, FORM_MAX_FIELDS);
  assert_string_equal(f.f[FORM_MAX_FIELDS - 1].name, "-");
  assert_string_equal(f.f[FORM_MAX_FIELDS - 1].value, "");
  form_free(&f);
  body[n++] = names[FORM_MAX_FIELDS];
  assert_int_equal(form_parse(body, n, &f, NULL), FORM_TOO_MANY);
  body[n - 1] = 'a'; /* a duplicate is named before the count is refused */
  char *bad = NULL;
  assert_int_equal(form_parse(body, n, &f, &bad), FORM_DUPLICATE);
  assert_string_equal(bad, "a");
  free(bad);
}

static void test_length_respected(void **state) {
  (void)state;
  form f;
  /* Only body[0..len) is read: "a=12" of "a=12345". */
  assert_int_equal(form_parse("a=12345", 4, &f, NULL), FORM_OK);
  assert_string_equal(form_get(&f, "a"), "12");
  form_free(&f);
  /* A '%' cut off by len is bad encoding even if the bytes after it are hex. */
  assert_int_equal(form_parse("a=%41", 4, &f, NULL), FORM_BAD_ENCODING);
}

static void test_encode(void **state) {
  (void)state;
  char *e = form_encode("a b&c=d/é~-_.");
  assert_string_equal(e, "a%20b%26c%3Dd%2F%C3%A9~-_.");
  free(e);
  e = form_encode("");
  assert_string_equal(e, "");
  free(e);
  e = form_encode("+%");
  assert_string_equal(e, "%2B%25");
  free(e);
}

static void test_encode_round_trip(void **state) {
  (void)state;
  char all[256];
  for (int i = 1; i < 256; i++)
    all[i - 1] = (char)i;
  all[255] = '\0';
  char *enc = form_encode(all);
  for (const char *p = enc; *p; p++)
    assert_true(strchr("&=+ ", *p) == NULL);
  char *body = malloc(strlen(enc) + 3);
  strcpy(body, "v=");
  strcat(body, enc);
  form f;
  assert_int_equal(parse(body, &f, NULL), FORM_OK);
  const form_field *ff = form_field_get(&f, "v");
  assert_int_equal(ff->value_len, 255);
  assert_memory_equal(ff->value, all, 255);
  form_free(&f);
  free(body);
  free(enc);
}

static void test_strerror(void **state) {
  (void)state;
  assert_string_equal(form_strerror(FORM_OK), "ok");
  assert_string_equal(form_strerror(FORM_DUPLICATE), "duplicate field");
  assert_string_equal(form_strerror(FORM_BAD_ENCODING), "bad percent-encoding");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plus_and_percent),
      cmocka_unit_test(test_hex_case),
      cmocka_unit_test(test_plus_encoded_stays_plus),
      cmocka_unit_test(test_bad_encoding),
      cmocka_unit_test(test_percent_at_last_valid_position),
      cmocka_unit_test(test_duplicate),
      cmocka_unit_test(test_missing_vs_empty),
      cmocka_unit_test(test_empty_pairs_skipped),
      cmocka_unit_test(test_field_without_equals),
      cmocka_unit_test(test_bad_names),
      cmocka_unit_test(test_nul_bytes_kept),
      cmocka_unit_test(test_raw_nul_in_body),
      cmocka_unit_test(test_too_many),
      cmocka_unit_test(test_densest_body_fits),
      cmocka_unit_test(test_length_respected),
      cmocka_unit_test(test_encode),
      cmocka_unit_test(test_encode_round_trip),
      cmocka_unit_test(test_strerror),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
