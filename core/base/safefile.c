#include "base/safefile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"

/* One directory on the way to something trusted. */
static bool dir_ok(const char *dir, const struct stat *st, const char *what, char **why) {
  if (st->st_uid != 0 && st->st_uid != geteuid()) {
    *why = xasprintf("%s is in %s, which is owned by uid %u, neither root nor the user slashd "
                     "runs as",
                     what, dir, (unsigned)st->st_uid);
    return false;
  }
  bool sticky = st->st_mode & S_ISVTX;
  if ((st->st_mode & S_IWOTH) && !sticky) {
    *why = xasprintf("%s is in %s, which anyone can write to", what, dir);
    return false;
  }
  if ((st->st_mode & S_IWGRP) && st->st_gid != 0 && !sticky) {
    *why = xasprintf("%s is in %s, which group %u can write to; run chmod g-w on it", what, dir,
                     (unsigned)st->st_gid);
    return false;
  }
  return true;
}

static bool check_one(const char *dir, const char *what, char **why) {
  struct stat st;
  if (lstat(dir, &st) != 0) {
    *why = xasprintf("%s: %s: %s", what, dir, strerror(errno));
    return false;
  }
  return dir_ok(dir, &st, what, why);
}

bool safefile_dirs_ok(const char *dir, const char *what, char **why) {
  char *real = realpath(dir, NULL);
  if (!real) {
    *why = xasprintf("%s: %s: %s", what, dir, strerror(errno));
    return false;
  }
  /* "/", "/a", "/a/b", ...: no links are left in a resolved path. */
  bool ok = check_one("/", what, why);
  for (char *p = real + 1; ok && *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    ok = check_one(real, what, why);
    *p = '/';
  }
  if (ok && real[1])
    ok = check_one(real, what, why);
  free(real);
  return ok;
}

bool safefile_state_dir_ok(const char *dir, char **why) {
  /* Its parents here (".." of wherever it really is), itself below. */
  char *what = xasprintf("[server] state_dir %s", dir);
  char *up = xasprintf("%s/..", dir);
  bool ok = safefile_dirs_ok(up, what, why);
  free(up);
  free(what);
  if (!ok)
    return false;
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    *why = xasprintf("[server] state_dir %s is not a directory", dir);
    return false;
  }
  if (st.st_uid != geteuid()) {
    *why = xasprintf("[server] state_dir %s is owned by uid %u, not by the user slashd runs as "
                     "(uid %u); chown it",
                     dir, (unsigned)st.st_uid, (unsigned)geteuid());
    return false;
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    *why = xasprintf("[server] state_dir %s is writable by group or others (mode %03o); run "
                     "chmod 700 on it",
                     dir, (unsigned)(st.st_mode & 0777));
    return false;
  }
  return true;
}

int safefile_create(const char *path, bool replace) {
  if (replace && unlink(path) != 0 && errno != ENOENT)
    return -1;
  return open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
}

int safefile_append(const char *path, char **why) {
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd >= 0 || errno != EEXIST)
    goto out;
  fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    goto out;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
    *why = xasprintf("%s is not a regular file owned by the user slashd runs as (uid %u)", path,
                     (unsigned)geteuid());
    close(fd);
    return -1;
  }
  if ((st.st_mode & 077) && fchmod(fd, 0600) != 0) {
    *why = xasprintf("%s: cannot make it mode 0600: %s", path, strerror(errno));
    close(fd);
    return -1;
  }
  fcntl(fd, F_SETFL, O_APPEND);
out:
  if (fd < 0)
    *why = xasprintf("%s: %s", path,
                     errno == ELOOP ? "is a symbolic link; name the real file" : strerror(errno));
  return fd;
}
