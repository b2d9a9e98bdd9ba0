/* SPDX-License-Identifier: MIT */
/* The service model's string patterns, as hand-written matchers.
 *
 * Each pattern is matched against the whole string (as AWS enforces them). Every
 * repeated character class in these patterns is followed by a byte the class cannot
 * contain (':', '/', '.', or the end), so consuming the longest run and then checking
 * its length decides each step without backtracking: one pass, no allocation.
 * A NUL byte never matches, so a C string cannot carry more than it shows. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bedrock-syntax.h"

#define ARN_MODEL_MIN 20
#define ARN_MODEL_MAX 1011
#define KMS_ARN_MAX   2048
#define TAG_KEY_MAX   128
#define TAG_VALUE_MAX 256

struct cursor {
    const char *p, *end;
};

/* Character classes as bits of one table, so that a run tests each byte with one load
 * (this runs over every ARN of every job on every sync). */
enum {
    K_DIGIT = 1 << 0,
    K_LOWER = 1 << 1,
    K_UPPER = 1 << 2,
    K_DASH = 1 << 3,
    K_TAG = 1 << 4,   /* the rest of a tag's characters: Java's \s and ._:/=+@ */
    K_SPACE = 1 << 5, /* Java's \s: [ \t\n\x0B\f\r] */
};

static const uint8_t classes[256] = {
    ['0' ... '9'] = K_DIGIT,
    ['a' ... 'z'] = K_LOWER,
    ['A' ... 'Z'] = K_UPPER,
    ['-'] = K_DASH,
    [' '] = K_TAG | K_SPACE,
    ['\t'] = K_TAG | K_SPACE,
    ['\n'] = K_TAG | K_SPACE,
    ['\v'] = K_TAG | K_SPACE,
    ['\f'] = K_TAG | K_SPACE,
    ['\r'] = K_TAG | K_SPACE,
    ['.'] = K_TAG,
    ['_'] = K_TAG,
    [':'] = K_TAG,
    ['/'] = K_TAG,
    ['='] = K_TAG,
    ['+'] = K_TAG,
    ['@'] = K_TAG,
};

#define LOWER_DIGIT      (K_LOWER | K_DIGIT)
#define LOWER_DIGIT_DASH (K_LOWER | K_DIGIT | K_DASH)
#define ALNUM            (K_LOWER | K_UPPER | K_DIGIT)
#define ALNUM_DASH       (ALNUM | K_DASH)
/* The partition's characters: the service model allows [^:], but an ARN is logged and echoed,
 * and every partition AWS has ("aws-cn", "aws-us-gov", "aws-iso-b", ...) is lower-case words. */
#define PARTITION (K_LOWER | K_DASH)
#define TAG_CHAR  (ALNUM | K_DASH | K_TAG)

static bool in(unsigned char c, unsigned cls)
{
    return (classes[c] & cls) != 0;
}

static bool at_end(const struct cursor *c)
{
    return c->p == c->end;
}

static bool peek(const struct cursor *c, char ch)
{
    return c->p < c->end && *c->p == ch;
}

static bool literal_n(struct cursor *c, const char *lit, size_t n)
{
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
        return false;
    c->p += n;
    return true;
}

#define literal(c, lit) literal_n((c), "" lit, sizeof(lit) - 1)

/* The longest run of cls; true when its length is within min..max. */
static bool run(struct cursor *c, unsigned cls, size_t min, size_t max)
{
    const char *start = c->p;
    while (c->p < c->end && in((unsigned char)*c->p, cls))
        c->p++;
    size_t n = (size_t)(c->p - start);
    return n >= min && n <= max;
}

/* Unicode code points of valid UTF-8: what the model's length limits count. */
static size_t utf8_length(const char *s, size_t len)
{
    const uint64_t highs = UINT64_C(0x8080808080808080);
    size_t n = len, i = 0;

    /* Eight bytes at a time while they are ASCII, the common case, which counts as is. */
    for (; len - i >= 8; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, sizeof(w));
        if (w & highs)
            break;
    }
    for (; i < len; i++)
        n -= ((unsigned char)s[i] & 0xc0) == 0x80;
    return n;
}

/* "arn:aws(-[a-z-]+)?:<service>:": the service model's aws(-[^:]+)? within aws[a-z-]*, so that
 * no control byte, space or non-ASCII byte of a hostile endpoint reaches a log line. */
static bool arn_open_partition_n(struct cursor *c, const char *service, size_t n)
{
    if (!literal(c, "arn:aws"))
        return false;
    if (peek(c, '-')) {
        c->p++;
        if (!run(c, PARTITION, 1, SIZE_MAX))
            return false;
    }
    return literal(c, ":") && literal_n(c, service, n) && literal(c, ":");
}

#define arn_open_partition(c, service) arn_open_partition_n((c), "" service, sizeof(service) - 1)

/* "(:[a-z0-9-]{1,63}){0,2}" */
static bool model_version_suffix(struct cursor *c)
{
    for (int i = 0; i < 2 && peek(c, ':'); i++) {
        c->p++;
        if (!run(c, LOWER_DIGIT_DASH, 1, 63))
            return false;
    }
    return true;
}

static bool custom_model_id(struct cursor *c)
{
    return literal(c, "/") && run(c, LOWER_DIGIT, 12, 12) && at_end(c);
}

bool cj_valid_account_id(const char *s, size_t len)
{
    if (!s || len != CJ_ACCOUNT_ID_LEN)
        return false;
    struct cursor c = {s, s + len};
    return run(&c, K_DIGIT, CJ_ACCOUNT_ID_LEN, CJ_ACCOUNT_ID_LEN) && at_end(&c);
}

/* arn:aws(-[a-z-]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:model-copy-job/[a-z0-9]{12} */
/* A region as an ARN names it: AWS's are lower-case words and digits joined by '-'
 * (us-gov-west-1); the length bounds what an index prefix must hold. */
bool cj_valid_region_name(const char *s, size_t len)
{
    if (!s)
        return false;
    /* Lower-case words and digits joined by '-', as the endpoint rules name regions. */
    if (len == 0 || s[0] == '-' || s[len - 1] == '-')
        return false;
    struct cursor c = {s, s + len};
    return run(&c, LOWER_DIGIT_DASH, 1, CJ_REGION_NAME_MAX) && at_end(&c);
}

bool cj_valid_source_name(const char *s)
{
    if (!s)
        return false;
    size_t len = strnlen(s, CJ_SOURCE_NAME_MAX + 1);
    struct cursor c = {s, s + len};
    return run(&c, LOWER_DIGIT_DASH, 1, CJ_SOURCE_NAME_MAX) && at_end(&c);
}

bool cj_valid_job_arn(const char *s, size_t len)
{
    if (!s || len > CJ_JOB_ARN_MAX)
        return false;
    struct cursor c = {s, s + len};
    return arn_open_partition(&c, "bedrock") && run(&c, LOWER_DIGIT_DASH, 1, 20) &&
           literal(&c, ":") && run(&c, K_DIGIT, 12, 12) && literal(&c, ":model-copy-job/") &&
           run(&c, LOWER_DIGIT, 12, 12) && at_end(&c);
}

/* arn:aws(-[a-z-]+)?:bedrock:[a-z0-9-]{1,20}:(
 *   ([0-9]{12}:custom-model/((imported)|([a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}))
 *      (([:][a-z0-9-]{1,63}){0,2})?/[a-z0-9]{12})
 *  |(:foundation-model/[a-z0-9-]{1,63}[.]{1}([a-z0-9-]{1,63}[.]){0,2}[a-z0-9-]{1,63}
 *      ([:][a-z0-9-]{1,63}){0,2}))
 * length 20..1011 */
bool cj_valid_model_arn(const char *s, size_t len)
{
    if (!s)
        return false;
    size_t chars = utf8_length(s, len);
    if (chars < ARN_MODEL_MIN || chars > ARN_MODEL_MAX)
        return false;

    struct cursor c = {s, s + len};
    if (!arn_open_partition(&c, "bedrock") || !run(&c, LOWER_DIGIT_DASH, 1, 20) ||
        !literal(&c, ":"))
        return false;

    if (literal(&c, ":foundation-model/")) {
        if (!run(&c, LOWER_DIGIT_DASH, 1, 63))
            return false;
        int dots = 0;
        while (dots < 3 && peek(&c, '.')) {
            c.p++;
            dots++;
            if (!run(&c, LOWER_DIGIT_DASH, 1, 63))
                return false;
        }
        return dots >= 1 && model_version_suffix(&c) && at_end(&c);
    }

    if (!run(&c, K_DIGIT, 12, 12) || !literal(&c, ":custom-model/"))
        return false;
    struct cursor save = c;
    if (!(literal(&c, "imported") && (peek(&c, ':') || peek(&c, '/')))) {
        c = save;
        if (!run(&c, LOWER_DIGIT_DASH, 1, 63) || !literal(&c, ".") ||
            !run(&c, LOWER_DIGIT_DASH, 1, 63))
            return false;
    }
    return model_version_suffix(&c) && custom_model_id(&c);
}

/* arn:aws(|-us-gov|-cn|-iso|-iso-b):bedrock:[a-z0-9-]{1,20}:[0-9]{12}:custom-model/
 *   (imported|[a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}([a-z0-9-]{1,63}[.]){0,2}[a-z0-9-]{1,63}
 *    ([:][a-z0-9-]{1,63}){0,2})/[a-z0-9]{12}
 * length 20..1011.
 * The middle reads as dot-separated pieces: the first 1..63, the second 2..126 (two
 * runs of 1..63 without a separator between them), then up to two more of 1..63. */
bool cj_valid_custom_model_arn(const char *s, size_t len)
{
    static const struct {
        const char *s;
        size_t n;
    } partitions[] = {{"", 0}, {"-us-gov", 7}, {"-cn", 3}, {"-iso", 4}, {"-iso-b", 6}};

    if (!s || len < ARN_MODEL_MIN || len > ARN_MODEL_MAX)
        return false;
    struct cursor c = {s, s + len};
    if (!literal(&c, "arn:aws"))
        return false;
    const char *colon = memchr(c.p, ':', (size_t)(c.end - c.p));
    if (!colon)
        return false;
    bool known = false;
    for (size_t i = 0; i < sizeof(partitions) / sizeof(partitions[0]) && !known; i++)
        known = partitions[i].n == (size_t)(colon - c.p) &&
                memcmp(c.p, partitions[i].s, partitions[i].n) == 0;
    if (!known)
        return false;
    c.p = colon;
    if (!literal(&c, ":bedrock:") || !run(&c, LOWER_DIGIT_DASH, 1, 20) || !literal(&c, ":") ||
        !run(&c, K_DIGIT, 12, 12) || !literal(&c, ":custom-model/"))
        return false;

    struct cursor save = c;
    if (literal(&c, "imported") && peek(&c, '/'))
        return custom_model_id(&c);
    c = save;

    if (!run(&c, LOWER_DIGIT_DASH, 1, 63) || !literal(&c, ".") ||
        !run(&c, LOWER_DIGIT_DASH, 2, 126))
        return false;
    for (int i = 0; i < 2 && peek(&c, '.'); i++) {
        c.p++;
        if (!run(&c, LOWER_DIGIT_DASH, 1, 63))
            return false;
    }
    return model_version_suffix(&c) && custom_model_id(&c);
}

/* ([0-9a-zA-Z][_-]?){1,63}, length 1..63: an alphanumeric first, and never two
 * separators in a row. */
bool cj_valid_custom_model_name(const char *s, size_t len)
{
    if (!s || len < 1 || len > CJ_MODEL_NAME_MAX)
        return false;
    bool after_separator = true;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (in(ch, ALNUM))
            after_separator = false;
        else if ((ch == '_' || ch == '-') && !after_separator)
            after_separator = true;
        else
            return false;
    }
    return true;
}

/* arn:aws(-[a-z-]+)?:kms:[a-zA-Z0-9-]*:[0-9]{12}:key/[a-zA-Z0-9-]{36}, length 1..2048 */
bool cj_valid_kms_key_arn(const char *s, size_t len)
{
    if (!s || utf8_length(s, len) > KMS_ARN_MAX)
        return false;
    struct cursor c = {s, s + len};
    return arn_open_partition(&c, "kms") && run(&c, ALNUM_DASH, 0, SIZE_MAX) && literal(&c, ":") &&
           run(&c, K_DIGIT, 12, 12) && literal(&c, ":key/") && run(&c, ALNUM_DASH, 36, 36) &&
           at_end(&c);
}

static bool tag_chars(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!in((unsigned char)s[i], TAG_CHAR))
            return false;
    return true;
}

bool cj_valid_tag_key(const char *s, size_t len)
{
    return s && len >= 1 && len <= TAG_KEY_MAX && tag_chars(s, len);
}

bool cj_valid_tag_value(const char *s, size_t len)
{
    return s && len <= TAG_VALUE_MAX && tag_chars(s, len);
}

/* length 0..2048 characters */
bool cj_valid_failure_message(const char *s, size_t len)
{
    return s && utf8_length(s, len) <= CJ_FAILURE_MESSAGE_MAX;
}

/* NextToken: ^\S*$, length 1..2048 (Java's \s, as for tags) */
bool cj_valid_next_token(const char *s, size_t len)
{
    if (!s || len < 1 || len > CJ_NEXT_TOKEN_LEN_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (in((unsigned char)s[i], K_SPACE))
            return false;
    return true;
}
