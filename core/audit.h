/* The audit trail: one line per job, to [audit] file (appended, fsync'd per
 * line) or to the log. Never a secret. */
#ifndef SLASHD_AUDIT_H
#define SLASHD_AUDIT_H

#include <stdint.h>

#include "metrics.h"
#include "server.h"

void audit_job(server *s, const job *j, job_outcome o, uint64_t duration_us);

#endif
