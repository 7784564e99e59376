#include "base/urlcheck.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "base/util.h"

static char *part(CURLU *u, CURLUPart what) {
  char *v = NULL;
  if (curl_url_get(u, what, &v, 0) != CURLUE_OK)
    return NULL;
  char *copy = xstrdup(v);
  curl_free(v);
  return copy;
}

char *url_host(const char *url) {
  CURLU *u = curl_url();
  char *h = NULL;
  if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK)
    h = part(u, CURLUPART_HOST);
  curl_url_cleanup(u);
  return h ? h : xstrdup("?");
}

char *url_origin(const char *url) {
  CURLU *u = curl_url();
  char *o = NULL;
  if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
    char *host = part(u, CURLUPART_HOST);
    char *port = NULL;
    if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK && host)
      o = xasprintf("%s:%s", host, port);
    curl_free(port);
    free(host);
  }
  curl_url_cleanup(u);
  return o ? o : xstrdup("?");
}

static bool entry_matches(const char *entry, const char *host, long port, bool https) {
  const char *colon = strrchr(entry, ':');
  bool bracket = entry[0] == '[';
  if (colon && (!bracket || colon > strchr(entry, ']'))) {
    long want;
    char *name = xstrndup(entry, (size_t)(colon - entry));
    bool ok = parse_int(colon + 1, 1, 65535, &want) && want == port && str_ieq(name, host);
    free(name);
    return ok;
  }
  /* No port: the scheme's default, except on loopback, where local sinks
   * (tests, development) pick free ports. */
  long def = https ? 443 : 80;
  return str_ieq(entry, host) && (port == def || host_is_loopback(host));
}

static bool dns_name_ok(const char *s, size_t n) {
  if (n == 0 || n > 253)
    return false;
  size_t label = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '.') {
      if (label == 0 || s[i - 1] == '-')
        return false;
      label = 0;
      continue;
    }
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && !(c == '-' && label > 0))
      return false;
    if (++label > 63)
      return false;
  }
  return label > 0 && s[n - 1] != '-';
}

static bool ipv6_ok(const char *s, size_t n) {
  if (n < 2 || n > 47)
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
          c == '.'))
      return false;
  }
  return memchr(s, ':', n) != NULL;
}

bool url_host_entry_ok(const char *entry) {
  if (!entry || !*entry)
    return false;
  const char *host = entry, *port = NULL;
  size_t n;
  if (entry[0] == '[') {
    const char *close = strchr(entry, ']');
    if (!close || !ipv6_ok(entry + 1, (size_t)(close - entry - 1)))
      return false;
    if (close[1] && close[1] != ':')
      return false;
    port = close[1] ? close + 2 : NULL;
    return !port || parse_int(port, 1, 65535, &(long){0});
  }
  const char *colon = strchr(entry, ':');
  n = colon ? (size_t)(colon - entry) : strlen(entry);
  port = colon ? colon + 1 : NULL;
  if (port && !parse_int(port, 1, 65535, &(long){0}))
    return false;
  return dns_name_ok(host, n);
}

bool url_allowed(const url_policy *p, const char *url, char **why, char **host_out) {
  return url_allowed_origin(p, url, why, host_out, NULL, NULL);
}

bool url_allowed_origin(const url_policy *p, const char *url, char **why, char **host_out,
                        char **origin_out, CURLU **parsed) {
  *why = NULL;
  if (parsed)
    *parsed = NULL;
  if (host_out)
    *host_out = NULL;
  if (origin_out)
    *origin_out = NULL;
  CURLU *u = curl_url();
  if (!u || !url || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
    *why = xstrdup("response_url is not a valid URL");
    curl_url_cleanup(u);
    return false;
  }
  char *scheme = part(u, CURLUPART_SCHEME);
  char *host = part(u, CURLUPART_HOST);
  char *user = part(u, CURLUPART_USER);
  char *port_s = part(u, CURLUPART_PORT);
  bool ok = false;
  bool https = str_ieq(scheme, "https");
  long port = https ? 443 : 80;
  if (port_s && !parse_int(port_s, 1, 65535, &port)) {
    *why = xstrdup("response_url has a bad port");
  } else if (!host || !*host) {
    *why = xstrdup("response_url has no host");
  } else if (user) {
    *why = xstrdup("response_url carries user info");
  } else if (!https && !str_ieq(scheme, "http")) {
    *why = xasprintf("response_url scheme %s is not https", scheme ? scheme : "?");
  } else {
    bool loop = host_is_loopback(host);
    bool listed = false;
    for (size_t i = 0; i < p->n_hosts && !listed; i++)
      listed = entry_matches(p->hosts[i], host, port, https);
    if (!https && !loop)
      *why = xasprintf("response_url to %s is not https", host);
    else if (listed || (loop && p->dev_loopback))
      ok = true;
    else
      *why = xasprintf("response_url host %s is not in [slack] response_hosts", host);
  }
  if (host_out)
    *host_out = host ? xstrdup(host) : xstrdup("?");
  if (origin_out)
    *origin_out = host ? xasprintf("%s:%ld", host, port) : xstrdup("?");
  free(scheme);
  free(host);
  free(user);
  free(port_s);
  if (ok && parsed)
    *parsed = u;
  else
    curl_url_cleanup(u);
  return ok;
}
