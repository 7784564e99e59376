#include "base/place.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"

#define REGION_MAX 32
#define SHOWN_MAX 40 /* of a refused value echoed back */

/* Two letters, one to three dash-separated words, a number: us-east-1,
 * us-gov-west-1, us-isob-east-1, ap-southeast-4. Nothing else may reach a
 * host name (ec2.<region>.amazonaws.com). */
bool place_region_shape(const char *r) {
  size_t n = r ? strlen(r) : 0;
  if (n < 6 || n > REGION_MAX)
    return false;
  if (!islower((unsigned char)r[0]) || !islower((unsigned char)r[1]) || r[2] != '-')
    return false;
  const char *p = r + 3;
  int words = 0;
  while (islower((unsigned char)*p)) {
    while (islower((unsigned char)*p))
      p++;
    if (*p++ != '-')
      return false;
    words++;
  }
  if (words < 1 || words > 3 || !isdigit((unsigned char)*p))
    return false;
  size_t digits = strspn(p, "0123456789");
  return digits <= 2 && p[digits] == '\0';
}

static bool alias_shape(const char *a) {
  size_t n = strlen(a);
  if (!n || n > 32)
    return false;
  for (; *a; a++)
    if (!islower((unsigned char)*a) && !isdigit((unsigned char)*a) && *a != '-' && *a != '_')
      return false;
  return true;
}

static bool account_id_shape(const char *s) {
  return strlen(s) == 12 && strspn(s, "0123456789") == 12;
}

/* "--NAME", or an en/em dash for "--" (phones replace it), any case. Sets
 * *value to what follows '=' when the word carries it. */
static bool flag_is(const char *w, const char *name, const char **value) {
  static const char *const dashes[] = {"--", "\xe2\x80\x93", "\xe2\x80\x94"};
  for (size_t i = 0; i < ARRAY_LEN(dashes); i++) {
    size_t d = strlen(dashes[i]), n = strlen(name);
    if (strncmp(w, dashes[i], d) != 0 || strncasecmp(w + d, name, n) != 0)
      continue;
    const char *rest = w + d + n;
    if (*rest == '\0') {
      *value = NULL;
      return true;
    }
    if (*rest == '=') {
      *value = rest + 1;
      return true;
    }
  }
  return false;
}

static char *lower_dup(const char *s) {
  char *d = xstrdup(s);
  for (char *p = d; *p; p++)
    *p = (char)tolower((unsigned char)*p);
  return d;
}

static char *known_list(char **v, size_t n) {
  sbuf b = {0};
  sbuf_add(&b, "", 0);
  for (size_t i = 0; i < n; i++)
    sbuf_addf(&b, "%s%s", i ? ", " : "", v[i]);
  return sbuf_steal(&b);
}

static bool region_check(const config *c, const char *r, char **err) {
  if (strcmp(r, PLACE_ALL) == 0) {
    if (c->n_aws_regions)
      return true;
    *err = xstrdup("`--region all` needs the list of regions this host serves ([aws] regions); "
                   "name one region instead");
    return false;
  }
  if (!place_region_shape(r)) {
    *err = xasprintf("`%.*s` is not an AWS region name (they look like eu-west-1); nothing was "
                     "run",
                     SHOWN_MAX, r);
    return false;
  }
  for (size_t i = 0; i < c->n_aws_regions; i++)
    if (strcmp(c->aws_regions[i], r) == 0)
      return true;
  if (!c->n_aws_regions)
    return true;
  char *known = known_list(c->aws_regions, c->n_aws_regions);
  *err = xasprintf("this host does not serve region %s; it serves %s", r, known);
  free(known);
  return false;
}

static bool account_check(const config *c, const char *a, char **err) {
  if (!c->accounts || c->accounts->n == 0) {
    *err = xstrdup("this host has no [accounts], so `--account` cannot be used");
    return false;
  }
  if (account_id_shape(a) || str_starts(a, "arn:")) {
    *err = xstrdup("account ids and ARNs are not accepted from chat; use an account alias "
                   "(`/aws help` lists them)");
    return false;
  }
  if (config_get(c->accounts, a))
    return true;
  sbuf b = {0};
  for (size_t i = 0; i < c->accounts->n; i++)
    sbuf_addf(&b, "%s%s", i ? ", " : "", c->accounts->kv[i].key);
  char *known = sbuf_steal(&b);
  *err = xasprintf("there is no account `%.*s`; this host knows %s", SHOWN_MAX, a, known);
  free(known);
  return false;
}

/* One flag at words[i] (and maybe its value at i+1). Returns how many words
 * it used (0: not a place flag), or -1 with *err. */
static int take_one(const config *c, int argc, char **words, int i, place *p, char **err) {
  const char *v = NULL;
  char **slot = NULL;
  const char *name = NULL;
  if (flag_is(words[i], "region", &v) || strcmp(words[i], "-r") == 0) {
    slot = &p->region;
    name = "--region";
  } else if (flag_is(words[i], "account", &v)) {
    slot = &p->account;
    name = "--account";
  } else {
    return 0;
  }
  int used = 1;
  if (!v) {
    if (i + 1 >= argc || !*words[i + 1]) {
      *err = xasprintf("`%s` needs a value, e.g. `%s %s`", name, name,
                       slot == &p->region ? "eu-west-1" : "prod");
      return -1;
    }
    v = words[i + 1];
    used = 2;
  }
  if (*slot) {
    *err = xasprintf("`%s` was given twice; give it once", name);
    return -1;
  }
  char *val = lower_dup(v);
  bool ok = slot == &p->region ? region_check(c, val, err) : account_check(c, val, err);
  if (!ok) {
    free(val);
    return -1;
  }
  *slot = val;
  return used;
}

bool place_take(const config *c, int *argc, char **words, place *p, char **err) {
  *err = NULL;
  memset(p, 0, sizeof *p);
  /* Nothing changes in words until every flag is known to be good. */
  bool *taken = xcalloc((size_t)*argc + 1, sizeof *taken);
  bool ok = true;
  for (int i = 0; i < *argc && ok;) {
    int used = take_one(c, *argc, words, i, p, err);
    ok = used >= 0;
    for (int k = 0; k < used; k++)
      taken[i + k] = true;
    i += used > 0 ? used : 1;
  }
  if (ok) {
    int out = 0;
    for (int i = 0; i < *argc; i++) {
      if (taken[i])
        free(words[i]);
      else
        words[out++] = words[i];
    }
    for (int i = out; i < *argc; i++)
      words[i] = NULL;
    *argc = out;
  } else {
    place_free(p);
  }
  free(taken);
  return ok;
}

void place_free(place *p) {
  free(p->region);
  free(p->account);
  p->region = p->account = NULL;
}

bool place_fan_out(const place *p) {
  return p->region && strcmp(p->region, PLACE_ALL) == 0;
}

/* "123456789012, region = eu-west-1, role_template = arn:..." */
static bool account_parse(const char *alias, const char *line, place_account *a, char **why) {
  memset(a, 0, sizeof *a);
  a->alias = xstrdup(alias);
  char *copy = xstrdup(line);
  bool ok = true;
  char *save = NULL;
  for (char *item = strtok_r(copy, ",", &save); item && ok; item = strtok_r(NULL, ",", &save)) {
    str_trim(item);
    char *eq = strchr(item, '=');
    if (!a->id) {
      a->id = xstrdup(item);
      ok = account_id_shape(a->id);
      if (!ok)
        *why = xasprintf("[accounts] %s: expected a 12-digit account id first, got \"%s\"", alias,
                         item);
      continue;
    }
    if (!eq) {
      *why = xasprintf("[accounts] %s: expected key = value after the id, got \"%s\"", alias, item);
      ok = false;
      continue;
    }
    *eq = '\0';
    char *k = str_trim(item), *v = str_trim(eq + 1);
    if (strcmp(k, "region") == 0 && place_region_shape(v) && !a->region) {
      a->region = xstrdup(v);
    } else if (strcmp(k, "role_template") == 0 && str_starts(v, "arn:aws") && !a->role_template) {
      a->role_template = xstrdup(v);
    } else {
      *why = xasprintf("[accounts] %s: \"%s\" must be region = <region> or role_template = "
                       "arn:aws:..., once each",
                       alias, k);
      ok = false;
    }
  }
  if (ok && !a->id) {
    *why = xasprintf("[accounts] %s: expected a 12-digit account id", alias);
    ok = false;
  }
  if (ok && !alias_shape(alias)) {
    *why =
        xasprintf("[accounts] %s: an alias is 1 to 32 characters of a-z, 0-9, '-' and '_'", alias);
    ok = false;
  }
  free(copy);
  if (!ok)
    place_account_free(a);
  return ok;
}

bool place_account_get(const config *c, const char *alias, place_account *out, char **err) {
  const char *line = alias ? config_get(c->accounts, alias) : NULL;
  char *why = NULL;
  memset(out, 0, sizeof *out);
  if (!line) {
    if (err)
      *err = xasprintf("there is no account `%.*s`", SHOWN_MAX, alias ? alias : "");
    return false;
  }
  if (!account_parse(alias, line, out, &why)) {
    if (err)
      *err = why;
    else
      free(why);
    return false;
  }
  return true;
}

void place_account_free(place_account *a) {
  free(a->alias);
  free(a->id);
  free(a->region);
  free(a->role_template);
  memset(a, 0, sizeof *a);
}

bool place_account_line_ok(const char *alias, const char *line, char **why) {
  place_account a;
  if (!account_parse(alias, line, &a, why))
    return false;
  place_account_free(&a);
  return true;
}

const char *place_region(const config *c, const place *p, const place_account *acct) {
  if (p && p->region)
    return p->region;
  if (acct && acct->region)
    return acct->region;
  return c->aws_region;
}

char *place_label(const char *region, const char *account) {
  bool r = region && *region, a = account && *account;
  if (r && a)
    return xasprintf("%s (%s)", region, account);
  return xstrdup(r ? region : a ? account : "");
}
