#ifndef SLASHD_SERVE_H
#define SLASHD_SERVE_H

#include "base/config.h"

int serve_main(int argc, char **argv);
/* Where a development host keeps its generated signing secret. New string. */
char *serve_dev_secret_path(const config *c);

#endif
