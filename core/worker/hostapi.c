#include "worker/hostapi.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/access.h"
#include "base/log.h"
#include "base/message.h"
#include "base/place.h"
#include "base/route.h"
#include "base/util.h"

char *hostapi_add_label(const slashd_call *call, char *text) {
  if (!call->label || !*call->label)
    return text;
  /* The label is a checked region name and account alias: nothing to
   * escape. */
  char *l = xasprintf("%s\n:round_pushpin: %s", text, call->label);
  free(text);
  return l;
}

/* Where it ran, as the blocks' last context line (the label is a checked
 * region name and account alias). Takes and returns `blocks`. */
static json_t *with_label_block(const slashd_call *call, json_t *blocks) {
  if (!blocks || !call->label || !*call->label)
    return blocks;
  char *t = xasprintf(":round_pushpin: %s", call->label);
  json_t *ctx = json_pack("{s:s, s:[{s:s, s:s}]}", "type", "context", "elements", "type", "mrkdwn",
                          "text", t);
  free(t);
  if (json_array_size(blocks) >= SLACK_BLOCKS_MAX)
    json_array_remove(blocks, json_array_size(blocks) - 1);
  json_array_append_new(blocks, ctx);
  return blocks;
}

static void api_log(slashd_host *host, slashd_call *call, slashd_log_level level, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));

static slashd_status emit(slashd_call *call, unsigned flags, bool interim, const char *text,
                          const char *code, const json_t *blocks) {
  if (!call || ((!text || !*text) && (!code || !*code)))
    return SLASHD_ERR_ARGS;
  if (call->posts >= JOB_MAX_POSTS)
    return SLASHD_ERR_LIMIT;
  if (interim && (call->interims >= JOB_MAX_INTERIM || call->posts >= JOB_MAX_POSTS - 1))
    return SLASHD_ERR_LIMIT;
  char *formatted = message_text(flags, text, code);
  if (!*formatted) { /* only newlines: nothing to show */
    free(formatted);
    return SLASHD_ERR_ARGS;
  }
  formatted = hostapi_add_label(call, formatted);
  json_t *fitted = NULL;
  if (blocks && call->sink.emit_blocks) {
    size_t cut = 0;
    fitted = message_blocks_fit(json_deep_copy(blocks), &cut);
    if (cut)
      api_log(call->plugin ? &call->plugin->host : NULL, call, SLASHD_LOG_INFO,
              "%zu blocks over Slack's limit were left out", cut);
    fitted = with_label_block(call, fitted);
  }
  if (fitted)
    call->sink.emit_blocks(call->sink.ud, flags, interim, formatted, fitted);
  else
    call->sink.emit(call->sink.ud, flags, interim, formatted);
  json_decref(fitted);
  free(formatted);
  call->posts++;
  if (interim)
    call->interims++;
  if (flags & SLASHD_REPLY_ERROR)
    call->error_reported = true;
  return SLASHD_OK;
}

static slashd_status api_reply(slashd_call *call, unsigned flags, const char *text,
                               const char *code) {
  return emit(call, flags, false, text, code, NULL);
}

static slashd_status api_reply_blocks(slashd_call *call, unsigned flags, const char *text,
                                      const char *code, const json_t *blocks) {
  if (blocks && !json_is_array(blocks))
    return SLASHD_ERR_ARGS;
  return emit(call, flags, false, text, code, blocks);
}

static slashd_status api_interim(slashd_call *call, unsigned flags, const char *text,
                                 const char *code) {
  return emit(call, flags, true, text, code, NULL);
}

static const slashd_caller *api_caller(slashd_call *call) {
  return call ? &call->caller : NULL;
}

static const char *api_config(slashd_host *host, const char *key) {
  if (!host || !key)
    return NULL;
  return config_get(host->section, key);
}

static void api_log(slashd_host *host, slashd_call *call, slashd_log_level level, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));

static void api_log(slashd_host *host, slashd_call *call, slashd_log_level level, const char *fmt,
                    ...) {
  int lvl = (int)level;
  if (lvl < SLOG_DEBUG || lvl > SLOG_ERROR)
    lvl = SLOG_INFO;
  if (!log_enabled(lvl) || !fmt)
    return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  log_kv(lvl, "plugin_log", KV_S("plugin", host ? host->name : "?"),
         KV_S("req", call ? call->caller.request_id : ""), KV_S("msg", msg));
}

static int api_commands(slashd_call *call, slashd_command_visitor visit, void *ud) {
  if (!call || !visit)
    return 0;
  const registry *r = call->reg;
  access_subject who = {.team_id = call->caller.team_id,
                        .user_id = call->caller.user_id,
                        .user_name = call->caller.user_name,
                        .channel_id = call->caller.channel_id};
  int n = 0;
  for (size_t i = 0; i < r->n; i++) {
    const plugin_inst *p = r->p[i];
    for (size_t j = 0; j < p->n_cmds; j++) {
      const slashd_command *c = &p->desc->commands[j];
      if (access_check(r->cfg, &who, p->host.name, c->name, (int)c->access, NULL) != ACCESS_OK)
        continue;
      n++;
      if (visit(ud, p->host.name, p->desc->summary ? p->desc->summary : "", c))
        return n;
    }
  }
  return n;
}

static slashd_status api_aws(slashd_call *call, const char *service, const char *action,
                             const json_t *params, json_t **out, char *err, size_t err_len) {
  if (out)
    *out = NULL;
  if (err && err_len)
    err[0] = '\0';
  if (!call || !service || !action || !out)
    return SLASHD_ERR_ARGS;
  if (!call->aws) {
    if (err && err_len)
      snprintf(err, err_len, "this host has no AWS client");
    return SLASHD_ERR_UNSUPPORTED;
  }
  /* A describe step runs before the user said yes: it may only look. */
  if (call->describing && !hostapi_read_action(action)) {
    if (err && err_len)
      snprintf(err, err_len, "%s is not a read call; a describe step may only look", action);
    return SLASHD_ERR_DENIED;
  }
  return call->aws(call->aws_ud, call, service, action, params, out, err, err_len);
}

static long api_time_left_ms(slashd_call *call) {
  if (!call || !call->deadline_ms)
    return 24L * 3600 * 1000;
  uint64_t now = mono_ms();
  return now >= call->deadline_ms ? 0 : (long)(call->deadline_ms - now);
}

bool hostapi_read_action(const char *action) {
  static const char *const reads[] = {"Describe", "Get", "List", "Head"};
  for (size_t i = 0; i < ARRAY_LEN(reads); i++)
    if (str_starts(action, reads[i]) && isupper((unsigned char)action[strlen(reads[i])]))
      return true;
  return false;
}

static slashd_status api_confirm_with(slashd_call *call, const char *what, const char *verb,
                                      const char *doing) {
  if (!call || !call->describing || !what || !*what)
    return SLASHD_ERR_ARGS;
  call_prompt_free(call);
  call->prompt_what = utf8_sanitize(what, strlen(what));
  call->prompt_verb =
      utf8_sanitize(verb && *verb ? verb : "Go ahead", strlen(verb && *verb ? verb : "Go ahead"));
  call->prompt_doing = doing && *doing ? utf8_sanitize(doing, strlen(doing)) : NULL;
  return SLASHD_OK;
}

static size_t api_usage(slashd_call *call, const char *plugin, const slashd_command *cmd, char *buf,
                        size_t len) {
  if (len)
    buf[0] = '\0';
  if (!call || !plugin || !cmd || !cmd->name)
    return 0;
  const config *cfg = call->reg ? call->reg->cfg : NULL;
  const char *slash = route_slash(cfg ? cfg->command : NULL, call->caller.command);
  char *line = route_usage_line(slash, plugin, cmd->name, cmd->usage,
                                (cmd->flags & SLASHD_CMD_DEFAULT) != 0);
  size_t n = strlen(line);
  if (len) { /* as snprintf("%s") would, without its cost per call */
    size_t k = n < len ? n : len - 1;
    memcpy(buf, line, k);
    buf[k] = '\0';
  }
  free(line);
  return n;
}

static const slashd_host_api api_table = {
    .size = sizeof(slashd_host_api),
    .abi_major = SLASHD_ABI_MAJOR,
    .abi_minor = SLASHD_ABI_MINOR,
    .reply = api_reply,
    .interim = api_interim,
    .caller = api_caller,
    .config = api_config,
    .log = api_log,
    .commands = api_commands,
    .aws = api_aws,
    .time_left_ms = api_time_left_ms,
    .usage = api_usage,
    .confirm_with = api_confirm_with,
    .reply_blocks = api_reply_blocks,
};

const slashd_host_api *hostapi_table(void) {
  return &api_table;
}

void call_set_place(const config *c, slashd_call *call, const char *region, const char *account,
                    call_place *cp) {
  bool named = (region && *region) || (account && *account);
  place pl = {.region = region && *region ? (char *)region : NULL};
  place_account acct = {0};
  bool have = account && *account && place_account_get(c, account, &acct, NULL);
  const char *r = place_region(c, &pl, have ? &acct : NULL);
  cp->region = xstrdup(r ? r : "");
  cp->account = xstrdup(have ? acct.alias : "");
  cp->label =
      named || c->n_aws_regions || c->accounts ? place_label(cp->region, cp->account) : NULL;
  place_account_free(&acct);
  call->caller.region = cp->region;
  call->caller.account = cp->account;
  call->label = cp->label;
}

void call_place_free(call_place *cp) {
  free(cp->region);
  free(cp->account);
  free(cp->label);
}

bool call_fans_out(const slashd_call *call) {
  return str_eq(call->caller.region, PLACE_ALL);
}

slashd_status call_describe(slashd_call *call, int argc, const char *const *argv) {
  slashd_describe_fn d = plugin_describe(call->plugin);
  if (!d)
    return SLASHD_OK;
  call->describing = true;
  slashd_status st = d(call, call->plugin->state, call->cmd, argc, argv);
  call->describing = false;
  return st;
}

void call_prompt_free(slashd_call *call) {
  free(call->prompt_what);
  free(call->prompt_verb);
  free(call->prompt_doing);
  call->prompt_what = call->prompt_verb = call->prompt_doing = NULL;
}

slashd_status call_run(slashd_call *call, int argc, const char *const *argv) {
  return call->cmd->handler(call, call->plugin->state, argc, argv);
}

const char *status_text(slashd_status st) {
  switch (st) {
  case SLASHD_OK:
    return "ok";
  case SLASHD_ERR_ARGS:
    return "bad arguments";
  case SLASHD_ERR_NOMEM:
    return "out of memory";
  case SLASHD_ERR_DENIED:
    return "permission denied";
  case SLASHD_ERR_NOT_FOUND:
    return "not found";
  case SLASHD_ERR_AWS:
    return "AWS call failed";
  case SLASHD_ERR_LIMIT:
    return "host limit reached";
  case SLASHD_ERR_UNSUPPORTED:
    return "not supported by this host";
  case SLASHD_ERR_INTERNAL:
    return "internal error";
  }
  return "unknown status";
}
