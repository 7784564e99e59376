#include "daemon/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "daemon/frontdoor.h"
#include "daemon/httpframe.h"
#include "base/log.h"
#include "base/util.h"

/* Past this much streamed body the connection is dropped without reading
 * on (a declared Content-Length over max_body is refused before reading). */
#define HTTP_HARD_BODY_LIMIT (1024 * 1024)
/* libmicrohttpd's memory per connection: the header block, the read buffer
 * the body streams through, and the response head. It zeroes the whole of
 * it for every request on a kept-alive connection, so its size is paid on
 * every ack: at 64 KiB the memset was 12 % of an ack's CPU. A Slack request's
 * headers are under 1 KiB; a header block past this is refused (431). */
#define HTTP_CONN_MEMORY (16 * 1024)

typedef struct http_conn {
  frontdoor_route route;
  sbuf body;
  size_t seen;
  bool too_large;
} http_conn;

/* ---- slow clients --------------------------------------------------------
 * libmicrohttpd's connection timeout counts idle time only: a client that
 * sends one byte every few seconds (slowloris) keeps its connection for ever,
 * and enough of them take every connection slot. So each connection also
 * gets a deadline: a whole request must arrive within connection_timeout of
 * the connection opening or of the previous answer. A reaper thread shuts
 * down the socket of a connection past its deadline; libmicrohttpd then sees
 * the end of the stream and closes it as usual. */

typedef struct http_track {
  struct http_track *prev, *next;
  int fd;
  uint64_t deadline_ms; /* 0 while a complete request is being answered */
  /* The current request's target as it arrived (only this connection's
   * thread touches these; requests on one connection come one at a time). */
  char *target;
  const char *target_end; /* in libmicrohttpd's buffer: where its C string ended */
} http_track;

typedef struct http_guard {
  int quiesced_fd;    /* the listen socket after http_quiesce (main thread only) */
  pthread_mutex_t mu; /* guards everything below */
  pthread_cond_t cv;
  http_track *head;
  uint64_t limit_ms;
  bool stop;
  pthread_t thread;
} http_guard;

/* libmicrohttpd reports a connection closed before it closes the socket, so
 * a tracked fd is always still the connection's own. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe) {
  http_guard *g = ((server *)cls)->http_guard;
  if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    http_track *t = xcalloc(1, sizeof *t);
    t->fd = ci ? ci->connect_fd : -1;
    pthread_mutex_lock(&g->mu);
    t->deadline_ms = mono_ms() + g->limit_ms;
    t->next = g->head;
    if (g->head)
      g->head->prev = t;
    g->head = t;
    pthread_mutex_unlock(&g->mu);
    *socket_context = t;
  } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
    http_track *t = *socket_context;
    pthread_mutex_lock(&g->mu);
    if (t->prev)
      t->prev->next = t->next;
    else
      g->head = t->next;
    if (t->next)
      t->next->prev = t->prev;
    pthread_mutex_unlock(&g->mu);
    free(t->target);
    free(t);
    *socket_context = NULL;
  }
}

static http_track *track_of(struct MHD_Connection *conn) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return ci ? ci->socket_context : NULL;
}

/* A request fully received (arm = false) or answered (arm = true: the next
 * one on this keep-alive connection has its own deadline). */
static void guard_arm(server *s, struct MHD_Connection *conn, bool arm) {
  http_track *t = track_of(conn);
  if (!t)
    return;
  http_guard *g = s->http_guard;
  pthread_mutex_lock(&g->mu);
  t->deadline_ms = arm ? mono_ms() + g->limit_ms : 0;
  pthread_mutex_unlock(&g->mu);
}

static void *guard_run(void *arg) {
  http_guard *g = arg;
  pthread_mutex_lock(&g->mu);
  while (!g->stop) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 250 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&g->cv, &g->mu, &ts);
    uint64_t now = mono_ms();
    unsigned closed = 0;
    for (http_track *t = g->head; t; t = t->next) {
      if (t->deadline_ms && now >= t->deadline_ms && t->fd >= 0) {
        shutdown(t->fd, SHUT_RDWR);
        t->deadline_ms = 0;
        closed++;
      }
    }
    if (closed) {
      pthread_mutex_unlock(&g->mu);
      log_kv(SLOG_WARN, "slow_clients_closed", KV_U("connections", closed),
             KV_U("limit_s", g->limit_ms / 1000),
             KV_S("msg", "no whole request within connection_timeout"));
      pthread_mutex_lock(&g->mu);
    }
  }
  pthread_mutex_unlock(&g->mu);
  return NULL;
}

static http_guard *guard_start(int limit_s) {
  http_guard *g = xcalloc(1, sizeof *g);
  g->quiesced_fd = -1;
  pthread_mutex_init(&g->mu, NULL);
  pthread_cond_init(&g->cv, NULL);
  g->limit_ms = (uint64_t)limit_s * 1000u;
  if (pthread_create(&g->thread, NULL, guard_run, g) != 0) {
    log_event(SLOG_ERROR, "http_guard_thread_failed");
    abort();
  }
  return g;
}

/* After MHD_stop_daemon: every connection has been reported closed. */
static void guard_stop(http_guard *g) {
  if (!g)
    return;
  pthread_mutex_lock(&g->mu);
  g->stop = true;
  pthread_cond_signal(&g->cv);
  pthread_mutex_unlock(&g->mu);
  pthread_join(g->thread, NULL);
  pthread_cond_destroy(&g->cv);
  pthread_mutex_destroy(&g->mu);
  free(g);
}

static void peer_of(struct MHD_Connection *conn, char *buf, size_t n) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  buf[0] = '\0';
  if (!ci || !ci->client_addr)
    return;
  const struct sockaddr *sa = ci->client_addr;
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf,
              (socklen_t)n);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf,
              (socklen_t)n);
}

static enum MHD_Result send_response(server *s, struct MHD_Connection *conn,
                                     frontdoor_response *r) {
  size_t len = strlen(r->body);
  struct MHD_Response *resp = MHD_create_response_from_buffer(len, r->body, MHD_RESPMEM_MUST_FREE);
  if (!resp) {
    free(r->body);
    return MHD_NO;
  }
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  if (r->allow)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
  if (r->request_id[0])
    MHD_add_response_header(resp, "X-Slashd-Request-Id", r->request_id);
  enum MHD_Result ret = MHD_queue_response(conn, (unsigned)r->status, resp);
  MHD_destroy_response(resp);
  metrics_http(&s->m, r->status);
  return ret;
}

typedef struct header_count {
  int sig, ts;
} header_count;

static enum MHD_Result count_headers(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value) {
  (void)kind;
  (void)value;
  header_count *hc = cls;
  if (strcasecmp(key, "X-Slack-Signature") == 0)
    hc->sig++;
  else if (strcasecmp(key, "X-Slack-Request-Timestamp") == 0)
    hc->ts++;
  return MHD_YES;
}

static enum MHD_Result finish_request(server *s, struct MHD_Connection *conn, const char *url,
                                      const char *method, http_conn *hc) {
  frontdoor_response out = {0};
  if (hc->too_large) {
    out = (frontdoor_response){.status = 413,
                               .content_type = "text/plain; charset=utf-8",
                               .body = xstrdup("request body too large\n")};
    return send_response(s, conn, &out);
  }
  header_count cnt = {0};
  MHD_get_connection_values(conn, MHD_HEADER_KIND, count_headers, &cnt);
  if (cnt.sig > 1 || cnt.ts > 1) {
    log_kv(SLOG_WARN, "duplicate_headers", KV_S("msg", "X-Slack-* header sent more than once"));
    out = (frontdoor_response){.status = 400,
                               .content_type = "text/plain; charset=utf-8",
                               .body = xstrdup("bad request: duplicate X-Slack headers\n")};
    return send_response(s, conn, &out);
  }
  char peer[64];
  peer_of(conn, peer, sizeof peer);
  guard_arm(s, conn, false);
  frontdoor_request req = {
      .method = method,
      .path = url,
      .content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type"),
      .timestamp = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Slack-Request-Timestamp"),
      .signature = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Slack-Signature"),
      .authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"),
      .body = hc->body.p ? hc->body.p : "",
      .body_len = hc->body.len,
      .peer = peer,
  };
  frontdoor_handle(s, &req, hc->route, &out);
  return send_response(s, conn, &out);
}

/* libmicrohttpd calls this with the request target exactly as it arrived,
 * before it unescapes anything, as soon as the request line is parsed. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
  (void)cls;
  http_track *t = track_of(conn);
  if (t) {
    free(t->target);
    t->target = xstrdup(uri);
    t->target_end = uri + strlen(uri);
  }
  return NULL;
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value) {
  (void)kind;
  httpframe_add(cls, key, value);
  return MHD_YES;
}

/* A request that must not be answered as if it were what it seems: the
 * answer says why and the connection is closed, so no byte after this
 * request's headers is ever read as another request. */
static enum MHD_Result refuse_framing(server *s, struct MHD_Connection *conn, int status,
                                      const char *why) {
  log_kv(SLOG_WARN, "bad_request_framing", KV_I("status", status), KV_S("msg", why));
  const char *what = status == 404   ? "not found"
                     : status == 501 ? "not implemented"
                                     : "bad request";
  char *body = xasprintf("%s: %s\n", what, why);
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
  if (!resp) {
    free(body);
    return MHD_NO;
  }
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
  enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, resp);
  MHD_destroy_response(resp);
  metrics_http(&s->m, status);
  return ret;
}

/* The first call for a request: every header is in, no body byte read. */
static enum MHD_Result begin_request(server *s, struct MHD_Connection *conn, const char *method,
                                     const char *version, void **con_cls) {
  httpframe f = {0};
  MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &f);
  const char *why = NULL;
  int status = httpframe_verdict(&f, &why);
  if (status)
    return refuse_framing(s, conn, status, why);
  /* The version follows the target's end in libmicrohttpd's buffer; when
   * it does not, a NUL byte inside the target cut its C string short. */
  http_track *t = track_of(conn);
  bool whole = t && t->target && version == t->target_end + 1;
  size_t len = 0;
  status = httpframe_path(t ? t->target : NULL, whole, &len, &why);
  if (status)
    return refuse_framing(s, conn, status, why);
  char *path = xstrndup(t->target, len);
  const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
  const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
  long long length = cl ? atoll(cl) : -1;
  frontdoor_route route;
  frontdoor_response out = {0};
  enum MHD_Result ret = MHD_YES;
  if (frontdoor_precheck(s, method, path, ct, length, &route, &out) != 0) {
    ret = send_response(s, conn, &out);
  } else {
    http_conn *hc = xcalloc(1, sizeof *hc);
    hc->route = route;
    *con_cls = hc;
  }
  free(path);
  return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
  server *s = cls;
  http_conn *hc = *con_cls;
  if (!hc)
    return begin_request(s, conn, method, version, con_cls);
  if (*upload_data_size) {
    hc->seen += *upload_data_size;
    runtime *rt = server_runtime(s);
    size_t max = (size_t)rt->cfg->max_body;
    runtime_unref(rt);
    if (hc->seen > HTTP_HARD_BODY_LIMIT)
      return MHD_NO; /* drop the connection: no one sends Slack this */
    if (hc->seen > max) {
      hc->too_large = true;
      sbuf_free(&hc->body);
    } else {
      sbuf_add(&hc->body, upload_data, *upload_data_size);
    }
    *upload_data_size = 0;
    return MHD_YES;
  }
  return finish_request(s, conn, url, method, hc);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)toe;
  guard_arm(cls, conn, true);
  http_conn *hc = *con_cls;
  if (hc) {
    sbuf_free(&hc->body);
    free(hc);
    *con_cls = NULL;
  }
}

/* The format comes from libmicrohttpd itself. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void mhd_log(void *cls, const char *fmt, va_list ap) {
  (void)cls;
  char msg[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
#pragma GCC diagnostic pop
  size_t n = strlen(msg);
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
    msg[--n] = '\0';
  log_kv(SLOG_WARN, "http", KV_S("msg", msg));
}

/* Binds our own socket so that "listen = 127.0.0.1:0" can pick a port and
 * report it. */
static int bind_listen(const config *c, int *port, char **err) {
  struct addrinfo hints = {
      .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
  struct addrinfo *res = NULL;
  char portstr[16];
  snprintf(portstr, sizeof portstr, "%d", c->listen_port);
  int rc = getaddrinfo(c->listen_host, portstr, &hints, &res);
  if (rc != 0) {
    *err = xasprintf("listen %s:%d: %s", c->listen_host, c->listen_port, gai_strerror(rc));
    return -1;
  }
  int fd = -1;
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
      continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0)
      break;
    *err = xasprintf("listen %s:%d: %s", c->listen_host, c->listen_port, strerror(errno));
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) {
    if (!*err)
      *err = xasprintf("listen %s:%d: no usable address", c->listen_host, c->listen_port);
    return -1;
  }
  free(*err);
  *err = NULL;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  getsockname(fd, (struct sockaddr *)&ss, &sl);
  *port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                         : ((struct sockaddr_in *)&ss)->sin_port);
  return fd;
}

bool http_start(server *s, const config *c, char **err) {
  *err = NULL;
  int port = 0;
  int fd = bind_listen(c, &port, err);
  if (fd < 0)
    return false;
  unsigned flags =
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_USE_ITC;
  char *cert = NULL, *key = NULL;
  if (c->tls_cert) {
    cert = read_file(c->tls_cert, 1 << 20, NULL);
    key = read_file(c->tls_key, 1 << 20, NULL);
    if (!cert || !key) {
      *err = xasprintf("cannot read tls_cert %s or tls_key %s: %s", c->tls_cert, c->tls_key,
                       strerror(errno));
      free(cert);
      free(key);
      close(fd);
      return false;
    }
    flags |= MHD_USE_TLS;
  }
  struct MHD_OptionItem tls_opts[] = {
      {cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, cert},
      {cert ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, key},
      {MHD_OPTION_END, 0, NULL},
  };
  s->http_guard = guard_start(c->connection_timeout);
  s->mhd = MHD_start_daemon(
      flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
      MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)c->http_threads,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned)c->connection_limit, MHD_OPTION_CONNECTION_TIMEOUT,
      (unsigned)c->connection_timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
      MHD_OPTION_URI_LOG_CALLBACK, on_uri, s, MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_ARRAY,
      tls_opts, MHD_OPTION_END);
  /* MHD copies the key material it needs. */
  if (key) {
    memset(key, 0, strlen(key));
    free(key);
  }
  free(cert);
  if (!s->mhd) {
    *err = xasprintf("cannot start the HTTP server on %s:%d", c->listen_host, port);
    close(fd);
    guard_stop(s->http_guard);
    s->http_guard = NULL;
    return false;
  }
  s->listen_port = port;
  return true;
}

void http_quiesce(server *s) {
  if (!s->mhd)
    return;
  /* The socket is ours again, but libmicrohttpd's threads may still poll
   * it until they stop: it is closed only after MHD_stop_daemon. */
  MHD_socket fd = MHD_quiesce_daemon(s->mhd);
  if (fd != MHD_INVALID_SOCKET)
    s->http_guard->quiesced_fd = fd;
}

void http_stop(server *s) {
  if (s->mhd)
    MHD_stop_daemon(s->mhd);
  s->mhd = NULL;
  if (s->http_guard && s->http_guard->quiesced_fd >= 0)
    close(s->http_guard->quiesced_fd);
  guard_stop(s->http_guard);
  s->http_guard = NULL;
}
