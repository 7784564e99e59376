#include "base/paths.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"

char *paths_exe_dir(void) {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0)
    return xstrdup(".");
  buf[n] = '\0';
  char *slash = strrchr(buf, '/');
  if (!slash)
    return xstrdup(".");
  *slash = '\0';
  return xstrdup(buf[0] ? buf : "/");
}

static bool is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The installed prefix: the parent of the binary's directory ("/usr" for
 * /usr/bin/slashd), spelled without "..", so the paths built from it read
 * well in messages. */
static char *prefix_of(const char *exe_dir) {
  const char *slash = strrchr(exe_dir, '/');
  if (!slash)
    return xasprintf("%s/..", exe_dir);
  if (slash == exe_dir) /* the binary is in "/" */
    return xstrdup("");
  return xstrndup(exe_dir, (size_t)(slash - exe_dir));
}

char *paths_default_plugin_dir(void) {
  char *exe = paths_exe_dir();
  char *build = xasprintf("%s/plugins", exe);
  if (is_dir(build)) {
    free(exe);
    return build;
  }
  free(build);
  char *prefix = prefix_of(exe);
  char *installed = xasprintf("%s/lib/slashd/plugins", prefix);
  free(prefix);
  free(exe);
  return installed;
}

char *paths_default_config(void) {
  char *exe = paths_exe_dir();
  char *prefix = prefix_of(exe);
  char *installed = xasprintf("%s/etc/slashd/slashd.ini", prefix);
  free(prefix);
  free(exe);
  if (is_file(installed))
    return installed;
  free(installed);
  return xstrdup("config/slashd.ini");
}
