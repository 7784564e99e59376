/* Assumed-role credentials kept by the main process, so that a user's next
 * job reuses them whichever worker runs it (a cache hit makes no STS call).
 * Entries are the JSON objects the workers send ({"key","role","session",
 * "akid","secret","token","exp"}); they travel only over the workers'
 * socket pairs and are wiped when dropped. */
#ifndef SLASHD_CREDCACHE_H
#define SLASHD_CREDCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

typedef struct credcache credcache;

credcache *credcache_new(void);
void credcache_free(credcache *c);
void credcache_put(credcache *c, const json_t *entry);
/* A worker's `creds` message: stored only when its key is `want_key` (the
 * user/channel key of the job that worker is running; NULL: it runs none)
 * and its expiry is real — after `now`, and no later than `max_life_s`
 * from now (the longest session the host asks STS for, plus skew).
 * Anything else is dropped; false with *why (static) then. */
bool credcache_put_for(credcache *c, const json_t *entry, const char *want_key, int64_t now,
                       int max_life_s, const char **why);
/* A new reference to the entry for `key` if it is valid for more than
 * `margin_s` seconds, else NULL. */
json_t *credcache_get(credcache *c, const char *key, int64_t now, int margin_s);
void credcache_clear(credcache *c);

#endif
