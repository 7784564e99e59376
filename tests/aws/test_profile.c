/* The shared credentials/config file parser and the profile lookup. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aws/profile.h"
#include "base/util.h"

static void test_credentials_file(void **state) {
  (void)state;
  const char *text = "\xef\xbb\xbf# a comment\n"
                     "; another\n"
                     "[default]\n"
                     "aws_access_key_id=AKIDDEFAULT\n"
                     "aws_secret_access_key = secret/default+key \n"
                     "\n"
                     "[work]\r\n"
                     "  AWS_ACCESS_KEY_ID   =   AKIDWORK   ; inline comment\r\n"
                     "aws_secret_access_key: s3cr3t#not-a-comment\r\n"
                     "[profile work]\n" /* in the credentials file this is another name */
                     "aws_access_key_id = WRONG\n";
  aws_profile p;
  profile_from_texts("default", text, NULL, &p);
  assert_true(p.found);
  assert_string_equal(p.access_key_id, "AKIDDEFAULT");
  assert_string_equal(p.secret_access_key, "secret/default+key");
  assert_null(p.session_token);
  profile_free(&p);

  profile_from_texts("work", text, NULL, &p);
  assert_true(p.found);
  assert_string_equal(p.access_key_id, "AKIDWORK");
  assert_string_equal(p.secret_access_key, "s3cr3t#not-a-comment");
  profile_free(&p);

  profile_from_texts("missing", text, NULL, &p);
  assert_false(p.found);
  assert_null(p.access_key_id);
  profile_free(&p);
}

static void test_config_file(void **state) {
  (void)state;
  const char *config = "[default]\n"
                       "region = eu-west-1\n"
                       "[profile  work ]\n"
                       "region=us-west-2\n"
                       "s3 =\n"
                       "  max_concurrent_requests = 20\n"
                       "  region = nested-not-mine\n"
                       "aws_access_key_id = FROMCONFIG\n"
                       "aws_secret_access_key = CONFIGSECRET\n"
                       "[work]\n" /* not a profile in the config file */
                       "region = wrong\n"
                       "[profile sso]\n"
                       "sso_session = corp\n"
                       "region = ap-south-1\n";
  const char *creds = "[work]\naws_access_key_id = FROMCREDS\n";
  aws_profile p;
  profile_from_texts("work", creds, config, &p);
  assert_string_equal(p.region, "us-west-2");
  assert_string_equal(p.access_key_id, "FROMCREDS"); /* credentials file wins */
  assert_string_equal(p.secret_access_key, "CONFIGSECRET");
  profile_free(&p);
  profile_from_texts("default", NULL, config, &p);
  assert_string_equal(p.region, "eu-west-1");
  profile_free(&p);
  profile_from_texts("sso", NULL, config, &p);
  assert_true(p.found);
  assert_null(p.access_key_id);
  assert_string_equal(p.other_source, "sso_session");
  profile_free(&p);
}

static void test_long_token(void **state) {
  (void)state;
  /* Longer than inih's 200-byte line buffer on Debian. */
  sbuf tok = {0}, text = {0};
  for (int i = 0; i < 1200; i++)
    sbuf_addc(&tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZ/+="[i % 29]);
  sbuf_addf(&text,
            "[default]\naws_access_key_id = A\naws_secret_access_key = B\n"
            "aws_session_token = %s\nregion = us-east-2\n",
            tok.p);
  aws_profile p;
  profile_from_texts("default", text.p, NULL, &p);
  assert_string_equal(p.session_token, tok.p);
  assert_string_equal(p.region, "us-east-2");
  profile_free(&p);
  sbuf_free(&tok);
  sbuf_free(&text);
}

static char tmpdir[64];

static char *write_tmp(const char *name, const char *text) {
  char *path = xasprintf("%s/%s", tmpdir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  return path;
}

static void test_load_from_env(void **state) {
  (void)state;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/slashd-profile-XXXXXX");
  assert_non_null(mkdtemp(tmpdir));
  char *cred = write_tmp("creds", "[default]\naws_access_key_id=K\naws_secret_access_key=S\n");
  char *missing = xasprintf("%s/nope", tmpdir);
  setenv("AWS_SHARED_CREDENTIALS_FILE", cred, 1);
  setenv("AWS_CONFIG_FILE", missing, 1);
  unsetenv("AWS_PROFILE");
  assert_string_equal(profile_name(), "default");

  aws_profile p;
  char *why = NULL;
  assert_true(profile_load(profile_name(), &p, &why));
  assert_string_equal(p.access_key_id, "K");
  assert_non_null(strstr(why, "nope: not found"));
  profile_free(&p);
  free(why);

  setenv("AWS_PROFILE", "ghost", 1);
  assert_true(profile_load(profile_name(), &p, &why));
  assert_false(p.found);
  assert_non_null(strstr(why, "profile \"ghost\" not in"));
  profile_free(&p);
  free(why);

  setenv("AWS_SHARED_CREDENTIALS_FILE", missing, 1);
  assert_false(profile_load("default", &p, &why));
  assert_non_null(strstr(why, "not found"));
  profile_free(&p);
  free(why);

  /* Defaults under $HOME/.aws, and ~ expansion. */
  unsetenv("AWS_SHARED_CREDENTIALS_FILE");
  unsetenv("AWS_CONFIG_FILE");
  setenv("HOME", tmpdir, 1);
  char *want = xasprintf("%s/.aws/credentials", tmpdir), *got = profile_credentials_path();
  assert_string_equal(got, want);
  free(got);
  free(want);
  setenv("AWS_CONFIG_FILE", "~/cfg", 1);
  want = xasprintf("%s/cfg", tmpdir);
  got = profile_config_path();
  assert_string_equal(got, want);
  free(got);
  free(want);
  unsetenv("AWS_CONFIG_FILE");
  unsetenv("AWS_PROFILE");

  unlink(cred);
  rmdir(tmpdir);
  free(cred);
  free(missing);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_credentials_file),
      cmocka_unit_test(test_config_file),
      cmocka_unit_test(test_long_token),
      cmocka_unit_test(test_load_from_env),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
