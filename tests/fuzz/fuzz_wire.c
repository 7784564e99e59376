/* The main <-> worker messages and journal records: any bytes either decode
 * to a message that encodes again, or are refused with an error; never a
 * crash, a leak or an error without a message. The bytes are one datagram
 * as ipc_read sees it: a header, and a payload after a NUL. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/ipc.h"
#include "base/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* As ipc_read leaves it: the datagram, then a NUL. */
  char *buf = malloc(size + 1);
  if (!buf)
    return 0;
  memcpy(buf, data, size);
  buf[size] = '\0';
  wire_payload pl = {0};
  json_error_t jerr;
  json_t *m = ipc_parse(buf, size, &pl.p, &pl.len, &jerr);
  if (!m) {
    free(buf);
    return 0;
  }
  wire_msg w;
  char *err = NULL;
  if (wire_decode(m, &pl, &w, &err)) {
    if (err)
      abort();
    if (w.t == WIRE_REPLY && strlen(w.text) != pl.len)
      abort(); /* the text is the whole payload, NUL-free */
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
  free(buf);
  return 0;
}
