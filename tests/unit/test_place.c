/* place.c: --region / --account flags, region names, [accounts]; and the
 * role of a user in an account (identity_role_in). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/config.h"
#include "base/identity.h"
#include "base/place.h"
#include "base/route.h"
#include "base/util.h"
#include "unit_util.h"

static const char INI[] = "[aws]\n"
                          "region = us-east-1\n"
                          "regions = us-east-1, eu-west-1, us-gov-west-1\n"
                          "[accounts]\n"
                          "prod = 111122223333\n"
                          "staging = 444455556666, region = eu-west-1, role_template = "
                          "arn:aws:iam::{account}:role/slack-{user_id}\n";

/* Tokenizes `text`, takes the place flags; returns the remaining words
 * joined by one space (new string) or NULL with *err. */
static char *take(const config *c, const char *text, place *p, char **err) {
  int argc = 0;
  char **argv = NULL;
  char *terr = NULL;
  assert_true(route_tokenize(text, &argc, &argv, &terr));
  char *rest = NULL;
  if (place_take(c, &argc, argv, p, err)) {
    sbuf b = {0};
    sbuf_add(&b, "", 0);
    for (int i = 0; i < argc; i++)
      sbuf_addf(&b, "%s%s", i ? " " : "", argv[i]);
    rest = sbuf_steal(&b);
  }
  route_argv_free(argc, argv);
  return rest;
}

static void test_region_shapes(void **state) {
  (void)state;
  const char *good[] = {"us-east-1",      "eu-west-1",    "ap-southeast-4", "us-gov-west-1",
                        "us-isob-east-1", "il-central-1", "cn-north-1"};
  for (size_t i = 0; i < ARRAY_LEN(good); i++)
    assert_true(place_region_shape(good[i]));
  const char *bad[] = {"",
                       "evil.example#",
                       "us-east-1.evil.example",
                       "US-EAST-1",
                       "us-east",
                       "us--east-1",
                       "us-east-123",
                       "u-east-1",
                       "us-east-1/",
                       "us-a-b-c-d-1",
                       "us-east-1 ",
                       "../x"};
  for (size_t i = 0; i < ARRAY_LEN(bad); i++)
    assert_false(place_region_shape(bad[i]));
}

static void test_flag_spellings(void **state) {
  (void)state;
  config *c = unit_load_config(INI);
  assert_int_equal(c->n_errors, 0);
  const char *forms[] = {
      "ec2 list --region eu-west-1",           "ec2 list -r eu-west-1",
      "ec2 list --region=eu-west-1",           "ec2 list \xe2\x80\x94region eu-west-1",
      "ec2 list \xe2\x80\x93region=EU-WEST-1", "--Region eu-west-1 ec2 list"};
  for (size_t i = 0; i < ARRAY_LEN(forms); i++) {
    place p;
    char *err = NULL;
    char *rest = take(c, forms[i], &p, &err);
    assert_non_null(rest);
    assert_string_equal(rest, "ec2 list");
    assert_string_equal(p.region, "eu-west-1");
    assert_null(p.account);
    free(rest);
    place_free(&p);
  }
  place p;
  char *err = NULL;
  char *rest = take(c, "ec2 stop i-0123456789abcdef0 --account staging -r us-east-1", &p, &err);
  assert_string_equal(rest, "ec2 stop i-0123456789abcdef0");
  assert_string_equal(p.account, "staging");
  assert_string_equal(p.region, "us-east-1");
  free(rest);
  place_free(&p);
  rest = take(c, "ec2 list --region all", &p, &err);
  assert_true(place_fan_out(&p));
  free(rest);
  place_free(&p);
  config_free(c);
}

static void refused(const config *c, const char *text, const char *needle) {
  place p;
  char *err = NULL;
  char *rest = take(c, text, &p, &err);
  if (rest)
    fail_msg("\"%s\" was accepted", text);
  assert_non_null(err);
  if (!strstr(err, needle))
    fail_msg("\"%s\": \"%s\" does not contain \"%s\"", text, err, needle);
  assert_null(p.region);
  assert_null(p.account);
  free(err);
}

static void test_refused_values(void **state) {
  (void)state;
  config *c = unit_load_config(INI);
  refused(c, "ec2 list --region evil.example#", "is not an AWS region name");
  refused(c, "ec2 list --region=us-east-1.evil.example", "is not an AWS region name");
  refused(c, "ec2 list --region ap-south-1", "does not serve region ap-south-1");
  refused(c, "ec2 list --region", "needs a value");
  refused(c, "ec2 list -r eu-west-1 --region us-east-1", "given twice");
  refused(c, "ec2 list --account 111122223333", "not accepted from chat");
  refused(c, "ec2 list --account arn:aws:iam::111122223333:root", "not accepted from chat");
  refused(c, "ec2 list --account dev", "there is no account `dev`; this host knows prod, staging");
  config_free(c);
  /* Without [aws] regions any well-formed region goes, "all" does not;
   * without [accounts] --account does not. */
  c = unit_load_config("[aws]\nregion = us-east-1\n");
  place p;
  char *err = NULL;
  char *rest = take(c, "ec2 list -r ap-south-1", &p, &err);
  assert_string_equal(p.region, "ap-south-1");
  free(rest);
  place_free(&p);
  refused(c, "ec2 list --region all", "[aws] regions");
  refused(c, "ec2 list --account prod", "no [accounts]");
  config_free(c);
}

static void test_accounts_config(void **state) {
  (void)state;
  config *c = unit_load_config("[accounts]\n"
                               "prod = 1234\n"
                               "ok = 111122223333, region = eu-west-1\n"
                               "odd = 111122223333, colour = blue\n"
                               "Bad Name = 111122223333\n"
                               "[aws]\nregions = eu-west-1, evil.example\n");
  assert_int_equal(c->n_errors, 4);
  place_account a;
  assert_true(place_account_get(c, "ok", &a, NULL));
  assert_string_equal(a.id, "111122223333");
  assert_string_equal(a.region, "eu-west-1");
  assert_null(a.role_template);
  place p = {0};
  assert_string_equal(place_region(c, &p, &a), "eu-west-1");
  place_account_free(&a);
  config_free(c);
}

static void test_role_in_account(void **state) {
  (void)state;
  config *c = unit_load_config(INI);
  identity_who who = {.team_id = "T1", .user_id = "U1", .user_name = "ann", .channel_id = "C1"};
  char *err = NULL;
  /* No account: the mapping as it is; one needing {account} is refused. */
  char *r = identity_role_in(c, &who, NULL, "arn:aws:iam::111122223333:role/ops", &err);
  assert_string_equal(r, "arn:aws:iam::111122223333:role/ops");
  free(r);
  assert_null(identity_role_in(c, &who, "", "arn:aws:iam::{account}:role/ops", &err));
  assert_non_null(strstr(err, "--account"));
  free(err);
  /* {account} filled in; a fixed role elsewhere refused. */
  r = identity_role_in(c, &who, "prod", "arn:aws:iam::{account}:role/ops", &err);
  assert_string_equal(r, "arn:aws:iam::111122223333:role/ops");
  free(r);
  assert_null(identity_role_in(c, &who, "prod", "arn:aws:iam::999999999999:role/ops", &err));
  assert_non_null(strstr(err, "not in account prod (111122223333)"));
  free(err);
  /* The account's own template wins. */
  r = identity_role_in(c, &who, "staging", "arn:aws:iam::111122223333:role/ops", &err);
  assert_string_equal(r, "arn:aws:iam::444455556666:role/slack-U1");
  free(r);
  config_free(c);
}

static void test_label(void **state) {
  (void)state;
  char *l = place_label("eu-west-1", "prod");
  assert_string_equal(l, "eu-west-1 (prod)");
  free(l);
  l = place_label("eu-west-1", "");
  assert_string_equal(l, "eu-west-1");
  free(l);
  l = place_label(NULL, NULL);
  assert_string_equal(l, "");
  free(l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_region_shapes),   cmocka_unit_test(test_flag_spellings),
      cmocka_unit_test(test_refused_values),  cmocka_unit_test(test_accounts_config),
      cmocka_unit_test(test_role_in_account), cmocka_unit_test(test_label),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
