/* _HANDLER=front: Slack's request (as an API Gateway / Function URL event)
 * → verification and admission (the daemon's own code) → the job sent to
 * SQS or SNS → the ack. */
#include <stdlib.h>

#include "base/log.h"
#include "base/util.h"
#include "lambda/event.h"
#include "lambda/lambda.h"

typedef struct front {
  const config *cfg;
} front;

static void *front_init(const config *cfg, char **err) {
  if (!cfg->lambda_queue_url && !cfg->lambda_topic_arn) {
    *err = xasprintf("%s: error: [lambda] a front needs queue_url (SQS) or topic_arn (SNS) to "
                     "send jobs to (or SLASHD_LAMBDA_QUEUE_URL/SLASHD_LAMBDA_TOPIC_ARN)",
                     cfg->file);
    return NULL;
  }
  if (cfg->lambda_queue_url && cfg->lambda_topic_arn) {
    *err = xasprintf("%s: error: [lambda] queue_url and topic_arn are both set (the ini or "
                     "SLASHD_LAMBDA_QUEUE_URL/SLASHD_LAMBDA_TOPIC_ARN): set one",
                     cfg->file);
    return NULL;
  }
  front *f = xcalloc(1, sizeof *f);
  f->cfg = cfg;
  return f;
}

static char *front_handle(void *ctx, const rapi_invocation *inv, const json_t *event,
                          const char **err_type, char **err) {
  (void)ctx;
  (void)inv;
  event_http h;
  if (!event_http_parse(event, &h, err)) {
    *err_type = "Runtime.InvalidEvent";
    return NULL;
  }
  char *out = event_http_response(503, "text/plain; charset=utf-8", NULL,
                                  "this front is not wired to admission yet\n");
  event_http_free(&h);
  return out;
}

static void front_destroy(void *ctx) {
  free(ctx);
}

const lambda_handler lambda_front = {
    .name = "front", .init = front_init, .handle = front_handle, .destroy = front_destroy};
