#include "base/form.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"

/* Decodes s[0..n): '+' is a space, %XX a byte. Runs of plain bytes are
 * copied at once. */
static bool decode(const char *s, size_t n, sbuf *out) {
  sbuf_reset(out);
  sbuf_add(out, "", 0);
  for (size_t i = 0; i < n; i++) {
    size_t run = 0;
    while (i + run < n && s[i + run] != '+' && s[i + run] != '%')
      run++;
    if (run) {
      sbuf_add(out, s + i, run);
      i += run - 1;
    } else if (s[i] == '+') {
      sbuf_addc(out, ' ');
    } else if (s[i] == '%') {
      if (i + 2 >= n)
        return false;
      int hi = hex_value((unsigned char)s[i + 1]);
      int lo = hex_value((unsigned char)s[i + 2]);
      if (hi < 0 || lo < 0)
        return false;
      sbuf_addc(out, (char)(hi * 16 + lo));
      i += 2;
    } else {
      sbuf_addc(out, s[i]);
    }
  }
  return true;
}

static bool name_ok(const char *s, size_t n) {
  if (n == 0 || n > 64)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!isgraph((unsigned char)s[i]))
      return false;
  return true;
}

form_err form_parse(const char *body, size_t len, form *out, char **bad) {
  *out = (form){0};
  if (bad)
    *bad = NULL;
  sbuf name = {0}, value = {0};
  form_err rc = FORM_OK;
  size_t i = 0, cap = 0;
  while (i < len) {
    size_t end = i;
    while (end < len && body[end] != '&')
      end++;
    if (end > i) {
      const char *eq = memchr(body + i, '=', end - i);
      size_t nlen = eq ? (size_t)(eq - (body + i)) : end - i;
      const char *v = eq ? eq + 1 : body + end;
      size_t vlen = eq ? (size_t)(body + end - v) : 0;
      if (!decode(body + i, nlen, &name) || !decode(v, vlen, &value)) {
        rc = FORM_BAD_ENCODING;
        goto out;
      }
      if (!name_ok(name.p, name.len)) {
        rc = FORM_BAD_NAME;
        goto out;
      }
      if (form_field_get(out, name.p)) {
        if (bad)
          *bad = xstrdup(name.p);
        rc = FORM_DUPLICATE;
        goto out;
      }
      if (out->n == FORM_MAX_FIELDS) {
        rc = FORM_TOO_MANY;
        goto out;
      }
      if (out->n == cap) {
        cap = cap ? cap * 2 : 16;
        out->f = xrealloc(out->f, cap * sizeof *out->f);
      }
      /* Name and value share one allocation (form_free frees the name). */
      char *mem = xmalloc(name.len + 1 + value.len + 1);
      memcpy(mem, name.p, name.len + 1);
      memcpy(mem + name.len + 1, value.p, value.len + 1);
      out->f[out->n++] =
          (form_field){.name = mem, .value = mem + name.len + 1, .value_len = value.len};
    }
    i = end + 1;
  }
out:
  sbuf_free(&name);
  sbuf_free(&value);
  if (rc != FORM_OK)
    form_free(out);
  return rc;
}

const form_field *form_field_get(const form *f, const char *name) {
  for (size_t i = 0; i < f->n; i++)
    if (strcmp(f->f[i].name, name) == 0)
      return &f->f[i];
  return NULL;
}

const char *form_get(const form *f, const char *name) {
  const form_field *ff = form_field_get(f, name);
  return ff ? ff->value : NULL;
}

void form_free(form *f) {
  for (size_t i = 0; i < f->n; i++)
    free(f->f[i].name); /* the value lives in the same block */
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
