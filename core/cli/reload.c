/* `slashd reload`: tell the running daemon to re-read its configuration.
 * The daemon is found through the pid file its configuration names; the
 * process is checked to be a `slashd serve` before it gets SIGHUP, so a
 * stale pid file never signals an unrelated process. */
#include "cli/reload.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "base/config.h"
#include "base/util.h"

/* The argument vector of process `pid` as one string per word (NUL
 * separated in /proc), or NULL. */
static char *proc_cmdline(long pid, size_t *len) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
  return read_file(path, 1u << 16, len);
}

/* True when the words are `…/slashd serve …`; *config_arg is the value of its
 * -c option (pointing into cmd), or NULL when it runs with the default. */
static bool is_slashd_serve(const char *cmd, size_t len, const char **config_arg) {
  const char *words[64];
  size_t n = 0;
  for (size_t off = 0; off < len && n < ARRAY_LEN(words); off += strlen(cmd + off) + 1)
    words[n++] = cmd + off;
  if (n < 2)
    return false;
  const char *base = strrchr(words[0], '/');
  base = base ? base + 1 : words[0];
  if (strcmp(base, "slashd") != 0 || strcmp(words[1], "serve") != 0)
    return false;
  *config_arg = NULL;
  for (size_t i = 2; i + 1 < n; i++)
    if (strcmp(words[i], "-c") == 0 || strcmp(words[i], "--config") == 0)
      *config_arg = words[i + 1];
  return true;
}

/* The daemon's pid from its pid file, or 0 with the reason printed. */
static long read_pid(const config *c) {
  size_t len = 0;
  char *text = read_file(c->pid_file, 64, &len);
  if (!text) {
    if (errno == ENOENT)
      fprintf(stderr,
              "slashd reload: there is no pid file %s ([server] pid_file of %s), so no slashd "
              "serve is running with this configuration. Start it with `slashd serve -c %s`, or "
              "name the configuration it runs with: slashd reload -c FILE\n",
              c->pid_file, c->file, c->file);
    else
      fprintf(stderr, "slashd reload: cannot read the pid file %s: %s\n", c->pid_file,
              strerror(errno));
    return 0;
  }
  text[strcspn(text, "\n")] = '\0';
  long pid = 0;
  if (!parse_int(text, 1, 1L << 22, &pid)) {
    fprintf(stderr, "slashd reload: the pid file %s does not hold a process id (\"%.20s\")\n",
            c->pid_file, text);
    pid = 0;
  }
  free(text);
  return pid;
}

/* Signals the daemon; 0 when it was told, 1 when not (the reason printed). */
static int signal_daemon(const config *c) {
  long pid = read_pid(c);
  if (!pid)
    return 1;
  size_t len = 0;
  char *cmd = proc_cmdline(pid, &len);
  if (!cmd || len == 0) {
    fprintf(stderr,
            "slashd reload: the pid file %s names process %ld, which is not running: slashd "
            "serve stopped without removing it (killed, or the machine restarted). Nothing to "
            "reload; start it again.\n",
            c->pid_file, pid);
    free(cmd);
    return 1;
  }
  const char *daemon_config = NULL;
  if (!is_slashd_serve(cmd, len, &daemon_config)) {
    for (size_t i = 0; i + 1 < len; i++)
      if (cmd[i] == '\0')
        cmd[i] = ' ';
    fprintf(stderr,
            "slashd reload: the pid file %s names process %ld, which is \"%.80s\", not slashd "
            "serve: the file is stale and its number was reused. Not signalling it.\n",
            c->pid_file, pid, cmd);
    free(cmd);
    return 1;
  }
  int rc = 0;
  if (kill((pid_t)pid, SIGHUP) != 0) {
    int e = errno;
    fprintf(stderr, "slashd reload: cannot signal slashd serve (pid %ld): %s%s\n", pid, strerror(e),
            e == EPERM ? "; run slashd reload as the user slashd runs as, or as root" : "");
    rc = 1;
  } else {
    printf("slashd reload: sent SIGHUP to slashd serve (pid %ld, from %s); it re-reads %s. "
           "Its log says event=reloaded, or event=reload_refused and why (the old configuration "
           "then keeps serving).\n",
           pid, c->pid_file, daemon_config ? daemon_config : "its default configuration");
  }
  free(cmd);
  return rc;
}

int reload_main(int argc, char **argv) {
  cli_opts o;
  if (!cli_parse(argc, argv, "reload", false, &o))
    return 2;
  static const cli_load how = {
      .who = "slashd reload", .fail_status = 1, .diags = CLI_DIAGS_ON_ERROR};
  int rc;
  config *c = cli_load_config(&o, &how, NULL, &rc);
  if (!c) {
    cli_opts_free(&o);
    return rc;
  }
  if (c->n_errors) {
    /* The daemon would refuse this file, and its user would have to find
     * out why in the log: say it here, where they are looking. */
    fprintf(stderr,
            "slashd reload: %s has errors (above); the running daemon would refuse it and keep "
            "its current configuration, so it was not signalled. Fix them (slashd check-config "
            "-c %s) and run slashd reload again.\n",
            c->file, c->file);
    rc = 1;
  } else {
    rc = signal_daemon(c);
  }
  config_free(c);
  cli_opts_free(&o);
  return rc;
}
