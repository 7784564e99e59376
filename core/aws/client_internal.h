/* The client's insides, shared by client.c, creds.c, sts.c and kms.c, and
 * the hooks tests use (clock, backoff, container host, size cap). */
#ifndef SLASHD_AWS_CLIENT_INTERNAL_H
#define SLASHD_AWS_CLIENT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "aws.h"
#include "transport.h"
#include "sigv4.h"

#define AWS_REFRESH_BEFORE_S 600 /* refresh temporary credentials 10 min early */
#define AWS_MAX_RESPONSE (16u << 20)
/* AWS refuses signatures more than 5 minutes off; correct from 4 minutes,
 * as the Java SDK does, so that a clock drifting past the limit is caught. */
#define AWS_SKEW_THRESHOLD_S 240

struct aws_client {
  char *region;
  const char *region_source;
  char *endpoint_url; /* [aws] endpoint_url */
  int connect_timeout, timeout, max_attempts;
  unsigned endpoint_variant; /* AWS_EP_FIPS | AWS_EP_DUALSTACK */
  char *config_error;        /* a setting refused (adaptive retries, …), or NULL */
  http_conn *http;
  sigv4_cache keys;

  aws_creds host; /* cached host credentials */
  bool have_host;
  bool chain_broken; /* the last chain stopped at a broken source */
  int64_t host_refresh_at;

  /* test hooks */
  int64_t (*now)(void *ud);
  void *now_ud;
  unsigned backoff_base_ms, backoff_cap_ms;
  char *container_host; /* "http://169.254.170.2" */
  size_t max_response;
  unsigned process_timeout_ms; /* credential_process; 0: 30 s */
  unsigned last_attempts;      /* attempts of the last API call */

  uint64_t rng;
  int64_t skew_s; /* server time minus ours, learnt from a refused signature */
  slog_fn log;    /* NULL: silent */
};

/* Logs through the host's callback, when there is one. */
#define AWS_LOG(c, level, event, ...)                                                              \
  client_log((c), (level), (event), (const log_field[]){__VA_ARGS__}, KV_COUNT(__VA_ARGS__))
#define AWS_LOG_EVENT(c, level, event) client_log((c), (level), (event), NULL, 0)
void client_log(const aws_client *c, int level, const char *event, const log_field *f, unsigned n);

int64_t client_now(aws_client *c);

/* Call flags. */
#define CALL_UNSIGNED 1u  /* no credentials, no signature (AssumeRoleWithWebIdentity) */
#define CALL_SENSITIVE 2u /* the answer holds secrets: wipe the raw body */

/* aws_call with flags. */
aws_status client_call(aws_client *c, const aws_creds *creds, const char *region,
                       const char *service, const char *action, const json_t *params,
                       unsigned flags, json_t **out, char **err);

/* The credential chain (creds.c): fresh credentials or false with *err
 * listing every source tried. */
bool creds_chain(aws_client *c, aws_creds *out, char **err);

/* One source of the chain: found, not configured (try the next), or
 * configured but broken (stop: never fall through to another identity).
 * Each appends why it did not find anything to *why. */
typedef enum { SRC_FOUND, SRC_NEXT, SRC_STOP } src_result;
struct sbuf;
src_result creds_from_env(aws_client *c, aws_creds *out, struct sbuf *why);
src_result creds_from_container(aws_client *c, aws_creds *out, struct sbuf *why);
src_result creds_from_imds(aws_client *c, aws_creds *out, struct sbuf *why);
/* AssumeRoleWithWebIdentity with a token read from token_file. */
src_result creds_web_identity(aws_client *c, const char *token_file, const char *role_arn,
                              const char *session, aws_creds *out, struct sbuf *why);
/* The profile part of the chain (profcreds.c): the profile in effect
 * (AWS_PROFILE or default) with role chains, SSO, credential_process and
 * keys, in botocore's order. */
src_result creds_from_profile(aws_client *c, aws_creds *out, struct sbuf *why);
/* credential_process (process.c): run without a shell, bounded in time and
 * output; `where` is "file:line" of the setting, for messages. */
src_result creds_process(aws_client *c, const char *profile, const char *cmdline, const char *where,
                         aws_creds *out, struct sbuf *why);
/* IAM Identity Center (sso.c) for a profile with sso_account_id /
 * sso_role_name: the cached token of `aws sso login`, refreshed when it
 * can be, then GetRoleCredentials. */
struct aws_shared;
src_result creds_sso(aws_client *c, const struct aws_shared *sh, const char *profile,
                     aws_creds *out, struct sbuf *why);
/* Fills *out (every string copied, keys trimmed). */
void creds_fill(aws_creds *out, const char *akid, const char *secret, const char *token,
                int64_t expiration, const char *source);

/* Credentials from an STS result object ({"Credentials": {…}}): trims the
 * keys, removes white space from the token, parses the expiration. */
bool sts_parse_credentials(const json_t *result, const char *source, aws_creds *out, char **err);
/* Wipes SecretAccessKey and SessionToken in an STS answer before it is freed. */
void sts_wipe_answer(json_t *res, const char *result_name);

/* Test hooks. */
void aws_client_set_clock(aws_client *c, int64_t (*now)(void *ud), void *ud);
void aws_client_set_backoff(aws_client *c, unsigned base_ms, unsigned cap_ms);
void aws_client_set_container_host(aws_client *c, const char *base_url);
void aws_client_set_max_response(aws_client *c, size_t bytes);
void aws_client_set_process_timeout(aws_client *c, unsigned ms);
unsigned aws_client_last_attempts(const aws_client *c);

#endif
