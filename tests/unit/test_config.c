/* config.c: the ini file, its schema and a diagnostic with a line number on
 * every problem. Each test writes a temporary file with mkstemp. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/config.h"
#include "unit_util.h"
#include "base/util.h"

static config *load(const char *text) {
  return unit_load_config(text);
}

/* The diagnostic at `line` with `lvl` whose message contains `needle`. */
static const cfg_diag *find_diag(const config *c, int line, diag_level lvl, const char *needle) {
  for (size_t i = 0; i < c->n_diags; i++) {
    const cfg_diag *d = &c->diags[i];
    if (d->line == line && d->level == lvl && strstr(d->msg, needle))
      return d;
  }
  return NULL;
}

static void dump(const config *c) {
  for (size_t i = 0; i < c->n_diags; i++)
    print_message("  diag line %d %s: %s\n", c->diags[i].line,
                  c->diags[i].level == DIAG_ERROR ? "error" : "warning", c->diags[i].msg);
}

#define ASSERT_DIAG(c, line, lvl, needle)                                                          \
  do {                                                                                             \
    if (!find_diag((c), (line), (lvl), (needle))) {                                                \
      dump(c);                                                                                     \
      fail_msg("no %s on line %d containing \"%s\"", (lvl) == DIAG_ERROR ? "error" : "warning",    \
               (line), (needle));                                                                  \
    }                                                                                              \
  } while (0)

static void test_defaults(void **state) {
  (void)state;
  config *c = load("; nothing but a comment\n");
  assert_int_equal(c->n_diags, 0);
  assert_int_equal(c->n_errors, 0);
  assert_string_equal(c->listen_host, "127.0.0.1");
  assert_int_equal(c->listen_port, 3000);
  assert_string_equal(c->path, "/slack/commands");
  assert_int_equal(c->workers, 4);
  assert_int_equal(c->queue, 256);
  assert_int_equal(c->job_timeout, 120);
  assert_int_equal(c->max_body, 16384);
  assert_int_equal(c->dedupe_seconds, 10);
  assert_string_equal(c->state_dir, "/var/lib/slashd");
  assert_string_equal(c->journal, "/var/lib/slashd/journal");
  assert_string_equal(c->pid_file, "/var/lib/slashd/slashd.pid");
  assert_string_equal(c->command, "/aws");
  assert_int_equal(c->n_response_hosts, 1);
  assert_string_equal(c->response_hosts[0], "hooks.slack.com");
  assert_null(c->signing_secret_ref);
  assert_null(c->verification_token_ref);
  assert_null(c->tls_cert);
  assert_int_equal(c->aws_max_attempts, 4);
  assert_int_equal(c->id_mode, ID_NONE);
  assert_int_equal(c->id_read, READ_AS_HOST);
  assert_int_equal(c->session_duration, 900);
  assert_null(c->access);
  assert_null(c->id_users);
  assert_non_null(c->plugin_dir);
  assert_int_equal(c->n_plugins, 0);
  config_free(c);
}

static void test_values_applied(void **state) {
  (void)state;
  config *c = load("[server]\n"
                   "workers = 8   ; inline comment\n"
                   "state_dir = /srv/slashd\n"
                   "journal = off\n"
                   "[slack]\n"
                   "response_hosts = hooks.slack.com, chat.example.org:8443\n"
                   "[aws]\n"
                   "region = eu-west-1\n");
  assert_int_equal(c->n_diags, 0);
  assert_int_equal(c->workers, 8);
  assert_string_equal(c->state_dir, "/srv/slashd");
  assert_null(c->journal);
  assert_string_equal(c->pid_file, "/srv/slashd/slashd.pid");
  assert_int_equal(c->n_response_hosts, 2);
  assert_string_equal(c->response_hosts[1], "chat.example.org:8443");
  assert_string_equal(c->aws_region, "eu-west-1");
  assert_string_equal(config_get(config_section(c, "aws"), "region"), "eu-west-1");
  assert_int_equal(config_get_kv(config_section(c, "aws"), "region")->line, 8);
  assert_null(config_get(config_section(c, "aws"), "nope"));
  assert_null(config_get(NULL, "region"));
  config_free(c);
}

static void test_missing_file(void **state) {
  (void)state;
  char *err = NULL;
  assert_null(config_load("/nonexistent/slashd.ini", &err));
  assert_non_null(err);
  assert_non_null(strstr(err, "/nonexistent/slashd.ini"));
  assert_non_null(strstr(err, "cannot open"));
  free(err);
}

static void test_unknown_key(void **state) {
  (void)state;
  config *c = load("[server]\n"
                   "workers = 4\n"
                   "wrokers = 5\n");
  ASSERT_DIAG(c, 3, DIAG_WARNING, "unknown key \"wrokers\" in [server]");
  assert_int_equal(c->n_diags, 1);
  assert_int_equal(c->n_errors, 0);
  assert_int_equal(c->workers, 4);
  config_free(c);
}

static void test_unknown_section(void **state) {
  (void)state;
  config *c = load("[server]\n"
                   "workers = 4\n"
                   "\n"
                   "[sever]\n"
                   "workers = 9\n"
                   "[empty_unknown]\n");
  ASSERT_DIAG(c, 4, DIAG_WARNING, "unknown section [sever]");
  ASSERT_DIAG(c, 6, DIAG_WARNING, "unknown section [empty_unknown]");
  assert_int_equal(c->n_errors, 0);
  assert_int_equal(c->workers, 4); /* keys of an unknown section are not applied */
  config_free(c);
}

static void test_bad_integers(void **state) {
  (void)state;
  config *c = load("[server]\n"
                   "workers = 0\n"
                   "queue = many\n"
                   "job_timeout = 86401\n"
                   "max_body = 4k\n"
                   "dedupe_seconds = -1\n"
                   "http_threads = 2\n");
  ASSERT_DIAG(c, 2, DIAG_ERROR, "workers: expected a whole number from 1 to 256, got \"0\"");
  ASSERT_DIAG(c, 3, DIAG_ERROR, "queue: expected a whole number from 1 to 1000000, got \"many\"");
  ASSERT_DIAG(c, 4, DIAG_ERROR, "from 1 to 86400, got \"86401\"");
  ASSERT_DIAG(c, 5, DIAG_ERROR, "from 1024 to 1048576, got \"4k\"");
  ASSERT_DIAG(c, 6, DIAG_ERROR, "from 0 to 3600, got \"-1\"");
  assert_int_equal(c->n_errors, 5);
  /* Refused values leave the default in place; good ones apply. */
  assert_int_equal(c->workers, 4);
  assert_int_equal(c->job_timeout, 120);
  assert_int_equal(c->http_threads, 2);
  config_free(c);
}

static void test_duplicate_key(void **state) {
  (void)state;
  config *c = load("[server]\n"
                   "workers = 2\n"
                   "queue = 10\n"
                   "workers = 3\n");
  ASSERT_DIAG(c, 4, DIAG_ERROR, "duplicate key \"workers\" in [server] (first set on line 2)");
  assert_int_equal(c->n_errors, 1);
  assert_int_equal(c->workers, 2); /* the first value stays */
  config_free(c);
}

static void test_duplicate_key_across_repeated_section(void **state) {
  (void)state;
  config *c = load("[server]\n"
                   "workers = 2\n"
                   "[aws]\n"
                   "region = x\n"
                   "[server]\n"
                   "workers = 3\n");
  ASSERT_DIAG(c, 6, DIAG_ERROR, "first set on line 2");
  config_free(c);
}

static void test_literal_secret_refused(void **state) {
  (void)state;
  config *c = load("[slack]\n"
                   "signing_secret = 8f742231b10e8888abcd99yyyzzz85a5\n"
                   "verification_token = env:\n");
  ASSERT_DIAG(c, 2, DIAG_ERROR, "signing_secret: secrets must be references");
  ASSERT_DIAG(c, 3, DIAG_ERROR, "verification_token: secrets must be references");
  assert_null(c->signing_secret_ref);
  assert_null(c->verification_token_ref);
  /* The refused value is a secret: it must not be echoed in a message. */
  for (size_t i = 0; i < c->n_diags; i++)
    assert_null(strstr(c->diags[i].msg, "8f742231"));
  config_free(c);
}

static void test_secret_refs_accepted(void **state) {
  (void)state;
  static const char *const refs[] = {"env:SLACK_SIGNING_SECRET", "file:/etc/slashd/secret",
                                     "kms:AQICAHhbase64=="};
  for (size_t i = 0; i < ARRAY_LEN(refs); i++) {
    char *text =
        xasprintf("[slack]\nsigning_secret = %s\nverification_token = %s\n", refs[i], refs[i]);
    config *c = load(text);
    free(text);
    assert_int_equal(c->n_diags, 0);
    assert_string_equal(c->signing_secret_ref, refs[i]);
    assert_string_equal(c->verification_token_ref, refs[i]);
    config_free(c);
  }
  static const char *const bad[] = {"file:", "kms:", "ENV:X", "envX", "http://x"};
  for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
    char *text = xasprintf("[slack]\nsigning_secret = %s\n", bad[i]);
    config *c = load(text);
    free(text);
    ASSERT_DIAG(c, 2, DIAG_ERROR, "never literal values");
    config_free(c);
  }
}

static void test_every_syntax_error_reported(void **state) {
  (void)state;
  config *c = load("[server]\n"       /* 1 */
                   "workers = 4\n"    /* 2 */
                   "this is wrong\n"  /* 3 */
                   "[slack\n"         /* 4 */
                   "command = /ops\n" /* 5 */
                   "also wrong\n"     /* 6 */
                   "\n"               /* 7 */
                   "[aws]\n"          /* 8 */
                   "still wrong\n");  /* 9 */
  ASSERT_DIAG(c, 3, DIAG_ERROR, "expected [section] or key = value");
  ASSERT_DIAG(c, 4, DIAG_ERROR, "section header without closing ']'");
  ASSERT_DIAG(c, 6, DIAG_ERROR, "expected [section] or key = value");
  ASSERT_DIAG(c, 9, DIAG_ERROR, "expected [section] or key = value");
  assert_int_equal(c->n_errors, 4);
  config_free(c);
}

static void test_key_outside_section(void **state) {
  (void)state;
  config *c = load("workers = 4\n[server]\n");
  ASSERT_DIAG(c, 1, DIAG_ERROR, "key \"workers\" is outside any [section]");
  config_free(c);
}

static void test_long_line(void **state) {
  (void)state;
  sbuf b = {0};
  sbuf_adds(&b, "[server]\n"
                "workers = 3\n"
                "path = /");
  for (int i = 0; i < 250; i++)
    sbuf_addc(&b, 'p');
  sbuf_adds(&b, "\n"
                "queue = 7\n");
  config *c = load(b.p);
  sbuf_free(&b);
  ASSERT_DIAG(c, 3, DIAG_ERROR, "line longer than");
  assert_int_equal(c->n_errors, 1);
  /* The long value is not applied (not even a cut of it), and the lines
   * after it are read with the right numbers. */
  assert_string_equal(c->path, "/slack/commands");
  assert_int_equal(c->queue, 7);
  assert_int_equal(config_get_kv(config_section(c, "server"), "queue")->line, 4);
  config_free(c);
}

static void test_line_of_190_is_fine(void **state) {
  (void)state;
  sbuf b = {0};
  sbuf_adds(&b, "[server]\npath = /");
  for (int i = 0; i < 190 - 8; i++)
    sbuf_addc(&b, 'p');
  sbuf_adds(&b, "\n");
  config *c = load(b.p);
  sbuf_free(&b);
  assert_int_equal(c->n_diags, 0);
  assert_int_equal(strlen(c->path), 190 - 7);
  config_free(c);
}

static void test_continuation_lines(void **state) {
  (void)state;
  config *c = load("[slack]\n"
                   "response_hosts = hooks.slack.com\n"
                   "    chat.example.org\n"
                   "\tother.example.net:8443\n"
                   "command = /ops\n");
  assert_int_equal(c->n_diags, 0);
  const cfg_kv *kv = config_get_kv(config_section(c, "slack"), "response_hosts");
  assert_string_equal(kv->value, "hooks.slack.com\nchat.example.org\nother.example.net:8443");
  assert_int_equal(kv->line, 2);
  assert_int_equal(c->n_response_hosts, 3);
  assert_string_equal(c->response_hosts[2], "other.example.net:8443");
  assert_string_equal(c->command, "/ops");
  assert_int_equal(config_get_kv(config_section(c, "slack"), "command")->line, 5);
  config_free(c);
}

static void test_plugin_section_alone_enables(void **state) {
  (void)state;
  config *c = load("[plugins]\n"
                   "dir = /opt/slashd/plugins\n"
                   "\n"
                   "[plugin.ec2]\n"
                   "[plugin.s3]\n"
                   "enabled = false\n"
                   "[plugin.x-y_2]\n"
                   "path = /opt/other/x.so\n"
                   "greeting = hello\n");
  assert_int_equal(c->n_diags, 0);
  assert_int_equal(c->n_plugins, 3);
  const cfg_plugin *p = config_plugin(c, "ec2");
  assert_non_null(p);
  assert_true(p->enabled);
  assert_string_equal(p->path, "/opt/slashd/plugins/ec2.so");
  assert_int_equal(p->line, 4);
  p = config_plugin(c, "s3");
  assert_false(p->enabled);
  assert_int_equal(p->line, 5);
  p = config_plugin(c, "x-y_2");
  assert_true(p->enabled);
  assert_string_equal(p->path, "/opt/other/x.so");
  /* Plugin keys are the plugin's own: no unknown-key warning, kept for it. */
  assert_string_equal(config_get(p->section, "greeting"), "hello");
  assert_null(config_plugin(c, "lambda"));
  config_free(c);
}

static void test_plugin_enabled_bad_bool(void **state) {
  (void)state;
  config *c = load("[plugin.ec2]\n"
                   "enabled = maybe\n");
  ASSERT_DIAG(c, 2, DIAG_ERROR, "enabled: expected true or false, got \"maybe\"");
  config_free(c);
}

static void test_plugin_path_dotdot(void **state) {
  (void)state;
  config *c = load("[plugin.a]\n"
                   "path = /opt/slashd/../evil/a.so\n"
                   "[plugin.b]\n"
                   "path = ../b.so\n"
                   "[plugin.c]\n"
                   "path = /opt/c..d/c.so\n"
                   "[plugin.d]\n"
                   "path = /opt/d/..\n");
  ASSERT_DIAG(c, 2, DIAG_ERROR, "\"..\" is not allowed");
  ASSERT_DIAG(c, 4, DIAG_ERROR, "\"..\" is not allowed");
  ASSERT_DIAG(c, 8, DIAG_ERROR, "\"..\" is not allowed");
  assert_null(find_diag(c, 6, DIAG_ERROR, "")); /* ".." inside a name is fine */
  assert_int_equal(c->n_errors, 3);
  config_free(c);
}

static void test_bad_plugin_names(void **state) {
  (void)state;
  config *c = load("[plugin.EC2]\n"
                   "[plugin.]\n"
                   "[plugin.a.b]\n"
                   "[plugin.ok]\n"
                   "[plugin.abcdefghijabcdefghijabcdefghijabc]\n");
  ASSERT_DIAG(c, 1, DIAG_ERROR, "[plugin.EC2]: a plugin name is 1 to 32 characters");
  ASSERT_DIAG(c, 2, DIAG_ERROR, "[plugin.]");
  ASSERT_DIAG(c, 3, DIAG_ERROR, "[plugin.a.b]");
  ASSERT_DIAG(c, 5, DIAG_ERROR, "a plugin name is 1 to 32 characters");
  assert_int_equal(c->n_errors, 4);
  assert_int_equal(c->n_plugins, 1);
  assert_string_equal(c->plugins[0].name, "ok");
  config_free(c);
}

static void test_plugins_same_file(void **state) {
  (void)state;
  config *c = load("[plugin.a]\n"
                   "path = /opt/x.so\n"
                   "[plugin.b]\n"
                   "path = /opt/x.so\n");
  ASSERT_DIAG(c, 3, DIAG_ERROR, "[plugin.b] loads the same file as [plugin.a]");
  assert_int_equal(c->n_errors, 1);
  config_free(c);
}

typedef struct listen_case {
  const char *value;
  const char *host; /* NULL: refused */
  int port;
} listen_case;

static void test_listen(void **state) {
  (void)state;
  static const listen_case cases[] = {
      {"127.0.0.1:0", "127.0.0.1", 0},
      {"[::1]:3000", "::1", 3000},
      {"0.0.0.0:65535", "0.0.0.0", 65535},
      {"localhost:8080", "localhost", 8080},
      {"localhost", NULL, 0},
      {":3000", NULL, 0},
      {"127.0.0.1:", NULL, 0},
      {"127.0.0.1:65536", NULL, 0},
      {"127.0.0.1:-1", NULL, 0},
      {"127.0.0.1:80x", NULL, 0},
      {"[::1]", NULL, 0},
      {"[::1]3000", NULL, 0},
      {"[::1:3000", NULL, 0},
      {"[]:80", NULL, 0},
  };
  for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
    char *text = xasprintf("[server]\nlisten = %s\n", cases[i].value);
    config *c = load(text);
    free(text);
    if (cases[i].host) {
      if (c->n_diags)
        dump(c);
      assert_int_equal(c->n_diags, 0);
      assert_string_equal(c->listen_host, cases[i].host);
      assert_int_equal(c->listen_port, cases[i].port);
    } else {
      if (!find_diag(c, 2, DIAG_ERROR, "listen: expected host:port"))
        print_message("listen = %s was accepted\n", cases[i].value);
      ASSERT_DIAG(c, 2, DIAG_ERROR, "listen: expected host:port");
      assert_string_equal(c->listen_host, "127.0.0.1"); /* default kept */
      assert_int_equal(c->listen_port, 3000);
    }
    config_free(c);
  }
}

static void test_utf8_bom(void **state) {
  (void)state;
  /* Editors on Windows save a byte order mark; inih skips it, and so
   * must the line classifier. */
  config *c = load("\xef\xbb\xbf[server]\nworkers = 6\n");
  if (c->n_diags)
    dump(c);
  assert_int_equal(c->n_diags, 0);
  assert_int_equal(c->workers, 6);
  config_free(c);
  c = load("\xef\xbb\xbf[plugin.ec2]\n");
  assert_int_equal(c->n_diags, 0);
  assert_non_null(config_plugin(c, "ec2"));
  config_free(c);
  c = load("\xef\xbb\xbfworkers\n");
  ASSERT_DIAG(c, 1, DIAG_ERROR, "expected [section] or key = value");
  config_free(c);
}

static void test_server_checks(void **state) {
  (void)state;
  config *c = load("\n[server]\n"
                   "path = slack\n"
                   "tls_cert = /etc/cert.pem\n");
  ASSERT_DIAG(c, 2, DIAG_ERROR, "path: must start with '/'");
  ASSERT_DIAG(c, 2, DIAG_ERROR, "tls_cert and tls_key go together");
  config_free(c);
  c = load("[server]\nlog_format = xml\nlog_level = loud\n");
  ASSERT_DIAG(c, 2, DIAG_ERROR, "log_format: expected logfmt or json, got \"xml\"");
  ASSERT_DIAG(c, 3, DIAG_ERROR, "log_level: expected debug, info, warn or error, got \"loud\"");
  assert_string_equal(c->log_format, "logfmt");
  config_free(c);
  c = load("[server]\nstate_dir =\n");
  ASSERT_DIAG(c, 2, DIAG_ERROR, "state_dir: empty value");
  config_free(c);
}

static void test_identity_template_needs_role_template(void **state) {
  (void)state;
  config *c = load("[server]\n"
                   "workers = 2\n"
                   "[identity]\n"
                   "mode = template\n");
  ASSERT_DIAG(c, 3, DIAG_ERROR, "mode = template needs role_template");
  assert_int_equal(c->id_mode, ID_TEMPLATE);
  config_free(c);
  c = load("[identity]\n"
           "mode = template\n"
           "role_template = arn:aws:iam::123456789012:role/slack-{user_id}\n"
           "read = assume\n");
  assert_int_equal(c->n_diags, 0);
  assert_int_equal(c->id_read, READ_AS_ASSUME);
  assert_string_equal(c->role_template, "arn:aws:iam::123456789012:role/slack-{user_id}");
  config_free(c);
}

static void test_identity_other_checks(void **state) {
  (void)state;
  config *c = load("[identity]\nmode = iam-user\nrole_name = slack\n");
  ASSERT_DIAG(c, 1, DIAG_ERROR, "mode = iam-user needs role_name and required_policy");
  config_free(c);
  c = load("[identity]\nmode = map\n");
  ASSERT_DIAG(c, 1, DIAG_WARNING, "maps nobody");
  assert_int_equal(c->n_errors, 0);
  config_free(c);
  c = load("[identity]\n"
           "mode = map\n"
           "[identity.users]\n"
           "U1 = arn:aws:iam::123456789012:role/ops\n"
           "U2 = ops\n");
  ASSERT_DIAG(c, 5, DIAG_ERROR, "[identity.users] U2: expected a role ARN");
  assert_int_equal(c->n_errors, 1);
  assert_non_null(c->id_users);
  assert_string_equal(config_get(c->id_users, "U1"), "arn:aws:iam::123456789012:role/ops");
  config_free(c);
  c = load("[identity]\nmode = everyone\nread = guess\n");
  ASSERT_DIAG(c, 2, DIAG_ERROR, "mode: expected none, map, template or iam-user");
  ASSERT_DIAG(c, 3, DIAG_ERROR, "read: expected host or assume");
  assert_int_equal(c->id_mode, ID_NONE);
  config_free(c);
}

static void test_access_key_syntax(void **state) {
  (void)state;
  config *c = load("[access]\n"
                   "ec2.stop = U1, U2\n"
                   "ec2.* @channels = C1\n"
                   "* @deny = U9\n"
                   "ec2.stop @admins = U3\n"
                   "ec2 stop = U4\n"
                   "s3 @users = U5\n");
  ASSERT_DIAG(c, 5, DIAG_ERROR, "expected @users, @channels or @deny");
  ASSERT_DIAG(c, 6, DIAG_ERROR, "expected a target such as *, ec2, ec2.* or ec2.stop");
  assert_int_equal(c->n_errors, 2);
  assert_non_null(c->access);
  assert_int_equal(c->access->n, 6);
  config_free(c);
}

static void test_print_diags(void **state) {
  (void)state;
  config *c = load("[server]\nworkers = 0\n[nope]\n");
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  config_print_diags(c, out);
  fclose(out);
  char *want = xasprintf("%s:2: error: workers: expected a whole number from 1 to 256, got \"0\"\n"
                         "%s:3: warning: unknown section [nope] (ignored)\n",
                         c->file, c->file);
  assert_string_equal(buf, want);
  free(want);
  free(buf);
  config_free(c);
}

static void test_shipped_config_is_clean(void **state) {
  (void)state;
  char *err = NULL;
  config *c = config_load(SLASHD_SOURCE_DIR "/config/slashd.ini", &err);
  assert_non_null(c);
  if (c->n_diags)
    dump(c);
  assert_int_equal(c->n_diags, 0);
  assert_non_null(config_plugin(c, "help"));
  config_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_values_applied),
      cmocka_unit_test(test_missing_file),
      cmocka_unit_test(test_unknown_key),
      cmocka_unit_test(test_unknown_section),
      cmocka_unit_test(test_bad_integers),
      cmocka_unit_test(test_duplicate_key),
      cmocka_unit_test(test_duplicate_key_across_repeated_section),
      cmocka_unit_test(test_literal_secret_refused),
      cmocka_unit_test(test_secret_refs_accepted),
      cmocka_unit_test(test_every_syntax_error_reported),
      cmocka_unit_test(test_key_outside_section),
      cmocka_unit_test(test_long_line),
      cmocka_unit_test(test_line_of_190_is_fine),
      cmocka_unit_test(test_continuation_lines),
      cmocka_unit_test(test_plugin_section_alone_enables),
      cmocka_unit_test(test_plugin_enabled_bad_bool),
      cmocka_unit_test(test_plugin_path_dotdot),
      cmocka_unit_test(test_bad_plugin_names),
      cmocka_unit_test(test_plugins_same_file),
      cmocka_unit_test(test_listen),
      cmocka_unit_test(test_utf8_bom),
      cmocka_unit_test(test_server_checks),
      cmocka_unit_test(test_identity_template_needs_role_template),
      cmocka_unit_test(test_identity_other_checks),
      cmocka_unit_test(test_access_key_syntax),
      cmocka_unit_test(test_print_diags),
      cmocka_unit_test(test_shipped_config_is_clean),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
