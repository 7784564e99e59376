/* apps.connections.open: the one Web API call of Socket Mode, used by the
 * door (on its multi handle) and by check-config (blocking). */
#include "daemon/socket_api.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/util.h"

/* Slack's answer is a few hundred bytes; more is not Slack. */
#define API_MAX_ANSWER (64 * 1024)

static size_t on_data(char *p, size_t size, size_t n, void *ud) {
  sbuf *b = ud;
  size_t len = size * n;
  if (b->len + len > API_MAX_ANSWER)
    return 0;
  sbuf_add(b, p, len);
  return len;
}

void api_call_init(api_call *a, const char *api_url, const char *ca_file,
                   const unsigned char *token, size_t token_len, long timeout_ms) {
  memset(a, 0, sizeof *a);
  size_t n = strlen(api_url);
  char *url =
      xasprintf("%s%sapps.connections.open", api_url, n && api_url[n - 1] == '/' ? "" : "/");
  sbuf h = {0};
  sbuf_adds(&h, "Authorization: Bearer ");
  sbuf_add(&h, token, token_len);
  a->hdrs = curl_slist_append(NULL, h.p);
  explicit_bzero(h.p, h.len);
  sbuf_free(&h);
  a->hdrs = curl_slist_append(a->hdrs, "Content-Type: application/x-www-form-urlencoded");
  a->hdrs = curl_slist_append(a->hdrs, "Expect:");
  a->easy = curl_easy_init();
  curl_easy_setopt(a->easy, CURLOPT_URL, url);
  curl_easy_setopt(a->easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(a->easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(a->easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(a->easy, CURLOPT_POSTFIELDS, "");
  curl_easy_setopt(a->easy, CURLOPT_POSTFIELDSIZE, 0L);
  curl_easy_setopt(a->easy, CURLOPT_HTTPHEADER, a->hdrs);
  curl_easy_setopt(a->easy, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 5000 ? timeout_ms : 5000L);
  curl_easy_setopt(a->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(a->easy, CURLOPT_USERAGENT, "slashd/" SLASHD_VERSION);
  curl_easy_setopt(a->easy, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(a->easy, CURLOPT_WRITEDATA, &a->body);
  curl_easy_setopt(a->easy, CURLOPT_PRIVATE, a);
  if (ca_file)
    curl_easy_setopt(a->easy, CURLOPT_CAINFO, ca_file);
  free(url);
}

sopen_result api_call_result(api_call *a, CURLcode rc, char **url, char **err) {
  long status = 0;
  curl_easy_getinfo(a->easy, CURLINFO_RESPONSE_CODE, &status);
  if (rc != CURLE_OK) {
    *err = xasprintf("apps.connections.open: %s", curl_easy_strerror(rc));
    return SOPEN_FAILED;
  }
  if (status != 200) {
    *err = xasprintf("apps.connections.open: HTTP %ld", status);
    return SOPEN_FAILED;
  }
  json_t *j = json_loadb(a->body.p ? a->body.p : "", a->body.len, 0, NULL);
  json_t *ok = json_object_get(j, "ok");
  const char *u = json_string_value(json_object_get(j, "url"));
  const char *e = json_string_value(json_object_get(j, "error"));
  sopen_result r = SOPEN_FAILED;
  if (json_is_true(ok) && u && *u) {
    *url = xstrdup(u);
    r = SOPEN_OK;
  } else if (json_is_false(ok) && e && *e && strlen(e) <= 64) {
    *err = xstrdup(e);
    r = SOPEN_REFUSED;
  } else {
    *err = xstrdup("apps.connections.open: not a Slack answer");
  }
  json_decref(j);
  return r;
}

void api_call_free(api_call *a) {
  if (a->easy)
    curl_easy_cleanup(a->easy);
  curl_slist_free_all(a->hdrs);
  sbuf_free(&a->body);
  memset(a, 0, sizeof *a);
}

sopen_result socket_open_once(const char *api_url, const char *ca_file, const unsigned char *token,
                              size_t token_len, long timeout_ms, char **url, char **err) {
  api_call a;
  api_call_init(&a, api_url, ca_file, token, token_len, timeout_ms);
  CURLcode rc = curl_easy_perform(a.easy);
  sopen_result r = api_call_result(&a, rc, url, err);
  api_call_free(&a);
  return r;
}

bool socket_error_is_fatal(const char *e) {
  return str_eq(e, "invalid_auth") || str_eq(e, "not_allowed_token_type") ||
         str_eq(e, "invalid_token") || str_eq(e, "not_authed") || str_eq(e, "account_inactive") ||
         str_eq(e, "token_revoked");
}
