#include "shared.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/util.h"
#include "profile.h"

typedef struct parse_ud {
  aws_shared *s;
  int file;
} parse_ud;

static void classify(int file, const char *section, shared_kind *kind, const char **name) {
  *kind = SEC_PROFILE;
  *name = section;
  if (file == SHARED_CREDENTIALS)
    return;
  if (strcmp(section, "default") == 0)
    return;
  if ((*name = profile_section_name(section, "profile")))
    return;
  *kind = (*name = profile_section_name(section, "sso-session")) ? SEC_SSO_SESSION : SEC_OTHER;
  if (!*name)
    *name = section;
}

static void add(void *ud, const char *section, const char *key, const char *value, int line) {
  parse_ud *p = ud;
  aws_shared *s = p->s;
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 32;
    s->v = xrealloc(s->v, s->cap * sizeof *s->v);
  }
  shared_kv *kv = &s->v[s->n++];
  const char *name;
  classify(p->file, section, &kv->kind, &name);
  kv->name = xstrdup(name);
  kv->key = xstrdup(key);
  kv->value = xstrdup(value);
  kv->file = p->file;
  kv->line = line;
}

static void parse(aws_shared *s, int file, const char *text) {
  parse_ud p = {s, file};
  profile_ini_parse_lines(text, add, &p);
}

void shared_from_texts(aws_shared *s, const char *credentials_text, const char *config_text,
                       const char *credentials_path, const char *config_path) {
  memset(s, 0, sizeof *s);
  s->path[SHARED_CREDENTIALS] = xstrdup(credentials_path);
  s->path[SHARED_CONFIG] = xstrdup(config_path);
  s->read[SHARED_CREDENTIALS] = credentials_text != NULL;
  s->read[SHARED_CONFIG] = config_text != NULL;
  parse(s, SHARED_CONFIG, config_text);
  parse(s, SHARED_CREDENTIALS, credentials_text);
  s->why = xstrdup("");
}

static void wipe_free(char *t) {
  if (t) {
    OPENSSL_cleanse(t, strlen(t));
    free(t);
  }
}

bool shared_load(aws_shared *s) {
  char *cpath = profile_credentials_path(), *fpath = profile_config_path();
  sbuf w = {0};
  char *ctext = profile_read_or_why(cpath, &w), *ftext = profile_read_or_why(fpath, &w);
  shared_from_texts(s, ctext, ftext, cpath, fpath);
  free(s->why);
  s->why = sbuf_steal(&w);
  wipe_free(ctext);
  wipe_free(ftext);
  free(cpath);
  free(fpath);
  return s->read[0] || s->read[1];
}

void shared_free(aws_shared *s) {
  for (size_t i = 0; i < s->n; i++) {
    free(s->v[i].name);
    free(s->v[i].key);
    wipe_free(s->v[i].value);
  }
  free(s->v);
  free(s->path[0]);
  free(s->path[1]);
  free(s->why);
  memset(s, 0, sizeof *s);
}

static bool in_section(const shared_kv *kv, shared_kind kind, const char *name) {
  return kv->kind == kind && strcmp(kv->name, name) == 0;
}

bool shared_profile_exists(const aws_shared *s, const char *profile) {
  for (size_t i = 0; i < s->n; i++)
    if (in_section(&s->v[i], SEC_PROFILE, profile))
      return true;
  return false;
}

bool shared_session_exists(const aws_shared *s, const char *session) {
  for (size_t i = 0; i < s->n; i++)
    if (in_section(&s->v[i], SEC_SSO_SESSION, session))
      return true;
  return false;
}

/* The last occurrence wins within a file, as in ConfigParser. */
static const shared_kv *find(const aws_shared *s, int file, shared_kind kind, const char *name,
                             const char *key) {
  const shared_kv *hit = NULL;
  for (size_t i = 0; i < s->n; i++) {
    const shared_kv *kv = &s->v[i];
    if ((file < 0 || kv->file == file) && in_section(kv, kind, name) && strcmp(kv->key, key) == 0)
      hit = kv;
  }
  return hit;
}

const shared_kv *shared_get_in(const aws_shared *s, int file, const char *profile,
                               const char *key) {
  return find(s, file, SEC_PROFILE, profile, key);
}

const shared_kv *shared_get(const aws_shared *s, const char *profile, const char *key) {
  const shared_kv *kv = find(s, SHARED_CREDENTIALS, SEC_PROFILE, profile, key);
  return kv ? kv : find(s, SHARED_CONFIG, SEC_PROFILE, profile, key);
}

const shared_kv *shared_session_get(const aws_shared *s, const char *session, const char *key) {
  return find(s, SHARED_CONFIG, SEC_SSO_SESSION, session, key);
}

const char *shared_value(const aws_shared *s, const char *profile, const char *key) {
  const shared_kv *kv = shared_get(s, profile, key);
  return kv && *kv->value ? kv->value : NULL;
}

char *shared_where(const aws_shared *s, const shared_kv *kv) {
  return xasprintf("%s:%d", s->path[kv->file], kv->line);
}

void shared_each(const aws_shared *s, const char *profile,
                 void (*fn)(void *ud, const shared_kv *kv), void *ud) {
  for (size_t i = 0; i < s->n; i++)
    if (in_section(&s->v[i], SEC_PROFILE, profile))
      fn(ud, &s->v[i]);
}
