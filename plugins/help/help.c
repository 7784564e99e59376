/* help: lists the commands this user may run, straight from the registry. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slashd/plugin.h"

typedef struct help_state {
  const slashd_host_api *api;
} help_state;

typedef struct listing {
  const char *only;  /* plugin name to show, or NULL */
  const char *slash; /* "/aws" */
  char *buf;
  size_t len, cap;
  int count;
  int width;
  int pass; /* 0: measure the widest usage, 1: write */
} listing;

static void add(listing *l, const char *s, size_t n) {
  if (l->len + n + 1 > l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 1024;
    while (cap < l->len + n + 1)
      cap *= 2;
    char *p = realloc(l->buf, cap);
    if (!p)
      return;
    l->buf = p;
    l->cap = cap;
  }
  memcpy(l->buf + l->len, s, n);
  l->len += n;
  l->buf[l->len] = '\0';
}

static int visit(void *ud, const char *plugin, const char *plugin_summary,
                 const slashd_command *cmd) {
  (void)plugin_summary;
  listing *l = ud;
  if (l->only && strcmp(l->only, plugin) != 0)
    return 0;
  char usage[256];
  bool bare = (cmd->flags & SLASHD_CMD_DEFAULT) && strcmp(cmd->name, plugin) == 0;
  snprintf(usage, sizeof usage, "%s %s%s%s%s%s", l->slash, plugin, bare ? "" : " ",
           bare ? "" : cmd->name, cmd->usage && *cmd->usage ? " " : "",
           cmd->usage ? cmd->usage : "");
  int w = (int)strlen(usage);
  if (l->pass == 0) {
    if (w > l->width)
      l->width = w;
    l->count++;
    return 0;
  }
  char line[512];
  int n =
      snprintf(line, sizeof line, "%-*s  %s%s\n", l->width, usage, cmd->summary ? cmd->summary : "",
               cmd->access == SLASHD_WRITE ? " (runs as your IAM role)" : "");
  if (n > 0)
    add(l, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
  return 0;
}

#define FLAGS_HELP                                                                                 \
  "\nFlags for any command:\n"                                                                     \
  "  --region R, -r R, --region=R   run in AWS region R (e.g. eu-west-1)\n"                        \
  "  --region all                   read commands: every region this host serves\n"                \
  "  --account ALIAS                run in the account an admin named ALIAS\n"

static slashd_status help_cmd(slashd_call *call, void *state, int argc, const char *const *argv) {
  help_state *st = state;
  const slashd_caller *who = st->api->caller(call);
  listing l = {.only = argc > 0 ? argv[0] : NULL,
               .slash = who->command && *who->command ? who->command : "/aws"};
  st->api->commands(call, visit, &l);
  if (l.count == 0) {
    char msg[256];
    if (l.only)
      snprintf(msg, sizeof msg,
               "There is no plugin `%s`, or you may not run any of its commands. Type `%s help` "
               "for the list.",
               l.only, l.slash);
    else
      snprintf(msg, sizeof msg, "There are no commands you may run here.");
    return st->api->reply(call, SLASHD_REPLY_ERROR, msg, NULL);
  }
  l.pass = 1;
  st->api->commands(call, visit, &l);
  char title[160];
  if (l.only)
    snprintf(title, sizeof title, "Commands of %s you can run:", l.only);
  else
    snprintf(title, sizeof title, "Commands you can run (%d):", l.count);
  /* The host takes these flags off any command line before routing. */
  add(&l, FLAGS_HELP, strlen(FLAGS_HELP));
  slashd_status rc = st->api->reply(call, 0, title, l.buf ? l.buf : "");
  free(l.buf);
  return rc;
}

static slashd_status help_init(slashd_host *host, const slashd_host_api *api, void **state) {
  (void)host;
  if (!SLASHD_HAS(api, commands))
    return SLASHD_ERR_UNSUPPORTED;
  help_state *st = calloc(1, sizeof *st);
  if (!st)
    return SLASHD_ERR_NOMEM;
  st->api = api;
  *state = st;
  return SLASHD_OK;
}

static void help_destroy(void *state) {
  free(state);
}

static const slashd_command commands[] = {
    {.name = "help",
     .usage = "[plugin]",
     .summary = "List the commands you may run",
     .min_args = 0,
     .max_args = 1,
     .access = SLASHD_READ,
     .handler = help_cmd,
     .flags = SLASHD_CMD_DEFAULT},
    {.name = NULL},
};

static const slashd_plugin descriptor = {
    SLASHD_PLUGIN_HEADER, .name = "help",
    .version = "1.0.0",   .summary = "Lists the commands you may run",
    .init = help_init,    .destroy = help_destroy,
    .commands = commands,
};

SLASHD_PLUGIN_ENTRY(descriptor)
