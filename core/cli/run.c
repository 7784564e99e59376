/* `slashd run`: one command line through the same routing, access checks and
 * plugins as the daemon, replies printed to stdout. For operators and tests. */
#include "cli/run.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/access.h"
#include "worker/awsglue.h"
#include "worker/fanout.h"
#include "cli/cli.h"
#include "base/config.h"
#include "worker/hostapi.h"
#include "base/log.h"
#include "base/place.h"
#include "worker/registry.h"
#include "base/route.h"
#include "base/util.h"

static void print_reply(void *ud, unsigned flags, bool interim, const char *text) {
  (void)ud;
  (void)flags;
  (void)interim;
  /* Plugin and AWS text (console output, tags) cannot drive the terminal. */
  cli_put_clean(text, stdout);
  fputc('\n', stdout);
  fflush(stdout);
}

static void on_alarm(int sig) {
  (void)sig;
  static const char msg[] = "slashd run: the command ran longer than [server] job_timeout and "
                            "was stopped\n";
  (void)!write(2, msg, sizeof msg - 1);
  _exit(RUN_EXIT_TIMEOUT);
}

/* The command running now, for a plugin that calls exit() in its handler:
 * `slashd run` then says so and fails (70), never a silent 0. */
typedef struct run_guard {
  const char *plugin, *cmd; /* NULL: no handler is running */
} run_guard;

static void on_plugin_exit(int status, void *arg) {
  run_guard *g = arg;
  if (!g->plugin)
    return;
  fflush(stdout);
  fprintf(stderr,
          "slashd run: `%s %s` failed: the worker exited during the command (the plugin "
          "called exit(%d))\n",
          g->plugin, g->cmd, status);
  _exit(RUN_EXIT_PLUGIN_EXITED);
}

static void print_diag(void *ud, const char *plugin, int line, bool error, const char *msg) {
  const config *c = ud;
  fprintf(stderr, "%s:%d: %s: [plugin.%s] %s\n", c->file, line, error ? "error" : "warning", plugin,
          msg);
}

/* A command that needs confirmation, without --yes: its describe step and
 * what the prompt would say; nothing is changed. There is no one to click
 * here: the operator runs it again with --yes. */
static int run_prompt(slashd_call *call, const call_place *cp, const route_match *m) {
  slashd_status st = call_describe(call, m->argc, (const char *const *)m->argv);
  if (st != SLASHD_OK || call->error_reported || (call->posts && !call->prompt_what)) {
    call_prompt_free(call);
    return st != SLASHD_OK || call->error_reported ? 1 : 0;
  }
  char *where = place_label(cp->region, cp->account);
  if (call->prompt_what)
    printf("Confirm: %s%s%s?\n", call->prompt_what, *where ? " in " : "", where);
  else
    printf("Confirm: run `%s %s`%s%s?\n", call->caller.command, call->caller.text,
           *where ? " in " : "", where);
  printf("Nothing was done: this command asks for confirmation ([identity] confirm = write). Run "
         "it again with `slashd run --yes ...` to go ahead.\n");
  free(where);
  call_prompt_free(call);
  return 2;
}

/* The words, the place flags, the command they name: the checks admission
 * makes, in the same order. False: the reason is printed. */
static bool read_line(const config *c, const route_table *routes, const char *slash,
                      const char *text, int *wc, char ***words, place *pl, route_match *m) {
  char *msg = NULL;
  bool ok = false;
  if (!route_tokenize(text, wc, words, &msg))
    printf("Could not read the command: %s.\n", msg);
  else if (!place_take(c, wc, *words, pl, &msg))
    printf("%s.\n", msg);
  else if (route_resolve(routes, slash, *wc, *words, m, &msg) != ROUTE_OK)
    printf("%s\n", msg);
  else if (place_fan_out(pl) && m->cmd->access == SLASHD_WRITE)
    printf("`--region all` is for read commands; `%s %s` changes things, so name the one region "
           "it is for.\n",
           m->plugin->name, m->cmd->name);
  else
    ok = true;
  free(msg);
  return ok;
}

/* The caller the plugin sees: --team/--user/... or local defaults. */
static slashd_caller cli_caller(const cli_opts *o, const char *slash) {
  return (slashd_caller){.size = sizeof(slashd_caller),
                         .request_id = "cli",
                         .team_id = o->team_id ? o->team_id : "",
                         .user_id = o->user_id ? o->user_id : "UCLI",
                         .user_name = o->user_name ? o->user_name
                                                   : (getenv("USER") ? getenv("USER") : "cli"),
                         .channel_id = o->channel_id ? o->channel_id : "",
                         .channel_name = o->channel_name ? o->channel_name : "",
                         .command = slash,
                         .text = o->text};
}

/* Runs the resolved command (fanned out over the regions when it asks to);
 * returns run's exit status. */
static int run_command(aws_glue *glue, slashd_call *call, const config *c, const route_match *m) {
  /* On the heap and never freed: on_exit keeps it, and may run after this
   * frame is gone. */
  run_guard *guard = xcalloc(1, sizeof *guard);
  *guard = (run_guard){.plugin = m->plugin->name, .cmd = m->cmd->name};
  on_exit(on_plugin_exit, guard);
  slashd_status st = call_fans_out(call) ? fanout_run(glue, call, c->aws_regions, c->n_aws_regions,
                                                      m->argc, (const char *const *)m->argv)
                                         : call_run(call, m->argc, (const char *const *)m->argv);
  guard->plugin = NULL;
  alarm(0);
  if (st != SLASHD_OK && !call->error_reported)
    printf("%s %s failed: %s.\n", m->plugin->name, m->cmd->name, status_text(st));
  else if (call->posts == 0)
    printf("%s %s finished.\n", m->plugin->name, m->cmd->name);
  if (!str_eq(awsglue_identity(glue), "none"))
    fprintf(stderr, "slashd run: ran as %s%s%s\n", awsglue_identity(glue),
            *awsglue_session(glue) ? ", session " : "", awsglue_session(glue));
  return (st != SLASHD_OK || call->error_reported) ? 1 : 0;
}

int run_main(int argc, char **argv) {
  cli_opts o;
  if (!cli_parse(argc, argv, "run", true, &o))
    return 2;
  int rc = 1;
  char *err = NULL;
  static const cli_load how = {.who = "slashd run",
                               .fail_status = 78,
                               .log = CLI_LOG_TERMINAL,
                               .diags = CLI_DIAGS_ON_ERROR,
                               .refuse_errors = true};
  config *c = cli_load_config(&o, &how, NULL, &rc);
  if (!c) {
    cli_opts_free(&o);
    return rc;
  }
  rc = 1;
  registry *reg = registry_load(c, hostapi_table(), print_diag, c);
  json_t *manifest = registry_manifest(reg);
  route_table *routes = route_table_from_json(manifest, &err);
  json_decref(manifest);
  const char *slash = c->command ? c->command : "/aws";
  int wc = 0;
  char **words = NULL;
  char *msg = NULL;
  aws_glue *glue = NULL;
  route_match m;
  place pl = {0};
  call_place cp = {0};
  if (!read_line(c, routes, slash, o.text, &wc, &words, &pl, &m)) {
    rc = 2;
    goto out;
  }
  slashd_caller caller = cli_caller(&o, slash);
  access_subject who = {.team_id = caller.team_id,
                        .user_id = caller.user_id,
                        .user_name = caller.user_name,
                        .channel_id = caller.channel_id};
  if (access_check(c, &who, m.plugin->name, m.cmd->name, m.cmd->access, &msg) != ACCESS_OK) {
    printf("%s\n", msg);
    rc = 2;
    goto out;
  }
  glue = awsglue_new(c, NULL, NULL);
  slashd_call call = {.caller = caller,
                      .reg = reg,
                      .sink = {.emit = print_reply},
                      .deadline_ms = mono_ms() + (uint64_t)c->job_timeout * 1000u - 500u};
  call_set_place(c, &call, pl.region, pl.account, &cp);
  awsglue_attach(glue, &call);
  call.plugin = registry_find(reg, m.plugin->name);
  call.cmd = call.plugin ? plugin_find_cmd(call.plugin, m.cmd->name) : NULL;
  if (!call.cmd) {
    printf("`%s %s` is not loaded.\n", m.plugin->name, m.cmd->name);
    goto out;
  }
  signal(SIGALRM, on_alarm);
  alarm((unsigned)c->job_timeout);
  if (c->confirm_writes && !o.yes && plugin_cmd_confirms(call.plugin, call.cmd)) {
    rc = run_prompt(&call, &cp, &m);
    alarm(0);
    goto out;
  }
  rc = run_command(glue, &call, c, &m);
out:
  call_place_free(&cp);
  place_free(&pl);
  awsglue_free(glue);
  free(msg);
  free(err);
  route_argv_free(wc, words);
  route_table_unref(routes);
  registry_unload(reg);
  config_free(c);
  cli_opts_free(&o);
  return rc;
}
