/* The main process's cache of assumed-role credentials: entries are handed
 * out only while they have more than the refresh margin left. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "worker/awsglue.h"
#include "daemon/credcache.h"

static json_t *entry(const char *key, json_int_t exp) {
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "key", key, "role",
                   "arn:aws:iam::1:role/r", "session", "slashd-U1", "akid", "ASIA1", "secret",
                   "s3cret", "token", "tok", "exp", exp);
}

static void test_fresh_entry_is_shared(void **state) {
  (void)state;
  credcache *c = credcache_new();
  json_t *e = entry("T|U1|C1", 10000);
  credcache_put(c, e);
  json_decref(e);
  json_t *got = credcache_get(c, "T|U1|C1", 10000 - 900, CREDS_REFRESH_S);
  assert_non_null(got);
  assert_string_equal(json_string_value(json_object_get(got, "akid")), "ASIA1");
  json_decref(got);
  assert_null(credcache_get(c, "T|U1|C2", 0, CREDS_REFRESH_S)); /* another channel */
  credcache_free(c);
}

static void test_entry_near_expiry_is_renewed(void **state) {
  (void)state;
  credcache *c = credcache_new();
  json_t *e = entry("k", 10000);
  credcache_put(c, e);
  json_decref(e);
  /* 301 s left: still handed out; 300 s left: dropped so the worker
   * assumes the role again. */
  json_t *got = credcache_get(c, "k", 10000 - CREDS_REFRESH_S - 1, CREDS_REFRESH_S);
  assert_non_null(got);
  json_decref(got);
  assert_null(credcache_get(c, "k", 10000 - CREDS_REFRESH_S, CREDS_REFRESH_S));
  /* and it is gone, not just hidden */
  assert_null(credcache_get(c, "k", 0, CREDS_REFRESH_S));
  credcache_free(c);
}

static void test_replace_and_clear(void **state) {
  (void)state;
  credcache *c = credcache_new();
  json_t *a = entry("k", 5000), *b = entry("k", 9000);
  credcache_put(c, a);
  credcache_put(c, b);
  json_t *got = credcache_get(c, "k", 0, CREDS_REFRESH_S);
  assert_int_equal(json_integer_value(json_object_get(got, "exp")), 9000);
  json_decref(got);
  credcache_clear(c);
  assert_null(credcache_get(c, "k", 0, CREDS_REFRESH_S));
  json_decref(a);
  json_decref(b);
  credcache_free(c);
}

static void test_key_includes_channel(void **state) {
  (void)state;
  char *k1 = awsglue_cache_key("T", "U1", "C1", NULL),
       *k2 = awsglue_cache_key("T", "U1", "C2", NULL);
  assert_string_not_equal(k1, k2);
  /* A role in another account is another entry. */
  char *k3 = awsglue_cache_key("T", "U1", "C1", "prod"),
       *k4 = awsglue_cache_key("T", "U1", "C1", "staging");
  assert_string_not_equal(k1, k3);
  assert_string_not_equal(k3, k4);
  free(k1);
  free(k2);
  free(k3);
  free(k4);
}

/* Issue 11, item 12: only the running job's own key, with a real expiry. */
static void test_put_for_the_running_job_only(void **state) {
  (void)state;
  credcache *c = credcache_new();
  const char *why = NULL;
  json_t *other = entry("T|UVICTIM|C1|", 5000);
  assert_false(credcache_put_for(c, other, "T|U1|C1|", 1000, 1200, &why));
  assert_non_null(why);
  assert_false(credcache_put_for(c, other, NULL, 1000, 1200, &why)); /* no job running */
  json_decref(other);
  json_t *never = entry("T|U1|C1|", 0);
  assert_false(credcache_put_for(c, never, "T|U1|C1|", 1000, 1200, &why));
  json_decref(never);
  json_t *too_long = entry("T|U1|C1|", 1000 + 1201);
  assert_false(credcache_put_for(c, too_long, "T|U1|C1|", 1000, 1200, &why));
  json_decref(too_long);
  assert_null(credcache_get(c, "T|UVICTIM|C1|", 1000, CREDS_REFRESH_S));
  assert_null(credcache_get(c, "T|U1|C1|", 1000, CREDS_REFRESH_S));
  json_t *good = entry("T|U1|C1|", 1900);
  assert_true(credcache_put_for(c, good, "T|U1|C1|", 1000, 1200, &why));
  json_decref(good);
  json_t *got = credcache_get(c, "T|U1|C1|", 1000, CREDS_REFRESH_S);
  assert_non_null(got);
  json_decref(got);
  /* And an entry without expiry is never handed out, however it got in. */
  json_t *zero = entry("k0", 0);
  credcache_put(c, zero);
  json_decref(zero);
  assert_null(credcache_get(c, "k0", 1000, CREDS_REFRESH_S));
  credcache_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_put_for_the_running_job_only),
      cmocka_unit_test(test_fresh_entry_is_shared),
      cmocka_unit_test(test_entry_near_expiry_is_renewed),
      cmocka_unit_test(test_replace_and_clear),
      cmocka_unit_test(test_key_includes_channel),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
