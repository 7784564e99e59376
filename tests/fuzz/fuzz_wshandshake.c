/* The Socket Mode client's check of a WebSocket handshake answer: hostile
 * bytes from the server, before any framing. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "daemon/socket_ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > WS_MAX_HANDSHAKE)
    return 0;
  static const char key[] = "dGhlIHNhbXBsZSBub25jZQ==";
  char *head = xstrndup((const char *)data, size);
  char *copy = xstrdup(head);
  char *why = ws_check_answer(key, head);
  /* Accepted: it was a 101 and carried the one right accept value. */
  if (!why &&
      (strncmp(copy, "HTTP/1.1 101", 12) != 0 || !strstr(copy, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")))
    abort();
  free(why);
  free(copy);
  free(head);
  return 0;
}
