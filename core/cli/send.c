/* `slashd send`: a signed test command for a running host, the way Slack
 * would send it, with a loopback listener standing in for response_url. It
 * prints the ack and every reply, and exits when the final reply arrives. */
#include "cli/send.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <microhttpd.h>

#include "cli/cli.h"
#include "base/config.h"
#include "base/form.h"
#include "base/secret.h"
#include "daemon/serve.h"
#include "base/util.h"
#include "base/verify.h"

/* A reply received, waiting to be printed by the main thread (which
 * prints the ack first, then these in the order they came). */
typedef struct sink_msg {
  struct sink_msg *next;
  bool final;
  char *body;
  size_t len;
} sink_msg;

typedef struct sink {
  pthread_mutex_t mu; /* guards everything below */
  pthread_cond_t cv;
  sink_msg *head, **tail;
  bool final; /* the final reply has been answered */
  bool error;
} sink;

typedef struct sink_conn {
  sbuf body;
  bool post, final, error;
} sink_conn;

/* Reply text comes from plugins and AWS: written cleaned of control
 * characters, so it cannot drive the terminal. */
static void print_message(const char *label, const char *body, size_t len) {
  json_t *j = json_loadb(body, len, 0, NULL);
  const char *text = json_string_value(json_object_get(j, "text"));
  printf("%s: ", label);
  cli_put_clean(text ? text : body, stdout);
  putchar('\n');
  fflush(stdout);
  json_decref(j);
}

static enum MHD_Result on_reply(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version, const char *data,
                                size_t *size, void **con_cls) {
  (void)url;
  (void)version;
  sink *k = cls;
  sink_conn *sc = *con_cls;
  if (!sc) {
    *con_cls = xcalloc(1, sizeof *sc);
    return MHD_YES;
  }
  if (*size) {
    if (sc->body.len + *size <= 1 << 20)
      sbuf_add(&sc->body, data, *size);
    *size = 0;
    return MHD_YES;
  }
  (void)k;
  if (strcmp(method, "POST") == 0) {
    sc->post = true;
    sc->final =
        str_eq(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Slashd-Reply"), "final");
    sc->error = str_eq(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Slashd-Error"), "1");
  }
  struct MHD_Response *r = MHD_create_response_from_buffer(2, "ok", MHD_RESPMEM_PERSISTENT);
  enum MHD_Result ret = MHD_queue_response(conn, 200, r);
  MHD_destroy_response(r);
  return ret;
}

/* Called once the answer to a reply has been sent: only now may the main
 * thread see it, so that the daemon has its 200 before `send` exits. */
static void on_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                    enum MHD_RequestTerminationCode toe) {
  (void)conn;
  (void)toe;
  sink *k = cls;
  sink_conn *sc = *con_cls;
  if (!sc)
    return;
  if (sc->post) {
    sink_msg *m = xcalloc(1, sizeof *m);
    m->final = sc->final;
    m->len = sc->body.len;
    m->body = sc->body.p ? sbuf_steal(&sc->body) : xstrdup("");
    pthread_mutex_lock(&k->mu);
    *k->tail = m;
    k->tail = &m->next;
    if (sc->final) {
      k->final = true;
      k->error = sc->error;
    }
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
  }
  sbuf_free(&sc->body);
  free(sc);
  *con_cls = NULL;
}

/* Prints the replies in order until the final one (false: none within
 * `until`). */
static bool print_replies(sink *k, const struct timespec *until) {
  bool final = false, timed_out = false;
  pthread_mutex_lock(&k->mu);
  while (!final && !timed_out) {
    while (k->head) {
      sink_msg *m = k->head;
      k->head = m->next;
      if (!k->head)
        k->tail = &k->head;
      print_message(m->final ? "reply" : "progress", m->body, m->len);
      final = final || m->final;
      free(m->body);
      free(m);
    }
    if (!final)
      timed_out = pthread_cond_timedwait(&k->cv, &k->mu, until) != 0 && !k->head;
  }
  pthread_mutex_unlock(&k->mu);
  return final;
}

static void drop_replies(sink *k) {
  while (k->head) {
    sink_msg *m = k->head;
    k->head = m->next;
    free(m->body);
    free(m);
  }
}

static size_t collect(char *p, size_t size, size_t n, void *ud) {
  sbuf_add(ud, p, size * n);
  return size * n;
}

static size_t header_cb(char *p, size_t size, size_t n, void *ud) {
  char *id = ud;
  size_t len = size * n;
  static const char h[] = "X-Slashd-Request-Id:";
  if (len > sizeof h && strncasecmp(p, h, sizeof h - 1) == 0) {
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.*s", (int)(len - (sizeof h - 1)), p + sizeof h - 1);
    snprintf(id, 32, "%s", str_trim(tmp));
  }
  return len;
}

static bool load_secret(const config *c, unsigned char **sec, size_t *n, bool *token, char **err) {
  if (c->socket_mode) {
    *err = xstrdup("[slack] mode = socket: this host takes commands over Slack's Socket Mode, "
                   "not HTTP (/slack/commands answers 404), so `slashd send` cannot reach it; "
                   "use `slashd run` to try a command line locally");
    return false;
  }
  *token = false;
  if (c->signing_secret_ref)
    return secret_resolve(c->signing_secret_ref, NULL, NULL, sec, n, err);
  if (c->verification_token_ref) {
    *token = true;
    return secret_resolve(c->verification_token_ref, NULL, NULL, sec, n, err);
  }
  char *path = serve_dev_secret_path(c);
  char *ref = xasprintf("file:%s", path);
  bool ok = secret_resolve(ref, NULL, NULL, sec, n, err);
  if (!ok) {
    free(*err);
    *err = xasprintf("no signing secret is configured and %s does not exist: is `slashd serve` "
                     "running with this config?",
                     path);
  }
  free(ref);
  free(path);
  return ok;
}

/* One `slashd send` in progress: what its steps share and the one cleanup
 * frees. */
typedef struct sender {
  cli_opts o;
  config *c;
  unsigned char *secret;
  size_t secret_len;
  bool token_mode;
  sink k;
  struct MHD_Daemon *d;
  char *reply_url; /* the loopback listener, as response_url */
  char *body;      /* the form, as Slack would send it */
  char *url;       /* where it goes */
  sbuf ack;
  char req_id[32]; /* X-Slashd-Request-Id of the ack */
} sender;

/* A loopback listener standing in for response_url. */
static bool listen_for_replies(sender *sn) {
  sn->d = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, on_reply, &sn->k,
      MHD_OPTION_NOTIFY_COMPLETED, on_done, &sn->k, MHD_OPTION_SOCK_ADDR,
      &(struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)},
      MHD_OPTION_END);
  const union MHD_DaemonInfo *di =
      sn->d ? MHD_get_daemon_info(sn->d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
  if (!di) {
    fprintf(stderr, "slashd send: cannot listen on loopback for the reply\n");
    return false;
  }
  sn->reply_url = xasprintf("http://127.0.0.1:%u/reply", (unsigned)di->port);
  return true;
}

/* The form body Slack would send, and the URL it would go to. */
static void build_request(sender *sn) {
  const cli_opts *o = &sn->o;
  const config *c = sn->c;
  const char *slash = c->command ? c->command : "/aws";
  struct {
    const char *k, *v;
  } fields[] = {
      {"token", sn->token_mode ? (const char *)sn->secret : NULL},
      {"team_id", o->team_id ? o->team_id : "T0LOCAL"},
      {"team_domain", "local"},
      {"channel_id", o->channel_id ? o->channel_id : "C0LOCAL"},
      {"channel_name", o->channel_name ? o->channel_name : "local"},
      {"user_id", o->user_id ? o->user_id : "U0LOCAL"},
      {"user_name", o->user_name ? o->user_name : (getenv("USER") ? getenv("USER") : "you")},
      {"command", slash},
      {"text", o->text},
      {"response_url", sn->reply_url},
      {"trigger_id", "0.0.local"}};
  sbuf b = {0};
  for (size_t i = 0; i < ARRAY_LEN(fields); i++) {
    if (!fields[i].v)
      continue;
    char *enc = form_encode(fields[i].v);
    sbuf_addf(&b, "%s%s=%s", b.len ? "&" : "", fields[i].k, enc);
    free(enc);
  }
  sn->body = sbuf_steal(&b);
  if (o->url) {
    sn->url = xstrdup(o->url);
    return;
  }
  bool v6 = strchr(c->listen_host, ':') != NULL;
  const char *host = (str_eq(c->listen_host, "0.0.0.0") ? "127.0.0.1"
                      : str_eq(c->listen_host, "::")    ? "::1"
                                                        : c->listen_host);
  sn->url = xasprintf("%s://%s%s%s:%d%s", c->tls_cert ? "https" : "http", v6 ? "[" : "", host,
                      v6 ? "]" : "", c->listen_port, c->path);
}

/* Signs and POSTs the command; prints the ack. Returns the HTTP status, or
 * 0 when it could not be sent. */
static long post_command(sender *sn) {
  char ts[24], sig[68], hts[64], hsig[96];
  snprintf(ts, sizeof ts, "%lld", (long long)time(NULL));
  verify_sign(sn->secret, sn->secret_len, ts, sn->body, strlen(sn->body), sig);
  snprintf(hts, sizeof hts, "X-Slack-Request-Timestamp: %s", ts);
  snprintf(hsig, sizeof hsig, "X-Slack-Signature: %s", sig);
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded");
  if (!sn->token_mode) {
    h = curl_slist_append(h, hts);
    h = curl_slist_append(h, hsig);
  }
  CURL *curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, sn->url);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, sn->body);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sn->ack);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, (void *)sn->req_id);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  if (sn->c->tls_cert && host_is_loopback(sn->c->listen_host)) {
    /* A development certificate on loopback is usually self-signed. */
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  uint64_t t0 = mono_us();
  CURLcode cc = curl_easy_perform(curl);
  long status = 0;
  if (cc != CURLE_OK)
    fprintf(stderr, "slashd send: %s: %s (is `slashd serve` running?)\n", sn->url,
            curl_easy_strerror(cc));
  else
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(h);
  curl_easy_cleanup(curl);
  if (cc == CURLE_OK) {
    char label[64];
    snprintf(label, sizeof label, "ack (HTTP %ld, %.1f ms)", status,
             (double)(mono_us() - t0) / 1000.0);
    print_message(label, sn->ack.p ? sn->ack.p : "", sn->ack.len);
  }
  return status;
}

/* Prints the replies until the final one; the exit status. */
static int await_final(sender *sn) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += sn->o.timeout;
  bool final = print_replies(&sn->k, &until);
  pthread_mutex_lock(&sn->k.mu);
  bool error = sn->k.error;
  pthread_mutex_unlock(&sn->k.mu);
  if (!final) {
    fprintf(stderr, "slashd send: no final reply within %d s\n", sn->o.timeout);
    return 1;
  }
  return error ? 1 : 0;
}

int send_main(int argc, char **argv) {
  sender sn = {.k = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER}};
  sn.k.tail = &sn.k.head;
  if (!cli_parse(argc, argv, "send", true, &sn.o))
    return 2;
  char *err = NULL;
  int rc = 1;
  static const cli_load how = {.who = "slashd send", .fail_status = 78};
  sn.c = cli_load_config(&sn.o, &how, NULL, &rc);
  if (!sn.c)
    goto out;
  rc = 1;
  if (!load_secret(sn.c, &sn.secret, &sn.secret_len, &sn.token_mode, &err)) {
    fprintf(stderr, "slashd send: %s\n", err);
    goto out;
  }
  if (!listen_for_replies(&sn))
    goto out;
  build_request(&sn);
  long status = post_command(&sn);
  if (status == 200 && sn.req_id[0])
    rc = await_final(&sn);
  else if (status)
    rc = status == 200 ? 2 : 1; /* answered, but nothing was run */
out:
  if (sn.d)
    MHD_stop_daemon(sn.d);
  drop_replies(&sn.k);
  sbuf_free(&sn.ack);
  free(sn.url);
  free(sn.body);
  free(sn.reply_url);
  free(err);
  secret_free(sn.secret, sn.secret_len);
  config_free(sn.c);
  cli_opts_free(&sn.o);
  return rc;
}
