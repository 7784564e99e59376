/* journal.c: records of any accepted size survive a restart, and record ids
 * are request ids, encoded as JSON (issue 11, item 7). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/util.h"
#include "daemon/journal.h"

typedef struct seen {
  int n;
  char id[64];
  size_t text_len;
  char last;
} seen;

static void collect(void *ud, const journal_entry *e) {
  seen *s = ud;
  s->n++;
  snprintf(s->id, sizeof s->id, "%s", e->id);
  s->text_len = strlen(e->text);
  s->last = s->text_len ? e->text[s->text_len - 1] : 0;
}

static job *make(const char *id, size_t text_len) {
  job *j = xcalloc(1, sizeof *j);
  snprintf(j->id, sizeof j->id, "%s", id);
  j->user_id = xstrdup("U1");
  j->team_id = xstrdup("T1");
  j->command = xstrdup("/aws");
  j->text = xmalloc(text_len + 1);
  /* Quotes and backslashes: the worst case for JSON escaping. */
  for (size_t i = 0; i < text_len; i++)
    j->text[i] = "a\"\\b"[i % 4];
  if (text_len)
    j->text[text_len - 1] = 'z';
  j->text[text_len] = '\0';
  j->response_url = xstrdup("https://hooks.slack.com/commands/T1/1/x");
  return j;
}

static char *temp_path(void) {
  char *dir = xstrdup("/tmp/slashd-journal-XXXXXX");
  assert_non_null(mkdtemp(dir));
  char *p = xasprintf("%s/journal", dir);
  free(dir);
  return p;
}

static void cleanup(char *path) {
  unlink(path);
  *strrchr(path, '/') = '\0';
  rmdir(path);
  free(path);
}

static seen reopen(const char *path) {
  char *err = NULL;
  journal *jn = journal_open(path, false, &err);
  assert_non_null(jn);
  seen s = {0};
  journal_recover(jn, collect, &s);
  journal_close(jn);
  return s;
}

/* A record over the old 64 KiB line bound (max_body allows 1 MiB). */
static void test_large_record_survives(void **state) {
  (void)state;
  char *path = temp_path();
  char *err = NULL;
  journal *jn = journal_open(path, false, &err);
  assert_non_null(jn);
  job *j = make("abc-1", 1024 * 1024);
  assert_true(journal_accept(jn, j));
  journal_close(jn); /* as if killed: never finished */
  seen s = reopen(path);
  assert_int_equal(s.n, 1);
  assert_string_equal(s.id, "abc-1");
  assert_int_equal(s.text_len, 1024 * 1024);
  assert_int_equal(s.last, 'z');
  job_free(j);
  cleanup(path);
}

/* An id that is not a request id is never recorded, so it can neither
 * break the done record nor come back at recovery. */
static void test_bad_ids_refused(void **state) {
  (void)state;
  char *path = temp_path();
  char *err = NULL;
  journal *jn = journal_open(path, false, &err);
  assert_non_null(jn);
  const char *bad[] = {"a\"b", "a\r\nX-Evil: 1", "", "a b", "a\\b"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    job *j = make(bad[i], 10);
    assert_false(journal_accept(jn, j));
    journal_finish(jn, j->id);
    job_free(j);
  }
  assert_int_equal(journal_open_count(jn), 0);
  job *ok = make("abc-2", 10);
  assert_true(journal_accept(jn, ok));
  journal_finish(jn, ok->id);
  job_free(ok);
  journal_close(jn);
  seen s = reopen(path);
  assert_int_equal(s.n, 0); /* nothing told at every restart */
  cleanup(path);
}

/* A tampered or foreign record whose id could inject a header is skipped. */
static void test_recovery_skips_bad_ids(void **state) {
  (void)state;
  char *path = temp_path();
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(
      "{\"t\":\"accept\",\"id\":\"x\\r\\nX-Evil: 1\",\"ts\":1,\"user\":\"U1\",\"command\":\"/aws\","
      "\"text\":\"t\",\"response_url\":\"https://hooks.slack.com/x\",\"write\":false}\n",
      f);
  fclose(f);
  seen s = reopen(path);
  assert_int_equal(s.n, 0);
  cleanup(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_large_record_survives),
      cmocka_unit_test(test_bad_ids_refused),
      cmocka_unit_test(test_recovery_skips_bad_ids),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
