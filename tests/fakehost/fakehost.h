/* A fake host for plugin unit tests: the SDK's host API table
 * (sdk/slashd/plugin.h) implemented by the test, with no daemon, no worker
 * and no AWS behind it. It loads a real plugin .so (dlopen, the descriptor's
 * ABI checked as the host does), runs one command at a time, and:
 *
 *  - answers the plugin's AWS calls from a script: canned JSON (in the shape
 *    the host's XML/JSON conversion gives) or an error, per service and
 *    action, first in first out;
 *  - records every AWS call (service, action, a copy of the parameters) and
 *    every reply (final or interim, flags, text, code) for the test to read;
 *  - runs a virtual clock: sleep() and time() called by the plugin (and by
 *    the test) advance and read it, so waits take no real time and
 *    time_left_ms() counts down with them. The test binary must export
 *    symbols (CMake ENABLE_EXPORTS) so the plugin's sleep/time bind here.
 *
 * It links only jansson and libdl: a plugin's tests stand alone. Nothing is
 * thread-safe; plugins make no threads. */
#ifndef SLASHD_TESTS_FAKEHOST_H
#define SLASHD_TESTS_FAKEHOST_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "slashd/plugin.h"

typedef struct fakehost fakehost;

/* One AWS call the plugin made. params is a copy (NULL when none sent). */
typedef struct fake_aws_call {
  char *service;
  char *action;
  json_t *params;
} fake_aws_call;

/* One message the plugin sent, as it passed it (not formatted). */
typedef struct fake_reply {
  bool interim;
  unsigned flags;
  char *text; /* NULL when the plugin passed none */
  char *code;
} fake_reply;

/* The virtual clock starts here: 2026-01-05T12:00:00Z. */
#define FAKEHOST_EPOCH 1767614400L

fakehost *fakehost_new(void);
void fakehost_free(fakehost *fh);

/* A key of the plugin's ini section; set before fakehost_load. */
void fakehost_config(fakehost *fh, const char *key, const char *value);
/* Who calls: user id, slash command, region and account (NULL: ""). */
void fakehost_caller(fakehost *fh, const char *user_id, const char *region, const char *account);

/* dlopens path, checks the ABI and calls init. False with *err (static
 * text or the init status) when the plugin does not load. */
bool fakehost_load(fakehost *fh, const char *path, const char **err);

/* Scripts the answer to the next `service action` call: canned JSON (a
 * document; it must parse) ... */
void fakehost_answer(fakehost *fh, const char *service, const char *action, const char *json);
/* ... or a failure with AWS's readable error text. */
void fakehost_fail(fakehost *fh, const char *service, const char *action, slashd_status st,
                   const char *err);
/* Scripted answers the plugin never asked for (a test checks it is 0). */
size_t fakehost_unused(const fakehost *fh);

/* Milliseconds the job has from now on the virtual clock (0: no deadline,
 * time_left_ms answers a day). */
void fakehost_deadline(fakehost *fh, long ms);
/* Seconds the plugin slept on the virtual clock since the last run began. */
long fakehost_slept(const fakehost *fh);

/* Runs a command of the loaded plugin with words argv[0..argc) after the
 * command name, as the host would (argument bounds checked first: a
 * mismatch returns SLASHD_ERR_ARGS without calling the handler). Clears the
 * calls and replies of the previous run. */
slashd_status fakehost_run(fakehost *fh, const char *command, int argc, const char *const *argv);

size_t fakehost_ncalls(const fakehost *fh);
const fake_aws_call *fakehost_call(const fakehost *fh, size_t i);
/* A string parameter of call i ("" when absent). */
const char *fakehost_param(const fakehost *fh, size_t i, const char *key);

size_t fakehost_nreplies(const fakehost *fh);
const fake_reply *fakehost_reply(const fakehost *fh, size_t i);
/* The last reply's text ("" when there is none). */
const char *fakehost_final(const fakehost *fh);

/* Log lines the plugin wrote, one per line ("" when none). */
const char *fakehost_log(const fakehost *fh);

#endif
