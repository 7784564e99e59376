/* Encodings the AWS wire formats need: SigV4 percent-encoding, base64,
 * ISO 8601 timestamps and the compact x-amz-date form. */
#ifndef SLASHD_AWS_CODEC_H
#define SLASHD_AWS_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

/* Appends s[0..n) percent-encoded the SigV4 way: every byte except
 * A-Z a-z 0-9 - _ . ~ becomes %XX (upper-case hex), space is %20.
 * With keep_slash, '/' is left as is (paths). */
void aws_uri_encode(sbuf *out, const char *s, size_t n, bool keep_slash);
/* A new NUL-terminated string: s[0..n) with every valid %XX decoded ('+' is
 * kept, as in RFC 3986; malformed escapes are kept literally). The result may
 * hold NUL bytes: its length is returned in *len. */
char *aws_uri_decode(const char *s, size_t n, size_t *len);

/* Standard base64 with padding; white space in the input is skipped (EC2
 * console output is wrapped). False on any other invalid input. *out is a
 * new buffer (NUL-terminated for convenience) of *out_len bytes. */
bool aws_base64_decode(const char *in, unsigned char **out, size_t *out_len);
/* A new string. */
char *aws_base64_encode(const unsigned char *in, size_t n);

/* "2019-11-09T13:34:41Z", with optional fraction and a Z or ±HH:MM zone
 * (no zone = UTC) → unix seconds. */
bool aws_parse_iso8601(const char *s, int64_t *out);
/* An HTTP Date header, "Tue, 01 Dec 2026 09:17:23 GMT" (RFC 9110's
 * preferred form, which AWS sends) → unix seconds. */
bool aws_parse_http_date(const char *s, int64_t *out);
/* Unix seconds → "YYYYMMDDTHHMMSSZ". */
void aws_amz_date(int64_t t, char out[17]);

#endif
