/* Counters for GET /metrics, in the Prometheus text format. Lock-free:
 * every field is an atomic, bumped from any thread. */
#ifndef SLASHD_METRICS_H
#define SLASHD_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "base/util.h"
#include "base/verify.h"

enum {
  HTTP_200,
  HTTP_400,
  HTTP_401,
  HTTP_404,
  HTTP_405,
  HTTP_413,
  HTTP_415,
  HTTP_500,
  HTTP_503,
  HTTP_OTHER,
  HTTP__N
};

typedef enum {
  ACK_QUEUED,
  ACK_BUSY,
  ACK_DUPLICATE,
  ACK_USAGE,
  ACK_UNKNOWN,
  ACK_DENIED,
  ACK_SSL_CHECK,
  ACK_URL_REFUSED,
  ACK_WRONG_COMMAND,
  ACK_DRAINING,
  ACK__N
} ack_kind;

typedef enum {
  OUT_OK,
  OUT_ERROR,
  OUT_CRASHED,
  OUT_TIMEOUT,
  OUT_INTERRUPTED,
  OUT_NOT_STARTED, /* its worker was lost before the handler started, twice */
  OUT__N
} job_outcome;

typedef enum { POST_OK, POST_RETRIED, POST_FAILED, POST_REFUSED, POST__N } post_outcome;

/* Socket Mode: why a connection was replaced or reopened. */
typedef enum {
  SRC_REFRESH,
  SRC_WARNING,
  SRC_TOO_MANY,
  SRC_DROPPED,
  SRC_PING_TIMEOUT,
  SRC_OPEN_FAILED,
  SRC_CONNECT_FAILED,
  SRC_HELLO_TIMEOUT,
  SRC_OTHER,
  SRC__N
} socket_reconnect;

typedef enum { SENV_SLASH, SENV_INTERACTIVE, SENV_EVENTS, SENV_OTHER, SENV__N } socket_envelope;

#define VERIFY__N (VERIFY_REPLAYED + 1)
#define HIST_BUCKETS 16

typedef struct histogram {
  atomic_ullong bucket[HIST_BUCKETS]; /* cumulative at render time */
  atomic_ullong count;
  atomic_ullong sum_us;
} histogram;

typedef struct socket_metrics {
  atomic_llong connections; /* open and hello'd */
  atomic_ullong reconnects[SRC__N];
  atomic_ullong envelopes[SENV__N];
  atomic_ullong duplicates; /* envelopes Slack sent again, acked and not run */
  histogram ack_seconds;    /* envelope read to ack written */
} socket_metrics;

/* The host AWS credentials of the workers, as the last finished job's
 * worker reported them. */
typedef struct aws_metrics {
  pthread_mutex_t mu; /* guards source */
  char source[192];   /* "" until a worker reported */
  atomic_llong expires, skew;
} aws_metrics;

typedef struct metrics {
  atomic_ullong http[HTTP__N];
  atomic_ullong verify_fail[VERIFY__N];
  atomic_ullong acks[ACK__N];
  atomic_ullong jobs[OUT__N];
  atomic_ullong posts[POST__N];
  atomic_ullong worker_restarts;
  atomic_ullong journal_recovered;
  histogram job_seconds;
  histogram ack_seconds;
  socket_metrics socket;
  aws_metrics aws;
} metrics;

void metrics_init(metrics *m);
void metrics_destroy(metrics *m);
/* source: any text (escaped as a label value, cut to fit). */
void metrics_set_aws(metrics *m, const char *source, long long expires, long long skew);

void metrics_http(metrics *m, int status);
void metrics_observe(histogram *h, uint64_t us);
const char *job_outcome_name(job_outcome o);
const char *metrics_reconnect_name(socket_reconnect r);

/* Gauges read at render time. */
typedef struct metrics_gauges {
  size_t queue_depth, queue_capacity;
  size_t workers_idle, workers_busy, workers_starting;
  size_t jobs_running;
  size_t journal_open;
  size_t response_pending;
} metrics_gauges;

void metrics_render(const metrics *m, const metrics_gauges *g, sbuf *out);

#endif
