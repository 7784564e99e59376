/* The layout of the ABI 1.0 SDK, measured from the frozen header
 * (tests/plugins/sdk-1.0) in a translation unit of its own, for test_abi.c
 * to compare the current header with. Nothing here includes the current
 * SDK. */
#include <stddef.h>

#include "slashd/plugin.h"
#include "abi10_layout.h"

#if SLASHD_ABI_MAJOR != 1 || SLASHD_ABI_MINOR != 0
#error "abi10_layout.c must see the frozen ABI 1.0 SDK"
#endif

#define X(type, field) {#type "." #field, offsetof(type, field), sizeof(((type *)0)->field)},

const abi_member abi10_members[] = {
#include "abi10_members.def"
};
const size_t abi10_n_members = sizeof abi10_members / sizeof abi10_members[0];

const abi_sizes abi10_sizes = {
    .host_api = sizeof(slashd_host_api),
    .plugin = sizeof(slashd_plugin),
    .command = sizeof(slashd_command),
    .caller = sizeof(slashd_caller),
};
