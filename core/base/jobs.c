#include "base/jobs.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

void job_free(job *j) {
  if (!j)
    return;
  char **strs[] = {&j->team_id,      &j->user_id, &j->user_name,  &j->channel_id,
                   &j->channel_name, &j->command, &j->text,       &j->response_url,
                   &j->plugin,       &j->cmd,     &j->dedupe_key, &j->identity,
                   &j->session,      &j->region,  &j->account,    &j->preface};
  for (size_t i = 0; i < ARRAY_LEN(strs); i++)
    free(*strs[i]);
  for (int i = 0; i < j->argc; i++)
    free(j->argv[i]);
  free(j->argv);
  free(j);
}

char *job_display(const job *j) {
  const char *t = j->text ? j->text : "";
  size_t n = strlen(t);
  if (n > 120) {
    /* Cut on a character boundary, not inside a UTF-8 sequence. */
    int cut = 117;
    while (cut > 0 && ((unsigned char)t[cut] & 0xc0) == 0x80)
      cut--;
    return xasprintf("%s %.*s…", j->command ? j->command : "", cut, t);
  }
  return xasprintf("%s%s%s", j->command ? j->command : "", *t ? " " : "", t);
}

void queue_init(job_queue *q, size_t cap) {
  pthread_mutex_init(&q->mu, NULL);
  q->ring = xcalloc(cap, sizeof *q->ring);
  q->cap = cap;
  q->head = q->len = 0;
}

void queue_destroy(job_queue *q) {
  job *j;
  while ((j = queue_pop(q)))
    job_free(j);
  free(q->ring);
  pthread_mutex_destroy(&q->mu);
}

bool queue_push(job_queue *q, job *j) {
  pthread_mutex_lock(&q->mu);
  bool ok = q->len < q->cap;
  if (ok) {
    q->ring[(q->head + q->len) % q->cap] = j;
    q->len++;
  }
  pthread_mutex_unlock(&q->mu);
  return ok;
}

job *queue_pop(job_queue *q) {
  pthread_mutex_lock(&q->mu);
  job *j = NULL;
  if (q->len) {
    j = q->ring[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
  }
  pthread_mutex_unlock(&q->mu);
  return j;
}

size_t queue_len(job_queue *q) {
  pthread_mutex_lock(&q->mu);
  size_t n = q->len;
  pthread_mutex_unlock(&q->mu);
  return n;
}

typedef struct dedupe_entry {
  struct dedupe_entry *next;
  char *key;
  int64_t accepted;
  bool running;
} dedupe_entry;

void dedupe_init(dedupe *d, int window_s) {
  memset(d, 0, sizeof *d);
  pthread_mutex_init(&d->mu, NULL);
  d->window = window_s;
}

void dedupe_destroy(dedupe *d) {
  for (size_t b = 0; b < DEDUPE_BUCKETS; b++) {
    dedupe_entry *e = d->bucket[b];
    while (e) {
      dedupe_entry *next = e->next;
      free(e->key);
      free(e);
      e = next;
    }
  }
  pthread_mutex_destroy(&d->mu);
}

static size_t hash(const char *s) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return (size_t)(h % DEDUPE_BUCKETS);
}

/* Unlinks *pp; returns the next link to look at. */
static void unlink_entry(dedupe *d, dedupe_entry **pp) {
  dedupe_entry *e = *pp;
  *pp = e->next;
  free(e->key);
  free(e);
  d->n--;
}

/* Drops finished entries older than the window from one bucket. */
static void prune_bucket(dedupe *d, size_t b, int64_t now) {
  dedupe_entry **pp = &d->bucket[b];
  while (*pp) {
    if (!(*pp)->running && now - (*pp)->accepted >= d->window)
      unlink_entry(d, pp);
    else
      pp = &(*pp)->next;
  }
}

bool dedupe_begin(dedupe *d, const char *key, int64_t now, int64_t *age_s) {
  size_t b = hash(key);
  pthread_mutex_lock(&d->mu);
  /* Buckets are pruned when touched, and all of them every 1024 inserts,
   * so memory stays bounded by a window's worth of commands. */
  if (++d->inserts % 1024 == 0)
    for (size_t i = 0; i < DEDUPE_BUCKETS; i++)
      prune_bucket(d, i, now);
  else
    prune_bucket(d, b, now);
  for (dedupe_entry *e = d->bucket[b]; e; e = e->next) {
    if (strcmp(e->key, key) == 0) {
      *age_s = now - e->accepted;
      pthread_mutex_unlock(&d->mu);
      return false;
    }
  }
  dedupe_entry *e = xcalloc(1, sizeof *e);
  e->key = xstrdup(key);
  e->accepted = now;
  e->running = true;
  e->next = d->bucket[b];
  d->bucket[b] = e;
  d->n++;
  pthread_mutex_unlock(&d->mu);
  return true;
}

static void finish(dedupe *d, const char *key, bool forget) {
  size_t b = hash(key);
  pthread_mutex_lock(&d->mu);
  for (dedupe_entry **pp = &d->bucket[b]; *pp; pp = &(*pp)->next) {
    if (strcmp((*pp)->key, key) == 0) {
      if (forget)
        unlink_entry(d, pp);
      else
        (*pp)->running = false;
      break;
    }
  }
  pthread_mutex_unlock(&d->mu);
}

void dedupe_end(dedupe *d, const char *key) {
  finish(d, key, false);
}

void dedupe_forget(dedupe *d, const char *key) {
  finish(d, key, true);
}
