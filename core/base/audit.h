/* The audit trail: one line per job — time, request id, team, user, channel,
 * command text, plugin/command, the identity it ran as (host, or role ARN
 * and STS session name), outcome, duration. To [audit] file as JSON lines
 * (appended, fsync'd per line) or, without a file, to the log. Never a
 * secret: the response_url and tokens are not part of it. */
#ifndef SLASHD_AUDIT_H
#define SLASHD_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/confirm.h"
#include "base/jobs.h"
#include "base/metrics.h"

typedef struct audit audit;

/* path NULL: audit lines go to the log. NULL with *err if the file cannot
 * be opened. */
audit *audit_open(const char *path, char **err);
void audit_close(audit *a);
/* Opens the file again by its name (after a rename-style log rotation):
 * lines written before go to the old file, lines after to the new one, and
 * a line is never split, lost or written twice (one lock covers the write
 * and the swap). When the file cannot be opened the old one stays in use.
 * Returns false with *err then. */
bool audit_reopen(audit *a, char **err);

/* One line for a finished job. `a` NULL: to the log. */
void audit_job(audit *a, const job *j, job_outcome o, uint64_t duration_us);

/* One line per confirmation step (see base/confirm.h). `a` NULL: to the
 * log. */
void audit_confirm(audit *a, const audit_confirm_line *l);

#endif
