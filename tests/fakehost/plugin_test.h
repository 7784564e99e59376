/* What every plugin test through the fake host starts with: load the
 * plugin under test (SLASHD_PLUGIN_SO, set by CMake) with a config given as
 * {key, value, …, NULL}, failing the test with the host's log when it does
 * not load; and run a command with at most one argument. Include after
 * <cmocka.h>. */
#ifndef SLASHD_FAKEHOST_PLUGIN_TEST_H
#define SLASHD_FAKEHOST_PLUGIN_TEST_H

#include "fakehost.h"

static inline fakehost *load(const char *const *config) {
  fakehost *fh = fakehost_new();
  for (; config && config[0]; config += 2)
    fakehost_config(fh, config[0], config[1]);
  const char *err = NULL;
  if (!fakehost_load(fh, SLASHD_PLUGIN_SO, &err))
    fail_msg("%s did not load: %s\n%s", SLASHD_PLUGIN_SO, err, fakehost_log(fh));
  return fh;
}

static inline slashd_status run1(fakehost *fh, const char *cmd, const char *arg) {
  const char *argv[] = {arg, NULL};
  return fakehost_run(fh, cmd, arg ? 1 : 0, argv);
}

#endif
