/* KMS Decrypt for `kms:BASE64` secret references. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "aws.h"
#include "client_internal.h"
#include "codec.h"
#include "common/util.h"

aws_status aws_kms_decrypt(aws_client *c, const char *ciphertext_b64, unsigned char **plain,
                           size_t *plain_len, char **err) {
  *plain = NULL;
  *plain_len = 0;
  /* Validate and normalize locally (white space, line breaks in the ini):
   * a clear message beats KMS's SerializationException. */
  unsigned char *blob = NULL;
  size_t blob_len = 0;
  if (!ciphertext_b64 || !aws_base64_decode(ciphertext_b64, &blob, &blob_len) || !blob_len) {
    free(blob);
    *err = xstrdup("the KMS ciphertext is not valid base64");
    return AWS_ERR_UNSUPPORTED;
  }
  char *clean = aws_base64_encode(blob, blob_len);
  free(blob);
  json_t *params = json_pack("{s:s}", "CiphertextBlob", clean);
  free(clean);
  json_t *res = NULL;
  aws_status st = client_call(c, NULL, NULL, "kms", "Decrypt", params, CALL_SENSITIVE, &res, err);
  json_decref(params);
  if (st != AWS_OK)
    return st;
  json_t *pt = json_object_get(res, "Plaintext");
  if (!json_is_string(pt) || !aws_base64_decode(json_string_value(pt), plain, plain_len)) {
    *err = xstrdup("the KMS Decrypt answer has no valid Plaintext");
    st = AWS_ERR_PARSE;
  }
  if (json_is_string(pt))
    OPENSSL_cleanse((char *)json_string_value(pt), json_string_length(pt));
  json_decref(res);
  return st;
}
