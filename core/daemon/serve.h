#ifndef SLASHD_SERVE_H
#define SLASHD_SERVE_H

#include "base/config.h"

/* Serves with configuration c (taken) parsed from the snapshot cfd (taken;
 * the workers read it), until SIGTERM or SIGINT. Returns the exit status. */
int serve_run(const char *config_path, config *c, int cfd);
/* Where a development host keeps its generated signing secret. New string. */
char *serve_dev_secret_path(const config *c);

#endif
