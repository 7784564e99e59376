#include "lambda/lambda.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "daemon/responder.h"
#include "base/util.h"
#include "worker/hostapi.h"
#include "worker/registry.h"

/* What the container was given: the environment Lambda sets. */
typedef struct lambda_env {
  const char *api;       /* AWS_LAMBDA_RUNTIME_API */
  const char *handler;   /* _HANDLER */
  const char *task_root; /* LAMBDA_TASK_ROOT, else the current directory */
  char *config_path;     /* SLASHD_CONFIG, else <task root>/slashd.ini */
} lambda_env;

static void env_read(lambda_env *e) {
  e->api = getenv("AWS_LAMBDA_RUNTIME_API");
  e->handler = getenv("_HANDLER");
  e->task_root = getenv("LAMBDA_TASK_ROOT");
  if (!e->task_root || !*e->task_root)
    e->task_root = ".";
  const char *cfg = getenv("SLASHD_CONFIG");
  e->config_path = cfg && *cfg ? xstrdup(cfg) : xasprintf("%s/slashd.ini", e->task_root);
}

/* The zip carries Debian's libcurl and OpenSSL, whose built-in CA file is
 * Debian's path; Amazon Linux keeps its bundle elsewhere. Point the AWS
 * client (AWS_CA_BUNDLE) and the responder (SLASHD_CA_BUNDLE) at the one
 * this system has, unless the function's environment chose one. */
static void find_ca_bundle(void) {
  static const char *const candidates[] = {
      "/etc/ssl/certs/ca-certificates.crt", /* Debian, Ubuntu */
      "/etc/pki/tls/certs/ca-bundle.crt",   /* Amazon Linux, Fedora, RHEL */
      "/etc/ssl/cert.pem"};
  for (size_t i = 0; i < ARRAY_LEN(candidates); i++) {
    if (access(candidates[i], R_OK) != 0)
      continue;
    setenv("AWS_CA_BUNDLE", candidates[i], 0);
    setenv(RESPONDER_CA_ENV, candidates[i], 0);
    return;
  }
}

/* The task root is read-only on Lambda, and relative paths in the ini
 * ([plugins] dir) are meant relative to it; only /tmp is writable. */
static bool env_apply(const lambda_env *e, char **err) {
  if (chdir(e->task_root) != 0) {
    *err = xasprintf("cannot enter LAMBDA_TASK_ROOT %s: %s", e->task_root, strerror(errno));
    return false;
  }
  if (!getenv("TMPDIR"))
    setenv("TMPDIR", "/tmp", 1);
  find_ca_bundle();
  return true;
}

/* Every diagnostic as check-config prints it ("FILE:LINE: level: message"). */
static char *diag_text(const config *c) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f)
    return xstrdup("cannot format the configuration's problems");
  config_print_diags(c, f);
  fclose(f);
  while (len && text[len - 1] == '\n')
    text[--len] = '\0';
  return text;
}

/* Where the front sends jobs, and the secret's KMS ciphertext, are known
 * only once the stack is deployed, so the function's environment may supply
 * them when the ini does not. The secret stays a reference (env:, file: or
 * kms:), as in the ini. False with *err when it is not one. */
static bool env_lambda_keys(config *c, char **err) {
  const char *q = getenv("SLASHD_LAMBDA_QUEUE_URL");
  const char *t = getenv("SLASHD_LAMBDA_TOPIC_ARN");
  const char *s = getenv("SLASHD_LAMBDA_SIGNING_SECRET");
  if (!c->lambda_queue_url && q && *q)
    c->lambda_queue_url = xstrdup(q);
  if (!c->lambda_topic_arn && t && *t)
    c->lambda_topic_arn = xstrdup(t);
  if (!c->signing_secret_ref && s && *s) {
    if (!(str_starts(s, "env:") || str_starts(s, "file:") || str_starts(s, "kms:")) ||
        !strchr(s, ':')[1]) {
      *err = xstrdup("SLASHD_LAMBDA_SIGNING_SECRET must be a reference (kms:BASE64, env:NAME or "
                     "file:/path), never the secret itself");
      return false;
    }
    c->signing_secret_ref = xstrdup(s);
  }
  return true;
}

typedef struct diag_ctx {
  sbuf errors;
  const char *file;
} diag_ctx;

static void on_diag(void *ud, const char *plugin, int line, bool error, const char *msg) {
  diag_ctx *d = ud;
  log_kv(error ? SLOG_ERROR : SLOG_WARN, "plugin", KV_S("plugin", plugin), KV_S("msg", msg));
  if (error)
    sbuf_addf(&d->errors, "%s%s:%d: error: [plugin.%s] %s", d->errors.len ? "\n" : "", d->file,
              line, plugin, msg);
}

json_t *lambda_plugins_manifest(const config *c, char **err) {
  diag_ctx d = {.file = c->file};
  registry *r = registry_load(c, hostapi_table(), on_diag, &d);
  json_t *manifest = registry_manifest(r);
  registry_unload(r);
  if (d.errors.len) {
    *err = sbuf_steal(&d.errors);
    json_decref(manifest);
    return NULL;
  }
  sbuf_free(&d.errors);
  return manifest;
}

static const lambda_handler *handler_find(const char *name) {
  if (str_eq(name, "front"))
    return &lambda_front;
  if (str_eq(name, "worker"))
    return &lambda_worker;
  return NULL;
}

/* Reports an init error to Lambda (and the log) and returns the exit code. */
static int init_failed(rapi *api, const char *type, const char *msg) {
  log_kv(SLOG_ERROR, "init_error", KV_S("type", type), KV_S("msg", msg));
  char *err = NULL;
  if (api && !rapi_init_error(api, type, msg, &err)) {
    log_kv(SLOG_ERROR, "runtime_api", KV_S("msg", err));
    free(err);
  }
  return 1;
}

static void invocation_begin(const rapi_invocation *inv) {
  log_context_clear();
  log_context_set("aws_req", inv->request_id);
  /* The job's child process logs under the same Lambda request id. */
  char *ctx = xasprintf("aws_req=%s", inv->request_id);
  setenv(LOG_CONTEXT_ENV, ctx, 1);
  free(ctx);
  if (inv->trace_id[0])
    setenv("_X_AMZN_TRACE_ID", inv->trace_id, 1);
  else
    unsetenv("_X_AMZN_TRACE_ID");
}

/* One invocation: parse, handle, post the result. False when the Runtime
 * API is gone (the container is finished). */
static bool invoke(rapi *api, const lambda_handler *h, void *ctx, const rapi_invocation *inv) {
  invocation_begin(inv);
  json_error_t jerr;
  json_t *event = json_loadb(inv->body, inv->body_len, JSON_REJECT_DUPLICATES, &jerr);
  const char *etype = NULL;
  char *emsg = NULL;
  char *result = NULL;
  if (!event) {
    etype = "Runtime.InvalidEvent";
    emsg = xasprintf("the event is not JSON: %s", jerr.text);
  } else {
    result = h->handle(ctx, inv, event, &etype, &emsg);
  }
  char *err = NULL;
  bool ok;
  if (result) {
    ok = rapi_respond(api, inv->request_id, result, strlen(result), &err);
  } else {
    log_kv(SLOG_ERROR, "invocation_error", KV_S("type", etype ? etype : "Runtime.Unknown"),
           KV_S("msg", emsg ? emsg : ""));
    ok = rapi_fail(api, inv->request_id, etype, emsg, &err);
  }
  if (!ok) {
    log_kv(SLOG_ERROR, "runtime_api", KV_S("msg", err));
    free(err);
  }
  free(result);
  free(emsg);
  json_decref(event);
  log_context_clear();
  return ok;
}

static int serve_invocations(rapi *api, const lambda_handler *h, void *ctx) {
  for (;;) {
    rapi_invocation inv;
    char *err = NULL;
    if (!rapi_next(api, &inv, &err)) {
      log_kv(SLOG_ERROR, "runtime_api", KV_S("msg", err));
      free(err);
      return 1;
    }
    bool ok = invoke(api, h, ctx, &inv);
    rapi_invocation_free(&inv);
    if (!ok)
      return 1;
  }
}

int lambda_main(int argc, char **argv) {
  (void)argc;
  (void)argv;
  /* Lambda sends both streams to CloudWatch; one stream keeps the order. */
  dup2(STDOUT_FILENO, STDERR_FILENO);
  log_set_role("lambda");
  lambda_env e;
  env_read(&e);
  int rc = 1;
  config *c = NULL;
  void *ctx = NULL;
  const lambda_handler *h = NULL;
  rapi *api = rapi_new(e.api);
  if (!api) {
    log_kv(SLOG_ERROR, "init_error",
           KV_S("msg", "AWS_LAMBDA_RUNTIME_API is not set to host:port: slashd lambda runs only "
                       "as a Lambda function's bootstrap (or under a Runtime API emulator)"));
    goto out;
  }
  char *err = NULL;
  if (!env_apply(&e, &err)) {
    rc = init_failed(api, "Runtime.InitError", err);
    free(err);
    goto out;
  }
  h = handler_find(e.handler);
  if (!h) {
    char *msg = xasprintf("_HANDLER must be \"front\" or \"worker\", not \"%s\"",
                          e.handler ? e.handler : "");
    rc = init_failed(api, "Runtime.InitError", msg);
    free(msg);
    goto out;
  }
  c = config_load(e.config_path, &err);
  if (!c || c->n_errors) {
    char *msg = c ? diag_text(c) : err;
    rc = init_failed(api, "Runtime.InvalidConfig", msg);
    free(msg);
    if (c)
      free(err);
    goto out;
  }
  log_configure(c->log_format, c->log_level);
  config_log_diags(c);
  if (!env_lambda_keys(c, &err)) {
    rc = init_failed(api, "Runtime.InvalidConfig", err);
    free(err);
    goto out;
  }
  ctx = h->init(c, &err);
  if (!ctx) {
    rc = init_failed(api, "Runtime.InitError", err);
    free(err);
    goto out;
  }
  log_kv(SLOG_INFO, "lambda_ready", KV_S("handler", h->name), KV_S("config", c->file),
         KV_S("version", SLASHD_VERSION));
  rc = serve_invocations(api, h, ctx);
out:
  if (h && ctx)
    h->destroy(ctx);
  config_free(c);
  rapi_free(api);
  free(e.config_path);
  return rc;
}
