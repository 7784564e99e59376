/* application/x-www-form-urlencoded bodies, strictly decoded. */
#ifndef SLASHD_FORM_H
#define SLASHD_FORM_H

#include <stdbool.h>
#include <stddef.h>

typedef struct form_field {
  char *name;      /* decoded, NUL-terminated */
  char *value;     /* decoded; NUL-terminated but may contain NUL bytes */
  size_t name_len; /* strlen(name) */
  size_t value_len;
} form_field;

/* Every name and value lives in one block (`mem`): a body decodes to at most
 * its own length plus a terminator per name and per value. */
typedef struct form {
  form_field *f;
  size_t n;
  char *mem;
} form;

typedef enum {
  FORM_OK = 0,
  FORM_BAD_ENCODING, /* '%' not followed by two hex digits */
  FORM_DUPLICATE,    /* a field name appears twice */
  FORM_TOO_MANY,     /* more than FORM_MAX_FIELDS fields */
  FORM_BAD_NAME      /* empty or non-printable field name */
} form_err;

#define FORM_MAX_FIELDS 64

/* Parses body[0..len). On error *out is empty and, for FORM_DUPLICATE, *bad
 * (if not NULL) names the field (new string). */
form_err form_parse(const char *body, size_t len, form *out, char **bad);
/* The decoded value of `name`, or NULL when absent. */
const char *form_get(const form *f, const char *name);
const form_field *form_field_get(const form *f, const char *name);
void form_free(form *f);
const char *form_strerror(form_err e);

/* Whether a Content-Type is a form (charset and other parameters allowed).
 * Every door that takes a form body checks it the same way (415 otherwise). */
bool form_content_type_ok(const char *content_type);

/* Percent-encodes s for a form body or a URL query (space as %20). */
char *form_encode(const char *s);

#endif
