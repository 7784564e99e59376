#ifndef SLASHD_RUN_H
#define SLASHD_RUN_H

int run_main(int argc, char **argv);
int check_main(int argc, char **argv);

#endif
