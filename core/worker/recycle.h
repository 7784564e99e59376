/* When a worker should be replaced after a job, and the memory limit it
 * runs under (issue 11: threads left behind, memory).
 *
 * - A plugin that leaves a thread running (the guide forbids it) could
 *   crash a later job of another user: after each job the worker counts its
 *   threads, and if there are more than it had once its plugins were
 *   loaded, it finishes the reply, logs which plugin left them and exits at
 *   once (`plugin_threads_left`).
 * - `[server] worker_memory_mb` is the worker's RLIMIT_DATA (heap and
 *   private mappings): an allocation past it fails. A job that ends near the
 *   limit, or with SLASHD_ERR_NOMEM, is reported as "ran out of memory
 *   (limit N MB)" and the worker is replaced. (Not applied under the
 *   sanitizers, whose shadow memory it would count.)
 * - A worker whose resident size after a job is over `worker_recycle_mb`,
 *   or that has run `worker_max_jobs` jobs, is replaced after that job. */
#ifndef SLASHD_RECYCLE_H
#define SLASHD_RECYCLE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/config.h"

typedef struct recycle {
  int base_threads; /* after the plugins were loaded */
  long jobs;
  bool limited;  /* the memory limit is in force */
  char why[160]; /* the last verdict's reason */
  /* /proc/self/status as recycle_out_of_memory read it after the job, for
   * recycle_check right after: one read per job, not two. */
  bool sampled;
  long sample_threads, sample_rss_kb;
} recycle;

/* Applies worker_memory_mb and takes the thread baseline (after loading). */
void recycle_start(recycle *r, const config *c);
/* Whether the job's last status was out of memory: ended with
 * SLASHD_ERR_NOMEM or within 8 MB of the limit. */
bool recycle_out_of_memory(recycle *r, const config *c, int status);

typedef enum { RECYCLE_NO, RECYCLE_AFTER, RECYCLE_NOW } recycle_verdict;

/* After a job: stay, leave after the done message (clean exit), or leave at
 * once (threads of a plugin are still running). r->why says why. */
recycle_verdict recycle_check(recycle *r, const config *c, const char *plugin, bool oom);

#endif
