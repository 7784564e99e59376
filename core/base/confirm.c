#include "base/confirm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "base/message.h"
#include "base/util.h"

#define TOKEN_PREFIX "v1."
#define CONFIRM_TEXT_MAX 1000 /* command text in a token */

static const char KEY_LABEL[] = "slashd/confirm-token/v1";

void confirm_key_derive(const void *secret, size_t secret_len, unsigned char key[CONFIRM_KEY_LEN]) {
  unsigned int n = CONFIRM_KEY_LEN;
  HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)KEY_LABEL,
       sizeof KEY_LABEL - 1, key, &n);
}

void confirm_token_free(confirm_token *t) {
  free(t->team_id);
  free(t->user_id);
  free(t->user_name);
  free(t->channel_id);
  free(t->text);
  free(t->region);
  free(t->account);
  free(t->doing);
  memset(t, 0, sizeof *t);
}

bool confirm_new_nonce(confirm_token *t) {
  unsigned char r[16];
  if (RAND_bytes(r, sizeof r) != 1)
    return false;
  hex_encode(r, sizeof r, t->nonce);
  return true;
}

/* ---- base64url without padding ------------------------------------------ */

static char *b64url(const unsigned char *in, size_t n) {
  char *out = xmalloc(4 * ((n + 2) / 3) + 1);
  int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
  while (len > 0 && out[len - 1] == '=')
    len--;
  out[len] = '\0';
  for (char *p = out; *p; p++)
    *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
  return out;
}

static unsigned char *b64url_decode(const char *in, size_t n, size_t *out_len) {
  if (n % 4 == 1)
    return NULL;
  char *std = xmalloc(n + 4);
  for (size_t i = 0; i < n; i++) {
    char c = in[i];
    if (c == '+' || c == '/' || c == '=')
      goto bad; /* only the url-safe alphabet is ours */
    std[i] = c == '-' ? '+' : c == '_' ? '/' : c;
  }
  size_t pad = (4 - n % 4) % 4;
  memset(std + n, '=', pad);
  std[n + pad] = '\0';
  unsigned char *out = xmalloc((n + pad) / 4 * 3 + 1);
  int len = EVP_DecodeBlock(out, (const unsigned char *)std, (int)(n + pad));
  free(std);
  if (len < 0) {
    free(out);
    return NULL;
  }
  *out_len = (size_t)len - pad;
  return out;
bad:
  free(std);
  return NULL;
}

static void mac_of(const unsigned char key[CONFIRM_KEY_LEN], const char *data, size_t n,
                   unsigned char out[32]) {
  unsigned int len = 32;
  HMAC(EVP_sha256(), key, CONFIRM_KEY_LEN, (const unsigned char *)data, n, out, &len);
}

char *confirm_sign(const unsigned char key[CONFIRM_KEY_LEN], const confirm_token *t) {
  if (strlen(t->text) > CONFIRM_TEXT_MAX)
    return NULL;
  json_t *j =
      json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "v", 1, "t", t->team_id,
                "u", t->user_id, "un", t->user_name ? t->user_name : "", "c", t->channel_id, "x",
                t->text, "r", t->region ? t->region : "", "a", t->account ? t->account : "", "d",
                t->doing ? t->doing : "", "e", (json_int_t)t->expires, "n", t->nonce);
  char *payload = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  if (!payload)
    return NULL;
  char *p64 = b64url((const unsigned char *)payload, strlen(payload));
  free(payload);
  char *signed_part = xasprintf(TOKEN_PREFIX "%s", p64);
  free(p64);
  unsigned char mac[32];
  mac_of(key, signed_part, strlen(signed_part), mac);
  char *m64 = b64url(mac, sizeof mac);
  char *token = xasprintf("%s.%s", signed_part, m64);
  free(m64);
  free(signed_part);
  if (strlen(token) > CONFIRM_VALUE_MAX) {
    free(token);
    return NULL;
  }
  return token;
}

static char *jdup(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return xstrdup(s ? s : "");
}

static bool parse_payload(const unsigned char *p, size_t n, confirm_token *out) {
  json_t *j = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, NULL);
  const char *nonce = json_string_value(json_object_get(j, "n"));
  bool ok = json_is_object(j) && json_integer_value(json_object_get(j, "v")) == 1 && nonce &&
            strlen(nonce) == 32 && json_is_integer(json_object_get(j, "e")) &&
            json_is_string(json_object_get(j, "u")) && json_is_string(json_object_get(j, "x"));
  if (ok) {
    out->team_id = jdup(j, "t");
    out->user_id = jdup(j, "u");
    out->user_name = jdup(j, "un");
    out->channel_id = jdup(j, "c");
    out->text = jdup(j, "x");
    out->region = jdup(j, "r");
    out->account = jdup(j, "a");
    out->doing = jdup(j, "d");
    out->expires = json_integer_value(json_object_get(j, "e"));
    memcpy(out->nonce, nonce, 33);
  }
  json_decref(j);
  return ok;
}

confirm_check confirm_verify(const unsigned char key[CONFIRM_KEY_LEN], const char *value,
                             int64_t now, confirm_token *out) {
  memset(out, 0, sizeof *out);
  size_t n = value ? strlen(value) : 0;
  if (n > CONFIRM_VALUE_MAX || !value || !str_starts(value, TOKEN_PREFIX))
    return CONFIRM_TAMPERED;
  const char *dot = strrchr(value, '.');
  if (!dot || dot < value + strlen(TOKEN_PREFIX))
    return CONFIRM_TAMPERED;
  unsigned char want[32];
  mac_of(key, value, (size_t)(dot - value), want);
  size_t got_len = 0;
  unsigned char *got = b64url_decode(dot + 1, strlen(dot + 1), &got_len);
  bool mac_ok = got && ct_equal(got, got_len, want, sizeof want);
  free(got);
  if (!mac_ok)
    return CONFIRM_TAMPERED;
  const char *p64 = value + strlen(TOKEN_PREFIX);
  size_t plen = 0;
  unsigned char *payload = b64url_decode(p64, (size_t)(dot - p64), &plen);
  bool ok = payload && parse_payload(payload, plen, out);
  free(payload);
  if (!ok) {
    confirm_token_free(out);
    return CONFIRM_TAMPERED;
  }
  return now >= out->expires ? CONFIRM_EXPIRED : CONFIRM_OK;
}

const char *confirm_check_name(confirm_check c) {
  static const char *const names[] = {"ok", "tampered", "expired", "foreign", "replayed"};
  return (unsigned)c < ARRAY_LEN(names) ? names[c] : "unknown";
}

const char *confirm_check_text(confirm_check c) {
  switch (c) {
  case CONFIRM_OK:
    return "confirmed";
  case CONFIRM_TAMPERED:
    return "This button's token is not one slashd signed, so nothing was done.";
  case CONFIRM_EXPIRED:
    return "This confirmation has expired, so nothing was done. Run the command again to get a "
           "new prompt.";
  case CONFIRM_FOREIGN:
    return "Only the person who asked for this command can confirm or cancel it; nothing was "
           "done.";
  case CONFIRM_REPLAYED:
    return "This confirmation was already used, so nothing was done again.";
  }
  return "nothing was done";
}

void confirm_code(const unsigned char key[CONFIRM_KEY_LEN], const char *nonce,
                  char out[CONFIRM_CODE_LEN + 1]) {
  /* 32 symbols without 0/O, 1/I/L: easy to read off a screen and type. */
  static const char alphabet[] = "ABCDEFGHJKMNPQRSTUVWXYZ23456789Z";
  char *data = xasprintf("code:%s", nonce);
  unsigned char mac[32];
  mac_of(key, data, strlen(data), mac);
  free(data);
  for (int i = 0; i < CONFIRM_CODE_LEN; i++)
    out[i] = alphabet[mac[i] & 31];
  out[CONFIRM_CODE_LEN] = '\0';
}

/* ---- the store ---------------------------------------------------------- */

typedef struct confirm_entry {
  char code[CONFIRM_CODE_LEN + 1];
  char nonce[33];
  char *token; /* NULL for a used nonce */
  int64_t expires;
} confirm_entry;

void confirm_store_init(confirm_store *s) {
  memset(s, 0, sizeof *s);
  pthread_mutex_init(&s->mu, NULL);
}

void confirm_store_destroy(confirm_store *s) {
  for (size_t i = 0; i < s->n; i++)
    free(s->e[i].token);
  free(s->e);
  pthread_mutex_destroy(&s->mu);
}

/* Drops what has expired. Called with the lock held. */
static void sweep(confirm_store *s, int64_t now) {
  size_t out = 0;
  for (size_t i = 0; i < s->n; i++) {
    if (s->e[i].expires > now)
      s->e[out++] = s->e[i];
    else
      free(s->e[i].token);
  }
  s->n = out;
}

static confirm_entry *slot(confirm_store *s, int64_t now) {
  sweep(s, now);
  if (s->n >= CONFIRM_STORE_MAX)
    return NULL;
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 16;
    s->e = xrealloc(s->e, s->cap * sizeof *s->e);
  }
  confirm_entry *e = &s->e[s->n++];
  memset(e, 0, sizeof *e);
  return e;
}

bool confirm_store_add(confirm_store *s, const char *code, const char *token, int64_t expires,
                       int64_t now) {
  pthread_mutex_lock(&s->mu);
  confirm_entry *e = slot(s, now);
  if (e) {
    snprintf(e->code, sizeof e->code, "%s", code);
    e->token = xstrdup(token);
    e->expires = expires;
  }
  pthread_mutex_unlock(&s->mu);
  return e != NULL;
}

char *confirm_store_token(confirm_store *s, const char *code, int64_t now) {
  char *t = NULL;
  pthread_mutex_lock(&s->mu);
  for (size_t i = 0; i < s->n && !t; i++)
    if (s->e[i].token && s->e[i].expires > now && strcmp(s->e[i].code, code) == 0)
      t = xstrdup(s->e[i].token);
  pthread_mutex_unlock(&s->mu);
  return t;
}

bool confirm_store_use(confirm_store *s, const char *nonce, int64_t expires, int64_t now) {
  bool first = true;
  pthread_mutex_lock(&s->mu);
  for (size_t i = 0; i < s->n && first; i++)
    if (!s->e[i].token && s->e[i].expires > now && strcmp(s->e[i].nonce, nonce) == 0)
      first = false;
  if (first) {
    confirm_entry *e = slot(s, now);
    if (e) {
      snprintf(e->nonce, sizeof e->nonce, "%s", nonce);
      /* Kept until the token could no longer pass its expiry check. */
      e->expires = expires + 1;
    } else {
      first = false; /* full: refuse rather than forget a use */
    }
  }
  pthread_mutex_unlock(&s->mu);
  return first;
}

/* ---- messages ----------------------------------------------------------- */

static json_t *plain(const char *s) {
  return json_pack("{s:s, s:s, s:b}", "type", "plain_text", "text", s, "emoji", 1);
}

static json_t *mrkdwn(const char *s) {
  return json_pack("{s:s, s:s}", "type", "mrkdwn", "text", s);
}

json_t *confirm_prompt_json(const confirm_prompt *p) {
  char *label = message_cut(p->verb, SLACK_BUTTON_LABEL_MAX);
  char *dialog = message_cut(p->what, 300);
  char *yes = xasprintf("Yes, %s", p->verb);
  char *yes_cut = message_cut(yes, 30);
  char *minutes =
      p->seconds % 60 ? xasprintf("%d s", p->seconds) : xasprintf("%d min", p->seconds / 60);
  char *context = xasprintf("Expires in %s. Without buttons, type `%s confirm %s`. Request %s.",
                            minutes, p->slash, p->code, p->request_id);
  char *section = xasprintf(":warning: %s", p->what);
  char *text = xasprintf(":warning: %s\nTo go ahead, type `%s confirm %s` within %s (or press "
                         "%s); to drop it, do nothing.",
                         p->what, p->slash, p->code, minutes, label);
  json_t *confirm_dialog = json_pack("{s:o, s:o, s:o, s:o, s:s}", "title", plain("Are you sure?"),
                                     "text", mrkdwn(dialog), "confirm", plain(yes_cut), "deny",
                                     plain("Back"), "style", "danger");
  json_t *go = json_pack("{s:s, s:s, s:o, s:s, s:s, s:o}", "type", "button", "action_id",
                         CONFIRM_ACTION_YES, "text", plain(label), "style", "danger", "value",
                         p->token, "confirm", confirm_dialog);
  json_t *no = json_pack("{s:s, s:s, s:o, s:s}", "type", "button", "action_id", CONFIRM_ACTION_NO,
                         "text", plain("Cancel"), "value", p->token);
  json_t *blocks =
      json_pack("[{s:s, s:o}, {s:s, s:s, s:[o,o]}, {s:s, s:[o]}]", "type", "section", "text",
                mrkdwn(section), "type", "actions", "block_id", "slashd_confirm", "elements", go,
                no, "type", "context", "elements", mrkdwn(context));
  json_t *msg =
      json_pack("{s:s, s:s, s:o}", "response_type", "ephemeral", "text", text, "blocks", blocks);
  free(label);
  free(dialog);
  free(yes);
  free(yes_cut);
  free(minutes);
  free(context);
  free(section);
  free(text);
  return msg;
}

json_t *confirm_message_json(const char *text, bool replace_original) {
  return json_pack("{s:s, s:s, s:b}", "response_type", "ephemeral", "text", text,
                   "replace_original", replace_original);
}
