/* ABI stability of the plugin SDK within major version 1:
 *
 * - at compile time, every member of the 1.0 layout sits where it was
 *   recorded (LP64), the 1.1 members follow it, and the enum values stay;
 * - at run time, the current header agrees with the frozen 1.0 header
 *   (tests/plugins/sdk-1.0, measured in abi10_layout.c) member by member;
 * - SLASHD_HAS finds the 1.1 services on this host and not in a table that
 *   ends where a 1.0 host's did (a real allocation of that size, so the
 *   sanitizer build catches any read past it);
 * - a plugin built against the 1.0 SDK loads and runs; a plugin that claims
 *   minor 0 and probes loads on a 1.0 table and does without; the shipped
 *   ec2 plugin, which needs `aws`, refuses a 1.0 table cleanly while help
 *   loads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "abi10_layout.h"
#include "worker/hostapi.h"
#include "worker/registry.h"
#include "unit_util.h"

#define FIX(name) SLASHD_FIXTURE_DIR "/" name ".so"
#define PLUGIN(name) SLASHD_TEST_PLUGIN_DIR "/" name ".so"

/* ---- compile time: the recorded layout --------------------------------- */

#define AT(type, field, off)                                                                       \
  _Static_assert(offsetof(type, field) == (off), #type "." #field " moved")

#if UINTPTR_MAX == 0xffffffffffffffffu && SIZE_MAX == 0xffffffffffffffffu
/* Recorded from the 1.0, 1.1 and 1.2 headers on x86_64/aarch64 Linux. A failure
 * here means a change broke every plugin already built: append instead. */
AT(slashd_host_api, size, 0);
AT(slashd_host_api, abi_major, 8);
AT(slashd_host_api, abi_minor, 10);
AT(slashd_host_api, reply, 16);
AT(slashd_host_api, interim, 24);
AT(slashd_host_api, caller, 32);
AT(slashd_host_api, config, 40);
AT(slashd_host_api, log, 48);
AT(slashd_host_api, commands, 56);
AT(slashd_host_api, aws, 64);          /* 1.1 */
AT(slashd_host_api, time_left_ms, 72); /* 1.1 */
AT(slashd_host_api, usage, 80);        /* 1.2 */
_Static_assert(sizeof(slashd_host_api) >= 88, "the host API table shrank");

AT(slashd_plugin, abi_major, 0);
AT(slashd_plugin, abi_minor, 2);
AT(slashd_plugin, size, 4);
AT(slashd_plugin, name, 8);
AT(slashd_plugin, version, 16);
AT(slashd_plugin, summary, 24);
AT(slashd_plugin, init, 32);
AT(slashd_plugin, destroy, 40);
AT(slashd_plugin, commands, 48);
_Static_assert(sizeof(slashd_plugin) >= 56, "the descriptor shrank");

/* Read as an array by stride: not even appending is allowed. */
AT(slashd_command, name, 0);
AT(slashd_command, usage, 8);
AT(slashd_command, summary, 16);
AT(slashd_command, min_args, 24);
AT(slashd_command, max_args, 28);
AT(slashd_command, access, 32);
AT(slashd_command, handler, 40);
AT(slashd_command, flags, 48);
_Static_assert(sizeof(slashd_command) == 56, "slashd_command changed size");

AT(slashd_caller, size, 0);
AT(slashd_caller, request_id, 8);
AT(slashd_caller, team_id, 16);
AT(slashd_caller, user_id, 24);
AT(slashd_caller, user_name, 32);
AT(slashd_caller, channel_id, 40);
AT(slashd_caller, channel_name, 48);
AT(slashd_caller, command, 56);
AT(slashd_caller, text, 64);
_Static_assert(sizeof(slashd_caller) >= 72, "slashd_caller shrank");
#endif

/* On every platform: the header fields come first, 1.1 after 1.0. */
_Static_assert(offsetof(slashd_host_api, size) == 0, "the table must start with its size");
_Static_assert(offsetof(slashd_plugin, abi_major) == 0, "the descriptor must start with its ABI");
_Static_assert(offsetof(slashd_host_api, aws) > offsetof(slashd_host_api, commands),
               "1.1 members go after the 1.0 ones");
_Static_assert(offsetof(slashd_host_api, time_left_ms) > offsetof(slashd_host_api, aws),
               "members are only appended");
_Static_assert(offsetof(slashd_host_api, usage) > offsetof(slashd_host_api, time_left_ms),
               "1.2 members go after the 1.1 ones");

/* Values plugins compiled in. */
_Static_assert(SLASHD_ABI_MAJOR == 1, "a new major version needs a new frozen SDK and tests");
_Static_assert(SLASHD_OK == 0 && SLASHD_ERR_ARGS == 1 && SLASHD_ERR_NOMEM == 2 &&
                   SLASHD_ERR_DENIED == 3 && SLASHD_ERR_NOT_FOUND == 4 && SLASHD_ERR_AWS == 5 &&
                   SLASHD_ERR_LIMIT == 6 && SLASHD_ERR_UNSUPPORTED == 7 && SLASHD_ERR_INTERNAL == 8,
               "status values");
_Static_assert(SLASHD_READ == 0 && SLASHD_WRITE == 1, "access values");
_Static_assert(SLASHD_LOG_DEBUG == 0 && SLASHD_LOG_INFO == 1 && SLASHD_LOG_WARN == 2 &&
                   SLASHD_LOG_ERROR == 3,
               "log levels");
_Static_assert(SLASHD_CMD_DEFAULT == 1u && SLASHD_REPLY_MRKDWN == 1u && SLASHD_REPLY_ERROR == 2u &&
                   SLASHD_REPLY_IN_CHANNEL == 4u && SLASHD_ARGS_ANY == -1,
               "flags");
_Static_assert(sizeof(slashd_access) == sizeof(int) && sizeof(slashd_status) == sizeof(int),
               "enum sizes");

/* ---- run time: against the frozen 1.0 header ----------------------------- */

#define X(type, field) {#type "." #field, offsetof(type, field), sizeof(((type *)0)->field)},

static const abi_member current[] = {
#include "abi10_members.def"
};

static void test_layout_matches_frozen_10(void **state) {
  (void)state;
  assert_int_equal(abi10_n_members, ARRAY_LEN(current));
  for (size_t i = 0; i < abi10_n_members; i++) {
    const abi_member *old = &abi10_members[i], *now = &current[i];
    assert_string_equal(old->name, now->name);
    if (old->offset != now->offset || old->size != now->size)
      fail_msg("%s: 1.0 had offset %zu size %zu, now %zu/%zu", old->name, old->offset, old->size,
               now->offset, now->size);
  }
  /* Tables with a size only grow; the command table never changes. */
  assert_true(sizeof(slashd_host_api) >= abi10_sizes.host_api);
  assert_true(sizeof(slashd_plugin) >= abi10_sizes.plugin);
  assert_true(sizeof(slashd_caller) >= abi10_sizes.caller);
  assert_int_equal(sizeof(slashd_command), abi10_sizes.command);
  /* 1.0's table ended where 1.1's first member starts. */
  assert_int_equal(abi10_sizes.host_api, offsetof(slashd_host_api, aws));
}

/* ---- SLASHD_HAS --------------------------------------------------------- */

/* These tests read tables shorter than this SDK's struct on purpose, as a
 * plugin does on an older host; GCC sees the short allocations and warns. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"

/* The table a host of ABI 1.0 hands out: exactly as long as it was, in an
 * allocation of that length. */
static slashd_host_api *older_table(size_t size, uint16_t minor) {
  slashd_host_api *t = malloc(size);
  assert_non_null(t);
  memcpy(t, hostapi_table(), size);
  t->size = size;
  t->abi_minor = minor;
  return t;
}

static void test_has_on_this_host(void **state) {
  (void)state;
  const slashd_host_api *api = hostapi_table();
  assert_true(SLASHD_HAS(api, reply));
  assert_true(SLASHD_HAS(api, commands));
  assert_true(SLASHD_HAS(api, aws));
  assert_true(SLASHD_HAS(api, time_left_ms));
  assert_true(SLASHD_HAS(api, usage));
  assert_false(SLASHD_HAS((const slashd_host_api *)NULL, reply));
}

static void test_has_on_older_tables(void **state) {
  (void)state;
  slashd_host_api *v10 = older_table(abi10_sizes.host_api, 0);
  assert_true(SLASHD_HAS(v10, log));
  assert_true(SLASHD_HAS(v10, commands));
  assert_false(SLASHD_HAS(v10, aws));
  assert_false(SLASHD_HAS(v10, time_left_ms));
  free(v10);
  /* A table that ends in the middle of the 1.1 additions. */
  slashd_host_api *mid = older_table(offsetof(slashd_host_api, time_left_ms), 1);
  assert_true(SLASHD_HAS(mid, aws));
  assert_false(SLASHD_HAS(mid, time_left_ms));
  free(mid);
  /* A 1.1 host: everything up to time_left_ms, no usage. */
  slashd_host_api *v11 = older_table(offsetof(slashd_host_api, usage), 1);
  assert_true(SLASHD_HAS(v11, time_left_ms));
  assert_false(SLASHD_HAS(v11, usage));
  free(v11);
  /* A member that is present but not set is not offered either. */
  slashd_host_api full = *hostapi_table();
  full.aws = NULL;
  assert_false(SLASHD_HAS(&full, aws));
  assert_true(SLASHD_HAS(&full, time_left_ms));
}

#pragma GCC diagnostic pop

/* ---- plugins through the real loader ------------------------------------ */

typedef struct replies {
  char *text[8];
  bool interim[8];
  size_t n;
} replies;

static void collect(void *ud, unsigned flags, bool interim, const char *text) {
  (void)flags;
  replies *r = ud;
  assert_true(r->n < ARRAY_LEN(r->text));
  r->interim[r->n] = interim;
  r->text[r->n++] = xstrdup(text);
}

static void replies_free(replies *r) {
  for (size_t i = 0; i < r->n; i++)
    free(r->text[i]);
  r->n = 0;
}

typedef struct host {
  config *cfg;
  registry *reg;
  char diags[1024];
} host;

static void on_diag(void *ud, const char *plugin, int line, bool error, const char *msg) {
  (void)line;
  (void)error;
  host *h = ud;
  size_t n = strlen(h->diags);
  snprintf(h->diags + n, sizeof h->diags - n, "[%s] %s\n", plugin, msg);
}

static host *host_load(const char *ini, const slashd_host_api *api) {
  host *h = xcalloc(1, sizeof *h);
  h->cfg = unit_load_config(ini);
  assert_int_equal(h->cfg->n_errors, 0);
  h->reg = registry_load(h->cfg, api, on_diag, h);
  return h;
}

static void host_free(host *h) {
  registry_unload(h->reg);
  config_free(h->cfg);
  free(h);
}

/* Runs `plugin cmd args…` the way a worker does; returns the status. */
static slashd_status run(host *h, replies *out, const char *plugin, const char *cmd, int argc,
                         const char *const *argv) {
  slashd_call call = {
      .caller = {.size = sizeof(slashd_caller),
                 .request_id = "req-abi",
                 .team_id = "T1",
                 .user_id = "U1",
                 .user_name = "alice",
                 .channel_id = "C1",
                 .channel_name = "ops",
                 .command = "/aws",
                 .text = "typed text"},
      .reg = h->reg,
      .sink = {.emit = collect, .ud = out},
      .deadline_ms = mono_ms() + 60000,
  };
  call.plugin = registry_find(h->reg, plugin);
  assert_non_null(call.plugin);
  call.cmd = plugin_find_cmd(call.plugin, cmd);
  assert_non_null(call.cmd);
  return call_run(&call, argc, argv);
}

static void test_plugin_built_for_10_runs(void **state) {
  (void)state;
  host *h =
      host_load("[plugin.legacy]\npath = " FIX("legacy") "\ngreeting = hi\n", hostapi_table());
  assert_string_equal(h->diags, "");
  plugin_inst *p = registry_find(h->reg, "legacy");
  assert_non_null(p);
  assert_int_equal(p->desc->abi_minor, 0);
  assert_int_equal(p->desc->size, abi10_sizes.plugin);
  replies r = {0};
  assert_int_equal(run(h, &r, "legacy", "echo", 2, (const char *const[]){"a", "b", NULL}),
                   SLASHD_OK);
  assert_string_equal(r.text[0], "hi: a b");
  replies_free(&r);
  assert_int_equal(run(h, &r, "legacy", "who", 0, (const char *const[]){NULL}), SLASHD_OK);
  assert_string_equal(r.text[0], "user=U1 name=alice channel=C1 command=/aws text=typed text");
  replies_free(&r);
  assert_int_equal(run(h, &r, "legacy", "table", 0, (const char *const[]){NULL}), SLASHD_OK);
  char want[128];
  snprintf(want, sizeof want, "host ABI %d.%d, table of %zu bytes, this SDK knows %zu",
           SLASHD_ABI_MAJOR, SLASHD_ABI_MINOR, sizeof(slashd_host_api), abi10_sizes.host_api);
  assert_string_equal(r.text[0], want);
  replies_free(&r);
  assert_int_equal(run(h, &r, "legacy", "progress", 0, (const char *const[]){NULL}), SLASHD_OK);
  assert_int_equal(r.n, 3);
  assert_true(r.interim[0] && r.interim[1] && !r.interim[2]);
  replies_free(&r);
  host_free(h);
}

static void test_probing_plugin_on_10_and_11_hosts(void **state) {
  (void)state;
  slashd_host_api *v10 = older_table(abi10_sizes.host_api, 0);
  host *h = host_load("[plugin.probe]\npath = " FIX("probe") "\n", v10);
  assert_string_equal(h->diags, "");
  replies r = {0};
  assert_int_equal(run(h, &r, "probe", "services", 0, (const char *const[]){NULL}), SLASHD_OK);
  assert_string_equal(r.text[0], "reply=1 commands=1 aws=0 time_left_ms=0");
  replies_free(&r);
  assert_int_equal(run(h, &r, "probe", "deadline", 0, (const char *const[]){NULL}), SLASHD_OK);
  assert_string_equal(r.text[0], "this host does not say how long a job may run");
  replies_free(&r);
  host_free(h);
  free(v10);

  h = host_load("[plugin.probe]\npath = " FIX("probe") "\n", hostapi_table());
  assert_int_equal(run(h, &r, "probe", "services", 0, (const char *const[]){NULL}), SLASHD_OK);
  assert_string_equal(r.text[0], "reply=1 commands=1 aws=1 time_left_ms=1");
  replies_free(&r);
  assert_int_equal(run(h, &r, "probe", "deadline", 0, (const char *const[]){NULL}), SLASHD_OK);
  assert_non_null(strstr(r.text[0], " ms left"));
  replies_free(&r);
  host_free(h);
}

static void test_shipped_plugins_on_a_10_table(void **state) {
  (void)state;
  slashd_host_api *v10 = older_table(abi10_sizes.host_api, 0);
  host *h =
      host_load("[plugin.help]\npath = " PLUGIN("help") "\n"
                                                        "[plugin.ec2]\npath = " PLUGIN("ec2") "\n",
                v10);
  /* ec2 needs aws: it says so and is skipped; help needs only 1.0. */
  assert_non_null(registry_find(h->reg, "help"));
  assert_null(registry_find(h->reg, "ec2"));
  if (!strstr(h->diags, "[ec2] init failed (status 7)"))
    fail_msg("diagnostics: %s", h->diags);
  host_free(h);
  free(v10);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_layout_matches_frozen_10),
      cmocka_unit_test(test_has_on_this_host),
      cmocka_unit_test(test_has_on_older_tables),
      cmocka_unit_test(test_plugin_built_for_10_runs),
      cmocka_unit_test(test_probing_plugin_on_10_and_11_hosts),
      cmocka_unit_test(test_shipped_plugins_on_a_10_table),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
