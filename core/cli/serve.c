#include "cli/serve.h"

#include "cli/cli.h"
#include "daemon/serve.h"

int serve_main(int argc, char **argv) {
  cli_opts o;
  if (!cli_parse(argc, argv, "serve", false, &o))
    return 2;
  static const cli_load how = {.who = "slashd",
                               .fail_status = 78,
                               .snapshot = true,
                               .log = CLI_LOG_CONFIG,
                               .diags = CLI_DIAGS_LOG,
                               .refuse_errors = true};
  int cfd = -1, rc;
  config *c = cli_load_config(&o, &how, &cfd, &rc);
  if (c)
    rc = serve_run(o.config, c, cfd);
  cli_opts_free(&o);
  return rc;
}
