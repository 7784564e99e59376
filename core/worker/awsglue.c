#include "worker/awsglue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/identity.h"
#include "base/log.h"
#include "base/util.h"

typedef struct cached {
  struct cached *next;
  char *key;
  char *role;
  char *session;
  aws_creds creds;
} cached;

struct aws_glue {
  const config *cfg;
  aws_client *client;
  cached *cache;
  awsglue_creds_fn on_creds;
  void *ud;
  char *identity; /* of the current call */
  char *session;
};

aws_glue *awsglue_new(const config *c, awsglue_creds_fn on_creds, void *ud) {
  aws_glue *g = xcalloc(1, sizeof *g);
  g->cfg = c;
  g->on_creds = on_creds;
  g->ud = ud;
  g->identity = xstrdup("none");
  g->session = xstrdup("");
  return g;
}

static void cached_free(cached *e) {
  free(e->key);
  free(e->role);
  free(e->session);
  aws_creds_clear(&e->creds);
  free(e);
}

void awsglue_free(aws_glue *g) {
  if (!g)
    return;
  while (g->cache) {
    cached *next = g->cache->next;
    cached_free(g->cache);
    g->cache = next;
  }
  if (g->client)
    aws_client_free(g->client);
  free(g->identity);
  free(g->session);
  free(g);
}

aws_client *awsglue_client(aws_glue *g) {
  if (!g->client) {
    aws_config ac = {.region = g->cfg->aws_region,
                     .endpoint_url = g->cfg->aws_endpoint_url,
                     .connect_timeout = g->cfg->aws_connect_timeout,
                     .timeout = g->cfg->aws_timeout,
                     .max_attempts = g->cfg->aws_max_attempts,
                     .log = log_fields};
    g->client = aws_client_new(&ac);
  }
  return g->client;
}

void awsglue_forked(aws_glue *g) {
  /* The parent's client holds its TLS connections: a child that used or
   * closed them would break the parent's. It is left alone (not freed) and
   * the child makes its own. */
  g->client = NULL;
  g->on_creds = NULL;
}

bool awsglue_host_status(const aws_glue *g, const char **source, long long *expires,
                         long long *skew) {
  int64_t exp;
  if (!g->client || !aws_host_creds_cached(g->client, source, &exp))
    return false;
  *expires = exp;
  *skew = aws_client_clock_skew(g->client);
  return true;
}

char *awsglue_cache_key(const char *team_id, const char *user_id, const char *channel_id,
                        const char *account) {
  return xasprintf("%s|%s|%s|%s", team_id ? team_id : "", user_id ? user_id : "",
                   channel_id ? channel_id : "", account ? account : "");
}

static const char *caller_account(const slashd_caller *who) {
  return SLASHD_CALLER_HAS(who, account) && who->account ? who->account : "";
}

static const char *caller_region(const slashd_caller *who) {
  return SLASHD_CALLER_HAS(who, region) && who->region && *who->region ? who->region : NULL;
}

static cached *cache_find(aws_glue *g, const char *key) {
  for (cached *e = g->cache; e; e = e->next)
    if (strcmp(e->key, key) == 0)
      return e;
  return NULL;
}

static void cache_store(aws_glue *g, const char *key, const char *role, const char *session,
                        const aws_creds *c) {
  cached *e = cache_find(g, key);
  if (!e) {
    e = xcalloc(1, sizeof *e);
    e->key = xstrdup(key);
    e->next = g->cache;
    g->cache = e;
  } else {
    free(e->role);
    free(e->session);
    aws_creds_clear(&e->creds);
  }
  e->role = xstrdup(role);
  e->session = xstrdup(session);
  aws_creds_copy(&e->creds, c);
}

void awsglue_cache_put(aws_glue *g, const json_t *j) {
  const char *key = json_string_value(json_object_get(j, "key"));
  const char *role = json_string_value(json_object_get(j, "role"));
  const char *session = json_string_value(json_object_get(j, "session"));
  const char *akid = json_string_value(json_object_get(j, "akid"));
  const char *secret = json_string_value(json_object_get(j, "secret"));
  const char *token = json_string_value(json_object_get(j, "token"));
  if (!key || !role || !session || !akid || !secret)
    return;
  aws_creds c = {.access_key_id = (char *)akid,
                 .secret_access_key = (char *)secret,
                 .session_token = (char *)token,
                 .expiration = json_integer_value(json_object_get(j, "exp")),
                 .source = "assumed role"};
  cache_store(g, key, role, session, &c);
}

static json_t *entry_json(const char *key, const char *role, const char *session,
                          const aws_creds *c) {
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:I}", "key", key, "role", role, "session",
                   session, "akid", c->access_key_id, "secret", c->secret_access_key, "token",
                   c->session_token, "exp", (json_int_t)c->expiration);
}

static void set_identity(aws_glue *g, const char *identity, const char *session) {
  free(g->identity);
  free(g->session);
  g->identity = xstrdup(identity);
  g->session = xstrdup(session);
}

const char *awsglue_identity(const aws_glue *g) {
  return g->identity;
}

const char *awsglue_session(const aws_glue *g) {
  return g->session;
}

/* ---- iam-user mode ------------------------------------------------------ */

/* The original bot's way: the Slack user name is an IAM user that carries
 * the inline policy `required_policy`; the role `role_name` of that user's
 * account is assumed. If the IAM user has a slack_user_id tag, it must match
 * the caller (Slack user names can be changed by their owners). */
static char *iam_user_role(aws_glue *g, const slashd_caller *who, char **err) {
  const config *c = g->cfg;
  const char *name = who->user_name;
  if (!name || !*name) {
    *err = xstrdup("Slack sent no user name, which [identity] mode = iam-user needs");
    return NULL;
  }
  json_t *params = json_pack("{s:s}", "UserName", name);
  json_t *out = NULL;
  char *e = NULL;
  aws_status st = aws_call(awsglue_client(g), NULL, "iam", "GetUser", params, &out, &e);
  json_decref(params);
  if (st != AWS_OK) {
    *err = strstr(e ? e : "", "NoSuchEntity")
               ? xasprintf("there is no IAM user named %s, so slashd cannot tell which role is "
                           "yours",
                           name)
               : xasprintf("could not look up IAM user %s: %s", name, e ? e : "");
    free(e);
    return NULL;
  }
  json_t *user = json_object_get(json_object_get(out, "GetUserResult"), "User");
  const char *arn = json_string_value(json_object_get(user, "Arn"));
  json_t *tags = json_object_get(user, "Tags");
  for (size_t i = 0; json_is_array(tags) && i < json_array_size(tags); i++) {
    json_t *t = json_array_get(tags, i);
    if (str_eq(json_string_value(json_object_get(t, "Key")), "slack_user_id") &&
        !str_eq(json_string_value(json_object_get(t, "Value")), who->user_id)) {
      *err = xasprintf("IAM user %s belongs to another Slack user (tag slack_user_id)", name);
      json_decref(out);
      return NULL;
    }
  }
  /* arn:aws:iam::123456789012:user/path/name → the account id. */
  char account[32] = "";
  if (arn && sscanf(arn, "arn:%*[^:]:iam::%31[0-9]:", account) != 1)
    account[0] = '\0';
  char partition[32] = "aws";
  if (arn)
    sscanf(arn, "arn:%31[^:]:", partition);
  json_decref(out);
  if (!account[0]) {
    *err = xasprintf("IAM answered an unexpected ARN for user %s", name);
    return NULL;
  }
  params = json_pack("{s:s, s:s}", "UserName", name, "PolicyName", c->required_policy);
  st = aws_call(awsglue_client(g), NULL, "iam", "GetUserPolicy", params, &out, &e);
  json_decref(params);
  json_decref(out);
  if (st != AWS_OK) {
    *err = strstr(e ? e : "", "NoSuchEntity")
               ? xasprintf("IAM user %s does not carry the policy %s that lets slashd act for "
                           "them; ask an admin",
                           name, c->required_policy)
               : xasprintf("could not read the policy %s of IAM user %s: %s", c->required_policy,
                           name, e ? e : "");
    free(e);
    return NULL;
  }
  return xasprintf("arn:%s:iam::%s:role/%s", partition, account, c->role_name);
}

/* ---- credentials for one call ---------------------------------------------- */

static json_t *session_tags(const slashd_caller *who) {
  json_t *t = json_object();
  struct {
    const char *k, *v;
  } tags[] = {{"slack_user", who->user_id},
              {"slack_team", who->team_id},
              {"slack_channel", who->channel_id}};
  for (size_t i = 0; i < ARRAY_LEN(tags); i++) {
    if (tags[i].v && *tags[i].v) {
      char *v = identity_sanitize(tags[i].v, 256);
      json_object_set_new(t, tags[i].k, json_string(v));
      free(v);
    }
  }
  return t;
}

/* The caller's role credentials (borrowed from the cache) or NULL + *err. */
static const aws_creds *user_creds(aws_glue *g, slashd_call *call, char **err) {
  const slashd_caller *who = &call->caller;
  const char *account = caller_account(who);
  char *key = awsglue_cache_key(who->team_id, who->user_id, who->channel_id, account);
  identity_who iw = {.team_id = who->team_id,
                     .user_id = who->user_id,
                     .user_name = who->user_name,
                     .channel_id = who->channel_id};
  char *role = NULL;
  if (g->cfg->id_mode != ID_IAM_USER) {
    char *base = identity_role_static(g->cfg, &iw, err);
    if (base) {
      role = identity_role_in(g->cfg, &iw, account, base, err);
      free(base);
    }
    if (!role) {
      free(key);
      return NULL;
    }
  }
  cached *e = cache_find(g, key);
  int64_t now = wall_s();
  if (e && (!role || strcmp(e->role, role) == 0) &&
      (e->creds.expiration == 0 || e->creds.expiration - now > CREDS_REFRESH_S)) {
    set_identity(g, e->role, e->session);
    log_kv(SLOG_DEBUG, "identity_cached", KV_S("req", who->request_id), KV_S("role", e->role),
           KV_I("expires_in_s", e->creds.expiration - now));
    free(role);
    free(key);
    return &e->creds;
  }
  if (!role) {
    char *base = iam_user_role(g, who, err);
    role = base ? identity_role_in(g->cfg, &iw, account, base, err) : NULL;
    free(base);
    if (!role) {
      free(key);
      return NULL;
    }
  }
  char *session = identity_session_name(who->user_id);
  json_t *tags = session_tags(who);
  aws_creds c = {0};
  char *e2 = NULL;
  aws_status st = aws_assume_role(awsglue_client(g), NULL, role, session, who->user_id, tags,
                                  g->cfg->session_duration, &c, &e2);
  json_decref(tags);
  const aws_creds *result = NULL;
  if (st != AWS_OK) {
    *err = xasprintf("could not assume %s for you: %s", role, e2 ? e2 : aws_status_name(st));
    log_kv(SLOG_WARN, "assume_role_failed", KV_S("req", who->request_id),
           KV_S("user", who->user_id), KV_S("role", role), KV_S("msg", e2 ? e2 : ""));
  } else {
    cache_store(g, key, role, session, &c);
    log_kv(SLOG_INFO, "assumed_role", KV_S("req", who->request_id), KV_S("user", who->user_id),
           KV_S("role", role), KV_S("session", session), KV_I("expires", c.expiration));
    if (g->on_creds) {
      json_t *j = entry_json(key, role, session, &c);
      g->on_creds(g->ud, j);
      json_decref(j);
    }
    set_identity(g, role, session);
    result = &cache_find(g, key)->creds;
  }
  aws_creds_clear(&c);
  free(e2);
  free(session);
  free(role);
  free(key);
  return result;
}

static void cache_forget(aws_glue *g, slashd_call *call) {
  char *key = awsglue_cache_key(call->caller.team_id, call->caller.user_id, call->caller.channel_id,
                                caller_account(&call->caller));
  for (cached **pp = &g->cache; *pp; pp = &(*pp)->next) {
    if (strcmp((*pp)->key, key) == 0) {
      cached *e = *pp;
      *pp = e->next;
      cached_free(e);
      break;
    }
  }
  free(key);
}

static slashd_status to_status(aws_status st) {
  switch (st) {
  case AWS_OK:
    return SLASHD_OK;
  case AWS_ERR_UNSUPPORTED:
    return SLASHD_ERR_UNSUPPORTED;
  default:
    return SLASHD_ERR_AWS;
  }
}

static slashd_status awsglue_call(void *ud, slashd_call *call, const char *service,
                                  const char *action, const json_t *params, json_t **out, char *err,
                                  size_t err_len) {
  aws_glue *g = ud;
  /* Another account is reached only through a role in it. */
  bool assume = call->cmd->access == SLASHD_WRITE || g->cfg->id_read == READ_AS_ASSUME ||
                *caller_account(&call->caller);
  const aws_creds *creds = NULL;
  char *e = NULL;
  if (assume) {
    creds = user_creds(g, call, &e);
    if (!creds) {
      if (err && err_len)
        snprintf(err, err_len, "%s", e ? e : "no role for you");
      free(e);
      return SLASHD_ERR_DENIED;
    }
  } else if (!str_eq(g->identity, "host")) {
    set_identity(g, "host", "");
  }
  /* "@region" runs one call in another region (CloudWatch in a bucket's). */
  const char *region = json_string_value(json_object_get(params, "@region"));
  json_t *p = NULL;
  /* The caller's region (--region, the account's default); S3's bucket
   * listing is global and a bucket's own calls name its region. */
  if (!region && !str_eq(service, "s3"))
    region = caller_region(&call->caller);
  if (region) {
    p = json_copy((json_t *)params);
    json_object_del(p, "@region");
  }
  aws_status st =
      aws_call_region(awsglue_client(g), creds, region, service, action, p ? p : params, out, &e);
  if (st == AWS_ERR_CREDENTIALS && assume) {
    /* AWS no longer takes the cached role credentials (expired early,
     * revoked): forget them, assume again once, and retry. */
    log_kv(SLOG_INFO, "identity_rejected", KV_S("req", call->caller.request_id),
           KV_S("msg", e ? e : ""));
    free(e);
    e = NULL;
    cache_forget(g, call);
    creds = user_creds(g, call, &e);
    if (!creds) {
      if (err && err_len)
        snprintf(err, err_len, "%s", e ? e : "no role for you");
      free(e);
      json_decref(p);
      return SLASHD_ERR_DENIED;
    }
    st =
        aws_call_region(awsglue_client(g), creds, region, service, action, p ? p : params, out, &e);
  }
  json_decref(p);
  if (st != AWS_OK && err && err_len)
    snprintf(err, err_len, "%s", e ? e : aws_status_name(st));
  free(e);
  return to_status(st);
}

void awsglue_attach(aws_glue *g, slashd_call *call) {
  set_identity(g, "none", "");
  call->aws = awsglue_call;
  call->aws_ud = g;
}

bool awsglue_kms_decrypt(void *ud, const char *ciphertext_b64, unsigned char **plain, size_t *len,
                         char **err) {
  aws_glue *g = ud;
  aws_status st = aws_kms_decrypt(awsglue_client(g), ciphertext_b64, plain, len, err);
  return st == AWS_OK;
}
