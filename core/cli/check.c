/* `slashd check-config`: every problem as FILE:LINE: message; exit 0 only
 * when all is well. Loads every enabled plugin, as the workers would. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "base/config.h"
#include "worker/hostapi.h"
#include "base/log.h"
#include "worker/registry.h"
#include "cli/run.h"
#include "base/secret.h"
#include "base/util.h"
#include "aws/aws.h"
#include "daemon/socket_api.h"

typedef struct check_ctx {
  const config *c;
  int errors, warnings;
} check_ctx;

static void on_diag(void *ud, const char *plugin, int line, bool error, const char *msg) {
  check_ctx *k = ud;
  fprintf(stderr, "%s:%d: %s: [plugin.%s] %s\n", k->c->file, line, error ? "error" : "warning",
          plugin, msg);
  if (error)
    k->errors++;
  else
    k->warnings++;
}

static int key_line(const config *c, const char *section, const char *key) {
  const cfg_kv *kv = config_get_kv(config_section(c, section), key);
  return kv ? kv->line : 0;
}

static void check_secret(check_ctx *k, const char *key, const char *ref) {
  if (!ref)
    return;
  if (str_starts(ref, "kms:")) {
    printf("%s:%d: note: [slack] %s is a KMS ciphertext; it is decrypted when the host starts\n",
           k->c->file, key_line(k->c, "slack", key), key);
    return;
  }
  unsigned char *v = NULL;
  size_t n = 0;
  char *err = NULL;
  if (!secret_resolve(ref, NULL, NULL, &v, &n, &err)) {
    fprintf(stderr, "%s:%d: error: [slack] %s: %s\n", k->c->file, key_line(k->c, "slack", key), key,
            err);
    k->errors++;
  }
  free(err);
  secret_free(v, n);
}

/* Socket Mode: the app token resolves, and Slack (when reachable) takes
 * it. One apps.connections.open; the URL it returns is left unused. */
static void check_socket(check_ctx *k) {
  const config *c = k->c;
  const char *ref = c->app_token_ref;
  if (!ref)
    return; /* config.c has said so */
  if (c->ca_file && access(c->ca_file, R_OK) != 0) {
    fprintf(stderr, "%s:%d: error: [slack] ca_file: cannot read %s: %s\n", c->file,
            key_line(c, "slack", "ca_file"), c->ca_file, strerror(errno));
    k->errors++;
  }
  int line = key_line(c, "slack", "app_token");
  if (str_starts(ref, "kms:")) {
    printf("%s:%d: note: [slack] app_token is a KMS ciphertext; it is checked with Slack when the "
           "host starts\n",
           c->file, line);
    return;
  }
  unsigned char *tok = NULL;
  size_t n = 0;
  char *err = NULL, *url = NULL;
  if (!secret_resolve(ref, NULL, NULL, &tok, &n, &err)) {
    fprintf(stderr, "%s:%d: error: [slack] app_token: %s\n", c->file, line, err);
    k->errors++;
    goto out;
  }
  sopen_result r = socket_open_once(c->api_url, c->ca_file, tok, n, 10000, &url, &err);
  if (r == SOPEN_OK) {
    printf("%s:%d: note: [slack] app_token: Slack accepted it (apps.connections.open at %s)\n",
           c->file, line, c->api_url);
  } else if (r == SOPEN_REFUSED) {
    bool fatal = socket_error_is_fatal(err);
    fprintf(stderr,
            "%s:%d: %s: [slack] app_token: Slack answered %s (apps.connections.open at %s)%s\n",
            c->file, line, fatal ? "error" : "warning", err, c->api_url,
            fatal ? ": use an app-level token (xapp-...) with the connections:write scope" : "");
    if (fatal)
      k->errors++;
    else
      k->warnings++;
  } else {
    fprintf(stderr, "%s:%d: warning: [slack] app_token: not checked, %s is not reachable: %s\n",
            c->file, line, c->api_url, err);
    k->warnings++;
  }
out:
  free(url);
  free(err);
  secret_free(tok, n);
}

/* Who am I: where the host's AWS credentials come from, and the identity
 * AWS sees (sts:GetCallerIdentity). None at all is a warning (commands
 * without AWS still work); a broken credential setting is an error. */
static void check_aws(check_ctx *k) {
  const config *c = k->c;
  aws_config ac = {.region = c->aws_region,
                   .endpoint_url = c->aws_endpoint_url,
                   .connect_timeout = c->aws_connect_timeout,
                   .timeout = c->aws_timeout,
                   .max_attempts = c->aws_max_attempts};
  aws_client *cl = aws_client_new(&ac);
  if (aws_client_setting_error(cl)) {
    fprintf(stderr, "%s: error: AWS: %s\n", c->file, aws_client_setting_error(cl));
    k->errors++;
  }
  char *err = NULL;
  const aws_creds *cr = aws_host_creds(cl, &err);
  json_t *out = NULL;
  if (!cr && aws_host_creds_broken(cl)) {
    fprintf(stderr, "%s: error: AWS: %s\n", c->file, err);
    k->errors++;
  } else if (!cr) {
    fprintf(stderr, "%s: warning: AWS: commands that call AWS will fail (help still works): %s\n",
            c->file, err);
    k->warnings++;
  } else if (aws_call(cl, cr, "sts", "GetCallerIdentity", NULL, &out, &err) != AWS_OK) {
    fprintf(stderr, "%s: warning: AWS: %s; sts GetCallerIdentity failed: %s\n", c->file, cr->source,
            err);
    k->warnings++;
  } else {
    const char *arn =
        json_string_value(json_object_get(json_object_get(out, "GetCallerIdentityResult"), "Arn"));
    printf("AWS: %s; identity %s\n", cr->source, arn ? arn : "(no Arn in the answer)");
  }
  json_decref(out);
  free(err);
  aws_client_free(cl);
}

static void print_plugin(const plugin_inst *p) {
  printf("plugin %s %s:", p->host.name, p->desc->version ? p->desc->version : "");
  for (size_t i = 0; i < p->n_cmds; i++) {
    const slashd_command *cmd = &p->desc->commands[i];
    printf("%s %s%s", i ? "," : "", cmd->name, cmd->access == SLASHD_WRITE ? " (write)" : "");
  }
  printf("\n");
}

int check_main(int argc, char **argv) {
  cli_opts o;
  if (!cli_parse(argc, argv, "check-config", false, &o))
    return 2;
  static const cli_load how = {.fail_status = 1, .log = CLI_LOG_ERRORS, .diags = CLI_DIAGS_ALWAYS};
  int status;
  config *c = cli_load_config(&o, &how, NULL, &status);
  if (!c) {
    cli_opts_free(&o);
    return status;
  }
  check_ctx k = {.c = c, .errors = (int)c->n_errors, .warnings = (int)(c->n_diags - c->n_errors)};
  if (c->socket_mode) {
    check_socket(&k);
  } else {
    check_secret(&k, "signing_secret", c->signing_secret_ref);
    check_secret(&k, "verification_token", c->verification_token_ref);
  }
  if (!c->socket_mode && !c->signing_secret_ref && !c->verification_token_ref) {
    if (host_is_loopback(c->listen_host)) {
      fprintf(stderr,
              "%s: warning: no [slack] signing_secret: serve will use a generated development "
              "secret (loopback only); set one before Slack can reach this host\n",
              c->file);
      k.warnings++;
    } else {
      fprintf(stderr,
              "%s: error: no [slack] signing_secret or verification_token, and listen is not "
              "loopback\n",
              c->file);
      k.errors++;
    }
  }
  check_aws(&k);
  registry *r = registry_load(c, hostapi_table(), on_diag, &k);
  for (size_t i = 0; i < r->n; i++)
    print_plugin(r->p[i]);
  registry_unload(r);
  if (k.errors)
    printf("%s: %d error%s, %d warning%s\n", c->file, k.errors, k.errors == 1 ? "" : "s",
           k.warnings, k.warnings == 1 ? "" : "s");
  else
    printf("%s: OK (%d warning%s)\n", c->file, k.warnings, k.warnings == 1 ? "" : "s");
  int rc = k.errors ? 1 : 0;
  config_free(c);
  cli_opts_free(&o);
  return rc;
}
