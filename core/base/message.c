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
  size_t total = utf8_count(head.p) + sep + block + utf8_count(body.p);
  bool truncated = total > SLACK_TEXT_MAX;
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
