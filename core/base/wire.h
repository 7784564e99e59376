/* Every message between the main process and its workers, and every
 * journal record: one JSON object each, with a type "t" and a version "v".
 * Nothing else builds or reads these objects: senders call wire_*() to make
 * one and ipc_send it; receivers call wire_decode() and read the fields.
 *
 * Worker → main (on the worker's socket, base/ipc.h):
 *   hello  {"t":"hello","v":1,"pid":N,"generation":G,"manifest":{…}}
 *          the worker loaded its plugins; manifest is registry_manifest().
 *   reply  {"t":"reply","v":1,"id":"<job id>","flags":F,"interim":B,"text_bytes":N}\0<text>
 *          one message for the user (SLASHD_REPLY_* flags; interim: not
 *          the last one); optional "blocks":[…] (Block Kit, fitted to
 *          Slack's limits; the text stays the fallback). The text is not a
 *          JSON string: its N raw bytes follow the header's closing brace
 *          and one NUL byte, to the end of the datagram (a help listing is
 *          kilobytes: escaping it in the worker and unescaping it in main
 *          was most of a job's IPC cost). The receiver refuses a reply whose
 *          text is not exactly N bytes, holds a NUL or is not UTF-8 — what
 *          a JSON string could not have carried either — and escapes it
 *          once, into the body it posts. Only a reply has such a payload.
 *          Main and its workers are always the same binary (posix_spawn of
 *          /proc/self/exe), so this framing needed no new version; the
 *          journal, which outlives a binary, has no payloads.
 *   done   {"t":"done","v":1,"id":"<job id>","status":S,"error":B,"posts":N,
 *           "identity":"…","session":"…","aws":{"source":"…","expires":E,"skew":K}}
 *          the handler returned slashd_status S; error: the user was told
 *          of a failure; identity/session: what the job ran as; aws
 *          (optional): the worker's host AWS credentials, for /metrics.
 *   prompt {"t":"prompt","v":1,"id":"<job id>","what":"…","verb":"…","doing":"…",
 *           "where":"eu-west-1 (prod)"}
 *          a prepare job's describe step is done: what the confirmation
 *          prompt says (what/verb/doing optional: absent is the generic
 *          prompt); the main process signs the token and posts the prompt.
 *   creds  {"t":"creds","v":1,"entry":{…}}
 *          assumed-role credentials to share with the other workers
 *          (worker/awsglue.h's cache entry).
 * Main → worker:
 *   job    {"t":"job","v":1,"job":{<the job, base/jobs.h>},"creds":{…}}
 *          run this job (creds: an assumed role another worker has, optional).
 * Journal records (one per line, daemon/journal.c):
 *   accept {"t":"accept","v":1,"job":{<the job>}}     accepted, not finished
 *   done   {"t":"done","id":"<job id>"}                finished
 *   A version-less accept record is the older flat form ("ts","user",
 *   "command","text","response_url","write"), still read at recovery. */
#ifndef SLASHD_WIRE_H
#define SLASHD_WIRE_H

#include <stdbool.h>

#include <jansson.h>

#include "base/jobs.h"

#define WIRE_VERSION 1

typedef enum {
  WIRE_HELLO,
  WIRE_REPLY,
  WIRE_DONE,
  WIRE_CREDS,
  WIRE_JOB,
  WIRE_PROMPT,
  WIRE_ACCEPT,   /* journal */
  WIRE_FINISHED, /* journal "done" */
  WIRE_STARTED   /* worker → main: {"t":"started","v":1,"id":…}, sent before the handler runs */
} wire_type;

/* A decoded message. Strings and objects are borrowed from the message it
 * was decoded from (valid while that lives); `job` is owned. */
typedef struct wire_msg {
  wire_type t;
  const char *id; /* reply, done, finished; the job's id for job, accept */
  /* hello */
  int pid;
  int generation;
  const json_t *manifest;
  /* reply */
  unsigned flags;
  bool interim;
  const char *text;
  const json_t *blocks; /* Block Kit blocks, or NULL */
  /* done */
  int status;
  bool error;
  int posts;
  const char *identity;   /* NULL when absent */
  const char *session;    /* NULL when absent */
  const char *retire;     /* done: the worker leaves after this job, and why; NULL: it stays */
  const char *aws_source; /* NULL when absent */
  long long aws_expires, aws_skew;
  /* prompt (NULL when absent) */
  const char *what, *verb, *doing, *where;
  /* creds (entry) and job (creds, optional) */
  const json_t *creds;
  /* job, accept */
  job *job;
} wire_msg;

/* Worker ↔ main messages. Each returns a new object (the caller owns it),
 * NULL only when out of memory. (A reply has no object form: its text is
 * a payload, see wire_reply_text.) */
json_t *wire_hello(int pid, int generation, json_t *manifest /* stolen */);
json_t *wire_done(const char *id, int status, bool error, int posts, const char *identity,
                  const char *session);
/* Adds the optional "aws" object to a done message. */
void wire_done_add_aws(json_t *done, const char *source, long long expires, long long skew);
json_t *wire_creds(const json_t *entry);
json_t *wire_prompt(const char *id, const char *what, const char *verb, const char *doing,
                    const char *where);
json_t *wire_job(const job *j, const json_t *creds /* may be NULL */);

/* The same messages as JSON text appended to b, for the senders on the job
 * path (each job sends one job, one or more replies and one done): written
 * directly, not built as jansson objects and dumped. The object makers
 * above parse these, so each message still has exactly one encoder. */
typedef struct wire_aws {
  const char *source;
  long long expires, skew;
} wire_aws;
/* A reply: the header, its NUL, the text (cleaned to UTF-8 if it is not). */
void wire_reply_text(sbuf *b, const char *id, unsigned flags, bool interim, const char *text);
/* A reply with Block Kit blocks (borrowed): "blocks":[…] after the text. */
void wire_reply_blocks_text(sbuf *b, const char *id, unsigned flags, bool interim, const char *text,
                            const json_t *blocks);
void wire_done_text(sbuf *b, const char *id, int status, bool error, int posts,
                    const char *identity, const char *session, const wire_aws *aws /* or NULL */);
void wire_job_text(sbuf *b, const job *j, const json_t *creds /* may be NULL */);
/* Adds "retire":"<why>" to the done message wire_done_text just appended to
 * b: the worker exits after this job (it must not be given another). */
void wire_done_retire_text(sbuf *b, const char *why);
/* The worker's acknowledgement of a job, before its handler starts: a job
 * lost before it never ran, and may be given to another worker. */
void wire_started_text(sbuf *b, const char *id);

/* The bytes after a message's header (ipc_read's reader holds them until its
 * next read): p[len] must be a NUL, as ipc_read leaves it. p NULL: none. */
typedef struct wire_payload {
  const char *p;
  size_t len;
} wire_payload;

/* Reads a worker ↔ main message (`m` and `pl` borrowed; pl may be NULL: no
 * payload). False with *err (new string) when "t" is unknown, "v" is not
 * WIRE_VERSION, a field is missing or of the wrong type, or the payload is
 * not what the message says (see reply above). A reply's text borrows from
 * the payload. */
bool wire_decode(const json_t *m, const wire_payload *pl, wire_msg *out, char **err);

/* Journal records, as one compact line without the newline (new strings). */
char *wire_accept_line(const job *j);
char *wire_finished_line(const char *id);
/* Reads a journal record (`m` borrowed): WIRE_ACCEPT (with a job, also from
 * the older flat form) or WIRE_FINISHED. */
bool wire_decode_record(const json_t *m, wire_msg *out, char **err);

/* Frees what a decode left owned (the job). */
void wire_msg_free(wire_msg *m);

/* A short name for logs ("hello", "job", …). */
const char *wire_type_name(wire_type t);

#endif
