/* SPDX-License-Identifier: MIT */
/* ListModelCopyJobs' query string: every key valid and invalid, repeats, unknown keys,
 * defaults, and messages that name the parameter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cj-time.h"
#include "query.h"

#define MODEL_ARN                                                                                  \
    "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.titan-text-express-v1:0:8k/"       \
    "abcdefghijkl"
#define FOUNDATION_ARN "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1"

struct parsed {
    struct cj_query q;
    struct cj_query_storage st;
    char err[512];
    int r;
};

static void parse(const struct cj_kv *args, size_t n, struct parsed *p)
{
    memset(p, 0, sizeof(*p));
    p->r = api_query_parse(args, n, &p->q, &p->st, p->err, sizeof(p->err));
}

static void parse1(const char *key, const char *value, struct parsed *p)
{
    struct cj_kv kv = {key, value};
    parse(&kv, 1, p);
}

/* The value is refused and the message names the parameter. */
static void expect_invalid1(const char *key, const char *value)
{
    struct parsed p;

    parse1(key, value, &p);
    if (p.r != -EINVAL)
        fail_msg("%s=%s: expected -EINVAL, got %d", key, value ? value : "(null)", p.r);
    if (!strstr(p.err, key))
        fail_msg("%s: message does not name the parameter: %s", key, p.err);
    assert_null(p.st.source_account);
    assert_null(p.st.next_token);
    assert_null(p.st.job_region);
    assert_null(p.st.job_account);
    assert_null(p.q.job_region);
    assert_null(p.q.job_account);
    api_query_storage_done(&p.st);
}

static void expect_valid1(const char *key, const char *value, struct parsed *p)
{
    parse1(key, value, p);
    if (p->r != 0)
        fail_msg("%s=%s: expected success, got %d: %s", key, value ? value : "(null)", p->r,
                 p->err);
}

static void test_defaults(void **state)
{
    struct parsed p;

    parse(NULL, 0, &p);
    assert_int_equal(p.r, 0);
    assert_false(p.q.has_status);
    assert_false(p.q.has_after);
    assert_false(p.q.has_before);
    assert_false(p.q.ascending);
    assert_int_equal(p.q.max_results, 1000);
    assert_null(p.q.source_account);
    assert_null(p.q.source_model_arn);
    assert_null(p.q.name_contains);
    assert_null(p.q.next_token);
    api_query_storage_done(&p.st);
}

static void test_unknown_keys_ignored(void **state)
{
    struct cj_kv args[] = {
        {"foo", "bar"}, {"MaxResults", "0"}, {"maxresults", "junk"},   {"x-id", NULL},
        {"", ""},       {"maxResults", "5"}, {"statusequals", "nope"},
    };
    struct parsed p;

    parse(args, ELEMENTSOF(args), &p);
    assert_int_equal(p.r, 0);
    assert_int_equal(p.q.max_results, 5);
    assert_false(p.q.has_status);
    api_query_storage_done(&p.st);
}

static void test_times(void **state)
{
    struct parsed p;
    int64_t ns;

    expect_valid1("creationTimeAfter", "2024-05-01T12:34:56Z", &p);
    assert_true(p.q.has_after);
    assert_false(p.q.has_before);
    assert_int_equal(cj_time_parse_iso8601("2024-05-01T12:34:56Z", 20, &ns), 0);
    assert_true(p.q.after_ns == ns);

    expect_valid1("creationTimeBefore", "2024-05-01T12:34:56.123456789+02:00", &p);
    assert_true(p.q.has_before);
    assert_false(p.q.has_after);
    assert_int_equal(cj_time_parse_iso8601("2024-05-01T12:34:56.123456789+02:00", 35, &ns), 0);
    assert_true(p.q.before_ns == ns);

    /* after >= before is allowed: it just matches nothing */
    struct cj_kv both[] = {{"creationTimeAfter", "2025-01-01T00:00:00Z"},
                           {"creationTimeBefore", "2024-01-01T00:00:00Z"}};
    parse(both, 2, &p);
    assert_int_equal(p.r, 0);
    assert_true(p.q.after_ns > p.q.before_ns);

    expect_invalid1("creationTimeAfter", "yesterday");
    expect_invalid1("creationTimeAfter", "");
    expect_invalid1("creationTimeAfter", NULL);
    expect_invalid1("creationTimeAfter", "2024-13-01T00:00:00Z");
    expect_invalid1("creationTimeBefore", "2024-02-30T00:00:00Z");
    expect_invalid1("creationTimeBefore", "1700000000");
    expect_invalid1("creationTimeBefore", "9999-01-01T00:00:00Z");
}

static void test_status(void **state)
{
    static const char *const names[] = {"InProgress", "Completed", "Failed"};
    struct parsed p;

    for (size_t i = 0; i < ELEMENTSOF(names); i++) {
        expect_valid1("statusEquals", names[i], &p);
        assert_true(p.q.has_status);
        assert_int_equal(p.q.status, (enum cj_status)i);
    }
    expect_invalid1("statusEquals", "failed");
    expect_invalid1("statusEquals", "Stopped");
    expect_invalid1("statusEquals", "");
    expect_invalid1("statusEquals", NULL);
    parse1("statusEquals", "Pending", &p);
    assert_non_null(strstr(p.err, "InProgress"));
}

static void test_account(void **state)
{
    struct parsed p;

    expect_valid1("sourceAccountEquals", "123456789012", &p);
    assert_string_equal(p.q.source_account, "123456789012");
    assert_ptr_equal(p.q.source_account, p.st.source_account);
    api_query_storage_done(&p.st);

    expect_invalid1("sourceAccountEquals", "12345678901");
    expect_invalid1("sourceAccountEquals", "1234567890123");
    expect_invalid1("sourceAccountEquals", "12345678901a");
    expect_invalid1("sourceAccountEquals", "");
    expect_invalid1("sourceAccountEquals", NULL);
}

static void test_job_region(void **state)
{
    static const char *const good[] = {"us-east-1", "us-gov-west-1", "eu-central-2", "a",
                                       "abcdefghijklmnopqrstuvwxyz012345"};
    static const char *const bad[] = {
        "",           "US-EAST-1",   "us_east_1",        "us east 1",
        "us-east-1:", "eu-west-1\n", "\xc3\xa9u-west-1", "abcdefghijklmnopqrstuvwxyz0123456"};
    struct parsed p;

    for (size_t i = 0; i < ELEMENTSOF(good); i++) {
        expect_valid1("jobRegionEquals", good[i], &p);
        assert_string_equal(p.q.job_region, good[i]);
        assert_ptr_equal(p.q.job_region, p.st.job_region);
        assert_null(p.q.job_account);
        api_query_storage_done(&p.st);
    }
    for (size_t i = 0; i < ELEMENTSOF(bad); i++)
        expect_invalid1("jobRegionEquals", bad[i]);
    expect_invalid1("jobRegionEquals", NULL);
    parse1("jobRegionEquals", "Us-East-1", &p);
    assert_non_null(strstr(p.err, "region name"));
}

static void test_job_account(void **state)
{
    struct parsed p;

    expect_valid1("jobAccountEquals", "000000000001", &p);
    assert_string_equal(p.q.job_account, "000000000001");
    assert_ptr_equal(p.q.job_account, p.st.job_account);
    assert_null(p.q.source_account); /* another parameter than sourceAccountEquals */
    api_query_storage_done(&p.st);

    expect_invalid1("jobAccountEquals", "12345678901");
    expect_invalid1("jobAccountEquals", "1234567890123");
    expect_invalid1("jobAccountEquals", "12345678901a");
    expect_invalid1("jobAccountEquals", " 23456789012");
    expect_invalid1("jobAccountEquals", "");
    expect_invalid1("jobAccountEquals", NULL);
}

static void test_model_arn(void **state)
{
    struct parsed p;

    expect_valid1("sourceModelArnEquals", MODEL_ARN, &p);
    assert_string_equal(p.q.source_model_arn, MODEL_ARN);
    api_query_storage_done(&p.st);
    expect_valid1("sourceModelArnEquals", FOUNDATION_ARN, &p);
    assert_string_equal(p.q.source_model_arn, FOUNDATION_ARN);
    api_query_storage_done(&p.st);

    expect_invalid1("sourceModelArnEquals", "arn:aws:s3:::bucket/key/that-is-long");
    expect_invalid1("sourceModelArnEquals", "arn:aws:bedrock");
    expect_invalid1("sourceModelArnEquals", "");
    expect_invalid1("sourceModelArnEquals", NULL);
    char *huge = malloc(1100);
    assert_non_null(huge);
    memset(huge, 'a', 1099);
    huge[1099] = '\0';
    memcpy(huge, MODEL_ARN, strlen(MODEL_ARN));
    expect_invalid1("sourceModelArnEquals", huge);
    free(huge);
}

static void test_name_contains(void **state)
{
    struct parsed p;

    expect_valid1("outputModelNameContains", "my-model_1", &p);
    assert_string_equal(p.q.name_contains, "my-model_1");
    api_query_storage_done(&p.st);
    expect_valid1("targetModelNameContains", "X", &p);
    assert_string_equal(p.q.name_contains, "X");
    api_query_storage_done(&p.st);

    char name63[64], name64[65];
    memset(name63, 'a', 63);
    name63[63] = '\0';
    memset(name64, 'a', 64);
    name64[64] = '\0';
    expect_valid1("outputModelNameContains", name63, &p);
    api_query_storage_done(&p.st);

    expect_invalid1("outputModelNameContains", name64);
    expect_invalid1("outputModelNameContains", "");
    expect_invalid1("outputModelNameContains", NULL);
    expect_invalid1("outputModelNameContains", "has space");
    expect_invalid1("outputModelNameContains", "a--b");
    expect_invalid1("outputModelNameContains", "-lead");
    expect_invalid1("targetModelNameContains", "a.b");
}

static void test_sort(void **state)
{
    struct parsed p;

    expect_valid1("sortBy", "CreationTime", &p);
    expect_valid1("sortOrder", "Ascending", &p);
    assert_true(p.q.ascending);
    expect_valid1("sortOrder", "Descending", &p);
    assert_false(p.q.ascending);

    expect_invalid1("sortBy", "creationTime");
    expect_invalid1("sortBy", "Status");
    expect_invalid1("sortBy", NULL);
    expect_invalid1("sortOrder", "ascending");
    expect_invalid1("sortOrder", "Asc");
    expect_invalid1("sortOrder", "");
    expect_invalid1("sortOrder", NULL);
}

static void test_max_results(void **state)
{
    struct parsed p;

    expect_valid1("maxResults", "1", &p);
    assert_int_equal(p.q.max_results, 1);
    expect_valid1("maxResults", "1000", &p);
    assert_int_equal(p.q.max_results, 1000);
    expect_valid1("maxResults", "0042", &p);
    assert_int_equal(p.q.max_results, 42);

    static const char *const bad[] = {"0",
                                      "1001",
                                      "-1",
                                      "+5",
                                      " 5",
                                      "5 ",
                                      "5x",
                                      "1e3",
                                      "0x10",
                                      "",
                                      "99999999999999999999999",
                                      "4294967297"};
    for (size_t i = 0; i < ELEMENTSOF(bad); i++)
        expect_invalid1("maxResults", bad[i]);
    expect_invalid1("maxResults", NULL);

    parse1("maxResults", "0", &p);
    assert_non_null(strstr(p.err, "greater than or equal to 1"));
    parse1("maxResults", "1001", &p);
    assert_non_null(strstr(p.err, "less than or equal to 1000"));
    parse1("maxResults", "abc", &p);
    assert_non_null(strstr(p.err, "from 1 to 1000"));
    assert_non_null(strstr(p.err, "'abc'"));
}

static void test_next_token(void **state)
{
    struct parsed p;
    char *tok = malloc(2050);
    assert_non_null(tok);

    expect_valid1("nextToken", "abc+/=", &p);
    assert_string_equal(p.q.next_token, "abc+/=");
    api_query_storage_done(&p.st);

    memset(tok, 'A', 2048);
    tok[2048] = '\0';
    expect_valid1("nextToken", tok, &p);
    assert_int_equal(strlen(p.q.next_token), 2048);
    api_query_storage_done(&p.st);

    tok[2048] = 'A';
    tok[2049] = '\0';
    expect_invalid1("nextToken", tok);
    free(tok);

    expect_invalid1("nextToken", "");
    expect_invalid1("nextToken", NULL);
    expect_invalid1("nextToken", "ab cd");
    expect_invalid1("nextToken", "ab\tcd");
    expect_invalid1("nextToken", "ab\ncd");
}

static void test_repeats(void **state)
{
    static const char *const keys[] = {
        "creationTimeAfter",
        "creationTimeBefore",
        "statusEquals",
        "sourceAccountEquals",
        "sourceModelArnEquals",
        "outputModelNameContains",
        "sortBy",
        "sortOrder",
        "maxResults",
        "nextToken",
        "jobRegionEquals",
        "jobAccountEquals",
    };
    static const char *const values[] = {
        "2024-01-01T00:00:00Z",
        "2024-01-01T00:00:00Z",
        "Failed",
        "123456789012",
        MODEL_ARN,
        "name",
        "CreationTime",
        "Ascending",
        "10",
        "tok",
        "us-west-2",
        "123456789012",
    };
    struct parsed p;

    for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
        struct cj_kv args[] = {{keys[i], values[i]}, {"other", "x"}, {keys[i], values[i]}};
        parse(args, ELEMENTSOF(args), &p);
        if (p.r != -EINVAL)
            fail_msg("%s twice: expected -EINVAL, got %d", keys[i], p.r);
        assert_non_null(strstr(p.err, keys[i]));
        assert_non_null(strstr(p.err, "more than once"));
        assert_null(p.st.source_account);
        assert_null(p.st.name_contains);
        assert_null(p.st.next_token);
        assert_null(p.st.job_region);
        assert_null(p.st.job_account);
    }

    /* the two spellings of the name filter are one parameter */
    struct cj_kv both[] = {{"outputModelNameContains", "a"}, {"targetModelNameContains", "b"}};
    parse(both, 2, &p);
    assert_int_equal(p.r, -EINVAL);
    assert_non_null(strstr(p.err, "targetModelNameContains"));
    assert_non_null(strstr(p.err, "more than once"));
    assert_null(p.st.name_contains);

    /* a repeated key is refused even when the first value was bad too: the first error wins */
    struct cj_kv bad_first[] = {{"maxResults", "0"}, {"maxResults", "5"}};
    parse(bad_first, 2, &p);
    assert_int_equal(p.r, -EINVAL);
    assert_non_null(strstr(p.err, "maxResults"));
}

static void test_everything(void **state)
{
    struct cj_kv args[] = {
        {"creationTimeAfter", "2024-01-01T00:00:00Z"},
        {"creationTimeBefore", "2024-12-31T23:59:59.5Z"},
        {"statusEquals", "Completed"},
        {"sourceAccountEquals", "210987654321"},
        {"sourceModelArnEquals", MODEL_ARN},
        {"targetModelNameContains", "prod"},
        {"sortBy", "CreationTime"},
        {"sortOrder", "Ascending"},
        {"maxResults", "250"},
        {"nextToken", "eyJ0b2tlbiI6MX0="},
        {"jobRegionEquals", "us-gov-west-1"},
        {"jobAccountEquals", "123456789012"},
    };
    struct parsed p;

    parse(args, ELEMENTSOF(args), &p);
    assert_int_equal(p.r, 0);
    assert_true(p.q.has_after && p.q.has_before && p.q.has_status);
    assert_int_equal(p.q.status, CJ_STATUS_COMPLETED);
    assert_string_equal(p.q.source_account, "210987654321");
    assert_string_equal(p.q.source_model_arn, MODEL_ARN);
    assert_string_equal(p.q.name_contains, "prod");
    assert_true(p.q.ascending);
    assert_int_equal(p.q.max_results, 250);
    assert_string_equal(p.q.next_token, "eyJ0b2tlbiI6MX0=");
    assert_string_equal(p.q.job_region, "us-gov-west-1");
    assert_string_equal(p.q.job_account, "123456789012");
    api_query_storage_done(&p.st);
    api_query_storage_done(&p.st); /* twice is harmless */

    /* a bad value after good ones frees what was kept */
    struct cj_kv late[] = {{"jobRegionEquals", "us-west-2"}, {"jobAccountEquals", "x"}};
    parse(late, ELEMENTSOF(late), &p);
    assert_int_equal(p.r, -EINVAL);
    assert_non_null(strstr(p.err, "jobAccountEquals"));
    assert_null(p.st.job_region);
    assert_null(p.q.job_region);
}

static void test_error_message_bounded(void **state)
{
    char big[5000];
    char small[24];
    struct cj_query q;
    struct cj_query_storage st;

    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    struct cj_kv kv = {"statusEquals", big};
    assert_int_equal(api_query_parse(&kv, 1, &q, &st, small, sizeof(small)), -EINVAL);
    assert_true(strlen(small) < sizeof(small));

    /* the quoted value is cut and made printable */
    char msg[512];
    struct cj_kv ctl = {"statusEquals", "\x01\x7f\xff"};
    assert_int_equal(api_query_parse(&ctl, 1, &q, &st, msg, sizeof(msg)), -EINVAL);
    assert_non_null(strstr(msg, "'\?\?\?'"));
    assert_int_equal(api_query_parse(&kv, 1, &q, &st, msg, sizeof(msg)), -EINVAL);
    assert_true(strlen(msg) < 300);
    assert_non_null(strstr(msg, "..."));

    /* no err buffer at all */
    assert_int_equal(api_query_parse(&kv, 1, &q, &st, NULL, 0), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_unknown_keys_ignored),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_account),
        cmocka_unit_test(test_job_region),
        cmocka_unit_test(test_job_account),
        cmocka_unit_test(test_model_arn),
        cmocka_unit_test(test_name_contains),
        cmocka_unit_test(test_sort),
        cmocka_unit_test(test_max_results),
        cmocka_unit_test(test_next_token),
        cmocka_unit_test(test_repeats),
        cmocka_unit_test(test_everything),
        cmocka_unit_test(test_error_message_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
