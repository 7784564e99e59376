#include "daemon/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "base/log.h"
#include "base/safefile.h"
#include "base/util.h"
#include "base/wire.h"
#include "slashd/plugin.h"

#define JOURNAL_BUCKETS 1024
#define COMPACT_BYTES (4u * 1024 * 1024)
/* A record holds a whole request's fields: max_body is at most 1 MiB and
 * JSON escaping at most doubles clean text, so any accepted request fits
 * well within this; longer lines are not ours. */
#define JOURNAL_LINE_MAX (8 * 1024 * 1024)

typedef struct open_job {
  struct open_job *next;
  char *id;
  char *line; /* the accept record, for compaction and recovery */
} open_job;

struct journal {
  pthread_mutex_t mu;
  char *path;
  int fd;
  bool always_sync;
  bool dirty;
  uint64_t bytes; /* written since the last compaction */
  open_job *bucket[JOURNAL_BUCKETS];
  size_t n_open;
  pthread_t syncer;
  pthread_cond_t cv;
  bool stop;
  /* Open jobs of the previous run, handed out by journal_recover. */
  json_t *recovered;
};

/* A record id is a request id: [A-Za-z0-9_.-], 1..31 bytes. Anything else
 * (a quote, CR/LF) could break a record or, read back at recovery, a
 * response_url header. */
static bool id_ok(const char *id) {
  size_t n = id ? strlen(id) : 0;
  if (n == 0 || n > 31)
    return false;
  for (; *id; id++) {
    char c = *id;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-' || c == '.'))
      return false;
  }
  return true;
}

static size_t hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return (size_t)(h % JOURNAL_BUCKETS);
}

static void open_add(journal *jn, const char *id, const char *line) {
  open_job *o = xcalloc(1, sizeof *o);
  o->id = xstrdup(id);
  o->line = xstrdup(line);
  size_t b = hash(id);
  o->next = jn->bucket[b];
  jn->bucket[b] = o;
  jn->n_open++;
}

static bool open_remove(journal *jn, const char *id) {
  for (open_job **pp = &jn->bucket[hash(id)]; *pp; pp = &(*pp)->next) {
    if (strcmp((*pp)->id, id) == 0) {
      open_job *o = *pp;
      *pp = o->next;
      free(o->id);
      free(o->line);
      free(o);
      jn->n_open--;
      return true;
    }
  }
  return false;
}

/* One record, one write(2): a reader after a crash sees whole lines or a
 * torn last line, which recovery skips. */
static bool append(journal *jn, const char *line) {
  size_t n = strlen(line);
  char *buf = xmalloc(n + 1);
  memcpy(buf, line, n);
  buf[n] = '\n';
  bool ok = write_all(jn->fd, buf, n + 1);
  free(buf);
  if (ok) {
    jn->bytes += n + 1;
    jn->dirty = true;
    if (jn->always_sync)
      ok = fdatasync(jn->fd) == 0;
  }
  return ok;
}

/* Rewrites the file with only the open jobs (under the lock). */
static bool compact(journal *jn) {
  char *tmp = xasprintf("%s.tmp", jn->path);
  int fd = safefile_create(tmp, true);
  bool ok = fd >= 0;
  uint64_t bytes = 0;
  for (size_t b = 0; ok && b < JOURNAL_BUCKETS; b++) {
    for (open_job *o = jn->bucket[b]; ok && o; o = o->next) {
      size_t n = strlen(o->line);
      ok = write_all(fd, o->line, n) && write_all(fd, "\n", 1);
      bytes += n + 1;
    }
  }
  ok = ok && fdatasync(fd) == 0;
  if (fd >= 0)
    close(fd);
  ok = ok && rename(tmp, jn->path) == 0;
  if (!ok) {
    log_kv(SLOG_ERROR, "journal_compact_failed", KV_S("file", jn->path),
           KV_S("msg", strerror(errno)));
    unlink(tmp);
    free(tmp);
    return false;
  }
  free(tmp);
  int nfd = open(jn->path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
  if (nfd < 0)
    return false;
  close(jn->fd);
  jn->fd = nfd;
  jn->bytes = bytes;
  return true;
}

static void *syncer(void *arg) {
  journal *jn = arg;
  pthread_mutex_lock(&jn->mu);
  while (!jn->stop) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 1;
    pthread_cond_timedwait(&jn->cv, &jn->mu, &ts);
    if (jn->dirty) {
      /* Sync a duplicate outside the lock: acks must not wait on the disk,
       * and compaction may replace jn->fd meanwhile. */
      int fd = dup(jn->fd);
      jn->dirty = false;
      pthread_mutex_unlock(&jn->mu);
      if (fd >= 0) {
        fdatasync(fd);
        close(fd);
      }
      pthread_mutex_lock(&jn->mu);
    }
  }
  pthread_mutex_unlock(&jn->mu);
  return NULL;
}

/* Reads the previous run's records: accepts without a done are open. */
static void load(journal *jn) {
  int fd = open(jn->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
  if (!f) {
    if (fd >= 0)
      close(fd);
    return;
  }
  jn->recovered = json_array();
  json_t *open = json_object();
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  size_t bad = 0;
  while ((n = getline(&line, &cap, f)) > 0) {
    if (line[n - 1] != '\n' || n > JOURNAL_LINE_MAX) {
      bad++; /* a torn last record */
      continue;
    }
    json_t *r = json_loadb(line, (size_t)n - 1, 0, NULL);
    wire_msg rec;
    char *why = NULL;
    if (!r || !wire_decode_record(r, &rec, &why) || !id_ok(rec.id))
      bad++;
    else if (rec.t == WIRE_ACCEPT)
      json_object_set(open, rec.id, r);
    else
      json_object_del(open, rec.id);
    wire_msg_free(&rec);
    free(why);
    json_decref(r);
  }
  free(line);
  fclose(f);
  const char *id;
  json_t *r;
  json_object_foreach(open, id, r) {
    char *s = json_dumps(r, JSON_COMPACT);
    open_add(jn, id, s);
    free(s);
    json_array_append(jn->recovered, r);
  }
  json_decref(open);
  if (bad)
    log_kv(SLOG_WARN, "journal_skipped", KV_U("records", bad),
           KV_S("msg", "unreadable records (a torn write at a crash) were skipped"));
}

journal *journal_open(const char *path, bool always_sync, char **err) {
  journal *jn = xcalloc(1, sizeof *jn);
  pthread_mutex_init(&jn->mu, NULL);
  pthread_cond_init(&jn->cv, NULL);
  jn->path = xstrdup(path);
  jn->always_sync = always_sync;
  jn->fd = -1;
  load(jn);
  /* Start from a compact file: only what is still open. */
  char *why = NULL;
  jn->fd = safefile_append(path, &why);
  if (jn->fd < 0 || !compact(jn)) {
    *err = why ? xasprintf("journal %s", why) : xasprintf("journal %s: %s", path, strerror(errno));
    free(why);
    journal_close(jn);
    return NULL;
  }
  if (pthread_create(&jn->syncer, NULL, syncer, jn) != 0) {
    *err = xstrdup("cannot start the journal thread");
    jn->syncer = 0;
    journal_close(jn);
    return NULL;
  }
  return jn;
}

size_t journal_recover(journal *jn, void (*fn)(void *ud, const journal_entry *e), void *ud) {
  if (!jn || !jn->recovered)
    return 0;
  size_t i;
  json_t *r;
  json_array_foreach(jn->recovered, i, r) {
    wire_msg rec;
    char *why = NULL;
    if (!wire_decode_record(r, &rec, &why) || rec.t != WIRE_ACCEPT) {
      free(why);
      continue; /* load() kept only accept records that decode */
    }
    const job *j = rec.job;
    journal_entry e = {
        .id = j->id,
        .accepted = j->accepted_wall,
        .user_id = j->user_id ? j->user_id : "",
        .command = j->command ? j->command : "",
        .text = j->text ? j->text : "",
        .response_url = j->response_url,
        .write = j->access == SLASHD_WRITE,
    };
    fn(ud, &e);
    wire_msg_free(&rec);
  }
  size_t n = json_array_size(jn->recovered);
  json_decref(jn->recovered);
  jn->recovered = NULL;
  return n;
}

bool journal_accept(journal *jn, const job *j) {
  if (!jn)
    return true;
  if (!id_ok(j->id)) {
    log_kv(SLOG_ERROR, "journal_bad_id", KV_S("msg", "a job id that is not a request id"));
    return false;
  }
  char *line = wire_accept_line(j);
  if (!line)
    return false;
  pthread_mutex_lock(&jn->mu);
  bool ok = append(jn, line);
  if (ok)
    open_add(jn, j->id, line);
  else
    log_kv(SLOG_ERROR, "journal_write_failed", KV_S("file", jn->path),
           KV_S("msg", strerror(errno)));
  pthread_mutex_unlock(&jn->mu);
  free(line);
  return ok;
}

void journal_finish(journal *jn, const char *job_id) {
  if (!jn)
    return;
  char *line = wire_finished_line(job_id);
  if (!line)
    return;
  pthread_mutex_lock(&jn->mu);
  if (open_remove(jn, job_id)) {
    if (!append(jn, line))
      log_kv(SLOG_ERROR, "journal_write_failed", KV_S("file", jn->path),
             KV_S("msg", strerror(errno)));
    if (jn->bytes > COMPACT_BYTES)
      compact(jn);
  }
  pthread_mutex_unlock(&jn->mu);
  free(line);
}

size_t journal_open_count(journal *jn) {
  if (!jn)
    return 0;
  pthread_mutex_lock(&jn->mu);
  size_t n = jn->n_open;
  pthread_mutex_unlock(&jn->mu);
  return n;
}

void journal_close(journal *jn) {
  if (!jn)
    return;
  if (jn->syncer) {
    pthread_mutex_lock(&jn->mu);
    jn->stop = true;
    pthread_cond_signal(&jn->cv);
    pthread_mutex_unlock(&jn->mu);
    pthread_join(jn->syncer, NULL);
  }
  if (jn->fd >= 0) {
    fdatasync(jn->fd);
    close(jn->fd);
  }
  for (size_t b = 0; b < JOURNAL_BUCKETS; b++) {
    open_job *o = jn->bucket[b];
    while (o) {
      open_job *next = o->next;
      free(o->id);
      free(o->line);
      free(o);
      o = next;
    }
  }
  json_decref(jn->recovered);
  free(jn->path);
  pthread_cond_destroy(&jn->cv);
  pthread_mutex_destroy(&jn->mu);
  free(jn);
}
