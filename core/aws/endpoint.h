/* Which host serves a service, which region signs for it, and where the
 * client's region comes from.
 *
 * Defaults: https://{prefix}.{region}.amazonaws.com (amazonaws.com.cn in the
 * China regions); IAM is global (iam.amazonaws.com, signed for us-east-1);
 * S3 is s3.amazonaws.com for us-east-1 (signed us-east-1) and
 * s3.{region}.amazonaws.com elsewhere.
 * Overrides, in the SDKs' order: AWS_ENDPOINT_URL_<SERVICE_ID> (EC2, S3,
 * CLOUDWATCH, STS, IAM, KMS, SNS, SQS), then AWS_ENDPOINT_URL, then the ini's
 * [aws] endpoint_url. With an override the signing region stays the
 * client's region (us-east-1 for global services) and S3 uses path style. */
#ifndef SLASHD_AWS_ENDPOINT_H
#define SLASHD_AWS_ENDPOINT_H

#include <stdbool.h>

typedef enum {
  AWS_PROTO_EC2,     /* EC2 Query: form POST, lists Name.N, no Result wrapper */
  AWS_PROTO_QUERY,   /* Query: form POST, <XResult>, lists .member.N */
  AWS_PROTO_JSON,    /* JSON 1.1 with X-Amz-Target */
  AWS_PROTO_REST_XML /* S3 */
} aws_protocol;

typedef struct aws_service {
  const char *name;         /* as given to aws_call */
  const char *signing_name; /* credential scope service */
  const char *env_var;      /* AWS_ENDPOINT_URL_<SERVICE_ID> */
  const char *host_prefix;  /* first label of the default host */
  aws_protocol protocol;
  const char *version;     /* Query API version */
  const char *json_target; /* JSON: X-Amz-Target prefix */
  bool global;             /* one endpoint per partition */
} aws_service;

/* "ec2", "monitoring" (or "cloudwatch"), "sts", "iam", "kms", "sns", "sqs", "s3";
 * NULL for anything else. */
const aws_service *aws_service_find(const char *name);

typedef struct aws_endpoint {
  char *scheme;      /* "https" or "http" */
  char *host;        /* name or address, IPv6 in brackets */
  int port;          /* 0 = the scheme's default */
  char *host_header; /* host, with ":port" only when not the default */
  char *base_path;   /* "" or an override's path prefix, no trailing '/' */
  char *signing_region;
  bool path_style;    /* S3: bucket in the path, not the host */
  const char *source; /* "AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL",
                         "[aws] endpoint_url" or "default" */
} aws_endpoint;

/* Resolves the endpoint of `svc` for `region`; ini_url is [aws]
 * endpoint_url or NULL. False with *err (new string) on a malformed
 * override URL. */
bool aws_endpoint_resolve(const aws_service *svc, const char *region, const char *ini_url,
                          aws_endpoint *out, char **err);
/* The same with endpoint variants (ignored when a URL overrides). */
#define AWS_EP_FIPS 1u
#define AWS_EP_DUALSTACK 2u
bool aws_endpoint_resolve_variant(const aws_service *svc, const char *region, const char *ini_url,
                                  unsigned variant, aws_endpoint *e, char **err);
void aws_endpoint_free(aws_endpoint *e);

/* Splits "http://host:port/path" (http and https only). */
bool aws_url_parse(const char *url, char **scheme, char **host, int *port, char **path);

/* scheme://host_header + base_path + path [+ "?" + query]; a new string. */
char *aws_endpoint_url(const aws_endpoint *e, const char *path, const char *query);

/* The client's region: AWS_REGION, AWS_DEFAULT_REGION, the profile's region,
 * the ini's, else us-east-1. *source names the one used. New string. */
char *aws_region_resolve(const char *profile_region, const char *ini_region, const char **source);
/* Lower-case letters, digits and '-' (it becomes part of a host name). */
bool aws_region_valid(const char *region);

#endif
