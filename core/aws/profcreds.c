/* The shared-files part of the credential chain, in botocore's order for the
 * profile in effect (AWS_PROFILE, else "default"):
 *
 *   role_arn (without web_identity_token_file) → AssumeRole, with the source
 *     credentials of source_profile (a chain of any depth; a profile may name
 *     itself when it has keys of its own) or of credential_source
 *     (Environment, Ec2InstanceMetadata, EcsContainer)
 *   web identity (AWS_WEB_IDENTITY_TOKEN_FILE or web_identity_token_file):
 *     the chain's next step
 *   sso_account_id / sso_role_name → IAM Identity Center (sso.c)
 *   keys in the credentials file
 *   credential_process (process.c)
 *   keys in the config file
 *
 * A setting that is broken or that slashd does not support stops the chain
 * with a message naming the setting and its file:line: falling through to,
 * say, the instance role would run commands as an identity nobody chose. */
#include <stdlib.h>
#include <string.h>

#include "aws.h"
#include "client_internal.h"
#include "common/util.h"
#include "profile.h"
#include "shared.h"

#define MAX_VISITED 32

typedef struct resolver {
  aws_client *c;
  const aws_shared *sh;
  sbuf *why;
  sbuf desc; /* how the credentials were reached, for the log and check-config */
  const char *visited[MAX_VISITED];
  size_t n_visited;
} resolver;

static src_result resolve_profile(resolver *r, const char *name, bool top, aws_creds *out);

static const char *value(const resolver *r, const char *profile, const char *key) {
  return shared_value(r->sh, profile, key);
}

/* "role_arn (/home/u/.aws/config:12)" into why. */
static void add_setting(resolver *r, const char *profile, const char *key) {
  const shared_kv *kv = shared_get(r->sh, profile, key);
  char *where = kv ? shared_where(r->sh, kv) : xstrdup("?");
  sbuf_addf(r->why, "%s (%s)", key, where);
  free(where);
}

static bool valid_credential_source(const char *v) {
  /* Case-sensitive, as botocore's CanonicalNameCredentialSourcer. */
  return strcmp(v, "Environment") == 0 || strcmp(v, "Ec2InstanceMetadata") == 0 ||
         strcmp(v, "EcsContainer") == 0;
}

/* Settings slashd refuses, and values it cannot use, before anything runs. */
static bool check_settings(resolver *r, const char *name) {
  const char *role = value(r, name, "role_arn");
  const char *cs = value(r, name, "credential_source");
  const char *dur = value(r, name, "duration_seconds");
  long d;
  if (role && value(r, name, "mfa_serial")) {
    sbuf_addf(r->why, "profile \"%s\": ", name);
    add_setting(r, name, "mfa_serial");
    sbuf_adds(r->why, " needs an MFA code typed at every refresh, which a service cannot ask "
                      "for: use a role without MFA, or credential_process");
    return false;
  }
  if (cs && !valid_credential_source(cs)) {
    sbuf_addf(r->why, "profile \"%s\": ", name);
    add_setting(r, name, "credential_source");
    sbuf_addf(r->why, " is \"%s\", not one of Environment, Ec2InstanceMetadata, EcsContainer", cs);
    return false;
  }
  if (role && dur && !parse_int(dur, 900, 43200, &d)) {
    sbuf_addf(r->why, "profile \"%s\": ", name);
    add_setting(r, name, "duration_seconds");
    sbuf_addf(r->why, " is \"%s\", not a number of seconds from 900 to 43200", dur);
    return false;
  }
  return true;
}

static bool has_static(const resolver *r, const char *name) {
  return shared_get(r->sh, name, "aws_access_key_id") ||
         shared_get(r->sh, name, "aws_secret_access_key");
}

static bool visited(const resolver *r, const char *name) {
  for (size_t i = 0; i < r->n_visited; i++)
    if (strcmp(r->visited[i], name) == 0)
      return true;
  return false;
}

static void add_loop(resolver *r, const char *name) {
  sbuf_adds(r->why, "source_profile loop: ");
  for (size_t i = 0; i < r->n_visited; i++)
    sbuf_addf(r->why, "%s → ", r->visited[i]);
  sbuf_adds(r->why, name);
}

/* Keys from one file (or either, file < 0). */
static src_result static_keys(resolver *r, const char *name, int file, aws_creds *out) {
  const shared_kv *akid = file < 0 ? shared_get(r->sh, name, "aws_access_key_id")
                                   : shared_get_in(r->sh, file, name, "aws_access_key_id");
  if (!akid)
    return SRC_NEXT;
  const shared_kv *sec = file < 0 ? shared_get(r->sh, name, "aws_secret_access_key")
                                  : shared_get_in(r->sh, file, name, "aws_secret_access_key");
  if (!sec || !*sec->value || !*akid->value) {
    char *where = shared_where(r->sh, akid);
    sbuf_addf(r->why, "profile \"%s\" has aws_access_key_id (%s) but no aws_secret_access_key",
              name, where);
    free(where);
    return SRC_STOP;
  }
  /* The token from the keys' own file, the older name first (botocore). */
  const shared_kv *tok = NULL;
  static const char *const token_keys[] = {"aws_security_token", "aws_session_token"};
  for (size_t i = 0; i < ARRAY_LEN(token_keys) && !tok; i++)
    tok = file < 0 ? shared_get(r->sh, name, token_keys[i])
                   : shared_get_in(r->sh, file, name, token_keys[i]);
  creds_fill(out, akid->value, sec->value, tok ? tok->value : NULL, 0, "");
  return SRC_FOUND;
}

/* The sources of one profile other than role_arn. top: the profile in
 * effect (then AWS_WEB_IDENTITY_* count too, and a profile without
 * credentials passes to the next source instead of failing). */
static src_result profile_sources(resolver *r, const char *name, bool top, aws_creds *out) {
  const char *wit = value(r, name, "web_identity_token_file");
  const char *env_wit = getenv("AWS_WEB_IDENTITY_TOKEN_FILE");
  if (top && env_wit && *env_wit) {
    /* The chain's web identity step reads the environment. */
    sbuf_adds(r->why, "AWS_WEB_IDENTITY_TOKEN_FILE is set, and web identity comes first");
    return SRC_NEXT;
  }
  if (wit) {
    const char *role = value(r, name, "role_arn");
    if (!role) {
      sbuf_addf(r->why, "profile \"%s\": ", name);
      add_setting(r, name, "web_identity_token_file");
      sbuf_adds(r->why, " needs role_arn");
      return SRC_STOP;
    }
    sbuf_adds(&r->desc, " (web identity)");
    return creds_web_identity(r->c, wit, role, value(r, name, "role_session_name"), out, r->why);
  }
  if (shared_get(r->sh, name, "sso_account_id") || shared_get(r->sh, name, "sso_role_name")) {
    sbuf_adds(&r->desc, " (sso)");
    return creds_sso(r->c, r->sh, name, out, r->why);
  }
  src_result k = static_keys(r, name, SHARED_CREDENTIALS, out);
  if (k != SRC_NEXT)
    return k;
  const shared_kv *proc = shared_get(r->sh, name, "credential_process");
  if (proc && *proc->value) {
    char *where = shared_where(r->sh, proc);
    sbuf_adds(&r->desc, " (credential_process)");
    src_result pr = creds_process(r->c, name, proc->value, where, out, r->why);
    free(where);
    return pr;
  }
  k = static_keys(r, name, SHARED_CONFIG, out);
  if (k != SRC_NEXT)
    return k;
  if (top)
    sbuf_addf(r->why, "profile \"%s\" has no credentials", name);
  else
    sbuf_addf(r->why, "the source profile \"%s\" has no credentials", name);
  return top ? SRC_NEXT : SRC_STOP;
}

static src_result from_credential_source(resolver *r, const char *name, const char *cs,
                                         aws_creds *out) {
  src_result res;
  sbuf inner = {0};
  if (strcmp(cs, "Environment") == 0)
    res = creds_from_env(r->c, out, &inner);
  else if (strcmp(cs, "EcsContainer") == 0)
    res = creds_from_container(r->c, out, &inner);
  else
    res = creds_from_imds(r->c, out, &inner);
  if (res != SRC_FOUND) {
    sbuf_addf(r->why, "profile \"%s\": credential_source %s found no credentials (%s)", name, cs,
              inner.p ? inner.p : "");
    res = SRC_STOP;
  }
  sbuf_free(&inner);
  return res;
}

static src_result from_source_profile(resolver *r, const char *name, const char *sp,
                                      aws_creds *out) {
  if (!shared_profile_exists(r->sh, sp)) {
    sbuf_addf(r->why, "profile \"%s\": ", name);
    add_setting(r, name, "source_profile");
    sbuf_addf(r->why, " names \"%s\", which is in neither file", sp);
    return SRC_STOP;
  }
  /* Visited before: a loop, unless a profile names itself to take its own
   * keys (botocore allows that one case). */
  if (visited(r, sp) && (strcmp(sp, name) != 0 || !has_static(r, sp))) {
    add_loop(r, sp);
    return SRC_STOP;
  }
  if (r->n_visited == MAX_VISITED) {
    sbuf_addf(r->why, "profile \"%s\": role chain deeper than %d profiles", name, MAX_VISITED);
    return SRC_STOP;
  }
  r->visited[r->n_visited++] = sp;
  if (!check_settings(r, sp))
    return SRC_STOP;
  if (has_static(r, sp) || !value(r, sp, "role_arn") || value(r, sp, "web_identity_token_file"))
    return profile_sources(r, sp, false, out);
  return resolve_profile(r, sp, false, out);
}

static src_result assume(resolver *r, const char *name, const char *role, const aws_creds *base,
                         aws_creds *out) {
  const char *session = value(r, name, "role_session_name");
  const char *ext = value(r, name, "external_id");
  const char *dur = value(r, name, "duration_seconds");
  char *def = xasprintf("slashd-%lld", (long long)client_now(r->c));
  json_t *params =
      json_pack("{s:s, s:s}", "RoleArn", role, "RoleSessionName", session ? session : def);
  if (ext)
    json_object_set_new(params, "ExternalId", json_string(ext));
  if (dur)
    json_object_set_new(params, "DurationSeconds", json_integer(atol(dur)));
  json_t *res = NULL;
  char *err = NULL;
  aws_status st = params ? client_call(r->c, base, NULL, "sts", "AssumeRole", params,
                                       CALL_SENSITIVE, &res, &err)
                         : AWS_ERR_UNSUPPORTED;
  src_result out_r = SRC_STOP;
  if (st != AWS_OK)
    sbuf_addf(r->why, "profile \"%s\": sts AssumeRole %s: %s", name, role,
              err ? err : "the role ARN or session name is not valid UTF-8");
  else if (!sts_parse_credentials(json_object_get(res, "AssumeRoleResult"), "", out, &err))
    sbuf_addf(r->why, "profile \"%s\": sts AssumeRole %s: %s", name, role, err);
  else
    out_r = SRC_FOUND;
  free(err);
  sts_wipe_answer(res, "AssumeRoleResult");
  json_decref(res);
  json_decref(params);
  free(def);
  return out_r;
}

static src_result assume_from_profile(resolver *r, const char *name, const char *role,
                                      aws_creds *out) {
  const char *sp = value(r, name, "source_profile");
  const char *cs = value(r, name, "credential_source");
  if (sp && cs) {
    sbuf_addf(r->why, "profile \"%s\" has both ", name);
    add_setting(r, name, "source_profile");
    sbuf_adds(r->why, " and ");
    add_setting(r, name, "credential_source");
    sbuf_adds(r->why, ": keep one");
    return SRC_STOP;
  }
  if (!sp && !cs) {
    sbuf_addf(r->why, "profile \"%s\": ", name);
    add_setting(r, name, "role_arn");
    sbuf_adds(r->why, " needs source_profile or credential_source");
    return SRC_STOP;
  }
  sbuf_addf(&r->desc, " → assume %s via %s %s", role, sp ? "source_profile" : "credential_source",
            sp ? sp : cs);
  aws_creds base = {0};
  src_result res =
      sp ? from_source_profile(r, name, sp, &base) : from_credential_source(r, name, cs, &base);
  if (res == SRC_FOUND)
    res = assume(r, name, role, &base, out);
  aws_creds_clear(&base);
  return res == SRC_FOUND ? SRC_FOUND : SRC_STOP;
}

static src_result resolve_profile(resolver *r, const char *name, bool top, aws_creds *out) {
  if (!check_settings(r, name))
    return SRC_STOP;
  const char *role = value(r, name, "role_arn");
  if (role && !value(r, name, "web_identity_token_file"))
    return assume_from_profile(r, name, role, out);
  return profile_sources(r, name, top, out);
}

src_result creds_from_profile(aws_client *c, aws_creds *out, sbuf *why) {
  const char *name = profile_name();
  bool explicit_ = getenv("AWS_PROFILE") && *getenv("AWS_PROFILE");
  aws_shared sh;
  bool any = shared_load(&sh);
  src_result res = SRC_NEXT;
  if (!any || !shared_profile_exists(&sh, name)) {
    sbuf_adds(why, sh.why);
    if (any) {
      bool both = sh.read[0] && sh.read[1];
      sbuf_addf(why, "%sprofile \"%s\" not in %s%s%s", *sh.why ? "; " : "", name,
                sh.read[0] ? sh.path[0] : "", both ? " or " : "", sh.read[1] ? sh.path[1] : "");
    }
    if (explicit_) {
      sbuf_addf(why, " (AWS_PROFILE=%s)", name);
      res = SRC_STOP;
    }
    shared_free(&sh);
    return res;
  }
  resolver r = {.c = c, .sh = &sh, .why = why};
  r.visited[r.n_visited++] = name;
  sbuf_addf(&r.desc, "profile %s", name);
  res = resolve_profile(&r, name, true, out);
  if (res == SRC_FOUND) {
    free(out->source);
    out->source = sbuf_steal(&r.desc);
  }
  sbuf_free(&r.desc);
  shared_free(&sh);
  return res;
}
