/* The ini loader with arbitrary files (line counting, long lines,
 * continuation lines, schema checks). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[] = "/tmp/slashd-fuzz-ini-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0)
    return 0;
  if (write(fd, data, size) != (ssize_t)size) {
    close(fd);
    unlink(path);
    return 0;
  }
  close(fd);
  char *err = NULL;
  config *c = config_load(path, &err);
  if (c) {
    FILE *devnull = fopen("/dev/null", "w");
    config_print_diags(c, devnull);
    fclose(devnull);
    for (size_t i = 0; i < c->n_diags; i++)
      if (c->diags[i].line < 0)
        abort();
    config_free(c);
  }
  free(err);
  unlink(path);
  return 0;
}
