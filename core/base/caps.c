#include "base/caps.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

struct caps_entry {
  char id[32];
  char *user;
  char *plugin;
};

void caps_init(caps *c) {
  memset(c, 0, sizeof *c);
  pthread_mutex_init(&c->mu, NULL);
}

void caps_destroy(caps *c) {
  for (size_t i = 0; i < c->n; i++) {
    free(c->e[i].user);
    free(c->e[i].plugin);
  }
  free(c->e);
  pthread_mutex_destroy(&c->mu);
}

int caps_effective(int configured, int workers) {
  if (configured >= 0)
    return configured;
  return workers > 1 ? workers - 1 : 1;
}

/* A linear count: the entries are the jobs in flight, a few hundred at most
 * (the queue bound plus the workers). */
caps_result caps_begin(caps *c, const char *id, const char *user, const char *plugin, int max_user,
                       int max_plugin, size_t *n_user, size_t *n_plugin) {
  pthread_mutex_lock(&c->mu);
  size_t nu = 0, np = 0;
  for (size_t i = 0; i < c->n; i++) {
    nu += strcmp(c->e[i].user, user) == 0;
    np += strcmp(c->e[i].plugin, plugin) == 0;
  }
  *n_user = nu;
  *n_plugin = np;
  caps_result r = CAPS_OK;
  if (max_user > 0 && nu >= (size_t)max_user)
    r = CAPS_USER;
  else if (max_plugin > 0 && np >= (size_t)max_plugin)
    r = CAPS_PLUGIN;
  if (r == CAPS_OK) {
    if (c->n == c->cap) {
      c->cap = c->cap ? c->cap * 2 : 64;
      c->e = xrealloc(c->e, c->cap * sizeof *c->e);
    }
    caps_entry *e = &c->e[c->n++];
    snprintf(e->id, sizeof e->id, "%s", id);
    e->user = xstrdup(user);
    e->plugin = xstrdup(plugin);
  }
  pthread_mutex_unlock(&c->mu);
  return r;
}

void caps_end(caps *c, const char *id) {
  if (!id)
    return;
  pthread_mutex_lock(&c->mu);
  for (size_t i = 0; i < c->n; i++) {
    if (strcmp(c->e[i].id, id) == 0) {
      free(c->e[i].user);
      free(c->e[i].plugin);
      c->e[i] = c->e[--c->n];
      break;
    }
  }
  pthread_mutex_unlock(&c->mu);
}
