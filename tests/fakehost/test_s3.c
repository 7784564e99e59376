/* The s3 plugin (build/plugins/s3.so) through the fake host: ListBuckets
 * paging, and `usage`, which asks GetBucketLocation first and then
 * CloudWatch in the bucket's own region. The canned answers have the shape
 * the host's XML conversion gives (core/aws/xml.h: one <Bucket> stays an
 * object, several become an array; <LocationConstraint/> alone is
 * {"LocationConstraint": ""}). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plugin_test.h"

/* ---- list --------------------------------------------------------------- */

static void test_list_follows_the_continuation_token(void **state) {
  (void)state;
  fakehost *fh = load((const char *[]){"page_size", "2", NULL});
  fakehost_answer(fh, "s3", "ListBuckets",
                  "{\"Owner\": {\"ID\": \"o\"}, \"Buckets\": {\"Bucket\": [{\"Name\": \"logs\", "
                  "\"CreationDate\": \"2024-01-01T00:00:00.000Z\"}, {\"Name\": \"assets\"}]}, "
                  "\"ContinuationToken\": \"eyJNYXJrZXIiOiAibG9ncyJ9\"}");
  /* The last page: a single <Bucket>, so an object, and no token. */
  fakehost_answer(
      fh, "s3", "ListBuckets",
      "{\"Owner\": {\"ID\": \"o\"}, \"Buckets\": {\"Bucket\": {\"Name\": \"backups\"}}}");
  assert_int_equal(run1(fh, "list", NULL), SLASHD_OK);
  assert_int_equal(fakehost_unused(fh), 0);
  assert_int_equal(fakehost_ncalls(fh), 2);
  assert_string_equal(fakehost_param(fh, 0, "max-buckets"), "2");
  assert_string_equal(fakehost_param(fh, 0, "continuation-token"), "");
  assert_string_equal(fakehost_param(fh, 1, "continuation-token"), "eyJNYXJrZXIiOiAibG9ncyJ9");
  assert_string_equal(fakehost_param(fh, 1, "max-buckets"), "2");
  const fake_reply *r = fakehost_reply(fh, 0);
  assert_string_equal(r->text, "3 buckets:");
  assert_string_equal(r->code, "assets\nbackups\nlogs\n");
  fakehost_free(fh);
}

static void test_list_empty_and_failing(void **state) {
  (void)state;
  fakehost *fh = load(NULL);
  fakehost_answer(fh, "s3", "ListBuckets", "{\"Owner\": {\"ID\": \"o\"}, \"Buckets\": \"\"}");
  assert_int_equal(run1(fh, "list", NULL), SLASHD_OK);
  assert_string_equal(fakehost_param(fh, 0, "max-buckets"), "1000");
  assert_string_equal(fakehost_final(fh), "No buckets in this account.");
  fakehost_fail(fh, "s3", "ListBuckets", SLASHD_ERR_AWS, "AccessDenied: Access Denied");
  assert_int_equal(run1(fh, "list", NULL), SLASHD_OK);
  assert_true(fakehost_reply(fh, 0)->flags & SLASHD_REPLY_ERROR);
  assert_string_equal(fakehost_final(fh),
                      "Could not list the buckets: AccessDenied: Access Denied");
  fakehost_free(fh);
}

/* ---- usage -------------------------------------------------------------- */

/* Two daily datapoints, out of order: the newer one is 1.5 GiB. */
#define METRICS                                                                                    \
  "{\"GetMetricStatisticsResult\": {\"Label\": \"BucketSizeBytes\", \"Datapoints\": ["             \
  "{\"Timestamp\": \"2026-01-04T00:00:00Z\", \"Average\": \"1610612736.0\", \"Unit\": "            \
  "\"Bytes\"}, {\"Timestamp\": \"2026-01-03T00:00:00Z\", \"Average\": \"1073741824.0\", "          \
  "\"Unit\": \"Bytes\"}]}, \"ResponseMetadata\": {\"RequestId\": \"r\"}}"

/* Runs `usage logs` with this GetBucketLocation answer; returns the region
 * CloudWatch was asked in ("" when the plugin did not name one). */
static char *usage_region(const char *location) {
  fakehost *fh = load(NULL);
  fakehost_answer(fh, "s3", "GetBucketLocation", location);
  fakehost_answer(fh, "monitoring", "GetMetricStatistics", METRICS);
  assert_int_equal(run1(fh, "usage", "logs"), SLASHD_OK);
  assert_int_equal(fakehost_unused(fh), 0);
  assert_int_equal(fakehost_ncalls(fh), 2);
  assert_string_equal(fakehost_call(fh, 0)->action, "GetBucketLocation");
  assert_string_equal(fakehost_param(fh, 0, "Bucket"), "logs");
  assert_string_equal(fakehost_call(fh, 1)->service, "monitoring");
  assert_string_equal(
      fakehost_final(fh),
      "logs: 1.50 GiB (1,610,612,736 bytes) in Standard storage, as of 2026-01-04.");
  char *region = strdup(fakehost_param(fh, 1, "@region"));
  fakehost_free(fh);
  return region;
}

static void check_region(const char *location, const char *want) {
  char *got = usage_region(location);
  if (strcmp(got, want) != 0)
    fail_msg("location %s: CloudWatch asked in \"%s\", not \"%s\"", location, got, want);
  free(got);
}

static void test_usage_asks_cloudwatch_in_the_buckets_region(void **state) {
  (void)state;
  check_region("{\"LocationConstraint\": \"eu-central-1\"}", "eu-central-1");
  /* us-east-1 buckets have an empty location (XML <LocationConstraint/>),
   * which SDKs show as null. */
  check_region("{\"LocationConstraint\": \"\"}", "us-east-1");
  check_region("{\"LocationConstraint\": null}", "us-east-1");
  /* The legacy value of buckets made in Ireland long ago. */
  check_region("{\"LocationConstraint\": \"EU\"}", "eu-west-1");
}

static void test_usage_asks_for_the_right_metric(void **state) {
  (void)state;
  fakehost *fh = load(NULL);
  fakehost_answer(fh, "s3", "GetBucketLocation", "{\"LocationConstraint\": \"ap-south-1\"}");
  fakehost_answer(fh, "monitoring", "GetMetricStatistics", METRICS);
  assert_int_equal(run1(fh, "usage", "logs"), SLASHD_OK);
  assert_string_equal(fakehost_call(fh, 1)->action, "GetMetricStatistics");
  static const char *const want[][2] = {
      {"Namespace", "AWS/S3"},
      {"MetricName", "BucketSizeBytes"},
      {"Dimensions.member.1.Name", "BucketName"},
      {"Dimensions.member.1.Value", "logs"},
      {"Dimensions.member.2.Name", "StorageType"},
      {"Dimensions.member.2.Value", "StandardStorage"},
      {"Statistics.member.1", "Average"},
      {"Period", "86400"},
      /* Three days back from the virtual clock's now. */
      {"StartTime", "2026-01-02T12:00:00Z"},
      {"EndTime", "2026-01-05T12:00:00Z"},
      {"@region", "ap-south-1"},
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    assert_string_equal(fakehost_param(fh, 1, want[i][0]), want[i][1]);
  fakehost_free(fh);
}

static void test_usage_without_location_or_bucket(void **state) {
  (void)state;
  fakehost *fh = load(NULL);
  /* No s3:GetBucketLocation permission: the configured region is tried. */
  fakehost_fail(fh, "s3", "GetBucketLocation", SLASHD_ERR_AWS, "AccessDenied: Access Denied");
  fakehost_answer(fh, "monitoring", "GetMetricStatistics",
                  "{\"GetMetricStatisticsResult\": {\"Datapoints\": []}}");
  assert_int_equal(run1(fh, "usage", "logs"), SLASHD_OK);
  assert_int_equal(fakehost_unused(fh), 0);
  assert_null(json_object_get(fakehost_call(fh, 1)->params, "@region"));
  assert_non_null(strstr(fakehost_final(fh), "S3 has not reported a size for logs"));

  fakehost_fail(fh, "s3", "GetBucketLocation", SLASHD_ERR_AWS,
                "NoSuchBucket: The specified bucket does not exist");
  assert_int_equal(run1(fh, "usage", "nope"), SLASHD_OK);
  assert_int_equal(fakehost_ncalls(fh), 1);
  assert_string_equal(fakehost_final(fh), "There is no bucket named nope.");

  assert_int_equal(run1(fh, "usage", "Bad_Name"), SLASHD_OK);
  assert_int_equal(fakehost_ncalls(fh), 0);
  assert_true(fakehost_reply(fh, 0)->flags & SLASHD_REPLY_ERROR);
  fakehost_free(fh);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_list_follows_the_continuation_token),
      cmocka_unit_test(test_list_empty_and_failing),
      cmocka_unit_test(test_usage_asks_cloudwatch_in_the_buckets_region),
      cmocka_unit_test(test_usage_asks_for_the_right_metric),
      cmocka_unit_test(test_usage_without_location_or_bucket),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
