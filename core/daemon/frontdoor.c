#include "daemon/frontdoor.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/audit.h"
#include "base/form.h"
#include "daemon/journal.h"
#include "base/log.h"
#include "daemon/pool.h"
#include "base/replay.h"
#include "base/util.h"
#include "base/verify.h"

static const char *const CT_JSON = "application/json; charset=utf-8";
static const char *const CT_TEXT = "text/plain; charset=utf-8";

static void respond(frontdoor_response *out, int status, const char *ct, const char *body) {
  out->status = status;
  out->content_type = ct;
  out->body = xstrdup(body ? body : "");
  out->allow = NULL;
}

bool frontdoor_is_form(const char *ct) {
  return form_content_type_ok(ct);
}

int frontdoor_precheck(server *s, const char *method, const char *path, const char *content_type,
                       long long content_length, frontdoor_route *route, frontdoor_response *out) {
  runtime *rt = server_runtime(s);
  const config *c = rt->cfg;
  int status = 0;
  bool get = str_eq(method, "GET") || str_eq(method, "HEAD");
  /* In Socket Mode commands and clicks come over the WebSocket only. Clicks
   * are signed forms like commands: the same rules, in the same order. */
  if ((str_eq(path, c->path) || str_eq(path, c->actions_path)) && !c->socket_mode) {
    *route = str_eq(path, c->path) ? ROUTE_COMMAND : ROUTE_ACTIONS;
    if (!str_eq(method, "POST")) {
      status = 405;
      respond(out, 405, CT_TEXT,
              *route == ROUTE_COMMAND ? "method not allowed: POST the slash command here\n"
                                      : "method not allowed: POST Slack's interactivity here\n");
      out->allow = "POST";
    } else if (!frontdoor_is_form(content_type)) {
      status = 415;
      respond(out, 415, CT_TEXT,
              "unsupported content type: expected application/x-www-form-urlencoded\n");
    } else if (content_length > c->max_body) {
      status = 413;
      respond(out, 413, CT_TEXT, "request body too large\n");
    }
  } else if (str_eq(path, "/healthz") || str_eq(path, "/metrics")) {
    *route = str_eq(path, "/healthz") ? ROUTE_HEALTH : ROUTE_METRICS;
    if (!get) {
      status = 405;
      respond(out, 405, CT_TEXT, "method not allowed\n");
      out->allow = "GET, HEAD";
    }
  } else {
    *route = ROUTE_NONE;
    status = 404;
    respond(out, 404, CT_TEXT, "not found\n");
  }
  runtime_unref(rt);
  return status;
}

/* ---- admission, with this process's handles ----------------------------- */

static size_t env_backlog(void *ud) {
  server *s = ud;
  return s->resp ? responder_pending(s->resp) : 0;
}

static void env_new_id(void *ud, char out[32]) {
  server_new_id(ud, out);
}

/* Journal first: a job is only acknowledged once a crash cannot lose it. */
static enqueue_status env_enqueue(void *ud, job *j, size_t *depth) {
  server *s = ud;
  if (!journal_accept(s->journal, j))
    return ENQUEUE_UNRECORDED;
  size_t before = queue_len(&s->queue);
  if (!queue_push(&s->queue, j)) {
    *depth = queue_len(&s->queue);
    journal_finish(s->journal, j->id);
    return ENQUEUE_FULL;
  }
  /* The idle workers take the first jobs waiting; this one waits when none
   * is left for it. (A moment's view: good enough for the ack's words.) */
  metrics_gauges g = {0};
  pool_gauges(s->pool, &g);
  if (before >= g.workers_idle)
    *depth = before - g.workers_idle;
  pool_wake(s->pool);
  return ENQUEUE_OK;
}

/* With the runtime the request was verified under, so a reload in between
 * cannot mix two configurations in one decision. */
static void env_audit(void *ud, const audit_confirm_line *l) {
  server *s = ud;
  audit_confirm(s->audit, l);
}

static admission_env make_env(server *s, const runtime *rt, const route_table *routes) {
  return (admission_env){
      .cfg = rt->cfg,
      .policy = &rt->policy,
      .routes = routes,
      .dd = &s->dd,
      .draining = &s->draining,
      .backlog = env_backlog,
      .max_backlog = RESPONDER_MAX_PENDING,
      .new_id = env_new_id,
      .enqueue = env_enqueue,
      .ud = s,
      .confirm_key = rt->confirm_key,
      .confirms = &s->confirms,
      .audit = env_audit,
      .caps = &s->caps,
      .max_per_user = caps_effective(rt->cfg->max_running_per_user, rt->cfg->workers),
      .max_per_plugin = caps_effective(rt->cfg->max_running_per_plugin, rt->cfg->workers)};
}

static void admit(server *s, const runtime *rt, const admission_request *req,
                  admission_result *out) {
  route_table *routes = server_routes(s);
  admission_env env = make_env(s, rt, routes);
  admission_decide(&env, req, out);
  if (out->status == 200)
    atomic_fetch_add(&s->m.acks[out->kind], 1);
  route_table_unref(routes);
}

void frontdoor_interact(server *s, const char *payload, size_t len, admission_door door,
                        interact_result *out) {
  runtime *rt = server_runtime(s);
  route_table *routes = server_routes(s);
  admission_env env = make_env(s, rt, routes);
  interact_handle(&env, payload, len, door, out);
  /* The follow-ups go out like any reply: allow-listed, retried. */
  for (size_t i = 0; i < out->n_posts; i++) {
    char id[32];
    if (out->request_id[0])
      memcpy(id, out->request_id, sizeof id);
    else
      server_new_id(s, id);
    responder_post(s->resp, id, out->posts[i].url, out->posts[i].body, false, false, wall_s());
  }
  route_table_unref(routes);
  runtime_unref(rt);
}

void frontdoor_admit(server *s, const admission_request *req, admission_result *out) {
  runtime *rt = server_runtime(s);
  admit(s, rt, req, out);
  runtime_unref(rt);
}

/* ---- the HTTP door ------------------------------------------------------- */

static void refuse(server *s, const frontdoor_request *r, frontdoor_response *out,
                   verify_result v) {
  atomic_fetch_add(&s->m.verify_fail[v], 1);
  log_kv(SLOG_WARN, "verify_failed", KV_S("reason", verify_reason(v)),
         KV_S("peer", r->peer ? r->peer : ""), KV_U("bytes", r->body_len));
  respond(out, 401, CT_TEXT, "unauthorized\n");
}

/* The origin, then the form. False: *out holds the refusal. */
static bool verify_and_parse(server *s, const runtime *rt, const frontdoor_request *r,
                             verify_parsed *vp, frontdoor_response *out) {
  verify_inputs in = {.secret = rt->signing_secret,
                      .secret_len = rt->signing_secret_len,
                      .key = rt->signing_key,
                      .token = rt->token,
                      .token_len = rt->token_len,
                      .timestamp = r->timestamp,
                      .signature = r->signature,
                      .authorization = r->authorization,
                      .body = r->body,
                      .body_len = r->body_len,
                      .now = wall_s()};
  verify_result v = verify_request(&in, vp);
  /* A signature is good for 300 s: remembered that long, so an identical
   * request sent again is refused however late in the window it comes. */
  replay_result rr = REPLAY_NEW;
  if (v == VERIFY_OK && rt->signing_secret && s->replay) {
    rr = replay_check(s->replay, r->signature, strtoll(r->timestamp, NULL, 10), in.now);
    if (rr == REPLAY_SEEN)
      v = VERIFY_REPLAYED;
  }
  if (v != VERIFY_OK) {
    refuse(s, r, out, v);
    return false;
  }
  if (rr == REPLAY_FULL) {
    log_kv(SLOG_ERROR, "replay_memory_full",
           KV_S("msg", "too many signed requests within the timestamp window to remember them "
                       "all (or the replay file cannot be written); refusing rather than "
                       "forgetting"));
    respond(out, 503, CT_TEXT, "busy: try again in a moment\n");
    return false;
  }
  if (!vp->parsed) {
    vp->parsed = true;
    vp->err = form_parse(r->body, r->body_len, &vp->form, &vp->bad);
  }
  if (vp->err != FORM_OK) {
    log_kv(SLOG_WARN, "bad_form", KV_S("msg", form_strerror(vp->err)),
           KV_S("field", vp->bad ? vp->bad : ""));
    respond(out, 400, CT_TEXT, "bad request: malformed form body\n");
    return false;
  }
  return true;
}

static void handle_command(server *s, const runtime *rt, const frontdoor_request *r,
                           frontdoor_response *out) {
  verify_parsed vp;
  if (!verify_and_parse(s, rt, r, &vp, out))
    goto out;
  admission_request req;
  admission_request_from_form(&vp.form, DOOR_HTTP, &req);
  admission_result res;
  admit(s, rt, &req, &res);
  out->status = res.status;
  out->content_type = res.json ? CT_JSON : CT_TEXT;
  out->body = res.body;
  out->allow = NULL;
  memcpy(out->request_id, res.request_id, sizeof out->request_id);
out:
  verify_parsed_free(&vp);
}

/* POST /slack/actions: verified exactly like a command (raw bytes first),
 * then the one `payload` field goes to the interactivity handler. Slack
 * gets its empty 200 at once; the prompt is updated on response_url. */
static void handle_actions(server *s, const runtime *rt, const frontdoor_request *r,
                           frontdoor_response *out) {
  verify_parsed vp;
  if (!verify_and_parse(s, rt, r, &vp, out))
    goto out;
  const form_field *f = form_field_get(&vp.form, "payload");
  if (!f || !utf8_is_clean(f->value, f->value_len)) {
    log_kv(SLOG_WARN, "bad_field", KV_S("field", "payload"), KV_S("door", "http"));
    respond(out, 400, CT_TEXT, "bad request: field payload is missing or malformed\n");
    goto out;
  }
  interact_result res;
  frontdoor_interact(s, f->value, f->value_len, DOOR_HTTP, &res);
  out->status = res.status;
  out->content_type = CT_TEXT;
  out->body = xstrdup(res.body);
  out->allow = NULL;
  memcpy(out->request_id, res.request_id, sizeof out->request_id);
  interact_result_free(&res);
out:
  verify_parsed_free(&vp);
}

void frontdoor_handle(server *s, const frontdoor_request *r, frontdoor_route route,
                      frontdoor_response *out) {
  uint64_t t0 = mono_us();
  if (route == ROUTE_HEALTH) {
    if (atomic_load(&s->socket_disabled))
      respond(out, 503, CT_TEXT, "Slack disabled Socket Mode for this app (link_disabled)\n");
    else
      respond(out, 200, CT_TEXT, "ok\n");
    return;
  }
  if (route == ROUTE_METRICS) {
    metrics_gauges g = {.queue_depth = queue_len(&s->queue),
                        .queue_capacity = s->queue.cap,
                        .journal_open = journal_open_count(s->journal),
                        .response_pending = s->resp ? responder_pending(s->resp) : 0};
    pool_gauges(s->pool, &g);
    sbuf b = {0};
    metrics_render(&s->m, &g, &b);
    out->status = 200;
    out->content_type = "text/plain; version=0.0.4; charset=utf-8";
    out->body = sbuf_steal(&b);
    out->allow = NULL;
    return;
  }
  runtime *rt = server_runtime(s);
  if (route == ROUTE_ACTIONS)
    handle_actions(s, rt, r, out);
  else
    handle_command(s, rt, r, out);
  runtime_unref(rt);
  metrics_observe(&s->m.ack_seconds, mono_us() - t0);
}
