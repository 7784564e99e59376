/* Who a Slack user is in AWS: the role their write commands run under.
 *
 *   map       [identity.users] <user_id> = <role ARN>
 *   template  role_template with {user_id}, {user_name}, {team_id}
 *   iam-user  the original bot's way: the Slack user name is an IAM user
 *             carrying the inline policy `required_policy`; the role
 *             `role_name` in that user's account is assumed (needs AWS
 *             calls, so it is resolved in the worker)
 *   none      nobody: write commands are refused
 */
#ifndef SLASHD_IDENTITY_H
#define SLASHD_IDENTITY_H

#include <stdbool.h>

#include "base/config.h"

typedef struct identity_who {
  const char *team_id;
  const char *user_id;
  const char *user_name;
  const char *channel_id;
} identity_who;

/* Keeps what IAM allows in names ([A-Za-z0-9+=,.@_-]); anything else becomes
 * '-'. Cut to `max` characters. New string. */
char *identity_sanitize(const char *s, size_t max);

/* "slashd-<user_id>", sanitized, at most 64 characters (RoleSessionName). */
char *identity_session_name(const char *user_id);

/* The role for map and template modes (new string), or NULL with *err for
 * the user: no mapping, mode none, or iam-user (resolved elsewhere). */
char *identity_role_static(const config *c, const identity_who *who, char **err);

/* The role for account alias `account` ([accounts]; NULL/"": none given),
 * from `base_role` (the user's mapped or templated role, may be NULL when
 * the account has its own role_template). {account} in a template becomes
 * the account id; the result must be a role in that account. New string, or
 * NULL with *err. */
char *identity_role_in(const config *c, const identity_who *who, const char *account,
                       const char *base_role, char **err);

#endif
