#include "daemon/socket_ws.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <wslay/wslay.h>

#include "base/config.h"
#include "base/util.h"

struct wsconn {
  ws_phase phase;
  CURL *easy;
  curl_socket_t fd;
  char *host_header; /* Host: value */
  char *target;      /* path and query of the request line */
  char key[25];      /* Sec-WebSocket-Key we sent */
  sbuf out;          /* handshake request still to send */
  size_t out_off;
  sbuf in;       /* handshake answer so far; then bytes read past it */
  size_t in_off; /* of the bytes past the answer, those wslay has taken */
  wslay_event_context_ptr ws;
  const ws_handlers *h;
  void *ud;
  char *error;
};

static void fail(wsconn *c, char *why) {
  if (!c->error)
    c->error = why;
  else
    free(why);
  c->phase = WS_CLOSED;
}

/* ---- the URL ------------------------------------------------------------- */

typedef struct ws_url {
  bool tls;
  char *host; /* as curl gives it: an IPv6 literal keeps its brackets */
  char *port; /* or NULL */
  char *path;
  char *query; /* or NULL */
} ws_url;

static void ws_url_free(ws_url *u) {
  curl_free(u->host);
  curl_free(u->port);
  curl_free(u->path);
  curl_free(u->query);
}

static bool ws_url_parse(const char *url, ws_url *u, char **why) {
  memset(u, 0, sizeof *u);
  bool ok = false;
  char *scheme = NULL;
  CURLU *h = curl_url();
  if (!h || curl_url_set(h, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
      curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      curl_url_get(h, CURLUPART_HOST, &u->host, 0) != CURLUE_OK ||
      curl_url_get(h, CURLUPART_PATH, &u->path, 0) != CURLUE_OK) {
    *why = xstrdup("not a URL");
    goto out;
  }
  curl_url_get(h, CURLUPART_PORT, &u->port, 0);
  curl_url_get(h, CURLUPART_QUERY, &u->query, 0);
  char *user = NULL;
  if (curl_url_get(h, CURLUPART_USER, &user, 0) == CURLUE_OK) {
    curl_free(user);
    *why = xstrdup("credentials in the URL");
    goto out;
  }
  if (str_ieq(scheme, "wss")) {
    u->tls = true;
  } else if (str_ieq(scheme, "ws")) {
    u->tls = false;
  } else {
    *why = xasprintf("scheme %s is not ws or wss", scheme);
    goto out;
  }
  ok = true;
out:
  curl_free(scheme);
  curl_url_cleanup(h);
  if (!ok)
    ws_url_free(u);
  return ok;
}

bool ws_url_ok(const char *url, char **why) {
  ws_url u;
  if (!ws_url_parse(url, &u, why))
    return false;
  bool ok = u.tls || host_is_loopback(u.host);
  if (!ok)
    *why = xasprintf("ws:// (no TLS) is allowed to a loopback host only, not %s", u.host);
  ws_url_free(&u);
  return ok;
}

/* ---- connecting ----------------------------------------------------------- */

void ws_accept_for(const char *key, char out[29]) {
  static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  char *both = xasprintf("%s%s", key, guid);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(both, strlen(both), md, &n, EVP_sha1(), NULL);
  EVP_EncodeBlock((unsigned char *)out, md, (int)n);
  free(both);
}

wsconn *ws_connect(CURLM *multi, const char *url, const char *ca_file, long connect_timeout_ms,
                   const ws_handlers *h, void *ud, char **err) {
  ws_url u;
  if (!ws_url_ok(url, err) || !ws_url_parse(url, &u, err))
    return NULL;
  wsconn *c = xcalloc(1, sizeof *c);
  c->phase = WS_CONNECTING;
  c->fd = CURL_SOCKET_BAD;
  c->h = h;
  c->ud = ud;
  c->host_header = u.port ? xasprintf("%s:%s", u.host, u.port) : xstrdup(u.host);
  c->target = xasprintf("%s%s%s", u.path, u.query ? "?" : "", u.query ? u.query : "");
  unsigned char nonce[16];
  RAND_bytes(nonce, sizeof nonce);
  EVP_EncodeBlock((unsigned char *)c->key, nonce, sizeof nonce);
  /* curl only connects: the same host and port, as http(s). */
  char *curl_url_s = xasprintf("%s://%s/", u.tls ? "https" : "http", c->host_header);
  c->easy = curl_easy_init();
  curl_easy_setopt(c->easy, CURLOPT_URL, curl_url_s);
  curl_easy_setopt(c->easy, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(c->easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
  curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
  if (ca_file)
    curl_easy_setopt(c->easy, CURLOPT_CAINFO, ca_file);
  curl_multi_add_handle(multi, c->easy);
  free(curl_url_s);
  ws_url_free(&u);
  return c;
}

bool ws_owns(const wsconn *c, CURL *easy) {
  return c && c->easy == easy;
}

static bool flush_handshake(wsconn *c) {
  while (c->out_off < c->out.len) {
    size_t n = 0;
    CURLcode rc = curl_easy_send(c->easy, c->out.p + c->out_off, c->out.len - c->out_off, &n);
    if (rc == CURLE_AGAIN)
      return true;
    if (rc != CURLE_OK) {
      fail(c, xasprintf("sending the handshake: %s", curl_easy_strerror(rc)));
      return false;
    }
    c->out_off += n;
  }
  return true;
}

void ws_connected(wsconn *c, CURLcode rc) {
  curl_socket_t fd = CURL_SOCKET_BAD;
  if (rc != CURLE_OK) {
    fail(c, xasprintf("connecting: %s", curl_easy_strerror(rc)));
    return;
  }
  if (curl_easy_getinfo(c->easy, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK || fd == CURL_SOCKET_BAD) {
    fail(c, xstrdup("connecting: no socket"));
    return;
  }
  c->fd = fd;
  c->phase = WS_HANDSHAKE;
  sbuf_addf(&c->out,
            "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
            "User-Agent: slashd/" SLASHD_VERSION "\r\n\r\n",
            c->target, c->host_header, c->key);
  flush_handshake(c);
}

/* ---- the handshake answer --------------------------------------------------- */

/* Whether a comma-separated header value holds token (any case). */
static bool has_token(const char *value, const char *token) {
  size_t n = strlen(token);
  for (const char *p = value; *p;) {
    while (*p == ' ' || *p == '\t' || *p == ',')
      p++;
    const char *end = p;
    while (*end && *end != ',')
      end++;
    const char *last = end;
    while (last > p && (last[-1] == ' ' || last[-1] == '\t'))
      last--;
    if ((size_t)(last - p) == n && strncasecmp(p, token, n) == 0)
      return true;
    p = end;
  }
  return false;
}

/* The next line of *p, cut at exactly CRLF (NULL after the last). */
static char *next_line(char **p) {
  char *line = *p;
  if (!line)
    return NULL;
  char *crlf = strstr(line, "\r\n");
  if (crlf) {
    *crlf = '\0';
    *p = crlf + 2;
  } else {
    *p = NULL;
  }
  return line;
}

char *ws_check_answer(const char *key, char *head) {
  char *rest = head;
  char *line = next_line(&rest);
  if (strncmp(line, "HTTP/1.1 ", 9) != 0)
    return xstrdup("handshake: not an HTTP/1.1 answer");
  if (strncmp(line + 9, "101", 3) != 0 || (line[12] != ' ' && line[12] != '\0'))
    return xasprintf("handshake refused: %.40s", line + 9);
  bool upgrade = false, connection = false, accept = false;
  char want[29];
  ws_accept_for(key, want);
  int lines = 0;
  while ((line = next_line(&rest)) != NULL) {
    if (++lines > WS_MAX_HEADER_LINES)
      return xstrdup("handshake: too many header lines");
    char *colon = strchr(line, ':');
    /* A bare CR or LF, or no name: not HTTP/1.1 (and a way to smuggle). */
    if (!colon || colon == line || strpbrk(line, "\r\n"))
      return xstrdup("handshake: malformed header line");
    *colon = '\0';
    char *v = str_trim(colon + 1);
    if (str_ieq(line, "Upgrade"))
      upgrade = str_ieq(v, "websocket");
    else if (str_ieq(line, "Connection"))
      connection = has_token(v, "upgrade");
    else if (str_ieq(line, "Sec-WebSocket-Accept"))
      accept = strcmp(v, want) == 0;
    else if (str_ieq(line, "Sec-WebSocket-Extensions") || str_ieq(line, "Sec-WebSocket-Protocol"))
      return xasprintf("handshake: the server chose a %s we did not offer", line);
  }
  if (!upgrade || !connection)
    return xstrdup("handshake: no Upgrade: websocket / Connection: Upgrade");
  if (!accept)
    return xstrdup("handshake: wrong or missing Sec-WebSocket-Accept");
  return NULL;
}

static ssize_t on_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *ud);
static ssize_t on_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *ud);
static int on_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *ud);
static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *ud);

static void start_framing(wsconn *c) {
  static const struct wslay_event_callbacks cb = {.recv_callback = on_recv,
                                                  .send_callback = on_send,
                                                  .genmask_callback = on_genmask,
                                                  .on_msg_recv_callback = on_msg};
  if (wslay_event_context_client_init(&c->ws, &cb, c) != 0) {
    fail(c, xstrdup("out of memory"));
    return;
  }
  wslay_event_config_set_max_recv_msg_length(c->ws, WS_MAX_MESSAGE);
  c->phase = WS_OPEN;
}

/* Reads the answer up to its blank line; bytes past it are the first
 * frames and are kept for wslay. */
static void read_answer(wsconn *c) {
  for (;;) {
    char buf[2048];
    size_t n = 0;
    CURLcode rc = curl_easy_recv(c->easy, buf, sizeof buf, &n);
    if (rc == CURLE_AGAIN)
      return;
    if (rc != CURLE_OK || n == 0) {
      fail(c, rc != CURLE_OK ? xasprintf("handshake: %s", curl_easy_strerror(rc))
                             : xstrdup("handshake: connection closed by the server"));
      return;
    }
    size_t before = c->in.len;
    sbuf_add(&c->in, buf, n);
    /* Look for the blank line from a little before the new bytes. */
    size_t from = before > 3 ? before - 3 : 0;
    char *end = memmem(c->in.p + from, c->in.len - from, "\r\n\r\n", 4);
    if (!end) {
      if (c->in.len > WS_MAX_HANDSHAKE) {
        fail(c, xstrdup("handshake: answer headers too large"));
        return;
      }
      continue;
    }
    size_t head_len = (size_t)(end - c->in.p);
    if (head_len > WS_MAX_HANDSHAKE) {
      fail(c, xstrdup("handshake: answer headers too large"));
      return;
    }
    char *head = xstrndup(c->in.p, head_len);
    char *why = ws_check_answer(c->key, head);
    free(head);
    if (why) {
      fail(c, why);
      return;
    }
    c->in_off = head_len + 4;
    start_framing(c);
    return;
  }
}

/* ---- framing ------------------------------------------------------------------ */

static ssize_t on_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *ud) {
  wsconn *c = ud;
  if (c->in_off < c->in.len) {
    size_t n = c->in.len - c->in_off < len ? c->in.len - c->in_off : len;
    memcpy(buf, c->in.p + c->in_off, n);
    c->in_off += n;
    return (ssize_t)n;
  }
  size_t n = 0;
  CURLcode rc = curl_easy_recv(c->easy, buf, len, &n);
  if (rc == CURLE_AGAIN) {
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  if (rc != CURLE_OK || n == 0) {
    fail(c, rc != CURLE_OK ? xasprintf("reading: %s", curl_easy_strerror(rc))
                           : xstrdup("connection closed by the server without a close frame"));
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
  }
  return (ssize_t)n;
}

static ssize_t on_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *ud) {
  wsconn *c = ud;
  size_t n = 0;
  CURLcode rc = curl_easy_send(c->easy, data, len, &n);
  if (rc == CURLE_AGAIN) {
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  if (rc != CURLE_OK) {
    fail(c, xasprintf("writing: %s", curl_easy_strerror(rc)));
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
  }
  return (ssize_t)n;
}

static int on_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *ud) {
  return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *ud) {
  wsconn *c = ud;
  if (arg->opcode == WSLAY_TEXT_FRAME)
    c->h->on_text(c->ud, (const char *)arg->msg, arg->msg_length);
  else if (arg->opcode == WSLAY_PONG)
    c->h->on_pong(c->ud);
  else if (arg->opcode == WSLAY_CONNECTION_CLOSE && !c->error)
    c->error = xasprintf("closed by the server (code %u)", (unsigned)arg->status_code);
  /* Binary frames are not part of Socket Mode: ignored. Pings are answered
   * by wslay itself. */
}

static void pump(wsconn *c) {
  if (c->phase != WS_OPEN)
    return;
  if (wslay_event_want_read(c->ws) && wslay_event_recv(c->ws) != 0)
    fail(c, xstrdup("protocol error or connection lost"));
  if (c->phase == WS_OPEN && wslay_event_want_write(c->ws) && wslay_event_send(c->ws) != 0)
    fail(c, xstrdup("writing failed"));
  if (c->phase == WS_OPEN && !wslay_event_want_read(c->ws) && !wslay_event_want_write(c->ws))
    fail(c, xstrdup("closed"));
}

void ws_io(wsconn *c) {
  if (c->phase == WS_HANDSHAKE) {
    if (!flush_handshake(c) || c->out_off < c->out.len)
      return;
    read_answer(c);
  }
  pump(c);
}

bool ws_pollfd(const wsconn *c, struct curl_waitfd *out) {
  if (c->phase != WS_HANDSHAKE && c->phase != WS_OPEN)
    return false;
  out->fd = c->fd;
  out->events = CURL_WAIT_POLLIN;
  if ((c->phase == WS_HANDSHAKE && c->out_off < c->out.len) ||
      (c->phase == WS_OPEN && wslay_event_want_write(c->ws)))
    out->events |= CURL_WAIT_POLLOUT;
  out->revents = 0;
  return true;
}

static bool queue(wsconn *c, uint8_t opcode, const void *msg, size_t len) {
  if (c->phase != WS_OPEN)
    return false;
  struct wslay_event_msg m = {.opcode = opcode, .msg = msg, .msg_length = len};
  if (wslay_event_queue_msg(c->ws, &m) != 0)
    return false;
  if (wslay_event_send(c->ws) != 0) {
    fail(c, xstrdup("writing failed"));
    return false;
  }
  return true;
}

bool ws_send_text(wsconn *c, const char *msg, size_t len) {
  return queue(c, WSLAY_TEXT_FRAME, msg, len);
}

bool ws_ping(wsconn *c) {
  return queue(c, WSLAY_PING, "slashd", 6);
}

void ws_close(wsconn *c, uint16_t code) {
  if (c->phase != WS_OPEN) {
    c->phase = WS_CLOSED;
    return;
  }
  wslay_event_queue_close(c->ws, code, NULL, 0);
  wslay_event_send(c->ws);
}

ws_phase ws_phase_of(const wsconn *c) {
  return c->phase;
}

const char *ws_error(const wsconn *c) {
  return c->error;
}

bool ws_flushed(const wsconn *c) {
  return c->phase != WS_OPEN || !wslay_event_want_write(c->ws);
}

void ws_free(wsconn *c, CURLM *multi) {
  if (!c)
    return;
  if (c->ws)
    wslay_event_context_free(c->ws);
  /* Removing a CONNECT_ONLY handle only marks its connection for closing;
   * curl closes the socket whenever it next prunes its cache, which may be
   * never. End the TCP connection now; the descriptor stays curl's to close. */
  if (c->fd != CURL_SOCKET_BAD)
    shutdown(c->fd, SHUT_RDWR);
  curl_multi_remove_handle(multi, c->easy);
  curl_easy_cleanup(c->easy);
  sbuf_free(&c->out);
  sbuf_free(&c->in);
  free(c->host_header);
  free(c->target);
  free(c->error);
  free(c);
}
