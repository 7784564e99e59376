/* Command text → words → plugin/command, against a fixed table. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/route.h"
#include "base/util.h"

static route_table *table(void) {
  static route_table *t;
  if (!t) {
    json_t *m = json_loads(
        "{\"plugins\":[{\"name\":\"help\",\"commands\":[{\"name\":\"help\",\"usage\":\"[p]\","
        "\"min\":0,\"max\":1,\"default\":true}]},{\"name\":\"ec2\",\"commands\":[{\"name\":"
        "\"list\",\"min\":0,\"max\":0,\"default\":true},{\"name\":\"stop\",\"usage\":\"<id>\","
        "\"min\":1,\"max\":1,\"access\":\"write\"}]},{\"name\":\"echo\",\"commands\":[{\"name\":"
        "\"say\",\"min\":0,\"max\":-1,\"default\":true}]}]}",
        0, NULL);
    char *err = NULL;
    t = route_table_from_json(m, &err);
    json_decref(m);
    if (!t)
      abort();
  }
  return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = xstrndup((const char *)data, size);
  int argc = 0;
  char **argv = NULL;
  char *err = NULL;
  if (route_tokenize(text, &argc, &argv, &err)) {
    if (argc > ROUTE_ARGS_MAX)
      abort();
    route_match m;
    char *msg = NULL;
    route_status st = route_resolve(table(), "/aws", argc, argv, &m, &msg);
    if (st == ROUTE_OK) {
      if (!m.plugin || !m.cmd || m.argc < m.cmd->min_args ||
          (m.cmd->max_args >= 0 && m.argc > m.cmd->max_args))
        abort();
    } else if (!msg) {
      abort();
    }
    free(msg);
    route_argv_free(argc, argv);
  }
  free(err);
  free(text);
  return 0;
}
