/* The journal: every accepted job is appended before it is acknowledged and
 * marked done once its final reply has been delivered (or definitively given
 * up). After a crash or kill -9 of the host, the next start finds the jobs
 * that never finished and tells their users — while Slack's response_url is
 * still valid — that the command was interrupted. Nothing is ever re-run.
 *
 * Format: one JSON object per line, {"t":"accept","v":1,"job":{…}} or
 * {"t":"done","id":…} (base/wire.h; older flat accept records still read).
 * The file is compacted (rewritten with only the open jobs) when it grows.
 * Durability: each record is one write(2) before the ack, which survives the
 * process being killed; fdatasync runs every second in the background, or
 * before every ack with journal_fsync = always. */
#ifndef SLASHD_JOURNAL_H
#define SLASHD_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/jobs.h"

typedef struct journal journal;

typedef struct journal_entry {
  const char *id;
  int64_t accepted; /* wall seconds */
  const char *user_id;
  const char *command; /* "/aws" */
  const char *text;
  const char *response_url;
  bool write; /* a write command */
} journal_entry;

/* Opens (creating) the journal at `path`. `always_sync`: fdatasync before
 * each ack. NULL with *err on failure. */
journal *journal_open(const char *path, bool always_sync, char **err);
/* Calls fn for each job of an earlier run that never finished. The caller
 * tells the user and calls journal_finish(id) once that message is out. */
size_t journal_recover(journal *jn, void (*fn)(void *ud, const journal_entry *e), void *ud);
/* Records an accepted job. False when it could not be written (the caller
 * must not acknowledge the job as accepted). A NULL journal accepts all. */
bool journal_accept(journal *jn, const job *j);
void journal_finish(journal *jn, const char *job_id);
/* Jobs recorded and not yet finished. */
size_t journal_open_count(journal *jn);
void journal_close(journal *jn);

#endif
