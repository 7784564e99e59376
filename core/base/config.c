#include "base/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <ini.h>

#include "base/log.h"
#include "base/paths.h"
#include "base/route.h"
#include "base/syntax.h"
#include "base/util.h"

/* ---- raw parsing ------------------------------------------------------ */

/* Editors on Windows start files with one; inih skips it on the first line. */
#define UTF8_BOM "\xef\xbb\xbf"

typedef struct parse_ctx {
  config *c;
  FILE *f;
  int line;             /* physical line last handed to inih */
  bool line_is_cont;    /* that line is an indented continuation */
  cfg_section *cur;     /* section of the last key */
  cfg_kv *last;         /* last key, for continuation lines */
  char *section_header; /* last [section] seen by the reader */
} parse_ctx;

static void diag_add(config *c, int line, diag_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void diag_add(config *c, int line, diag_level lvl, const char *fmt, ...) {
  sbuf b = {0};
  va_list ap;
  va_start(ap, fmt);
  sbuf_vaddf(&b, fmt, ap);
  va_end(ap);
  c->diags = xrealloc(c->diags, (c->n_diags + 1) * sizeof *c->diags);
  c->diags[c->n_diags++] = (cfg_diag){.line = line, .level = lvl, .msg = sbuf_steal(&b)};
  if (lvl == DIAG_ERROR)
    c->n_errors++;
}

static cfg_section *section_get_or_add(config *c, const char *name, int line) {
  for (size_t i = 0; i < c->n_sections; i++)
    if (strcmp(c->sections[i].name, name) == 0)
      return &c->sections[i];
  c->sections = xrealloc(c->sections, (c->n_sections + 1) * sizeof *c->sections);
  cfg_section *s = &c->sections[c->n_sections++];
  *s = (cfg_section){.name = xstrdup(name), .line = line};
  return s;
}

/* Classifies each physical line so that every syntax error is reported (inih
 * itself returns only the first) and over-long lines are caught instead of
 * being split silently (Debian's inih has a fixed 200-byte line buffer). */
static char *reader(char *str, int num, void *stream) {
  parse_ctx *p = stream;
  if (!fgets(str, num, p->f))
    return NULL;
  p->line++;
  size_t n = strlen(str);
  if (n == (size_t)num - 1 && str[n - 1] != '\n' && !feof(p->f)) {
    int ch;
    while ((ch = fgetc(p->f)) != EOF && ch != '\n')
      ;
    diag_add(p->c, p->line, DIAG_ERROR,
             "line longer than %d characters; split a long value across indented "
             "continuation lines",
             num - 2);
    strcpy(str, ";\n");
    p->line_is_cont = false;
    return str;
  }
  const char *s = str;
  if (p->line == 1 && strncmp(s, UTF8_BOM, 3) == 0)
    s += 3; /* inih skips it too */
  bool indented = (*s == ' ' || *s == '\t');
  while (*s == ' ' || *s == '\t')
    s++;
  bool blank = (*s == '\0' || *s == '\n' || *s == '\r');
  bool comment = (*s == ';' || *s == '#');
  p->line_is_cont = indented && !blank && !comment && p->last != NULL;
  if (blank || comment || p->line_is_cont)
    return str;
  if (*s == '[') {
    const char *close = strchr(s, ']');
    if (!close)
      diag_add(p->c, p->line, DIAG_ERROR, "section header without closing ']'");
    return str;
  }
  if (!strpbrk(s, "=:"))
    diag_add(p->c, p->line, DIAG_ERROR, "expected [section] or key = value");
  return str;
}

static int handler(void *user, const char *section, const char *name, const char *value) {
  parse_ctx *p = user;
  config *c = p->c;
  if (p->line_is_cont && p->last && p->cur && strcmp(p->cur->name, section) == 0 &&
      strcmp(p->last->key, name) == 0) {
    /* Continuation: join with a newline, as inih's own INIReader does. */
    char *joined = xasprintf("%s\n%s", p->last->value, value);
    free(p->last->value);
    p->last->value = joined;
    return 1;
  }
  if (!*section) {
    diag_add(c, p->line, DIAG_ERROR, "key \"%s\" is outside any [section]", name);
    p->last = NULL;
    return 1;
  }
  cfg_section *s = section_get_or_add(c, section, p->line);
  for (size_t i = 0; i < s->n; i++) {
    if (strcmp(s->kv[i].key, name) == 0) {
      diag_add(c, p->line, DIAG_ERROR, "duplicate key \"%s\" in [%s] (first set on line %d)", name,
               section, s->kv[i].line);
      p->last = NULL;
      return 1;
    }
  }
  s->kv = xrealloc(s->kv, (s->n + 1) * sizeof *s->kv);
  s->kv[s->n] = (cfg_kv){.key = xstrdup(name), .value = xstrdup(value), .line = p->line};
  p->cur = s;
  p->last = &s->kv[s->n];
  s->n++;
  return 1;
}

/* inih does not report empty sections; find their header lines ourselves so
 * that "[plugin.foo]" alone still enables foo and unknown names are caught. */
static void scan_section_headers(config *c, const char *path) {
  FILE *f = fopen(path, "r");
  if (!f)
    return;
  char line[512];
  int no = 0;
  bool partial = false;
  while (fgets(line, sizeof line, f)) {
    bool starts = !partial;
    size_t n = strlen(line);
    partial = n && line[n - 1] != '\n';
    if (!starts)
      continue;
    no++;
    char *s = line;
    if (no == 1 && strncmp(s, UTF8_BOM, 3) == 0)
      s += 3;
    while (*s == ' ' || *s == '\t')
      s++;
    if (*s != '[')
      continue;
    char *close = strchr(s, ']');
    if (!close)
      continue;
    *close = '\0';
    char *name = str_trim(s + 1);
    section_get_or_add(c, name, no)->line = no;
  }
  fclose(f);
}

/* ---- schema ----------------------------------------------------------- */

typedef enum { T_STR, T_INT, T_BOOL, T_SECRET, T_PATH, T_LISTEN, T_LIST, T_SPECIAL } key_type;

typedef struct key_spec {
  const char *section;
  const char *key;
  key_type type;
  size_t offset;
  long min, max;
} key_spec;

#define F(field) offsetof(config, field)

static const key_spec schema[] = {
    {"server", "listen", T_LISTEN, 0, 0, 0},
    {"server", "path", T_STR, F(path), 0, 0},
    {"server", "actions_path", T_STR, F(actions_path), 0, 0},
    {"server", "workers", T_INT, F(workers), 1, 256},
    {"server", "queue", T_INT, F(queue), 1, 1000000},
    {"server", "job_timeout", T_INT, F(job_timeout), 1, 86400},
    {"server", "max_body", T_INT, F(max_body), 1024, 1048576},
    {"server", "dedupe_seconds", T_INT, F(dedupe_seconds), 0, 3600},
    {"server", "max_running_per_user", T_INT, F(max_running_per_user), 0, 4096},
    {"server", "max_running_per_plugin", T_INT, F(max_running_per_plugin), 0, 4096},
    {"server", "worker_memory_mb", T_INT, F(worker_memory_mb), 0, 1048576},
    {"server", "worker_recycle_mb", T_INT, F(worker_recycle_mb), 0, 1048576},
    {"server", "worker_max_jobs", T_INT, F(worker_max_jobs), 0, 1000000000},
    {"server", "drain_seconds", T_INT, F(drain_seconds), 0, 3600},
    {"server", "connection_limit", T_INT, F(connection_limit), 1, 1000000},
    {"server", "connection_timeout", T_INT, F(connection_timeout), 1, 3600},
    {"server", "http_threads", T_INT, F(http_threads), 1, 64},
    {"server", "state_dir", T_PATH, F(state_dir), 0, 0},
    {"server", "journal", T_PATH, F(journal), 0, 0},
    {"server", "journal_fsync", T_SPECIAL, 0, 0, 0},
    {"server", "pid_file", T_PATH, F(pid_file), 0, 0},
    {"server", "tls_cert", T_PATH, F(tls_cert), 0, 0},
    {"server", "tls_key", T_PATH, F(tls_key), 0, 0},
    {"server", "log_format", T_SPECIAL, F(log_format), 0, 0},
    {"server", "log_level", T_SPECIAL, F(log_level), 0, 0},
    {"slack", "signing_secret", T_SECRET, F(signing_secret_ref), 0, 0},
    {"slack", "verification_token", T_SECRET, F(verification_token_ref), 0, 0},
    {"slack", "command", T_STR, F(command), 0, 0},
    {"slack", "response_hosts", T_LIST, 0, 0, 0},
    {"slack", "mode", T_SPECIAL, 0, 0, 0},
    {"slack", "app_token", T_SECRET, F(app_token_ref), 0, 0},
    {"slack", "api_url", T_SPECIAL, F(api_url), 0, 0},
    {"slack", "socket_connections", T_INT, F(socket_connections), 1, 10},
    {"slack", "ca_file", T_PATH, F(ca_file), 0, 0},
    {"aws", "region", T_STR, F(aws_region), 0, 0},
    {"aws", "endpoint_url", T_STR, F(aws_endpoint_url), 0, 0},
    {"aws", "connect_timeout", T_INT, F(aws_connect_timeout), 1, 300},
    {"aws", "timeout", T_INT, F(aws_timeout), 1, 3600},
    {"aws", "max_attempts", T_INT, F(aws_max_attempts), 1, 10},
    {"aws", "regions", T_LIST, 0, 0, 0},
    {"identity", "mode", T_SPECIAL, 0, 0, 0},
    {"identity", "read", T_SPECIAL, 0, 0, 0},
    {"identity", "session_duration", T_INT, F(session_duration), 900, 43200},
    {"identity", "role_template", T_STR, F(role_template), 0, 0},
    {"identity", "role_name", T_STR, F(role_name), 0, 0},
    {"identity", "required_policy", T_STR, F(required_policy), 0, 0},
    {"identity", "confirm", T_SPECIAL, 0, 0, 0},
    {"identity", "confirm_seconds", T_INT, F(confirm_seconds), 30, 3600},
    {"audit", "file", T_PATH, F(audit_file), 0, 0},
    {"plugins", "dir", T_PATH, F(plugin_dir), 0, 0},
    {"lambda", "queue_url", T_STR, F(lambda_queue_url), 0, 0},
    {"lambda", "topic_arn", T_STR, F(lambda_topic_arn), 0, 0},
    {"lambda", "max_job_age", T_INT, F(lambda_max_job_age), 1, 86400},
};

/* Sections whose keys are free-form (user ids, access rules). */
static bool section_is_free(const char *name) {
  return strcmp(name, "identity.users") == 0 || strcmp(name, "access") == 0 ||
         strcmp(name, "accounts") == 0;
}

static bool section_is_known(const char *name) {
  if (section_is_free(name) || str_starts(name, "plugin."))
    return true;
  for (size_t i = 0; i < ARRAY_LEN(schema); i++)
    if (strcmp(schema[i].section, name) == 0)
      return true;
  return false;
}

static char **str_field(config *c, size_t off) {
  return (char **)((char *)c + off);
}

static int *int_field(config *c, size_t off) {
  return (int *)((char *)c + off);
}

static void set_str(config *c, size_t off, const char *v) {
  char **f = str_field(c, off);
  free(*f);
  *f = v ? xstrdup(v) : NULL;
}

static void set_defaults(config *c) {
  c->listen_host = xstrdup("127.0.0.1");
  c->listen_port = 3000;
  c->path = xstrdup("/slack/commands");
  c->actions_path = xstrdup("/slack/actions");
  c->workers = 4;
  c->queue = 256;
  c->job_timeout = 120;
  c->max_body = 16384;
  c->dedupe_seconds = 10;
  c->max_running_per_user = -1; /* absent: workers - 1 */
  c->max_running_per_plugin = -1;
  c->worker_memory_mb = 1024;
  c->worker_recycle_mb = 256;
  c->worker_max_jobs = 10000;
  c->drain_seconds = 30;
  c->connection_limit = 1024;
  c->connection_timeout = 10;
  c->http_threads = 2;
  c->state_dir = xstrdup(SLASHD_DEFAULT_STATE_DIR);
  c->log_format = xstrdup("logfmt");
  c->log_level = xstrdup("info");
  c->command = xstrdup("/aws");
  c->n_response_hosts = str_split_list("hooks.slack.com", &c->response_hosts);
  c->api_url = xstrdup("https://slack.com/api/");
  c->socket_connections = 2;
  c->aws_connect_timeout = 3;
  c->aws_timeout = 20;
  c->aws_max_attempts = 4;
  c->id_mode = ID_NONE;
  c->id_read = READ_AS_HOST;
  c->session_duration = 900;
  c->lambda_max_job_age = 1500;
  c->confirm_writes = true;
  c->confirm_seconds = 300;
}

static bool parse_listen(const char *v, char **host, int *port) {
  const char *colon;
  char *h;
  if (*v == '[') {
    const char *close = strchr(v, ']');
    if (!close || close == v + 1 || close[1] != ':')
      return false;
    h = xstrndup(v + 1, (size_t)(close - v - 1));
    colon = close + 1;
  } else {
    colon = strrchr(v, ':');
    if (!colon || colon == v)
      return false;
    h = xstrndup(v, (size_t)(colon - v));
  }
  long p;
  if (!parse_int(colon + 1, 0, 65535, &p)) {
    free(h);
    return false;
  }
  free(*host);
  *host = h;
  *port = (int)p;
  return true;
}

static bool is_secret_ref(const char *v) {
  return (str_starts(v, "env:") && v[4]) || (str_starts(v, "file:") && v[5]) ||
         (str_starts(v, "kms:") && v[4]);
}

/* [slack] mode and api_url. */
static void apply_slack_special(config *c, const cfg_kv *kv, const key_spec *k) {
  if (strcmp(k->key, "mode") == 0) {
    if (str_ieq(kv->value, "http") || str_ieq(kv->value, "socket"))
      c->socket_mode = str_ieq(kv->value, "socket");
    else
      diag_add(c, kv->line, DIAG_ERROR, "mode: expected http or socket, got \"%s\"", kv->value);
    return;
  }
  /* api_url: https, or http to a loopback host (tests, a local fake). */
  const char *v = kv->value;
  const char *host = str_starts(v, "https://") ? v + 8 : str_starts(v, "http://") ? v + 7 : NULL;
  char *h = host ? xstrndup(host, strcspn(host, "/?#")) : NULL;
  if (!h || !*h || strchr(h, '@') || (str_starts(v, "http://") && !host_is_loopback(h)))
    diag_add(c, kv->line, DIAG_ERROR,
             "api_url: expected https://HOST/PATH/ (http:// only to a loopback host), got \"%s\"",
             v);
  else
    set_str(c, k->offset, v);
  free(h);
}

static void apply_special(config *c, const cfg_kv *kv, const key_spec *k) {
  if (strcmp(k->section, "slack") == 0) {
    apply_slack_special(c, kv, k);
  } else if (strcmp(k->key, "log_format") == 0) {
    if (!str_ieq(kv->value, "logfmt") && !str_ieq(kv->value, "json"))
      diag_add(c, kv->line, DIAG_ERROR, "log_format: expected logfmt or json, got \"%s\"",
               kv->value);
    else
      set_str(c, k->offset, kv->value);
  } else if (strcmp(k->key, "log_level") == 0) {
    if (log_level_from_name(kv->value) < 0)
      diag_add(c, kv->line, DIAG_ERROR,
               "log_level: expected debug, info, warn or error, got \"%s\"", kv->value);
    else
      set_str(c, k->offset, kv->value);
  } else if (strcmp(k->key, "journal_fsync") == 0) {
    if (str_ieq(kv->value, "always"))
      c->journal_fsync_always = true;
    else if (str_ieq(kv->value, "second"))
      c->journal_fsync_always = false;
    else
      diag_add(c, kv->line, DIAG_ERROR, "journal_fsync: expected always or second, got \"%s\"",
               kv->value);
  } else if (strcmp(k->key, "mode") == 0) {
    static const char *const names[] = {"none", "map", "template", "iam-user"};
    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
      if (str_ieq(kv->value, names[i])) {
        c->id_mode = (identity_mode)i;
        return;
      }
    }
    diag_add(c, kv->line, DIAG_ERROR, "mode: expected none, map, template or iam-user, got \"%s\"",
             kv->value);
  } else if (strcmp(k->key, "confirm") == 0) {
    if (str_ieq(kv->value, "write") || str_ieq(kv->value, "none"))
      c->confirm_writes = str_ieq(kv->value, "write");
    else
      diag_add(c, kv->line, DIAG_ERROR, "confirm: expected write or none, got \"%s\"", kv->value);
  } else if (strcmp(k->key, "read") == 0) {
    if (str_ieq(kv->value, "host"))
      c->id_read = READ_AS_HOST;
    else if (str_ieq(kv->value, "assume"))
      c->id_read = READ_AS_ASSUME;
    else
      diag_add(c, kv->line, DIAG_ERROR, "read: expected host or assume, got \"%s\"", kv->value);
  }
}

/* [aws] regions: each must be a region name before any can reach a host
 * name; "all" is the word for the whole list. */
static void apply_regions(config *c, const cfg_kv *kv) {
  strv_free(c->aws_regions, c->n_aws_regions);
  c->n_aws_regions = str_split_list(kv->value, &c->aws_regions);
  for (size_t i = 0; i < c->n_aws_regions; i++)
    if (!place_region_shape(c->aws_regions[i]))
      diag_add(c, kv->line, DIAG_ERROR,
               "regions: \"%s\" is not an AWS region name (e.g. eu-west-1)", c->aws_regions[i]);
  if (c->n_aws_regions > PLACE_REGIONS_MAX)
    diag_add(c, kv->line, DIAG_ERROR, "regions: at most %d regions", PLACE_REGIONS_MAX);
}

static void apply_key(config *c, const cfg_section *s, const cfg_kv *kv) {
  const key_spec *k = NULL;
  for (size_t i = 0; i < ARRAY_LEN(schema); i++)
    if (strcmp(schema[i].section, s->name) == 0 && strcmp(schema[i].key, kv->key) == 0)
      k = &schema[i];
  if (!k) {
    diag_add(c, kv->line, DIAG_WARNING, "unknown key \"%s\" in [%s] (ignored)", kv->key, s->name);
    return;
  }
  long n;
  switch (k->type) {
  case T_STR:
  case T_PATH:
    if (!*kv->value) {
      diag_add(c, kv->line, DIAG_ERROR, "%s: empty value", kv->key);
      return;
    }
    set_str(c, k->offset, kv->value);
    break;
  case T_INT:
    if (!parse_int(kv->value, k->min, k->max, &n)) {
      diag_add(c, kv->line, DIAG_ERROR, "%s: expected a whole number from %ld to %ld, got \"%s\"",
               kv->key, k->min, k->max, kv->value);
      return;
    }
    *int_field(c, k->offset) = (int)n;
    break;
  case T_SECRET:
    if (!is_secret_ref(kv->value)) {
      diag_add(c, kv->line, DIAG_ERROR,
               "%s: secrets must be references (env:NAME, file:/path or kms:BASE64), "
               "never literal values",
               kv->key);
      return;
    }
    set_str(c, k->offset, kv->value);
    break;
  case T_LISTEN:
    if (!parse_listen(kv->value, &c->listen_host, &c->listen_port))
      diag_add(c, kv->line, DIAG_ERROR,
               "listen: expected host:port (e.g. 127.0.0.1:3000 or [::1]:3000), got \"%s\"",
               kv->value);
    break;
  case T_LIST:
    if (strcmp(kv->key, "regions") == 0) {
      apply_regions(c, kv);
      break;
    }
    strv_free(c->response_hosts, c->n_response_hosts);
    c->n_response_hosts = str_split_list(kv->value, &c->response_hosts);
    if (!c->n_response_hosts)
      diag_add(c, kv->line, DIAG_ERROR, "response_hosts: at least one host is needed");
    for (size_t i = 0; i < c->n_response_hosts; i++)
      if (!url_host_entry_ok(c->response_hosts[i]))
        diag_add(c, kv->line, DIAG_ERROR,
                 "response_hosts: \"%s\" is not a host name or host:port (e.g. hooks.slack.com "
                 "or 127.0.0.1:8080; no scheme, path or wildcard), so it could never match",
                 c->response_hosts[i]);
    break;
  case T_BOOL:
  case T_SPECIAL:
    apply_special(c, kv, k);
    break;
  }
}

static int parse_bool(const char *v) {
  if (str_ieq(v, "true") || str_ieq(v, "yes") || str_ieq(v, "on") || strcmp(v, "1") == 0)
    return 1;
  if (str_ieq(v, "false") || str_ieq(v, "no") || str_ieq(v, "off") || strcmp(v, "0") == 0)
    return 0;
  return -1;
}

static bool path_has_dotdot(const char *p) {
  for (const char *s = p; (s = strstr(s, "..")) != NULL; s += 2) {
    bool start = (s == p || s[-1] == '/');
    bool end = (s[2] == '\0' || s[2] == '/');
    if (start && end)
      return true;
  }
  return false;
}

static void apply_plugin_section(config *c, const cfg_section *s) {
  const char *name = s->name + strlen("plugin.");
  if (!route_name_valid(name)) {
    diag_add(c, s->line, DIAG_ERROR,
             "[%s]: a plugin name is 1 to 32 characters of a-z, 0-9, '_' and '-'", s->name);
    return;
  }
  cfg_plugin p = {.name = xstrdup(name), .enabled = true, .line = s->line, .section = s};
  const char *en = config_get(s, "enabled");
  if (en) {
    int b = parse_bool(en);
    if (b < 0)
      diag_add(c, config_get_kv(s, "enabled")->line, DIAG_ERROR,
               "enabled: expected true or false, got \"%s\"", en);
    else
      p.enabled = b;
  }
  const char *path = config_get(s, "path");
  if (path) {
    if (path_has_dotdot(path))
      diag_add(c, config_get_kv(s, "path")->line, DIAG_ERROR,
               "path: \"..\" is not allowed in plugin paths; give the real location");
    p.path = xstrdup(path);
  } else {
    p.path = xasprintf("%s/%s.so", c->plugin_dir, name);
  }
  c->plugins = xrealloc(c->plugins, (c->n_plugins + 1) * sizeof *c->plugins);
  c->plugins[c->n_plugins++] = p;
}

static void check_identity(config *c) {
  const cfg_section *id = config_section(c, "identity");
  int line = id ? id->line : 0;
  if (c->id_mode == ID_TEMPLATE && !c->role_template)
    diag_add(c, line, DIAG_ERROR, "[identity] mode = template needs role_template");
  if (c->id_mode == ID_IAM_USER && (!c->role_name || !c->required_policy))
    diag_add(c, line, DIAG_ERROR, "[identity] mode = iam-user needs role_name and required_policy");
  if (c->id_mode == ID_MAP && (!c->id_users || c->id_users->n == 0))
    diag_add(c, line, DIAG_WARNING,
             "[identity] mode = map but [identity.users] maps nobody: write commands are refused "
             "for everyone");
  if (c->id_users) {
    for (size_t i = 0; i < c->id_users->n; i++) {
      const cfg_kv *kv = &c->id_users->kv[i];
      if (!str_starts(kv->value, "arn:aws"))
        diag_add(c, kv->line, DIAG_ERROR,
                 "[identity.users] %s: expected a role ARN (arn:aws:iam::ACCOUNT:role/NAME)",
                 kv->key);
    }
  }
}

static void check_server(config *c) {
  const cfg_section *s = config_section(c, "server");
  int line = s ? s->line : 0;
  if (c->path[0] != '/')
    diag_add(c, line, DIAG_ERROR, "path: must start with '/'");
  if (c->actions_path[0] != '/' || strcmp(c->actions_path, c->path) == 0)
    diag_add(c, line, DIAG_ERROR, "actions_path: must start with '/' and differ from path");
  if ((c->tls_cert == NULL) != (c->tls_key == NULL))
    diag_add(c, line, DIAG_ERROR, "tls_cert and tls_key go together: set both or neither");
  if (c->job_timeout < 1)
    diag_add(c, line, DIAG_ERROR, "job_timeout must be at least 1 second");
}

/* A Lambda front sends each job to exactly one place. Neither is checked by
 * the front itself: a worker needs neither. */
static void check_lambda(config *c) {
  const cfg_section *s = config_section(c, "lambda");
  if (c->lambda_queue_url && c->lambda_topic_arn)
    diag_add(c, s ? s->line : 0, DIAG_ERROR,
             "[lambda] queue_url and topic_arn: set one of them, not both (a front sends each job "
             "to one place)");
  if (c->lambda_topic_arn && !str_starts(c->lambda_topic_arn, "arn:aws"))
    diag_add(c, config_get_kv(s, "topic_arn")->line, DIAG_ERROR,
             "topic_arn: expected an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)");
  if (c->lambda_queue_url && !str_starts(c->lambda_queue_url, "https://") &&
      !str_starts(c->lambda_queue_url, "http://"))
    diag_add(
        c, config_get_kv(s, "queue_url")->line, DIAG_ERROR,
        "queue_url: expected an SQS queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)");
}

static void check_slack(config *c) {
  const cfg_section *s = config_section(c, "slack");
  int line = s ? s->line : 0;
  if (c->socket_mode && !c->app_token_ref)
    diag_add(c, line, DIAG_ERROR,
             "[slack] mode = socket needs app_token (an app-level xapp- token with the "
             "connections:write scope, e.g. app_token = env:SLACK_APP_TOKEN)");
}

static void interpret(config *c) {
  /* [plugins] dir must be known before plugin paths are derived. */
  set_defaults(c);
  for (size_t i = 0; i < c->n_sections; i++) {
    cfg_section *s = &c->sections[i];
    if (!section_is_known(s->name)) {
      diag_add(c, s->line, DIAG_WARNING, "unknown section [%s] (ignored)", s->name);
      continue;
    }
    if (section_is_free(s->name) || str_starts(s->name, "plugin."))
      continue;
    for (size_t j = 0; j < s->n; j++)
      apply_key(c, s, &s->kv[j]);
  }
  if (!c->plugin_dir)
    c->plugin_dir = paths_default_plugin_dir();
  if (!c->journal || !str_ieq(c->journal, "off")) {
    if (!c->journal)
      c->journal = xasprintf("%s/journal", c->state_dir);
  } else {
    free(c->journal);
    c->journal = NULL;
  }
  if (!c->pid_file)
    c->pid_file = xasprintf("%s/slashd.pid", c->state_dir);
  c->id_users = config_section(c, "identity.users");
  c->access = config_section(c, "access");
  c->accounts = config_section(c, "accounts");
  for (size_t i = 0; c->accounts && i < c->accounts->n; i++) {
    char *why = NULL;
    if (!place_account_line_ok(c->accounts->kv[i].key, c->accounts->kv[i].value, &why))
      diag_add(c, c->accounts->kv[i].line, DIAG_ERROR, "%s", why);
    free(why);
  }
  if (c->aws_region && !place_region_shape(c->aws_region))
    diag_add(c, 0, DIAG_ERROR, "[aws] region: \"%s\" is not an AWS region name", c->aws_region);
  for (size_t i = 0; c->access && i < c->access->n; i++) {
    char *why = NULL;
    if (!access_rule_key_ok(c->access->kv[i].key, &why)) {
      diag_add(c, c->access->kv[i].line, DIAG_ERROR, "%s", why);
      free(why);
    }
  }
  for (size_t i = 0; i < c->n_sections; i++)
    if (str_starts(c->sections[i].name, "plugin."))
      apply_plugin_section(c, &c->sections[i]);
  for (size_t i = 0; i < c->n_plugins; i++) {
    for (size_t j = 0; j < c->n_plugins; j++) {
      if (i != j && c->plugins[i].enabled && c->plugins[j].enabled &&
          strcmp(c->plugins[i].path, c->plugins[j].path) == 0 && i > j)
        diag_add(c, c->plugins[i].line, DIAG_ERROR,
                 "[plugin.%s] loads the same file as [plugin.%s] (%s)", c->plugins[i].name,
                 c->plugins[j].name, c->plugins[i].path);
    }
  }
  check_server(c);
  check_slack(c);
  check_identity(c);
  check_lambda(c);
}

config *config_load(const char *path, char **err) {
  return config_load_as(path, path, err);
}

config *config_load_as(const char *path, const char *name, char **err) {
  FILE *f = fopen(path, "r");
  if (!f) {
    if (err)
      *err = xasprintf("%s: cannot open: %s", name, strerror(errno));
    return NULL;
  }
  config *c = xcalloc(1, sizeof *c);
  c->file = xstrdup(name);
  scan_section_headers(c, path);
  parse_ctx p = {.c = c, .f = f};
  int rc = ini_parse_stream(reader, &p, handler, &p);
  fclose(f);
  if (rc < 0)
    diag_add(c, 0, DIAG_ERROR, "cannot read the file");
  else if (rc > 0 && c->n_errors == 0)
    diag_add(c, rc, DIAG_ERROR, "syntax error");
  interpret(c);
  return c;
}

#define CONFIG_MAX_BYTES (1u << 20)

int config_snapshot(const char *path, char **err) {
  size_t len = 0;
  char *data = read_file(path, CONFIG_MAX_BYTES, &len);
  if (!data) {
    *err = errno == EFBIG ? xasprintf("%s: larger than %u bytes", path, CONFIG_MAX_BYTES)
                          : xasprintf("%s: cannot open: %s", path, strerror(errno));
    return -1;
  }
  int fd = memfd_create("slashd.ini", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  bool ok = fd >= 0 && write_all(fd, data, len) &&
            fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) == 0;
  free(data);
  if (!ok) {
    *err = xasprintf("%s: cannot keep a copy in memory: %s", path, strerror(errno));
    if (fd >= 0)
      close(fd);
    return -1;
  }
  return fd;
}

config *config_load_snapshot(const char *path, int *fd, char **err) {
  *fd = config_snapshot(path, err);
  if (*fd < 0)
    return NULL;
  char fdpath[32];
  snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", *fd);
  config *c = config_load_as(fdpath, path, err);
  if (!c) {
    close(*fd);
    *fd = -1;
  }
  return c;
}

void config_free(config *c) {
  if (!c)
    return;
  for (size_t i = 0; i < c->n_sections; i++) {
    cfg_section *s = &c->sections[i];
    for (size_t j = 0; j < s->n; j++) {
      free(s->kv[j].key);
      free(s->kv[j].value);
    }
    free(s->kv);
    free(s->name);
  }
  free(c->sections);
  for (size_t i = 0; i < c->n_plugins; i++) {
    free(c->plugins[i].name);
    free(c->plugins[i].path);
  }
  free(c->plugins);
  for (size_t i = 0; i < c->n_diags; i++)
    free(c->diags[i].msg);
  free(c->diags);
  strv_free(c->response_hosts, c->n_response_hosts);
  strv_free(c->aws_regions, c->n_aws_regions);
  char **strs[] = {&c->file,
                   &c->listen_host,
                   &c->path,
                   &c->actions_path,
                   &c->state_dir,
                   &c->journal,
                   &c->pid_file,
                   &c->tls_cert,
                   &c->tls_key,
                   &c->log_format,
                   &c->log_level,
                   &c->signing_secret_ref,
                   &c->verification_token_ref,
                   &c->command,
                   &c->app_token_ref,
                   &c->api_url,
                   &c->ca_file,
                   &c->aws_region,
                   &c->aws_endpoint_url,
                   &c->role_template,
                   &c->role_name,
                   &c->required_policy,
                   &c->audit_file,
                   &c->plugin_dir,
                   &c->lambda_queue_url,
                   &c->lambda_topic_arn};
  for (size_t i = 0; i < ARRAY_LEN(strs); i++)
    free(*strs[i]);
  free(c);
}

void config_print_diags(const config *c, void *stream) {
  FILE *out = stream;
  for (size_t i = 0; i < c->n_diags; i++) {
    const cfg_diag *d = &c->diags[i];
    const char *lvl = d->level == DIAG_ERROR ? "error" : "warning";
    if (d->line)
      fprintf(out, "%s:%d: %s: %s\n", c->file, d->line, lvl, d->msg);
    else
      fprintf(out, "%s: %s: %s\n", c->file, lvl, d->msg);
  }
}

void config_log_diags(const config *c) {
  for (size_t i = 0; i < c->n_diags; i++) {
    const cfg_diag *d = &c->diags[i];
    log_kv(d->level == DIAG_ERROR ? SLOG_ERROR : SLOG_WARN, "config", KV_S("file", c->file),
           KV_I("line", d->line), KV_S("msg", d->msg));
  }
}

const cfg_section *config_section(const config *c, const char *name) {
  for (size_t i = 0; i < c->n_sections; i++)
    if (strcmp(c->sections[i].name, name) == 0)
      return &c->sections[i];
  return NULL;
}

const cfg_kv *config_get_kv(const cfg_section *s, const char *key) {
  if (!s)
    return NULL;
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->kv[i].key, key) == 0)
      return &s->kv[i];
  return NULL;
}

const char *config_get(const cfg_section *s, const char *key) {
  const cfg_kv *kv = config_get_kv(s, key);
  return kv ? kv->value : NULL;
}

const cfg_plugin *config_plugin(const config *c, const char *name) {
  for (size_t i = 0; i < c->n_plugins; i++)
    if (strcmp(c->plugins[i].name, name) == 0)
      return &c->plugins[i];
  return NULL;
}

bool host_is_loopback(const char *host) {
  char h[256];
  size_t n = strnlen(host, sizeof h - 1); /* cut as snprintf would, without its cost */
  memcpy(h, host, n);
  h[n] = '\0';
  /* strip :port, and [] around IPv6 */
  if (h[0] == '[') {
    char *close = strchr(h, ']');
    if (!close)
      return false;
    *close = '\0';
    memmove(h, h + 1, strlen(h + 1) + 1);
  } else {
    char *colon = strchr(h, ':');
    if (colon && !strchr(colon + 1, ':'))
      *colon = '\0';
  }
  /* Only an address literal in 127/8: a name such as "127.evil.example"
   * resolves anywhere. */
  struct in_addr a4;
  if (inet_pton(AF_INET, h, &a4) == 1)
    return (ntohl(a4.s_addr) >> 24) == 127;
  return strcmp(h, "localhost") == 0 || strcmp(h, "::1") == 0;
}
