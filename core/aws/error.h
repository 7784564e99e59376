/* AWS error responses → one readable sentence, and which errors to retry.
 *
 * Shapes understood (aws.md):
 *   EC2    <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>
 *   Query  <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>
 *   S3     <Error><Code/><Message/><RequestId/></Error>
 *   JSON   {"__type":"ns#Code:extra","message":"…"} (or "Message", "code"; the
 *          X-Amzn-Errortype header wins over the body)
 * The request id comes from the body, else x-amzn-RequestId / x-amz-request-id. */
#ifndef SLASHD_AWS_ERROR_H
#define SLASHD_AWS_ERROR_H

#include <stdbool.h>
#include <stddef.h>

#include "hdrs.h"

typedef struct aws_error {
  long http_status;
  char *code;          /* e.g. "AccessDenied"; NULL when the body named none */
  char *message;       /* NULL when none */
  char *request_id;    /* NULL when none */
  char *bucket_region; /* S3 redirects: x-amz-bucket-region, else NULL */
} aws_error;

/* Reads an error response (any status; headers may be NULL). */
void aws_error_parse(long http_status, const aws_headers *headers, const char *body, size_t len,
                     aws_error *out);
void aws_error_free(aws_error *e);

/* "Code: Message (request id X)"; without a code "HTTP 503 Service
 * Unavailable (…)". A new string. */
char *aws_error_sentence(const aws_error *e);

/* Throttling codes (Throttling, ThrottlingException, RequestLimitExceeded,
 * TooManyRequestsException, RequestThrottled, SlowDown, …). */
bool aws_error_is_throttle(const char *code);
/* Transient server-side codes (RequestTimeout, PriorRequestNotComplete, …). */
bool aws_error_is_transient(const char *code);
/* Credentials refused (not permissions): AuthFailure, SignatureDoesNotMatch,
 * ExpiredToken, UnrecognizedClientException, InvalidClientTokenId, … */
bool aws_error_is_bad_credentials(const char *code);
/* The refusals a clock off by minutes causes (RequestTimeTooSkewed,
 * SignatureDoesNotMatch, InvalidSignatureException, RequestExpired): worth
 * one retry with the server's time when its Date is far from ours. */
bool aws_error_is_skew(const char *code);
/* Any authentication or authorization refusal, including AccessDenied. */
bool aws_error_is_auth(const char *code);
/* The retry class: throttling and transient codes, HTTP 429 and 5xx; never
 * an auth error, whatever its status. */
bool aws_error_retryable(long http_status, const char *code);

/* Reason phrase of common HTTP statuses ("Service Unavailable"), or "". */
const char *aws_http_reason(long status);

#endif
