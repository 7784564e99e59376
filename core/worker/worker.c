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
#include "worker/output.h"
#include "worker/recycle.h"
#include "base/ipc.h"
#include "base/log.h"
#include "base/place.h"
#include "worker/registry.h"
#include "base/route.h"
#include "base/util.h"
#include "base/wire.h"

typedef struct worker_ctx {
  int fd;
  const config *cfg;
  registry *reg;
  aws_glue *glue;
  /* The job whose handler runs now (NULL between jobs), for a plugin that
   * calls exit(): see worker_exited. */
  const job *running;
  slashd_call *call;
  plugin_output out;  /* what plugins print (worker/output.h) */
  const char *retire; /* set during a job: leave after it, and why */
  bool exit_now;      /* leave without unloading (a plugin's thread still runs) */
  recycle rc;         /* threads, memory, jobs (worker/recycle.h) */
} worker_ctx;

/* Assumed credentials go to the main process so other workers reuse them. */
static void share_creds(void *ud, const json_t *entry) {
  worker_ctx *w = ud;
  json_t *m = wire_creds(entry);
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
  sbuf b = {0};
  wire_reply_text(&b, e->id, flags, interim, text);
  if (!ipc_send_text(e->w->fd, b.p, b.len)) {
    /* The main process is gone: nobody can receive the rest. */
    log_kv(SLOG_ERROR, "worker_lost_main", KV_S("req", e->id));
    _exit(1);
  }
  sbuf_free(&b);
}

static void emit_ipc_blocks(void *ud, unsigned flags, bool interim, const char *text,
                            const json_t *blocks) {
  emit_ctx *e = ud;
  sbuf b = {0};
  wire_reply_blocks_text(&b, e->id, flags, interim, text, blocks);
  if (!ipc_send_text(e->w->fd, b.p, b.len)) {
    log_kv(SLOG_ERROR, "worker_lost_main", KV_S("req", e->id));
    _exit(1);
  }
  sbuf_free(&b);
}

/* `retire`: why this worker leaves after the job (NULL: it stays). */
static void send_done_retire(worker_ctx *w, const char *id, slashd_status st,
                             const slashd_call *call, const char *retire) {
  wire_aws aws;
  bool has_aws = awsglue_host_status(w->glue, &aws.source, &aws.expires, &aws.skew);
  sbuf b = {0};
  wire_done_text(&b, id, (int)st, call ? call->error_reported : true, call ? call->posts : 0,
                 awsglue_identity(w->glue), awsglue_session(w->glue), has_aws ? &aws : NULL);
  if (retire)
    wire_done_retire_text(&b, retire);
  if (!ipc_send_text(w->fd, b.p, b.len))
    _exit(1);
  sbuf_free(&b);
}

static void send_done(worker_ctx *w, const char *id, slashd_status st, const slashd_call *call) {
  send_done_retire(w, id, st, call, w->retire);
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
    json_t *m = wire_prompt(call->caller.request_id, call->prompt_what, call->prompt_verb,
                            call->prompt_doing, where);
    free(where);
    if (!m || !ipc_send(w->fd, m))
      _exit(1);
    json_decref(m);
  }
  call_prompt_free(call);
  return st;
}

/* The handler's deadline on this process's clock: a little before the
 * job's own (the main process kills at that one), so the plugin's last word
 * still gets out. */
static uint64_t local_deadline(const worker_ctx *w, const job *j) {
  int64_t left = j->deadline_ms ? j->deadline_ms - wall_ms() : (int64_t)w->cfg->job_timeout * 1000;
  return mono_ms() + (uint64_t)(left > 500 ? left - 500 : 0);
}

/* After the handler: memory, threads and job count decide whether this
 * worker stays; a job that ran out of memory is told so. */
static void after_job(worker_ctx *w, const job *j, slashd_call *call, slashd_status st) {
  bool oom = recycle_out_of_memory(&w->rc, w->cfg, (int)st);
  if (oom) {
    log_kv(SLOG_WARN, "job_out_of_memory", KV_S("req", j->id), KV_S("plugin", j->plugin),
           KV_I("limit_mb", w->cfg->worker_memory_mb));
    char *text = xasprintf("`%s %s` failed: it ran out of memory (limit %d MB).", j->plugin, j->cmd,
                           w->cfg->worker_memory_mb);
    emit_ctx ec = {.w = w, .id = j->id};
    emit_ipc(&ec, SLASHD_REPLY_ERROR, false, text);
    free(text);
    call->posts++;
    call->error_reported = true;
  }
  recycle_verdict v = recycle_check(&w->rc, w->cfg, j->plugin, oom);
  w->retire = v == RECYCLE_NO ? NULL : w->rc.why;
  w->exit_now = v == RECYCLE_NOW;
}

static void run_job(worker_ctx *w, const job *j, const json_t *creds) {
  /* The acknowledgement comes first: a job lost before it never ran, and
   * the main process may give it to another worker. */
  sbuf ack = {0};
  wire_started_text(&ack, j->id);
  if (!ipc_send_text(w->fd, ack.p, ack.len))
    _exit(1);
  sbuf_free(&ack);
  emit_ctx ec = {.w = w, .id = j->id};
  slashd_call call = {
      .caller = {.size = sizeof(slashd_caller),
                 .request_id = j->id,
                 .team_id = j->team_id,
                 .user_id = j->user_id,
                 .user_name = j->user_name,
                 .channel_id = j->channel_id,
                 .channel_name = j->channel_name,
                 .command = j->command,
                 .text = j->text},
      .reg = w->reg,
      .sink = {.emit = emit_ipc, .emit_blocks = emit_ipc_blocks, .ud = &ec},
      .deadline_ms = local_deadline(w, j),
  };
  call_place cp = {0};
  call_set_place(w->cfg, &call, j->region ? j->region : "", j->account ? j->account : "", &cp);
  awsglue_attach(w->glue, &call);
  if (creds)
    awsglue_cache_put(w->glue, creds);
  call.plugin = registry_find(w->reg, j->plugin);
  call.cmd = call.plugin ? plugin_find_cmd(call.plugin, j->cmd) : NULL;
  if (!call.cmd) {
    /* The routing table and this worker's plugins disagree (a reload in
     * between): say so rather than run something else. */
    char *msgtext = xasprintf("`%s %s` is not available right now; try again.", j->plugin, j->cmd);
    call.sink.emit(call.sink.ud, SLASHD_REPLY_ERROR, false, msgtext);
    free(msgtext);
    call.posts = 1;
    send_done(w, j->id, SLASHD_ERR_NOT_FOUND, &call);
    goto out;
  }
  access_subject who = {.team_id = call.caller.team_id,
                        .user_id = call.caller.user_id,
                        .user_name = call.caller.user_name,
                        .channel_id = call.caller.channel_id};
  char *why = NULL;
  if (access_check(w->cfg, &who, j->plugin, j->cmd, (int)call.cmd->access, &why) != ACCESS_OK) {
    call.sink.emit(call.sink.ud, SLASHD_REPLY_ERROR, false, why);
    free(why);
    call.posts = 1;
    call.error_reported = true;
    send_done(w, j->id, SLASHD_ERR_DENIED, &call);
    goto out;
  }
  uint64_t t0 = mono_us();
  slashd_status st;
  w->running = j;
  w->call = &call;
  if (j->prepare)
    st = prepare(w, &call, &cp, j->argc, (const char *const *)j->argv);
  else if (call_fans_out(&call))
    st = fanout_run(w->glue, &call, w->cfg->aws_regions, w->cfg->n_aws_regions, j->argc,
                    (const char *const *)j->argv);
  else
    st = call_run(&call, j->argc, (const char *const *)j->argv);
  w->running = NULL;
  w->call = NULL;
  output_drain(&w->out, j->plugin, j->id);
  after_job(w, j, &call, st);
  log_kv(SLOG_DEBUG, "handler_done", KV_S("req", j->id), KV_S("plugin", j->plugin),
         KV_S("cmd", j->cmd), KV_I("status", st), KV_U("us", mono_us() - t0));
  send_done(w, j->id, st, &call);
out:
  call_place_free(&cp);
}

/* A plugin that calls exit() ends the worker in the middle of its command:
 * the user is told just that (not that it crashed), and the job ends as a
 * failure before the process does; the main process then replaces the
 * worker. (on_exit hands the context over: exit() takes none.) */
static void worker_exited(int status, void *arg) {
  worker_ctx *w = arg;
  const job *j = w->running;
  if (!j)
    return;
  w->running = NULL;
  output_drain(&w->out, j->plugin, j->id);
  log_kv(SLOG_ERROR, "plugin_exited", KV_S("req", j->id), KV_S("plugin", j->plugin),
         KV_S("cmd", j->cmd), KV_I("status", status),
         KV_S("msg", "the plugin called exit() during its command; the worker is replaced"));
  char *text = xasprintf("`%s %s` failed: the worker exited during the command (exit status %d, "
                         "called by the plugin). Nothing else was affected.",
                         j->plugin, j->cmd, status);
  emit_ctx ec = {.w = w, .id = j->id};
  emit_ipc(&ec, SLASHD_REPLY_ERROR, false, text);
  free(text);
  slashd_call *call = w->call;
  if (call) {
    call->posts++;
    call->error_reported = true;
  }
  send_done_retire(w, j->id, SLASHD_ERR_INTERNAL, call, "the plugin called exit()");
}

static void usage_exit(void) {
  fprintf(stderr, "usage: slashd worker -c FILE [--config-name NAME] --index N --generation G "
                  "(started by slashd serve, not by hand)\n");
  exit(2);
}

typedef struct worker_args {
  const char *cfg_path, *cfg_name;
  long index, gen;
} worker_args;

static void parse_args(int argc, char **argv, worker_args *a) {
  *a = (worker_args){0};
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
      a->cfg_path = argv[++i];
    else if (strcmp(argv[i], "--config-name") == 0 && i + 1 < argc)
      a->cfg_name = argv[++i];
    else if (strcmp(argv[i], "--index") == 0 && i + 1 < argc)
      parse_int(argv[++i], 0, 1 << 20, &a->index);
    else if (strcmp(argv[i], "--generation") == 0 && i + 1 < argc)
      parse_int(argv[++i], 0, 1L << 30, &a->gen);
    else
      usage_exit();
  }
  if (!a->cfg_path)
    usage_exit();
}

bool worker_tie_to_parent(pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  /* Checked after arming: a parent that died before could not signal. */
  if (parent ? getppid() != parent : getppid() == 1)
    return false;
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  return true;
}

struct worker_image {
  config *cfg;
  registry *reg;
};

/* The configuration, or NULL (logged). */
static config *load_config(const char *path, const char *name) {
  char *err = NULL;
  config *cfg = config_load_as(path, name ? name : path, &err);
  /* The main process's snapshot comes with its name; read once, and
   * plugins get no handle on it. */
  if (name)
    close(WORKER_CONFIG_FD);
  if (!cfg) {
    log_kv(SLOG_ERROR, "worker_config", KV_S("msg", err));
    free(err);
    return NULL;
  }
  log_configure(cfg->log_format, cfg->log_level);
  if (cfg->n_errors) {
    log_kv(SLOG_ERROR, "worker_config", KV_S("file", path),
           KV_S("msg", "configuration has errors; run slashd check-config"));
    config_free(cfg);
    return NULL;
  }
  return cfg;
}

worker_image *worker_image_load(const char *cfg_path, const char *cfg_name) {
  config *cfg = load_config(cfg_path, cfg_name);
  if (!cfg)
    return NULL;
  worker_image *img = xcalloc(1, sizeof *img);
  img->cfg = cfg;
  img->reg = registry_open(cfg, hostapi_table(), NULL, NULL);
  return img;
}

void worker_image_free(worker_image *img) {
  if (!img)
    return;
  registry_unload(img->reg);
  config_free(img->cfg);
  free(img);
}

/* Jobs, one at a time, until the main process closes the socket or
 * replaces this worker. */
static void serve_jobs(worker_ctx *w) {
  ipc_reader rd = {0};
  for (;;) {
    ipc_status st;
    json_t *msg = ipc_read(&rd, w->fd, true, &st);
    if (!msg) {
      if (st == IPC_EOF)
        break;
      continue;
    }
    wire_msg wm;
    char *why = NULL;
    wire_payload pl = {rd.payload, rd.payload_len};
    if (wire_decode(msg, &pl, &wm, &why) && wm.t == WIRE_JOB)
      run_job(w, wm.job, wm.creds);
    else
      log_kv(SLOG_ERROR, "worker_bad_message", KV_S("msg", why ? why : "not a job"));
    wire_msg_free(&wm);
    free(why);
    json_decref(msg);
    if (w->exit_now)
      _exit(0); /* a plugin's thread still runs: unloading under it could crash */
    if (w->retire)
      break; /* the main process replaces this worker */
  }
  ipc_reader_free(&rd);
}

int worker_image_run(worker_image *img, long index, long gen) {
  char role[32];
  snprintf(role, sizeof role, "worker%ld", index);
  log_set_role(role);
  /* On the heap, and kept until the process ends: worker_exited may run
   * after this function has returned. */
  worker_ctx *w = xcalloc(1, sizeof *w);
  w->fd = WORKER_FD;
  w->cfg = img->cfg;
  w->reg = img->reg;
  w->glue = awsglue_new(w->cfg, share_creds, w);
  /* Plugin code runs from here on, in this process only. */
  output_capture(&w->out);
  registry_init(w->reg, NULL, NULL);
  output_drain(&w->out, "-", "-"); /* what the plugins' init printed */
  recycle_start(&w->rc, w->cfg);

  json_t *hello = wire_hello((int)getpid(), (int)gen, registry_manifest(w->reg));
  bool ok = hello && ipc_send(w->fd, hello);
  json_decref(hello);
  on_exit(worker_exited, w);
  if (ok)
    serve_jobs(w);
  registry_unload(img->reg);
  img->reg = NULL;
  awsglue_free(w->glue);
  w->reg = NULL;
  w->glue = NULL;
  w->cfg = NULL;
  worker_image_free(img);
  return 0;
}

int worker_main(int argc, char **argv) {
  worker_args a;
  parse_args(argc, argv, &a);
  if (!worker_tie_to_parent(0))
    return 1;
  char role[32];
  snprintf(role, sizeof role, "worker%ld", a.index);
  log_set_role(role);
  worker_image *img = worker_image_load(a.cfg_path, a.cfg_name);
  if (!img)
    return 78;
  return worker_image_run(img, a.index, a.gen);
}
