#include "common/backoff.h"

#include <sys/random.h>
#include <unistd.h>

#include "common/util.h"

uint64_t backoff_ms(const backoff_policy *p, unsigned n, uint32_t random) {
  uint64_t ceiling = p->base_ms;
  for (unsigned i = 0; i < n && ceiling < p->cap_ms; i++)
    ceiling *= 2;
  if (ceiling > p->cap_ms)
    ceiling = p->cap_ms;
  switch (p->jitter) {
  case BACKOFF_FULL_JITTER:
    return random % (ceiling + 1);
  case BACKOFF_ADDED_QUARTER:
    return ceiling + random % (ceiling / 4 + 1);
  case BACKOFF_NO_JITTER:
    break;
  }
  return ceiling;
}

uint64_t backoff_seed(void) {
  uint64_t s = 0;
  if (getrandom(&s, sizeof s, GRND_NONBLOCK) != (ssize_t)sizeof s)
    s = mono_us() ^ ((uint64_t)getpid() << 32);
  return s ? s : 0x9e3779b97f4a7c15u;
}

uint32_t backoff_random(uint64_t *state) {
  *state ^= *state >> 12;
  *state ^= *state << 25;
  *state ^= *state >> 27;
  return (uint32_t)((*state * 0x2545f4914f6cdd1dULL) >> 32);
}
