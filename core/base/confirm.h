/* Confirmation of write commands: the signed token a prompt's buttons carry,
 * the short code for clients without buttons, the prompt message, and the
 * memory of used nonces.
 *
 * The token is stateless, so any process holding the host secret can check
 * it (the daemon, the Lambda front): "v1." base64url(JSON) "." base64url(MAC),
 * the MAC an HMAC-SHA256 under a key derived from the host's signing secret
 * (confirm_key_derive), never the secret itself. The JSON carries team, user,
 * channel, command text, region, account, expiry, nonce and what the prompt
 * said will happen. Only the main process signs: worker processes run
 * plugins and never hold the key.
 *
 * Replays: a nonce is accepted once. The daemon keeps used nonces in memory
 * until they expire (confirm_store); a Lambda container keeps its own, so
 * across containers only the expiry bounds a replay (and the job's duplicate
 * suppression where it is shared). The short code (`/aws confirm CODE`) is
 * derived from the nonce and kept with its token in the same store.
 */
#ifndef SLASHD_CONFIRM_H
#define SLASHD_CONFIRM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define CONFIRM_KEY_LEN 32
#define CONFIRM_VALUE_MAX 2000 /* Slack: a button's value */
#define CONFIRM_CODE_LEN 8
#define CONFIRM_STORE_MAX 4096 /* prompts pending at once */

/* The action ids of the prompt's buttons. */
#define CONFIRM_ACTION_YES "slashd_confirm"
#define CONFIRM_ACTION_NO "slashd_cancel"

typedef struct confirm_token {
  char *team_id, *user_id, *channel_id;
  char *user_name; /* for role templates and iam-user mode */
  char *text;      /* the command text as typed (flags included) */
  char *region;    /* "" when none */
  char *account;   /* "" when none */
  char *doing;     /* "Stopping i-0abc (web-1)": shown when confirmed */
  int64_t expires; /* seconds since the epoch */
  char nonce[33];  /* 32 hex digits */
} confirm_token;

void confirm_token_free(confirm_token *t);

/* The token key from the host secret (a domain-separated HMAC). */
void confirm_key_derive(const void *secret, size_t secret_len, unsigned char key[CONFIRM_KEY_LEN]);

/* A fresh random nonce into t->nonce. False when the RNG fails. */
bool confirm_new_nonce(confirm_token *t);

/* The signed value (new string), or NULL when it would not fit in a
 * button's value (CONFIRM_VALUE_MAX). */
char *confirm_sign(const unsigned char key[CONFIRM_KEY_LEN], const confirm_token *t);

typedef enum {
  CONFIRM_OK = 0,
  CONFIRM_TAMPERED, /* malformed, or the MAC does not match */
  CONFIRM_EXPIRED,
  CONFIRM_FOREIGN, /* someone other than the requester */
  CONFIRM_REPLAYED /* the nonce was used already */
} confirm_check;

/* Checks the MAC (constant time) and the expiry against `now`, and parses
 * into *out (freed by the caller on CONFIRM_OK and CONFIRM_EXPIRED). */
confirm_check confirm_verify(const unsigned char key[CONFIRM_KEY_LEN], const char *value,
                             int64_t now, confirm_token *out);

/* A sentence for the clicker about a refused check. */
const char *confirm_check_text(confirm_check c);
const char *confirm_check_name(confirm_check c);

/* The short code for `/aws confirm CODE` (CONFIRM_CODE_LEN letters and
 * digits, no look-alikes), derived from the nonce under the key. */
void confirm_code(const unsigned char key[CONFIRM_KEY_LEN], const char *nonce,
                  char out[CONFIRM_CODE_LEN + 1]);

/* ---- used nonces and pending codes (in one process's memory) ---------- */

typedef struct confirm_store {
  pthread_mutex_t mu;
  struct confirm_entry *e;
  size_t n, cap;
} confirm_store;

void confirm_store_init(confirm_store *s);
void confirm_store_destroy(confirm_store *s);
/* Remembers a prompt's code and token until `expires`. False when full. */
bool confirm_store_add(confirm_store *s, const char *code, const char *token, int64_t expires,
                       int64_t now);
/* The token of a pending code (new string), or NULL. */
char *confirm_store_token(confirm_store *s, const char *code, int64_t now);
/* Marks a nonce used; false when it was used before. */
bool confirm_store_use(confirm_store *s, const char *nonce, int64_t expires, int64_t now);

/* One audit line per confirmation step: event "confirm_prompt",
 * "confirm_ok", "confirm_cancel" or "confirm_refused" (detail: why).
 * `user_id` asked for the command, `actor_id` clicked (or typed the code).
 * Strings may be NULL. */
typedef struct audit_confirm_line {
  const char *event;
  const char *request_id;
  const char *team_id, *user_id, *actor_id, *channel_id;
  const char *text, *region, *account;
  const char *detail;
} audit_confirm_line;

/* ---- the prompt --------------------------------------------------------- */

typedef struct confirm_prompt {
  const char *slash; /* "/aws" */
  const char *what;  /* mrkdwn, already escaped: what will happen, with targets and place */
  const char *verb;  /* button label, e.g. "Stop" (plain text) */
  const char *token; /* the signed value */
  const char *code;  /* the short code */
  int seconds;       /* how long it stays valid */
  const char *request_id;
} confirm_prompt;

/* The ephemeral prompt message: a section saying what will happen, a danger
 * button with Slack's confirm dialog and a Cancel button, a context line
 * with the expiry and the code; `text` says the same for clients without
 * buttons. A new reference. */
json_t *confirm_prompt_json(const confirm_prompt *p);

/* {"response_type":"ephemeral","text":…,"replace_original":true|false} with
 * mrkdwn `text` (already escaped). A new reference. */
json_t *confirm_message_json(const char *text, bool replace_original);

#endif
