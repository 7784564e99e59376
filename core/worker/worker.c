#include "worker/worker.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "base/access.h"
#include "worker/awsglue.h"
#include "worker/fanout.h"
#include "base/config.h"
#include "worker/hostapi.h"
#include "base/ipc.h"
#include "base/log.h"
#include "base/place.h"
#include "worker/registry.h"
#include "base/route.h"
#include "base/util.h"

typedef struct worker_ctx {
  int fd;
  const config *cfg;
  registry *reg;
  aws_glue *glue;
} worker_ctx;

/* Assumed credentials go to the main process so other workers reuse them. */
static void share_creds(void *ud, const json_t *entry) {
  worker_ctx *w = ud;
  json_t *m = json_pack("{s:s, s:O}", "t", "creds", "entry", entry);
  if (m)
    ipc_send(w->fd, m);
  json_decref(m);
}

typedef struct emit_ctx {
  worker_ctx *w;
  const char *id;
} emit_ctx;

static void emit_ipc(void *ud, unsigned flags, bool interim, const char *text) {
  emit_ctx *e = ud;
  json_t *m = json_pack("{s:s, s:s, s:i, s:b, s:s}", "t", "reply", "id", e->id, "flags", (int)flags,
                        "interim", interim, "text", text);
  if (!m || !ipc_send(e->w->fd, m)) {
    /* The main process is gone: nobody can receive the rest. */
    log_kv(SLOG_ERROR, "worker_lost_main", KV_S("req", e->id));
    _exit(1);
  }
  json_decref(m);
}

static const char *jget(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

static void send_done(worker_ctx *w, const char *id, slashd_status st, const slashd_call *call) {
  json_t *m =
      json_pack("{s:s, s:s, s:i, s:b, s:i, s:s, s:s}", "t", "done", "id", id, "status", (int)st,
                "error", call ? call->error_reported : true, "posts", call ? call->posts : 0,
                "identity", awsglue_identity(w->glue), "session", awsglue_session(w->glue));

  if (!m || !ipc_send(w->fd, m))
    _exit(1);
  json_decref(m);
}

/* A command that needs confirmation: the describe step (the plugin's, or
 * none), then what the prompt should say goes to the main process, which
 * signs the token and posts the prompt. No prompt when the step reported
 * an error (a target that does not exist) or answered by itself. */
static slashd_status prepare(worker_ctx *w, slashd_call *call, const call_place *cp, int argc,
                             const char *const *argv) {
  slashd_status st = call_describe(call, argc, argv);
  bool ask = st == SLASHD_OK && !call->error_reported && (call->prompt_what || call->posts == 0);
  if (ask) {
    /* The prompt always says where, even on a one-region host. */
    char *where = place_label(cp->region, cp->account);
    json_t *m = json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s}", "t", "prompt", "id",
                          call->caller.request_id, "what", call->prompt_what, "verb",
                          call->prompt_verb, "doing", call->prompt_doing, "where", where);
    free(where);
    if (!m || !ipc_send(w->fd, m))
      _exit(1);
    json_decref(m);
  }
  call_prompt_free(call);
  return st;
}

static void run_job(worker_ctx *w, const json_t *msg) {
  const char *id = jget(msg, "id");
  const char *pname = jget(msg, "plugin");
  const char *cname = jget(msg, "cmd");
  const json_t *caller = json_object_get(msg, "caller");
  const json_t *args = json_object_get(msg, "argv");
  emit_ctx ec = {.w = w, .id = id};
  slashd_call call = {
      .caller = {.size = sizeof(slashd_caller),
                 .request_id = id,
                 .team_id = jget(caller, "team_id"),
                 .user_id = jget(caller, "user_id"),
                 .user_name = jget(caller, "user_name"),
                 .channel_id = jget(caller, "channel_id"),
                 .channel_name = jget(caller, "channel_name"),
                 .command = jget(caller, "command"),
                 .text = jget(caller, "text")},
      .reg = w->reg,
      .sink = {.emit = emit_ipc, .ud = &ec},
      /* A little before the main process's own deadline, so the plugin's
       * last word still gets out. */
      .deadline_ms = mono_ms() +
                     (uint64_t)json_integer_value(json_object_get(msg, "timeout_s")) * 1000u - 500u,
  };
  call_place cp = {0};
  call_set_place(w->cfg, &call, jget(caller, "region"), jget(caller, "account"), &cp);
  awsglue_attach(w->glue, &call);
  const json_t *creds = json_object_get(msg, "creds");
  if (creds)
    awsglue_cache_put(w->glue, creds);
  call.plugin = registry_find(w->reg, pname);
  call.cmd = call.plugin ? plugin_find_cmd(call.plugin, cname) : NULL;
  if (!call.cmd) {
    /* The routing table and this worker's plugins disagree (a reload in
     * between): say so rather than run something else. */
    char *msgtext = xasprintf("`%s %s` is not available right now; try again.", pname, cname);
    call.sink.emit(call.sink.ud, SLASHD_REPLY_ERROR, false, msgtext);
    free(msgtext);
    call.posts = 1;
    send_done(w, id, SLASHD_ERR_NOT_FOUND, &call);
    goto out;
  }
  access_subject who = {.team_id = call.caller.team_id,
                        .user_id = call.caller.user_id,
                        .user_name = call.caller.user_name,
                        .channel_id = call.caller.channel_id};
  char *why = NULL;
  if (access_check(w->cfg, &who, pname, cname, (int)call.cmd->access, &why) != ACCESS_OK) {
    call.sink.emit(call.sink.ud, SLASHD_REPLY_ERROR, false, why);
    free(why);
    call.posts = 1;
    call.error_reported = true;
    send_done(w, id, SLASHD_ERR_DENIED, &call);
    goto out;
  }
  int argc = 0;
  const char *argv[ROUTE_ARGS_MAX + 1];
  size_t i;
  const json_t *a;
  json_array_foreach(args, i, a) {
    if (argc < ROUTE_ARGS_MAX)
      argv[argc++] = json_string_value(a) ? json_string_value(a) : "";
  }
  argv[argc] = NULL;
  uint64_t t0 = mono_us();
  slashd_status st;
  if (json_is_true(json_object_get(msg, "prepare")))
    st = prepare(w, &call, &cp, argc, argv);
  else if (call_fans_out(&call))
    st = fanout_run(w->glue, &call, w->cfg->aws_regions, w->cfg->n_aws_regions, argc, argv);
  else
    st = call_run(&call, argc, argv);
  log_kv(SLOG_DEBUG, "handler_done", KV_S("req", id), KV_S("plugin", pname), KV_S("cmd", cname),
         KV_I("status", st), KV_U("us", mono_us() - t0));
  send_done(w, id, st, &call);
out:
  call_place_free(&cp);
}

static void usage_exit(void) {
  fprintf(stderr, "usage: slashd worker -c FILE [--config-name NAME] --index N --generation G "
                  "(started by slashd serve, not by hand)\n");
  exit(2);
}

int worker_main(int argc, char **argv) {
  const char *cfg_path = NULL, *cfg_name = NULL;
  long index = 0, gen = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
      cfg_path = argv[++i];
    else if (strcmp(argv[i], "--config-name") == 0 && i + 1 < argc)
      cfg_name = argv[++i];
    else if (strcmp(argv[i], "--index") == 0 && i + 1 < argc)
      parse_int(argv[++i], 0, 1 << 20, &index);
    else if (strcmp(argv[i], "--generation") == 0 && i + 1 < argc)
      parse_int(argv[++i], 0, 1L << 30, &gen);
    else
      usage_exit();
  }
  if (!cfg_path)
    usage_exit();
  /* Die with the main process, and leave SIGTERM/SIGINT to it: it decides
   * when a job may be interrupted. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1)
    return 1;
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);

  char role[32];
  snprintf(role, sizeof role, "worker%ld", index);
  log_set_role(role);

  char *err = NULL;
  config *cfg = config_load_as(cfg_path, cfg_name ? cfg_name : cfg_path, &err);
  /* The main process's snapshot comes with its name; read once, and
   * plugins get no handle on it. */
  if (cfg_name)
    close(WORKER_CONFIG_FD);
  if (!cfg) {
    log_kv(SLOG_ERROR, "worker_config", KV_S("msg", err));
    free(err);
    return 78;
  }
  log_configure(cfg->log_format, cfg->log_level);
  if (cfg->n_errors) {
    log_kv(SLOG_ERROR, "worker_config", KV_S("file", cfg_path),
           KV_S("msg", "configuration has errors; run slashd check-config"));
    config_free(cfg);
    return 78;
  }
  worker_ctx w = {.fd = WORKER_FD, .cfg = cfg};
  w.glue = awsglue_new(cfg, share_creds, &w);
  w.reg = registry_load(cfg, hostapi_table(), NULL, NULL);

  json_t *hello = json_pack("{s:s, s:i, s:i, s:o}", "t", "hello", "pid", (int)getpid(),
                            "generation", (int)gen, "manifest", registry_manifest(w.reg));
  bool ok = hello && ipc_send(w.fd, hello);
  json_decref(hello);
  ipc_reader rd = {0};
  while (ok) {
    ipc_status st;
    json_t *msg = ipc_read(&rd, w.fd, true, &st);
    if (!msg) {
      if (st == IPC_EOF)
        break;
      continue;
    }
    if (str_eq(json_string_value(json_object_get(msg, "t")), "job"))
      run_job(&w, msg);
    json_decref(msg);
  }
  ipc_reader_free(&rd);
  registry_unload(w.reg);
  awsglue_free(w.glue);
  config_free(cfg);
  return 0;
}
