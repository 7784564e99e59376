/* Command text → plugin + command + arguments, checked against the table of
 * commands the workers loaded (their manifest). Used by the front door (to
 * answer usage errors in the ack) and by `slashd run`. */
#ifndef SLASHD_ROUTE_H
#define SLASHD_ROUTE_H

#include <stdatomic.h>
#include <stdbool.h>

#include <jansson.h>

#include "base/util.h"

typedef struct route_cmd {
  char *name;
  char *usage;
  char *summary;
  int min_args;
  int max_args; /* < 0: unbounded */
  int access;   /* SLASHD_READ / SLASHD_WRITE */
  bool is_default;
  bool confirm; /* asks the user to confirm before it runs (manifest "confirm") */
} route_cmd;

typedef struct route_plugin {
  char *name;
  char *version;
  char *summary;
  route_cmd *cmds;
  size_t n;
} route_plugin;

typedef struct route_table {
  atomic_int refs;
  route_plugin *p;
  size_t n;
} route_table;

/* Builds a table from a manifest: {"plugins":[{"name","version","summary",
 * "commands":[{"name","usage","summary","min","max","access","default"}]}]}.
 * Returns NULL (with *err) when the manifest is malformed. refs = 1. */
route_table *route_table_from_json(const json_t *manifest, char **err);
route_table *route_table_ref(route_table *t);
void route_table_unref(route_table *t);

/* Splits command text into words. White space separates; "double", 'single'
 * and Slack's “curly” quotes group. Returns false (with *err) on an
 * unterminated quote or too many words. */
#define ROUTE_ARGS_MAX 32
bool route_tokenize(const char *text, int *argc, char ***argv, char **err);
void route_argv_free(int argc, char **argv);

typedef enum {
  ROUTE_OK = 0,
  ROUTE_EMPTY,           /* no words and no help plugin */
  ROUTE_UNKNOWN_PLUGIN,  /* first word names no plugin */
  ROUTE_UNKNOWN_COMMAND, /* second word names no command of the plugin */
  ROUTE_USAGE            /* wrong number of arguments */
} route_status;

typedef struct route_match {
  const route_plugin *plugin;
  const route_cmd *cmd;
  int argc;          /* arguments after the command name */
  char *const *argv; /* borrowed from the tokenized words */
} route_match;

/* Resolves words against the table. `slash` is the slash command for the
 * messages ("/aws"). On failure *msg gets a helpful text for the user
 * (plain, to be escaped). Plugin and command names match case-insensitively
 * (mobile keyboards capitalize); the words themselves are left as typed. */

route_status route_resolve(const route_table *t, const char *slash, int argc, char **argv,
                           route_match *m, char **msg);

/* A plugin or command name, as config sections and descriptors must spell
 * it: 1 to 32 characters of a-z, 0-9, '_' and '-' (ASCII, whatever the
 * locale). The one check the ini parser and the plugin loader share. */
bool route_name_valid(const char *name);

/* "/aws ec2 stop <instance-id>" */
char *route_usage(const char *slash, const route_plugin *p, const route_cmd *c);
/* The same line from its parts (what the plugin SDK's `usage` hands to
 * `help`): usage may be NULL or "". */
char *route_usage_line(const char *slash, const char *plugin, const char *cmd, const char *usage,
                       bool is_default);
/* The slash command messages name: the configured one, else the one typed,
 * else "/". */
const char *route_slash(const char *configured, const char *typed);

#endif
