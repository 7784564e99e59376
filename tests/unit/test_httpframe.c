/* httpframe.c: the framing and request-target checks the HTTP door makes on
 * libmicrohttpd's parsed headers and the raw target (issue 11, items 1-2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/httpframe.h"

static int verdict(const char *const *kv) {
  httpframe f = {0};
  for (; kv[0]; kv += 2)
    httpframe_add(&f, kv[0], kv[1]);
  const char *why = NULL;
  int st = httpframe_verdict(&f, &why);
  assert_true(st == 0 ? why == NULL : why != NULL);
  return st;
}

static void test_framing(void **state) {
  (void)state;
  assert_int_equal(verdict((const char *const[]){"Content-Length", "12", "Host", "x", NULL}), 0);
  assert_int_equal(verdict((const char *const[]){"Transfer-Encoding", "chunked", NULL}), 0);
  assert_int_equal(verdict((const char *const[]){"transfer-encoding", "CHUNKED", NULL}), 0);
  assert_int_equal(
      verdict((const char *const[]){"Content-Length", "12", "Transfer-Encoding", "chunked", NULL}),
      400);
  assert_int_equal(
      verdict((const char *const[]){"Content-Length", "12", "Content-Length", "12", NULL}), 400);
  assert_int_equal(verdict((const char *const[]){"Content-Length ", "12", NULL}), 400);
  assert_int_equal(verdict((const char *const[]){"Content-Length", "+12", NULL}), 400);
  assert_int_equal(verdict((const char *const[]){"Content-Length", "1 2", NULL}), 400);
  assert_int_equal(verdict((const char *const[]){"Content-Length", "", NULL}), 400);
  assert_int_equal(verdict((const char *const[]){"Content-Length", "1234567890123456789", NULL}),
                   400);
  assert_int_equal(verdict((const char *const[]){"X-Ok", "a\x01", NULL}), 400);
  assert_int_equal(verdict((const char *const[]){"X-Ok", "tab\tok", NULL}), 0);
  assert_int_equal(verdict((const char *const[]){"", "v", NULL}), 400);
  assert_int_equal(verdict((const char *const[]){"Bad\"Name", "v", NULL}), 400);
  assert_int_equal(verdict((const char *const[]){"Transfer-Encoding", "gzip", NULL}), 501);
  assert_int_equal(verdict((const char *const[]){"Transfer-Encoding", "gzip, chunked", NULL}), 501);
  assert_int_equal(verdict((const char *const[]){"Transfer-Encoding", "chunked",
                                                 "Transfer-Encoding", "chunked", NULL}),
                   400);
}

static int path(const char *target, bool whole, size_t *len) {
  const char *why = NULL;
  int st = httpframe_path(target, whole, len, &why);
  assert_true(st == 0 ? why == NULL : why != NULL);
  return st;
}

static void test_paths(void **state) {
  (void)state;
  size_t len = 0;
  assert_int_equal(path("/metrics", true, &len), 0);
  assert_int_equal(len, 8);
  assert_int_equal(path("/healthz?x=%41", true, &len), 0);
  assert_int_equal(len, 8); /* the query may carry escapes; the path may not */
  assert_int_equal(path("/%6detrics", true, &len), 404);
  assert_int_equal(path("/slack/commands%00junk", true, &len), 404);
  assert_int_equal(path("/metrics", false, &len), 400); /* a NUL cut it short */
  assert_int_equal(path("metrics", true, &len), 400);
  assert_int_equal(path("http://x/metrics", true, &len), 400);
  assert_int_equal(path("/a b", true, &len), 400);
  assert_int_equal(path("/a\x7f", true, &len), 400);
  assert_int_equal(path("/caf\xc3\xa9", true, &len), 400);
  assert_int_equal(path(NULL, true, &len), 400);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_framing),
      cmocka_unit_test(test_paths),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
