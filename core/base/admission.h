/* Admission: the one decision every front door makes about a verified
 * request — answer it at once (wrong command, refused response_url,
 * draining, usage, unknown command, access refusal, busy, duplicate) or
 * accept it as a job and answer "… is running… (request ID)".
 *
 * Free of any transport: the HTTP door (daemon/frontdoor.c) calls it today,
 * Socket Mode and the Lambda front call the same functions. A door
 *   1. verifies the request (base/verify.h: verify_request),
 *   2. builds an admission_request (admission_request_from_form / _json),
 *   3. calls admission_decide with its admission_env,
 *   4. sends out->body (JSON when out->json) with out->status.
 *
 *   admission_request req;
 *   admission_request_from_form(&form, DOOR_HTTP, &req);
 *   admission_result res;
 *   admission_decide(&env, &req, &res);
 *   answer(res.status, res.json, res.body);
 *   admission_result_free(&res);
 */
#ifndef SLASHD_ADMISSION_H
#define SLASHD_ADMISSION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "base/caps.h"
#include "base/config.h"
#include "base/confirm.h"
#include "base/form.h"
#include "base/ipc.h"
#include "base/jobs.h"
#include "base/metrics.h"
#include "base/route.h"
#include "base/urlcheck.h"

/* Which way a request came in (for logs; the decision is the same). */
typedef enum { DOOR_HTTP, DOOR_SOCKET, DOOR_LAMBDA, DOOR_CLI } admission_door;

const char *admission_door_name(admission_door d);

/* The fields of one slash command, borrowed from the form or JSON object
 * they were read from. Absent fields are "" (never NULL). */
typedef struct admission_request {
  admission_door door;
  const char *team_id;
  const char *user_id;
  const char *user_name;
  const char *channel_id;
  const char *channel_name;
  const char *command; /* "/aws" */
  const char *text;
  const char *response_url;
  const char *enterprise_id;
  const char *api_app_id;
  const char *team_domain;
  const char *trigger_id;
  bool ssl_check; /* Slack's ssl_check=1 probe: answered with an empty 200 */
  /* Set only by admission_confirmed: the user already confirmed. */
  bool confirmed;
  bool replace_original; /* the job's posts replace the prompt */
  const char *doing;     /* "Stopping i-0abc (web-1)" for the ack, or NULL */
  const char *actor_id;  /* who confirmed */
  const char *preface;   /* mrkdwn the job posts first (in place of the prompt), or NULL */
  const char *malformed; /* the first missing or malformed field (static), or NULL */
} admission_request;

/* Reads the fields from a parsed form and checks them: ids are short
 * [A-Za-z0-9_.-] (user_id required), text fields clean UTF-8 without NUL or
 * control characters, response_url present. A failed check sets
 * out->malformed, which admission_decide answers with 400. The form must
 * outlive *out. */
void admission_request_from_form(const form *f, admission_door door, admission_request *out);
/* The same from a JSON object of the same field names (Socket Mode's
 * slash_commands payload). The object must outlive *out. */
void admission_request_from_json(const json_t *obj, admission_door door, admission_request *out);
/* The check of one field by name (value of `len` bytes); false when it is
 * malformed. Every door's fields go through this. */
bool admission_field_ok(const char *name, const char *value, size_t len);

/* The text a command may carry for certain (whatever its quoting): the
 * message to a worker (base/ipc.h: IPC_MAX) holds the text and its words,
 * JSON-escaped, and room for the rest. Longer commands may still fit; one
 * that does not is refused with a message saying so. */
#define ADMISSION_TEXT_MAX ((IPC_MAX - JOB_WIRE_RESERVE) / 4 - 1024)

#define ADMISSION_STARTS_NOW ((size_t)-1)

typedef enum {
  ENQUEUE_OK,         /* the job is recorded and queued; the callee owns it now */
  ENQUEUE_UNRECORDED, /* it could not be recorded safely (journal write) */
  ENQUEUE_FULL        /* the queue is full; *depth says how many wait */
} enqueue_status;

/* What admission needs from the process it runs in, as narrow handles.
 * Everything borrowed for the length of one admission_decide call. */
typedef struct admission_env {
  const config *cfg;
  const url_policy *policy;    /* response_url allow-list */
  const route_table *routes;   /* the current routing table (may be NULL: no plugin yet) */
  dedupe *dd;                  /* duplicate suppression, shared by all doors */
  const atomic_bool *draining; /* NULL: never draining */
  /* Replies waiting to go out (NULL: none); admission refuses new jobs when
   * `max_backlog` or more wait. */
  size_t (*backlog)(void *ud);
  size_t max_backlog;
  /* A new unique request id into out (NUL-terminated). */
  void (*new_id)(void *ud, char out[32]);
  /* Hands the accepted job on (daemon: journal + queue; Lambda: a queue
   * service). On ENQUEUE_OK it owns j; otherwise j stays the caller's and
   * nothing of it may remain recorded. */
  enqueue_status (*enqueue)(void *ud, job *j, size_t *depth);
  /* On ENQUEUE_OK, *depth is how many jobs are ahead of it with no free
   * worker left for it (the ack then says "queued (N ahead)"), or stays
   * ADMISSION_STARTS_NOW when a worker is free for it. */
  void *ud;
  int64_t now_ms; /* wall clock, ms since the epoch (0: read the clock) */
  /* Running caps (NULL: none). A job counts from its acceptance until the
   * process calls caps_end(caps, id) when it ends. */
  caps *caps;
  int max_per_user, max_per_plugin; /* caps_effective() values */
  /* Confirmation (base/confirm.h): the token key, and the store of used
   * nonces and pending codes (NULL: `/aws confirm CODE` is not available
   * here, and replays are bounded by the expiry only). */
  const unsigned char *confirm_key; /* CONFIRM_KEY_LEN bytes, or NULL: nothing is confirmed */
  confirm_store *confirms;
  /* One audit line (NULL: to the log). */
  void (*audit)(void *ud, const audit_confirm_line *l);
} admission_env;

typedef struct admission_result {
  int status;          /* 200, or 400 for a malformed request */
  ack_kind kind;       /* which answer (for metrics); meaningful when status is 200 */
  bool json;           /* body is a Slack message (application/json), else plain text */
  char *body;          /* owned */
  char request_id[32]; /* the job's id when kind is ACK_QUEUED, else "" */
} admission_result;

/* Decides about one request. Never blocks on a plugin, AWS or Slack.
 * A command that needs confirmation ([identity] confirm = write) becomes a
 * "prepare" job (the describe step and the prompt); `confirm CODE` is
 * answered here (the code's command is admitted as confirmed). */
void admission_decide(const admission_env *env, const admission_request *req,
                      admission_result *out);

/* Admits a confirmed token's command (the token already checked): its text
 * again through every check (access may have changed since the prompt),
 * replies to `response_url`, replacing the prompt when `replace`. */
void admission_confirmed(const admission_env *env, const confirm_token *t, const char *response_url,
                         const char *actor_id, bool replace, admission_door door,
                         admission_result *out);

/* A confirmation refused or done: the audit line, through env->audit. */
void admission_audit(const admission_env *env, const char *event, const confirm_token *t,
                     const char *actor_id, const char *request_id, const char *detail);
void admission_result_free(admission_result *r);

#endif
