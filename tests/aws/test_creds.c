/* The host credential chain against the scripted loopback stub: each source,
 * its failure messages, the order, caching and refresh before expiry. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aws/aws.h"
#include "aws/client_internal.h"
#include "aws/codec.h"
#include "stub_server.h"
#include "testutil.h"

static stub *srv;
static char dir[64];
static int64_t fake_now = 1700000000;

static int64_t clock_fn(void *ud) {
  (void)ud;
  return fake_now;
}

static const char *const chain_vars[] = {
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
};

static char *path_in(const char *name) {
  return xasprintf("%s/%s", dir, name);
}

static void write_file(const char *name, const char *text) {
  char *p = path_in(name);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  free(p);
}

/* want with "@" replaced by the test folder. */
static char *with_dir(const char *want) {
  sbuf b = {0};
  for (const char *p = want; *p; p++)
    if (*p == '@')
      sbuf_adds(&b, dir);
    else
      sbuf_addc(&b, *p);
  return sbuf_steal(&b);
}

static int setup(void **state) {
  (void)state;
  stub_reset(srv);
  for (size_t i = 0; i < ARRAY_LEN(chain_vars); i++)
    unsetenv(chain_vars[i]);
  char *cred = path_in("no-credentials"), *cfg = path_in("no-config");
  setenv("AWS_SHARED_CREDENTIALS_FILE", cred, 1);
  setenv("AWS_CONFIG_FILE", cfg, 1);
  free(cred);
  free(cfg);
  setenv("AWS_ENDPOINT_URL", stub_url(srv), 1);
  /* IMDS on the stub: never 169.254.169.254 from a test. */
  setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", stub_url(srv), 1);
  fake_now = 1700000000;
  return 0;
}

static aws_client *client(void) {
  aws_client *c = aws_client_new(NULL);
  aws_client_set_clock(c, clock_fn, NULL);
  aws_client_set_backoff(c, 1, 5);
  return c;
}

static void put(int status, const char *headers, const char *body) {
  stub_push(srv, (stub_reply){.status = status, .headers = headers, .body = body});
}

static char *iso_at(int64_t t) {
  char *s = xmalloc(32);
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  strftime(s, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return s;
}

static char *imds_json(const char *akid, int64_t exp) {
  char *e = iso_at(exp);
  char *j = xasprintf("{\"Code\":\"Success\",\"LastUpdated\":\"2012-04-26T16:39:16Z\","
                      "\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"%s\",\"SecretAccessKey\":\"sec\","
                      "\"Token\":\"tok-%s\",\"Expiration\":\"%s\"}",
                      akid, akid, e);
  free(e);
  return j;
}

/* PUT token, role list, role credentials. */
static void script_imds(const char *akid, int64_t exp) {
  char *j = imds_json(akid, exp);
  put(200, "x-aws-ec2-metadata-token-ttl-seconds: 21600\r\n", "TOKEN-1");
  put(200, NULL, "slashd-role\n");
  put(200, NULL, j);
  free(j);
}

static void test_environment(void **state) {
  (void)state;
  setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
  setenv("AWS_SESSION_TOKEN", "envtoken", 1);
  aws_client *c = client();
  char *err = NULL;
  const aws_creds *cr = aws_host_creds(c, &err);
  assert_non_null(cr);
  assert_string_equal(cr->source, "environment");
  assert_string_equal(cr->access_key_id, "AKIDENV");
  assert_string_equal(cr->session_token, "envtoken");
  assert_int_equal(cr->expiration, 0);
  assert_int_equal(stub_requests(srv), 0);
  aws_client_free(c);

  /* The older AWS_SECURITY_TOKEN is read first, as botocore reads it. */
  setenv("AWS_SECURITY_TOKEN", "oldname", 1);
  c = client();
  cr = aws_host_creds(c, &err);
  assert_string_equal(cr->session_token, "oldname");
  aws_client_free(c);
  unsetenv("AWS_SECURITY_TOKEN");

  /* A key without its secret stops the chain: no fall-through to IMDS. */
  unsetenv("AWS_SECRET_ACCESS_KEY");
  c = client();
  assert_null(aws_host_creds(c, &err));
  assert_string_equal(err, "no AWS credentials found; tried: environment (AWS_ACCESS_KEY_ID is set "
                           "but AWS_SECRET_ACCESS_KEY is not); later sources were not tried "
                           "because environment is configured: fix it or remove its settings");
  free(err);
  assert_int_equal(stub_requests(srv), 0);
  aws_client_free(c);
}

static void test_shared_files(void **state) {
  (void)state;
  write_file("credentials", "# test\n[default]\naws_access_key_id = AKIDFILE\n"
                            "aws_secret_access_key = filesecret\n[ops]\naws_access_key_id=OPS\n"
                            "aws_secret_access_key=opssecret\n");
  write_file("config", "[default]\nregion = eu-west-2\n[profile ops]\nregion = ap-south-1\n");
  char *cred = path_in("credentials"), *cfg = path_in("config");
  setenv("AWS_SHARED_CREDENTIALS_FILE", cred, 1);
  setenv("AWS_CONFIG_FILE", cfg, 1);
  aws_client *c = client();
  assert_string_equal(aws_client_region(c), "eu-west-2");
  assert_string_equal(aws_client_region_source(c), "profile");
  char *err = NULL;
  const aws_creds *cr = aws_host_creds(c, &err);
  assert_non_null(cr);
  assert_string_equal(cr->source, "profile default");
  assert_string_equal(cr->secret_access_key, "filesecret");
  assert_null(cr->session_token);
  aws_client_free(c);

  setenv("AWS_PROFILE", "ops", 1);
  c = client();
  assert_string_equal(aws_client_region(c), "ap-south-1");
  cr = aws_host_creds(c, &err);
  assert_string_equal(cr->source, "profile ops");
  aws_client_free(c);

  /* AWS_PROFILE naming a missing profile stops the chain. */
  setenv("AWS_PROFILE", "ghost", 1);
  c = client();
  assert_null(aws_host_creds(c, &err));
  char *want = xasprintf("shared files (profile \"ghost\" not in %s or %s (AWS_PROFILE=ghost)); "
                         "later sources were not tried",
                         cred, cfg);
  if (!strstr(err, want))
    fail_msg("%s", err);
  free(want);
  free(err);
  assert_int_equal(stub_requests(srv), 0);
  aws_client_free(c);
  free(cred);
  free(cfg);
}

static void test_nothing_found(void **state) {
  (void)state;
  setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1", 1);
  aws_client *c = client();
  char *err = NULL;
  assert_null(aws_host_creds(c, &err));
  char *want = xasprintf("no AWS credentials found; tried: environment (AWS_ACCESS_KEY_ID not "
                         "set); shared files (%s/no-credentials: not found; %s/no-config: not "
                         "found); web identity (not configured); container (not configured); "
                         "instance metadata (http://127.0.0.1:1: ",
                         dir, dir);
  if (!str_starts(err, want))
    fail_msg("%s", err);
  free(want);
  free(err);
  /* aws_call reports it as a credentials problem. */
  json_t *out;
  assert_int_equal(aws_call(c, NULL, "ec2", "DescribeInstances", NULL, &out, &err),
                   AWS_ERR_CREDENTIALS);
  assert_true(str_starts(err, "no AWS credentials found; tried: environment"));
  free(err);
  aws_client_free(c);

  setenv("AWS_EC2_METADATA_DISABLED", "TRUE", 1);
  c = client();
  assert_null(aws_host_creds(c, &err));
  assert_non_null(strstr(err, "; instance metadata (disabled by AWS_EC2_METADATA_DISABLED)"));
  free(err);
  aws_client_free(c);
}

static void test_imds(void **state) {
  (void)state;
  aws_client *c = client();
  script_imds("ASIAIMDS", fake_now + 6 * 3600);
  char *err = NULL, *v;
  const aws_creds *cr = aws_host_creds(c, &err);
  assert_non_null(cr);
  assert_string_equal(cr->source, "instance metadata");
  assert_string_equal(cr->access_key_id, "ASIAIMDS");
  assert_string_equal(cr->session_token, "tok-ASIAIMDS");
  assert_int_equal(cr->expiration, fake_now + 6 * 3600);
  assert_int_equal(stub_requests(srv), 3);
  assert_true(str_starts(stub_request(srv, 0), "PUT /latest/api/token HTTP/1.1\r\n"));
  assert_int_equal(stub_header(srv, 0, "x-aws-ec2-metadata-token-ttl-seconds", &v), 1);
  assert_string_equal(v, "21600");
  free(v);
  assert_true(
      str_starts(stub_request(srv, 1), "GET /latest/meta-data/iam/security-credentials/ HTTP"));
  assert_true(str_starts(stub_request(srv, 2),
                         "GET /latest/meta-data/iam/security-credentials/slashd-role HTTP"));
  for (size_t i = 1; i < 3; i++) {
    assert_int_equal(stub_header(srv, i, "x-aws-ec2-metadata-token", &v), 1);
    assert_string_equal(v, "TOKEN-1");
    free(v);
  }

  /* Cached until ~10 minutes before expiry; then fetched again. */
  fake_now += 3600;
  assert_non_null(aws_host_creds(c, &err));
  assert_int_equal(stub_requests(srv), 3);
  fake_now += 5 * 3600 - 500;
  script_imds("ASIAIMDS2", fake_now + 6 * 3600);
  cr = aws_host_creds(c, &err);
  assert_string_equal(cr->access_key_id, "ASIAIMDS2");
  assert_int_equal(stub_requests(srv), 6);

  /* A failed refresh keeps still-valid credentials (and says so in the log). */
  fake_now += 6 * 3600 - 300;
  put(500, NULL, "boom");
  cr = aws_host_creds(c, &err);
  assert_non_null(cr);
  assert_string_equal(cr->access_key_id, "ASIAIMDS2");
  /* Not again for a minute. */
  fake_now += 30;
  assert_non_null(aws_host_creds(c, &err));
  assert_int_equal(stub_requests(srv), 7);
  /* Once expired they are gone. */
  fake_now += 600;
  put(500, NULL, "boom");
  assert_null(aws_host_creds(c, &err));
  assert_non_null(strstr(err, "the IMDSv2 token request answered HTTP 500"));
  free(err);
  aws_client_free(c);
}

static void test_imds_v1_and_failures(void **state) {
  (void)state;
  static const int refused[] = {403, 404, 405};
  stub_reset(srv);
  for (size_t i = 0; i < ARRAY_LEN(refused); i++) {
    stub_reset(srv);
    aws_client *c = client();
    char *j = imds_json("ASIAV1", fake_now + 3600), *err = NULL;
    put(refused[i], NULL, NULL);
    put(200, NULL, "r1");
    put(200, NULL, j);
    free(j);
    const aws_creds *cr = aws_host_creds(c, &err);
    assert_non_null(cr);
    assert_string_equal(cr->access_key_id, "ASIAV1");
    assert_int_equal(stub_header(srv, 1, "x-aws-ec2-metadata-token", NULL), 0);
    assert_int_equal(stub_header(srv, 2, "x-aws-ec2-metadata-token", NULL), 0);
    aws_client_free(c);
  }
  /* Any other answer to the token PUT: no v1 fallback. */
  stub_reset(srv);
  aws_client *c = client();
  char *err = NULL;
  put(400, NULL, NULL);
  assert_null(aws_host_creds(c, &err));
  assert_non_null(strstr(err, "answered HTTP 400"));
  assert_int_equal(stub_requests(srv), 1);
  free(err);
  /* No role attached. */
  put(200, NULL, "T");
  put(404, NULL, NULL);
  assert_null(aws_host_creds(c, &err));
  assert_non_null(strstr(err, "no IAM role is attached to this instance"));
  free(err);
  /* A hanging metadata service: 1 s and on. */
  stub_push(srv, (stub_reply){200, NULL, "T", 1500, false});
  assert_null(aws_host_creds(c, &err));
  char *want = xasprintf("instance metadata (%s: timed out after 1 s)", stub_url(srv));
  if (!strstr(err, want))
    fail_msg("%s", err);
  free(want);
  free(err);
  aws_client_free(c);
}

static void test_container(void **state) {
  (void)state;
  write_file("ctoken", "secret-ctoken\n");
  char *tok = path_in("ctoken"), *url = xasprintf("%s/ecs/credentials", stub_url(srv)), *v;
  setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
  setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tok, 1);
  setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ignored-when-file-set", 1);
  char *body = example("ecs-container-credentials.json", NULL), *err = NULL;
  put(200, "Content-Type: application/json\r\n", body);
  aws_client *c = client();
  const aws_creds *cr = aws_host_creds(c, &err);
  assert_non_null(cr);
  assert_string_equal(cr->source, "container");
  assert_string_equal(cr->access_key_id, "SuccessfulAccessKey");
  assert_string_equal(cr->secret_access_key, "SuccessfulSecret");
  assert_string_equal(cr->session_token, "TokenSuccess");
  int64_t exp;
  assert_true(aws_parse_iso8601("2020-02-25T06:03:31Z", &exp));
  assert_int_equal(cr->expiration, exp);
  assert_true(str_starts(stub_request(srv, 0), "GET /ecs/credentials HTTP/1.1\r\n"));
  assert_int_equal(stub_header(srv, 0, "Authorization", &v), 1);
  assert_string_equal(v, "secret-ctoken");
  free(v);
  aws_client_free(c);

  /* Relative URI on the ECS host (here: the stub), token from the env. */
  unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
  setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/slashd-task", 1);
  stub_reset(srv);
  put(200, NULL, body);
  c = client();
  aws_client_set_container_host(c, stub_url(srv));
  assert_non_null(aws_host_creds(c, &err));
  assert_true(str_starts(stub_request(srv, 0), "GET /v2/credentials/slashd-task HTTP/1.1\r\n"));
  assert_int_equal(stub_header(srv, 0, "Authorization", &v), 1);
  assert_string_equal(v, "ignored-when-file-set");
  free(v);
  aws_client_free(c);

  /* Refused answers stop the chain (no IMDS request follows). */
  stub_reset(srv);
  put(401, NULL, "{\"Message\":\"no\"}");
  c = client();
  aws_client_set_container_host(c, stub_url(srv));
  assert_null(aws_host_creds(c, &err));
  assert_non_null(strstr(err, "/v2/credentials/slashd-task: HTTP 401 Unauthorized); later"));
  assert_int_equal(stub_requests(srv), 1);
  free(err);
  aws_client_free(c);

  /* Plain http to a non-local host is refused before any request. */
  unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://10.1.2.3/creds", 1);
  c = client();
  assert_null(aws_host_creds(c, &err));
  assert_non_null(strstr(err, "plain http to 10.1.2.3 is refused"));
  free(err);
  aws_client_free(c);

  /* A DNS name that starts with "127." is not a loopback address: refused
   * (it used to pass the prefix check and would have been sent the token). */
  static const char *const refused[] = {
      "http://127.evil.example/creds", "http://127.0.0.1.evil.example/creds",
      "http://169.254.170.2.evil.example/creds", "http://[fd00:ec2::24]/creds"};
  stub_reset(srv);
  for (size_t i = 0; i < ARRAY_LEN(refused); i++) {
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", refused[i], 1);
    c = client();
    assert_null(aws_host_creds(c, &err));
    if (!strstr(err, "is refused (use https, loopback or the ECS/EKS addresses)"))
      fail_msg("%s: %s", refused[i], err);
    free(err);
    aws_client_free(c);
  }
  assert_int_equal(stub_requests(srv), 0);
  /* Any 127.0.0.0/8 literal is loopback (the stub listens on 127.0.0.1). */
  char *other = xasprintf("%s/ecs/credentials", stub_url(srv));
  setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", other, 1);
  unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
  put(200, NULL, body);
  c = client();
  assert_non_null(aws_host_creds(c, &err));
  aws_client_free(c);
  free(other);
  free(body);
  free(tok);
  free(url);
}

static void write_script(const char *name, const char *text) {
  write_file(name, text);
  char *p = path_in(name);
  assert_int_equal(chmod(p, 0700), 0);
  free(p);
}

/* credential_process: words split like the CLI, no shell, Version 1 JSON
 * with or without Expiration; failures, a hang and a flood are reported
 * with the profile, and none of the worker's descriptors reach it. */
/* Keys and their token come from one file, as botocore's two providers
 * read them: keys in the credentials file do not take the config file's
 * token; aws_security_token is read before aws_session_token. */
static void test_token_from_the_keys_file(void **state) {
  (void)state;
  write_file("credentials", "[default]\naws_access_key_id = AKIDC\naws_secret_access_key = c\n"
                            "[old]\naws_access_key_id = AKIDO\naws_secret_access_key = o\n"
                            "aws_session_token = new\naws_security_token = older\n");
  write_file("config", "[default]\naws_session_token = from-config\n");
  char *cred = path_in("credentials"), *cfg = path_in("config"), *err = NULL;
  setenv("AWS_SHARED_CREDENTIALS_FILE", cred, 1);
  setenv("AWS_CONFIG_FILE", cfg, 1);
  aws_client *c = client();
  const aws_creds *cr = aws_host_creds(c, &err);
  assert_string_equal(cr->access_key_id, "AKIDC");
  assert_null(cr->session_token);
  aws_client_free(c);
  setenv("AWS_PROFILE", "old", 1);
  c = client();
  cr = aws_host_creds(c, &err);
  assert_string_equal(cr->session_token, "older");
  aws_client_free(c);
  free(cred);
  free(cfg);
}

static void test_credential_process(void **state) {
  (void)state;
  write_script("p ok",
               "#!/bin/sh\n[ \"$1\" = 'a b' ] && [ \"$2\" = '$HOME' ] || exit 9\n"
               "[ -e /proc/$$/fd/57 ] && exit 8\n"
               "echo '{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\", \"SecretAccessKey\": "
               "\"ps\", \"SessionToken\": \"pt\", \"Expiration\": \"2023-11-14T23:13:20Z\"}'\n");
  write_script("static", "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"AKIDSTATIC\", "
                         "\"SecretAccessKey\": \"s\"}'\n");
  write_script("fail", "#!/bin/sh\necho 'no vault' >&2\nexit 3\n");
  write_script("v2", "#!/bin/sh\necho '{\"Version\": 2, \"AccessKeyId\": \"A\", "
                     "\"SecretAccessKey\": \"s\"}'\n");
  write_script("hang", "#!/bin/sh\nexec sleep 30\n");
  write_script("flood", "#!/bin/sh\nexec head -c 70000 /dev/zero\n");
  int fd = open("/dev/null", O_RDONLY);
  assert_int_equal(dup2(fd, 57), 57); /* inherited unless slashd closes it */
  close(fd);
  char *cfg = path_in("config");
  setenv("AWS_CONFIG_FILE", cfg, 1);
  sbuf text = {0};
  sbuf_addf(&text, "[default]\ncredential_process = \"%s/p ok\" 'a b' \\$HOME\n", dir);
  sbuf_addf(&text, "[profile static]\ncredential_process = %s/static\n", dir);
  static const char *const bad[] = {"fail", "v2", "hang", "flood", "missing"};
  for (size_t i = 0; i < ARRAY_LEN(bad); i++)
    sbuf_addf(&text, "[profile %s]\ncredential_process = %s/%s\n", bad[i], dir, bad[i]);
  write_file("config", text.p);
  sbuf_free(&text);
  char *err = NULL;
  aws_client *c = client();
  const aws_creds *cr = aws_host_creds(c, &err);
  if (!cr)
    fail_msg("%s", err);
  assert_string_equal(cr->access_key_id, "AKIDPROC");
  assert_string_equal(cr->session_token, "pt");
  assert_int_equal(cr->expiration, 1700003600);
  assert_string_equal(cr->source, "profile default (credential_process)");
  aws_client_free(c);
  setenv("AWS_PROFILE", "static", 1);
  c = client();
  cr = aws_host_creds(c, &err);
  assert_non_null(cr);
  assert_int_equal(cr->expiration, 0);
  assert_null(cr->session_token);
  aws_client_free(c);
  static const char *const want[] = {
      "credential_process (@/config:6) exited with status 3: no vault",
      "credential_process (@/config:8) its output's Version is not 1",
      "credential_process (@/config:10) timed out (@/hang)",
      "credential_process (@/config:12) printed more than 64 KiB (@/flood)",
      "credential_process (@/config:14) could not run @/missing: No such file or directory"};
  for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
    setenv("AWS_PROFILE", bad[i], 1);
    c = client();
    aws_client_set_process_timeout(c, 300);
    char *w = with_dir(want[i]), *prefix = xasprintf("profile \"%s\": ", bad[i]);
    assert_null(aws_host_creds(c, &err));
    if (!strstr(err, prefix) || !strstr(err, w) || !strstr(err, "later sources were not tried"))
      fail_msg("%s: %s", bad[i], err);
    free(w);
    free(prefix);
    free(err);
    aws_client_free(c);
  }
  close(57);
  free(cfg);
}

/* A role profile: AssumeRole signed with the source profile's keys, the
 * result cached and fetched again 10 minutes before it expires. */
static void test_assumed_profile_refresh(void **state) {
  (void)state;
  write_file("config", "[default]\nrole_arn = arn:aws:iam::123456789012:role/demo\n"
                       "source_profile = base\nexternal_id = x-1\n[profile base]\n"
                       "aws_access_key_id = AKIDBASE\naws_secret_access_key = basesecret\n");
  char *cfg = path_in("config");
  setenv("AWS_CONFIG_FILE", cfg, 1);
  int64_t exp;
  assert_true(aws_parse_iso8601("2019-11-09T13:34:41Z", &exp)); /* the example's */
  fake_now = exp - 3600;
  char *xml = example("sts-AssumeRole.xml", NULL), *err = NULL, *v;
  put(200, "Content-Type: text/xml\r\n", xml);
  put(200, "Content-Type: text/xml\r\n", xml);
  aws_client *c = client();
  const aws_creds *cr = aws_host_creds(c, &err);
  assert_non_null(cr);
  assert_int_equal(cr->expiration, exp);
  assert_string_equal(cr->source, "profile default → assume arn:aws:iam::123456789012:role/demo "
                                  "via source_profile base");
  assert_int_equal(stub_requests(srv), 1);
  assert_non_null(strstr(stub_body(srv, 0), "Action=AssumeRole&"));
  assert_non_null(strstr(stub_body(srv, 0), "ExternalId=x-1"));
  assert_int_equal(stub_header(srv, 0, "Authorization", &v), 1);
  assert_true(str_starts(v, "AWS4-HMAC-SHA256 Credential=AKIDBASE/"));
  free(v);
  fake_now = exp - 700; /* cached: not yet inside the refresh window */
  assert_non_null(aws_host_creds(c, &err));
  assert_int_equal(stub_requests(srv), 1);
  fake_now = exp - 500;
  assert_non_null(aws_host_creds(c, &err));
  assert_int_equal(stub_requests(srv), 2);
  aws_client_free(c);

  /* credential_source = Ec2InstanceMetadata: the instance role (IMDS on
   * the stub) signs the AssumeRole. */
  write_file("config", "[default]\nrole_arn = arn:aws:iam::123456789012:role/demo\n"
                       "credential_source = Ec2InstanceMetadata\n");
  stub_reset(srv);
  fake_now = exp - 3600;
  script_imds("AKIDINSTANCE", exp);
  put(200, "Content-Type: text/xml\r\n", xml);
  c = client();
  cr = aws_host_creds(c, &err);
  if (!cr)
    fail_msg("%s", err);
  assert_string_equal(cr->source, "profile default → assume arn:aws:iam::123456789012:role/demo "
                                  "via credential_source Ec2InstanceMetadata");
  assert_int_equal(stub_requests(srv), 4);
  assert_true(str_starts(stub_request(srv, 0), "PUT /latest/api/token HTTP/1.1\r\n"));
  assert_int_equal(stub_header(srv, 3, "Authorization", &v), 1);
  assert_true(str_starts(v, "AWS4-HMAC-SHA256 Credential=AKIDINSTANCE/"));
  free(v);
  aws_client_free(c);
  free(xml);
  free(cfg);
}

/* A profile that uses a setting slashd refuses, or a bad value, stops the
 * chain with the setting and its file:line; the instance role (IMDS on the
 * stub) is never asked. */
static void test_profile_refusals(void **state) {
  (void)state;
  static const struct {
    const char *config, *want;
  } cases[] = {
      {"[default]\nregion = eu-west-1\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = b\n"
       "mfa_serial = arn:aws:iam::1:mfa/u\n[profile b]\naws_access_key_id = A\n"
       "aws_secret_access_key = S\n",
       "profile \"default\": mfa_serial (@/config:5) needs an MFA code"},
      {"[default]\nrole_arn = arn:aws:iam::1:role/r\ncredential_source = Bogus\n",
       "profile \"default\": credential_source (@/config:3) is \"Bogus\", not one of Environment, "
       "Ec2InstanceMetadata, EcsContainer"},
      {"[default]\nrole_arn = arn:aws:iam::1:role/r\n",
       "profile \"default\": role_arn (@/config:2) needs source_profile or credential_source"},
      {"[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = a\n[profile a]\n"
       "role_arn = arn:aws:iam::1:role/a\nsource_profile = default\n",
       "source_profile loop: default → a → default"},
      {"[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = default\n",
       "source_profile loop: default → default"},
      {"[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = nobody\n",
       "profile \"default\": source_profile (@/config:3) names \"nobody\", which is in neither "
       "file"},
      {"[default]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = b\nduration_seconds = 60\n"
       "[profile b]\naws_access_key_id = A\naws_secret_access_key = S\n",
       "profile \"default\": duration_seconds (@/config:4) is \"60\", not a number of seconds"},
      {"[default]\ncredential_process = \"unterminated\n",
       "profile \"default\": credential_process (@/config:2) cannot be split into words: no "
       "closing quotation"},
  };
  char *cfg = path_in("config");
  setenv("AWS_CONFIG_FILE", cfg, 1);
  for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
    stub_reset(srv);
    script_imds("AKIDINSTANCE", fake_now + 3600);
    write_file("config", cases[i].config);
    aws_client *c = client();
    char *err = NULL, *want = with_dir(cases[i].want);
    assert_null(aws_host_creds(c, &err));
    if (!strstr(err, want) || !strstr(err, "later sources were not tried"))
      fail_msg("case %zu: %s", i, err);
    assert_int_equal(stub_requests(srv), 0);
    free(want);
    free(err);
    aws_client_free(c);
  }
  free(cfg);
}

static void test_web_identity(void **state) {
  (void)state;
  write_file("wit", "  web-identity-token-123\n");
  char *p = path_in("wit"), *err = NULL;
  setenv("AWS_WEB_IDENTITY_TOKEN_FILE", p, 1);
  setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/slashd-web-identity", 1);
  setenv("AWS_ROLE_SESSION_NAME", "pod-1", 1);
  put(200, NULL,
      "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
      "<Credentials><AccessKeyId>ASIAWEB</AccessKeyId><SecretAccessKey>"
      "websecret</SecretAccessKey><SessionToken>\n  abc\n  def\n"
      "</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration>"
      "</Credentials></AssumeRoleWithWebIdentityResult>"
      "</AssumeRoleWithWebIdentityResponse>");
  aws_client *c = client();
  const aws_creds *cr = aws_host_creds(c, &err);
  assert_non_null(cr);
  assert_string_equal(cr->source, "web identity");
  assert_string_equal(cr->session_token, "abcdef");
  assert_int_equal(stub_header(srv, 0, "Authorization", NULL), 0); /* unsigned */
  assert_int_equal(stub_header(srv, 0, "X-Amz-Date", NULL), 0);
  assert_string_equal(stub_body(srv, 0),
                      "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3A"
                      "iam%3A%3A123456789012%3Arole%2Fslashd-web-identity&RoleSessionName=pod-1&"
                      "WebIdentityToken=web-identity-token-123");
  aws_client_free(c);

  /* STS refuses: the chain stops with STS's sentence. */
  stub_reset(srv);
  put(400, NULL,
      "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken"
      "</Code><Message>bad token</Message></Error><RequestId>w1</RequestId>"
      "</ErrorResponse>");
  c = client();
  assert_null(aws_host_creds(c, &err));
  assert_non_null(strstr(err, "web identity (sts AssumeRoleWithWebIdentity for "
                              "arn:aws:iam::123456789012:role/slashd-web-identity: "
                              "InvalidIdentityToken: bad token (request id w1)); later"));
  free(err);
  aws_client_free(c);
  unlink(p);
  assert_null(aws_host_creds(c = client(), &err));
  assert_non_null(strstr(err, "web identity (cannot read"));
  free(err);
  aws_client_free(c);
  free(p);
}

static void test_expired_token_refresh(void **state) {
  (void)state;
  /* Host credentials from IMDS; AWS says they expired: fetch new ones once
   * and repeat the call. */
  aws_client *c = client();
  script_imds("ASIAOLD", fake_now + 6 * 3600);
  put(400, NULL,
      "<Response><Errors><Error><Code>ExpiredToken</Code><Message>The "
      "security token included in the request is expired</Message>"
      "</Error></Errors><RequestID>e1</RequestID></Response>");
  script_imds("ASIANEW", fake_now + 6 * 3600);
  put(200, NULL,
      "<DescribeInstancesResponse><reservationSet/>"
      "</DescribeInstancesResponse>");
  json_t *out;
  char *err = NULL, *v;
  assert_int_equal(aws_call(c, NULL, "ec2", "DescribeInstances", NULL, &out, &err), AWS_OK);
  json_decref(out);
  assert_int_equal(stub_requests(srv), 8);
  assert_int_equal(stub_header(srv, 7, "Authorization", &v), 1);
  assert_non_null(strstr(v, "Credential=ASIANEW/"));
  free(v);
  assert_int_equal(stub_header(srv, 7, "X-Amz-Security-Token", &v), 1);
  assert_string_equal(v, "tok-ASIANEW");
  free(v);
  aws_client_free(c);
}

int main(void) {
  shared_require("test_creds", EXAMPLES_SUBDIR);
  snprintf(dir, sizeof dir, "/tmp/slashd-creds-XXXXXX");
  if (!mkdtemp(dir))
    return 1;
  srv = stub_start();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_environment, setup),
      cmocka_unit_test_setup(test_shared_files, setup),
      cmocka_unit_test_setup(test_nothing_found, setup),
      cmocka_unit_test_setup(test_imds, setup),
      cmocka_unit_test_setup(test_imds_v1_and_failures, setup),
      cmocka_unit_test_setup(test_container, setup),
      cmocka_unit_test_setup(test_web_identity, setup),
      cmocka_unit_test_setup(test_profile_refusals, setup),
      cmocka_unit_test_setup(test_assumed_profile_refresh, setup),
      cmocka_unit_test_setup(test_credential_process, setup),
      cmocka_unit_test_setup(test_token_from_the_keys_file, setup),
      cmocka_unit_test_setup(test_expired_token_refresh, setup),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  stub_stop(srv);
  static const char *const files[] = {"credentials", "config", "ctoken", "wit"};
  for (size_t i = 0; i < ARRAY_LEN(files); i++) {
    char *p = path_in(files[i]);
    unlink(p);
    free(p);
  }
  rmdir(dir);
  return rc;
}
