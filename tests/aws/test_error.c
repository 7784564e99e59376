/* Error mapping over the reference error bodies (read at test time), and
 * the retry/backoff policy. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "aws/error.h"
#include "aws/retry.h"
#include "testutil.h"

static char *sentence_of(long status, const aws_headers *h, const char *body, aws_error *e) {
  aws_error_parse(status, h, body, body ? strlen(body) : 0, e);
  return aws_error_sentence(e);
}

static void test_xml_errors(void **state) {
  (void)state;
  aws_error e;
  char *body = example("ec2-error-InvalidInstanceID.xml", NULL);
  char *s = sentence_of(400, NULL, body, &e);
  assert_string_equal(s, "InvalidInstanceID.NotFound: The instance ID 'i-1a2b3c4d' does not "
                         "exist (request id ea966190-f9aa-478e-9ede-example)");
  assert_false(aws_error_retryable(400, e.code));
  free(s);
  free(body);
  aws_error_free(&e);

  body = example("ec2-error-UnsupportedOperation.xml", NULL);
  s = sentence_of(400, NULL, body, &e);
  assert_string_equal(e.code, "UnsupportedOperation");
  assert_string_equal(e.request_id, "0503f4e9-bbd6-483c-b54f-c4ae9f3b30f4");
  assert_true(str_starts(e.message, "AMIs with an instance-store"));
  free(s);
  free(body);
  aws_error_free(&e);

  body = example("sts-error-AccessDenied.xml", NULL);
  s = sentence_of(403, NULL, body, &e);
  assert_string_equal(s, "AccessDenied: User: arn:aws:iam::123456789012:user/demo is not "
                         "authorized to perform: sts:AssumeRole (request id "
                         "ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE)");
  assert_true(aws_error_is_auth(e.code));
  assert_false(aws_error_is_bad_credentials(e.code));
  free(s);
  free(body);
  aws_error_free(&e);

  body = example("s3-error-NoSuchKey.xml", NULL);
  s = sentence_of(404, NULL, body, &e);
  assert_string_equal(s, "NoSuchKey: The resource you requested does not exist (request id "
                         "4442587FB7D0A2F9)");
  free(s);
  free(body);
  aws_error_free(&e);

  long status;
  aws_headers h = {0};
  body = http_example("iam-error-AccessDenied-real.http", &status, &h);
  assert_int_equal(status, 403);
  s = sentence_of(status, &h, body, &e);
  assert_string_equal(e.code, "AccessDenied");
  assert_string_equal(e.request_id, "98ca53c1-cacf-4e90-af82-76e914cba248");
  assert_true(str_starts(s, "AccessDenied: User: arn:aws:iam::579766882180:user/Suganthi.Mani is "
                            "not authorized to perform: iam:GetUser"));
  assert_false(aws_error_retryable(status, e.code));
  free(s);
  free(body);
  hdrs_free(&h);
  aws_error_free(&e);
}

static void test_json_errors(void **state) {
  (void)state;
  /* Every JSON line of json-error-examples.txt. */
  char *text = example("json-error-examples.txt", NULL), *save = NULL;
  const char *want[] = {"InvalidGreeting", "FooError", "FooError", "FooError"};
  size_t n = 0;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    if (line[0] != '{')
      continue;
    aws_error e;
    aws_error_parse(400, NULL, line, strlen(line), &e);
    assert_true(n < ARRAY_LEN(want));
    assert_string_equal(e.code, want[n]);
    if (n == 0)
      assert_string_equal(e.message, "Hi");
    n++;
    aws_error_free(&e);
  }
  assert_int_equal(n, ARRAY_LEN(want));
  free(text);

  aws_error e;
  aws_headers h = {0};
  hdrs_add(&h, "x-amzn-RequestId", "9e02f41f-1c6f-11e6-af63-ab8791945da7");
  char *s = sentence_of(
      400, &h, "{\"__type\":\"NotFoundException\",\"message\":\"Key 'arn:x' does not exist\"}", &e);
  assert_string_equal(s, "NotFoundException: Key 'arn:x' does not exist (request id "
                         "9e02f41f-1c6f-11e6-af63-ab8791945da7)");
  free(s);
  aws_error_free(&e);
  /* The X-Amzn-Errortype header wins over the body. */
  hdrs_add(&h, "X-Amzn-Errortype", "ThrottlingException:http://internal/");
  aws_error_parse(400, &h, "{\"__type\":\"Other\"}", 18, &e);
  assert_string_equal(e.code, "ThrottlingException");
  assert_true(aws_error_retryable(400, e.code));
  aws_error_free(&e);
  hdrs_free(&h);

  s = sentence_of(400, NULL,
                  "{\"__type\":\"com.amazonaws.kms#UnrecognizedClientException\","
                  "\"Message\":\"The security token included in the request is "
                  "invalid.\"}",
                  &e);
  assert_string_equal(e.code, "UnrecognizedClientException");
  assert_true(aws_error_is_bad_credentials(e.code));
  free(s);
  aws_error_free(&e);
}

static void test_no_body(void **state) {
  (void)state;
  aws_error e;
  aws_headers h = {0};
  hdrs_add(&h, "x-amz-request-id", "REQ1");
  char *s = sentence_of(503, &h, NULL, &e);
  assert_string_equal(s, "HTTP 503 Service Unavailable (request id REQ1)");
  assert_true(aws_error_retryable(503, e.code));
  free(s);
  aws_error_free(&e);
  s = sentence_of(502, NULL, "<html>bad gateway</html", &e); /* garbage: no crash */
  assert_string_equal(s, "HTTP 502 Bad Gateway");
  free(s);
  aws_error_free(&e);
  hdrs_add(&h, "x-amz-bucket-region", "eu-west-1");
  s = sentence_of(301, &h,
                  "<Error><Code>PermanentRedirect</Code><Message>Use the right "
                  "endpoint.</Message></Error>",
                  &e);
  assert_string_equal(s, "PermanentRedirect: Use the right endpoint. (the bucket is in "
                         "eu-west-1) (request id REQ1)");
  free(s);
  aws_error_free(&e);
  hdrs_free(&h);
}

static void test_retry_class(void **state) {
  (void)state;
  const char *retry[] = {"Throttling",           "ThrottlingException",
                         "RequestLimitExceeded", "TooManyRequestsException",
                         "RequestThrottled",     "SlowDown"};
  for (size_t i = 0; i < ARRAY_LEN(retry); i++)
    assert_true(aws_error_retryable(400, retry[i]));
  const char *never[] = {"AuthFailure", "SignatureDoesNotMatch", "AccessDenied", "ExpiredToken",
                         "UnrecognizedClientException"};
  for (size_t i = 0; i < ARRAY_LEN(never); i++) {
    assert_false(aws_error_retryable(403, never[i]));
    assert_false(aws_error_retryable(500, never[i])); /* auth never, whatever the status */
  }
  assert_true(aws_error_retryable(429, NULL));
  assert_true(aws_error_retryable(500, "InternalError"));
  assert_true(aws_error_retryable(504, NULL));
  assert_false(aws_error_retryable(400, "ValidationError"));
  assert_false(aws_error_retryable(404, NULL));

  aws_outcome net = {.network_error = true, .transient = true};
  assert_true(aws_should_retry(&net, 1, 3));
  assert_false(aws_should_retry(&net, 3, 3)); /* max_attempts counts the first */
  net.transient = false;
  assert_false(aws_should_retry(&net, 1, 3));
  aws_outcome thr = {.http_status = 400, .code = "Throttling"};
  assert_true(aws_should_retry(&thr, 1, 2));
  assert_false(aws_should_retry(&thr, 2, 2));
  aws_outcome ok = {.http_status = 200};
  assert_false(aws_should_retry(&ok, 1, 5));
  aws_outcome denied = {.http_status = 403, .code = "AccessDenied"};
  assert_false(aws_should_retry(&denied, 1, 5));
}

static void test_backoff(void **state) {
  (void)state;
  /* Ceiling doubles from the base and stops at the cap; full jitter draws
   * anywhere in [0, ceiling]. */
  assert_int_equal(aws_backoff_ms(0, 100, 5000, UINT32_MAX), UINT32_MAX % 101);
  assert_int_equal(aws_backoff_ms(0, 100, 5000, 100), 100);
  assert_int_equal(aws_backoff_ms(0, 100, 5000, 101), 0);
  assert_int_equal(aws_backoff_ms(3, 100, 5000, 800), 800);
  assert_int_equal(aws_backoff_ms(3, 100, 5000, 801), 0);
  assert_int_equal(aws_backoff_ms(6, 100, 5000, 5000), 5000);  /* 6400 capped */
  assert_int_equal(aws_backoff_ms(60, 100, 5000, 5000), 5000); /* no overflow */
  for (uint32_t r = 0; r < 100000; r += 7)
    for (unsigned k = 0; k < 12; k++)
      assert_true(aws_backoff_ms(k, AWS_BACKOFF_BASE_MS, AWS_BACKOFF_CAP_MS, r * 2654435761u) <=
                  AWS_BACKOFF_CAP_MS);
}

int main(void) {
  shared_require("test_error", EXAMPLES_SUBDIR);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_xml_errors), cmocka_unit_test(test_json_errors),
      cmocka_unit_test(test_no_body),    cmocka_unit_test(test_retry_class),
      cmocka_unit_test(test_backoff),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
