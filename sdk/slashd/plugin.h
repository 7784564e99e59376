/*
 * slashd plugin SDK — the only header a command plugin needs.
 *
 * A plugin is a shared object that exports exactly one symbol,
 * `slashd_plugin_entry`, returning a pointer to a const descriptor. The host
 * checks the descriptor's ABI before it calls anything else, validates
 * argument counts and access before a handler runs, and builds usage errors
 * and `help` from the command table. Plugins never link against the host:
 * every service comes through the `slashd_host_api` table handed to `init`.
 *
 * Ownership: every pointer parameter is borrowed for the duration of the call
 * unless stated otherwise. A `json_t **out` receives a new reference that the
 * caller owns and must `json_decref`.
 *
 * Threads: the host runs each handler on one thread of a worker process, one
 * job at a time. Plugins must not start threads or fork; every host function
 * may be called from `init` (except those taking a `slashd_call`) and from a
 * handler, and from nowhere else (not from `destroy`, not from atexit).
 *
 * Compatibility: the host refuses a plugin whose ABI major differs from its
 * own or whose minor is newer. A plugin's minor is the one whose services it
 * uses without asking: SLASHD_PLUGIN_HEADER claims this SDK's minor, and
 * SLASHD_PLUGIN_HEADER_MIN(n) an older one. The host API table only ever
 * grows at its end; probe a service newer than your claimed minor with
 * SLASHD_HAS(api, field) before using it, so a plugin built against a newer
 * SDK can still run on an older host. Within a major version nothing moves:
 * the tables and structs here only grow at their ends (those with a `size`),
 * and slashd_command, read as an array, never changes at all.
 */
#ifndef SLASHD_PLUGIN_H
#define SLASHD_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SLASHD_ABI_MAJOR 1
#define SLASHD_ABI_MINOR 2

/* The name of the one symbol a plugin exports. */
#define SLASHD_ENTRY_SYMBOL "slashd_plugin_entry"

/* jansson's object type; include <jansson.h> to work with it. */
typedef struct json_t json_t;

/* One status enum for infrastructure failures. A failed AWS call inside a
 * handler is normally not a failure of the handler: reply with the readable
 * error (flag SLASHD_REPLY_ERROR) and return SLASHD_OK. */
typedef enum slashd_status {
  SLASHD_OK = 0,
  SLASHD_ERR_ARGS = 1,        /* an argument is malformed */
  SLASHD_ERR_NOMEM = 2,       /* out of memory */
  SLASHD_ERR_DENIED = 3,      /* the caller may not do this */
  SLASHD_ERR_NOT_FOUND = 4,   /* the thing named does not exist */
  SLASHD_ERR_AWS = 5,         /* an AWS call failed; the error text says why */
  SLASHD_ERR_LIMIT = 6,       /* a host limit was reached (replies per job, size) */
  SLASHD_ERR_UNSUPPORTED = 7, /* this host does not offer the service asked for */
  SLASHD_ERR_INTERNAL = 8     /* anything else; say what in a log line */
} slashd_status;

/* What a command does to the world. `write` commands run only for users
 * mapped to an IAM role; `read` commands run for everyone allowed by [access]. */
typedef enum slashd_access { SLASHD_READ = 0, SLASHD_WRITE = 1 } slashd_access;

typedef enum slashd_log_level {
  SLASHD_LOG_DEBUG = 0,
  SLASHD_LOG_INFO = 1,
  SLASHD_LOG_WARN = 2,
  SLASHD_LOG_ERROR = 3
} slashd_log_level;

/* Opaque handles. A `slashd_host` names one loaded plugin and lives from
 * `init` to `destroy`; a `slashd_call` names one command invocation and is
 * valid only while its handler runs. */
typedef struct slashd_host slashd_host;
typedef struct slashd_call slashd_call;

/* Who typed the command, where. Strings are borrowed from the call. Fields
 * may be empty strings, never NULL. New fields are only appended: check
 * `size` before reading a field added after 1.0. */
typedef struct slashd_caller {
  size_t size;
  const char *request_id; /* follows the job through every log line */
  const char *team_id;
  const char *user_id;   /* key everything on this: Slack's stable id */
  const char *user_name; /* display only: users can change it */
  const char *channel_id;
  const char *channel_name;
  const char *command; /* the slash command, e.g. "/aws" */
  const char *text;    /* the whole command text as typed */
  /* ---- ABI 1.2 ---- */
  const char *region;  /* where this call's AWS calls go (--region, the account's or the
                          host's default); "" when the client's own default applies */
  const char *account; /* the [accounts] alias given with --account, or "" */
} slashd_caller;

/* True when a caller struct has `field` (a plugin newer than the host). */
#define SLASHD_CALLER_HAS(c, field)                                                                \
  ((c) != NULL && (c)->size >= offsetof(slashd_caller, field) + sizeof((c)->field))

/* A command handler. `argv` holds the words after the command name; the host
 * has already checked min_args <= argc <= max_args and the caller's access. */
typedef slashd_status (*slashd_handler_fn)(slashd_call *call, void *state, int argc,
                                           const char *const *argv);

#define SLASHD_ARGS_ANY (-1) /* max_args: no upper bound */

/* Command flags. */
#define SLASHD_CMD_DEFAULT (1u << 0) /* runs when the plugin is named alone: `/aws ec2` */
/* ABI 1.2. Write commands ask the user to confirm first (when the host's
 * [identity] confirm = write); these flags change that default. The host
 * reads them only from plugins claiming minor 2 or newer. */
#define SLASHD_CMD_NO_CONFIRM (1u << 1) /* a write command that runs without asking */
#define SLASHD_CMD_CONFIRM (1u << 2)    /* a read command that asks all the same */

typedef struct slashd_command {
  const char *name;    /* one word, lower case; NULL ends the table */
  const char *usage;   /* argument synopsis, e.g. "<instance-id>"; "" when none */
  const char *summary; /* one line for `help` */
  int min_args;
  int max_args; /* or SLASHD_ARGS_ANY */
  slashd_access access;
  slashd_handler_fn handler;
  unsigned flags; /* SLASHD_CMD_* */
} slashd_command;

/* Reply flags. By default reply text is escaped for Slack (&, <, >) and
 * multi-line text is shown in a code block; over Slack's limits it is cut
 * with a visible "(truncated)" marker. */
#define SLASHD_REPLY_MRKDWN (1u << 0)     /* `text` is trusted Slack mrkdwn: sent unescaped */
#define SLASHD_REPLY_ERROR (1u << 1)      /* this reply reports a failure to the user */
#define SLASHD_REPLY_IN_CHANNEL (1u << 2) /* ask for in_channel (Slack may keep it ephemeral) */

/* Called by `commands` once per command the caller may run, in registry
 * order. Return non-zero to stop early. */
typedef int (*slashd_command_visitor)(void *ud, const char *plugin, const char *plugin_summary,
                                      const slashd_command *cmd);

typedef struct slashd_host_api {
  size_t size; /* sizeof(slashd_host_api) as the host was built */
  uint16_t abi_major;
  uint16_t abi_minor;

  /* ---- ABI 1.0 ---- */

  /* The final answer of a command. `text` is a short message (may be NULL
   * when `code` is given); `code`, when not NULL, is shown below it in a code
   * block. May be called more than once; each call is one Slack message, and
   * Slack allows 5 per command in all. Returns SLASHD_ERR_LIMIT past that. */
  slashd_status (*reply)(slashd_call *call, unsigned flags, const char *text, const char *code);

  /* A progress message ("stopping i-0abc…") sent while the handler goes on.
   * At most 3 per job, so that the final reply always has room. */
  slashd_status (*interim)(slashd_call *call, unsigned flags, const char *text, const char *code);

  /* Who called, from where. Valid until the handler returns. */
  const slashd_caller *(*caller)(slashd_call *call);

  /* A key of this plugin's own ini section ([plugin.NAME]); NULL when unset.
   * The string is owned by the host and lives until `destroy`. */
  const char *(*config)(slashd_host *host, const char *key);

  /* One log line, tagged with the plugin and (when `call` is not NULL) the
   * request id. Never log secrets or tokens. */
  void (*log)(slashd_host *host, slashd_call *call, slashd_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
      __attribute__((format(printf, 4, 5)))
#endif
      ;

  /* Visits every command of every loaded plugin that this caller may run
   * (access rules and identity mapping applied). For `help`. Returns the
   * number of commands visited. */
  int (*commands)(slashd_call *call, slashd_command_visitor visit, void *ud);

  /* ---- ABI 1.1 ---- */

  /* One AWS API call under the credentials the host chose for this caller
   * and command (the host's own for read commands, the caller's assumed role
   * for write commands). The plugin never sees credentials.
   *
   *   service: "ec2", "s3", "monitoring", "sts", "iam", "kms", ...
   *   action:  the API action, e.g. "DescribeInstances", "ListBuckets"
   *   params:  borrowed; an object of request parameters, or NULL. Query
   *            protocols take flat string values named as on the wire
   *            ({"InstanceId.1": "i-0abc"}); JSON protocols take the body;
   *            S3 takes query parameters by wire name and "Bucket". The
   *            key "@region" runs this one call in another region.
   *   out:     on SLASHD_OK, a new reference to the response as JSON (XML
   *            elements become keys, <item>/<member> lists become arrays).
   *   err:     on failure, a readable sentence for the user, e.g.
   *            "AccessDenied: not authorized to perform ec2:StopInstances
   *            (request id 5f2…)". May be NULL.
   * Returns SLASHD_ERR_AWS when AWS answered with an error or could not be
   * reached, SLASHD_ERR_UNSUPPORTED for an unknown service or action. */
  slashd_status (*aws)(slashd_call *call, const char *service, const char *action,
                       const json_t *params, json_t **out, char *err, size_t err_len);

  /* Milliseconds left before the host stops this job ([server] job_timeout),
   * so a handler that waits can give its final answer in time. */
  long (*time_left_ms)(slashd_call *call);

  /* ---- ABI 1.2 ---- */

  /* The usage line of one command exactly as the host words it in its own
   * usage errors, with this call's slash command: "/aws ec2 stop
   * <instance-id>" (a default command named after its plugin reads "/aws
   * help"). For `help`, so that it never formats usage on its own. Writes at
   * most len bytes into buf, NUL-terminated when len > 0, and returns the
   * length of the whole line, like snprintf. */
  size_t (*usage)(slashd_call *call, const char *plugin, const slashd_command *cmd, char *buf,
                  size_t len);

  /* From a describe step only (see slashd_plugin.describe): what the
   * confirmation prompt says. All plain text (the host escapes it and adds
   * the region and account):
   *   what:  what will happen, naming every target with what identifies it,
   *          e.g. "Stop i-0abc (web-1, t3.micro, running)"
   *   verb:  the danger button's label, e.g. "Stop"
   *   doing: shown once confirmed, e.g. "Stopping i-0abc (web-1)"
   * Returns SLASHD_ERR_ARGS outside a describe step. */
  slashd_status (*confirm_with)(slashd_call *call, const char *what, const char *verb,
                                const char *doing);

  /* reply() with Slack Block Kit blocks: `blocks` (borrowed) is a JSON array
   * of blocks, sent with the message; `text` and `code` are formatted as in
   * reply() and stay the fallback (notifications, Mattermost, `slashd run`).
   * Strings in blocks are sent as given: escape untrusted text (& < >)
   * yourself in mrkdwn. The host cuts to Slack's limits (50 blocks, 3,000
   * characters per text, 75 per button label, 2,000 per value) and says how
   * many blocks were left out. */
  slashd_status (*reply_blocks)(slashd_call *call, unsigned flags, const char *text,
                                const char *code, const json_t *blocks);
} slashd_host_api;

/* True when the host's API table has `field` and it is set. */
#define SLASHD_HAS(api, field)                                                                     \
  ((api) != NULL && (api)->size >= offsetof(slashd_host_api, field) + sizeof((api)->field) &&      \
   (api)->field != NULL)

/* ABI 1.2: a command's describe step. Before a command that needs
 * confirmation runs, the host calls this instead of the handler, with the
 * same arguments, under the same identity: look the targets up (read calls
 * only — the host refuses any AWS action that is not Describe*, Get*, List*
 * or Head*), then call api->confirm_with; or reply with SLASHD_REPLY_ERROR
 * when a target does not exist (no prompt is shown then). A step that does
 * neither gets the generic prompt with the command line. */
typedef slashd_status (*slashd_describe_fn)(slashd_call *call, void *state,
                                            const slashd_command *cmd, int argc,
                                            const char *const *argv);

/* The descriptor. Starts with the ABI and its own size so the host can check
 * them before reading anything else. */
typedef struct slashd_plugin {
  uint16_t abi_major; /* SLASHD_ABI_MAJOR the plugin was built with */
  uint16_t abi_minor; /* the oldest minor whose services it uses without probing */
  uint32_t size;      /* sizeof(slashd_plugin) the plugin was built with */
  const char *name;   /* lower case, [a-z0-9_-]; the first word of a command */
  const char *version;
  const char *summary;
  /* Optional. Called once after load. Store per-plugin state in *state; it
   * is handed to every handler and to destroy. A non-OK status skips the
   * plugin (log the reason first with api->log). */
  slashd_status (*init)(slashd_host *host, const slashd_host_api *api, void **state);
  /* Optional. Called once at unload, in reverse load order. */
  void (*destroy)(void *state);
  const slashd_command *commands; /* ends with an entry whose name is NULL */
  /* ---- ABI 1.2 (read only when `size` covers it) ---- */
  slashd_describe_fn describe; /* optional, for every command of the plugin */
} slashd_plugin;

/* Fills the ABI fields. Use with designated initializers:
 *   static const slashd_plugin desc = { SLASHD_PLUGIN_HEADER, .name = "ec2", ... };
 */
#define SLASHD_PLUGIN_HEADER                                                                       \
  .abi_major = SLASHD_ABI_MAJOR, .abi_minor = SLASHD_ABI_MINOR, .size = sizeof(slashd_plugin)

/* The same for a plugin that also loads on older hosts of this major: it
 * claims minor `min_minor` (hosts of that minor or newer accept it) and must
 * probe with SLASHD_HAS every service added after that minor:
 *   static const slashd_plugin desc = { SLASHD_PLUGIN_HEADER_MIN(0), ... };
 */
#define SLASHD_PLUGIN_HEADER_MIN(min_minor)                                                        \
  .abi_major = SLASHD_ABI_MAJOR, .abi_minor = (min_minor), .size = sizeof(slashd_plugin)

#if defined(__GNUC__)
#define SLASHD_EXPORT __attribute__((visibility("default")))
#else
#define SLASHD_EXPORT
#endif

typedef const slashd_plugin *(*slashd_entry_fn)(void);

/* Defines the entry symbol returning `desc`. Use once per plugin. */
#define SLASHD_PLUGIN_ENTRY(desc)                                                                  \
  SLASHD_EXPORT const slashd_plugin *slashd_plugin_entry(void);                                    \
  SLASHD_EXPORT const slashd_plugin *slashd_plugin_entry(void) {                                   \
    return &(desc);                                                                                \
  }

#ifdef __cplusplus
}
#endif

#endif /* SLASHD_PLUGIN_H */
