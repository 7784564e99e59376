/* The Lambda zip's `bootstrap`: `slashd lambda` in a binary that carries
 * only what a Lambda function runs (no HTTP server library), so the zip
 * stays small. Lambda starts it with no arguments; the job runner re-executes
 * it (/proc/self/exe) with a mode as its first argument. */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "lambda/lambda.h"
#include "worker/worker.h"

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "worker") == 0)
    return worker_main(argc - 1, argv + 1);
  if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)) {
    printf("slashd %s (Lambda bootstrap)\n", SLASHD_VERSION);
    return 0;
  }
  if (argc >= 2 && strcmp(argv[1], "lambda") != 0) {
    fprintf(stderr, "usage: bootstrap [lambda]   (the Lambda custom runtime of slashd)\n");
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int rc = lambda_main(argc, argv);
  curl_global_cleanup();
  return rc;
}
