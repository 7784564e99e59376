/* What happens to one job between the queue and its last reply: the job
 * message to the worker, replies forwarded to the responder, and the user
 * told when the job crashes, times out or is cut short by a shutdown.
 *
 * Exactly one message of every job is marked final (X-Slashd-Reply: final),
 * and it is the last: the latest plain reply is held back until the next
 * reply or the end of the job shows whether it was the last one. */
#ifndef SLASHD_DISPATCH_H
#define SLASHD_DISPATCH_H

#include <stdbool.h>

#include <jansson.h>

#include "base/metrics.h"
#include "base/wire.h"
#include "daemon/server.h"
#include "worker/exec.h"

typedef struct dispatch_job {
  char *held_text; /* formatted reply not yet posted, or NULL */
  unsigned held_flags;
  json_t *held_blocks; /* its Block Kit blocks (owned), or NULL */
  char *prompt_body;   /* a prepare job's confirmation prompt (JSON), posted last; or NULL */
  bool error_seen;
  bool started; /* the worker acknowledged the job: its handler may have run */
} dispatch_job;

/* Hands the job to a worker child; *kill_at_ms gets the monotonic time
 * past which the child is to be killed ([server] job_timeout). */
bool dispatch_job_start(server *s, dispatch_job *dj, job *j, exec_child *c, uint64_t *kill_at_ms);
void dispatch_job_reply(server *s, dispatch_job *dj, job *j, const wire_msg *msg);
/* A prepare job's describe step is done: the main process (which alone
 * holds the token key) signs the token and builds the prompt, posted as the
 * job's final message. */
void dispatch_job_prompt(server *s, dispatch_job *dj, job *j, const wire_msg *msg);
/* The worker finished the job. Frees j. */
void dispatch_job_done(server *s, dispatch_job *dj, job *j, const wire_msg *msg);
/* The worker died with the job (crash, timeout kill, shutdown). Frees j. */
void dispatch_job_lost(server *s, dispatch_job *dj, job *j, job_outcome o, const char *how);
/* The job never started (shutdown deadline). Frees j. */
void dispatch_job_dropped(server *s, job *j);
/* Drops what a job's dispatch held (it goes to another worker). */
void dispatch_job_forget(dispatch_job *dj);
/* Its worker was lost before it acknowledged the job, a second time: the
 * user is told it did not run; audited as not_started. */
void dispatch_job_not_started(server *s, dispatch_job *dj, job *j, const char *how);

/* Posts one message for a job, counting it against Slack's 5. */
void dispatch_post(server *s, job *j, unsigned flags, const char *text, bool final);
/* The same with Block Kit blocks (borrowed; NULL: none, and an error gets
 * a context line with the request id). */
void dispatch_post_blocks(server *s, job *j, unsigned flags, const char *text, const json_t *blocks,
                          bool final);
/* The same with a whole JSON message body. */
void dispatch_post_json(server *s, job *j, const char *body, bool final, bool error);

#endif
