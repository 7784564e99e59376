#ifndef SLASHD_RUN_H
#define SLASHD_RUN_H

/* `slashd run`'s exit statuses (also in README, the man page and the
 * plugin guide): */
#define RUN_EXIT_OK 0             /* the command ran and succeeded */
#define RUN_EXIT_FAILED 1         /* it ran and failed (an error reply or status) */
#define RUN_EXIT_NOT_RUN 2        /* not run: usage, unknown command, access refused */
#define RUN_EXIT_PLUGIN_EXITED 70 /* the plugin called exit() during the command */
#define RUN_EXIT_CONFIG 78        /* the configuration could not be read or has errors */
#define RUN_EXIT_TIMEOUT 124      /* it ran past [server] job_timeout and was stopped */
/* A crash kills `slashd run` with its signal (the shell shows 128 + N). */

int run_main(int argc, char **argv);
int check_main(int argc, char **argv);

#endif
