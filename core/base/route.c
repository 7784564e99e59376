#include "base/route.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "slashd/plugin.h"

static const char *jstr(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

static void plugin_free(route_plugin *p) {
  for (size_t j = 0; j < p->n; j++) {
    free(p->cmds[j].name);
    free(p->cmds[j].usage);
    free(p->cmds[j].summary);
  }
  free(p->cmds);
  free(p->name);
  free(p->version);
  free(p->summary);
}

static void table_free(route_table *t) {
  for (size_t i = 0; i < t->n; i++)
    plugin_free(&t->p[i]);
  free(t->p);
  free(t);
}

route_table *route_table_from_json(const json_t *manifest, char **err) {
  const json_t *plugins = json_object_get(manifest, "plugins");
  if (!json_is_array(plugins)) {
    *err = xstrdup("manifest has no plugins array");
    return NULL;
  }
  route_table *t = xcalloc(1, sizeof *t);
  atomic_init(&t->refs, 1);
  t->p = xcalloc(json_array_size(plugins), sizeof *t->p);
  size_t i;
  const json_t *jp;
  json_array_foreach(plugins, i, jp) {
    const json_t *cmds = json_object_get(jp, "commands");
    if (!json_is_string(json_object_get(jp, "name")) || !json_is_array(cmds)) {
      *err = xstrdup("manifest plugin without name or commands");
      table_free(t);
      return NULL;
    }
    route_plugin *p = &t->p[t->n++];
    p->name = xstrdup(jstr(jp, "name"));
    p->version = xstrdup(jstr(jp, "version"));
    p->summary = xstrdup(jstr(jp, "summary"));
    p->cmds = xcalloc(json_array_size(cmds), sizeof *p->cmds);
    size_t j;
    const json_t *jc;
    json_array_foreach(cmds, j, jc) {
      route_cmd *c = &p->cmds[p->n++];
      c->name = xstrdup(jstr(jc, "name"));
      c->usage = xstrdup(jstr(jc, "usage"));
      c->summary = xstrdup(jstr(jc, "summary"));
      c->min_args = (int)json_integer_value(json_object_get(jc, "min"));
      c->max_args = (int)json_integer_value(json_object_get(jc, "max"));
      c->access = str_eq(jstr(jc, "access"), "write") ? SLASHD_WRITE : SLASHD_READ;
      c->is_default = json_is_true(json_object_get(jc, "default"));
      c->confirm = json_is_true(json_object_get(jc, "confirm"));
    }
  }
  return t;
}

route_table *route_table_ref(route_table *t) {
  if (t)
    atomic_fetch_add(&t->refs, 1);
  return t;
}

void route_table_unref(route_table *t) {
  if (t && atomic_fetch_sub(&t->refs, 1) == 1)
    table_free(t);
}

/* Recognizes an opening quote at s; returns its byte length and sets the
 * closing sequence. Slack clients often turn "..." into “...”. `strict`:
 * an opening double quote that is never closed is a mistake; a single one
 * is an apostrophe ('90s, 'tis). */
static size_t quote_open(const char *s, const char **close, bool *strict) {
  *strict = true;
  if (*s == '"') {
    *close = "\"";
    return 1;
  }
  if (strncmp(s, "\xe2\x80\x9c", 3) == 0) { /* “ */
    *close = "\xe2\x80\x9d";                /* ” */
    return 3;
  }
  *strict = false;
  if (*s == '\'') {
    *close = "'";
    return 1;
  }
  if (strncmp(s, "\xe2\x80\x98", 3) == 0) { /* ‘ (iOS "smart" single quotes) */
    *close = "\xe2\x80\x99";                /* ’ */
    return 3;
  }
  return 0;
}

/* The closing quote of a group opened just before s: the first `close`
 * that ends a word (followed by white space or the end). One followed by a
 * letter is an apostrophe inside the group (“don’t”). NULL if none. */
static const char *quote_close(const char *s, const char *close) {
  size_t n = strlen(close);
  for (const char *p = strstr(s, close); p; p = strstr(p + 1, close))
    if (!p[n] || isspace((unsigned char)p[n]))
      return p;
  return NULL;
}

/* Quotes group words only where they open a word and close one: anywhere
 * else, and an apostrophe in a word (don't, it’s, dog's), is a letter. */
bool route_tokenize(const char *text, int *argc, char ***argv, char **err) {
  int n = 0;
  char **v = xcalloc(ROUTE_ARGS_MAX + 1, sizeof *v);
  const char *s = text ? text : "";
  for (;;) {
    while (*s && isspace((unsigned char)*s))
      s++;
    if (!*s)
      break;
    if (n == ROUTE_ARGS_MAX) {
      *err = xasprintf("too many words (at most %d)", ROUTE_ARGS_MAX);
      route_argv_free(n, v);
      return false;
    }
    const char *close;
    bool strict;
    size_t q = quote_open(s, &close, &strict);
    const char *end = q ? quote_close(s + q, close) : NULL;
    if (q && !end && strict) {
      *err = xstrdup("unterminated quote");
      route_argv_free(n, v);
      return false;
    }
    if (end) {
      v[n++] = xstrndup(s + q, (size_t)(end - (s + q)));
      s = end + strlen(close);
      continue;
    }
    const char *start = s;
    while (*s && !isspace((unsigned char)*s))
      s++;
    v[n++] = xstrndup(start, (size_t)(s - start));
  }
  *argc = n;
  *argv = v;
  return true;
}

void route_argv_free(int argc, char **argv) {
  if (!argv)
    return;
  for (int i = 0; i < argc; i++)
    free(argv[i]);
  free(argv);
}

static const route_plugin *find_plugin(const route_table *t, const char *name) {
  for (size_t i = 0; i < t->n; i++)
    if (strcmp(t->p[i].name, name) == 0)
      return &t->p[i];
  return NULL;
}

static const route_cmd *find_cmd(const route_plugin *p, const char *name) {
  for (size_t i = 0; i < p->n; i++)
    if (strcmp(p->cmds[i].name, name) == 0)
      return &p->cmds[i];
  return NULL;
}

static const route_cmd *default_cmd(const route_plugin *p) {
  for (size_t i = 0; i < p->n; i++)
    if (p->cmds[i].is_default)
      return &p->cmds[i];
  return NULL;
}

/* Mobile keyboards capitalize the first word ("Ec2 list"). */
static char *lower_copy(const char *s) {
  char *l = xstrdup(s);
  for (char *p = l; *p; p++)
    *p = (char)tolower((unsigned char)*p);
  return l;
}

char *route_usage_line(const char *slash, const char *plugin, const char *cmd, const char *usage,
                       bool is_default) {
  /* Piece by piece, no printf: help words one of these per command. */
  sbuf b = {0};
  sbuf_adds(&b, slash);
  sbuf_addc(&b, ' ');
  sbuf_adds(&b, plugin);
  /* A plugin's default command named after the plugin ("help") reads
   * better without the repetition. */
  if (!(is_default && strcmp(cmd, plugin) == 0)) {
    sbuf_addc(&b, ' ');
    sbuf_adds(&b, cmd);
  }
  if (usage && *usage) {
    sbuf_addc(&b, ' ');
    sbuf_adds(&b, usage);
  }
  return sbuf_steal(&b);
}

char *route_usage(const char *slash, const route_plugin *p, const route_cmd *c) {
  return route_usage_line(slash, p->name, c->name, c->usage, c->is_default);
}

const char *route_slash(const char *configured, const char *typed) {
  if (configured && *configured)
    return configured;
  return typed && *typed ? typed : "/";
}

static char *command_list(const route_plugin *p) {
  sbuf b = {0};
  for (size_t i = 0; i < p->n; i++)
    sbuf_addf(&b, "%s%s", i ? ", " : "", p->cmds[i].name);
  return sbuf_steal(&b);
}

static bool args_fit(const route_cmd *c, int n) {
  return n >= c->min_args && (c->max_args < 0 || n <= c->max_args);
}

static route_status usage_error(const char *slash, const route_plugin *p, const route_cmd *c,
                                char **msg) {
  char *u = route_usage(slash, p, c);
  *msg = xasprintf("Usage: `%s` — %s", u, c->summary);
  free(u);
  return ROUTE_USAGE;
}

route_status route_resolve(const route_table *t, const char *slash, int argc, char **argv,
                           route_match *m, char **msg) {
  *m = (route_match){0};
  *msg = NULL;
  if (argc == 0) {
    const route_plugin *help = find_plugin(t, "help");
    const route_cmd *c = help ? default_cmd(help) : NULL;
    if (!c) {
      *msg = xasprintf("Type `%s <command>`; no help plugin is loaded to list them.", slash);
      return ROUTE_EMPTY;
    }
    *m = (route_match){.plugin = help, .cmd = c, .argc = 0, .argv = argv};
    return ROUTE_OK;
  }
  char *word = lower_copy(argv[0]);
  const route_plugin *p = find_plugin(t, word);
  if (!p) {
    *msg = find_plugin(t, "help")
               ? xasprintf("Unknown command `%s`. Type `%s help` to see what you can run.", argv[0],
                           slash)
               : xasprintf("Unknown command `%s`.", argv[0]);
    free(word);
    return ROUTE_UNKNOWN_PLUGIN;
  }
  free(word);
  const route_cmd *c = NULL;
  if (argc >= 2) {
    char *sub = lower_copy(argv[1]);
    c = find_cmd(p, sub);
    free(sub);
    if (c) {
      if (!args_fit(c, argc - 2))
        return usage_error(slash, p, c, msg);
      *m = (route_match){.plugin = p, .cmd = c, .argc = argc - 2, .argv = argv + 2};
      return ROUTE_OK;
    }
  }
  c = default_cmd(p);
  if (c && args_fit(c, argc - 1)) {
    *m = (route_match){.plugin = p, .cmd = c, .argc = argc - 1, .argv = argv + 1};
    return ROUTE_OK;
  }
  char *list = command_list(p);
  if (argc >= 2) {
    *msg = xasprintf("`%s` has no command `%s`. Its commands: %s.", p->name, argv[1], list);
    free(list);
    return ROUTE_UNKNOWN_COMMAND;
  }
  *msg = xasprintf("`%s %s` needs a command: %s.", slash, p->name, list);
  free(list);
  return ROUTE_USAGE;
}

bool route_name_valid(const char *name) {
  if (!name || !*name || strlen(name) > 32)
    return false;
  for (const char *p = name; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
      return false;
  return true;
}
