/* ackbench — signed slash commands against a running slashd, timed one by one.
 *
 *   ackbench -p PORT -s SECRET [-n 1000] [-c 1] [-t "help"] [--same-user]
 *   ackbench -p PORT -s SECRET -n 10000 -c 64 -r 1000    open loop at 1000 req/s
 *   ackbench -p PORT -s SECRET -n 500 --e2e [-t help]     POST → reply received
 *   ackbench -p PORT -s SECRET --cold 10 -- CMD ARGS...   exec → first 200 ack
 *   ackbench --sink-only                                  only the response_url sink
 *
 * -r paces the requests (open loop): each is due at a fixed time and its
 * latency counts from then (no coordinated omission).
 * --e2e sends one command at a time and waits for its reply to reach the sink
 * (any reply: slashd marks it final, Bolt's respond() does not mark it);
 * the latency is from the first byte sent to the reply's last byte read.
 * --cold starts CMD N times; each time it polls the port every 100 µs with
 * the signed command until a 200 comes back, prints the time since the exec,
 * then stops CMD with SIGTERM. --sink-only prints "sink PORT", answers
 * replies until SIGTERM/SIGINT, then prints "replies=N final=M".
 *
 * Each of -c connections is one thread with a keep-alive socket sending its
 * share of -n requests back to back; every request is signed like Slack's
 * (v0 HMAC over the raw body, fresh timestamp) with its own user id (so
 * dedupe does not answer, unless --same-user). A built-in response_url sink
 * on loopback answers the replies. Prints status counts, ack kinds and the
 * latency distribution (time from the first byte sent to the last byte of
 * the ack received). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

typedef struct cfg {
  int port;
  const char *secret;
  const char *path;
  const char *text;
  int n, conns;
  bool same_user;
  int sink_port;
  bool e2e;
  const char *cdf;  /* --cdf FILE: the latency distribution, "cdf PERCENT US" lines */
  double rate;      /* -r: requests/s over all connections, open loop; 0 closed loop */
  uint64_t t_start; /* open loop: when the schedule starts */
  int cold;         /* --cold N: start the command N times */
  char **cold_argv; /* the command after -- */
} cfg;

static atomic_int g_finals;  /* replies marked final received by the sink */
static atomic_int g_replies; /* all replies received */
static unsigned g_nonce;
static int g_reply_efd = -1; /* --e2e: the sink signals each reply here */

extern char **environ;

typedef struct worker {
  const cfg *c;
  int id;
  int count;
  uint64_t *lat_us;
  int done, errors;
  int status[6]; /* 2xx..5xx by first digit, [0] other */
  int queued, busy, dup, other;
} worker;

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void sign(const char *secret, const char *ts, const char *body, char out[68]) {
  char *base = malloc(strlen(ts) + strlen(body) + 8);
  sprintf(base, "v0:%s:%s", ts, body);
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)base, strlen(base), mac, &len);
  free(base);
  strcpy(out, "v0=");
  for (int i = 0; i < 32; i++)
    sprintf(out + 3 + 2 * i, "%02x", mac[i]);
}

static int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

/* Reads one HTTP response; returns the status or -1. Body into body. */
static int read_response(int fd, char *buf, size_t cap, const char **body) {
  size_t len = 0;
  char *end = NULL;
  while (!end) {
    ssize_t r = read(fd, buf + len, cap - 1 - len);
    if (r <= 0)
      return -1;
    len += (size_t)r;
    buf[len] = '\0';
    end = strstr(buf, "\r\n\r\n");
    if (!end && len >= cap - 1)
      return -1;
  }
  int status = atoi(buf + 9);
  const char *cl = strcasestr(buf, "\r\nContent-Length:");
  size_t clen = cl ? (size_t)atol(cl + 17) : 0;
  size_t have = len - (size_t)(end + 4 - buf);
  while (have < clen) {
    ssize_t r = read(fd, buf + len, cap - 1 - len);
    if (r <= 0)
      return -1;
    len += (size_t)r;
    have += (size_t)r;
  }
  buf[len] = '\0';
  *body = end + 4;
  return status;
}

/* A signed request like Slack's for user `uid` into req; returns its length. */
static int build_request(const cfg *c, const char *uid, char *req, size_t cap) {
  char ts[24], body[1024], sig[68];
  snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
  snprintf(body, sizeof body,
           "token=x&team_id=T0BENCH&team_domain=bench&channel_id=C0BENCH&channel_name=bench&"
           "user_id=%s&user_name=bench&command=%%2Faws&text=%s&response_url=http%%3A%%2F%%"
           "2F127.0.0.1%%3A%d%%2Fhook&trigger_id=1.2.3",
           uid, c->text, c->sink_port);
  sign(c->secret, ts, body, sig);
  return snprintf(req, cap,
                  "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                  "application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n"
                  "X-Slack-Request-Timestamp: %s\r\nX-Slack-Signature: %s\r\n\r\n%s",
                  c->path, strlen(body), ts, sig, body);
}

static void sleep_until_us(uint64_t t) {
  struct timespec ts = {.tv_sec = (time_t)(t / 1000000u), .tv_nsec = (long)(t % 1000000u) * 1000};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
    ;
}

/* Waits for one reply at the sink; false after 10 s. */
static bool wait_reply(void) {
  struct pollfd p = {.fd = g_reply_efd, .events = POLLIN};
  if (poll(&p, 1, 10000) != 1)
    return false;
  uint64_t v;
  if (read(g_reply_efd, &v, sizeof v) != sizeof v)
    return false;
  if (v > 1) { /* more than one reply at once: keep the rest for later */
    v--;
    (void)!write(g_reply_efd, &v, sizeof v);
  }
  return true;
}

static void *run(void *arg) {
  worker *w = arg;
  const cfg *c = w->c;
  int fd = connect_to(c->port);
  char *req = malloc(65536), *resp = malloc(65536);
  for (int i = 0; i < w->count; i++) {
    if (fd < 0 && (fd = connect_to(c->port)) < 0) {
      w->errors++;
      continue;
    }
    char uid[64];
    snprintf(uid, sizeof uid, "U%uX%dX%d", g_nonce, c->same_user ? 0 : w->id, c->same_user ? 0 : i);
    int n = build_request(c, uid, req, 65536);
    uint64_t t0 = now_us();
    if (c->rate > 0) {
      /* Open loop: request i of this connection is due at a fixed time, and
       * its latency counts from then, so a slow answer delays (and is
       * charged to) the requests queued behind it. */
      double every_us = 1e6 * c->conns / c->rate;
      uint64_t due = c->t_start + (uint64_t)(every_us * (i + (double)w->id / c->conns));
      if (due > t0)
        sleep_until_us(due);
      t0 = due;
    }
    const char *rbody = NULL;
    int status = -1;
    if (write(fd, req, (size_t)n) == n)
      status = read_response(fd, resp, 65536, &rbody);
    if (status == 200 && c->e2e && !wait_reply())
      status = -1;
    uint64_t dt = now_us() - t0;
    if (status < 0) {
      w->errors++;
      close(fd);
      fd = -1;
      continue;
    }
    w->lat_us[w->done++] = dt;
    w->status[status / 100 >= 2 && status / 100 <= 5 ? status / 100 : 0]++;
    /* Queued: "is running…" when a worker takes it at once, "is queued (N
     * ahead)…" when it waits. */
    if (rbody && (strstr(rbody, "is running") || strstr(rbody, "is queued (")))
      w->queued++;
    else if (rbody && strstr(rbody, "busy"))
      w->busy++;
    else if (rbody && strstr(rbody, "already running"))
      w->dup++;
    else
      w->other++;
  }
  if (fd >= 0)
    close(fd);
  free(req);
  free(resp);
  return NULL;
}

/* The response_url sink: answers every request with 200, keep-alive. */
static void *sink_conn(void *arg) {
  int fd = (int)(intptr_t)arg;
  char *buf = malloc(1 << 16);
  for (;;) {
    const char *body;
    (void)body;
    size_t len = 0;
    char *end = NULL;
    while (!end) {
      ssize_t r = read(fd, buf + len, (1 << 16) - 1 - len);
      if (r <= 0)
        goto out;
      len += (size_t)r;
      buf[len] = '\0';
      end = strstr(buf, "\r\n\r\n");
    }
    const char *cl = strcasestr(buf, "\r\nContent-Length:");
    size_t clen = cl ? (size_t)atol(cl + 17) : 0;
    size_t have = len - (size_t)(end + 4 - buf);
    atomic_fetch_add(&g_replies, 1);
    /* slashd marks its last reply per command final; a peer that does not
     * mark replies (Bolt's respond()) sends one per command. */
    if (strcasestr(buf, "\r\nX-Slashd-Reply: final") || !strcasestr(buf, "\r\nX-Slashd-Reply:"))
      atomic_fetch_add(&g_finals, 1);
    while (have < clen) {
      ssize_t r = read(fd, buf, 1 << 15);
      if (r <= 0)
        goto out;
      have += (size_t)r;
    }
    if (g_reply_efd >= 0) {
      uint64_t one = 1;
      (void)!write(g_reply_efd, &one, sizeof one);
    }
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    if (write(fd, ok, sizeof ok - 1) < 0)
      goto out;
  }
out:
  close(fd);
  free(buf);
  return NULL;
}

static void *sink(void *arg) {
  int lfd = (int)(intptr_t)arg;
  for (;;) {
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0)
      continue;
    pthread_t t;
    pthread_create(&t, NULL, sink_conn, (void *)(intptr_t)fd);
    pthread_detach(t);
  }
  return NULL;
}

static int cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static double pct(const uint64_t *v, size_t n, double p) {
  if (!n)
    return 0;
  size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
  return (double)v[i];
}

/* The same points as bench/slash.lua's: every percent, then denser in the tail. */
static void write_cdf(const char *path, const uint64_t *v, size_t n) {
  FILE *f = fopen(path, "w");
  if (!f) {
    perror(path);
    return;
  }
  for (int i = 0; i < 100; i++)
    fprintf(f, "cdf %.2f %.0f\n", (double)i, pct(v, n, i));
  for (int i = 0; i < 90; i++)
    fprintf(f, "cdf %.2f %.0f\n", 99 + i / 100.0, pct(v, n, 99 + i / 100.0));
  for (int i = 0; i < 10; i++)
    fprintf(f, "cdf %.2f %.0f\n", 99.9 + i / 100.0, pct(v, n, 99.9 + i / 100.0));
  fprintf(f, "cdf 100.00 %.0f\n", pct(v, n, 100));
  fclose(f);
}

static int start_sink(void) {
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  if (bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 1024) != 0) {
    perror("ackbench: sink");
    exit(1);
  }
  getsockname(lfd, (struct sockaddr *)&a, &al);
  pthread_t st;
  pthread_create(&st, NULL, sink, (void *)(intptr_t)lfd);
  pthread_detach(st);
  return ntohs(a.sin_port);
}

/* --sink-only: answer replies until told to stop, then count them. */
static int sink_only(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  int port = start_sink();
  printf("sink %d\n", port);
  fflush(stdout);
  int sig;
  sigwait(&set, &sig);
  printf("replies=%d final=%d\n", atomic_load(&g_replies), atomic_load(&g_finals));
  return 0;
}

/* One cold start: exec → the first 200 to a signed command, in µs. */
static int64_t cold_once(const cfg *c, char *req, char *resp) {
  uint64_t t0 = now_us();
  pid_t pid;
  if (posix_spawnp(&pid, c->cold_argv[0], NULL, NULL, c->cold_argv, environ) != 0) {
    perror("ackbench: spawn");
    return -1;
  }
  int64_t took = -1;
  while (now_us() - t0 < 30u * 1000000u) {
    int fd = connect_to(c->port);
    if (fd < 0) {
      if (waitpid(pid, NULL, WNOHANG) == pid) {
        fprintf(stderr, "ackbench: the command exited before answering\n");
        return -1;
      }
      usleep(100);
      continue;
    }
    char uid[64];
    snprintf(uid, sizeof uid, "U%uCOLD%llu", g_nonce, (unsigned long long)t0);
    int n = build_request(c, uid, req, 65536);
    const char *rbody = NULL;
    int status = write(fd, req, (size_t)n) == n ? read_response(fd, resp, 65536, &rbody) : -1;
    close(fd);
    if (status == 200) {
      took = (int64_t)(now_us() - t0);
      break;
    }
    usleep(100);
  }
  kill(pid, SIGTERM);
  int st;
  waitpid(pid, &st, 0);
  return took;
}

static int cold_start(const cfg *c) {
  char *req = malloc(65536), *resp = malloc(65536);
  uint64_t *v = calloc((size_t)c->cold, sizeof *v);
  int ok = 0;
  for (int i = 0; i < c->cold; i++) {
    int64_t us = cold_once(c, req, resp);
    if (us < 0)
      break;
    v[ok++] = (uint64_t)us;
    printf("cold_us %lld\n", (long long)us);
    fflush(stdout);
  }
  if (ok) {
    qsort(v, (size_t)ok, sizeof *v, cmp);
    printf("cold_start_us n=%d min=%.0f p50=%.0f max=%.0f\n", ok, (double)v[0],
           pct(v, (size_t)ok, 50), (double)v[ok - 1]);
  }
  free(req);
  free(resp);
  free(v);
  return ok == c->cold ? 0 : 1;
}

static void usage(void) {
  fprintf(stderr, "usage: ackbench -p PORT -s SECRET [-n N] [-c CONNS] [-t TEXT] [--path P] "
                  "[--same-user] [--e2e] [-r RATE] [--cdf FILE]\n"
                  "       ackbench -p PORT -s SECRET [-t TEXT] --cold N -- CMD [ARGS...]\n"
                  "       ackbench --sink-only\n");
}

int main(int argc, char **argv) {
  cfg c = {.path = "/slack/commands", .text = "help", .n = 1000, .conns = 1};
  bool sink_mode = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-p") && i + 1 < argc)
      c.port = atoi(argv[++i]);
    else if (!strcmp(argv[i], "-s") && i + 1 < argc)
      c.secret = argv[++i];
    else if (!strcmp(argv[i], "-n") && i + 1 < argc)
      c.n = atoi(argv[++i]);
    else if (!strcmp(argv[i], "-c") && i + 1 < argc)
      c.conns = atoi(argv[++i]);
    else if (!strcmp(argv[i], "-t") && i + 1 < argc)
      c.text = argv[++i];
    else if (!strcmp(argv[i], "--path") && i + 1 < argc)
      c.path = argv[++i];
    else if (!strcmp(argv[i], "--same-user"))
      c.same_user = true;
    else if (!strcmp(argv[i], "-r") && i + 1 < argc)
      c.rate = atof(argv[++i]);
    else if (!strcmp(argv[i], "--cdf") && i + 1 < argc)
      c.cdf = argv[++i];
    else if (!strcmp(argv[i], "--e2e"))
      c.e2e = true;
    else if (!strcmp(argv[i], "--sink-only"))
      sink_mode = true;
    else if (!strcmp(argv[i], "--cold") && i + 1 < argc)
      c.cold = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--") && i + 1 < argc) {
      c.cold_argv = &argv[i + 1];
      break;
    } else {
      usage();
      return 2;
    }
  }
  if (sink_mode)
    return sink_only();
  if (!c.port || !c.secret || c.n < 1 || c.conns < 1 || (c.cold && !c.cold_argv)) {
    usage();
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  g_nonce = (unsigned)getpid();
  c.sink_port = start_sink();
  if (c.cold)
    return cold_start(&c);
  if (c.e2e) {
    c.conns = 1; /* one command at a time: each waits for its own reply */
    g_reply_efd = eventfd(0, EFD_CLOEXEC);
  }

  worker *w = calloc((size_t)c.conns, sizeof *w);
  pthread_t *t = calloc((size_t)c.conns, sizeof *t);
  uint64_t t0 = now_us();
  c.t_start = t0 + 100000; /* open loop: leave time to connect */
  for (int i = 0; i < c.conns; i++) {
    w[i].c = &c;
    w[i].id = i;
    w[i].count = c.n / c.conns + (i < c.n % c.conns);
    w[i].lat_us = calloc((size_t)w[i].count + 1, sizeof(uint64_t));
    pthread_create(&t[i], NULL, run, &w[i]);
  }
  size_t total = 0;
  int errors = 0, status[6] = {0}, queued = 0, busy = 0, dup = 0, other = 0;
  for (int i = 0; i < c.conns; i++) {
    pthread_join(t[i], NULL);
    total += (size_t)w[i].done;
    errors += w[i].errors;
    for (int k = 0; k < 6; k++)
      status[k] += w[i].status[k];
    queued += w[i].queued;
    busy += w[i].busy;
    dup += w[i].dup;
    other += w[i].other;
  }
  double secs = (double)(now_us() - t0) / 1e6;
  uint64_t *all = calloc(total + 1, sizeof *all);
  size_t k = 0;
  for (int i = 0; i < c.conns; i++)
    for (int j = 0; j < w[i].done; j++)
      all[k++] = w[i].lat_us[j];
  qsort(all, total, sizeof *all, cmp);
  printf("requests=%zu errors=%d connections=%d seconds=%.3f rps=%.0f\n", total, errors, c.conns,
         secs, (double)total / secs);
  printf("status 2xx=%d 3xx=%d 4xx=%d 5xx=%d other=%d\n", status[2], status[3], status[4],
         status[5], status[0]);
  printf("acks queued=%d busy=%d duplicate=%d other=%d\n", queued, busy, dup, other);
  printf("%s p50=%.0f p90=%.0f p99=%.0f p99.9=%.0f max=%.0f\n", c.e2e ? "e2e_us" : "latency_us",
         pct(all, total, 50), pct(all, total, 90), pct(all, total, 99), pct(all, total, 99.9),
         total ? (double)all[total - 1] : 0);
  if (c.cdf)
    write_cdf(c.cdf, all, total);
  if (c.e2e)
    return errors ? 1 : 0;
  /* Every queued command owes exactly one final reply: wait for them all
   * (the sink must outlive the daemon's retries). */
  uint64_t until = now_us() + 60u * 1000000u;
  while (atomic_load(&g_finals) < queued && now_us() < until)
    usleep(10000);
  printf("replies received=%d final=%d of %d queued, all in %.3f s\n", atomic_load(&g_replies),
         atomic_load(&g_finals), queued, (double)(now_us() - t0) / 1e6);
  if (atomic_load(&g_finals) < queued)
    errors++;
  return errors ? 1 : 0;
}
