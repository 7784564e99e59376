/* The ec2 plugin (build/plugins/ec2.so) through the fake host: paging,
 * console decoding, and start/stop waits against the job's deadline. The
 * canned answers have the shape the host's XML conversion gives
 * (core/aws/xml.h: <item> lists are arrays, leaves are strings). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plugin_test.h"

#define ID1 "i-0a1b2c3d4e5f00001"
#define ID2 "i-0a1b2c3d4e5f00002"
#define ID3 "i-0a1b2c3d4e5f00003"
#define ID4 "i-0a1b2c3d4e5f00004"

/* One instance as DescribeInstances lists it; name NULL: no Name tag. */
static char *instance(const char *id, const char *name, const char *state) {
  char *s = NULL;
  char tags[128] = "[]";
  if (name)
    snprintf(tags, sizeof tags, "[{\"key\": \"Name\", \"value\": \"%s\"}]", name);
  if (asprintf(&s,
               "{\"instanceId\": \"%s\", \"instanceType\": \"t3.micro\", \"privateIpAddress\": "
               "\"10.0.0.%c\", \"instanceState\": {\"code\": \"16\", \"name\": \"%s\"}, "
               "\"tagSet\": %s}",
               id, id[strlen(id) - 1], state, tags) < 0)
    abort();
  return s;
}

static void answer_state(fakehost *fh, const char *id, const char *state) {
  char *i = instance(id, "web", state), *doc = NULL;
  if (asprintf(&doc, "{\"requestId\": \"r\", \"reservationSet\": [{\"instancesSet\": [%s]}]}", i) <
      0)
    abort();
  fakehost_answer(fh, "ec2", "DescribeInstances", doc);
  free(doc);
  free(i);
}

/* ---- list --------------------------------------------------------------- */

static void test_list_reads_every_reservation_of_every_page(void **state) {
  (void)state;
  fakehost *fh = load((const char *[]){"page_size", "5", NULL});
  char *a = instance(ID3, "zeta", "running"), *b = instance(ID1, "alpha", "stopped"),
       *c = instance(ID4, NULL, "pending"), *d = instance(ID2, "beta", "running");
  char *page1 = NULL, *page2 = NULL;
  /* Page 1: two reservations, one of them with two instances. */
  if (asprintf(&page1,
               "{\"requestId\": \"r1\", \"reservationSet\": [{\"reservationId\": \"r-1\", "
               "\"instancesSet\": [%s, %s]}, {\"reservationId\": \"r-2\", \"instancesSet\": "
               "[%s]}], \"nextToken\": \"tok-page-2\"}",
               a, b, c) < 0 ||
      asprintf(&page2,
               "{\"requestId\": \"r2\", \"reservationSet\": [{\"reservationId\": \"r-3\", "
               "\"instancesSet\": [%s]}]}",
               d) < 0)
    abort();
  fakehost_answer(fh, "ec2", "DescribeInstances", page1);
  fakehost_answer(fh, "ec2", "DescribeInstances", page2);

  assert_int_equal(run1(fh, "list", NULL), SLASHD_OK);
  assert_int_equal(fakehost_ncalls(fh), 2);
  assert_int_equal(fakehost_unused(fh), 0);
  /* The page size from the config, the second page asked by its token. */
  const fake_aws_call *c0 = fakehost_call(fh, 0), *c1 = fakehost_call(fh, 1);
  assert_string_equal(c0->action, "DescribeInstances");
  assert_int_equal(json_integer_value(json_object_get(c0->params, "MaxResults")), 5);
  assert_null(json_object_get(c0->params, "NextToken"));
  assert_string_equal(fakehost_param(fh, 1, "NextToken"), "tok-page-2");
  assert_int_equal(json_integer_value(json_object_get(c1->params, "MaxResults")), 5);

  assert_int_equal(fakehost_nreplies(fh), 1);
  const fake_reply *r = fakehost_reply(fh, 0);
  assert_false(r->interim);
  assert_int_equal(r->flags & SLASHD_REPLY_ERROR, 0);
  assert_string_equal(r->text, "4 instances:");
  /* By name, the unnamed one last. */
  const char *pa = strstr(r->code, ID1), *pb = strstr(r->code, ID2), *pz = strstr(r->code, ID3),
             *pn = strstr(r->code, ID4);
  assert_true(pa && pb && pz && pn);
  assert_true(pa < pb && pb < pz && pz < pn);
  assert_non_null(strstr(r->code, "INSTANCE ID"));
  assert_non_null(strstr(r->code, "10.0.0.4"));
  free(page1);
  free(page2);
  free(a);
  free(b);
  free(c);
  free(d);
  fakehost_free(fh);
}

static void test_list_empty_names_the_region(void **state) {
  (void)state;
  fakehost *fh = load(NULL);
  fakehost_caller(fh, NULL, "eu-west-1", "prod");
  fakehost_answer(fh, "ec2", "DescribeInstances", "{\"requestId\": \"r\", \"reservationSet\": []}");
  assert_int_equal(run1(fh, "list", NULL), SLASHD_OK);
  assert_string_equal(fakehost_final(fh), "No instances in eu-west-1 (prod).");
  assert_int_equal(json_integer_value(json_object_get(fakehost_call(fh, 0)->params, "MaxResults")),
                   1000);
  fakehost_free(fh);
}

static void test_list_failure_is_a_readable_error(void **state) {
  (void)state;
  fakehost *fh = load(NULL);
  fakehost_fail(fh, "ec2", "DescribeInstances", SLASHD_ERR_AWS,
                "UnauthorizedOperation: You are not authorized to perform this operation.");
  assert_int_equal(run1(fh, "list", NULL), SLASHD_OK);
  const fake_reply *r = fakehost_reply(fh, 0);
  assert_true(r->flags & SLASHD_REPLY_ERROR);
  assert_string_equal(r->text, "Could not list the instances: UnauthorizedOperation: You are not "
                               "authorized to perform this operation.");
  fakehost_free(fh);
}

/* ---- console ------------------------------------------------------------ */

/* "boot: line one\nboot: line two\nlogin: <ready> & waiting\n", with the
 * line breaks EC2 puts inside its base64. */
#define CONSOLE_B64                                                                                \
  "Ym9vdDogbGluZSBvbmUK\\nYm9vdDogbGluZSB0d28K\\r\\nbG9naW46IDxyZWFkeT4gJiB3YWl0aW5nCg=="

static void test_console_decodes_and_keeps_the_last_lines(void **state) {
  (void)state;
  fakehost *fh = load((const char *[]){"console_lines", "2", NULL});
  fakehost_answer(fh, "ec2", "GetConsoleOutput",
                  "{\"requestId\": \"r\", \"instanceId\": \"" ID1 "\", \"output\": \"" CONSOLE_B64
                  "\"}");
  assert_int_equal(run1(fh, "console", ID1), SLASHD_OK);
  assert_string_equal(fakehost_param(fh, 0, "InstanceId"), ID1);
  assert_string_equal(fakehost_param(fh, 0, "Latest"), "true");
  const fake_reply *r = fakehost_reply(fh, 0);
  assert_string_equal(r->text, "Console output of " ID1 " (last 2 lines):");
  /* Passed raw: escaping & < > is the host's job. */
  assert_string_equal(r->code, "boot: line two\nlogin: <ready> & waiting");
  fakehost_free(fh);
}

static void test_console_falls_back_without_latest(void **state) {
  (void)state;
  fakehost *fh = load(NULL);
  fakehost_fail(fh, "ec2", "GetConsoleOutput", SLASHD_ERR_AWS,
                "UnsupportedOperation: The instance type does not support latest console output.");
  fakehost_answer(fh, "ec2", "GetConsoleOutput", "{\"output\": \"" CONSOLE_B64 "\"}");
  assert_int_equal(run1(fh, "console", ID1), SLASHD_OK);
  assert_int_equal(fakehost_ncalls(fh), 2);
  assert_string_equal(fakehost_param(fh, 0, "Latest"), "true");
  assert_null(json_object_get(fakehost_call(fh, 1)->params, "Latest"));
  assert_string_equal(fakehost_reply(fh, 0)->code,
                      "boot: line one\nboot: line two\nlogin: <ready> & waiting");
  fakehost_free(fh);
}

static void test_console_without_output_and_bad_id(void **state) {
  (void)state;
  fakehost *fh = load(NULL);
  fakehost_answer(fh, "ec2", "GetConsoleOutput", "{\"instanceId\": \"" ID1 "\", \"output\": \"\"}");
  assert_int_equal(run1(fh, "console", ID1), SLASHD_OK);
  assert_non_null(strstr(fakehost_final(fh), "has no console output yet"));
  /* A malformed id never reaches AWS. */
  assert_int_equal(run1(fh, "console", "i-XYZ"), SLASHD_OK);
  assert_int_equal(fakehost_ncalls(fh), 0);
  assert_true(fakehost_reply(fh, 0)->flags & SLASHD_REPLY_ERROR);
  fakehost_free(fh);
}

/* ---- start / stop ------------------------------------------------------- */

static void answer_change(fakehost *fh, const char *action, const char *id, const char *now) {
  char *doc = NULL;
  if (asprintf(&doc,
               "{\"requestId\": \"r\", \"instancesSet\": [{\"instanceId\": \"%s\", "
               "\"currentState\": {\"code\": \"64\", \"name\": \"%s\"}, \"previousState\": "
               "{\"code\": \"16\", \"name\": \"running\"}}]}",
               id, now) < 0)
    abort();
  fakehost_answer(fh, "ec2", action, doc);
  free(doc);
}

static void test_stop_waits_for_the_state(void **state) {
  (void)state;
  fakehost *fh = load(NULL); /* poll every 5 s, wait up to 120 s */
  answer_state(fh, ID1, "running");
  answer_change(fh, "StopInstances", ID1, "stopping");
  answer_state(fh, ID1, "stopping");
  answer_state(fh, ID1, "stopped");
  assert_int_equal(run1(fh, "stop", ID1), SLASHD_OK);
  assert_int_equal(fakehost_unused(fh), 0);
  assert_int_equal(fakehost_ncalls(fh), 4);
  assert_string_equal(fakehost_call(fh, 1)->action, "StopInstances");
  assert_string_equal(fakehost_param(fh, 1, "InstanceId.1"), ID1);
  assert_int_equal(fakehost_nreplies(fh), 2);
  assert_true(fakehost_reply(fh, 0)->interim);
  assert_string_equal(fakehost_reply(fh, 0)->text, "Stopping " ID1 "… (stopping)");
  assert_string_equal(fakehost_final(fh), ID1 " is stopped (took 10 s).");
  assert_int_equal(fakehost_slept(fh), 10);
  fakehost_free(fh);
}

static void test_start_answers_before_the_deadline(void **state) {
  (void)state;
  fakehost *fh = load(NULL);
  /* 20 s left: the plugin keeps 2 s for its answer, so it may wait 18 s,
   * polling every 5 s: three polls, then the final answer. */
  fakehost_deadline(fh, 20000);
  answer_state(fh, ID2, "stopped");
  answer_change(fh, "StartInstances", ID2, "pending");
  for (int i = 0; i < 3; i++)
    answer_state(fh, ID2, "pending");
  assert_int_equal(run1(fh, "start", ID2), SLASHD_OK);
  assert_int_equal(fakehost_unused(fh), 0);
  assert_int_equal(fakehost_ncalls(fh), 5);
  assert_int_equal(fakehost_slept(fh), 15);
  assert_string_equal(fakehost_reply(fh, 0)->text, "Starting " ID2 "… (pending)");
  assert_string_equal(fakehost_final(fh), ID2 " is still pending after 15 s; it should be running "
                                              "soon. Check with `/aws ec2 list`.");
  assert_false(fakehost_reply(fh, 1)->flags & SLASHD_REPLY_ERROR);
  fakehost_free(fh);
}

static void test_no_time_left_means_no_wait(void **state) {
  (void)state;
  fakehost *fh = load(NULL);
  fakehost_deadline(fh, 1500);
  answer_state(fh, ID2, "stopped");
  answer_change(fh, "StartInstances", ID2, "pending");
  assert_int_equal(run1(fh, "start", ID2), SLASHD_OK);
  assert_int_equal(fakehost_unused(fh), 0);
  assert_int_equal(fakehost_ncalls(fh), 2);
  assert_int_equal(fakehost_slept(fh), 0);
  assert_non_null(strstr(fakehost_final(fh), "is still pending after 0 s"));
  fakehost_free(fh);
}

static void test_wait_seconds_bounds_the_wait(void **state) {
  (void)state;
  fakehost *fh = load((const char *[]){"wait_seconds", "4", "poll_seconds", "2", NULL});
  answer_state(fh, ID1, "running");
  answer_change(fh, "StopInstances", ID1, "stopping");
  answer_state(fh, ID1, "stopping");
  answer_state(fh, ID1, "stopping");
  assert_int_equal(run1(fh, "stop", ID1), SLASHD_OK);
  assert_int_equal(fakehost_unused(fh), 0);
  assert_int_equal(fakehost_slept(fh), 4);
  assert_non_null(strstr(fakehost_final(fh), "is still stopping after 4 s"));
  fakehost_free(fh);
}

static void test_nothing_to_do_and_not_found(void **state) {
  (void)state;
  fakehost *fh = load(NULL);
  answer_state(fh, ID1, "stopped");
  assert_int_equal(run1(fh, "stop", ID1), SLASHD_OK);
  assert_int_equal(fakehost_ncalls(fh), 1); /* no StopInstances */
  assert_string_equal(fakehost_final(fh), ID1 " is already stopped; nothing to do.");

  fakehost_caller(fh, NULL, "us-west-2", NULL);
  fakehost_fail(fh, "ec2", "DescribeInstances", SLASHD_ERR_AWS,
                "InvalidInstanceID.NotFound: The instance ID '" ID3 "' does not exist");
  assert_int_equal(run1(fh, "start", ID3), SLASHD_OK);
  assert_int_equal(fakehost_ncalls(fh), 1);
  const fake_reply *r = fakehost_reply(fh, 0);
  assert_true(r->flags & SLASHD_REPLY_ERROR);
  assert_non_null(strstr(r->text, ID3 " was not found in us-west-2; try --region."));

  answer_state(fh, ID4, "terminated");
  assert_int_equal(run1(fh, "start", ID4), SLASHD_OK);
  assert_string_equal(fakehost_final(fh), ID4 " is terminated; it cannot be started.");
  fakehost_free(fh);
}

static void test_argument_bounds_are_the_tables(void **state) {
  (void)state;
  fakehost *fh = load(NULL);
  assert_int_equal(fakehost_run(fh, "stop", 0, (const char *const[]){NULL}), SLASHD_ERR_ARGS);
  assert_int_equal(fakehost_run(fh, "reboot", 0, (const char *const[]){NULL}),
                   SLASHD_ERR_NOT_FOUND);
  assert_int_equal(fakehost_nreplies(fh), 0);
  fakehost_free(fh);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_list_reads_every_reservation_of_every_page),
      cmocka_unit_test(test_list_empty_names_the_region),
      cmocka_unit_test(test_list_failure_is_a_readable_error),
      cmocka_unit_test(test_console_decodes_and_keeps_the_last_lines),
      cmocka_unit_test(test_console_falls_back_without_latest),
      cmocka_unit_test(test_console_without_output_and_bad_id),
      cmocka_unit_test(test_stop_waits_for_the_state),
      cmocka_unit_test(test_start_answers_before_the_deadline),
      cmocka_unit_test(test_no_time_left_means_no_wait),
      cmocka_unit_test(test_wait_seconds_bounds_the_wait),
      cmocka_unit_test(test_nothing_to_do_and_not_found),
      cmocka_unit_test(test_argument_bounds_are_the_tables),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
