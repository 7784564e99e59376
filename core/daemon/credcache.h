/* Assumed-role credentials kept by the main process, so that a user's next
 * job reuses them whichever worker runs it (a cache hit makes no STS call).
 * Entries are the JSON objects the workers send ({"key","role","session",
 * "akid","secret","token","exp"}); they travel only over the workers'
 * socket pairs and are wiped when dropped. */
#ifndef SLASHD_CREDCACHE_H
#define SLASHD_CREDCACHE_H

#include <stdint.h>

#include <jansson.h>

typedef struct credcache credcache;

credcache *credcache_new(void);
void credcache_free(credcache *c);
void credcache_put(credcache *c, const json_t *entry);
/* A new reference to the entry for `key` if it is valid for more than
 * `margin_s` seconds, else NULL. */
json_t *credcache_get(credcache *c, const char *key, int64_t now, int margin_s);
void credcache_clear(credcache *c);

#endif
