/* A job as admission would queue it, for the unit tests that build one
 * (test_wire, test_exec): caller T1/U1 "alice" in C1 "ops", command /aws.
 * The tests set whatever else they look at. */
#ifndef SLASHD_TEST_JOB_FIXTURE_H
#define SLASHD_TEST_JOB_FIXTURE_H

#include <string.h>

#include "base/jobs.h"
#include "base/util.h"

static inline job *fixture_job(const char *id, const char *text, const char *response_url,
                               const char *plugin, const char *cmd, int argc,
                               const char *const *argv) {
  job *j = xcalloc(1, sizeof *j);
  size_t n = strnlen(id, sizeof j->id - 1); /* ids are short here; cut like the real ones */
  memcpy(j->id, id, n);
  j->team_id = xstrdup("T1");
  j->user_id = xstrdup("U1");
  j->user_name = xstrdup("alice");
  j->channel_id = xstrdup("C1");
  j->channel_name = xstrdup("ops");
  j->command = xstrdup("/aws");
  j->text = xstrdup(text);
  j->response_url = xstrdup(response_url);
  j->plugin = xstrdup(plugin);
  j->cmd = xstrdup(cmd);
  j->argc = argc;
  j->argv = xcalloc((size_t)argc + 1, sizeof *j->argv);
  for (int i = 0; i < argc; i++)
    j->argv[i] = xstrdup(argv[i]);
  return j;
}

#endif
