/* aws_call end to end against the scripted loopback stub: what goes on the
 * wire (one Host, no Expect, signed headers, form/JSON/S3 shapes), retries
 * and backoff, timeouts, size cap, STS AssumeRole and KMS Decrypt. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "aws/aws.h"
#include "aws/client_internal.h"
#include "aws/codec.h"
#include "stub_server.h"
#include "testutil.h"

static stub *srv;

static void env_reset(void) {
  static const char *const vars[] = {"AWS_ENDPOINT_URL_EC2",
                                     "AWS_ENDPOINT_URL_S3",
                                     "AWS_REGION",
                                     "AWS_DEFAULT_REGION",
                                     "AWS_PROFILE",
                                     "AWS_SESSION_TOKEN",
                                     "AWS_WEB_IDENTITY_TOKEN_FILE",
                                     "AWS_ROLE_ARN",
                                     "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                                     "AWS_CONTAINER_CREDENTIALS_FULL_URI"};
  for (size_t i = 0; i < ARRAY_LEN(vars); i++)
    unsetenv(vars[i]);
  setenv("AWS_EC2_METADATA_DISABLED", "true", 1); /* never the real IMDS */
  setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
  setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
  setenv("AWS_ACCESS_KEY_ID", "AKIDTEST", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "test-secret", 1);
  setenv("AWS_ENDPOINT_URL", stub_url(srv), 1);
}

static int setup(void **state) {
  (void)state;
  stub_reset(srv);
  env_reset();
  return 0;
}

static aws_client *client(int timeout, int attempts) {
  aws_config cfg = {.timeout = timeout, .max_attempts = attempts};
  aws_client *c = aws_client_new(&cfg);
  aws_client_set_backoff(c, 1, 5); /* keep retries fast */
  return c;
}

static void reply(int status, const char *headers, const char *body) {
  stub_push(srv, (stub_reply){status, headers, body, 0, false});
}

static const char *path_of(size_t i) {
  return stub_request(srv, i);
}

static void test_query_wire(void **state) {
  (void)state;
  setenv("AWS_SESSION_TOKEN", "session-token-1", 1);
  char *xml = example("ec2-DescribeInstances.xml", NULL);
  reply(200, "Content-Type: text/xml\r\n", xml);
  reply(200, "Content-Type: text/xml\r\n", xml);
  free(xml);
  int conns = stub_connections(srv);
  aws_client *c = client(5, 1);
  json_t *params = json_pack("{s:s, s:i}", "InstanceId.1", "i-0abc", "MaxResults", 5), *out;
  char *err = NULL;
  assert_int_equal(aws_call(c, NULL, "ec2", "DescribeInstances", params, &out, &err), AWS_OK);
  json_t *inst = json_array_get(
      json_object_get(json_array_get(json_object_get(out, "reservationSet"), 0), "instancesSet"),
      0);
  assert_string_equal(json_string_value(json_object_get(inst, "instanceId")),
                      "i-1234567890abcdef0");
  json_decref(out);

  assert_true(str_starts(path_of(0), "POST / HTTP/1.1\r\n"));
  char *v;
  assert_int_equal(stub_header(srv, 0, "Host", &v), 1);
  assert_string_equal(v, stub_url(srv) + 7);
  free(v);
  assert_int_equal(stub_header(srv, 0, "Expect", NULL), 0);
  assert_int_equal(stub_header(srv, 0, "Transfer-Encoding", NULL), 0);
  assert_int_equal(stub_header(srv, 0, "Content-Type", &v), 1);
  assert_string_equal(v, "application/x-www-form-urlencoded; charset=utf-8");
  free(v);
  assert_int_equal(stub_header(srv, 0, "X-Amz-Date", NULL), 1);
  assert_int_equal(stub_header(srv, 0, "X-Amz-Security-Token", &v), 1);
  assert_string_equal(v, "session-token-1");
  free(v);
  assert_int_equal(stub_header(srv, 0, "Authorization", &v), 1);
  assert_true(str_starts(v, "AWS4-HMAC-SHA256 Credential=AKIDTEST/"));
  assert_non_null(strstr(v, "/us-east-1/ec2/aws4_request, SignedHeaders=content-type;host;"
                            "x-amz-date;x-amz-security-token, Signature="));
  free(v);
  assert_string_equal(stub_body(srv, 0), "Action=DescribeInstances&Version=2016-11-15&"
                                         "InstanceId.1=i-0abc&MaxResults=5");
  /* The connection is kept for the next call. */
  assert_int_equal(aws_call(c, NULL, "ec2", "DescribeInstances", params, &out, &err), AWS_OK);
  json_decref(out);
  assert_int_equal(aws_call(c, NULL, "ec2", "DescribeInstances", params, &out, &err),
                   AWS_ERR_SERVICE); /* script exhausted: the stub's 500 */
  free(err);
  assert_int_equal(stub_connections(srv), conns + 1); /* three calls, one connection */
  json_decref(params);

  /* A large body: libcurl would add "Expect: 100-continue"; we never send it,
   * and the body goes with a Content-Length, not chunked. */
  size_t n = 2u << 20;
  char *msg = xmalloc(n + 1);
  memset(msg, 'm', n);
  msg[n] = '\0';
  params = json_pack("{s:s}", "Message", msg);
  free(msg);
  stub_reset(srv);
  reply(200, NULL,
        "<PublishResponse><PublishResult><MessageId>1</MessageId></PublishResult>"
        "</PublishResponse>");
  assert_int_equal(aws_call(c, NULL, "sns", "Publish", params, &out, &err), AWS_OK);
  json_decref(out);
  json_decref(params);
  assert_int_equal(stub_header(srv, 0, "Expect", NULL), 0);
  assert_int_equal(stub_header(srv, 0, "Transfer-Encoding", NULL), 0);
  assert_int_equal(stub_header(srv, 0, "Content-Length", &v), 1);
  assert_int_equal(strtoul(v, NULL, 10), strlen(stub_body(srv, 0)));
  free(v);
  assert_int_equal(strlen(stub_body(srv, 0)),
                   strlen("Action=Publish&Version=2010-03-31&Message=") + n);
  aws_client_free(c);
}

#define EC2_ERR(code, msg)                                                                         \
  "<Response><Errors><Error><Code>" code "</Code><Message>" msg                                    \
  "</Message></Error></Errors><RequestID>rid-1</RequestID></Response>"

static void test_retries(void **state) {
  (void)state;
  aws_client *c = client(5, 4);
  json_t *out;
  char *err = NULL;
  reply(503, NULL, EC2_ERR("RequestLimitExceeded", "Request limit exceeded."));
  reply(500, NULL, EC2_ERR("InternalError", "oops"));
  reply(200, NULL, "<StopInstancesResponse><instancesSet/></StopInstancesResponse>");
  assert_int_equal(aws_call(c, NULL, "ec2", "StopInstances", NULL, &out, &err), AWS_OK);
  assert_int_equal(aws_client_last_attempts(c), 3);
  assert_int_equal(json_array_size(json_object_get(out, "instancesSet")), 0);
  json_decref(out);
  aws_client_free(c);

  /* A connection dropped without an answer (on a fresh connection: libcurl
   * itself re-sends once on a reused one that died) is retried by us. */
  c = client(5, 4);
  stub_push(srv, (stub_reply){.drop = true});
  reply(200, NULL, "<StopInstancesResponse><instancesSet/></StopInstancesResponse>");
  assert_int_equal(aws_call(c, NULL, "ec2", "StopInstances", NULL, &out, &err), AWS_OK);
  assert_int_equal(aws_client_last_attempts(c), 2);
  json_decref(out);

  /* Auth errors: once, never retried. */
  stub_reset(srv);
  reply(403, NULL, EC2_ERR("UnauthorizedOperation", "You are not authorized."));
  assert_int_equal(aws_call(c, NULL, "ec2", "StopInstances", NULL, &out, &err), AWS_ERR_SERVICE);
  assert_string_equal(err, "UnauthorizedOperation: You are not authorized. (request id rid-1)");
  assert_int_equal(aws_client_last_attempts(c), 1);
  free(err);
  reply(401, NULL, EC2_ERR("AuthFailure", "AWS was not able to validate the credentials."));
  assert_int_equal(aws_call(c, NULL, "ec2", "StopInstances", NULL, &out, &err),
                   AWS_ERR_CREDENTIALS);
  assert_int_equal(aws_client_last_attempts(c), 1);
  free(err);
  /* A plain client error: once. */
  reply(400, NULL, EC2_ERR("InvalidInstanceID.Malformed", "Invalid id"));
  assert_int_equal(aws_call(c, NULL, "ec2", "StopInstances", NULL, &out, &err), AWS_ERR_SERVICE);
  assert_int_equal(aws_client_last_attempts(c), 1);
  free(err);
  assert_int_equal(stub_pending(srv), 0);
  aws_client_free(c);

  /* max_attempts counts the first: 2 in all, then the last error. */
  c = client(5, 2);
  stub_reset(srv);
  for (int i = 0; i < 3; i++)
    reply(400, "x-amzn-RequestId: q-1\r\n",
          "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate "
          "exceeded</Message></Error><RequestId>q-1</RequestId></ErrorResponse>");
  assert_int_equal(aws_call(c, NULL, "iam", "GetUser", NULL, &out, &err), AWS_ERR_SERVICE);
  assert_string_equal(err, "Throttling: Rate exceeded (request id q-1) (after 2 attempts)");
  assert_int_equal(stub_requests(srv), 2);
  free(err);
  aws_client_free(c);
}

static void test_timeout_and_cap(void **state) {
  (void)state;
  aws_client *c = client(1, 1);
  json_t *out;
  char *err = NULL;
  stub_push(srv, (stub_reply){200, NULL, "<R/>", 1500, false});
  assert_int_equal(aws_call(c, NULL, "sns", "Publish", NULL, &out, &err), AWS_ERR_NETWORK);
  assert_non_null(strstr(err, "timed out after 1 s"));
  free(err);
  aws_client_free(c);

  c = client(5, 3);
  aws_client_set_max_response(c, 1024);
  char big[4096];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  stub_reset(srv);
  reply(200, NULL, big);
  assert_int_equal(aws_call(c, NULL, "sns", "Publish", NULL, &out, &err), AWS_ERR_PARSE);
  assert_non_null(strstr(err, "too large"));
  assert_int_equal(aws_client_last_attempts(c), 1);
  free(err);
  /* Garbage in a 200: a parse error, not a crash. */
  reply(200, NULL, "<PublishResponse><unclosed>");
  assert_int_equal(aws_call(c, NULL, "sns", "Publish", NULL, &out, &err), AWS_ERR_PARSE);
  assert_true(str_starts(err, "could not read the sns Publish response: XML parse error"));
  free(err);
  /* Nothing listening: a network error after every attempt. */
  setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1", 1);
  assert_int_equal(aws_call(c, NULL, "sns", "Publish", NULL, &out, &err), AWS_ERR_NETWORK);
  assert_true(str_starts(err, "could not reach 127.0.0.1:1: "));
  assert_non_null(strstr(err, "(after 3 attempts)"));
  free(err);
  setenv("AWS_ENDPOINT_URL", "ftp://x", 1);
  assert_int_equal(aws_call(c, NULL, "sns", "Publish", NULL, &out, &err), AWS_ERR_NETWORK);
  assert_non_null(strstr(err, "AWS_ENDPOINT_URL"));
  free(err);
  aws_client_free(c);
}

static void test_unsupported(void **state) {
  (void)state;
  aws_client *c = client(5, 1);
  json_t *out;
  char *err = NULL;
  assert_int_equal(aws_call(c, NULL, "lambda", "Invoke", NULL, &out, &err), AWS_ERR_UNSUPPORTED);
  assert_non_null(strstr(err, "\"lambda\" is not supported"));
  free(err);
  assert_int_equal(aws_call(c, NULL, "ec2", "describe-instances", NULL, &out, &err),
                   AWS_ERR_UNSUPPORTED);
  free(err);
  assert_int_equal(aws_call(c, NULL, "s3", "PutObject", NULL, &out, &err), AWS_ERR_UNSUPPORTED);
  assert_non_null(strstr(err, "PutObject"));
  free(err);
  json_t *bad = json_pack("{s:{s:s}}", "Filter", "Name", "x");
  assert_int_equal(aws_call(c, NULL, "ec2", "DescribeInstances", bad, &out, &err),
                   AWS_ERR_UNSUPPORTED);
  assert_non_null(strstr(err, "Filter"));
  free(err);
  json_decref(bad);
  bad = json_pack("{s:s}", "Bucket", "Not_A_Bucket");
  assert_int_equal(aws_call(c, NULL, "s3", "HeadBucket", bad, &out, &err), AWS_ERR_UNSUPPORTED);
  free(err);
  json_decref(bad);
  assert_int_equal(aws_call_region(c, NULL, "x/y", "ec2", "DescribeInstances", NULL, &out, &err),
                   AWS_ERR_UNSUPPORTED);
  free(err);
  assert_int_equal(stub_requests(srv), 0);
  aws_client_free(c);
}

static void test_s3(void **state) {
  (void)state;
  aws_client *c = client(5, 1);
  char *xml = example("s3-ListBuckets-paginated.xml", NULL), *err = NULL, *v;
  reply(200, "x-amz-request-id: s3rid\r\n", xml);
  free(xml);
  json_t *p = json_pack("{s:i, s:s}", "max-buckets", 2, "ContinuationToken", "ab/c=="), *out;
  assert_int_equal(aws_call(c, NULL, "s3", "ListBuckets", p, &out, &err), AWS_OK);
  json_decref(p);
  assert_int_equal(json_array_size(json_object_get(json_object_get(out, "Buckets"), "Bucket")), 2);
  json_decref(out);
  assert_true(str_starts(path_of(0), "GET /?max-buckets=2&continuation-token=ab%2Fc%3D%3D "));
  assert_int_equal(stub_header(srv, 0, "x-amz-content-sha256", &v), 1);
  assert_string_equal(v, SIGV4_EMPTY_SHA256);
  free(v);
  assert_int_equal(stub_header(srv, 0, "Authorization", &v), 1);
  assert_non_null(strstr(v, "/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;"
                            "x-amz-date, "));
  free(v);

  /* Bucket operations go path style on an override. */
  reply(200, "x-amz-bucket-region: eu-west-1\r\n", NULL);
  p = json_pack("{s:s}", "Bucket", "team-data-eu");
  assert_int_equal(aws_call(c, NULL, "s3", "HeadBucket", p, &out, &err), AWS_OK);
  assert_string_equal(json_string_value(json_object_get(out, "BucketRegion")), "eu-west-1");
  json_decref(out);
  assert_true(str_starts(path_of(1), "HEAD /team-data-eu HTTP/1.1\r\n"));
  reply(200, NULL,
        "<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "eu-west-1</LocationConstraint>");
  assert_int_equal(aws_call(c, NULL, "s3", "GetBucketLocation", p, &out, &err), AWS_OK);
  assert_string_equal(json_string_value(json_object_get(out, "LocationConstraint")), "eu-west-1");
  json_decref(out);
  assert_true(str_starts(path_of(2), "GET /team-data-eu?location HTTP/1.1\r\n"));
  /* A 301 to the bucket's region reads well. */
  reply(301, "x-amz-bucket-region: eu-west-1\r\nx-amz-request-id: R3\r\n", NULL);
  assert_int_equal(aws_call(c, NULL, "s3", "HeadBucket", p, &out, &err), AWS_ERR_SERVICE);
  assert_string_equal(err, "HTTP 301 Moved Permanently (the bucket is in eu-west-1) "
                           "(request id R3)");
  free(err);
  json_decref(p);
  aws_client_free(c);
}

static void test_kms(void **state) {
  (void)state;
  aws_client *c = client(5, 1);
  char *resp = example("kms-Decrypt-response.json", NULL), *err = NULL, *v;
  reply(200, "x-amzn-RequestId: k1\r\nContent-Type: application/x-amz-json-1.1\r\n", resp);
  free(resp);
  unsigned char *plain;
  size_t len;
  assert_int_equal(aws_kms_decrypt(c, "AQID\nBAU=", &plain, &len, &err), AWS_OK);
  assert_int_equal(len, 31);
  assert_memory_equal(plain, "This is Day 1 for the Internet\n", 31);
  OPENSSL_cleanse(plain, len);
  free(plain);
  assert_int_equal(stub_header(srv, 0, "X-Amz-Target", &v), 1);
  assert_string_equal(v, "TrentService.Decrypt");
  free(v);
  assert_int_equal(stub_header(srv, 0, "Content-Type", &v), 1);
  assert_string_equal(v, "application/x-amz-json-1.1");
  free(v);
  assert_int_equal(stub_header(srv, 0, "Authorization", &v), 1);
  assert_non_null(strstr(v, "/kms/aws4_request, SignedHeaders=content-type;host;x-amz-date;"
                            "x-amz-target, "));
  free(v);
  assert_string_equal(stub_body(srv, 0), "{\"CiphertextBlob\":\"AQIDBAU=\"}");

  reply(400, NULL, "{\"__type\":\"InvalidCiphertextException\"}");
  assert_int_equal(aws_kms_decrypt(c, "AQIDBAU=", &plain, &len, &err), AWS_ERR_SERVICE);
  assert_string_equal(err, "InvalidCiphertextException");
  free(err);
  assert_int_equal(aws_kms_decrypt(c, "not base64!", &plain, &len, &err), AWS_ERR_UNSUPPORTED);
  free(err);
  assert_int_equal(stub_requests(srv), 2);
  aws_client_free(c);
}

static void test_assume_role(void **state) {
  (void)state;
  aws_client *c = client(5, 1);
  char *xml = example("sts-AssumeRole.xml", NULL), *err = NULL, *v;
  reply(200, NULL, xml);
  free(xml);
  json_t *tags = json_pack("{s:s, s:s}", "slack-user", "U123", "slack-name", "alice");
  aws_creds cr;
  assert_int_equal(aws_assume_role(c, NULL, "arn:aws:iam::123456789012:role/demo", "alice", "alice",
                                   tags, 900, &cr, &err),
                   AWS_OK);
  json_decref(tags);
  assert_string_equal(cr.access_key_id, "ASIAIOSFODNN7EXAMPLE");
  assert_string_equal(cr.secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
  assert_true(str_starts(cr.session_token, "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4"
                                           "x4HIZ8j4FZTwdQWLWsKWHGBuFq"));
  assert_null(strpbrk(cr.session_token, " \t\r\n"));
  int64_t want;
  assert_true(aws_parse_iso8601("2019-11-09T13:34:41Z", &want));
  assert_int_equal(cr.expiration, want);
  assert_string_equal(cr.source, "assumed role");
  assert_string_equal(stub_body(srv, 0),
                      "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A"
                      "123456789012%3Arole%2Fdemo&RoleSessionName=alice&DurationSeconds=900&"
                      "SourceIdentity=alice&Tags.member.1.Key=slack-user&Tags.member.1.Value=U123&"
                      "Tags.member.2.Key=slack-name&Tags.member.2.Value=alice");

  /* The new credentials sign the next call, token included. */
  reply(200, NULL,
        "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>a</Arn>"
        "</GetCallerIdentityResult></GetCallerIdentityResponse>");
  json_t *out;
  assert_int_equal(aws_call(c, &cr, "sts", "GetCallerIdentity", NULL, &out, &err), AWS_OK);
  json_decref(out);
  assert_int_equal(stub_header(srv, 1, "X-Amz-Security-Token", &v), 1);
  assert_string_equal(v, cr.session_token);
  free(v);
  assert_int_equal(stub_header(srv, 1, "Authorization", &v), 1);
  assert_non_null(strstr(v, "Credential=ASIAIOSFODNN7EXAMPLE/"));
  free(v);
  aws_creds copy;
  aws_creds_copy(&copy, &cr);
  assert_string_equal(copy.session_token, cr.session_token);
  aws_creds_clear(&copy);
  aws_creds_clear(&cr);
  assert_null(cr.access_key_id);

  char *denied = example("sts-error-AccessDenied.xml", NULL);
  reply(403, NULL, denied);
  free(denied);
  assert_int_equal(aws_assume_role(c, NULL, "arn:aws:iam::1:role/x", "s", NULL, NULL, 0, &cr, &err),
                   AWS_ERR_SERVICE);
  assert_true(str_starts(err, "AccessDenied: User: arn:aws:iam::123456789012:user/demo"));
  free(err);
  assert_int_equal(aws_assume_role(c, NULL, "", "s", NULL, NULL, 0, &cr, &err),
                   AWS_ERR_UNSUPPORTED);
  free(err);
  aws_client_free(c);
}

/* Client settings from the environment and the profile, as botocore reads
 * them; what cannot be honoured is said, and the default used. */
static void test_settings(void **state) {
  (void)state;
  for (int i = 0; i < 6; i++)
    reply(503, NULL,
          "<Response><Errors><Error><Code>Unavailable</Code></Error></Errors></Response>");
  setenv("AWS_MAX_ATTEMPTS", "2", 1);
  aws_client *c = client(5, 5); /* the environment beats [aws] max_attempts */
  assert_null(aws_client_setting_error(c));
  json_t *out;
  char *err = NULL;
  assert_int_equal(aws_call(c, NULL, "ec2", "DescribeInstances", NULL, &out, &err),
                   AWS_ERR_SERVICE);
  assert_int_equal(aws_client_last_attempts(c), 2);
  free(err);
  aws_client_free(c);
  unsetenv("AWS_MAX_ATTEMPTS");

  static const struct {
    const char *var, *value, *want;
  } bad[] = {
      {"AWS_RETRY_MODE", "adaptive",
       "AWS_RETRY_MODE \"adaptive\" is not supported (it rate-limits on the client side); "
       "slashd retries in standard mode: set standard"},
      {"AWS_RETRY_MODE", "legacy-ish", "AWS_RETRY_MODE \"legacy-ish\" is not a retry mode"},
      {"AWS_MAX_ATTEMPTS", "lots", "AWS_MAX_ATTEMPTS \"lots\" is not a number of attempts"},
      {"AWS_USE_FIPS_ENDPOINT", "yes", "AWS_USE_FIPS_ENDPOINT \"yes\" is neither true nor false"},
      {"AWS_CA_BUNDLE", "/nonexistent/ca.pem",
       "AWS_CA_BUNDLE \"/nonexistent/ca.pem\" cannot be "
       "read"},
  };
  for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
    setenv(bad[i].var, bad[i].value, 1);
    c = client(5, 1);
    const char *e = aws_client_setting_error(c);
    if (!e || !str_starts(e, bad[i].want))
      fail_msg("%s=%s: %s", bad[i].var, bad[i].value, e ? e : "(accepted)");
    aws_client_free(c);
    unsetenv(bad[i].var);
  }
  /* The same keys in the profile, when the environment has none. */
  char cfg[] = "/tmp/slashd-settings-XXXXXX";
  int fd = mkstemp(cfg);
  assert_true(fd >= 0);
  const char *text = "[default]\nmax_attempts = 3\nretry_mode = adaptive\n";
  assert_true(write_all(fd, text, strlen(text)));
  close(fd);
  setenv("AWS_CONFIG_FILE", cfg, 1);
  stub_reset(srv);
  for (int i = 0; i < 4; i++)
    reply(503, NULL,
          "<Response><Errors><Error><Code>Unavailable</Code></Error></Errors></Response>");
  c = client(5, 5);
  assert_string_equal(aws_client_setting_error(c),
                      "retry_mode \"adaptive\" is not supported (it rate-limits on the client "
                      "side); slashd retries in standard mode: set standard");
  assert_int_equal(aws_call(c, NULL, "ec2", "DescribeInstances", NULL, &out, &err),
                   AWS_ERR_SERVICE);
  assert_int_equal(aws_client_last_attempts(c), 3);
  free(err);
  aws_client_free(c);
  unlink(cfg);
  setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);

  setenv("AWS_RETRY_MODE", "standard", 1);
  setenv("AWS_USE_DUALSTACK_ENDPOINT", "TRUE", 1);
  c = client(5, 1);
  assert_null(aws_client_setting_error(c));
  aws_client_free(c);
  unsetenv("AWS_RETRY_MODE");
  unsetenv("AWS_USE_DUALSTACK_ENDPOINT");
}

int main(void) {
  shared_require("test_client", EXAMPLES_SUBDIR);
  srv = stub_start();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_query_wire, setup),
      cmocka_unit_test_setup(test_retries, setup),
      cmocka_unit_test_setup(test_timeout_and_cap, setup),
      cmocka_unit_test_setup(test_unsupported, setup),
      cmocka_unit_test_setup(test_s3, setup),
      cmocka_unit_test_setup(test_kms, setup),
      cmocka_unit_test_setup(test_assume_role, setup),
      cmocka_unit_test_setup(test_settings, setup),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  stub_stop(srv);
  return rc;
}
