/* _HANDLER=front: Slack's request (as an API Gateway / Function URL event)
 * → the daemon's own verification (verify_request) and admission
 * (admission_decide) → the accepted job sent to SQS or SNS → the ack.
 *
 * No routing on the path (the Function URL or the API stage decides what
 * reaches this function): a form with `command` is a slash command, one
 * with `payload` an interactivity request, anything else is 400. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "aws/aws.h"
#include "base/admission.h"
#include "base/confirm.h"
#include "base/interact.h"
#include "base/form.h"
#include "base/log.h"
#include "base/secret.h"
#include "base/util.h"
#include "base/verify.h"
#include "daemon/responder.h"
#include "lambda/event.h"
#include "lambda/lambda.h"
#include "lambda/secrets.h"

static const char *const CT_JSON = "application/json; charset=utf-8";
static const char *const CT_TEXT = "text/plain; charset=utf-8";

typedef struct front {
  const config *cfg;
  aws_client *aws; /* SQS/SNS (and KMS for secrets), with timeouts that fit an ack */
  unsigned char *secret, *token;
  size_t secret_len, token_len;
  verify_key *key;
  url_policy policy;
  route_table *routes;
  dedupe dd;
  char boot[8]; /* request ids: <boot>-<n>, as the daemon makes them */
  unsigned long long seq;
  char req_id[32]; /* this invocation's id: every log line carries it */
  bool warned_mapping;
  /* Confirmation of write commands: a key derived from the secret (the
   * same in every container), and this container's memory of used nonces. */
  unsigned char confirm_key[CONFIRM_KEY_LEN];
  confirm_store confirms;
  /* An interactivity click's follow-ups (the updated prompt) go out through
   * the daemon's responder before the invocation returns. */
  metrics m;
  responder *resp;
} front;

/* ---- init ------------------------------------------------------------- */

static bool load_secrets(front *f, char **err) {
  lambda_secrets ls;
  if (!lambda_secrets_load(f->cfg, f->aws, &ls, err))
    return false;
  f->secret = ls.secret;
  f->secret_len = ls.secret_len;
  f->token = ls.token;
  f->token_len = ls.token_len;
  if (!lambda_secrets_confirm_key(&ls, f->confirm_key)) {
    *err = xasprintf("%s: error: [slack] a Lambda front needs signing_secret (or, for the original "
                     "mapping-template setup, verification_token): it has no loopback development "
                     "mode",
                     f->cfg->file);
    return false;
  }
  if (f->secret)
    f->key = verify_key_new(f->secret, f->secret_len);
  return true;
}

/* The routing table the ack is decided on: the plugins' own command tables
 * (loaded once, as a worker would, then unloaded: the front runs nothing). */
static bool load_routes(front *f, char **err) {
  json_t *manifest = lambda_plugins_manifest(f->cfg, err);
  if (!manifest)
    return false;
  f->routes = route_table_from_json(manifest, err);
  json_decref(manifest);
  return f->routes != NULL;
}

static void front_destroy(void *ctx);

static void *front_init(const config *cfg, char **err) {
  if (!cfg->lambda_queue_url == !cfg->lambda_topic_arn) {
    *err = xasprintf("%s: error: [lambda] a front sends jobs to exactly one of queue_url (SQS) or "
                     "topic_arn (SNS), from the ini or SLASHD_LAMBDA_QUEUE_URL / "
                     "SLASHD_LAMBDA_TOPIC_ARN; %s",
                     cfg->file, cfg->lambda_queue_url ? "both are set" : "neither is set");
    return NULL;
  }
  front *f = xcalloc(1, sizeof *f);
  f->cfg = cfg;
  /* Slack gives up after 3 s: a send that cannot finish well within that is
   * reported as not queued instead. */
  aws_config ac = {.region = cfg->aws_region,
                   .endpoint_url = cfg->aws_endpoint_url,
                   .connect_timeout = 1,
                   .timeout = 1,
                   .max_attempts = 2,
                   .log = log_fields};
  f->aws = aws_client_new(&ac);
  f->policy.hosts = cfg->response_hosts;
  f->policy.n_hosts = cfg->n_response_hosts;
  dedupe_init(&f->dd, cfg->dedupe_seconds);
  confirm_store_init(&f->confirms);
  f->resp = responder_start(&f->policy, &f->m, NULL, NULL);
  unsigned char rnd[4] = {0};
  if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
    memset(rnd, 0, sizeof rnd);
  snprintf(f->boot, sizeof f->boot, "%02x%02x%02x%01x", rnd[0], rnd[1], rnd[2], rnd[3] & 0xf);
  if (!load_secrets(f, err) || !load_routes(f, err)) {
    front_destroy(f);
    return NULL;
  }
  return f;
}

static void front_destroy(void *ctx) {
  front *f = ctx;
  if (!f)
    return;
  if (f->resp)
    responder_stop(f->resp, 2000);
  route_table_unref(f->routes);
  confirm_store_destroy(&f->confirms);
  dedupe_destroy(&f->dd);
  verify_key_free(f->key);
  secret_free(f->secret, f->secret_len);
  secret_free(f->token, f->token_len);
  aws_client_free(f->aws);
  free(f);
}

/* ---- admission's handles ------------------------------------------------ */

static void env_new_id(void *ud, char out[32]) {
  front *f = ud;
  memcpy(out, f->req_id, 32);
}

/* The job message, to the one queue or topic; SigV4 by the AWS client. */
static enqueue_status env_enqueue(void *ud, job *j, size_t *depth) {
  front *f = ud;
  (void)depth;
  json_t *m = job_encode(j);
  char *body = m ? json_dumps(m, JSON_COMPACT) : NULL;
  json_decref(m);
  bool sqs = f->cfg->lambda_queue_url != NULL;
  json_t *params = sqs ? json_pack("{s:s, s:s}", "QueueUrl", f->cfg->lambda_queue_url,
                                   "MessageBody", body ? body : "")
                       : json_pack("{s:s, s:s}", "TopicArn", f->cfg->lambda_topic_arn, "Message",
                                   body ? body : "");
  json_t *out = NULL;
  char *err = NULL;
  aws_status st = body && params ? aws_call(f->aws, NULL, sqs ? "sqs" : "sns",
                                            sqs ? "SendMessage" : "Publish", params, &out, &err)
                                 : AWS_ERR_UNSUPPORTED;
  free(body);
  json_decref(params);
  if (st != AWS_OK) {
    log_kv(SLOG_ERROR, "not_queued", KV_S("to", sqs ? "sqs" : "sns"),
           KV_S("status", aws_status_name(st)), KV_S("msg", err ? err : "cannot encode the job"));
    free(err);
    return ENQUEUE_UNRECORDED;
  }
  const json_t *res = json_object_get(out, sqs ? "SendMessageResult" : "PublishResult");
  log_kv(SLOG_INFO, "queued", KV_S("to", sqs ? "sqs" : "sns"),
         KV_S("message_id", json_string_value(json_object_get(res, "MessageId"))));
  json_decref(out);
  /* Sent is as far as this container follows the job: duplicates are
   * refused within [server] dedupe_seconds of acceptance, no longer. */
  dedupe_end(&f->dd, j->dedupe_key);
  job_free(j);
  return ENQUEUE_OK;
}

/* ---- one request ---------------------------------------------------------- */

typedef struct answer {
  int status;
  const char *ct;
  const char *allow;
  char *body;
} answer;

static void say(answer *a, int status, const char *ct, const char *body) {
  a->status = status;
  a->ct = ct;
  free(a->body);
  a->body = xstrdup(body);
}

/* 405/415/413: what the request's method, type and size settle alone. */
static bool precheck(const front *f, const event_http *h, answer *a) {
  if (h->kind != EVENT_MAPPING_TEMPLATE) {
    if (!str_eq(h->method, "POST")) {
      say(a, 405, CT_TEXT, "method not allowed: POST the slash command here\n");
      a->allow = "POST";
      return false;
    }
    if (!form_content_type_ok(h->content_type)) {
      say(a, 415, CT_TEXT,
          "unsupported content type: expected application/x-www-form-urlencoded\n");
      return false;
    }
  }
  if (h->body_len > (size_t)f->cfg->max_body) {
    say(a, 413, CT_TEXT, "request body too large\n");
    return false;
  }
  return true;
}

static admission_env make_env(front *f) {
  return (admission_env){.cfg = f->cfg,
                         .policy = &f->policy,
                         .routes = f->routes,
                         .dd = &f->dd,
                         .new_id = env_new_id,
                         .enqueue = env_enqueue,
                         .ud = f,
                         .confirm_key = f->confirm_key,
                         .confirms = &f->confirms};
}

static void admit(front *f, const form *fm, answer *a) {
  admission_request req;
  admission_request_from_form(fm, DOOR_LAMBDA, &req);
  admission_env env = make_env(f);
  admission_result res;
  admission_decide(&env, &req, &res);
  say(a, res.status, res.json ? CT_JSON : CT_TEXT, res.body);
  admission_result_free(&res);
}

/* A click: the daemon's interactivity handler; its follow-ups (the updated
 * prompt) are posted before the invocation returns, as Lambda may freeze
 * the container right after. */
static void interact(front *f, const form_field *payload, int64_t deadline_ms, answer *a) {
  if (!utf8_is_clean(payload->value, payload->value_len)) {
    say(a, 400, CT_TEXT, "bad request: field payload is missing or malformed\n");
    return;
  }
  admission_env env = make_env(f);
  interact_result res;
  interact_handle(&env, payload->value, payload->value_len, DOOR_LAMBDA, &res);
  for (size_t i = 0; i < res.n_posts; i++)
    responder_post(f->resp, res.request_id[0] ? res.request_id : f->req_id, res.posts[i].url,
                   res.posts[i].body, false, false, wall_s());
  const struct timespec tick = {0, 2 * 1000 * 1000};
  while (responder_pending(f->resp) > 0 && wall_ms() < deadline_ms - 200)
    nanosleep(&tick, NULL);
  log_kv(SLOG_INFO, "interaction", KV_S("outcome", res.outcome));
  say(a, res.status, CT_TEXT, res.body);
  interact_result_free(&res);
}

static void handle_form(front *f, const event_http *h, int64_t deadline_ms, answer *a) {
  verify_inputs in = {.secret = f->secret,
                      .secret_len = f->secret_len,
                      .key = f->key,
                      .token = f->token,
                      .token_len = f->token_len,
                      .timestamp = h->timestamp,
                      .signature = h->signature,
                      .authorization = h->authorization,
                      .body = h->body,
                      .body_len = h->body_len,
                      .now = wall_s()};
  verify_parsed vp;
  verify_result v = verify_request(&in, &vp);
  form own = {0};
  char *bad = NULL;
  if (v != VERIFY_OK) {
    log_kv(SLOG_WARN, "verify_failed", KV_S("reason", verify_reason(v)),
           KV_U("bytes", h->body_len));
    say(a, 401, CT_TEXT, "unauthorized\n");
    goto out;
  }
  form_err fe = vp.parsed ? vp.err : form_parse(h->body, h->body_len, &own, &bad);
  const form *fm = vp.parsed ? &vp.form : &own;
  if (fe != FORM_OK) {
    log_kv(SLOG_WARN, "bad_form", KV_S("msg", form_strerror(fe)));
    say(a, 400, CT_TEXT, "bad request: malformed form body\n");
  } else if (form_get(fm, "command") || form_get(fm, "ssl_check")) {
    admit(f, fm, a);
  } else if (form_field_get(fm, "payload")) {
    interact(f, form_field_get(fm, "payload"), deadline_ms, a);
  } else {
    say(a, 400, CT_TEXT, "bad request: neither a slash command nor an interactivity payload\n");
  }
out:
  free(bad);
  form_free(&own);
  verify_parsed_free(&vp);
}

/* The original design's mapping template answered with the Slack message
 * itself (API Gateway sent the function's result as the body). */
static char *mapping_result(const answer *a, const char **err_type, char **err) {
  if (a->status == 401) {
    *err_type = "Unauthorized";
    *err = xstrdup("Unauthorized: the request's verification_token did not verify");
    return NULL;
  }
  if (a->ct == CT_JSON)
    return xstrdup(a->body);
  json_t *j = json_pack("{s:s, s:s}", "response_type", "ephemeral", "text", a->body);
  char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  return s ? s : xstrdup("{}");
}

static char *front_handle(void *ctx, const rapi_invocation *inv, const json_t *event,
                          const char **err_type, char **err) {
  front *f = ctx;
  snprintf(f->req_id, sizeof f->req_id, "%s-%llu", f->boot, ++f->seq);
  log_context_set("req", f->req_id);
  event_http h;
  if (!event_http_parse(event, &h, err)) {
    *err_type = "Runtime.InvalidEvent";
    return NULL;
  }
  if (h.kind == EVENT_MAPPING_TEMPLATE && !f->warned_mapping) {
    f->warned_mapping = true;
    log_kv(SLOG_WARN, "mapping_template",
           KV_S("msg", f->secret
                           ? "this front gets {\"body\": form} events (an API Gateway mapping "
                             "template): they carry no headers, so no Slack signature, and with "
                             "[slack] signing_secret set only a signature will do: they are "
                             "refused. Use a Function URL or a proxy integration."
                           : "this front gets {\"body\": form} events (an API Gateway mapping "
                             "template): they carry no headers, so Slack's signature cannot be "
                             "checked, only the legacy verification_token. Use a Function URL or "
                             "a proxy integration."));
  }
  answer a = {0};
  if (precheck(f, &h, &a))
    handle_form(f, &h, inv->deadline_ms, &a);
  char *out;
  if (h.kind == EVENT_MAPPING_TEMPLATE)
    out = mapping_result(&a, err_type, err);
  else
    out = event_http_response(a.status, a.ct, a.allow, a.body);
  log_kv(SLOG_INFO, "answered", KV_I("status", a.status));
  free(a.body);
  event_http_free(&h);
  return out;
}

const lambda_handler lambda_front = {
    .name = "front", .init = front_init, .handle = front_handle, .destroy = front_destroy};
