/* Accepted commands: the job record, the bounded queue between the front door
 * and the dispatcher, and duplicate suppression. */
#ifndef SLASHD_JOBS_H
#define SLASHD_JOBS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

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
  int posts; /* response_url messages handed to the responder */
} job;

void job_free(job *j);
/* `/aws ec2 stop i-1`, cut for display (plain text, not escaped). */
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
  int window;
} dedupe;

void dedupe_init(dedupe *d, int window_s);
void dedupe_destroy(dedupe *d);
/* Registers key as running and returns true, or returns false with the age
 * of the earlier one in *age_s when it is a duplicate. */
bool dedupe_begin(dedupe *d, const char *key, int64_t now, int64_t *age_s);
void dedupe_end(dedupe *d, const char *key);
/* Forgets a key at once (the job was never queued). */
void dedupe_forget(dedupe *d, const char *key);

#endif
