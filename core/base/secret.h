/* Secret references from the ini: env:NAME, file:/path, kms:BASE64. The
 * resolved bytes live only in memory and are wiped when freed. */
#ifndef SLASHD_SECRET_H
#define SLASHD_SECRET_H

#include <stdbool.h>
#include <stddef.h>

/* Decrypts a KMS ciphertext (base64). Provided by the AWS client. */
typedef bool (*kms_decrypt_fn)(void *ud, const char *ciphertext_b64, unsigned char **plain,
                               size_t *len, char **err);

/* Resolves `ref`. On failure *err says what went wrong without revealing any
 * part of the secret. `kms` may be NULL (kms: references then fail). */
bool secret_resolve(const char *ref, kms_decrypt_fn kms, void *kms_ud, unsigned char **out,
                    size_t *len, char **err);
void secret_free(unsigned char *p, size_t len);

#endif
