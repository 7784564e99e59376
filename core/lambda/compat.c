/* Amazon Linux 2023 has glibc 2.34; Debian 12's expat calls arc4random_buf,
 * which glibc added in 2.36. The bootstrap links expat statically and this
 * definition satisfies it, so the zip needs nothing newer than GLIBC_2.34.
 * expat only uses it to salt its hash tables. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/random.h>

void arc4random_buf(void *buf, size_t n);

void arc4random_buf(void *buf, size_t n) {
  unsigned char *p = buf;
  while (n) {
    ssize_t got = getrandom(p, n, 0);
    if (got < 0) {
      if (errno == EINTR)
        continue;
      abort(); /* no randomness at all: glibc's arc4random aborts too */
    }
    p += got;
    n -= (size_t)got;
  }
}
