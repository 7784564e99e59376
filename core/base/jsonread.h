/* JSON text into jansson values, for the worker socket's messages
 * (base/ipc.h): the same values json_loadb(s, n, 0, …) gives, and the same
 * refusals, at a fraction of its cost. jansson reads a byte at a time
 * through a stream and copies each into a growing buffer (≈ 190
 * instructions a byte, most of a job's IPC cost once the reply's text had
 * left the JSON); this scans runs of plain bytes at once and builds the
 * values with jansson's own constructors. What it accepts: one object or
 * array (not a bare value), RFC 8259 syntax, UTF-8 only, no \u0000, no raw
 * control characters in strings, integers that fit a json_int_t, reals
 * that do not overflow, nesting to jansson's 2048 levels; a later
 * duplicate key wins, as in jansson. Whitespace may follow the value,
 * nothing else. tests/fuzz/fuzz_wire.c holds it to json_loadb, value for
 * value. */
#ifndef SLASHD_JSONREAD_H
#define SLASHD_JSONREAD_H

#include <stddef.h>

#include <jansson.h>

/* s[0..n) (no NUL needed after it). A new reference, or NULL with
 * err->text (and err->position, the byte offset) saying why. */
json_t *jsonread(const char *s, size_t n, json_error_t *err);

#endif
