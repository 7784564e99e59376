#include "codec.h"

#include <ctype.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

static bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

void aws_uri_encode(sbuf *out, const char *s, size_t n, bool keep_slash) {
  static const char hex[] = "0123456789ABCDEF";
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (unreserved(c) || (keep_slash && c == '/')) {
      sbuf_addc(out, (char)c);
    } else {
      char e[3] = {'%', hex[c >> 4], hex[c & 15]};
      sbuf_add(out, e, 3);
    }
  }
}

char *aws_uri_decode(const char *s, size_t n, size_t *len) {
  char *o = xmalloc(n + 1);
  size_t j = 0;
  for (size_t i = 0; i < n; i++) {
    int hi, lo;
    if (s[i] == '%' && i + 2 < n && (hi = hex_value((unsigned char)s[i + 1])) >= 0 &&
        (lo = hex_value((unsigned char)s[i + 2])) >= 0) {
      o[j++] = (char)(hi * 16 + lo);
      i += 2;
    } else {
      o[j++] = s[i];
    }
  }
  o[j] = '\0';
  if (len)
    *len = j;
  return o;
}

bool aws_base64_decode(const char *in, unsigned char **out, size_t *out_len) {
  size_t n = strlen(in);
  char *clean = xmalloc(n + 4);
  size_t m = 0, pad = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)in[i];
    if (isspace(c))
      continue;
    bool ok = isalnum(c) || c == '+' || c == '/' || c == '=';
    /* '=' only at the end, at most two. */
    if (!ok || (c != '=' && pad) || (c == '=' && ++pad > 2)) {
      OPENSSL_cleanse(clean, m);
      free(clean);
      return false;
    }
    clean[m++] = (char)c;
  }
  if (m % 4 != 0) {
    OPENSSL_cleanse(clean, m);
    free(clean);
    return false;
  }
  unsigned char *buf = xmalloc(m / 4 * 3 + 1);
  int r = m ? EVP_DecodeBlock(buf, (const unsigned char *)clean, (int)m) : 0;
  OPENSSL_cleanse(clean, m);
  free(clean);
  if (r < 0 || (size_t)r < pad) {
    free(buf);
    return false;
  }
  *out_len = (size_t)r - pad;
  buf[*out_len] = '\0';
  *out = buf;
  return true;
}

char *aws_base64_encode(const unsigned char *in, size_t n) {
  char *out = xmalloc(4 * ((n + 2) / 3) + 1);
  int r = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
  out[r < 0 ? 0 : r] = '\0';
  return out;
}

/* Reads exactly `digits` decimal digits. */
static bool num(const char **p, int digits, int *v) {
  *v = 0;
  for (int i = 0; i < digits; i++) {
    if (!isdigit((unsigned char)**p))
      return false;
    *v = *v * 10 + (**p - '0');
    (*p)++;
  }
  return true;
}

bool aws_parse_iso8601(const char *s, int64_t *out) {
  if (!s)
    return false;
  while (isspace((unsigned char)*s))
    s++;
  const char *p = s;
  int Y, M, D, h, m, sec;
  if (!num(&p, 4, &Y) || *p++ != '-' || !num(&p, 2, &M) || *p++ != '-' || !num(&p, 2, &D))
    return false;
  if (*p != 'T' && *p != 't' && *p != ' ')
    return false;
  p++;
  if (!num(&p, 2, &h) || *p++ != ':' || !num(&p, 2, &m) || *p++ != ':' || !num(&p, 2, &sec))
    return false;
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
    return false;
  if (*p == '.' || *p == ',') {
    p++;
    if (!isdigit((unsigned char)*p))
      return false;
    while (isdigit((unsigned char)*p))
      p++;
  }
  long off = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int sign = *p++ == '-' ? -1 : 1, oh, om;
    if (!num(&p, 2, &oh))
      return false;
    if (*p == ':')
      p++;
    if (!num(&p, 2, &om))
      return false;
    off = sign * (oh * 3600L + om * 60L);
  }
  while (isspace((unsigned char)*p))
    p++;
  if (*p)
    return false;
  struct tm tm = {
      .tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h, .tm_min = m, .tm_sec = sec};
  *out = (int64_t)timegm(&tm) - off;
  return true;
}

bool aws_parse_http_date(const char *s, int64_t *out) {
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  char wd[4], mon[4];
  int D, Y, h, m, sec, n = 0;
  if (!s ||
      sscanf(s, "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d GMT%n", wd, &D, mon, &Y, &h, &m, &sec,
             &n) != 7 ||
      s[n] != '\0')
    return false;
  const char *at = strstr(months, mon);
  if (!at || (at - months) % 3 || strlen(mon) != 3 || D < 1 || D > 31 || h > 23 || m > 59 ||
      sec > 60 || Y < 1970)
    return false;
  struct tm tm = {.tm_year = Y - 1900,
                  .tm_mon = (int)((at - months) / 3),
                  .tm_mday = D,
                  .tm_hour = h,
                  .tm_min = m,
                  .tm_sec = sec};
  *out = (int64_t)timegm(&tm);
  return true;
}

void aws_amz_date(int64_t t, char out[17]) {
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}
