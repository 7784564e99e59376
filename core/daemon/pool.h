/* Worker processes and the dispatcher thread that feeds them.
 *
 * Workers are forked by a spawner (worker/spawner.h), one per configuration
 * generation, which the dispatcher thread starts with posix_spawn
 * (fork+exec of /proc/self/exe in spawner mode, handed one end of a socket
 * pair): safe in a process that already runs threads, as nothing of this
 * process's locks is copied into a child that keeps running our code. The
 * spawner is single-threaded, so its forks are safe too, and the workers
 * share the pages it loaded. */
#ifndef SLASHD_POOL_H
#define SLASHD_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon/server.h"

/* Workers read their configuration from `config_fd` (a config_snapshot;
 * the pool keeps its own duplicate) and name it `config_name` in messages. */
pool *pool_start(server *s, const char *config_name, int config_fd, int workers);
/* Waits until a worker has announced its plugins (the routing table exists).
 * False (with *err) when none came up in time. */
bool pool_wait_ready(pool *p, int timeout_ms, char **err);
/* A job was queued. */
void pool_wake(pool *p);
/* New workers use this config snapshot from now on (the pool keeps its own
 * duplicate); idle ones are replaced now, busy ones when their job ends. */
void pool_reload(pool *p, int config_fd);
/* Runs what is queued until `deadline_ms` (monotonic), then interrupts what
 * is left and tells those users; returns when every job is accounted for and
 * the workers have left. */
void pool_drain(pool *p, uint64_t deadline_ms);
/* Frees the pool (after pool_drain, which also stops the workers). */
void pool_stop(pool *p);

void pool_gauges(pool *p, metrics_gauges *g);

#endif
