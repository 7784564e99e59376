/* The shared folder the vector tests read at run time (../shared beside the
 * project: official test vectors and AWS reference bodies, never copied
 * into the repository).
 *
 * Its path is configured at build time (CMake -DSLASHD_SHARED_DIR=PATH);
 * SLASHD_SHARED_DIR in the environment overrides it, so a test can point a
 * binary at a folder that does not exist and check the message below. */
#ifndef SLASHD_TESTS_SHARED_DIR_H
#define SLASHD_TESTS_SHARED_DIR_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static inline const char *shared_dir(void) {
  const char *e = getenv("SLASHD_SHARED_DIR");
  return e && *e ? e : SLASHD_SHARED_DIR;
}

/* "<shared>/<sub>", a new string (the caller frees it). */
static inline char *shared_path(const char *sub) {
  const char *d = shared_dir();
  size_t n = snprintf(NULL, 0, "%s/%s", d, sub) + 1;
  char *p = malloc(n);
  if (!p)
    abort();
  snprintf(p, n, "%s/%s", d, sub);
  return p;
}

/* Called first in main(): when <shared>/<sub> is not a directory, prints
 * one message naming it and exits with status 1, before any test reads a
 * file there (so nothing fails later on a NULL). */
static inline void shared_require(const char *prog, const char *sub) {
  char *p = shared_path(sub);
  struct stat st;
  if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
    fprintf(stderr,
            "%s: the shared folder %s is missing. These tests read the official vectors and AWS "
            "reference bodies from ../shared beside the project (configure with "
            "-DSLASHD_SHARED_DIR=PATH or set SLASHD_SHARED_DIR); they are never copied into the "
            "repository.\n",
            prog, p);
    free(p);
    exit(1);
  }
  free(p);
}

#endif
