/* The host side of the plugin SDK: the API table and one command call. The
 * same code serves a worker process (replies go to the main process) and
 * `slashd run` (replies go to stdout). */
#ifndef SLASHD_HOSTAPI_H
#define SLASHD_HOSTAPI_H

#include <stdbool.h>

#include "worker/registry.h"
#include "slashd/plugin.h"

#define JOB_MAX_POSTS 5   /* Slack: 5 response_url posts per command */
#define JOB_MAX_INTERIM 3 /* leaves room for the final reply */

/* Where a call's replies go. `text` is final Slack text (message_text). */
typedef struct call_sink {
  void (*emit)(void *ud, unsigned flags, bool interim, const char *text);
  /* The same with Block Kit blocks (borrowed, already fitted to Slack's
   * limits); NULL: this sink shows text only, and gets emit(). */
  void (*emit_blocks)(void *ud, unsigned flags, bool interim, const char *text,
                      const json_t *blocks);
  void *ud;
} call_sink;

/* Performs a plugin's AWS call; supplied by whoever runs the call (the
 * worker or `slashd run`), which decides the credentials. */
typedef slashd_status (*call_aws_fn)(void *ud, slashd_call *call, const char *service,
                                     const char *action, const json_t *params, json_t **out,
                                     char *err, size_t err_len);

struct slashd_call {
  slashd_caller caller;
  registry *reg;
  plugin_inst *plugin;
  const slashd_command *cmd;
  call_sink sink;
  call_aws_fn aws; /* NULL: no AWS client here */
  void *aws_ud;
  uint64_t deadline_ms; /* monotonic; 0 = none */
  const char *label;    /* where it ran, "eu-west-1 (prod)", added to every reply; or NULL */
  bool describing;      /* in a describe step: read-only AWS calls, confirm_with allowed */
  char *prompt_what;    /* what confirm_with said (owned; call_prompt_free) */
  char *prompt_verb;
  char *prompt_doing;
  int posts;
  int interims;
  bool error_reported;
};

const slashd_host_api *hostapi_table(void);

/* `text` (formatted, taken) with call->label as its last line. New string. */
char *hostapi_add_label(const slashd_call *call, char *text);

/* Where a call runs, from the job's --region (NULL/"": none) and --account
 * (NULL/"": none): sets call->caller.region/account and call->label. The
 * strings live in *cp until call_place_free. A label is shown when the user
 * named a place or the host serves more than one ([aws] regions,
 * [accounts]). */
typedef struct call_place {
  char *region;
  char *account;
  char *label;
} call_place;
void call_set_place(const config *c, slashd_call *call, const char *region, const char *account,
                    call_place *cp);
void call_place_free(call_place *cp);
/* True when the call is a `--region all` fan-out. */
bool call_fans_out(const slashd_call *call);

/* Runs the handler of call->cmd. Replies already sent are counted in call. */
slashd_status call_run(slashd_call *call, int argc, const char *const *argv);

/* The describe step of a command that needs confirmation: the plugin's
 * (ABI 1.2) or none. Afterwards call->prompt_* hold what the prompt says
 * (NULL: the generic prompt), unless call->error_reported (no prompt). */
slashd_status call_describe(slashd_call *call, int argc, const char *const *argv);
void call_prompt_free(slashd_call *call);
/* True for the AWS actions a describe step may call (Describe*, Get*,
 * List*, Head*). */
bool hostapi_read_action(const char *action);

/* A readable word for a status ("denied", "out of memory"). */
const char *status_text(slashd_status st);

#endif
