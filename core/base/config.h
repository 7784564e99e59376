/* The ini file: parsed by inih, checked against a schema, with a line number
 * on every problem. Secrets stay references here (env:/file:/kms:); they are
 * resolved by secret.c when the host starts. */
#ifndef SLASHD_CONFIG_H
#define SLASHD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "base/syntax.h"

typedef struct cfg_kv {
  char *key;
  char *value;
  int line;
} cfg_kv;

typedef struct cfg_section {
  char *name;
  int line;
  cfg_kv *kv;
  size_t n;
} cfg_section;

typedef enum { DIAG_ERROR, DIAG_WARNING } diag_level;

typedef struct cfg_diag {
  int line; /* 0 when not tied to a line */
  diag_level level;
  char *msg;
} cfg_diag;

typedef struct cfg_plugin {
  char *name;
  bool enabled;
  char *path; /* resolved: [plugin.X] path, or <[plugins] dir>/<name>.so */
  int line;   /* of the section header */
  const cfg_section *section;
} cfg_plugin;

typedef enum { ID_NONE, ID_MAP, ID_TEMPLATE, ID_IAM_USER } identity_mode;
typedef enum { READ_AS_HOST, READ_AS_ASSUME } read_identity;

typedef struct config {
  char *file;

  /* [server] */
  char *listen_host;
  int listen_port;
  char *path;
  char *actions_path; /* interactivity (button clicks) */
  int workers;
  int queue;
  int job_timeout;
  int max_body;
  int dedupe_seconds;
  int max_running_per_user;   /* -1 (absent): workers - 1; 0: no limit (base/caps.h) */
  int max_running_per_plugin; /* the same */
  int worker_memory_mb;       /* a worker's data limit (RLIMIT_DATA); 0: none */
  int worker_recycle_mb; /* replace a worker whose resident size after a job is over; 0: never */
  int worker_max_jobs;   /* replace a worker after this many jobs; 0: never */
  int drain_seconds;
  int connection_limit;
  int connection_timeout;
  int http_threads;
  char *state_dir;
  char *journal; /* path or NULL (journal off) */
  bool journal_fsync_always;
  char *pid_file; /* path or NULL */
  char *tls_cert;
  char *tls_key;
  char *log_format;
  char *log_level;

  /* [slack] */
  char *signing_secret_ref;     /* NULL when not configured */
  char *verification_token_ref; /* NULL when not configured */
  char *command;                /* e.g. "/aws"; NULL accepts any */
  char **response_hosts;
  size_t n_response_hosts;
  bool socket_mode;       /* [slack] mode = socket */
  char *app_token_ref;    /* Socket Mode app-level token; NULL when not configured */
  char *api_url;          /* Slack Web API base, ends with '/' */
  int socket_connections; /* Socket Mode connections kept open */
  char *ca_file;          /* CA bundle for Slack's TLS (a TLS-inspecting proxy), or NULL */

  /* [aws] */
  char *aws_region;
  char *aws_endpoint_url;
  int aws_connect_timeout;
  int aws_timeout;
  int aws_max_attempts;
  char **aws_regions; /* [aws] regions: the regions served, for --region checks and "all" */
  size_t n_aws_regions;
  const cfg_section *accounts; /* [accounts] alias = id[, region = R][, role_template = ARN] */

  /* [identity] */
  identity_mode id_mode;
  read_identity id_read;
  int session_duration;
  char *role_template;
  char *role_name;
  char *required_policy;
  const cfg_section *id_users; /* [identity.users] or NULL */
  bool confirm_writes;         /* [identity] confirm = write (default) | none */
  int confirm_seconds;         /* how long a confirmation prompt stays valid */

  /* [access] */
  const cfg_section *access; /* or NULL */

  /* [audit] */
  char *audit_file; /* NULL: audit lines go to the log */

  /* [lambda] (slashd lambda only) */
  char *lambda_queue_url; /* SQS queue the front sends jobs to, or NULL */
  char *lambda_topic_arn; /* SNS topic the front publishes jobs to, or NULL */
  int lambda_max_job_age; /* seconds; older jobs are not run */

  /* [plugins] */
  char *plugin_dir;
  cfg_plugin *plugins;
  size_t n_plugins;

  cfg_section *sections;
  size_t n_sections;

  cfg_diag *diags;
  size_t n_diags;
  size_t n_errors;
} config;

/* Loads and checks `path`. Always returns a config (NULL only when the file
 * cannot be opened, with *err set); look at n_errors before using it. */
config *config_load(const char *path, char **err);
/* The same, reading `path` but naming the file `name` in diagnostics (a
 * worker reads its snapshot through /proc/self/fd/N). */
config *config_load_as(const char *path, const char *name, char **err);
/* A sealed, read-only in-memory copy of the file at `path`: the exact bytes
 * a configuration was accepted from, for workers started later to read even
 * after the file on disk has changed. A close-on-exec descriptor, or -1 with
 * *err set. */
int config_snapshot(const char *path, char **err);
/* Reads the configuration once into a sealed snapshot and parses that very
 * copy: what was checked is exactly what the workers will read, whatever
 * happens to the file afterwards. Returns its config and the snapshot (*fd,
 * the caller closes it), or NULL with *err. */
config *config_load_snapshot(const char *path, int *fd, char **err);
void config_free(config *c);

/* Prints every diagnostic as "FILE:LINE: level: message" to the stream. */
void config_print_diags(const config *c, void *file_stream);
/* Logs every diagnostic as a log line. */
void config_log_diags(const config *c);

const cfg_section *config_section(const config *c, const char *name);
const cfg_kv *config_get_kv(const cfg_section *s, const char *key);
const char *config_get(const cfg_section *s, const char *key);
const cfg_plugin *config_plugin(const config *c, const char *name);

#endif
