/* SPDX-License-Identifier: MIT */
/* What to do about a failed Bedrock request, as pure functions: which failures are worth
 * another try (AWS "standard" retry mode), the capped exponential backoff with full jitter,
 * and the clock offset a request-time-skew rejection asks for. Internal to the sync module. */
#pragma once

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

/* AWS standard mode: 3 attempts per request, base 500 ms, at most 20 s between two
 * (settings->test may change base and cap). */
#define CJ_RETRY_MAX_ATTEMPTS 3
#define CJ_RETRY_BASE_USEC    (500 * UINT64_C(1000))
#define CJ_RETRY_CAP_USEC     (20 * UINT64_C(1000000))

enum cj_retry_class {
    CJ_RETRY_NEVER,         /* the same request would fail the same way: fail the pass */
    CJ_RETRY_BACKOFF,       /* transient or throttled: try again after a backoff */
    CJ_RETRY_CLOCK_SKEW,    /* our clock is off: correct it from Date, then retry once */
    CJ_RETRY_EXPIRED_TOKEN, /* fail the pass; reload the credentials before the next one */
};
const char *sync_retry_class_to_string(enum cj_retry_class c);

/* A response with an HTTP status (not 200): by status, AWS error type and message. */
enum cj_retry_class sync_retry_classify_http(long status, const char *type, const char *message);
/* A transfer that got no complete HTTP response (timeout, reset, truncated, TLS...). */
enum cj_retry_class sync_retry_classify_transport(CURLcode code, bool body_too_large);
/* Certificate, verification and TLS set-up failures (not a TLS connection that broke). */
bool sync_curl_is_tls_setup_error(CURLcode code);

/* The wait before retry number `attempt` (1 = the first retry): uniformly random in
 * [0, min(cap, base * 2^(attempt-1))], from the 64 random bits given. */
uint64_t sync_retry_delay_usec(unsigned attempt, uint64_t base_usec, uint64_t cap_usec,
                               uint64_t random_bits);

/* Seconds to add to our clock to match the server's, from an HTTP Date header value
 * (IMF-fixdate, RFC 850 or asctime form) received at local_sec. -EINVAL when the value is
 * not a date or is further than a year away (a broken header is no reason to move 10 years). */
int sync_retry_clock_offset(const char *date, int64_t local_sec, int64_t *ret_offset_sec);
