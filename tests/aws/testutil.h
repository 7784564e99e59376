/* Helpers shared by the AWS client's unit tests: reading the reference
 * bodies in ../shared/reference/aws-examples at test time. */
#ifndef SLASHD_TESTS_AWS_TESTUTIL_H
#define SLASHD_TESTS_AWS_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/hdrs.h"
#include "base/util.h"
#include "shared_dir.h"

#define EXAMPLES_SUBDIR "reference/aws-examples"

/* The whole file, or a failed test. main() has checked the folder
 * (shared_require), so a file missing here is a broken checkout. */
static inline char *example(const char *name, size_t *len) {
  char *path = xasprintf("%s/" EXAMPLES_SUBDIR "/%s", shared_dir(), name);
  size_t n = 0;
  char *s = read_file(path, 16u << 20, &n);
  if (!s) {
    fprintf(stderr, "cannot read %s\n", path);
    abort();
  }
  free(path);
  if (len)
    *len = n;
  return s;
}

/* A recorded exchange (.http): '#' comment lines, an optional status line
 * "HTTP/1.1 403 Forbidden" with headers, a blank line, then the body; or
 * comments followed directly by the body. Returns the body (a new string);
 * *status is 0 when there was no status line. */
static inline char *http_example(const char *name, long *status, aws_headers *h) {
  char *text = example(name, NULL);
  const char *p = text;
  while (*p == '#') {
    const char *eol = strchr(p, '\n');
    p = eol ? eol + 1 : p + strlen(p);
  }
  *status = 0;
  if (strncmp(p, "HTTP/", 5) == 0) {
    const char *sp = strchr(p, ' ');
    *status = sp ? strtol(sp + 1, NULL, 10) : 0;
    p = strchr(p, '\n');
    p = p ? p + 1 : "";
    while (*p && *p != '\n' && *p != '\r') {
      const char *eol = strchr(p, '\n');
      size_t ll = eol ? (size_t)(eol - p) : strlen(p);
      const char *colon = memchr(p, ':', ll);
      if (colon) {
        char *name_ = xstrndup(p, (size_t)(colon - p));
        char *value = str_trim(xstrndup(colon + 1, ll - (size_t)(colon + 1 - p)));
        hdrs_add(h, name_, value);
        free(name_);
        free(value);
      }
      p = eol ? eol + 1 : p + ll;
    }
    while (*p == '\r' || *p == '\n')
      p++;
  }
  char *body = xstrdup(p);
  free(text);
  return body;
}

#endif
