#include "common/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

static void oom(size_t n) {
  char msg[96];
  int len = snprintf(msg, sizeof msg, "level=error event=out_of_memory bytes=%zu\n", n);
  if (len > 0)
    (void)!write(2, msg, (size_t)len);
  abort();
}

void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p)
    oom(n);
  return p;
}

void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p)
    oom(n * size);
  return p;
}

void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q)
    oom(n);
  return q;
}

char *xstrdup(const char *s) {
  return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n) {
  char *p = xmalloc(n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *xasprintf(const char *fmt, ...) {
  sbuf b = {0};
  va_list ap;
  va_start(ap, fmt);
  sbuf_vaddf(&b, fmt, ap);
  va_end(ap);
  return sbuf_steal(&b);
}

static void sbuf_grow(sbuf *b, size_t extra) {
  size_t need = b->len + extra + 1;
  if (need <= b->cap)
    return;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need)
    cap *= 2;
  b->p = xrealloc(b->p, cap);
  b->cap = cap;
}

void sbuf_add(sbuf *b, const void *data, size_t n) {
  sbuf_grow(b, n);
  if (n)
    memcpy(b->p + b->len, data, n);
  b->len += n;
  b->p[b->len] = '\0';
}

void sbuf_adds(sbuf *b, const char *s) {
  sbuf_add(b, s, strlen(s));
}

void sbuf_addc(sbuf *b, char c) {
  /* The common case in per-character loops (form decoding, escaping). */
  if (b->len + 2 <= b->cap) {
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
    return;
  }
  sbuf_add(b, &c, 1);
}

void sbuf_vaddf(sbuf *b, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  char tmp[256];
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  if (n < 0) {
    va_end(ap2);
    return;
  }
  if ((size_t)n < sizeof tmp) {
    sbuf_add(b, tmp, (size_t)n);
  } else {
    sbuf_grow(b, (size_t)n);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap2);
    b->len += (size_t)n;
  }
  va_end(ap2);
}

void sbuf_addf(sbuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  sbuf_vaddf(b, fmt, ap);
  va_end(ap);
}

void sbuf_reset(sbuf *b) {
  b->len = 0;
  if (b->p)
    b->p[0] = '\0';
}

char *sbuf_steal(sbuf *b) {
  char *p = b->p ? b->p : xstrdup("");
  b->p = NULL;
  b->len = b->cap = 0;
  return p;
}

void sbuf_free(sbuf *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

bool str_eq(const char *a, const char *b) {
  return a && b && strcmp(a, b) == 0;
}

bool str_ieq(const char *a, const char *b) {
  return a && b && strcasecmp(a, b) == 0;
}

bool str_starts(const char *s, const char *prefix) {
  return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

char *str_trim(char *s) {
  char *start = s;
  while (*start && isspace((unsigned char)*start))
    start++;
  size_t n = strlen(start);
  while (n && isspace((unsigned char)start[n - 1]))
    n--;
  memmove(s, start, n);
  s[n] = '\0';
  return s;
}

size_t str_split_list(const char *s, char ***out) {
  size_t n = 0, cap = 0;
  char **v = NULL;
  while (s && *s) {
    while (*s == ',' || isspace((unsigned char)*s))
      s++;
    const char *start = s;
    while (*s && *s != ',' && !isspace((unsigned char)*s))
      s++;
    if (s > start) {
      if (n == cap) {
        cap = cap ? cap * 2 : 4;
        v = xrealloc(v, cap * sizeof *v);
      }
      v[n++] = xstrndup(start, (size_t)(s - start));
    }
  }
  *out = v;
  return n;
}

void strv_free(char **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

bool parse_int(const char *s, long min, long max, long *out) {
  if (!s || !*s)
    return false;
  errno = 0;
  char *end;
  long v = strtol(s, &end, 10);
  if (errno || *end || v < min || v > max || isspace((unsigned char)*s))
    return false;
  *out = v;
  return true;
}

bool ct_equal(const void *a, size_t alen, const void *b, size_t blen) {
  if (alen != blen)
    return false;
  return CRYPTO_memcmp(a, b, alen) == 0;
}

int hex_value(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

void hex_encode(const unsigned char *in, size_t n, char *out) {

  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 15];
  }
  out[2 * n] = '\0';
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  if (c < 0x80)
    return 1;
  size_t len;
  unsigned min;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
    min = 0x80;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    min = 0x800;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (n < len)
    return 0;
  unsigned cp = c & (0x7f >> len);
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return len;
}

bool utf8_is_clean(const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    if (u[i] < 0x20 && u[i] != '\t' && u[i] != '\n' && u[i] != '\r')
      return false;
    if (u[i] == 0x7f)
      return false;
    size_t k = utf8_seq(u + i, n - i);
    if (!k)
      return false;
    i += k;
  }
  return true;
}

char *utf8_sanitize(const char *s, size_t n) {
  if (utf8_valid(s, n)) /* the usual case: nothing to replace or drop */
    return xstrndup(s, n);
  sbuf b = {0};
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0, run = 0; /* s[run..i) is valid and copied at once */
  sbuf_add(&b, "", 0);
  while (i < n) {
    if (u[i] > 0 && u[i] < 0x80) {
      i++;
      continue;
    }
    size_t k = u[i] ? utf8_seq(u + i, n - i) : 0;
    if (k) {
      i += k;
      continue;
    }
    sbuf_add(&b, s + run, i - run);
    if (u[i])
      sbuf_adds(&b, "\xef\xbf\xbd");
    run = ++i;
  }
  sbuf_add(&b, s + run, n - run);
  return sbuf_steal(&b);
}

/* Eight bytes at a time (SWAR): whether any of the eight bytes in x is
 * zero, below 0x20, or has its high bit set — exact, no false answers. */
#define BYTES8(c) (0x0101010101010101ull * (unsigned char)(c))
static inline uint64_t any_zero8(uint64_t x) {
  return (x - BYTES8(1)) & ~x & BYTES8(0x80);
}

static inline uint64_t load8(const unsigned char *p) {
  uint64_t x;
  memcpy(&x, p, sizeof x);
  return x;
}

/* True when the 8 bytes at p are plain ASCII that a JSON string carries as
 * they are: no control character, quote, backslash or byte >= 0x80. */
static inline bool json_plain8(const unsigned char *p) {
  uint64_t x = load8(p);
  uint64_t below_space = (x - BYTES8(0x20)) & ~x & BYTES8(0x80);
  return !((x & BYTES8(0x80)) | below_space | any_zero8(x ^ BYTES8('"')) |
           any_zero8(x ^ BYTES8('\\')));
}

void sbuf_add_json_string(sbuf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *u = (const unsigned char *)s;
  sbuf_addc(b, '"');
  size_t run = 0, i = 0;
  while (i < n) {
    if (n - i >= 8 && json_plain8(u + i)) { /* most text: a word at a time */
      i += 8;
      continue;
    }
    unsigned char c = u[i];
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      i++;
      continue;
    }
    size_t k = c >= 0x80 ? utf8_seq(u + i, n - i) : 0;
    if (k) { /* valid multi-byte UTF-8: copied as it is */
      i += k;
      continue;
    }
    sbuf_add(b, s + run, i - run);
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      sbuf_add(b, e, 2);
    } else if (c == '\n') {
      sbuf_add(b, "\\n", 2);
    } else if (c == '\r') {
      sbuf_add(b, "\\r", 2);
    } else if (c == '\t') {
      sbuf_add(b, "\\t", 2);
    } else if (c >= 0x80) {
      sbuf_add(b, "\xef\xbf\xbd", 3); /* invalid UTF-8 */
    } else if (c) {
      char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      sbuf_add(b, e, sizeof e);
    }
    run = ++i;
  }
  sbuf_add(b, s + run, n - run);
  sbuf_addc(b, '"');
}

void sbuf_add_json_member(sbuf *b, const char *key, const char *value) {
  size_t k = strlen(key);
  if (b->len + k + 4 < b->cap) { /* the usual case: no growth, no calls */
    char *d = b->p + b->len;
    d[0] = ',';
    d[1] = '"';
    memcpy(d + 2, key, k);
    d[k + 2] = '"';
    d[k + 3] = ':';
    b->len += k + 4;
    b->p[b->len] = '\0';
  } else {
    sbuf_add(b, ",\"", 2);
    sbuf_add(b, key, k);
    sbuf_add(b, "\":", 2);
  }
  if (value)
    sbuf_add_json_string(b, value, strlen(value));
  else
    sbuf_add(b, "null", 4);
}

void sbuf_add_int(sbuf *b, long long v) {
  char tmp[24];
  size_t i = sizeof tmp;
  unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
  do {
    tmp[--i] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0)
    tmp[--i] = '-';
  sbuf_add(b, tmp + i, sizeof tmp - i);
}

bool utf8_valid(const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    if (n - i >= 8) { /* ASCII without NUL: a word at a time */
      uint64_t x = load8(u + i);
      if (!((x & BYTES8(0x80)) | any_zero8(x))) {
        i += 8;
        continue;
      }
    }
    if (u[i] > 0 && u[i] < 0x80) {
      i++;
      continue;
    }
    size_t k = u[i] ? utf8_seq(u + i, n - i) : 0;
    if (!k)
      return false;
    i += k;
  }
  return true;
}

uint64_t mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t mono_ms(void) {
  return mono_us() / 1000u;
}

int64_t wall_s(void) {
  return (int64_t)time(NULL);
}

int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    p += w;
    n -= (size_t)w;
  }
  return true;
}

char *read_file(const char *path, size_t max, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  sbuf b = {0};
  char tmp[4096];
  for (;;) {
    ssize_t r = read(fd, tmp, sizeof tmp);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      int e = errno;
      close(fd);
      sbuf_free(&b);
      errno = e;
      return NULL;
    }
    if (r == 0)
      break;
    if (b.len + (size_t)r > max) {
      close(fd);
      sbuf_free(&b);
      errno = EFBIG;
      return NULL;
    }
    sbuf_add(&b, tmp, (size_t)r);
  }
  close(fd);
  if (len)
    *len = b.len;
  return sbuf_steal(&b);
}
