/* The shapes of configuration values, checked without a configuration.
 *
 * config.c checks every line with these while it parses a file; the
 * modules that later interpret the values use the very same parsers, so
 * each function is defined beside its parser (access.c, place.c,
 * urlcheck.c). This header includes no other slashd header: config.c
 * depends on it alone, and access, place and urlcheck may depend on the
 * configuration without a cycle. */
#ifndef SLASHD_SYNTAX_H
#define SLASHD_SYNTAX_H

#include <stdbool.h>

#define PLACE_REGIONS_MAX 32 /* of [aws] regions */

/* An [access] key ("ec2.stop", "ec2.* @channels", "* @deny"). False with
 * *why (new string) on a malformed key. (access.c) */
bool access_rule_key_ok(const char *key, char **why);
/* True when `r` has the shape of an AWS region name. (place.c) */
bool place_region_shape(const char *r);
/* One line of [accounts] ("123456789012, region = eu-west-1, ..."). False
 * with *why (new string) when it cannot be used. (place.c) */
bool place_account_line_ok(const char *alias, const char *line, char **why);
/* Whether a [slack] response_hosts entry can ever match: a DNS name or an
 * IPv4 literal, or [IPv6], optionally with :port (1-65535) — no scheme,
 * path, user info or wildcard. (urlcheck.c) */
bool url_host_entry_ok(const char *entry);
/* True when `host` (a host name, optionally with :port) is loopback.
 * (config.c) */
bool host_is_loopback(const char *host);

#endif
