#include "daemon/credcache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/util.h"

struct credcache {
  pthread_mutex_t mu;
  json_t *entries; /* key → entry */
};

credcache *credcache_new(void) {
  credcache *c = xcalloc(1, sizeof *c);
  pthread_mutex_init(&c->mu, NULL);
  c->entries = json_object();
  return c;
}

/* Overwrites the secret strings before jansson frees them. */
static void wipe(json_t *entry) {
  static const char *const fields[] = {"secret", "token"};
  for (size_t i = 0; i < ARRAY_LEN(fields); i++) {
    json_t *v = json_object_get(entry, fields[i]);
    const char *s = json_string_value(v);
    if (s)
      OPENSSL_cleanse((void *)s, strlen(s));
  }
}

static void drop_all(credcache *c) {
  const char *k;
  json_t *v;
  json_object_foreach(c->entries, k, v) wipe(v);
  json_object_clear(c->entries);
}

void credcache_free(credcache *c) {
  if (!c)
    return;
  drop_all(c);
  json_decref(c->entries);
  pthread_mutex_destroy(&c->mu);
  free(c);
}

void credcache_put(credcache *c, const json_t *entry) {
  const char *key = json_string_value(json_object_get(entry, "key"));
  if (!key)
    return;
  json_t *copy = json_deep_copy(entry);
  pthread_mutex_lock(&c->mu);
  json_t *old = json_object_get(c->entries, key);
  if (old && old != copy)
    wipe(old);
  json_object_set_new(c->entries, key, copy);
  pthread_mutex_unlock(&c->mu);
}

bool credcache_put_for(credcache *c, const json_t *entry, const char *want_key, int64_t now,
                       int max_life_s, const char **why) {
  const char *key = json_string_value(json_object_get(entry, "key"));
  const json_t *exp = json_object_get(entry, "exp");
  if (!want_key)
    *why = "the worker runs no job";
  else if (!key || strcmp(key, want_key) != 0)
    *why = "not for the user and channel of the job the worker runs";
  else if (!json_is_integer(exp) || json_integer_value(exp) <= now)
    *why = "no expiry, or already expired";
  else if (json_integer_value(exp) > now + max_life_s)
    *why = "expires later than any session the host asks for";
  else
    *why = NULL;
  if (*why)
    return false;
  credcache_put(c, entry);
  return true;
}

json_t *credcache_get(credcache *c, const char *key, int64_t now, int margin_s) {
  pthread_mutex_lock(&c->mu);
  json_t *e = json_object_get(c->entries, key);
  json_t *result = NULL;
  if (e) {
    int64_t exp = json_integer_value(json_object_get(e, "exp"));
    if (exp - now > margin_s) { /* no expiry (0) is never handed out */
      result = json_incref(e);
    } else {
      wipe(e);
      json_object_del(c->entries, key);
    }
  }
  pthread_mutex_unlock(&c->mu);
  return result;
}

void credcache_clear(credcache *c) {
  pthread_mutex_lock(&c->mu);
  drop_all(c);
  pthread_mutex_unlock(&c->mu);
}
