/* slashd serve: the options and the configuration prologue, then the
 * daemon (daemon/serve.h). */
#ifndef SLASHD_CLI_SERVE_H
#define SLASHD_CLI_SERVE_H

int serve_main(int argc, char **argv);

#endif
