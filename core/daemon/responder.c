#include "daemon/responder.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "base/log.h"
#include "base/util.h"
#include "common/backoff.h"

typedef struct post {
  struct post *next;
  char *job_id;
  char *url;
  char *host; /* for logs: never log the URL itself, it is a credential */
  char *body;
  CURLU *parsed; /* the url, parsed once by the allow-list check */
  bool final;
  bool error;
  int64_t accepted_wall;
  int attempt;
  uint64_t not_before_ms;
} post;

/* Posts in flight at once to one response_url host. Beyond this, that
 * host's chains wait their turn in order: a burst of thousands of replies
 * then reuses a few kept-alive connections instead of opening one each
 * (which cost more CPU than the acks), and a host that hangs holds only its
 * own slots, never the other hosts'. */
#define RESPONDER_MAX_INFLIGHT 32
/* Posts in flight in all: bounds the sockets whatever the hosts do. */
#define RESPONDER_MAX_INFLIGHT_ALL 256
/* A transfer's time limit. Waiting for a slot counts against it, as it does
 * in curl's own queue: a host that hangs fills its slots, and the posts
 * behind them fail their attempts in 10 s instead of each waiting for a
 * slot in turn (which would hold a big backlog for many minutes). */
#define RESPONDER_TIMEOUT_MS 10000L
#define CHAIN_BUCKETS 1024

typedef struct host_q host_q;

/* The posts of one job, sent one after the other. A chain with posts is
 * in exactly one place: in flight (easy set), on the ready list, or on the
 * waiting list (a retry's backoff). */
typedef struct chain {
  struct chain *hnext;       /* in its hash bucket */
  struct chain *next, *prev; /* on the ready or the waiting list */
  post *head, *tail;
  CURL *easy; /* in flight, or NULL */
  struct curl_slist *hdrs;
  host_q *hq; /* the host its posts go to */
  uint64_t started_ms;
  uint64_t ready_ms; /* when it joined its host's ready list */
  bool listed;
} chain;

typedef struct chain_list {
  chain *head, *tail;
} chain_list;

/* One response_url host (host and port, as curl counts connections): its
 * own queue and slots. Only allow-listed hosts get here, so there are few,
 * and they stay for the responder's life. */

struct host_q {
  struct host_q *next;
  char *name;
  size_t inflight;
  chain_list ready; /* due, waiting for a slot, oldest first */
};

struct responder {
  char *ca_bundle; /* RESPONDER_CA_ENV at start, or NULL: libcurl's built-in CA file */
  pthread_t thread;
  pthread_mutex_t mu;
  post *in_head, *in_tail; /* handed over by other threads */
  url_policy policy;       /* the responder thread's own */
  url_policy *next_policy; /* a reload's, handed over under mu */
  atomic_bool stopping;
  atomic_bool asleep; /* in curl_multi_poll: a new post must wake it */
  atomic_size_t pending;
  uint64_t deadline_ms;
  CURLM *multi;
  chain *bucket[CHAIN_BUCKETS]; /* every chain, by job id */
  host_q *hosts;                /* each with its ready list */
  chain_list waiting;           /* backing off before a retry */
  size_t inflight;
  metrics *m;
  responder_final_fn on_final;
  void *ud;
  unsigned rnd;
  CURL *idle[RESPONDER_MAX_INFLIGHT]; /* finished handles, kept for the next posts */
  size_t n_idle;
};

uint64_t responder_backoff_ms(int attempt, unsigned rnd) {
  /* 500 ms before the second attempt, doubling to 8 s, plus up to a quarter
   * more so that a burst of failed replies does not retry in step. */
  static const backoff_policy policy = {500, 8000, BACKOFF_ADDED_QUARTER};
  return backoff_ms(&policy, attempt > 2 ? (unsigned)(attempt - 2) : 0, rnd);
}

static void policy_copy(url_policy *dst, const url_policy *src) {
  dst->n_hosts = src->n_hosts;
  dst->hosts = xcalloc(src->n_hosts ? src->n_hosts : 1, sizeof(char *));
  for (size_t i = 0; i < src->n_hosts; i++)
    dst->hosts[i] = xstrdup(src->hosts[i]);
  dst->dev_loopback = src->dev_loopback;
}

static void policy_free(url_policy *p) {
  strv_free(p->hosts, p->n_hosts);
  p->hosts = NULL;
  p->n_hosts = 0;
}

static void post_free(post *p) {
  curl_url_cleanup(p->parsed);
  free(p->job_id);
  free(p->url);
  free(p->host);
  free(p->body);
  free(p);
}

static void list_push(chain_list *l, chain *c) {
  c->next = NULL;
  c->prev = l->tail;
  if (l->tail)
    l->tail->next = c;
  else
    l->head = c;
  l->tail = c;
  c->listed = true;
}

static void list_remove(chain_list *l, chain *c) {
  if (c->prev)
    c->prev->next = c->next;
  else
    l->head = c->next;
  if (c->next)
    c->next->prev = c->prev;
  else
    l->tail = c->prev;
  c->next = c->prev = NULL;
  c->listed = false;
}

/* Joins its host's queue, oldest first (the order the queue timeout needs). */
static void ready_push(chain *c) {
  c->ready_ms = mono_ms();
  list_push(&c->hq->ready, c);
}

static size_t chain_hash(const char *job_id) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *job_id; job_id++)
    h = (h ^ (unsigned char)*job_id) * 1099511628211ull;
  return (size_t)(h % CHAIN_BUCKETS);
}

static chain *chain_find(responder *r, const char *job_id, bool create) {
  size_t b = chain_hash(job_id);
  for (chain *c = r->bucket[b]; c; c = c->hnext)
    if (c->head && strcmp(c->head->job_id, job_id) == 0)
      return c;
  if (!create)
    return NULL;
  chain *c = xcalloc(1, sizeof *c);
  c->hnext = r->bucket[b];
  r->bucket[b] = c;
  return c;
}

/* Frees a chain whose last post is gone (it is on no list, nothing in flight). */
static void chain_drop(responder *r, chain *c, const char *job_id) {
  for (chain **pp = &r->bucket[chain_hash(job_id)]; *pp; pp = &(*pp)->hnext) {
    if (*pp == c) {
      *pp = c->hnext;
      break;
    }
  }
  free(c);
}

static size_t discard(char *ptr, size_t size, size_t n, void *ud) {
  (void)ptr;
  (void)ud;
  return size * n;
}

/* A handle for one post. Reused ones keep their constant options (and
 * curl's per-handle buffers); only the post's own are set again. */
static CURL *easy_get(responder *r) {
  if (r->n_idle)
    return r->idle[--r->n_idle];
  CURL *e = curl_easy_init();
  if (!e)
    return NULL;
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, RESPONDER_TIMEOUT_MS);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "slashd/" SLASHD_VERSION);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
  if (r->ca_bundle)
    curl_easy_setopt(e, CURLOPT_CAINFO, r->ca_bundle);
  return e;
}

/* A handle done with (already out of the multi handle). */
static void easy_put(responder *r, CURL *e) {
  if (r->n_idle < RESPONDER_MAX_INFLIGHT)
    r->idle[r->n_idle++] = e;
  else
    curl_easy_cleanup(e);
}

static void chain_start(responder *r, chain *c) {
  post *p = c->head;
  CURL *e = easy_get(r);
  if (!e)
    return;
  char hdr[96];
  c->hdrs = curl_slist_append(NULL, "Content-Type: application/json; charset=utf-8");
  snprintf(hdr, sizeof hdr, "X-Slashd-Request-Id: %s", p->job_id);
  c->hdrs = curl_slist_append(c->hdrs, hdr);
  c->hdrs =
      curl_slist_append(c->hdrs, p->final ? "X-Slashd-Reply: final" : "X-Slashd-Reply: interim");
  if (p->error)
    c->hdrs = curl_slist_append(c->hdrs, "X-Slashd-Error: 1");
  c->hdrs = curl_slist_append(c->hdrs, "Expect:");
  /* The URL the allow-list checked, as it parsed it: curl does not parse
   * it again for every post. */
  curl_easy_setopt(e, CURLOPT_CURLU, p->parsed);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->hdrs);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, p->body);
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(p->body));
  curl_easy_setopt(e, CURLOPT_PRIVATE, c);
  c->easy = e;
  c->started_ms = mono_ms();
  p->attempt++;
  r->inflight++;
  c->hq->inflight++;
  curl_multi_add_handle(r->multi, e);
}

/* Settles the chain's first post; the chain then waits for its next turn,
 * or is freed when that was its last post. */
static void chain_pop(responder *r, chain *c, final_outcome outcome) {
  post *p = c->head;
  c->head = p->next;
  if (!c->head)
    c->tail = NULL;
  if (p->final && r->on_final)
    r->on_final(r->ud, p->job_id, outcome);
  if (c->head)
    ready_push(c);
  else
    chain_drop(r, c, p->job_id);
  post_free(p);
  atomic_fetch_sub(&r->pending, 1);
}

static void give_up(responder *r, chain *c, const char *why, long status, bool abandoned) {
  post *p = c->head;
  log_kv(SLOG_WARN, "reply_failed", KV_S("req", p->job_id), KV_S("host", p->host),
         KV_I("attempts", p->attempt), KV_I("status", status), KV_S("msg", why));
  atomic_fetch_add(&r->m->posts[POST_FAILED], 1);
  chain_pop(r, c, abandoned ? FINAL_ABANDONED : FINAL_FAILED);
}

static void attempt_failed(responder *r, chain *c, const char *why, long status, bool retryable);

static void finish(responder *r, chain *c, CURLcode rc) {
  post *p = c->head;
  long status = 0;
  curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
  double secs = 0;
  curl_easy_getinfo(c->easy, CURLINFO_TOTAL_TIME, &secs);
  curl_multi_remove_handle(r->multi, c->easy);
  curl_easy_setopt(c->easy, CURLOPT_CURLU, NULL); /* freed with its post */
  easy_put(r, c->easy);
  curl_slist_free_all(c->hdrs);
  c->easy = NULL;
  c->hdrs = NULL;
  r->inflight--;
  c->hq->inflight--;
  if (rc == CURLE_OK && status >= 200 && status < 300) {
    log_kv(SLOG_INFO, "reply_posted", KV_S("req", p->job_id), KV_S("host", p->host),
           KV_I("status", status), KV_I("attempt", p->attempt), KV_B("final", p->final),
           KV_D("ms", secs * 1000));
    atomic_fetch_add(&r->m->posts[POST_OK], 1);
    chain_pop(r, c, FINAL_DELIVERED);
    return;
  }
  bool retryable = rc != CURLE_OK || status == 429 || status >= 500;
  attempt_failed(r, c, rc != CURLE_OK ? curl_easy_strerror(rc) : "HTTP error", status, retryable);
}

/* An attempt failed: back off and retry, or give up. */
static void attempt_failed(responder *r, chain *c, const char *why, long status, bool retryable) {
  post *p = c->head;
  bool expired = wall_s() - p->accepted_wall >= RESPONSE_URL_VALIDITY_S;
  if (!retryable || expired || p->attempt >= RESPONDER_MAX_ATTEMPTS) {
    give_up(r, c, expired ? "response_url expired (30 minutes)" : why, status, false);
    return;
  }
  uint64_t delay = responder_backoff_ms(p->attempt + 1, (unsigned)rand_r(&r->rnd));
  log_kv(SLOG_INFO, "reply_retry", KV_S("req", p->job_id), KV_S("host", p->host),
         KV_I("status", status), KV_S("msg", why), KV_I("attempt", p->attempt),
         KV_U("delay_ms", delay));
  atomic_fetch_add(&r->m->posts[POST_RETRIED], 1);
  p->not_before_ms = mono_ms() + delay;
  list_push(&r->waiting, c);
}

static host_q *host_find(responder *r, const char *name) {
  for (host_q *hq = r->hosts; hq; hq = hq->next)
    if (strcmp(hq->name, name) == 0)
      return hq;
  host_q *hq = xcalloc(1, sizeof *hq);
  hq->name = xstrdup(name);
  hq->next = r->hosts;
  r->hosts = hq;
  return hq;
}

/* Moves handed-over posts into their job's chain; refuses what the
 * allow-list does not permit. */
static void take_incoming(responder *r) {
  pthread_mutex_lock(&r->mu);
  post *p = r->in_head;
  r->in_head = r->in_tail = NULL;
  url_policy *fresh = r->next_policy;
  r->next_policy = NULL;
  pthread_mutex_unlock(&r->mu);
  if (fresh) {
    policy_free(&r->policy);
    r->policy = *fresh;
    free(fresh);
  }
  while (p) {
    post *next = p->next;
    p->next = NULL;
    char *why = NULL, *origin = NULL;
    if (!url_allowed_origin(&r->policy, p->url, &why, &p->host, &origin, &p->parsed)) {
      log_kv(SLOG_WARN, "reply_refused", KV_S("req", p->job_id), KV_S("host", p->host),
             KV_S("msg", why));
      atomic_fetch_add(&r->m->posts[POST_REFUSED], 1);
      free(why);
      if (p->final && r->on_final)
        r->on_final(r->ud, p->job_id, FINAL_FAILED);
      post_free(p);
      atomic_fetch_sub(&r->pending, 1);
    } else {
      chain *c = chain_find(r, p->job_id, true);
      if (!c->hq)
        c->hq = host_find(r, origin);
      if (c->tail) {
        c->tail->next = p; /* in flight, ready or waiting: it comes in turn */
      } else {
        c->head = p;
        ready_push(c);
      }
      c->tail = p;
    }
    free(origin);
    p = next;
  }
}

/* Moves retries that are due to the ready list, starts ready chains while
 * slots are free; returns ms until the next retry is due. */
static long schedule(responder *r) {
  long wait = 1000;
  uint64_t now = mono_ms();
  for (chain *c = r->waiting.head, *next; c; c = next) {
    next = c->next;
    if (c->head->not_before_ms <= now) {
      list_remove(&r->waiting, c);
      ready_push(c);
    } else if ((long)(c->head->not_before_ms - now) < wait) {
      wait = (long)(c->head->not_before_ms - now);
    }
  }
  for (host_q *hq = r->hosts; hq; hq = hq->next) {
    /* Posts that waited a whole transfer timeout for a slot: that attempt
     * timed out (the list is oldest first). */
    while (hq->ready.head && hq->ready.head->ready_ms + RESPONDER_TIMEOUT_MS <= now) {
      chain *c = hq->ready.head;
      list_remove(&hq->ready, c);
      c->head->attempt++;
      attempt_failed(r, c, "Timeout was reached (waiting for a connection)", 0, true);
    }
    while (hq->ready.head && hq->inflight < RESPONDER_MAX_INFLIGHT &&
           r->inflight < RESPONDER_MAX_INFLIGHT_ALL) {
      chain *c = hq->ready.head;
      list_remove(&hq->ready, c);
      chain_start(r, c);
      if (!c->easy) { /* no handle: try again in a moment */
        list_push(&r->waiting, c);
        c->head->not_before_ms = now + 100;
        return 100;
      }
    }
  }
  return wait;
}

static void abandon_all(responder *r) {
  /* Nothing is started any more: forget the lists, then give up every post. */
  for (host_q *hq = r->hosts; hq; hq = hq->next) {
    for (chain *c = hq->ready.head; c; c = c->next)
      c->listed = false;
    hq->ready = (chain_list){0};
  }
  for (chain *c = r->waiting.head; c; c = c->next)
    c->listed = false;
  r->waiting = (chain_list){0};
  for (size_t b = 0; b < CHAIN_BUCKETS; b++) {
    while (r->bucket[b]) {
      chain *c = r->bucket[b];
      if (c->easy) {
        curl_multi_remove_handle(r->multi, c->easy);
        curl_easy_cleanup(c->easy);
        curl_slist_free_all(c->hdrs);
        c->easy = NULL;
        r->inflight--;
        c->hq->inflight--;
      }
      /* Each give_up settles one post; the chain is freed with its last. */
      for (bool last = false; !last;) {
        last = c->head->next == NULL;
        give_up(r, c, "shutting down", 0, true);
      }
    }
  }
  for (host_q *hq = r->hosts; hq; hq = hq->next)
    hq->ready = (chain_list){0};
}

/* Says the thread is about to sleep, then looks once more: a post handed
 * over before the flag was set found it clear and did not wake it (see
 * responder_post). */
static bool sleep_ok(responder *r) {
  atomic_store(&r->asleep, true);
  pthread_mutex_lock(&r->mu);
  bool empty = !r->in_head;
  pthread_mutex_unlock(&r->mu);
  return empty;
}

static void *run(void *arg) {
  responder *r = arg;
  for (;;) {
    take_incoming(r);
    long wait = schedule(r);
    int running = 0;
    curl_multi_perform(r->multi, &running);
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(r->multi, &left))) {
      if (msg->msg != CURLMSG_DONE)
        continue;
      chain *c = NULL;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
      finish(r, c, msg->data.result);
      wait = 0;
    }
    if (atomic_load(&r->stopping)) {
      if (atomic_load(&r->pending) == 0 || mono_ms() >= r->deadline_ms)
        break;
      if (wait > 100)
        wait = 100;
    }
    if (wait > 0 && sleep_ok(r))
      curl_multi_poll(r->multi, NULL, 0, (int)wait, NULL);
    atomic_store(&r->asleep, false);
  }
  take_incoming(r);
  abandon_all(r);
  return NULL;
}

responder *responder_start(const url_policy *policy, metrics *m, responder_final_fn on_final,
                           void *ud) {
  responder *r = xcalloc(1, sizeof *r);
  pthread_mutex_init(&r->mu, NULL);
  policy_copy(&r->policy, policy);
  r->m = m;
  r->on_final = on_final;
  r->ud = ud;
  r->rnd = (unsigned)mono_us();
  /* Read once, before the thread starts (getenv is not safe against a
   * setenv on another thread). */
  const char *ca = getenv(RESPONDER_CA_ENV);
  r->ca_bundle = ca && *ca ? xstrdup(ca) : NULL;
  r->multi = curl_multi_init();
  /* Sockets stay bounded whatever the hosts do: at most
   * RESPONDER_MAX_INFLIGHT posts run at once (a hanging response_url host
   * once held one socket per job, 2,000 of them, until the descriptor limit
   * stopped the front door), and a per-host cap guards the same if that
   * limit is ever raised. */
  curl_multi_setopt(r->multi, CURLMOPT_MAX_HOST_CONNECTIONS, RESPONDER_MAX_HOST_CONNECTIONS);

  curl_multi_setopt(r->multi, CURLMOPT_MAXCONNECTS, (long)RESPONDER_MAX_INFLIGHT);
  if (pthread_create(&r->thread, NULL, run, r) != 0) {
    log_event(SLOG_ERROR, "responder_thread_failed");
    abort();
  }
  return r;
}

void responder_set_policy(responder *r, const url_policy *policy) {
  url_policy *fresh = xcalloc(1, sizeof *fresh);
  policy_copy(fresh, policy);
  pthread_mutex_lock(&r->mu);
  url_policy *old = r->next_policy;
  r->next_policy = fresh;
  pthread_mutex_unlock(&r->mu);
  if (old) {
    policy_free(old);
    free(old);
  }
  curl_multi_wakeup(r->multi);
}

void responder_post(responder *r, const char *job_id, const char *url, const char *body, bool final,
                    bool error, int64_t accepted_wall) {
  post *p = xcalloc(1, sizeof *p);
  p->job_id = xstrdup(job_id);
  p->url = xstrdup(url);
  p->host = NULL; /* set with the allow-list check, on the responder thread */
  p->body = xstrdup(body);
  p->final = final;
  p->error = error;
  p->accepted_wall = accepted_wall;
  atomic_fetch_add(&r->pending, 1);
  pthread_mutex_lock(&r->mu);
  if (r->in_tail)
    r->in_tail->next = p;
  else
    r->in_head = p;
  r->in_tail = p;
  pthread_mutex_unlock(&r->mu);
  /* Awake, the thread takes it before it sleeps again: under load this
   * saves a write and a wake-up per post. */
  if (atomic_exchange(&r->asleep, false))
    curl_multi_wakeup(r->multi);
}

size_t responder_pending(responder *r) {
  return atomic_load(&r->pending);
}

void responder_stop(responder *r, int deadline_ms) {
  if (!r)
    return;
  r->deadline_ms = mono_ms() + (uint64_t)(deadline_ms > 0 ? deadline_ms : 0);
  atomic_store(&r->stopping, true);
  curl_multi_wakeup(r->multi);
  pthread_join(r->thread, NULL);
  while (r->n_idle)
    curl_easy_cleanup(r->idle[--r->n_idle]);
  curl_multi_cleanup(r->multi);
  policy_free(&r->policy);
  if (r->next_policy) {
    policy_free(r->next_policy);
    free(r->next_policy);
  }
  while (r->hosts) {
    host_q *next = r->hosts->next;
    free(r->hosts->name);
    free(r->hosts);
    r->hosts = next;
  }
  pthread_mutex_destroy(&r->mu);
  free(r->ca_bundle);
  free(r);
}
