#include "daemon/frontdoor.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/access.h"
#include "base/form.h"
#include "daemon/journal.h"
#include "base/log.h"
#include "base/message.h"
#include "daemon/pool.h"
#include "base/route.h"
#include "slashd/plugin.h"
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
  if (!ct)
    return false;
  while (*ct == ' ' || *ct == '\t')
    ct++;
  static const char form_type[] = "application/x-www-form-urlencoded";
  size_t n = sizeof form_type - 1;
  if (strncasecmp(ct, form_type, n) != 0)
    return false;
  const char *rest = ct + n;
  while (*rest == ' ' || *rest == '\t')
    rest++;
  return *rest == '\0' || *rest == ';';
}

int frontdoor_precheck(server *s, const char *method, const char *path, const char *content_type,
                       long long content_length, frontdoor_route *route, frontdoor_response *out) {
  runtime *rt = server_runtime(s);
  const config *c = rt->cfg;
  int status = 0;
  bool get = str_eq(method, "GET") || str_eq(method, "HEAD");
  /* In Socket Mode commands come over the WebSocket only. */
  if (str_eq(path, c->path) && !c->socket_mode) {
    *route = ROUTE_COMMAND;
    if (!str_eq(method, "POST")) {
      status = 405;
      respond(out, 405, CT_TEXT, "method not allowed: POST the slash command here\n");
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

/* ---- the ack ---------------------------------------------------------- */

static void ack(server *s, frontdoor_response *out, ack_kind kind, const char *text) {
  atomic_fetch_add(&s->m.acks[kind], 1);
  char *formatted = message_text(0, text, NULL);
  json_t *j = message_json(0, formatted);
  char *body = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  free(formatted);
  out->status = 200;
  out->content_type = CT_JSON;
  out->body = body ? body : xstrdup("{}");
  out->allow = NULL;
}

static bool id_ok(const char *s, bool required) {
  if (!s || !*s)
    return !required;
  size_t n = strlen(s);
  if (n > 64)
    return false;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
      return false;
  return true;
}

static const char *field(const form *f, const char *name) {
  const char *v = form_get(f, name);
  return v ? v : "";
}

/* Every field we keep must be clean text: no NUL, no control characters, no
 * broken UTF-8. */
static const char *bad_field(const form *f) {
  static const char *const ids[] = {"team_id", "channel_id", "user_id", "enterprise_id",
                                    "api_app_id"};
  for (size_t i = 0; i < ARRAY_LEN(ids); i++)
    if (!id_ok(form_get(f, ids[i]), strcmp(ids[i], "user_id") == 0))
      return ids[i];
  static const char *const texts[] = {"text",    "user_name",    "channel_name",
                                      "command", "response_url", "team_domain"};
  for (size_t i = 0; i < ARRAY_LEN(texts); i++) {
    const form_field *ff = form_field_get(f, texts[i]);
    if (ff && !utf8_is_clean(ff->value, ff->value_len))
      return texts[i];
  }
  return NULL;
}

/* `/aws ec2 stop i-1` for the ack: cut, and backticks made harmless. */
static char *echo(const char *command, const char *text) {
  char *e =
      xasprintf("%s%s%.*s%s", command, *text ? " " : "", 200, text, strlen(text) > 200 ? "…" : "");
  for (char *p = e; *p; p++)
    if (*p == '`' || *p == '\n' || *p == '\r')
      *p = *p == '`' ? '\'' : ' ';
  return e;
}

/* With a signing secret, the raw bytes are verified before anything parses
 * them. Only legacy-token mode (Mattermost) must parse the form first, to
 * find the token in it. */
static verify_result check_origin(const runtime *rt, const frontdoor_request *r, form *f,
                                  form_err *fe, char **bad) {
  bool has_sig_headers = (r->timestamp && *r->timestamp) || (r->signature && *r->signature);
  if (rt->signing_secret && (has_sig_headers || !rt->token)) {
    verify_result v =
        rt->signing_key
            ? verify_slack_signature_key(rt->signing_key, r->timestamp, r->signature, r->body,
                                         r->body_len, wall_s())
            : verify_slack_signature(rt->signing_secret, rt->signing_secret_len, r->timestamp,
                                     r->signature, r->body, r->body_len, wall_s());
    if (v == VERIFY_OK)
      *fe = form_parse(r->body, r->body_len, f, bad);
    return v;
  }
  if (rt->token) {
    *fe = form_parse(r->body, r->body_len, f, bad);
    const char *tok = *fe == FORM_OK ? form_get(f, "token") : NULL;
    if ((!tok || !*tok) && r->authorization && strncasecmp(r->authorization, "Token ", 6) == 0)
      tok = r->authorization + 6;
    return verify_token(rt->token, rt->token_len, tok);
  }
  return VERIFY_NOT_CONFIGURED;
}

static void refuse(server *s, const frontdoor_request *r, frontdoor_response *out,
                   verify_result v) {
  atomic_fetch_add(&s->m.verify_fail[v], 1);
  log_kv(SLOG_WARN, "verify_failed", KV_S("reason", verify_reason(v)),
         KV_S("peer", r->peer ? r->peer : ""), KV_U("bytes", r->body_len));
  respond(out, 401, CT_TEXT, "unauthorized\n");
}

static char *dedupe_key(const char *team, const char *user, int argc, char **argv) {
  sbuf b = {0};
  sbuf_addf(&b, "%s|%s|", team, user);
  for (int i = 0; i < argc; i++)
    sbuf_addf(&b, "%s%s", i ? " " : "", argv[i]);
  return sbuf_steal(&b);
}

static job *make_job(server *s, const form *f, const route_match *m, char *key) {
  job *j = xcalloc(1, sizeof *j);
  server_new_id(s, j->id);
  j->team_id = xstrdup(field(f, "team_id"));
  j->user_id = xstrdup(field(f, "user_id"));
  j->user_name = xstrdup(field(f, "user_name"));
  j->channel_id = xstrdup(field(f, "channel_id"));
  j->channel_name = xstrdup(field(f, "channel_name"));
  j->command = xstrdup(field(f, "command"));
  j->text = xstrdup(field(f, "text"));
  j->response_url = xstrdup(field(f, "response_url"));
  j->plugin = xstrdup(m->plugin->name);
  j->cmd = xstrdup(m->cmd->name);
  j->argc = m->argc;
  j->argv = xcalloc((size_t)m->argc + 1, sizeof *j->argv);
  for (int i = 0; i < m->argc; i++)
    j->argv[i] = xstrdup(m->argv[i]);
  j->access = m->cmd->access;
  j->dedupe_key = key;
  j->accepted_us = mono_us();
  j->accepted_wall = wall_s();
  return j;
}

static void handle_command(server *s, runtime *rt, const frontdoor_request *r,
                           frontdoor_response *out) {
  const config *c = rt->cfg;
  form f = {0};
  char *bad = NULL;
  form_err fe = FORM_OK;
  verify_result v = check_origin(rt, r, &f, &fe, &bad);
  if (v != VERIFY_OK) {
    refuse(s, r, out, v);
    goto out;
  }
  if (fe != FORM_OK) {
    log_kv(SLOG_WARN, "bad_form", KV_S("msg", form_strerror(fe)), KV_S("field", bad ? bad : ""));
    respond(out, 400, CT_TEXT, "bad request: malformed form body\n");
    goto out;
  }
  if (str_eq(form_get(&f, "ssl_check"), "1")) {
    atomic_fetch_add(&s->m.acks[ACK_SSL_CHECK], 1);
    respond(out, 200, CT_TEXT, "");
    goto out;
  }
  const char *badf = bad_field(&f);
  if (badf || !*field(&f, "response_url")) {
    log_kv(SLOG_WARN, "bad_field", KV_S("field", badf ? badf : "response_url"));
    char *msg =
        xasprintf("bad request: field %s is missing or malformed\n", badf ? badf : "response_url");
    respond(out, 400, CT_TEXT, msg);
    free(msg);
    goto out;
  }
  const char *command = field(&f, "command");
  const char *text = field(&f, "text");
  const char *user = field(&f, "user_id");
  char *shown = echo(*command ? command : (c->command ? c->command : "/"), text);
  const char *slash = c->command ? c->command : (*command ? command : "/");
  char *msg = NULL;
  char *why = NULL;
  char *host = NULL;
  int argc = 0;
  char **argv = NULL;
  route_table *routes = NULL;

  if (c->command && *command && !str_ieq(command, c->command)) {
    msg = xasprintf("This slashd serves `%s`, not `%s`. Check the slash command's Request URL.",
                    c->command, command);
    ack(s, out, ACK_WRONG_COMMAND, msg);
    goto done;
  }
  if (!url_allowed(&rt->policy, field(&f, "response_url"), &why, &host)) {
    log_kv(SLOG_WARN, "response_url_refused", KV_S("user", user), KV_S("host", host),
           KV_S("msg", why));
    ack(s, out, ACK_URL_REFUSED,
        "This command's response_url is not on this host's allow-list, so no reply could "
        "reach you; nothing was run. An admin can check [slack] response_hosts.");
    goto done;
  }
  if (atomic_load(&s->draining)) {
    msg = xasprintf("slashd is restarting; `%s` was not started. Please try again in a minute.",
                    shown);
    ack(s, out, ACK_DRAINING, msg);
    goto done;
  }
  if (!route_tokenize(text, &argc, &argv, &why)) {
    msg = xasprintf("Could not read `%s`: %s.", shown, why);
    ack(s, out, ACK_USAGE, msg);
    goto done;
  }
  routes = server_routes(s);
  route_match m;
  char *rmsg = NULL;
  route_status rs = route_resolve(routes, slash, argc, argv, &m, &rmsg);
  if (rs != ROUTE_OK) {
    ack(s, out, rs == ROUTE_UNKNOWN_PLUGIN ? ACK_UNKNOWN : ACK_USAGE, rmsg);
    free(rmsg);
    goto done;
  }
  access_subject who = {.team_id = field(&f, "team_id"),
                        .user_id = user,
                        .user_name = field(&f, "user_name"),
                        .channel_id = field(&f, "channel_id")};
  if (access_check(c, &who, m.plugin->name, m.cmd->name, m.cmd->access, &msg) != ACCESS_OK) {
    log_kv(SLOG_INFO, "access_denied", KV_S("user", user), KV_S("plugin", m.plugin->name),
           KV_S("cmd", m.cmd->name));
    ack(s, out, ACK_DENIED, msg);
    goto done;
  }
  /* Replies that cannot leave (response_url host slow or down, or a burst
   * faster than they go out) must not pile up without end. */
  size_t backlog = s->resp ? responder_pending(s->resp) : 0;
  if (backlog >= RESPONDER_MAX_PENDING) {
    log_kv(SLOG_WARN, "busy", KV_S("user", user), KV_U("replies_pending", backlog));
    msg = xasprintf("slashd is busy (%zu replies waiting to be sent); `%s` was not started. "
                    "Please try again in a minute.",
                    backlog, shown);
    ack(s, out, ACK_BUSY, msg);
    goto done;
  }
  char *key = dedupe_key(who.team_id, user, argc, argv);
  int64_t age = 0;
  if (!dedupe_begin(&s->dd, key, wall_s(), &age)) {
    free(key);
    msg = xasprintf("`%s` is already running (started %llds ago); not starting it twice.", shown,
                    (long long)age);
    ack(s, out, ACK_DUPLICATE, msg);
    goto done;
  }
  job *j = make_job(s, &f, &m, key);
  char id[32];
  memcpy(id, j->id, sizeof id);
  if (!journal_accept(s->journal, j)) {
    dedupe_forget(&s->dd, j->dedupe_key);
    job_free(j);
    msg = xasprintf("slashd could not record `%s` safely, so it was not started. An admin "
                    "should look at the host's log.",
                    shown);
    ack(s, out, ACK_BUSY, msg);
    goto done;
  }
  if (!queue_push(&s->queue, j)) {
    size_t depth = queue_len(&s->queue);
    journal_finish(s->journal, id);
    dedupe_forget(&s->dd, j->dedupe_key);
    job_free(j);
    log_kv(SLOG_WARN, "busy", KV_S("user", user), KV_U("queued", depth));
    msg = xasprintf("slashd is busy (%zu commands waiting); `%s` was not started. Please try "
                    "again in a minute.",
                    depth, shown);
    ack(s, out, ACK_BUSY, msg);
    goto done;
  }
  pool_wake(s->pool);
  log_kv(SLOG_INFO, "accepted", KV_S("req", id), KV_S("user", user), KV_S("plugin", m.plugin->name),
         KV_S("cmd", m.cmd->name));
  msg = xasprintf(":hourglass_flowing_sand: `%s` is running… (request %s)", shown, id);
  ack(s, out, ACK_QUEUED, msg);
  memcpy(out->request_id, id, sizeof out->request_id);
done:
  route_table_unref(routes);
  route_argv_free(argc, argv);
  free(msg);
  free(why);
  free(host);
  free(shown);
out:
  free(bad);
  form_free(&f);
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
  handle_command(s, rt, r, out);
  runtime_unref(rt);
  metrics_observe(&s->m.ack_seconds, mono_us() - t0);
}
