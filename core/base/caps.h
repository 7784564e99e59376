/* Running caps: how many accepted, unfinished commands (queued or running)
 * one user and one plugin may have at once, so a few users with commands
 * that hang cannot take every worker and leave `help` waiting for the job
 * timeout. A refused command is never queued: the ack says why.
 *
 * The defaults leave a worker for everyone else: each cap is workers - 1
 * (at least 1); 0 configured means no limit. Counted from admission (caps_begin, with the job's id)
 * to the job's end (caps_end). Bounded by the jobs in flight (queue + workers). */
#ifndef SLASHD_CAPS_H
#define SLASHD_CAPS_H

#include <pthread.h>
#include <stddef.h>

typedef struct caps_entry caps_entry;

typedef struct caps {
  pthread_mutex_t mu; /* guards everything below */
  caps_entry *e;
  size_t n, cap;
} caps;

typedef enum { CAPS_OK, CAPS_USER, CAPS_PLUGIN } caps_result;

void caps_init(caps *c);
void caps_destroy(caps *c);
/* Counts job `id` for (user, plugin) unless one of them is at its limit
 * (0: no limit). *n_user / *n_plugin get the counts before this job. */
caps_result caps_begin(caps *c, const char *id, const char *user, const char *plugin, int max_user,
                       int max_plugin, size_t *n_user, size_t *n_plugin);
/* The job ended (or was never queued). Unknown ids are ignored. */
void caps_end(caps *c, const char *id);
/* A cap as configured (0: no limit), or, when the key is absent (-1), the
 * default for `workers`: workers - 1, at least 1. */
int caps_effective(int configured, int workers);

#endif
