/* registry.c through the real loader: the fixture plugins of
 * tests/plugins/fixtures.c, dlopen'ed from SLASHD_FIXTURE_DIR. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "worker/hostapi.h"
#include "worker/registry.h"
#include "base/route.h"
#include "unit_util.h"

#define FIX(name) SLASHD_FIXTURE_DIR "/" name ".so"

/* ---- what the loader reports ------------------------------------------ */

typedef struct diag_rec {
  char *plugin;
  int line;
  bool error;
  char *msg;
} diag_rec;

typedef struct diags {
  diag_rec r[16];
  size_t n;
} diags;

static void collect(void *ud, const char *plugin, int line, bool error, const char *msg) {
  diags *d = ud;
  assert_true(d->n < ARRAY_LEN(d->r));
  d->r[d->n++] = (diag_rec){
      .plugin = xstrdup(plugin), .line = line, .error = error, .msg = xstrdup(msg ? msg : "")};
}

static void diags_free(diags *d) {
  for (size_t i = 0; i < d->n; i++) {
    free(d->r[i].plugin);
    free(d->r[i].msg);
  }
  d->n = 0;
}

static const diag_rec *diag_for(const diags *d, const char *plugin) {
  for (size_t i = 0; i < d->n; i++)
    if (strcmp(d->r[i].plugin, plugin) == 0)
      return &d->r[i];
  return NULL;
}

static void dump(const diags *d) {
  for (size_t i = 0; i < d->n; i++)
    print_message("  [plugin.%s] line %d: %s\n", d->r[i].plugin, d->r[i].line, d->r[i].msg);
}

/* The refusal of `plugin`, checked to exist, be an error and contain every
 * needle. */
static void expect_refused(const diags *d, const char *plugin, int line, const char *needle1,
                           const char *needle2) {
  const diag_rec *r = diag_for(d, plugin);
  if (!r) {
    dump(d);
    fail_msg("no diagnostic for %s", plugin);
  }
  assert_true(r->error);
  assert_int_equal(r->line, line);
  if (!strstr(r->msg, needle1) || (needle2 && !strstr(r->msg, needle2)))
    fail_msg("[plugin.%s]: \"%s\" lacks \"%s\"/\"%s\"", plugin, r->msg, needle1,
             needle2 ? needle2 : "");
}

typedef struct loaded {
  config *cfg;
  registry *reg;
  diags d;
} loaded;

static loaded load(const char *ini) {
  loaded l = {.cfg = unit_load_config(ini)};
  if (l.cfg->n_errors)
    fail_msg("the test's ini has errors");
  l.reg = registry_load(l.cfg, hostapi_table(), collect, &l.d);
  assert_non_null(l.reg);
  return l;
}

static void unload(loaded *l) {
  registry_unload(l->reg);
  config_free(l->cfg);
  diags_free(&l->d);
}

/* ---- files ------------------------------------------------------------ */

static void copy_file(const char *from, const char *to, mode_t mode) {
  size_t len = 0;
  char *data = read_file(from, 64u << 20, &len);
  assert_non_null(data);
  FILE *f = fopen(to, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(chmod(to, mode), 0);
  free(data);
}

static char *temp_dir(mode_t mode) {
  char *dir = xstrdup("/tmp/slashd-registry-XXXXXX");
  assert_non_null(mkdtemp(dir));
  assert_int_equal(chmod(dir, mode), 0);
  return dir;
}

static void remove_dir(char *dir, const char *const *files, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char *p = xasprintf("%s/%s", dir, files[i]);
    unlink(p);
    free(p);
  }
  assert_int_equal(rmdir(dir), 0);
  free(dir);
}

/* ---- tests ------------------------------------------------------------ */

static void test_good_loads(void **state) {
  (void)state;
  loaded l = load("[plugin.good]\npath = " FIX("good") "\ngreeting = hi\n");
  if (l.d.n)
    dump(&l.d);
  assert_int_equal(l.d.n, 0);
  assert_int_equal(l.reg->n, 1);
  plugin_inst *p = registry_find(l.reg, "good");
  assert_non_null(p);
  assert_string_equal(p->host.name, "good");
  assert_string_equal(p->path, FIX("good"));
  assert_int_equal(p->n_cmds, 6);
  assert_string_equal(config_get(p->host.section, "greeting"), "hi");
  assert_non_null(plugin_find_cmd(p, "echo"));
  assert_null(plugin_find_cmd(p, "nope"));
  assert_null(registry_find(l.reg, "nope"));
  unload(&l);
}

static const json_t *find_named(const json_t *arr, const char *name) {
  size_t i;
  const json_t *v;
  json_array_foreach(arr, i, v) {
    if (str_eq(json_string_value(json_object_get(v, "name")), name))
      return v;
  }
  return NULL;
}

static void test_manifest(void **state) {
  (void)state;
  loaded l = load("[plugin.good]\npath = " FIX("good") "\n");
  json_t *m = registry_manifest(l.reg);
  const json_t *plugins = json_object_get(m, "plugins");
  assert_int_equal(json_array_size(plugins), 1);
  const json_t *good = json_array_get(plugins, 0);
  assert_string_equal(json_string_value(json_object_get(good, "name")), "good");
  assert_string_equal(json_string_value(json_object_get(good, "version")), "0.0.1");
  assert_string_equal(json_string_value(json_object_get(good, "summary")), "A test fixture");
  const json_t *cmds = json_object_get(good, "commands");
  assert_int_equal(json_array_size(cmds), 6);
  const json_t *echo = find_named(cmds, "echo");
  assert_non_null(echo);
  assert_true(json_is_true(json_object_get(echo, "default")));
  assert_int_equal(json_integer_value(json_object_get(echo, "max")), SLASHD_ARGS_ANY);
  assert_string_equal(json_string_value(json_object_get(echo, "access")), "read");
  assert_string_equal(json_string_value(json_object_get(echo, "usage")), "<words…>");
  const json_t *change = find_named(cmds, "change");
  assert_string_equal(json_string_value(json_object_get(change, "access")), "write");
  assert_int_equal(json_integer_value(json_object_get(change, "min")), 1);
  assert_int_equal(json_integer_value(json_object_get(change, "max")), 1);
  assert_true(json_is_false(json_object_get(change, "default")));
  for (const char *const *n = (const char *const[]){"interim", "whoami", "fail", "sleep", NULL}; *n;
       n++)
    assert_non_null(find_named(cmds, *n));

  /* The manifest is what another process routes with. */
  char *err = NULL;
  route_table *t = route_table_from_json(m, &err);
  assert_non_null(t);
  int argc;
  char **argv;
  assert_true(route_tokenize("good change", &argc, &argv, &err));
  route_match rm;
  char *msg = NULL;
  assert_int_equal(route_resolve(t, "/aws", argc, argv, &rm, &msg), ROUTE_USAGE);
  assert_string_equal(msg, "Usage: `/aws good change <thing>` — A write command");
  free(msg);
  route_argv_free(argc, argv);
  route_table_unref(t);
  json_decref(m);
  unload(&l);
}

static void test_noentry(void **state) {
  (void)state;
  loaded l = load("\n[plugin.noentry]\npath = " FIX("noentry") "\n");
  assert_int_equal(l.reg->n, 0);
  expect_refused(&l.d, "noentry", 2, SLASHD_ENTRY_SYMBOL, FIX("noentry"));
  unload(&l);
}

static void test_wrong_major(void **state) {
  (void)state;
  loaded l = load("[plugin.wrongmajor]\npath = " FIX("wrongmajor") "\n");
  assert_int_equal(l.reg->n, 0);
  char host[16];
  snprintf(host, sizeof host, "%d.%d", SLASHD_ABI_MAJOR, SLASHD_ABI_MINOR);
  expect_refused(&l.d, "wrongmajor", 1, "2.0", host);
  unload(&l);
}

static void test_newer_minor(void **state) {
  (void)state;
  loaded l = load("[plugin.newerminor]\npath = " FIX("newerminor") "\n");
  assert_int_equal(l.reg->n, 0);
  char plugin[16], host[16];
  snprintf(plugin, sizeof plugin, "%d.%d", SLASHD_ABI_MAJOR, SLASHD_ABI_MINOR + 1);
  snprintf(host, sizeof host, "%d.%d", SLASHD_ABI_MAJOR, SLASHD_ABI_MINOR);
  expect_refused(&l.d, "newerminor", 1, plugin, host);
  assert_non_null(strstr(diag_for(&l.d, "newerminor")->msg, "newer"));
  unload(&l);
}

static void test_old_minor_loads(void **state) {
  (void)state;
  loaded l = load("[plugin.oldminor]\npath = " FIX("oldminor") "\n");
  assert_int_equal(l.d.n, 0);
  assert_int_equal(l.reg->n, 1);
  plugin_inst *p = registry_find(l.reg, "oldminor");
  assert_non_null(p);
  assert_int_equal(p->desc->abi_major, 1);
  assert_int_equal(p->desc->abi_minor, 0);
  unload(&l);
}

static void test_initfail_skipped_rest_load(void **state) {
  (void)state;
  loaded l = load("[plugin.good]\npath = " FIX(
      "good") "\n"
              "[plugin.initfail]\npath = " FIX("initfail") "\n"
                                                           "[plugin.oldminor]\npath = " FIX(
                                                               "oldminor") "\n");
  assert_int_equal(l.reg->n, 2);
  assert_string_equal(l.reg->p[0]->host.name, "good");
  assert_string_equal(l.reg->p[1]->host.name, "oldminor");
  assert_null(registry_find(l.reg, "initfail"));
  assert_int_equal(l.d.n, 1);
  expect_refused(&l.d, "initfail", 3, "init failed", "skipped");
  unload(&l);
}

static void test_duplicate_name(void **state) {
  (void)state;
  /* dupname.so says it is "good" too. */
  loaded l =
      load("[plugin.good]\npath = " FIX("good") "\n"
                                                "[plugin.dupname]\npath = " FIX("dupname") "\n");
  assert_int_equal(l.reg->n, 1);
  assert_string_equal(registry_find(l.reg, "good")->path, FIX("good"));
  expect_refused(&l.d, "dupname", 3, "a plugin named \"good\" is already loaded", NULL);
  unload(&l);
}

static void test_same_file_twice(void **state) {
  (void)state;
  /* Two spellings of one file: the second is refused, and does not
   * confuse the loader about the plugin after it. */
  loaded l =
      load("[plugin.good]\npath = " FIX("good") "\n"
                                                "[plugin.other]\npath = " SLASHD_FIXTURE_DIR
                                                "//good.so\n"
                                                "[plugin.oldminor]\npath = " FIX("oldminor") "\n");
  assert_int_equal(l.reg->n, 2);
  assert_non_null(registry_find(l.reg, "good"));
  assert_non_null(registry_find(l.reg, "oldminor"));
  assert_int_equal(l.d.n, 1);
  expect_refused(&l.d, "other", 3, "same file as [plugin.good]", NULL);
  unload(&l);
}

static void test_section_name_mismatch(void **state) {
  (void)state;
  loaded l = load("[plugin.other]\npath = " FIX("good") "\n");
  assert_int_equal(l.reg->n, 0);
  expect_refused(&l.d, "other", 1, "is the plugin \"good\"", "[plugin.other]");
  unload(&l);
}

static void test_disabled_not_loaded(void **state) {
  (void)state;
  loaded l = load("[plugin.good]\npath = " FIX("good") "\nenabled = false\n");
  assert_int_equal(l.reg->n, 0);
  assert_int_equal(l.d.n, 0);
  unload(&l);
}

static void test_missing_and_not_regular(void **state) {
  (void)state;
  loaded l = load("[plugin.gone]\npath = " SLASHD_FIXTURE_DIR "/gone.so\n"
                  "[plugin.dir]\npath = " SLASHD_FIXTURE_DIR "\n");
  assert_int_equal(l.reg->n, 0);
  expect_refused(&l.d, "gone", 1, "gone.so", "No such file");
  expect_refused(&l.d, "dir", 3, "is not a regular file", NULL);
  unload(&l);
}

static void test_group_writable_refused(void **state) {
  (void)state;
  char *dir = temp_dir(0755);
  char *so = xasprintf("%s/good.so", dir);
  copy_file(FIX("good"), so, 0664);
  char *ini = xasprintf("[plugin.good]\npath = %s\n", so);
  loaded l = load(ini);
  assert_int_equal(l.reg->n, 0);
  expect_refused(&l.d, "good", 1, "writable by group or others", "chmod go-w");
  unload(&l);
  /* The same copy, fixed, loads: the mode was the only problem. */
  assert_int_equal(chmod(so, 0644), 0);
  l = load(ini);
  assert_int_equal(l.reg->n, 1);
  assert_int_equal(l.d.n, 0);
  unload(&l);
  assert_int_equal(chmod(so, 0646), 0); /* world-writable too */
  char *why = NULL;
  assert_false(registry_file_ok(so, &why));
  assert_non_null(strstr(why, "mode 646"));
  free(why);
  free(ini);
  free(so);
  remove_dir(dir, (const char *const[]){"good.so"}, 1);
}

static void test_symlink_refused(void **state) {
  (void)state;
  char *dir = temp_dir(0755);
  char *link = xasprintf("%s/good.so", dir);
  assert_int_equal(symlink(FIX("good"), link), 0);
  char *ini = xasprintf("[plugin.good]\npath = %s\n", link);
  loaded l = load(ini);
  assert_int_equal(l.reg->n, 0);
  expect_refused(&l.d, "good", 1, "symbolic link", NULL);
  unload(&l);
  free(ini);
  free(link);
  remove_dir(dir, (const char *const[]){"good.so"}, 1);
}

static void test_world_writable_dir_refused(void **state) {
  (void)state;
  char *dir = temp_dir(0777);
  char *so = xasprintf("%s/good.so", dir);
  copy_file(FIX("good"), so, 0755);
  char *ini = xasprintf("[plugin.good]\npath = %s\n", so);
  loaded l = load(ini);
  assert_int_equal(l.reg->n, 0);
  expect_refused(&l.d, "good", 1, "which anyone can write to", dir);
  unload(&l);
  /* A sticky world-writable directory (like /tmp) is allowed. */
  assert_int_equal(chmod(dir, 01777), 0);
  l = load(ini);
  assert_int_equal(l.reg->n, 1);
  unload(&l);
  free(ini);
  free(so);
  remove_dir(dir, (const char *const[]){"good.so"}, 1);
}

static char *read_trace(const char *path) {
  char *s = read_file(path, 4096, NULL);
  assert_non_null(s);
  return s;
}

static void test_init_and_destroy_order(void **state) {
  (void)state;
  char *trace = unit_write_temp("");
  char *ini = xasprintf("[plugin.tracea]\npath = %s\ntrace = %s\n"
                        "[plugin.good]\npath = %s\n"
                        "[plugin.traceb]\npath = %s\ntrace = %s\n",
                        FIX("tracea"), trace, FIX("good"), FIX("traceb"), trace);
  loaded l = load(ini);
  for (size_t i = 0; i < l.d.n; i++)
    print_message("diag: %s\n", l.d.r[i].msg);
  assert_int_equal(l.reg->n, 3);
  char *got = read_trace(trace);
  assert_string_equal(got, "init tracea\ninit traceb\n");
  free(got);
  unload(&l);
  got = read_trace(trace);
  assert_string_equal(got, "init tracea\ninit traceb\ndestroy traceb\ndestroy tracea\n");
  free(got);
  free(ini);

  /* Load order is config order: swapped sections, swapped calls. */
  assert_int_equal(truncate(trace, 0), 0);
  ini = xasprintf("[plugin.traceb]\npath = %s\ntrace = %s\n"
                  "[plugin.tracea]\npath = %s\ntrace = %s\n",
                  FIX("traceb"), trace, FIX("tracea"), trace);
  l = load(ini);
  unload(&l);
  got = read_trace(trace);
  assert_string_equal(got, "init traceb\ninit tracea\ndestroy tracea\ndestroy traceb\n");
  free(got);
  free(ini);
  unlink(trace);
  free(trace);
}

static void test_unload_null(void **state) {
  (void)state;
  registry_unload(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_good_loads),
      cmocka_unit_test(test_manifest),
      cmocka_unit_test(test_noentry),
      cmocka_unit_test(test_wrong_major),
      cmocka_unit_test(test_newer_minor),
      cmocka_unit_test(test_old_minor_loads),
      cmocka_unit_test(test_initfail_skipped_rest_load),
      cmocka_unit_test(test_duplicate_name),
      cmocka_unit_test(test_same_file_twice),
      cmocka_unit_test(test_section_name_mismatch),
      cmocka_unit_test(test_disabled_not_loaded),
      cmocka_unit_test(test_missing_and_not_regular),
      cmocka_unit_test(test_group_writable_refused),
      cmocka_unit_test(test_symlink_refused),
      cmocka_unit_test(test_world_writable_dir_refused),
      cmocka_unit_test(test_init_and_destroy_order),
      cmocka_unit_test(test_unload_null),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
