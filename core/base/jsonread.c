#include "base/jsonread.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

typedef struct reader {
  const unsigned char *p, *end, *start;
  json_error_t *err;
  int depth;
  sbuf tmp; /* a string with escapes, decoded */
} reader;

static json_t *refuse(reader *r, const char *why) {
  if (!r->err->text[0]) {
    snprintf(r->err->text, sizeof r->err->text, "%s", why);
    r->err->position = (int)(r->p - r->start);
  }
  return NULL;
}

static void skip_ws(reader *r) {
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
    r->p++;
}

static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c |= 0x20;
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Four hex digits after "\u" at r->p; -1 when they are not. */
static long hex4(reader *r) {
  if (r->end - r->p < 4)
    return -1;
  long v = 0;
  for (int i = 0; i < 4; i++) {
    int h = hexval(r->p[i]);
    if (h < 0)
      return -1;
    v = v * 16 + h;
  }
  r->p += 4;
  return v;
}

static void add_utf8(sbuf *b, unsigned long cp) {
  char u[4];
  size_t n;
  if (cp < 0x80) {
    u[0] = (char)cp;
    n = 1;
  } else if (cp < 0x800) {
    u[0] = (char)(0xc0 | cp >> 6);
    u[1] = (char)(0x80 | (cp & 0x3f));
    n = 2;
  } else if (cp < 0x10000) {
    u[0] = (char)(0xe0 | cp >> 12);
    u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    u[2] = (char)(0x80 | (cp & 0x3f));
    n = 3;
  } else {
    u[0] = (char)(0xf0 | cp >> 18);
    u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    u[3] = (char)(0x80 | (cp & 0x3f));
    n = 4;
  }
  sbuf_add(b, u, n);
}

/* "\u…" (r->p after the "u"), a surrogate pair as one code point; false on
 * \u0000, a lone surrogate or bad digits (as jansson refuses them). */
static bool unicode_escape(reader *r) {
  long cp = hex4(r);
  if (cp < 0)
    return false;
  if (cp >= 0xd800 && cp <= 0xdbff) {
    if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u')
      return false;
    r->p += 2;
    long lo = hex4(r);
    if (lo < 0xdc00 || lo > 0xdfff)
      return false;
    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
  } else if ((cp >= 0xdc00 && cp <= 0xdfff) || cp == 0) {
    return false;
  }
  add_utf8(&r->tmp, (unsigned long)cp);
  return true;
}

/* One escape (r->p after the backslash) into r->tmp. */
static bool escape(reader *r) {
  static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
  if (r->p >= r->end)
    return false;
  unsigned char c = *r->p++;
  if (c == 'u')
    return unicode_escape(r);
  const char *k = c ? strchr(from, c) : NULL;
  if (!k)
    return false;
  sbuf_addc(&r->tmp, to[k - from]);
  return true;
}

/* A string (r->p after its opening quote): *s and *n point into the input
 * when it has no escapes, else into r->tmp. */
static bool string(reader *r, const char **s, size_t *n) {
  const unsigned char *run = r->p;
  bool escaped = false;
  sbuf_reset(&r->tmp);
  for (;;) {
    while (r->p < r->end && *r->p >= 0x20 && *r->p != '"' && *r->p != '\\')
      r->p++;
    const char *why = !utf8_valid((const char *)run, (size_t)(r->p - run))
                          ? "invalid UTF-8 in a string"
                      : r->p >= r->end ? "unterminated string"
                      : *r->p < 0x20   ? "control character in a string"
                                       : NULL;
    if (!why && *r->p == '"')
      break;
    if (!why) {
      sbuf_add(&r->tmp, run, (size_t)(r->p - run));
      escaped = true;
      r->p++;
      why = escape(r) ? NULL : "invalid escape in a string";
    }
    if (why) {
      refuse(r, why);
      return false;
    }
    run = r->p;
  }
  if (escaped) {
    sbuf_add(&r->tmp, run, (size_t)(r->p - run));
    *s = r->tmp.p;
    *n = r->tmp.len;
  } else {
    *s = (const char *)run;
    *n = (size_t)(r->p - run);
  }
  r->p++; /* the closing quote */
  return true;
}

static bool digits(reader *r) {
  const unsigned char *from = r->p;
  while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
    r->p++;
  return r->p > from;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? as an integer, or a real
 * when it has a fraction or an exponent. */
static json_t *number(reader *r) {
  const unsigned char *from = r->p;
  bool real = false;
  if (*r->p == '-')
    r->p++;
  if (r->p < r->end && *r->p == '0')
    r->p++;
  else if (!digits(r))
    return refuse(r, "invalid number");
  if (r->p < r->end && *r->p == '.') {
    r->p++;
    if (!digits(r))
      return refuse(r, "invalid number");
    real = true;
  }
  if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
    r->p++;
    if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
      r->p++;
    if (!digits(r))
      return refuse(r, "invalid number");
    real = true;
  }
  char buf[64];
  size_t len = (size_t)(r->p - from);
  if (len >= sizeof buf && !real)
    return refuse(r, "too big integer");
  char *text = len < sizeof buf ? buf : xstrndup((const char *)from, len);
  if (text == buf) {
    memcpy(buf, from, len);
    buf[len] = '\0';
  }
  errno = 0;
  json_t *v = NULL;
  char *stop = NULL;
  if (real) {
    /* The whole text, or nothing (a locale whose decimal point is not '.'
     * would stop strtod early: refused, never misread). */
    double d = strtod(text, &stop);
    bool over = errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL);
    v = over || *stop ? NULL : json_real(d);
  } else {
    long long i = strtoll(text, &stop, 10);
    v = errno == ERANGE || *stop ? NULL : json_integer((json_int_t)i);
  }
  if (text != buf)
    free(text);
  return v ? v : refuse(r, real ? "real number overflow" : "too big integer");
}

static json_t *value(reader *r);

/* The separator after a member or an element: ',' (more) or `close`. */
static int next_or_close(reader *r, unsigned char close) {
  skip_ws(r);
  if (r->p < r->end && *r->p == ',') {
    r->p++;
    return 1;
  }
  if (r->p < r->end && *r->p == close) {
    r->p++;
    return 0;
  }
  return -1;
}

static json_t *object(reader *r) {
  json_t *o = json_object();
  skip_ws(r);
  if (r->p < r->end && *r->p == '}') {
    r->p++;
    return o;
  }
  for (;;) {
    skip_ws(r);
    const char *k;
    size_t kn;
    if (r->p >= r->end || *r->p != '"' || (r->p++, !string(r, &k, &kn)))
      goto bad;
    /* A decoded key lives in r->tmp, which the value reuses. */
    char *copy = k == r->tmp.p ? xstrndup(k, kn) : NULL;
    skip_ws(r);
    json_t *v = r->p < r->end && *r->p == ':' ? (r->p++, value(r)) : NULL;
    if (v)
      json_object_setn_new_nocheck(o, copy ? copy : k, kn, v);
    free(copy);
    int more = v ? next_or_close(r, '}') : -1;
    if (more == 0)
      return o;
    if (more < 0)
      goto bad;
  }
bad:
  json_decref(o);
  return refuse(r, "invalid object");
}

static json_t *array(reader *r) {
  json_t *a = json_array();
  skip_ws(r);
  if (r->p < r->end && *r->p == ']') {
    r->p++;
    return a;
  }
  for (;;) {
    json_t *v = value(r);
    if (!v)
      break;
    json_array_append_new(a, v);
    int more = next_or_close(r, ']');
    if (more == 0)
      return a;
    if (more < 0)
      break;
  }
  json_decref(a);
  return refuse(r, "invalid array");
}

static json_t *literal(reader *r, const char *word, json_t *v) {
  size_t n = strlen(word);
  if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
    return refuse(r, "invalid token");
  r->p += n;
  return v;
}

static json_t *nested(reader *r, json_t *(*parse)(reader *)) {
  if (++r->depth > JSON_PARSER_MAX_DEPTH)
    return refuse(r, "maximum parsing depth reached");
  r->p++;
  json_t *v = parse(r);
  r->depth--;
  return v;
}

static json_t *value(reader *r) {
  skip_ws(r);
  if (r->p >= r->end)
    return refuse(r, "unexpected end of input");
  switch (*r->p) {
  case '{':
    return nested(r, object);
  case '[':
    return nested(r, array);
  case '"': {
    const char *s;
    size_t n;
    r->p++;
    return string(r, &s, &n) ? json_stringn_nocheck(s, n) : NULL;
  }
  case 't':
    return literal(r, "true", json_true());
  case 'f':
    return literal(r, "false", json_false());
  case 'n':
    return literal(r, "null", json_null());
  default:
    if (*r->p == '-' || (*r->p >= '0' && *r->p <= '9'))
      return number(r);
    return refuse(r, "invalid token");
  }
}

json_t *jsonread(const char *s, size_t n, json_error_t *err) {
  json_error_t scratch;
  reader r = {.p = (const unsigned char *)s,
              .end = (const unsigned char *)s + n,
              .start = (const unsigned char *)s,
              .err = err ? err : &scratch};
  memset(r.err, 0, sizeof *r.err);
  skip_ws(&r);
  json_t *v = NULL;
  if (r.p < r.end && (*r.p == '{' || *r.p == '['))
    v = value(&r);
  else
    refuse(&r, "'[' or '{' expected");
  if (v) {
    skip_ws(&r);
    if (r.p != r.end) {
      json_decref(v);
      v = refuse(&r, "end of file expected");
    }
  }
  sbuf_free(&r.tmp);
  return v;
}
