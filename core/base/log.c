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
/* Where lines go: standard error, or where a worker moved it before it
 * pointed its own standard error at the plugin-output pipe. */
static atomic_int g_fd = 2;
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

/* A context field the line's own fields also name is left out (the line's
 * value is the more precise one), so no key appears twice. */
static bool ctx_shadowed(unsigned c, const log_field *fields, unsigned n) {
  for (unsigned i = 0; i < n; i++)
    if (strcmp(fields[i].key, g_ctx[c].key) == 0)
      return true;
  return false;
}

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

void log_set_fd(int fd) {
  atomic_store_explicit(&g_fd, fd, memory_order_relaxed);
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
 * characters; invalid UTF-8 is replaced so that JSON lines stay valid.
 * Runs of plain bytes are copied at once: a line is written for every
 * accepted job and every reply, so this is on the hot path. */
static void add_escaped(sbuf *b, const char *s, size_t n) {
  const char *run = s;
  for (const char *p = s; p < s + n; p++) {
    unsigned char c = (unsigned char)*p;
    if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
      continue;
    sbuf_add(b, run, (size_t)(p - run));
    run = p + 1;
    switch (c) {
    case '"':
      sbuf_add(b, "\\\"", 2);
      break;
    case '\\':
      sbuf_add(b, "\\\\", 2);
      break;
    case '\n':
      sbuf_add(b, "\\n", 2);
      break;
    case '\r':
      sbuf_add(b, "\\r", 2);
      break;
    case '\t':
      sbuf_add(b, "\\t", 2);
      break;
    default: {
      static const char hex[] = "0123456789abcdef";
      char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      sbuf_add(b, u, sizeof u);
    }
    }
  }
  sbuf_add(b, run, (size_t)(s + n - run));
}

static void add_quoted(sbuf *b, const char *s) {
  size_t n = strlen(s);
  sbuf_addc(b, '"');
  if (utf8_is_clean(s, n)) {
    add_escaped(b, s, n);
  } else {
    char *clean = utf8_sanitize(s, n);
    add_escaped(b, clean, strlen(clean));
    free(clean);
  }
  sbuf_addc(b, '"');
}

/* Decimal digits of v, without printf (a few per line, every line). */
static void add_ull(sbuf *b, unsigned long long v) {
  char d[24];
  size_t i = sizeof d;
  do {
    d[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  sbuf_add(b, d + i, sizeof d - i);
}

static void add_ll(sbuf *b, long long v) {
  if (v < 0) {
    sbuf_addc(b, '-');
    add_ull(b, 0ull - (unsigned long long)v);
  } else {
    add_ull(b, (unsigned long long)v);
  }
}

/* "%.3f" for the durations the hot lines carry; printf for the rest. */
static void add_dbl(sbuf *b, double d) {
  if (!(d > -1e12 && d < 1e12)) {
    sbuf_addf(b, "%.3f", d);
    return;
  }
  bool neg = d < 0;
  unsigned long long milli = (unsigned long long)((neg ? -d : d) * 1000.0 + 0.5);
  if (neg && milli)
    sbuf_addc(b, '-');
  add_ull(b, milli / 1000);
  char frac[4] = {'.', (char)('0' + milli / 100 % 10), (char)('0' + milli / 10 % 10),
                  (char)('0' + milli % 10)};
  sbuf_add(b, frac, sizeof frac);
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
    add_ll(b, f->i);
    break;
  case KV_UINT:
    add_ull(b, f->u);
    break;
  case KV_DBL:
    add_dbl(b, f->d);
    break;
  case KV_BOOL:
    sbuf_adds(b, f->i ? "true" : "false");
    break;
  }
}

static void add_2(char *p, unsigned v) {
  p[0] = (char)('0' + v / 10 % 10);
  p[1] = (char)('0' + v % 10);
}

/* 2026-12-01T09:24:58.123Z. The civil date from the day count (Howard
 * Hinnant's algorithm) rather than gmtime_r, which takes the time-zone
 * lock on every call. */
static void add_timestamp(sbuf *b) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  long long days = (long long)ts.tv_sec / 86400, sod = (long long)ts.tv_sec % 86400;
  if (sod < 0) {
    sod += 86400;
    days--;
  }
  long long z = days + 719468;
  long long era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  unsigned day = doy - (153 * mp + 2) / 5 + 1;
  unsigned month = mp < 10 ? mp + 3 : mp - 9;
  long long year = (long long)yoe + era * 400 + (month <= 2);
  if (year < 0 || year > 9999) {
    sbuf_adds(b, "0000-00-00T00:00:00.000Z");
    return;
  }
  char t[24] = "0000-00-00T00:00:00.000Z";
  add_2(t, (unsigned)(year / 100));
  add_2(t + 2, (unsigned)(year % 100));
  add_2(t + 5, month);
  add_2(t + 8, day);
  add_2(t + 11, (unsigned)(sod / 3600));
  add_2(t + 14, (unsigned)(sod / 60 % 60));
  add_2(t + 17, (unsigned)(sod % 60));
  unsigned ms = (unsigned)(ts.tv_nsec / 1000000L);
  t[20] = (char)('0' + ms / 100);
  add_2(t + 21, ms % 100);
  sbuf_add(b, t, sizeof t);
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
    sbuf_adds(&b, "\",\"level\":\"");
    sbuf_adds(&b, level_names[level]);
    sbuf_adds(&b, "\",\"proc\":");
    add_quoted(&b, g_role);
    sbuf_adds(&b, ",\"event\":");
    add_quoted(&b, event);
    for (unsigned i = 0; i < g_nctx; i++) {
      if (ctx_shadowed(i, fields, n))
        continue;
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
    sbuf_adds(&b, " level=");
    sbuf_adds(&b, level_names[level]);
    sbuf_adds(&b, " proc=");
    sbuf_adds(&b, g_role);
    sbuf_adds(&b, " event=");
    sbuf_adds(&b, event);
    for (unsigned i = 0; i < g_nctx; i++) {
      if (ctx_shadowed(i, fields, n))
        continue;
      sbuf_addc(&b, ' ');
      sbuf_adds(&b, g_ctx[i].key);
      sbuf_addc(&b, '=');
      add_value(&b, &KV_S(g_ctx[i].key, g_ctx[i].value), json);
    }
    for (unsigned i = 0; i < n; i++) {
      sbuf_addc(&b, ' ');
      sbuf_adds(&b, fields[i].key);
      sbuf_addc(&b, '=');
      add_value(&b, &fields[i], json);
    }
    sbuf_addc(&b, '\n');
  }
  /* One write per line keeps lines from different threads and processes
   * whole on a pipe or a terminal. */
  write_all(atomic_load_explicit(&g_fd, memory_order_relaxed), b.p, b.len);
  sbuf_free(&b);
}
