/* Where things are when no flag says: the build tree or an installed prefix. */
#ifndef SLASHD_PATHS_H
#define SLASHD_PATHS_H

#define SLASHD_DEFAULT_STATE_DIR "/var/lib/slashd"

/* The directory of the running binary (new string), or "." if unknown. */
char *paths_exe_dir(void);
/* <exe>/plugins in a build tree, <prefix>/lib/slashd/plugins when installed. */
char *paths_default_plugin_dir(void);
/* config/slashd.ini in a build tree, <prefix>/etc/slashd/slashd.ini when
 * installed. */
char *paths_default_config(void);

#endif
