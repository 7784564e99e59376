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

#define M(type, field)                                                                             \
  { #type "." #field, offsetof(type, field), sizeof(((type *)0)->field) }

const abi_member abi10_members[] = {
    M(slashd_host_api, size),     M(slashd_host_api, abi_major), M(slashd_host_api, abi_minor),
    M(slashd_host_api, reply),    M(slashd_host_api, interim),   M(slashd_host_api, caller),
    M(slashd_host_api, config),   M(slashd_host_api, log),       M(slashd_host_api, commands),
    M(slashd_plugin, abi_major),  M(slashd_plugin, abi_minor),   M(slashd_plugin, size),
    M(slashd_plugin, name),       M(slashd_plugin, version),     M(slashd_plugin, summary),
    M(slashd_plugin, init),       M(slashd_plugin, destroy),     M(slashd_plugin, commands),
    M(slashd_command, name),      M(slashd_command, usage),      M(slashd_command, summary),
    M(slashd_command, min_args),  M(slashd_command, max_args),   M(slashd_command, access),
    M(slashd_command, handler),   M(slashd_command, flags),      M(slashd_caller, size),
    M(slashd_caller, request_id), M(slashd_caller, team_id),     M(slashd_caller, user_id),
    M(slashd_caller, user_name),  M(slashd_caller, channel_id),  M(slashd_caller, channel_name),
    M(slashd_caller, command),    M(slashd_caller, text),
};
const size_t abi10_n_members = sizeof abi10_members / sizeof abi10_members[0];

const abi_sizes abi10_sizes = {
    .host_api = sizeof(slashd_host_api),
    .plugin = sizeof(slashd_plugin),
    .command = sizeof(slashd_command),
    .caller = sizeof(slashd_caller),
};
