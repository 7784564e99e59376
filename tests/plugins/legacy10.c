/* A plugin as it was written for ABI 1.0, compiled against the frozen 1.0
 * SDK (tests/plugins/sdk-1.0) and nothing newer: the host must keep loading
 * and running it.
 *
 *   legacy echo <words…>   the words back, and the plugin's `greeting` key
 *   legacy who             the caller, read through the 1.0 slashd_caller
 *   legacy table           what this plugin sees of the host's API table
 *   legacy progress        two interim replies, then a final one
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slashd/plugin.h"

#if SLASHD_ABI_MAJOR != 1 || SLASHD_ABI_MINOR != 0
#error "legacy10 must be built against the frozen ABI 1.0 SDK"
#endif

typedef struct legacy_state {
  slashd_host *host;
  const slashd_host_api *api;
} legacy_state;

static slashd_status cmd_echo(slashd_call *call, void *state, int argc, const char *const *argv) {
  legacy_state *st = state;
  char buf[512] = "";
  size_t n = 0;
  for (int i = 0; i < argc && n < sizeof buf - 1; i++)
    n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", i ? " " : "", argv[i]);
  const char *greeting = st->api->config(st->host, "greeting");
  char msg[600];
  snprintf(msg, sizeof msg, "%s: %s", greeting ? greeting : "legacy", buf);
  return st->api->reply(call, 0, msg, NULL);
}

static slashd_status cmd_who(slashd_call *call, void *state, int argc, const char *const *argv) {
  (void)argc;
  (void)argv;
  legacy_state *st = state;
  const slashd_caller *c = st->api->caller(call);
  char msg[512];
  snprintf(msg, sizeof msg, "user=%s name=%s channel=%s command=%s text=%s", c->user_id,
           c->user_name, c->channel_id, c->command, c->text);
  return st->api->reply(call, 0, msg, NULL);
}

static slashd_status cmd_table(slashd_call *call, void *state, int argc, const char *const *argv) {
  (void)argc;
  (void)argv;
  legacy_state *st = state;
  char msg[256];
  snprintf(msg, sizeof msg, "host ABI %u.%u, table of %zu bytes, this SDK knows %zu",
           st->api->abi_major, st->api->abi_minor, st->api->size, sizeof(slashd_host_api));
  return st->api->reply(call, 0, msg, NULL);
}

static slashd_status cmd_progress(slashd_call *call, void *state, int argc,
                                  const char *const *argv) {
  (void)argc;
  (void)argv;
  legacy_state *st = state;
  st->api->interim(call, 0, "step 1", NULL);
  st->api->interim(call, 0, "step 2", NULL);
  return st->api->reply(call, 0, "done", NULL);
}

static slashd_status legacy_init(slashd_host *host, const slashd_host_api *api, void **state) {
  /* A 1.0 plugin needs the 1.0 table: everything up to `commands`. */
  if (!SLASHD_HAS(api, commands))
    return SLASHD_ERR_UNSUPPORTED;
  legacy_state *st = calloc(1, sizeof *st);
  if (!st)
    return SLASHD_ERR_NOMEM;
  st->host = host;
  st->api = api;
  *state = st;
  return SLASHD_OK;
}

static void legacy_destroy(void *state) {
  free(state);
}

static const slashd_command commands[] = {
    {.name = "echo",
     .usage = "<words…>",
     .summary = "Say the words back",
     .min_args = 0,
     .max_args = SLASHD_ARGS_ANY,
     .access = SLASHD_READ,
     .handler = cmd_echo,
     .flags = SLASHD_CMD_DEFAULT},
    {.name = "who",
     .usage = "",
     .summary = "Show the caller",
     .min_args = 0,
     .max_args = 0,
     .access = SLASHD_READ,
     .handler = cmd_who},
    {.name = "table",
     .usage = "",
     .summary = "Show the host API table's header",
     .min_args = 0,
     .max_args = 0,
     .access = SLASHD_READ,
     .handler = cmd_table},
    {.name = "progress",
     .usage = "",
     .summary = "Two interim replies, then a final one",
     .min_args = 0,
     .max_args = 0,
     .access = SLASHD_READ,
     .handler = cmd_progress},
    {.name = NULL},
};

static const slashd_plugin descriptor = {
    SLASHD_PLUGIN_HEADER, .name = "legacy",
    .version = "1.0.0",   .summary = "Built against the ABI 1.0 SDK",
    .init = legacy_init,  .destroy = legacy_destroy,
    .commands = commands,
};

SLASHD_PLUGIN_ENTRY(descriptor)
