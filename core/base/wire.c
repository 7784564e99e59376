#include "base/wire.h"

#include <stdlib.h>
#include <string.h>

#include "base/ipc.h"
#include "base/util.h"
#include "slashd/plugin.h"

static const char *const NAMES[] = {"hello",  "reply",  "done", "creds",  "job",
                                    "prompt", "accept", "done", "started"};

const char *wire_type_name(wire_type t) {
  return (size_t)t < ARRAY_LEN(NAMES) ? NAMES[t] : "unknown";
}

/* ---- making ------------------------------------------------------------- */

json_t *wire_hello(int pid, int generation, json_t *manifest) {
  return json_pack("{s:s, s:i, s:i, s:i, s:o}", "t", "hello", "v", WIRE_VERSION, "pid", pid,
                   "generation", generation, "manifest", manifest ? manifest : json_object());
}

static void add_str(sbuf *b, const char *key, const char *value) {
  sbuf_add_json_member(b, key, value ? value : "");
}

/* `{"t":"<t>","v":N` and the id: how each message on the job path starts. */
static void add_head(sbuf *b, const char *t, const char *id) {
  sbuf_adds(b, "{\"t\":\"");
  sbuf_adds(b, t);
  sbuf_adds(b, "\",\"v\":");
  sbuf_add_int(b, WIRE_VERSION);
  add_str(b, "id", id);
}

static json_t *parsed(sbuf *b) {
  json_t *o = json_loadb(b->p, b->len, 0, NULL);
  sbuf_free(b);
  return o;
}

/* The header, the NUL that ends it, then the text's own bytes: neither
 * escaped here nor unescaped by the receiver, which checks them (wire_decode)
 * and escapes them once, into the body it posts. */
static void reply_text(sbuf *b, const char *id, unsigned flags, bool interim, const char *text,
                       const char *blocks /* JSON text, or NULL */) {
  size_t n = text ? strlen(text) : 0;
  /* The receiver refuses what is not UTF-8 (the plugin API's text always
   * is, through message_text); anything else is cleaned here, as the
   * JSON escaper did. */
  char *clean = text && !utf8_valid(text, n) ? utf8_sanitize(text, n) : NULL;
  if (clean) {
    text = clean;
    n = strlen(clean);
  }
  add_head(b, "reply", id);
  sbuf_adds(b, ",\"flags\":");
  sbuf_add_int(b, (long long)flags);
  sbuf_adds(b,
            interim ? ",\"interim\":true,\"text_bytes\":" : ",\"interim\":false,\"text_bytes\":");
  sbuf_add_int(b, (long long)n);
  if (blocks) {
    sbuf_adds(b, ",\"blocks\":");
    sbuf_adds(b, blocks);
  }
  sbuf_add(b, "}", 2); /* with the NUL */
  sbuf_add(b, text ? text : "", n);
  free(clean);
}

void wire_reply_text(sbuf *b, const char *id, unsigned flags, bool interim, const char *text) {
  reply_text(b, id, flags, interim, text, NULL);
}

void wire_reply_blocks_text(sbuf *b, const char *id, unsigned flags, bool interim, const char *text,
                            const json_t *blocks) {
  char *bl = blocks ? json_dumps(blocks, JSON_COMPACT) : NULL;
  reply_text(b, id, flags, interim, text, bl);
  free(bl);
}

void wire_done_text(sbuf *b, const char *id, int status, bool error, int posts,
                    const char *identity, const char *session, const wire_aws *aws) {
  add_head(b, "done", id);
  sbuf_adds(b, ",\"status\":");
  sbuf_add_int(b, status);
  sbuf_adds(b, error ? ",\"error\":true,\"posts\":" : ",\"error\":false,\"posts\":");
  sbuf_add_int(b, posts);
  if (identity)
    add_str(b, "identity", identity);
  if (session)
    add_str(b, "session", session);
  if (aws) {
    sbuf_adds(b, ",\"aws\":{\"source\":");
    sbuf_add_json_string(b, aws->source ? aws->source : "", aws->source ? strlen(aws->source) : 0);
    sbuf_addf(b, ",\"expires\":%lld,\"skew\":%lld}", aws->expires, aws->skew);
  }
  sbuf_addc(b, '}');
}

void wire_started_text(sbuf *b, const char *id) {
  add_head(b, "started", id);
  sbuf_addc(b, '}');
}

void wire_done_retire_text(sbuf *b, const char *why) {
  if (!b->len || b->p[b->len - 1] != '}')
    return;
  b->len--;
  add_str(b, "retire", why);
  sbuf_addc(b, '}');
}

json_t *wire_prompt(const char *id, const char *what, const char *verb, const char *doing,
                    const char *where) {
  return json_pack("{s:s, s:i, s:s, s:s?, s:s?, s:s?, s:s}", "t", "prompt", "v", WIRE_VERSION, "id",
                   id, "what", what, "verb", verb, "doing", doing, "where", where ? where : "");
}

json_t *wire_done(const char *id, int status, bool error, int posts, const char *identity,
                  const char *session) {
  sbuf b = {0};
  wire_done_text(&b, id, status, error, posts, identity, session, NULL);
  return parsed(&b);
}

void wire_done_add_aws(json_t *done, const char *source, long long expires, long long skew) {
  json_t *a = json_pack("{s:s, s:I, s:I}", "source", source, "expires", (json_int_t)expires, "skew",
                        (json_int_t)skew);
  if (a)
    json_object_set_new(done, "aws", a);
}

json_t *wire_creds(const json_t *entry) {
  return json_pack("{s:s, s:i, s:O}", "t", "creds", "v", WIRE_VERSION, "entry", entry);
}

void wire_job_text(sbuf *b, const job *j, const json_t *creds) {
  sbuf_adds(b, "{\"t\":\"job\",\"v\":");
  sbuf_add_int(b, WIRE_VERSION);
  sbuf_adds(b, ",\"job\":");
  job_encode_text(b, j);
  char *c = creds ? json_dumps(creds, JSON_COMPACT) : NULL;
  if (c) {
    sbuf_adds(b, ",\"creds\":");
    sbuf_adds(b, c);
    free(c);
  }
  sbuf_addc(b, '}');
}

json_t *wire_job(const job *j, const json_t *creds) {
  sbuf b = {0};
  wire_job_text(&b, j, creds);
  return parsed(&b);
}

/* ---- reading ------------------------------------------------------------ */

static bool fail(char **err, const char *t, const char *field) {
  *err = xasprintf("%s message: field %s is missing or malformed", t, field);
  return false;
}

static bool get_str(const json_t *m, const char *k, const char **out) {
  *out = json_string_value(json_object_get(m, k));
  return *out != NULL;
}

static bool get_int(const json_t *m, const char *k, int *out) {
  const json_t *v = json_object_get(m, k);
  if (!json_is_integer(v))
    return false;
  *out = (int)json_integer_value(v);
  return true;
}

/* A string that may be absent or null. */
static bool get_opt_str(const json_t *m, const char *k, const char **out) {
  const json_t *v = json_object_get(m, k);
  *out = json_string_value(v);
  return !v || json_is_null(v) || json_is_string(v);
}

static bool decode_hello(const json_t *m, wire_msg *out, char **err) {
  out->manifest = json_object_get(m, "manifest");
  if (!get_int(m, "pid", &out->pid))
    return fail(err, "hello", "pid");
  if (!get_int(m, "generation", &out->generation))
    return fail(err, "hello", "generation");
  if (!json_is_object(out->manifest))
    return fail(err, "hello", "manifest");
  return true;
}

/* The reply's text: the payload after the header, exactly text_bytes long,
 * UTF-8 and without NUL (what jansson would have let through as a JSON
 * string), since main escapes it into the body it posts to Slack. */
static bool reply_payload(const json_t *m, const wire_payload *pl, wire_msg *out, char **err) {
  const json_t *n = json_object_get(m, "text_bytes");
  if (!json_is_integer(n) || json_integer_value(n) < 0 || json_integer_value(n) > IPC_MAX)
    return fail(err, "reply", "text_bytes");
  if (!pl || !pl->p || (size_t)json_integer_value(n) != pl->len || pl->p[pl->len] != '\0') {
    *err = xasprintf("reply message: the text is not the %lld bytes its header announces",
                     (long long)json_integer_value(n));
    return false;
  }
  if (!utf8_valid(pl->p, pl->len)) {
    *err = xstrdup("reply message: the text is not UTF-8, or holds a NUL byte");
    return false;
  }
  out->text = pl->p;
  return true;
}

static bool decode_reply(const json_t *m, const wire_payload *pl, wire_msg *out, char **err) {
  int flags = 0;
  const json_t *interim = json_object_get(m, "interim");
  if (!get_str(m, "id", &out->id))
    return fail(err, "reply", "id");
  if (!get_int(m, "flags", &flags) || flags < 0)
    return fail(err, "reply", "flags");
  if (!json_is_boolean(interim))
    return fail(err, "reply", "interim");
  if (!reply_payload(m, pl, out, err))
    return false;
  out->flags = (unsigned)flags;
  out->interim = json_is_true(interim);
  out->blocks = json_object_get(m, "blocks");
  if (out->blocks && !json_is_array(out->blocks))
    return fail(err, "reply", "blocks");
  return true;
}

static bool decode_prompt(const json_t *m, wire_msg *out, char **err) {
  if (!get_str(m, "id", &out->id))
    return fail(err, "prompt", "id");
  const char *const names[] = {"what", "verb", "doing"};
  const char **dst[] = {&out->what, &out->verb, &out->doing};
  for (size_t i = 0; i < ARRAY_LEN(names); i++) {
    const json_t *v = json_object_get(m, names[i]);
    if (v && !json_is_string(v) && !json_is_null(v))
      return fail(err, "prompt", names[i]);
    *dst[i] = json_string_value(v);
  }
  if (!get_str(m, "where", &out->where))
    return fail(err, "prompt", "where");
  return true;
}

static bool decode_done(const json_t *m, wire_msg *out, char **err) {
  const json_t *error = json_object_get(m, "error");
  if (!get_str(m, "id", &out->id))
    return fail(err, "done", "id");
  if (!get_int(m, "status", &out->status))
    return fail(err, "done", "status");
  if (!json_is_boolean(error))
    return fail(err, "done", "error");
  if (!get_int(m, "posts", &out->posts))
    return fail(err, "done", "posts");
  if (!get_opt_str(m, "identity", &out->identity))
    return fail(err, "done", "identity");
  if (!get_opt_str(m, "session", &out->session))
    return fail(err, "done", "session");
  if (!get_opt_str(m, "retire", &out->retire))
    return fail(err, "done", "retire");
  const json_t *aws = json_object_get(m, "aws");
  if (aws) {
    const json_t *e = json_object_get(aws, "expires"), *k = json_object_get(aws, "skew");
    if (!get_str(aws, "source", &out->aws_source) || !json_is_integer(e) || !json_is_integer(k))
      return fail(err, "done", "aws");
    out->aws_expires = json_integer_value(e);
    out->aws_skew = json_integer_value(k);
  }
  out->error = json_is_true(error);
  return true;
}

static bool decode_job(const json_t *m, wire_msg *out, char **err) {
  out->creds = json_object_get(m, "creds");
  if (out->creds && !json_is_object(out->creds))
    return fail(err, "job", "creds");
  out->job = job_decode(json_object_get(m, "job"), err);
  if (!out->job)
    return false;
  out->id = out->job->id;
  return true;
}

/* "t" and "v", checked the same for every message. */
static const char *check_header(const json_t *m, char **err) {
  const char *t = json_string_value(json_object_get(m, "t"));
  if (!json_is_object(m) || !t) {
    *err = xstrdup("message: not an object with a type \"t\"");
    return NULL;
  }
  const json_t *v = json_object_get(m, "v");
  if (!json_is_integer(v) || json_integer_value(v) != WIRE_VERSION) {
    *err = json_is_integer(v) ? xasprintf("%.16s message: version %lld is not known here (this "
                                          "slashd speaks version %d)",
                                          t, (long long)json_integer_value(v), WIRE_VERSION)
                              : xasprintf("%.16s message: no version field \"v\"", t);
    return NULL;
  }
  return t;
}

bool wire_decode(const json_t *m, const wire_payload *pl, wire_msg *out, char **err) {
  memset(out, 0, sizeof *out);
  *err = NULL;
  const char *t = check_header(m, err);
  if (!t)
    return false;
  bool ok = false;
  if (pl && pl->p && !str_eq(t, "reply")) {
    /* Only a reply carries bytes after its header. */
    *err = xasprintf("%.16s message: unexpected bytes after the header", t);
  } else if (str_eq(t, "hello")) {
    out->t = WIRE_HELLO;
    ok = decode_hello(m, out, err);
  } else if (str_eq(t, "reply")) {
    out->t = WIRE_REPLY;
    ok = decode_reply(m, pl, out, err);
  } else if (str_eq(t, "done")) {
    out->t = WIRE_DONE;
    ok = decode_done(m, out, err);
  } else if (str_eq(t, "started")) {
    out->t = WIRE_STARTED;
    ok = get_str(m, "id", &out->id) || fail(err, "started", "id");
  } else if (str_eq(t, "prompt")) {
    out->t = WIRE_PROMPT;
    ok = decode_prompt(m, out, err);
  } else if (str_eq(t, "creds")) {
    out->t = WIRE_CREDS;
    out->creds = json_object_get(m, "entry");
    ok = json_is_object(out->creds) || fail(err, "creds", "entry");
  } else if (str_eq(t, "job")) {
    out->t = WIRE_JOB;
    ok = decode_job(m, out, err);
  } else {
    *err = xasprintf("message: unknown type \"%.32s\"", t);
  }
  if (!ok)
    wire_msg_free(out);
  return ok;
}

/* ---- the journal's records ---------------------------------------------- */

char *wire_accept_line(const job *j) {
  sbuf b = {0};
  sbuf_addf(&b, "{\"t\":\"accept\",\"v\":%d,\"job\":", WIRE_VERSION);
  job_encode_text(&b, j);
  sbuf_addc(&b, '}');
  return sbuf_steal(&b);
}

char *wire_finished_line(const char *id) {
  sbuf b = {0};
  sbuf_adds(&b, "{\"t\":\"done\",\"id\":");
  sbuf_add_json_string(&b, id ? id : "", id ? strlen(id) : 0);
  sbuf_addc(&b, '}');
  return sbuf_steal(&b);
}

/* The flat accept record slashd wrote before the job message existed: what
 * recovery needs to tell the user, no plugin or arguments. */
static job *legacy_accept(const json_t *r) {
  const char *id = json_string_value(json_object_get(r, "id"));
  if (!id || !*id || strlen(id) >= sizeof((job *)0)->id)
    return NULL;
  job *j = xcalloc(1, sizeof *j);
  memcpy(j->id, id, strlen(id) + 1);
  const char *url = json_string_value(json_object_get(r, "response_url"));
  struct {
    const char *k;
    char **dst;
  } strs[] = {
      {"user", &j->user_id}, {"team", &j->team_id}, {"command", &j->command}, {"text", &j->text}};
  for (size_t i = 0; i < ARRAY_LEN(strs); i++) {
    const char *v = json_string_value(json_object_get(r, strs[i].k));
    *strs[i].dst = xstrdup(v ? v : "");
  }
  j->response_url = url ? xstrdup(url) : NULL;
  j->accepted_wall = json_integer_value(json_object_get(r, "ts"));
  j->accepted_ms = j->accepted_wall * 1000;
  j->access = json_is_true(json_object_get(r, "write")) ? SLASHD_WRITE : SLASHD_READ;
  j->argv = xcalloc(1, sizeof *j->argv);
  return j;
}

bool wire_decode_record(const json_t *m, wire_msg *out, char **err) {
  memset(out, 0, sizeof *out);
  *err = NULL;
  const char *t = json_string_value(json_object_get(m, "t"));
  if (str_eq(t, "done")) {
    out->t = WIRE_FINISHED;
    return get_str(m, "id", &out->id) || fail(err, "journal done", "id");
  }
  if (!str_eq(t, "accept")) {
    *err = xstrdup("journal record: not an accept or done record");
    return false;
  }
  out->t = WIRE_ACCEPT;
  if (!json_object_get(m, "v")) {
    out->job = legacy_accept(m);
    if (out->job)
      out->id = out->job->id;
    return out->job || fail(err, "journal accept", "id");
  }
  if (!check_header(m, err))
    return false;
  out->job = job_decode(json_object_get(m, "job"), err);
  if (out->job)
    out->id = out->job->id;
  return out->job != NULL;
}

void wire_msg_free(wire_msg *m) {
  job_free(m->job);
  m->job = NULL;
}
