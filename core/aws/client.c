/* The client: one API call = build (protocol.c) → resolve the endpoint →
 * sign (sigv4.c) → send (http.c) → retry with backoff (retry.c) → JSON or
 * one readable error (error.c). Host credentials are cached here. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "aws.h"
#include "client_internal.h"
#include "codec.h"
#include "endpoint.h"
#include "error.h"
#include "common/kv.h"
#include "profile.h"
#include "protocol.h"
#include "retry.h"
#include "common/backoff.h"
#include "common/util.h"

#define DEFAULT_CONNECT_TIMEOUT 3
#define DEFAULT_TIMEOUT 20
#define DEFAULT_MAX_ATTEMPTS 4

const char *aws_status_name(aws_status s) {
  switch (s) {
  case AWS_OK:
    return "ok";
  case AWS_ERR_UNSUPPORTED:
    return "unsupported";
  case AWS_ERR_CREDENTIALS:
    return "credentials";
  case AWS_ERR_NETWORK:
    return "network";
  case AWS_ERR_SERVICE:
    return "service";
  case AWS_ERR_PARSE:
    return "parse";
  }
  return "unknown";
}

static void sleep_ms(unsigned ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static int positive(int v, int def) {
  return v > 0 ? v : def;
}

static const char *env_value(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

/* An environment variable, else the profile's key: botocore's order. */
typedef struct setting {
  const char *value, *from;
} setting;

static setting pick(const char *env_name, const char *profile_value, const char *key) {
  const char *e = env_value(env_name);
  return e ? (setting){e, env_name} : (setting){profile_value, key};
}

static void refuse(aws_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(aws_client *c, const char *fmt, ...) {
  if (c->config_error)
    return;
  sbuf b = {0};
  va_list ap;
  va_start(ap, fmt);
  sbuf_vaddf(&b, fmt, ap);
  va_end(ap);
  c->config_error = sbuf_steal(&b);
}

static bool flag(aws_client *c, setting s) {
  if (!s.value || str_ieq(s.value, "false"))
    return false;
  if (str_ieq(s.value, "true"))
    return true;
  refuse(c, "%s \"%s\" is neither true nor false", s.from, s.value);
  return false;
}

/* The client settings of the environment and the profile: attempts, retry
 * mode, endpoint variants, CA bundle. A value slashd cannot honour is kept
 * in config_error (logged here, an error for check-config) and the default
 * is used. */
static void client_settings(aws_client *c, const aws_profile *p) {
  setting att = pick("AWS_MAX_ATTEMPTS", p->max_attempts, "max_attempts");
  long n;
  if (att.value && parse_int(att.value, 1, 20, &n))
    c->max_attempts = (int)n;
  else if (att.value)
    refuse(c, "%s \"%s\" is not a number of attempts from 1 to 20", att.from, att.value);
  setting mode = pick("AWS_RETRY_MODE", p->retry_mode, "retry_mode");
  if (mode.value && str_eq(mode.value, "adaptive"))
    refuse(c,
           "%s \"%s\" is not supported (it rate-limits on the client side); slashd retries in "
           "standard mode: set standard",
           mode.from, mode.value);
  else if (mode.value && !str_eq(mode.value, "standard") && !str_eq(mode.value, "legacy"))
    refuse(c, "%s \"%s\" is not a retry mode (standard)", mode.from, mode.value);
  if (flag(c, pick("AWS_USE_FIPS_ENDPOINT", p->use_fips_endpoint, "use_fips_endpoint")))
    c->endpoint_variant |= AWS_EP_FIPS;
  if (flag(c,
           pick("AWS_USE_DUALSTACK_ENDPOINT", p->use_dualstack_endpoint, "use_dualstack_endpoint")))
    c->endpoint_variant |= AWS_EP_DUALSTACK;
  setting ca = pick("AWS_CA_BUNDLE", p->ca_bundle, "ca_bundle");
  if (ca.value && access(ca.value, R_OK) != 0)
    refuse(c, "%s \"%s\" cannot be read", ca.from, ca.value);
  http_conn_set_ca_bundle(c->http, ca.value);
}

aws_client *aws_client_new(const aws_config *cfg) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  aws_client *c = xcalloc(1, sizeof *c);
  c->log = cfg ? cfg->log : NULL;
  c->connect_timeout = positive(cfg ? cfg->connect_timeout : 0, DEFAULT_CONNECT_TIMEOUT);
  c->timeout = positive(cfg ? cfg->timeout : 0, DEFAULT_TIMEOUT);
  c->max_attempts = positive(cfg ? cfg->max_attempts : 0, DEFAULT_MAX_ATTEMPTS);
  c->endpoint_url =
      cfg && cfg->endpoint_url && *cfg->endpoint_url ? xstrdup(cfg->endpoint_url) : NULL;
  aws_profile p;
  char *why = NULL;
  profile_load(profile_name(), &p, &why);
  c->region = aws_region_resolve(p.region, cfg ? cfg->region : NULL, &c->region_source);
  free(why);
  if (aws_region_valid(c->region))
    AWS_LOG(c, SLOG_INFO, "aws_region", KV_S("region", c->region), KV_S("from", c->region_source));
  else
    AWS_LOG(c, SLOG_ERROR, "aws_region_invalid", KV_S("region", c->region),
            KV_S("from", c->region_source));
  c->http = http_conn_new();
  if (!c->http) {
    AWS_LOG_EVENT(c, SLOG_ERROR, "aws_curl_init_failed");
    abort();
  }
  client_settings(c, &p);
  profile_free(&p);
  if (c->config_error)
    AWS_LOG(c, SLOG_ERROR, "aws_setting_refused", KV_S("error", c->config_error));
  c->backoff_base_ms = AWS_BACKOFF_BASE_MS;
  c->backoff_cap_ms = AWS_BACKOFF_CAP_MS;
  c->container_host = xstrdup("http://169.254.170.2");
  c->max_response = AWS_MAX_RESPONSE;
  c->rng = backoff_seed();
  return c;
}

void aws_client_free(aws_client *c) {
  if (!c)
    return;
  aws_creds_clear(&c->host);
  sigv4_cache_clear(&c->keys);
  http_conn_free(c->http);
  free(c->region);
  free(c->endpoint_url);
  free(c->container_host);
  free(c->config_error);
  free(c);
  curl_global_cleanup();
}

const char *aws_client_region(const aws_client *c) {
  return c->region;
}

const char *aws_client_region_source(const aws_client *c) {
  return c->region_source;
}

void client_log(const aws_client *c, int level, const char *event, const log_field *f, unsigned n) {
  if (c->log)
    c->log(level, event, f, n);
}

int64_t client_now(aws_client *c) {
  return c->now ? c->now(c->now_ud) : wall_s();
}

/* ---- host credentials ---- */

static int64_t refresh_at(int64_t expiration, int64_t now) {
  if (!expiration)
    return INT64_MAX;
  int64_t r = expiration - AWS_REFRESH_BEFORE_S, floor = now + 60;
  /* Credentials handed out already inside the window are not fetched again
   * on every call: at most once a minute, and never past their expiry. */
  if (r < floor)
    r = floor < expiration ? floor : expiration;
  return r;
}

const aws_creds *aws_host_creds(aws_client *c, char **err) {
  int64_t now = client_now(c);
  if (c->have_host && now < c->host_refresh_at)
    return &c->host;
  aws_creds fresh;
  char *why = NULL;
  if (creds_chain(c, &fresh, &why)) {
    aws_creds_clear(&c->host);
    c->host = fresh;
    c->have_host = true;
    c->host_refresh_at = refresh_at(fresh.expiration, now);
    AWS_LOG(c, SLOG_INFO, "aws_credentials", KV_S("source", fresh.source),
            KV_B("temporary", fresh.session_token != NULL),
            KV_I("expires_in", fresh.expiration ? fresh.expiration - now : 0));
    return &c->host;
  }
  if (c->have_host && (!c->host.expiration || now < c->host.expiration)) {
    /* Still valid: keep them, try again in a minute. */
    AWS_LOG(c, SLOG_WARN, "aws_credentials_refresh_failed", KV_S("error", why),
            KV_I("expires_in", c->host.expiration - now));
    c->host_refresh_at = now + 60 < c->host.expiration ? now + 60 : c->host.expiration;
    free(why);
    return &c->host;
  }
  aws_creds_clear(&c->host);
  c->have_host = false;
  *err = why;
  return NULL;
}

bool aws_host_creds_cached(const aws_client *c, const char **source, int64_t *expiration) {
  if (!c->have_host)
    return false;
  *source = c->host.source ? c->host.source : "";
  *expiration = c->host.expiration;
  return true;
}

static void forget_host_creds(aws_client *c) {
  c->host_refresh_at = 0; /* next aws_host_creds refetches */
  c->host.expiration = 1; /* and does not keep these as a fallback */
}

/* ---- one call ----
 *
 * client_call = call_prepare (request, endpoint, credentials, URL) → for
 * each attempt: call_attempt (sign, send, classify) → call_next (done,
 * fresh credentials, clock correction, or back off) → call_finish (log
 * line, error sentence). One call_state holds everything the steps share
 * and call_free releases it, whatever step stopped. */

typedef struct call_state {
  const aws_service *svc;
  aws_req req;
  aws_endpoint ep;
  bool have_req, have_ep;
  const aws_creds *creds;
  bool host_creds; /* creds are the host's: may be refetched once */
  bool refreshed;  /* they were */
  bool skew_fixed; /* the signing clock was corrected during this call */
  unsigned flags;
  char *host, *path, *url;
  uint64_t started;
  long last_status;
  char *last_err;
  char *request_id;
} call_state;

static bool creds_usable(const aws_creds *cr) {
  return cr && cr->access_key_id && *cr->access_key_id && cr->secret_access_key &&
         *cr->secret_access_key;
}

static void call_free(call_state *k) {
  free(k->last_err);
  free(k->request_id);
  free(k->url);
  free(k->host);
  free(k->path);
  if (k->have_ep)
    aws_endpoint_free(&k->ep);
  if (k->have_req)
    aws_req_free(&k->req);
}

static aws_status call_prepare(aws_client *c, call_state *k, const char *region,
                               const char *service, const char *action, const json_t *params,
                               char **err) {
  k->svc = aws_service_find(service);
  if (!k->svc) {
    *err = xasprintf("the AWS service \"%s\" is not supported by slashd's AWS client (supported: "
                     "ec2, monitoring, sts, iam, kms, sns, s3)",
                     service ? service : "(null)");
    return AWS_ERR_UNSUPPORTED;
  }
  if (!region)
    region = c->region;
  if (!aws_region_valid(region)) {
    *err = xasprintf("\"%s\" is not a valid AWS region name", region ? region : "");
    return AWS_ERR_UNSUPPORTED;
  }
  k->have_req = true;
  aws_status st = protocol_build(k->svc, action, params, &k->req, err);
  if (st != AWS_OK)
    return st;
  if (!aws_endpoint_resolve_variant(k->svc, region, c->endpoint_url, c->endpoint_variant, &k->ep,
                                    err))
    return AWS_ERR_NETWORK;
  k->have_ep = true;
  k->host_creds = !k->creds && !(k->flags & CALL_UNSIGNED);
  if (k->host_creds && !(k->creds = aws_host_creds(c, err)))
    return AWS_ERR_CREDENTIALS;
  if (!(k->flags & CALL_UNSIGNED) && !creds_usable(k->creds)) {
    *err = xstrdup("the credentials given have no access key id or secret");
    return AWS_ERR_CREDENTIALS;
  }
  protocol_target(&k->req, &k->ep, &k->host, &k->path);
  k->url = xasprintf("%s://%s%s%s%s", k->ep.scheme, k->host, k->path, k->req.query ? "?" : "",
                     k->req.query ? k->req.query : "");
  return AWS_OK;
}

/* The headers of one attempt, signed unless the call is unsigned. */
static bool call_headers(aws_client *c, call_state *k, aws_headers *h, char **err) {
  for (size_t i = 0; i < k->req.headers.n; i++)
    hdrs_add(h, k->req.headers.v[i].name, k->req.headers.v[i].value);
  hdrs_add(h, "Host", k->host);
  if (k->flags & CALL_UNSIGNED)
    return true;
  sigv4_request sr = {k->req.method, k->path, k->req.query, h, k->req.body.p, k->req.body.len};
  sigv4_creds sc = {k->creds->access_key_id, k->creds->secret_access_key, k->creds->session_token};
  sigv4_opts so = {.region = k->ep.signing_region,
                   .service = k->svc->signing_name,
                   .now = client_now(c) + c->skew_s,
                   .s3 = k->svc->protocol == AWS_PROTO_REST_XML,
                   .cache = &c->keys};
  return sigv4_sign(&sr, &sc, &so, NULL, err);
}

static void keep_request_id(call_state *k, const char *rid) {
  free(k->request_id);
  k->request_id = rid ? xstrdup(rid) : NULL;
}

/* One attempt: sign, send, read. Fills *o and *ae (the caller frees ae) and
 * k->last_err / last_status; *done when the answer ends the call whatever
 * follows (a success, or a request that cannot be signed). */
static aws_status call_attempt(aws_client *c, call_state *k, json_t **out, aws_outcome *o,
                               aws_error *ae, int64_t *server_date, bool *done) {
  aws_headers h = {0};
  free(k->last_err);
  k->last_err = NULL;
  *done = false;
  if (!call_headers(c, k, &h, &k->last_err)) {
    hdrs_free(&h);
    *done = true;
    return AWS_ERR_CREDENTIALS;
  }
  http_request hr = {k->req.method,
                     k->url,
                     &h,
                     k->req.body.p,
                     k->req.body.len,
                     (long)c->connect_timeout * 1000L,
                     (long)c->timeout * 1000L,
                     c->max_response,
                     false};
  http_response resp;
  http_perform(c->http, &hr, &resp);
  hdrs_free(&h);
  *o = (aws_outcome){
      .network_error = resp.network_error, .transient = resp.transient, .http_status = resp.status};
  k->last_status = resp.status;
  aws_status st;
  if (resp.too_large) {
    k->last_err =
        xasprintf("the answer of %s %s is too large: %s", k->svc->name, k->req.action, resp.error);
    st = AWS_ERR_PARSE;
  } else if (resp.network_error) {
    k->last_err = xasprintf("could not reach %s: %s", k->host, resp.error);
    st = AWS_ERR_NETWORK;
  } else if (resp.status >= 200 && resp.status < 300) {
    st = protocol_parse(&k->req, &resp.headers, resp.body.p, resp.body.len, out, &k->last_err);
    const char *rid = hdrs_get(&resp.headers, "x-amzn-requestid");
    keep_request_id(k, rid ? rid : hdrs_get(&resp.headers, "x-amz-request-id"));
    *done = true;
  } else {
    aws_error_parse(resp.status, &resp.headers, resp.body.p, resp.body.len, ae);
    o->code = ae->code;
    k->last_err = aws_error_sentence(ae);
    keep_request_id(k, ae->request_id);
    const char *date = hdrs_get(&resp.headers, "date");
    if (!date || !aws_parse_http_date(date, server_date))
      *server_date = 0;
    st = aws_error_is_bad_credentials(ae->code) ? AWS_ERR_CREDENTIALS : AWS_ERR_SERVICE;
  }
  http_response_free(&resp, k->flags & CALL_SENSITIVE);
  return st;
}

/* A signature refused because our clock is off (the server's Date says by
 * how much): sign with the server's time from now on. Once per call. */
static bool call_fix_skew(aws_client *c, call_state *k, const aws_error *ae, int64_t server_date) {
  if (k->skew_fixed || k->flags & CALL_UNSIGNED || !server_date || !aws_error_is_skew(ae->code))
    return false;
  int64_t offset = server_date - client_now(c);
  if (offset > -AWS_SKEW_THRESHOLD_S && offset < AWS_SKEW_THRESHOLD_S)
    return false;
  k->skew_fixed = true;
  c->skew_s = offset;
  AWS_LOG(c, SLOG_WARN, "aws_clock_skew", KV_S("service", k->svc->name), KV_S("code", ae->code),
          KV_I("offset_s", offset));
  return true;
}

typedef enum { NEXT_DONE, NEXT_AGAIN, NEXT_FAIL } call_next_step;

/* What follows a failed attempt: fetch fresh host credentials once after
 * ExpiredToken, correct the clock once after a skew error, back off and
 * retry what is retryable, or stop. */
static call_next_step call_next(aws_client *c, call_state *k, int attempt, const aws_outcome *o,
                                const aws_error *ae, int64_t server_date, aws_status *st) {
  if (k->host_creds && !k->refreshed && attempt < c->max_attempts && ae->code &&
      (strcmp(ae->code, "ExpiredToken") == 0 || strcmp(ae->code, "ExpiredTokenException") == 0)) {
    k->refreshed = true;
    forget_host_creds(c);
    char *cerr = NULL;
    k->creds = aws_host_creds(c, &cerr);
    if (!k->creds) {
      free(k->last_err);
      k->last_err = cerr;
      *st = AWS_ERR_CREDENTIALS;
      return NEXT_FAIL;
    }
    return NEXT_AGAIN;
  }
  if (call_fix_skew(c, k, ae, server_date))
    return NEXT_AGAIN;
  if (!aws_should_retry(o, attempt, c->max_attempts))
    return NEXT_DONE;
  unsigned delay = aws_backoff_ms((unsigned)attempt - 1, c->backoff_base_ms, c->backoff_cap_ms,
                                  backoff_random(&c->rng));
  AWS_LOG(c, SLOG_WARN, "aws_retry", KV_S("service", k->svc->name), KV_S("action", k->req.action),
          KV_I("attempt", attempt), KV_I("status", k->last_status),
          KV_S("code", ae->code ? ae->code : (o->network_error ? "network" : "")),
          KV_U("delay_ms", delay));
  sleep_ms(delay);
  return NEXT_AGAIN;
}

static aws_status call_loop(aws_client *c, call_state *k, json_t **out) {
  aws_status st = AWS_ERR_NETWORK;
  for (int attempt = 1;; attempt++) {
    c->last_attempts = (unsigned)attempt;
    aws_outcome o = {0};
    aws_error ae = {0};
    int64_t server_date = 0;
    bool done;
    st = call_attempt(c, k, out, &o, &ae, &server_date, &done);
    call_next_step next = done ? NEXT_DONE : call_next(c, k, attempt, &o, &ae, server_date, &st);
    aws_error_free(&ae);
    if (next != NEXT_AGAIN)
      return st;
  }
}

static void call_finish(aws_client *c, call_state *k, aws_status st, json_t **out, char **err) {
  AWS_LOG(c, st == AWS_OK ? SLOG_INFO : SLOG_WARN, "aws_call", KV_S("service", k->svc->name),
          KV_S("action", k->req.action), KV_S("result", aws_status_name(st)),
          KV_I("status", k->last_status), KV_U("attempts", c->last_attempts),
          KV_U("ms", mono_ms() - k->started),
          KV_S("request_id", k->request_id ? k->request_id : ""));
  if (st == AWS_OK)
    return;
  if (c->last_attempts > 1 && st != AWS_ERR_UNSUPPORTED)
    *err = xasprintf("%s (after %u attempts)", k->last_err, c->last_attempts);
  else
    *err = k->last_err ? xstrdup(k->last_err) : xstrdup("unknown error");
  json_decref(*out);
  *out = NULL;
}

aws_status client_call(aws_client *c, const aws_creds *creds, const char *region,
                       const char *service, const char *action, const json_t *params,
                       unsigned flags, json_t **out, char **err) {
  *out = NULL;
  *err = NULL;
  c->last_attempts = 0;
  call_state k = {.creds = creds, .flags = flags};
  aws_status st = call_prepare(c, &k, region, service, action, params, err);
  if (st != AWS_OK)
    goto out;
  k.started = mono_ms();
  st = call_loop(c, &k, out);
  call_finish(c, &k, st, out, err);
out:
  call_free(&k);
  return st;
}

aws_status aws_call_region(aws_client *c, const aws_creds *creds, const char *region,
                           const char *service, const char *action, const json_t *params,
                           json_t **out, char **err) {
  return client_call(c, creds, region, service, action, params, 0, out, err);
}

aws_status aws_call(aws_client *c, const aws_creds *creds, const char *service, const char *action,
                    const json_t *params, json_t **out, char **err) {
  return client_call(c, creds, NULL, service, action, params, 0, out, err);
}

/* ---- test hooks ---- */

void aws_client_set_clock(aws_client *c, int64_t (*now)(void *ud), void *ud) {
  c->now = now;
  c->now_ud = ud;
}

void aws_client_set_backoff(aws_client *c, unsigned base_ms, unsigned cap_ms) {
  c->backoff_base_ms = base_ms;
  c->backoff_cap_ms = cap_ms;
}

void aws_client_set_container_host(aws_client *c, const char *base_url) {
  free(c->container_host);
  c->container_host = xstrdup(base_url);
}

void aws_client_set_max_response(aws_client *c, size_t bytes) {
  c->max_response = bytes;
}

const char *aws_client_setting_error(const aws_client *c) {
  return c->config_error;
}

int64_t aws_client_clock_skew(const aws_client *c) {
  return c->skew_s;
}

void aws_client_set_process_timeout(aws_client *c, unsigned ms) {
  c->process_timeout_ms = ms;
}

unsigned aws_client_last_attempts(const aws_client *c) {
  return c->last_attempts;
}
