/* ec2: list instances, show console output, start and stop instances.
 *
 * Config ([plugin.ec2]):
 *   console_lines = 20   lines of console output shown (1..500)
 *   wait_seconds  = 120  how long start/stop wait for the target state
 *   poll_seconds  = 5    how often they look
 *   page_size     = 1000 instances asked for per DescribeInstances page (5..1000)
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "../common/awsjson.h"
#include "../common/buf.h"
#include "slashd/plugin.h"

typedef struct ec2_state {
  slashd_host *host;
  const slashd_host_api *api;
  long console_lines;
  long wait_seconds;
  long poll_seconds;
  long page_size;
} ec2_state;

/* ---- small helpers ------------------------------------------------------ */

/* i-0123abcd or i-0123456789abcdef0: checked before any AWS call. */
static bool valid_instance_id(const char *id) {
  size_t n = strlen(id);
  if (strncmp(id, "i-", 2) != 0 || (n != 10 && n != 19))
    return false;
  for (size_t i = 2; i < n; i++)
    if (!isxdigit((unsigned char)id[i]) || isupper((unsigned char)id[i]))
      return false;
  return true;
}

static slashd_status bad_id(ec2_state *st, slashd_call *call, const char *id) {
  char msg[256];
  snprintf(msg, sizeof msg,
           "`%.40s` is not an instance id (they look like i-0123456789abcdef0). `/aws ec2 list` "
           "shows them.",
           id);
  return st->api->reply(call, SLASHD_REPLY_ERROR, msg, NULL);
}

/* "eu-west-1 (prod)", "eu-west-1" or "this region": where the call looked
 * (ABI 1.2 callers carry it). */
static void where(ec2_state *st, slashd_call *call, char *out, size_t n) {
  const slashd_caller *c = st->api->caller(call);
  const char *r = SLASHD_CALLER_HAS(c, region) && c->region ? c->region : "";
  const char *a = SLASHD_CALLER_HAS(c, account) && c->account ? c->account : "";
  if (*r && *a)
    snprintf(out, n, "%s (%s)", r, a);
  else if (*r || *a)
    snprintf(out, n, "%s", *r ? r : a);
  else
    snprintf(out, n, "this region");
}

/* A missing instance is usually one in another region or account: say
 * where we looked. */
static bool is_not_found(const char *err) {
  return strstr(err, "InvalidInstanceID.NotFound") != NULL;
}

static slashd_status not_found(ec2_state *st, slashd_call *call, const char *id, const char *what,
                               const char *err) {
  char place[96], msg[1400];
  where(st, call, place, sizeof place);
  if (is_not_found(err))
    snprintf(msg, sizeof msg, "Could not %s: %.1100s. %s was not found in %s; try --region.", what,
             err, id, place);
  else
    snprintf(msg, sizeof msg, "%s was not found in %s; try --region.", id, place);
  return st->api->reply(call, SLASHD_REPLY_ERROR, msg, NULL);
}

/* ---- list --------------------------------------------------------------- */

typedef struct row {
  char *id, *name, *type, *state, *ip;
} row;

static const char *tag_value(json_t *inst, const char *key) {
  json_t *tags = json_object_get(inst, "tagSet");
  for (size_t i = 0; i < aj_count(tags, "item"); i++) {
    json_t *t = aj_item(tags, "item", i);
    if (strcmp(aj_str(json_object_get(t, "key")), key) == 0)
      return aj_str(json_object_get(t, "value"));
  }
  return NULL;
}

/* By name, instances without one last; then by id. */
static int row_cmp(const void *a, const void *b) {
  const row *x = a, *y = b;
  bool xn = strcmp(x->name, "-") == 0, yn = strcmp(y->name, "-") == 0;
  if (xn != yn)
    return xn ? 1 : -1;
  int c = strcasecmp(x->name, y->name);
  return c ? c : strcmp(x->id, y->id);
}

static char *dup_or(const char *s, const char *def) {
  return strdup(s && *s ? s : def);
}

/* Every instance of every reservation of every page. */
static slashd_status collect(ec2_state *st, slashd_call *call, row **rows, size_t *n, char *err,
                             size_t err_len) {
  char *token = NULL;
  size_t cap = 0;
  slashd_status rc = SLASHD_OK;
  for (int page = 0; page < 1000; page++) {
    json_t *params = json_pack("{s:I}", "MaxResults", (json_int_t)st->page_size);
    if (token)
      json_object_set_new(params, "NextToken", json_string(token));
    json_t *out = NULL;
    rc = st->api->aws(call, "ec2", "DescribeInstances", params, &out, err, err_len);
    json_decref(params);
    free(token);
    token = NULL;
    if (rc != SLASHD_OK)
      break;
    json_t *res = json_object_get(out, "reservationSet");
    for (size_t r = 0; r < aj_count(res, "item"); r++) {
      json_t *insts = json_object_get(aj_item(res, "item", r), "instancesSet");
      for (size_t i = 0; i < aj_count(insts, "item"); i++) {
        json_t *inst = aj_item(insts, "item", i);
        row *grown = pbuf_grow(*rows, &cap, *n + 1, sizeof **rows);
        if (!grown) {
          json_decref(out);
          return SLASHD_ERR_NOMEM;
        }
        *rows = grown;
        (*rows)[(*n)++] = (row){
            .id = dup_or(aj_str(json_object_get(inst, "instanceId")), "?"),
            .name = dup_or(tag_value(inst, "Name"), "-"),
            .type = dup_or(aj_str(json_object_get(inst, "instanceType")), "-"),
            .state = dup_or(aj_str(aj_get(inst, "instanceState", "name", NULL)), "?"),
            .ip = dup_or(aj_str(json_object_get(inst, "privateIpAddress")), "-"),
        };
      }
    }
    const char *next = aj_str(json_object_get(out, "nextToken"));
    if (*next)
      token = strdup(next);
    json_decref(out);
    if (!token)
      break;
  }
  free(token);
  return rc;
}

/* Block Kit for the list (ABI 1.2): a header with the counts by state, one
 * section per instance with a state emoji. Tag values are the account
 * owner's free text: escaped. The host cuts to Slack's limits. */
static const char *state_emoji(const char *s) {
  if (strcmp(s, "running") == 0)
    return ":large_green_circle:";
  if (strcmp(s, "stopped") == 0)
    return ":red_circle:";
  if (strcmp(s, "pending") == 0 || strcmp(s, "stopping") == 0)
    return ":large_yellow_circle:";
  if (strcmp(s, "terminated") == 0 || strcmp(s, "shutting-down") == 0)
    return ":black_circle:";
  return ":white_circle:";
}

static void esc(pbuf *t, const char *s) {
  for (; *s; s++) {
    if (*s == '&')
      pbuf_addf(t, "&amp;");
    else if (*s == '<')
      pbuf_addf(t, "&lt;");
    else if (*s == '>')
      pbuf_addf(t, "&gt;");
    else
      pbuf_add(t, s, 1);
  }
}

/* A mrkdwn text object of t's text; t is emptied. */
static json_t *mrkdwn(pbuf *t) {
  json_t *o = json_pack("{s:s, s:s}", "type", "mrkdwn", "text", t->p && !t->failed ? t->p : "");
  free(t->p);
  *t = (pbuf){0};
  return o;
}

static json_t *list_header(const row *rows, size_t n) {
  static const char *const order[] = {"running", "pending",       "stopping",
                                      "stopped", "shutting-down", "terminated"};
  pbuf h = {0};
  pbuf_addf(&h, "%zu instance%s", n, n == 1 ? "" : "s");
  size_t known = 0;
  for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
      c += strcmp(rows[i].state, order[k]) == 0;
    if (c)
      pbuf_addf(&h, "%s %zu %s", known ? "," : ":", c, order[k]);
    known += c;
  }
  if (known < n)
    pbuf_addf(&h, "%s %zu other", known ? "," : ":", n - known);
  json_t *o = json_pack("{s:s, s:{s:s, s:s}}", "type", "header", "text", "type", "plain_text",
                        "text", h.p && !h.failed ? h.p : "");
  free(h.p);
  return o;
}

static json_t *list_blocks(const row *rows, size_t n) {
  json_t *blocks = json_array();
  json_array_append_new(blocks, list_header(rows, n));
  for (size_t i = 0; i < n; i++) {
    pbuf t = {0};
    pbuf_addf(&t, "%s *", state_emoji(rows[i].state));
    esc(&t, rows[i].name);
    pbuf_addf(&t, "* `%s`", rows[i].id);
    json_t *fields = json_array();
    const char *const label[] = {"State", "Type", "Private IP"};
    const char *const value[] = {rows[i].state, rows[i].type, rows[i].ip};
    for (size_t k = 0; k < 3; k++) {
      pbuf f = {0};
      pbuf_addf(&f, "*%s*\n", label[k]);
      esc(&f, value[k]);
      json_array_append_new(fields, mrkdwn(&f));
    }
    json_array_append_new(blocks, json_pack("{s:s, s:o, s:o}", "type", "section", "text",
                                            mrkdwn(&t), "fields", fields));
  }
  return blocks;
}

static slashd_status cmd_list(slashd_call *call, void *state, int argc, const char *const *argv) {
  (void)argc;
  (void)argv;
  ec2_state *st = state;
  row *rows = NULL;
  size_t n = 0;
  char err[1024] = "";
  slashd_status rc = collect(st, call, &rows, &n, err, sizeof err);
  if (rc == SLASHD_ERR_AWS || rc == SLASHD_ERR_UNSUPPORTED || rc == SLASHD_ERR_DENIED) {
    /* Denied: no role for this caller (another account); err says why. */
    rc = aj_reply_failed(st->api, call, "list the instances", err);
    goto out;
  }
  if (rc != SLASHD_OK)
    goto out;
  if (n == 0) {
    char place[96], msg[160];
    where(st, call, place, sizeof place);
    snprintf(msg, sizeof msg, "No instances in %s.", place);
    rc = st->api->reply(call, 0, msg, NULL);
    goto out;
  }
  qsort(rows, n, sizeof *rows, row_cmp);
  int w[4] = {11, 4, 4, 5}; /* id, name, type, state */
  for (size_t i = 0; i < n; i++) {
    int l[4] = {(int)strlen(rows[i].id), (int)strlen(rows[i].name), (int)strlen(rows[i].type),
                (int)strlen(rows[i].state)};
    for (int k = 0; k < 4; k++)
      if (l[k] > w[k])
        w[k] = l[k] > 40 ? 40 : l[k];
  }
  pbuf t = {0};
  pbuf_addf(&t, "%-*s  %-*s  %-*s  %-*s  %s\n", w[0], "INSTANCE ID", w[1], "NAME", w[2], "TYPE",
            w[3], "STATE", "PRIVATE IP");
  for (size_t i = 0; i < n; i++)
    pbuf_addf(&t, "%-*s  %-*.40s  %-*s  %-*s  %s\n", w[0], rows[i].id, w[1], rows[i].name, w[2],
              rows[i].type, w[3], rows[i].state, rows[i].ip);
  char title[64];
  snprintf(title, sizeof title, "%zu instance%s:", n, n == 1 ? "" : "s");
  json_t *blocks = SLASHD_HAS(st->api, reply_blocks) ? list_blocks(rows, n) : NULL;
  if (t.failed)
    rc = SLASHD_ERR_NOMEM;
  else if (blocks)
    rc = st->api->reply_blocks(call, 0, title, t.p, blocks);
  else
    rc = st->api->reply(call, 0, title, t.p);
  json_decref(blocks);
  free(t.p);
out:
  for (size_t i = 0; i < n; i++) {
    free(rows[i].id);
    free(rows[i].name);
    free(rows[i].type);
    free(rows[i].state);
    free(rows[i].ip);
  }
  free(rows);
  return rc;
}

/* ---- console ------------------------------------------------------------ */

/* Base64 with line breaks inside (as EC2 sends it): whitespace is skipped. */
static char *b64_decode(const char *in, size_t *out_len) {
  static const signed char T[256] = {
      ['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,
      ['H'] = 8,  ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14,
      ['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21,
      ['V'] = 22, ['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28,
      ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35,
      ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
      ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49,
      ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
      ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63,
      ['/'] = 64};
  size_t n = strlen(in);
  char *out = malloc(n / 4 * 3 + 4);
  if (!out)
    return NULL;
  unsigned acc = 0;
  int bits = 0;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)in[i];
    if (c == '=')
      break;
    if (isspace(c))
      continue;
    if (!T[c]) {
      free(out);
      return NULL;
    }
    acc = (acc << 6) | (unsigned)(T[c] - 1);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (char)((acc >> bits) & 0xff);
    }
  }
  out[o] = '\0';
  *out_len = o;
  return out;
}

/* The last `lines` lines of s (in place: returns a pointer into s). */
static const char *tail_lines(char *s, size_t len, long lines) {
  while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
    s[--len] = '\0';
  long seen = 0;
  for (size_t i = len; i > 0; i--) {
    if (s[i - 1] == '\n' && ++seen == lines)
      return s + i;
  }
  return s;
}

static slashd_status cmd_console(slashd_call *call, void *state, int argc,
                                 const char *const *argv) {
  (void)argc;
  ec2_state *st = state;
  const char *id = argv[0];
  if (!valid_instance_id(id))
    return bad_id(st, call, id);
  char err[1024] = "";
  json_t *params = json_pack("{s:s, s:s}", "InstanceId", id, "Latest", "true");
  json_t *out = NULL;
  slashd_status rc = st->api->aws(call, "ec2", "GetConsoleOutput", params, &out, err, sizeof err);
  if (rc == SLASHD_ERR_AWS && strstr(err, "UnsupportedOperation")) {
    /* Latest=true is for Nitro instances only; older ones give the
     * buffered output. */
    json_object_del(params, "Latest");
    rc = st->api->aws(call, "ec2", "GetConsoleOutput", params, &out, err, sizeof err);
  }
  json_decref(params);
  if (rc != SLASHD_OK) {
    char what[64];
    snprintf(what, sizeof what, "get the console output of %s", id);
    if (rc == SLASHD_ERR_AWS && is_not_found(err))
      return not_found(st, call, id, what, err);
    return aj_reply_failed(st->api, call, what, err);
  }
  const char *b64 = aj_str(json_object_get(out, "output"));
  size_t len = 0;
  char *decoded = *b64 ? b64_decode(b64, &len) : NULL;
  char msg[256];
  if (!decoded || len == 0) {
    snprintf(msg, sizeof msg,
             "%s has no console output yet (EC2 keeps it from a few minutes after boot).", id);
    rc = st->api->reply(call, 0, msg, NULL);
  } else {
    const char *tail = tail_lines(decoded, len, st->console_lines);
    snprintf(msg, sizeof msg, "Console output of %s (last %ld lines):", id, st->console_lines);
    rc = st->api->reply(call, 0, msg, tail);
  }
  free(decoded);
  json_decref(out);
  return rc;
}

/* ---- start / stop ------------------------------------------------------- */

/* The instance's state name ("running"...) or NULL with err set. */
static char *instance_state(ec2_state *st, slashd_call *call, const char *id, char *err,
                            size_t err_len) {
  json_t *params = json_pack("{s:s}", "InstanceId.1", id);
  json_t *out = NULL;
  slashd_status rc = st->api->aws(call, "ec2", "DescribeInstances", params, &out, err, err_len);
  json_decref(params);
  if (rc != SLASHD_OK)
    return NULL;
  json_t *res = json_object_get(out, "reservationSet");
  json_t *inst = aj_item(json_object_get(aj_item(res, "item", 0), "instancesSet"), "item", 0);
  const char *name = aj_str(aj_get(inst, "instanceState", "name", NULL));
  char *s = *name ? strdup(name) : NULL;
  if (!s)
    snprintf(err, err_len, "EC2 does not know %s", id);
  json_decref(out);
  return s;
}

static slashd_status change_state(slashd_call *call, ec2_state *st, const char *id, bool start) {
  const char *verb = start ? "start" : "stop";
  const char *target = start ? "running" : "stopped";
  const char *moving = start ? "pending" : "stopping";
  char err[1024] = "", msg[512], what[64];
  snprintf(what, sizeof what, "%s %s", verb, id);
  if (!valid_instance_id(id))
    return bad_id(st, call, id);
  char *cur = instance_state(st, call, id, err, sizeof err);
  if (!cur && (is_not_found(err) || strstr(err, "EC2 does not know")))
    return not_found(st, call, id, what, err);
  if (!cur)
    return aj_reply_failed(st->api, call, what, err);
  if (strcmp(cur, target) == 0) {
    snprintf(msg, sizeof msg, "%s is already %s; nothing to do.", id, target);
    free(cur);
    return st->api->reply(call, 0, msg, NULL);
  }
  if (strcmp(cur, "terminated") == 0 || strcmp(cur, "shutting-down") == 0) {
    snprintf(msg, sizeof msg, "%s is %s; it cannot be %s.", id, cur, start ? "started" : "stopped");
    free(cur);
    return st->api->reply(call, SLASHD_REPLY_ERROR, msg, NULL);
  }
  free(cur);
  json_t *params = json_pack("{s:s}", "InstanceId.1", id);
  json_t *out = NULL;
  slashd_status rc = st->api->aws(call, "ec2", start ? "StartInstances" : "StopInstances", params,
                                  &out, err, sizeof err);
  json_decref(params);
  if (rc != SLASHD_OK)
    return aj_reply_failed(st->api, call, what, err);
  json_t *item = aj_item(json_object_get(out, "instancesSet"), "item", 0);
  char *now = strdup(aj_str(aj_get(item, "currentState", "name", NULL)));
  json_decref(out);
  if (!now)
    return SLASHD_ERR_NOMEM;
  time_t t0 = time(NULL);
  snprintf(msg, sizeof msg, "%s %s… (%s)", start ? "Starting" : "Stopping", id,
           *now ? now : moving);
  st->api->interim(call, 0, msg, NULL);
  /* Wait for the target state, but answer before the host's deadline. */
  long budget = st->wait_seconds;
  if (SLASHD_HAS(st->api, time_left_ms)) {
    long left = st->api->time_left_ms(call) / 1000 - 2;
    if (left < budget)
      budget = left > 0 ? left : 0;
  }
  while (strcmp(now, target) != 0 && time(NULL) - t0 + st->poll_seconds <= budget) {
    sleep((unsigned)st->poll_seconds);
    char *s = instance_state(st, call, id, err, sizeof err);
    if (!s)
      break; /* keep the last known state; a poll failure is not the change failing */
    free(now);
    now = s;
  }
  long took = (long)(time(NULL) - t0);
  if (strcmp(now, target) == 0)
    snprintf(msg, sizeof msg, "%s is %s (took %ld s).", id, target, took);
  else
    snprintf(msg, sizeof msg,
             "%s is still %s after %ld s; it should be %s soon. Check with `/aws ec2 list`.", id,
             *now ? now : moving, took, target);
  free(now);
  return st->api->reply(call, 0, msg, NULL);
}

static slashd_status cmd_start(slashd_call *call, void *state, int argc, const char *const *argv) {
  (void)argc;
  return change_state(call, state, argv[0], true);
}

static slashd_status cmd_stop(slashd_call *call, void *state, int argc, const char *const *argv) {
  (void)argc;
  return change_state(call, state, argv[0], false);
}

/* ---- describe (ABI 1.2): what start/stop will touch, for the prompt ------- */

static slashd_status ec2_describe(slashd_call *call, void *state, const slashd_command *cmd,
                                  int argc, const char *const *argv) {
  ec2_state *st = state;
  bool start = cmd->handler == cmd_start;
  if ((!start && cmd->handler != cmd_stop) || argc < 1 || !SLASHD_HAS(st->api, confirm_with))
    return SLASHD_OK; /* the generic prompt */
  const char *id = argv[0];
  if (!valid_instance_id(id))
    return bad_id(st, call, id);
  char err[1024] = "", what[64];
  snprintf(what, sizeof what, "%s %s", start ? "start" : "stop", id);
  json_t *params = json_pack("{s:s}", "InstanceId.1", id);
  json_t *out = NULL;
  slashd_status rc = st->api->aws(call, "ec2", "DescribeInstances", params, &out, err, sizeof err);
  json_decref(params);
  json_t *inst = aj_item(
      json_object_get(aj_item(json_object_get(out, "reservationSet"), "item", 0), "instancesSet"),
      "item", 0);
  if (rc == SLASHD_OK && !inst)
    snprintf(err, sizeof err, "EC2 does not know %s", id);
  if (rc != SLASHD_OK || !inst) {
    json_decref(out);
    return is_not_found(err) || strstr(err, "EC2 does not know")
               ? not_found(st, call, id, what, err)
               : aj_reply_failed(st->api, call, what, err);
  }
  const char *name = tag_value(inst, "Name");
  const char *type = aj_str(json_object_get(inst, "instanceType"));
  const char *state_name = aj_str(aj_get(inst, "instanceState", "name", NULL));
  char msg[512], doing[256];
  if (strcmp(state_name, start ? "running" : "stopped") == 0) {
    snprintf(msg, sizeof msg, "%s is already %s; nothing to do.", id, state_name);
    json_decref(out);
    return st->api->reply(call, 0, msg, NULL);
  }
  snprintf(msg, sizeof msg, "%s %s (%.60s, %s, %s)", start ? "Start" : "Stop", id,
           name && *name ? name : "no Name", *type ? type : "?", *state_name ? state_name : "?");
  snprintf(doing, sizeof doing, "%s %s%s%.60s%s", start ? "Starting" : "Stopping", id,
           name && *name ? " (" : "", name && *name ? name : "", name && *name ? ")" : "");
  json_decref(out);
  return st->api->confirm_with(call, msg, start ? "Start" : "Stop", doing);
}

/* ---- plugin ------------------------------------------------------------- */

static slashd_status ec2_init(slashd_host *host, const slashd_host_api *api, void **state) {
  if (!SLASHD_HAS(api, aws)) {
    api->log(host, NULL, SLASHD_LOG_ERROR, "this host offers no AWS calls (ABI 1.1 needed)");
    return SLASHD_ERR_UNSUPPORTED;
  }
  ec2_state *st = calloc(1, sizeof *st);
  if (!st)
    return SLASHD_ERR_NOMEM;
  st->host = host;
  st->api = api;
  st->console_lines = aj_config_long(st->api, st->host, "console_lines", 20, 1, 500);
  st->wait_seconds = aj_config_long(st->api, st->host, "wait_seconds", 120, 0, 3600);
  st->poll_seconds = aj_config_long(st->api, st->host, "poll_seconds", 5, 1, 300);
  st->page_size = aj_config_long(st->api, st->host, "page_size", 1000, 5, 1000);
  *state = st;
  return SLASHD_OK;
}

static void ec2_destroy(void *state) {
  free(state);
}

static const slashd_command commands[] = {
    {.name = "list",
     .usage = "",
     .summary = "List every instance in the region: id, name, type, state, private IP",
     .min_args = 0,
     .max_args = 0,
     .access = SLASHD_READ,
     .handler = cmd_list,
     .flags = SLASHD_CMD_DEFAULT},
    {.name = "console",
     .usage = "<instance-id>",
     .summary = "Show the last lines of an instance's console output",
     .min_args = 1,
     .max_args = 1,
     .access = SLASHD_READ,
     .handler = cmd_console},
    {.name = "start",
     .usage = "<instance-id>",
     .summary = "Start an instance and wait until it runs",
     .min_args = 1,
     .max_args = 1,
     .access = SLASHD_WRITE,
     .handler = cmd_start},
    {.name = "stop",
     .usage = "<instance-id>",
     .summary = "Stop an instance and wait until it has stopped",
     .min_args = 1,
     .max_args = 1,
     .access = SLASHD_WRITE,
     .handler = cmd_stop},
    {.name = NULL},
};

static const slashd_plugin descriptor = {
    SLASHD_PLUGIN_HEADER, .name = "ec2",
    .version = "1.0.0",   .summary = "EC2 instances: list, console output, start, stop",
    .init = ec2_init,     .destroy = ec2_destroy,
    .commands = commands, .describe = ec2_describe,
};

SLASHD_PLUGIN_ENTRY(descriptor)
