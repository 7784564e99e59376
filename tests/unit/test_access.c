/* access.c: [access] rules (most specific level wins, deny wins) and the
 * identity a write command needs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/access.h"
#include "slashd/plugin.h"
#include "unit_util.h"

static const char rules_ini[] = "[access]\n"
                                "ec2.stop = U1, U2\n"
                                "ec2.* @channels = C1 C2\n"
                                "* @deny = U9\n"
                                "s3 = U3\n"
                                "s3.rm = U4\n"
                                "[identity]\n"
                                "mode = map\n"
                                "[identity.users]\n"
                                "U1 = arn:aws:iam::123456789012:role/ops\n"
                                "U4 = arn:aws:iam::123456789012:role/storage\n";

static int rules_setup(void **state) {
  *state = unit_load_config(rules_ini);
  return ((config *)*state)->n_errors ? -1 : 0;
}

static int rules_teardown(void **state) {
  config_free(*state);
  return 0;
}

static access_result check(const config *c, const char *user, const char *channel,
                           const char *plugin, const char *cmd, int level, char **msg) {
  access_subject who = {
      .team_id = "T1", .user_id = user, .user_name = "name", .channel_id = channel};
  return access_check(c, &who, plugin, cmd, level, msg);
}

static void test_listed_user_allowed(void **state) {
  const config *c = *state;
  char *msg = (char *)"sentinel";
  assert_int_equal(check(c, "U1", "C1", "ec2", "stop", SLASHD_WRITE, &msg), ACCESS_OK);
  assert_null(msg);
  /* U2 is listed but has no role: allowed by [access], refused for write. */
  assert_int_equal(check(c, "U2", "C1", "ec2", "stop", SLASHD_READ, NULL), ACCESS_OK);
}

static void test_unlisted_user_denied(void **state) {
  const config *c = *state;
  char *msg = NULL;
  assert_int_equal(check(c, "U7", "C1", "ec2", "stop", SLASHD_READ, &msg), ACCESS_DENIED);
  assert_non_null(msg);
  assert_non_null(strstr(msg, "ec2 stop"));
  assert_non_null(strstr(msg, "U7")); /* what the admin needs */
  assert_non_null(strstr(msg, "[access]"));
  free(msg);
}

static void test_channel_rule(void **state) {
  const config *c = *state;
  char *msg = NULL;
  /* ec2.* is limited to C1 and C2 (whitespace-separated lists work too). */
  assert_int_equal(check(c, "U5", "C2", "ec2", "list", SLASHD_READ, NULL), ACCESS_OK);
  assert_int_equal(check(c, "U5", "C3", "ec2", "list", SLASHD_READ, &msg), ACCESS_DENIED);
  assert_non_null(strstr(msg, "ec2 list"));
  assert_non_null(strstr(msg, "channel"));
  free(msg);
  /* Both kinds apply: the right user in the wrong channel is refused. */
  assert_int_equal(check(c, "U1", "C3", "ec2", "stop", SLASHD_READ, NULL), ACCESS_DENIED);
}

static void test_most_specific_level_wins(void **state) {
  const config *c = *state;
  /* s3 = U3 covers the plugin; s3.rm = U4 is more specific and replaces it. */
  assert_int_equal(check(c, "U3", "C9", "s3", "ls", SLASHD_READ, NULL), ACCESS_OK);
  assert_int_equal(check(c, "U4", "C9", "s3", "ls", SLASHD_READ, NULL), ACCESS_DENIED);
  assert_int_equal(check(c, "U4", "C9", "s3", "rm", SLASHD_WRITE, NULL), ACCESS_OK);
  assert_int_equal(check(c, "U3", "C9", "s3", "rm", SLASHD_READ, NULL), ACCESS_DENIED);
  /* No rule names lambda: open to all (deny aside). */
  assert_int_equal(check(c, "U8", "C9", "lambda", "list", SLASHD_READ, NULL), ACCESS_OK);
}

static void test_prefix_is_not_a_plugin(void **state) {
  const config *c = *state;
  /* "s3" rules must not catch a plugin named "s3x", nor "s3.rm" "s3 rmdir". */
  assert_int_equal(check(c, "U8", "C9", "s3x", "ls", SLASHD_READ, NULL), ACCESS_OK);
  assert_int_equal(check(c, "U3", "C9", "s3", "rmdir", SLASHD_READ, NULL), ACCESS_OK);
  assert_int_equal(check(c, "U8", "C1", "ec2", "stopall", SLASHD_READ, NULL), ACCESS_OK);
}

static void test_deny_wins(void **state) {
  const config *c = *state;
  char *msg = NULL;
  config *d = unit_load_config("[access]\n"
                               "ec2.stop = U9\n"
                               "ec2 @deny = U9, C666\n"
                               "[identity]\nmode = template\n"
                               "role_template = arn:aws:iam::1:role/{user_id}\n");
  assert_int_equal(d->n_errors, 0);
  /* Listed at the most specific level, denied at a broader one: denied. */
  assert_int_equal(check(d, "U9", "C1", "ec2", "stop", SLASHD_READ, &msg), ACCESS_DENIED);
  assert_non_null(strstr(msg, "ec2 stop"));
  assert_non_null(strstr(msg, "denies"));
  free(msg);
  /* A denied channel refuses everyone in it. */
  assert_int_equal(check(d, "U1", "C666", "ec2", "list", SLASHD_READ, NULL), ACCESS_DENIED);
  assert_int_equal(check(d, "U1", "C1", "ec2", "list", SLASHD_READ, NULL), ACCESS_OK);
  config_free(d);
  /* "* @deny" in the shared rules catches every plugin. */
  assert_int_equal(check(c, "U9", "C1", "lambda", "list", SLASHD_READ, NULL), ACCESS_DENIED);
  assert_int_equal(check(c, "U9", "C1", "ec2", "list", SLASHD_READ, NULL), ACCESS_DENIED);
}

static void test_write_needs_identity_map(void **state) {
  const config *c = *state;
  char *msg = NULL;
  config *d = unit_load_config("[identity]\nmode = map\n[identity.users]\n"
                               "U1 = arn:aws:iam::1:role/a\n");
  assert_int_equal(check(d, "U1", "C1", "ec2", "stop", SLASHD_WRITE, NULL), ACCESS_OK);
  assert_int_equal(check(d, "U2", "C1", "ec2", "stop", SLASHD_WRITE, &msg), ACCESS_NO_ROLE);
  assert_non_null(strstr(msg, "ec2 stop"));
  assert_non_null(strstr(msg, "U2 = arn:aws:iam::"));
  assert_non_null(strstr(msg, "[identity.users]"));
  free(msg);
  /* Read commands need no role. */
  assert_int_equal(check(d, "U2", "C1", "ec2", "list", SLASHD_READ, NULL), ACCESS_OK);
  config_free(d);
  /* [access] is checked before identity: a denied user hears about access. */
  assert_int_equal(check(c, "U7", "C1", "ec2", "stop", SLASHD_WRITE, NULL), ACCESS_DENIED);
}

static void test_write_needs_identity_none(void **state) {
  (void)state;
  char *msg = NULL;
  config *d = unit_load_config("[server]\nworkers = 1\n");
  assert_int_equal(d->id_mode, ID_NONE);
  assert_int_equal(check(d, "U1", "C1", "ec2", "stop", SLASHD_WRITE, &msg), ACCESS_NO_ROLE);
  assert_non_null(strstr(msg, "mode = none"));
  assert_non_null(strstr(msg, "U1"));
  free(msg);
  assert_int_equal(check(d, "U1", "C1", "ec2", "list", SLASHD_READ, NULL), ACCESS_OK);
  config_free(d);
}

static void test_write_needs_identity_template(void **state) {
  (void)state;
  config *d = unit_load_config("[identity]\nmode = template\n"
                               "role_template = arn:aws:iam::1:role/slack-{user_id}\n");
  access_subject who = {.user_id = "U1"};
  assert_true(access_has_identity(d, &who));
  assert_int_equal(check(d, "U1", "C1", "ec2", "stop", SLASHD_WRITE, NULL), ACCESS_OK);
  assert_int_equal(check(d, "", "C1", "ec2", "stop", SLASHD_WRITE, NULL), ACCESS_NO_ROLE);
  who.user_id = NULL;
  assert_false(access_has_identity(d, &who));
  config_free(d);
}

static void test_missing_ids_never_match(void **state) {
  const config *c = *state;
  /* An empty or absent id is never "in" a list. */
  assert_int_equal(check(c, "", "C1", "ec2", "stop", SLASHD_READ, NULL), ACCESS_DENIED);
  assert_int_equal(check(c, NULL, "C1", "ec2", "stop", SLASHD_READ, NULL), ACCESS_DENIED);
  assert_int_equal(check(c, "U1", "", "ec2", "stop", SLASHD_READ, NULL), ACCESS_DENIED);
}

static void test_rule_key_syntax(void **state) {
  (void)state;
  static const char *const good[] = {
      "*", "ec2", "ec2.*", "ec2.stop", "ec2.stop @users", "ec2 @channels", "* @deny", "  s3.rm  "};
  static const char *const bad[] = {
      "", "@deny", "ec2 stop", "ec2 @admins", "ec2 @deny extra", "ec2 @Users",
      /* would never match anything: a typo
       * here must not leave a command open */
      "EC2.stop", "ec2.st*", "ec2.", ".stop", "ec2.stop.now", "*.stop", "ec2*", "ec2/stop"};
  for (size_t i = 0; i < ARRAY_LEN(good); i++) {
    char *why = NULL;
    if (!access_rule_key_ok(good[i], &why))
      fail_msg("\"%s\" refused: %s", good[i], why);
  }
  for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
    char *why = NULL;
    if (access_rule_key_ok(bad[i], &why))
      fail_msg("\"%s\" accepted", bad[i]);
    assert_non_null(why);
    assert_true(str_starts(why, "[access] \""));
    free(why);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_listed_user_allowed),
      cmocka_unit_test(test_unlisted_user_denied),
      cmocka_unit_test(test_channel_rule),
      cmocka_unit_test(test_most_specific_level_wins),
      cmocka_unit_test(test_prefix_is_not_a_plugin),
      cmocka_unit_test(test_deny_wins),
      cmocka_unit_test(test_write_needs_identity_map),
      cmocka_unit_test(test_write_needs_identity_none),
      cmocka_unit_test(test_write_needs_identity_template),
      cmocka_unit_test(test_missing_ids_never_match),
      cmocka_unit_test(test_rule_key_syntax),
  };
  return cmocka_run_group_tests(tests, rules_setup, rules_teardown);
}
