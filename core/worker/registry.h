/* Loading command plugins: dlopen with every check of STYLE.md before any
 * plugin code runs, init in load order, destroy in reverse. */
#ifndef SLASHD_REGISTRY_H
#define SLASHD_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "base/config.h"
#include "slashd/plugin.h"

typedef struct registry registry;

/* The host handle a plugin sees. */
struct slashd_host {
  registry *reg;
  char *name;
  const cfg_section *section;
};

typedef struct plugin_inst {
  slashd_host host;
  char *path;
  void *dl;
  int fd; /* the file dl was loaded from, open for as long as dl is */
  const slashd_plugin *desc;
  void *state;
  size_t n_cmds;
  int line;   /* of its [plugin.NAME] section, for a diagnostic */
  bool ready; /* its init ran and succeeded: destroy() is owed */
} plugin_inst;

/* The plugin's describe step (ABI 1.2 descriptors only), or NULL. */
slashd_describe_fn plugin_describe(const plugin_inst *p);
/* True when the command asks for confirmation before it runs. */
bool plugin_cmd_confirms(const plugin_inst *p, const slashd_command *c);

struct registry {
  const config *cfg;
  const slashd_host_api *api;
  plugin_inst **p;
  size_t n;
};

/* A problem found while loading, tied to the config line of the plugin. */
typedef void (*registry_diag_fn)(void *ud, const char *plugin, int line, bool error,
                                 const char *msg);

/* Loads every enabled plugin of the config. Problems are logged and reported
 * through `diag` (may be NULL); a plugin with a problem is skipped, the rest
 * load. Never returns NULL. */
registry *registry_load(const config *c, const slashd_host_api *api, registry_diag_fn diag,
                        void *ud);
/* registry_load in two steps, for a process that forks workers from one
 * loaded image (worker/spawner.h): registry_open opens and checks every
 * plugin file and descriptor and runs no plugin code but the libraries'
 * own constructors; registry_init then runs each plugin's init, in load
 * order, and drops the plugins whose init fails. registry_load is both. */
registry *registry_open(const config *c, const slashd_host_api *api, registry_diag_fn diag,
                        void *ud);
void registry_init(registry *r, registry_diag_fn diag, void *ud);
/* destroy() (of the plugins whose init ran) in reverse load order, then
 * dlclose. */
void registry_unload(registry *r);

plugin_inst *registry_find(const registry *r, const char *name);
const slashd_command *plugin_find_cmd(const plugin_inst *p, const char *name);

/* The command table of every loaded plugin, for routing in another process:
 * {"plugins":[{"name","version","summary","commands":[...]}]}. New ref. */
json_t *registry_manifest(const registry *r);

/* Checks a plugin file before it is opened: a regular file (not a symlink),
 * not writable by group or others, in a directory not writable by others.
 * On refusal returns false with a reason in *why (new string). */
bool registry_file_ok(const char *path, char **why);

#endif
