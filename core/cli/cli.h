/* Command-line options shared by the subcommands. */
#ifndef SLASHD_CLI_H
#define SLASHD_CLI_H

#include <stdbool.h>

#include "base/config.h"

typedef struct cli_opts {
  char *config; /* -c FILE, or the default */
  const char *user_id, *user_name, *channel_id, *channel_name, *team_id;
  const char *url; /* send: where to POST instead of the configured listen */
  int timeout;     /* send: seconds to wait for the final reply */
  bool yes;        /* run: --yes, no confirmation prompt for write commands */
  char *text;      /* the remaining words, joined by spaces */
} cli_opts;

/* Parses argv after the subcommand name. `want_text` allows trailing words.
 * Prints a usage line and returns false on a mistake. */
bool cli_parse(int argc, char **argv, const char *cmd, bool want_text, cli_opts *o);
void cli_opts_free(cli_opts *o);

/* The configuration prologue every subcommand shares (run, check-config,
 * reload, send, serve): load the file, set up logging, show the
 * diagnostics, and refuse a file with errors where the subcommand must.
 * Secrets are resolved afterwards, by each subcommand, as it needs them. */
typedef enum {
  CLI_LOG_KEEP,    /* leave logging as it is */
  CLI_LOG_CONFIG,  /* [server] log_format and log_level */
  CLI_LOG_ERRORS,  /* log_format, errors only (check-config prints its own report) */
  CLI_LOG_TERMINAL /* log_format; warnings and errors, or everything at log_level = debug */
} cli_log;

typedef enum {
  CLI_DIAGS_NONE,     /* not shown */
  CLI_DIAGS_ALWAYS,   /* printed to stderr */
  CLI_DIAGS_ON_ERROR, /* printed to stderr when there are errors */
  CLI_DIAGS_LOG       /* to the log (the daemon) */
} cli_diags;

typedef struct cli_load {
  const char *who; /* "slashd run" before messages, or NULL */
  int fail_status; /* exit status when the file cannot be read or has refused errors */
  bool snapshot;   /* parse a sealed copy of the file (serve: the workers read it) */
  cli_log log;
  cli_diags diags;
  bool refuse_errors; /* a file with errors ends the subcommand */
} cli_load;

/* The configuration named by o->config, or NULL with the exit status in
 * *status (the reason already told). With how->snapshot, *snapshot_fd gets
 * the sealed copy (the caller closes it). */
config *cli_load_config(const cli_opts *o, const cli_load *how, int *snapshot_fd, int *status);

/* Text from a plugin or AWS (console output, tags) as it may be written to
 * a terminal or a pipe: valid UTF-8 in which every control character other
 * than newline and tab (C0, DEL, C1 — ESC starts ANSI/OSC sequences, U+009B
 * is a one-byte CSI) is U+FFFD. A new string. */
char *cli_printable(const char *text);
/* fputs of cli_printable(text). */
void cli_put_clean(const char *text, void *file_stream);

#endif
