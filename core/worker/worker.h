/* Worker mode: `slashd worker` is exec'd (exec_run_one), or a spawner forks
 * one (worker/spawner.h: the pool's workers), with its end of a
 * SOCK_SEQPACKET pair on fd 3 and the configuration the main process
 * accepted (a sealed snapshot, config_snapshot) on fd 4 (a spawner read it
 * before forking). It loads the plugins, announces them (hello + manifest),
 * then runs one job at a time until the socket closes.
 * A plugin that crashes or hangs takes only this process with it. */
#ifndef SLASHD_WORKER_H
#define SLASHD_WORKER_H

#define WORKER_FD 3
#define WORKER_CONFIG_FD 4

#include <stdbool.h>
#include <sys/types.h>

int worker_main(int argc, char **argv);

/* What a worker loads that is the same for every worker of one
 * configuration: the configuration and the opened (not yet initialised)
 * plugins. A spawner (worker/spawner.h) loads it once and forks; an exec'd
 * worker loads it for itself. */
typedef struct worker_image worker_image;

/* Loads `cfg_path` (named `cfg_name` in messages; when set, the file is
 * the snapshot on WORKER_CONFIG_FD, which is closed after reading) and opens
 * the plugins. NULL (logged) when the configuration cannot be used. */
worker_image *worker_image_load(const char *cfg_path, const char *cfg_name);
void worker_image_free(worker_image *img);

/* Dies with the parent (PR_SET_PDEATHSIG) and leaves SIGTERM/SIGINT to the
 * main process. `parent`: the pid the parent must still have (a spawner's
 * child), or 0 for an exec'd process (its parent must not be gone). False
 * when it is gone already. */
bool worker_tie_to_parent(pid_t parent);

/* Becomes worker `index` of generation `gen` with the socket on WORKER_FD:
 * plugin init, memory limit, hello, then jobs until the socket closes.
 * Takes img. Returns the process's exit code. */
int worker_image_run(worker_image *img, long index, long gen);

#endif
