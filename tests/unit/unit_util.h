/* Helpers shared by the unit tests: temporary ini files. Include after
 * <cmocka.h>. */
#ifndef SLASHD_UNIT_UTIL_H
#define SLASHD_UNIT_UTIL_H

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "base/util.h"

/* Writes text to a new mkstemp file; returns its path (free it). */
static inline char *unit_write_temp(const char *text) {
  char *path = xstrdup("/tmp/slashd-unit-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_true(write_all(fd, text, strlen(text)));
  close(fd);
  return path;
}

/* Loads a config from ini text through a temporary file. */
static inline config *unit_load_config(const char *text) {
  char *path = unit_write_temp(text);
  char *err = NULL;
  config *c = config_load(path, &err);
  assert_null(err);
  assert_non_null(c);
  unlink(path);
  free(path);
  return c;
}

#endif
