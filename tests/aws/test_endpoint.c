/* Endpoints, overrides and region resolution. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "aws/endpoint.h"
#include "base/util.h"

static void clear_env(void) {
  static const char *const vars[] = {"AWS_ENDPOINT_URL",     "AWS_ENDPOINT_URL_EC2",
                                     "AWS_ENDPOINT_URL_S3",  "AWS_ENDPOINT_URL_CLOUDWATCH",
                                     "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_IAM",
                                     "AWS_ENDPOINT_URL_KMS", "AWS_ENDPOINT_URL_SNS",
                                     "AWS_REGION",           "AWS_DEFAULT_REGION"};
  for (size_t i = 0; i < ARRAY_LEN(vars); i++)
    unsetenv(vars[i]);
}

static void check(const char *service, const char *region, const char *ini, const char *url,
                  const char *signing, const char *source) {
  const aws_service *svc = aws_service_find(service);
  assert_non_null(svc);
  aws_endpoint e;
  char *err = NULL;
  if (!aws_endpoint_resolve(svc, region, ini, &e, &err))
    fail_msg("%s %s: %s", service, region, err);
  char *got = aws_endpoint_url(&e, "/", NULL);
  if (strcmp(got, url) != 0)
    fail_msg("%s %s: url %s, want %s", service, region, got, url);
  assert_string_equal(e.signing_region, signing);
  assert_string_equal(e.source, source);
  free(got);
  aws_endpoint_free(&e);
}

static void test_defaults(void **state) {
  (void)state;
  clear_env();
  check("ec2", "eu-west-1", NULL, "https://ec2.eu-west-1.amazonaws.com/", "eu-west-1", "default");
  check("monitoring", "eu-west-1", NULL, "https://monitoring.eu-west-1.amazonaws.com/", "eu-west-1",
        "default");
  check("cloudwatch", "eu-west-1", NULL, "https://monitoring.eu-west-1.amazonaws.com/", "eu-west-1",
        "default");
  check("sts", "us-west-2", NULL, "https://sts.us-west-2.amazonaws.com/", "us-west-2", "default");
  check("kms", "us-west-2", NULL, "https://kms.us-west-2.amazonaws.com/", "us-west-2", "default");
  check("sns", "us-west-2", NULL, "https://sns.us-west-2.amazonaws.com/", "us-west-2", "default");
  check("sqs", "eu-west-1", NULL, "https://sqs.eu-west-1.amazonaws.com/", "eu-west-1", "default");
  check("iam", "eu-central-1", NULL, "https://iam.amazonaws.com/", "us-east-1", "default");
  check("s3", "us-east-1", NULL, "https://s3.amazonaws.com/", "us-east-1", "default");
  check("s3", "eu-west-1", NULL, "https://s3.eu-west-1.amazonaws.com/", "eu-west-1", "default");
  check("ec2", "cn-north-1", NULL, "https://ec2.cn-north-1.amazonaws.com.cn/", "cn-north-1",
        "default");
  check("iam", "cn-northwest-1", NULL, "https://iam.cn-north-1.amazonaws.com.cn/", "cn-north-1",
        "default");
  check("iam", "us-gov-east-1", NULL, "https://iam.us-gov.amazonaws.com/", "us-gov-west-1",
        "default");
  assert_null(aws_service_find("lambda"));
  assert_null(aws_service_find(NULL));

  aws_endpoint e;
  char *err;
  assert_true(aws_endpoint_resolve(aws_service_find("s3"), "eu-west-1", NULL, &e, &err));
  assert_false(e.path_style);
  assert_string_equal(e.host_header, "s3.eu-west-1.amazonaws.com");
  aws_endpoint_free(&e);
}

static void test_overrides(void **state) {
  (void)state;
  clear_env();
  /* ini only */
  check("ec2", "eu-west-1", "http://127.0.0.1:4566", "http://127.0.0.1:4566/", "eu-west-1",
        "[aws] endpoint_url");
  /* AWS_ENDPOINT_URL beats the ini */
  setenv("AWS_ENDPOINT_URL", "http://localhost:5000/", 1);
  check("ec2", "eu-west-1", "http://127.0.0.1:4566", "http://localhost:5000/", "eu-west-1",
        "AWS_ENDPOINT_URL");
  /* the service's own variable beats both; others keep the general one */
  setenv("AWS_ENDPOINT_URL_EC2", "https://ec2.internal:8443/prefix/", 1);
  check("ec2", "eu-west-1", NULL, "https://ec2.internal:8443/prefix/", "eu-west-1",
        "AWS_ENDPOINT_URL_EC2");
  check("sts", "eu-west-1", NULL, "http://localhost:5000/", "eu-west-1", "AWS_ENDPOINT_URL");
  setenv("AWS_ENDPOINT_URL_CLOUDWATCH", "http://cw:80", 1);
  check("monitoring", "eu-west-1", NULL, "http://cw/", "eu-west-1", "AWS_ENDPOINT_URL_CLOUDWATCH");
  /* global services sign us-east-1 whatever the override */
  check("iam", "eu-west-1", NULL, "http://localhost:5000/", "us-east-1", "AWS_ENDPOINT_URL");
  /* S3 on an override: path style, the client's region */
  aws_endpoint e;
  char *err = NULL;
  assert_true(aws_endpoint_resolve(aws_service_find("s3"), "eu-west-1", NULL, &e, &err));
  assert_true(e.path_style);
  assert_string_equal(e.signing_region, "eu-west-1");
  assert_string_equal(e.host_header, "localhost:5000");
  aws_endpoint_free(&e);
  setenv("AWS_ENDPOINT_URL_KMS", "https://[::1]:443", 1);
  check("kms", "eu-west-1", NULL, "https://[::1]/", "eu-west-1", "AWS_ENDPOINT_URL_KMS");
  /* malformed overrides are refused with the variable named */
  const char *bad[] = {"ftp://x",        "http://",     "http://a:99999", "http://u:p@h",
                       "localhost:4566", "http://[::1", "http://a b"};
  for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
    setenv("AWS_ENDPOINT_URL_SNS", bad[i], 1);
    assert_false(aws_endpoint_resolve(aws_service_find("sns"), "eu-west-1", NULL, &e, &err));
    assert_non_null(strstr(err, "AWS_ENDPOINT_URL_SNS"));
    free(err);
  }
  clear_env();
}

static void test_region(void **state) {
  (void)state;
  clear_env();
  const char *src;
  char *r = aws_region_resolve(NULL, NULL, &src);
  assert_string_equal(r, "us-east-1");
  assert_string_equal(src, "default");
  free(r);
  r = aws_region_resolve(NULL, "eu-west-3", &src);
  assert_string_equal(r, "eu-west-3");
  assert_string_equal(src, "[aws] region");
  free(r);
  r = aws_region_resolve("ap-south-1", "eu-west-3", &src);
  assert_string_equal(r, "ap-south-1");
  assert_string_equal(src, "profile");
  free(r);
  setenv("AWS_DEFAULT_REGION", "ca-central-1", 1);
  r = aws_region_resolve("ap-south-1", "eu-west-3", &src);
  assert_string_equal(r, "ca-central-1");
  assert_string_equal(src, "AWS_DEFAULT_REGION");
  free(r);
  setenv("AWS_REGION", "sa-east-1", 1);
  r = aws_region_resolve("ap-south-1", "eu-west-3", &src);
  assert_string_equal(r, "sa-east-1");
  assert_string_equal(src, "AWS_REGION");
  free(r);
  assert_true(aws_region_valid("us-gov-west-1"));
  assert_false(aws_region_valid("evil.com/"));
  assert_false(aws_region_valid(""));
  clear_env();
}

static void check_variant(const char *service, const char *region, unsigned variant,
                          const char *url) {
  aws_endpoint e;
  char *err = NULL;
  assert_true(
      aws_endpoint_resolve_variant(aws_service_find(service), region, NULL, variant, &e, &err));
  char *got = aws_endpoint_url(&e, "/", NULL);
  if (strcmp(got, url) != 0)
    fail_msg("%s %s %u: url %s, want %s", service, region, variant, got, url);
  free(got);
  aws_endpoint_free(&e);
}

/* AWS_USE_FIPS_ENDPOINT / AWS_USE_DUALSTACK_ENDPOINT hosts; an override
 * URL wins over both. */
static void test_variants(void **state) {
  (void)state;
  clear_env();
  check_variant("ec2", "eu-west-1", AWS_EP_FIPS, "https://ec2-fips.eu-west-1.amazonaws.com/");
  check_variant("ec2", "eu-west-1", AWS_EP_DUALSTACK, "https://ec2.eu-west-1.api.aws/");
  check_variant("sts", "us-east-2", AWS_EP_FIPS | AWS_EP_DUALSTACK,
                "https://sts-fips.us-east-2.api.aws/");
  check_variant("s3", "us-east-1", AWS_EP_DUALSTACK,
                "https://s3.dualstack.us-east-1.amazonaws.com/");
  check_variant("s3", "eu-west-1", AWS_EP_FIPS | AWS_EP_DUALSTACK,
                "https://s3-fips.dualstack.eu-west-1.amazonaws.com/");
  check_variant("iam", "eu-west-1", AWS_EP_FIPS, "https://iam-fips.amazonaws.com/");
  check_variant("ec2", "eu-west-1", 0, "https://ec2.eu-west-1.amazonaws.com/");
  setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9999", 1);
  check_variant("ec2", "eu-west-1", AWS_EP_FIPS | AWS_EP_DUALSTACK, "http://127.0.0.1:9999/");
  clear_env();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_overrides),
      cmocka_unit_test(test_region),
      cmocka_unit_test(test_variants),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
