#include "lambda/secrets.h"

#include <stdlib.h>
#include <string.h>

#include "base/secret.h"
#include "base/util.h"

static bool kms_decrypt(void *ud, const char *b64, unsigned char **plain, size_t *len, char **err) {
  return aws_kms_decrypt(ud, b64, plain, len, err) == AWS_OK;
}

bool lambda_secrets_load(const config *c, aws_client *aws, lambda_secrets *out, char **err) {
  memset(out, 0, sizeof *out);
  char *e = NULL;
  if (c->signing_secret_ref && !secret_resolve(c->signing_secret_ref, kms_decrypt, aws,
                                               &out->secret, &out->secret_len, &e)) {
    *err = xasprintf("[slack] signing_secret: %s", e);
    free(e);
    return false;
  }
  if (c->verification_token_ref && !secret_resolve(c->verification_token_ref, kms_decrypt, aws,
                                                   &out->token, &out->token_len, &e)) {
    *err = xasprintf("[slack] verification_token: %s", e);
    free(e);
    lambda_secrets_free(out);
    return false;
  }
  return true;
}

bool lambda_secrets_confirm_key(const lambda_secrets *s, unsigned char key[CONFIRM_KEY_LEN]) {
  if (s->secret)
    confirm_key_derive(s->secret, s->secret_len, key);
  else if (s->token)
    confirm_key_derive(s->token, s->token_len, key);
  else
    return false;
  return true;
}

void lambda_secrets_free(lambda_secrets *s) {
  secret_free(s->secret, s->secret_len);
  secret_free(s->token, s->token_len);
  memset(s, 0, sizeof *s);
}
