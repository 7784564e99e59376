/* Who may run what: [access] rules and the identity mapping that write
 * commands need. Checked in the front door before anything is queued, again
 * in the worker before a handler runs, and by `help`. */
#ifndef SLASHD_ACCESS_H
#define SLASHD_ACCESS_H

#include <stdbool.h>

#include "base/config.h"
#include "base/syntax.h"

typedef struct access_subject {
  const char *team_id;
  const char *user_id;
  const char *user_name;
  const char *channel_id;
} access_subject;

typedef enum {
  ACCESS_OK = 0,
  ACCESS_DENIED, /* an [access] rule says no */
  ACCESS_NO_ROLE /* a write command, and no role is mapped to the user */
} access_result;

/* Checks rules for plugin.command at `level` (SLASHD_READ/WRITE). On refusal
 * *msg (if not NULL) gets a sentence for the user (plain text). */
access_result access_check(const config *c, const access_subject *who, const char *plugin,
                           const char *command, int level, char **msg);

/* True when identity mode can give this user a role (write commands). */
bool access_has_identity(const config *c, const access_subject *who);

#endif
