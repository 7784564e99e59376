/* The Socket Mode door. Each of the [slack] socket_connections slots keeps
 * one connection to Slack open: apps.connections.open for a fresh URL, the
 * WebSocket (socket_ws.c), Slack's hello, then envelopes until Slack asks
 * for a refresh (a replacement is opened first and the old one closed once
 * the replacement's hello arrived) or the connection dies (reopened with
 * jittered exponential backoff). Everything runs on one thread around one
 * curl_multi_poll; the only state shared with other threads is the server's
 * (admission, metrics, the link_disabled flag), which is built for that. */
#include "daemon/socket.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "base/log.h"
#include "base/util.h"
#include "daemon/frontdoor.h"
#include "daemon/socket_ws.h"

#define START_TIMEOUT_MS 10000  /* the first apps.connections.open, at start */
#define OPEN_TIMEOUT_MS 10000   /* a later apps.connections.open */
#define CONNECT_TIMEOUT_MS 8000 /* name lookup, TCP and TLS */
#define HELLO_TIMEOUT_MS 10000  /* from the open to Slack's hello */
#define PING_IDLE_MS 5000       /* silence after which we ping */
#define PONG_TIMEOUT_MS 5000    /* a ping unanswered this long: the connection is dead */
#define REPLACE_GRACE_MS                                                                           \
  10000                      /* an old connection closes at the latest this long after             \
                                Slack asked for its replacement */
#define LEAVE_MS 2000        /* for the close handshake of a connection we close */
#define MIN_OPEN_GAP_MS 1000 /* never more than one open per second per slot */
#define BACKOFF_MAX_MS 30000
#define TOO_MANY_MIN_MS 5000 /* too_many_websockets: wait at least this long */

typedef enum { C_OPENING, C_CONNECTING, C_HELLO, C_READY, C_LEAVING } cphase;

typedef struct socket_door socket_door;

typedef struct sconn {
  socket_door *d;
  int slot;
  unsigned id; /* for logs */
  cphase phase;
  api_call api;
  bool api_on;
  wsconn *ws;
  uint64_t deadline_ms; /* of the opening step in progress */
  uint64_t last_rx_ms;
  uint64_t ping_ms; /* when the unanswered ping left, or 0 */
  bool replace;     /* Slack asked for a replacement */
  uint64_t replace_by_ms;
  /* Set from inside a wslay callback, acted on once the callback returned. */
  int doom;           /* a socket_reconnect reason + 1, or 0 */
  struct sconn *next; /* in the leaving list */
} sconn;

typedef struct slot {
  sconn *cur;  /* serving, or being opened */
  sconn *repl; /* its replacement being opened */
  uint64_t not_before_ms;
  uint64_t last_open_ms;
  unsigned failures; /* in a row, since the last hello */
} slot;

struct socket_door {
  server *s;
  CURLM *multi;
  pthread_t thread;
  atomic_bool stop;
  int n;
  slot slots[SOCKET_MAX_CONNECTIONS];
  sconn *leaving;
  dedupe seen;   /* envelope ids, for SOCKET_ENVELOPE_MEMORY_S */
  bool disabled; /* link_disabled: nothing opens any more */
  uint64_t rng;
  unsigned next_id;
  char *first_url; /* from the check at start, for slot 0 */
};

/* ---- backoff ----------------------------------------------------------------- */

static uint64_t rng_next(socket_door *d) {
  uint64_t x = d->rng; /* xorshift64: jitter, not secrets */
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return d->rng = x;
}

/* Full-jitter exponential backoff: between half and all of 1 s * 2^(n-1),
 * at most BACKOFF_MAX_MS. */
static uint64_t backoff_ms(socket_door *d, unsigned failures) {
  unsigned shift = failures > 1 ? failures - 1 : 0;
  uint64_t base = shift > 5 ? BACKOFF_MAX_MS : 1000u << shift;
  if (base > BACKOFF_MAX_MS)
    base = BACKOFF_MAX_MS;
  return base / 2 + rng_next(d) % (base / 2 + 1);
}

/* ---- connections ---------------------------------------------------------------- */

static void on_text(void *ud, const char *msg, size_t len);
static void on_pong(void *ud);
static const ws_handlers handlers = {.on_text = on_text, .on_pong = on_pong};

static void conn_free(socket_door *d, sconn *c) {
  if (c->api_on) {
    curl_multi_remove_handle(d->multi, c->api.easy);
    api_call_free(&c->api);
  }
  ws_free(c->ws, d->multi);
  free(c);
}

static void conn_connect(sconn *c, char *url, uint64_t now) {
  char *err = NULL;
  runtime *rt = server_runtime(c->d->s);
  c->ws = ws_connect(c->d->multi, url, rt->cfg->ca_file, CONNECT_TIMEOUT_MS, &handlers, c, &err);
  runtime_unref(rt);
  /* The URL carries a single-use ticket: it is not logged. */
  free(url);
  if (!c->ws) {
    log_kv(SLOG_WARN, "socket_url_refused", KV_I("slot", c->slot), KV_S("msg", err));
    free(err);
    c->doom = SRC_CONNECT_FAILED + 1;
    return;
  }
  c->phase = C_CONNECTING;
  c->deadline_ms = now + HELLO_TIMEOUT_MS;
}

static sconn *conn_new(socket_door *d, int i, uint64_t now) {
  sconn *c = xcalloc(1, sizeof *c);
  c->d = d;
  c->slot = i;
  c->id = ++d->next_id;
  c->last_rx_ms = now;
  if (d->first_url && i == 0) {
    char *url = d->first_url;
    d->first_url = NULL;
    conn_connect(c, url, now);
    return c;
  }
  d->slots[i].last_open_ms = now;
  runtime *rt = server_runtime(d->s);
  api_call_init(&c->api, rt->cfg->api_url, rt->cfg->ca_file, rt->app_token, rt->app_token_len,
                OPEN_TIMEOUT_MS);
  runtime_unref(rt);
  curl_multi_add_handle(d->multi, c->api.easy);
  c->api_on = true;
  c->phase = C_OPENING;
  c->deadline_ms = now + OPEN_TIMEOUT_MS + 1000;
  return c;
}

static void gauge(socket_door *d, sconn *c, int delta) {
  if (c->phase == C_READY)
    atomic_fetch_add(&d->s->m.socket.connections, delta);
}

/* Takes c out of its slot (its replacement, if any, moves up). */
static void detach(socket_door *d, sconn *c) {
  slot *sl = &d->slots[c->slot];
  if (sl->cur == c) {
    sl->cur = sl->repl;
    sl->repl = NULL;
  } else if (sl->repl == c) {
    sl->repl = NULL;
  }
}

/* A connection that failed or died: gone, and its slot backs off. */
static void conn_fail(socket_door *d, sconn *c, socket_reconnect reason, const char *msg,
                      uint64_t now) {
  slot *sl = &d->slots[c->slot];
  atomic_fetch_add(&d->s->m.socket.reconnects[reason], 1);
  log_kv(SLOG_WARN, "socket_lost", KV_I("slot", c->slot), KV_U("conn", c->id),
         KV_S("reason", metrics_reconnect_name(reason)), KV_S("msg", msg ? msg : ""));
  gauge(d, c, -1);
  detach(d, c);
  sl->failures++;
  uint64_t wait = backoff_ms(d, sl->failures);
  if (reason == SRC_TOO_MANY && wait < TOO_MANY_MIN_MS)
    wait = TOO_MANY_MIN_MS;
  if (sl->not_before_ms < now + wait)
    sl->not_before_ms = now + wait;
  conn_free(d, c);
}

/* We close c ourselves (replaced, stopping, link disabled): it leaves its
 * slot at once but is still read until Slack's close arrives, so an
 * envelope already on its way is acked, not lost. */
static void conn_leave(socket_door *d, sconn *c, uint64_t now) {
  log_kv(SLOG_DEBUG, "socket_closing", KV_I("slot", c->slot), KV_U("conn", c->id),
         KV_B("open", c->ws && ws_phase_of(c->ws) == WS_OPEN));
  gauge(d, c, -1);
  detach(d, c);
  if (c->ws && ws_phase_of(c->ws) == WS_OPEN)
    ws_close(c->ws, 1000);
  c->phase = C_LEAVING;
  c->deadline_ms = now + LEAVE_MS;
  c->next = d->leaving;
  d->leaving = c;
}

/* ---- messages from Slack ---------------------------------------------------------- */

static void on_pong(void *ud) {
  sconn *c = ud;
  c->ping_ms = 0;
  c->last_rx_ms = mono_ms();
}

static void on_hello(sconn *c, json_t *m) {
  if (c->phase != C_HELLO)
    return;
  c->phase = C_READY;
  gauge(c->d, c, 1);
  slot *sl = &c->d->slots[c->slot];
  sl->failures = 0;
  log_kv(SLOG_INFO, "socket_connected", KV_I("slot", c->slot), KV_U("conn", c->id),
         KV_B("replacement", sl->repl == c),
         KV_I("slack_connections", json_integer_value(json_object_get(m, "num_connections"))));
}

static void on_disconnect(sconn *c, const char *reason) {
  socket_door *d = c->d;
  if (str_eq(reason, "link_disabled")) {
    if (!d->disabled)
      log_kv(SLOG_ERROR, "socket_link_disabled",
             KV_S("msg", "Slack sent disconnect link_disabled: Socket Mode was turned off for "
                         "this app. No more connections are opened and /healthz answers 503; "
                         "turn Socket Mode back on in the app's settings, then restart slashd"));
    d->disabled = true;
    atomic_store(&d->s->socket_disabled, true);
    return;
  }
  if (str_eq(reason, "too_many_websockets")) {
    c->doom = SRC_TOO_MANY + 1;
    return;
  }
  if (c->replace)
    return;
  socket_reconnect r = str_eq(reason, "refresh_requested") ? SRC_REFRESH
                       : str_eq(reason, "warning")         ? SRC_WARNING
                                                           : SRC_OTHER;
  atomic_fetch_add(&d->s->m.socket.reconnects[r], 1);
  log_kv(SLOG_INFO, "socket_refresh", KV_I("slot", c->slot), KV_U("conn", c->id),
         KV_S("reason", reason ? reason : ""));
  c->replace = true;
  c->replace_by_ms = mono_ms() + REPLACE_GRACE_MS;
}

/* A slash_commands payload holds the HTTP form's fields as JSON strings:
 * the same admission as the HTTP door decides, and the ack carries the
 * very message the HTTP door would have answered. NULL: ack without one. */
static json_t *socket_admit(server *s, const json_t *payload, const char *envelope_id) {
  admission_request req;
  admission_request_from_json(payload, DOOR_SOCKET, &req);
  admission_result res;
  frontdoor_admit(s, &req, &res);
  json_t *ack = NULL;
  if (res.status == 200 && res.json)
    ack = json_loads(res.body, 0, NULL);
  else if (res.status != 200)
    log_kv(SLOG_WARN, "socket_bad_payload", KV_S("envelope", envelope_id),
           KV_I("status", res.status), KV_S("msg", res.body));
  if (*res.request_id)
    log_kv(SLOG_DEBUG, "socket_accepted", KV_S("envelope", envelope_id),
           KV_S("req", res.request_id));
  admission_result_free(&res);
  return ack;
}

/* A click on a button slashd posted (an `interactive` envelope): the
 * interactivity handler every door calls; its follow-ups go out through the
 * responder. The envelope is acked with its id alone, as Slack expects for
 * block_actions. */
static void socket_interact(server *s, const json_t *payload, const char *envelope_id) {
  char *text = json_dumps(payload, JSON_COMPACT);
  if (!text)
    return;
  interact_result res;
  frontdoor_interact(s, text, strlen(text), DOOR_SOCKET, &res);
  log_kv(SLOG_DEBUG, "socket_interaction", KV_S("envelope", envelope_id),
         KV_S("outcome", res.outcome ? res.outcome : ""), KV_S("req", res.request_id));
  interact_result_free(&res);
  free(text);
}

/* Envelope ids are Slack's UUIDs: short, plain ASCII. */
static bool envelope_id_ok(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n > 128)
    return false;
  for (; *s; s++)
    if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') && !(*s >= '0' && *s <= '9') &&
        *s != '-' && *s != '_' && *s != '.')
      return false;
  return true;
}

static socket_envelope envelope_kind(const char *type) {
  if (str_eq(type, "slash_commands"))
    return SENV_SLASH;
  if (str_eq(type, "interactive"))
    return SENV_INTERACTIVE;
  if (str_eq(type, "events_api"))
    return SENV_EVENTS;
  return SENV_OTHER;
}

/* The ack: the envelope id, and the message the HTTP door would have
 * answered (ack_payload, owned, or NULL). */
static void send_ack(sconn *c, const char *id, json_t *ack_payload, uint64_t t0_us) {
  json_t *a = json_pack("{s:s}", "envelope_id", id);
  if (ack_payload)
    json_object_set_new(a, "payload", ack_payload);
  char *text = json_dumps(a, JSON_COMPACT);
  json_decref(a);
  if (!text || !ws_send_text(c->ws, text, strlen(text)))
    log_kv(SLOG_WARN, "socket_ack_failed", KV_I("slot", c->slot), KV_S("envelope", id),
           KV_S("msg", "the connection went away; Slack sends the envelope again"));
  metrics_observe(&c->d->s->m.socket.ack_seconds, mono_us() - t0_us);
  free(text);
}

static void on_envelope(sconn *c, json_t *m, uint64_t t0_us) {
  socket_door *d = c->d;
  const char *id = json_string_value(json_object_get(m, "envelope_id"));
  const char *type = json_string_value(json_object_get(m, "type"));
  if (!envelope_id_ok(id)) {
    log_kv(SLOG_WARN, "socket_bad_envelope", KV_I("slot", c->slot),
           KV_S("msg", "an envelope without a usable envelope_id (ignored)"));
    return;
  }
  socket_envelope kind = envelope_kind(type);
  atomic_fetch_add(&d->s->m.socket.envelopes[kind], 1);
  json_t *ack = NULL;
  int64_t age = 0;
  if (!dedupe_begin(&d->seen, id, wall_s(), &age)) {
    atomic_fetch_add(&d->s->m.socket.duplicates, 1);
    log_kv(SLOG_INFO, "socket_duplicate", KV_S("envelope", id), KV_I("age_s", age),
           KV_S("msg", "Slack sent this envelope again; it is acked, not run twice"));
  } else {
    dedupe_end(&d->seen, id); /* remembered for the window, from now */
    json_t *payload = json_object_get(m, "payload");
    if (kind == SENV_SLASH && json_is_object(payload))
      ack = socket_admit(d->s, payload, id);
    else if (kind == SENV_INTERACTIVE && json_is_object(payload))
      socket_interact(d->s, payload, id);
    else
      log_kv(SLOG_DEBUG, "socket_envelope_ignored", KV_S("envelope", id),
             KV_S("type", type ? type : ""));
  }
  send_ack(c, id, ack, t0_us);
}

static void on_text(void *ud, const char *msg, size_t len) {
  sconn *c = ud;
  uint64_t t0 = mono_us();
  c->last_rx_ms = t0 / 1000;
  json_t *m = json_loadb(msg, len, JSON_REJECT_DUPLICATES, NULL);
  const char *type = json_string_value(json_object_get(m, "type"));
  if (!json_is_object(m))
    log_kv(SLOG_WARN, "socket_bad_message", KV_I("slot", c->slot), KV_U("bytes", len),
           KV_S("msg", "not a JSON object (ignored)"));
  else if (json_object_get(m, "envelope_id"))
    on_envelope(c, m, t0);
  else if (str_eq(type, "hello"))
    on_hello(c, m);
  else if (str_eq(type, "disconnect"))
    on_disconnect(c, json_string_value(json_object_get(m, "reason")));
  else
    log_kv(SLOG_DEBUG, "socket_message", KV_S("type", type ? type : ""));
  json_decref(m);
}

/* ---- the loop ------------------------------------------------------------------------- */

/* Calls fn on every connection (slots first, then the leaving ones, which
 * are freed here once closed); fn may free the connection it is given. */
static void each_conn(socket_door *d, void (*fn)(socket_door *, sconn *, void *), void *arg,
                      uint64_t now) {
  for (int i = 0; i < d->n; i++) {
    sconn *cur = d->slots[i].cur, *repl = d->slots[i].repl;
    if (repl)
      fn(d, repl, arg);
    if (cur && (d->slots[i].cur == cur || d->slots[i].repl == cur))
      fn(d, cur, arg);
  }
  sconn **pp = &d->leaving;
  while (*pp) {
    sconn *c = *pp;
    if (!c->ws || ws_phase_of(c->ws) == WS_CLOSED || now >= c->deadline_ms) {
      log_kv(SLOG_DEBUG, "socket_closed", KV_U("conn", c->id),
             KV_S("msg", c->ws && ws_error(c->ws) ? ws_error(c->ws) : "close handshake timed out"));
      *pp = c->next;
      conn_free(d, c);
      continue;
    }
    pp = &c->next;
    fn(d, c, arg);
  }
}

static void on_api_done(socket_door *d, sconn *c, CURLcode rc, uint64_t now) {
  char *url = NULL, *err = NULL;
  sopen_result r = api_call_result(&c->api, rc, &url, &err);
  curl_multi_remove_handle(d->multi, c->api.easy);
  api_call_free(&c->api);
  c->api_on = false;
  if (r == SOPEN_OK) {
    conn_connect(c, url, now);
    return;
  }
  if (r == SOPEN_REFUSED && socket_error_is_fatal(err))
    log_kv(SLOG_ERROR, "socket_token_refused", KV_S("error", err),
           KV_S("msg", "Slack no longer accepts [slack] app_token; retrying with backoff"));
  conn_fail(d, c,
            r == SOPEN_REFUSED && str_eq(err, "too_many_websockets") ? SRC_TOO_MANY
                                                                     : SRC_OPEN_FAILED,
            err, now);
  free(err);
}

static sconn *owner_of(socket_door *d, CURL *easy) {
  for (int i = 0; i < d->n; i++) {
    sconn *cs[2] = {d->slots[i].cur, d->slots[i].repl};
    for (int k = 0; k < 2; k++)
      if (cs[k] && ((cs[k]->api_on && cs[k]->api.easy == easy) || ws_owns(cs[k]->ws, easy)))
        return cs[k];
  }
  return NULL;
}

static void on_transfers(socket_door *d, uint64_t now) {
  int left = 0;
  CURLMsg *msg;
  while ((msg = curl_multi_info_read(d->multi, &left)) != NULL) {
    if (msg->msg != CURLMSG_DONE)
      continue;
    sconn *c = owner_of(d, msg->easy_handle);
    if (!c)
      continue;
    if (c->api_on && c->api.easy == msg->easy_handle) {
      on_api_done(d, c, msg->data.result, now);
    } else {
      ws_connected(c->ws, msg->data.result);
      if (ws_phase_of(c->ws) != WS_CLOSED)
        c->phase = C_HELLO;
    }
  }
}

/* After I/O: what a callback decided, a closed socket, a missed deadline,
 * the ping watchdog. */
static void check_conn(socket_door *d, sconn *c, uint64_t now) {
  if (c->phase == C_LEAVING)
    return;
  if (c->doom) {
    conn_fail(d, c, (socket_reconnect)(c->doom - 1), NULL, now);
  } else if (c->ws && ws_phase_of(c->ws) == WS_CLOSED) {
    conn_fail(d, c, c->phase == C_READY ? SRC_DROPPED : SRC_CONNECT_FAILED, ws_error(c->ws), now);
  } else if (c->phase != C_READY && now >= c->deadline_ms) {
    conn_fail(d, c, c->phase == C_HELLO ? SRC_HELLO_TIMEOUT : SRC_CONNECT_FAILED,
              "timed out while opening", now);
  } else if (c->phase == C_READY && c->ping_ms && now - c->ping_ms >= PONG_TIMEOUT_MS) {
    conn_fail(d, c, SRC_PING_TIMEOUT, "no pong from Slack", now);
  } else if (c->phase == C_READY && !c->ping_ms && now - c->last_rx_ms >= PING_IDLE_MS) {
    c->ping_ms = now;
    ws_ping(c->ws);
  }
}

static void tend_slot(socket_door *d, slot *sl, int i, uint64_t now) {
  if (d->disabled) {
    if (sl->repl)
      conn_leave(d, sl->repl, now);
    if (sl->cur)
      conn_leave(d, sl->cur, now);
    return;
  }
  /* Slot 0's first URL came from the open made at start. */
  bool may_open = (i == 0 && d->first_url) ||
                  (now >= sl->not_before_ms && now >= sl->last_open_ms + MIN_OPEN_GAP_MS);
  if (!sl->cur) {
    if (may_open)
      sl->cur = conn_new(d, i, now);
    return;
  }
  if (!sl->cur->replace)
    return;
  if (sl->repl && sl->repl->phase == C_READY) {
    log_kv(SLOG_INFO, "socket_replaced", KV_I("slot", i), KV_U("old", sl->cur->id),
           KV_U("new", sl->repl->id));
    conn_leave(d, sl->cur, now);
  } else if (now >= sl->cur->replace_by_ms) {
    conn_leave(d, sl->cur, now);
  } else if (!sl->repl && may_open) {
    sl->repl = conn_new(d, i, now);
  }
}

static void do_io(socket_door *d, sconn *c, void *arg) {
  if (c->ws && (ws_phase_of(c->ws) == WS_HANDSHAKE || ws_phase_of(c->ws) == WS_OPEN))
    ws_io(c->ws);
}

static void do_check(socket_door *d, sconn *c, void *arg) {
  check_conn(d, c, *(const uint64_t *)arg);
}

typedef struct poll_set {
  struct curl_waitfd fds[3 * SOCKET_MAX_CONNECTIONS];
  unsigned n;
} poll_set;

static void add_fd(socket_door *d, sconn *c, void *arg) {
  poll_set *p = arg;
  if (c->ws && p->n < ARRAY_LEN(p->fds) && ws_pollfd(c->ws, &p->fds[p->n]))
    p->n++;
}

/* Waits for the sockets, a transfer or a deadline (at most 250 ms, so the
 * watchdog and the slots are looked at often enough), then serves what is
 * ready. Every open socket is read until it would block, whichever woke the
 * loop: TLS may hold bytes the descriptor does not show. */
static void wait_and_serve(socket_door *d) {
  uint64_t now = mono_ms();
  poll_set p = {.n = 0};
  each_conn(d, add_fd, &p, now);
  curl_multi_poll(d->multi, p.fds, p.n, 250, NULL);
  int running = 0;
  curl_multi_perform(d->multi, &running);
  now = mono_ms();
  on_transfers(d, now);
  each_conn(d, do_io, NULL, now);
  each_conn(d, do_check, &now, now);
}

/* ---- the thread -------------------------------------------------------------------- */

/* Closes every connection with a close frame, and gives the close
 * handshakes up to a second. */
static void close_all(socket_door *d) {
  uint64_t now = mono_ms();
  for (int i = 0; i < d->n; i++) {
    if (d->slots[i].repl)
      conn_leave(d, d->slots[i].repl, now);
    if (d->slots[i].cur)
      conn_leave(d, d->slots[i].cur, now);
  }
  uint64_t until = now + 1000;
  while (d->leaving && (now = mono_ms()) < until) {
    poll_set p = {.n = 0};
    each_conn(d, add_fd, &p, now);
    curl_multi_poll(d->multi, p.fds, p.n, 50, NULL);
    each_conn(d, do_io, NULL, mono_ms());
  }
  while (d->leaving) {
    sconn *c = d->leaving;
    d->leaving = c->next;
    conn_free(d, c);
  }
}

static void *door_main(void *arg) {
  socket_door *d = arg;
  while (!atomic_load(&d->stop)) {
    uint64_t now = mono_ms();
    for (int i = 0; i < d->n; i++)
      tend_slot(d, &d->slots[i], i, now);
    wait_and_serve(d);
  }
  close_all(d);
  return NULL;
}

static void door_free(socket_door *d) {
  curl_multi_cleanup(d->multi);
  dedupe_destroy(&d->seen);
  free(d->first_url);
  free(d);
}

socket_door *socket_start(server *s, char **err) {
  runtime *rt = server_runtime(s);
  const config *c = rt->cfg;
  socket_door *d = xcalloc(1, sizeof *d);
  d->s = s;
  d->n = c->socket_connections;
  d->multi = curl_multi_init();
  dedupe_init(&d->seen, SOCKET_ENVELOPE_MEMORY_S);
  atomic_init(&d->stop, false);
  if (RAND_bytes((unsigned char *)&d->rng, sizeof d->rng) != 1 || !d->rng)
    d->rng = mono_us() | 1;
  /* The first open is made here, so that a wrong token stops the start
   * with Slack's own word for it instead of a retry loop. */
  char *url = NULL, *e = NULL;
  sopen_result r = socket_open_once(c->api_url, c->ca_file, rt->app_token, rt->app_token_len,
                                    START_TIMEOUT_MS, &url, &e);
  uint64_t now = mono_ms();
  d->slots[0].last_open_ms = now;
  if (r == SOPEN_OK) {
    d->first_url = url;
  } else if (r == SOPEN_REFUSED && socket_error_is_fatal(e)) {
    *err = xasprintf("Slack refused [slack] app_token: %s (apps.connections.open at %s). It must "
                     "be an app-level token (xapp-...) with the connections:write scope, from the "
                     "app's Basic Information page",
                     e, c->api_url);
    free(e);
    runtime_unref(rt);
    door_free(d);
    return NULL;
  } else {
    log_kv(SLOG_WARN, "socket_open_failed", KV_S("msg", e), KV_S("next", "retrying with backoff"));
    atomic_fetch_add(&s->m.socket.reconnects[SRC_OPEN_FAILED], 1);
    d->slots[0].failures = 1;
    d->slots[0].not_before_ms = now + backoff_ms(d, 1);
    free(e);
  }
  log_kv(SLOG_INFO, "socket_mode", KV_I("connections", d->n), KV_S("api_url", c->api_url));
  runtime_unref(rt);
  if (pthread_create(&d->thread, NULL, door_main, d) != 0) {
    *err = xstrdup("cannot start the Socket Mode thread");
    door_free(d);
    return NULL;
  }
  return d;
}

void socket_stop(socket_door *d) {
  if (!d)
    return;
  atomic_store(&d->stop, true);
  curl_multi_wakeup(d->multi);
  pthread_join(d->thread, NULL);
  door_free(d);
}
