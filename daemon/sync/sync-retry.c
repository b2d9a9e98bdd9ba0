/* SPDX-License-Identifier: MIT */
/* Retry decisions. The lists of throttling and transient error codes are those of the AWS
 * SDKs' standard retry mode; any 5xx and any 429 counts too, whatever its type. */
#include "sync-retry.h"

#include <errno.h>
#include <string.h>

#include "cj-util.h"

const char *sync_retry_class_to_string(enum cj_retry_class c)
{
    static const char *const names[] = {
        [CJ_RETRY_NEVER] = "never",
        [CJ_RETRY_BACKOFF] = "backoff",
        [CJ_RETRY_CLOCK_SKEW] = "clock-skew",
        [CJ_RETRY_EXPIRED_TOKEN] = "expired-token",
    };
    return (unsigned)c < ELEMENTSOF(names) ? names[c] : NULL;
}

static bool in_list(const char *type, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(type, list[i]) == 0)
            return true;
    return false;
}

static const char *const throttling_codes[] = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "EC2ThrottledException",
};

static const char *const transient_codes[] = {
    "RequestTimeout",          "RequestTimeoutException", "PriorRequestNotComplete",
    "InternalServerException", "InternalFailure",         "ServiceUnavailableException",
    "ServiceUnavailable",
};

static const char *const expired_token_codes[] = {
    "ExpiredTokenException",
    "ExpiredToken",
};

/* Codes that always mean the signing time is off. */
static const char *const skew_codes[] = {
    "RequestTimeTooSkewed",
    "RequestExpired",
    "RequestInTheFuture",
};

/* Codes that mean it when the message says so (SigV4 services answer a stale X-Amz-Date
 * with InvalidSignatureException "Signature expired: ..."). */
static const char *const signature_codes[] = {
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "AuthFailure",
};

static const char *const skew_messages[] = {
    "Signature expired",       "Signature not yet current", "RequestTimeTooSkewed",
    "request time too skewed", "time is too skewed",
};

static bool message_says_skew(const char *message)
{
    for (size_t i = 0; message && i < ELEMENTSOF(skew_messages); i++)
        if (strcasestr(message, skew_messages[i]))
            return true;
    return false;
}

enum cj_retry_class sync_retry_classify_http(long status, const char *type, const char *message)
{
    if (!type)
        type = "";
    if ((status == 400 || status == 401 || status == 403) &&
        (in_list(type, skew_codes, ELEMENTSOF(skew_codes)) ||
         (in_list(type, signature_codes, ELEMENTSOF(signature_codes)) &&
          message_says_skew(message))))
        return CJ_RETRY_CLOCK_SKEW;
    if (in_list(type, expired_token_codes, ELEMENTSOF(expired_token_codes)))
        return CJ_RETRY_EXPIRED_TOKEN;
    if (status == 429 || (status >= 500 && status <= 599))
        return CJ_RETRY_BACKOFF;
    if (in_list(type, throttling_codes, ELEMENTSOF(throttling_codes)) ||
        in_list(type, transient_codes, ELEMENTSOF(transient_codes)))
        return CJ_RETRY_BACKOFF;
    return CJ_RETRY_NEVER;
}

bool sync_curl_is_tls_setup_error(CURLcode code)
{
    switch (code) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
        return true;
    default:
        return false;
    }
}

enum cj_retry_class sync_retry_classify_transport(CURLcode code, bool body_too_large)
{
    if (body_too_large)
        return CJ_RETRY_NEVER; /* it would be as large the next time */
    /* Certificates and TLS setup do not fix themselves within a few seconds. */
    if (sync_curl_is_tls_setup_error(code))
        return CJ_RETRY_NEVER;
    switch (code) {
    case CURLE_OK:
        return CJ_RETRY_NEVER;
    /* Our own mistakes. */
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_NOT_BUILT_IN:
        return CJ_RETRY_NEVER;
    default:
        /* Timeouts, refused and reset connections, empty replies, truncated bodies,
         * name resolution hiccups: the next try may well succeed. */
        return CJ_RETRY_BACKOFF;
    }
}

uint64_t sync_retry_delay_usec(unsigned attempt, uint64_t base_usec, uint64_t cap_usec,
                               uint64_t random_bits)
{
    if (attempt == 0)
        attempt = 1;
    uint64_t ceiling = base_usec;
    for (unsigned i = 1; i < attempt && ceiling < cap_usec; i++)
        ceiling = ceiling > UINT64_MAX / 2 ? UINT64_MAX : ceiling * 2;
    if (ceiling > cap_usec)
        ceiling = cap_usec;
    if (ceiling == 0)
        return 0;
    return ceiling == UINT64_MAX ? random_bits : random_bits % (ceiling + 1);
}

int sync_retry_clock_offset(const char *date, int64_t local_sec, int64_t *ret_offset_sec)
{
    if (!date || !*date)
        return -EINVAL;
    /* curl_getdate() knows the three HTTP forms and is thread-safe. A date it cannot read
     * is -1; so is 1969-12-31T23:59:59Z, which no server sends. */
    time_t t = curl_getdate(date, NULL);
    if (t == (time_t)-1)
        return -EINVAL;
    int64_t offset = (int64_t)t - local_sec;
    if (offset > 366 * 86400 || offset < -366 * 86400)
        return -ERANGE;
    *ret_offset_sec = offset;
    return 0;
}
