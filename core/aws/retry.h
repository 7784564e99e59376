/* The retry policy, as pure functions (the transport supplies the clock,
 * the sleep and the random numbers). */
#ifndef SLASHD_AWS_RETRY_H
#define SLASHD_AWS_RETRY_H

#include <stdbool.h>
#include <stdint.h>

#define AWS_BACKOFF_BASE_MS 100u
#define AWS_BACKOFF_CAP_MS 5000u

/* "Full jitter": a delay drawn uniformly from [0, min(cap, base * 2^retry)]
 * where retry is 0 before the second attempt, 1 before the third… `random`
 * is any uniformly distributed 32-bit value. */
unsigned aws_backoff_ms(unsigned retry, unsigned base_ms, unsigned cap_ms, uint32_t random);

typedef struct aws_outcome {
  bool network_error; /* no HTTP answer (refused, reset, timed out) */
  bool transient;     /* for network errors: worth another try */
  long http_status;   /* when there was an answer */
  const char *code;   /* the service error code, or NULL */
} aws_outcome;

/* Whether to try again after attempt number `attempt` (1 = the first) of
 * `max_attempts` in all. */
bool aws_should_retry(const aws_outcome *o, int attempt, int max_attempts);

#endif
