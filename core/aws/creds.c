/* Credentials: the aws_creds helpers and the host credential chain, in the
 * order of aws.md: environment → shared files → web identity → container →
 * instance metadata (IMDSv2, v1 only when the token PUT is refused).
 *
 * A source that is not configured passes to the next. A source that is
 * configured but broken (AWS_ACCESS_KEY_ID without a secret, AWS_PROFILE
 * naming a missing profile, an unreadable web identity token, a container
 * endpoint that fails) stops the chain, as the AWS SDKs do: falling through
 * to, say, the instance role would run commands under an identity nobody
 * chose. Either way the error lists every source tried and why. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "aws.h"
#include "client_internal.h"
#include "codec.h"
#include "endpoint.h"
#include "error.h"
#include "common/kv.h"
#include "profile.h"
#include "common/util.h"

#define IMDS_TIMEOUT_MS 1000
#define IMDS_TOKEN_TTL "21600"
#define CONTAINER_TIMEOUT_MS 2000
#define CONTAINER_ATTEMPTS 2
#define TOKEN_FILE_MAX (64u << 10)
#define META_MAX (64u << 10)

static void wipe_free(char *s) {
  if (s) {
    OPENSSL_cleanse(s, strlen(s));
    free(s);
  }
}

void aws_creds_clear(aws_creds *c) {
  if (!c)
    return;
  free(c->access_key_id);
  wipe_free(c->secret_access_key);
  wipe_free(c->session_token);
  free(c->source);
  memset(c, 0, sizeof *c);
}

static char *dup_or_null(const char *s) {
  return s ? xstrdup(s) : NULL;
}

void aws_creds_copy(aws_creds *dst, const aws_creds *src) {
  dst->access_key_id = dup_or_null(src->access_key_id);
  dst->secret_access_key = dup_or_null(src->secret_access_key);
  dst->session_token = dup_or_null(src->session_token);
  dst->expiration = src->expiration;
  dst->source = dup_or_null(src->source);
}

static const char *env(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

void creds_fill(aws_creds *out, const char *akid, const char *secret, const char *token,
                int64_t expiration, const char *source) {
  out->access_key_id = str_trim(xstrdup(akid));
  out->secret_access_key = str_trim(xstrdup(secret));
  out->session_token = token && *token ? str_trim(xstrdup(token)) : NULL;
  out->expiration = expiration;
  out->source = xstrdup(source);
}

/* ---- 1. environment ---- */

src_result creds_from_env(aws_client *c, aws_creds *out, sbuf *why) {
  (void)c;
  const char *akid = env("AWS_ACCESS_KEY_ID"), *secret = env("AWS_SECRET_ACCESS_KEY");
  if (!akid) {
    sbuf_adds(why, "AWS_ACCESS_KEY_ID not set");
    return SRC_NEXT;
  }
  if (!secret) {
    sbuf_adds(why, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
    return SRC_STOP;
  }
  int64_t exp = 0;
  const char *e = env("AWS_CREDENTIAL_EXPIRATION");
  if (e && !aws_parse_iso8601(e, &exp)) {
    sbuf_addf(why, "AWS_CREDENTIAL_EXPIRATION \"%s\" is not an ISO 8601 time", e);
    return SRC_STOP;
  }
  /* AWS_SECURITY_TOKEN: the older name, which botocore still reads first. */
  const char *token = env("AWS_SECURITY_TOKEN");
  creds_fill(out, akid, secret, token ? token : env("AWS_SESSION_TOKEN"), exp, "environment");
  return SRC_FOUND;
}

/* ---- 2. shared files: profcreds.c ---- */

/* ---- 3. web identity (EKS, GitHub Actions OIDC) ---- */

static src_result from_web_identity(aws_client *c, aws_creds *out, sbuf *why) {
  const char *file = env("AWS_WEB_IDENTITY_TOKEN_FILE"), *role = env("AWS_ROLE_ARN");
  if (!file || !role) {
    if (!file && !role)
      sbuf_adds(why, "not configured");
    else
      sbuf_addf(why, "%s is set but %s is not",
                file ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "AWS_ROLE_ARN",
                file ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE");
    return SRC_NEXT;
  }
  return creds_web_identity(c, file, role, env("AWS_ROLE_SESSION_NAME"), out, why);
}

src_result creds_web_identity(aws_client *c, const char *file, const char *role,
                              const char *session, aws_creds *out, sbuf *why) {
  size_t len;
  char *token = read_file(file, TOKEN_FILE_MAX, &len);
  if (!token) {
    sbuf_addf(why, "cannot read %s: %s", file, strerror(errno));
    return SRC_STOP;
  }
  str_trim(token);
  if (!*token) {
    sbuf_addf(why, "%s is empty", file);
    wipe_free(token);
    return SRC_STOP;
  }
  char *def_session = xasprintf("slashd-%lld", (long long)client_now(c));
  json_t *params = json_pack("{s:s, s:s, s:s}", "RoleArn", role, "RoleSessionName",
                             session ? session : def_session, "WebIdentityToken", token);
  json_t *res = NULL;
  char *err = NULL;
  aws_status st = client_call(c, NULL, NULL, "sts", "AssumeRoleWithWebIdentity", params,
                              CALL_UNSIGNED | CALL_SENSITIVE, &res, &err);
  src_result r = SRC_STOP;
  if (st != AWS_OK) {
    sbuf_addf(why, "sts AssumeRoleWithWebIdentity for %s: %s", role, err);
  } else if (!sts_parse_credentials(json_object_get(res, "AssumeRoleWithWebIdentityResult"),
                                    "web identity", out, &err)) {
    sbuf_addf(why, "sts AssumeRoleWithWebIdentity for %s: %s", role, err);
  } else {
    r = SRC_FOUND;
  }
  free(err);
  sts_wipe_answer(res, "AssumeRoleWithWebIdentityResult");
  json_decref(res);
  /* The token sits in the params object too. */
  json_t *tv = json_object_get(params, "WebIdentityToken");
  if (tv)
    OPENSSL_cleanse((char *)json_string_value(tv), json_string_length(tv));
  json_decref(params);
  free(def_session);
  wipe_free(token);
  return r;
}

/* ---- 4. container (ECS, EKS Pod Identity) ---- */

/* Plain http only where the AWS SDKs allow it: loopback IP literals
 * (127.0.0.0/8, [::1]; "localhost" as botocore), the ECS address
 * 169.254.170.2 and the EKS Pod Identity addresses 169.254.170.23 and
 * [fd00:ec2::23]. A name that merely starts with "127." is a DNS name
 * anyone can point anywhere: the token would leak to it. */
static bool container_host_ok(const char *scheme, const char *host) {
  if (strcmp(scheme, "https") == 0)
    return true;
  static const char *const hosts[] = {"localhost", "[::1]", "169.254.170.2", "169.254.170.23",
                                      "[fd00:ec2::23]"};
  for (size_t i = 0; i < ARRAY_LEN(hosts); i++)
    if (strcmp(host, hosts[i]) == 0)
      return true;
  struct in_addr a;
  return inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

static bool json_creds(const char *body, size_t len, const char *source, aws_creds *out,
                       sbuf *why) {
  json_t *j = json_loadb(body, len, 0, NULL);
  const char *akid = json_string_value(json_object_get(j, "AccessKeyId"));
  const char *secret = json_string_value(json_object_get(j, "SecretAccessKey"));
  const char *token = json_string_value(json_object_get(j, "Token"));
  const char *exp = json_string_value(json_object_get(j, "Expiration"));
  const char *code = json_string_value(json_object_get(j, "Code"));
  int64_t t = 0;
  bool ok = false;
  if (!json_is_object(j))
    sbuf_adds(why, "the answer is not a JSON object");
  else if (code && strcmp(code, "Success") != 0)
    sbuf_addf(why, "the answer's Code is %s", code);
  else if (!akid || !*akid || !secret || !*secret)
    sbuf_adds(why, "the answer lacks AccessKeyId or SecretAccessKey");
  else if (exp && !aws_parse_iso8601(exp, &t))
    sbuf_addf(why, "the answer's Expiration \"%s\" is not an ISO 8601 time", exp);
  else {
    creds_fill(out, akid, secret, token, t, source);
    ok = true;
  }
  if (secret)
    OPENSSL_cleanse((char *)secret, strlen(secret));
  if (token)
    OPENSSL_cleanse((char *)token, strlen(token));
  json_decref(j);
  return ok;
}

static char *container_token(sbuf *why, bool *failed) {
  *failed = false;
  const char *file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
  if (file) {
    size_t len;
    char *t = read_file(file, TOKEN_FILE_MAX, &len);
    if (!t) {
      sbuf_addf(why, "cannot read %s: %s", file, strerror(errno));
      *failed = true;
      return NULL;
    }
    return str_trim(t);
  }
  const char *t = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
  return t ? str_trim(xstrdup(t)) : NULL;
}

src_result creds_from_container(aws_client *c, aws_creds *out, sbuf *why) {
  const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  if (!rel && !full) {
    sbuf_adds(why, "not configured");
    return SRC_NEXT;
  }
  char *url;
  if (rel) {
    url = xasprintf("%s%s%s", c->container_host, rel[0] == '/' ? "" : "/", rel);
  } else {
    char *scheme, *host, *path;
    int port;
    if (!aws_url_parse(full, &scheme, &host, &port, &path)) {
      sbuf_addf(why, "AWS_CONTAINER_CREDENTIALS_FULL_URI \"%s\" is not an http(s) URL", full);
      return SRC_STOP;
    }
    bool ok = container_host_ok(scheme, host);
    if (!ok)
      sbuf_addf(why,
                "AWS_CONTAINER_CREDENTIALS_FULL_URI: plain http to %s is refused (use https, "
                "loopback or the ECS/EKS addresses)",
                host);
    free(scheme);
    free(host);
    free(path);
    if (!ok)
      return SRC_STOP;
    url = xstrdup(full);
  }
  bool failed;
  char *token = container_token(why, &failed);
  if (failed) {
    free(url);
    return SRC_STOP;
  }
  aws_headers h = {0};
  if (token && *token)
    hdrs_add(&h, "Authorization", token);
  wipe_free(token);
  src_result r = SRC_STOP;
  for (int attempt = 1; attempt <= CONTAINER_ATTEMPTS; attempt++) {
    http_request req = {"GET",    url, &h, NULL, 0, CONTAINER_TIMEOUT_MS, CONTAINER_TIMEOUT_MS,
                        META_MAX, true};
    http_response resp;
    http_perform(c->http, &req, &resp);
    bool again = attempt < CONTAINER_ATTEMPTS &&
                 ((resp.network_error && resp.transient) || resp.status >= 500);
    if (!again) {
      if (resp.network_error)
        sbuf_addf(why, "%s: %s", url, resp.error);
      else if (resp.status != 200)
        sbuf_addf(why, "%s: HTTP %ld %s", url, resp.status, aws_http_reason(resp.status));
      else if (json_creds(resp.body.p, resp.body.len, "container", out, why))
        r = SRC_FOUND;
      else
        sbuf_addf(why, " (%s)", url);
    }
    http_response_free(&resp, true);
    if (!again)
      break;
  }
  hdrs_free(&h);
  free(url);
  return r;
}

/* ---- 5. EC2 instance metadata ---- */

static char *imds_base(void) {
  const char *e = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
  const char *mode = env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
  char *b = xstrdup(e                               ? e
                    : mode && str_ieq(mode, "ipv6") ? "http://[fd00:ec2::254]"
                                                    : "http://169.254.169.254");
  size_t n = strlen(b);
  while (n && b[n - 1] == '/')
    b[--n] = '\0';
  return b;
}

static void imds_get(aws_client *c, const char *method, const char *url, const aws_headers *h,
                     http_response *resp) {
  http_request req = {method, url, h, NULL, 0, IMDS_TIMEOUT_MS, IMDS_TIMEOUT_MS, META_MAX, true};
  http_perform(c->http, &req, resp);
}

static bool role_name_ok(const char *r) {
  if (!*r || strlen(r) > 128)
    return false;
  for (; *r; r++)
    if (!isalnum((unsigned char)*r) && !strchr("+=,.@_-", *r))
      return false;
  return true;
}

src_result creds_from_imds(aws_client *c, aws_creds *out, sbuf *why) {
  const char *off = env("AWS_EC2_METADATA_DISABLED");
  if (off && str_ieq(off, "true")) {
    sbuf_adds(why, "disabled by AWS_EC2_METADATA_DISABLED");
    return SRC_NEXT;
  }
  char *base = imds_base(), *url = xasprintf("%s/latest/api/token", base);
  aws_headers h = {0};
  hdrs_add(&h, "x-aws-ec2-metadata-token-ttl-seconds", IMDS_TOKEN_TTL);
  http_response resp;
  imds_get(c, "PUT", url, &h, &resp);
  hdrs_free(&h);
  free(url);
  src_result r = SRC_NEXT;
  if (resp.network_error) {
    sbuf_addf(why, "%s: %s", base, resp.error);
    goto out;
  }
  if (resp.status == 200) {
    hdrs_add(&h, "x-aws-ec2-metadata-token", str_trim(resp.body.p));
  } else if (resp.status != 403 && resp.status != 404 && resp.status != 405) {
    sbuf_addf(why, "%s: the IMDSv2 token request answered HTTP %ld", base, resp.status);
    goto out;
  } /* else: IMDSv1, no token */
  http_response_free(&resp, true);

  url = xasprintf("%s/latest/meta-data/iam/security-credentials/", base);
  imds_get(c, "GET", url, &h, &resp);
  free(url);
  if (resp.network_error) {
    sbuf_addf(why, "%s: %s", base, resp.error);
    goto out;
  }
  if (resp.status == 404) {
    sbuf_addf(why, "%s: no IAM role is attached to this instance", base);
    goto out;
  }
  char *role = xstrndup(resp.body.p, strcspn(resp.body.p, "\r\n"));
  str_trim(role);
  if (resp.status != 200 || !role_name_ok(role)) {
    sbuf_addf(why, "%s: the role list answered HTTP %ld", base, resp.status);
    free(role);
    goto out;
  }
  http_response_free(&resp, true);

  url = xasprintf("%s/latest/meta-data/iam/security-credentials/%s", base, role);
  imds_get(c, "GET", url, &h, &resp);
  free(url);
  if (resp.network_error)
    sbuf_addf(why, "%s: %s", base, resp.error);
  else if (resp.status != 200)
    sbuf_addf(why, "%s: the credentials of role %s answered HTTP %ld", base, role, resp.status);
  else if (json_creds(resp.body.p, resp.body.len, "instance metadata", out, why))
    r = SRC_FOUND;
  else
    sbuf_addf(why, " (%s, role %s)", base, role);
  free(role);
out:
  http_response_free(&resp, true);
  hdrs_free(&h);
  free(base);
  return r;
}

/* ---- the chain ---- */

bool creds_chain(aws_client *c, aws_creds *out, char **err) {
  static const struct {
    const char *label;
    src_result (*fn)(aws_client *, aws_creds *, sbuf *);
  } chain[] = {
      {"environment", creds_from_env},        {"shared files", creds_from_profile},
      {"web identity", from_web_identity},    {"container", creds_from_container},
      {"instance metadata", creds_from_imds},
  };
  sbuf tried = {0};
  memset(out, 0, sizeof *out);
  c->chain_broken = false;
  for (size_t i = 0; i < ARRAY_LEN(chain); i++) {
    sbuf why = {0};
    src_result r = chain[i].fn(c, out, &why);
    if (r == SRC_FOUND) {
      sbuf_free(&why);
      sbuf_free(&tried);
      return true;
    }
    aws_creds_clear(out);
    sbuf_addf(&tried, "%s%s (%s)", tried.len ? "; " : "", chain[i].label, why.p ? why.p : "");
    sbuf_free(&why);
    c->chain_broken = r == SRC_STOP;
    if (r == SRC_STOP) {
      sbuf_addf(&tried,
                "; later sources were not tried because %s is configured: fix it or "
                "remove its settings",
                chain[i].label);
      break;
    }
  }
  *err = xasprintf("no AWS credentials found; tried: %s", tried.p);
  sbuf_free(&tried);
  return false;
}

bool aws_host_creds_broken(const aws_client *c) {
  return c->chain_broken;
}
