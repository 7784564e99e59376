#include "base/admission.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/access.h"
#include "base/confirm.h"
#include "base/ipc.h"
#include "base/log.h"
#include "base/message.h"
#include "base/place.h"
#include "base/util.h"
#include "slashd/plugin.h"

const char *admission_door_name(admission_door d) {
  switch (d) {
  case DOOR_HTTP:
    return "http";
  case DOOR_SOCKET:
    return "socket";
  case DOOR_LAMBDA:
    return "lambda";
  case DOOR_CLI:
    return "cli";
  }
  return "unknown";
}

/* ---- the request's fields ------------------------------------------------ */

static bool id_ok(const char *s, size_t n, bool required) {
  if (!s || !n)
    return !required;
  if (n > 64)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
      return false;
  return true;
}

static const char USER_ID[] = "user_id";
static const char *const ID_FIELDS[] = {"team_id", "channel_id", USER_ID, "enterprise_id",
                                        "api_app_id"};
static const char *const TEXT_FIELDS[] = {"text",    "user_name",    "channel_name",
                                          "command", "response_url", "team_domain"};

bool admission_field_ok(const char *name, const char *value, size_t len) {
  for (size_t i = 0; i < ARRAY_LEN(ID_FIELDS); i++)
    if (str_eq(name, ID_FIELDS[i]))
      return id_ok(value, len, str_eq(name, USER_ID));
  for (size_t i = 0; i < ARRAY_LEN(TEXT_FIELDS); i++)
    if (str_eq(name, TEXT_FIELDS[i]))
      return !value || utf8_is_clean(value, len);
  return true; /* a field admission does not keep */
}

/* A field source: a form or a JSON object, read the same way. */
typedef struct source {
  const form *f;
  const json_t *o;
} source;

/* The value of `name` and its length; NULL when absent (or not a string). */
static const char *source_get(const source *s, const char *name, size_t *len) {
  if (s->f) {
    const form_field *ff = form_field_get(s->f, name);
    *len = ff ? ff->value_len : 0;
    return ff ? ff->value : NULL;
  }
  const json_t *v = json_object_get(s->o, name);
  *len = json_is_string(v) ? json_string_length(v) : 0;
  return json_string_value(v);
}

/* The first field that fails its check, in the order the HTTP door has
 * always checked them (ids, then texts, then response_url present). */
static const char *first_malformed(const source *s) {
  size_t len;
  /* The checks of admission_field_ok, without finding each name's kind. */
  for (size_t i = 0; i < ARRAY_LEN(ID_FIELDS); i++) {
    const char *v = source_get(s, ID_FIELDS[i], &len);
    if (!id_ok(v, len, ID_FIELDS[i] == USER_ID))
      return ID_FIELDS[i];
  }
  for (size_t i = 0; i < ARRAY_LEN(TEXT_FIELDS); i++) {
    const char *v = source_get(s, TEXT_FIELDS[i], &len);
    if (v && !utf8_is_clean(v, len))
      return TEXT_FIELDS[i];
  }
  const char *url = source_get(s, "response_url", &len);
  return url && *url ? NULL : "response_url";
}

static const char *get_or_empty(const source *s, const char *name) {
  size_t len;
  const char *v = source_get(s, name, &len);
  return v ? v : "";
}

static void from_source(const source *s, admission_door door, admission_request *out) {
  *out = (admission_request){
      .door = door,
      .team_id = get_or_empty(s, "team_id"),
      .user_id = get_or_empty(s, "user_id"),
      .user_name = get_or_empty(s, "user_name"),
      .channel_id = get_or_empty(s, "channel_id"),
      .channel_name = get_or_empty(s, "channel_name"),
      .command = get_or_empty(s, "command"),
      .text = get_or_empty(s, "text"),
      .response_url = get_or_empty(s, "response_url"),
      .enterprise_id = get_or_empty(s, "enterprise_id"),
      .api_app_id = get_or_empty(s, "api_app_id"),
      .team_domain = get_or_empty(s, "team_domain"),
      .trigger_id = get_or_empty(s, "trigger_id"),
  };
  /* Slack's certificate probe carries no command: it is not checked. */
  out->ssl_check = str_eq(get_or_empty(s, "ssl_check"), "1");
  if (!out->ssl_check)
    out->malformed = first_malformed(s);
}

void admission_request_from_form(const form *f, admission_door door, admission_request *out) {
  source s = {.f = f};
  from_source(&s, door, out);
}

void admission_request_from_json(const json_t *obj, admission_door door, admission_request *out) {
  source s = {.o = obj};
  from_source(&s, door, out);
}

/* ---- the decision -------------------------------------------------------- */

/* One decision in progress: what the steps share. */
typedef struct admit {
  const admission_env *env;
  const admission_request *req;
  admission_result *out;
  char *shown;       /* `/aws ec2 stop i-1` for the acks */
  const char *slash; /* the command the routing table is asked about */
  int argc;
  char **argv;
  place pl; /* --region / --account, taken off argv */
  route_match m;
} admit;

static void answer_text(admission_result *out, int status, const char *body) {
  out->status = status;
  out->json = false;
  out->body = xstrdup(body);
}

/* A Slack message for the user (ephemeral, formatted like every reply). */
static void answer(admit *a, ack_kind kind, const char *text) {
  char *formatted = message_text(0, text, NULL);
  a->out->status = 200;
  a->out->kind = kind;
  a->out->json = true;
  a->out->body = message_body(0, formatted);
  free(formatted);
}

/* answer() with a formatted text; the format's arguments are trusted. */
static void answerf(admit *a, ack_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void answerf(admit *a, ack_kind kind, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  sbuf b = {0};
  sbuf_vaddf(&b, fmt, ap);
  va_end(ap);
  answer(a, kind, b.p ? b.p : "");
  sbuf_free(&b);
}

/* `/aws ec2 stop i-1` for the ack. */
static char *echo(const char *command, const char *text) {
  return message_command_span(command, text, 200);
}

/* The checks that need no routing table: right command, a reply can reach
 * the user, not restarting, the text can be read. False: answered. */
static bool check_request(admit *a) {
  const config *c = a->env->cfg;
  const admission_request *r = a->req;
  if (c->command && *r->command && !str_ieq(r->command, c->command)) {
    /* The field is the sender's: no backtick of it may close the span. */
    char *theirs = message_command_span("", r->command, 64); /* " " + the field, cut */
    answerf(a, ACK_WRONG_COMMAND,
            "This slashd serves `%s`, not `%s`. Check the slash command's Request URL.", c->command,
            theirs + 1);
    free(theirs);
    return false;
  }
  char *why = NULL, *host = NULL;
  bool allowed = url_allowed(a->env->policy, r->response_url, &why, &host);
  if (!allowed) {
    log_kv(SLOG_WARN, "response_url_refused", KV_S("user", r->user_id), KV_S("host", host),
           KV_S("msg", why));
    answer(a, ACK_URL_REFUSED,
           "This command's response_url is not on this host's allow-list, so no reply could "
           "reach you; nothing was run. An admin can check [slack] response_hosts.");
  }
  free(why);
  free(host);
  if (!allowed)
    return false;
  if (a->env->draining && atomic_load(a->env->draining)) {
    answerf(a, ACK_DRAINING,
            "slashd is restarting; `%s` was not started. Please try again in a minute.", a->shown);
    return false;
  }
  if (!route_tokenize(r->text, &a->argc, &a->argv, &why)) {
    answerf(a, ACK_USAGE, "Could not read `%s`: %s.", a->shown, why);
    free(why);
    return false;
  }
  /* The place flags are the host's: checked here, before any region can
   * reach a host name, and never seen by a plugin. */
  if (!place_take(c, &a->argc, a->argv, &a->pl, &why)) {
    answerf(a, ACK_USAGE, "%s.", why);
    free(why);
    return false;
  }
  return true;
}

static bool has_plugin(const route_table *t, const char *name) {
  for (size_t i = 0; t && i < t->n; i++)
    if (str_ieq(t->p[i].name, name))
      return true;
  return false;
}

static int64_t now_s(const admission_env *env) {
  return (env->now_ms ? env->now_ms : wall_ms()) / 1000;
}

void admission_audit(const admission_env *env, const char *event, const confirm_token *t,
                     const char *actor_id, const char *request_id, const char *detail) {
  audit_confirm_line l = {.event = event,
                          .request_id = request_id,
                          .team_id = t ? t->team_id : NULL,
                          .user_id = t ? t->user_id : NULL,
                          .actor_id = actor_id,
                          .channel_id = t ? t->channel_id : NULL,
                          .text = t ? t->text : NULL,
                          .region = t ? t->region : NULL,
                          .account = t ? t->account : NULL,
                          .detail = detail};
  if (env->audit)
    env->audit(env->ud, &l);
  else
    log_kv(SLOG_INFO, "audit", KV_S("event", event), KV_S("user", l.user_id ? l.user_id : ""),
           KV_S("by", actor_id ? actor_id : ""), KV_S("detail", detail ? detail : ""));
}

/* `/aws confirm CODE`: for clients without buttons. The code stands for a
 * pending prompt's token; only the requester, in the same channel, once,
 * before it expires. */
static void confirm_by_code(admit *a) {
  const admission_env *env = a->env;
  const admission_request *r = a->req;
  if (!env->confirm_key || !env->confirms) {
    answer(a, ACK_USAGE, "Confirmation codes are not available here; use the prompt's buttons.");
    return;
  }
  if (a->argc != 2) {
    answerf(a, ACK_USAGE, "Type `%s confirm CODE` with the code from the prompt.", a->slash);
    return;
  }
  char code[CONFIRM_CODE_LEN + 1];
  snprintf(code, sizeof code, "%s", a->argv[1]);
  for (char *p = code; *p; p++)
    *p = (char)toupper((unsigned char)*p);
  int64_t now = now_s(env);
  char *value =
      strlen(a->argv[1]) == CONFIRM_CODE_LEN ? confirm_store_token(env->confirms, code, now) : NULL;
  confirm_token t = {0};
  confirm_check ck = value ? confirm_verify(env->confirm_key, value, now, &t) : CONFIRM_TAMPERED;
  free(value);
  if (ck == CONFIRM_OK && (!str_eq(t.user_id, r->user_id) || !str_eq(t.team_id, r->team_id) ||
                           !str_eq(t.channel_id, r->channel_id)))
    ck = CONFIRM_FOREIGN; /* the nonce stays unused: the requester can still confirm */
  if (ck == CONFIRM_OK && !confirm_store_use(env->confirms, t.nonce, t.expires, now))
    ck = CONFIRM_REPLAYED;
  if (ck != CONFIRM_OK) {
    admission_audit(env, "confirm_refused", ck == CONFIRM_TAMPERED ? NULL : &t, r->user_id, NULL,
                    confirm_check_name(ck));
    if (ck == CONFIRM_TAMPERED)
      answerf(a, ACK_USAGE,
              "No pending confirmation has the code `%s` (it may have expired or been used); "
              "nothing was done.",
              code);
    else
      answer(a, ACK_USAGE, confirm_check_text(ck));
    if (ck != CONFIRM_TAMPERED)
      confirm_token_free(&t);
    return;
  }
  admission_audit(env, "confirm_ok", &t, r->user_id, NULL, "code");
  admission_confirmed(env, &t, r->response_url, r->user_id, false, r->door, a->out);
  confirm_token_free(&t);
}

/* Which plugin command it is, and whether this user may run it. */
static bool check_route(admit *a) {
  const admission_request *r = a->req;
  char *msg = NULL;
  if (a->argc >= 1 && str_ieq(a->argv[0], "confirm") && !has_plugin(a->env->routes, "confirm")) {
    confirm_by_code(a);
    return false;
  }
  route_status rs = a->env->routes
                        ? route_resolve(a->env->routes, a->slash, a->argc, a->argv, &a->m, &msg)
                        : ROUTE_UNKNOWN_PLUGIN;
  if (rs != ROUTE_OK) {
    answer(a, rs == ROUTE_UNKNOWN_PLUGIN ? ACK_UNKNOWN : ACK_USAGE,
           msg ? msg : "No plugin is loaded yet; try again in a minute.");
    free(msg);
    return false;
  }
  access_subject who = {.team_id = r->team_id,
                        .user_id = r->user_id,
                        .user_name = r->user_name,
                        .channel_id = r->channel_id};
  if (access_check(a->env->cfg, &who, a->m.plugin->name, a->m.cmd->name, a->m.cmd->access, &msg) !=
      ACCESS_OK) {
    log_kv(SLOG_INFO, "access_denied", KV_S("user", r->user_id), KV_S("plugin", a->m.plugin->name),
           KV_S("cmd", a->m.cmd->name));
    answer(a, ACK_DENIED, msg ? msg : "");
    free(msg);
    return false;
  }
  if (a->m.cmd->confirm && a->env->cfg->confirm_writes && !r->confirmed && !a->env->confirm_key) {
    answer(a, ACK_USAGE,
           "This command must be confirmed first, and this way in cannot ask for it; nothing "
           "was run.");
    return false;
  }
  if (place_fan_out(&a->pl) && a->m.cmd->access == SLASHD_WRITE) {
    answerf(a, ACK_USAGE,
            "`--region all` is for read commands; `%s %s` changes things, so name the one region "
            "it is for.",
            a->m.plugin->name, a->m.cmd->name);
    return false;
  }
  return true;
}

/* Replies that cannot leave (response_url host slow or down, or a burst
 * faster than they go out) must not pile up without end. */
static bool check_backlog(admit *a) {
  size_t backlog = a->env->backlog ? a->env->backlog(a->env->ud) : 0;
  if (backlog < a->env->max_backlog || !a->env->max_backlog)
    return true;
  log_kv(SLOG_WARN, "busy", KV_S("user", a->req->user_id), KV_U("replies_pending", backlog));
  answerf(a, ACK_BUSY,
          "slashd is busy (%zu replies waiting to be sent); `%s` was not started. Please try "
          "again in a minute.",
          backlog, a->shown);
  return false;
}

static char *dedupe_key(const char *team, const char *user, const place *pl, int argc,
                        char **argv) {
  sbuf b = {0};
  sbuf_addf(&b, "%s|%s|%s|%s|", team, user, pl->region ? pl->region : "",
            pl->account ? pl->account : "");
  for (int i = 0; i < argc; i++)
    sbuf_addf(&b, "%s%s", i ? " " : "", argv[i]);
  return sbuf_steal(&b);
}

static job *make_job(admit *a, char *key, int64_t now_ms) {
  const admission_request *r = a->req;
  job *j = xcalloc(1, sizeof *j);
  a->env->new_id(a->env->ud, j->id);
  j->id[sizeof j->id - 1] = '\0';
  j->team_id = xstrdup(r->team_id);
  j->user_id = xstrdup(r->user_id);
  j->user_name = xstrdup(r->user_name);
  j->channel_id = xstrdup(r->channel_id);
  j->channel_name = xstrdup(r->channel_name);
  j->command = xstrdup(r->command);
  j->text = xstrdup(r->text);
  j->response_url = xstrdup(r->response_url);
  j->plugin = xstrdup(a->m.plugin->name);
  j->cmd = xstrdup(a->m.cmd->name);
  j->argc = a->m.argc;
  j->argv = xcalloc((size_t)a->m.argc + 1, sizeof *j->argv);
  for (int i = 0; i < a->m.argc; i++)
    j->argv[i] = xstrdup(a->m.argv[i]);
  j->access = a->m.cmd->access;
  j->prepare = a->m.cmd->confirm && a->env->cfg->confirm_writes && !r->confirmed;
  j->preface = r->preface && *r->preface ? xstrdup(r->preface) : NULL;
  j->replace_original = r->replace_original;
  j->region = a->pl.region ? xstrdup(a->pl.region) : NULL;
  j->account = a->pl.account ? xstrdup(a->pl.account) : NULL;
  j->dedupe_key = key;
  j->accepted_us = mono_us();
  j->accepted_ms = now_ms;
  j->accepted_wall = now_ms / 1000;
  return j;
}

/* Not more at once than the caps allow, for this user and this plugin; a
 * refused job is never queued. False: answered. */
static bool within_caps(admit *a, const job *j) {
  const admission_env *env = a->env;
  if (!env->caps)
    return true;
  char *user = xasprintf("%s|%s", a->req->team_id, a->req->user_id);
  size_t nu = 0, np = 0;
  caps_result cr = caps_begin(env->caps, j->id, user, j->plugin, env->max_per_user,
                              env->max_per_plugin, &nu, &np);
  free(user);
  if (cr == CAPS_OK)
    return true;
  log_kv(SLOG_WARN, "capped", KV_S("user", a->req->user_id), KV_S("plugin", j->plugin),
         KV_S("why", cr == CAPS_USER ? "user" : "plugin"),
         KV_U("running", cr == CAPS_USER ? nu : np));
  if (cr == CAPS_USER)
    answerf(a, ACK_BUSY,
            "You already have %zu command%s running (at most %d at once); `%s` was not started. "
            "Try again when one of them finishes.",
            nu, nu == 1 ? "" : "s", env->max_per_user, a->shown);
  else
    answerf(a, ACK_BUSY,
            "`%s` is at its limit of %d command%s running at once; `%s` was not started. Try "
            "again when one of them finishes.",
            j->plugin, env->max_per_plugin, env->max_per_plugin == 1 ? "" : "s", a->shown);
  return false;
}

/* Not twice at once, recorded, queued. */
/* Registers the job's dedupe key; NULL when it is a duplicate (answered). */
static char *claim(admit *a, bool prepare, int64_t now_ms) {
  const admission_request *r = a->req;
  char *key = dedupe_key(r->team_id, r->user_id, &a->pl, a->argc, a->argv);
  if (prepare) {
    /* Asking is not doing: a prompt is never a duplicate (a retyped command
     * just asks again), and the confirmed run right after must not count as
     * a duplicate of its own prompt. The confirmed runs dedupe as usual. */
    char *k = xasprintf("prepare|%llu|%s", (unsigned long long)mono_us(), key);
    free(key);
    key = k;
  }
  int64_t age = 0;
  if (!dedupe_begin(a->env->dd, key, now_ms / 1000, &age)) {
    free(key);
    answerf(a, ACK_DUPLICATE, "`%s` is already running (started %llds ago); not starting it twice.",
            a->shown, (long long)age);
    return NULL;
  }
  return key;
}

/* The job must fit in one message to a worker; one that cannot is told so
 * now, not after a worker never got it. */
static bool fits(admit *a, const job *j) {
  size_t bytes = job_wire_bytes(j);
  if (bytes <= IPC_MAX)
    return true;
  log_kv(SLOG_WARN, "job_too_large", KV_S("user", a->req->user_id), KV_U("bytes", bytes),
         KV_U("limit", IPC_MAX));
  answerf(a, ACK_USAGE,
          "`%s` is too long to run: its text is %zu bytes, and a command can carry at most "
          "about %u. Nothing was run.",
          a->shown, strlen(a->req->text), (unsigned)ADMISSION_TEXT_MAX);
  return false;
}

static void answer_not_enqueued(admit *a, enqueue_status es, size_t depth) {
  if (es == ENQUEUE_UNRECORDED) {
    answerf(a, ACK_BUSY,
            "slashd could not record `%s` safely, so it was not started. An admin should look at "
            "the host's log.",
            a->shown);
    return;
  }
  log_kv(SLOG_WARN, "busy", KV_S("user", a->req->user_id), KV_U("queued", depth));
  answerf(a, ACK_BUSY,
          "slashd is busy (%zu commands waiting); `%s` was not started. Please try again in a "
          "minute.",
          depth, a->shown);
}

static void answer_accepted(admit *a, bool prepare, const char *id, size_t depth) {
  const admission_request *r = a->req;
  log_kv(SLOG_INFO, "accepted", KV_S("req", id), KV_S("user", r->user_id),
         KV_S("plugin", a->m.plugin->name), KV_S("cmd", a->m.cmd->name));
  if (prepare)
    answerf(a, ACK_QUEUED,
            ":hourglass_flowing_sand: Preparing `%s`: looking up what it will change; you will be "
            "asked to confirm. (request %s)",
            a->shown, id);
  else if (r->confirmed && r->doing && *r->doing)
    answerf(a, ACK_QUEUED, ":hourglass_flowing_sand: %s… (confirmed, request %s)", r->doing, id);
  else if (depth == ADMISSION_STARTS_NOW)
    answerf(a, ACK_QUEUED, ":hourglass_flowing_sand: `%s` is running… (request %s)", a->shown, id);
  else
    answerf(a, ACK_QUEUED, ":hourglass_flowing_sand: `%s` is queued (%zu ahead)… (request %s)",
            a->shown, depth, id);
  snprintf(a->out->request_id, sizeof a->out->request_id, "%s", id);
}

/* Not twice at once, within size and caps, recorded and queued. */
static void accept_job(admit *a) {
  int64_t now_ms = a->env->now_ms ? a->env->now_ms : wall_ms();
  bool prepare = a->m.cmd->confirm && a->env->cfg->confirm_writes && !a->req->confirmed;
  char *key = claim(a, prepare, now_ms);
  if (!key)
    return;
  job *j = make_job(a, key, now_ms);
  char id[32];
  memcpy(id, j->id, sizeof id);
  if (!fits(a, j) || !within_caps(a, j))
    goto drop;
  size_t depth = ADMISSION_STARTS_NOW;
  enqueue_status es = a->env->enqueue(a->env->ud, j, &depth);
  if (es != ENQUEUE_OK) {
    if (a->env->caps)
      caps_end(a->env->caps, id);
    answer_not_enqueued(a, es, depth);
    goto drop;
  }
  answer_accepted(a, prepare, id, depth);
  return;
drop:
  dedupe_forget(a->env->dd, j->dedupe_key);
  job_free(j);
}

void admission_decide(const admission_env *env, const admission_request *req,
                      admission_result *out) {
  memset(out, 0, sizeof *out);
  if (req->ssl_check) {
    out->kind = ACK_SSL_CHECK;
    answer_text(out, 200, "");
    return;
  }
  if (req->malformed) {
    log_kv(SLOG_WARN, "bad_field", KV_S("field", req->malformed),
           KV_S("door", admission_door_name(req->door)));
    char *msg = xasprintf("bad request: field %s is missing or malformed\n", req->malformed);
    answer_text(out, 400, msg);
    free(msg);
    return;
  }
  const config *c = env->cfg;
  admit a = {.env = env, .req = req, .out = out};
  a.shown = echo(*req->command ? req->command : (c->command ? c->command : "/"), req->text);
  a.slash = route_slash(c->command, req->command);
  if (check_request(&a) && check_route(&a) && check_backlog(&a))
    accept_job(&a);
  route_argv_free(a.argc, a.argv);
  place_free(&a.pl);
  free(a.shown);
}

/* "Stopping i-0abc (web-1)… (confirmed by <@U1>)": the text escaped, the
 * mention (a checked id) not. */
static char *preface_text(const admission_env *env, const confirm_token *t, const char *actor) {
  sbuf b = {0};
  sbuf_adds(&b, ":hourglass_flowing_sand: ");
  if (t->doing && *t->doing) {
    slack_escape(&b, t->doing, strlen(t->doing));
    sbuf_adds(&b, "…");
  } else {
    const char *slash = env->cfg->command ? env->cfg->command : "";
    sbuf_addf(&b, "`%s%s", slash, *slash ? " " : "");
    slack_escape(&b, t->text, strlen(t->text));
    sbuf_adds(&b, "` is running…");
  }
  sbuf_addf(&b, " (confirmed by <@%s>)", actor);
  return sbuf_steal(&b);
}

void admission_confirmed(const admission_env *env, const confirm_token *t, const char *response_url,
                         const char *actor_id, bool replace, admission_door door,
                         admission_result *out) {
  char *preface = replace ? preface_text(env, t, actor_id) : NULL;
  admission_request req = {.door = door,
                           .team_id = t->team_id,
                           .user_id = t->user_id,
                           .user_name = t->user_name,
                           .channel_id = t->channel_id,
                           .channel_name = "",
                           .command = env->cfg->command ? env->cfg->command : "",
                           .text = t->text,
                           .response_url = response_url ? response_url : "",
                           .enterprise_id = "",
                           .api_app_id = "",
                           .team_domain = "",
                           .trigger_id = "",
                           .confirmed = true,
                           .replace_original = replace,
                           .doing = t->doing,
                           .actor_id = actor_id,
                           .preface = preface};
  if (!*req.response_url)
    req.malformed = "response_url";
  admission_decide(env, &req, out);
  free(preface);
}

void admission_result_free(admission_result *r) {
  free(r->body);
  r->body = NULL;
}
