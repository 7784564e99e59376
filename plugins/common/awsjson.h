/* Small helpers for the shipped plugins: reading AWS responses (as the host
 * converts them to JSON) and reporting failed calls. Header-only: plugins
 * link nothing of the host. */

#ifndef SLASHD_PLUGINS_AWSJSON_H
#define SLASHD_PLUGINS_AWSJSON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "slashd/plugin.h"

/* A whole number from the plugin's ini section, within [min, max]; the
 * default (with a warning in the log) when it is not. */
static inline long aj_config_long(const slashd_host_api *api, slashd_host *host, const char *key,
                                  long def, long min, long max) {
  const char *v = api->config(host, key);
  if (!v)
    return def;
  char *end;
  long n = strtol(v, &end, 10);
  if (end == v || *end || n < min || n > max) {
    api->log(host, NULL, SLASHD_LOG_WARN, "%s = %s is not a number from %ld to %ld; using %ld", key,
             v, min, max, def);
    return def;
  }
  return n;
}

/* "Could not <what>: <AWS's readable error>" as the command's failure. */

static inline slashd_status aj_reply_failed(const slashd_host_api *api, slashd_call *call,
                                            const char *what, const char *err) {
  char msg[1200];
  snprintf(msg, sizeof msg, "Could not %s: %s", what, err && err[0] ? err : "the AWS call failed");
  return api->reply(call, SLASHD_REPLY_ERROR, msg, NULL);
}

/* Follows a path of object keys: aj_get(root, "a", "b", NULL). */
static inline json_t *aj_get(json_t *root, ...) {
  va_list ap;
  va_start(ap, root);
  json_t *cur = root;
  const char *k;
  while (cur && (k = va_arg(ap, const char *)) != NULL)
    cur = json_is_object(cur) ? json_object_get(cur, k) : NULL;
  va_end(ap);
  return cur;
}

static inline const char *aj_str(json_t *v) {
  const char *s = json_string_value(v);
  return s ? s : "";
}

/* The items of a list. `v` is either an array (EC2 and Query lists of
 * <item>/<member>, always arrays), or an object whose `wrapper` child holds
 * one item (an object) or several (an array) — S3's <Buckets><Bucket>. An
 * empty element ("" or {}) holds none. */
static inline json_t *aj_unwrap(json_t *v, const char *wrapper) {
  if (wrapper && json_is_object(v))
    return json_object_get(v, wrapper);
  return v;
}

static inline size_t aj_count(json_t *v, const char *wrapper) {
  v = aj_unwrap(v, wrapper);
  if (json_is_array(v))
    return json_array_size(v);
  return json_is_object(v) && json_object_size(v) ? 1 : 0;
}

static inline json_t *aj_item(json_t *v, const char *wrapper, size_t i) {
  v = aj_unwrap(v, wrapper);
  if (json_is_array(v))
    return json_array_get(v, i);
  return i == 0 && json_is_object(v) ? v : NULL;
}

#endif
