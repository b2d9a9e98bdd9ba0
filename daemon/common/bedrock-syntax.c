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

typedef bool (*char_class)(unsigned char c);

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_lower_digit(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || is_digit(c);
}

static bool is_lower_digit_dash(unsigned char c)
{
    return is_lower_digit(c) || c == '-';
}

static bool is_alnum(unsigned char c)
{
    return is_lower_digit(c) || (c >= 'A' && c <= 'Z');
}

static bool is_alnum_dash(unsigned char c)
{
    return is_alnum(c) || c == '-';
}

/* The partition's characters: the service model allows [^:], but an ARN is logged and echoed,
 * and every partition AWS has ("aws-cn", "aws-us-gov", "aws-iso-b", ...) is lower-case words. */
static bool is_partition_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || c == '-';
}

/* Java's \s, which the service model's patterns use: [ \t\n\x0B\f\r] */
static bool is_tag_char(unsigned char c)
{
    return is_alnum(c) || (c != '\0' && strchr(" \t\n\v\f\r._:/=+@-", c) != NULL);
}

static bool at_end(const struct cursor *c)
{
    return c->p == c->end;
}

static bool peek(const struct cursor *c, char ch)
{
    return c->p < c->end && *c->p == ch;
}

static bool literal(struct cursor *c, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
        return false;
    c->p += n;
    return true;
}

/* The longest run of cls; true when its length is within min..max. */
static bool run(struct cursor *c, char_class cls, size_t min, size_t max)
{
    const char *start = c->p;
    while (c->p < c->end && cls((unsigned char)*c->p))
        c->p++;
    size_t n = (size_t)(c->p - start);
    return n >= min && n <= max;
}

/* Unicode code points of valid UTF-8: what the model's length limits count. */
static size_t utf8_length(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xc0) != 0x80;
    return n;
}

/* "arn:aws(-[a-z-]+)?:<service>:": the service model's aws(-[^:]+)? within aws[a-z-]*, so that
 * no control byte, space or non-ASCII byte of a hostile endpoint reaches a log line. */
static bool arn_open_partition(struct cursor *c, const char *service)
{
    if (!literal(c, "arn:aws"))
        return false;
    if (peek(c, '-')) {
        c->p++;
        if (!run(c, is_partition_char, 1, SIZE_MAX))
            return false;
    }
    return literal(c, ":") && literal(c, service) && literal(c, ":");
}

/* "(:[a-z0-9-]{1,63}){0,2}" */
static bool model_version_suffix(struct cursor *c)
{
    for (int i = 0; i < 2 && peek(c, ':'); i++) {
        c->p++;
        if (!run(c, is_lower_digit_dash, 1, 63))
            return false;
    }
    return true;
}

static bool custom_model_id(struct cursor *c)
{
    return literal(c, "/") && run(c, is_lower_digit, 12, 12) && at_end(c);
}

bool cj_valid_account_id(const char *s, size_t len)
{
    if (!s || len != CJ_ACCOUNT_ID_LEN)
        return false;
    struct cursor c = {s, s + len};
    return run(&c, is_digit, CJ_ACCOUNT_ID_LEN, CJ_ACCOUNT_ID_LEN) && at_end(&c);
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
    return run(&c, is_lower_digit_dash, 1, CJ_REGION_NAME_MAX) && at_end(&c);
}

bool cj_valid_job_arn(const char *s, size_t len)
{
    if (!s || len > CJ_JOB_ARN_MAX)
        return false;
    struct cursor c = {s, s + len};
    return arn_open_partition(&c, "bedrock") && run(&c, is_lower_digit_dash, 1, 20) &&
           literal(&c, ":") && run(&c, is_digit, 12, 12) && literal(&c, ":model-copy-job/") &&
           run(&c, is_lower_digit, 12, 12) && at_end(&c);
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
    if (!arn_open_partition(&c, "bedrock") || !run(&c, is_lower_digit_dash, 1, 20) ||
        !literal(&c, ":"))
        return false;

    if (literal(&c, ":foundation-model/")) {
        if (!run(&c, is_lower_digit_dash, 1, 63))
            return false;
        int dots = 0;
        while (dots < 3 && peek(&c, '.')) {
            c.p++;
            dots++;
            if (!run(&c, is_lower_digit_dash, 1, 63))
                return false;
        }
        return dots >= 1 && model_version_suffix(&c) && at_end(&c);
    }

    if (!run(&c, is_digit, 12, 12) || !literal(&c, ":custom-model/"))
        return false;
    struct cursor save = c;
    if (!(literal(&c, "imported") && (peek(&c, ':') || peek(&c, '/')))) {
        c = save;
        if (!run(&c, is_lower_digit_dash, 1, 63) || !literal(&c, ".") ||
            !run(&c, is_lower_digit_dash, 1, 63))
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
    static const char *const partitions[] = {"", "-us-gov", "-cn", "-iso", "-iso-b"};

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
        known = strlen(partitions[i]) == (size_t)(colon - c.p) &&
                memcmp(c.p, partitions[i], (size_t)(colon - c.p)) == 0;
    if (!known)
        return false;
    c.p = colon;
    if (!literal(&c, ":bedrock:") || !run(&c, is_lower_digit_dash, 1, 20) || !literal(&c, ":") ||
        !run(&c, is_digit, 12, 12) || !literal(&c, ":custom-model/"))
        return false;

    struct cursor save = c;
    if (literal(&c, "imported") && peek(&c, '/'))
        return custom_model_id(&c);
    c = save;

    if (!run(&c, is_lower_digit_dash, 1, 63) || !literal(&c, ".") ||
        !run(&c, is_lower_digit_dash, 2, 126))
        return false;
    for (int i = 0; i < 2 && peek(&c, '.'); i++) {
        c.p++;
        if (!run(&c, is_lower_digit_dash, 1, 63))
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
        if (is_alnum(ch))
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
    return arn_open_partition(&c, "kms") && run(&c, is_alnum_dash, 0, SIZE_MAX) &&
           literal(&c, ":") && run(&c, is_digit, 12, 12) && literal(&c, ":key/") &&
           run(&c, is_alnum_dash, 36, 36) && at_end(&c);
}

static bool tag_chars(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!is_tag_char((unsigned char)s[i]))
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
        if (s[i] != '\0' && strchr(" \t\n\v\f\r", s[i]))
            return false;
    return true;
}
