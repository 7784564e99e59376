/* `slashd reload [-c FILE]`: SIGHUP to the running `slashd serve` named by
 * the configuration's pid file. */
#ifndef SLASHD_RELOAD_H
#define SLASHD_RELOAD_H

int reload_main(int argc, char **argv);

#endif
