#include "base/message.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "slashd/plugin.h"

void slack_escape(sbuf *out, const char *s, size_t n) {
  size_t run = 0; /* s[run..i) needs no escape: copied at once */
  for (size_t i = 0; i < n; i++) {
    const char *e = s[i] == '&' ? "&amp;" : s[i] == '<' ? "&lt;" : s[i] == '>' ? "&gt;" : NULL;
    if (!e)
      continue;
    sbuf_add(out, s + run, i - run);
    sbuf_adds(out, e);
    run = i + 1;
  }
  sbuf_add(out, s + run, n - run);
}

size_t utf8_count(const char *s) {
  size_t n = 0;
  for (; *s; s++)
    if (((unsigned char)*s & 0xc0) != 0x80)
      n++;
  return n;
}

/* Bytes of the longest prefix of s with at most `chars` code points. */
static size_t utf8_prefix(const char *s, size_t chars) {
  size_t i = 0, n = 0;
  while (s[i]) {
    if (((unsigned char)s[i] & 0xc0) != 0x80) {
      if (n == chars)
        break;
      n++;
    }
    i++;
  }
  return i;
}

/* Never end a cut inside an entity (&amp;) or a mrkdwn link (<...>). */
static size_t safe_cut(const char *s, size_t cut) {
  for (size_t k = cut; k > 0 && cut - k < 16; k--) {
    char c = s[k - 1];
    if (c == ';' || c == '>')
      break;
    if (c == '&' || c == '<')
      return k - 1;
  }
  /* A link is as long as its URL, far more than the entity window above:
   * look back to the last '<' or '>'. */
  for (size_t k = cut; k > 0; k--) {
    if (s[k - 1] == '>')
      break;
    if (s[k - 1] == '<')
      return k - 1;
  }
  return cut;
}

char *message_command_span(const char *command, const char *text, size_t max) {
  const char *t = text ? text : "";
  size_t n = strlen(t);
  bool cut = n > max;
  if (cut) {
    n = max >= 3 ? max - 3 : 0;
    while (n > 0 && ((unsigned char)t[n] & 0xc0) == 0x80)
      n--;
  }
  char *s = xasprintf("%s%s%.*s%s", command ? command : "", *t ? " " : "", (int)n, t,
                      cut ? "\xe2\x80\xa6" : "");
  for (char *p = s; *p; p++)
    if (*p == '`')
      *p = '\'';
    else if (*p == '\n' || *p == '\r')
      *p = ' ';
  return s;
}

/* Escaped text for a code block: a ``` inside would close the block early,
 * so a zero-width space is put between its backticks. */
/* A code block's text: a ``` inside would end the block early, so a
 * zero-width space goes between its backticks. Runs between them are
 * escaped (or copied) at once. */
static void add_code(sbuf *out, const char *code, bool escape) {
  size_t n = strlen(code), run = 0;
  for (size_t i = 0; i + 2 < n; i++) {
    if (code[i] != '`' || code[i + 1] != '`' || code[i + 2] != '`')
      continue;
    if (escape)
      slack_escape(out, code + run, i - run);
    else
      sbuf_add(out, code + run, i - run);
    sbuf_adds(out, "`\xe2\x80\x8b`\xe2\x80\x8b`");
    i += 2;
    run = i + 1;
  }
  if (escape)
    slack_escape(out, code + run, n - run);
  else
    sbuf_add(out, code + run, n - run);
}

/* Trailing newlines only make a block taller, and do not make one line of
 * text multi-line. */
static void trim_newlines(char *s) {
  size_t n = s ? strlen(s) : 0;
  while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
    s[--n] = '\0';
}

char *message_text(unsigned flags, const char *text, const char *code) {
  bool escape = !(flags & SLASHD_REPLY_MRKDWN);
  char *t = text ? utf8_sanitize(text, strlen(text)) : NULL;
  char *c = code ? utf8_sanitize(code, strlen(code)) : NULL;
  trim_newlines(t);
  trim_newlines(c);
  if (c && !*c) { /* an empty block shows nothing but its frame */
    free(c);
    c = NULL;
  }
  if (t && !c && escape && strchr(t, '\n')) {
    c = t;
    t = NULL;
  }
  sbuf head = {0}, body = {0};
  sbuf_add(&head, "", 0);
  sbuf_add(&body, "", 0);
  if (t) {
    if (escape)
      slack_escape(&head, t, strlen(t));
    else
      sbuf_adds(&head, t);
  }
  bool has_code = c != NULL;
  if (c)
    add_code(&body, c, escape);
  free(t);
  free(c);

  const char *open = "```\n", *close = "\n```";
  size_t sep = (head.len && has_code) ? 1 : 0;
  size_t block = has_code ? utf8_count(open) + utf8_count(close) : 0;
  size_t mark = utf8_count(TRUNCATED_MARK) + 1;
  /* Bytes bound characters from above: only a text that may be too long
   * is counted character by character. */
  size_t bytes = head.len + sep + (has_code ? strlen(open) + strlen(close) : 0) + body.len;
  bool truncated = bytes > SLACK_TEXT_MAX &&
                   utf8_count(head.p) + sep + block + utf8_count(body.p) > SLACK_TEXT_MAX;
  if (truncated) {
    size_t head_chars = utf8_count(head.p);
    if (head_chars + sep + block + mark >= SLACK_TEXT_MAX) {
      /* The text alone is too long: keep a cut of it and drop the block. */
      size_t cut = safe_cut(head.p, utf8_prefix(head.p, SLACK_TEXT_MAX - mark));
      head.len = cut;
      head.p[cut] = '\0';
      sbuf_reset(&body);
      has_code = false;
      sep = 0;
    } else {
      size_t room = SLACK_TEXT_MAX - head_chars - sep - block - mark;
      size_t cut = safe_cut(body.p, utf8_prefix(body.p, room));
      /* Prefer ending on a whole line when one is near. */
      char *nl = NULL;
      for (size_t k = cut; k > 0 && cut - k < 400; k--) {
        if (body.p[k - 1] == '\n') {
          nl = body.p + k - 1;
          break;
        }
      }
      if (nl)
        cut = (size_t)(nl - body.p);
      body.len = cut;
      body.p[cut] = '\0';
    }
  }
  sbuf out = {0};
  sbuf_add(&out, head.p, head.len);
  if (has_code) {

    if (sep)
      sbuf_addc(&out, '\n');
    sbuf_adds(&out, open);
    sbuf_add(&out, body.p, body.len);
    sbuf_adds(&out, close);
  }
  if (truncated) {
    if (out.len)
      sbuf_addc(&out, '\n');
    sbuf_adds(&out, TRUNCATED_MARK);
  }
  sbuf_free(&head);
  sbuf_free(&body);
  return sbuf_steal(&out);
}

json_t *message_json(unsigned flags, const char *text) {
  return json_pack("{s:s, s:s}", "response_type",
                   (flags & SLASHD_REPLY_IN_CHANNEL) ? "in_channel" : "ephemeral", "text", text);
}

char *message_body(unsigned flags, const char *text) {
  sbuf b = {0};
  sbuf_adds(&b, (flags & SLASHD_REPLY_IN_CHANNEL) ? "{\"response_type\":\"in_channel\",\"text\":"
                                                  : "{\"response_type\":\"ephemeral\",\"text\":");
  sbuf_add_json_string(&b, text, strlen(text));
  sbuf_addc(&b, '}');
  return sbuf_steal(&b);
}

/* ---- Block Kit ---------------------------------------------------------- */

char *message_cut(const char *s, size_t max) {
  if (utf8_count(s) <= max)
    return xstrdup(s);
  size_t bytes = 0, chars = 0;
  while (s[bytes] && chars + 1 < max) {
    bytes++;
    while (((unsigned char)s[bytes] & 0xc0) == 0x80)
      bytes++;
    chars++;
  }
  return xasprintf("%.*s…", (int)bytes, s);
}

/* A text object {"type":…,"text":…} cut to max. */
static void cut_text_obj(json_t *t, size_t max) {
  if (json_is_object(t)) {
    const char *v = json_string_value(json_object_get(t, "text"));
    if (v && utf8_count(v) > max) {
      char *c = message_cut(v, max);
      json_object_set_new(t, "text", json_string(c));
      free(c);
    }
  }
}

static void fit_elements(json_t *elements) {
  size_t i = 0;
  while (i < json_array_size(elements)) {
    json_t *e = json_array_get(elements, i);
    const char *value = json_string_value(json_object_get(e, "value"));
    if (value && strlen(value) > SLACK_BUTTON_VALUE_MAX) {
      json_array_remove(elements, i);
      continue;
    }
    if (str_eq(json_string_value(json_object_get(e, "type")), "button"))
      cut_text_obj(json_object_get(e, "text"), SLACK_BUTTON_LABEL_MAX);
    else
      cut_text_obj(e, SLACK_BLOCK_TEXT_MAX);
    i++;
  }
}

static void fit_block(json_t *b) {
  cut_text_obj(json_object_get(b, "text"), SLACK_BLOCK_TEXT_MAX);
  json_t *fields = json_object_get(b, "fields");
  while (json_array_size(fields) > SLACK_FIELDS_MAX)
    json_array_remove(fields, json_array_size(fields) - 1);
  for (size_t i = 0; i < json_array_size(fields); i++)
    cut_text_obj(json_array_get(fields, i), SLACK_FIELD_TEXT_MAX);
  fit_elements(json_object_get(b, "elements"));
}

json_t *message_blocks_fit(json_t *blocks, size_t *cut) {
  *cut = 0;
  if (!json_is_array(blocks)) {
    json_decref(blocks);
    return NULL;
  }
  size_t n = json_array_size(blocks);
  if (n > SLACK_BLOCKS_MAX) {
    *cut = n - (SLACK_BLOCKS_MAX - 1);
    while (json_array_size(blocks) > SLACK_BLOCKS_MAX - 1)
      json_array_remove(blocks, json_array_size(blocks) - 1);
    char *more =
        xasprintf("… %zu more not shown (Slack shows %d blocks at most).", *cut, SLACK_BLOCKS_MAX);
    json_array_append_new(blocks, json_pack("{s:s, s:[{s:s, s:s}]}", "type", "context", "elements",
                                            "type", "mrkdwn", "text", more));
    free(more);
  }
  for (size_t i = 0; i < json_array_size(blocks); i++)
    fit_block(json_array_get(blocks, i));
  return blocks;
}

char *message_body_blocks(unsigned flags, const char *text, const json_t *blocks) {
  char *body = message_body(flags, text);
  if (!blocks)
    return body;
  char *b = json_dumps(blocks, JSON_COMPACT);
  if (!b)
    return body;
  body[strlen(body) - 1] = '\0'; /* the closing brace */
  char *out = xasprintf("%s,\"blocks\":%s}", body, b);
  free(b);
  free(body);
  return out;
}

json_t *message_error_blocks(const char *text, const char *request_id) {
  char *ctx = xasprintf("Request %s", request_id);
  json_t *blocks = json_pack("[{s:s, s:{s:s, s:s}}, {s:s, s:[{s:s, s:s}]}]", "type", "section",
                             "text", "type", "mrkdwn", "text", text, "type", "context", "elements",
                             "type", "mrkdwn", "text", ctx);
  free(ctx);
  size_t cut;
  return message_blocks_fit(blocks, &cut);
}
