#include "daemon/pool.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/credcache.h"
#include "daemon/dispatch.h"
#include "worker/awsglue.h"
#include "base/ipc.h"
#include "base/log.h"
#include "base/util.h"
#include "base/wire.h"
#include "worker/exec.h"
#include "common/backoff.h"

typedef enum { W_EMPTY, W_STARTING, W_IDLE, W_BUSY } wstate;

typedef struct worker {
  int index;
  wstate state;
  exec_child c;
  unsigned gen;
  job *job;
  uint64_t deadline_ms; /* job timeout */
  exec_kill killed;
  bool logged_start; /* worker_started is logged once its pid is known */
  uint64_t respawn_at_ms;
  int failures; /* consecutive deaths before hello, for backoff */
  dispatch_job dj;
} worker;

struct pool {
  server *srv;
  pthread_t thread;
  int efd;
  worker *w;
  int n;

  char *config_name;

  pthread_mutex_t mu; /* guards the fields below, set by other threads */
  int config_fd;      /* the snapshot new workers read */
  unsigned gen;
  bool draining;
  uint64_t drain_deadline_ms;
  bool ready;
  char *ready_err;
  pthread_cond_t ready_cv;

  /* The spawners (worker/exec.h): the current generation's, and older ones
   * until their last worker is reaped. The dispatcher thread's only. */
  exec_spawner **sps;
  size_t n_sps;
  int sp_failures;      /* spawners that died since a worker last came up */
  uint64_t sp_retry_at; /* no new spawner before (backoff) */
  struct pollfd *pfd;   /* poll_once's, with room for poll_room */
  int *who;
  size_t poll_room;

  atomic_size_t n_idle, n_busy, n_starting;
  /* The dispatcher is in poll(): a new job must wake it (pool_wake). */
  atomic_bool asleep;
  ipc_reader rd; /* the dispatcher thread's */
};

static void set_state(pool *p, worker *w, wstate st) {
  atomic_size_t *ctr[] = {NULL, &p->n_starting, &p->n_idle, &p->n_busy};
  if (ctr[w->state])
    atomic_fetch_sub(ctr[w->state], 1);
  w->state = st;
  if (ctr[st])
    atomic_fetch_add(ctr[st], 1);
}

static void wake(pool *p) {
  uint64_t one = 1;
  (void)!write(p->efd, &one, sizeof one);
}

/* A spawner that keeps dying (a plugin library crashing while it loads):
 * 250 ms, then doubling to 30 s, as for workers. */
static const backoff_policy respawn_policy = {250, 30000, BACKOFF_NO_JITTER};

/* The spawner of generation `gen`, started when there is none (or it died
 * and its backoff has passed). NULL when none can be had now. */
static exec_spawner *spawner_for(pool *p, unsigned gen) {
  for (size_t i = 0; i < p->n_sps; i++)
    if (exec_spawner_generation(p->sps[i]) == gen && exec_spawner_alive(p->sps[i]))
      return p->sps[i];
  uint64_t now = mono_ms();
  if (now < p->sp_retry_at)
    return NULL;
  /* A duplicate of our own, so a reload may close the pool's meanwhile. */
  pthread_mutex_lock(&p->mu);
  int cfg = fcntl(p->config_fd, F_DUPFD_CLOEXEC, 10);
  pthread_mutex_unlock(&p->mu);
  exec_spawn_args a = {.config_fd = cfg, .config_name = p->config_name, .generation = gen};
  char *err = NULL;
  exec_spawner *sp = cfg >= 0 ? exec_spawner_start(&a, &err) : NULL;
  if (cfg >= 0)
    close(cfg);
  if (!sp) {
    if (!err)
      err = xstrdup(strerror(errno));
    log_kv(SLOG_ERROR, "worker_spawn_failed", KV_S("msg", err));
    free(err);
    p->sp_retry_at = now + backoff_ms(&respawn_policy, (unsigned)p->sp_failures++, 0);
    return NULL;
  }
  p->sps = xrealloc(p->sps, (p->n_sps + 1) * sizeof *p->sps);
  p->sps[p->n_sps++] = sp;
  log_kv(SLOG_DEBUG, "spawner_started", KV_I("pid", exec_spawner_pid(sp)), KV_U("generation", gen));
  return sp;
}

/* A new worker on the current configuration, forked by its generation's
 * spawner (worker/exec.h): our socket end now, its pid with the answer. */
static bool spawn(pool *p, worker *w) {
  pthread_mutex_lock(&p->mu);
  unsigned gen = p->gen;
  pthread_mutex_unlock(&p->mu);
  exec_spawner *sp = spawner_for(p, gen);
  if (!sp) {
    w->respawn_at_ms = p->sp_retry_at;
    return false;
  }
  char *err = NULL;
  if (!exec_spawner_fork(sp, w->index, &w->c, &err)) {
    log_kv(SLOG_ERROR, "worker_spawn_failed", KV_I("worker", w->index), KV_S("msg", err));
    free(err);
    return false;
  }
  w->gen = gen;
  w->killed = EXEC_KILL_NONE;
  w->logged_start = false;
  set_state(p, w, W_STARTING);
  return true;
}

static void schedule_respawn(pool *p, worker *w) {
  /* A worker that keeps dying before hello (a broken plugin): 250 ms, then
   * doubling to 30 s, so it cannot spin the CPU. */
  uint64_t delay =
      w->failures > 0 ? backoff_ms(&respawn_policy, (unsigned)(w->failures - 1), 0) : 0;
  w->respawn_at_ms = mono_ms() + delay;
  set_state(p, w, W_EMPTY);
}

/* The worker died before it acknowledged its job (an idle worker killed by
 * the OOM killer, a stray thread's crash): the handler never ran, so the
 * job is given to the next free worker, once; lost again, its user is told
 * it did not run, and the audit says not_started. */
static void lost_before_start(pool *p, worker *w, const char *how) {
  job *j = w->job;
  if (j->dispatches < 2 && queue_push_front(&p->srv->queue, j)) {
    log_kv(SLOG_WARN, "job_redispatched", KV_S("req", j->id), KV_I("worker", w->index),
           KV_S("how", how), KV_S("msg", "its worker was lost before the command started"));
    dispatch_job_forget(&w->dj);
    w->job = NULL;
    return;
  }
  dispatch_job_not_started(p->srv, &w->dj, j, how);
  w->job = NULL;
}

static void worker_died(pool *p, worker *w) {
  pid_t pid = w->c.pid;
  int status = exec_reap(&w->c);
  char how[96];
  exec_describe_status(status, how, sizeof how);
  bool before_hello = w->state == W_STARTING;
  if (w->job && !w->dj.started && w->killed == EXEC_KILL_NONE)
    lost_before_start(p, w, how);
  if (w->job) {
    job_outcome o = exec_end_outcome(exec_died_end(w->killed, status));
    dispatch_job_lost(p->srv, &w->dj, w->job, o, how);
    w->job = NULL;
  }
  if (w->killed == EXEC_KILL_NONE)
    log_kv(before_hello ? SLOG_ERROR : SLOG_WARN, "worker_died", KV_I("worker", w->index),
           KV_I("pid", pid), KV_S("how", how), KV_B("before_ready", before_hello));
  w->failures = before_hello ? w->failures + 1 : 0;
  /* The first worker died before it was ready: the others, held back so it
   * could start alone, start now rather than wait on it. */
  for (int i = 0; before_hello && i < p->n; i++)
    if (p->w[i].state == W_EMPTY && p->w[i].respawn_at_ms == UINT64_MAX)
      p->w[i].respawn_at_ms = mono_ms();

  atomic_fetch_add(&p->srv->m.worker_restarts, 1);
  schedule_respawn(p, w);
}

/* Asks a worker to leave (its socket closes; it unloads and exits). */
static void retire(pool *p, worker *w) {
  exec_retire(&w->c, 500);
  w->failures = 0;
  schedule_respawn(p, w);
}

static void on_hello(pool *p, worker *w, const wire_msg *msg) {
  pthread_mutex_lock(&p->mu);
  unsigned gen = p->gen;
  pthread_mutex_unlock(&p->mu);
  char *err = NULL;
  route_table *t = route_table_from_json(msg->manifest, &err);
  if (!t) {
    log_kv(SLOG_ERROR, "worker_bad_hello", KV_I("worker", w->index), KV_S("msg", err));
    free(err);
    exec_signal(&w->c, SIGKILL);
    return;
  }
  w->failures = 0;
  p->sp_failures = 0;
  set_state(p, w, W_IDLE);
  if (w->gen == gen) {
    server_set_routes(p->srv, t);
    pthread_mutex_lock(&p->mu);
    bool first = !p->ready;
    if (first) {
      p->ready = true;
      pthread_cond_broadcast(&p->ready_cv);
    }
    pthread_mutex_unlock(&p->mu);
    if (first) {
      uint64_t now = mono_ms();
      for (int i = 0; i < p->n; i++)
        if (p->w[i].state == W_EMPTY && p->w[i].respawn_at_ms == UINT64_MAX)
          p->w[i].respawn_at_ms = now;
    }

  } else {
    route_table_unref(t);
  }
  log_kv(SLOG_DEBUG, "worker_ready", KV_I("worker", w->index), KV_I("pid", w->c.pid));
}

/* Credentials enter the shared cache only for the job this worker runs,
 * under that job's user/channel key, with a real expiry: a compromised
 * plugin cannot plant a role for another user. */
static void on_creds(pool *p, worker *w, const wire_msg *msg) {
  char *key = w->job ? awsglue_cache_key(w->job->team_id, w->job->user_id, w->job->channel_id,
                                         w->job->account)
                     : NULL;
  runtime *rt = server_runtime(p->srv);
  int max_life = rt->cfg->session_duration + 300;
  runtime_unref(rt);
  const char *why = NULL;
  if (!credcache_put_for(p->srv->creds, msg->creds, key, wall_s(), max_life, &why))
    log_kv(SLOG_WARN, "creds_refused", KV_I("worker", w->index),
           KV_S("req", w->job ? w->job->id : "-"), KV_S("msg", why));
  free(key);
}

static void on_message(pool *p, worker *w, const wire_msg *msg) {
  if (msg->t == WIRE_HELLO && w->state == W_STARTING) {
    on_hello(p, w, msg);
    return;
  }
  if (msg->t == WIRE_CREDS) {
    on_creds(p, w, msg);
    return;
  }
  if (msg->t == WIRE_STARTED && w->job && msg->id && strcmp(msg->id, w->job->id) == 0) {
    w->dj.started = true;
    return;
  }
  if (!w->job || !msg->id || strcmp(msg->id, w->job->id) != 0 ||
      (msg->t != WIRE_REPLY && msg->t != WIRE_DONE && msg->t != WIRE_PROMPT)) {
    log_kv(SLOG_WARN, "worker_stray_message", KV_I("worker", w->index),
           KV_S("t", wire_type_name(msg->t)));
    return;
  }
  if (msg->t == WIRE_REPLY) {
    dispatch_job_reply(p->srv, &w->dj, w->job, msg);
  } else if (msg->t == WIRE_PROMPT) {
    dispatch_job_prompt(p->srv, &w->dj, w->job, msg);
  } else {
    if (msg->aws_source)
      metrics_set_aws(&p->srv->m, msg->aws_source, msg->aws_expires, msg->aws_skew);
    dispatch_job_done(p->srv, &w->dj, w->job, msg);
    w->job = NULL;
    set_state(p, w, W_IDLE);
    pthread_mutex_lock(&p->mu);
    bool stale = w->gen != p->gen;
    pthread_mutex_unlock(&p->mu);
    /* A worker that says it leaves after this job gets no other: it is
     * replaced now, before anything could be handed to it. */
    if (msg->retire)
      log_kv(SLOG_INFO, "worker_retired", KV_I("worker", w->index), KV_I("pid", w->c.pid),
             KV_S("why", msg->retire));
    if (stale || msg->retire)
      retire(p, w);
  }
}

/* A message this binary's workers cannot have sent: the worker is not
 * speaking our protocol; one that never got ready is replaced. */
static void on_bad_message(worker *w, const char *why) {
  log_kv(SLOG_ERROR, "worker_bad_message", KV_I("worker", w->index), KV_S("msg", why));
  if (w->state == W_STARTING)
    exec_signal(&w->c, SIGKILL);
}

static void on_raw_message(pool *p, worker *w, const json_t *msg) {
  wire_msg wm;
  char *why = NULL;
  wire_payload pl = {p->rd.payload, p->rd.payload_len};
  if (wire_decode(msg, &pl, &wm, &why))
    on_message(p, w, &wm);
  else
    on_bad_message(w, why);
  wire_msg_free(&wm);
  free(why);
}

/* Reads every message the worker has queued, not one per poll round: a
 * reply and its done usually arrive together, and one wake-up handles
 * both. Stops when the worker is gone (died, or retired after its done). */
static void drain_worker(pool *p, worker *w) {
  while (w->c.fd >= 0 && w->state != W_EMPTY) {
    ipc_status st;
    json_t *msg = ipc_read(&p->rd, w->c.fd, false, &st);
    if (st == IPC_MSG) {
      on_raw_message(p, w, msg);
      json_decref(msg);
    } else if (st == IPC_EOF) {
      worker_died(p, w);
      return;
    } else if (st == IPC_AGAIN) {
      return;
    }
  }
}

static worker *idle_worker(pool *p) {
  pthread_mutex_lock(&p->mu);
  unsigned gen = p->gen;
  pthread_mutex_unlock(&p->mu);
  worker *any = NULL;
  for (int i = 0; i < p->n; i++) {
    if (p->w[i].state != W_IDLE)
      continue;
    if (p->w[i].gen == gen)
      return &p->w[i];
    any = any ? any : &p->w[i];
  }
  return any;
}

static void assign_jobs(pool *p) {
  worker *w;
  while ((w = idle_worker(p))) {
    job *j = queue_pop(&p->srv->queue);
    if (!j)
      return;
    if (!dispatch_job_start(p->srv, &w->dj, j, &w->c, &w->deadline_ms)) {
      /* The worker could not take it: count it lost and replace the worker. */
      w->job = j;
      exec_signal(&w->c, SIGKILL);
      set_state(p, w, W_BUSY);
      continue;
    }
    w->job = j;
    set_state(p, w, W_BUSY);
  }
}

/* Jobs still queued when the drain deadline passes never started. */
static void drop_queued(pool *p) {
  job *j;
  while ((j = queue_pop(&p->srv->queue))) {
    dispatch_job_dropped(p->srv, j);
  }
}

static void replace_stale_idle(pool *p) {
  pthread_mutex_lock(&p->mu);
  unsigned gen = p->gen;
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i < p->n; i++)
    if (p->w[i].state == W_IDLE && p->w[i].gen != gen)
      retire(p, &p->w[i]);
}

static bool all_quiet(pool *p) {
  if (queue_len(&p->srv->queue))
    return false;
  for (int i = 0; i < p->n; i++)
    if (p->w[i].state == W_BUSY)
      return false;
  return true;
}

/* Asks every worker to leave: its socket closes, it destroys its plugins
 * and exits; one that does not within 3 s is killed. This runs on the
 * dispatcher thread, before it ends: the workers it spawned have that
 * thread as their PR_SET_PDEATHSIG parent and would be SIGKILLed, plugins
 * never destroyed, the moment it returned. */
static void stop_workers(pool *p) {
  /* Every socket first, so they all unload at once. */
  for (int i = 0; i < p->n; i++) {
    exec_child *c = &p->w[i].c;
    if (c->fd >= 0) {
      shutdown(c->fd, SHUT_RDWR);
      close(c->fd);
      c->fd = -1;
    }
  }
  uint64_t until = mono_ms() + 3000;
  for (int i = 0; i < p->n; i++) {
    uint64_t now = mono_ms();
    exec_retire(&p->w[i].c, until > now ? (int)(until - now) : 0);
  }
  /* Last, once every worker's exit is reported: they die with it. */
  for (size_t i = 0; i < p->n_sps; i++)
    exec_spawner_close(p->sps[i]);
  p->n_sps = 0;
}

/* Past the drain deadline: what never started is dropped, what runs is
 * interrupted. */
static void interrupt_all(pool *p) {
  drop_queued(p);
  for (int i = 0; i < p->n; i++) {
    worker *w = &p->w[i];
    if (w->state == W_BUSY && w->killed == EXEC_KILL_NONE) {
      w->killed = EXEC_KILL_DRAIN;
      exec_signal(&w->c, SIGKILL);
    }
  }
}

/* Respawns due, jobs past their deadline killed. Returns how long poll may
 * sleep until the next of them (at most `timeout` ms). */
static long run_timers(pool *p, uint64_t now, bool draining, long timeout) {
  for (int i = 0; i < p->n; i++) {
    worker *w = &p->w[i];
    if (w->state == W_EMPTY && !draining) {
      if (w->respawn_at_ms <= now)
        spawn(p, w);
      else if ((long)(w->respawn_at_ms - now) < timeout)
        timeout = (long)(w->respawn_at_ms - now);
    }
    if (w->state == W_BUSY && w->killed == EXEC_KILL_NONE) {
      if (w->deadline_ms <= now) {
        w->killed = EXEC_KILL_TIMEOUT;
        log_kv(SLOG_WARN, "job_timeout", KV_S("req", w->job ? w->job->id : ""),
               KV_I("worker", w->index), KV_I("pid", w->c.pid));
        exec_signal(&w->c, SIGKILL);
      } else if ((long)(w->deadline_ms - now) < timeout) {
        timeout = (long)(w->deadline_ms - now);
      }
    }
  }
  return timeout;
}

/* A spawner's socket closed: it died, and its forked workers die with it
 * (their parent-death signal). Each of them is then reaped as a crashed
 * worker (drain_worker: EOF), its job answered; the workers it had not
 * forked yet fail to start (check_unforked). A new spawner for the current
 * generation starts with the next worker, after a backoff. */
static void spawner_died(pool *p, exec_spawner *sp, size_t children) {
  char how[96];
  exec_describe_status(exec_spawner_status(sp), how, sizeof how);
  log_kv(SLOG_ERROR, "spawner_died", KV_I("pid", exec_spawner_pid(sp)),
         KV_U("generation", exec_spawner_generation(sp)), KV_S("how", how),
         KV_U("workers", children),
         KV_S("msg", "its workers die with it; their jobs are answered as crashed and a new "
                     "spawner starts"));
  p->sp_retry_at = mono_ms() + backoff_ms(&respawn_policy, (unsigned)p->sp_failures++, 0);
}

/* Whoever found it gone (a poll, or a reap that waited for an exit
 * report), its death is logged once, here. */
static void mourn_spawners(pool *p) {
  size_t children;
  for (size_t i = 0; i < p->n_sps; i++)
    if (exec_spawner_died(p->sps[i], &children))
      spawner_died(p, p->sps[i], children);
}

/* Workers whose spawner said it could not fork them, or died first. */
static void check_unforked(pool *p) {
  for (int i = 0; i < p->n; i++) {
    worker *w = &p->w[i];
    if (w->state == W_STARTING && w->c.sp && !w->c.pid && w->c.err)
      worker_died(p, w);
  }
}

/* Spawners of an older generation (or dead ones) whose last child is
 * reaped: closed (a live one exits on EOF) and freed. */
static void close_idle_spawners(pool *p) {
  pthread_mutex_lock(&p->mu);
  unsigned gen = p->gen;
  pthread_mutex_unlock(&p->mu);
  size_t kept = 0;
  for (size_t i = 0; i < p->n_sps; i++) {
    exec_spawner *sp = p->sps[i];
    bool current = exec_spawner_generation(sp) == gen && exec_spawner_alive(sp);
    if (current || exec_spawner_children(sp) > 0) {
      p->sps[kept++] = sp;
      continue;
    }
    bool alive = exec_spawner_alive(sp);
    pid_t pid = exec_spawner_pid(sp);
    unsigned g = exec_spawner_generation(sp);
    int status = exec_spawner_close(sp);
    if (alive) {
      char how[96];
      exec_describe_status(status, how, sizeof how);
      log_kv(SLOG_DEBUG, "spawner_closed", KV_I("pid", pid), KV_U("generation", g),
             KV_S("how", how));
    }
  }
  p->n_sps = kept;
}

/* A spawner answered: the workers it forked are polled from now on. */
static void log_forked(pool *p) {
  for (int i = 0; i < p->n; i++) {
    worker *w = &p->w[i];
    if (w->state == W_STARTING && w->c.pid && !w->logged_start) {
      w->logged_start = true;
      log_kv(SLOG_DEBUG, "worker_started", KV_I("worker", w->index), KV_I("pid", w->c.pid),
             KV_U("generation", w->gen));
    }
  }
}

/* One poll over the wake-up eventfd, every spawner and every forked
 * worker's socket; handles what arrived. */
static void poll_once(pool *p, long timeout) {
  size_t need = (size_t)p->n + p->n_sps + 1;
  if (need > p->poll_room) {
    p->poll_room = need;
    p->pfd = xrealloc(p->pfd, need * sizeof *p->pfd);
    p->who = xrealloc(p->who, need * sizeof *p->who);
  }
  struct pollfd *pfd = p->pfd;
  int *who = p->who;
  int n = 0;
  pfd[n] = (struct pollfd){.fd = p->efd, .events = POLLIN};
  who[n++] = -1;
  for (size_t i = 0; i < p->n_sps; i++) {
    if (exec_spawner_alive(p->sps[i])) {
      pfd[n] = (struct pollfd){.fd = exec_spawner_fd(p->sps[i]), .events = POLLIN};
      who[n++] = -2 - (int)i;
    }
  }
  /* A worker whose pid is not known yet is not read: its spawner's answer
   * (read first, in this same round) comes before anything it says. */
  for (int i = 0; i < p->n; i++) {
    if (p->w[i].c.fd >= 0 && p->w[i].state != W_EMPTY && p->w[i].c.pid) {
      pfd[n] = (struct pollfd){.fd = p->w[i].c.fd, .events = POLLIN};
      who[n++] = i;
    }
  }
  /* Say we sleep, then look once more: a job queued before the flag
   * was set found it clear and did not wake us (see pool_wake). */
  atomic_store(&p->asleep, true);
  if (queue_len(&p->srv->queue) && idle_worker(p))
    timeout = 0;
  int rc = poll(pfd, (nfds_t)n, (int)timeout);
  atomic_store(&p->asleep, false);
  if (rc < 0 && errno != EINTR)
    log_kv(SLOG_ERROR, "poll_failed", KV_S("msg", strerror(errno)));
  for (int k = 0; rc > 0 && k < n; k++) {
    if (!pfd[k].revents)
      continue;
    if (who[k] == -1) {
      uint64_t v;
      (void)!read(p->efd, &v, sizeof v);
    } else if (who[k] < -1) {
      exec_spawner_pump(p->sps[-2 - who[k]]);
    } else {
      drain_worker(p, &p->w[who[k]]);
    }
  }
  mourn_spawners(p);
  log_forked(p);
  check_unforked(p);
}

static void *run(void *arg) {
  pool *p = arg;
  /* The first worker starts alone: the host listens as soon as one worker
   * has announced its plugins, and on a small machine four starting at
   * once slow that first one down. The others follow once it is ready.
   * Spawners are started here, on this thread: it is their parent-death
   * signal's thread, and the only one that touches them. */
  spawn(p, &p->w[0]);
  for (;;) {
    uint64_t now = mono_ms();
    pthread_mutex_lock(&p->mu);
    bool draining = p->draining;
    uint64_t drain_deadline = p->drain_deadline_ms;
    pthread_mutex_unlock(&p->mu);
    if (draining && all_quiet(p))
      break;
    if (draining && now >= drain_deadline)
      interrupt_all(p);
    long timeout = run_timers(p, now, draining, 1000);
    if (draining && drain_deadline > now && (long)(drain_deadline - now) < timeout)
      timeout = (long)(drain_deadline - now);
    poll_once(p, timeout);
    replace_stale_idle(p);
    close_idle_spawners(p);
    if (!draining || mono_ms() < drain_deadline)
      assign_jobs(p);
  }
  stop_workers(p);
  free(p->pfd);
  free(p->who);
  return NULL;
}

pool *pool_start(server *s, const char *config_name, int config_fd, int workers) {
  pool *p = xcalloc(1, sizeof *p);
  p->srv = s;
  p->n = workers;
  p->w = xcalloc((size_t)workers, sizeof *p->w);
  for (int i = 0; i < workers; i++)
    p->w[i] = (worker){.index = i, .c = {.pid = 0, .fd = -1, .pidfd = -1}, .state = W_EMPTY};
  p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  p->config_name = xstrdup(config_name);
  p->config_fd = fcntl(config_fd, F_DUPFD_CLOEXEC, 10);
  if (p->config_fd < 0) {
    log_kv(SLOG_ERROR, "pool_config", KV_S("msg", strerror(errno)));
    abort();
  }
  p->gen = 1;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->ready_cv, NULL);
  for (int i = 1; i < workers; i++)
    p->w[i].respawn_at_ms = UINT64_MAX;
  if (pthread_create(&p->thread, NULL, run, p) != 0) {
    log_event(SLOG_ERROR, "dispatcher_thread_failed");
    abort();
  }
  return p;
}

bool pool_wait_ready(pool *p, int timeout_ms, char **err) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += timeout_ms / 1000;
  ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&p->mu);
  while (!p->ready) {
    if (pthread_cond_timedwait(&p->ready_cv, &p->mu, &ts) != 0)
      break;
  }
  bool ok = p->ready;
  pthread_mutex_unlock(&p->mu);
  if (!ok)
    *err = xasprintf("no worker came up within %d s; see the worker log lines above",
                     timeout_ms / 1000);
  return ok;
}

/* A queued job needs the dispatcher only when it sleeps and a worker is
 * free: awake, it looks at the queue before it sleeps again, and a busy
 * worker wakes it with its done. Under load this saves a write and a
 * wake-up of the dispatcher per job. */
void pool_wake(pool *p) {
  if (atomic_load(&p->n_idle) && atomic_exchange(&p->asleep, false))
    wake(p);
}

void pool_reload(pool *p, int config_fd) {
  int fd = fcntl(config_fd, F_DUPFD_CLOEXEC, 10);
  if (fd < 0) {
    /* Without its own copy the pool cannot switch; the old configuration
     * keeps serving, as with any refused reload. */
    log_kv(SLOG_ERROR, "reload_refused", KV_S("msg", strerror(errno)));
    return;
  }
  pthread_mutex_lock(&p->mu);
  int old = p->config_fd;
  p->config_fd = fd;
  p->gen++;
  pthread_mutex_unlock(&p->mu);
  close(old);
  wake(p);
}

void pool_drain(pool *p, uint64_t deadline_ms) {
  pthread_mutex_lock(&p->mu);
  p->draining = true;
  p->drain_deadline_ms = deadline_ms;
  pthread_mutex_unlock(&p->mu);
  wake(p);
  pthread_join(p->thread, NULL);
}

void pool_stop(pool *p) {
  close(p->efd);
  close(p->config_fd);
  free(p->config_name);
  free(p->ready_err);
  ipc_reader_free(&p->rd);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->ready_cv);
  free(p->sps);
  free(p->w);
  free(p);
}

void pool_gauges(pool *p, metrics_gauges *g) {
  g->workers_idle = atomic_load(&p->n_idle);
  g->workers_busy = atomic_load(&p->n_busy);
  g->workers_starting = atomic_load(&p->n_starting);
  g->jobs_running = g->workers_busy;
}
