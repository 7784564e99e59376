#include "retry.h"

#include "error.h"

unsigned aws_backoff_ms(unsigned retry, unsigned base_ms, unsigned cap_ms, uint32_t random) {
  uint64_t ceiling = base_ms;
  for (unsigned i = 0; i < retry && ceiling < cap_ms; i++)
    ceiling *= 2;
  if (ceiling > cap_ms)
    ceiling = cap_ms;
  return (unsigned)(random % (ceiling + 1));
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
