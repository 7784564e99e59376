/* jobs.c's job message and wire.c's messages: each one round trips, and a
 * malformed one or one of an unknown version is refused with a clear error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/ipc.h"
#include "job_fixture.h"
#include "base/util.h"
#include "base/wire.h"
#include "slashd/plugin.h"

static job *sample_job(void) {
  const char *argv[] = {"i-1 x", "ü"};
  job *j = fixture_job("b00t-42", "ec2 stop \"i-1 x\" ü", "https://hooks.slack.com/commands/T1/1/x",
                       "ec2", "stop", 2, argv);
  j->access = SLASHD_WRITE;
  j->dedupe_key = xstrdup("T1|U1|stop");
  j->accepted_ms = 1700000000123;
  j->accepted_wall = 1700000000;
  j->deadline_ms = 1700000060123;
  j->identity = xstrdup("arn:aws:iam::123456789012:role/ops");
  j->region = xstrdup("eu-west-1");
  return j;
}

static void assert_same_job(const job *a, const job *b) {
  assert_string_equal(a->id, b->id);
  assert_string_equal(a->team_id, b->team_id);
  assert_string_equal(a->user_id, b->user_id);
  assert_string_equal(a->user_name, b->user_name);
  assert_string_equal(a->channel_id, b->channel_id);
  assert_string_equal(a->channel_name, b->channel_name);
  assert_string_equal(a->command, b->command);
  assert_string_equal(a->text, b->text);
  assert_string_equal(a->response_url, b->response_url);
  assert_string_equal(a->plugin, b->plugin);
  assert_string_equal(a->cmd, b->cmd);
  assert_int_equal(a->argc, b->argc);
  for (int i = 0; i < a->argc; i++)
    assert_string_equal(a->argv[i], b->argv[i]);
  assert_null(b->argv[b->argc]);
  assert_int_equal(a->access, b->access);
  assert_int_equal(a->accepted_ms, b->accepted_ms);
  assert_int_equal(a->accepted_wall, b->accepted_wall);
  assert_int_equal(a->deadline_ms, b->deadline_ms);
  const char *const *opt_a[] = {(const char *const *)&a->identity, (const char *const *)&a->region,
                                (const char *const *)&a->account, (const char *const *)&a->session};
  const char *const *opt_b[] = {(const char *const *)&b->identity, (const char *const *)&b->region,
                                (const char *const *)&b->account, (const char *const *)&b->session};
  for (size_t i = 0; i < ARRAY_LEN(opt_a); i++) {
    if (*opt_a[i])
      assert_string_equal(*opt_a[i], *opt_b[i]);
    else
      assert_null(*opt_b[i]); /* absent stays absent: "the default" */
  }
}

/* Through text, as it travels. */
static json_t *through_text(json_t *m) {
  char *s = json_dumps(m, JSON_COMPACT);
  json_decref(m);
  assert_non_null(s);
  json_t *back = json_loads(s, 0, NULL);
  free(s);
  assert_non_null(back);
  return back;
}

static void test_job_round_trip(void **state) {
  (void)state;
  job *j = sample_job();
  json_t *o = through_text(job_encode(j));
  assert_int_equal(json_integer_value(json_object_get(o, "v")), JOB_VERSION);
  assert_null(json_object_get(o, "dedupe_key")); /* process-local: not sent */
  char *err = NULL;
  job *back = job_decode(o, &err);
  assert_null(err);
  assert_non_null(back);
  assert_same_job(j, back);
  assert_null(back->dedupe_key);
  job_free(back);
  json_decref(o);
  job_free(j);
}

/* Decodes `o` (taken) and expects a refusal naming `needle`. */
static void expect_job_refused(json_t *o, const char *needle) {
  char *err = NULL;
  job *j = job_decode(o, &err);
  assert_null(j);
  assert_non_null(err);
  if (!strstr(err, needle))
    fail_msg("\"%s\" not in \"%s\"", needle, err);
  free(err);
  json_decref(o);
}

static void test_job_refused(void **state) {
  (void)state;
  job *j = sample_job();
  json_t *o = job_encode(j);
  json_object_set_new(o, "v", json_integer(2));
  expect_job_refused(o, "version 2");
  o = job_encode(j);
  json_object_del(o, "v");
  expect_job_refused(o, "no version");
  const char *fields[] = {"id", "user", "response_url", "args", "access", "accepted_ms"};
  for (size_t i = 0; i < ARRAY_LEN(fields); i++) {
    o = job_encode(j);
    json_object_del(o, fields[i]);
    expect_job_refused(o, fields[i]);
  }
  o = job_encode(j);
  json_object_set_new(o, "access", json_string("admin"));
  expect_job_refused(o, "access");
  o = job_encode(j);
  json_object_set_new(o, "text", json_integer(3));
  expect_job_refused(o, "text");
  o = job_encode(j);
  json_object_set_new(o, "user", json_stringn("U\0001", 3)); /* a hidden NUL */
  expect_job_refused(o, "user");
  o = job_encode(j);
  json_t *args = json_array();
  for (int i = 0; i < 33; i++)
    json_array_append_new(args, json_string("a"));
  json_object_set_new(o, "args", args);
  expect_job_refused(o, "args");
  o = job_encode(j);
  json_object_set_new(o, "id", json_string("0123456789012345678901234567890123456789"));
  expect_job_refused(o, "id");
  expect_job_refused(json_array(), "not a JSON object");
  job_free(j);
}

static wire_msg decode_ok(json_t *m, json_t **keep) {
  *keep = through_text(m);
  wire_msg w;
  char *err = NULL;
  if (!wire_decode(*keep, NULL, &w, &err))
    fail_msg("refused: %s", err);
  assert_null(err);
  return w;
}

static void test_messages_round_trip(void **state) {
  (void)state;
  json_t *keep;
  wire_msg w = decode_ok(wire_hello(77, 3, json_pack("{s:[]}", "plugins")), &keep);
  assert_int_equal(w.t, WIRE_HELLO);
  assert_int_equal(w.pid, 77);
  assert_int_equal(w.generation, 3);
  assert_non_null(json_object_get(w.manifest, "plugins"));
  json_decref(keep);

  w = decode_ok(wire_done("r1", SLASHD_ERR_DENIED, true, 2, "host", NULL), &keep);
  assert_int_equal(w.t, WIRE_DONE);
  assert_string_equal(w.id, "r1");
  assert_int_equal(w.status, SLASHD_ERR_DENIED);
  assert_true(w.error);
  assert_int_equal(w.posts, 2);
  assert_string_equal(w.identity, "host");
  assert_null(w.session);
  assert_null(w.aws_source);
  json_decref(keep);

  json_t *done = wire_done("r2", 0, false, 1, "host", NULL);
  wire_done_add_aws(done, "profile ops", 1796000000, -42);
  w = decode_ok(done, &keep);
  assert_string_equal(w.aws_source, "profile ops");
  assert_int_equal(w.aws_expires, 1796000000);
  assert_int_equal(w.aws_skew, -42);
  json_decref(keep);

  json_t *entry = json_pack("{s:s}", "key", "T1|U1|C1");
  w = decode_ok(wire_creds(entry), &keep);
  assert_int_equal(w.t, WIRE_CREDS);
  assert_string_equal(json_string_value(json_object_get(w.creds, "key")), "T1|U1|C1");
  json_decref(keep);

  job *j = sample_job();
  w = decode_ok(wire_job(j, entry), &keep);
  assert_int_equal(w.t, WIRE_JOB);
  assert_string_equal(w.id, j->id);
  assert_same_job(j, w.job);
  assert_non_null(w.creds);
  wire_msg_free(&w);
  assert_null(w.job);
  json_decref(keep);
  w = decode_ok(wire_job(j, NULL), &keep);
  assert_null(w.creds);
  wire_msg_free(&w);
  json_decref(keep);
  json_decref(entry);
  job_free(j);
}

/* Decodes the JSON text and expects a refusal naming `needle`. */
static void expect_refused(const char *text, const char *needle) {
  json_t *m = json_loads(text, 0, NULL);
  assert_non_null(m);
  wire_msg w;
  char *err = NULL;
  assert_false(wire_decode(m, NULL, &w, &err));
  assert_non_null(err);
  if (!strstr(err, needle))
    fail_msg("\"%s\" not in \"%s\" (for %s)", needle, err, text);
  assert_null(w.job);
  free(err);
  json_decref(m);
}

static void test_messages_refused(void **state) {
  (void)state;
  expect_refused("{\"t\":\"reply\",\"id\":\"r\",\"flags\":0,\"interim\":false,\"text\":\"x\"}",
                 "no version");
  expect_refused(
      "{\"t\":\"reply\",\"v\":2,\"id\":\"r\",\"flags\":0,\"interim\":false,\"text\":\"x\"}",
      "version 2");
  expect_refused("{\"t\":\"bye\",\"v\":1}", "unknown type");
  expect_refused("{\"v\":1}", "type");
  expect_refused("[1]", "type");
  expect_refused("{\"t\":\"hello\",\"v\":1,\"pid\":1,\"generation\":1}", "manifest");
  expect_refused("{\"t\":\"hello\",\"v\":1,\"pid\":\"1\",\"generation\":1,\"manifest\":{}}", "pid");
  expect_refused("{\"t\":\"reply\",\"v\":1,\"flags\":0,\"interim\":false,\"text\":\"x\"}", "id");
  expect_refused("{\"t\":\"reply\",\"v\":1,\"id\":\"r\",\"flags\":0,\"interim\":1,\"text\":\"x\"}",
                 "interim");
  expect_refused(
      "{\"t\":\"reply\",\"v\":1,\"id\":\"r\",\"flags\":-1,\"interim\":true,\"text\":\"\"}",
      "flags");
  expect_refused("{\"t\":\"done\",\"v\":1,\"id\":\"r\",\"status\":0,\"error\":false}", "posts");
  expect_refused("{\"t\":\"done\",\"v\":1,\"id\":\"r\",\"status\":0,\"error\":false,\"posts\":0,"
                 "\"identity\":5}",
                 "identity");
  expect_refused("{\"t\":\"creds\",\"v\":1,\"entry\":\"x\"}", "entry");
  expect_refused("{\"t\":\"job\",\"v\":1}", "job");
  expect_refused("{\"t\":\"job\",\"v\":1,\"job\":{\"v\":9}}", "version 9");
}

/* A datagram as ipc_read leaves it (NUL after the last byte) into a
 * decoded message; `hold` keeps the header and the bytes alive. */
typedef struct datagram {
  char *buf;
  json_t *head;
  wire_payload pl;
} datagram;

static bool decode_datagram(const char *bytes, size_t n, datagram *d, wire_msg *w, char **err) {
  d->buf = xmalloc(n + 1);
  memcpy(d->buf, bytes, n);
  d->buf[n] = '\0';
  json_error_t jerr;
  d->head = ipc_parse(d->buf, n, &d->pl.p, &d->pl.len, &jerr);
  if (!d->head)
    fail_msg("header not parsed: %s", jerr.text);
  return wire_decode(d->head, &d->pl, w, err);
}

static void datagram_free(datagram *d) {
  json_decref(d->head);
  free(d->buf);
}

static void test_reply_round_trip(void **state) {
  (void)state;
  const char *texts[] = {"no <b>", "", "two\nlines \"quoted\" \\ \t ü \xf0\x9f\x98\x80 \x01"};
  for (size_t i = 0; i < ARRAY_LEN(texts); i++) {
    sbuf b = {0};
    wire_reply_text(&b, "r1", SLASHD_REPLY_ERROR, i == 0, texts[i]);
    datagram d;
    wire_msg w;
    char *err = NULL;
    if (!decode_datagram(b.p, b.len, &d, &w, &err))
      fail_msg("refused: %s", err);
    assert_int_equal(w.t, WIRE_REPLY);
    assert_string_equal(w.id, "r1");
    assert_int_equal(w.flags, SLASHD_REPLY_ERROR);
    assert_int_equal(w.interim, i == 0);
    assert_string_equal(w.text, texts[i]);
    assert_null(w.blocks);
    /* The text rides raw, after the header. */
    assert_memory_equal(b.p + b.len - strlen(texts[i]), texts[i], strlen(texts[i]));
    datagram_free(&d);
    sbuf_free(&b);
  }
  /* Blocks stay in the header; text that is not UTF-8 is cleaned by the
   * encoder, never sent as it is. */
  json_t *blocks = json_pack("[{s:s}]", "type", "divider");
  sbuf b = {0};
  wire_reply_blocks_text(&b, "r2", 0, false, "bad \xff end", blocks);
  datagram d;
  wire_msg w;
  char *err = NULL;
  if (!decode_datagram(b.p, b.len, &d, &w, &err))
    fail_msg("refused: %s", err);
  assert_string_equal(w.text, "bad \xef\xbf\xbd end");
  assert_true(json_equal(w.blocks, blocks));
  datagram_free(&d);
  sbuf_free(&b);
  json_decref(blocks);
}

/* A reply datagram: header with text_bytes = announced, then `n` payload
 * bytes; expects a refusal naming `needle`. */
static void expect_reply_refused(long long announced, const char *payload, size_t n,
                                 const char *needle) {
  sbuf b = {0};
  sbuf_addf(&b,
            "{\"t\":\"reply\",\"v\":1,\"id\":\"r\",\"flags\":0,\"interim\":false,"
            "\"text_bytes\":%lld}",
            announced);
  sbuf_add(&b, "", 1);
  sbuf_add(&b, payload, n);
  datagram d;
  wire_msg w;
  char *err = NULL;
  assert_false(decode_datagram(b.p, b.len, &d, &w, &err));
  assert_non_null(err);
  if (!strstr(err, needle))
    fail_msg("\"%s\" not in \"%s\"", needle, err);
  free(err);
  datagram_free(&d);
  sbuf_free(&b);
}

static void test_reply_payload_refused(void **state) {
  (void)state;
  expect_reply_refused(5, "ab", 2, "not the 5 bytes"); /* truncated */
  expect_reply_refused(1, "ab", 2, "not the 1 bytes"); /* longer than announced */
  expect_reply_refused(-1, "", 0, "text_bytes");       /* negative */
  expect_reply_refused(3, "a\0b", 3, "NUL");           /* a hidden NUL */
  expect_reply_refused(3,
                       "a\xff"
                       "b",
                       3, "not UTF-8");                  /* invalid UTF-8 */
  expect_reply_refused(2, "\xc3", 1, "not the 2 bytes"); /* cut in a sequence */
  expect_reply_refused(1, "\xc3", 1, "not UTF-8");       /* a cut sequence */
  /* Over the limit, even when the count matches. */
  size_t big = (size_t)IPC_MAX + 1;
  char *p = xmalloc(big);
  memset(p, 'a', big);
  expect_reply_refused((long long)big, p, big, "text_bytes");
  free(p);
  /* No payload at all, or the old form with the text in the header. */
  expect_refused("{\"t\":\"reply\",\"v\":1,\"id\":\"r\",\"flags\":0,\"interim\":false,"
                 "\"text_bytes\":0}",
                 "not the 0 bytes");
  expect_refused("{\"t\":\"reply\",\"v\":1,\"id\":\"r\",\"flags\":0,\"interim\":false,"
                 "\"text\":\"x\"}",
                 "text_bytes");
  /* A payload the caller did not end with a NUL (ipc_read always does). */
  json_t *m = json_loads("{\"t\":\"reply\",\"v\":1,\"id\":\"r\",\"flags\":0,\"interim\":false,"
                         "\"text_bytes\":2}",
                         0, NULL);
  wire_payload pl = {"abc", 2};
  wire_msg w;
  char *err = NULL;
  assert_false(wire_decode(m, &pl, &w, &err));
  assert_non_null(strstr(err, "not the 2 bytes"));
  free(err);
  /* Only a reply may carry bytes after its header. */
  sbuf b = {0};
  wire_done_text(&b, "r", 0, false, 1, NULL, NULL, NULL);
  sbuf_add(&b, "\0x", 2);
  datagram d;
  assert_false(decode_datagram(b.p, b.len, &d, &w, &err));
  assert_non_null(strstr(err, "unexpected bytes"));
  free(err);
  datagram_free(&d);
  sbuf_free(&b);
  json_decref(m);
}

static void test_journal_records(void **state) {
  (void)state;
  job *j = sample_job();
  char *line = wire_accept_line(j);
  json_t *r = json_loads(line, 0, NULL);
  free(line);
  wire_msg w;
  char *err = NULL;
  assert_true(wire_decode_record(r, &w, &err));
  assert_int_equal(w.t, WIRE_ACCEPT);
  assert_string_equal(w.id, j->id);
  assert_same_job(j, w.job);
  wire_msg_free(&w);
  json_decref(r);

  line = wire_finished_line(j->id);
  r = json_loads(line, 0, NULL);
  free(line);
  assert_true(wire_decode_record(r, &w, &err));
  assert_int_equal(w.t, WIRE_FINISHED);
  assert_string_equal(w.id, j->id);
  json_decref(r);

  /* The flat record of slashd before the job message: still recovered. */
  r = json_loads("{\"t\":\"accept\",\"id\":\"old-1\",\"ts\":1700000000,\"user\":\"U1\","
                 "\"team\":\"T1\",\"command\":\"/aws\",\"text\":\"ec2 stop i-1\","
                 "\"response_url\":\"https://hooks.slack.com/x\",\"write\":true}",
                 0, NULL);
  assert_true(wire_decode_record(r, &w, &err));
  assert_int_equal(w.t, WIRE_ACCEPT);
  assert_string_equal(w.job->id, "old-1");
  assert_string_equal(w.job->user_id, "U1");
  assert_string_equal(w.job->text, "ec2 stop i-1");
  assert_string_equal(w.job->response_url, "https://hooks.slack.com/x");
  assert_int_equal(w.job->accepted_wall, 1700000000);
  assert_int_equal(w.job->access, SLASHD_WRITE);
  wire_msg_free(&w);
  json_decref(r);

  r = json_loads("{\"t\":\"accept\",\"v\":3,\"job\":{}}", 0, NULL);
  assert_false(wire_decode_record(r, &w, &err));
  assert_non_null(strstr(err, "version 3"));
  free(err);
  json_decref(r);
  r = json_loads("{\"t\":\"reply\",\"v\":1}", 0, NULL);
  assert_false(wire_decode_record(r, &w, &err));
  free(err);
  json_decref(r);
  job_free(j);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_job_round_trip),      cmocka_unit_test(test_job_refused),
      cmocka_unit_test(test_messages_round_trip), cmocka_unit_test(test_messages_refused),
      cmocka_unit_test(test_reply_round_trip),    cmocka_unit_test(test_reply_payload_refused),
      cmocka_unit_test(test_journal_records),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
