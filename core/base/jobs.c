#include "base/jobs.h"

#include <stdlib.h>
#include <string.h>

#include "base/route.h"
#include "base/message.h"
#include "base/util.h"
#include "slashd/plugin.h"

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

/* Written directly rather than through a jansson object: the journal's
 * accept record is built for every job, on the ack's path. */
void job_encode_text(sbuf *b, const job *j) {
  sbuf_adds(b, "{\"v\":");
  sbuf_add_int(b, JOB_VERSION);
  sbuf_add_json_member(b, "id", j->id);
  const char *const strs[][2] = {{"team", j->team_id},
                                 {"user", j->user_id},
                                 {"user_name", j->user_name},
                                 {"channel", j->channel_id},
                                 {"channel_name", j->channel_name},
                                 {"command", j->command},
                                 {"text", j->text},
                                 {"plugin", j->plugin},
                                 {"cmd", j->cmd},
                                 {"response_url", j->response_url}};
  for (size_t i = 0; i < ARRAY_LEN(strs); i++)
    sbuf_add_json_member(b, strs[i][0], strs[i][1]);
  sbuf_adds(b, ",\"args\":[");
  for (int i = 0; i < j->argc; i++) {
    const char *a = j->argv[i] ? j->argv[i] : "";
    if (i)
      sbuf_addc(b, ',');
    sbuf_add_json_string(b, a, strlen(a));
  }
  sbuf_adds(b, j->access == SLASHD_WRITE ? "],\"access\":\"write\",\"accepted_ms\":"
                                         : "],\"access\":\"read\",\"accepted_ms\":");
  sbuf_add_int(b, (long long)j->accepted_ms);
  sbuf_adds(b, ",\"deadline_ms\":");
  sbuf_add_int(b, (long long)j->deadline_ms);
  /* Optional: absent means "the default" / "not decided yet". */
  const char *const opt[][2] = {{"region", j->region},
                                {"account", j->account},
                                {"identity", j->identity},
                                {"session", j->session},
                                {"preface", j->preface}};
  for (size_t i = 0; i < ARRAY_LEN(opt); i++)
    if (opt[i][1])
      sbuf_add_json_member(b, opt[i][0], opt[i][1]);
  if (j->prepare)
    sbuf_adds(b, ",\"prepare\":true");
  if (j->replace_original)
    sbuf_adds(b, ",\"replace_original\":true");
  sbuf_addc(b, '}');
}

json_t *job_encode(const job *j) {
  sbuf b = {0};
  job_encode_text(&b, j);
  json_t *o = json_loadb(b.p, b.len, 0, NULL);
  sbuf_free(&b);
  return o;
}

/* A string field into *dst (new string); absent or null is "" unless
 * required. False when it has the wrong type or is required and missing. */
static bool take_str(const json_t *o, const char *name, bool required, char **dst) {
  const json_t *v = json_object_get(o, name);
  if (!v || json_is_null(v)) {
    *dst = required ? NULL : xstrdup("");
    return !required;
  }
  if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
    return false;
  *dst = xstrdup(json_string_value(v));
  return true;
}

/* An optional string: absent stays NULL (a meaning of its own: "the
 * default"). */
static bool take_opt_str(const json_t *o, const char *name, char **dst) {
  const json_t *v = json_object_get(o, name);
  if (!v || json_is_null(v))
    return true;
  return take_str(o, name, true, dst);
}

static bool take_args(const json_t *args, job *j) {
  if (!json_is_array(args) || json_array_size(args) > ROUTE_ARGS_MAX)
    return false;
  j->argc = (int)json_array_size(args);
  j->argv = xcalloc((size_t)j->argc + 1, sizeof *j->argv);
  for (int i = 0; i < j->argc; i++) {
    const json_t *a = json_array_get(args, (size_t)i);
    if (!json_is_string(a))
      return false;
    j->argv[i] = xstrdup(json_string_value(a));
  }
  return true;
}

static const char *decode_fields(const json_t *o, job *j) {
  const char *id = json_string_value(json_object_get(o, "id"));
  if (!id || !*id || strlen(id) >= sizeof j->id)
    return "id";
  memcpy(j->id, id, strlen(id) + 1);
  struct {
    const char *name;
    bool required;
    char **dst;
  } strs[] = {{"team", false, &j->team_id},
              {"user", true, &j->user_id},
              {"user_name", false, &j->user_name},
              {"channel", false, &j->channel_id},
              {"channel_name", false, &j->channel_name},
              {"command", false, &j->command},
              {"text", false, &j->text},
              {"plugin", false, &j->plugin},
              {"cmd", false, &j->cmd},
              {"response_url", true, &j->response_url}};
  for (size_t i = 0; i < ARRAY_LEN(strs); i++)
    if (!take_str(o, strs[i].name, strs[i].required, strs[i].dst))
      return strs[i].name;
  if (!take_args(json_object_get(o, "args"), j))
    return "args";
  const char *access = json_string_value(json_object_get(o, "access"));
  if (!str_eq(access, "read") && !str_eq(access, "write"))
    return "access";
  j->access = str_eq(access, "write") ? SLASHD_WRITE : SLASHD_READ;
  const json_t *acc = json_object_get(o, "accepted_ms");
  const json_t *dl = json_object_get(o, "deadline_ms");
  if (!json_is_integer(acc) || json_integer_value(acc) < 0)
    return "accepted_ms";
  if (dl && (!json_is_integer(dl) || json_integer_value(dl) < 0))
    return "deadline_ms";
  j->accepted_ms = json_integer_value(acc);
  j->accepted_wall = j->accepted_ms / 1000;
  j->deadline_ms = dl ? json_integer_value(dl) : 0;
  struct {
    const char *name;
    char **dst;
  } opt[] = {{"region", &j->region},
             {"account", &j->account},
             {"identity", &j->identity},
             {"session", &j->session},
             {"preface", &j->preface}};
  for (size_t i = 0; i < ARRAY_LEN(opt); i++)
    if (!take_opt_str(o, opt[i].name, opt[i].dst))
      return opt[i].name;
  const char *flags[] = {"prepare", "replace_original"};
  bool *dst[] = {&j->prepare, &j->replace_original};
  for (size_t i = 0; i < ARRAY_LEN(flags); i++) {
    const json_t *f = json_object_get(o, flags[i]);
    if (f && !json_is_boolean(f))
      return flags[i];
    *dst[i] = json_is_true(f);
  }
  return NULL;
}

job *job_decode(const json_t *o, char **err) {
  *err = NULL;
  if (!json_is_object(o)) {
    *err = xstrdup("job: not a JSON object");
    return NULL;
  }
  const json_t *v = json_object_get(o, "v");
  if (!json_is_integer(v) || json_integer_value(v) != JOB_VERSION) {
    *err = json_is_integer(v)
               ? xasprintf("job: version %lld is not known here (this slashd reads version %d)",
                           (long long)json_integer_value(v), JOB_VERSION)
               : xstrdup("job: no version field \"v\"");
    return NULL;
  }
  job *j = xcalloc(1, sizeof *j);
  const char *bad = decode_fields(o, j);
  if (bad) {
    *err = xasprintf("job: field %s is missing or malformed", bad);
    job_free(j);
    return NULL;
  }
  return j;
}

size_t job_wire_bytes(const job *j) {
  sbuf b = {0};
  job_encode_text(&b, j);
  size_t n = b.len;
  sbuf_free(&b);
  return n + JOB_WIRE_RESERVE;
}

char *job_display(const job *j) {
  return message_command_span(j->command, j->text, 120);
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

bool queue_push_front(job_queue *q, job *j) {
  pthread_mutex_lock(&q->mu);
  bool ok = q->len < q->cap;
  if (ok) {
    q->head = (q->head + q->cap - 1) % q->cap;
    q->ring[q->head] = j;
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

/* One allocation per entry, the key inline: a window's worth of commands
 * (tens of thousands in a burst) is most of the host's live memory after it. */
typedef struct dedupe_entry {
  struct dedupe_entry *next;
  int64_t accepted;
  bool running;
  char key[];
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

/* Unlinks and frees *pp, which then names the next entry. */
static void unlink_entry(dedupe *d, dedupe_entry **pp) {
  dedupe_entry *e = *pp;
  *pp = e->next;
  free(e);
  d->n--;
}

void dedupe_set_window(dedupe *d, int window_s) {
  pthread_mutex_lock(&d->mu);
  d->window = window_s;
  pthread_mutex_unlock(&d->mu);
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
  size_t len = strlen(key);
  dedupe_entry *e = xmalloc(sizeof *e + len + 1);
  memcpy(e->key, key, len + 1);
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
