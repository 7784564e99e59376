/* message.c: Slack text escaping, code blocks and the 4,000-character cut. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/message.h"
#include "slashd/plugin.h"
#include "base/util.h"

#define ZWSP "\xe2\x80\x8b"

static void expect_text(unsigned flags, const char *text, const char *code, const char *want) {
  char *got = message_text(flags, text, code);
  assert_string_equal(got, want);
  free(got);
}

/* A string of `n` copies of `unit`. */
static char *repeat(const char *unit, size_t n) {
  sbuf b = {0};
  sbuf_add(&b, "", 0);
  for (size_t i = 0; i < n; i++)
    sbuf_adds(&b, unit);
  return sbuf_steal(&b);
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Every '&' starts one of the three entities the escaper writes. */
static void assert_entities_whole(const char *s) {
  for (const char *p = strchr(s, '&'); p; p = strchr(p + 1, '&'))
    if (!str_starts(p, "&amp;") && !str_starts(p, "&lt;") && !str_starts(p, "&gt;"))
      fail_msg("entity cut at offset %zu: \"%.8s\"", (size_t)(p - s), p);
}

static void test_escape(void **state) {
  (void)state;
  expect_text(0, "a & b < c > d", NULL, "a &amp; b &lt; c &gt; d");
  /* & first: an entity in the input is shown as typed, not interpreted. */
  expect_text(0, "&lt;", NULL, "&amp;lt;");
  expect_text(0, "&amp;", NULL, "&amp;amp;");
  sbuf b = {0};
  slack_escape(&b, "<&>x", 3); /* only n bytes */
  assert_string_equal(b.p, "&lt;&amp;&gt;");
  sbuf_free(&b);
}

static void test_mentions_neutralized(void **state) {
  (void)state;
  expect_text(0, "tag: <!channel> <!here> <@U123>", NULL,
              "tag: &lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt;");
  char *t = message_text(0, "Name=<!everyone>", NULL);
  assert_null(strchr(t, '<'));
  assert_null(strchr(t, '>'));
  free(t);
}

static void test_mrkdwn_not_escaped(void **state) {
  (void)state;
  expect_text(SLASHD_REPLY_MRKDWN, "*bold* & <https://x.example|link> <!here>", NULL,
              "*bold* & <https://x.example|link> <!here>");
  /* Trusted mrkdwn may span lines: no code block. */
  expect_text(SLASHD_REPLY_MRKDWN, "*a*\n*b*", NULL, "*a*\n*b*");
  /* Other flags do not change the text. */
  expect_text(SLASHD_REPLY_ERROR | SLASHD_REPLY_IN_CHANNEL, "a<b", NULL, "a&lt;b");
}

static void test_multiline_text_in_code_block(void **state) {
  (void)state;
  expect_text(0, "i-1 running\ni-2 stopped", NULL, "```\ni-1 running\ni-2 stopped\n```");
  expect_text(0, "a<b\nc&d", NULL, "```\na&lt;b\nc&amp;d\n```");
}

static void test_text_and_code(void **state) {
  (void)state;
  expect_text(0, "Instances:", "i-1\ni-2", "Instances:\n```\ni-1\ni-2\n```");
  expect_text(0, NULL, "one line", "```\none line\n```");
  expect_text(0, "<b>", "<c>", "&lt;b&gt;\n```\n&lt;c&gt;\n```");
  expect_text(SLASHD_REPLY_MRKDWN, "*ok*", "<c>", "*ok*\n```\n<c>\n```");
  expect_text(0, NULL, NULL, "");
  /* An empty block (after trimming) is left out. */
  expect_text(0, "ok", "\n\n", "ok");
  expect_text(0, NULL, "", "");
  expect_text(0, "\n", NULL, "");
}

static void test_backticks_in_code(void **state) {
  (void)state;
  expect_text(0, NULL, "a```b", "```\na`" ZWSP "`" ZWSP "`b\n```");
  expect_text(0, "x\n```\ny", NULL, "```\nx\n`" ZWSP "`" ZWSP "`\ny\n```");
  /* Six in a row: never three plain backticks together. */
  expect_text(0, NULL, "``````", "```\n`" ZWSP "`" ZWSP "``" ZWSP "`" ZWSP "`\n```");
  /* Two backticks are left alone. */
  expect_text(0, NULL, "a``b", "```\na``b\n```");
}

static void test_trailing_newlines_trimmed(void **state) {
  (void)state;
  expect_text(0, NULL, "a\nb\n\n\r\n", "```\na\nb\n```");
  expect_text(0, "a\nb\n\n", NULL, "```\na\nb\n```");
  expect_text(0, "Result:", "x\n", "Result:\n```\nx\n```");
}

static void test_single_line_with_trailing_newline(void **state) {
  (void)state;
  /* One line that happens to end in a newline is still one line of text. */
  expect_text(0, "Stopped i-0abc\n", NULL, "Stopped i-0abc");
  expect_text(0, "Done.\r\n", NULL, "Done.");
  expect_text(0, "Instances:\n", "i-1", "Instances:\n```\ni-1\n```");
}

static void test_invalid_utf8_replaced(void **state) {
  (void)state;
  expect_text(0,
              "a\xff"
              "b",
              NULL,
              "a\xef\xbf\xbd"
              "b");
  expect_text(0, "\xc3", NULL, "\xef\xbf\xbd");                                 /* cut sequence */
  expect_text(0, "\xc0\xaf", NULL, "\xef\xbf\xbd\xef\xbf\xbd");                 /* overlong */
  expect_text(0, "\xed\xa0\x80", NULL, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* surrogate */
  expect_text(0, NULL, "ok \xe2\x82", "```\nok \xef\xbf\xbd\xef\xbf\xbd\n```");
  expect_text(0, "caf\xc3\xa9 \xf0\x9f\x9a\x80", NULL, "caf\xc3\xa9 \xf0\x9f\x9a\x80");
}

static void test_utf8_count(void **state) {
  (void)state;
  assert_int_equal(utf8_count(""), 0);
  assert_int_equal(utf8_count("abc"), 3);
  assert_int_equal(utf8_count("caf\xc3\xa9"), 4);
  assert_int_equal(utf8_count("\xf0\x9f\x9a\x80!"), 2);
}

static void test_limit_exact(void **state) {
  (void)state;
  char *t = repeat("a", SLACK_TEXT_MAX);
  char *m = message_text(0, t, NULL);
  assert_string_equal(m, t); /* 4,000 fit */
  free(m);
  free(t);
  t = repeat("a", SLACK_TEXT_MAX + 1);
  m = message_text(0, t, NULL);
  assert_true(ends_with(m, "\n" TRUNCATED_MARK));
  assert_int_equal(utf8_count(m), SLACK_TEXT_MAX);
  free(m);
  free(t);
}

static void test_limit_counts_code_points(void **state) {
  (void)state;
  /* 3,000 two-byte characters: 6,000 bytes but only 3,000 characters. */
  char *t = repeat("\xc3\xa9", 3000);
  char *m = message_text(0, t, NULL);
  assert_string_equal(m, t);
  free(m);
  free(t);
}

static void test_long_single_line(void **state) {
  (void)state;
  char *t = repeat("word ", 3000);
  char *m = message_text(0, t, NULL);
  assert_true(utf8_count(m) <= SLACK_TEXT_MAX);
  assert_true(ends_with(m, "\n" TRUNCATED_MARK));
  assert_null(strstr(m, "```")); /* still plain text */
  assert_true(str_starts(m, "word word "));
  free(m);
  free(t);
}

static void test_long_code_truncated(void **state) {
  (void)state;
  sbuf b = {0};
  for (int i = 0; i < 2000; i++)
    sbuf_addf(&b, "i-%08d running\n", i);
  char *m = message_text(0, "Instances:", b.p);
  assert_true(utf8_count(m) <= SLACK_TEXT_MAX);
  assert_true(utf8_count(m) > SLACK_TEXT_MAX - 400);
  assert_true(str_starts(m, "Instances:\n```\ni-00000000 running\n"));
  /* The block is closed before the marker, and cut on a whole line. */
  assert_true(ends_with(m, " running\n```\n" TRUNCATED_MARK));
  free(m);
  sbuf_free(&b);
}

static void test_cut_never_inside_entity(void **state) {
  (void)state;
  /* Try every alignment of the cut against the entities. */
  for (size_t pad = 0; pad < 8; pad++) {
    char *lead = repeat("x", pad);
    char *amps = repeat("&", 2000);
    char *t = xasprintf("%s%s", lead, amps);
    char *m = message_text(0, t, NULL);
    assert_true(utf8_count(m) <= SLACK_TEXT_MAX);
    assert_true(ends_with(m, "\n" TRUNCATED_MARK));
    assert_entities_whole(m);
    free(m);
    /* The same as code. */
    m = message_text(0, NULL, t);
    assert_true(utf8_count(m) <= SLACK_TEXT_MAX);
    assert_true(ends_with(m, "\n```\n" TRUNCATED_MARK));
    assert_entities_whole(m);
    free(m);
    free(t);
    free(amps);
    free(lead);
  }
}

static void test_cut_never_inside_utf8(void **state) {
  (void)state;
  static const char *const units[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x9a\x80", "a<"};
  for (size_t u = 0; u < ARRAY_LEN(units); u++) {
    for (size_t pad = 0; pad < 4; pad++) {
      char *lead = repeat("y", pad);
      char *body = repeat(units[u], 5000);
      char *t = xasprintf("%s%s", lead, body);
      char *m = message_text(0, t, NULL);
      assert_true(utf8_is_clean(m, strlen(m)));
      assert_true(utf8_count(m) <= SLACK_TEXT_MAX);
      assert_true(ends_with(m, "\n" TRUNCATED_MARK));
      assert_entities_whole(m);
      free(m);
      m = message_text(0, "head", t);
      assert_true(utf8_is_clean(m, strlen(m)));
      assert_true(utf8_count(m) <= SLACK_TEXT_MAX);
      free(m);
      free(t);
      free(body);
      free(lead);
    }
  }
}

static void test_cut_never_inside_mrkdwn_link(void **state) {
  (void)state;
  /* A long link straddling the cut is dropped whole, not cut open. */
  for (size_t pad = 3920; pad < 3986; pad += 5) {
    char *lead = repeat("z", pad);
    char *t = xasprintf("%s <https://console.aws.amazon.com/ec2/home?region=us-east-1#Instances|"
                        "instances> tail",
                        lead);
    char *m = message_text(SLASHD_REPLY_MRKDWN, t, NULL);
    assert_true(utf8_count(m) <= SLACK_TEXT_MAX);
    assert_true(ends_with(m, "\n" TRUNCATED_MARK));
    const char *open = strrchr(m, '<');
    if (open && !strchr(open, '>'))
      fail_msg("pad %zu: the cut leaves a link open: \"%.30s\"", pad, open);
    free(m);
    free(t);
    free(lead);
  }
}

static void test_long_text_with_code_drops_code(void **state) {
  (void)state;
  char *t = repeat("t", 5000);
  char *m = message_text(0, t, "code");
  assert_null(strstr(m, "```"));
  assert_int_equal(utf8_count(m), SLACK_TEXT_MAX);
  assert_true(ends_with(m, "t\n" TRUNCATED_MARK));
  free(m);
  free(t);
}

static void test_message_json(void **state) {
  (void)state;
  json_t *j = message_json(0, "hi");
  assert_string_equal(json_string_value(json_object_get(j, "response_type")), "ephemeral");
  assert_string_equal(json_string_value(json_object_get(j, "text")), "hi");
  json_decref(j);
  j = message_json(SLASHD_REPLY_IN_CHANNEL, "all");
  assert_string_equal(json_string_value(json_object_get(j, "response_type")), "in_channel");
  json_decref(j);
}

/* ---- the command echoed in a code span -------------------------------- */

static void test_command_span_scrubs(void **state) {
  (void)state;
  char *s = message_command_span("/aws", "good echo `x`\nrm <!channel>", 200);
  /* No backtick can end the span, no line break split it; & < > stay for
   * message_text to escape. */
  assert_string_equal(s, "/aws good echo 'x' rm <!channel>");
  free(s);
  s = message_command_span("/aws", "", 200);
  assert_string_equal(s, "/aws");
  free(s);
  s = message_command_span("/aws", NULL, 200);
  assert_string_equal(s, "/aws");
  free(s);
}

static void test_command_span_cuts_on_a_character(void **state) {
  (void)state;
  sbuf b = {0};
  for (int i = 0; i < 150; i++)
    sbuf_adds(&b, "\xc3\xa9"); /* é: 300 bytes */
  char *s = message_command_span("/aws", b.p, 200);
  assert_true(utf8_is_clean(s, strlen(s)));
  assert_true(strlen(s) <= 5 + 200);
  assert_string_equal(s + strlen(s) - 3, "\xe2\x80\xa6"); /* … */
  free(s);
  /* Exactly max bytes: shown whole. */
  char text[201];
  memset(text, 'a', 200);
  text[200] = '\0';
  s = message_command_span("/aws", text, 200);
  assert_int_equal(strlen(s), 5 + 200);
  free(s);
  sbuf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_escape),
      cmocka_unit_test(test_mentions_neutralized),
      cmocka_unit_test(test_mrkdwn_not_escaped),
      cmocka_unit_test(test_multiline_text_in_code_block),
      cmocka_unit_test(test_text_and_code),
      cmocka_unit_test(test_backticks_in_code),
      cmocka_unit_test(test_trailing_newlines_trimmed),
      cmocka_unit_test(test_single_line_with_trailing_newline),
      cmocka_unit_test(test_invalid_utf8_replaced),
      cmocka_unit_test(test_utf8_count),
      cmocka_unit_test(test_limit_exact),
      cmocka_unit_test(test_limit_counts_code_points),
      cmocka_unit_test(test_long_single_line),
      cmocka_unit_test(test_long_code_truncated),
      cmocka_unit_test(test_cut_never_inside_entity),
      cmocka_unit_test(test_cut_never_inside_utf8),
      cmocka_unit_test(test_cut_never_inside_mrkdwn_link),
      cmocka_unit_test(test_long_text_with_code_drops_code),
      cmocka_unit_test(test_message_json),
      cmocka_unit_test(test_command_span_scrubs),
      cmocka_unit_test(test_command_span_cuts_on_a_character),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
