/* The journal: accepted jobs are recorded before they are acknowledged, and
 * marked finished when their last reply is out, so a crash of the whole host
 * never drops an acknowledged command silently. (Stub until the hardening
 * issue: a NULL journal accepts everything.) */
#ifndef SLASHD_JOURNAL_H
#define SLASHD_JOURNAL_H

#include <stdbool.h>

#include "jobs.h"

typedef struct journal journal;

bool journal_accept(journal *jn, const job *j);
void journal_finish(journal *jn, const char *job_id);

#endif
