#include "fakehost.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The same limits as the real host (core/worker/hostapi.h): a plugin that
 * passes here cannot post more than Slack takes there. */
#define FAKE_MAX_POSTS 5
#define FAKE_MAX_INTERIM 3
#define FAKE_MAX_SCRIPT 64
#define FAKE_MAX_CALLS 256
#define FAKE_MAX_CONFIG 16

struct slashd_host {
  fakehost *fh;
};

struct slashd_call {
  fakehost *fh;
};

typedef struct script {
  char *service, *action;
  json_t *answer; /* NULL: fails with st and err */
  slashd_status st;
  char *err;
  bool used;
} script;

struct fakehost {
  struct slashd_host host;
  struct slashd_call call;
  void *dl;
  const slashd_plugin *desc;
  void *state;
  bool inited;
  char *config_key[FAKE_MAX_CONFIG], *config_value[FAKE_MAX_CONFIG];
  size_t n_config;
  slashd_caller caller;
  char *user_id, *region, *account, *text;
  script script[FAKE_MAX_SCRIPT];
  size_t n_script;
  fake_aws_call calls[FAKE_MAX_CALLS];
  size_t n_calls;
  fake_reply replies[FAKE_MAX_POSTS];
  size_t n_replies, n_interims;
  long long deadline_ms; /* on the virtual clock; 0: none */
  long slept_base;
  char *log;
  size_t log_len;
};

/* ---- the virtual clock -------------------------------------------------- */

/* One clock per process, not per fakehost: sleep() and time() are called
 * by the plugin without any handle. fakehost_new resets it. */
static long long g_now_ms = FAKEHOST_EPOCH * 1000LL;
static long g_slept_s;

/* These replace libc's for the whole test binary, and, because the binary
 * exports them, for the plugin it dlopens. */
unsigned int sleep(unsigned int seconds) {
  g_now_ms += (long long)seconds * 1000;
  g_slept_s += (long)seconds;
  return 0;
}

time_t time(time_t *t) {
  time_t now = (time_t)(g_now_ms / 1000);
  if (t)
    *t = now;
  return now;
}

/* ---- small helpers ------------------------------------------------------ */

static char *dup_or_null(const char *s) {
  return s ? strdup(s) : NULL;
}

static void log_add(fakehost *fh, const char *line) {
  size_t n = strlen(line);
  char *p = realloc(fh->log, fh->log_len + n + 2);
  if (!p)
    abort();
  fh->log = p;
  memcpy(fh->log + fh->log_len, line, n);
  fh->log_len += n;
  fh->log[fh->log_len++] = '\n';
  fh->log[fh->log_len] = '\0';
}

static void clear_run(fakehost *fh) {
  for (size_t i = 0; i < fh->n_calls; i++) {
    free(fh->calls[i].service);
    free(fh->calls[i].action);
    json_decref(fh->calls[i].params);
  }
  fh->n_calls = 0;
  for (size_t i = 0; i < fh->n_replies; i++) {
    free(fh->replies[i].text);
    free(fh->replies[i].code);
  }
  fh->n_replies = fh->n_interims = 0;
}

/* ---- the API table ------------------------------------------------------ */

static slashd_status emit(slashd_call *call, bool interim, unsigned flags, const char *text,
                          const char *code) {
  fakehost *fh = call ? call->fh : NULL;
  if (!fh || ((!text || !*text) && (!code || !*code)))
    return SLASHD_ERR_ARGS;
  if (fh->n_replies >= FAKE_MAX_POSTS)
    return SLASHD_ERR_LIMIT;
  if (interim && (fh->n_interims >= FAKE_MAX_INTERIM || fh->n_replies >= FAKE_MAX_POSTS - 1))
    return SLASHD_ERR_LIMIT;
  fh->replies[fh->n_replies++] = (fake_reply){
      .interim = interim, .flags = flags, .text = dup_or_null(text), .code = dup_or_null(code)};
  if (interim)
    fh->n_interims++;
  return SLASHD_OK;
}

static slashd_status api_reply(slashd_call *call, unsigned flags, const char *text,
                               const char *code) {
  return emit(call, false, flags, text, code);
}

static slashd_status api_interim(slashd_call *call, unsigned flags, const char *text,
                                 const char *code) {
  return emit(call, true, flags, text, code);
}

static const slashd_caller *api_caller(slashd_call *call) {
  return call ? &call->fh->caller : NULL;
}

static const char *api_config(slashd_host *host, const char *key) {
  if (!host || !key)
    return NULL;
  for (size_t i = 0; i < host->fh->n_config; i++)
    if (strcmp(host->fh->config_key[i], key) == 0)
      return host->fh->config_value[i];
  return NULL;
}

static void api_log(slashd_host *host, slashd_call *call, slashd_log_level level, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));

static void api_log(slashd_host *host, slashd_call *call, slashd_log_level level, const char *fmt,
                    ...) {
  (void)call;
  static const char *const names[] = {"debug", "info", "warn", "error"};
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  char line[1100];
  snprintf(line, sizeof line, "%s: %s", (unsigned)level < 4 ? names[level] : "?", msg);
  if (host)
    log_add(host->fh, line);
}

/* The fake's plugin is the only one loaded, and the caller may run all of
 * its commands. */
static int api_commands(slashd_call *call, slashd_command_visitor visit, void *ud) {
  if (!call || !visit)
    return 0;
  const slashd_plugin *d = call->fh->desc;
  int n = 0;
  for (const slashd_command *c = d->commands; c->name; c++) {
    n++;
    if (visit(ud, d->name, d->summary ? d->summary : "", c))
      break;
  }
  return n;
}

static script *next_script(fakehost *fh, const char *service, const char *action) {
  for (size_t i = 0; i < fh->n_script; i++) {
    script *s = &fh->script[i];
    if (!s->used && strcmp(s->service, service) == 0 && strcmp(s->action, action) == 0)
      return s;
  }
  return NULL;
}

static slashd_status api_aws(slashd_call *call, const char *service, const char *action,
                             const json_t *params, json_t **out, char *err, size_t err_len) {
  if (out)
    *out = NULL;
  if (err && err_len)
    err[0] = '\0';
  if (!call || !service || !action || !out || (params && !json_is_object(params)))
    return SLASHD_ERR_ARGS;
  fakehost *fh = call->fh;
  if (fh->n_calls >= FAKE_MAX_CALLS)
    return SLASHD_ERR_LIMIT;
  fh->calls[fh->n_calls++] = (fake_aws_call){.service = strdup(service),
                                             .action = strdup(action),
                                             .params = params ? json_deep_copy(params) : NULL};
  script *s = next_script(fh, service, action);
  if (!s) {
    /* A call the test did not expect: fail it the way an unknown action
     * fails on the real host, and say so in the log the test can read. */
    char line[256];
    snprintf(line, sizeof line, "fakehost: nothing scripted for %s %s", service, action);
    log_add(fh, line);
    if (err && err_len)
      snprintf(err, err_len, "%s", line);
    return SLASHD_ERR_UNSUPPORTED;
  }
  s->used = true;
  if (!s->answer) {
    if (err && err_len)
      snprintf(err, err_len, "%s", s->err ? s->err : "");
    return s->st;
  }
  *out = json_incref(s->answer);
  return SLASHD_OK;
}

static long api_time_left_ms(slashd_call *call) {
  fakehost *fh = call ? call->fh : NULL;
  if (!fh || !fh->deadline_ms)
    return 24L * 3600 * 1000;
  return fh->deadline_ms > g_now_ms ? (long)(fh->deadline_ms - g_now_ms) : 0;
}

static const slashd_host_api fake_api = {
    .size = sizeof(slashd_host_api),
    .abi_major = SLASHD_ABI_MAJOR,
    .abi_minor = SLASHD_ABI_MINOR,
    .reply = api_reply,
    .interim = api_interim,
    .caller = api_caller,
    .config = api_config,
    .log = api_log,
    .commands = api_commands,
    .aws = api_aws,
    .time_left_ms = api_time_left_ms,
    /* .usage: the host's wording is the router's (core/base/route.c); a
     * fake has none, and plugins that need it probe with SLASHD_HAS. */
};

/* ---- the fake host ------------------------------------------------------ */

fakehost *fakehost_new(void) {
  fakehost *fh = calloc(1, sizeof *fh);
  if (!fh)
    abort();
  fh->host.fh = fh;
  fh->call.fh = fh;
  g_now_ms = FAKEHOST_EPOCH * 1000LL;
  g_slept_s = 0;
  fakehost_caller(fh, NULL, NULL, NULL);
  return fh;
}

void fakehost_free(fakehost *fh) {
  if (!fh)
    return;
  clear_run(fh);
  if (fh->inited && fh->desc->destroy)
    fh->desc->destroy(fh->state);
  if (fh->dl)
    dlclose(fh->dl);
  for (size_t i = 0; i < fh->n_config; i++) {
    free(fh->config_key[i]);
    free(fh->config_value[i]);
  }
  for (size_t i = 0; i < fh->n_script; i++) {
    free(fh->script[i].service);
    free(fh->script[i].action);
    free(fh->script[i].err);
    json_decref(fh->script[i].answer);
  }
  free(fh->user_id);
  free(fh->region);
  free(fh->account);
  free(fh->text);
  free(fh->log);
  free(fh);
}

void fakehost_config(fakehost *fh, const char *key, const char *value) {
  if (fh->n_config >= FAKE_MAX_CONFIG)
    abort();
  fh->config_key[fh->n_config] = strdup(key);
  fh->config_value[fh->n_config++] = strdup(value);
}

void fakehost_caller(fakehost *fh, const char *user_id, const char *region, const char *account) {
  free(fh->user_id);
  free(fh->region);
  free(fh->account);
  fh->user_id = strdup(user_id ? user_id : "U0TEST");
  fh->region = strdup(region ? region : "");
  fh->account = strdup(account ? account : "");
  fh->caller = (slashd_caller){.size = sizeof(slashd_caller),
                               .request_id = "req-fake-1",
                               .team_id = "T0TEST",
                               .user_id = fh->user_id,
                               .user_name = "alice",
                               .channel_id = "C0TEST",
                               .channel_name = "ops",
                               .command = "/aws",
                               .text = fh->text ? fh->text : "",
                               .region = fh->region,
                               .account = fh->account};
}

bool fakehost_load(fakehost *fh, const char *path, const char **err) {
  fh->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!fh->dl) {
    *err = "dlopen failed";
    return false;
  }
  slashd_entry_fn entry = (slashd_entry_fn)(uintptr_t)dlsym(fh->dl, SLASHD_ENTRY_SYMBOL);
  fh->desc = entry ? entry() : NULL;
  if (!fh->desc) {
    *err = "no " SLASHD_ENTRY_SYMBOL;
    return false;
  }
  if (fh->desc->abi_major != SLASHD_ABI_MAJOR || fh->desc->abi_minor > SLASHD_ABI_MINOR ||
      fh->desc->size < offsetof(slashd_plugin, commands) + sizeof fh->desc->commands ||
      !fh->desc->commands) {
    *err = "the descriptor's ABI is not this SDK's";
    return false;
  }
  if (fh->desc->init && fh->desc->init(&fh->host, &fake_api, &fh->state) != SLASHD_OK) {
    *err = "init failed";
    return false;
  }
  fh->inited = true;
  return true;
}

static void add_script(fakehost *fh, script s) {
  if (fh->n_script >= FAKE_MAX_SCRIPT)
    abort();
  fh->script[fh->n_script++] = s;
}

void fakehost_answer(fakehost *fh, const char *service, const char *action, const char *json) {
  json_error_t e;
  json_t *answer = json_loads(json, JSON_DECODE_ANY, &e);
  if (!answer) {
    fprintf(stderr, "fakehost: the canned %s %s answer is not JSON: %s (line %d)\n", service,
            action, e.text, e.line);
    abort();
  }
  add_script(fh, (script){.service = strdup(service), .action = strdup(action), .answer = answer});
}

void fakehost_fail(fakehost *fh, const char *service, const char *action, slashd_status st,
                   const char *err) {
  add_script(fh, (script){.service = strdup(service),
                          .action = strdup(action),
                          .st = st,
                          .err = dup_or_null(err)});
}

size_t fakehost_unused(const fakehost *fh) {
  size_t n = 0;
  for (size_t i = 0; i < fh->n_script; i++)
    n += !fh->script[i].used;
  return n;
}

void fakehost_deadline(fakehost *fh, long ms) {
  fh->deadline_ms = ms ? g_now_ms + ms : 0;
}

long fakehost_slept(const fakehost *fh) {
  return g_slept_s - fh->slept_base;
}

static const slashd_command *find_command(const fakehost *fh, const char *name) {
  for (const slashd_command *c = fh->desc->commands; c->name; c++)
    if (strcmp(c->name, name) == 0)
      return c;
  return NULL;
}

/* "ec2 stop i-1": what the caller's text field shows. */
static void set_text(fakehost *fh, const char *command, int argc, const char *const *argv) {
  size_t n = strlen(fh->desc->name) + strlen(command) + 2;
  for (int i = 0; i < argc; i++)
    n += strlen(argv[i]) + 1;
  free(fh->text);
  fh->text = malloc(n + 1);
  if (!fh->text)
    abort();
  int o = snprintf(fh->text, n + 1, "%s %s", fh->desc->name, command);
  for (int i = 0; i < argc; i++)
    o += snprintf(fh->text + o, n + 1 - (size_t)o, " %s", argv[i]);
  fh->caller.text = fh->text;
}

slashd_status fakehost_run(fakehost *fh, const char *command, int argc, const char *const *argv) {
  clear_run(fh);
  fh->slept_base = g_slept_s;
  const slashd_command *c = fh->inited ? find_command(fh, command) : NULL;
  if (!c)
    return SLASHD_ERR_NOT_FOUND;
  if (argc < c->min_args || (c->max_args != SLASHD_ARGS_ANY && argc > c->max_args))
    return SLASHD_ERR_ARGS;
  set_text(fh, command, argc, argv);
  return c->handler(&fh->call, fh->state, argc, argv);
}

size_t fakehost_ncalls(const fakehost *fh) {
  return fh->n_calls;
}

const fake_aws_call *fakehost_call(const fakehost *fh, size_t i) {
  return i < fh->n_calls ? &fh->calls[i] : NULL;
}

const char *fakehost_param(const fakehost *fh, size_t i, const char *key) {
  if (i >= fh->n_calls)
    return "";
  const char *s = json_string_value(json_object_get(fh->calls[i].params, key));
  return s ? s : "";
}

size_t fakehost_nreplies(const fakehost *fh) {
  return fh->n_replies;
}

const fake_reply *fakehost_reply(const fakehost *fh, size_t i) {
  return i < fh->n_replies ? &fh->replies[i] : NULL;
}

const char *fakehost_final(const fakehost *fh) {
  if (!fh->n_replies || !fh->replies[fh->n_replies - 1].text)
    return "";
  return fh->replies[fh->n_replies - 1].text;
}

const char *fakehost_log(const fakehost *fh) {
  return fh->log ? fh->log : "";
}
