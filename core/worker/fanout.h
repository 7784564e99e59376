/* `--region all` for read commands: the host, not the plugin, runs the
 * command once per region of [aws] regions and answers with one message,
 * one section per region.
 *
 * Each region runs in a child process of the (single-threaded) worker or
 * `slashd run`, at most FANOUT_PARALLEL at once, so plugins stay
 * single-threaded and a slow or failing region does not hold up or hide the
 * others. A child gets its own AWS connections (never the parent's, whose
 * TLS state must not be shared) and sends its replies back through a pipe;
 * it does not share credentials with the main process (only the parent
 * talks on the worker socket). */
#ifndef SLASHD_FANOUT_H
#define SLASHD_FANOUT_H

#include <stddef.h>

#include "worker/awsglue.h"
#include "worker/hostapi.h"

#define FANOUT_PARALLEL 4       /* regions asked at the same time */
#define FANOUT_SECTION_MAX 3000 /* characters of one region's section */

/* Runs call->cmd for each of regions[0..n) with call->caller.region set to
 * it; the combined answer goes to call->sink as one final reply. Returns
 * SLASHD_OK once the answer is out; a region that failed or did not
 * answer in time says so in its section and sets call->error_reported. */
slashd_status fanout_run(aws_glue *g, slashd_call *call, char *const *regions, size_t n, int argc,
                         const char *const *argv);

#endif
