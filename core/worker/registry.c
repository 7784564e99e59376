#include "worker/registry.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/route.h"
#include "base/safefile.h"
#include "base/util.h"

/* The smallest descriptor the host understands: ABI 1.0. */
#define DESC_MIN_SIZE (offsetof(slashd_plugin, commands) + sizeof(const slashd_command *))
#define MAX_COMMANDS 64

static void report(registry_diag_fn diag, void *ud, const char *name, int line, bool error,
                   const char *msg) {
  if (diag)
    diag(ud, name, line, error, msg);
  else
    log_kv(error ? SLOG_ERROR : SLOG_WARN, "plugin_refused", KV_S("plugin", name),
           KV_S("msg", msg));
}

bool registry_file_ok(const char *path, char **why) {
  struct stat st;
  if (lstat(path, &st) != 0) {
    *why = xasprintf("%s: %s", path, strerror(errno));
    return false;
  }
  if (S_ISLNK(st.st_mode)) {
    *why = xasprintf("%s is a symbolic link; point [plugin] path at the real file", path);
    return false;
  }
  if (S_ISDIR(st.st_mode)) {
    *why = xasprintf(
        "%s is not a regular file but a directory: path = names the plugin's .so file itself",
        path);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    *why = xasprintf("%s is not a regular file", path);
    return false;
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    *why = xasprintf("%s is writable by group or others (mode %03o); run chmod go-w on it", path,
                     (unsigned)(st.st_mode & 0777));
    return false;
  }
  if (st.st_uid != 0 && st.st_uid != geteuid()) {
    *why = xasprintf("%s is owned by uid %u, neither root nor the user slashd runs as", path,
                     (unsigned)st.st_uid);
    return false;
  }
  /* Every directory above it, not only the last: whoever can write any of
   * them can put another file in this one's place. */
  char *copy = xstrdup(path);
  bool ok = safefile_dirs_ok(dirname(copy), path, why);
  free(copy);
  return ok;
}

/* Checks the command table; returns its length or -1 with *why. */
static long check_commands(const slashd_plugin *d, char **why) {
  if (!d->commands) {
    *why = xstrdup("descriptor has no command table");
    return -1;
  }
  size_t n = 0;
  int defaults = 0;
  for (; d->commands[n].name; n++) {
    const slashd_command *c = &d->commands[n];
    if (n == MAX_COMMANDS) {
      *why = xasprintf("more than %d commands (missing the NULL sentinel?)", MAX_COMMANDS);
      return -1;
    }
    if (!route_name_valid(c->name)) {
      *why = xasprintf("command %zu has an invalid name (a-z, 0-9, '_', '-', up to 32)", n + 1);
      return -1;
    }
    if (!c->handler) {
      *why = xasprintf("command \"%s\" has no handler", c->name);
      return -1;
    }
    if (c->min_args < 0 || (c->max_args != SLASHD_ARGS_ANY && c->max_args < c->min_args) ||
        c->max_args > 32) {
      *why = xasprintf("command \"%s\" has bad argument bounds (%d..%d)", c->name, c->min_args,
                       c->max_args);
      return -1;
    }
    if (c->access != SLASHD_READ && c->access != SLASHD_WRITE) {
      *why = xasprintf("command \"%s\" has an unknown access level %d", c->name, (int)c->access);
      return -1;
    }
    if (c->flags & SLASHD_CMD_DEFAULT)
      defaults++;
    for (size_t k = 0; k < n; k++) {
      if (strcmp(d->commands[k].name, c->name) == 0) {
        *why = xasprintf("command \"%s\" is declared twice", c->name);
        return -1;
      }
    }
  }
  if (defaults > 1) {
    *why = xstrdup("more than one command is flagged SLASHD_CMD_DEFAULT");
    return -1;
  }
  if (n == 0) {
    *why = xstrdup("the command table is empty");
    return -1;
  }
  return (long)n;
}

/* Checks what the descriptor says about itself before anything else is read
 * from it. */
static bool check_abi(const slashd_plugin *d, char **why) {
  if (d->abi_major != SLASHD_ABI_MAJOR) {
    *why = xasprintf("built for plugin ABI %u.%u, this host speaks %d.%d (a different major "
                     "version); rebuild the plugin against this host's SDK",
                     d->abi_major, d->abi_minor, SLASHD_ABI_MAJOR, SLASHD_ABI_MINOR);
    return false;
  }
  if (d->abi_minor > SLASHD_ABI_MINOR) {
    *why = xasprintf("built for plugin ABI %u.%u, newer than this host's %d.%d; upgrade slashd "
                     "or rebuild the plugin against this host's SDK",
                     d->abi_major, d->abi_minor, SLASHD_ABI_MAJOR, SLASHD_ABI_MINOR);
    return false;
  }
  if (d->size < DESC_MIN_SIZE) {
    *why = xasprintf("descriptor is %u bytes, smaller than ABI 1.0's %zu", d->size,
                     (size_t)DESC_MIN_SIZE);
    return false;
  }
  return true;
}

/* Opens the file once, checks the opened file, and loads that very file
 * through /proc/self/fd, so it cannot be swapped between check and load.
 * The descriptor stays open (in *fd_out) for as long as the library is
 * loaded: the dynamic loader knows a library by the name it was opened
 * with, and if the number were reused for the next plugin, its
 * "/proc/self/fd/N" would name the one already loaded and dlopen would hand
 * back that one instead. */
static void *open_plugin(const registry *r, const char *path, int *fd_out, char **why) {
  if (!registry_file_ok(path, why))
    return NULL;
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    *why = xasprintf("%s: %s", path, strerror(errno));
    return NULL;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & (S_IWGRP | S_IWOTH))) {
    *why = xasprintf("%s changed while it was being checked", path);
    close(fd);
    return NULL;
  }
  /* A loaded file opened again under another name: the loader would hand
   * back the loaded library and remember the new "/proc/self/fd/N" as one
   * of its names, and later give that library to whichever plugin is
   * opened under N next. */
  for (size_t i = 0; i < r->n; i++) {
    struct stat lst;
    if (fstat(r->p[i]->fd, &lst) == 0 && lst.st_dev == st.st_dev && lst.st_ino == st.st_ino) {
      *why = xasprintf("%s is the same file as [plugin.%s] (%s)", path, r->p[i]->host.name,
                       r->p[i]->path);
      close(fd);
      return NULL;
    }
  }
  char fdpath[64];
  snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
  void *dl = dlopen(fdpath, RTLD_NOW | RTLD_LOCAL);
  if (!dl) {
    const char *e = dlerror();
    *why = xasprintf("cannot load %s: %s", path, e ? e : "unknown error");
    close(fd);
    return NULL;
  }
  *fd_out = fd;
  return dl;
}

static void close_plugin(void *dl, int fd) {
  dlclose(dl);
  close(fd);
}

static plugin_inst *load_one(registry *r, const cfg_plugin *cp, char **why) {
  int fd = -1;
  void *dl = open_plugin(r, cp->path, &fd, why);
  if (!dl)
    return NULL;
  dlerror();
  void *sym = dlsym(dl, SLASHD_ENTRY_SYMBOL);
  if (!sym) {
    *why =
        xasprintf("%s exports no %s symbol; is it a slashd plugin?", cp->path, SLASHD_ENTRY_SYMBOL);
    close_plugin(dl, fd);
    return NULL;
  }
  slashd_entry_fn entry;
  memcpy(&entry, &sym, sizeof entry);
  const slashd_plugin *d = entry();
  long ncmds;
  if (!d) {
    *why = xstrdup("the entry symbol returned no descriptor");
  } else if (!check_abi(d, why)) {
  } else if (!route_name_valid(d->name)) {
    *why = xstrdup("the descriptor's name is missing or invalid");
  } else if (registry_find(r, d->name)) {
    /* Before the section check: a loaded plugin's name always differs
     * from this section's, so that check would hide the real problem. */
    *why = xasprintf("%s is the plugin \"%s\", and a plugin named \"%s\" is already loaded",
                     cp->path, d->name, d->name);
  } else if (strcmp(d->name, cp->name) != 0) {
    *why = xasprintf("%s is the plugin \"%s\", but the section is [plugin.%s]", cp->path, d->name,
                     cp->name);
  } else if ((ncmds = check_commands(d, why)) > 0) {
    plugin_inst *p = xcalloc(1, sizeof *p);
    p->host = (slashd_host){.reg = r, .name = xstrdup(d->name), .section = cp->section};
    p->path = xstrdup(cp->path);
    p->dl = dl;
    p->fd = fd;
    p->desc = d;
    p->n_cmds = (size_t)ncmds;
    return p;
  }
  close_plugin(dl, fd);
  return NULL;
}

static void inst_free(plugin_inst *p) {
  if (p->dl)
    close_plugin(p->dl, p->fd);
  free(p->host.name);
  free(p->path);
  free(p);
}

registry *registry_open(const config *c, const slashd_host_api *api, registry_diag_fn diag,
                        void *ud) {
  registry *r = xcalloc(1, sizeof *r);
  r->cfg = c;
  r->api = api;
  r->p = xcalloc(c->n_plugins ? c->n_plugins : 1, sizeof *r->p);
  for (size_t i = 0; i < c->n_plugins; i++) {
    const cfg_plugin *cp = &c->plugins[i];
    if (!cp->enabled)
      continue;
    char *why = NULL;
    plugin_inst *p = load_one(r, cp, &why);
    if (!p) {
      report(diag, ud, cp->name, cp->line, true, why);
      free(why);
      continue;
    }
    p->line = cp->line;
    r->p[r->n++] = p;
  }
  return r;
}

void registry_init(registry *r, registry_diag_fn diag, void *ud) {
  size_t kept = 0;
  for (size_t i = 0; i < r->n; i++) {
    plugin_inst *p = r->p[i];
    if (p->desc->init) {
      slashd_status st = p->desc->init(&p->host, r->api, &p->state);
      if (st != SLASHD_OK) {
        char *msg = xasprintf("init failed (status %d); the plugin is skipped", (int)st);
        report(diag, ud, p->host.name, p->line, true, msg);
        free(msg);
        /* Nothing the plugin registered outlives a failed init: commands
         * are static data, so dropping the handle undoes it all. */
        inst_free(p);
        continue;
      }
    }
    p->ready = true;
    r->p[kept++] = p;
    log_kv(SLOG_DEBUG, "plugin_loaded", KV_S("plugin", p->host.name),
           KV_S("version", p->desc->version ? p->desc->version : ""), KV_U("commands", p->n_cmds));
  }
  r->n = kept;
}

registry *registry_load(const config *c, const slashd_host_api *api, registry_diag_fn diag,
                        void *ud) {
  registry *r = registry_open(c, api, diag, ud);
  registry_init(r, diag, ud);
  return r;
}

void registry_unload(registry *r) {
  if (!r)
    return;
  for (size_t i = r->n; i-- > 0;) {
    plugin_inst *p = r->p[i];
    if (p->ready && p->desc->destroy)
      p->desc->destroy(p->state);
    inst_free(p);
  }
  free(r->p);
  free(r);
}

plugin_inst *registry_find(const registry *r, const char *name) {
  for (size_t i = 0; i < r->n; i++)
    if (strcmp(r->p[i]->host.name, name) == 0)
      return r->p[i];
  return NULL;
}

const slashd_command *plugin_find_cmd(const plugin_inst *p, const char *name) {
  for (size_t i = 0; i < p->n_cmds; i++)
    if (strcmp(p->desc->commands[i].name, name) == 0)
      return &p->desc->commands[i];
  return NULL;
}

/* Plugin strings may be anything; JSON needs valid UTF-8. */
static json_t *jstr(const char *s) {
  char *clean = utf8_sanitize(s ? s : "", s ? strlen(s) : 0);
  json_t *j = json_string(clean);
  free(clean);
  return j;
}

slashd_describe_fn plugin_describe(const plugin_inst *p) {
  const slashd_plugin *d = p->desc;
  if (d->abi_minor < 2 || d->size < offsetof(slashd_plugin, describe) + sizeof d->describe)
    return NULL;
  return d->describe;
}

bool plugin_cmd_confirms(const plugin_inst *p, const slashd_command *c) {
  /* Flags a 1.0/1.1 plugin never knew of are not read from it: its write
   * commands ask, its read commands do not. */
  unsigned flags = p->desc->abi_minor >= 2 ? c->flags : 0;
  if (c->access == SLASHD_WRITE)
    return !(flags & SLASHD_CMD_NO_CONFIRM);
  return (flags & SLASHD_CMD_CONFIRM) != 0;
}

json_t *registry_manifest(const registry *r) {
  json_t *plugins = json_array();
  for (size_t i = 0; i < r->n; i++) {
    const plugin_inst *p = r->p[i];
    json_t *cmds = json_array();
    for (size_t j = 0; j < p->n_cmds; j++) {
      const slashd_command *c = &p->desc->commands[j];
      json_array_append_new(
          cmds,
          json_pack("{s:s, s:o, s:o, s:i, s:i, s:s, s:b, s:b}", "name", c->name, "usage",
                    jstr(c->usage), "summary", jstr(c->summary), "min", c->min_args, "max",
                    c->max_args, "access", c->access == SLASHD_WRITE ? "write" : "read", "default",
                    (c->flags & SLASHD_CMD_DEFAULT) != 0, "confirm", plugin_cmd_confirms(p, c)));
    }
    json_array_append_new(plugins, json_pack("{s:s, s:o, s:o, s:o}", "name", p->host.name,
                                             "version", jstr(p->desc->version), "summary",
                                             jstr(p->desc->summary), "commands", cmds));
  }
  return json_pack("{s:o}", "plugins", plugins);
}
