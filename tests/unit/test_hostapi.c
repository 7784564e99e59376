/* hostapi.c: the API table plugins get, with a fake call_sink standing in
 * for the worker's pipe: reply limits, flags, the caller, config, and the
 * `commands` visitor over a real registry (the "good" fixture). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/route.h"
#include "worker/hostapi.h"
#include "unit_util.h"

#define FIX(name) SLASHD_FIXTURE_DIR "/" name ".so"

typedef struct emitted {
  unsigned flags;
  bool interim;
  char *text;
} emitted;

typedef struct sink_log {
  emitted e[16];
  size_t n;
} sink_log;

static void fake_emit(void *ud, unsigned flags, bool interim, const char *text) {
  sink_log *s = ud;
  assert_true(s->n < ARRAY_LEN(s->e));
  s->e[s->n++] = (emitted){.flags = flags, .interim = interim, .text = xstrdup(text)};
}

typedef struct fixture {
  sink_log log;
  slashd_call call;
} fixture;

static void call_init(fixture *f) {
  f->call.caller = (slashd_caller){.size = sizeof(slashd_caller),
                                   .request_id = "req-1",
                                   .team_id = "T1",
                                   .user_id = "U1",
                                   .user_name = "alice",
                                   .channel_id = "C1",
                                   .channel_name = "ops",
                                   .command = "/aws",
                                   .text = "good echo"};
  f->call.sink = (call_sink){.emit = fake_emit, .ud = &f->log};
}

static int call_setup(void **state) {
  fixture *f = xcalloc(1, sizeof *f);
  call_init(f);
  *state = f;
  return 0;
}

static int call_teardown(void **state) {
  fixture *f = *state;
  for (size_t i = 0; i < f->log.n; i++)
    free(f->log.e[i].text);
  free(f);
  return 0;
}

static const slashd_host_api *api(void) {
  return hostapi_table();
}

static void test_table_header(void **state) {
  (void)state;
  const slashd_host_api *a = api();
  assert_int_equal(a->size, sizeof(slashd_host_api));
  assert_int_equal(a->abi_major, SLASHD_ABI_MAJOR);
  assert_int_equal(a->abi_minor, SLASHD_ABI_MINOR);
  assert_true(SLASHD_HAS(a, reply));
  assert_true(SLASHD_HAS(a, commands));
  /* A table from an older host (shorter) does not have the last field. */
  slashd_host_api older = *a;
  older.size = offsetof(slashd_host_api, commands);
  assert_false(SLASHD_HAS(&older, commands));
  assert_true(SLASHD_HAS(&older, log));
}

static void test_five_replies(void **state) {
  fixture *f = *state;
  for (int i = 0; i < JOB_MAX_POSTS; i++)
    assert_int_equal(api()->reply(&f->call, 0, "ok", NULL), SLASHD_OK);
  assert_int_equal(api()->reply(&f->call, 0, "one too many", NULL), SLASHD_ERR_LIMIT);
  assert_int_equal(f->log.n, 5);
  assert_int_equal(f->call.posts, 5);
  assert_false(f->log.e[4].interim);
}

static void test_three_interims_then_final(void **state) {
  fixture *f = *state;
  for (int i = 0; i < JOB_MAX_INTERIM; i++)
    assert_int_equal(api()->interim(&f->call, 0, "working", NULL), SLASHD_OK);
  assert_int_equal(api()->interim(&f->call, 0, "more", NULL), SLASHD_ERR_LIMIT);
  assert_int_equal(f->call.interims, 3);
  assert_int_equal(api()->reply(&f->call, 0, "done", NULL), SLASHD_OK);
  assert_int_equal(api()->reply(&f->call, 0, "and this", NULL), SLASHD_OK);
  assert_int_equal(api()->reply(&f->call, 0, "no more", NULL), SLASHD_ERR_LIMIT);
  assert_int_equal(f->log.n, 5);
  assert_true(f->log.e[0].interim);
  assert_true(f->log.e[2].interim);
  assert_false(f->log.e[3].interim);
  assert_string_equal(f->log.e[3].text, "done");
}

static void test_interim_leaves_room_for_final(void **state) {
  fixture *f = *state;
  for (int i = 0; i < 3; i++)
    assert_int_equal(api()->reply(&f->call, 0, "part", NULL), SLASHD_OK);
  /* posts = 3: one interim still leaves the fifth post for the final. */
  assert_int_equal(api()->interim(&f->call, 0, "p", NULL), SLASHD_OK);
  assert_int_equal(api()->interim(&f->call, 0, "p", NULL), SLASHD_ERR_LIMIT);
  assert_int_equal(api()->reply(&f->call, 0, "final", NULL), SLASHD_OK);
  assert_int_equal(f->call.posts, 5);
  assert_int_equal(f->call.interims, 1);
}

static void test_interim_after_four_replies(void **state) {
  fixture *f = *state;
  for (int i = 0; i < 4; i++)
    assert_int_equal(api()->reply(&f->call, 0, "part", NULL), SLASHD_OK);
  assert_int_equal(api()->interim(&f->call, 0, "p", NULL), SLASHD_ERR_LIMIT);
  assert_int_equal(f->log.n, 4);
  assert_int_equal(api()->reply(&f->call, 0, "final", NULL), SLASHD_OK);
}

static void test_error_flag(void **state) {
  fixture *f = *state;
  assert_int_equal(api()->interim(&f->call, 0, "trying", NULL), SLASHD_OK);
  assert_false(f->call.error_reported);
  assert_int_equal(api()->reply(&f->call, SLASHD_REPLY_ERROR, "AccessDenied: no", NULL), SLASHD_OK);
  assert_true(f->call.error_reported);
  assert_int_equal(f->log.e[1].flags, SLASHD_REPLY_ERROR);
  /* A later success does not clear it. */
  assert_int_equal(api()->reply(&f->call, 0, "ok", NULL), SLASHD_OK);
  assert_true(f->call.error_reported);
}

static void test_empty_reply_refused(void **state) {
  fixture *f = *state;
  assert_int_equal(api()->reply(&f->call, 0, NULL, NULL), SLASHD_ERR_ARGS);
  assert_int_equal(api()->reply(&f->call, 0, "", NULL), SLASHD_ERR_ARGS);
  assert_int_equal(api()->reply(&f->call, 0, "", ""), SLASHD_ERR_ARGS);
  assert_int_equal(api()->interim(&f->call, 0, NULL, ""), SLASHD_ERR_ARGS);
  assert_int_equal(api()->reply(NULL, 0, "text", NULL), SLASHD_ERR_ARGS);
  /* Nothing left once trailing newlines are trimmed: nothing to post. */
  assert_int_equal(api()->reply(&f->call, 0, "\n\n", NULL), SLASHD_ERR_ARGS);
  assert_int_equal(api()->reply(&f->call, 0, NULL, "\r\n"), SLASHD_ERR_ARGS);
  assert_int_equal(f->log.n, 0);
  assert_int_equal(f->call.posts, 0);
  /* Code alone is a reply. */
  assert_int_equal(api()->reply(&f->call, 0, "", "x"), SLASHD_OK);
  assert_string_equal(f->log.e[0].text, "```\nx\n```");
}

static void test_text_formatted_and_flags_passed(void **state) {
  fixture *f = *state;
  assert_int_equal(api()->reply(&f->call, SLASHD_REPLY_IN_CHANNEL, "<!channel> a&b", "1\n2"),
                   SLASHD_OK);
  assert_string_equal(f->log.e[0].text, "&lt;!channel&gt; a&amp;b\n```\n1\n2\n```");
  assert_int_equal(f->log.e[0].flags, SLASHD_REPLY_IN_CHANNEL);
  assert_int_equal(api()->reply(&f->call, SLASHD_REPLY_MRKDWN, "*bold* <!here>", NULL), SLASHD_OK);
  assert_string_equal(f->log.e[1].text, "*bold* <!here>");
}

static void test_caller(void **state) {
  fixture *f = *state;
  const slashd_caller *c = api()->caller(&f->call);
  assert_ptr_equal(c, &f->call.caller);
  assert_string_equal(c->user_id, "U1");
  assert_string_equal(c->request_id, "req-1");
  assert_null(api()->caller(NULL));
}

static void test_status_text(void **state) {
  (void)state;
  assert_string_equal(status_text(SLASHD_OK), "ok");
  assert_string_equal(status_text(SLASHD_ERR_LIMIT), "host limit reached");
  assert_string_equal(status_text(SLASHD_ERR_DENIED), "permission denied");
  assert_string_equal(status_text((slashd_status)99), "unknown status");
}

/* ---- with a real registry --------------------------------------------- */

typedef struct with_reg {
  fixture f;
  config *cfg;
  registry *reg;
} with_reg;

static with_reg *reg_load(const char *extra_ini) {
  with_reg *w = xcalloc(1, sizeof *w);
  call_init(&w->f);
  char *ini = xasprintf("[plugin.good]\npath = %s\ngreeting = hello\n%s", FIX("good"), extra_ini);
  w->cfg = unit_load_config(ini);
  free(ini);
  assert_int_equal(w->cfg->n_errors, 0);
  w->reg = registry_load(w->cfg, hostapi_table(), NULL, NULL);
  assert_int_equal(w->reg->n, 1);
  w->f.call.reg = w->reg;
  w->f.call.plugin = registry_find(w->reg, "good");
  return w;
}

static void reg_free(with_reg *w) {
  for (size_t i = 0; i < w->f.log.n; i++)
    free(w->f.log.e[i].text);
  registry_unload(w->reg);
  config_free(w->cfg);
  free(w);
}

static void test_config_lookup(void **state) {
  (void)state;
  with_reg *w = reg_load("");
  slashd_host *h = &w->f.call.plugin->host;
  assert_string_equal(api()->config(h, "greeting"), "hello");
  assert_null(api()->config(h, "absent"));
  assert_null(api()->config(NULL, "greeting"));
  assert_null(api()->config(h, NULL));
  reg_free(w);
}

static void test_call_run_echo(void **state) {
  (void)state;
  with_reg *w = reg_load("");
  w->f.call.cmd = plugin_find_cmd(w->f.call.plugin, "echo");
  const char *const argv[] = {"a<b", "c", NULL};
  assert_int_equal(call_run(&w->f.call, 2, argv), SLASHD_OK);
  assert_int_equal(w->f.log.n, 1);
  assert_string_equal(w->f.log.e[0].text, "a&lt;b c");
  reg_free(w);
}

static void test_call_run_interim_until_refused(void **state) {
  (void)state;
  with_reg *w = reg_load("");
  w->f.call.cmd = plugin_find_cmd(w->f.call.plugin, "interim");
  assert_int_equal(call_run(&w->f.call, 0, (const char *const[]){NULL}), SLASHD_OK);
  assert_int_equal(w->f.log.n, 4);
  assert_string_equal(w->f.log.e[3].text, "done after 3 progress messages");
  reg_free(w);
}

typedef struct visit_rec {
  char names[16][32];
  int n;
  int stop_after;
} visit_rec;

static int visit(void *ud, const char *plugin, const char *summary, const slashd_command *cmd) {
  visit_rec *v = ud;
  assert_string_equal(plugin, "good");
  assert_string_equal(summary, "A test fixture");
  snprintf(v->names[v->n++], sizeof v->names[0], "%s", cmd->name);
  return v->stop_after && v->n >= v->stop_after;
}

static bool visited(const visit_rec *v, const char *name) {
  for (int i = 0; i < v->n; i++)
    if (strcmp(v->names[i], name) == 0)
      return true;
  return false;
}

static void test_commands_visitor_applies_access(void **state) {
  (void)state;
  /* No identity: the write command "change" is hidden from everyone. */
  with_reg *w = reg_load("");
  visit_rec v = {0};
  assert_int_equal(api()->commands(&w->f.call, visit, &v), 5);
  assert_true(visited(&v, "echo"));
  assert_false(visited(&v, "change"));
  reg_free(w);

  /* Mapped users see it; [access] hides "sleep" from everyone but U2. */
  w = reg_load("[identity]\nmode = map\n[identity.users]\n"
               "U1 = arn:aws:iam::1:role/a\n"
               "[access]\ngood.sleep = U2\n");
  memset(&v, 0, sizeof v);
  assert_int_equal(api()->commands(&w->f.call, visit, &v), 5);
  assert_true(visited(&v, "change"));
  assert_false(visited(&v, "sleep"));
  /* Stopping early. */
  memset(&v, 0, sizeof v);
  v.stop_after = 2;
  assert_int_equal(api()->commands(&w->f.call, visit, &v), 2);
  assert_int_equal(api()->commands(NULL, visit, &v), 0);
  assert_int_equal(api()->commands(&w->f.call, NULL, NULL), 0);
  reg_free(w);
}

/* help's usage column is the router's text: for every command, the host
 * API's usage line is what a usage error from the routing table built from
 * the same registry quotes. */
static void test_usage_is_the_routers(void **state) {
  (void)state;
  with_reg *w = reg_load("");
  json_t *manifest = registry_manifest(w->reg);
  char *err = NULL;
  route_table *t = route_table_from_json(manifest, &err);
  assert_non_null(t);
  const plugin_inst *p = w->f.call.plugin;
  for (size_t i = 0; i < p->n_cmds; i++) {
    const slashd_command *c = &p->desc->commands[i];
    char line[256];
    size_t n = api()->usage(&w->f.call, "good", c, line, sizeof line);
    assert_int_equal(n, strlen(line));
    assert_true(str_starts(line, "/aws good"));
    /* Too many words: the router answers with the usage line. */
    if (c->max_args < 0)
      continue;
    sbuf b = {0};
    sbuf_addf(&b, "good %s", c->name);
    for (int k = 0; k <= c->max_args; k++)
      sbuf_adds(&b, " x");
    int argc;
    char **argv;
    assert_true(route_tokenize(b.p, &argc, &argv, &err));
    route_match m;
    char *msg = NULL;
    assert_int_equal(route_resolve(t, "/aws", argc, argv, &m, &msg), ROUTE_USAGE);
    char *quoted = xasprintf("`%s`", line);
    if (!strstr(msg, quoted))
      fail_msg("usage error \"%s\" does not quote \"%s\"", msg, line);
    free(quoted);
    free(msg);
    route_argv_free(argc, argv);
    sbuf_free(&b);
  }
  /* Cut like snprintf, the length still the whole line's. */
  char tiny[8];
  size_t n = api()->usage(&w->f.call, "good", &p->desc->commands[0], tiny, sizeof tiny);
  assert_int_equal(strlen(tiny), sizeof tiny - 1);
  assert_true(n > sizeof tiny);
  assert_int_equal(api()->usage(NULL, "good", &p->desc->commands[0], tiny, sizeof tiny), 0);
  assert_string_equal(tiny, "");
  route_table_unref(t);
  json_decref(manifest);
  reg_free(w);
}

#define CALL_TEST(t) cmocka_unit_test_setup_teardown(t, call_setup, call_teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table_header),
      CALL_TEST(test_five_replies),
      CALL_TEST(test_three_interims_then_final),
      CALL_TEST(test_interim_leaves_room_for_final),
      CALL_TEST(test_interim_after_four_replies),
      CALL_TEST(test_error_flag),
      CALL_TEST(test_empty_reply_refused),
      CALL_TEST(test_text_formatted_and_flags_passed),
      CALL_TEST(test_caller),
      cmocka_unit_test(test_status_text),
      cmocka_unit_test(test_config_lookup),
      cmocka_unit_test(test_call_run_echo),
      cmocka_unit_test(test_call_run_interim_until_refused),
      cmocka_unit_test(test_usage_is_the_routers),
      cmocka_unit_test(test_commands_visitor_applies_access),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
