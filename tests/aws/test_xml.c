/* XML → JSON over the reference bodies (read at test time) and hostile
 * documents. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>

#include "aws/xml.h"
#include "testutil.h"

static json_t *conv_file(const char *name, unsigned flags) {
  size_t len;
  char *s = example(name, &len), *err = NULL;
  json_t *j = xml_to_json(s, len, flags, &err);
  if (!j)
    fail_msg("%s: %s", name, err);
  free(s);
  return j;
}

static json_t *conv(const char *s, unsigned flags, char **err) {
  *err = NULL;
  return xml_to_json(s, strlen(s), flags, err);
}

static const char *str_at(const json_t *root, const char *path) {
  /* path like "a.0.b": object keys and array indexes */
  const json_t *v = root;
  char *copy = xstrdup(path), *save = NULL;
  for (char *tok = strtok_r(copy, ".", &save); tok && v; tok = strtok_r(NULL, ".", &save)) {
    if (json_is_array(v))
      v = json_array_get(v, strtoul(tok, NULL, 10));
    else
      v = json_object_get(v, tok);
  }
  free(copy);
  return json_string_value(v);
}

static void test_ec2_describe_instances(void **state) {
  (void)state;
  json_t *j = conv_file("ec2-DescribeInstances.xml", XML_EC2_SETS);
  assert_string_equal(str_at(j, "requestId"), "8f7724cf-496f-496e-8fe3-example");
  json_t *res = json_object_get(j, "reservationSet");
  assert_true(json_is_array(res));
  assert_int_equal(json_array_size(res), 1);
  json_t *r0 = json_array_get(res, 0);
  assert_true(json_is_array(json_object_get(r0, "groupSet"))); /* <groupSet/> → [] */
  assert_int_equal(json_array_size(json_object_get(r0, "groupSet")), 0);
  assert_string_equal(str_at(r0, "instancesSet.0.instanceId"), "i-1234567890abcdef0");
  assert_string_equal(str_at(r0, "instancesSet.0.instanceState.code"), "16");
  assert_string_equal(str_at(r0, "instancesSet.0.instanceState.name"), "running");
  assert_string_equal(str_at(r0, "instancesSet.0.tagSet.0.key"), "Name");
  assert_string_equal(str_at(r0, "instancesSet.0.tagSet.0.value"), "Server_1");
  assert_string_equal(str_at(r0, "instancesSet.0.reason"), ""); /* empty, not a Set */
  assert_string_equal(str_at(r0, "instancesSet.0.networkInterfaceSet.0.groupSet.0.groupId"),
                      "sg-e4076980");
  assert_null(json_object_get(j, "nextToken"));
  json_decref(j);
}

static void test_ec2_empty_and_actions(void **state) {
  (void)state;
  long status;
  aws_headers h = {0};
  char *body = http_example("ec2-DescribeInstances-empty-recorded.http", &status, &h);
  char *err = NULL;
  json_t *j = xml_to_json(body, strlen(body), XML_EC2_SETS, &err);
  assert_non_null(j);
  assert_true(json_is_array(json_object_get(j, "reservationSet")));
  assert_int_equal(json_array_size(json_object_get(j, "reservationSet")), 0);
  json_decref(j);
  free(body);
  hdrs_free(&h);

  j = conv_file("ec2-GetConsoleOutput.xml", XML_EC2_SETS);
  assert_non_null(strchr(str_at(j, "output"), '\n')); /* wrapped base64 kept as sent */
  assert_string_equal(str_at(j, "instanceId"), "i-1234567890abcdef0");
  json_decref(j);

  j = conv_file("ec2-StopInstances.xml", XML_EC2_SETS);
  assert_string_equal(str_at(j, "instancesSet.0.currentState.name"), "stopping");
  assert_string_equal(str_at(j, "instancesSet.0.previousState.code"), "16");
  json_decref(j);
  j = conv_file("ec2-StartInstances.xml", XML_EC2_SETS);
  assert_string_equal(str_at(j, "instancesSet.0.currentState.code"), "0");
  json_decref(j);
}

static void test_query_services(void **state) {
  (void)state;
  json_t *j = conv_file("sts-AssumeRole.xml", 0);
  assert_string_equal(str_at(j, "AssumeRoleResult.Credentials.AccessKeyId"),
                      "ASIAIOSFODNN7EXAMPLE");
  assert_string_equal(str_at(j, "AssumeRoleResult.Credentials.Expiration"), "2019-11-09T13:34:41Z");
  assert_string_equal(str_at(j, "ResponseMetadata.RequestId"),
                      "c6104cbe-af31-11e0-8154-cbc7ccf896c7");
  json_decref(j);

  j = conv_file("iam-GetUser.xml", 0);
  assert_string_equal(str_at(j, "GetUserResult.User.UserName"), "Bob");
  json_decref(j);
  j = conv_file("iam-GetUserPolicy-urlencoded.xml", 0);
  assert_true(str_starts(str_at(j, "GetUserPolicyResult.PolicyDocument"), "%7B%22Statement"));
  json_decref(j);

  j = conv_file("cloudwatch-GetMetricStatistics-BucketSizeBytes.xml", 0);
  json_t *dp = json_object_get(json_object_get(j, "GetMetricStatisticsResult"), "Datapoints");
  assert_true(json_is_array(dp)); /* one <member> is still a list */
  assert_int_equal(json_array_size(dp), 1);
  assert_string_equal(str_at(dp, "0.Average"), "5368709120.0");
  json_decref(j);

  j = conv_file("sns-Publish.xml", 0);
  assert_string_equal(str_at(j, "PublishResult.MessageId"), "567910cd-659e-55d4-8ccb-5aaf14679dc0");
  json_decref(j);
}

static void test_s3_list_buckets(void **state) {
  (void)state;
  json_t *j = conv_file("s3-ListBuckets.xml", 0);
  json_t *b = json_object_get(json_object_get(j, "Buckets"), "Bucket");
  assert_true(json_is_array(b)); /* repeated siblings */
  assert_int_equal(json_array_size(b), 2);
  assert_string_equal(str_at(b, "1.Name"), "amzn-s3-demo-bucket1");
  assert_string_equal(str_at(j, "Owner.ID"), "AIDACKCEVSQ6C2EXAMPLE");
  json_decref(j);
  j = conv_file("s3-ListBuckets-paginated.xml", 0);
  assert_string_equal(str_at(j, "Buckets.Bucket.0.BucketRegion"), "us-east-1");
  assert_true(str_starts(str_at(j, "ContinuationToken"), "eyJNYXJrZXIi"));
  json_decref(j);

  char *err;
  j = conv("<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Buckets>"
           "<Bucket><Name>only</Name></Bucket></Buckets></ListAllMyBucketsResult>",
           0, &err);
  assert_string_equal(str_at(j, "Buckets.Bucket.Name"), "only"); /* single: an object */
  json_decref(j);
  /* A root without children keeps its name (GetBucketLocation). */
  j = conv("<?xml version=\"1.0\"?><LocationConstraint xmlns=\"x\">eu-west-1</LocationConstraint>",
           0, &err);
  assert_string_equal(str_at(j, "LocationConstraint"), "eu-west-1");
  json_decref(j);
}

static void test_shapes(void **state) {
  (void)state;
  char *err;
  json_t *j = conv("<R><a>1</a><b><c/></b><a>2</a><a>3</a><m><member>x</member></m>"
                   "<mixed><item>1</item><other>2</other></mixed><emptySet/></R>",
                   0, &err);
  assert_non_null(j);
  assert_int_equal(json_array_size(json_object_get(j, "a")), 3);
  assert_string_equal(str_at(j, "a.2"), "3");
  assert_string_equal(str_at(j, "b.c"), "");
  assert_string_equal(str_at(j, "m.0"), "x");
  assert_string_equal(str_at(j, "mixed.item"), "1"); /* not all items: an object */
  assert_string_equal(str_at(j, "emptySet"), "");    /* without XML_EC2_SETS */
  json_decref(j);
  /* Attributes, comments, CDATA, predefined entities and char refs. */
  j = conv("<!-- c --><R a=\"1\"><v x=\"y\">a&amp;b&#65;<![CDATA[<z>]]></v></R>", 0, &err);
  assert_string_equal(str_at(j, "v"), "a&bA<z>");
  json_decref(j);
}

static char *nested(int depth) {
  sbuf b = {0};
  for (int i = 0; i < depth; i++)
    sbuf_adds(&b, "<a>");
  sbuf_adds(&b, "x");
  for (int i = 0; i < depth; i++)
    sbuf_adds(&b, "</a>");
  return sbuf_steal(&b);
}

static void expect_error(const char *xml, size_t len, const char *needle) {
  char *err = NULL;
  json_t *j = xml_to_json(xml, len, 0, &err);
  if (j)
    fail_msg("accepted: %.60s", xml);
  assert_non_null(err);
  if (needle && !strstr(err, needle))
    fail_msg("error \"%s\" lacks \"%s\"", err, needle);
  free(err);
}

static void test_hostile(void **state) {
  (void)state;
  char *ok = nested(XML_MAX_DEPTH), *deep = nested(XML_MAX_DEPTH + 1), *err = NULL;
  json_t *j = xml_to_json(ok, strlen(ok), 0, &err);
  assert_non_null(j);
  json_decref(j);
  expect_error(deep, strlen(deep), "deeper");
  free(ok);
  free(deep);
  char *very_deep = nested(100000);
  expect_error(very_deep, strlen(very_deep), "deeper");
  free(very_deep);

  const char *laughs = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
                       "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
                       "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>"
                       "<lolz>&lol3;</lolz>";
  expect_error(laughs, strlen(laughs), "DOCTYPE");
  const char *xxe = "<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><a>&x;</a>";
  expect_error(xxe, strlen(xxe), "DOCTYPE");
  const char *bare = "<!DOCTYPE a><a/>";
  expect_error(bare, strlen(bare), "DOCTYPE");
  expect_error("<a>&x;</a>", 10, "undefined entity");
  expect_error("<a><b>x</b>", 11, "line");    /* truncated */
  expect_error("<a></b>", 7, "mismatched");   /* malformed */
  expect_error("", 0, NULL);                  /* nothing */
  expect_error("<a>\xff\xfe</a>", 9, "line"); /* not UTF-8 */

  /* A 1 MiB attribute is parsed and ignored; a document over the size
   * limit is refused before parsing. */
  sbuf b = {0};
  sbuf_adds(&b, "<R><v big=\"");
  for (int i = 0; i < (1 << 20); i++)
    sbuf_addc(&b, 'A');
  sbuf_adds(&b, "\">t</v></R>");
  j = xml_to_json(b.p, b.len, 0, &err);
  assert_non_null(j);
  assert_string_equal(str_at(j, "v"), "t");
  json_decref(j);
  sbuf_reset(&b);
  sbuf_adds(&b, "<R>");
  while (b.len <= XML_MAX_BYTES)
    sbuf_adds(&b, "<v>0123456789abcdef</v>");
  sbuf_adds(&b, "</R>");
  expect_error(b.p, b.len, "limit");
  sbuf_free(&b);
}

int main(void) {
  shared_require("test_xml", EXAMPLES_SUBDIR);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ec2_describe_instances),
      cmocka_unit_test(test_ec2_empty_and_actions),
      cmocka_unit_test(test_query_services),
      cmocka_unit_test(test_s3_list_buckets),
      cmocka_unit_test(test_shapes),
      cmocka_unit_test(test_hostile),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
