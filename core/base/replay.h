/* Replay memory: every request signature accepted within Slack's 300 s
 * timestamp window is remembered for as long as it could be accepted again,
 * so an identical signed request sent again is refused (401) however late in
 * the window it comes, and — when a file prefix is given (the journal is on)
 * — after a restart too.
 *
 * A signature is valid while |now - ts| <= 300 s, so it can be replayed until
 * ts + 300, at most 600 s after it is first seen (a timestamp 300 s ahead).
 * Entries are grouped by that expiry into 300 s slots; at most three slots
 * are alive at once, each one hash table (open addressing) that grows with
 * the traffic up to REPLAY_SLOT_MAX slots of 16 bytes, and is dropped whole
 * when its slot has passed. An identical request has the identical
 * timestamp, hence the same slot: a check is one probe in one table.
 *
 * Memory: 16 bytes a slot, tables at most half full before they grow. At
 * 1,000 signed requests a second, each slot's table holds 300,000 entries in
 * 524,288 slots (8 MiB): 24 MiB for the three. The bound is 3 x 8 MiB
 * whatever the traffic: past 393,216 entries in one slot (1,310 requests a
 * second sustained for 300 s) new signatures are refused (REPLAY_FULL)
 * rather than forgotten. Persisted, each entry is one 16-byte write(2) to
 * <prefix>.<slot> before the request is answered (it survives the process
 * being killed); the file of a passed slot is removed. */
#ifndef SLASHD_REPLAY_H
#define SLASHD_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REPLAY_WINDOW_S 300
#define REPLAY_SLOT_MAX (512u * 1024u) /* hash slots per table, at most */

typedef struct replay replay;

typedef enum {
  REPLAY_NEW,  /* first time: now remembered */
  REPLAY_SEEN, /* a replay */
  REPLAY_FULL  /* memory bound reached: refuse, do not forget */
} replay_result;

/* `prefix` NULL: memory only. Loads what the files hold that has not
 * expired by `now`. NULL with *err when a file cannot be opened. */
replay *replay_open(const char *prefix, int64_t now, char **err);
/* `signature` as sent ("v0=<64 hex>"), `ts` its timestamp (already
 * checked within the window), `now` the wall clock in seconds. */
replay_result replay_check(replay *r, const char *signature, int64_t ts, int64_t now);
/* Entries alive in memory. */
size_t replay_count(replay *r);
void replay_close(replay *r);

#endif
