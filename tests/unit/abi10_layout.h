/* What abi10_layout.c measured of the frozen ABI 1.0 SDK. Includes no SDK
 * header, so either SDK can be seen beside it. */
#ifndef SLASHD_ABI10_LAYOUT_H
#define SLASHD_ABI10_LAYOUT_H

#include <stddef.h>

typedef struct abi_member {
  const char *name; /* "slashd_host_api.reply" */
  size_t offset, size;
} abi_member;

typedef struct abi_sizes {
  size_t host_api, plugin, command, caller;
} abi_sizes;

extern const abi_member abi10_members[];
extern const size_t abi10_n_members;
extern const abi_sizes abi10_sizes;

#endif
