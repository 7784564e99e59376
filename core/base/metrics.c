#include "base/metrics.h"

#include <stddef.h>

/* Upper bounds in microseconds; the last bucket is +Inf. Covers a 1 ms ack
 * and a 2-minute job alike. */
static const uint64_t bounds_us[HIST_BUCKETS - 1] = {
    500,    1000,   2500,    5000,    10000,    25000,    50000,    100000,
    250000, 500000, 1000000, 2500000, 10000000, 30000000, 120000000};

static const int http_codes[HTTP__N] = {200, 400, 401, 404, 405, 413, 415, 500, 503, 0};
static const char *const ack_names[ACK__N] = {
    "queued", "busy",      "duplicate",   "usage",         "unknown",
    "denied", "ssl_check", "url_refused", "wrong_command", "draining"};
static const char *const outcome_names[OUT__N] = {"ok",      "error",       "crashed",
                                                  "timeout", "interrupted", "not_started"};
static const char *const post_names[POST__N] = {"ok", "retried", "failed", "refused"};

/* One labelled counter family: HELP, TYPE and a line per label value. */
static void counter_family(sbuf *o, const char *name, const char *help, const char *label,
                           const char *const *values, const atomic_ullong *counts, int n) {
  sbuf_addf(o, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
  for (int i = 0; i < n; i++)
    sbuf_addf(o, "%s{%s=\"%s\"} %llu\n", name, label, values[i],
              (unsigned long long)atomic_load(&counts[i]));
}

const char *job_outcome_name(job_outcome o) {
  return o < OUT__N ? outcome_names[o] : "unknown";
}

void metrics_http(metrics *m, int status) {
  for (int i = 0; i < HTTP__N - 1; i++) {
    if (http_codes[i] == status) {
      atomic_fetch_add(&m->http[i], 1);
      return;
    }
  }
  atomic_fetch_add(&m->http[HTTP_OTHER], 1);
}

void metrics_observe(histogram *h, uint64_t us) {
  size_t i = 0;
  while (i < HIST_BUCKETS - 1 && us > bounds_us[i])
    i++;
  atomic_fetch_add(&h->bucket[i], 1);
  atomic_fetch_add(&h->count, 1);
  atomic_fetch_add(&h->sum_us, us);
}

static void render_hist(sbuf *o, const char *name, const char *help, const histogram *h) {
  sbuf_addf(o, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
  unsigned long long cum = 0;
  for (size_t i = 0; i < HIST_BUCKETS; i++) {
    cum += atomic_load(&h->bucket[i]);
    if (i < HIST_BUCKETS - 1)
      sbuf_addf(o, "%s_bucket{le=\"%g\"} %llu\n", name, (double)bounds_us[i] / 1e6, cum);
    else
      sbuf_addf(o, "%s_bucket{le=\"+Inf\"} %llu\n", name, cum);
  }
  sbuf_addf(o, "%s_sum %.6f\n%s_count %llu\n", name, (double)atomic_load(&h->sum_us) / 1e6, name,
            (unsigned long long)atomic_load(&h->count));
}

static const char *const reconnect_names[SRC__N] = {
    "refresh_requested", "warning",        "too_many_websockets", "dropped", "ping_timeout",
    "open_failed",       "connect_failed", "hello_timeout",       "other"};
static const char *const envelope_names[SENV__N] = {"slash_commands", "interactive", "events_api",
                                                    "other"};

const char *metrics_reconnect_name(socket_reconnect r) {
  return r < SRC__N ? reconnect_names[r] : "other";
}

/* Socket Mode ([slack] mode = socket); all zero in HTTP mode. */
static void render_socket(sbuf *o, const socket_metrics *s) {
  sbuf_addf(o,
            "# HELP slashd_socket_connections Socket Mode connections open (hello received).\n"
            "# TYPE slashd_socket_connections gauge\nslashd_socket_connections %lld\n",
            (long long)atomic_load(&s->connections));
  counter_family(o, "slashd_socket_reconnects_total",
                 "Socket Mode connections replaced or reopened, by reason.", "reason",
                 reconnect_names, s->reconnects, SRC__N);
  counter_family(o, "slashd_socket_envelopes_total", "Socket Mode envelopes received, by type.",
                 "type", envelope_names, s->envelopes, SENV__N);
  sbuf_addf(o,
            "# HELP slashd_socket_duplicate_envelopes_total Envelopes Slack sent again: acked, "
            "not run twice.\n# TYPE slashd_socket_duplicate_envelopes_total counter\n"
            "slashd_socket_duplicate_envelopes_total %llu\n",
            (unsigned long long)atomic_load(&s->duplicates));
  render_hist(o, "slashd_socket_ack_seconds",
              "Socket Mode: time from an envelope read to its ack written.", &s->ack_seconds);
}

void metrics_init(metrics *m) {
  pthread_mutex_init(&m->aws.mu, NULL);
}

void metrics_destroy(metrics *m) {
  pthread_mutex_destroy(&m->aws.mu);
}

void metrics_set_aws(metrics *m, const char *source, long long expires, long long skew) {
  aws_metrics *a = &m->aws;
  pthread_mutex_lock(&a->mu);
  size_t n = 0, cap = sizeof a->source - 1;
  for (const char *p = source; *p && n < cap; p++) {
    bool esc = *p == '\\' || *p == '"' || *p == '\n';
    if (n + (esc ? 2 : 1) > cap)
      break;
    if (esc)
      a->source[n++] = '\\';
    a->source[n++] = *p == '\n' ? 'n' : *p;
  }
  /* Never end inside a UTF-8 sequence. */
  while (n && ((unsigned char)a->source[n - 1] & 0xc0) == 0x80)
    n--;
  if (n && (unsigned char)a->source[n - 1] >= 0xc0)
    n--;
  a->source[n] = '\0';
  pthread_mutex_unlock(&a->mu);
  atomic_store(&a->expires, expires);
  atomic_store(&a->skew, skew);
}

static void render_aws(const metrics *m, sbuf *o) {
  aws_metrics *a = (aws_metrics *)&m->aws; /* the lock, not the data, changes */
  pthread_mutex_lock(&a->mu);
  if (a->source[0]) {
    sbuf_adds(o, "# HELP slashd_aws_credentials_info Where the workers' host AWS credentials "
                 "come from.\n# TYPE slashd_aws_credentials_info gauge\n");
    sbuf_addf(o, "slashd_aws_credentials_info{source=\"%s\"} 1\n", a->source);
  }
  pthread_mutex_unlock(&a->mu);
  sbuf_addf(o,
            "# HELP slashd_aws_credentials_expiry_timestamp_seconds When the host AWS credentials "
            "expire (0: long-term keys, or not fetched yet).\n"
            "# TYPE slashd_aws_credentials_expiry_timestamp_seconds gauge\n"
            "slashd_aws_credentials_expiry_timestamp_seconds %lld\n"
            "# HELP slashd_aws_clock_skew_seconds AWS's clock minus ours, as learnt from a "
            "signature refused as skewed (the signing clock is corrected by it).\n"
            "# TYPE slashd_aws_clock_skew_seconds gauge\n"
            "slashd_aws_clock_skew_seconds %lld\n",
            (long long)atomic_load(&a->expires), (long long)atomic_load(&a->skew));
}

void metrics_render(const metrics *m, const metrics_gauges *g, sbuf *o) {
  sbuf_adds(o, "# HELP slashd_build_info Build information.\n# TYPE slashd_build_info gauge\n");
  sbuf_addf(o, "slashd_build_info{version=\"%s\"} 1\n", SLASHD_VERSION);

  sbuf_adds(o, "# HELP slashd_http_requests_total HTTP requests answered, by status.\n"
               "# TYPE slashd_http_requests_total counter\n");
  for (int i = 0; i < HTTP__N; i++) {
    if (http_codes[i])
      sbuf_addf(o, "slashd_http_requests_total{status=\"%d\"} %llu\n", http_codes[i],
                (unsigned long long)atomic_load(&m->http[i]));
    else
      sbuf_addf(o, "slashd_http_requests_total{status=\"other\"} %llu\n",
                (unsigned long long)atomic_load(&m->http[i]));
  }
  sbuf_adds(o, "# HELP slashd_verification_failures_total Requests refused as not from Slack, "
               "by reason.\n# TYPE slashd_verification_failures_total counter\n");
  for (int i = 1; i < VERIFY__N; i++)
    sbuf_addf(o, "slashd_verification_failures_total{reason=\"%s\"} %llu\n",
              verify_reason((verify_result)i), (unsigned long long)atomic_load(&m->verify_fail[i]));
  counter_family(o, "slashd_acks_total", "Slash commands answered, by kind of answer.", "kind",
                 ack_names, m->acks, ACK__N);
  counter_family(o, "slashd_jobs_total", "Jobs finished, by outcome.", "outcome", outcome_names,
                 m->jobs, OUT__N);
  counter_family(o, "slashd_response_posts_total", "Posts to response_url, by outcome.", "outcome",
                 post_names, m->posts, POST__N);
  sbuf_addf(o,
            "# HELP slashd_worker_restarts_total Worker processes replaced.\n"
            "# TYPE slashd_worker_restarts_total counter\nslashd_worker_restarts_total %llu\n",
            (unsigned long long)atomic_load(&m->worker_restarts));
  sbuf_addf(o,
            "# HELP slashd_journal_recovered_total Unfinished jobs of an earlier run whose users "
            "were told at start.\n# TYPE slashd_journal_recovered_total counter\n"
            "slashd_journal_recovered_total %llu\n"
            "# HELP slashd_journal_open Accepted jobs whose final reply is not settled yet.\n"
            "# TYPE slashd_journal_open gauge\nslashd_journal_open %zu\n",
            (unsigned long long)atomic_load(&m->journal_recovered), g->journal_open);
  sbuf_addf(o,
            "# HELP slashd_response_pending Replies queued for response_url or in flight.\n"
            "# TYPE slashd_response_pending gauge\nslashd_response_pending %zu\n"
            "# HELP slashd_queue_depth Jobs waiting for a worker.\n# TYPE slashd_queue_depth "
            "gauge\nslashd_queue_depth %zu\n"
            "# HELP slashd_queue_capacity Jobs that may wait before the host answers busy.\n"
            "# TYPE slashd_queue_capacity gauge\nslashd_queue_capacity %zu\n"
            "# HELP slashd_jobs_running Jobs running in workers.\n# TYPE slashd_jobs_running "
            "gauge\nslashd_jobs_running %zu\n"
            "# HELP slashd_workers Worker processes, by state.\n# TYPE slashd_workers gauge\n"
            "slashd_workers{state=\"idle\"} %zu\nslashd_workers{state=\"busy\"} %zu\n"
            "slashd_workers{state=\"starting\"} %zu\n",
            g->response_pending, g->queue_depth, g->queue_capacity, g->jobs_running,
            g->workers_idle, g->workers_busy, g->workers_starting);
  render_hist(o, "slashd_job_duration_seconds", "Time from a job's start to its end.",
              &m->job_seconds);
  render_hist(o, "slashd_ack_duration_seconds", "Time to answer a slash command (front door).",
              &m->ack_seconds);
  render_socket(o, &m->socket);
  render_aws(m, o);
}
