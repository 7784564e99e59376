/* The Lambda worker's job runner: the shared execution API (worker/exec.h:
 * one job in a child of this binary in worker mode, a deadline, the ending
 * classified) with the daemon's own reply handling (daemon/dispatch.h: the
 * last reply marked final, failures told to the user, the audit line). The
 * daemon parts are handed a `server` that holds only what they use here: the
 * responder, the configuration, the credentials cache, metrics, dedupe and
 * the audit (to the log); there is no journal and no pool. */
#include "lambda/run.h"

#include <stdlib.h>
#include <string.h>

#include "base/audit.h"
#include "base/log.h"
#include "base/message.h"
#include "slashd/plugin.h"
#include "base/util.h"
#include "daemon/credcache.h"
#include "daemon/dispatch.h"
#include "daemon/server.h"
#include "worker/awsglue.h"
#include "worker/exec.h"

struct lambda_run {
  server srv;
};

lambda_run *lambda_run_new(const config *cfg, responder *resp,
                           const unsigned char confirm_key[CONFIRM_KEY_LEN], char **err) {
  lambda_run *r = xcalloc(1, sizeof *r);
  server *s = &r->srv;
  pthread_mutex_init(&s->mu, NULL);
  dedupe_init(&s->dd, 0);
  caps_init(&s->caps);
  confirm_store_init(&s->confirms);
  s->resp = resp;
  s->creds = credcache_new();
  s->audit = audit_open(cfg->audit_file, err);
  if (!s->audit && cfg->audit_file) {
    lambda_run_free(r);
    return NULL;
  }
  runtime *rt = xcalloc(1, sizeof *rt);
  atomic_init(&rt->refs, 1);
  rt->cfg = (config *)cfg; /* borrowed: released before the last unref */
  if (confirm_key)
    memcpy(rt->confirm_key, confirm_key, CONFIRM_KEY_LEN);
  rt->policy.n_hosts = cfg->n_response_hosts;
  rt->policy.hosts = xcalloc(cfg->n_response_hosts ? cfg->n_response_hosts : 1, sizeof(char *));
  for (size_t i = 0; i < cfg->n_response_hosts; i++)
    rt->policy.hosts[i] = xstrdup(cfg->response_hosts[i]);
  s->rt = rt;
  return r;
}

void lambda_run_free(lambda_run *r) {
  if (!r)
    return;
  server *s = &r->srv;
  if (s->rt) {
    s->rt->cfg = NULL; /* the Lambda runtime owns it */
    runtime_unref(s->rt);
  }
  audit_close(s->audit);
  credcache_free(s->creds);
  confirm_store_destroy(&s->confirms);
  caps_destroy(&s->caps);
  dedupe_destroy(&s->dd);
  pthread_mutex_destroy(&s->mu);
  free(r);
}

typedef struct relay {
  server *s;
  dispatch_job dj;
  job *j;
} relay;

static void on_reply(void *ud, const wire_msg *m) {
  relay *rl = ud;
  dispatch_job_reply(rl->s, &rl->dj, rl->j, m);
}

static void on_prompt(void *ud, const wire_msg *m) {
  relay *rl = ud;
  dispatch_job_prompt(rl->s, &rl->dj, rl->j, m);
}

static void on_creds(void *ud, const json_t *entry) {
  relay *rl = ud;
  credcache_put(rl->s->creds, entry);
}

lambda_run_status lambda_run_job(lambda_run *r, job *j, int64_t deadline_ms) {
  server *s = &r->srv;
  const config *c = s->rt->cfg;
  int64_t left_ms = deadline_ms - wall_ms();
  int timeout_s = c->job_timeout;
  if (left_ms / 1000 < timeout_s)
    timeout_s = (int)(left_ms / 1000);
  if (timeout_s < 1) {
    log_kv(SLOG_WARN, "job_not_started", KV_S("req", j->id),
           KV_S("msg", "less than a second of the invocation left"));
    job_free(j);
    return LAMBDA_RUN_NOT_STARTED;
  }
  char *key = awsglue_cache_key(j->team_id, j->user_id, j->channel_id, j->account);
  json_t *creds = credcache_get(s->creds, key, wall_s(), CREDS_REFRESH_S);
  free(key);
  /* The daemon's end of a job settles its dedupe entry; a decoded job has
   * none (the front's dedupe is in another process), so it settles nothing. */
  if (!j->dedupe_key)
    j->dedupe_key = xstrdup(j->id);
  relay rl = {.s = s, .j = j};
  exec_spawn_args sa = {.config_fd = -1, .config_path = c->file, .config_name = c->file};
  exec_hooks hooks = {.reply = on_reply, .creds = on_creds, .prompt = on_prompt, .ud = &rl};
  exec_outcome out;
  j->started_us = mono_us();
  /* The daemon's messages name the limit a job was held to: here it may be
   * what is left of the invocation, shorter than [server] job_timeout. A
   * shallow copy of the configuration, for this job only, says so. */
  config held = *c;
  held.job_timeout = timeout_s;
  s->rt->cfg = &held;
  exec_run_one(&sa, j, creds, timeout_s, &hooks, &out);
  json_decref(creds);
  lambda_run_status st = out.end == EXEC_OK ? LAMBDA_RUN_OK : LAMBDA_RUN_FAILED;
  if (out.end == EXEC_LOST && out.replies == 0) {
    /* Nothing reached the child: an infrastructure failure, retried. */
    log_kv(SLOG_ERROR, "job_not_started", KV_S("req", j->id), KV_S("msg", out.how));
    free(rl.dj.held_text);
    job_free(j);
    st = LAMBDA_RUN_NOT_STARTED;
  } else if (out.end == EXEC_OK || out.end == EXEC_ERROR) {
    wire_msg done = {.t = WIRE_DONE,
                     .id = j->id,
                     .status = out.status,
                     .error = out.error,
                     .posts = out.posts,
                     .identity = out.identity,
                     .session = out.session};
    dispatch_job_done(s, &rl.dj, j, &done);
  } else {
    dispatch_job_lost(s, &rl.dj, j, exec_end_outcome(out.end), out.how);
  }
  s->rt->cfg = (config *)c;
  exec_outcome_free(&out);
  return st;
}

void lambda_run_tell(lambda_run *r, job *j, const char *text) {
  char *formatted = message_text(SLASHD_REPLY_ERROR, text, NULL);
  dispatch_post(&r->srv, j, SLASHD_REPLY_ERROR, formatted, true);
  free(formatted);
}
