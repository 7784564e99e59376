/* The shape of one structured log line, shared by the host's logger
 * (base/log.h) and by libraries that log through a callback instead of
 * writing lines themselves (core/aws). No state here: only types. */
#ifndef SLASHD_COMMON_KV_H
#define SLASHD_COMMON_KV_H

enum { SLOG_DEBUG = 0, SLOG_INFO = 1, SLOG_WARN = 2, SLOG_ERROR = 3 };

typedef enum { KV_STR, KV_INT, KV_UINT, KV_DBL, KV_BOOL } kv_type;

typedef struct log_field {
  const char *key;
  kv_type type;
  const char *s;
  long long i;
  unsigned long long u;
  double d;
} log_field;

#define KV_S(k, v) ((log_field){.key = (k), .type = KV_STR, .s = (v)})
#define KV_I(k, v) ((log_field){.key = (k), .type = KV_INT, .i = (long long)(v)})
#define KV_U(k, v) ((log_field){.key = (k), .type = KV_UINT, .u = (unsigned long long)(v)})
#define KV_D(k, v) ((log_field){.key = (k), .type = KV_DBL, .d = (double)(v)})
#define KV_B(k, v) ((log_field){.key = (k), .type = KV_BOOL, .i = (v) ? 1 : 0})

/* A logger: one event with its fields (borrowed for the call). The host's
 * log_fields has this signature. */
typedef void (*slog_fn)(int level, const char *event, const log_field *fields, unsigned n);

#define KV_COUNT(...) ((unsigned)(sizeof((const log_field[]){__VA_ARGS__}) / sizeof(log_field)))

#endif
