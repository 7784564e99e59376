#include "base/replay.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "base/log.h"
#include "base/safefile.h"
#include "base/util.h"

#define KEY_LEN 16
#define N_TABLES 3
#define MIN_SLOTS 1024u

typedef struct key16 {
  unsigned char b[KEY_LEN];
} key16;

typedef struct table {
  int64_t slot;    /* expiry / REPLAY_WINDOW_S; -1: unused */
  key16 *k;        /* cap entries; all-zero = empty */
  size_t cap, len; /* cap a power of two */
  int fd;          /* the slot's file, or -1 */
} table;

struct replay {
  EVP_MD *sha256;     /* fetched once: an implicit fetch per digest costs more than the digest */
  pthread_mutex_t mu; /* guards everything below */
  char *prefix;
  table t[N_TABLES];
};

static bool key_empty(const key16 *k) {
  for (size_t i = 0; i < KEY_LEN; i++)
    if (k->b[i])
      return false;
  return true;
}

/* SHA-256 of the signature, cut to 128 bits (never all zero in practice;
 * forced non-zero so that zero can mean empty). */
static key16 key_of(const replay *r, const char *signature) {
  unsigned char md[32];
  unsigned int n = 0;
  EVP_Digest(signature, strlen(signature), md, &n, r->sha256, NULL);
  key16 k;
  memcpy(k.b, md, KEY_LEN);
  if (key_empty(&k))
    k.b[0] = 1;
  return k;
}

static size_t key_hash(const key16 *k) {
  size_t h;
  memcpy(&h, k->b, sizeof h);
  return h;
}

/* Finds k's place: its entry, or the empty slot where it would go. */
static size_t probe(const table *t, const key16 *k, bool *found) {
  size_t mask = t->cap - 1;
  for (size_t i = key_hash(k) & mask;; i = (i + 1) & mask) {
    if (key_empty(&t->k[i])) {
      *found = false;
      return i;
    }
    if (memcmp(t->k[i].b, k->b, KEY_LEN) == 0) {
      *found = true;
      return i;
    }
  }
}

static void table_put(table *t, const key16 *k) {
  bool found;
  size_t i = probe(t, k, &found);
  if (!found) {
    t->k[i] = *k;
    t->len++;
  }
}

/* Doubles the table when it is half full. False: at its bound. */
static bool table_room(table *t) {
  if (t->cap == 0) {
    t->cap = MIN_SLOTS;
    t->k = xcalloc(t->cap, sizeof *t->k);
  }
  if ((t->len + 1) * 2 <= t->cap)
    return true;
  if (t->cap >= REPLAY_SLOT_MAX)
    return (t->len + 1) * 4 <= t->cap * 3; /* up to 3/4 full at the bound */
  table bigger = {.slot = t->slot, .cap = t->cap * 2, .fd = t->fd};
  bigger.k = xcalloc(bigger.cap, sizeof *bigger.k);
  for (size_t i = 0; i < t->cap; i++)
    if (!key_empty(&t->k[i]))
      table_put(&bigger, &t->k[i]);
  free(t->k);
  *t = bigger;
  return true;
}

static char *slot_path(const replay *r, int64_t slot) {
  return xasprintf("%s.%lld", r->prefix, (long long)slot);
}

static void table_drop(replay *r, table *t) {
  if (t->fd >= 0) {
    close(t->fd);
    char *p = slot_path(r, t->slot);
    unlink(p);
    free(p);
  }
  free(t->k);
  *t = (table){.slot = -1, .fd = -1};
}

/* The table of `slot`, taking over one whose slot has passed. NULL when
 * every table holds a live slot (cannot happen for a checked timestamp). */
static table *table_for(replay *r, int64_t slot, int64_t now_slot) {
  for (size_t i = 0; i < N_TABLES; i++)
    if (r->t[i].slot == slot)
      return &r->t[i];
  for (size_t i = 0; i < N_TABLES; i++) {
    table *t = &r->t[i];
    if (t->slot < now_slot) {
      table_drop(r, t);
      t->slot = slot;
      return t;
    }
  }
  return NULL;
}

static bool table_open_file(replay *r, table *t) {
  if (!r->prefix || t->fd >= 0)
    return true;
  char *p = slot_path(r, t->slot);
  char *why = NULL;
  t->fd = safefile_append(p, &why);
  if (t->fd < 0) {
    log_kv(SLOG_ERROR, "replay_file", KV_S("msg", why));
    free(why);
  }
  free(p);
  return t->fd >= 0;
}

replay_result replay_check(replay *r, const char *signature, int64_t ts, int64_t now) {
  key16 k = key_of(r, signature ? signature : "");
  int64_t slot = (ts + REPLAY_WINDOW_S) / REPLAY_WINDOW_S;
  int64_t now_slot = now / REPLAY_WINDOW_S;
  replay_result res = REPLAY_FULL;
  pthread_mutex_lock(&r->mu);
  table *t = table_for(r, slot, now_slot);
  if (!t)
    goto out;
  bool found = false;
  if (t->cap)
    probe(t, &k, &found);
  if (found) {
    res = REPLAY_SEEN;
    goto out;
  }
  if (!table_room(t))
    goto out;
  size_t i = probe(t, &k, &found);
  /* Remembered on disk before it is answered, or not accepted at all. */
  if (!table_open_file(r, t) || (t->fd >= 0 && !write_all(t->fd, k.b, KEY_LEN)))
    goto out;
  t->k[i] = k;
  t->len++;
  res = REPLAY_NEW;
out:
  pthread_mutex_unlock(&r->mu);
  return res;
}

/* Reads <prefix>.<slot> files: live ones into their tables, passed ones
 * removed. A torn last record (under 16 bytes) is ignored. */
static void load_slot(replay *r, int64_t slot, int64_t now_slot) {
  char *p = slot_path(r, slot);
  if (slot < now_slot) {
    unlink(p);
    free(p);
    return;
  }
  int fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  free(p);
  if (fd < 0)
    return;
  table *t = table_for(r, slot, now_slot);
  key16 k;
  while (t && read(fd, k.b, KEY_LEN) == KEY_LEN)
    if (!key_empty(&k) && table_room(t))
      table_put(t, &k);
  close(fd);
}

replay *replay_open(const char *prefix, int64_t now, char **err) {
  replay *r = xcalloc(1, sizeof *r);
  pthread_mutex_init(&r->mu, NULL);
  for (size_t i = 0; i < N_TABLES; i++)
    r->t[i] = (table){.slot = -1, .fd = -1};
  r->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
  if (!r->sha256) {
    *err = xstrdup("SHA-256 is not available from OpenSSL");
    replay_close(r);
    return NULL;
  }
  if (!prefix)
    return r;
  r->prefix = xstrdup(prefix);
  int64_t now_slot = now / REPLAY_WINDOW_S;
  /* Slots that may be alive, and a few passed ones left by an earlier run. */
  for (int64_t s = now_slot - 4; s <= now_slot + 2; s++)
    load_slot(r, s, now_slot);
  for (size_t i = 0; i < N_TABLES; i++) {
    table *t = &r->t[i];
    if (t->slot >= 0 && !table_open_file(r, t)) {
      *err = xasprintf("cannot open the replay file %s.%lld", prefix, (long long)t->slot);
      replay_close(r);
      return NULL;
    }
  }
  return r;
}

size_t replay_count(replay *r) {
  pthread_mutex_lock(&r->mu);
  size_t n = 0;
  for (size_t i = 0; i < N_TABLES; i++)
    n += r->t[i].len;
  pthread_mutex_unlock(&r->mu);
  return n;
}

void replay_close(replay *r) {
  if (!r)
    return;
  for (size_t i = 0; i < N_TABLES; i++) {
    if (r->t[i].fd >= 0)
      close(r->t[i].fd);
    free(r->t[i].k);
  }
  free(r->prefix);
  EVP_MD_free(r->sha256);
  pthread_mutex_destroy(&r->mu);
  free(r);
}
