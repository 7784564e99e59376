#include "daemon/httpframe.h"

#include <string.h>
#include <strings.h>

/* RFC 9110 5.6.2: token = 1*tchar. */
static bool is_token(const char *s) {
  if (!*s)
    return false;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c >= 'a' && c <= 'z')
      continue;
    if (c >= 'A' && c <= 'Z')
      continue;
    if (c >= '0' && c <= '9')
      continue;
    if (!strchr("!#$%&'*+-.^_`|~", c))
      return false;
  }
  return true;
}

static bool all_digits(const char *s) {
  if (!*s)
    return false;
  for (; *s; s++)
    if (*s < '0' || *s > '9')
      return false;
  return true;
}

static bool has_control(const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if ((c < 0x20 && c != '\t') || c == 0x7f)
      return true;
  }
  return false;
}

void httpframe_add(httpframe *f, const char *name, const char *value) {
  if (!name || !is_token(name)) {
    f->bad_name = true;
    return;
  }
  if (!value)
    value = "";
  if (has_control(value))
    f->bad_value = true;
  if (strcasecmp(name, "Content-Length") == 0) {
    f->content_length++;
    if (!all_digits(value) || strlen(value) > 18)
      f->bad_length = true;
  } else if (strcasecmp(name, "Transfer-Encoding") == 0) {
    f->transfer_encoding++;
    if (strcasecmp(value, "chunked") != 0)
      f->unknown_te = true;
  }
}

int httpframe_verdict(const httpframe *f, const char **why) {
  if (f->bad_name) {
    *why = "malformed header name (space before the colon?)";
    return 400;
  }
  if (f->bad_value) {
    *why = "control character in a header value";
    return 400;
  }
  if (f->content_length && f->transfer_encoding) {
    *why = "both Content-Length and Transfer-Encoding";
    return 400;
  }
  if (f->content_length > 1) {
    *why = "more than one Content-Length";
    return 400;
  }
  if (f->bad_length) {
    *why = "malformed Content-Length";
    return 400;
  }
  if (f->transfer_encoding > 1) {
    *why = "more than one Transfer-Encoding";
    return 400;
  }
  if (f->unknown_te) {
    *why = "unsupported Transfer-Encoding (only chunked is)";
    return 501;
  }
  *why = NULL;
  return 0;
}

int httpframe_path(const char *target, bool whole, size_t *len, const char **why) {
  *len = 0;
  if (!whole) {
    *why = "NUL byte in the request target";
    return 400;
  }
  if (!target || target[0] != '/') {
    *why = "request target is not an absolute path";
    return 400;
  }
  size_t n = strcspn(target, "?#");
  for (const char *p = target; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c <= 0x20 || c >= 0x7f) {
      *why = "control, space or non-ASCII byte in the request target";
      return 400;
    }
  }
  if (memchr(target, '%', n)) {
    *why = "percent-encoded path";
    return 404;
  }
  *len = n;
  *why = NULL;
  return 0;
}
