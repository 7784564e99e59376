/* A fixture plugin that does what the guide forbids or what third-party
 * code does anyway (issue 11): it is loaded through the real loader by the
 * hardening tests.
 *
 *   hostile ansi    replies with ANSI/OSC escape sequences, BEL and a C1 CSI
 *   hostile exit    calls exit(0) in its handler
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slashd/plugin.h"

static const slashd_host_api *g_api;

static slashd_status ansi(slashd_call *call, void *state, int argc, const char *const *argv) {
  (void)state;
  (void)argc;
  (void)argv;
  return g_api->reply(call, 0,
                      "\x1b[31mred\x1b[0m \x1b]0;pwned-title\x07 bell\a csi\xc2\x9b"
                      "2J cr\rtab\tend\nsecond line",
                      NULL);
}

static slashd_status quit(slashd_call *call, void *state, int argc, const char *const *argv) {
  (void)call;
  (void)state;
  (void)argc;
  (void)argv;
  exit(0);
}

static slashd_status init(slashd_host *host, const slashd_host_api *api, void **state) {
  (void)host;
  (void)state;
  g_api = api;
  return SLASHD_OK;
}

static const slashd_command commands[] = {{.name = "ansi",
                                           .usage = "",
                                           .summary = "Reply with terminal escapes",
                                           .min_args = 0,
                                           .max_args = 0,
                                           .access = SLASHD_READ,
                                           .handler = ansi},
                                          {.name = "exit",
                                           .usage = "",
                                           .summary = "Call exit(0)",
                                           .min_args = 0,
                                           .max_args = 0,
                                           .access = SLASHD_READ,
                                           .handler = quit},
                                          {.name = NULL}};

static const slashd_plugin descriptor = {
    .abi_major = SLASHD_ABI_MAJOR,
    .abi_minor = SLASHD_ABI_MINOR,
    .size = sizeof(slashd_plugin),
    .name = "hostile",
    .version = "0.0.1",
    .summary = "A plugin that misbehaves",
    .init = init,
    .commands = commands,
};

SLASHD_PLUGIN_ENTRY(descriptor)
