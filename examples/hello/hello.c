/* hello: the example plugin of docs/plugin-guide.md.
 *
 *   /aws hello [name]          greet someone (the default command)
 *   /aws hello whoami          the AWS identity read commands run as
 *   /aws hello me              the IAM role your write commands run as
 *   /aws hello countdown [n]   progress messages, then a final answer
 *
 * Config ([plugin.hello]):
 *   greeting = Hello           the word the greeting starts with
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <slashd/plugin.h>

/* What init keeps for the handlers: one per loaded plugin. */
typedef struct hello_state {
  slashd_host *host;
  const slashd_host_api *api;
  const char *greeting; /* owned by the host, valid until destroy */
} hello_state;

static slashd_status cmd_hello(slashd_call *call, void *state, int argc, const char *const *argv) {
  hello_state *st = state;
  const slashd_caller *who = st->api->caller(call);
  const char *name = argc > 0 ? argv[0] : who->user_name;
  char msg[256];
  snprintf(msg, sizeof msg, "%s, %s!", st->greeting, name);
  return st->api->reply(call, 0, msg, NULL);
}

/* One handler for two commands: `whoami` is a read command and runs with
 * the host's own AWS credentials, `me` is a write command and runs as the
 * caller's IAM role. The host picks the credentials from the table entry. */
static slashd_status cmd_whoami(slashd_call *call, void *state, int argc, const char *const *argv) {
  (void)argc;
  (void)argv;
  hello_state *st = state;
  json_t *out = NULL; /* on SLASHD_OK a new reference: ours to json_decref */
  char err[512];
  slashd_status rc = st->api->aws(call, "sts", "GetCallerIdentity", NULL, &out, err, sizeof err);
  if (rc != SLASHD_OK) {
    /* AWS said no or could not be reached: that is an answer for the user,
     * not a failure of the handler. */
    char msg[640];
    snprintf(msg, sizeof msg, "Could not ask AWS who I am: %s", err);
    return st->api->reply(call, SLASHD_REPLY_ERROR, msg, NULL);
  }
  json_t *result = json_object_get(out, "GetCallerIdentityResult"); /* borrowed from out */
  const char *arn = json_string_value(json_object_get(result, "Arn"));
  char msg[512];
  snprintf(msg, sizeof msg, "This command ran as %s.", arn ? arn : "(AWS did not say)");
  json_decref(out);
  return st->api->reply(call, 0, msg, NULL);
}

static slashd_status cmd_countdown(slashd_call *call, void *state, int argc,
                                   const char *const *argv) {
  hello_state *st = state;
  /* The host checked how many words there are; what they say is ours to
   * check. */
  long from = 3;
  if (argc > 0) {
    char *end;
    from = strtol(argv[0], &end, 10);
    if (*end || from < 1 || from > 3) {
      char msg[128];
      snprintf(msg, sizeof msg, "`%.20s` is not a number from 1 to 3.", argv[0]);
      return st->api->reply(call, SLASHD_REPLY_ERROR, msg, NULL);
    }
  }
  for (long n = from; n > 0; n--) {
    char msg[32];
    snprintf(msg, sizeof msg, "%ld…", n);
    st->api->interim(call, 0, msg, NULL);
    /* Never wait past the job's deadline: leave time for the last word. */
    if (st->api->time_left_ms(call) < 2000)
      return st->api->reply(call, SLASHD_REPLY_ERROR, "Out of time before liftoff.", NULL);
    sleep(1);
  }
  return st->api->reply(call, 0, "Liftoff!", NULL);
}

static slashd_status hello_init(slashd_host *host, const slashd_host_api *api, void **state) {
  hello_state *st = calloc(1, sizeof *st);
  if (!st)
    return SLASHD_ERR_NOMEM;
  st->host = host;
  st->api = api;
  st->greeting = api->config(host, "greeting");
  if (!st->greeting || !*st->greeting)
    st->greeting = "Hello";
  api->log(host, NULL, SLASHD_LOG_DEBUG, "greeting with \"%s\"", st->greeting);
  *state = st;
  return SLASHD_OK;
}

static void hello_destroy(void *state) {
  free(state);
}

static const slashd_command commands[] = {
    {.name = "hello",
     .usage = "[name]",
     .summary = "Say hello",
     .min_args = 0,
     .max_args = 1,
     .access = SLASHD_READ,
     .handler = cmd_hello,
     .flags = SLASHD_CMD_DEFAULT},
    {.name = "whoami",
     .usage = "",
     .summary = "Show the AWS identity read commands run as",
     .min_args = 0,
     .max_args = 0,
     .access = SLASHD_READ,
     .handler = cmd_whoami},
    {.name = "me",
     .usage = "",
     .summary = "Show the IAM role your write commands run as",
     .min_args = 0,
     .max_args = 0,
     .access = SLASHD_WRITE,
     .handler = cmd_whoami,
     .flags = SLASHD_CMD_NO_CONFIRM}, /* only looks: no confirmation prompt */
    {.name = "countdown",
     .usage = "[1-3]",
     .summary = "Count down with progress messages",
     .min_args = 0,
     .max_args = 1,
     .access = SLASHD_READ,
     .handler = cmd_countdown},
    {.name = NULL},
};

static const slashd_plugin descriptor = {
    SLASHD_PLUGIN_HEADER, /* the ABI this was built for, and the descriptor's size */
    .name = "hello",
    .version = "1.0.0",
    .summary = "The example plugin of the plugin guide",
    .init = hello_init,
    .destroy = hello_destroy,
    .commands = commands,
};

SLASHD_PLUGIN_ENTRY(descriptor)
