/* Form bodies from the network, before and after verification. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/form.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  form f;
  char *bad = NULL;
  if (form_parse((const char *)data, size, &f, &bad) == FORM_OK) {
    for (size_t i = 0; i < f.n; i++) {
      /* What the front door does with each field. */
      (void)utf8_is_clean(f.f[i].value, f.f[i].value_len);
      char *enc = form_encode(f.f[i].value);
      char *name = form_encode(f.f[i].name);
      form g;
      size_t n = strlen(name) + 1 + strlen(enc);
      char *body = xmalloc(n + 1);
      strcpy(body, name);
      strcat(body, "=");
      strcat(body, enc);
      free(name);
      /* Encoding then decoding gives the value back (up to the first NUL). */
      if (form_parse(body, n, &g, NULL) == FORM_OK) {
        if (g.n != 1 || strcmp(g.f[0].value, f.f[i].value) != 0)
          abort();
        form_free(&g);
      }
      free(body);
      free(enc);
    }
    (void)form_get(&f, "text");
    form_free(&f);
  }
  free(bad);
  return 0;
}
