/* AWS XML responses → JSON, and error mapping, with hostile XML: deep
 * nesting, entities, DOCTYPEs, huge attributes, broken encodings. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/error.h"
#include "aws/xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *xml = (const char *)data;
  char *err = NULL;
  json_t *j = xml_to_json(xml, size, size & 1 ? XML_EC2_SETS : 0, &err);
  if (j) {
    /* Whatever came in, the result is valid JSON that can be printed. */
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s)
      abort();
    free(s);
    json_decref(j);
  } else if (!err) {
    abort(); /* a refusal always says why */
  }
  free(err);
  /* The same bytes as an error body of every shape. */
  aws_error e;
  aws_error_parse(size ? 400 + (long)(data[0] % 200) : 500, NULL, xml, size, &e);
  char *sentence = aws_error_sentence(&e);
  if (!sentence || !*sentence)
    abort();
  free(sentence);
  aws_error_free(&e);
  return 0;
}
