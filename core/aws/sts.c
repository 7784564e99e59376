/* STS: AssumeRole, and the credential block shared with the web identity
 * provider. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "aws.h"
#include "client_internal.h"
#include "codec.h"
#include "common/util.h"

/* The STS example wraps SessionToken over several lines; a token never holds
 * white space, so all of it goes. */
static char *strip_ws(const char *s) {
  char *o = xmalloc(strlen(s) + 1), *q = o;
  for (; *s; s++)
    if (!isspace((unsigned char)*s))
      *q++ = *s;
  *q = '\0';
  return o;
}

bool sts_parse_credentials(const json_t *result, const char *source, aws_creds *out, char **err) {
  const json_t *cr = json_object_get(result, "Credentials");
  const char *akid = json_string_value(json_object_get(cr, "AccessKeyId"));
  const char *secret = json_string_value(json_object_get(cr, "SecretAccessKey"));
  const char *token = json_string_value(json_object_get(cr, "SessionToken"));
  const char *exp = json_string_value(json_object_get(cr, "Expiration"));
  int64_t t = 0;
  if (!akid || !secret || !token || !exp) {
    *err = xstrdup("the STS answer has no Credentials with AccessKeyId, SecretAccessKey, "
                   "SessionToken and Expiration");
    return false;
  }
  if (!aws_parse_iso8601(exp, &t)) {
    *err = xasprintf("the STS answer's Expiration \"%s\" is not an ISO 8601 time", exp);
    return false;
  }
  memset(out, 0, sizeof *out);
  out->access_key_id = str_trim(xstrdup(akid));
  out->secret_access_key = str_trim(xstrdup(secret));
  out->session_token = strip_ws(token);
  out->expiration = t;
  out->source = xstrdup(source);
  if (!*out->access_key_id || !*out->secret_access_key || !*out->session_token) {
    aws_creds_clear(out);
    *err = xstrdup("the STS answer has empty credentials");
    return false;
  }
  return true;
}

void sts_wipe_answer(json_t *res, const char *result_name) {
  json_t *cr = json_object_get(json_object_get(res, result_name), "Credentials");
  static const char *const keys[] = {"SecretAccessKey", "SessionToken"};
  for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
    json_t *v = json_object_get(cr, keys[i]);
    if (json_is_string(v))
      OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
  }
}

static aws_status tag_params(json_t *params, const json_t *tags, char **err) {
  if (!tags || json_is_null(tags))
    return AWS_OK;
  if (!json_is_object(tags)) {
    *err = xstrdup("session tags must be a JSON object of name → string");
    return AWS_ERR_UNSUPPORTED;
  }
  const char *key;
  json_t *v;
  size_t n = 0;
  json_object_foreach((json_t *)tags, key, v) {
    if (!json_is_string(v)) {
      *err = xasprintf("session tag %s must have a string value", key);
      return AWS_ERR_UNSUPPORTED;
    }
    n++;
    char *k = xasprintf("Tags.member.%zu.Key", n), *val = xasprintf("Tags.member.%zu.Value", n);
    json_object_set_new(params, k, json_string(key));
    json_object_set(params, val, v);
    free(k);
    free(val);
  }
  return AWS_OK;
}

aws_status aws_assume_role(aws_client *c, const aws_creds *base, const char *role_arn,
                           const char *session_name, const char *source_identity,
                           const json_t *tags, int duration_seconds, aws_creds *out, char **err) {
  memset(out, 0, sizeof *out);
  if (!role_arn || !*role_arn || !session_name || !*session_name) {
    *err = xstrdup("AssumeRole needs a role ARN and a session name");
    return AWS_ERR_UNSUPPORTED;
  }
  json_t *params = json_pack("{s:s, s:s}", "RoleArn", role_arn, "RoleSessionName", session_name);
  if (!params) {
    *err = xstrdup("the role ARN or session name is not valid UTF-8");
    return AWS_ERR_UNSUPPORTED;
  }
  if (duration_seconds > 0)
    json_object_set_new(params, "DurationSeconds", json_integer(duration_seconds));
  if (source_identity && *source_identity)
    json_object_set_new(params, "SourceIdentity", json_string(source_identity));
  aws_status st = tag_params(params, tags, err);
  json_t *res = NULL;
  if (st == AWS_OK)
    st = client_call(c, base, NULL, "sts", "AssumeRole", params, CALL_SENSITIVE, &res, err);
  json_decref(params);
  if (st != AWS_OK)
    return st;
  if (!sts_parse_credentials(json_object_get(res, "AssumeRoleResult"), "assumed role", out, err))
    st = AWS_ERR_PARSE;
  sts_wipe_answer(res, "AssumeRoleResult");
  json_decref(res);
  return st;
}
