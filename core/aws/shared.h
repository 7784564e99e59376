/* The shared AWS files as botocore reads them, with where each setting came
 * from (for error messages that name the file and line).
 *
 * Sections: in the config file "[default]", "[profile NAME]" and
 * "[sso-session NAME]"; in the credentials file "[NAME]" is a profile. A
 * profile's settings are the config file's overlaid by the credentials
 * file's, key by key (botocore's full_config); shared_get_in asks one file
 * only, which the chain needs (keys in the credentials file come before a
 * credential_process, keys in the config file after it). */
#ifndef SLASHD_AWS_SHARED_H
#define SLASHD_AWS_SHARED_H

#include <stdbool.h>
#include <stddef.h>

enum { SHARED_CREDENTIALS = 0, SHARED_CONFIG = 1 };
typedef enum { SEC_PROFILE, SEC_SSO_SESSION, SEC_OTHER } shared_kind;

typedef struct shared_kv {
  shared_kind kind;
  char *name; /* profile or sso-session name */
  char *key;  /* lower case */
  char *value;
  int file; /* SHARED_CREDENTIALS or SHARED_CONFIG */
  int line;
} shared_kv;

typedef struct aws_shared {
  char *path[2]; /* credentials, config */
  bool read[2];
  shared_kv *v;
  size_t n, cap;
  char *why; /* what could not be read: "PATH: not found; …" or "" */
} aws_shared;

/* Reads both files (paths from AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE,
 * else ~/.aws). Returns whether either could be read. Values are wiped on
 * shared_free. */
bool shared_load(aws_shared *s);
/* The same from texts (tests); paths name the texts in messages. */
void shared_from_texts(aws_shared *s, const char *credentials_text, const char *config_text,
                       const char *credentials_path, const char *config_path);
void shared_free(aws_shared *s);

bool shared_profile_exists(const aws_shared *s, const char *profile);
bool shared_session_exists(const aws_shared *s, const char *session);
/* A profile's setting: the credentials file's when both files have it. */
const shared_kv *shared_get(const aws_shared *s, const char *profile, const char *key);
/* A setting in one file only. */
const shared_kv *shared_get_in(const aws_shared *s, int file, const char *profile, const char *key);
/* An [sso-session NAME] setting. */
const shared_kv *shared_session_get(const aws_shared *s, const char *session, const char *key);
/* The value of a profile setting, or NULL (also for an empty value). */
const char *shared_value(const aws_shared *s, const char *profile, const char *key);
/* "/home/u/.aws/config:12" for messages; a new string. */
char *shared_where(const aws_shared *s, const shared_kv *kv);
/* Calls fn for each setting of a profile (both files, in file order). */
void shared_each(const aws_shared *s, const char *profile,
                 void (*fn)(void *ud, const shared_kv *kv), void *ud);

#endif
