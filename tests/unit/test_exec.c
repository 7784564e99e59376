/* exec.c without the pool: one job in one worker child of the real binary,
 * with the fixture plugins, ending each way a job can end; and a spawner
 * forking, reaping and reporting its children, and dying. */
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "slashd/plugin.h"
#include "base/ipc.h"
#include "job_fixture.h"
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
  char id[64], *text = xasprintf("%s %s %s", plugin, cmd, arg ? arg : "");
  snprintf(id, sizeof id, "exec-%s", cmd);
  const char *argv[] = {arg};
  job *j = fixture_job(id, text, "https://hooks.slack.com/x", plugin, cmd, arg ? 1 : 0, argv);
  free(text);
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

/* ---- spawners ------------------------------------------------------------ */

static exec_spawn_args spawner_args(const char *path) {
  return (exec_spawn_args){
      .config_fd = -1, .config_path = path, .generation = 3, .exe = SLASHD_BINARY};
}

/* Pumps the spawner until c's pid is known, then reads c's hello (10 s). */
static void await_hello(exec_spawner *sp, exec_child *c) {
  uint64_t until = mono_ms() + 10000;
  while (!c->pid && exec_spawner_alive(sp) && mono_ms() < until) {
    struct pollfd pfd = {.fd = exec_spawner_fd(sp), .events = POLLIN};
    poll(&pfd, 1, 100);
    exec_spawner_pump(sp);
  }
  assert_true(c->pid > 0);
  struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
  assert_int_equal(poll(&pfd, 1, 10000), 1);
  ipc_reader rd = {0};
  ipc_status st;
  json_t *msg = ipc_read(&rd, c->fd, true, &st);
  assert_non_null(msg);
  wire_msg m;
  char *why = NULL;
  wire_payload pl = {rd.payload, rd.payload_len};
  assert_true(wire_decode(msg, &pl, &m, &why));
  assert_int_equal(m.t, WIRE_HELLO);
  assert_int_equal(m.pid, c->pid);
  wire_msg_free(&m);
  json_decref(msg);
  ipc_reader_free(&rd);
}

static long ppid_of(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  long ppid = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "PPid:", 5) == 0)
      ppid = strtol(line + 5, NULL, 10);
  if (f)
    fclose(f);
  return ppid;
}

static void test_spawner_forks_and_reports_exits(void **state) {
  (void)state;
  exec_spawn_args a = spawner_args(config_path);
  char *err = NULL;
  exec_spawner *sp = exec_spawner_start(&a, &err);
  assert_non_null(sp);
  assert_int_equal(exec_spawner_generation(sp), 3);
  exec_child c1, c2;
  assert_true(exec_spawner_fork(sp, 0, &c1, &err));
  assert_true(exec_spawner_fork(sp, 1, &c2, &err));
  assert_int_equal(exec_spawner_children(sp), 2);
  await_hello(sp, &c1);
  await_hello(sp, &c2);
  assert_int_not_equal(c1.pid, c2.pid);
  assert_int_equal(ppid_of(c1.pid), exec_spawner_pid(sp));
  assert_int_equal(ppid_of(c2.pid), exec_spawner_pid(sp));
  /* A signal through the pidfd; the status is the spawner's report. */
  exec_signal(&c2, SIGKILL);
  int st = exec_reap(&c2);
  assert_true(WIFSIGNALED(st));
  assert_int_equal(WTERMSIG(st), SIGKILL);
  assert_int_equal(c2.pid, 0);
  /* Asked to leave, it unloads and exits by itself. */
  exec_retire(&c1, 3000);
  assert_int_equal(c1.pid, 0);
  assert_int_equal(exec_spawner_children(sp), 0);
  assert_true(exec_spawner_alive(sp));
  st = exec_spawner_close(sp);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_spawner_death_takes_its_children(void **state) {
  (void)state;
  exec_spawn_args a = spawner_args(config_path);
  char *err = NULL;
  exec_spawner *sp = exec_spawner_start(&a, &err);
  assert_non_null(sp);
  exec_child c;
  assert_true(exec_spawner_fork(sp, 0, &c, &err));
  await_hello(sp, &c);
  pid_t child = c.pid;
  kill(exec_spawner_pid(sp), SIGKILL);
  /* Its child dies with it (parent-death signal) and is reaped as killed. */
  int st = exec_reap(&c);
  assert_true(WIFSIGNALED(st));
  assert_int_equal(WTERMSIG(st), SIGKILL);
  assert_int_not_equal(ppid_of(child), exec_spawner_pid(sp));
  assert_false(exec_spawner_alive(sp));
  size_t had = 0;
  assert_true(exec_spawner_died(sp, &had));
  assert_int_equal(had, 1);
  assert_false(exec_spawner_died(sp, &had)); /* told once */
  assert_false(exec_spawner_fork(sp, 1, &c, &err));
  free(err);
  st = exec_spawner_close(sp);
  assert_true(WIFSIGNALED(st));
  assert_int_equal(WTERMSIG(st), SIGKILL);
}

static void test_spawner_that_cannot_load(void **state) {
  (void)state;
  exec_spawn_args a = spawner_args("/nonexistent/slashd.ini");
  char *err = NULL;
  exec_spawner *sp = exec_spawner_start(&a, &err);
  assert_non_null(sp);
  exec_child c;
  if (exec_spawner_fork(sp, 0, &c, &err)) {
    /* Never forked: the worker fails with the spawner's own exit status. */
    uint64_t until = mono_ms() + 10000;
    while (exec_spawner_pump(sp) && mono_ms() < until)
      usleep(10000);
    assert_int_equal(c.pid, 0);
    assert_int_not_equal(c.err, 0);
    int st = exec_reap(&c);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 78);
  } else {
    free(err); /* it was gone before the request could be sent */
  }
  int st = exec_spawner_close(sp);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 78);
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
      cmocka_unit_test(test_ok_relays_replies),
      cmocka_unit_test(test_command_error),
      cmocka_unit_test(test_crash_is_signaled),
      cmocka_unit_test(test_hang_times_out),
      cmocka_unit_test(test_no_binary_is_lost),
      cmocka_unit_test(test_spawner_forks_and_reports_exits),
      cmocka_unit_test(test_spawner_death_takes_its_children),
      cmocka_unit_test(test_spawner_that_cannot_load),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
