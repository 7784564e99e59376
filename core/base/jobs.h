/* Accepted commands: the job record, the bounded queue between the front door
 * and the dispatcher, and duplicate suppression. */
#ifndef SLASHD_JOBS_H
#define SLASHD_JOBS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "base/util.h"

typedef struct job {
  char id[32];
  char *team_id;
  char *user_id;
  char *user_name;
  char *channel_id;
  char *channel_name;
  char *command;         /* "/aws" */
  char *text;            /* as typed */
  char *region;          /* --region / the account's / NULL: the host's default; "all": fan out */
  char *account;         /* --account alias, or NULL */
  bool prepare;          /* run the describe step and post a confirmation prompt, not the command */
  bool replace_original; /* every post replaces the message the job came from (a prompt) */
  char *preface; /* mrkdwn posted before the job runs ("Stopping… (confirmed by <@U>)"), or NULL */
  char *response_url;
  char *plugin;
  char *cmd;
  char **argv;
  int argc;
  int access; /* SLASHD_READ / SLASHD_WRITE */
  char *dedupe_key;
  char *identity;        /* what the job ran as: "none", "host" or a role ARN */
  char *session;         /* the STS session name, or NULL */
  uint64_t accepted_us;  /* monotonic */
  int64_t accepted_wall; /* seconds since the epoch */
  int64_t accepted_ms;   /* the same, in ms */
  int64_t deadline_ms;   /* wall ms by which it must end (0: not started yet) */
  uint64_t started_us;
  int posts;      /* response_url messages handed to the responder */
  int dispatches; /* times handed to a worker (a job lost before it started goes again, once) */
} job;

void job_free(job *j);

/* ---- the job message -----------------------------------------------------
 * One job as JSON, the same wherever it travels (journal accept record,
 * main → worker, and a queue service to another machine), so it holds
 * nothing process-local: times are wall-clock ms since the epoch.
 *
 *   {"v": 1, "id": "…", "team": "T…", "user": "U…", "user_name": "…",
 *    "channel": "C…", "channel_name": "…", "command": "/aws",
 *    "text": "ec2 stop i-1", "plugin": "ec2", "cmd": "stop",
 *    "args": ["i-1"], "access": "read" | "write",
 *    "response_url": "https://…", "accepted_ms": 1700000000123,
 *    "deadline_ms": 0 | 1700000060123,
 *    "region": "eu-west-1" | "all" (optional: absent is the host's default),
 *    "account": "<[accounts] alias>" (optional),
 *    "prepare": true (optional: run the describe step and ask to confirm),
 *    "replace_original": true (optional: every post replaces the prompt),
 *    "preface": "<mrkdwn posted first>" (optional),
 *    "identity": "none" | "host" | "<role ARN>" (optional),
 *    "session": "<STS session name>" (optional)}
 *
 * A new field that an older reader may ignore keeps the version; a change
 * of meaning bumps it, and a reader refuses a version it does not know. */
#define JOB_VERSION 1

/* Appends the job as compact JSON text (the one encoder). */
void job_encode_text(sbuf *b, const job *j);
/* The same as a new object (the caller owns it). */
json_t *job_encode(const job *j);
/* A new job from `o` (borrowed), or NULL with *err (new string) when a field
 * is missing, of the wrong type or out of bounds, or the version unknown.
 * The dedupe key and the monotonic times are left empty. */
job *job_decode(const json_t *o, char **err);
/* The exact bytes of the job as job_encode_text writes it, plus
 * JOB_WIRE_RESERVE for what rides along to a worker (the message's own
 * keys, assumed-role credentials): what a job needs of one message
 * (base/ipc.h: IPC_MAX). */
#define JOB_WIRE_RESERVE (16 * 1024)
size_t job_wire_bytes(const job *j);
/* `/aws ec2 stop i-1`, cut and scrubbed for a code span
 * (message_command_span; not escaped). */
char *job_display(const job *j);

typedef struct job_queue {
  pthread_mutex_t mu;
  job **ring;
  size_t cap, head, len;
} job_queue;

void queue_init(job_queue *q, size_t cap);
void queue_destroy(job_queue *q);
/* False when full (the caller answers "busy"). */
bool queue_push(job_queue *q, job *j);
/* At the head (a job going again after its worker was lost); false when full. */
bool queue_push_front(job_queue *q, job *j);
job *queue_pop(job_queue *q);
size_t queue_len(job_queue *q);

/* Same user + same text: refused while the first runs or within `window`
 * seconds of its acceptance. */
#define DEDUPE_BUCKETS 4096

typedef struct dedupe {
  pthread_mutex_t mu;
  struct dedupe_entry *bucket[DEDUPE_BUCKETS];
  size_t n;
  size_t inserts; /* a full sweep every so many inserts */
  int window;     /* guarded by mu: a reload changes it while requests arrive */
} dedupe;

void dedupe_init(dedupe *d, int window_s);
void dedupe_set_window(dedupe *d, int window_s);
void dedupe_destroy(dedupe *d);
/* Registers key as running and returns true, or returns false with the age
 * of the earlier one in *age_s when it is a duplicate. */
bool dedupe_begin(dedupe *d, const char *key, int64_t now, int64_t *age_s);
void dedupe_end(dedupe *d, const char *key);
/* Forgets a key at once (the job was never queued). */
void dedupe_forget(dedupe *d, const char *key);

#endif
