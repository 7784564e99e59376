/* sigv4bench — signatures per second of slashd's SigV4 signer (core/aws).
 *
 *   sigv4bench [-t MS] [-r ROUNDS]
 *
 * Signs the requests the shipped plugins make, through the public API the
 * AWS client uses (sigv4_sign with a header list), for -t ms each, -r times,
 * and prints the median and the spread:
 *   ec2_query   EC2 DescribeInstances, Query POST, signing key cached (as the
 *               client does: one derivation per key, day, region, service)
 *   ec2_nocache the same, deriving the signing key every time
 *   s3_get      S3 ListBuckets GET, x-amz-content-sha256 of the empty body,
 *               with a session token (an assumed role), key cached
 * Built only when core/aws/sigv4.h is in the tree (bench/CMakeLists.txt). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/hdrs.h"
#include "aws/sigv4.h"

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

typedef enum { EC2_QUERY, EC2_NOCACHE, S3_GET } kind;

static const sigv4_creds CREDS = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL};
static const sigv4_creds ROLE = {"ASIAEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                 "FwoGZXIvYXdzEXAMPLESESSIONTOKEN//////////wEaDEXAMPLE"};

static bool sign_one(kind k, sigv4_cache *cache) {
  static const char body[] = "Action=DescribeInstances&Version=2016-11-15&MaxResults=100";
  aws_headers h = {0};
  sigv4_opts o = {.region = "us-east-1", .now = 1440938160};
  sigv4_request req = {0};
  const sigv4_creds *creds = &CREDS;
  if (k == S3_GET) {
    hdrs_add(&h, "Host", "s3.us-east-1.amazonaws.com");
    o.service = "s3";
    o.s3 = true;
    o.cache = cache;
    req = (sigv4_request){"GET", "/", NULL, &h, NULL, 0};
    creds = &ROLE;
  } else {
    hdrs_add(&h, "Host", "ec2.us-east-1.amazonaws.com");
    hdrs_add(&h, "Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
    o.service = "ec2";
    o.cache = k == EC2_QUERY ? cache : NULL;
    req = (sigv4_request){"POST", "/", NULL, &h, body, sizeof body - 1};
  }
  char *err = NULL;
  bool ok = sigv4_sign(&req, creds, &o, NULL, &err);
  if (!ok) {
    fprintf(stderr, "sigv4bench: %s\n", err ? err : "signing failed");
    free(err);
  }
  hdrs_free(&h);
  return ok;
}

static double rate(kind k, unsigned ms) {
  sigv4_cache cache = {0};
  uint64_t start = now_us(), end = start + (uint64_t)ms * 1000u, now = start;
  unsigned long n = 0;
  do {
    if (!sign_one(k, &cache))
      exit(1);
    if ((++n & 63) == 0)
      now = now_us();
  } while (now < end);
  now = now_us();
  sigv4_cache_clear(&cache);
  return (double)n * 1e6 / (double)(now - start);
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  unsigned ms = 1000;
  int rounds = 5;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-t") && i + 1 < argc)
      ms = (unsigned)atoi(argv[++i]);
    else if (!strcmp(argv[i], "-r") && i + 1 < argc)
      rounds = atoi(argv[++i]);
    else {
      fprintf(stderr, "usage: sigv4bench [-t MS] [-r ROUNDS]\n");
      return 2;
    }
  }
  if (rounds < 1 || rounds > 100)
    rounds = 5;
  static const char *const names[] = {"ec2_query", "ec2_nocache", "s3_get"};
  for (int k = 0; k < 3; k++) {
    rate((kind)k, 100); /* warm-up */
    double v[100];
    for (int r = 0; r < rounds; r++)
      v[r] = rate((kind)k, ms);
    qsort(v, (size_t)rounds, sizeof v[0], cmp);
    printf("sigv4 %s median=%.0f min=%.0f max=%.0f per_s\n", names[k], v[rounds / 2], v[0],
           v[rounds - 1]);
  }
  return 0;
}
