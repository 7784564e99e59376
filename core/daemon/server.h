/* The serving process: its parts and the state they share. No globals: the
 * one `server` is made in serve.c and handed to every part. */
#ifndef SLASHD_SERVER_H
#define SLASHD_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "base/caps.h"
#include "base/config.h"
#include "base/confirm.h"
#include "base/jobs.h"
#include "base/metrics.h"
#include "daemon/responder.h"
#include "base/route.h"
#include "base/urlcheck.h"
#include "base/verify.h"

typedef struct pool pool;
typedef struct journal journal;
typedef struct credcache credcache;
typedef struct audit audit;
typedef struct http_guard http_guard;
typedef struct replay replay;
typedef struct socket_door socket_door;

/* What a configuration resolves to. Replaced whole on reload; readers hold a
 * reference for the length of one request. */
typedef struct runtime {
  atomic_int refs;
  config *cfg;
  unsigned char *signing_secret; /* NULL when not configured */
  size_t signing_secret_len;
  verify_key *signing_key; /* the secret keyed for HMAC once; NULL: use the secret */
  unsigned char *token;    /* legacy verification token, or NULL */
  size_t token_len;
  bool dev_secret;          /* generated development secret */
  unsigned char *app_token; /* Socket Mode app-level token, or NULL */
  size_t app_token_len;
  unsigned char confirm_key[CONFIRM_KEY_LEN]; /* signs confirmation tokens (base/confirm.h) */
  url_policy policy;
} runtime;

typedef struct server {
  char *config_path;
  metrics m;
  job_queue queue;
  dedupe dd;
  caps caps;              /* running jobs per user and per plugin (base/caps.h) */
  confirm_store confirms; /* used nonces and pending codes of confirmation prompts */
  responder *resp;
  pool *pool;
  journal *journal;
  credcache *creds; /* assumed-role credentials shared by the workers */
  audit *audit;
  replay *replay; /* signatures accepted within the timestamp window */
  struct MHD_Daemon *mhd;
  http_guard *http_guard;      /* deadlines of slow clients (http.c) */
  int listen_port;             /* the bound port (listen = host:0 picks one) */
  socket_door *socket;         /* [slack] mode = socket, or NULL */
  atomic_bool socket_disabled; /* Slack sent link_disabled: /healthz answers 503 */
  char boot_id[8];
  atomic_ullong seq;
  atomic_bool draining;

  pthread_mutex_t mu; /* guards rt and routes */
  runtime *rt;
  route_table *routes;
} server;

runtime *runtime_ref(runtime *rt);
void runtime_unref(runtime *rt);

/* A counted reference to the current runtime / routing table. */
runtime *server_runtime(server *s);
route_table *server_routes(server *s);
/* Publishes a new routing table (takes the reference). */
void server_set_routes(server *s, route_table *t);
void server_set_runtime(server *s, runtime *rt);

/* A new request id: boot id + sequence, unique across restarts. */
void server_new_id(server *s, char out[32]);

#endif
