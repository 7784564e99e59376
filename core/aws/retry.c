#include "retry.h"

#include "common/backoff.h"
#include "error.h"

unsigned aws_backoff_ms(unsigned retry, unsigned base_ms, unsigned cap_ms, uint32_t random) {
  backoff_policy p = {base_ms, cap_ms, BACKOFF_FULL_JITTER};
  return (unsigned)backoff_ms(&p, retry, random);
}

bool aws_should_retry(const aws_outcome *o, int attempt, int max_attempts) {
  if (attempt >= max_attempts)
    return false;
  if (o->network_error)
    return o->transient;
  if (o->http_status >= 200 && o->http_status < 300)
    return false;
  return aws_error_retryable(o->http_status, o->code);
}
