/* admission.c with a fake environment (no HTTP, no journal, no pool): every
 * kind of ack, the 400-worthy field checks, and the job a queued request
 * hands to the enqueue callback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/admission.h"
#include "slashd/plugin.h"
#include "unit_util.h"

static const char manifest_text[] =
    "{\"plugins\":["
    " {\"name\":\"help\",\"version\":\"1\",\"summary\":\"Help\",\"commands\":["
    "  {\"name\":\"help\",\"usage\":\"[plugin]\",\"summary\":\"List\",\"min\":0,"
    "   \"max\":1,\"access\":\"read\",\"default\":true}]},"
    " {\"name\":\"ec2\",\"version\":\"1\",\"summary\":\"EC2\",\"commands\":["
    "  {\"name\":\"list\",\"usage\":\"[filter]\",\"summary\":\"List\",\"min\":0,"
    "   \"max\":1,\"access\":\"read\",\"default\":true},"
    "  {\"name\":\"stop\",\"usage\":\"<instance-id>\",\"summary\":\"Stop\","
    "   \"min\":1,\"max\":1,\"access\":\"write\"}]}"
    "]}";

static const char ini[] = "[slack]\n"
                          "command = /aws\n"
                          "[access]\n"
                          "ec2.list = U1, U2\n";

/* The fake process: what the callbacks saw and what they answer. */
typedef struct fake {
  config *cfg;
  route_table *routes;
  url_policy policy;
  char *hosts[1];
  dedupe dd;
  atomic_bool draining;
  size_t backlog;
  enqueue_status enqueue_answer;
  size_t depth;
  bool waiting; /* ENQUEUE_OK with f->depth jobs ahead */
  job *queued;  /* the job the last ENQUEUE_OK took */
  int enqueued;
  int seq;
  admission_env env;
} fake;

static size_t fake_backlog(void *ud) {
  return ((fake *)ud)->backlog;
}

static void fake_new_id(void *ud, char out[32]) {
  fake *f = ud;
  snprintf(out, 32, "req-%d", ++f->seq);
}

static enqueue_status fake_enqueue(void *ud, job *j, size_t *depth) {
  fake *f = ud;
  f->enqueued++;
  /* The daemon says how many wait only when the queue is full, or when an
   * accepted job has no free worker (f->waiting). */
  if (f->enqueue_answer != ENQUEUE_OK || f->waiting)
    *depth = f->depth;
  if (f->enqueue_answer == ENQUEUE_OK) {
    job_free(f->queued);
    f->queued = j;
  }
  return f->enqueue_answer;
}

static route_table *table_from(const char *text) {
  json_t *m = json_loads(text, 0, NULL);
  assert_non_null(m);
  char *err = NULL;
  route_table *t = route_table_from_json(m, &err);
  json_decref(m);
  assert_non_null(t);
  return t;
}

static int setup(void **state) {
  fake *f = calloc(1, sizeof *f);
  f->cfg = unit_load_config(ini);
  f->routes = table_from(manifest_text);
  f->hosts[0] = (char *)"hooks.slack.com";
  f->policy = (url_policy){.hosts = f->hosts, .n_hosts = 1};
  dedupe_init(&f->dd, 60);
  atomic_init(&f->draining, false);
  f->env = (admission_env){.cfg = f->cfg,
                           .policy = &f->policy,
                           .routes = f->routes,
                           .dd = &f->dd,
                           .draining = &f->draining,
                           .backlog = fake_backlog,
                           .max_backlog = 100,
                           .new_id = fake_new_id,
                           .enqueue = fake_enqueue,
                           .ud = f,
                           .now_ms = 1700000000123};
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fake *f = *state;
  job_free(f->queued);
  dedupe_destroy(&f->dd);
  route_table_unref(f->routes);
  config_free(f->cfg);
  free(f);
  return 0;
}

/* A well-formed request from U1 with `text`. */
static admission_request request(const char *text) {
  return (admission_request){.door = DOOR_CLI,
                             .team_id = "T1",
                             .user_id = "U1",
                             .user_name = "alice",
                             .channel_id = "C1",
                             .channel_name = "ops",
                             .command = "/aws",
                             .text = text,
                             .response_url = "https://hooks.slack.com/commands/T1/1/x",
                             .enterprise_id = "",
                             .api_app_id = "",
                             .team_domain = "",
                             .trigger_id = ""};
}

/* Decides and checks the kind and that the body contains `needle`. */
static void expect(fake *f, const admission_request *r, ack_kind kind, const char *needle) {
  admission_result res;
  admission_decide(&f->env, r, &res);
  assert_int_equal(res.status, 200);
  assert_int_equal(res.kind, kind);
  assert_true(res.json);
  assert_non_null(res.body);
  if (!strstr(res.body, needle))
    fail_msg("%s not in %s", needle, res.body);
  if (kind != ACK_QUEUED)
    assert_string_equal(res.request_id, "");
  admission_result_free(&res);
}

static void test_queued_job_fields(void **state) {
  fake *f = *state;
  admission_request r = request("ec2 list web");
  admission_result res;
  admission_decide(&f->env, &r, &res);
  assert_int_equal(res.status, 200);
  assert_int_equal(res.kind, ACK_QUEUED);
  assert_string_equal(res.request_id, "req-1");
  assert_non_null(strstr(res.body, "is running"));
  assert_non_null(strstr(res.body, "req-1"));
  admission_result_free(&res);
  job *j = f->queued;
  assert_non_null(j);
  assert_string_equal(j->id, "req-1");
  assert_string_equal(j->team_id, "T1");
  assert_string_equal(j->user_id, "U1");
  assert_string_equal(j->user_name, "alice");
  assert_string_equal(j->channel_id, "C1");
  assert_string_equal(j->channel_name, "ops");
  assert_string_equal(j->command, "/aws");
  assert_string_equal(j->text, "ec2 list web");
  assert_string_equal(j->response_url, "https://hooks.slack.com/commands/T1/1/x");
  assert_string_equal(j->plugin, "ec2");
  assert_string_equal(j->cmd, "list");
  assert_int_equal(j->argc, 1);
  assert_string_equal(j->argv[0], "web");
  assert_null(j->argv[1]);
  assert_int_equal(j->access, SLASHD_READ);
  assert_int_equal(j->accepted_ms, 1700000000123);
  assert_int_equal(j->accepted_wall, 1700000000);
}

static void test_duplicate(void **state) {
  fake *f = *state;
  admission_request r = request("ec2 list");
  expect(f, &r, ACK_QUEUED, "is running");
  expect(f, &r, ACK_DUPLICATE, "already running");
  assert_int_equal(f->enqueued, 1);
  /* Another user's same text is not a duplicate. */
  r.user_id = "U2";
  expect(f, &r, ACK_QUEUED, "is running");
}

static void test_wrong_command(void **state) {
  fake *f = *state;
  admission_request r = request("ec2 list");
  r.command = "/gcp";
  expect(f, &r, ACK_WRONG_COMMAND, "not `/gcp`");
  assert_int_equal(f->enqueued, 0);
}

static void test_url_refused(void **state) {
  fake *f = *state;
  admission_request r = request("ec2 list");
  r.response_url = "https://evil.example/x";
  expect(f, &r, ACK_URL_REFUSED, "allow-list");
  assert_int_equal(f->enqueued, 0);
}

static void test_draining(void **state) {
  fake *f = *state;
  atomic_store(&f->draining, true);
  admission_request r = request("ec2 list");
  expect(f, &r, ACK_DRAINING, "restarting");
  assert_int_equal(f->enqueued, 0);
}

static void test_tokenize_error(void **state) {
  fake *f = *state;
  admission_request r = request("ec2 list \"open");
  expect(f, &r, ACK_USAGE, "Could not read");
}

static void test_usage_and_unknown(void **state) {
  fake *f = *state;
  admission_request r = request("ec2 stop");
  expect(f, &r, ACK_USAGE, "instance-id");
  r = request("nosuch thing");
  expect(f, &r, ACK_UNKNOWN, "nosuch");
  assert_int_equal(f->enqueued, 0);
}

static void test_denied(void **state) {
  fake *f = *state;
  admission_request r = request("ec2 list");
  r.user_id = "U7";
  expect(f, &r, ACK_DENIED, "U7");
  assert_int_equal(f->enqueued, 0);
}

static void test_busy_replies(void **state) {
  fake *f = *state;
  f->backlog = 100;
  admission_request r = request("ec2 list");
  expect(f, &r, ACK_BUSY, "100 replies waiting");
  assert_int_equal(f->enqueued, 0);
}

static void test_busy_queue_and_unrecorded(void **state) {
  fake *f = *state;
  admission_request r = request("ec2 list");
  f->enqueue_answer = ENQUEUE_FULL;
  f->depth = 7;
  expect(f, &r, ACK_BUSY, "7 commands waiting");
  f->enqueue_answer = ENQUEUE_UNRECORDED;
  expect(f, &r, ACK_BUSY, "could not record");
  /* Neither left a dedupe entry behind: the next try is accepted. */
  f->enqueue_answer = ENQUEUE_OK;
  expect(f, &r, ACK_QUEUED, "is running");
}

/* Issue 11, item 21: a job that waits says so, with how many are ahead. */
static void test_queued_ack_says_how_many_ahead(void **state) {
  fake *f = *state;
  admission_request r = request("ec2 list");
  f->waiting = true;
  f->depth = 3;
  expect(f, &r, ACK_QUEUED, "is queued (3 ahead)");
  r.user_id = "U2";
  f->depth = 0;
  expect(f, &r, ACK_QUEUED, "is queued (0 ahead)");
  r = request("ec2 list web");
  f->waiting = false;
  expect(f, &r, ACK_QUEUED, "is running");
}

static void test_ssl_check(void **state) {
  fake *f = *state;
  admission_request r = {.ssl_check = true};
  admission_result res;
  admission_decide(&f->env, &r, &res);
  assert_int_equal(res.status, 200);
  assert_int_equal(res.kind, ACK_SSL_CHECK);
  assert_false(res.json);
  assert_string_equal(res.body, "");
  admission_result_free(&res);
}

/* The checks a door gets from admission_request_from_form. */
static const char *malformed_of(const char *body) {
  form fm = {0};
  assert_int_equal(form_parse(body, strlen(body), &fm, NULL), FORM_OK);
  admission_request r;
  admission_request_from_form(&fm, DOOR_HTTP, &r);
  const char *bad = r.malformed;
  form_free(&fm);
  return bad;
}

static void test_field_checks(void **state) {
  (void)state;
  const char *url = "&response_url=https%3A%2F%2Fhooks.slack.com%2Fx";
  char body[512];
  snprintf(body, sizeof body, "user_id=U1&team_id=T1%s", url);
  assert_null(malformed_of(body));
  snprintf(body, sizeof body, "team_id=T1%s", url);
  assert_string_equal(malformed_of(body), "user_id");
  snprintf(body, sizeof body, "user_id=U%%201%s", url);
  assert_string_equal(malformed_of(body), "user_id");
  snprintf(body, sizeof body, "user_id=U1&text=a%%00b%s", url);
  assert_string_equal(malformed_of(body), "text");
  snprintf(body, sizeof body, "user_id=U1&channel_name=%%C3%%28%s", url);
  assert_string_equal(malformed_of(body), "channel_name");
  assert_string_equal(malformed_of("user_id=U1"), "response_url");
  assert_null(malformed_of("ssl_check=1"));
}

static void test_malformed_is_400(void **state) {
  fake *f = *state;
  admission_request r = request("ec2 list");
  r.malformed = "team_id";
  admission_result res;
  admission_decide(&f->env, &r, &res);
  assert_int_equal(res.status, 400);
  assert_false(res.json);
  assert_string_equal(res.body, "bad request: field team_id is missing or malformed\n");
  admission_result_free(&res);
  assert_int_equal(f->enqueued, 0);
}

static void test_from_json(void **state) {
  fake *f = *state;
  json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "team_id", "T1", "user_id", "U1",
                        "channel_id", "C1", "command", "/aws", "text", "ec2 list", "response_url",
                        "https://hooks.slack.com/commands/T1/2/y");
  admission_request r;
  admission_request_from_json(o, DOOR_SOCKET, &r);
  assert_null(r.malformed);
  assert_string_equal(r.user_name, "");
  expect(f, &r, ACK_QUEUED, "is running");
  assert_string_equal(f->queued->response_url, "https://hooks.slack.com/commands/T1/2/y");
  json_object_set_new(o, "user_id", json_stringn("U\0001", 3));
  admission_request_from_json(o, DOOR_SOCKET, &r);
  assert_string_equal(r.malformed, "user_id");
  json_decref(o);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_queued_job_fields, setup, teardown),
      cmocka_unit_test_setup_teardown(test_duplicate, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wrong_command, setup, teardown),
      cmocka_unit_test_setup_teardown(test_url_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_draining, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tokenize_error, setup, teardown),
      cmocka_unit_test_setup_teardown(test_usage_and_unknown, setup, teardown),
      cmocka_unit_test_setup_teardown(test_denied, setup, teardown),
      cmocka_unit_test_setup_teardown(test_busy_replies, setup, teardown),
      cmocka_unit_test_setup_teardown(test_busy_queue_and_unrecorded, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ssl_check, setup, teardown),
      cmocka_unit_test_setup_teardown(test_malformed_is_400, setup, teardown),
      cmocka_unit_test_setup_teardown(test_from_json, setup, teardown),
      cmocka_unit_test(test_field_checks),
      cmocka_unit_test_setup_teardown(test_queued_ack_says_how_many_ahead, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
