#include "stub_server.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"

#define MAX_ITEMS 64

typedef struct item {
  int status;
  char *headers, *body;
  unsigned delay_ms;
  bool drop;
} item;

struct stub {
  int fd, port;
  char url[64];
  pthread_t th;
  pthread_mutex_t mu;
  item script[MAX_ITEMS];
  size_t n_script, next;
  char *req[MAX_ITEMS];
  size_t n_req;
  int connections;
  atomic_int stop; /* set by stub_stop, read by the loop thread */
};

static void item_free(item *it) {
  free(it->headers);
  free(it->body);
  memset(it, 0, sizeof *it);
}

/* Length of the first complete request in b (headers + Content-Length
 * body), 0 when more bytes are needed. */
static size_t complete(const sbuf *b) {
  char *hdr_end = b->p ? strstr(b->p, "\r\n\r\n") : NULL;
  if (!hdr_end)
    return 0;
  size_t hlen = (size_t)(hdr_end - b->p) + 4;
  char *head = xstrndup(b->p, hlen);
  for (char *q = head; *q; q++)
    *q = (char)tolower((unsigned char)*q);
  char *cl = strstr(head, "\r\ncontent-length:");
  size_t body = cl ? (size_t)strtoul(cl + 17, NULL, 10) : 0;
  free(head);
  return b->len >= hlen + body ? hlen + body : 0;
}

static void send_all(int c, const char *p, size_t n) {
  while (n) {
    ssize_t w = send(c, p, n, MSG_NOSIGNAL);
    if (w <= 0)
      return;
    p += w;
    n -= (size_t)w;
  }
}

/* Answers one request; false when the connection is to be closed. */
static bool answer(stub *s, int c, const char *req) {
  pthread_mutex_lock(&s->mu);
  if (s->n_req < MAX_ITEMS)
    s->req[s->n_req++] = xstrdup(req);
  item it = {500, NULL, NULL, 0, false};
  if (s->next < s->n_script) {
    item *src = &s->script[s->next++];
    it = *src;
    it.headers = src->headers ? xstrdup(src->headers) : NULL;
    it.body = src->body ? xstrdup(src->body) : NULL;
  } else {
    it.body = xstrdup("stub: no scripted reply left");
  }
  pthread_mutex_unlock(&s->mu);
  if (it.delay_ms) {
    struct timespec ts = {(time_t)(it.delay_ms / 1000), (long)(it.delay_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
  }
  bool keep = !it.drop;
  if (keep) {
    bool head = strncmp(req, "HEAD ", 5) == 0;
    size_t blen = it.body ? strlen(it.body) : 0;
    sbuf out = {0};
    sbuf_addf(&out, "HTTP/1.1 %d Stub\r\nContent-Length: %zu\r\n%s\r\n", it.status, blen,
              it.headers ? it.headers : "");
    if (!head && blen)
      sbuf_add(&out, it.body, blen);
    send_all(c, out.p, out.len);
    sbuf_free(&out);
  }
  item_free(&it);
  return keep;
}

#define MAX_CONNS 32

/* One thread, every connection polled: a client that keeps a connection
 * open (or a failed test that leaks one) never blocks the others. */
static void *loop(void *ud) {
  stub *s = ud;
  int fds[MAX_CONNS];
  sbuf bufs[MAX_CONNS];
  size_t n = 0;
  while (!atomic_load(&s->stop)) {
    struct pollfd p[MAX_CONNS + 1];
    p[0] = (struct pollfd){s->fd, POLLIN, 0};
    for (size_t i = 0; i < n; i++)
      p[i + 1] = (struct pollfd){fds[i], POLLIN, 0};
    if (poll(p, n + 1, 100) <= 0)
      continue;
    for (size_t i = n; i-- > 0;) {
      if (!(p[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      char buf[8192];
      ssize_t r = recv(fds[i], buf, sizeof buf, 0);
      bool keep = r > 0;
      if (keep)
        sbuf_add(&bufs[i], buf, (size_t)r);
      size_t len;
      while (keep && (len = complete(&bufs[i])) > 0) {
        char *req = xstrndup(bufs[i].p, len);
        keep = answer(s, fds[i], req);
        free(req);
        memmove(bufs[i].p, bufs[i].p + len, bufs[i].len - len + 1);
        bufs[i].len -= len;
      }
      if (!keep) {
        close(fds[i]);
        sbuf_free(&bufs[i]);
        fds[i] = fds[n - 1];
        bufs[i] = bufs[n - 1];
        n--;
      }
    }
    if ((p[0].revents & POLLIN) && n < MAX_CONNS) {
      int c = accept(s->fd, NULL, NULL);
      if (c >= 0) {
        fds[n] = c;
        memset(&bufs[n], 0, sizeof bufs[n]);
        n++;
        pthread_mutex_lock(&s->mu);
        s->connections++;
        pthread_mutex_unlock(&s->mu);
      }
    }
  }
  for (size_t i = 0; i < n; i++) {
    close(fds[i]);
    sbuf_free(&bufs[i]);
  }
  return NULL;
}

stub *stub_start(void) {
  stub *s = xcalloc(1, sizeof *s);
  s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  if (bind(s->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s->fd, 16) != 0 ||
      getsockname(s->fd, (struct sockaddr *)&a, &al) != 0) {
    perror("stub");
    abort();
  }
  s->port = ntohs(a.sin_port);
  snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
  pthread_mutex_init(&s->mu, NULL);
  pthread_create(&s->th, NULL, loop, s);
  return s;
}

void stub_reset(stub *s) {
  pthread_mutex_lock(&s->mu);
  for (size_t i = 0; i < s->n_script; i++)
    item_free(&s->script[i]);
  for (size_t i = 0; i < s->n_req; i++)
    free(s->req[i]);
  s->n_script = s->next = s->n_req = 0;
  pthread_mutex_unlock(&s->mu);
}

void stub_stop(stub *s) {
  atomic_store(&s->stop, 1);
  pthread_join(s->th, NULL);
  close(s->fd);
  stub_reset(s);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

int stub_port(const stub *s) {
  return s->port;
}

const char *stub_url(const stub *s) {
  return s->url;
}

void stub_push(stub *s, stub_reply r) {
  pthread_mutex_lock(&s->mu);
  if (s->n_script < MAX_ITEMS) {
    item *it = &s->script[s->n_script++];
    it->status = r.status;
    it->headers = r.headers ? xstrdup(r.headers) : NULL;
    it->body = r.body ? xstrdup(r.body) : NULL;
    it->delay_ms = r.delay_ms;
    it->drop = r.drop;
  }
  pthread_mutex_unlock(&s->mu);
}

size_t stub_requests(stub *s) {
  pthread_mutex_lock(&s->mu);
  size_t n = s->n_req;
  pthread_mutex_unlock(&s->mu);
  return n;
}

const char *stub_request(stub *s, size_t i) {
  pthread_mutex_lock(&s->mu);
  const char *r = i < s->n_req ? s->req[i] : NULL;
  pthread_mutex_unlock(&s->mu);
  return r;
}

int stub_connections(stub *s) {
  pthread_mutex_lock(&s->mu);
  int n = s->connections;
  pthread_mutex_unlock(&s->mu);
  return n;
}

size_t stub_pending(stub *s) {
  pthread_mutex_lock(&s->mu);
  size_t n = s->n_script - s->next;
  pthread_mutex_unlock(&s->mu);
  return n;
}

int stub_header(stub *s, size_t i, const char *name, char **value) {
  const char *r = stub_request(s, i);
  if (value)
    *value = NULL;
  if (!r)
    return 0;
  const char *end = strstr(r, "\r\n\r\n");
  size_t nl = strlen(name);
  int n = 0;
  for (const char *p = strstr(r, "\r\n"); p && p < end; p = strstr(p + 2, "\r\n")) {
    const char *line = p + 2;
    if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
      if (n == 0 && value) {
        const char *v = line + nl + 1;
        while (*v == ' ')
          v++;
        *value = xstrndup(v, (size_t)(strstr(v, "\r\n") - v));
      }
      n++;
    }
  }
  return n;
}

const char *stub_body(stub *s, size_t i) {
  const char *r = stub_request(s, i);
  const char *e = r ? strstr(r, "\r\n\r\n") : NULL;
  return e ? e + 4 : "";
}
