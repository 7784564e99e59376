/* Where a command runs: the AWS region and account the user asked for with
 * `--region eu-west-1` / `-r eu-west-1` / `--region=eu-west-1` and
 * `--account ALIAS` (an en or em dash, as phones type for "--", counts too).
 *
 * The flags are taken out of the words before routing, so plugins never see
 * them, and checked here, before a region can reach any host name: a region
 * must look like an AWS region (us-east-1, us-gov-west-1, ...) and, when
 * [aws] regions is set, be on that list. `--region all` (read commands only)
 * runs the command once per region of [aws] regions. Accounts are aliases
 * from [accounts]; raw account ids and ARNs are not accepted from chat:
 *
 *   [accounts]
 *   prod    = 123456789012
 *   staging = 210987654321, region = eu-west-1, role_template = arn:aws:iam::{account}:role/ops
 */
#ifndef SLASHD_PLACE_H
#define SLASHD_PLACE_H

#include <stdbool.h>

#include "base/config.h"
#include "base/syntax.h"

#define PLACE_ALL "all"

typedef struct place {
  char *region;  /* NULL: the host's default; "all" for --region all */
  char *account; /* an alias of [accounts], or NULL */
} place;

/* One account of [accounts]. Strings are new (free with place_account_free). */
typedef struct place_account {
  char *alias;
  char *id;            /* 12 digits */
  char *region;        /* its default region, or NULL */
  char *role_template; /* its own role template, or NULL */
} place_account;

/* Removes the place flags from words[0..*argc) (in place, freeing the words
 * taken) and fills *p. False with *err (a sentence for the user, plain text)
 * on a malformed, unknown or refused value. */
bool place_take(const config *c, int *argc, char **words, place *p, char **err);
void place_free(place *p);
/* --region all */
bool place_fan_out(const place *p);

/* The account `alias` of [accounts]; false (with *err when err != NULL)
 * when there is no such alias or its line is malformed. */
bool place_account_get(const config *c, const char *alias, place_account *out, char **err);
void place_account_free(place_account *a);

/* The region a job runs in: the flag, else the account's default, else the
 * host's [aws] region (may be NULL: the client's own default). Borrowed. */
const char *place_region(const config *c, const place *p, const place_account *acct);

/* "eu-west-1 (prod)", "eu-west-1", or "" when nothing is known. New string. */
char *place_label(const char *region, const char *account);

#endif
