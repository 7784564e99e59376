/* replay.c: accepted signatures remembered for the whole timestamp window,
 * in bounded memory, across a restart when persisted (issue 11, item 3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/replay.h"
#include "base/util.h"

#define T0 1800000000LL

static void sig_of(unsigned n, char out[80]) {
  snprintf(out, 80, "v0=%064u", n);
}

static void test_seen_for_the_whole_window(void **state) {
  (void)state;
  char *err = NULL;
  replay *r = replay_open(NULL, T0, &err);
  assert_non_null(r);
  char a[80], b[80];
  sig_of(1, a);
  sig_of(2, b);
  assert_int_equal(replay_check(r, a, T0, T0), REPLAY_NEW);
  assert_int_equal(replay_check(r, b, T0, T0), REPLAY_NEW);
  /* Later in the window (past any dedupe_seconds), up to its last second. */
  assert_int_equal(replay_check(r, a, T0, T0 + 30), REPLAY_SEEN);
  assert_int_equal(replay_check(r, a, T0, T0 + REPLAY_WINDOW_S), REPLAY_SEEN);
  /* A timestamp 300 s ahead is good until 600 s from now. */
  char f[80];
  sig_of(3, f);
  assert_int_equal(replay_check(r, f, T0 + 300, T0), REPLAY_NEW);
  assert_int_equal(replay_check(r, f, T0 + 300, T0 + 599), REPLAY_SEEN);
  assert_int_equal(replay_count(r), 3);
  replay_close(r);
}

static void test_memory_is_given_back(void **state) {
  (void)state;
  char *err = NULL;
  replay *r = replay_open(NULL, T0, &err);
  char s[80];
  for (unsigned i = 0; i < 5000; i++) {
    sig_of(i, s);
    assert_int_equal(replay_check(r, s, T0, T0), REPLAY_NEW);
  }
  assert_int_equal(replay_count(r), 5000);
  /* Two slots later every one of them has expired: their table is reused. */
  for (unsigned i = 0; i < 3; i++) {
    sig_of(100000 + i, s);
    int64_t now = T0 + 900 + 300 * i;
    assert_int_equal(replay_check(r, s, now + 300, now), REPLAY_NEW);
  }
  assert_true(replay_count(r) < 5000);
  replay_close(r);
}

/* The bound: at most 3/4 of REPLAY_SLOT_MAX entries per 300 s slot, then
 * refused, never forgotten. */
static void test_full_refuses_rather_than_forgets(void **state) {
  (void)state;
  char *err = NULL;
  replay *r = replay_open(NULL, T0, &err);
  char s[80];
  unsigned limit = REPLAY_SLOT_MAX / 4 * 3;
  for (unsigned i = 0; i < limit; i++) {
    sig_of(i, s);
    assert_int_equal(replay_check(r, s, T0, T0), REPLAY_NEW);
  }
  sig_of(limit, s);
  assert_int_equal(replay_check(r, s, T0, T0), REPLAY_FULL);
  sig_of(0, s);
  assert_int_equal(replay_check(r, s, T0, T0), REPLAY_SEEN);
  replay_close(r);
}

static void test_persisted_across_a_restart(void **state) {
  (void)state;
  char dir[] = "/tmp/slashd-replay-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char *prefix = xasprintf("%s/journal.replay", dir);
  char *err = NULL;
  replay *r = replay_open(prefix, T0, &err);
  assert_non_null(r);
  char a[80], b[80];
  sig_of(7, a);
  sig_of(8, b);
  assert_int_equal(replay_check(r, a, T0, T0), REPLAY_NEW);
  replay_close(r); /* as if killed */
  r = replay_open(prefix, T0 + 100, &err);
  assert_non_null(r);
  assert_int_equal(replay_check(r, a, T0, T0 + 100), REPLAY_SEEN);
  assert_int_equal(replay_check(r, b, T0, T0 + 100), REPLAY_NEW);
  replay_close(r);
  /* A torn last record is ignored, the whole ones kept. */
  char *file = xasprintf("%s.%lld", prefix, (long long)((T0 + 300) / 300));
  FILE *f = fopen(file, "a");
  fwrite("partial", 1, 7, f);
  fclose(f);
  r = replay_open(prefix, T0 + 200, &err);
  assert_non_null(r);
  assert_int_equal(replay_count(r), 2);
  replay_close(r);
  /* Long after: the files of passed slots are removed. */
  r = replay_open(prefix, T0 + 1200, &err);
  assert_int_equal(replay_count(r), 0);
  replay_close(r);
  assert_int_equal(access(file, F_OK), -1);
  free(file);
  free(prefix);
  assert_int_equal(rmdir(dir), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_seen_for_the_whole_window),
      cmocka_unit_test(test_memory_is_given_back),
      cmocka_unit_test(test_full_refuses_rather_than_forgets),
      cmocka_unit_test(test_persisted_across_a_restart),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
