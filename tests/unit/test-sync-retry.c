/* SPDX-License-Identifier: MIT */
/* The retry decisions: which answers are retried, the backoff's bounds, the clock offset
 * from a Date header, and the set of string hashes the walks use. Pure functions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash-set.h"
#include "sync-retry.h"

static void test_classify_http(void **state)
{
    /* Throttling and server errors: retried, whatever the status or type says. */
    assert_int_equal(sync_retry_classify_http(429, "ThrottlingException", "Rate exceeded"),
                     CJ_RETRY_BACKOFF);
    assert_int_equal(sync_retry_classify_http(400, "ThrottlingException", ""), CJ_RETRY_BACKOFF);
    assert_int_equal(sync_retry_classify_http(400, "TooManyRequestsException", ""),
                     CJ_RETRY_BACKOFF);
    assert_int_equal(sync_retry_classify_http(429, "HttpError429", ""), CJ_RETRY_BACKOFF);
    assert_int_equal(sync_retry_classify_http(500, "InternalServerException", ""),
                     CJ_RETRY_BACKOFF);
    assert_int_equal(sync_retry_classify_http(503, "ServiceUnavailableException", ""),
                     CJ_RETRY_BACKOFF);
    assert_int_equal(sync_retry_classify_http(502, "HttpError502", ""), CJ_RETRY_BACKOFF);
    assert_int_equal(sync_retry_classify_http(504, "", ""), CJ_RETRY_BACKOFF);
    assert_int_equal(sync_retry_classify_http(408, "RequestTimeoutException", ""),
                     CJ_RETRY_BACKOFF);

    /* The caller's own faults: never. */
    assert_int_equal(sync_retry_classify_http(403, "AccessDeniedException", "no"), CJ_RETRY_NEVER);
    assert_int_equal(sync_retry_classify_http(400, "ValidationException", "bad"), CJ_RETRY_NEVER);
    assert_int_equal(sync_retry_classify_http(403, "UnrecognizedClientException", "x"),
                     CJ_RETRY_NEVER);
    assert_int_equal(
        sync_retry_classify_http(403, "InvalidSignatureException",
                                 "The request signature we calculated does not match the signature "
                                 "you provided."),
        CJ_RETRY_NEVER);
    assert_int_equal(sync_retry_classify_http(404, "ResourceNotFoundException", ""),
                     CJ_RETRY_NEVER);
    assert_int_equal(sync_retry_classify_http(403, NULL, NULL), CJ_RETRY_NEVER);

    /* Expired tokens: not retried, but the credentials are reloaded. */
    assert_int_equal(sync_retry_classify_http(403, "ExpiredTokenException", "expired"),
                     CJ_RETRY_EXPIRED_TOKEN);
    assert_int_equal(sync_retry_classify_http(400, "ExpiredToken", ""), CJ_RETRY_EXPIRED_TOKEN);

    /* Request time skew. */
    assert_int_equal(
        sync_retry_classify_http(403, "InvalidSignatureException",
                                 "Signature expired: 20240101T000000Z is now earlier than "
                                 "20240101T010000Z (20240101T011500Z - 5 min.)"),
        CJ_RETRY_CLOCK_SKEW);
    assert_int_equal(
        sync_retry_classify_http(403, "InvalidSignatureException",
                                 "Signature not yet current: 20240101T020000Z is still "
                                 "later than 20240101T010500Z"),
        CJ_RETRY_CLOCK_SKEW);
    assert_int_equal(sync_retry_classify_http(403, "RequestTimeTooSkewed", ""),
                     CJ_RETRY_CLOCK_SKEW);
    assert_int_equal(sync_retry_classify_http(400, "RequestExpired", ""), CJ_RETRY_CLOCK_SKEW);
    /* A skew code on a 5xx is a server error first. */
    assert_int_equal(sync_retry_classify_http(500, "RequestTimeTooSkewed", ""), CJ_RETRY_BACKOFF);
    assert_string_equal(sync_retry_class_to_string(CJ_RETRY_CLOCK_SKEW), "clock-skew");
}

static void test_classify_transport(void **state)
{
    assert_int_equal(sync_retry_classify_transport(CURLE_OPERATION_TIMEDOUT, false),
                     CJ_RETRY_BACKOFF);
    assert_int_equal(sync_retry_classify_transport(CURLE_COULDNT_CONNECT, false), CJ_RETRY_BACKOFF);
    assert_int_equal(sync_retry_classify_transport(CURLE_RECV_ERROR, false), CJ_RETRY_BACKOFF);
    assert_int_equal(sync_retry_classify_transport(CURLE_GOT_NOTHING, false), CJ_RETRY_BACKOFF);
    assert_int_equal(sync_retry_classify_transport(CURLE_PARTIAL_FILE, false), CJ_RETRY_BACKOFF);
    assert_int_equal(sync_retry_classify_transport(CURLE_PEER_FAILED_VERIFICATION, false),
                     CJ_RETRY_NEVER);
    assert_int_equal(sync_retry_classify_transport(CURLE_WRITE_ERROR, true), CJ_RETRY_NEVER);
    assert_int_equal(sync_retry_classify_transport(CURLE_URL_MALFORMAT, false), CJ_RETRY_NEVER);
}

static void test_backoff(void **state)
{
    const uint64_t base = 500000, cap = 20000000;
    /* The ceiling doubles per retry up to the cap; the delay never passes it. */
    static const uint64_t ceilings[] = {500000,  1000000,  2000000,  4000000,
                                        8000000, 16000000, 20000000, 20000000};
    for (unsigned a = 1; a <= 8; a++) {
        uint64_t ceiling = ceilings[a - 1];
        assert_int_equal(sync_retry_delay_usec(a, base, cap, 0), 0);
        assert_int_equal(sync_retry_delay_usec(a, base, cap, ceiling), ceiling);
        assert_int_equal(sync_retry_delay_usec(a, base, cap, ceiling + 1), 0);
        uint64_t x = UINT64_C(0x9e3779b97f4a7c15);
        for (int i = 0; i < 1000; i++) {
            x = x * UINT64_C(6364136223846793005) + 1442695040888963407u;
            assert_true(sync_retry_delay_usec(a, base, cap, x) <= ceiling);
        }
    }
    /* Huge attempt numbers do not overflow. */
    assert_true(sync_retry_delay_usec(1000, base, cap, UINT64_MAX) <= cap);
    assert_int_equal(sync_retry_delay_usec(1, 0, 0, 12345), 0);
    /* Full jitter spreads: over many draws, both halves of the range are hit. */
    unsigned low = 0, high = 0;
    uint64_t x = 1;
    for (int i = 0; i < 1000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t d = sync_retry_delay_usec(2, base, cap, x);
        if (d < 500000)
            low++;
        else
            high++;
    }
    assert_true(low > 300 && high > 300);
}

static void test_clock_offset(void **state)
{
    int64_t off = 12345;
    /* 2024-05-01T12:00:00Z = 1714564800 */
    assert_int_equal(sync_retry_clock_offset("Wed, 01 May 2024 12:00:00 GMT", 1714564800, &off), 0);
    assert_int_equal(off, 0);
    assert_int_equal(sync_retry_clock_offset("Wed, 01 May 2024 12:10:00 GMT", 1714564800, &off), 0);
    assert_int_equal(off, 600);
    assert_int_equal(sync_retry_clock_offset("Wed, 01 May 2024 11:50:00 GMT", 1714564800, &off), 0);
    assert_int_equal(off, -600);
    /* RFC 850 and asctime forms. */
    assert_int_equal(sync_retry_clock_offset("Wednesday, 01-May-24 12:00:30 GMT", 1714564800, &off),
                     0);
    assert_int_equal(off, 30);
    assert_int_equal(sync_retry_clock_offset("Wed May  1 12:01:00 2024", 1714564800, &off), 0);
    assert_int_equal(off, 60);
    /* Not dates, or absurdly far. */
    off = 7;
    assert_int_equal(sync_retry_clock_offset("", 1714564800, &off), -EINVAL);
    assert_int_equal(sync_retry_clock_offset(NULL, 1714564800, &off), -EINVAL);
    assert_int_equal(sync_retry_clock_offset("soon", 1714564800, &off), -EINVAL);
    assert_int_equal(sync_retry_clock_offset("Sun, 06 Nov 1994 08:49:37 GMT", 1714564800, &off),
                     -ERANGE);
    assert_int_equal(off, 7);
}

static void test_hash_set(void **state)
{
    struct cj_hash_set set = {0};
    char key[32];
    assert_false(cj_hash_set_contains(&set, "a", 1));
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(key, sizeof(key), "token-%d", i);
        assert_int_equal(cj_hash_set_add(&set, key, (size_t)n), 1);
    }
    assert_int_equal(set.n, 5000);
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(key, sizeof(key), "token-%d", i);
        assert_true(cj_hash_set_contains(&set, key, (size_t)n));
        assert_int_equal(cj_hash_set_add(&set, key, (size_t)n), 0);
    }
    for (int i = 5000; i < 6000; i++) {
        int n = snprintf(key, sizeof(key), "token-%d", i);
        assert_false(cj_hash_set_contains(&set, key, (size_t)n));
    }
    /* Length matters, not a terminator. */
    assert_true(cj_hash_set_contains(&set, "token-1XYZ", 7)); /* = "token-1" */
    assert_false(cj_hash_set_contains(&set, "token-1XYZ", 10));
    cj_hash_set_clear(&set);
    assert_int_equal(set.n, 0);
    assert_false(cj_hash_set_contains(&set, "token-1", 7));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify_http), cmocka_unit_test(test_classify_transport),
        cmocka_unit_test(test_backoff),       cmocka_unit_test(test_clock_offset),
        cmocka_unit_test(test_hash_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
