#ifndef SLASHD_SEND_H
#define SLASHD_SEND_H

int send_main(int argc, char **argv);

#endif
