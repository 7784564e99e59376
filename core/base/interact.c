#include "base/interact.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/confirm.h"
#include "base/log.h"
#include "base/message.h"
#include "base/util.h"

static void post(interact_result *out, const char *url, json_t *msg) {
  char *body = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
  json_decref(msg);
  if (!body || out->n_posts >= INTERACT_POSTS_MAX) {
    free(body);
    return;
  }
  out->posts[out->n_posts++] = (interact_post){.url = xstrdup(url), .body = body};
}

/* An ephemeral note to the clicker that leaves the prompt as it is. */
static void tell(interact_result *out, const char *url, const char *plain_text) {
  char *t = message_text(0, plain_text, NULL);
  post(out, url, confirm_message_json(t, false));
  free(t);
}

static const char *jstr(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

static bool id_ok(const char *s) {
  size_t n = strlen(s);
  if (!n || n > 64)
    return false;
  for (; *s; s++)
    if (!(*s >= 'A' && *s <= 'Z') && !(*s >= 'a' && *s <= 'z') && !(*s >= '0' && *s <= '9') &&
        *s != '_' && *s != '-' && *s != '.')
      return false;
  return true;
}

typedef struct click {
  const admission_env *env;
  admission_door door;
  const char *user, *team, *url, *action, *value;
  interact_result *out;
} click;

static void on_cancel(click *c, const confirm_token *t) {
  sbuf b = {0};
  sbuf_adds(&b, ":no_entry_sign: Cancelled `");
  slack_escape(&b, t->text, strlen(t->text));
  sbuf_addf(&b, "` (by <@%s>); nothing was done.", c->user);
  char *text = sbuf_steal(&b);
  post(c->out, c->url, confirm_message_json(text, true));
  free(text);
  admission_audit(c->env, "confirm_cancel", t, c->user, NULL, NULL);
  c->out->outcome = "cancelled";
}

static void on_confirm(click *c, const confirm_token *t) {
  admission_result res;
  admission_confirmed(c->env, t, c->url, c->user, true, c->door, &res);
  if (res.status == 200 && res.kind == ACK_QUEUED) {
    /* The job itself replaces the prompt first ("Stopping… (confirmed by
     * <@U>)", job->preface), so that nothing can overtake it. */
    memcpy(c->out->request_id, res.request_id, sizeof c->out->request_id);
    admission_audit(c->env, "confirm_ok", t, c->user, res.request_id, "button");
    c->out->outcome = "confirmed";
  } else {
    /* Admitted no more (access changed, busy, duplicate): the reason, and
     * the prompt stays. */
    json_t *j = res.json && res.body ? json_loads(res.body, 0, NULL) : NULL;
    const char *why = j ? jstr(j, "text") : "slashd could not start it; nothing was done.";
    char *msg = xstrdup(why);
    json_decref(j);
    post(c->out, c->url, confirm_message_json(msg, false));
    admission_audit(c->env, "confirm_refused", t, c->user, NULL, "not admitted");
    free(msg);
    c->out->outcome = "refused";
  }
  admission_result_free(&res);
}

static void on_click(click *c) {
  const admission_env *env = c->env;
  int64_t now = (env->now_ms ? env->now_ms : wall_ms()) / 1000;
  confirm_token t = {0};
  confirm_check ck = confirm_verify(env->confirm_key, c->value, now, &t);
  /* Only the requester decides; a foreign click leaves the nonce unused. */
  if (ck == CONFIRM_OK && (!str_eq(t.user_id, c->user) || !str_eq(t.team_id, c->team)))
    ck = CONFIRM_FOREIGN;
  if (ck == CONFIRM_OK && env->confirms &&
      !confirm_store_use(env->confirms, t.nonce, t.expires, now))
    ck = CONFIRM_REPLAYED;
  if (ck != CONFIRM_OK) {
    log_kv(SLOG_WARN, "interaction_refused", KV_S("user", c->user),
           KV_S("reason", confirm_check_name(ck)));
    admission_audit(env, "confirm_refused", ck == CONFIRM_TAMPERED ? NULL : &t, c->user, NULL,
                    confirm_check_name(ck));
    tell(c->out, c->url, confirm_check_text(ck));
    c->out->outcome = "refused";
  } else if (str_eq(c->action, CONFIRM_ACTION_NO)) {
    on_cancel(c, &t);
  } else {
    on_confirm(c, &t);
  }
  if (ck != CONFIRM_TAMPERED)
    confirm_token_free(&t);
}

void interact_handle(const admission_env *env, const char *payload, size_t len, admission_door door,
                     interact_result *out) {
  memset(out, 0, sizeof *out);
  out->status = 200;
  out->body = xstrdup("");
  out->outcome = "ignored";
  json_t *p = len <= INTERACT_PAYLOAD_MAX ? json_loadb(payload, len, 0, NULL) : NULL;
  if (!json_is_object(p)) {
    log_kv(SLOG_WARN, "interaction_malformed", KV_U("bytes", len));
    free(out->body);
    out->body = xstrdup("bad request: payload is not a JSON object\n");
    out->status = 400;
    out->outcome = "malformed";
    goto out;
  }
  const char *type = jstr(p, "type");
  const json_t *action = json_array_get(json_object_get(p, "actions"), 0);
  click c = {.env = env,
             .door = door,
             .user = jstr(json_object_get(p, "user"), "id"),
             .team = jstr(json_object_get(p, "team"), "id"),
             .url = jstr(p, "response_url"),
             .action = jstr(action, "action_id"),
             .value = jstr(action, "value"),
             .out = out};
  if (!*c.team)
    c.team = jstr(json_object_get(p, "user"), "team_id");
  bool ours = str_eq(type, "block_actions") &&
              (str_eq(c.action, CONFIRM_ACTION_YES) || str_eq(c.action, CONFIRM_ACTION_NO));
  if (!ours) {
    log_kv(SLOG_INFO, "interaction_ignored", KV_S("type", type), KV_S("action", c.action),
           KV_S("door", admission_door_name(door)));
    goto out;
  }
  char *why = NULL, *host = NULL;
  bool url_ok = id_ok(c.user) && env->policy && url_allowed(env->policy, c.url, &why, &host);
  if (!url_ok || !env->confirm_key) {
    log_kv(SLOG_WARN, "interaction_refused", KV_S("user", c.user),
           KV_S("reason", !env->confirm_key ? "no confirm key" : "user or response_url"),
           KV_S("host", host ? host : ""), KV_S("msg", why ? why : ""));
    out->outcome = "refused";
  }
  free(why);
  free(host);
  if (url_ok && env->confirm_key)
    on_click(&c);
out:
  json_decref(p);
}

void interact_result_free(interact_result *r) {
  free(r->body);
  for (size_t i = 0; i < r->n_posts; i++) {
    free(r->posts[i].url);
    free(r->posts[i].body);
  }
  memset(r, 0, sizeof *r);
}
