/* Fixture plugins for the loader and the isolation tests. One source, built
 * several times with a FIXTURE_* define picking the behaviour:
 *
 *   good        two commands (echo, interim) — replies what it is given
 *   noentry     exports no slashd_plugin_entry
 *   wrongmajor  ABI 2.0
 *   newerminor  ABI 1.<host minor + 1>
 *   initfail    init returns an error
 *   dupname     a second file claiming the name "good"
 *   crash       segfaults in its handler
 *   hang        never returns from its handler
 *   oldminor    built as an ABI 1.0 plugin (the minimum the host accepts)
 *   tracea,     like good (under their own names), and each appends
 *   traceb      "init NAME" / "destroy NAME" to the file named by its
 *               section's `trace` key, so tests can see the call order
 */
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "slashd/plugin.h"

#if defined(FIXTURE_TRACEA)
#define FIXTURE_TRACE
#define TRACE_NAME "tracea"
#elif defined(FIXTURE_TRACEB)
#define FIXTURE_TRACE
#define TRACE_NAME "traceb"
#endif

/* One source, many fixtures: each uses only some of the handlers. */
#pragma GCC diagnostic ignored "-Wunused-function"

#if defined(FIXTURE_WRONGMAJOR)
#define ABI_MAJOR 2
#define ABI_MINOR 0
#elif defined(FIXTURE_NEWERMINOR)
#define ABI_MAJOR SLASHD_ABI_MAJOR
#define ABI_MINOR (SLASHD_ABI_MINOR + 1)
#elif defined(FIXTURE_OLDMINOR)
#define ABI_MAJOR 1
#define ABI_MINOR 0
#elif defined(FIXTURE_MINOR11)
/* As a plugin built with the 1.1 SDK: minor 1, a descriptor without the
 * 1.2 describe step, and a flag bit 1.1 never defined (the host must not
 * read it as "no confirmation"). */
#define ABI_MAJOR 1
#define ABI_MINOR 1
#define DESC_SIZE offsetof(slashd_plugin, describe)
#define CHANGE_FLAGS SLASHD_CMD_NO_CONFIRM
#else
#define ABI_MAJOR SLASHD_ABI_MAJOR
#define ABI_MINOR SLASHD_ABI_MINOR
#endif

#ifndef DESC_SIZE
#define DESC_SIZE sizeof(slashd_plugin)
#endif
#ifndef CHANGE_FLAGS
#define CHANGE_FLAGS 0
#endif

static const slashd_host_api *g_api;

static slashd_status echo(slashd_call *call, void *state, int argc, const char *const *argv) {
  (void)state;
  char buf[2048] = "";
  size_t n = 0;
  for (int i = 0; i < argc && n < sizeof buf - 1; i++)
    n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", i ? " " : "", argv[i]);
  const char *greeting = g_api->config(NULL, "x");
  (void)greeting;
  return g_api->reply(call, 0, buf[0] ? buf : "(nothing)", NULL);
}

static slashd_status interim(slashd_call *call, void *state, int argc, const char *const *argv) {
  (void)state;
  (void)argc;
  (void)argv;
  int sent = 0;
  while (g_api->interim(call, 0, "working…", NULL) == SLASHD_OK)
    sent++;
  char buf[64];
  snprintf(buf, sizeof buf, "done after %d progress messages", sent);
  return g_api->reply(call, 0, buf, NULL);
}

static slashd_status fail(slashd_call *call, void *state, int argc, const char *const *argv) {
  (void)call;
  (void)state;
  (void)argc;
  (void)argv;
  return SLASHD_ERR_INTERNAL;
}

static slashd_status whoami(slashd_call *call, void *state, int argc, const char *const *argv) {
  (void)state;
  (void)argc;
  (void)argv;
  const slashd_caller *c = g_api->caller(call);
  char buf[512];
  snprintf(buf, sizeof buf, "user=%s name=%s channel=%s team=%s req=%s", c->user_id, c->user_name,
           c->channel_id, c->team_id, c->request_id);
  return g_api->reply(call, 0, buf, NULL);
}

static slashd_status sleepy(slashd_call *call, void *state, int argc, const char *const *argv) {
  (void)state;
  int secs = argc ? atoi(argv[0]) : 1;
  g_api->interim(call, 0, "sleeping", NULL);
  sleep((unsigned)secs);
  return g_api->reply(call, 0, "woke up", NULL);
}

static slashd_status crash(slashd_call *call, void *state, int argc, const char *const *argv) {
  (void)call;
  (void)state;
  (void)argc;
  (void)argv;
  raise(SIGSEGV);
  return SLASHD_OK;
}

static slashd_status hang(slashd_call *call, void *state, int argc, const char *const *argv) {
  (void)state;
  (void)argc;
  (void)argv;
  g_api->interim(call, 0, "hanging", NULL);
  for (;;)
    pause();
  return SLASHD_OK;
}

static slashd_status write_cmd(slashd_call *call, void *state, int argc, const char *const *argv) {
  (void)state;
  (void)argc;
  (void)argv;
  return g_api->reply(call, 0, "changed something", NULL);
}

#if defined(FIXTURE_TRACE)
static void trace(const char *path, const char *what) {
  FILE *f = path ? fopen(path, "a") : NULL;
  if (f) {
    fprintf(f, "%s %s\n", what, TRACE_NAME);
    fclose(f);
  }
}

static void destroy(void *state) {
  trace(state, "destroy");
  free(state);
}
#endif

static slashd_status init(slashd_host *host, const slashd_host_api *api, void **state) {
  (void)state;
  g_api = api;
#if defined(FIXTURE_TRACE)
  const char *path = api->config(host, "trace");
  *state = path ? strdup(path) : NULL;
  trace(*state, "init");
  return SLASHD_OK;
#elif defined(FIXTURE_INITFAIL)
  api->log(host, NULL, SLASHD_LOG_ERROR, "this fixture always fails to start");
  return SLASHD_ERR_INTERNAL;
#else
  (void)host;
  return SLASHD_OK;
#endif
}

#if defined(FIXTURE_CRASH)
#define NAME "crash"
static const slashd_command commands[] = {{.name = "now",
                                           .usage = "",
                                           .summary = "Crash the worker",
                                           .min_args = 0,
                                           .max_args = 0,
                                           .access = SLASHD_READ,
                                           .handler = crash,
                                           .flags = SLASHD_CMD_DEFAULT},
                                          {.name = NULL}};
#elif defined(FIXTURE_HANG)
#define NAME "hang"
static const slashd_command commands[] = {{.name = "forever",
                                           .usage = "",
                                           .summary = "Never return",
                                           .min_args = 0,
                                           .max_args = 0,
                                           .access = SLASHD_READ,
                                           .handler = hang,
                                           .flags = SLASHD_CMD_DEFAULT},
                                          {.name = NULL}};
#else
#if defined(FIXTURE_DUPNAME) || defined(FIXTURE_GOOD)
#define NAME "good"
#elif defined(FIXTURE_NOENTRY)
#define NAME "noentry"
#elif defined(FIXTURE_WRONGMAJOR)
#define NAME "wrongmajor"
#elif defined(FIXTURE_NEWERMINOR)
#define NAME "newerminor"
#elif defined(FIXTURE_INITFAIL)
#define NAME "initfail"
#elif defined(FIXTURE_OLDMINOR)
#define NAME "oldminor"
#elif defined(FIXTURE_MINOR11)
#define NAME "minor11"
#elif defined(FIXTURE_TRACE)
#define NAME TRACE_NAME
#endif
static const slashd_command commands[] = {{.name = "echo",
                                           .usage = "<words…>",
                                           .summary = "Say the words back",
                                           .min_args = 0,
                                           .max_args = SLASHD_ARGS_ANY,
                                           .access = SLASHD_READ,
                                           .handler = echo,
                                           .flags = SLASHD_CMD_DEFAULT},
                                          {.name = "interim",
                                           .usage = "",
                                           .summary = "Send progress until refused",
                                           .min_args = 0,
                                           .max_args = 0,
                                           .access = SLASHD_READ,
                                           .handler = interim},
                                          {.name = "whoami",
                                           .usage = "",
                                           .summary = "Show the caller",
                                           .min_args = 0,
                                           .max_args = 0,
                                           .access = SLASHD_READ,
                                           .handler = whoami},
                                          {.name = "fail",
                                           .usage = "",
                                           .summary = "Fail without a reply",
                                           .min_args = 0,
                                           .max_args = 0,
                                           .access = SLASHD_READ,
                                           .handler = fail},
                                          {.name = "sleep",
                                           .usage = "[seconds]",
                                           .summary = "Sleep, then reply",
                                           .min_args = 0,
                                           .max_args = 1,
                                           .access = SLASHD_READ,
                                           .handler = sleepy},
                                          {.name = "change",
                                           .usage = "<thing>",
                                           .summary = "A write command",
                                           .min_args = 1,
                                           .max_args = 1,
                                           .access = SLASHD_WRITE,
                                           .handler = write_cmd,
                                           .flags = CHANGE_FLAGS},
                                          {.name = NULL}};
#endif

static const slashd_plugin descriptor = {
    .abi_major = ABI_MAJOR,
    .abi_minor = ABI_MINOR,
    .size = DESC_SIZE,
    .name = NAME,
    .version = "0.0.1",
    .summary = "A test fixture",
    .init = init,
#if defined(FIXTURE_TRACE)
    .destroy = destroy,
#endif
    .commands = commands,
};

#if !defined(FIXTURE_NOENTRY)
SLASHD_PLUGIN_ENTRY(descriptor)
#else
/* Exported under the wrong name: the host must not find it. */
SLASHD_EXPORT const slashd_plugin *not_the_entry(void);
SLASHD_EXPORT const slashd_plugin *not_the_entry(void) {
  return &descriptor;
}
#endif
