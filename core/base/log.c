#include "base/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"

/* The level and the format change at run time (a reload calls
 * log_configure while HTTP, pool and responder threads log), so they are
 * atomics; a line reads each once, so it never mixes two formats. The role
 * is written once when a process starts, before it makes any thread. */
static atomic_int g_level = SLOG_INFO;
static atomic_bool g_json = false;
static char g_role[32] = "main";
/* Fields added to every line of the current unit of work (the Lambda
 * runtime's invocation: its request id). Only a single-threaded process
 * sets them (the Lambda runtime, between invocations); a threaded one
 * never does, so it reads an empty, unchanging list. */
#define LOG_CTX_MAX 4
static struct {
  char key[24];
  char value[128];
} g_ctx[LOG_CTX_MAX];
static unsigned g_nctx;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int log_level_from_name(const char *name) {
  for (int i = 0; i < 4; i++)
    if (str_ieq(name, level_names[i]))
      return i;
  return -1;
}

bool log_configure(const char *format, const char *level) {
  if (format) {
    if (str_ieq(format, "json"))
      atomic_store_explicit(&g_json, true, memory_order_relaxed);
    else if (str_ieq(format, "logfmt"))
      atomic_store_explicit(&g_json, false, memory_order_relaxed);
    else
      return false;
  }
  if (level) {
    int l = log_level_from_name(level);
    if (l < 0)
      return false;
    atomic_store_explicit(&g_level, l, memory_order_relaxed);
  }
  return true;
}

void log_set_role(const char *role) {
  snprintf(g_role, sizeof g_role, "%s", role);
  /* A child started for one unit of work (the Lambda worker's job process)
   * inherits its parent's context fields: "key=value key=value". */
  const char *ctx = getenv(LOG_CONTEXT_ENV);
  while (ctx && *ctx) {
    const char *eq = strchr(ctx, '=');
    if (!eq)
      break;
    const char *end = strchr(eq, ' ');
    size_t kl = (size_t)(eq - ctx), vl = end ? (size_t)(end - eq - 1) : strlen(eq + 1);
    char key[24], value[128];
    snprintf(key, sizeof key, "%.*s", (int)kl, ctx);
    snprintf(value, sizeof value, "%.*s", (int)vl, eq + 1);
    log_context_set(key, value);
    ctx = end ? end + 1 : NULL;
  }
}

void log_context_set(const char *key, const char *value) {
  unsigned i = 0;
  while (i < g_nctx && strcmp(g_ctx[i].key, key) != 0)
    i++;
  if (i == LOG_CTX_MAX)
    return;
  if (i == g_nctx)
    g_nctx++;
  snprintf(g_ctx[i].key, sizeof g_ctx[i].key, "%s", key);
  snprintf(g_ctx[i].value, sizeof g_ctx[i].value, "%s", value ? value : "");
}

void log_context_clear(void) {
  g_nctx = 0;
}

bool log_enabled(int level) {
  return level >= atomic_load_explicit(&g_level, memory_order_relaxed);
}

static bool needs_quotes(const char *s) {
  if (!*s)
    return true;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f)
      return true;
  }
  return false;
}

/* Escapes for both logfmt and JSON: quotes, backslashes and control
 * characters; invalid UTF-8 is replaced so that JSON lines stay valid. */
static void add_quoted(sbuf *b, const char *s) {
  char *clean = utf8_sanitize(s, strlen(s));
  sbuf_addc(b, '"');
  for (const char *p = clean; *p; p++) {
    unsigned char c = (unsigned char)*p;
    switch (c) {
    case '"':
      sbuf_adds(b, "\\\"");
      break;
    case '\\':
      sbuf_adds(b, "\\\\");
      break;
    case '\n':
      sbuf_adds(b, "\\n");
      break;
    case '\r':
      sbuf_adds(b, "\\r");
      break;
    case '\t':
      sbuf_adds(b, "\\t");
      break;
    default:
      if (c < 0x20 || c == 0x7f)
        sbuf_addf(b, "\\u%04x", c);
      else
        sbuf_addc(b, (char)c);
    }
  }
  sbuf_addc(b, '"');
  free(clean);
}

static void add_value(sbuf *b, const log_field *f, bool json) {
  switch (f->type) {
  case KV_STR: {
    const char *s = f->s ? f->s : "";
    if (json || needs_quotes(s))
      add_quoted(b, s);
    else
      sbuf_adds(b, s);
    break;
  }
  case KV_INT:
    sbuf_addf(b, "%lld", f->i);
    break;
  case KV_UINT:
    sbuf_addf(b, "%llu", f->u);
    break;
  case KV_DBL:
    sbuf_addf(b, "%.3f", f->d);
    break;
  case KV_BOOL:
    sbuf_adds(b, f->i ? "true" : "false");
    break;
  }
}

static void add_timestamp(sbuf *b) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char buf[40];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  sbuf_addf(b, "%s.%03ldZ", buf, ts.tv_nsec / 1000000L);
}

void log_fields(int level, const char *event, const log_field *fields, unsigned n) {
  if (!log_enabled(level))
    return;
  if (level < 0 || level > SLOG_ERROR)
    level = SLOG_ERROR;
  bool json = atomic_load_explicit(&g_json, memory_order_relaxed);
  sbuf b = {0};
  if (json) {
    sbuf_adds(&b, "{\"ts\":\"");
    add_timestamp(&b);
    sbuf_addf(&b, "\",\"level\":\"%s\",\"proc\":", level_names[level]);
    add_quoted(&b, g_role);
    sbuf_adds(&b, ",\"event\":");
    add_quoted(&b, event);
    for (unsigned i = 0; i < g_nctx; i++) {
      sbuf_addc(&b, ',');
      add_quoted(&b, g_ctx[i].key);
      sbuf_addc(&b, ':');
      add_quoted(&b, g_ctx[i].value);
    }
    for (unsigned i = 0; i < n; i++) {
      sbuf_addc(&b, ',');
      add_quoted(&b, fields[i].key);
      sbuf_addc(&b, ':');
      add_value(&b, &fields[i], json);
    }
    sbuf_adds(&b, "}\n");
  } else {
    sbuf_adds(&b, "ts=");
    add_timestamp(&b);
    sbuf_addf(&b, " level=%s proc=%s event=%s", level_names[level], g_role, event);
    for (unsigned i = 0; i < g_nctx; i++) {
      sbuf_addf(&b, " %s=", g_ctx[i].key);
      add_value(&b, &KV_S(g_ctx[i].key, g_ctx[i].value), json);
    }
    for (unsigned i = 0; i < n; i++) {
      sbuf_addf(&b, " %s=", fields[i].key);
      add_value(&b, &fields[i], json);
    }
    sbuf_addc(&b, '\n');
  }
  /* One write per line keeps lines from different threads and processes
   * whole on a pipe or a terminal. */
  write_all(2, b.p, b.len);
  sbuf_free(&b);
}
