#include "base/access.h"

#include <stdio.h>
#include <string.h>

#include "slashd/plugin.h"
#include "base/util.h"

typedef enum { KIND_USERS, KIND_CHANNELS, KIND_DENY } rule_kind;

typedef struct rule {
  char target[80];
  rule_kind kind;
} rule;

/* Length of the plugin or command name at s ([a-z0-9_-], as the registry
 * accepts them), 0 when there is none or it is too long. */
static size_t name_len(const char *s) {
  size_t n = 0;
  while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '_' || s[n] == '-')
    n++;
  return n <= 32 ? n : 0;
}

/* "*", "plugin", "plugin.*" or "plugin.command". Anything else would match
 * nothing, and a rule that matches nothing leaves its command open. */
static bool target_ok(const char *t) {
  if (strcmp(t, "*") == 0)
    return true;
  size_t n = name_len(t);
  if (!n)
    return false;
  t += n;
  if (*t == '\0')
    return true;
  if (*t++ != '.')
    return false;
  if (strcmp(t, "*") == 0)
    return true;
  n = name_len(t);
  return n && t[n] == '\0';
}

static bool parse_key(const char *key, rule *r, char **why) {
  char buf[160];
  snprintf(buf, sizeof buf, "%s", key);
  char *at = strchr(buf, '@');
  r->kind = KIND_USERS;
  if (at) {
    const char *q = at + 1;
    if (strcmp(q, "users") == 0)
      r->kind = KIND_USERS;
    else if (strcmp(q, "channels") == 0)
      r->kind = KIND_CHANNELS;
    else if (strcmp(q, "deny") == 0)
      r->kind = KIND_DENY;
    else {
      if (why)
        *why =
            xasprintf("[access] \"%s\": expected @users, @channels or @deny after the target", key);
      return false;
    }
    *at = '\0';
  }
  str_trim(buf);
  if (!target_ok(buf) || strlen(buf) >= sizeof r->target) {
    if (why)
      *why = xasprintf("[access] \"%s\": expected a target such as *, ec2, ec2.* or ec2.stop", key);
    return false;
  }
  snprintf(r->target, sizeof r->target, "%s", buf);
  return true;
}

bool access_rule_key_ok(const char *key, char **why) {
  rule r;
  return parse_key(key, &r, why);
}

/* How specifically a target names plugin.command: 0 = not at all. */
static int match_level(const char *target, const char *plugin, const char *command) {
  if (strcmp(target, "*") == 0)
    return 1;
  size_t pl = strlen(plugin);
  if (strncmp(target, plugin, pl) != 0)
    return 0;
  const char *rest = target + pl;
  if (*rest == '\0' || strcmp(rest, ".*") == 0)
    return 2;
  if (*rest == '.' && strcmp(rest + 1, command) == 0)
    return 3;
  return 0;
}

static bool list_has(const char *list, const char *id) {
  if (!id || !*id)
    return false;
  char **v;
  size_t n = str_split_list(list, &v);
  bool found = false;
  for (size_t i = 0; i < n && !found; i++)
    found = strcmp(v[i], id) == 0;
  strv_free(v, n);
  return found;
}

bool access_has_identity(const config *c, const access_subject *who) {
  switch (c->id_mode) {
  case ID_NONE:
    return false;
  case ID_MAP:
    return config_get(c->id_users, who->user_id) != NULL;
  case ID_TEMPLATE:
  case ID_IAM_USER:
    /* Every user can be given a role name; whether AWS accepts it is found
     * out when the role is assumed. */
    return who->user_id && *who->user_id;
  }
  return false;
}

access_result access_check(const config *c, const access_subject *who, const char *plugin,
                           const char *command, int level, char **msg) {
  if (msg)
    *msg = NULL;
  const cfg_section *s = c->access;
  int best[2] = {0, 0};     /* most specific @users / @channels level */
  bool allowed[2] = {0, 0}; /* listed at that level */
  for (size_t i = 0; s && i < s->n; i++) {
    rule r;
    if (!parse_key(s->kv[i].key, &r, NULL))
      continue;
    int lvl = match_level(r.target, plugin, command);
    if (!lvl)
      continue;
    const char *v = s->kv[i].value;
    if (r.kind == KIND_DENY) {
      if (list_has(v, who->user_id) || list_has(v, who->channel_id)) {
        if (msg)
          *msg = xasprintf("You may not run `%s %s`: an access rule denies it for your user id "
                           "%s or this channel. Ask an admin if you need it.",
                           plugin, command, who->user_id ? who->user_id : "");

        return ACCESS_DENIED;
      }
      continue;
    }
    int k = r.kind == KIND_USERS ? 0 : 1;
    const char *id = k == 0 ? who->user_id : who->channel_id;
    if (lvl > best[k]) {
      best[k] = lvl;
      allowed[k] = false;
    }
    if (lvl == best[k] && list_has(v, id))
      allowed[k] = true;
  }
  if (best[0] && !allowed[0]) {
    if (msg)
      *msg = xasprintf("You may not run `%s %s`: it is limited to certain users. Ask an admin "
                       "to add your user id %s to [access].",
                       plugin, command, who->user_id ? who->user_id : "");
    return ACCESS_DENIED;
  }
  if (best[1] && !allowed[1]) {
    if (msg)
      *msg = xasprintf("`%s %s` cannot be run in this channel. Try it in a channel where it is "
                       "allowed.",
                       plugin, command);
    return ACCESS_DENIED;
  }
  if (level == SLASHD_WRITE && !access_has_identity(c, who)) {
    if (msg) {
      if (c->id_mode == ID_NONE)
        *msg = xasprintf("`%s %s` changes AWS resources, so it must run under your own IAM "
                         "role, and this host maps no Slack users to roles ([identity] mode = "
                         "none). Ask an admin to set up [identity] for your user id %s.",
                         plugin, command, who->user_id ? who->user_id : "");
      else
        *msg = xasprintf("`%s %s` changes AWS resources, so it must run under your own IAM "
                         "role, and none is mapped to you. Ask an admin to add `%s = "
                         "arn:aws:iam::<account>:role/<role>` under [identity.users].",

                         plugin, command, who->user_id ? who->user_id : "");
    }
    return ACCESS_NO_ROLE;
  }
  return ACCESS_OK;
}
