/* The serving process's shared state (daemon/server.h): references to the
 * current runtime and routing table, and request ids. Apart from serve.c so
 * that a process that reuses the daemon's job handling without serving
 * (the Lambda worker) links these without the serving code. */
#include "daemon/server.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/secret.h"
#include "base/util.h"

runtime *runtime_ref(runtime *rt) {
  if (rt)
    atomic_fetch_add(&rt->refs, 1);
  return rt;
}

void runtime_unref(runtime *rt) {
  if (!rt || atomic_fetch_sub(&rt->refs, 1) != 1)
    return;
  verify_key_free(rt->signing_key);
  secret_free(rt->signing_secret, rt->signing_secret_len);
  secret_free(rt->token, rt->token_len);
  secret_free(rt->app_token, rt->app_token_len);
  strv_free(rt->policy.hosts, rt->policy.n_hosts);
  config_free(rt->cfg);
  free(rt);
}

runtime *server_runtime(server *s) {
  pthread_mutex_lock(&s->mu);
  runtime *rt = runtime_ref(s->rt);
  pthread_mutex_unlock(&s->mu);
  return rt;
}

route_table *server_routes(server *s) {
  pthread_mutex_lock(&s->mu);
  route_table *t = route_table_ref(s->routes);
  pthread_mutex_unlock(&s->mu);
  return t;
}

void server_set_routes(server *s, route_table *t) {
  pthread_mutex_lock(&s->mu);
  route_table *old = s->routes;
  s->routes = t;
  pthread_mutex_unlock(&s->mu);
  route_table_unref(old);
}

void server_set_runtime(server *s, runtime *rt) {
  pthread_mutex_lock(&s->mu);
  runtime *old = s->rt;
  s->rt = rt;
  pthread_mutex_unlock(&s->mu);
  runtime_unref(old);
}

void server_new_id(server *s, char out[32]) {
  unsigned long long n = atomic_fetch_add(&s->seq, 1) + 1;
  snprintf(out, 32, "%s-%llu", s->boot_id, n);
}
