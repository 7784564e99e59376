/* s3: list buckets and show a bucket's size (CloudWatch BucketSizeBytes).
 *
 * Config ([plugin.s3]):
 *   page_size = 1000   buckets asked for per ListBuckets page (1..10000)
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "../common/awsjson.h"
#include "../common/buf.h"
#include "slashd/plugin.h"

typedef struct s3_state {
  slashd_host *host;
  const slashd_host_api *api;
  char page_size[16];
} s3_state;

static int str_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- list --------------------------------------------------------------- */

static slashd_status cmd_list(slashd_call *call, void *state, int argc, const char *const *argv) {
  (void)argc;
  (void)argv;
  s3_state *st = state;
  char **names = NULL;
  size_t n = 0, cap = 0;
  char err[1024] = "";
  char *token = NULL;
  slashd_status rc = SLASHD_OK;
  for (int page = 0; page < 1000; page++) {
    json_t *params = json_pack("{s:s}", "max-buckets", st->page_size);
    if (token)
      json_object_set_new(params, "continuation-token", json_string(token));
    free(token);
    token = NULL;
    json_t *out = NULL;
    rc = st->api->aws(call, "s3", "ListBuckets", params, &out, err, sizeof err);
    json_decref(params);
    if (rc != SLASHD_OK)
      break;
    json_t *buckets = json_object_get(out, "Buckets");
    for (size_t i = 0; i < aj_count(buckets, "Bucket"); i++) {
      const char *name = aj_str(json_object_get(aj_item(buckets, "Bucket", i), "Name"));
      if (!*name)
        continue;
      char **grown = pbuf_grow(names, &cap, n + 1, sizeof *names);
      if (!grown) {
        json_decref(out);
        rc = SLASHD_ERR_NOMEM;
        goto out;
      }
      names = grown;
      names[n++] = strdup(name);
    }
    const char *next = aj_str(json_object_get(out, "ContinuationToken"));
    if (*next)
      token = strdup(next);
    json_decref(out);
    if (!token)
      break;
  }
  free(token);
  if (rc != SLASHD_OK) {
    rc = aj_reply_failed(st->api, call, "list the buckets", err);
    goto out;
  }
  if (n == 0) {
    rc = st->api->reply(call, 0, "No buckets in this account.", NULL);
    goto out;
  }
  qsort(names, n, sizeof *names, str_cmp);
  pbuf body = {0};
  for (size_t i = 0; i < n; i++)
    pbuf_addf(&body, "%s\n", names[i]);
  char title[64];
  snprintf(title, sizeof title, "%zu bucket%s:", n, n == 1 ? "" : "s");
  rc = !body.failed ? st->api->reply(call, 0, title, body.p) : SLASHD_ERR_NOMEM;
  free(body.p);
out:
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
  return rc;
}

/* ---- usage -------------------------------------------------------------- */

/* S3's naming rules: 3-63 characters of a-z, 0-9, '.', '-', starting and
 * ending with a letter or digit. */
static bool valid_bucket(const char *b) {
  size_t n = strlen(b);
  if (n < 3 || n > 63 || !isalnum((unsigned char)b[0]) || !isalnum((unsigned char)b[n - 1]))
    return false;
  for (size_t i = 0; i < n; i++)
    if (!(islower((unsigned char)b[i]) || isdigit((unsigned char)b[i]) || b[i] == '.' ||
          b[i] == '-'))
      return false;
  return true;
}

static void iso8601(time_t t, char *buf, size_t n) {
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* "1.5 GiB" */
static void human(double bytes, char *buf, size_t n) {
  static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  double v = bytes;
  while (v >= 1024.0 && u < 6) {
    v /= 1024.0;
    u++;
  }
  if (u == 0)
    snprintf(buf, n, "%.0f bytes", bytes);
  else
    snprintf(buf, n, "%.*f %s", v < 10 ? 2 : (v < 100 ? 1 : 0), v, units[u]);
}

/* 1234567 → "1,234,567" */
static void grouped(double bytes, char *buf, size_t n) {
  char digits[64];
  snprintf(digits, sizeof digits, "%.0f", bytes);
  size_t len = strlen(digits), o = 0;
  for (size_t i = 0; i < len && o + 2 < n; i++) {
    if (i && (len - i) % 3 == 0)
      buf[o++] = ',';
    buf[o++] = digits[i];
  }
  buf[o] = '\0';
}

/* The bucket's own region, where its metric lives, into region[] ("" when
 * the location cannot be read, e.g. without s3:GetBucketLocation: the
 * configured region is tried then). False when the bucket does not exist. */
static bool bucket_region(s3_state *st, slashd_call *call, const char *bucket, char *region,
                          size_t n) {
  char err[1024] = "";
  json_t *lp = json_pack("{s:s}", "Bucket", bucket);
  json_t *loc = NULL;
  slashd_status rc = st->api->aws(call, "s3", "GetBucketLocation", lp, &loc, err, sizeof err);
  json_decref(lp);
  bool exists = true;
  region[0] = '\0';
  if (rc == SLASHD_OK) {
    /* An empty LocationConstraint means us-east-1; "EU" is eu-west-1. */
    const char *c = aj_str(json_object_get(loc, "LocationConstraint"));
    if (!*c && json_is_string(loc))
      c = json_string_value(loc);
    snprintf(region, n, "%s", !*c ? "us-east-1" : (strcmp(c, "EU") == 0 ? "eu-west-1" : c));
  } else if (strstr(err, "NoSuchBucket")) {
    exists = false;
  }
  json_decref(loc);
  return exists;
}

/* GetMetricStatistics for the bucket's Standard storage size. S3 reports
 * storage metrics once a day: a three-day window always holds the latest
 * datapoint. A new reference. */
static json_t *size_request(const char *bucket, const char *region) {
  time_t now = time(NULL);
  char start[32], end[32];
  iso8601(now - 3 * 86400, start, sizeof start);
  iso8601(now, end, sizeof end);
  json_t *params =
      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Namespace", "AWS/S3",
                "MetricName", "BucketSizeBytes", "Dimensions.member.1.Name", "BucketName",
                "Dimensions.member.1.Value", bucket, "Dimensions.member.2.Name", "StorageType",
                "Dimensions.member.2.Value", "StandardStorage", "StartTime", start, "EndTime", end,
                "Period", "86400", "Statistics.member.1", "Average", "Unit", "Bytes");
  if (region[0])
    json_object_set_new(params, "@region", json_string(region));
  return params;
}

/* Datapoints come unordered: the newest one's timestamp (borrowed from
 * `out`) and value, or NULL when there is none. ISO 8601 UTC timestamps
 * compare as strings. */
static const char *newest_datapoint(json_t *out, double *value) {
  json_t *dps = aj_get(out, "GetMetricStatisticsResult", "Datapoints", NULL);
  const char *newest_ts = NULL;
  for (size_t i = 0; i < aj_count(dps, "member"); i++) {
    json_t *dp = aj_item(dps, "member", i);
    const char *ts = aj_str(json_object_get(dp, "Timestamp"));
    const char *avg = aj_str(json_object_get(dp, "Average"));
    if (!*ts || !*avg)
      continue;
    if (!newest_ts || strcmp(ts, newest_ts) > 0) {
      newest_ts = ts;
      *value = strtod(avg, NULL);
    }
  }
  return newest_ts;
}

/* The size as a sentence, with Block Kit (ABI 1.2) when the host has it. */
static slashd_status reply_size(s3_state *st, slashd_call *call, const char *bucket, double size,
                                const char *ts) {
  char msg[512], h[32], g[48], day[11];
  human(size, h, sizeof h);
  grouped(size, g, sizeof g);
  snprintf(day, sizeof day, "%.10s", ts);
  snprintf(msg, sizeof msg, "%s: %s (%s bytes) in Standard storage, as of %s.", bucket, h, g, day);
  /* Bucket names are [a-z0-9.-]: nothing to escape. */
  char sentence[320];
  snprintf(sentence, sizeof sentence, ":bucket: *%s* in `%s` (Standard storage, as of %s)", h,
           bucket, day);
  json_t *blocks = SLASHD_HAS(st->api, reply_blocks)
                       ? json_pack("[{s:s, s:{s:s, s:s}}]", "type", "section", "text", "type",
                                   "mrkdwn", "text", sentence)
                       : NULL;
  slashd_status rc = blocks ? st->api->reply_blocks(call, 0, msg, NULL, blocks)
                            : st->api->reply(call, 0, msg, NULL);
  json_decref(blocks);
  return rc;
}

static slashd_status cmd_usage(slashd_call *call, void *state, int argc, const char *const *argv) {
  (void)argc;
  s3_state *st = state;
  const char *bucket = argv[0];
  char msg[512], err[1024] = "", region[64];
  if (!valid_bucket(bucket)) {
    snprintf(msg, sizeof msg,
             "`%.70s` is not a valid bucket name (3-63 characters: a-z, 0-9, '.', '-'). `/aws s3 "
             "list` shows yours.",
             bucket);
    return st->api->reply(call, SLASHD_REPLY_ERROR, msg, NULL);
  }
  if (!bucket_region(st, call, bucket, region, sizeof region)) {
    snprintf(msg, sizeof msg, "There is no bucket named %s.", bucket);
    return st->api->reply(call, SLASHD_REPLY_ERROR, msg, NULL);
  }
  json_t *params = size_request(bucket, region);
  json_t *out = NULL;
  slashd_status rc =
      st->api->aws(call, "monitoring", "GetMetricStatistics", params, &out, err, sizeof err);
  json_decref(params);
  if (rc != SLASHD_OK) {
    char what[128];
    snprintf(what, sizeof what, "get the size of %s", bucket);
    rc = aj_reply_failed(st->api, call, what, err);
    goto out;
  }
  double size = 0;
  const char *ts = newest_datapoint(out, &size);
  if (ts) {
    rc = reply_size(st, call, bucket, size, ts);
  } else {
    snprintf(msg, sizeof msg,
             "S3 has not reported a size for %s in the last 3 days. It publishes storage metrics "
             "once a day; a new or empty bucket can take up to 48 hours.",
             bucket);
    rc = st->api->reply(call, 0, msg, NULL);
  }
out:
  json_decref(out);
  return rc;
}

/* ---- plugin ------------------------------------------------------------- */

static slashd_status s3_init(slashd_host *host, const slashd_host_api *api, void **state) {
  if (!SLASHD_HAS(api, aws)) {
    api->log(host, NULL, SLASHD_LOG_ERROR, "this host offers no AWS calls (ABI 1.1 needed)");
    return SLASHD_ERR_UNSUPPORTED;
  }
  s3_state *st = calloc(1, sizeof *st);
  if (!st)
    return SLASHD_ERR_NOMEM;
  st->host = host;
  st->api = api;
  snprintf(st->page_size, sizeof st->page_size, "%ld",
           aj_config_long(api, host, "page_size", 1000, 1, 10000));
  *state = st;
  return SLASHD_OK;
}

static void s3_destroy(void *state) {
  free(state);
}

static const slashd_command commands[] = {
    {.name = "list",
     .usage = "",
     .summary = "List the account's buckets",
     .min_args = 0,
     .max_args = 0,
     .access = SLASHD_READ,
     .handler = cmd_list,
     .flags = SLASHD_CMD_DEFAULT},
    {.name = "usage",
     .usage = "<bucket>",
     .summary = "Show a bucket's size in Standard storage (CloudWatch, daily)",
     .min_args = 1,
     .max_args = 1,
     .access = SLASHD_READ,
     .handler = cmd_usage},
    {.name = NULL},
};

static const slashd_plugin descriptor = {
    SLASHD_PLUGIN_HEADER, .name = "s3",
    .version = "1.0.0",   .summary = "S3 buckets: list, size",
    .init = s3_init,      .destroy = s3_destroy,
    .commands = commands,
};

SLASHD_PLUGIN_ENTRY(descriptor)
