/* Running jobs in isolated worker children, without the pool.
 *
 * A worker child is this very binary re-executed in worker mode
 * (posix_spawn of /proc/self/exe `worker …`, never a plain fork: the caller
 * may run threads, and nothing of its locks may be copied into a child that
 * keeps running our code), or forked by a spawner, itself re-executed that
 * way (the pool's workers; see "spawners" below). It loads the plugins,
 * says hello, then runs the jobs it is sent one at a time and reports on the
 * wire messages of base/wire.h. A job ends in one of the exec_end ways
 * below.
 *
 * Two ways to use it:
 *  - blocking, one job (a Lambda worker function, a test): exec_run_one()
 *    spawns a child, waits for its hello, hands it the job, relays every
 *    reply through a callback, kills the child at the deadline, and returns
 *    the outcome;
 *  - event-driven, many jobs (daemon/pool.c): exec_spawn(), exec_send_job(),
 *    then feed the child's messages to the caller's own poll loop, and end
 *    each job with exec_done_end() or exec_died_end() — the same
 *    classification exec_run_one() uses.
 *
 * Example (one job, replies printed):
 *
 *   static void on_reply(void *ud, const wire_msg *m) { puts(m->text); }
 *
 *   exec_spawn_args sa = {.config_path = "/etc/slashd/slashd.ini"};
 *   exec_hooks hooks = {.reply = on_reply};
 *   exec_outcome out;
 *   exec_run_one(&sa, j, NULL, 60, &hooks, &out);
 *   if (out.end != EXEC_OK) fprintf(stderr, "%s: %s\n", exec_end_name(out.end), out.how);
 *   exec_outcome_free(&out);
 */
#ifndef SLASHD_EXEC_H
#define SLASHD_EXEC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "base/jobs.h"
#include "base/metrics.h"
#include "base/wire.h"

/* How one job ended. */
typedef enum {
  EXEC_OK,          /* done, status OK and no error told to the user */
  EXEC_ERROR,       /* done, but the command failed (status or an error reply) */
  EXEC_SIGNALED,    /* the child died of a signal we did not send (a crash) */
  EXEC_EXITED,      /* the child exited without finishing the job */
  EXEC_TIMEOUT,     /* it ran past its deadline and was killed */
  EXEC_INTERRUPTED, /* killed by us before the end (shutdown) */
  EXEC_LOST         /* the job could not be handed over, or the child broke the protocol */
} exec_end;

const char *exec_end_name(exec_end e);
/* The metrics outcome an end counts as (crash, exit and lost are crashes). */
job_outcome exec_end_outcome(exec_end e);

/* Why we killed a child, if we did. */
typedef enum { EXEC_KILL_NONE, EXEC_KILL_TIMEOUT, EXEC_KILL_DRAIN } exec_kill;

/* ---- children ------------------------------------------------------------ */

typedef struct exec_spawner exec_spawner;

/* A worker child: exec'd by us (sp NULL: waitpid, kill), or forked by a
 * spawner (signalled through its pidfd, its end reported by the spawner). */
typedef struct exec_child {
  pid_t pid; /* 0: none, or (sp set) not forked yet */
  int fd;    /* our end of the socket pair, -1: closed */
  exec_spawner *sp;
  int pidfd; /* with sp and pid: the child's pidfd, or -1 */
  int err;   /* with sp: nonzero when it was never forked (an errno) */
} exec_child;

typedef struct exec_spawn_args {
  /* The configuration the child loads: an open config snapshot (passed as
   * WORKER_CONFIG_FD and named config_name in its messages), or, when
   * config_fd < 0, the file config_path. */
  int config_fd;
  const char *config_path;
  const char *config_name;
  int index;           /* for its log role ("worker3") */
  unsigned generation; /* which configuration it runs (the pool's reload count) */
  const char *exe;     /* the binary to run; NULL: this one (/proc/self/exe) */
} exec_spawn_args;

/* Starts a worker child. False with *err (new string) when it could not. */
bool exec_spawn(const exec_spawn_args *a, exec_child *out, char **err);
/* Waits for a child whose socket closed (at most 0.5 s, then SIGKILL) and
 * returns its wait status. */
int exec_reap(exec_child *c);
/* Asks a child to leave (closes its socket: it unloads its plugins and
 * exits) and reaps it; killed after `grace_ms`. */
void exec_retire(exec_child *c, int grace_ms);
/* Sends sig to the child (through its pidfd when it has one). */
void exec_signal(const exec_child *c, int sig);
/* "signal 11, Segmentation fault" / "exit status 3" for a wait status. */
void exec_describe_status(int status, char *buf, size_t n);

/* ---- spawners (worker/spawner.h) ----------------------------------------
 *
 * The pool's way to start workers: one spawner per configuration
 * generation, which forks them. Everything here runs on one thread (the
 * pool's dispatcher); a spawner is never shared between threads.
 *
 *   exec_spawner *sp = exec_spawner_start(&args, &err);   // exec'd once
 *   exec_spawner_fork(sp, 3, &w->c, &err);  // w->c.fd now, w->c.pid later
 *   poll exec_spawner_fd(sp); on POLLIN: exec_spawner_pump(sp)
 *   w->c.pid != 0: forked (poll w->c.fd); w->c.err: never forked
 *   exec_reap(&w->c) / exec_retire(&w->c, ms) as for any child
 *   exec_spawner_children(sp) == 0 → exec_spawner_close(sp)
 */

/* Execs a spawner for a->config_* and a->generation (a->index unused). NULL
 * with *err (new string) when it could not. */
exec_spawner *exec_spawner_start(const exec_spawn_args *a, char **err);
/* Asks for a new worker `index`: *out gets our socket end at once; its pid
 * and pidfd arrive with the spawner's answer (exec_spawner_pump), or
 * out->err when it could not fork. `out` must stay at its address until it
 * is reaped. False (with *err) when the request could not be sent. */
bool exec_spawner_fork(exec_spawner *sp, int index, exec_child *out, char **err);
/* The control socket, to poll for POLLIN. */
int exec_spawner_fd(const exec_spawner *sp);
/* Reads every answer and exit report queued. False once the spawner is gone
 * (its socket closed: it died); its forked children die with it. */
bool exec_spawner_pump(exec_spawner *sp);
bool exec_spawner_alive(const exec_spawner *sp);
/* True once after it was found gone (by a pump or while reaping a child),
 * so that its death is reported exactly once; *children: how many children
 * it had then. */
bool exec_spawner_died(exec_spawner *sp, size_t *children);
pid_t exec_spawner_pid(const exec_spawner *sp);
unsigned exec_spawner_generation(const exec_spawner *sp);
/* Once it is gone: its wait status (it is our child, reaped then). */
int exec_spawner_status(const exec_spawner *sp);
/* Children asked for and not reaped yet. */
size_t exec_spawner_children(const exec_spawner *sp);
/* Closes its socket (it exits; killed after 3 s), reaps it and frees it;
 * returns its wait status. Its children should be reaped first: they die
 * with it. */
int exec_spawner_close(exec_spawner *sp);

/* ---- one job --------------------------------------------------------------- */

/* Hands job j to the child (with an assumed role another worker has, or
 * NULL). Sets j->deadline_ms to now + timeout_s (wall clock) and returns the
 * monotonic time at which the caller must kill the child in *kill_at_ms.
 * False when the child cannot take it (its socket is gone). */
bool exec_send_job(exec_child *c, job *j, const json_t *creds, int timeout_s, uint64_t *kill_at_ms);
/* The end of a job whose child sent "done"; error_seen: an error reply was
 * relayed before it. */
exec_end exec_done_end(const wire_msg *done, bool error_seen);
/* The end of a job whose child died first (wait status from exec_reap). */
exec_end exec_died_end(exec_kill killed, int wait_status);

/* What exec_run_one reports along the way. Every callback may be NULL. */
typedef struct exec_hooks {
  void (*hello)(void *ud, const wire_msg *m);   /* the child's plugins (m->manifest) */
  void (*reply)(void *ud, const wire_msg *m);   /* one reply of the job */
  void (*creds)(void *ud, const json_t *entry); /* credentials worth keeping */
  void *ud;
  /* A prepare job's describe step is done (m: WIRE_PROMPT): the caller,
   * which holds the token key, builds the confirmation prompt. */
  void (*prompt)(void *ud, const wire_msg *m);
} exec_hooks;

typedef struct exec_outcome {
  exec_end end;
  int status;     /* the handler's slashd_status (EXEC_OK / EXEC_ERROR) */
  bool error;     /* the user was told of a failure */
  int posts;      /* replies the child counted */
  int replies;    /* replies relayed */
  char *identity; /* what the job ran as, or NULL */
  char *session;
  int wait_status; /* when the child died */
  char how[96];    /* a few words for a message or a log */
} exec_outcome;

/* Runs job j in a new child: spawn, hello, job, replies, done; kills it when
 * timeout_s (from the hand-over) passes. The child is gone when it returns.
 * `creds` may be NULL. Always fills *out; free it with exec_outcome_free. */
void exec_run_one(const exec_spawn_args *a, job *j, const json_t *creds, int timeout_s,
                  const exec_hooks *h, exec_outcome *out);
void exec_outcome_free(exec_outcome *o);

#endif
