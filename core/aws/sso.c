/* IAM Identity Center (SSO) profiles, as botocore reads them.
 *
 *   [profile dev]                      [profile old]
 *   sso_session = corp                 sso_start_url = https://x.awsapps.com/start
 *   sso_account_id = 111122223333      sso_region = eu-west-1
 *   sso_role_name = ReadOnly           sso_account_id = …   sso_role_name = …
 *   [sso-session corp]
 *   sso_start_url = …   sso_region = eu-west-1
 *
 * `aws sso login` leaves the token in ~/.aws/sso/cache/<sha1>.json, the
 * sha1 (hex) of the session name, or of the start URL for the legacy form.
 * A session token close to expiry (15 min) is refreshed with its refresh
 * token through SSO OIDC CreateToken and written back, as botocore does;
 * the legacy form has no refresh. GetRoleCredentials on the portal turns
 * the token into role credentials. Both endpoints follow
 * AWS_ENDPOINT_URL_SSO / AWS_ENDPOINT_URL_SSO_OIDC, then AWS_ENDPOINT_URL. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "aws.h"
#include "client_internal.h"
#include "codec.h"
#include "common/util.h"
#include "error.h"
#include "profile.h"
#include "shared.h"

#define SSO_REFRESH_WINDOW_S 900
#define SSO_CACHE_MAX (64u << 10)
#define SSO_ANSWER_MAX (64u << 10)

typedef struct sso_conf {
  const char *session; /* NULL for the legacy form */
  const char *start_url, *region, *account, *role;
} sso_conf;

static const char *env(const char *n) {
  const char *v = getenv(n);
  return v && *v ? v : NULL;
}

/* A session setting; the profile's own value must agree when it has one. */
static bool take(const aws_shared *sh, const char *profile, const char *session, const char *key,
                 const char **out, sbuf *why) {
  const char *pv = shared_value(sh, profile, key);
  const shared_kv *skv = session ? shared_session_get(sh, session, key) : NULL;
  const char *sv = skv && *skv->value ? skv->value : NULL;
  if (pv && sv && strcmp(pv, sv) != 0) {
    char *where = shared_where(sh, skv);
    sbuf_addf(why, "profile \"%s\": %s differs from the sso-session \"%s\" (%s)", profile, key,
              session, where);
    free(where);
    return false;
  }
  *out = sv ? sv : pv;
  return true;
}

static bool read_conf(const aws_shared *sh, const char *profile, sso_conf *k, sbuf *why) {
  memset(k, 0, sizeof *k);
  k->session = shared_value(sh, profile, "sso_session");
  if (k->session && !shared_session_exists(sh, k->session)) {
    const shared_kv *kv = shared_get(sh, profile, "sso_session");
    char *where = shared_where(sh, kv);
    sbuf_addf(why,
              "profile \"%s\": sso_session (%s) names \"%s\", but there is no [sso-session %s]",
              profile, where, k->session, k->session);
    free(where);
    return false;
  }
  if (!take(sh, profile, k->session, "sso_start_url", &k->start_url, why) ||
      !take(sh, profile, k->session, "sso_region", &k->region, why))
    return false;
  k->account = shared_value(sh, profile, "sso_account_id");
  k->role = shared_value(sh, profile, "sso_role_name");
  const char *missing[4];
  size_t n = 0;
  if (!k->role)
    missing[n++] = "sso_role_name";
  if (!k->account)
    missing[n++] = "sso_account_id";
  if (!k->start_url)
    missing[n++] = "sso_start_url";
  if (!k->region)
    missing[n++] = "sso_region";
  if (!n)
    return true;
  sbuf_addf(why, "profile \"%s\" is configured for SSO but lacks", profile);
  for (size_t i = 0; i < n; i++)
    sbuf_addf(why, "%s %s", i ? "," : "", missing[i]);
  return false;
}

static char *cache_path(const sso_conf *k) {
  const char *key = k->session ? k->session : k->start_url;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned mdlen = 0;
  EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha1(), NULL);
  char hex[2 * EVP_MAX_MD_SIZE + 1];
  hex_encode(md, mdlen, hex);
  char *h = profile_home_dir(), *p = xasprintf("%s/.aws/sso/cache/%s.json", h, hex);
  free(h);
  return p;
}

static void expired(sbuf *why, const char *profile, const char *what) {
  sbuf_addf(why, "the SSO login of profile \"%s\" %s: run `aws sso login --profile %s`", profile,
            what, profile);
}

/* The base URL of an endpoint outside the signed-service table:
 * https://<prefix><region>.amazonaws.com unless overridden. */
static char *base_url(const char *env_var, const char *prefix, const char *region) {
  const char *u = env(env_var);
  if (!u)
    u = env("AWS_ENDPOINT_URL");
  char *b = u ? xstrdup(u) : NULL;
  if (!b) {
    b = xasprintf("https://%s%s.amazonaws.com", prefix, region);
  }
  size_t n = strlen(b);
  while (n && b[n - 1] == '/')
    b[--n] = '\0';
  return b;
}

static void sso_request(aws_client *c, const char *method, const char *url, const aws_headers *h,
                        const char *body, http_response *resp) {
  http_request req = {method,
                      url,
                      h,
                      body,
                      body ? strlen(body) : 0,
                      (long)c->connect_timeout * 1000L,
                      (long)c->timeout * 1000L,
                      SSO_ANSWER_MAX,
                      false};
  http_perform(c->http, &req, resp);
}

/* Writes the refreshed token next to the old one, atomically, mode 0600. */
static void save_token(const char *path, json_t *tok) {
  char *tmp = xasprintf("%s.slashd-%d", path, (int)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  char *text = json_dumps(tok, JSON_INDENT(2));
  bool ok = fd >= 0 && text && write_all(fd, text, strlen(text));
  if (fd >= 0)
    ok = close(fd) == 0 && ok;
  if (!ok || rename(tmp, path) != 0)
    unlink(tmp);
  if (text) {
    OPENSSL_cleanse(text, strlen(text));
    free(text);
  }
  free(tmp);
}

/* SSO OIDC CreateToken with the refresh token; true when tok was updated. */
static bool refresh(aws_client *c, const sso_conf *k, json_t *tok, int64_t now) {
  const char *rt = json_string_value(json_object_get(tok, "refreshToken"));
  const char *id = json_string_value(json_object_get(tok, "clientId"));
  const char *secret = json_string_value(json_object_get(tok, "clientSecret"));
  const char *reg = json_string_value(json_object_get(tok, "registrationExpiresAt"));
  int64_t reg_exp = 0;
  if (!rt || !id || !secret || !reg || !aws_parse_iso8601(reg, &reg_exp) || reg_exp <= now)
    return false;
  json_t *body = json_pack("{s:s, s:s, s:s, s:s}", "clientId", id, "clientSecret", secret,
                           "grantType", "refresh_token", "refreshToken", rt);
  char *text = json_dumps(body, JSON_COMPACT),
       *base = base_url("AWS_ENDPOINT_URL_SSO_OIDC", "oidc.", k->region);
  char *url = xasprintf("%s/token", base);
  aws_headers h = {0};
  hdrs_add(&h, "Content-Type", "application/json");
  http_response resp;
  sso_request(c, "POST", url, &h, text, &resp);
  json_t *ans = resp.status == 200 ? json_loadb(resp.body.p, resp.body.len, 0, NULL) : NULL;
  const char *at = json_string_value(json_object_get(ans, "accessToken"));
  json_int_t expires_in = json_integer_value(json_object_get(ans, "expiresIn"));
  bool ok = at && *at && expires_in > 0;
  AWS_LOG(c, ok ? SLOG_INFO : SLOG_WARN, "aws_sso_token_refresh", KV_S("region", k->region),
          KV_B("ok", ok), KV_I("status", resp.status));
  if (ok) {
    char exp[32];
    time_t t = (time_t)(now + expires_in);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(exp, sizeof exp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_object_set_new(tok, "accessToken", json_string(at));
    json_object_set_new(tok, "expiresAt", json_string(exp));
    json_t *nrt = json_object_get(ans, "refreshToken");
    if (json_is_string(nrt))
      json_object_set(tok, "refreshToken", nrt);
  }
  json_decref(ans);
  http_response_free(&resp, true);
  hdrs_free(&h);
  OPENSSL_cleanse(text, strlen(text));
  free(text);
  free(url);
  free(base);
  json_decref(body);
  return ok;
}

/* The access token, refreshed when close to expiry; NULL with *why set. */
static char *access_token(aws_client *c, const char *profile, const sso_conf *k, sbuf *why) {
  char *path = cache_path(k), *token = NULL;
  size_t len;
  char *text = read_file(path, SSO_CACHE_MAX, &len);
  json_t *tok = text ? json_loadb(text, len, 0, NULL) : NULL;
  const char *at = json_string_value(json_object_get(tok, "accessToken"));
  int64_t exp = 0, now = client_now(c);
  if (!text) {
    expired(why, profile, "is not in the cache");
    sbuf_addf(why, " (%s: %s)", path, strerror(errno));
  } else if (!at ||
             !aws_parse_iso8601(json_string_value(json_object_get(tok, "expiresAt")), &exp)) {
    expired(why, profile, "is not readable");
    sbuf_addf(why, " (%s lacks accessToken or expiresAt)", path);
  } else {
    if (k->session && exp - now < SSO_REFRESH_WINDOW_S && refresh(c, k, tok, now)) {
      save_token(path, tok);
      at = json_string_value(json_object_get(tok, "accessToken"));
      aws_parse_iso8601(json_string_value(json_object_get(tok, "expiresAt")), &exp);
    }
    if (exp <= now)
      expired(why, profile, "has expired");
    else
      token = xstrdup(at);
  }
  if (text) {
    OPENSSL_cleanse(text, len);
    free(text);
  }
  json_decref(tok);
  free(path);
  return token;
}

static src_result role_credentials(aws_client *c, const char *profile, const sso_conf *k,
                                   const char *token, aws_creds *out, sbuf *why) {
  char *base = base_url("AWS_ENDPOINT_URL_SSO", "portal.sso.", k->region);
  sbuf url = {0};
  sbuf_addf(&url, "%s/federation/credentials?role_name=", base);
  aws_uri_encode(&url, k->role, strlen(k->role), false);
  sbuf_adds(&url, "&account_id=");
  aws_uri_encode(&url, k->account, strlen(k->account), false);
  aws_headers h = {0};
  hdrs_add(&h, "x-amz-sso_bearer_token", token);
  http_response resp;
  sso_request(c, "GET", url.p, &h, NULL, &resp);
  json_t *ans = resp.status == 200 ? json_loadb(resp.body.p, resp.body.len, 0, NULL) : NULL;
  const json_t *rc = json_object_get(ans, "roleCredentials");
  const char *akid = json_string_value(json_object_get(rc, "accessKeyId"));
  const char *sec = json_string_value(json_object_get(rc, "secretAccessKey"));
  const char *tok = json_string_value(json_object_get(rc, "sessionToken"));
  json_int_t exp_ms = json_integer_value(json_object_get(rc, "expiration"));
  src_result r = SRC_STOP;
  if (resp.network_error)
    sbuf_addf(why, "profile \"%s\": SSO portal %s: %s", profile, base, resp.error);
  else if (resp.status == 401 || resp.status == 403)
    expired(why, profile, "was refused by the SSO portal");
  else if (resp.status != 200)
    sbuf_addf(why, "profile \"%s\": SSO GetRoleCredentials answered HTTP %ld %s", profile,
              resp.status, aws_http_reason(resp.status));
  else if (!akid || !*akid || !sec || !*sec || !tok || exp_ms <= 0)
    sbuf_addf(why, "profile \"%s\": the SSO GetRoleCredentials answer lacks roleCredentials",
              profile);
  else {
    creds_fill(out, akid, sec, tok, (int64_t)(exp_ms / 1000), "");
    r = SRC_FOUND;
  }
  if (sec)
    OPENSSL_cleanse((char *)sec, strlen(sec));
  if (tok)
    OPENSSL_cleanse((char *)tok, strlen(tok));
  json_decref(ans);
  http_response_free(&resp, true);
  hdrs_free(&h);
  sbuf_free(&url);
  free(base);
  return r;
}

src_result creds_sso(aws_client *c, const aws_shared *sh, const char *profile, aws_creds *out,
                     sbuf *why) {
  sso_conf k;
  if (!read_conf(sh, profile, &k, why))
    return SRC_STOP;
  char *token = access_token(c, profile, &k, why);
  if (!token)
    return SRC_STOP;
  src_result r = role_credentials(c, profile, &k, token, out, why);
  OPENSSL_cleanse(token, strlen(token));
  free(token);
  return r;
}
