#include "base/urlcheck.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "base/config.h"
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

bool url_allowed(const url_policy *p, const char *url, char **why, char **host_out) {
  return url_allowed_origin(p, url, why, host_out, NULL);
}

bool url_allowed_origin(const url_policy *p, const char *url, char **why, char **host_out,
                        char **origin_out) {
  *why = NULL;
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
  curl_url_cleanup(u);
  return ok;
}
