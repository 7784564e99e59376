/* `slashd serve`: wiring of the serving process, signals, reload and the
 * graceful drain. */
#include "daemon/serve.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "base/audit.h"
#include "worker/awsglue.h"
#include "daemon/credcache.h"
#include "daemon/http.h"
#include "daemon/journal.h"
#include "base/log.h"
#include "base/message.h"
#include "slashd/plugin.h"
#include "daemon/pool.h"
#include "base/replay.h"
#include "daemon/socket.h"
#include "base/safefile.h"
#include "base/secret.h"
#include "base/util.h"

/* ---- secrets and development mode --------------------------------------- */

static bool mkdir_p(const char *path, mode_t mode) {
  char *p = xstrdup(path);
  for (char *q = p + 1; *q; q++) {
    if (*q != '/')
      continue;
    *q = '\0';
    if (mkdir(p, mode) != 0 && errno != EEXIST) {
      free(p);
      return false;
    }
    *q = '/';
  }
  bool ok = mkdir(p, mode) == 0 || errno == EEXIST;
  free(p);
  return ok;
}

char *serve_dev_secret_path(const config *c) {
  return xasprintf("%s/dev-signing-secret", c->state_dir);
}

/* A fresh random secret for a loopback-only development host, written where
 * `slashd send` finds it. */
static bool make_dev_secret(runtime *rt, char **err) {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) {
    *err = xstrdup("no randomness for a development secret");
    return false;
  }
  char hex[65];
  hex_encode(raw, sizeof raw, hex);
  char *path = serve_dev_secret_path(rt->cfg);
  char *tmp = xasprintf("%s.tmp", path);
  FILE *f = NULL;
  int fd = safefile_create(tmp, true);
  if (fd >= 0)
    f = fdopen(fd, "w");
  bool ok = f && fputs(hex, f) >= 0;
  if (f)
    ok = (fclose(f) == 0) && ok;
  else if (fd >= 0)
    close(fd);
  if (!ok || rename(tmp, path) != 0) {
    *err = xasprintf("cannot write %s: %s", path, strerror(errno));
    unlink(tmp);
    free(tmp);
    free(path);
    return false;
  }
  rt->signing_secret = (unsigned char *)xstrdup(hex);
  rt->signing_secret_len = 64;
  rt->dev_secret = true;
  log_kv(SLOG_WARN, "DEVELOPMENT_MODE",
         KV_S("msg", "no [slack] signing_secret is configured: using a generated development "
                     "secret. Only loopback clients can reach this host; NEVER run it like this "
                     "in production. Send it a signed test command with: slashd send help"),
         KV_S("secret_file", path));
  free(tmp);
  free(path);
  return true;
}

static void runtime_policy(runtime *rt) {
  const config *c = rt->cfg;
  rt->policy.n_hosts = c->n_response_hosts;
  rt->policy.hosts = xcalloc(c->n_response_hosts ? c->n_response_hosts : 1, sizeof(char *));
  for (size_t i = 0; i < c->n_response_hosts; i++)
    rt->policy.hosts[i] = xstrdup(c->response_hosts[i]);
  rt->policy.dev_loopback = rt->dev_secret;
}

/* Socket Mode: the app token is the credential; commands do not come over
 * HTTP, so no signing secret is needed (one that is set is not used, said
 * once at start). On failure rt is freed (its config left to the caller). */
static bool runtime_build_socket(runtime *rt, const runtime *prev, kms_decrypt_fn kms, void *kms_ud,
                                 char **err) {
  const config *c = rt->cfg;
  char *e = NULL;
  if (!secret_resolve(c->app_token_ref, kms, kms_ud, &rt->app_token, &rt->app_token_len, &e)) {
    *err = xasprintf("[slack] app_token: %s", e);
    goto fail;
  }
  for (size_t i = 0; i < rt->app_token_len; i++) {
    if (rt->app_token[i] <= ' ' || rt->app_token[i] > '~') {
      *err = xstrdup("[slack] app_token: holds spaces or control characters; an app-level "
                     "token is one word (xapp-...)");
      goto fail;
    }
  }
  /* Confirmation tokens need a host secret: here the app token is the one
   * (a key derived from it, never the token itself). */
  confirm_key_derive(rt->app_token, rt->app_token_len, rt->confirm_key);
  if (!prev && (c->signing_secret_ref || c->verification_token_ref))
    log_kv(SLOG_INFO, "socket_mode_secret_unused",
           KV_S("msg", "[slack] mode = socket: signing_secret / verification_token are not used "
                       "(envelopes arrive over the app token's TLS connection)"));
  runtime_policy(rt);
  return true;
fail:
  free(e);
  rt->cfg = NULL; /* the caller still owns c */
  runtime_unref(rt);
  return false;
}

/* Resolves everything a configuration needs in the main process. On a
 * reload `prev` is the runtime serving now: a development host keeps its
 * secret (the one `slashd send` already read) instead of making a new one. */
static runtime *runtime_build(config *c, const runtime *prev, kms_decrypt_fn kms, void *kms_ud,
                              char **err) {
  runtime *rt = xcalloc(1, sizeof *rt);
  atomic_init(&rt->refs, 1);
  rt->cfg = c;
  char *e = NULL;
  if (c->socket_mode)
    return runtime_build_socket(rt, prev, kms, kms_ud, err) ? rt : NULL;
  if (c->signing_secret_ref && !secret_resolve(c->signing_secret_ref, kms, kms_ud,
                                               &rt->signing_secret, &rt->signing_secret_len, &e)) {
    *err = xasprintf("[slack] signing_secret: %s", e);
    goto fail;
  }
  if (c->verification_token_ref &&
      !secret_resolve(c->verification_token_ref, kms, kms_ud, &rt->token, &rt->token_len, &e)) {
    *err = xasprintf("[slack] verification_token: %s", e);
    goto fail;
  }
  if (!rt->signing_secret && !rt->token) {
    if (!host_is_loopback(c->listen_host)) {
      *err = xasprintf("neither [slack] signing_secret nor verification_token is set, and listen "
                       "= %s is not loopback: refusing to serve unauthenticated commands",
                       c->listen_host);
      goto fail;
    }
    if (prev && prev->dev_secret) {
      rt->signing_secret =
          (unsigned char *)xstrndup((const char *)prev->signing_secret, prev->signing_secret_len);
      rt->signing_secret_len = prev->signing_secret_len;
      rt->dev_secret = true;
    } else if (!make_dev_secret(rt, err)) {
      goto fail;
    }
  }
  if (rt->signing_secret)
    rt->signing_key = verify_key_new(rt->signing_secret, rt->signing_secret_len);
  /* Confirmation tokens: a key of their own, derived from the secret that
   * proves requests (the token in Mattermost mode). */
  if (rt->signing_secret)
    confirm_key_derive(rt->signing_secret, rt->signing_secret_len, rt->confirm_key);
  else
    confirm_key_derive(rt->token, rt->token_len, rt->confirm_key);
  runtime_policy(rt);
  return rt;
fail:
  free(e);
  rt->cfg = NULL; /* the caller still owns c */
  runtime_unref(rt);
  return NULL;
}

/* ---- reload ------------------------------------------------------------- */

static bool same_str(const char *a, const char *b) {
  return (!a && !b) || str_eq(a, b);
}

/* What a new configuration changes that a running host cannot apply (the
 * listening socket, TLS, the process layout, files opened at start), or
 * whether it would enter or leave development mode: a reload never does
 * these, since the host would then serve something other than what it says.
 * Returns the names (owned), or NULL when the reload can go ahead. */
static char *reload_blocker(const runtime *old, const config *c) {
  const config *o = old->cfg;
  sbuf b = {0};
  struct {
    const char *name;
    bool changed;
  } keys[] = {
      {"[server] listen",
       !same_str(o->listen_host, c->listen_host) || o->listen_port != c->listen_port},
      {"[server] tls_cert", !same_str(o->tls_cert, c->tls_cert)},
      {"[server] tls_key", !same_str(o->tls_key, c->tls_key)},
      {"[server] workers", o->workers != c->workers},
      {"[server] queue", o->queue != c->queue},
      {"[server] http_threads", o->http_threads != c->http_threads},
      {"[server] connection_limit", o->connection_limit != c->connection_limit},
      {"[server] connection_timeout", o->connection_timeout != c->connection_timeout},
      {"[server] state_dir", !same_str(o->state_dir, c->state_dir)},
      {"[server] journal", !same_str(o->journal, c->journal)},
      {"[server] pid_file", !same_str(o->pid_file, c->pid_file)},
      {"[audit] file", !same_str(o->audit_file, c->audit_file)},
      {"development mode (no [slack] signing_secret or verification_token)",
       old->dev_secret !=
           (!c->socket_mode && !c->signing_secret_ref && !c->verification_token_ref)},
      {"[slack] mode", o->socket_mode != c->socket_mode},
      {"[slack] socket_connections", o->socket_connections != c->socket_connections},
  };
  for (size_t i = 0; i < ARRAY_LEN(keys); i++)
    if (keys[i].changed)
      sbuf_addf(&b, "%s%s", b.len ? ", " : "", keys[i].name);
  return b.len ? sbuf_steal(&b) : NULL;
}

/* Log rotation: SIGHUP (`slashd reload`, logrotate's postrotate) reopens
 * the audit file by name, whatever becomes of the configuration. */
static void reopen_files(server *s) {
  char *err = NULL;
  if (!audit_reopen(s->audit, &err)) {
    log_kv(SLOG_ERROR, "audit_reopen_failed",
           KV_S("msg", err ? err : "cannot reopen the audit file; still writing to the old one"));
    free(err);
    return;
  }
  log_event(SLOG_INFO, "files_reopened");
}

static void reload(server *s) {
  log_kv(SLOG_INFO, "reload", KV_S("file", s->config_path));
  reopen_files(s);
  char *err = NULL;
  int cfd;
  config *c = config_load_snapshot(s->config_path, &cfd, &err);
  if (!c) {
    log_kv(SLOG_ERROR, "reload_refused", KV_S("msg", err));
    free(err);
    return;
  }
  config_log_diags(c);
  if (c->n_errors) {
    log_kv(SLOG_ERROR, "reload_refused",
           KV_S("msg", "the new configuration has errors (above); the old one keeps serving"));
    config_free(c);
    close(cfd);
    return;
  }
  runtime *old = server_runtime(s);
  char *fixed = reload_blocker(old, c);
  if (fixed) {
    log_kv(SLOG_ERROR, "reload_refused", KV_S("changed", fixed),
           KV_S("msg", "a reload cannot apply this change (it needs a restart); the old "
                       "configuration keeps serving"));
    free(fixed);
    runtime_unref(old);
    config_free(c);
    close(cfd);
    return;
  }
  aws_glue *kms = awsglue_new(c, NULL, NULL);
  runtime *rt = runtime_build(c, old, awsglue_kms_decrypt, kms, &err);
  awsglue_free(kms);
  runtime_unref(old);
  if (!rt) {
    log_kv(SLOG_ERROR, "reload_refused", KV_S("msg", err));
    free(err);
    config_free(c);
    close(cfd);
    return;
  }
  log_configure(c->log_format, c->log_level);
  dedupe_set_window(&s->dd, c->dedupe_seconds);
  responder_set_policy(s->resp, &rt->policy);
  /* Mappings may have changed: nobody keeps a role the new file no longer
   * gives them. */
  credcache_clear(s->creds);
  server_set_runtime(s, rt);
  pool_reload(s->pool, cfd);
  close(cfd);
  log_event(SLOG_INFO, "reloaded");
}

/* ---- the journal --------------------------------------------------------- */

/* A job's final reply is settled: it leaves the journal. One that could not
 * be sent because the host stopped first stays, so the next start tells its
 * user. */
static void on_final(void *ud, const char *job_id, final_outcome outcome) {
  server *s = ud;
  if (outcome != FINAL_ABANDONED)
    journal_finish(s->journal, job_id);
}

/* A job of an earlier run that never finished: say so, never re-run it. */
static void recover_one(void *ud, const journal_entry *e) {
  server *s = ud;
  int64_t age = wall_s() - e->accepted;
  if (!e->response_url || age >= RESPONSE_URL_VALIDITY_S) {
    log_kv(SLOG_WARN, "journal_unreachable", KV_S("req", e->id), KV_S("user", e->user_id),
           KV_S("text", e->text), KV_I("age_s", age),
           KV_S("msg", "interrupted before it finished; its response_url has expired, so the "
                       "user could not be told"));
    journal_finish(s->journal, e->id);
    return;
  }
  char *shown = message_command_span(e->command, e->text, 200);
  char *text = xasprintf(
      "slashd restarted before `%s` finished, so it was interrupted and will not be run again. %s",
      shown,
      e->write ? "It may have partly run: check the resource before running it again."
               : "Run it again if you still need it.");
  char *formatted = message_text(SLASHD_REPLY_ERROR, text, NULL);
  json_t *body = message_json(SLASHD_REPLY_ERROR, formatted);
  char *b = json_dumps(body, JSON_COMPACT);
  responder_post(s->resp, e->id, e->response_url, b, true, true, e->accepted);
  log_kv(SLOG_WARN, "journal_recovered", KV_S("req", e->id), KV_S("user", e->user_id),
         KV_S("text", e->text), KV_I("age_s", age));
  atomic_fetch_add(&s->m.journal_recovered, 1);
  free(b);
  json_decref(body);
  free(formatted);
  free(text);
  free(shown);
}

/* ---- the process -------------------------------------------------------- */

static void write_pid_file(const char *path) {
  char *tmp = xasprintf("%s.tmp", path);
  int fd = safefile_create(tmp, true);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!f && fd >= 0)
    close(fd);
  if (f && fprintf(f, "%d\n", (int)getpid()) > 0 && fclose(f) == 0 && rename(tmp, path) == 0) {
    free(tmp);
    return;
  }
  log_kv(SLOG_WARN, "pid_file", KV_S("file", path), KV_S("msg", strerror(errno)));
  free(tmp);
}

static void drain_and_stop(server *s, int drain_s) {
  atomic_store(&s->draining, true);
  log_kv(SLOG_INFO, "draining", KV_I("deadline_s", drain_s), KV_U("queued", queue_len(&s->queue)));
  /* No new commands from Slack: envelopes not yet read go to another
   * connection of the app (or are sent again once we are back). */
  socket_stop(s->socket);
  s->socket = NULL;
  http_quiesce(s);
  pool_drain(s->pool, mono_ms() + (uint64_t)drain_s * 1000u);
  /* libmicrohttpd's threads read s->resp (/metrics, the busy check): they
   * must all be gone before the responder is freed. */
  http_stop(s);
  /* Every job is accounted for; give the last replies a moment to leave. */
  responder_stop(s->resp, 10000);
  s->resp = NULL;
  pool_stop(s->pool);
  s->pool = NULL;
}

/* The state directory holds the journal, the development secret and the
 * pid file: no one else may be able to read, replace or plant them.
 * Returns 0 or an exit status. */
static int check_state_dir(const config *c) {
  char *err = NULL;
  if (!mkdir_p(c->state_dir, 0700)) {
    log_kv(SLOG_ERROR, "state_dir", KV_S("dir", c->state_dir), KV_S("msg", strerror(errno)));
    return 73;
  }
  if (!safefile_state_dir_ok(c->state_dir, &err)) {
    log_kv(SLOG_ERROR, "state_dir", KV_S("dir", c->state_dir), KV_S("msg", err));
    free(err);
    return 73;
  }
  return 0;
}

/* kms: references are decrypted once, here, with the host's credentials. */
static runtime *first_runtime(config *c) {
  char *err = NULL;
  aws_glue *kms = awsglue_new(c, NULL, NULL);
  runtime *rt = runtime_build(c, NULL, awsglue_kms_decrypt, kms, &err);
  awsglue_free(kms);
  if (!rt) {
    log_kv(SLOG_ERROR, "secrets", KV_S("msg", err));
    free(err);
  }
  return rt;
}

/* Threads start after this: from here on signals are taken by the main
 * thread only, with sigwait. */
static void block_signals(sigset_t *set) {
  sigemptyset(set);
  sigaddset(set, SIGTERM);
  sigaddset(set, SIGINT);
  sigaddset(set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, set, NULL);
  signal(SIGPIPE, SIG_IGN);
}

static server *server_new(const char *config_path, runtime *rt) {
  const config *c = rt->cfg;
  server *s = xcalloc(1, sizeof *s);
  s->config_path = xstrdup(config_path);
  pthread_mutex_init(&s->mu, NULL);
  metrics_init(&s->m);
  s->rt = rt;
  queue_init(&s->queue, (size_t)c->queue);
  s->creds = credcache_new();
  dedupe_init(&s->dd, c->dedupe_seconds);
  caps_init(&s->caps);
  confirm_store_init(&s->confirms);
  unsigned char boot[3];
  RAND_bytes(boot, sizeof boot);
  hex_encode(boot, sizeof boot, s->boot_id);
  return s;
}

static void server_free(server *s) {
  if (s->resp)
    responder_stop(s->resp, 0);
  journal_close(s->journal);
  replay_close(s->replay);
  audit_close(s->audit);
  route_table_unref(s->routes);
  runtime_unref(s->rt);
  queue_destroy(&s->queue);
  dedupe_destroy(&s->dd);
  caps_destroy(&s->caps);
  confirm_store_destroy(&s->confirms);
  credcache_free(s->creds);
  pthread_mutex_destroy(&s->mu);
  metrics_destroy(&s->m);
  free(s->config_path);
  free(s);
}

/* The audit trail, the journal and the replay store. Returns 0 or an exit
 * status. */
static int open_files(server *s, const config *c) {
  char *err = NULL;
  const char *what = "audit";
  s->audit = audit_open(c->audit_file, &err);
  if (!s->audit)
    goto fail;
  what = "journal";
  if (c->journal && !(s->journal = journal_open(c->journal, c->journal_fsync_always, &err)))
    goto fail;
  /* With the journal on, accepted signatures are kept on disk beside it,
   * so a replay after a restart is refused too. */
  what = "replay";
  char *replay_prefix = c->journal ? xasprintf("%s.replay", c->journal) : NULL;
  s->replay = replay_open(replay_prefix, wall_s(), &err);
  free(replay_prefix);
  if (!s->replay)
    goto fail;
  return 0;
fail:
  log_kv(SLOG_ERROR, what, KV_S("msg", err));
  free(err);
  return 73;
}

/* Responder, recovery, workers, then the doors. False: it could not start
 * (everything started is stopped again). The pool takes its own copy of
 * the snapshot `cfd`. */
static bool start_parts(server *s, const config *c, int cfd) {
  char *err = NULL;
  s->resp = responder_start(&s->rt->policy, &s->m, on_final, s);
  size_t recovered = journal_recover(s->journal, recover_one, s);
  if (recovered)
    log_kv(SLOG_WARN, "journal_recovery", KV_U("jobs", recovered),
           KV_S("msg", "jobs of the previous run never finished; their users are being told"));
  s->pool = pool_start(s, s->config_path, cfd, c->workers);
  if (!pool_wait_ready(s->pool, 30000, &err) || !http_start(s, c, &err) ||
      (c->socket_mode && !(s->socket = socket_start(s, &err)))) {
    log_kv(SLOG_ERROR, "start_failed", KV_S("msg", err));
    free(err);
    drain_and_stop(s, 0);
    return false;
  }
  write_pid_file(c->pid_file);
  log_kv(SLOG_INFO, "listening", KV_S("addr", c->listen_host), KV_I("port", s->listen_port),
         KV_S("path", c->path), KV_I("workers", c->workers), KV_B("tls", c->tls_cert != NULL),
         KV_B("dev_mode", s->rt->dev_secret), KV_S("mode", c->socket_mode ? "socket" : "http"),
         KV_S("version", SLASHD_VERSION));
  return true;
}

/* SIGHUP reloads; SIGTERM or SIGINT drains and returns. */
static void wait_signals(server *s, const sigset_t *set) {
  for (;;) {
    int sig = 0;
    if (sigwait(set, &sig) != 0)
      continue;
    if (sig == SIGHUP) {
      reload(s);
      continue;
    }
    log_kv(SLOG_INFO, "signal", KV_S("name", sig == SIGTERM ? "SIGTERM" : "SIGINT"));
    runtime *cur = server_runtime(s);
    int drain_s = cur->cfg->drain_seconds;
    char *pid_file = xstrdup(cur->cfg->pid_file);
    runtime_unref(cur);
    drain_and_stop(s, drain_s);
    unlink(pid_file);
    free(pid_file);
    return;
  }
}

int serve_run(const char *config_path, config *c, int cfd) {
  int rc = check_state_dir(c);
  runtime *rt = rc ? NULL : first_runtime(c);
  if (!rt) {
    config_free(c);
    close(cfd);
    return rc ? rc : 78;
  }
  sigset_t set;
  block_signals(&set);
  server *s = server_new(config_path, rt);
  rc = open_files(s, c);
  if (rc)
    goto out;
  bool started = start_parts(s, c, cfd);
  close(cfd); /* the pool keeps its own */
  cfd = -1;
  if (started)
    wait_signals(s, &set);
  else
    rc = 1;
  log_event(SLOG_INFO, "stopped");
out:
  if (cfd >= 0)
    close(cfd);
  server_free(s);
  return rc;
}
