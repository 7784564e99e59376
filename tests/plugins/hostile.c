/* A fixture plugin that does what the guide forbids or what third-party
 * code does anyway (issue 11): it is loaded through the real loader by the
 * hardening tests.
 *
 *   hostile ansi    replies with ANSI/OSC escape sequences, BEL and a C1 CSI
 *   hostile exit    calls exit(0) in its handler
 *   hostile alloc N allocates N MB in 1 MB pieces (touched, kept); on a
 *                   failed allocation it returns SLASHD_ERR_NOMEM
 *   hostile thread  starts a thread that never ends, then replies "threaded"
 *   hostile plant   as a compromised plugin would: writes `creds` messages
 *                   straight to its worker's socket (fd 3) — one for another
 *                   user (UVICTIM), one for its own caller without expiry
 *   hostile print   prints 100 lines to stdout (one a fake host log line, one
 *                   2,000 bytes long) and 3 to stderr, then replies "printed"
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
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

/* Ends the process at once with a status of its own choosing, past every
 * exit handler: only its wait status can tell the main process what
 * happened (a spawner's worker: reported by the spawner). */
static slashd_status die(slashd_call *call, void *state, int argc, const char *const *argv) {
  (void)call;
  (void)state;
  _exit(argc ? atoi(argv[0]) : 3);
}

static slashd_status print(slashd_call *call, void *state, int argc, const char *const *argv) {
  (void)state;
  (void)argc;
  (void)argv;
  printf("ts=2020-01-01T00:00:00.000Z level=info proc=main event=audit req=forged outcome=ok\n");
  char big[2001];
  memset(big, 'b', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  printf("%s\n", big);
  for (int i = 0; i < 98; i++)
    printf("stdout line %d\n", i);
  for (int i = 0; i < 3; i++)
    fprintf(stderr, "stderr line %d\n", i);
  return g_api->reply(call, 0, "printed", NULL);
}

/* What `alloc` keeps: reachable (so a leak checker does not call it lost),
 * never freed — the worker stays big, as with a plugin's cache gone wrong. */
static char *g_kept[4096];
static size_t g_nkept;

static slashd_status alloc(slashd_call *call, void *state, int argc, const char *const *argv) {
  (void)state;
  long mb = argc > 0 ? strtol(argv[0], NULL, 10) : 0;
  for (long i = 0; i < mb && g_nkept < sizeof g_kept / sizeof *g_kept; i++) {
    char *p = malloc(1024 * 1024);
    if (!p)
      return SLASHD_ERR_NOMEM;
    memset(p, 1, 1024 * 1024); /* resident */
    g_kept[g_nkept++] = p;
  }
  return g_api->reply(call, 0, "allocated", NULL);
}

static void *forever(void *arg) {
  (void)arg;
  for (;;)
    pause();
  return NULL;
}

static slashd_status thread(slashd_call *call, void *state, int argc, const char *const *argv) {
  (void)state;
  (void)argc;
  (void)argv;
  pthread_t t;
  if (pthread_create(&t, NULL, forever, NULL) == 0)
    pthread_detach(t);
  return g_api->reply(call, 0, "threaded", NULL);
}

static void send_creds(const char *key, long long exp) {
  char msg[512];
  int n = snprintf(msg, sizeof msg,
                   "{\"t\":\"creds\",\"v\":1,\"entry\":{\"key\":\"%s\",\"role\":"
                   "\"arn:aws:iam::123456789012:role/planted\",\"session\":\"slashd-x\","
                   "\"akid\":\"ASIAPLANTED\",\"secret\":\"s\",\"token\":\"t\",\"exp\":%lld}}",
                   key, exp);
  (void)!send(3, msg, (size_t)n, MSG_NOSIGNAL);
}

static slashd_status plant(slashd_call *call, void *state, int argc, const char *const *argv) {
  (void)state;
  (void)argc;
  (void)argv;
  const slashd_caller *who = g_api->caller(call);
  char key[256];
  snprintf(key, sizeof key, "%s|UVICTIM|%s|", who->team_id, who->channel_id);
  send_creds(key, 4102444800LL); /* 2100 */
  snprintf(key, sizeof key, "%s|%s|%s|", who->team_id, who->user_id, who->channel_id);
  send_creds(key, 0);
  return g_api->reply(call, 0, "planted", NULL);
}

/* Unload gives back what `alloc` kept. */
static void destroy(void *state) {
  (void)state;
  for (size_t i = 0; i < g_nkept; i++)
    free(g_kept[i]);
  g_nkept = 0;
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
                                          {.name = "die",
                                           .usage = "<status>",
                                           .summary = "Call _exit(status)",
                                           .min_args = 1,
                                           .max_args = 1,
                                           .access = SLASHD_READ,
                                           .handler = die},
                                          {.name = "print",
                                           .usage = "",
                                           .summary = "Print to stdout and stderr",
                                           .min_args = 0,
                                           .max_args = 0,
                                           .access = SLASHD_READ,
                                           .handler = print},
                                          {.name = "alloc",
                                           .usage = "<MB>",
                                           .summary = "Allocate and keep memory",
                                           .min_args = 1,
                                           .max_args = 1,
                                           .access = SLASHD_READ,
                                           .handler = alloc},
                                          {.name = "thread",
                                           .usage = "",
                                           .summary = "Leave a thread running",
                                           .min_args = 0,
                                           .max_args = 0,
                                           .access = SLASHD_READ,
                                           .handler = thread},
                                          {.name = "plant",
                                           .usage = "",
                                           .summary = "Plant credentials for another user",
                                           .min_args = 0,
                                           .max_args = 0,
                                           .access = SLASHD_READ,
                                           .handler = plant},
                                          {.name = NULL}};

static const slashd_plugin descriptor = {
    .abi_major = SLASHD_ABI_MAJOR,
    .abi_minor = SLASHD_ABI_MINOR,
    .size = sizeof(slashd_plugin),
    .name = "hostile",
    .version = "0.0.1",
    .summary = "A plugin that misbehaves",
    .init = init,
    .destroy = destroy,
    .commands = commands,
};

SLASHD_PLUGIN_ENTRY(descriptor)
