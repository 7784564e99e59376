/* Command-line options shared by the subcommands. */
#ifndef SLASHD_CLI_H
#define SLASHD_CLI_H

#include <stdbool.h>

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

/* Text from a plugin or AWS (console output, tags) as it may be written to
 * a terminal or a pipe: valid UTF-8 in which every control character other
 * than newline and tab (C0, DEL, C1 — ESC starts ANSI/OSC sequences, U+009B
 * is a one-byte CSI) is U+FFFD. A new string. */
char *cli_printable(const char *text);
/* fputs of cli_printable(text). */
void cli_put_clean(const char *text, void *file_stream);

#endif
