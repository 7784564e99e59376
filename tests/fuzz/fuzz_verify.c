/* Slack signature verification with hostile headers and bodies. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"
#include "base/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* data = timestamp \0 signature \0 body */
  const char *p = (const char *)data;
  const char *z1 = memchr(p, 0, size);
  if (!z1)
    return 0;
  const char *z2 = memchr(z1 + 1, 0, size - (size_t)(z1 + 1 - p));
  if (!z2)
    return 0;
  const char *body = z2 + 1;
  size_t blen = size - (size_t)(body - p);
  static const char secret[] = "8f742231b10e8888abcd99yyyzzz85a5";
  int64_t now = 1531420618;
  verify_result r = verify_slack_signature(secret, sizeof secret - 1, p, z1 + 1, body, blen, now);
  /* Whatever the input, a right signature must verify and nothing else. */
  char good[68];
  verify_sign(secret, sizeof secret - 1, p, body, blen, good);
  bool numeric = *p != 0;
  for (const char *c = p; *c; c++)
    numeric = numeric && *c >= '0' && *c <= '9';
  if (r == VERIFY_OK && strcmp(good, z1 + 1) != 0 && strcasecmp(good, z1 + 1) != 0)
    abort();
  if (numeric && strlen(p) <= 12) {
    long long ts = atoll(p);
    if (ts >= now - VERIFY_MAX_SKEW && ts <= now + VERIFY_MAX_SKEW &&
        verify_slack_signature(secret, sizeof secret - 1, p, good, body, blen, now) != VERIFY_OK)
      abort();
  }
  (void)verify_token(secret, sizeof secret - 1, z1 + 1);
  return 0;
}
