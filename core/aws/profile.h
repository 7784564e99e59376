/* The shared AWS files: ~/.aws/credentials ([name]) and ~/.aws/config
 * ([profile name], [default]); paths from AWS_SHARED_CREDENTIALS_FILE and
 * AWS_CONFIG_FILE, profile name from AWS_PROFILE.
 *
 * Our own small parser, not inih: Debian's inih reads lines into a fixed
 * 200-byte buffer and a session token is longer than that. Syntax follows
 * what botocore's ConfigParser accepts: "key = value" or "key: value",
 * whole-line comments with '#' or ';', comments after a value when the
 * '#'/';' follows white space, case-insensitive keys, indented lines after a
 * key are continuations or nested settings (ignored). */
#ifndef SLASHD_AWS_PROFILE_H
#define SLASHD_AWS_PROFILE_H

#include <stdbool.h>

typedef struct aws_profile {
  char *name;
  char *access_key_id;
  char *secret_access_key;
  char *session_token;
  char *region;
  /* client settings (botocore's profile keys of the same names) */
  char *ca_bundle, *max_attempts, *retry_mode, *use_fips_endpoint, *use_dualstack_endpoint;
  char *other_source; /* the first key naming a credential source other than
                         keys (role_arn, credential_process, sso_session, …),
                         or NULL; profcreds.c resolves those */
  bool found;         /* the section exists in at least one file */
} aws_profile;

typedef void (*profile_ini_fn)(void *ud, const char *section, const char *key, const char *value);
/* Calls fn for every key of every section of an ini text. */
void profile_ini_parse(const char *text, profile_ini_fn fn, void *ud);
/* The same with the line number (from 1) of each key. */
typedef void (*profile_ini_line_fn)(void *ud, const char *section, const char *key,
                                    const char *value, int line);
void profile_ini_parse_lines(const char *text, profile_ini_line_fn fn, void *ud);
/* "profile ops" with prefix "profile" → "ops" (white space between); NULL
 * when the section is not of that kind. */
const char *profile_section_name(const char *section, const char *prefix);
/* Reads a shared file (at most 1 MiB); NULL and "path: why" appended to
 * *why (after "; " when it is not empty) when it cannot. */
struct sbuf;
char *profile_read_or_why(const char *path, struct sbuf *why);

/* Fills *out with profile `name` from the texts of the two files (either may
 * be NULL). The credentials file wins over the config file, key by key. */
void profile_from_texts(const char *name, const char *credentials_text, const char *config_text,
                        aws_profile *out);

/* The profile name in effect: AWS_PROFILE, else "default". */
const char *profile_name(void);
/* $HOME, else the user's home from the password database, else "/" (a new
 * string): a service started without HOME still finds ~/.aws. */
char *profile_home_dir(void);
/* The two paths in effect (new strings): from the environment, else under
 * $HOME/.aws. "~/" is expanded. */
char *profile_credentials_path(void);
char *profile_config_path(void);

/* Reads the files and fills *out. Returns false when neither file could be
 * read; *why (a new string, always set) says what was found or not, e.g.
 * "/root/.aws/credentials: not found; /root/.aws/config: not found". */
bool profile_load(const char *name, aws_profile *out, char **why);

void profile_free(aws_profile *p);

#endif
