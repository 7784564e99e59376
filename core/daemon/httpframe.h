/* Request framing and request-target checks the HTTP library does not make.
 *
 * libmicrohttpd 0.9.75 (Debian 12) frames a request by the first
 * Content-Length it sees, reads Transfer-Encoding: chunked even when a
 * Content-Length is present, keeps a header named "Content-Length " (space
 * before the colon) as an unknown header, and waits for the end of the stream
 * on a Transfer-Encoding it does not know. A proxy in front that frames the
 * same bytes differently then forwards what slashd reads as a second request
 * (request smuggling). It also unescapes the path before handing it over, so
 * "/%6detrics" is "/metrics" and "/x%00junk" is "/x".
 *
 * libmicrohttpd keeps every header line it parsed, duplicates and odd names
 * included, and hands them over once the header block is complete and before
 * any body byte is read. These checks run there, on that complete list, and
 * on the request target as it arrived (the URI log callback sees it before
 * any unescaping). A request that fails them is answered at once and its
 * connection closed, so nothing after it on that connection is read. */
#ifndef SLASHD_HTTPFRAME_H
#define SLASHD_HTTPFRAME_H

#include <stdbool.h>
#include <stddef.h>

typedef struct httpframe {
  unsigned content_length; /* Content-Length headers seen */
  unsigned transfer_encoding;
  bool bad_name;   /* a header name that is not an RFC 9110 token */
  bool bad_length; /* a Content-Length that is not 1*DIGIT */
  bool unknown_te; /* a Transfer-Encoding other than exactly "chunked" */
  bool bad_value;  /* a control character in a header value */
} httpframe;

/* Adds one header line as parsed (name, value). */
void httpframe_add(httpframe *f, const char *name, const char *value);

/* 0 when the framing is unambiguous, else the status to answer (400 or 501)
 * and a short reason in *why (static). */
int httpframe_verdict(const httpframe *f, const char **why);

/* Checks a raw request target ("/a/b?x=1") before its path is matched.
 * Returns 0 and the path's length in *len (the path is target[0..len)), or
 * the status to answer: 404 for a percent-encoded path (slashd serves no
 * path that needs one, and matching a decoded one would alias), 400 for a
 * target that is not an absolute path or carries control bytes or a NUL
 * (`whole` false: a NUL cut the target short). */
int httpframe_path(const char *target, bool whole, size_t *len, const char **why);

#endif
