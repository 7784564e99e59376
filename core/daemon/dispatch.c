#include "daemon/dispatch.h"

#include <stdlib.h>
#include <string.h>

#include "base/audit.h"
#include "base/confirm.h"
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
  dispatch_post_blocks(s, j, flags, text, NULL, final);
}

void dispatch_post_blocks(server *s, job *j, unsigned flags, const char *text, const json_t *blocks,
                          bool final) {
  /* An error carries its request id in a context line, for a bug report. */
  json_t *err_blocks =
      !blocks && (flags & SLASHD_REPLY_ERROR) ? message_error_blocks(text, j->id) : NULL;
  char *s_body = message_body_blocks(flags, text, blocks ? blocks : err_blocks);
  json_decref(err_blocks);
  dispatch_post_json(s, j, s_body, final, (flags & SLASHD_REPLY_ERROR) != 0);
  free(s_body);
}

void dispatch_post_json(server *s, job *j, const char *body, bool final, bool error) {
  if (j->posts >= JOB_MAX_POSTS) {
    log_kv(SLOG_WARN, "reply_dropped", KV_S("req", j->id),
           KV_S("msg", "Slack allows 5 messages per command"));
    if (final)
      journal_finish(s->journal, j->id);
    return;
  }
  j->posts++;
  char *replaced = NULL;
  if (body && j->replace_original) {
    /* A confirmed job answers in place of its prompt. */
    json_t *m = json_loads(body, 0, NULL);
    json_object_set_new(m, "replace_original", json_true());
    replaced = m ? json_dumps(m, JSON_COMPACT) : NULL;
    json_decref(m);
  }
  if (body)
    responder_post(s->resp, j->id, j->response_url, replaced ? replaced : body, final, error,
                   j->accepted_wall);
  free(replaced);
}

static void flush_held(server *s, dispatch_job *dj, job *j, bool final) {
  if (!dj->held_text)
    return;
  dispatch_post_blocks(s, j, dj->held_flags, dj->held_text, dj->held_blocks, final);
  free(dj->held_text);
  dj->held_text = NULL;
  json_decref(dj->held_blocks);
  dj->held_blocks = NULL;
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
  /* A confirmed job first says so, in place of its prompt, before any of
   * its own replies (the same job's posts go out in order). */
  /* Only the first time: a job given again (its worker was lost before it
   * started) has said so already. */
  if (j->preface && j->dispatches++ == 0) {
    json_t *m = confirm_message_json(j->preface, true);
    char *body = m ? json_dumps(m, JSON_COMPACT) : NULL;
    json_decref(m);
    dispatch_post_json(s, j, body, false, false);
    free(body);
  }
  if (!j->preface)
    j->dispatches++;
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
    dispatch_post_blocks(s, j, flags, text, msg->blocks, false);
  } else {
    dj->held_text = xstrdup(text);
    dj->held_flags = flags;
    dj->held_blocks = msg->blocks ? json_deep_copy(msg->blocks) : NULL;
  }
}

static void finish(server *s, job *j, job_outcome o) {
  uint64_t us = j->started_us ? mono_us() - j->started_us : 0;
  atomic_fetch_add(&s->m.jobs[o], 1);
  if (j->started_us)
    metrics_observe(&s->m.job_seconds, us);
  dedupe_end(&s->dd, j->dedupe_key);
  caps_end(&s->caps, j->id);
  audit_job(s->audit, j, o, us);
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
  } else if (dj->prompt_body) {
    flush_held(s, dj, j, false);
    dispatch_post_json(s, j, dj->prompt_body, true, false);
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
  free(dj->prompt_body);
  dj->prompt_body = NULL;
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
  else if (how && strncmp(how, "exit status", 11) == 0)
    /* Not a crash: something in the worker (a plugin's exit()) ended it. */
    text = xasprintf("`%s` failed: the worker exited during the command (%s). Nothing else was "
                     "affected.%s",
                     d, how, partly);
  else
    text = xasprintf("`%s` failed: the command crashed (%s). Nothing else was affected.%s", d, how,
                     partly);
  notify(s, j, text);
  free(text);
  free(d);
  free(dj->held_text);
  dj->held_text = NULL;
  json_decref(dj->held_blocks);
  dj->held_blocks = NULL;
  free(dj->prompt_body);
  dj->prompt_body = NULL;
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

/* "Stop i-0abc (web-1, t3.micro, running) in eu-west-1 (prod)", escaped;
 * the generic one names the command line. */
static char *prompt_what(const job *j, const wire_msg *msg) {
  const char *what = msg->what;
  const char *where = msg->where;
  sbuf b = {0};
  if (what && *what) {
    sbuf_adds(&b, "*");
    slack_escape(&b, what, strlen(what));
    sbuf_adds(&b, "*");
  } else {
    char *d = job_display(j);
    sbuf_adds(&b, "Run `");
    slack_escape(&b, d, strlen(d));
    sbuf_adds(&b, "`");
    free(d);
  }
  if (where && *where) {
    sbuf_adds(&b, " in ");
    slack_escape(&b, where, strlen(where));
  }
  sbuf_adds(&b, "?");
  return sbuf_steal(&b);
}

static bool sign_prompt(server *s, const runtime *rt, job *j, const wire_msg *msg, char **token,
                        char code[CONFIRM_CODE_LEN + 1], int64_t *expires) {
  const char *doing = msg->doing;
  confirm_token t = {.team_id = j->team_id,
                     .user_id = j->user_id,
                     .user_name = j->user_name,
                     .channel_id = j->channel_id,
                     .text = j->text,
                     .region = j->region ? j->region : "",
                     .account = j->account ? j->account : "",
                     .doing = (char *)(doing ? doing : ""),
                     .expires = wall_s() + rt->cfg->confirm_seconds};
  *expires = t.expires;
  if (!confirm_new_nonce(&t) || !(*token = confirm_sign(rt->confirm_key, &t)))
    return false;
  confirm_code(rt->confirm_key, t.nonce, code);
  if (!confirm_store_add(&s->confirms, code, *token, t.expires, wall_s())) {
    free(*token);
    *token = NULL;
    return false;
  }
  audit_confirm_line l = {.event = "confirm_prompt",
                          .request_id = j->id,
                          .team_id = j->team_id,
                          .user_id = j->user_id,
                          .actor_id = j->user_id,
                          .channel_id = j->channel_id,
                          .text = j->text,
                          .region = t.region,
                          .account = t.account};
  audit_confirm(s->audit, &l);
  return true;
}

void dispatch_job_prompt(server *s, dispatch_job *dj, job *j, const wire_msg *msg) {
  runtime *rt = server_runtime(s);
  char *token = NULL, code[CONFIRM_CODE_LEN + 1] = "";
  int64_t expires = 0;
  char *what = prompt_what(j, msg);
  free(dj->prompt_body);
  dj->prompt_body = NULL;
  if (sign_prompt(s, rt, j, msg, &token, code, &expires)) {
    const char *verb = msg->verb;
    confirm_prompt p = {.slash = rt->cfg->command ? rt->cfg->command : "/aws",
                        .what = what,
                        .verb = verb && *verb ? verb : "Run",
                        .token = token,
                        .code = code,
                        .seconds = rt->cfg->confirm_seconds,
                        .request_id = j->id};
    json_t *m = confirm_prompt_json(&p);
    dj->prompt_body = m ? json_dumps(m, JSON_COMPACT) : NULL;
    json_decref(m);
  } else {
    char *d = job_display(j);
    char *text = xasprintf("`%s` needs a confirmation, and slashd could not make one (the command "
                           "is too long, or too many prompts are pending); nothing was done.",
                           d);
    char *formatted = message_text(SLASHD_REPLY_ERROR, text, NULL);
    json_t *m = message_json(SLASHD_REPLY_ERROR, formatted);
    dj->prompt_body = m ? json_dumps(m, JSON_COMPACT) : NULL;
    dj->error_seen = true;
    json_decref(m);
    free(formatted);
    free(text);
    free(d);
  }
  free(token);
  free(what);
  runtime_unref(rt);
}

void dispatch_job_forget(dispatch_job *dj) {
  free(dj->held_text);
  json_decref(dj->held_blocks);
  free(dj->prompt_body);
  memset(dj, 0, sizeof *dj);
}

void dispatch_job_not_started(server *s, dispatch_job *dj, job *j, const char *how) {
  dispatch_job_forget(dj);
  char *d = job_display(j);
  char *text = xasprintf("`%s` did not run: its worker stopped before the command started (%s), "
                         "twice. Nothing was done; please try again.",
                         d, how);
  notify(s, j, text);
  free(text);
  free(d);
  finish(s, j, OUT_NOT_STARTED);
}
