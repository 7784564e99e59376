/* Worker mode: `slashd worker` is exec'd by the main process with its end of
 * a SOCK_SEQPACKET pair on fd 3 and the configuration the main process
 * accepted (a sealed snapshot, config_snapshot) on fd 4. It loads the
 * plugins, announces them (hello + manifest), then runs one job at a time
 * until the socket closes.
 * A plugin that crashes or hangs takes only this process with it. */
#ifndef SLASHD_WORKER_H
#define SLASHD_WORKER_H

#define WORKER_FD 3
#define WORKER_CONFIG_FD 4

int worker_main(int argc, char **argv);

#endif
