/* The front door's logic, free of any HTTP library: a request in, a
 * response out. The HTTP thread runs only this, and this never waits on a
 * plugin, AWS or Slack: it verifies, parses, routes, checks access, queues
 * and answers. */
#ifndef SLASHD_FRONTDOOR_H
#define SLASHD_FRONTDOOR_H

#include <stdbool.h>
#include <stddef.h>

#include "base/admission.h"
#include "base/interact.h"
#include "daemon/server.h"

typedef struct frontdoor_request {
  const char *method;
  const char *path;
  const char *content_type;
  const char *timestamp;     /* X-Slack-Request-Timestamp */
  const char *signature;     /* X-Slack-Signature */
  const char *authorization; /* Authorization (Mattermost: "Token …") */
  const char *body;
  size_t body_len;
  const char *peer; /* for logs */
} frontdoor_request;

typedef struct frontdoor_response {
  int status;
  const char *content_type; /* static string */
  char *body;               /* owned; may be empty */
  const char *allow;        /* Allow header for 405, or NULL */
  char request_id[32];      /* set when a job was queued (X-Slashd-Request-Id) */
} frontdoor_response;

typedef enum {
  ROUTE_COMMAND,
  ROUTE_ACTIONS,
  ROUTE_HEALTH,
  ROUTE_METRICS,
  ROUTE_NONE
} frontdoor_route;

/* Checks what can be checked from the request line and headers alone, so a
 * bad request is refused before its body is read. Returns 0 to go on, or the
 * HTTP status to answer with (and fills *out). */
int frontdoor_precheck(server *s, const char *method, const char *path, const char *content_type,
                       long long content_length, frontdoor_route *route, frontdoor_response *out);

/* Answers a whole request. */
void frontdoor_handle(server *s, const frontdoor_request *r, frontdoor_route route,
                      frontdoor_response *out);

/* Admission with this process's handles (journal + queue, dedupe, the
 * responder's backlog, the draining flag), counted in the ack metrics.
 * Every door of the daemon (HTTP, Socket Mode) calls this after it has
 * verified the request and read its fields. Free *out with
 * admission_result_free. */
void frontdoor_admit(server *s, const admission_request *req, admission_result *out);

/* A click (Slack interactivity payload JSON, already verified by the door)
 * through base/interact with this process's handles; the follow-up
 * messages are handed to the responder here. Every door of the daemon (HTTP
 * POST [server] actions_path, Socket Mode `interactive` envelopes) calls
 * this; answer out->status/out->body at once. Free with
 * interact_result_free. */
void frontdoor_interact(server *s, const char *payload, size_t len, admission_door door,
                        interact_result *out);

/* Whether a Content-Type is a form (charset and other parameters allowed). */
bool frontdoor_is_form(const char *content_type);

#endif
