/* Interactivity: a click on a button slashd posted (the confirmation
 * prompt), from any door. Free of any transport, like admission.
 *
 * How a door calls it:
 *   1. verify the request exactly like a slash command — HTTP and the Lambda
 *      front: verify_request over the raw form body (same size, content-type
 *      and replay rules) before anything parses it; Socket Mode: the socket
 *      is the proof;
 *   2. take the payload JSON — HTTP/Lambda: the form's one field `payload`;
 *      Socket Mode: the `interactive` envelope's `payload` object, dumped;
 *   3. interact_handle(&env, payload, len, DOOR_…, &res) with the door's
 *      admission_env (env.admission) — the confirmed command is admitted
 *      through admission_confirmed, i.e. the same checks and job path as a
 *      typed command;
 *   4. answer at once: res.status with res.body (an empty 200 for Slack; on
 *      Socket Mode, ack the envelope);
 *   5. POST each res.posts[i].body (JSON) to res.posts[i].url with the door's
 *      response_url sender (the daemon's responder; the Lambda front posts
 *      itself). The URL has passed the response_url allow-list.
 *   6. interact_result_free(&res).
 *
 * Handles `block_actions` whose action is slashd's confirm or cancel button;
 * any other interaction type or action is acked (empty 200) and logged.
 * A click that is expired, tampered with, by someone other than the
 * requester, or replayed changes nothing and tells the clicker why in an
 * ephemeral message that leaves the prompt in place; a foreign click does
 * not use up the nonce. Every outcome is an audit line (env.admission->audit).
 */
#ifndef SLASHD_INTERACT_H
#define SLASHD_INTERACT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/admission.h"

#define INTERACT_PAYLOAD_MAX 65536 /* bytes of payload JSON looked at */
#define INTERACT_POSTS_MAX 2

typedef struct interact_post {
  char *url;  /* the click's response_url */
  char *body; /* JSON message */
} interact_post;

typedef struct interact_result {
  int status; /* 200, or 400 for a payload that is not a JSON object */
  char *body; /* "" for Slack */
  interact_post posts[INTERACT_POSTS_MAX];
  size_t n_posts;
  char request_id[32]; /* the confirmed job's id, or "" */
  const char *outcome; /* "ignored", "confirmed", "cancelled", "refused", "malformed" (static) */
} interact_result;

/* env->admission must carry confirm_key (and confirms, for replay memory).
 * `payload` is borrowed. */
void interact_handle(const admission_env *env, const char *payload, size_t len, admission_door door,
                     interact_result *out);
void interact_result_free(interact_result *r);

#endif
