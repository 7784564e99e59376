#include "base/identity.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/place.h"
#include "base/util.h"

static bool iam_char(char c) {
  return isalnum((unsigned char)c) || strchr("+=,.@_-", c) != NULL;
}

char *identity_sanitize(const char *s, size_t max) {
  size_t n = 0;
  char *out = xmalloc(max + 1);
  for (; s && *s && n < max; s++)
    out[n++] = iam_char(*s) ? *s : '-';
  out[n] = '\0';
  return out;
}

char *identity_session_name(const char *user_id) {
  char *id = identity_sanitize(user_id, 57);
  char *name = xasprintf("slashd-%s", id);
  free(id);
  return name;
}

static char *expand_template(const char *tpl, const identity_who *who) {
  sbuf b = {0};
  sbuf_add(&b, "", 0);
  for (const char *p = tpl; *p;) {
    static const struct {
      const char *name;
      size_t off;
    } vars[] = {{"{user_id}", offsetof(identity_who, user_id)},
                {"{user_name}", offsetof(identity_who, user_name)},
                {"{team_id}", offsetof(identity_who, team_id)}};
    bool done = false;
    for (size_t i = 0; i < ARRAY_LEN(vars) && !done; i++) {
      size_t n = strlen(vars[i].name);
      if (strncmp(p, vars[i].name, n) == 0) {
        const char *v = *(const char *const *)((const char *)who + vars[i].off);
        /* Only what the user controls is sanitized: the template is the
         * admin's and may hold ARN punctuation. */
        char *clean = identity_sanitize(v ? v : "", 64);
        sbuf_adds(&b, clean);
        free(clean);
        p += n;
        done = true;
      }
    }
    if (!done)
      sbuf_addc(&b, *p++);
  }
  return sbuf_steal(&b);
}

char *identity_role_static(const config *c, const identity_who *who, char **err) {
  *err = NULL;
  switch (c->id_mode) {
  case ID_NONE:
    *err = xstrdup("this host maps no Slack users to IAM roles ([identity] mode = none)");
    return NULL;
  case ID_MAP: {
    const char *arn = config_get(c->id_users, who->user_id);
    if (!arn) {
      *err =
          xasprintf("no IAM role is mapped to your user id %s in [identity.users]", who->user_id);
      return NULL;
    }
    return xstrdup(arn);
  }
  case ID_TEMPLATE: {
    char *arn = expand_template(c->role_template, who);
    if (!str_starts(arn, "arn:aws")) {
      *err = xasprintf("[identity] role_template does not give a role ARN for %s", who->user_id);
      free(arn);
      return NULL;
    }
    return arn;
  }
  case ID_IAM_USER:
    *err = xstrdup("iam-user roles are resolved with AWS calls");
    return NULL;
  }
  return NULL;
}

/* The account id inside "arn:PARTITION:iam::ACCOUNT:role/NAME", or "". */
static void arn_account(const char *arn, char out[16]) {
  out[0] = '\0';
  const char *p = arn;
  for (int colons = 0; *p && colons < 4; p++)
    if (*p == ':')
      colons++;
  size_t n = strspn(p, "0123456789");
  if (n == 12 && p[n] == ':')
    snprintf(out, 16, "%.12s", p);
}

static char *replace_account(const char *tpl, const char *id) {
  sbuf b = {0};
  sbuf_add(&b, "", 0);
  for (const char *p = tpl; *p;) {
    if (str_starts(p, "{account}")) {
      sbuf_adds(&b, id);
      p += strlen("{account}");
    } else {
      sbuf_addc(&b, *p++);
    }
  }
  return sbuf_steal(&b);
}

/* With an account, the role must be in it: the account's own template, or
 * the user's mapping with {account} filled in. A fixed role elsewhere is
 * refused rather than silently used in the wrong account. */
char *identity_role_in(const config *c, const identity_who *who, const char *account,
                       const char *base_role, char **err) {
  *err = NULL;
  if (!account || !*account) {
    if (base_role && strstr(base_role, "{account}")) {
      *err = xstrdup("your role depends on the account: add `--account ALIAS`");
      return NULL;
    }
    return base_role ? xstrdup(base_role) : NULL;
  }
  place_account a;
  if (!place_account_get(c, account, &a, err))
    return NULL;
  char *role = NULL;
  if (a.role_template) {
    identity_who w = *who;
    char *expanded = expand_template(a.role_template, &w);
    role = replace_account(expanded, a.id);
    free(expanded);
  } else if (base_role) {
    role = replace_account(base_role, a.id);
  }
  char in[16];
  arn_account(role ? role : "", in);
  if (role && strcmp(in, a.id) != 0) {
    *err = xasprintf("your role %s is not in account %s (%s); an admin can give %s its own "
                     "role_template in [accounts]",
                     role, a.alias, a.id, a.alias);
    free(role);
    role = NULL;
  } else if (!role) {
    *err = xasprintf("no IAM role is known for you in account %s", a.alias);
  }
  place_account_free(&a);
  return role;
}
