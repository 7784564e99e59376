/* How the Lambda worker runs one job: the same execution as the daemon's
 * (the plugin in an isolated child process of this binary in worker mode,
 * identity and access, its replies relayed to the responder, a deadline, the
 * ending classified and the user told of a failure, an audit line). A thin
 * adapter over the shared execution API. */
#ifndef SLASHD_LAMBDA_RUN_H
#define SLASHD_LAMBDA_RUN_H

#include <stdint.h>

#include "base/confirm.h"
#include "base/config.h"
#include "base/jobs.h"
#include "daemon/responder.h"

typedef struct lambda_run lambda_run;

typedef enum {
  LAMBDA_RUN_OK,         /* the command ran and succeeded */
  LAMBDA_RUN_FAILED,     /* it ran and failed, crashed or timed out: its user was told */
  LAMBDA_RUN_NOT_STARTED /* infrastructure: no child could run it (retry the record) */
} lambda_run_status;

/* cfg and resp borrowed for the container's life; confirm_key signs the
 * confirmation prompts of write commands (derived from the secret that
 * verifies requests, as the front derives it to check the clicks), or NULL
 * when none is configured (prompts are then refused). NULL with *err. */
lambda_run *lambda_run_new(const config *cfg, responder *resp,
                           const unsigned char confirm_key[CONFIRM_KEY_LEN], char **err);
void lambda_run_free(lambda_run *r);

/* Runs j (owned: freed here) to its end or to deadline_ms (wall clock, ms
 * since the epoch), whichever is first; its replies go to the responder. */
lambda_run_status lambda_run_job(lambda_run *r, job *j, int64_t deadline_ms);

/* Tells a job's user something (as the job's final, error-marked message)
 * without running it. text: plain (escaped here). */
void lambda_run_tell(lambda_run *r, job *j, const char *text);

#endif
