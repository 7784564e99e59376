/* Slack message text: escaping, code blocks and limits. */
#ifndef SLASHD_MESSAGE_H
#define SLASHD_MESSAGE_H

#include <stddef.h>

#include <jansson.h>

#include "base/util.h"

/* Slack asks to keep message text at or under 4,000 characters. */
#define SLACK_TEXT_MAX 4000
#define TRUNCATED_MARK "(truncated)"

/* Appends s[0..n) escaped for Slack: & < > become entities. */
void slack_escape(sbuf *out, const char *s, size_t n);

/* The text of a message, as the SDK's reply flags describe it: escaped unless
 * SLASHD_REPLY_MRKDWN, multi-line text and `code` in a code block, cut to
 * SLACK_TEXT_MAX characters with a visible "(truncated)". New string. */
char *message_text(unsigned flags, const char *text, const char *code);

/* {"response_type": ..., "text": ...}; a new reference. `text` must already
 * be formatted (message_text). */
json_t *message_json(unsigned flags, const char *text);
/* The same message serialized (compact JSON), written directly: what an ack
 * or a response_url POST sends. Caller frees. */
char *message_body(unsigned flags, const char *text);

/* "/aws ec2 stop i-1", to be shown inside a `code span` of a message: the
 * one scrubber for echoing what a user typed. A text longer than `max` bytes
 * is cut on a character boundary to at most max - 3 bytes plus "…";
 * backticks become ' (one would end the span early) and line breaks spaces.
 * & < > are left for message_text to escape. text may be NULL. New string. */
char *message_command_span(const char *command, const char *text, size_t max);

/* Number of code points in s. */
size_t utf8_count(const char *s);

#endif
