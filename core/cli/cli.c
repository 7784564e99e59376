#include "cli/cli.h"

#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/paths.h"
#include "base/util.h"

static void usage(const char *cmd) {
  if (strcmp(cmd, "run") == 0)
    fprintf(stderr, "usage: slashd run [-c FILE] [--yes] [--user-id U] [--user-name N] "
                    "[--channel-id C] [--team-id T] TEXT...\n");
  else if (strcmp(cmd, "send") == 0)
    fprintf(stderr, "usage: slashd send [-c FILE] [--url URL] [--user-id U] [--user-name N] "
                    "[--channel-id C] [--team-id T] [--timeout SECONDS] TEXT...\n");
  else
    fprintf(stderr, "usage: slashd %s [-c FILE]\n", cmd);
}

bool cli_parse(int argc, char **argv, const char *cmd, bool want_text, cli_opts *o) {
  memset(o, 0, sizeof *o);
  o->timeout = 150;
  const char *cfg = NULL;
  sbuf text = {0};
  bool words = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char **dst = NULL;
    if (!words && (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0))
      dst = &cfg;
    else if (!words && strcmp(a, "--user-id") == 0)
      dst = &o->user_id;
    else if (!words && strcmp(a, "--user-name") == 0)
      dst = &o->user_name;
    else if (!words && strcmp(a, "--channel-id") == 0)
      dst = &o->channel_id;
    else if (!words && strcmp(a, "--channel-name") == 0)
      dst = &o->channel_name;
    else if (!words && strcmp(a, "--team-id") == 0)
      dst = &o->team_id;
    else if (!words && want_text && strcmp(a, "--url") == 0)
      dst = &o->url;
    if (dst) {
      if (i + 1 >= argc) {
        usage(cmd);
        sbuf_free(&text);
        return false;
      }
      *dst = argv[++i];
      continue;
    }
    if (!words && strcmp(a, "--timeout") == 0 && i + 1 < argc) {
      long t;
      if (!parse_int(argv[++i], 1, 3600, &t)) {
        usage(cmd);
        sbuf_free(&text);
        return false;
      }
      o->timeout = (int)t;
      continue;
    }
    if (!words && strcmp(cmd, "run") == 0 && strcmp(a, "--yes") == 0) {
      o->yes = true;
      continue;
    }
    if (!words && strcmp(a, "--") == 0) {
      words = true;
      continue;
    }
    if (!words && a[0] == '-' && a[1]) {
      fprintf(stderr, "slashd %s: unknown option %s\n", cmd, a);
      usage(cmd);
      sbuf_free(&text);
      return false;
    }
    if (!want_text) {
      usage(cmd);
      sbuf_free(&text);
      return false;
    }
    words = true;
    if (text.len)
      sbuf_addc(&text, ' ');
    sbuf_adds(&text, a);
  }
  o->config = cfg ? xstrdup(cfg) : paths_default_config();
  o->text = sbuf_steal(&text);
  return true;
}

void cli_opts_free(cli_opts *o) {
  free(o->config);
  free(o->text);
  o->config = o->text = NULL;
}

char *cli_printable(const char *text) {
  char *u = utf8_sanitize(text, strlen(text));
  sbuf b = {0};
  for (const unsigned char *p = (const unsigned char *)u; *p; p++) {
    bool c0 = (*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f;
    bool c1 = p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f;
    if (c0 || c1) {
      sbuf_add(&b, "\xef\xbf\xbd", 3);
      p += c1;
    } else {
      sbuf_add(&b, (const char *)p, 1);
    }
  }
  free(u);
  return b.p ? sbuf_steal(&b) : xstrdup("");
}

void cli_put_clean(const char *text, void *file_stream) {
  char *t = cli_printable(text);
  fputs(t, file_stream);
  free(t);
}

static void configure_log(const config *c, cli_log how) {
  switch (how) {
  case CLI_LOG_KEEP:
    return;
  case CLI_LOG_CONFIG:
    log_configure(c->log_format, c->log_level);
    return;
  case CLI_LOG_ERRORS:
    log_configure(c->log_format, "error");
    return;
  case CLI_LOG_TERMINAL:
    log_configure(c->log_format,
                  log_level_from_name(c->log_level) == SLOG_DEBUG ? "debug" : "warn");
    return;
  }
}

config *cli_load_config(const cli_opts *o, const cli_load *how, int *snapshot_fd, int *status) {
  char *err = NULL;
  int fd = -1;
  config *c =
      how->snapshot ? config_load_snapshot(o->config, &fd, &err) : config_load(o->config, &err);
  if (!c) {
    fprintf(stderr, "%s%s%s\n", how->who ? how->who : "", how->who ? ": " : "", err);
    free(err);
    *status = how->fail_status;
    return NULL;
  }
  configure_log(c, how->log);
  if (how->diags == CLI_DIAGS_ALWAYS || (how->diags == CLI_DIAGS_ON_ERROR && c->n_errors))
    config_print_diags(c, stderr);
  else if (how->diags == CLI_DIAGS_LOG)
    config_log_diags(c);
  if (how->refuse_errors && c->n_errors) {
    if (how->diags == CLI_DIAGS_LOG)
      log_kv(SLOG_ERROR, "config_invalid", KV_S("file", o->config),
             KV_S("msg", "fix the errors above (slashd check-config lists them)"));
    config_free(c);
    if (fd >= 0)
      close(fd);
    *status = how->fail_status;
    return NULL;
  }
  if (snapshot_fd)
    *snapshot_fd = fd;
  else if (fd >= 0)
    close(fd);
  *status = 0;
  return c;
}
