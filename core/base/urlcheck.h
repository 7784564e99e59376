/* Is this response_url one we may POST to? */
#ifndef SLASHD_URLCHECK_H
#define SLASHD_URLCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "base/syntax.h"

typedef struct url_policy {
  char **hosts; /* [slack] response_hosts: "host" or "host:port" */
  size_t n_hosts;
  bool dev_loopback; /* development mode: any loopback host is allowed too */
} url_policy;

/* Allowed: https to a listed host (port 443 unless the entry names one; a
 * loopback entry without a port allows any port), or
 * http/https to a loopback host that is listed (or any loopback host in
 * development mode). No user info. On refusal *why says why (new string)
 * and *host (if not NULL) gets the host for the log. */
bool url_allowed(const url_policy *p, const char *url, char **why, char **host);
/* url_allowed, also giving the origin ("host:port", as url_origin) from the
 * same parse (*origin NULL when the URL is not valid) and, when allowed and
 * `parsed` is not NULL, the parsed URL itself (*parsed, the caller's to
 * curl_url_cleanup): a POST given it with CURLOPT_CURLU is not parsed again. */
bool url_allowed_origin(const url_policy *p, const char *url, char **why, char **host,
                        char **origin, CURLU **parsed);

/* The host part of a URL for logs (new string), "?" when unparsable. */
char *url_host(const char *url);
/* "host:port" (the scheme's port when none is given), for per-host limits.
 * New string; "?" when unparsable. */
char *url_origin(const char *url);

#endif
