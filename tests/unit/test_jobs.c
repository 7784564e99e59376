/* jobs.c: the bounded FIFO between front door and dispatcher, duplicate
 * suppression with an injected clock, and the job's display text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/jobs.h"
#include "base/util.h"

static job *new_job(const char *id) {
  job *j = xcalloc(1, sizeof *j);
  snprintf(j->id, sizeof j->id, "%s", id);
  j->text = xstrdup(id);
  j->argc = 1;
  j->argv = xcalloc(2, sizeof *j->argv);
  j->argv[0] = xstrdup("arg");
  return j;
}

/* ---- queue ------------------------------------------------------------ */

static void test_queue_fifo_and_capacity(void **state) {
  (void)state;
  job_queue q;
  queue_init(&q, 3);
  assert_null(queue_pop(&q));
  assert_int_equal(queue_len(&q), 0);
  job *a = new_job("a"), *b = new_job("b"), *c = new_job("c"), *d = new_job("d");
  assert_true(queue_push(&q, a));
  assert_true(queue_push(&q, b));
  assert_true(queue_push(&q, c));
  assert_int_equal(queue_len(&q), 3);
  assert_false(queue_push(&q, d)); /* full: the caller answers "busy" */
  assert_int_equal(queue_len(&q), 3);
  assert_ptr_equal(queue_pop(&q), a);
  assert_true(queue_push(&q, d)); /* room again, and the ring wraps */
  assert_ptr_equal(queue_pop(&q), b);
  assert_ptr_equal(queue_pop(&q), c);
  assert_ptr_equal(queue_pop(&q), d);
  assert_null(queue_pop(&q));
  assert_int_equal(queue_len(&q), 0);
  job_free(a);
  job_free(b);
  job_free(c);
  job_free(d);
  queue_destroy(&q);
}

static void test_queue_wraps_many_times(void **state) {
  (void)state;
  job_queue q;
  queue_init(&q, 4);
  job *jobs[10];
  for (int i = 0; i < 10; i++)
    jobs[i] = new_job("x");
  int next_in = 0, next_out = 0;
  for (int round = 0; round < 50; round++) {
    while (next_in - next_out < 3)
      assert_true(queue_push(&q, jobs[next_in++ % 10]));
    assert_ptr_equal(queue_pop(&q), jobs[next_out++ % 10]);
    assert_ptr_equal(queue_pop(&q), jobs[next_out++ % 10]);
  }
  while (queue_pop(&q))
    ;
  for (int i = 0; i < 10; i++)
    job_free(jobs[i]);
  queue_destroy(&q);
}

static void test_queue_destroy_frees_waiting_jobs(void **state) {
  (void)state;
  job_queue q;
  queue_init(&q, 2);
  assert_true(queue_push(&q, new_job("left-1")));
  assert_true(queue_push(&q, new_job("left-2")));
  queue_destroy(&q); /* the leak checker fails the test if they leak */
}

/* ---- dedupe ----------------------------------------------------------- */

static void test_dedupe_running_duplicate(void **state) {
  (void)state;
  dedupe d;
  dedupe_init(&d, 10);
  int64_t age = -1;
  assert_true(dedupe_begin(&d, "T1:U1:ec2 stop i-1", 1000, &age));
  assert_int_equal(age, -1); /* untouched when accepted */
  assert_false(dedupe_begin(&d, "T1:U1:ec2 stop i-1", 1003, &age));
  assert_int_equal(age, 3);
  /* Still running long after the window: still a duplicate. */
  assert_false(dedupe_begin(&d, "T1:U1:ec2 stop i-1", 1500, &age));
  assert_int_equal(age, 500);
  /* Another key is independent. */
  assert_true(dedupe_begin(&d, "T1:U2:ec2 stop i-1", 1003, &age));
  assert_int_equal(d.n, 2);
  dedupe_destroy(&d);
}

static void test_dedupe_window_after_end(void **state) {
  (void)state;
  dedupe d;
  dedupe_init(&d, 10);
  int64_t age = -1;
  assert_true(dedupe_begin(&d, "k", 1000, &age));
  dedupe_end(&d, "k");
  assert_false(dedupe_begin(&d, "k", 1002, &age)); /* retyped after a timeout */
  assert_int_equal(age, 2);
  assert_false(dedupe_begin(&d, "k", 1009, &age));
  assert_int_equal(age, 9);
  assert_true(dedupe_begin(&d, "k", 1010, &age)); /* the window has passed */
  /* The new one runs: its own duplicate is refused, aged from 1010. */
  assert_false(dedupe_begin(&d, "k", 1011, &age));
  assert_int_equal(age, 1);
  assert_int_equal(d.n, 1);
  dedupe_destroy(&d);
}

static void test_dedupe_zero_window(void **state) {
  (void)state;
  dedupe d;
  dedupe_init(&d, 0);
  int64_t age = -1;
  assert_true(dedupe_begin(&d, "k", 5, &age));
  assert_false(dedupe_begin(&d, "k", 5, &age)); /* running */
  dedupe_end(&d, "k");
  assert_true(dedupe_begin(&d, "k", 5, &age));
  dedupe_destroy(&d);
}

static void test_dedupe_forget(void **state) {
  (void)state;
  dedupe d;
  dedupe_init(&d, 60);
  int64_t age = -1;
  assert_true(dedupe_begin(&d, "k", 100, &age));
  assert_true(dedupe_begin(&d, "other", 100, &age));
  dedupe_forget(&d, "k"); /* never queued: forgotten at once */
  assert_int_equal(d.n, 1);
  assert_true(dedupe_begin(&d, "k", 101, &age));
  assert_false(dedupe_begin(&d, "other", 101, &age));
  /* Forgetting or ending an unknown key changes nothing. */
  dedupe_forget(&d, "nope");
  dedupe_end(&d, "nope");
  assert_int_equal(d.n, 2);
  dedupe_destroy(&d);
}

static void test_dedupe_bounded(void **state) {
  (void)state;
  dedupe d;
  dedupe_init(&d, 10);
  int64_t age;
  char key[32];
  for (int i = 0; i < 3000; i++) {
    snprintf(key, sizeof key, "old-%d", i);
    assert_true(dedupe_begin(&d, key, 1000, &age));
    dedupe_end(&d, key);
  }
  assert_int_equal(d.n, 3000);
  /* After the window, a full sweep within the next 1,024 inserts drops
   * every finished old key, not only those in the buckets touched. */
  for (int i = 0; i < 1024; i++) {
    snprintf(key, sizeof key, "new-%d", i);
    assert_true(dedupe_begin(&d, key, 1011, &age));
    dedupe_end(&d, key);
  }
  assert_true(d.n <= 1024);
  /* An old key is allowed again. */
  assert_true(dedupe_begin(&d, "old-7", 1011, &age));
  dedupe_destroy(&d);
}

static void test_dedupe_running_not_swept(void **state) {
  (void)state;
  dedupe d;
  dedupe_init(&d, 1);
  int64_t age;
  assert_true(dedupe_begin(&d, "long-job", 0, &age));
  char key[32];
  for (int i = 0; i < 2100; i++) {
    snprintf(key, sizeof key, "k%d", i);
    assert_true(dedupe_begin(&d, key, 100 + i, &age));
    dedupe_end(&d, key);
  }
  assert_false(dedupe_begin(&d, "long-job", 5000, &age));
  assert_int_equal(age, 5000);
  dedupe_destroy(&d);
}

/* ---- display ---------------------------------------------------------- */

static void test_job_display(void **state) {
  (void)state;
  job j = {.command = (char *)"/aws", .text = (char *)"ec2 stop i-1"};
  char *s = job_display(&j);
  assert_string_equal(s, "/aws ec2 stop i-1");
  free(s);
  j.text = (char *)"";
  s = job_display(&j);
  assert_string_equal(s, "/aws");
  free(s);
  j.text = NULL;
  s = job_display(&j);
  assert_string_equal(s, "/aws");
  free(s);
}

static void test_job_display_cut(void **state) {
  (void)state;
  char text[201];
  memset(text, 'a', 200);
  text[200] = '\0';
  job j = {.command = (char *)"/aws", .text = text};
  char *s = job_display(&j);
  assert_int_equal(strlen(s), 5 + 117 + 3);
  assert_true(str_starts(s, "/aws aaa"));
  assert_string_equal(s + strlen(s) - 3, "\xe2\x80\xa6"); /* … */
  free(s);
}

static void test_job_display_cut_keeps_utf8(void **state) {
  (void)state;
  /* 100 two-byte characters: the cut must not split one. */
  sbuf b = {0};
  for (int i = 0; i < 100; i++)
    sbuf_adds(&b, "\xc3\xa9");
  job j = {.command = (char *)"/aws", .text = b.p};
  char *s = job_display(&j);
  assert_true(utf8_is_clean(s, strlen(s)));
  assert_true(strlen(s) < 5 + 120 + 3);
  free(s);
  sbuf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_queue_fifo_and_capacity),
      cmocka_unit_test(test_queue_wraps_many_times),
      cmocka_unit_test(test_queue_destroy_frees_waiting_jobs),
      cmocka_unit_test(test_dedupe_running_duplicate),
      cmocka_unit_test(test_dedupe_window_after_end),
      cmocka_unit_test(test_dedupe_zero_window),
      cmocka_unit_test(test_dedupe_forget),
      cmocka_unit_test(test_dedupe_bounded),
      cmocka_unit_test(test_dedupe_running_not_swept),
      cmocka_unit_test(test_job_display),
      cmocka_unit_test(test_job_display_cut),
      cmocka_unit_test(test_job_display_cut_keeps_utf8),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
