/* urlcheck.c: which response_url the host may POST to; and
 * host_is_loopback (config.c), which it and the dev-mode checks rely on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/config.h"
#include "base/urlcheck.h"
#include "base/util.h"

static char *hooks_hosts[] = {"hooks.slack.com", "chat.example.org:8443", "localhost:3000",
                              "[::1]:4000"};
static const url_policy policy = {.hosts = hooks_hosts, .n_hosts = 4, .dev_loopback = false};
static const url_policy dev = {.hosts = hooks_hosts, .n_hosts = 1, .dev_loopback = true};

/* Allowed; checks that no reason is left behind and the host is reported. */
static void expect_ok(const url_policy *p, const char *url, const char *host) {
  char *why = (char *)"sentinel", *h = NULL;
  bool ok = url_allowed(p, url, &why, &h);
  if (!ok)
    fail_msg("%s refused: %s", url, why ? why : "(no reason)");
  assert_null(why);
  assert_non_null(h);
  assert_string_equal(h, host);
  free(h);
}

/* Refused with a reason containing `needle`. */
static void expect_refused(const url_policy *p, const char *url, const char *needle) {
  char *why = NULL, *h = NULL;
  if (url_allowed(p, url, &why, &h))
    fail_msg("%s allowed", url);
  assert_non_null(why);
  if (!strstr(why, needle))
    fail_msg("%s: reason \"%s\" lacks \"%s\"", url, why, needle);
  free(why);
  free(h);
}

static void test_https_listed_host(void **state) {
  (void)state;
  expect_ok(&policy, "https://hooks.slack.com/commands/T1/123/abc", "hooks.slack.com");
  expect_ok(&policy, "https://hooks.slack.com:443/commands/T1", "hooks.slack.com");
  expect_refused(&policy, "https://evil.example.com/commands/T1", "not in [slack] response_hosts");
  expect_refused(&policy, "https://hooks.slack.com.evil.example/x",
                 "not in [slack] response_hosts");
  expect_refused(&policy, "https://evilhooks.slack.com/x", "not in [slack] response_hosts");
}

static void test_port_rules(void **state) {
  (void)state;
  /* A bare entry means port 443. */
  expect_refused(&policy, "https://hooks.slack.com:8443/x", "not in [slack] response_hosts");
  expect_refused(&policy, "https://hooks.slack.com:80/x", "not in [slack] response_hosts");
  /* An entry with a port allows that port only. */
  expect_ok(&policy, "https://chat.example.org:8443/hook", "chat.example.org");
  expect_refused(&policy, "https://chat.example.org/hook", "not in [slack] response_hosts");
  expect_refused(&policy, "https://chat.example.org:8444/hook", "not in [slack] response_hosts");
}

static void test_http_only_for_loopback(void **state) {
  (void)state;
  expect_refused(&policy, "http://hooks.slack.com/commands/T1", "is not https");
  expect_ok(&policy, "http://localhost:3000/hook", "localhost");
  expect_ok(&policy, "http://[::1]:4000/hook", "[::1]");
  /* Loopback but not listed, outside development mode. */
  expect_refused(&policy, "http://localhost:3001/hook", "not in [slack] response_hosts");
  expect_refused(&policy, "http://127.0.0.1:3000/hook", "not in [slack] response_hosts");
}

static void test_other_schemes(void **state) {
  (void)state;
  expect_refused(&policy, "ftp://hooks.slack.com/x", "is not https");
  expect_refused(&policy, "file:///etc/passwd", "");
}

static void test_user_info(void **state) {
  (void)state;
  expect_refused(&policy, "https://user@hooks.slack.com/x", "user info");
  expect_refused(&policy, "https://user:pw@hooks.slack.com/x", "user info");
  expect_refused(&policy, "https://:pw@hooks.slack.com/x", "user info");
  /* The host is what follows the '@'. */
  expect_refused(&policy, "https://hooks.slack.com@evil.example/x", "user info");
}

static void test_bad_urls(void **state) {
  (void)state;
  expect_refused(&policy, "hooks.slack.com/commands", "not a valid URL");
  expect_refused(&policy, "", "not a valid URL");
  expect_refused(&policy, NULL, "not a valid URL");
  expect_refused(&policy, "https://", "not a valid URL");
  expect_refused(&policy, "https://hooks.slack.com:99999/x", "");
  expect_refused(&policy, "https://hooks.slack.com:0/x", "");
}

static void test_host_case_insensitive(void **state) {
  (void)state;
  char *why = NULL;
  assert_true(url_allowed(&policy, "https://HOOKS.Slack.COM/x", &why, NULL));
  assert_null(why);
  assert_true(url_allowed(&policy, "https://Chat.Example.org:8443/x", &why, NULL));
  assert_null(why);
}

static void test_dev_loopback(void **state) {
  (void)state;
  /* Development mode: any loopback host and port, http or https. */
  expect_ok(&dev, "http://127.0.0.1:9999/hook", "127.0.0.1");
  expect_ok(&dev, "http://localhost:1234/hook", "localhost");
  expect_ok(&dev, "https://127.0.0.1/hook", "127.0.0.1");
  expect_ok(&dev, "http://[::1]:5/hook", "[::1]");
  /* ...but nothing else is widened. */
  expect_ok(&dev, "https://hooks.slack.com/x", "hooks.slack.com");
  expect_refused(&dev, "http://hooks.slack.com/x", "is not https");
  expect_refused(&dev, "https://example.com/x", "not in [slack] response_hosts");
  expect_refused(&dev, "http://10.0.0.1/x", "is not https");
}

static void test_dev_loopback_lookalikes(void **state) {
  (void)state;
  /* Names that merely start like a loopback address resolve anywhere. */
  expect_refused(&dev, "http://127.evil.example/hook", "is not https");
  expect_refused(&dev, "https://127.evil.example/hook", "not in [slack] response_hosts");
  expect_refused(&dev, "http://127.0.0.1.nip.io/hook", "is not https");
  expect_refused(&dev, "http://localhost.evil.example/hook", "is not https");
}

static void test_url_host(void **state) {
  (void)state;
  char *h = url_host("https://hooks.slack.com/commands/1");
  assert_string_equal(h, "hooks.slack.com");
  free(h);
  h = url_host("not a url");
  assert_string_equal(h, "?");
  free(h);
}

static void test_host_is_loopback(void **state) {
  (void)state;
  static const char *const yes[] = {"localhost",    "localhost:3000", "127.0.0.1",
                                    "127.0.0.1:80", "127.1.2.3",      "::1",
                                    "[::1]",        "[::1]:3000"};
  static const char *const no[] = {"0.0.0.0",
                                   "::",
                                   "10.0.0.1",
                                   "128.0.0.1",
                                   "127.evil.example",
                                   "127.0.0.1.nip.io",
                                   "127.0.0.1.:80",
                                   "localhost.evil.example",
                                   "[::2]:3000",
                                   "",
                                   "[::1",
                                   "1270.0.0.1"};
  for (size_t i = 0; i < ARRAY_LEN(yes); i++)
    if (!host_is_loopback(yes[i]))
      fail_msg("%s is loopback", yes[i]);
  for (size_t i = 0; i < ARRAY_LEN(no); i++)
    if (host_is_loopback(no[i]))
      fail_msg("%s is not loopback", no[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_https_listed_host),
      cmocka_unit_test(test_port_rules),
      cmocka_unit_test(test_http_only_for_loopback),
      cmocka_unit_test(test_other_schemes),
      cmocka_unit_test(test_user_info),
      cmocka_unit_test(test_bad_urls),
      cmocka_unit_test(test_host_case_insensitive),
      cmocka_unit_test(test_dev_loopback),
      cmocka_unit_test(test_dev_loopback_lookalikes),
      cmocka_unit_test(test_url_host),
      cmocka_unit_test(test_host_is_loopback),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
