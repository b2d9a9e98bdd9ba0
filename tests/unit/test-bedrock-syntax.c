/* SPDX-License-Identifier: MIT */
/* The ARN partition rule: aws(-[a-z-]+)?, so that every ARN the daemon accepts from an endpoint
 * (and then logs or echoes) is printable ASCII without spaces; the character classes of the
 * other rules, byte by byte; lengths counted in characters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bedrock-syntax.h"

#define JOB_TAIL   ":bedrock:us-east-1:123456789012:model-copy-job/abcdefabcdef"
#define MODEL_TAIL ":bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1"
#define KMS_TAIL   ":kms:us-east-1:123456789012:key/0123456789abcdef0123456789abcdef0123"

static const char *const good_partitions[] = {
    "aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc",
};

/* Each would let a hostile endpoint put a byte into a log line that forges or hides another. */
static const char *const bad_partitions[] = {
    "aws-\n",   "aws-x\ny",     "aws-\r",       "aws-\x1b[2J", "aws- ",     "aws-\t",
    "aws-\x7f", "aws-\xc3\xa9", "aws-\xff\xfe", "aws-X",       "aws-x.y/z", "aws-1",
    "aws-x_y",  "aws-",         "awsx",         "aws_cn",      "",
};

static void check_all(const char *partition, bool want)
{
    char arn[256];
    const char *tails[] = {JOB_TAIL, MODEL_TAIL, KMS_TAIL};

    for (size_t t = 0; t < 3; t++) {
        int n = snprintf(arn, sizeof(arn), "arn:%s%s", partition, tails[t]);
        assert_true(n > 0 && (size_t)n < sizeof(arn));
        bool got = t == 0   ? cj_valid_job_arn(arn, (size_t)n)
                   : t == 1 ? cj_valid_model_arn(arn, (size_t)n)
                            : cj_valid_kms_key_arn(arn, (size_t)n);
        if (got != want)
            print_error("partition '%s' (tail %zu): got %d\n", partition, t, got);
        assert_true(got == want);
    }
}

static void test_partitions(void **state)
{
    for (size_t i = 0; i < sizeof(good_partitions) / sizeof(good_partitions[0]); i++)
        check_all(good_partitions[i], true);
    for (size_t i = 0; i < sizeof(bad_partitions) / sizeof(bad_partitions[0]); i++)
        check_all(bad_partitions[i], false);
}

/* Whatever the validator accepts is printable ASCII: no byte of any accepted job ARN is a
 * control byte, a space or non-ASCII, whatever the partition bytes were. */
static void test_accepted_is_printable(void **state)
{
    char arn[128];

    for (unsigned c = 0; c < 256; c++) {
        int n = snprintf(arn, sizeof(arn), "arn:aws-a%cb" JOB_TAIL, (char)c);
        if (c == 0)
            continue; /* snprintf stops there; a NUL is covered by the length tests */
        bool ok = cj_valid_job_arn(arn, (size_t)n);
        assert_true(ok == ((c >= 'a' && c <= 'z') || c == '-'));
    }
}

static void test_region_names(void **state)
{
    (void)state;
    static const char *const good[] = {"us-east-1",
                                       "eu-central-2",
                                       "us-gov-west-1",
                                       "cn-north-1",
                                       "ap-southeast-4",
                                       "il-central-1",
                                       "x",
                                       "abcdefghijklmnopqrstuvwxyz012345"};
    static const char *const bad[] = {"",
                                      "-us-east-1",
                                      "us-east-1-",
                                      "US-EAST-1",
                                      "us_east_1",
                                      "us east 1",
                                      "us-east-1\n",
                                      "us.east.1",
                                      "abcdefghijklmnopqrstuvwxyz0123456"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(cj_valid_region_name(good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(cj_valid_region_name(bad[i], strlen(bad[i])));
    assert_false(cj_valid_region_name(NULL, 0));
}

static bool is_lower_digit(unsigned c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(unsigned c)
{
    return is_lower_digit(c) || (c >= 'A' && c <= 'Z');
}

static bool is_java_space(unsigned c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* prefix, the byte c, suffix into buf (NULs included); its length. */
static size_t with_byte(char *buf, size_t size, const char *prefix, unsigned c, const char *suffix)
{
    size_t a = strlen(prefix), b = strlen(suffix);
    assert_true(a + 1 + b <= size);
    memcpy(buf, prefix, a);
    buf[a] = (char)c;
    memcpy(buf + a + 1, suffix, b);
    return a + 1 + b;
}

/* Every byte, NUL and non-ASCII included, in a place of each character class the rules use:
 * accepted exactly when the class has it. */
static void test_character_classes(void **state)
{
    char s[256];
    size_t n;

    for (unsigned c = 0; c < 256; c++) {
        bool digit = c >= '0' && c <= '9';
        n = with_byte(s, sizeof(s), "12345", c, "789012");
        assert_true(cj_valid_account_id(s, n) == digit);

        n = with_byte(s, sizeof(s), "arn:aws:bedrock:us-east-1:123456789012:model-copy-job/abcde",
                      c, "abcdef");
        assert_true(cj_valid_job_arn(s, n) == is_lower_digit(c));

        n = with_byte(s, sizeof(s), "arn:aws:bedrock:us-", c,
                      "east-1:123456789012:model-copy-job/abcdefabcdef");
        assert_true(cj_valid_job_arn(s, n) == (is_lower_digit(c) || c == '-'));

        n = with_byte(s, sizeof(s), "arn:aws:bedrock:us-east-1::foundation-model/amazon.ti", c,
                      "tan-v1");
        /* '.' starts another piece of the name, ':' its version */
        assert_true(cj_valid_model_arn(s, n) ==
                    (is_lower_digit(c) || c == '-' || c == '.' || c == ':'));

        n = with_byte(s, sizeof(s), "arn:aws:kms:us-", c,
                      "east-1:123456789012:key/0123456789abcdef0123456789abcdef0123");
        assert_true(cj_valid_kms_key_arn(s, n) == (is_alnum(c) || c == '-'));

        n = with_byte(s, sizeof(s), "a", c, "b");
        assert_true(cj_valid_custom_model_name(s, n) == (is_alnum(c) || c == '_' || c == '-'));
        bool tag = is_alnum(c) || is_java_space(c) || (c != 0 && strchr("._:/=+@-", (int)c));
        assert_true(cj_valid_tag_key(s, n) == tag);
        assert_true(cj_valid_tag_value(s, n) == tag);
        assert_true(cj_valid_next_token(s, n) == !is_java_space(c));
    }
}

/* Lengths in characters count a UTF-8 sequence once, wherever it stands (the count looks at
 * eight ASCII bytes at a time). */
static void test_character_lengths(void **state)
{
    char s[CJ_FAILURE_MESSAGE_MAX * 2 + 8];

    for (size_t at = 0; at < 40; at++) {
        memset(s, 'x', sizeof(s));
        memcpy(s + at, "\xc3\xa9", 2); /* one character in two bytes */
        assert_true(cj_valid_failure_message(s, CJ_FAILURE_MESSAGE_MAX + 1));
        assert_false(cj_valid_failure_message(s, CJ_FAILURE_MESSAGE_MAX + 2));
    }
    memset(s, 'x', sizeof(s));
    assert_true(cj_valid_failure_message(s, CJ_FAILURE_MESSAGE_MAX));
    assert_false(cj_valid_failure_message(s, CJ_FAILURE_MESSAGE_MAX + 1));
    for (size_t i = 0; i + 1 < sizeof(s); i += 2)
        memcpy(s + i, "\xc3\xa9", 2);
    assert_true(cj_valid_failure_message(s, CJ_FAILURE_MESSAGE_MAX * 2));
    assert_false(cj_valid_failure_message(s, CJ_FAILURE_MESSAGE_MAX * 2 + 2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_partitions),        cmocka_unit_test(test_accepted_is_printable),
        cmocka_unit_test(test_region_names),      cmocka_unit_test(test_character_classes),
        cmocka_unit_test(test_character_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
