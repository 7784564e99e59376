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

/* Slack's Block Kit limits (over any of them the whole message fails). */
#define SLACK_BLOCKS_MAX 50
#define SLACK_BLOCK_TEXT_MAX 3000
#define SLACK_BUTTON_LABEL_MAX 75
#define SLACK_BUTTON_VALUE_MAX 2000
#define SLACK_FIELDS_MAX 10 /* per section */
#define SLACK_FIELD_TEXT_MAX 2000

/* s cut to `max` code points (on a character boundary) with "…" when
 * longer. New string. */
char *message_cut(const char *s, size_t max);

/* `blocks` (taken) cut to Slack's limits: at most SLACK_BLOCKS_MAX blocks
 * (the last kept one becomes a context line "… N more not shown"), every
 * text object, field, button label and value cut with "…" (a value that is
 * too long drops its button: a cut value would mean something else). *cut
 * gets how many blocks were left out. Returns a JSON array (new reference),
 * or NULL when `blocks` is not an array. */
json_t *message_blocks_fit(json_t *blocks, size_t *cut);

/* message_body with Block Kit blocks (borrowed; NULL: none) after the text,
 * which stays the fallback for notifications and clients without blocks. */
char *message_body_blocks(unsigned flags, const char *text, const json_t *blocks);

/* The blocks of an error message: the text as a section, and a context
 * line with the request id. A new reference. */
json_t *message_error_blocks(const char *text, const char *request_id);

/* "/aws ec2 stop i-1", to be shown inside a `code span` of a message: the
 * one scrubber for echoing what a user typed. A text longer than `max` bytes
 * is cut on a character boundary to at most max - 3 bytes plus "…";
 * backticks become ' (one would end the span early) and line breaks spaces.
 * & < > are left for message_text to escape. text may be NULL. New string. */
char *message_command_span(const char *command, const char *text, size_t max);

/* Number of code points in s. */
size_t utf8_count(const char *s);

#endif
