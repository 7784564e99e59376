/* route.c: the tokenizer and command routing against a manifest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/route.h"
#include "slashd/plugin.h"

/* ---- tokenizer -------------------------------------------------------- */

typedef struct words {
  int argc;
  char **argv;
} words;

static words tok_ok(const char *text) {
  words w = {0};
  char *err = NULL;
  assert_true(route_tokenize(text, &w.argc, &w.argv, &err));
  assert_null(err);
  assert_non_null(w.argv);
  assert_null(w.argv[w.argc]); /* NULL-terminated like a real argv */
  return w;
}

static void tok_free(words *w) {
  route_argv_free(w->argc, w->argv);
}

static void test_tok_spaces_tabs(void **state) {
  (void)state;
  words w = tok_ok("  ec2 \t stop\ti-0abc  \n");
  assert_int_equal(w.argc, 3);
  assert_string_equal(w.argv[0], "ec2");
  assert_string_equal(w.argv[1], "stop");
  assert_string_equal(w.argv[2], "i-0abc");
  tok_free(&w);
}

static void test_tok_quotes(void **state) {
  (void)state;
  /* Quotes group only where they open and close a word (issue 11): inside
   * a word they are letters. */
  words w = tok_ok("tag \"Name tag\" 'two words' a\"b c\"d \"\"");
  assert_int_equal(w.argc, 6);
  assert_string_equal(w.argv[0], "tag");
  assert_string_equal(w.argv[1], "Name tag");
  assert_string_equal(w.argv[2], "two words");
  assert_string_equal(w.argv[3], "a\"b");
  assert_string_equal(w.argv[4], "c\"d");
  assert_string_equal(w.argv[5], ""); /* an empty quoted word is a word */
  tok_free(&w);
  /* Quotes of the other kind inside a quoted part are literal. */
  w = tok_ok("say \"it's\" 'a \"b\"'");
  assert_int_equal(w.argc, 3);
  assert_string_equal(w.argv[1], "it's");
  assert_string_equal(w.argv[2], "a \"b\"");
  tok_free(&w);
}

static void test_tok_curly_quotes(void **state) {
  (void)state;
  /* Slack clients turn "..." into “...” */
  words w = tok_ok("s3 ls \xe2\x80\x9cmy bucket\xe2\x80\x9d x");
  assert_int_equal(w.argc, 4);
  assert_string_equal(w.argv[2], "my bucket");
  assert_string_equal(w.argv[3], "x");
  tok_free(&w);
  /* iOS turns '...' into ‘...’ */
  w = tok_ok("echo \xe2\x80\x98two words\xe2\x80\x99");
  assert_int_equal(w.argc, 2);
  assert_string_equal(w.argv[1], "two words");
  tok_free(&w);
  /* A straight quote does not close a curly one. */

  char *err = NULL;
  int argc = -1;
  char **argv = NULL;
  assert_false(route_tokenize("a \xe2\x80\x9c"
                              "b c\"",
                              &argc, &argv, &err));
  assert_string_equal(err, "unterminated quote");
  free(err);
}

/* Real sentences: an apostrophe inside a word is a letter, straight or
 * curly (issue 11). */
static void test_tok_apostrophes(void **state) {
  (void)state;
  words w = tok_ok("chaos echo don't");
  assert_int_equal(w.argc, 3);
  assert_string_equal(w.argv[2], "don't");
  tok_free(&w);
  w = tok_ok("echo it's a dog's life");
  assert_int_equal(w.argc, 5);
  assert_string_equal(w.argv[1], "it's");
  assert_string_equal(w.argv[3], "dog's");
  assert_string_equal(w.argv[4], "life");
  tok_free(&w);
  w = tok_ok("echo it\xe2\x80\x99s a dog\xe2\x80\x99s life"); /* iOS: ’ */
  assert_int_equal(w.argc, 5);
  assert_string_equal(w.argv[1], "it\xe2\x80\x99s");
  assert_string_equal(w.argv[3], "dog\xe2\x80\x99s");
  tok_free(&w);
  /* A quoted group may hold apostrophes; only a quote ending a word closes. */
  w = tok_ok("tag Name 'Bob's server' \xe2\x80\x98"
             "don\xe2\x80\x99t stop\xe2\x80\x99 "
             "\"she's \"here\"");
  assert_int_equal(w.argc, 5);
  assert_string_equal(w.argv[2], "Bob's server");
  assert_string_equal(w.argv[3], "don\xe2\x80\x99t stop");
  assert_string_equal(w.argv[4], "she's \"here");
  tok_free(&w);
  /* A leading apostrophe that closes nothing is a letter too. */
  w = tok_ok("echo 'tis the season");
  assert_int_equal(w.argc, 4);
  assert_string_equal(w.argv[1], "'tis");
  tok_free(&w);
  w = tok_ok("echo back in the '90s");
  assert_int_equal(w.argc, 5);
  assert_string_equal(w.argv[4], "'90s");
  tok_free(&w);
  w = tok_ok("s3 usage \"my bucket's\" and o'clock");
  assert_int_equal(w.argc, 5);
  assert_string_equal(w.argv[2], "my bucket's");
  assert_string_equal(w.argv[4], "o'clock");
  tok_free(&w);
}

static void test_tok_unterminated(void **state) {
  (void)state;
  static const char *const bad[] = {"ec2 \"stop", "a \"b c", "\xe2\x80\x9cmy bucket", "say \"a\"b"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char *err = NULL;
    int argc = -1;
    char **argv = NULL;
    assert_false(route_tokenize(bad[i], &argc, &argv, &err));
    assert_non_null(err);
    assert_string_equal(err, "unterminated quote");
    free(err);
  }
}

static void test_tok_too_many(void **state) {
  (void)state;
  char text[256] = "";
  for (int i = 0; i < ROUTE_ARGS_MAX; i++)
    strcat(text, "w ");
  words w = tok_ok(text);
  assert_int_equal(w.argc, ROUTE_ARGS_MAX);
  tok_free(&w);
  strcat(text, "one-more");
  char *err = NULL;
  int argc = -1;
  char **argv = NULL;
  assert_false(route_tokenize(text, &argc, &argv, &err));
  assert_non_null(err);
  assert_non_null(strstr(err, "too many words"));
  assert_non_null(strstr(err, "32"));
  free(err);
}

static void test_tok_empty(void **state) {
  (void)state;
  words w = tok_ok("");
  assert_int_equal(w.argc, 0);
  tok_free(&w);
  w = tok_ok(" \t ");
  assert_int_equal(w.argc, 0);
  tok_free(&w);
  w = tok_ok(NULL);
  assert_int_equal(w.argc, 0);
  tok_free(&w);
}

/* ---- routing ---------------------------------------------------------- */

static const char manifest_text[] =
    "{\"plugins\":["
    " {\"name\":\"help\",\"version\":\"1\",\"summary\":\"Help\",\"commands\":["
    "  {\"name\":\"help\",\"usage\":\"[plugin]\",\"summary\":\"List commands\",\"min\":0,"
    "   \"max\":1,\"access\":\"read\",\"default\":true}]},"
    " {\"name\":\"ec2\",\"version\":\"1\",\"summary\":\"EC2\",\"commands\":["
    "  {\"name\":\"list\",\"usage\":\"[filter]\",\"summary\":\"List instances\",\"min\":0,"
    "   \"max\":1,\"access\":\"read\",\"default\":true},"
    "  {\"name\":\"stop\",\"usage\":\"<instance-id>\",\"summary\":\"Stop an instance\","
    "   \"min\":1,\"max\":1,\"access\":\"write\",\"default\":false},"
    "  {\"name\":\"tag\",\"usage\":\"<id> <key> <value>\",\"summary\":\"Tag\",\"min\":3,"
    "   \"max\":3,\"access\":\"write\"}]},"
    " {\"name\":\"s3\",\"version\":\"1\",\"summary\":\"S3\",\"commands\":["
    "  {\"name\":\"ls\",\"usage\":\"[bucket]\",\"summary\":\"List\",\"min\":0,\"max\":-1,"
    "   \"access\":\"read\"},"
    "  {\"name\":\"rm\",\"usage\":\"<key>\",\"summary\":\"Remove\",\"min\":1,\"max\":1,"
    "   \"access\":\"write\"}]}"
    "]}";

static route_table *table_from(const char *text) {
  json_error_t jerr;
  json_t *m = json_loads(text, 0, &jerr);
  assert_non_null(m);
  char *err = NULL;
  route_table *t = route_table_from_json(m, &err);
  json_decref(m);
  assert_null(err);
  assert_non_null(t);
  return t;
}

static int table_setup(void **state) {
  *state = table_from(manifest_text);
  return 0;
}

static int table_teardown(void **state) {
  route_table_unref(*state);
  return 0;
}

typedef struct routed {
  words w;
  route_status st;
  route_match m;
  char *msg;
} routed;

static routed resolve(const route_table *t, const char *text) {
  routed r = {.w = tok_ok(text)};
  r.st = route_resolve(t, "/aws", r.w.argc, r.w.argv, &r.m, &r.msg);
  return r;
}

static void routed_free(routed *r) {
  free(r->msg);
  tok_free(&r->w);
}

static void test_table_built(void **state) {
  const route_table *t = *state;
  assert_int_equal(t->n, 3);
  assert_string_equal(t->p[1].name, "ec2");
  assert_int_equal(t->p[1].n, 3);
  assert_string_equal(t->p[1].cmds[1].name, "stop");
  assert_string_equal(t->p[1].cmds[1].usage, "<instance-id>");
  assert_int_equal(t->p[1].cmds[1].min_args, 1);
  assert_int_equal(t->p[1].cmds[1].max_args, 1);
  assert_int_equal(t->p[1].cmds[1].access, SLASHD_WRITE);
  assert_false(t->p[1].cmds[1].is_default);
  assert_true(t->p[1].cmds[0].is_default);
  assert_int_equal(t->p[1].cmds[0].access, SLASHD_READ);
  assert_int_equal(t->p[2].cmds[0].max_args, -1);
}

static void test_bad_manifests(void **state) {
  (void)state;
  static const char *const bad[] = {"{}", "{\"plugins\":{}}", "{\"plugins\":[{\"commands\":[]}]}",
                                    "{\"plugins\":[{\"name\":\"x\"}]}",
                                    "{\"plugins\":[{\"name\":1,\"commands\":[]}]}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    json_t *m = json_loads(bad[i], 0, NULL);
    assert_non_null(m);
    char *err = NULL;
    assert_null(route_table_from_json(m, &err));
    assert_non_null(err);
    free(err);
    json_decref(m);
  }
}

static void test_refcount(void **state) {
  (void)state;
  route_table *t = table_from(manifest_text);
  assert_ptr_equal(route_table_ref(t), t);
  assert_int_equal(atomic_load(&t->refs), 2);
  route_table_unref(t);
  assert_int_equal(atomic_load(&t->refs), 1);
  route_table_unref(t); /* freed: the leak checker sees it */
  assert_null(route_table_ref(NULL));
  route_table_unref(NULL);
}

static void test_plugin_alone_runs_default(void **state) {
  routed r = resolve(*state, "ec2");
  assert_int_equal(r.st, ROUTE_OK);
  assert_null(r.msg);
  assert_string_equal(r.m.plugin->name, "ec2");
  assert_string_equal(r.m.cmd->name, "list");
  assert_int_equal(r.m.argc, 0);
  routed_free(&r);
}

static void test_subcommand(void **state) {
  routed r = resolve(*state, "ec2 stop i-0abc");
  assert_int_equal(r.st, ROUTE_OK);
  assert_string_equal(r.m.plugin->name, "ec2");
  assert_string_equal(r.m.cmd->name, "stop");
  assert_int_equal(r.m.argc, 1);
  assert_string_equal(r.m.argv[0], "i-0abc");
  assert_ptr_equal(r.m.argv, r.w.argv + 2); /* borrowed from the words */
  routed_free(&r);
}

static void test_default_takes_args(void **state) {
  routed r = resolve(*state, "help ec2");
  assert_int_equal(r.st, ROUTE_OK);
  assert_string_equal(r.m.plugin->name, "help");
  assert_string_equal(r.m.cmd->name, "help");
  assert_int_equal(r.m.argc, 1);
  assert_string_equal(r.m.argv[0], "ec2");
  routed_free(&r);
  /* ec2's default "list" takes a filter that is not a command name. */
  r = resolve(*state, "ec2 running");
  assert_int_equal(r.st, ROUTE_OK);
  assert_string_equal(r.m.cmd->name, "list");
  assert_int_equal(r.m.argc, 1);
  assert_string_equal(r.m.argv[0], "running");
  routed_free(&r);
}

static void test_unknown_plugin(void **state) {
  routed r = resolve(*state, "lambda invoke");
  assert_int_equal(r.st, ROUTE_UNKNOWN_PLUGIN);
  assert_null(r.m.plugin);
  assert_non_null(r.msg);
  assert_non_null(strstr(r.msg, "`lambda`"));
  assert_non_null(strstr(r.msg, "/aws help")); /* a help plugin is loaded */
  routed_free(&r);
}

static void test_unknown_plugin_without_help(void **state) {
  (void)state;
  route_table *t = table_from("{\"plugins\":[{\"name\":\"ec2\",\"commands\":["
                              "{\"name\":\"list\",\"min\":0,\"max\":0,\"default\":true}]}]}");
  routed r = resolve(t, "Lambda");
  assert_int_equal(r.st, ROUTE_UNKNOWN_PLUGIN);
  assert_non_null(strstr(r.msg, "`Lambda`")); /* the word as typed */
  assert_null(strstr(r.msg, "help"));
  routed_free(&r);
  route_table_unref(t);
}

static void test_unknown_subcommand_lists_commands(void **state) {
  /* ec2's default takes at most one argument, so two words cannot fall
   * through to it. */
  routed r = resolve(*state, "ec2 reboot i-1");
  assert_int_equal(r.st, ROUTE_UNKNOWN_COMMAND);
  assert_non_null(strstr(r.msg, "`reboot`"));
  assert_non_null(strstr(r.msg, "list, stop, tag"));
  routed_free(&r);
  /* s3 has no default at all. */
  r = resolve(*state, "s3 cp");
  assert_int_equal(r.st, ROUTE_UNKNOWN_COMMAND);
  assert_non_null(strstr(r.msg, "`s3`"));
  assert_non_null(strstr(r.msg, "`cp`"));
  assert_non_null(strstr(r.msg, "ls, rm"));
  routed_free(&r);
}

static void test_plugin_without_default_alone(void **state) {
  routed r = resolve(*state, "s3");
  assert_int_equal(r.st, ROUTE_USAGE);
  assert_non_null(strstr(r.msg, "/aws s3"));
  assert_non_null(strstr(r.msg, "ls, rm"));
  routed_free(&r);
}

static void test_usage_too_few(void **state) {
  routed r = resolve(*state, "ec2 stop");
  assert_int_equal(r.st, ROUTE_USAGE);
  assert_null(r.m.cmd);
  assert_string_equal(r.msg, "Usage: `/aws ec2 stop <instance-id>` — Stop an instance");
  routed_free(&r);
  r = resolve(*state, "ec2 tag i-1 Name");
  assert_int_equal(r.st, ROUTE_USAGE);
  assert_string_equal(r.msg, "Usage: `/aws ec2 tag <id> <key> <value>` — Tag");
  routed_free(&r);
}

static void test_usage_too_many(void **state) {
  routed r = resolve(*state, "ec2 stop i-1 i-2");
  assert_int_equal(r.st, ROUTE_USAGE);
  assert_string_equal(r.msg, "Usage: `/aws ec2 stop <instance-id>` — Stop an instance");
  routed_free(&r);
  /* "help" is the default named after its plugin: not repeated. */
  r = resolve(*state, "help help ec2 s3");
  assert_int_equal(r.st, ROUTE_USAGE);
  assert_string_equal(r.msg, "Usage: `/aws help [plugin]` — List commands");
  routed_free(&r);
}

static void test_unbounded_args(void **state) {
  routed r = resolve(*state, "s3 ls a b c d e f g");
  assert_int_equal(r.st, ROUTE_OK);
  assert_string_equal(r.m.cmd->name, "ls");
  assert_int_equal(r.m.argc, 7);
  assert_string_equal(r.m.argv[6], "g");
  routed_free(&r);
}

static void test_capitalized(void **state) {
  routed r = resolve(*state, "Ec2 LIST Running");
  assert_int_equal(r.st, ROUTE_OK);
  assert_string_equal(r.m.plugin->name, "ec2");
  assert_string_equal(r.m.cmd->name, "list");
  assert_int_equal(r.m.argc, 1);
  /* Arguments keep their case: instance names, tags and buckets care. */
  assert_string_equal(r.m.argv[0], "Running");
  routed_free(&r);
  r = resolve(*state, "EC2 Stop i-0ABC");
  assert_int_equal(r.st, ROUTE_OK);
  assert_string_equal(r.m.cmd->name, "stop");
  assert_string_equal(r.m.argv[0], "i-0ABC");
  routed_free(&r);
}

static void test_empty_text_runs_help(void **state) {
  routed r = resolve(*state, "   ");
  assert_int_equal(r.st, ROUTE_OK);
  assert_null(r.msg);
  assert_string_equal(r.m.plugin->name, "help");
  assert_string_equal(r.m.cmd->name, "help");
  assert_int_equal(r.m.argc, 0);
  routed_free(&r);
}

static void test_empty_text_without_help(void **state) {
  (void)state;
  route_table *t = table_from("{\"plugins\":[{\"name\":\"ec2\",\"commands\":["
                              "{\"name\":\"list\",\"min\":0,\"max\":0,\"default\":true}]}]}");
  routed r = resolve(t, "");
  assert_int_equal(r.st, ROUTE_EMPTY);
  assert_null(r.m.plugin);
  assert_non_null(r.msg);
  assert_non_null(strstr(r.msg, "/aws <command>"));
  routed_free(&r);
  route_table_unref(t);
}

static void test_route_usage(void **state) {
  const route_table *t = *state;
  char *u = route_usage("/aws", &t->p[1], &t->p[1].cmds[1]);
  assert_string_equal(u, "/aws ec2 stop <instance-id>");
  free(u);
  u = route_usage("/ops", &t->p[0], &t->p[0].cmds[0]);
  assert_string_equal(u, "/ops help [plugin]");
  free(u);
  /* A default not named after its plugin keeps its name. */
  u = route_usage("/aws", &t->p[1], &t->p[1].cmds[0]);
  assert_string_equal(u, "/aws ec2 list [filter]");
  free(u);
}

static void test_route_name_valid(void **state) {
  (void)state;
  assert_true(route_name_valid("ec2"));
  assert_true(route_name_valid("my_plugin-2"));
  assert_true(route_name_valid("abcdefghijklmnopqrstuvwxyz012345")); /* 32 */
  assert_false(route_name_valid("abcdefghijklmnopqrstuvwxyz0123456"));
  assert_false(route_name_valid(""));
  assert_false(route_name_valid(NULL));
  assert_false(route_name_valid("EC2"));
  assert_false(route_name_valid("ec2.so"));
  assert_false(route_name_valid("a b"));
  assert_false(route_name_valid("\xc3\xa9"));
}

int main(void) {
  const struct CMUnitTest tok[] = {
      cmocka_unit_test(test_tok_spaces_tabs),  cmocka_unit_test(test_tok_quotes),
      cmocka_unit_test(test_tok_curly_quotes), cmocka_unit_test(test_tok_unterminated),
      cmocka_unit_test(test_tok_apostrophes),  cmocka_unit_test(test_tok_too_many),
      cmocka_unit_test(test_tok_empty),
  };
  const struct CMUnitTest routing[] = {
      cmocka_unit_test(test_table_built),
      cmocka_unit_test(test_bad_manifests),
      cmocka_unit_test(test_refcount),
      cmocka_unit_test(test_plugin_alone_runs_default),
      cmocka_unit_test(test_subcommand),
      cmocka_unit_test(test_default_takes_args),
      cmocka_unit_test(test_unknown_plugin),
      cmocka_unit_test(test_unknown_plugin_without_help),
      cmocka_unit_test(test_unknown_subcommand_lists_commands),
      cmocka_unit_test(test_plugin_without_default_alone),
      cmocka_unit_test(test_usage_too_few),
      cmocka_unit_test(test_usage_too_many),
      cmocka_unit_test(test_unbounded_args),
      cmocka_unit_test(test_capitalized),
      cmocka_unit_test(test_empty_text_runs_help),
      cmocka_unit_test(test_empty_text_without_help),
      cmocka_unit_test(test_route_usage),
      cmocka_unit_test(test_route_name_valid),
  };
  int failed = cmocka_run_group_tests_name("tokenize", tok, NULL, NULL);
  failed += cmocka_run_group_tests_name("resolve", routing, table_setup, table_teardown);
  return failed;
}
