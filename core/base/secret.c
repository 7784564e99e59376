#include "base/secret.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "base/log.h"
#include "base/util.h"

#define SECRET_MAX 65536

static bool from_env(const char *name, unsigned char **out, size_t *len, char **err) {
  const char *v = getenv(name);
  if (!v || !*v) {
    *err = xasprintf("environment variable %s is not set (or empty)", name);
    return false;
  }
  *len = strlen(v);
  *out = (unsigned char *)xstrndup(v, *len);
  return true;
}

static bool from_file(const char *path, unsigned char **out, size_t *len, char **err) {
  struct stat st;
  if (stat(path, &st) != 0) {
    *err = xasprintf("%s: %s", path, strerror(errno));
    return false;
  }
  if (st.st_mode & S_IROTH)
    log_kv(SLOG_WARN, "secret_file_readable", KV_S("file", path),
           KV_S("msg", "anyone on this machine can read this secret; run chmod o-r on it"));
  size_t n = 0;
  char *data = read_file(path, SECRET_MAX, &n);
  if (!data) {
    *err = xasprintf("%s: %s", path, strerror(errno));
    return false;
  }
  /* A trailing newline from an editor is not part of the secret. */
  while (n && (data[n - 1] == '\n' || data[n - 1] == '\r'))
    data[--n] = '\0';
  if (!n) {
    free(data);
    *err = xasprintf("%s is empty", path);
    return false;
  }
  *out = (unsigned char *)data;
  *len = n;
  return true;
}

bool secret_resolve(const char *ref, kms_decrypt_fn kms, void *kms_ud, unsigned char **out,
                    size_t *len, char **err) {
  *out = NULL;
  *len = 0;
  *err = NULL;
  if (str_starts(ref, "env:"))
    return from_env(ref + 4, out, len, err);
  if (str_starts(ref, "file:"))
    return from_file(ref + 5, out, len, err);
  if (str_starts(ref, "kms:")) {
    if (!kms) {
      *err = xstrdup("kms: references need the AWS client, which is not available here");
      return false;
    }
    char *kerr = NULL;
    if (!kms(kms_ud, ref + 4, out, len, &kerr)) {
      *err = xasprintf("KMS could not decrypt it: %s", kerr ? kerr : "unknown error");
      free(kerr);
      return false;
    }
    return true;
  }
  *err = xstrdup("not a secret reference (env:NAME, file:/path or kms:BASE64)");
  return false;
}

void secret_free(unsigned char *p, size_t len) {
  if (!p)
    return;
  OPENSSL_cleanse(p, len);
  free(p);
}
