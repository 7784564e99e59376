#include "daemon/dispatch.h"

#include <stdlib.h>
#include <string.h>

#include "base/audit.h"
#include "worker/awsglue.h"
#include "daemon/credcache.h"
#include "worker/hostapi.h"
#include "base/ipc.h"
#include "daemon/journal.h"
#include "base/log.h"
#include "base/message.h"
#include "slashd/plugin.h"
#include "base/util.h"
#include "base/wire.h"

void dispatch_post(server *s, job *j, unsigned flags, const char *text, bool final) {
  if (j->posts >= JOB_MAX_POSTS) {
    log_kv(SLOG_WARN, "reply_dropped", KV_S("req", j->id),
           KV_S("msg", "Slack allows 5 messages per command"));
    /* The responder will never settle this job's final message. */
    if (final)
      journal_finish(s->journal, j->id);
    return;
  }
  j->posts++;
  char *s_body = message_body(flags, text);
  responder_post(s->resp, j->id, j->response_url, s_body, final, (flags & SLASHD_REPLY_ERROR) != 0,
                 j->accepted_wall);
  free(s_body);
}

static void flush_held(server *s, dispatch_job *dj, job *j, bool final) {
  if (!dj->held_text)
    return;
  dispatch_post(s, j, dj->held_flags, dj->held_text, final);
  free(dj->held_text);
  dj->held_text = NULL;
}

bool dispatch_job_start(server *s, dispatch_job *dj, job *j, exec_child *c, uint64_t *kill_at_ms) {
  memset(dj, 0, sizeof *dj);
  runtime *rt = server_runtime(s);
  int timeout_s = rt->cfg->job_timeout;
  runtime_unref(rt);
  /* The user's assumed role, if another worker already has it. */
  char *key = awsglue_cache_key(j->team_id, j->user_id, j->channel_id, j->account);
  json_t *creds = credcache_get(s->creds, key, wall_s(), CREDS_REFRESH_S);
  free(key);
  bool ok = exec_send_job(c, j, creds, timeout_s, kill_at_ms);
  json_decref(creds);
  j->started_us = mono_us();
  log_kv(SLOG_DEBUG, "job_started", KV_S("req", j->id),
         KV_D("queued_ms", (double)(j->started_us - j->accepted_us) / 1000.0));
  return ok;
}

void dispatch_job_reply(server *s, dispatch_job *dj, job *j, const wire_msg *msg) {
  const char *text = msg->text;
  unsigned flags = msg->flags;
  bool interim = msg->interim;
  if (flags & SLASHD_REPLY_ERROR)
    dj->error_seen = true;
  /* Whatever was held is not the last message any more. */
  flush_held(s, dj, j, false);
  if (interim) {
    dispatch_post(s, j, flags, text, false);
  } else {
    dj->held_text = xstrdup(text);
    dj->held_flags = flags;
  }
}

static void finish(server *s, job *j, job_outcome o) {
  uint64_t us = j->started_us ? mono_us() - j->started_us : 0;
  atomic_fetch_add(&s->m.jobs[o], 1);
  if (j->started_us)
    metrics_observe(&s->m.job_seconds, us);
  dedupe_end(&s->dd, j->dedupe_key);
  audit_job(s, j, o, us);
  log_kv(o == OUT_OK ? SLOG_INFO : SLOG_WARN, "job_done", KV_S("req", j->id),
         KV_S("plugin", j->plugin), KV_S("cmd", j->cmd), KV_S("outcome", job_outcome_name(o)),
         KV_D("ms", (double)us / 1000.0), KV_I("posts", j->posts));
  job_free(j);
}

static void notify(server *s, job *j, const char *fmt_text) {
  char *formatted = message_text(SLASHD_REPLY_ERROR, fmt_text, NULL);
  dispatch_post(s, j, SLASHD_REPLY_ERROR, formatted, true);
  free(formatted);
}

void dispatch_job_done(server *s, dispatch_job *dj, job *j, const wire_msg *msg) {
  const char *identity = msg->identity;
  const char *session = msg->session;
  if (identity) {
    free(j->identity);
    j->identity = xstrdup(identity);
  }
  if (session) {
    free(j->session);
    j->session = xstrdup(session);
  }
  slashd_status st = (slashd_status)msg->status;
  bool error = msg->error || dj->error_seen;
  job_outcome o = exec_end_outcome(exec_done_end(msg, dj->error_seen));
  if (st != SLASHD_OK && !error) {
    /* The handler failed without saying so to the user: the host does. */
    flush_held(s, dj, j, false);
    char *d = job_display(j);
    char *text = xasprintf("`%s` failed: %s.", d, status_text(st));
    notify(s, j, text);
    free(text);
    free(d);
  } else if (dj->held_text) {
    flush_held(s, dj, j, true);
  } else {
    char *d = job_display(j);
    char *text = xasprintf("`%s` finished.", d);
    char *formatted = message_text(0, text, NULL);
    dispatch_post(s, j, 0, formatted, true);
    free(formatted);
    free(text);
    free(d);
  }
  finish(s, j, o);
}

void dispatch_job_lost(server *s, dispatch_job *dj, job *j, job_outcome o, const char *how) {
  flush_held(s, dj, j, false);
  char *d = job_display(j);
  char *text;
  const char *partly = j->access == SLASHD_WRITE
                           ? " It may have partly run: check the resource before retrying."
                           : " You can run it again.";
  runtime *rt = server_runtime(s);
  int limit = rt->cfg->job_timeout;
  runtime_unref(rt);
  if (o == OUT_TIMEOUT)
    text = xasprintf("`%s` failed: it ran longer than the %d s limit and was stopped.%s", d, limit,
                     partly);
  else if (o == OUT_INTERRUPTED)
    text = xasprintf("`%s` was interrupted: slashd is shutting down.%s", d, partly);
  else
    text = xasprintf("`%s` failed: the command crashed (%s). Nothing else was affected.%s", d, how,
                     partly);
  notify(s, j, text);
  free(text);
  free(d);
  free(dj->held_text);
  dj->held_text = NULL;
  finish(s, j, o);
}

void dispatch_job_dropped(server *s, job *j) {
  char *d = job_display(j);
  char *text = xasprintf("`%s` did not run: slashd is shutting down. Nothing was done; please "
                         "try again in a minute.",
                         d);
  notify(s, j, text);
  free(text);
  free(d);
  finish(s, j, OUT_INTERRUPTED);
}
