/* Files the host trusts or creates, safe against other local users.
 *
 * A file is only as safe as every directory above it: whoever can write a
 * directory on the way can rename what is below it and put their own in its
 * place. So a trusted path is checked component by component, and every file
 * the host creates is created new (O_EXCL, never through a symbolic link),
 * mode 0600. */
#ifndef SLASHD_SAFEFILE_H
#define SLASHD_SAFEFILE_H

#include <stdbool.h>

/* Every directory from / down to (and including) `dir`, after resolving
 * symbolic links in it: owned by root or the user slashd runs as, not
 * writable by others (unless sticky, like /tmp) nor by a group other than
 * root's. `what` names the path in *why (e.g. "plugin /x/y.so"). */
bool safefile_dirs_ok(const char *dir, const char *what, char **why);

/* A state directory: its parents as above, and itself a directory owned by
 * the user slashd runs as, writable by nobody else. */
bool safefile_state_dir_ok(const char *dir, char **why);

/* Creates `path` anew for writing: O_EXCL and O_NOFOLLOW, mode 0600,
 * close-on-exec. A leftover file of that name (a temporary file of an
 * earlier run) is removed first when `replace` is true. Returns the
 * descriptor or -1 with errno. */
int safefile_create(const char *path, bool replace);

/* Opens `path` for appending, creating it as above when it does not exist.
 * An existing one must be a regular file (not a symbolic link) owned by the
 * user slashd runs as; its mode is brought down to 0600. Returns the
 * descriptor, or -1 with *why. */
int safefile_append(const char *path, char **why);

#endif
