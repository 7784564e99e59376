/* The one backoff of the project: exponential with a cap, and a choice of
 * jitter. Pure functions; the caller owns its clock, its sleep and its
 * random source (jitter only, nothing secret). Used by the AWS client's
 * retries, the responder's reply retries and the pool's worker respawns. */
#ifndef SLASHD_COMMON_BACKOFF_H
#define SLASHD_COMMON_BACKOFF_H

#include <stdint.h>

typedef enum {
  BACKOFF_NO_JITTER,     /* exactly the ceiling */
  BACKOFF_FULL_JITTER,   /* uniform in [0, ceiling] (AWS "full jitter") */
  BACKOFF_ADDED_QUARTER, /* ceiling + uniform [0, ceiling / 4] (never sooner) */
} backoff_jitter;

typedef struct backoff_policy {
  uint64_t base_ms, cap_ms;
  backoff_jitter jitter;
} backoff_policy;

/* The delay before retry number n (0 = the first retry), from a ceiling of
 * min(cap, base * 2^n); `random` is any uniformly distributed 32-bit value
 * (ignored without jitter). Never overflows, whatever n. */
uint64_t backoff_ms(const backoff_policy *p, unsigned n, uint32_t random);

/* A xorshift64* generator for jitter: seed once (getrandom, else the clock
 * and pid; never 0), then draw. *state is the caller's. */
uint64_t backoff_seed(void);
uint32_t backoff_random(uint64_t *state);

#endif
