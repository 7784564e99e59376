#include "hdrs.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "common/util.h"

void hdrs_add(aws_headers *h, const char *name, const char *value) {
  if (h->n == h->cap) {
    h->cap = h->cap ? h->cap * 2 : 8;
    h->v = xrealloc(h->v, h->cap * sizeof *h->v);
  }
  h->v[h->n].name = xstrdup(name);
  h->v[h->n].value = xstrdup(value);
  h->n++;
}

static void field_free(aws_header *f) {
  OPENSSL_cleanse(f->value, strlen(f->value));
  free(f->name);
  free(f->value);
}

void hdrs_del(aws_headers *h, const char *name) {
  size_t j = 0;
  for (size_t i = 0; i < h->n; i++) {
    if (strcasecmp(h->v[i].name, name) == 0)
      field_free(&h->v[i]);
    else
      h->v[j++] = h->v[i];
  }
  h->n = j;
}

void hdrs_set(aws_headers *h, const char *name, const char *value) {
  hdrs_del(h, name);
  hdrs_add(h, name, value);
}

const char *hdrs_get(const aws_headers *h, const char *name) {
  for (size_t i = 0; i < h->n; i++)
    if (strcasecmp(h->v[i].name, name) == 0)
      return h->v[i].value;
  return NULL;
}

void hdrs_free(aws_headers *h) {
  for (size_t i = 0; i < h->n; i++)
    field_free(&h->v[i]);
  free(h->v);
  h->v = NULL;
  h->n = h->cap = 0;
}
