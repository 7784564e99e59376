#include "endpoint.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"

static const aws_service services[] = {
    {"ec2", "ec2", "AWS_ENDPOINT_URL_EC2", "ec2", AWS_PROTO_EC2, "2016-11-15", NULL, false},
    {"monitoring", "monitoring", "AWS_ENDPOINT_URL_CLOUDWATCH", "monitoring", AWS_PROTO_QUERY,
     "2010-08-01", NULL, false},
    {"sts", "sts", "AWS_ENDPOINT_URL_STS", "sts", AWS_PROTO_QUERY, "2011-06-15", NULL, false},
    {"iam", "iam", "AWS_ENDPOINT_URL_IAM", "iam", AWS_PROTO_QUERY, "2010-05-08", NULL, true},
    {"sns", "sns", "AWS_ENDPOINT_URL_SNS", "sns", AWS_PROTO_QUERY, "2010-03-31", NULL, false},
    /* SQS still serves its Query API (QueueUrl as a parameter, POST /). */
    {"sqs", "sqs", "AWS_ENDPOINT_URL_SQS", "sqs", AWS_PROTO_QUERY, "2012-11-05", NULL, false},
    {"kms", "kms", "AWS_ENDPOINT_URL_KMS", "kms", AWS_PROTO_JSON, NULL, "TrentService", false},
    {"s3", "s3", "AWS_ENDPOINT_URL_S3", "s3", AWS_PROTO_REST_XML, NULL, NULL, false},
};

const aws_service *aws_service_find(const char *name) {
  if (!name)
    return NULL;
  if (strcmp(name, "cloudwatch") == 0)
    name = "monitoring";
  for (size_t i = 0; i < ARRAY_LEN(services); i++)
    if (strcmp(services[i].name, name) == 0)
      return &services[i];
  return NULL;
}

static const char *env(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

bool aws_url_parse(const char *url, char **scheme, char **host, int *port, char **path) {
  *scheme = *host = *path = NULL;
  *port = 0;
  const char *sep = strstr(url, "://");
  if (!sep)
    return false;
  char *sch = xstrndup(url, (size_t)(sep - url));
  for (char *p = sch; *p; p++)
    *p = (char)tolower((unsigned char)*p);
  if (strcmp(sch, "http") != 0 && strcmp(sch, "https") != 0) {
    free(sch);
    return false;
  }
  const char *h = sep + 3, *end = h + strcspn(h, "/?#");
  const char *colon = NULL;
  if (*h == '[') { /* IPv6 literal */
    const char *rb = memchr(h, ']', (size_t)(end - h));
    if (!rb) {
      free(sch);
      return false;
    }
    colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
    if (!colon && rb + 1 != end) {
      free(sch);
      return false;
    }
  } else {
    colon = memchr(h, ':', (size_t)(end - h));
  }
  const char *hend = colon ? colon : end;
  if (hend == h || memchr(h, '@', (size_t)(end - h))) { /* no host; no userinfo */
    free(sch);
    return false;
  }
  if (colon) {
    long pn = 0;
    char *digits = xstrndup(colon + 1, (size_t)(end - colon - 1));
    bool ok = parse_int(digits, 1, 65535, &pn);
    free(digits);
    if (!ok) {
      free(sch);
      return false;
    }
    *port = (int)pn;
  }
  for (const char *p = h; p < hend; p++)
    if ((unsigned char)*p <= ' ' || *p == '\\') {
      free(sch);
      return false;
    }
  *scheme = sch;
  *host = xstrndup(h, (size_t)(hend - h));
  for (char *p = *host; *p; p++)
    *p = (char)tolower((unsigned char)*p);
  size_t plen = strcspn(end, "?#");
  while (plen && end[plen - 1] == '/')
    plen--;
  *path = xstrndup(end, plen);
  return true;
}

static int default_port(const char *scheme) {
  return strcmp(scheme, "http") == 0 ? 80 : 443;
}

static const char *dns_suffix(const char *region) {
  return str_starts(region, "cn-") ? "amazonaws.com.cn" : "amazonaws.com";
}

/* Global services live in one region per partition. */
static void global_endpoint(const aws_service *svc, const char *region, aws_endpoint *e) {
  if (str_starts(region, "cn-")) {
    e->host = xasprintf("%s.cn-north-1.amazonaws.com.cn", svc->host_prefix);
    e->signing_region = xstrdup("cn-north-1");
  } else if (str_starts(region, "us-gov-")) {
    e->host = xasprintf("%s.us-gov.amazonaws.com", svc->host_prefix);
    e->signing_region = xstrdup("us-gov-west-1");
  } else {
    e->host = xasprintf("%s.amazonaws.com", svc->host_prefix);
    e->signing_region = xstrdup("us-east-1");
  }
}

static const char *global_region(const char *region) {
  if (str_starts(region, "cn-"))
    return "cn-north-1";
  if (str_starts(region, "us-gov-"))
    return "us-gov-west-1";
  return "us-east-1";
}

/* FIPS and dual-stack hosts (AWS_USE_FIPS_ENDPOINT, AWS_USE_DUALSTACK_ENDPOINT):
 * "ec2-fips.eu-west-1.amazonaws.com", "ec2.eu-west-1.api.aws"; S3 spells
 * dual-stack as a label: "s3-fips.dualstack.eu-west-1.amazonaws.com". */
static void variant_endpoint(const aws_service *svc, const char *region, unsigned variant,
                             aws_endpoint *e) {
  const char *fips = variant & AWS_EP_FIPS ? "-fips" : "";
  bool dual = variant & AWS_EP_DUALSTACK;
  if (svc->global) {
    global_endpoint(svc, region, e);
    free(e->host);
    e->host = xasprintf("%s%s.%s", svc->host_prefix, fips,
                        str_starts(region, "cn-")       ? "cn-north-1.amazonaws.com.cn"
                        : str_starts(region, "us-gov-") ? "us-gov.amazonaws.com"
                                                        : "amazonaws.com");
  } else if (svc->protocol == AWS_PROTO_REST_XML) {
    e->host = xasprintf("%s%s%s.%s.%s", svc->host_prefix, fips, dual ? ".dualstack" : "", region,
                        dns_suffix(region));
    e->signing_region = xstrdup(region);
  } else {
    e->host = xasprintf("%s%s.%s.%s", svc->host_prefix, fips, region,
                        dual ? "api.aws" : dns_suffix(region));
    e->signing_region = xstrdup(region);
  }
}

bool aws_endpoint_resolve(const aws_service *svc, const char *region, const char *ini_url,
                          aws_endpoint *e, char **err) {
  return aws_endpoint_resolve_variant(svc, region, ini_url, 0, e, err);
}

bool aws_endpoint_resolve_variant(const aws_service *svc, const char *region, const char *ini_url,
                                  unsigned variant, aws_endpoint *e, char **err) {
  memset(e, 0, sizeof *e);
  const char *url = NULL;
  if ((url = env(svc->env_var)))
    e->source = svc->env_var;
  else if ((url = env("AWS_ENDPOINT_URL")))
    e->source = "AWS_ENDPOINT_URL";
  else if ((url = ini_url && *ini_url ? ini_url : NULL))
    e->source = "[aws] endpoint_url";
  else
    e->source = "default";
  if (url) {
    int port;
    if (!aws_url_parse(url, &e->scheme, &e->host, &port, &e->base_path)) {
      *err = xasprintf("endpoint URL \"%s\" (from %s) is not an http:// or https:// URL", url,
                       e->source);
      aws_endpoint_free(e);
      return false;
    }
    e->port = port == default_port(e->scheme) ? 0 : port;
    e->signing_region = xstrdup(svc->global ? global_region(region) : region);
    e->path_style = true;
  } else {
    e->scheme = xstrdup("https");
    e->base_path = xstrdup("");
    if (variant) {
      variant_endpoint(svc, region, variant, e);
    } else if (svc->global) {
      global_endpoint(svc, region, e);
    } else if (svc->protocol == AWS_PROTO_REST_XML && strcmp(region, "us-east-1") == 0) {
      e->host = xstrdup("s3.amazonaws.com");
      e->signing_region = xstrdup("us-east-1");
    } else {
      e->host = xasprintf("%s.%s.%s", svc->host_prefix, region, dns_suffix(region));
      e->signing_region = xstrdup(region);
    }
  }
  e->host_header = e->port ? xasprintf("%s:%d", e->host, e->port) : xstrdup(e->host);
  return true;
}

void aws_endpoint_free(aws_endpoint *e) {
  free(e->scheme);
  free(e->host);
  free(e->host_header);
  free(e->base_path);
  free(e->signing_region);
  memset(e, 0, sizeof *e);
}

char *aws_endpoint_url(const aws_endpoint *e, const char *path, const char *query) {
  return xasprintf("%s://%s%s%s%s%s", e->scheme, e->host_header, e->base_path,
                   path && *path ? path : "/", query && *query ? "?" : "",
                   query && *query ? query : "");
}

bool aws_region_valid(const char *r) {
  if (!r || !*r || strlen(r) > 63)
    return false;
  for (; *r; r++)
    if (!islower((unsigned char)*r) && !isdigit((unsigned char)*r) && *r != '-')
      return false;
  return true;
}

char *aws_region_resolve(const char *profile_region, const char *ini_region, const char **source) {
  struct {
    const char *value, *source;
  } order[] = {
      {env("AWS_REGION"), "AWS_REGION"},
      {env("AWS_DEFAULT_REGION"), "AWS_DEFAULT_REGION"},
      {profile_region, "profile"},
      {ini_region, "[aws] region"},
  };
  for (size_t i = 0; i < ARRAY_LEN(order); i++) {
    if (order[i].value && *order[i].value) {
      *source = order[i].source;
      return xstrdup(order[i].value);
    }
  }
  *source = "default";
  return xstrdup("us-east-1");
}
