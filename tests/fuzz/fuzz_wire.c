/* The main <-> worker messages and journal records: any bytes either decode
 * to a message that encodes again, or are refused with an error; never a
 * crash, a leak or an error without a message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  json_t *m = json_loadb((const char *)data, size, 0, NULL);
  if (!m)
    return 0;
  wire_msg w;
  char *err = NULL;
  if (wire_decode(m, &w, &err)) {
    if (err)
      abort();
    if (w.job) {
      json_t *again = wire_job(w.job, w.creds);
      if (!again)
        abort();
      json_decref(again);
    }
    wire_msg_free(&w);
  } else if (!err) {
    abort();
  }
  free(err);
  err = NULL;
  if (wire_decode_record(m, &w, &err)) {
    if (w.job) {
      char *line = wire_accept_line(w.job);
      free(line);
    }
    wire_msg_free(&w);
  } else if (!err) {
    abort();
  }
  free(err);
  json_decref(m);
  return 0;
}
