/* SigV4 canonicalization with hostile paths, queries and headers. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/hdrs.h"
#include "aws/sigv4.h"
#include "base/util.h"

/* data = path \n query \n (header-name: value \n)* [\n body] */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *in = xstrndup((const char *)data, size);
  char *save = NULL;
  char *path = strtok_r(in, "\n", &save);
  char *query = path ? strtok_r(NULL, "\n", &save) : NULL;
  aws_headers h = {0};
  hdrs_add(&h, "Host", "ec2.us-east-1.amazonaws.com");
  char *line;
  int n = 0;
  while ((line = strtok_r(NULL, "\n", &save)) && n++ < 32) {
    char *colon = strchr(line, ':');
    if (colon && colon != line) {
      *colon = '\0';
      hdrs_add(&h, line, colon + 1);
    }
  }
  for (int s3 = 0; s3 < 2; s3++) {
    char *p = sigv4_canonical_path(path ? path : "/", s3, !s3);
    /* The client only sends absolute paths; those stay absolute. */
    if (!p || (path && path[0] == '/' && p[0] != '/'))
      abort();
    free(p);
  }

  char *q = sigv4_canonical_query(query);
  if (q) {
    /* Canonical query is strictly encoded: no raw space or '+'. */
    if (strchr(q, ' ') || strchr(q, '+'))
      abort();
    free(q);
  }
  char *signed_headers = NULL;
  char *ch = sigv4_canonical_headers(&h, &signed_headers);
  free(ch);
  free(signed_headers);
  sigv4_creds creds = {.access_key_id = "AKIDEXAMPLE",
                       .secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                       .session_token = size & 1 ? "token" : NULL};
  sigv4_opts opts = {.region = "us-east-1",
                     .service = size & 2 ? "s3" : "ec2",
                     .now = 1440938160,
                     .s3 = (size & 2) != 0};
  sigv4_request req = {.method = size & 4 ? "GET" : "POST",
                       .path = path ? path : "/",
                       .query = query,
                       .headers = &h,
                       .body = data,
                       .body_len = size};
  char *err = NULL;
  sigv4_trace t = {0};
  if (sigv4_sign(&req, &creds, &opts, &t, &err)) {
    if (strlen(t.signature) != 64 || !hdrs_get(&h, "Authorization"))
      abort();
  }
  sigv4_trace_free(&t);
  free(err);
  hdrs_free(&h);
  free(in);
  return 0;
}
