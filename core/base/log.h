/* Structured logging: one line per event on stderr, logfmt or JSON lines.
 *
 *   log_kv(SLOG_INFO, "ack", KV_S("req", id), KV_I("status", 200));
 *
 * Every value is quoted and escaped as needed, so untrusted text can never
 * forge a field or a line. There is deliberately no way to log a secret:
 * callers pass only what they mean to show. */
#ifndef SLASHD_LOG_H
#define SLASHD_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "common/kv.h"

/* format: "logfmt" (default) or "json"; level: debug|info|warn|error. */
bool log_configure(const char *format, const char *level);
int log_level_from_name(const char *name);
/* A process tag added to every line (e.g. "worker" with the worker's index). */
void log_set_role(const char *role);
/* Lines go to fd instead of standard error (a worker whose own standard
 * error is its plugins' output pipe). */
void log_set_fd(int fd);
bool log_enabled(int level);
/* A field added to every following line (at most 4; setting a key again
 * replaces its value), until log_context_clear(). For a process that runs
 * one unit of work at a time on one thread: the Lambda runtime tags each
 * invocation's lines with its request id. */
void log_context_set(const char *key, const char *value);
/* The environment variable a parent sets ("key=value key=value", no spaces
 * in values) so that a child process it starts for the same unit of work
 * logs the same context fields; read by log_set_role. */
#define LOG_CONTEXT_ENV "SLASHD_LOG_CONTEXT"
void log_context_clear(void);

void log_fields(int level, const char *event, const log_field *fields, unsigned n);

#define log_kv(level, event, ...)                                                                  \
  log_fields((level), (event), (const log_field[]){__VA_ARGS__},                                   \
             (unsigned)(sizeof((const log_field[]){__VA_ARGS__}) / sizeof(log_field)))
#define log_event(level, event) log_fields((level), (event), NULL, 0)

#endif
