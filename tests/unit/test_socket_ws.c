/* socket_ws.c and socket_api.c: the pieces of the Socket Mode client that
 * need no server: the Sec-WebSocket-Accept computation (RFC 6455's own
 * example), which URLs may be connected to, and which Slack errors stop the
 * start. The handshake and framing run against the fake Slack in
 * tests/integration/test_socket.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/socket_api.h"
#include "daemon/socket_ws.h"

static void accept_rfc6455_example(void **state) {
  char out[29];
  ws_accept_for("dGhlIHNhbXBsZSBub25jZQ==", out);
  assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void url_ok(const char *url) {
  char *why = NULL;
  if (!ws_url_ok(url, &why))
    fail_msg("%s refused: %s", url, why);
  assert_null(why);
}

static void url_refused(const char *url, const char *needle) {
  char *why = NULL;
  if (ws_url_ok(url, &why))
    fail_msg("%s allowed", url);
  assert_non_null(why);
  if (!strstr(why, needle))
    fail_msg("%s: \"%s\" lacks \"%s\"", url, why, needle);
  free(why);
}

static void urls(void **state) {
  url_ok("wss://wss-primary.slack.com/link/?ticket=abc&app_id=A1");
  url_ok("wss://wss-primary.slack.com:443/link/");
  url_ok("ws://127.0.0.1:8080/link/?ticket=1");
  url_ok("ws://[::1]:8080/link/");
  url_ok("ws://localhost/link/");
  url_refused("ws://wss-primary.slack.com/link/", "loopback");
  url_refused("ws://127.evil.example/link/", "loopback");
  url_refused("https://slack.com/", "not ws or wss");
  url_refused("wss://user:pw@slack.com/", "credentials");
  url_refused("not a url", "");
}

/* Checks one answer head against the RFC example key; NULL when accepted. */
static char *answer(const char *head) {
  char *h = strdup(head);
  char *why = ws_check_answer("dGhlIHNhbXBsZSBub25jZQ==", h);
  free(h);
  return why;
}

static void answer_refused(const char *head, const char *needle) {
  char *why = answer(head);
  if (!why)
    fail_msg("accepted: %s", head);
  if (!strstr(why, needle))
    fail_msg("\"%s\" lacks \"%s\"", why, needle);
  free(why);
}

#define ACCEPT "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

static void handshake_answers(void **state) {
  assert_null(answer("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\n" ACCEPT));
  /* Names and the Upgrade/Connection values in any case; a token list. */
  assert_null(answer("HTTP/1.1 101\r\nupgrade: WebSocket\r\nconnection: keep-alive, upgrade\r\n"
                     "sec-websocket-accept:   s3pPLMBiTxaQ9kYGzzhZRbK+xOo=  "));
  answer_refused("\r\nHTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\n" ACCEPT,
                 "not an HTTP/1.1 answer");
  answer_refused(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\nConnection: Upgrade\r\n" ACCEPT,
      "malformed header line");
  answer_refused("HTTP/1.1 101 Switching Protocols\r\n: x\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\n" ACCEPT,
                 "malformed header line");
  answer_refused("HTTP/1.1 1010 Nope\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" ACCEPT,
                 "refused");
  answer_refused("HTTP/1.0 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade"
                 "\r\n" ACCEPT,
                 "not an HTTP/1.1 answer");
  answer_refused("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo",
                 "Sec-WebSocket-Accept");
  answer_refused(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n" ACCEPT,
      "no Upgrade");
}

static void fatal_errors(void **state) {
  assert_true(socket_error_is_fatal("invalid_auth"));
  assert_true(socket_error_is_fatal("not_allowed_token_type"));
  assert_true(socket_error_is_fatal("invalid_token"));
  assert_false(socket_error_is_fatal("too_many_websockets"));
  assert_false(socket_error_is_fatal("ratelimited"));
  assert_false(socket_error_is_fatal("internal_error"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(accept_rfc6455_example),
      cmocka_unit_test(urls),
      cmocka_unit_test(handshake_answers),
      cmocka_unit_test(fatal_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
