/* The spawner ("zygote"): one process per configuration generation that
 * the pool execs once (`slashd spawner -c … --generation G`, its control
 * socket on fd 3 and the configuration snapshot on fd 4) and that forks the
 * workers of that generation.
 *
 * Why: an exec'd worker relocates every shared library (libcrypto, GnuTLS,
 * krb5, …) into private pages of its own, ≈ 2.3 MB of PSS each. The
 * spawner does what is the same for every worker once — dynamic linking,
 * the configuration, libcurl/OpenSSL global init, dlopen of the plugins and
 * their descriptor checks (registry_open) — and its forked children share
 * those pages copy-on-write. It stays single-threaded (checked after
 * loading: fork only copies the calling thread) and runs no plugin code but
 * the libraries' constructors. Everything per worker happens in the child
 * after fork, exactly as in an exec'd worker: the tie to its parent
 * (PR_SET_PDEATHSIG, re-armed: fork clears it), the plugins' init, the
 * memory limit and thread baseline, the hello, the jobs.
 *
 * Nothing secret is in it: it is exec'd fresh from main, so main's memory
 * (the signing secret, tokens) is not inherited, and it holds the same
 * configuration a worker holds. Its children share its address-space layout
 * (docs/SECURITY.md says why that is acceptable).
 *
 * The control socket (SOCK_SEQPACKET, one fixed-size message per datagram;
 * both ends are this same binary) carries:
 *  - main → spawner: spawner_req, with the new worker's socket end attached
 *    (SCM_RIGHTS);
 *  - spawner → main, in this order for any one child: SPAWNER_FORKED {index,
 *    pid} with a pidfd of the child attached (none when pidfd_open is not
 *    available, e.g. under valgrind), or SPAWNER_FAILED {index, err}; later
 *    SPAWNER_EXITED {pid, status}: the raw wait status, so main describes a
 *    crash exactly as for a child of its own. Requests are answered in the
 *    order they were sent.
 * The spawner reaps its children (SIGCHLD through a signalfd) and exits
 * when the control socket closes; it dies with main (PR_SET_PDEATHSIG), and
 * its children die with it. The main side is worker/exec.h's exec_spawner. */
#ifndef SLASHD_SPAWNER_H
#define SLASHD_SPAWNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPAWNER_MAGIC 0x7a79676fu /* "zygo" */

typedef struct spawner_req {
  uint32_t magic;
  int32_t index; /* the new worker's index (its log role, "worker3") */
} spawner_req;

typedef enum { SPAWNER_FORKED = 1, SPAWNER_FAILED, SPAWNER_EXITED } spawner_kind;

typedef struct spawner_msg {
  uint32_t magic;
  uint32_t kind; /* spawner_kind */
  int32_t index; /* FORKED, FAILED */
  int32_t pid;   /* FORKED, EXITED */
  int32_t value; /* FAILED: an errno; EXITED: the wait status */
} spawner_msg;

/* One fixed-size message with at most one descriptor (fd < 0: none).
 * Blocking; false when the peer is gone. */
bool spawner_send(int sock, const void *msg, size_t len, int fd);
/* One message of exactly `len` bytes; *fd gets an attached descriptor or
 * -1. Returns 1 for a message, 0 for EOF (or a broken socket), -1 when
 * nothing is queued (wait = false) or the datagram was not one of ours. */
int spawner_recv(int sock, void *msg, size_t len, int *fd, bool wait);

/* `slashd spawner -c FILE --config-name NAME --generation G`. */
int spawner_main(int argc, char **argv);

#endif
