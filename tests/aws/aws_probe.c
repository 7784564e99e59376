/* aws_probe: a tiny CLI over the AWS client for integration tests (and for
 * poking at LocalStack/moto by hand). Prints one JSON object on stdout:
 *
 *   aws_probe [OPTIONS] call SERVICE ACTION [PARAMS_JSON]
 *   aws_probe [OPTIONS] creds
 *   aws_probe [OPTIONS] assume-role ROLE_ARN SESSION [SOURCE_IDENTITY [TAGS_JSON [DURATION]]]
 *                       [-- SERVICE ACTION [PARAMS_JSON]]   (then one call with the new creds)
 *   aws_probe [OPTIONS] kms-decrypt CIPHERTEXT_B64
 *   aws_probe [OPTIONS] region
 *   aws_probe bench [MS]
 *
 * OPTIONS: --region R, --endpoint-url URL (as the ini's [aws] keys),
 * --call-region R (aws_call_region), --max-attempts N, --timeout S,
 * --container-host URL (where RELATIVE_URI points; tests only).
 *
 * Output: {"status":"ok", …} or {"status":"<aws_status_name>","error":"…"}.
 * Exit 0 on ok, 1 on an AWS error, 2 on a usage error. Secrets are never
 * printed: credentials show as access key id, source, expiration and
 * whether a token is present. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "aws/aws.h"
#include "aws/client_internal.h"
#include "aws/codec.h"
#include "aws/sigv4.h"
#include "base/log.h"
#include "base/util.h"

static int usage(void) {
  fprintf(stderr, "usage: aws_probe [--region R] [--endpoint-url URL] [--call-region R] "
                  "[--max-attempts N] [--timeout S] [--container-host URL]\n"
                  "         call SERVICE ACTION [PARAMS_JSON] | creds | region |\n"
                  "         assume-role ROLE_ARN SESSION [SOURCE_IDENTITY [TAGS_JSON [DURATION]]] "
                  "[-- SERVICE ACTION [PARAMS_JSON]] |\n"
                  "         kms-decrypt CIPHERTEXT_B64 | bench [MS]\n");
  return 2;
}

static int emit(json_t *o) {
  char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
  puts(s ? s : "{}");
  free(s);
  int rc = str_eq(json_string_value(json_object_get(o, "status")), "ok") ? 0 : 1;
  json_decref(o);
  return rc;
}

static int emit_error(aws_status st, char *err) {
  json_t *o = json_pack("{s:s, s:s}", "status", aws_status_name(st), "error", err ? err : "");
  free(err);
  return emit(o);
}

static json_t *creds_json(const aws_creds *c) {
  return json_pack("{s:s, s:s, s:s?, s:b, s:I}", "status", "ok", "access_key_id", c->access_key_id,
                   "source", c->source, "temporary", c->session_token != NULL, "expiration",
                   (json_int_t)c->expiration);
}

static json_t *parse_json_arg(const char *s, bool *bad) {
  *bad = false;
  if (!s)
    return NULL;
  json_error_t je;
  json_t *j = json_loads(s, 0, &je);
  if (!j) {
    fprintf(stderr, "aws_probe: bad JSON argument: %s\n", je.text);
    *bad = true;
  }
  return j;
}

static int do_call(aws_client *c, const aws_creds *creds, const char *region, int argc,
                   char **argv) {
  if (argc < 2 || argc > 3)
    return usage();
  bool bad;
  json_t *params = parse_json_arg(argc == 3 ? argv[2] : NULL, &bad), *out = NULL;
  if (bad)
    return 2;
  char *err = NULL;
  aws_status st = aws_call_region(c, creds, region, argv[0], argv[1], params, &out, &err);
  json_decref(params);
  if (st != AWS_OK)
    return emit_error(st, err);
  json_t *o = json_pack("{s:s, s:o, s:i}", "status", "ok", "result", out, "attempts",
                        (int)aws_client_last_attempts(c));
  return emit(o);
}

static int do_assume(aws_client *c, const char *region, int argc, char **argv) {
  int split = argc;
  for (int i = 0; i < argc; i++)
    if (strcmp(argv[i], "--") == 0)
      split = i;
  if (split < 2 || split > 5)
    return usage();
  bool bad;
  json_t *tags = parse_json_arg(split > 3 ? argv[3] : NULL, &bad);
  if (bad)
    return 2;
  long duration = 0;
  if (split > 4 && !parse_int(argv[4], 0, 43200, &duration))
    return usage();
  aws_creds cr;
  char *err = NULL;
  aws_status st = aws_assume_role(c, NULL, argv[0], argv[1], split > 2 ? argv[2] : NULL, tags,
                                  (int)duration, &cr, &err);
  json_decref(tags);
  if (st != AWS_OK)
    return emit_error(st, err);
  if (split == argc) {
    int rc = emit(creds_json(&cr));
    aws_creds_clear(&cr);
    return rc;
  }
  /* Then one call with the assumed credentials; report both. */
  int rest = argc - split - 1;
  json_t *params = parse_json_arg(rest == 3 ? argv[split + 3] : NULL, &bad), *out = NULL;
  if (bad || rest < 2 || rest > 3) {
    aws_creds_clear(&cr);
    json_decref(params);
    return usage();
  }
  st = aws_call_region(c, &cr, region, argv[split + 1], argv[split + 2], params, &out, &err);
  json_decref(params);
  json_t *o = creds_json(&cr);
  aws_creds_clear(&cr);
  if (st != AWS_OK) {
    json_object_set_new(o, "status", json_string(aws_status_name(st)));
    json_object_set_new(o, "error", json_string(err));
    free(err);
  } else {
    json_object_set_new(o, "result", out);
  }
  return emit(o);
}

static int do_kms(aws_client *c, int argc, char **argv) {
  if (argc != 1)
    return usage();
  unsigned char *plain;
  size_t len;
  char *err = NULL;
  aws_status st = aws_kms_decrypt(c, argv[0], &plain, &len, &err);
  if (st != AWS_OK)
    return emit_error(st, err);
  char *b64 = aws_base64_encode(plain, len);
  json_t *o = json_pack("{s:s, s:s, s:I}", "status", "ok", "plaintext_base64", b64, "length",
                        (json_int_t)len);
  OPENSSL_cleanse(plain, len);
  free(plain);
  free(b64);
  return emit(o);
}

int main(int argc, char **argv) {
  log_configure("logfmt", getenv("AWS_PROBE_LOG") ? getenv("AWS_PROBE_LOG") : "warn");
  aws_config cfg = {.log = log_fields};
  const char *call_region = NULL, *container_host = NULL;
  int i = 1;
  for (; i < argc && str_starts(argv[i], "--"); i += 2) {
    if (i + 1 >= argc)
      return usage();
    long n;
    if (strcmp(argv[i], "--region") == 0)
      cfg.region = argv[i + 1];
    else if (strcmp(argv[i], "--endpoint-url") == 0)
      cfg.endpoint_url = argv[i + 1];
    else if (strcmp(argv[i], "--call-region") == 0)
      call_region = argv[i + 1];
    else if (strcmp(argv[i], "--container-host") == 0)
      container_host = argv[i + 1];
    else if (strcmp(argv[i], "--max-attempts") == 0 && parse_int(argv[i + 1], 1, 10, &n))
      cfg.max_attempts = (int)n;
    else if (strcmp(argv[i], "--timeout") == 0 && parse_int(argv[i + 1], 1, 600, &n))
      cfg.timeout = (int)n;
    else
      return usage();
  }
  if (i >= argc)
    return usage();
  const char *cmd = argv[i++];
  int rest = argc - i;
  char **args = argv + i;
  if (strcmp(cmd, "bench") == 0) {
    long ms = 1000;
    if (rest > 1 || (rest == 1 && !parse_int(args[0], 1, 600000, &ms)))
      return usage();
    return emit(json_pack("{s:s, s:f}", "status", "ok", "signatures_per_second",
                          sigv4_benchmark((unsigned)ms)));
  }
  aws_client *c = aws_client_new(&cfg);
  if (container_host)
    aws_client_set_container_host(c, container_host);
  int rc;
  if (strcmp(cmd, "call") == 0) {
    rc = do_call(c, NULL, call_region, rest, args);
  } else if (strcmp(cmd, "assume-role") == 0) {
    rc = do_assume(c, call_region, rest, args);
  } else if (strcmp(cmd, "kms-decrypt") == 0) {
    rc = do_kms(c, rest, args);
  } else if (strcmp(cmd, "region") == 0 && rest == 0) {
    rc = emit(json_pack("{s:s, s:s, s:s}", "status", "ok", "region", aws_client_region(c), "source",
                        aws_client_region_source(c)));
  } else if (strcmp(cmd, "creds") == 0 && rest == 0) {
    char *err = NULL;
    const aws_creds *cr = aws_host_creds(c, &err);
    rc = cr ? emit(creds_json(cr)) : emit_error(AWS_ERR_CREDENTIALS, err);
  } else {
    rc = usage();
  }
  aws_client_free(c);
  return rc;
}
