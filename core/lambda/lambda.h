/* `slashd lambda`: the Lambda custom runtime (the zip's `bootstrap`).
 * _HANDLER names the function's role: "front" (Slack → verify, admit, queue,
 * ack) or "worker" (queue → run the job → replies). */
#ifndef SLASHD_LAMBDA_H
#define SLASHD_LAMBDA_H

#include <stdint.h>

#include <jansson.h>

#include "base/config.h"
#include "lambda/rapi.h"

/* One function role. init runs once per container (an error there is the
 * init error Lambda shows); handle runs once per invocation. */
typedef struct lambda_handler {
  const char *name;
  /* cfg is borrowed for the container's life. NULL with *err (new string). */
  void *(*init)(const config *cfg, char **err);
  /* The invocation's result as a new JSON string, or NULL with *err_type
   * (static) and *err (new string) for an invocation error. */
  char *(*handle)(void *ctx, const rapi_invocation *inv, const json_t *event, const char **err_type,
                  char **err);
  void (*destroy)(void *ctx);
} lambda_handler;

extern const lambda_handler lambda_front;
extern const lambda_handler lambda_worker;

/* Loads every enabled plugin once, as a job's child will, and returns
 * their manifest (registry_manifest; new reference), or NULL with *err: each
 * plugin error as `FILE:LINE: error: [plugin.X] message`, one a line, for
 * the init error. */
json_t *lambda_plugins_manifest(const config *c, char **err);

int lambda_main(int argc, char **argv);

#endif
