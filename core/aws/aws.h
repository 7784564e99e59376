/* The AWS client every plugin shares: credentials chain, SigV4, endpoints,
 * libcurl transport with retries, XML/JSON responses as jansson values,
 * readable errors. No AWS SDK.
 *
 * One client per worker process, used from one thread.
 *
 * Ownership: inputs are borrowed; `json_t **out` is a new reference the
 * caller owns; `char **err` is a new string the caller frees (set only when
 * the status is not AWS_OK).
 *
 * Response shapes (see xml.h for the rules). The root element is dropped;
 * Query services keep their XResult and ResponseMetadata; lists are arrays.
 *
 *   ec2 DescribeInstances →
 *     {"requestId": "…",
 *      "reservationSet": [
 *        {"reservationId": "r-…", "ownerId": "…", "groupSet": [],
 *         "instancesSet": [
 *           {"instanceId": "i-…", "instanceState": {"code": "16", "name": "running"},
 *            "tagSet": [{"key": "Name", "value": "web-1"}], …}]}],
 *      "nextToken": "…"}            (absent on the last page)
 *   An instance without tags has no tagSet (or "tagSet": []); every leaf is a
 *   string ("16", "true"); empty EC2 …Set elements are [].
 *
 *   sts AssumeRole → {"AssumeRoleResult": {"Credentials": {"AccessKeyId": …}, …},
 *                     "ResponseMetadata": {"RequestId": "…"}}
 *   monitoring GetMetricStatistics → {"GetMetricStatisticsResult":
 *                     {"Label": "…", "Datapoints": [{"Timestamp": …, "Average": "…"}]}, …}
 *     (an empty <Datapoints/> comes back as "" — treat a non-array as no data)
 *   s3 ListBuckets → {"Buckets": {"Bucket": [{"Name": …, "CreationDate": …}, …]},
 *                     "Owner": {…}, "ContinuationToken": "…"}
 *     (one bucket: "Bucket" is an object, not an array; none: "Buckets": "")
 *   kms Decrypt → the JSON body as sent by KMS.
 *
 * Parameters of Query services (ec2, monitoring, sts, iam, sns): a flat
 * object of wire names → strings (numbers and booleans are formatted):
 *   {"InstanceId.1": "i-0abc", "MaxResults": 5}
 *   {"Dimensions.member.1.Name": "BucketName", …}
 * kms: the JSON request body. s3 (ListBuckets, GetBucketLocation, HeadBucket):
 *   query parameters by wire name ("continuation-token", "max-buckets",
 *   "prefix", "bucket-region") or member name ("ContinuationToken", …), and
 *   "Bucket" for bucket operations.
 * Any PascalCase action is sent to a Query/JSON service; S3 supports the
 * operations listed (others are AWS_ERR_UNSUPPORTED). */
#ifndef SLASHD_AWS_H
#define SLASHD_AWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/kv.h"

typedef struct aws_creds {
  char *access_key_id, *secret_access_key;
  char *session_token; /* NULL for long-term keys */
  int64_t expiration;  /* unix seconds; 0 = never */
  char *source;        /* "environment", "profile NAME", "web identity", "container",
                          "instance metadata", "assumed role" */
} aws_creds;

/* Frees every field and zeroes the struct (the secret and token are wiped). */
void aws_creds_clear(aws_creds *c);
/* Deep copy; dst is overwritten (clear it first if it held anything). */
void aws_creds_copy(aws_creds *dst, const aws_creds *src);

typedef struct aws_config {
  const char *region;                         /* [aws] region or NULL */
  const char *endpoint_url;                   /* [aws] endpoint_url or NULL */
  int connect_timeout, timeout, max_attempts; /* seconds, seconds per attempt, attempts incl.
                                                 the first; <= 0: 3, 20, 4 */
  slog_fn log; /* where the client's log lines go (the host passes log_fields);
                  NULL: the client logs nothing */
} aws_config;

typedef struct aws_client aws_client;

/* cfg may be NULL (all defaults). Resolves the region at once (and logs
 * where it came from). Never NULL. */
aws_client *aws_client_new(const aws_config *cfg);
void aws_client_free(aws_client *c);
const char *aws_client_region(const aws_client *c);
/* Where the region came from: "AWS_REGION", "AWS_DEFAULT_REGION", "profile",
 * "[aws] region" or "default". */
const char *aws_client_region_source(const aws_client *c);

typedef enum {
  AWS_OK = 0,
  AWS_ERR_UNSUPPORTED, /* unknown service/operation, or parameters it cannot send */
  AWS_ERR_CREDENTIALS, /* no credentials, or AWS refused them as invalid/expired
                          (AccessDenied is a service error: the keys were fine) */
  AWS_ERR_NETWORK,     /* no answer (refused, timed out, bad endpoint URL) */
  AWS_ERR_SERVICE,     /* AWS answered with an error */
  AWS_ERR_PARSE        /* AWS answered 2xx with a body we could not read */
} aws_status;

/* Client settings from the environment and the profile, botocore's names:
 * AWS_MAX_ATTEMPTS / max_attempts (over [aws] max_attempts), AWS_RETRY_MODE
 * / retry_mode (standard; adaptive is refused), AWS_USE_FIPS_ENDPOINT /
 * use_fips_endpoint, AWS_USE_DUALSTACK_ENDPOINT / use_dualstack_endpoint,
 * AWS_CA_BUNDLE / ca_bundle. A value the client cannot honour is described
 * here (the default is used instead); NULL when all is well. */
const char *aws_client_setting_error(const aws_client *c);

/* Seconds added to the local clock when signing: 0 until AWS refused a
 * signature as skewed (RequestTimeTooSkewed, SignatureDoesNotMatch,
 * InvalidSignatureException) with a Date header 4+ minutes from ours; then
 * the call was retried once with the corrected clock. For /metrics. */
int64_t aws_client_clock_skew(const aws_client *c);

/* "ok", "unsupported", "credentials", "network", "service", "parse". */
const char *aws_status_name(aws_status s);

/* Host credentials via the chain (environment, shared files, web identity,
 * container, instance metadata), cached, refreshed ~10 min before expiry.
 * Borrowed pointer valid until the next call. On failure NULL and *err (new
 * string) lists everything tried. */
const aws_creds *aws_host_creds(aws_client *c, char **err);

/* The cached host credentials' source and expiry (0: long-term), without
 * fetching anything; false when none are cached. For /metrics. */
bool aws_host_creds_cached(const aws_client *c, const char **source, int64_t *expiration);

/* After aws_host_creds failed: whether a source is configured but broken
 * (a bad or unsupported setting, a failing credential_process, a refused
 * role), rather than no source being configured at all. */
bool aws_host_creds_broken(const aws_client *c);

/* One API call. creds NULL = host credentials. On AWS_OK, *out is a new
 * jansson reference the caller owns. On failure *err is one readable
 * sentence (new string) such as
 * "AccessDenied: User: arn:aws:iam::1:user/x is not authorized to perform:
 * ec2:StopInstances (request id 5f2...)". */
aws_status aws_call(aws_client *c, const aws_creds *creds, const char *service, const char *action,
                    const json_t *params, json_t **out, char **err);

/* aws_call in another region than the client's (e.g. CloudWatch in a
 * bucket's region). region NULL = the client's. */
aws_status aws_call_region(aws_client *c, const aws_creds *creds, const char *region,
                           const char *service, const char *action, const json_t *params,
                           json_t **out, char **err);

/* STS AssumeRole signed with `base` (NULL = host creds). tags: object
 * name->string or NULL; source_identity NULL to omit; duration_seconds <= 0
 * to use the role's default. On AWS_OK *out holds the new credentials
 * (source "assumed role"); clear them with aws_creds_clear. */
aws_status aws_assume_role(aws_client *c, const aws_creds *base, const char *role_arn,
                           const char *session_name, const char *source_identity,
                           const json_t *tags, int duration_seconds, aws_creds *out, char **err);

/* KMS Decrypt (for `kms:BASE64` secret references in the ini) with the host
 * credentials: plaintext bytes (NUL-terminated for convenience, not counted
 * in *plain_len); the caller wipes (OPENSSL_cleanse) and frees them. */
aws_status aws_kms_decrypt(aws_client *c, const char *ciphertext_b64, unsigned char **plain,
                           size_t *plain_len, char **err);

#endif
