#include "base/form.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"

/* Decodes s[0..n) into out, which has room for n bytes and a NUL (added):
 * '+' is a space, %XX a byte; runs of plain bytes are copied at once.
 * Returns the decoded length, or -1 for a '%' without two hex digits. */
static ptrdiff_t decode(const char *s, size_t n, char *out) {
  char *o = out;
  size_t i = 0;
  while (i < n) {
    size_t run = 0;
    while (i + run < n && s[i + run] != '+' && s[i + run] != '%')
      run++;
    memcpy(o, s + i, run);
    o += run;
    i += run;
    if (i == n)
      break;
    if (s[i] == '+') {
      *o++ = ' ';
      i++;
      continue;
    }
    if (i + 2 >= n)
      return -1;
    int hi = hex_value((unsigned char)s[i + 1]);
    int lo = hex_value((unsigned char)s[i + 2]);
    if (hi < 0 || lo < 0)
      return -1;
    *o++ = (char)(hi * 16 + lo);
    i += 3;
  }
  *o = '\0';
  return o - out;
}

static bool name_ok(const char *s, size_t n) {
  if (n == 0 || n > 64)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!isgraph((unsigned char)s[i]))
      return false;
  return true;
}

static const form_field *field_get(const form *f, const char *name, size_t len) {
  for (size_t i = 0; i < f->n; i++)
    if (f->f[i].name_len == len && memcmp(f->f[i].name, name, len) == 0)
      return &f->f[i];
  return NULL;
}

/* One field, body[0..len) without its '&', decoded at *at. */
static form_err add_field(form *out, const char *field, size_t len, char **at, char **bad) {
  const char *eq = memchr(field, '=', len);
  size_t nlen = eq ? (size_t)(eq - field) : len;
  const char *v = eq ? eq + 1 : field + len;
  size_t vlen = eq ? (size_t)(field + len - v) : 0;
  char *name = *at;
  ptrdiff_t dn = decode(field, nlen, name);
  char *value = dn < 0 ? NULL : name + dn + 1;
  ptrdiff_t dv = value ? decode(v, vlen, value) : -1;
  if (dn < 0 || dv < 0)
    return FORM_BAD_ENCODING;
  if (!name_ok(name, (size_t)dn))
    return FORM_BAD_NAME;
  if (field_get(out, name, (size_t)dn)) {
    if (bad)
      *bad = xstrdup(name);
    return FORM_DUPLICATE;
  }
  if (out->n == FORM_MAX_FIELDS)
    return FORM_TOO_MANY;
  out->f[out->n++] =
      (form_field){.name = name, .value = value, .name_len = (size_t)dn, .value_len = (size_t)dv};
  *at = value + dv + 1;
  return FORM_OK;
}

form_err form_parse(const char *body, size_t len, form *out, char **bad) {
  *out = (form){0};
  if (bad)
    *bad = NULL;
  form_err rc = FORM_OK;
  /* A field decodes to at most its raw length plus two NULs, and at most
   * FORM_MAX_FIELDS + 1 fields are decoded (the one over is refused). */
  out->mem = xmalloc(len + 2 * (FORM_MAX_FIELDS + 1));
  out->f = xmalloc(FORM_MAX_FIELDS * sizeof *out->f);
  char *at = out->mem;
  size_t i = 0;
  while (i < len && rc == FORM_OK) {
    const char *amp = memchr(body + i, '&', len - i);
    size_t end = amp ? (size_t)(amp - body) : len;
    if (end > i)
      rc = add_field(out, body + i, end - i, &at, bad);
    i = end + 1;
  }
  if (rc != FORM_OK)
    form_free(out);
  return rc;
}

const form_field *form_field_get(const form *f, const char *name) {
  return field_get(f, name, strlen(name));
}

const char *form_get(const form *f, const char *name) {
  const form_field *ff = form_field_get(f, name);
  return ff ? ff->value : NULL;
}

void form_free(form *f) {
  free(f->mem);
  free(f->f);
  *f = (form){0};
}

const char *form_strerror(form_err e) {
  switch (e) {
  case FORM_OK:
    return "ok";
  case FORM_BAD_ENCODING:
    return "bad percent-encoding";
  case FORM_DUPLICATE:
    return "duplicate field";
  case FORM_TOO_MANY:
    return "too many fields";
  case FORM_BAD_NAME:
    return "bad field name";
  }
  return "?";
}

char *form_encode(const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  sbuf b = {0};
  sbuf_add(&b, "", 0);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
      sbuf_addc(&b, (char)*p);
    } else {
      char enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
      sbuf_add(&b, enc, 3);
    }
  }
  return sbuf_steal(&b);
}

bool form_content_type_ok(const char *ct) {
  if (!ct)
    return false;
  while (*ct == ' ' || *ct == '\t')
    ct++;
  static const char form_type[] = "application/x-www-form-urlencoded";
  size_t n = sizeof form_type - 1;
  if (strncasecmp(ct, form_type, n) != 0)
    return false;
  const char *rest = ct + n;
  while (*rest == ' ' || *rest == '\t')
    rest++;
  return *rest == '\0' || *rest == ';';
}
