/* The responder thread: POSTs replies to response_url with libcurl's multi
 * interface (connections reused), in order per job, retrying 5xx, 429 and
 * network failures with backoff, never past Slack's 30-minute validity. */
#ifndef SLASHD_RESPONDER_H
#define SLASHD_RESPONDER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/metrics.h"
#include "base/urlcheck.h"

#define RESPONSE_URL_VALIDITY_S (30 * 60)
#define RESPONDER_MAX_ATTEMPTS 5
#define RESPONDER_MAX_HOST_CONNECTIONS 64L
/* Past this many replies waiting or in flight, the front door answers busy
 * (about 8 KiB each while queued). */
#define RESPONDER_MAX_PENDING 1024

/* The CA file to verify response_url hosts with, when libcurl's built-in one
 * is not where this system keeps it (the Lambda zip's Debian libcurl on
 * Amazon Linux). Unset: libcurl's default. */
#define RESPONDER_CA_ENV "SLASHD_CA_BUNDLE"

typedef struct responder responder;

typedef enum {
  FINAL_DELIVERED, /* Slack took it */
  FINAL_FAILED,    /* given up: refused, 4xx, retries exhausted, URL expired */
  FINAL_ABANDONED  /* not sent because the host stopped first */
} final_outcome;

/* Called on the responder thread when a job's final message is settled. */
typedef void (*responder_final_fn)(void *ud, const char *job_id, final_outcome outcome);

responder *responder_start(const url_policy *policy, metrics *m, responder_final_fn on_final,
                           void *ud);
/* Replaces the allow-list (after a reload). The policy is copied. */
void responder_set_policy(responder *r, const url_policy *policy);
/* Queues one message. `body` is the JSON text; copied. `final` and `error`
 * are told to the receiver in X-Slashd-Reply / X-Slashd-Error headers. `accepted_wall` is
 * when Slack sent the command (the URL dies 30 minutes later). */
void responder_post(responder *r, const char *job_id, const char *url, const char *body, bool final,
                    bool error, int64_t accepted_wall);
/* Messages queued or in flight. */
size_t responder_pending(responder *r);
/* Waits up to `deadline_ms` for queued messages, then stops the thread and
 * frees everything; what is left is logged as given up. */
void responder_stop(responder *r, int deadline_ms);

/* The delay before attempt `attempt` (2, 3, ...): exponential from 500 ms,
 * capped at 8 s, with up to 25% jitter. Exposed for tests. */
uint64_t responder_backoff_ms(int attempt, unsigned rnd);

#endif
