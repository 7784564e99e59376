/* An ordered list of HTTP header fields, kept as given (names keep their
 * case, repeats stay separate) so that the signer sees what goes on the wire. */
#ifndef SLASHD_AWS_HDRS_H
#define SLASHD_AWS_HDRS_H

#include <stddef.h>

typedef struct aws_header {
  char *name;
  char *value;
} aws_header;

typedef struct aws_headers {
  aws_header *v;
  size_t n, cap;
} aws_headers;

/* Appends a field (copies both strings). */
void hdrs_add(aws_headers *h, const char *name, const char *value);
/* Removes every field named `name` (case-insensitive), then appends one. */
void hdrs_set(aws_headers *h, const char *name, const char *value);
/* Removes every field named `name` (case-insensitive). */
void hdrs_del(aws_headers *h, const char *name);
/* The value of the first field named `name` (case-insensitive), or NULL. */
const char *hdrs_get(const aws_headers *h, const char *name);
/* Frees every field; values are wiped first (they may hold tokens). */
void hdrs_free(aws_headers *h);

#endif
