/* Small helpers with no host state, shared by the host and the AWS client:
 * growable buffers, strings, hex, UTF-8, clocks, whole-file reads. */
#ifndef SLASHD_COMMON_UTIL_H
#define SLASHD_COMMON_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Allocation that cannot fail: on exhaustion the process logs and aborts
 * (the supervisor or systemd restarts it; the journal keeps accepted jobs). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A growable byte buffer, always NUL-terminated. */
typedef struct sbuf {
  char *p;
  size_t len;
  size_t cap;
} sbuf;

void sbuf_add(sbuf *b, const void *data, size_t n);
void sbuf_adds(sbuf *b, const char *s);
void sbuf_addc(sbuf *b, char c);
void sbuf_addf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_vaddf(sbuf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void sbuf_reset(sbuf *b);
/* Returns the content (never NULL) and leaves the buffer empty. */
char *sbuf_steal(sbuf *b);
void sbuf_free(sbuf *b);

/* Strings. */
bool str_eq(const char *a, const char *b);
bool str_ieq(const char *a, const char *b);
bool str_starts(const char *s, const char *prefix);
/* Trims ASCII white space at both ends, in place; returns s. */
char *str_trim(char *s);
/* Splits a list separated by commas and/or white space. Returns the number
 * of items; *out is an array of new strings (free with strv_free). */
size_t str_split_list(const char *s, char ***out);
void strv_free(char **v, size_t n);
/* Parses a whole decimal integer within [min, max]. */
bool parse_int(const char *s, long min, long max, long *out);

/* Constant-time comparison of two byte strings (lengths compared too). */
bool ct_equal(const void *a, size_t alen, const void *b, size_t blen);

/* The value of one hex digit (either case), or -1. */
int hex_value(int c);

/* Lower-case hex of n bytes into out (2n+1 bytes). */

void hex_encode(const unsigned char *in, size_t n, char *out);

/* UTF-8: true when s[0..n) is valid UTF-8 with no NUL and no C0 control
 * characters other than tab, LF and CR. */
bool utf8_is_clean(const char *s, size_t n);
/* Copies s, replacing invalid UTF-8 sequences with U+FFFD and NUL bytes with
 * nothing, so that any byte string becomes valid JSON text. */
char *utf8_sanitize(const char *s, size_t n);
/* Appends s[0..n) as a quoted JSON string, sanitized as utf8_sanitize does:
 * the hot paths (acks, journal records, replies) write their few fields
 * this way instead of building and dumping a jansson object. */
void sbuf_add_json_string(sbuf *b, const char *s, size_t n);
/* `,"key":` and then value as sbuf_add_json_string writes it (NULL: null);
 * key is a plain literal, not escaped. The field writer of the direct JSON
 * encoders: no printf per field. */
void sbuf_add_json_member(sbuf *b, const char *key, const char *value);
/* v in decimal. */
void sbuf_add_int(sbuf *b, long long v);
/* True when s[0..n) is valid UTF-8 without NUL bytes (control characters
 * allowed): what a JSON string can carry once escaped. */
bool utf8_valid(const char *s, size_t n);

/* Clocks. */
uint64_t mono_ms(void);
uint64_t mono_us(void);
int64_t wall_s(void);
/* Wall clock in ms since the epoch (travels between machines; mono_* do not). */
int64_t wall_ms(void);

/* Writes all of buf to fd, retrying on EINTR and short writes. */
bool write_all(int fd, const void *buf, size_t n);
/* Reads a whole small file (at most max bytes). NULL on error, errno set. */
char *read_file(const char *path, size_t max, size_t *len);

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
