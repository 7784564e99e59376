/* What plugins write to standard output and standard error, captured per
 * worker: never raw into the host's log (21 MB from one command, lines that
 * look like host or audit lines), but as tagged `plugin_output` log lines
 * with the plugin's name and the request id, each cut at OUTPUT_LINE_MAX
 * bytes, at most OUTPUT_LINES_PER_JOB per job (the rest counted in one
 * `plugin_output_dropped` line).
 *
 * The worker's fds 1 and 2 become the write ends of two pipes (non-blocking,
 * 1 MiB each: a plugin that writes more than that in one job loses the rest
 * rather than blocking), its own log lines go to where standard error was,
 * and the worker drains the pipes after loading the plugins and after each
 * job (no thread). Sanitizer reports go to the log's fd too, so a crash
 * report is never left in a pipe. */
#ifndef SLASHD_OUTPUT_H
#define SLASHD_OUTPUT_H

#include <stdbool.h>

#define OUTPUT_LINE_MAX 512
#define OUTPUT_LINES_PER_JOB 20
#define OUTPUT_PIPE_BYTES (1024 * 1024)

typedef struct plugin_output {
  int out_r, err_r; /* read ends, -1 when not capturing */
} plugin_output;

/* Starts capturing (false: not capturing, output stays where it was). */
bool output_capture(plugin_output *po);
/* Logs what is waiting, for `plugin` and request `req` ("-" when none). */
void output_drain(plugin_output *po, const char *plugin, const char *req);

#endif
