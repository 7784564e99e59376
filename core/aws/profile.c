#include "profile.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/util.h"

#define MAX_FILE (1u << 20)

static bool hws(char c) {
  return c == ' ' || c == '\t';
}

/* Cuts a comment that starts with '#' or ';' after white space. */
static void cut_inline_comment(char *v) {
  for (char *p = v; *p; p++) {
    if ((*p == '#' || *p == ';') && p > v && hws(p[-1])) {
      *p = '\0';
      return;
    }
  }
}

void profile_ini_parse_lines(const char *text, profile_ini_line_fn fn, void *ud) {
  if (!text)
    return;
  if ((unsigned char)text[0] == 0xef && (unsigned char)text[1] == 0xbb &&
      (unsigned char)text[2] == 0xbf)
    text += 3;
  char *section = NULL;
  bool have_key = false; /* a key was seen in this section */
  const char *p = text;
  int lineno = 0;
  while (*p) {
    lineno++;
    const char *eol = strchr(p, '\n');
    size_t n = eol ? (size_t)(eol - p) : strlen(p);
    char *line = xstrndup(p, n);
    p = eol ? eol + 1 : p + n;
    bool indented = hws(line[0]);
    str_trim(line);
    if (!*line || line[0] == '#' || line[0] == ';') {
      free(line);
      continue;
    }
    if (line[0] == '[') {
      char *close = strchr(line, ']');
      free(section);
      section = close ? str_trim(xstrndup(line + 1, (size_t)(close - line - 1))) : NULL;
      have_key = false;
    } else if (indented && have_key) {
      /* continuation or nested "s3 =\n  max_concurrent_requests = 20": ignored */
    } else if (section) {
      size_t k = strcspn(line, "=:");
      if (line[k]) {
        line[k] = '\0';
        char *key = str_trim(line), *value = line + k + 1;
        cut_inline_comment(value);
        str_trim(value);
        for (char *q = key; *q; q++)
          *q = (char)tolower((unsigned char)*q);
        if (*key) {
          fn(ud, section, key, value, lineno);
          have_key = true;
        }
      }
    }
    OPENSSL_cleanse(line, n);
    free(line);
  }
  free(section);
}

typedef struct plain_ud {
  profile_ini_fn fn;
  void *ud;
} plain_ud;

static void plain_line(void *ud, const char *section, const char *key, const char *value,
                       int line) {
  (void)line;
  plain_ud *p = ud;
  p->fn(p->ud, section, key, value);
}

void profile_ini_parse(const char *text, profile_ini_fn fn, void *ud) {
  plain_ud p = {fn, ud};
  profile_ini_parse_lines(text, plain_line, &p);
}

typedef struct lookup {
  const char *want; /* section name to take */
  bool config;      /* config file: [profile name] / [default] */
  aws_profile *out;
  bool found;
} lookup;

const char *profile_section_name(const char *section, const char *prefix) {
  size_t n = strlen(prefix);
  if (strncmp(section, prefix, n) != 0 || !hws(section[n]))
    return NULL;
  const char *name = section + n;
  while (hws(*name))
    name++;
  return *name ? name : NULL;
}

static bool section_matches(const lookup *l, const char *section) {
  if (!l->config)
    return strcmp(section, l->want) == 0;
  if (strcmp(l->want, "default") == 0 && strcmp(section, "default") == 0)
    return true;
  const char *name = profile_section_name(section, "profile");
  return name && strcmp(name, l->want) == 0;
}

static void set(char **dst, const char *v) {
  if (*dst)
    OPENSSL_cleanse(*dst, strlen(*dst));
  free(*dst);
  *dst = *v ? xstrdup(v) : NULL;
}

static void take(void *ud, const char *section, const char *key, const char *value) {
  lookup *l = ud;
  if (!section_matches(l, section))
    return;
  l->found = true;
  aws_profile *p = l->out;
  static const char *const other_sources[] = {
      "role_arn",    "source_profile", "credential_source",       "credential_process",
      "sso_session", "sso_start_url",  "web_identity_token_file", "login_session"};
  if (strcmp(key, "aws_access_key_id") == 0)
    set(&p->access_key_id, value);
  else if (strcmp(key, "aws_secret_access_key") == 0)
    set(&p->secret_access_key, value);
  else if (strcmp(key, "aws_session_token") == 0)
    set(&p->session_token, value);
  else if (strcmp(key, "region") == 0)
    set(&p->region, value);
  else if (strcmp(key, "ca_bundle") == 0)
    set(&p->ca_bundle, value);
  else if (strcmp(key, "max_attempts") == 0)
    set(&p->max_attempts, value);
  else if (strcmp(key, "retry_mode") == 0)
    set(&p->retry_mode, value);
  else if (strcmp(key, "use_fips_endpoint") == 0)
    set(&p->use_fips_endpoint, value);
  else if (strcmp(key, "use_dualstack_endpoint") == 0)
    set(&p->use_dualstack_endpoint, value);
  else
    for (size_t i = 0; i < ARRAY_LEN(other_sources); i++)
      if (strcmp(key, other_sources[i]) == 0 && !p->other_source)
        p->other_source = xstrdup(key);
}

void profile_from_texts(const char *name, const char *credentials_text, const char *config_text,
                        aws_profile *out) {
  memset(out, 0, sizeof *out);
  out->name = xstrdup(name);
  /* Config first, then credentials over it: the credentials file wins. */
  lookup cfg = {name, true, out, false};
  profile_ini_parse(config_text, take, &cfg);
  lookup cred = {name, false, out, false};
  profile_ini_parse(credentials_text, take, &cred);
  out->found = cfg.found || cred.found;
}

const char *profile_name(void) {
  const char *p = getenv("AWS_PROFILE");
  return p && *p ? p : "default";
}

char *profile_home_dir(void) {
  const char *h = getenv("HOME");
  if (h && *h)
    return xstrdup(h);
  struct passwd pw, *res = NULL;
  char buf[1024];
  if (getpwuid_r(getuid(), &pw, buf, sizeof buf, &res) == 0 && res && res->pw_dir)
    return xstrdup(res->pw_dir);
  return xstrdup("/");
}

static char *path_from(const char *env, const char *leaf) {
  const char *v = getenv(env);
  char *home = profile_home_dir(), *out;
  if (v && *v) {
    if (v[0] == '~' && (v[1] == '/' || v[1] == '\0'))
      out = xasprintf("%s%s", home, v + 1);
    else
      out = xstrdup(v);
  } else {
    out = xasprintf("%s/.aws/%s", strcmp(home, "/") == 0 ? "" : home, leaf);
  }
  free(home);
  return out;
}

char *profile_credentials_path(void) {
  return path_from("AWS_SHARED_CREDENTIALS_FILE", "credentials");
}

char *profile_config_path(void) {
  return path_from("AWS_CONFIG_FILE", "config");
}

char *profile_read_or_why(const char *path, sbuf *why) {
  size_t len;
  char *s = read_file(path, MAX_FILE, &len);
  if (!s) {
    if (why->len)
      sbuf_adds(why, "; ");
    sbuf_addf(why, "%s: %s", path, errno == ENOENT ? "not found" : strerror(errno));
  }
  return s;
}

bool profile_load(const char *name, aws_profile *out, char **why) {
  char *cpath = profile_credentials_path(), *fpath = profile_config_path();
  sbuf w = {0};
  char *ctext = profile_read_or_why(cpath, &w), *ftext = profile_read_or_why(fpath, &w);
  profile_from_texts(name, ctext, ftext, out);
  bool any = ctext || ftext;
  if (any && !out->found) {
    if (w.len)
      sbuf_adds(&w, "; ");
    sbuf_addf(&w, "profile \"%s\" not in %s%s%s", name, ctext ? cpath : "",
              ctext && ftext ? " or " : "", ftext ? fpath : "");
  }
  if (ctext) {
    OPENSSL_cleanse(ctext, strlen(ctext));
    free(ctext);
  }
  if (ftext) {
    OPENSSL_cleanse(ftext, strlen(ftext));
    free(ftext);
  }
  free(cpath);
  free(fpath);
  *why = sbuf_steal(&w);
  return any;
}

void profile_free(aws_profile *p) {
  set(&p->access_key_id, "");
  set(&p->secret_access_key, "");
  set(&p->session_token, "");
  free(p->region);
  free(p->ca_bundle);
  free(p->max_attempts);
  free(p->retry_mode);
  free(p->use_fips_endpoint);
  free(p->use_dualstack_endpoint);
  free(p->name);
  free(p->other_source);
  memset(p, 0, sizeof *p);
}
