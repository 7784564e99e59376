/* The client: one API call = build (protocol.c) → resolve the endpoint →
 * sign (sigv4.c) → send (http.c) → retry with backoff (retry.c) → JSON or
 * one readable error (error.c). Host credentials are cached here. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "aws.h"
#include "client_internal.h"
#include "endpoint.h"
#include "error.h"
#include "base/log.h"
#include "profile.h"
#include "protocol.h"
#include "retry.h"
#include "base/util.h"

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

static uint64_t seed(void) {
  uint64_t s = 0;
  if (getrandom(&s, sizeof s, GRND_NONBLOCK) != (ssize_t)sizeof s)
    s = mono_us() ^ ((uint64_t)getpid() << 32);
  return s ? s : 0x9e3779b97f4a7c15u;
}

/* xorshift64*: jitter only, nothing secret. */
static uint32_t next_random(aws_client *c) {
  c->rng ^= c->rng >> 12;
  c->rng ^= c->rng << 25;
  c->rng ^= c->rng >> 27;
  return (uint32_t)((c->rng * 0x2545f4914f6cdd1dULL) >> 32);
}

static void sleep_ms(unsigned ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static int positive(int v, int def) {
  return v > 0 ? v : def;
}

aws_client *aws_client_new(const aws_config *cfg) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  aws_client *c = xcalloc(1, sizeof *c);
  c->connect_timeout = positive(cfg ? cfg->connect_timeout : 0, DEFAULT_CONNECT_TIMEOUT);
  c->timeout = positive(cfg ? cfg->timeout : 0, DEFAULT_TIMEOUT);
  c->max_attempts = positive(cfg ? cfg->max_attempts : 0, DEFAULT_MAX_ATTEMPTS);
  c->endpoint_url =
      cfg && cfg->endpoint_url && *cfg->endpoint_url ? xstrdup(cfg->endpoint_url) : NULL;
  aws_profile p;
  char *why = NULL;
  profile_load(profile_name(), &p, &why);
  c->region = aws_region_resolve(p.region, cfg ? cfg->region : NULL, &c->region_source);
  profile_free(&p);
  free(why);
  if (aws_region_valid(c->region))
    log_kv(SLOG_INFO, "aws_region", KV_S("region", c->region), KV_S("from", c->region_source));
  else
    log_kv(SLOG_ERROR, "aws_region_invalid", KV_S("region", c->region),
           KV_S("from", c->region_source));
  c->http = http_conn_new();
  if (!c->http) {
    log_event(SLOG_ERROR, "aws_curl_init_failed");
    abort();
  }
  c->backoff_base_ms = AWS_BACKOFF_BASE_MS;
  c->backoff_cap_ms = AWS_BACKOFF_CAP_MS;
  c->container_host = xstrdup("http://169.254.170.2");
  c->max_response = AWS_MAX_RESPONSE;
  c->rng = seed();
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
  free(c);
  curl_global_cleanup();
}

const char *aws_client_region(const aws_client *c) {
  return c->region;
}

const char *aws_client_region_source(const aws_client *c) {
  return c->region_source;
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
    log_kv(SLOG_INFO, "aws_credentials", KV_S("source", fresh.source),
           KV_B("temporary", fresh.session_token != NULL),
           KV_I("expires_in", fresh.expiration ? fresh.expiration - now : 0));
    return &c->host;
  }
  if (c->have_host && (!c->host.expiration || now < c->host.expiration)) {
    /* Still valid: keep them, try again in a minute. */
    log_kv(SLOG_WARN, "aws_credentials_refresh_failed", KV_S("error", why),
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

static void forget_host_creds(aws_client *c) {
  c->host_refresh_at = 0; /* next aws_host_creds refetches */
  c->host.expiration = 1; /* and does not keep these as a fallback */
}

/* ---- one call ---- */

typedef struct attempt_result {
  aws_status st;
  bool done;
  bool retry;
  char *err;
  char *code;
  char *request_id;
} attempt_result;

static bool creds_usable(const aws_creds *cr) {
  return cr && cr->access_key_id && *cr->access_key_id && cr->secret_access_key &&
         *cr->secret_access_key;
}

aws_status client_call(aws_client *c, const aws_creds *creds, const char *region,
                       const char *service, const char *action, const json_t *params,
                       unsigned flags, json_t **out, char **err) {
  *out = NULL;
  *err = NULL;
  c->last_attempts = 0;
  const aws_service *svc = aws_service_find(service);
  if (!svc) {
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
  aws_req req;
  aws_status st = protocol_build(svc, action, params, &req, err);
  if (st != AWS_OK) {
    aws_req_free(&req);
    return st;
  }
  aws_endpoint ep;
  if (!aws_endpoint_resolve(svc, region, c->endpoint_url, &ep, err)) {
    aws_req_free(&req);
    return AWS_ERR_NETWORK;
  }
  bool host_creds = !creds && !(flags & CALL_UNSIGNED);
  if (host_creds) {
    creds = aws_host_creds(c, err);
    if (!creds) {
      aws_endpoint_free(&ep);
      aws_req_free(&req);
      return AWS_ERR_CREDENTIALS;
    }
  }
  if (!(flags & CALL_UNSIGNED) && !creds_usable(creds)) {
    *err = xstrdup("the credentials given have no access key id or secret");
    aws_endpoint_free(&ep);
    aws_req_free(&req);
    return AWS_ERR_CREDENTIALS;
  }

  char *host = NULL, *path = NULL;
  protocol_target(&req, &ep, &host, &path);
  char *url = xasprintf("%s://%s%s%s%s", ep.scheme, host, path, req.query ? "?" : "",
                        req.query ? req.query : "");
  uint64_t started = mono_ms();
  bool refreshed = false;
  char *last_err = NULL;
  long last_status = 0;
  char *request_id = NULL;
  st = AWS_ERR_NETWORK;
  for (int attempt = 1;; attempt++) {
    c->last_attempts = (unsigned)attempt;
    aws_headers h = {0};
    for (size_t i = 0; i < req.headers.n; i++)
      hdrs_add(&h, req.headers.v[i].name, req.headers.v[i].value);
    hdrs_add(&h, "Host", host);
    if (!(flags & CALL_UNSIGNED)) {
      sigv4_request sr = {req.method, path, req.query, &h, req.body.p, req.body.len};
      sigv4_creds sc = {creds->access_key_id, creds->secret_access_key, creds->session_token};
      sigv4_opts so = {.region = ep.signing_region,
                       .service = svc->signing_name,
                       .now = client_now(c),
                       .s3 = svc->protocol == AWS_PROTO_REST_XML,
                       .cache = &c->keys};
      char *serr = NULL;
      if (!sigv4_sign(&sr, &sc, &so, NULL, &serr)) {
        hdrs_free(&h);
        free(last_err);
        last_err = serr;
        st = AWS_ERR_CREDENTIALS;
        break;
      }
    }
    http_request hr = {req.method,
                       url,
                       &h,
                       req.body.p,
                       req.body.len,
                       (long)c->connect_timeout * 1000L,
                       (long)c->timeout * 1000L,
                       c->max_response,
                       false};
    http_response resp;
    http_perform(c->http, &hr, &resp);
    hdrs_free(&h);
    aws_outcome o = {.network_error = resp.network_error,
                     .transient = resp.transient,
                     .http_status = resp.status};
    aws_error ae = {0};
    free(last_err);
    last_err = NULL;
    last_status = resp.status;
    if (resp.too_large) {
      last_err =
          xasprintf("the answer of %s %s is too large: %s", svc->name, req.action, resp.error);
      st = AWS_ERR_PARSE;
    } else if (resp.network_error) {
      last_err = xasprintf("could not reach %s: %s", host, resp.error);
      st = AWS_ERR_NETWORK;
    } else if (resp.status >= 200 && resp.status < 300) {
      st = protocol_parse(&req, &resp.headers, resp.body.p, resp.body.len, out, &last_err);
      const char *rid = hdrs_get(&resp.headers, "x-amzn-requestid");
      if (!rid)
        rid = hdrs_get(&resp.headers, "x-amz-request-id");
      free(request_id);
      request_id = rid ? xstrdup(rid) : NULL;
      http_response_free(&resp, flags & CALL_SENSITIVE);
      break;
    } else {
      aws_error_parse(resp.status, &resp.headers, resp.body.p, resp.body.len, &ae);
      o.code = ae.code;
      last_err = aws_error_sentence(&ae);
      free(request_id);
      request_id = ae.request_id ? xstrdup(ae.request_id) : NULL;
      st = aws_error_is_bad_credentials(ae.code) ? AWS_ERR_CREDENTIALS : AWS_ERR_SERVICE;
    }
    http_response_free(&resp, flags & CALL_SENSITIVE);

    /* Expired host credentials: fetch fresh ones once and go again. */
    if (host_creds && !refreshed && attempt < c->max_attempts && ae.code &&
        (strcmp(ae.code, "ExpiredToken") == 0 || strcmp(ae.code, "ExpiredTokenException") == 0)) {
      refreshed = true;
      forget_host_creds(c);
      char *cerr = NULL;
      creds = aws_host_creds(c, &cerr);
      aws_error_free(&ae);
      if (!creds) {
        free(last_err);
        last_err = cerr;
        st = AWS_ERR_CREDENTIALS;
        break;
      }
      continue;
    }
    bool again = aws_should_retry(&o, attempt, c->max_attempts);
    if (!again) {
      aws_error_free(&ae);
      break;
    }
    unsigned delay = aws_backoff_ms((unsigned)attempt - 1, c->backoff_base_ms, c->backoff_cap_ms,
                                    next_random(c));
    log_kv(SLOG_WARN, "aws_retry", KV_S("service", svc->name), KV_S("action", req.action),
           KV_I("attempt", attempt), KV_I("status", last_status),
           KV_S("code", ae.code ? ae.code : (o.network_error ? "network" : "")),
           KV_U("delay_ms", delay));
    aws_error_free(&ae);
    sleep_ms(delay);
  }

  log_kv(st == AWS_OK ? SLOG_INFO : SLOG_WARN, "aws_call", KV_S("service", svc->name),
         KV_S("action", req.action), KV_S("result", aws_status_name(st)),
         KV_I("status", last_status), KV_U("attempts", c->last_attempts),
         KV_U("ms", mono_ms() - started), KV_S("request_id", request_id ? request_id : ""));
  if (st != AWS_OK) {
    if (c->last_attempts > 1 && st != AWS_ERR_UNSUPPORTED)
      *err = xasprintf("%s (after %u attempts)", last_err, c->last_attempts);
    else
      *err = last_err ? xstrdup(last_err) : xstrdup("unknown error");
    json_decref(*out);
    *out = NULL;
  }
  free(last_err);
  free(request_id);
  free(url);
  free(host);
  free(path);
  aws_endpoint_free(&ep);
  aws_req_free(&req);
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

unsigned aws_client_last_attempts(const aws_client *c) {
  return c->last_attempts;
}
