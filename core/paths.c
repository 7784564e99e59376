#include "paths.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

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

char *paths_default_plugin_dir(void) {
  char *exe = paths_exe_dir();
  char *build = xasprintf("%s/plugins", exe);
  if (is_dir(build)) {
    free(exe);
    return build;
  }
  free(build);
  char *installed = xasprintf("%s/../lib/slashd/plugins", exe);
  free(exe);
  return installed;
}

char *paths_default_config(void) {
  char *exe = paths_exe_dir();
  char *installed = xasprintf("%s/../etc/slashd/slashd.ini", exe);
  free(exe);
  if (is_file(installed))
    return installed;
  free(installed);
  return xstrdup("config/slashd.ini");
}
