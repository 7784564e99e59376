/* Reply text building: escaping, code blocks, UTF-8 repair, truncation. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/message.h"
#include "slashd/plugin.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  unsigned flags = data[0] & 7;
  const char *rest = (const char *)data + 1;
  size_t n = size - 1;
  const char *split = memchr(rest, 0, n);
  char *text = xstrndup(rest, split ? (size_t)(split - rest) : n);
  char *code = split ? xstrndup(split + 1, n - (size_t)(split + 1 - rest)) : NULL;
  char *out = message_text(flags, *text ? text : NULL, code);
  /* Invariants: within Slack's limit, no raw < or > unless the plugin asked
   * for mrkdwn, and always encodable as JSON (valid UTF-8). */
  if (utf8_count(out) > SLACK_TEXT_MAX)
    abort();
  if (!(flags & SLASHD_REPLY_MRKDWN) && (strchr(out, '<') || strchr(out, '>')))
    abort();
  json_t *j = message_json(flags, out);
  if (!j)
    abort();
  json_decref(j);
  free(out);
  free(text);
  free(code);
  return 0;
}
