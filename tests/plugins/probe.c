/* A plugin built against the current SDK that also loads on ABI 1.0 hosts:
 * it claims minor 0 and probes every later service before using it.
 *
 *   probe services       which host services this host offers
 *   probe deadline       the job's time left, when the host can tell
 */
#include <stdio.h>
#include <string.h>

#include "slashd/plugin.h"

static const slashd_host_api *g_api;

static slashd_status cmd_services(slashd_call *call, void *state, int argc,
                                  const char *const *argv) {
  (void)state;
  (void)argc;
  (void)argv;
  char msg[256];
  snprintf(msg, sizeof msg, "reply=%d commands=%d aws=%d time_left_ms=%d", SLASHD_HAS(g_api, reply),
           SLASHD_HAS(g_api, commands), SLASHD_HAS(g_api, aws), SLASHD_HAS(g_api, time_left_ms));
  return g_api->reply(call, 0, msg, NULL);
}

static slashd_status cmd_deadline(slashd_call *call, void *state, int argc,
                                  const char *const *argv) {
  (void)state;
  (void)argc;
  (void)argv;
  /* time_left_ms came with ABI 1.1; on a 1.0 host, go without. */
  if (!SLASHD_HAS(g_api, time_left_ms))
    return g_api->reply(call, 0, "this host does not say how long a job may run", NULL);
  char msg[64];
  snprintf(msg, sizeof msg, "%ld ms left", g_api->time_left_ms(call));
  return g_api->reply(call, 0, msg, NULL);
}

static slashd_status probe_init(slashd_host *host, const slashd_host_api *api, void **state) {
  (void)host;
  (void)state;
  g_api = api;
  return SLASHD_OK;
}

static const slashd_command commands[] = {
    {.name = "services",
     .usage = "",
     .summary = "Which host services this host offers",
     .min_args = 0,
     .max_args = 0,
     .access = SLASHD_READ,
     .handler = cmd_services,
     .flags = SLASHD_CMD_DEFAULT},
    {.name = "deadline",
     .usage = "",
     .summary = "The job's time left, when the host can tell",
     .min_args = 0,
     .max_args = 0,
     .access = SLASHD_READ,
     .handler = cmd_deadline},
    {.name = NULL},
};

static const slashd_plugin descriptor = {
    SLASHD_PLUGIN_HEADER_MIN(0), /* loads on 1.0 hosts: probes what came after */
    .name = "probe",
    .version = "0.0.1",
    .summary = "Probes host services",
    .init = probe_init,
    .commands = commands,
};

SLASHD_PLUGIN_ENTRY(descriptor)
