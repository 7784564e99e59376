/* The plugins' AWS calls: which credentials a call runs with, and the call.
 *
 * Read commands use the host's own credentials (the chain) unless
 * [identity] read = assume; write commands always run under the caller's
 * role, assumed with STS (RoleSessionName slashd-<user_id>, SourceIdentity =
 * the Slack user id, session tags slack_user/slack_team/slack_channel), so
 * CloudTrail shows who did what. Assumed credentials are cached per user,
 * channel and role, refreshed 5 minutes before they expire, and shared with
 * the main process so that every worker can reuse them. */

#ifndef SLASHD_AWSGLUE_H
#define SLASHD_AWSGLUE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "aws/aws.h"
#include "base/config.h"
#include "worker/hostapi.h"

#define CREDS_REFRESH_S 300 /* renew assumed credentials this long before expiry */

typedef struct aws_glue aws_glue;

/* Called when credentials were assumed for a user (to share them). */
typedef void (*awsglue_creds_fn)(void *ud, const json_t *entry);

aws_glue *awsglue_new(const config *c, awsglue_creds_fn on_creds, void *ud);
void awsglue_free(aws_glue *g);

/* Prepares a call (sets its aws hook). Each job starts from a clean record
 * of the identity it used. */
void awsglue_attach(aws_glue *g, slashd_call *call);
/* What the last attached call ran as: "none" (no AWS call), "host", or the
 * role ARN; and the session name ("" for host/none). Valid until the next
 * awsglue_attach. */
const char *awsglue_identity(const aws_glue *g);
const char *awsglue_session(const aws_glue *g);

/* Cache entry exchange with the main process: {"key","role","session",
 * "akid","secret","token","exp"}. */
void awsglue_cache_put(aws_glue *g, const json_t *entry);
/* The cache key of a caller: team, user, channel and account alias — the
 * channel too, because it is a session tag, and CloudTrail must show the
 * right one; the account because the role differs per account. */
char *awsglue_cache_key(const char *team_id, const char *user_id, const char *channel_id,
                        const char *account);

/* The host's credentials for KMS decryption of secret references. */
bool awsglue_kms_decrypt(void *ud, const char *ciphertext_b64, unsigned char **plain, size_t *len,
                         char **err);

/* In a child just forked (fanout.c): forget the parent's AWS client
 * without touching it, and share no credentials (only the parent speaks to
 * the main process). */
void awsglue_forked(aws_glue *g);

/* The underlying client (created on first use). */
aws_client *awsglue_client(aws_glue *g);
/* The source, expiry (unix s; 0: long-term) and clock correction of the
 * host credentials this worker holds (for /metrics); false when it has
 * none cached. *source is borrowed until the next AWS call. */
bool awsglue_host_status(const aws_glue *g, const char **source, long long *expires,
                         long long *skew);

#endif
