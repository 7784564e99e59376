/* _HANDLER=worker: an SQS or SNS event whose records are job messages →
 * each job run as the daemon runs it (identity, access, an isolated child,
 * interim and final replies to the allow-listed response_url, posted before
 * the invocation returns) → for SQS, the records to retry.
 *
 * Only an infrastructure failure before the command started is retried: a
 * command that failed, crashed or ran out of time is a success whose user
 * was told; a malformed record or an unknown message version is logged and
 * dropped (retrying cannot make it readable). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "base/jobs.h"
#include "base/log.h"
#include "base/urlcheck.h"
#include "base/util.h"
#include "daemon/responder.h"
#include "lambda/event.h"
#include "lambda/lambda.h"
#include "lambda/run.h"
#include "lambda/secrets.h"

/* Jobs this warm container has run (or dropped), so that a record SQS
 * delivers twice runs once. Ids are short; a ring bounds the memory. */
#define SEEN_MAX 1024

/* Time kept back from the invocation's deadline: a job's end, its final
 * reply and the answer to Lambda must all fit before it. */
#define DEADLINE_MARGIN_MS 1500

typedef struct lworker {
  const config *cfg;
  url_policy policy;
  metrics m;
  responder *resp;
  char seen[SEEN_MAX][48];
  size_t seen_next;
  lambda_run *run;
} lworker;

static bool seen(const lworker *w, const char *id) {
  for (size_t i = 0; i < SEEN_MAX; i++)
    if (w->seen[i][0] && strcmp(w->seen[i], id) == 0)
      return true;
  return false;
}

static void remember(lworker *w, const char *id) {
  snprintf(w->seen[w->seen_next], sizeof w->seen[0], "%s", id);
  w->seen_next = (w->seen_next + 1) % SEEN_MAX;
}

static void lworker_destroy(void *ctx);

static void *lworker_init(const config *cfg, char **err) {
  /* The jobs' children load the plugins; one that cannot load is an init
   * error now, not a retried failure of every job later. */
  json_t *manifest = lambda_plugins_manifest(cfg, err);
  if (!manifest)
    return NULL;
  json_decref(manifest);
  lworker *w = xcalloc(1, sizeof *w);
  w->cfg = cfg;
  w->policy.hosts = cfg->response_hosts;
  w->policy.n_hosts = cfg->n_response_hosts;
  w->resp = responder_start(&w->policy, &w->m, NULL, NULL);
  /* Confirmation prompts of write commands are signed here and checked by
   * the front when the user clicks: both derive the key from the secret. */
  unsigned char key[CONFIRM_KEY_LEN];
  bool have_key = false;
  if (cfg->confirm_writes) {
    aws_config ac = {.region = cfg->aws_region,
                     .endpoint_url = cfg->aws_endpoint_url,
                     .connect_timeout = cfg->aws_connect_timeout,
                     .timeout = cfg->aws_timeout,
                     .max_attempts = cfg->aws_max_attempts,
                     .log = log_fields};
    aws_client *aws = aws_client_new(&ac);
    lambda_secrets ls;
    bool ok = lambda_secrets_load(cfg, aws, &ls, err);
    aws_client_free(aws);
    if (!ok)
      goto fail;
    have_key = lambda_secrets_confirm_key(&ls, key);
    lambda_secrets_free(&ls);
    if (!have_key) {
      *err = xasprintf("%s: error: [identity] confirm = write: the worker signs the confirmation "
                       "prompts, so it needs [slack] signing_secret (or SLASHD_LAMBDA_SIGNING_"
                       "SECRET) as the front does; or set confirm = none",
                       cfg->file);
      goto fail;
    }
  }
  w->run = lambda_run_new(cfg, w->resp, have_key ? key : NULL, err);
  OPENSSL_cleanse(key, sizeof key);
  if (!w->run)
    goto fail;
  return w;
fail:
  lworker_destroy(w);
  return NULL;
}

static void lworker_destroy(void *ctx) {
  lworker *w = ctx;
  if (!w)
    return;
  lambda_run_free(w->run);
  if (w->resp)
    responder_stop(w->resp, 2000);
  free(w);
}

typedef enum { REC_DONE, REC_RETRY } rec_outcome;

static void too_old(lworker *w, job *j, int64_t age_ms) {
  log_kv(SLOG_WARN, "job_too_old", KV_S("req", j->id), KV_I("age_s", age_ms / 1000),
         KV_I("max_job_age", w->cfg->lambda_max_job_age));
  if (age_ms < (int64_t)RESPONSE_URL_VALIDITY_S * 1000) {
    char *shown = job_display(j);
    char *text = xasprintf("`%s` waited %llds in the queue, longer than this host runs a job "
                           "after it was sent ([lambda] max_job_age = %d s), so it was not run. "
                           "Please send it again.",
                           shown, (long long)(age_ms / 1000), w->cfg->lambda_max_job_age);
    lambda_run_tell(w->run, j, text);
    free(text);
    free(shown);
  }
}

static rec_outcome run_record(lworker *w, const rapi_invocation *inv, const event_record *r) {
  if (!r->body) {
    log_kv(SLOG_ERROR, "bad_record", KV_S("record", r->id), KV_S("msg", r->why));
    return REC_DONE;
  }
  json_error_t jerr;
  json_t *m = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
  char *err = NULL;
  job *j = m ? job_decode(m, &err) : NULL;
  json_decref(m);
  if (!j) {
    log_kv(SLOG_ERROR, "bad_record", KV_S("record", r->id), KV_S("msg", err ? err : jerr.text));
    free(err);
    return REC_DONE;
  }
  log_context_set("req", j->id);
  int64_t age = wall_ms() - j->accepted_ms;
  if (seen(w, j->id)) {
    log_kv(SLOG_WARN, "duplicate_record", KV_S("record", r->id),
           KV_S("msg", "this job already ran in this container; not running it twice"));
    job_free(j);
    return REC_DONE;
  }
  if (age > (int64_t)w->cfg->lambda_max_job_age * 1000) {
    remember(w, j->id);
    too_old(w, j, age);
    job_free(j);
    return REC_DONE;
  }
  char id[sizeof w->seen[0]];
  snprintf(id, sizeof id, "%s", j->id);
  /* The runner owns j from here on. */
  if (lambda_run_job(w->run, j, inv->deadline_ms - DEADLINE_MARGIN_MS) == LAMBDA_RUN_NOT_STARTED)
    return REC_RETRY;
  remember(w, id);
  return REC_DONE;
}

/* Every reply handed to the responder is out (or given up) before the
 * invocation returns: Lambda may freeze the container right after. */
static void flush_replies(lworker *w, int64_t deadline_ms) {
  const struct timespec tick = {0, 5 * 1000 * 1000};
  while (responder_pending(w->resp) > 0 && wall_ms() < deadline_ms - 200)
    nanosleep(&tick, NULL);
}

static char *lworker_handle(void *ctx, const rapi_invocation *inv, const json_t *event,
                            const char **err_type, char **err) {
  lworker *w = ctx;
  event_records_kind kind;
  event_record *recs = NULL;
  size_t n = 0;
  if (!event_records_parse(event, &kind, &recs, &n, err)) {
    *err_type = "Runtime.InvalidEvent";
    return NULL;
  }
  json_t *failures = json_array();
  for (size_t i = 0; i < n; i++) {
    if (run_record(w, inv, &recs[i]) == REC_RETRY)
      json_array_append_new(failures,
                            json_pack("{s:s}", "itemIdentifier", recs[i].id ? recs[i].id : ""));
    log_context_set("req", "");
  }
  flush_replies(w, inv->deadline_ms);
  char *out = NULL;
  if (kind == EVENT_RECORDS_SQS) {
    json_t *res = json_pack("{s:O}", "batchItemFailures", failures);
    out = json_dumps(res, JSON_COMPACT);
    json_decref(res);
  } else if (json_array_size(failures) == 0) {
    out = xstrdup("{}");
  } else {
    /* SNS has no partial answer: an error makes Lambda retry the event. */
    *err_type = "Slashd.JobNotStarted";
    *err = xstrdup("a job could not be started; Lambda retries the SNS event");
  }
  json_decref(failures);
  free(recs);
  return out;
}

const lambda_handler lambda_worker = {
    .name = "worker", .init = lworker_init, .handle = lworker_handle, .destroy = lworker_destroy};
