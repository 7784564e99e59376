#include "worker/spawner.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "base/log.h"
#include "base/util.h"
#include "worker/worker.h"

/* ---- the control socket's messages ------------------------------------- */

bool spawner_send(int sock, const void *msg, size_t len, int fd) {
  struct iovec iov = {.iov_base = (void *)msg, .iov_len = len};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
  if (fd >= 0) {
    memset(&u, 0, sizeof u);
    mh.msg_control = u.buf;
    mh.msg_controllen = sizeof u.buf;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof fd);
  }
  ssize_t n;
  do
    n = sendmsg(sock, &mh, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n == (ssize_t)len;
}

int spawner_recv(int sock, void *msg, size_t len, int *fd, bool wait) {
  *fd = -1;
  struct iovec iov = {.iov_base = msg, .iov_len = len};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr mh = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  ssize_t n;
  do
    n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | (wait ? 0 : MSG_DONTWAIT));
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return errno == EAGAIN || errno == EWOULDBLOCK ? -1 : 0;
  if (n == 0)
    return 0;
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
        cm->cmsg_len == CMSG_LEN(sizeof(int)) && *fd < 0)
      memcpy(fd, CMSG_DATA(cm), sizeof *fd);
  if ((size_t)n != len || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
    if (*fd >= 0)
      close(*fd);
    *fd = -1;
    return -1;
  }
  return 1;
}

/* ---- the spawner process ------------------------------------------------- */

typedef struct spawner {
  int ctl; /* WORKER_FD: the control socket to main */
  int sfd; /* signalfd for SIGCHLD */
  sigset_t old_mask;
  worker_image *img;
  long gen;
} spawner;

static int count_threads(void) {
  DIR *d = opendir("/proc/self/task");
  if (!d)
    return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

/* In the child, right after fork: drop what is the spawner's, put the
 * worker's socket on WORKER_FD, and run the worker. Never returns. */
static void become_worker(spawner *s, int sock, long index, pid_t parent) {
  close(s->ctl);
  close(s->sfd);
  signal(SIGCHLD, SIG_DFL);
  sigprocmask(SIG_SETMASK, &s->old_mask, NULL);
  if (!worker_tie_to_parent(parent))
    _exit(1);
  if (dup2(sock, WORKER_FD) < 0)
    _exit(71);
  close(sock);
  exit(worker_image_run(s->img, index, s->gen));
}

static void answer(spawner *s, spawner_kind kind, long index, pid_t pid, int value, int fd) {
  spawner_msg m = {.magic = SPAWNER_MAGIC,
                   .kind = (uint32_t)kind,
                   .index = (int32_t)index,
                   .pid = (int32_t)pid,
                   .value = value};
  if (!spawner_send(s->ctl, &m, sizeof m, fd))
    log_kv(SLOG_WARN, "spawner_lost_main", KV_S("msg", strerror(errno)));
}

/* One request from main: fork a worker and say who it is. */
static void fork_one(spawner *s, const spawner_req *rq, int sock) {
  pid_t self = getpid();
  pid_t pid = fork();
  if (pid == 0)
    become_worker(s, sock, rq->index, self);
  int err = errno;
  close(sock);
  if (pid < 0) {
    log_kv(SLOG_ERROR, "spawner_fork_failed", KV_I("worker", rq->index),
           KV_S("msg", strerror(err)));
    answer(s, SPAWNER_FAILED, rq->index, 0, err, -1);
    return;
  }
  /* A pidfd lets main signal exactly this child, never a reused pid. */
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  answer(s, SPAWNER_FORKED, rq->index, pid, 0, pidfd);
  if (pidfd >= 0)
    close(pidfd);
}

/* Every child that ended: its raw wait status goes to main. */
static void reap(spawner *s) {
  struct signalfd_siginfo si;
  while (read(s->sfd, &si, sizeof si) == (ssize_t)sizeof si) {
  }
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
    answer(s, SPAWNER_EXITED, 0, pid, status, -1);
}

/* Requests until main closes the control socket. */
static void serve(spawner *s) {
  for (;;) {
    struct pollfd pfd[2] = {{.fd = s->ctl, .events = POLLIN}, {.fd = s->sfd, .events = POLLIN}};
    if (poll(pfd, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      log_kv(SLOG_ERROR, "spawner_poll", KV_S("msg", strerror(errno)));
      return;
    }
    if (pfd[1].revents)
      reap(s);
    if (!pfd[0].revents)
      continue;
    spawner_req rq;
    int sock;
    int rc = spawner_recv(s->ctl, &rq, sizeof rq, &sock, false);
    if (rc == 0)
      return;
    if (rc < 0)
      continue;
    if (rq.magic != SPAWNER_MAGIC || sock < 0) {
      log_kv(SLOG_ERROR, "spawner_bad_request", KV_I("worker", rq.index));
      if (sock >= 0)
        close(sock);
      answer(s, SPAWNER_FAILED, rq.index, 0, EINVAL, -1);
      continue;
    }
    fork_one(s, &rq, sock);
  }
}

static void usage_exit(void) {
  fprintf(stderr, "usage: slashd spawner -c FILE [--config-name NAME] --generation G "
                  "(started by slashd serve, not by hand)\n");
  exit(2);
}

int spawner_main(int argc, char **argv) {
  const char *path = NULL, *name = NULL;
  long gen = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
      path = argv[++i];
    else if (strcmp(argv[i], "--config-name") == 0 && i + 1 < argc)
      name = argv[++i];
    else if (strcmp(argv[i], "--generation") == 0 && i + 1 < argc)
      parse_int(argv[++i], 0, 1L << 30, &gen);
    else
      usage_exit();
  }
  if (!path)
    usage_exit();
  if (!worker_tie_to_parent(0))
    return 1;
  log_set_role("spawner");
  /* Once here, shared by every worker: libcurl's and OpenSSL's tables. */
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int rc = 78;
  spawner s = {.ctl = WORKER_FD, .sfd = -1, .gen = gen};
  s.img = worker_image_load(path, name);
  if (!s.img)
    goto out;
  int threads = count_threads();
  if (threads != 1) {
    /* fork copies only the calling thread: a library's thread would be
     * missing in every worker, with whatever lock it held. */
    log_kv(SLOG_ERROR, "spawner_threads", KV_I("threads", threads),
           KV_S("msg", "a plugin's library started a thread while loading; cannot fork workers"));
    rc = 70;
    goto out;
  }
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, &s.old_mask);
  s.sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (s.sfd < 0) {
    log_kv(SLOG_ERROR, "spawner_signalfd", KV_S("msg", strerror(errno)));
    rc = 71;
    goto out;
  }
  log_kv(SLOG_DEBUG, "spawner_ready", KV_I("pid", getpid()), KV_I("generation", gen));
  serve(&s);
  rc = 0;
out:
  if (s.sfd >= 0)
    close(s.sfd);
  worker_image_free(s.img);
  curl_global_cleanup();
  return rc;
}
