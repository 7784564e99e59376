/* help: lists the commands this user may run, straight from the registry. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/buf.h"
#include "slashd/plugin.h"

typedef struct help_state {
  const slashd_host_api *api;
} help_state;

typedef struct listing {
  const slashd_host_api *api;
  slashd_call *call;
  const char *only; /* plugin name to show, or NULL */
  pbuf out;
  int count;
  int width;
  int pass; /* 0: measure the widest usage, 1: write */
} listing;

/* The usage column is the host's own wording (the same as its usage
 * errors, ABI 1.2), so help and the router can never disagree. */
static int visit(void *ud, const char *plugin, const char *plugin_summary,
                 const slashd_command *cmd) {
  (void)plugin_summary;
  listing *l = ud;
  if (l->only && strcmp(l->only, plugin) != 0)
    return 0;
  char usage[256];
  if (SLASHD_HAS(l->api, usage))
    l->api->usage(l->call, plugin, cmd, usage, sizeof usage);
  else /* a host older than 1.2 cannot word it: the bare names */
    snprintf(usage, sizeof usage, "%s %s", plugin, cmd->name);
  int w = (int)strlen(usage);
  if (l->pass == 0) {
    if (w > l->width)
      l->width = w;
    l->count++;
    return 0;
  }
  /* "%-*s  %s%s\n", piece by piece: a printf per command was most of the
   * listing's cost. */
  static const char pad[] = "                                ";
  pbuf_add(&l->out, usage, (size_t)w);
  for (int left = (l->width > w ? l->width - w : 0) + 2; left > 0; left -= (int)(sizeof pad - 1))
    pbuf_add(&l->out, pad, left < (int)(sizeof pad - 1) ? (size_t)left : sizeof pad - 1);
  const char *summary = cmd->summary ? cmd->summary : "";
  pbuf_add(&l->out, summary, strlen(summary));
  if (cmd->access == SLASHD_WRITE)
    pbuf_add(&l->out, " (runs as your IAM role)", strlen(" (runs as your IAM role)"));
  pbuf_add(&l->out, "\n", 1);
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
  const char *slash = who->command && *who->command ? who->command : "/aws";
  listing l = {.api = st->api, .call = call, .only = argc > 0 ? argv[0] : NULL};
  st->api->commands(call, visit, &l);
  if (l.count == 0) {
    char msg[256];
    if (l.only)
      snprintf(msg, sizeof msg,
               "There is no plugin `%s`, or you may not run any of its commands. Type `%s help` "
               "for the list.",
               l.only, slash);
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
  pbuf_add(&l.out, FLAGS_HELP, strlen(FLAGS_HELP));
  slashd_status rc =
      l.out.failed ? SLASHD_ERR_NOMEM : st->api->reply(call, 0, title, l.out.p ? l.out.p : "");
  free(l.out.p);
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
