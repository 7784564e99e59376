/* The secrets a Lambda function resolves at init, from the references in
 * its configuration (env:, file:, kms: — KMS through the AWS client): the
 * signing secret and the legacy verification token. The front verifies with
 * them; both functions derive the confirmation key from them. */
#ifndef SLASHD_LAMBDA_SECRETS_H
#define SLASHD_LAMBDA_SECRETS_H

#include <stdbool.h>
#include <stddef.h>

#include "aws/aws.h"
#include "base/config.h"
#include "base/confirm.h"

typedef struct lambda_secrets {
  unsigned char *secret, *token; /* NULL when not configured */
  size_t secret_len, token_len;
} lambda_secrets;

/* False with *err (new string, naming the key, never the value). */
bool lambda_secrets_load(const config *c, aws_client *aws, lambda_secrets *out, char **err);
/* The confirmation key every door derives (from the secret, else the
 * token). False when neither is configured. */
bool lambda_secrets_confirm_key(const lambda_secrets *s, unsigned char key[CONFIRM_KEY_LEN]);
void lambda_secrets_free(lambda_secrets *s);

#endif
