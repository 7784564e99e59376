#include "worker/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/ipc.h"
#include "base/log.h"
#include "base/util.h"
#include "slashd/plugin.h"
#include "worker/spawner.h"
#include "worker/worker.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define SLASHD_HAVE_VALGRIND_H 1
#endif
#endif

extern char **environ;

const char *exec_end_name(exec_end e) {
  static const char *const names[] = {"ok",      "error",       "signaled", "exited",
                                      "timeout", "interrupted", "lost"};
  return (size_t)e < ARRAY_LEN(names) ? names[e] : "unknown";
}

job_outcome exec_end_outcome(exec_end e) {
  switch (e) {
  case EXEC_OK:
    return OUT_OK;
  case EXEC_ERROR:
    return OUT_ERROR;
  case EXEC_TIMEOUT:
    return OUT_TIMEOUT;
  case EXEC_INTERRUPTED:
    return OUT_INTERRUPTED;
  case EXEC_SIGNALED:
  case EXEC_EXITED:
  case EXEC_LOST:
    break;
  }
  return OUT_CRASHED;
}

/* ---- children ------------------------------------------------------------ */

/* The binary a worker re-executes. /proc/self/exe names the running
 * binary's inode even after an upgrade replaced the file, so main and
 * workers always speak the same IPC. Under valgrind, though, the kernel's
 * /proc/self/exe is valgrind's own tool; valgrind answers readlink() with
 * the client's path, which it can then trace into the worker. */
static const char *worker_exe(char *buf, size_t n) {
#ifdef SLASHD_HAVE_VALGRIND_H
  if (RUNNING_ON_VALGRIND) {
    ssize_t len = readlink("/proc/self/exe", buf, n - 1);
    if (len > 0) {
      buf[len] = '\0';
      return buf;
    }
  }
#else
  (void)buf;
  (void)n;
#endif
  return "/proc/self/exe";
}

/* posix_spawn uses a vfork-like clone on glibc and runs no code of ours in
 * the child before exec. `cfg` is -1 or the descriptor to pass as
 * WORKER_CONFIG_FD (numbered above both targets, so the dup2s cannot
 * overwrite it). Returns 0 or an errno. */
static int spawn_child(const exec_spawn_args *a, int sock, int cfg, char *const argv[],
                       pid_t *pid) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, sock, WORKER_FD);
  if (cfg >= 0)
    posix_spawn_file_actions_adddup2(&fa, cfg, WORKER_CONFIG_FD);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  /* The main process blocks signals in every thread; the worker must start
   * with a clean mask and default dispositions. */
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  char exe[4096];
  int rc =
      posix_spawn(pid, a->exe ? a->exe : worker_exe(exe, sizeof exe), &fa, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return rc;
}

/* Spawns `slashd <mode> -c … --config-name … [extra…]` with `sock` as
 * WORKER_FD and the config snapshot as WORKER_CONFIG_FD. `extra` ends with
 * NULL. Returns 0 or an errno (*err set). */
static int spawn_mode(const exec_spawn_args *a, const char *mode, const char *const *extra,
                      int sock, pid_t *pid, char **err) {
  int cfg = a->config_fd >= 0 ? fcntl(a->config_fd, F_DUPFD_CLOEXEC, 10) : -1;
  if (a->config_fd >= 0 && cfg < 0) {
    int e = errno;
    *err = xasprintf("config descriptor: %s", strerror(e));
    return e;
  }
  char cfg_path[32];
  snprintf(cfg_path, sizeof cfg_path, "/proc/self/fd/%d", WORKER_CONFIG_FD);
  const char *path = cfg >= 0 ? cfg_path : a->config_path;
  const char *name = a->config_name ? a->config_name : path;
  char *argv[16] = {"slashd", (char *)mode, "-c", (char *)path, "--config-name", (char *)name};
  size_t n = 6;
  for (; extra[n - 6] && n + 1 < ARRAY_LEN(argv); n++)
    argv[n] = (char *)extra[n - 6];
  argv[n] = NULL;
  int rc = path ? spawn_child(a, sock, cfg, argv, pid) : EINVAL;
  if (cfg >= 0)
    close(cfg);
  if (rc != 0)
    *err = xstrdup(strerror(rc));
  return rc;
}

bool exec_spawn(const exec_spawn_args *a, exec_child *out, char **err) {
  *out = (exec_child){.pid = 0, .fd = -1, .pidfd = -1};
  int fds[2];
  if (!ipc_pair(fds)) {
    *err = xasprintf("socket pair: %s", strerror(errno));
    return false;
  }
  char idx[16], gen[16];
  snprintf(idx, sizeof idx, "%d", a->index);
  snprintf(gen, sizeof gen, "%u", a->generation);
  const char *extra[] = {"--index", idx, "--generation", gen, NULL};
  pid_t pid = 0;
  int rc = spawn_mode(a, "worker", extra, fds[1], &pid, err);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return false;
  }
  *out = (exec_child){.pid = pid, .fd = fds[0], .pidfd = -1};
  return true;
}

static int spawned_reap(exec_child *c, int grace_ms);

int exec_reap(exec_child *c) {
  int status = 0;
  if (c->fd >= 0) {
    close(c->fd);
    c->fd = -1;
  }
  if (c->sp)
    return spawned_reap(c, 500);
  if (!c->pid)
    return 0;
  for (int i = 0; i < 50; i++) {
    pid_t r = waitpid(c->pid, &status, WNOHANG);
    if (r == c->pid || (r < 0 && errno == ECHILD))
      goto out;
    usleep(10000);
  }
  /* Closed its socket but will not exit: a plugin misbehaving. */
  kill(c->pid, SIGKILL);
  waitpid(c->pid, &status, 0);
out:
  c->pid = 0;
  return status;
}

void exec_retire(exec_child *c, int grace_ms) {
  if (c->fd >= 0) {
    shutdown(c->fd, SHUT_RDWR);
    close(c->fd);
    c->fd = -1;
  }
  if (c->sp) {
    spawned_reap(c, grace_ms);
    return;
  }
  if (!c->pid)
    return;
  uint64_t until = mono_ms() + (uint64_t)(grace_ms > 0 ? grace_ms : 0);
  int status;
  while (waitpid(c->pid, &status, WNOHANG) == 0 && mono_ms() < until)
    usleep(5000);
  if (kill(c->pid, 0) == 0 && waitpid(c->pid, &status, WNOHANG) == 0) {
    kill(c->pid, SIGKILL);
    waitpid(c->pid, &status, 0);
  }
  c->pid = 0;
}

void exec_describe_status(int status, char *buf, size_t n) {
  if (WIFSIGNALED(status))
    snprintf(buf, n, "signal %d, %s", WTERMSIG(status), strsignal(WTERMSIG(status)));
  else if (WIFEXITED(status))
    snprintf(buf, n, "exit status %d", WEXITSTATUS(status));
  else
    snprintf(buf, n, "status %d", status);
}

/* ---- spawners ------------------------------------------------------------ */

/* One child asked of a spawner, from the request until it is reaped. */
typedef struct sp_kid {
  exec_child *c; /* the caller's; NULL once it gave up on an unanswered fork */
  int index;
  pid_t pid;     /* 0 until answered */
  int pidfd;     /* with c NULL: ours to close */
  bool answered; /* FORKED or FAILED came */
  bool exited;   /* its exit was reported (or it was never forked) */
  int status;    /* then: its wait status */
} sp_kid;

struct exec_spawner {
  pid_t pid;
  int fd; /* control socket; -1 once gone */
  unsigned gen;
  bool gone;
  bool news;   /* gone, and nobody was told yet (exec_spawner_died) */
  size_t left; /* then: the children it had */
  int status;  /* its own wait status, once gone */
  sp_kid *kids;
  size_t n, cap;
};

/* The wait status a worker killed by SIGKILL has (what PR_SET_PDEATHSIG
 * sends when its spawner dies). */
#define STATUS_SIGKILL SIGKILL

static int pidfd_signal(int pidfd, int sig) {
  return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

static sp_kid *kid_of(exec_spawner *sp, const exec_child *c) {
  for (size_t i = 0; i < sp->n; i++)
    if (sp->kids[i].c == c)
      return &sp->kids[i];
  return NULL;
}

/* Removes a kid, keeping the others in request order (answers come in it). */
static void kid_drop(exec_spawner *sp, sp_kid *k) {
  if (!k->c && k->pidfd >= 0)
    close(k->pidfd);
  size_t i = (size_t)(k - sp->kids);
  memmove(k, k + 1, (sp->n - i - 1) * sizeof *k);
  sp->n--;
}

static sp_kid *first_unanswered(exec_spawner *sp) {
  for (size_t i = 0; i < sp->n; i++)
    if (!sp->kids[i].answered)
      return &sp->kids[i];
  return NULL;
}

static void on_forked(exec_spawner *sp, sp_kid *k, pid_t pid, int pidfd) {
  k->answered = true;
  k->pid = pid;
  if (k->c) {
    k->c->pid = pid;
    k->c->pidfd = pidfd;
    return;
  }
  /* Nobody waits for it any more: it must not run. */
  k->pidfd = pidfd;
  if (pidfd >= 0)
    pidfd_signal(pidfd, SIGKILL);
  else
    kill(pid, SIGKILL);
  (void)sp;
}

static void on_spawner_msg(exec_spawner *sp, const spawner_msg *m, int fd) {
  sp_kid *k = NULL;
  if (m->kind == SPAWNER_FORKED || m->kind == SPAWNER_FAILED)
    k = first_unanswered(sp);
  else if (m->kind == SPAWNER_EXITED)
    for (size_t i = 0; i < sp->n && !k; i++)
      if (sp->kids[i].answered && !sp->kids[i].exited && sp->kids[i].pid == m->pid)
        k = &sp->kids[i];
  if (!k || m->magic != SPAWNER_MAGIC) {
    log_kv(SLOG_WARN, "spawner_stray_message", KV_I("spawner", sp->pid), KV_I("kind", m->kind),
           KV_I("pid", m->pid));
    if (fd >= 0)
      close(fd);
    return;
  }
  if (m->kind == SPAWNER_FORKED) {
    on_forked(sp, k, m->pid, fd);
    return;
  }
  if (fd >= 0)
    close(fd);
  k->exited = true;
  k->status = m->value;
  if (m->kind == SPAWNER_FAILED) {
    k->answered = true;
    k->status = W_EXITCODE(71, 0);
    if (k->c)
      k->c->err = m->value ? m->value : EIO;
  }
  if (!k->c)
    kid_drop(sp, k);
}

/* Waits up to ms for the process to end: through its pidfd, or by asking
 * kill(pid, 0) when there is none. */
static void wait_gone(pid_t pid, int pidfd, int ms) {
  uint64_t until = mono_ms() + (uint64_t)ms;
  if (pidfd >= 0) {
    struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
    while (poll(&pfd, 1, ms) < 0 && errno == EINTR && mono_ms() < until) {
    }
    return;
  }
  while (pid > 0 && kill(pid, 0) == 0 && mono_ms() < until)
    usleep(5000);
}

/* Its control socket closed: it died (or exited). It is our child: its
 * status is collected now. Kids never forked end with its status; the
 * forked ones die of SIGKILL with it (their parent-death signal). */
static void spawner_gone(exec_spawner *sp) {
  sp->gone = true;
  close(sp->fd);
  sp->fd = -1;
  /* Leaving takes it a moment (unloading; under valgrind, its leak
   * check): up to 3 s, as workers get when the pool stops. */
  int status = 0;
  pid_t r = 0;
  uint64_t until = mono_ms() + 3000;
  while ((r = waitpid(sp->pid, &status, WNOHANG)) == 0 && mono_ms() < until)
    usleep(5000);
  if (r == 0) {
    kill(sp->pid, SIGKILL);
    waitpid(sp->pid, &status, 0);
  }
  sp->status = status;
  for (size_t i = 0; i < sp->n;) {
    sp_kid *k = &sp->kids[i];
    if (!k->c) {
      kid_drop(sp, k);
      continue;
    }
    if (!k->answered) {
      k->answered = k->exited = true;
      k->status = status;
      k->c->err = ECHILD;
    }
    i++;
  }
}

/* One message within ms (0: only what is queued). 1: handled one, 0:
 * none came, -1: the spawner is gone. */
static int spawner_read(exec_spawner *sp, int ms) {
  if (sp->gone)
    return -1;
  if (ms > 0) {
    struct pollfd pfd = {.fd = sp->fd, .events = POLLIN};
    int rc = poll(&pfd, 1, ms);
    if (rc == 0 || (rc < 0 && errno == EINTR))
      return 0;
  }
  spawner_msg m;
  int fd;
  int rc = spawner_recv(sp->fd, &m, sizeof m, &fd, false);
  if (rc == 0) {
    sp->left = sp->n;
    spawner_gone(sp);
    sp->news = true;
    return -1;
  }
  if (rc < 0)
    return 0;
  on_spawner_msg(sp, &m, fd);
  return 1;
}

/* Until k (of child c) has exited or the time is up. */
static sp_kid *await_exit(exec_spawner *sp, exec_child *c, uint64_t until) {
  sp_kid *k;
  while ((k = kid_of(sp, c)) && !k->exited && !sp->gone) {
    uint64_t now = mono_ms();
    if (now >= until)
      break;
    spawner_read(sp, (int)(until - now));
  }
  return k;
}

/* exec_reap/exec_retire for a spawner's child: its exit report within
 * grace_ms, else SIGKILL through its pidfd and the report after that. */
static int spawned_reap(exec_child *c, int grace_ms) {
  exec_spawner *sp = c->sp;
  int status = STATUS_SIGKILL;
  sp_kid *k = await_exit(sp, c, mono_ms() + (uint64_t)(grace_ms > 0 ? grace_ms : 0));
  if (k && !k->exited && k->answered && !sp->gone) {
    exec_signal(c, SIGKILL);
    k = await_exit(sp, c, mono_ms() + 5000);
  }
  if (!k)
    goto out;
  if (k->exited) {
    status = k->status;
  } else if (k->answered) {
    /* Its spawner died: so does it, by SIGKILL. */
    wait_gone(k->pid, c->pidfd, 1000);
  } else {
    /* The spawner never answered: whatever it forks later is killed. */
    k->c = NULL;
    k->pidfd = -1;
    c->pidfd = -1;
    goto out;
  }
  kid_drop(sp, k);
out:
  if (c->pidfd >= 0)
    close(c->pidfd);
  *c = (exec_child){.pid = 0, .fd = c->fd, .pidfd = -1};
  return status;
}

void exec_signal(const exec_child *c, int sig) {
  if (!c->pid)
    return;
  if (!c->sp) {
    kill(c->pid, sig);
    return;
  }
  sp_kid *k = kid_of(c->sp, c);
  if (!k || k->exited)
    return; /* its pid may be someone else's by now */
  if (c->pidfd >= 0)
    pidfd_signal(c->pidfd, sig);
  else
    kill(c->pid, sig);
}

exec_spawner *exec_spawner_start(const exec_spawn_args *a, char **err) {
  int fds[2];
  if (!ipc_pair(fds)) {
    *err = xasprintf("socket pair: %s", strerror(errno));
    return NULL;
  }
  char gen[16];
  snprintf(gen, sizeof gen, "%u", a->generation);
  const char *extra[] = {"--generation", gen, NULL};
  pid_t pid = 0;
  int rc = spawn_mode(a, "spawner", extra, fds[1], &pid, err);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return NULL;
  }
  exec_spawner *sp = xcalloc(1, sizeof *sp);
  sp->pid = pid;
  sp->fd = fds[0];
  sp->gen = a->generation;
  return sp;
}

bool exec_spawner_fork(exec_spawner *sp, int index, exec_child *out, char **err) {
  *out = (exec_child){.pid = 0, .fd = -1, .pidfd = -1};
  if (sp->gone) {
    *err = xstrdup("the spawner is gone");
    return false;
  }
  int fds[2];
  if (!ipc_pair(fds)) {
    *err = xasprintf("socket pair: %s", strerror(errno));
    return false;
  }
  spawner_req rq = {.magic = SPAWNER_MAGIC, .index = index};
  bool sent = spawner_send(sp->fd, &rq, sizeof rq, fds[1]);
  int e = errno;
  close(fds[1]);
  if (!sent) {
    close(fds[0]);
    *err = xasprintf("the spawner cannot be reached: %s", strerror(e));
    return false;
  }
  if (sp->n == sp->cap) {
    sp->cap = sp->cap ? sp->cap * 2 : 8;
    sp->kids = xrealloc(sp->kids, sp->cap * sizeof *sp->kids);
  }
  sp->kids[sp->n++] = (sp_kid){.c = out, .index = index, .pidfd = -1};
  *out = (exec_child){.pid = 0, .fd = fds[0], .sp = sp, .pidfd = -1};
  return true;
}

int exec_spawner_fd(const exec_spawner *sp) {
  return sp->fd;
}

bool exec_spawner_pump(exec_spawner *sp) {
  while (spawner_read(sp, 0) > 0) {
  }
  return !sp->gone;
}

bool exec_spawner_alive(const exec_spawner *sp) {
  return !sp->gone;
}

bool exec_spawner_died(exec_spawner *sp, size_t *children) {
  bool news = sp->news;
  sp->news = false;
  *children = sp->left;
  return news;
}

pid_t exec_spawner_pid(const exec_spawner *sp) {
  return sp->pid;
}

unsigned exec_spawner_generation(const exec_spawner *sp) {
  return sp->gen;
}

int exec_spawner_status(const exec_spawner *sp) {
  return sp->status;
}

size_t exec_spawner_children(const exec_spawner *sp) {
  return sp->n;
}

int exec_spawner_close(exec_spawner *sp) {
  if (!sp->gone) {
    shutdown(sp->fd, SHUT_RDWR);
    spawner_gone(sp);
  }
  int status = sp->status;
  for (size_t i = 0; i < sp->n; i++) {
    if (sp->kids[i].c)
      sp->kids[i].c->sp = NULL; /* a caller that did not reap: a plain pid now */
    else if (sp->kids[i].pidfd >= 0)
      close(sp->kids[i].pidfd);
  }
  free(sp->kids);
  free(sp);
  return status;
}

/* ---- one job --------------------------------------------------------------- */

bool exec_send_job(exec_child *c, job *j, const json_t *creds, int timeout_s,
                   uint64_t *kill_at_ms) {
  /* Wall clock in the message (it may travel to another machine); the
   * kill here is on this process's monotonic clock. */
  j->deadline_ms = wall_ms() + (int64_t)timeout_s * 1000;
  *kill_at_ms = mono_ms() + (uint64_t)timeout_s * 1000u;
  sbuf msg = {0};
  wire_job_text(&msg, j, creds);
  bool ok = c->fd >= 0 && ipc_send_text(c->fd, msg.p, msg.len);
  sbuf_free(&msg);
  return ok;
}

exec_end exec_done_end(const wire_msg *done, bool error_seen) {
  return done->status == SLASHD_OK && !done->error && !error_seen ? EXEC_OK : EXEC_ERROR;
}

exec_end exec_died_end(exec_kill killed, int wait_status) {
  if (killed == EXEC_KILL_TIMEOUT)
    return EXEC_TIMEOUT;
  if (killed == EXEC_KILL_DRAIN)
    return EXEC_INTERRUPTED;
  return WIFSIGNALED(wait_status) ? EXEC_SIGNALED : EXEC_EXITED;
}

/* The blocking loop of exec_run_one: one message or the deadline. */
typedef struct runner {
  exec_child c;
  ipc_reader rd;
  const exec_hooks *h;
  job *j;
  exec_outcome *out;
  bool error_seen;
} runner;

typedef enum { STEP_MORE, STEP_DONE, STEP_DIED, STEP_TIMEOUT } step;

/* One decoded message into *m; its fields borrow from *raw, which the
 * caller releases with done_with(). */
static step next_message(runner *r, uint64_t kill_at_ms, wire_msg *m, json_t **raw) {
  *raw = NULL;
  step s = STEP_DIED;
  for (;;) {
    uint64_t now = mono_ms();
    if (now >= kill_at_ms) {
      s = STEP_TIMEOUT;
      goto out;
    }
    struct pollfd pfd = {.fd = r->c.fd, .events = POLLIN};
    int rc = poll(&pfd, 1, (int)(kill_at_ms - now));
    if (rc < 0 && errno != EINTR)
      goto out;
    if (rc <= 0)
      continue;
    ipc_status st;
    json_t *msg = ipc_read(&r->rd, r->c.fd, false, &st);
    if (st == IPC_AGAIN || st == IPC_BAD)
      continue;
    if (st == IPC_EOF)
      goto out;
    char *why = NULL;
    wire_payload pl = {r->rd.payload, r->rd.payload_len};
    if (wire_decode(msg, &pl, m, &why)) {
      *raw = msg;
      s = STEP_MORE;
      goto out;
    }
    json_decref(msg);
    log_kv(SLOG_ERROR, "worker_bad_message", KV_S("msg", why));
    free(why);
  }
out:
  return s;
}

static void done_with(wire_msg *m, json_t *raw) {
  wire_msg_free(m);
  json_decref(raw);
}

static void hook_message(runner *r, const wire_msg *m) {
  const exec_hooks *h = r->h;
  if (m->t == WIRE_HELLO && h && h->hello)
    h->hello(h->ud, m);
  else if (m->t == WIRE_CREDS && h && h->creds)
    h->creds(h->ud, m->creds);
}

/* Until the child's hello: false when it died or did not come in time. */
static bool wait_hello(runner *r, uint64_t until) {
  for (;;) {
    wire_msg m;
    json_t *raw;
    step s = next_message(r, until, &m, &raw);
    if (s != STEP_MORE)
      return false;
    bool hello = m.t == WIRE_HELLO;
    hook_message(r, &m);
    done_with(&m, raw);
    if (hello)
      return true;
  }
}

/* Replies until done: STEP_DONE (out filled from done), _DIED or _TIMEOUT. */
static step relay(runner *r, uint64_t kill_at_ms) {
  for (;;) {
    wire_msg m;
    json_t *raw;
    step s = next_message(r, kill_at_ms, &m, &raw);
    if (s != STEP_MORE)
      return s;
    bool ours = m.id && strcmp(m.id, r->j->id) == 0;
    if (ours && m.t == WIRE_REPLY) {
      r->error_seen |= (m.flags & SLASHD_REPLY_ERROR) != 0;
      r->out->replies++;
      if (r->h && r->h->reply)
        r->h->reply(r->h->ud, &m);
    } else if (ours && m.t == WIRE_PROMPT) {
      if (r->h && r->h->prompt)
        r->h->prompt(r->h->ud, &m);
    } else if (ours && m.t == WIRE_DONE) {
      r->out->end = exec_done_end(&m, r->error_seen);
      r->out->status = m.status;
      r->out->error = m.error || r->error_seen;
      r->out->posts = m.posts;
      r->out->identity = m.identity ? xstrdup(m.identity) : NULL;
      r->out->session = m.session ? xstrdup(m.session) : NULL;
      snprintf(r->out->how, sizeof r->out->how, "%s", exec_end_name(r->out->end));
      done_with(&m, raw);
      return STEP_DONE;
    } else {
      hook_message(r, &m);
    }
    done_with(&m, raw);
  }
}

/* The child is gone or must go: how the job ended. */
static void ended_without_done(runner *r, exec_kill killed) {
  if (killed != EXEC_KILL_NONE && r->c.pid)
    kill(r->c.pid, SIGKILL);
  int status = exec_reap(&r->c);
  r->out->wait_status = status;
  r->out->end = exec_died_end(killed, status);
  exec_describe_status(status, r->out->how, sizeof r->out->how);
}

void exec_run_one(const exec_spawn_args *a, job *j, const json_t *creds, int timeout_s,
                  const exec_hooks *h, exec_outcome *out) {
  memset(out, 0, sizeof *out);
  runner r = {.h = h, .j = j, .out = out};
  char *err = NULL;
  if (!exec_spawn(a, &r.c, &err)) {
    out->end = EXEC_LOST;
    snprintf(out->how, sizeof out->how, "could not start a worker: %s", err);
    free(err);
    return;
  }
  uint64_t kill_at = 0;
  if (!wait_hello(&r, mono_ms() + (uint64_t)timeout_s * 1000u)) {
    ended_without_done(&r, EXEC_KILL_TIMEOUT);
    out->end = EXEC_LOST;
    snprintf(out->how, sizeof out->how, "the worker did not start");
    goto out;
  }
  if (!exec_send_job(&r.c, j, creds, timeout_s, &kill_at)) {
    ended_without_done(&r, EXEC_KILL_TIMEOUT);
    out->end = EXEC_LOST;
    snprintf(out->how, sizeof out->how, "the job could not be handed to the worker");
    goto out;
  }
  step s = relay(&r, kill_at);
  if (s == STEP_DONE)
    exec_retire(&r.c, 3000);
  else
    ended_without_done(&r, s == STEP_TIMEOUT ? EXEC_KILL_TIMEOUT : EXEC_KILL_NONE);
out:
  ipc_reader_free(&r.rd);
}

void exec_outcome_free(exec_outcome *o) {
  free(o->identity);
  free(o->session);
  o->identity = o->session = NULL;
}
