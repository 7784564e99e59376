/* exec.c without the pool: one job in one worker child of the real binary,
 * with the fixture plugins, ending each way a job can end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "slashd/plugin.h"
#include "unit_util.h"
#include "worker/exec.h"

typedef struct got {
  int hellos;
  int replies;
  char text[512];
} got;

static void on_hello(void *ud, const wire_msg *m) {
  got *g = ud;
  g->hellos++;
  assert_non_null(json_object_get(m->manifest, "plugins"));
}

static void on_reply(void *ud, const wire_msg *m) {
  got *g = ud;
  g->replies++;
  snprintf(g->text, sizeof g->text, "%s", m->text);
}

static char *config_path;

static int setup(void **state) {
  (void)state;
  char *ini = xasprintf("[server]\njob_timeout = 5\nlog_level = warn\n"
                        "[plugin.good]\npath = %s/good.so\n"
                        "[plugin.crash]\npath = %s/crash.so\n"
                        "[plugin.hang]\npath = %s/hang.so\n",
                        SLASHD_FIXTURE_DIR, SLASHD_FIXTURE_DIR, SLASHD_FIXTURE_DIR);
  config_path = unit_write_temp(ini);
  free(ini);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  unlink(config_path);
  free(config_path);
  return 0;
}

static job *make_job(const char *plugin, const char *cmd, const char *arg) {
  job *j = xcalloc(1, sizeof *j);
  snprintf(j->id, sizeof j->id, "exec-%s", cmd);
  j->team_id = xstrdup("T1");
  j->user_id = xstrdup("U1");
  j->user_name = xstrdup("alice");
  j->channel_id = xstrdup("C1");
  j->channel_name = xstrdup("ops");
  j->command = xstrdup("/aws");
  j->text = xasprintf("%s %s %s", plugin, cmd, arg ? arg : "");
  j->response_url = xstrdup("https://hooks.slack.com/x");
  j->plugin = xstrdup(plugin);
  j->cmd = xstrdup(cmd);
  j->argc = arg ? 1 : 0;
  j->argv = xcalloc(2, sizeof *j->argv);
  if (arg)
    j->argv[0] = xstrdup(arg);
  return j;
}

/* Runs plugin.cmd [arg] in a new child of the slashd binary. */
static exec_outcome run(const char *plugin, const char *cmd, const char *arg, int timeout_s,
                        got *g) {
  exec_spawn_args a = {.config_fd = -1, .config_path = config_path, .exe = SLASHD_BINARY};
  exec_hooks h = {.hello = on_hello, .reply = on_reply, .ud = g};
  job *j = make_job(plugin, cmd, arg);
  exec_outcome o;
  uint64_t t0 = mono_ms();
  exec_run_one(&a, j, NULL, timeout_s, &h, &o);
  /* Whatever the end, it was within the deadline (plus the kill). */
  assert_true(mono_ms() - t0 < (uint64_t)timeout_s * 1000u + 3000u);
  assert_true(j->deadline_ms > 0); /* the wall-clock deadline travelled with it */
  job_free(j);
  return o;
}

static void test_ok_relays_replies(void **state) {
  (void)state;
  got g = {0};
  exec_outcome o = run("good", "echo", "hello", 5, &g);
  assert_int_equal(o.end, EXEC_OK);
  assert_int_equal(o.status, SLASHD_OK);
  assert_false(o.error);
  assert_int_equal(g.hellos, 1);
  assert_int_equal(g.replies, 1);
  assert_int_equal(o.replies, 1);
  assert_non_null(strstr(g.text, "hello"));
  assert_non_null(o.identity);
  assert_int_equal(exec_end_outcome(o.end), OUT_OK);
  exec_outcome_free(&o);
}

static void test_command_error(void **state) {
  (void)state;
  got g = {0};
  exec_outcome o = run("good", "fail", NULL, 5, &g);
  assert_int_equal(o.end, EXEC_ERROR);
  assert_int_not_equal(o.status, SLASHD_OK);
  assert_int_equal(exec_end_outcome(o.end), OUT_ERROR);
  exec_outcome_free(&o);
  /* A command the child does not have: it says so, and it is an error. */
  memset(&g, 0, sizeof g);
  o = run("good", "nosuch", NULL, 5, &g);
  assert_int_equal(o.end, EXEC_ERROR);
  assert_int_equal(o.status, SLASHD_ERR_NOT_FOUND);
  assert_non_null(strstr(g.text, "not available"));
  exec_outcome_free(&o);
}

static void test_crash_is_signaled(void **state) {
  (void)state;
  got g = {0};
  exec_outcome o = run("crash", "now", NULL, 5, &g);
  assert_int_equal(o.end, EXEC_SIGNALED);
  assert_non_null(strstr(o.how, "signal 11"));
  assert_int_equal(exec_end_outcome(o.end), OUT_CRASHED);
  exec_outcome_free(&o);
}

static void test_hang_times_out(void **state) {
  (void)state;
  got g = {0};
  exec_outcome o = run("hang", "forever", NULL, 1, &g);
  assert_int_equal(o.end, EXEC_TIMEOUT);
  assert_int_equal(exec_end_outcome(o.end), OUT_TIMEOUT);
  assert_non_null(strstr(g.text, "hanging")); /* its interim got out first */
  exec_outcome_free(&o);
}

static void test_no_binary_is_lost(void **state) {
  (void)state;
  exec_spawn_args a = {.config_fd = -1, .config_path = config_path, .exe = "/nonexistent/slashd"};
  job *j = make_job("good", "echo", "x");
  exec_outcome o;
  exec_run_one(&a, j, NULL, 2, NULL, &o);
  /* posix_spawn reports a missing binary either at once or as exit 127. */
  assert_true(o.end == EXEC_LOST);
  exec_outcome_free(&o);
  job_free(j);
}

int main(void) {
  /* Let the crash fixture's SIGSEGV be a signal under ASan and TSan too. */
  char *asan = xasprintf("handle_segv=0:%s", getenv("ASAN_OPTIONS") ? getenv("ASAN_OPTIONS") : "");
  setenv("ASAN_OPTIONS", asan, 1);
  free(asan);
  char *tsan = xasprintf("handle_segv=0:%s", getenv("TSAN_OPTIONS") ? getenv("TSAN_OPTIONS") : "");
  setenv("TSAN_OPTIONS", tsan, 1);
  free(tsan);
  setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ok_relays_replies), cmocka_unit_test(test_command_error),
      cmocka_unit_test(test_crash_is_signaled), cmocka_unit_test(test_hang_times_out),
      cmocka_unit_test(test_no_binary_is_lost),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
