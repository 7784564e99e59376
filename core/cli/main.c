/* slashd — one binary, subcommands (DESIGN.md "Contract"). */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "cli/reload.h"
#include "cli/run.h"
#include "cli/send.h"
#include "cli/serve.h"
#include "lambda/lambda.h"
#include "worker/spawner.h"
#include "worker/worker.h"

static void usage(FILE *out) {
  fprintf(out,
          "slashd %s — ChatOps host for Slack slash commands\n"
          "\n"
          "usage:\n"
          "  slashd serve [-c FILE]          run the daemon\n"
          "  slashd run [-c FILE] [--user-id U] [--user-name N] [--channel-id C] TEXT...\n"
          "                                  run one command line, print the replies\n"
          "  slashd check-config [-c FILE]   check the ini and every enabled plugin; list the\n"
          "                                  plugins with their versions and commands\n"
          "  slashd reload [-c FILE]         make the running daemon re-read its ini (SIGHUP to\n"
          "                                  the process in [server] pid_file)\n"
          "  slashd send [-c FILE] TEXT...   send a signed test command to a running host\n"
          "  slashd lambda                   the AWS Lambda custom runtime (_HANDLER = front or\n"
          "                                  worker; docs/lambda.md)\n"
          "  slashd --version\n"
          "\n"
          "The default FILE is <prefix>/etc/slashd/slashd.ini when slashd is installed there,\n"
          "config/slashd.ini otherwise. Plugins: docs/plugin-guide.md (installed in\n"
          "<prefix>/share/doc/slashd).\n",
          SLASHD_VERSION);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
    printf("slashd %s\n", SLASHD_VERSION);
    return 0;
  }
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(cmd, "worker") == 0)
    return worker_main(argc - 1, argv + 1);
  if (strcmp(cmd, "spawner") == 0)
    return spawner_main(argc - 1, argv + 1);
  /* libcurl's global state is set up once, before any thread starts. */
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int rc;
  if (strcmp(cmd, "serve") == 0)
    rc = serve_main(argc - 1, argv + 1);
  else if (strcmp(cmd, "run") == 0)
    rc = run_main(argc - 1, argv + 1);
  else if (strcmp(cmd, "check-config") == 0)
    rc = check_main(argc - 1, argv + 1);
  else if (strcmp(cmd, "reload") == 0)
    rc = reload_main(argc - 1, argv + 1);
  else if (strcmp(cmd, "send") == 0)
    rc = send_main(argc - 1, argv + 1);
  else if (strcmp(cmd, "lambda") == 0)
    rc = lambda_main(argc - 1, argv + 1);
  else {
    fprintf(stderr, "slashd: unknown command \"%s\"\n\n", cmd);
    usage(stderr);
    rc = 2;
  }
  curl_global_cleanup();
  return rc;
}
