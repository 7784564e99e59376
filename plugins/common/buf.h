/* The one growable buffer of the shipped plugins: text built piece by piece
 * (a listing, a table) and arrays that grow by doubling (rows, names).
 * Header-only like awsjson.h: plugins link nothing of the host.
 *
 *   pbuf b = {0};
 *   pbuf_addf(&b, "%s\n", name);
 *   if (b.failed) ... out of memory: b.p holds what fitted, or NULL
 *   free(b.p);
 */
#ifndef SLASHD_PLUGINS_BUF_H
#define SLASHD_PLUGINS_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pbuf {
  char *p;     /* NUL-terminated once anything was added; owned, free() it */
  size_t len;  /* bytes before the NUL */
  size_t cap;  /* bytes allocated */
  bool failed; /* an add ran out of memory (sticky): the text is incomplete */
} pbuf;

/* Room for `need` elements of `size` bytes in arr (capacity *cap, doubling
 * from 64): returns the array to use from now on, or NULL when out of memory
 * (arr and *cap are then unchanged and still valid). */
static inline void *pbuf_grow(void *arr, size_t *cap, size_t need, size_t size) {
  if (need <= *cap)
    return arr;
  size_t c = *cap ? *cap : 64;
  while (c < need)
    c *= 2;
  void *p = realloc(arr, c * size);
  if (p)
    *cap = c;
  return p;
}

/* Appends s[0..n). False (and b->failed) when out of memory. */
static inline bool pbuf_add(pbuf *b, const char *s, size_t n) {
  char *p = b->failed ? NULL : pbuf_grow(b->p, &b->cap, b->len + n + 1, 1);
  if (!p) {
    b->failed = true;
    return false;
  }
  b->p = p;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
  return true;
}

static inline bool pbuf_addf(pbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends printf-formatted text, however long. */
static inline bool pbuf_addf(pbuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *p = n < 0 || b->failed ? NULL : pbuf_grow(b->p, &b->cap, b->len + (size_t)n + 1, 1);
  if (!p) {
    b->failed = true;
    return false;
  }
  b->p = p;
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return true;
}

#endif
