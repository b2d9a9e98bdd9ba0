/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cj-time.h"

#define NS(sec) ((int64_t)(sec)*CJ_NSEC_PER_SEC)

static int parse(const char *s, int64_t *ns)
{
    return cj_time_parse_iso8601(s, strlen(s), ns);
}

static void test_iso_valid(void **state)
{
    static const struct {
        const char *s;
        int64_t ns;
    } cases[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"1970-01-01", 0},
        {"1969-12-31T23:59:59Z", NS(-1)},
        {"1969-12-31T23:59:59.5Z", NS(-1) + 500000000},
        {"2024-05-01T12:34:56Z", NS(1714566896)},
        {"2024-05-01t12:34:56z", NS(1714566896)},
        {"2024-05-01 12:34:56Z", NS(1714566896)},
        {"2024-05-01T12:34:56+00:00", NS(1714566896)},
        {"2024-05-01T12:34:56-00:00", NS(1714566896)},
        {"2024-05-01T14:34:56+02:00", NS(1714566896)},
        {"2024-05-01T14:34:56+0200", NS(1714566896)},
        {"2024-05-01T14:34:56+02", NS(1714566896)},
        {"2024-05-01T07:04:56-05:30", NS(1714566896)},
        {"2024-05-01T07:04:56-0530", NS(1714566896)},
        {"2024-05-02T00:33:56+11:59", NS(1714566896)},
        {"2024-04-30T12:35:56-23:59", NS(1714566896)},
        {"2024-05-01T12:34:56.1Z", NS(1714566896) + 100000000},
        {"2024-05-01T12:34:56.100Z", NS(1714566896) + 100000000},
        {"2024-05-01T12:34:56.100000001Z", NS(1714566896) + 100000001},
        {"2024-05-01T12:34:56.000000001Z", NS(1714566896) + 1},
        {"2024-05-01T12:34:56.123456Z", NS(1714566896) + 123456000},
        {"2024-05-01T12:34:56.999999999+00:00", NS(1714566896) + 999999999},
        {"2000-02-29T00:00:00Z", NS(951782400)},
        {"2024-02-29T23:59:59Z", NS(1709251199)},
        {"1900-03-01T00:00:00Z", NS(-2203891200)},
        {"2025-01-01", NS(1735689600)},
        /* leap seconds fold into the next minute */
        {"2024-12-31T23:59:60Z", NS(1735689600)},
        {"2024-12-31T23:59:60.25Z", NS(1735689600) + 250000000},
        /* the very ends of int64 ns */
        {"2262-04-11T23:47:16.854775807Z", INT64_MAX},
        {"1677-09-21T00:12:43.145224192Z", INT64_MIN},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t ns = 42;
        int r = parse(cases[i].s, &ns);
        if (r != 0 || ns != cases[i].ns)
            print_error("case %zu: %s -> r=%d ns=%lld\n", i, cases[i].s, r, (long long)ns);
        assert_int_equal(r, 0);
        assert_int_equal(ns, cases[i].ns);
    }
}

static void test_iso_invalid(void **state)
{
    static const char *const cases[] = {
        "",
        "2024",
        "2024-05",
        "2024-5-01",
        "2024-05-1",
        "24-05-01",
        "202-05-01",
        "02024-05-01",
        "2024/05/01",
        "2024-05-01T",
        "2024-05-01T12:34",
        "2024-05-01T12:34Z",
        "2024-05-01T12:34:56", /* no offset */
        "2024-05-01T12:34:5Z",
        "2024-05-01T1:34:56Z",
        "2024-05-01X12:34:56Z",
        "2024-05-01T12:34:56ZZ",
        "2024-05-01T12:34:56Z ",
        " 2024-05-01T12:34:56Z",
        "2024-05-01T12:34:56.Z",
        "2024-05-01T12:34:56.1234567890Z", /* 10 fraction digits */
        "2024-05-01T12:34:56,5Z",
        "2024-05-01T12:34:56+2",
        "2024-05-01T12:34:56+02:0",
        "2024-05-01T12:34:56+02:",
        "2024-05-01T12:34:56+020",
        "2024-05-01T12:34:56+02:00:00",
        "2024-05-01T12:34:56+24:00",
        "2024-05-01T12:34:56+02:60",
        "2024-05-01T12:34:56 +02:00",
        "2024-05-01T12:34:56UTC",
        "2024-00-01",
        "2024-13-01",
        "2024-01-00",
        "2024-01-32",
        "2024-04-31",
        "2023-02-29",
        "1900-02-29",
        "2100-02-29",
        "2024-05-01T24:00:00Z",
        "2024-05-01T12:60:00Z",
        "2024-05-01T12:34:61Z",
        "2024-05-01T12:34:56Z\n",
        "-2024-05-01",
        "+2024-05-01",
        "2024-05-01T12:34:56.-1Z",
        "abcd-ef-gh",
        "2024-05-01T12:34:56z1",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t ns = 42;
        int r = parse(cases[i], &ns);
        if (r != -EINVAL)
            print_error("case %zu: '%s' -> r=%d\n", i, cases[i], r);
        assert_int_equal(r, -EINVAL);
        assert_int_equal(ns, 42); /* untouched on failure */
    }

    /* len bounds the read: no NUL needed, and an embedded NUL is garbage */
    int64_t ns;
    assert_int_equal(cj_time_parse_iso8601("2024-05-01T12:34:56Zjunk", 20, &ns), 0);
    assert_int_equal(ns, NS(1714566896));
    assert_int_equal(cj_time_parse_iso8601("2024-05-01T12:34:56Z\0", 21, &ns), -EINVAL);
    assert_int_equal(cj_time_parse_iso8601("2024-05-01", 9, &ns), -EINVAL);
    assert_int_equal(cj_time_parse_iso8601(NULL, 0, &ns), -EINVAL);
}

static void test_iso_range(void **state)
{
    static const char *const cases[] = {
        "2262-04-11T23:47:16.854775808Z", /* INT64_MAX + 1 */
        "1677-09-21T00:12:43.145224191Z", /* INT64_MIN - 1 */
        "2262-04-12",
        "1677-09-20",
        "9999-12-31T23:59:59.999999999Z",
        "0000-01-01",
        "0001-01-01T00:00:00Z",
        "10000-01-01T00:00:00Z",
        "99999999999999999999999999-01-01T00:00:00Z",
        "2262-04-11T23:47:16.854775807-00:01",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t ns = 42;
        int r = parse(cases[i], &ns);
        if (r != -ERANGE)
            print_error("case %zu: '%s' -> r=%d\n", i, cases[i], r);
        assert_int_equal(r, -ERANGE);
        assert_int_equal(ns, 42);
    }
    /* a huge year that is also malformed is malformed first */
    int64_t ns;
    assert_int_equal(parse("99999-02-30", &ns), -EINVAL);
}

static void check_format(int64_t ns, const char *want)
{
    char buf[CJ_ISO8601_MAX];
    int n = cj_time_format_iso8601(ns, buf, sizeof(buf));
    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(buf, want);
}

static void test_format(void **state)
{
    check_format(0, "1970-01-01T00:00:00Z");
    check_format(NS(1714566896), "2024-05-01T12:34:56Z");
    check_format(NS(1714566896) + 100000000, "2024-05-01T12:34:56.100Z");
    check_format(NS(1714566896) + 120000, "2024-05-01T12:34:56.000120Z");
    check_format(NS(1714566896) + 123456000, "2024-05-01T12:34:56.123456Z");
    check_format(NS(1714566896) + 100000001, "2024-05-01T12:34:56.100000001Z");
    check_format(NS(1714566896) + 1, "2024-05-01T12:34:56.000000001Z");
    check_format(NS(-1), "1969-12-31T23:59:59Z");
    check_format(-1, "1969-12-31T23:59:59.999999999Z");
    check_format(NS(-1) + 500000000, "1969-12-31T23:59:59.500Z");
    check_format(NS(951782400), "2000-02-29T00:00:00Z");
    check_format(NS(-2203891200), "1900-03-01T00:00:00Z");
    check_format(INT64_MAX, "2262-04-11T23:47:16.854775807Z");
    check_format(INT64_MIN, "1677-09-21T00:12:43.145224192Z");

    /* buffer bounds: exact fit needs room for the NUL */
    char buf[21];
    assert_int_equal(cj_time_format_iso8601(0, buf, 21), 20);
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(cj_time_format_iso8601(0, buf, 20), -ENOBUFS);
    assert_int_equal(buf[0], 'x');
    assert_int_equal(cj_time_format_iso8601(0, buf, 0), -ENOBUFS);
    assert_int_equal(cj_time_format_iso8601(0, NULL, 0), -ENOBUFS);
}

/* format then parse is the identity over the whole range, at every precision */
static void test_round_trip(void **state)
{
    static const int64_t fixed[] = {0,
                                    1,
                                    -1,
                                    999,
                                    1000,
                                    1000000,
                                    NS(1714566896) + 123456789,
                                    NS(951782400) - 1,
                                    NS(-2203891200) + 7,
                                    INT64_MAX,
                                    INT64_MIN,
                                    INT64_MAX - 999999999,
                                    INT64_MIN + 999999999};
    char buf[CJ_ISO8601_MAX];
    int64_t back;

    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        assert_true(cj_time_format_iso8601(fixed[i], buf, sizeof(buf)) > 0);
        assert_int_equal(parse(buf, &back), 0);
        assert_int_equal(back, fixed[i]);
    }

    /* a deterministic walk through the range (xorshift), bounded in count */
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t ns = (int64_t)x;
        if (i % 3 == 1)
            ns -= ns % CJ_NSEC_PER_SEC; /* whole seconds */
        else if (i % 3 == 2)
            ns -= ns % 1000000; /* milliseconds */
        int n = cj_time_format_iso8601(ns, buf, sizeof(buf));
        assert_true(n > 0 && n < CJ_ISO8601_MAX);
        assert_int_equal(parse(buf, &back), 0);
        assert_int_equal(back, ns);
    }

    /* every day of 1899..2101 round-trips through the calendar */
    int64_t start;
    assert_int_equal(parse("1899-01-01", &start), 0);
    for (int d = 0; d < 203 * 366; d++) {
        int64_t ns = start + NS((int64_t)d * 86400);
        assert_true(cj_time_format_iso8601(ns, buf, sizeof(buf)) > 0);
        buf[10] = '\0';
        assert_int_equal(parse(buf, &back), 0);
        assert_int_equal(back, ns);
    }
}

static void test_leap_years(void **state)
{
    int64_t a, b;
    /* 2000 is a leap year (divisible by 400), 1900 is not, 2024 is */
    assert_int_equal(parse("2000-02-29", &a), 0);
    assert_int_equal(parse("2000-03-01", &b), 0);
    assert_int_equal(b - a, NS(86400));
    assert_int_equal(parse("1900-02-28", &a), 0);
    assert_int_equal(parse("1900-03-01", &b), 0);
    assert_int_equal(b - a, NS(86400));
    assert_int_equal(parse("1900-02-29", &a), -EINVAL);
    assert_int_equal(parse("2024-02-29", &a), 0);
    assert_int_equal(parse("2025-02-28", &b), 0);
    assert_int_equal(b - a, NS(365 * 86400));
    assert_int_equal(parse("2024-01-01", &a), 0);
    assert_int_equal(parse("2025-01-01", &b), 0);
    assert_int_equal(b - a, NS(366 * 86400));
    assert_int_equal(parse("2023-01-01", &a), 0);
    assert_int_equal(parse("2024-01-01", &b), 0);
    assert_int_equal(b - a, NS(365 * 86400));
}

static void test_relative(void **state)
{
    const int64_t now = NS(1714566896) + 5;
    int64_t ns;

    assert_int_equal(cj_time_parse_relative("45s", now, &ns), 0);
    assert_int_equal(ns, now - NS(45));
    assert_int_equal(cj_time_parse_relative("30m", now, &ns), 0);
    assert_int_equal(ns, now - NS(1800));
    assert_int_equal(cj_time_parse_relative("12h", now, &ns), 0);
    assert_int_equal(ns, now - NS(12 * 3600));
    assert_int_equal(cj_time_parse_relative("7d", now, &ns), 0);
    assert_int_equal(ns, now - NS(7 * 86400));
    assert_int_equal(cj_time_parse_relative("2w", now, &ns), 0);
    assert_int_equal(ns, now - NS(14 * 86400));
    assert_int_equal(cj_time_parse_relative("1s", INT64_MIN + NS(1), &ns), 0);
    assert_int_equal(ns, INT64_MIN);

    static const char *const bad[] = {"",   "d",  "0d",  "-7d", "+7d",  "7",   "7 d",  " 7d",
                                      "7D", "7y", "7dd", "7ms", "1.5h", "7d ", "0x7d", "7e1d"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ns = 42;
        assert_int_equal(cj_time_parse_relative(bad[i], now, &ns), -EINVAL);
        assert_int_equal(ns, 42);
    }
    assert_int_equal(cj_time_parse_relative("1s", INT64_MIN, &ns), -ERANGE);
    assert_int_equal(cj_time_parse_relative("100000w", now, &ns), -ERANGE);
    assert_int_equal(cj_time_parse_relative("9223372036854775807s", now, &ns), -ERANGE);
    assert_int_equal(cj_time_parse_relative("99999999999999999999999d", now, &ns), -ERANGE);
    assert_int_equal(cj_time_parse_relative("99999999999999999999999x", now, &ns), -EINVAL);
    assert_int_equal(cj_time_parse_relative(NULL, now, &ns), -EINVAL);
}

static void test_user(void **state)
{
    const int64_t now = NS(1714566896);
    int64_t ns;

    assert_int_equal(cj_time_parse_user("2024-05-01T00:00:00Z", now, &ns), 0);
    assert_int_equal(ns, NS(1714521600));
    assert_int_equal(cj_time_parse_user("2024-05-01", now, &ns), 0);
    assert_int_equal(ns, NS(1714521600));
    assert_int_equal(cj_time_parse_user("7d", now, &ns), 0);
    assert_int_equal(ns, now - NS(7 * 86400));
    assert_int_equal(cj_time_parse_user("yesterday", now, &ns), -EINVAL);
    assert_int_equal(cj_time_parse_user("2024-02-30", now, &ns), -EINVAL);
    assert_int_equal(cj_time_parse_user("3000-01-01", now, &ns), -ERANGE);
    assert_int_equal(cj_time_parse_user("999999999d", now, &ns), -ERANGE);
    assert_int_equal(cj_time_parse_user("", now, &ns), -EINVAL);
}

static void test_duration(void **state)
{
    static const struct {
        const char *s;
        uint64_t usec;
    } good[] = {
        {"0", 0},
        {"0s", 0},
        {"60", 60000000},
        {"60s", 60000000},
        {"1500ms", 1500000},
        {"1ms", 1000},
        {"15m", 900000000},
        {"2h", 7200000000},
        {"1d", 86400000000},
        {"007s", 7000000},
        {"18446744073709", 18446744073709000000u}, /* largest whole-second value */
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        uint64_t v = 42;
        assert_int_equal(cj_duration_parse(good[i].s, &v), 0);
        assert_int_equal(v, good[i].usec);
    }
    uint64_t v = 42;
    static const char *const bad[] = {"",   "s",    "-1s", "+1s", "1 s", " 1s",  "1s ",  "1.5s",
                                      "1S", "1sec", "1w",  "1us", "1M",  "1ms2", "0x10", "1hm"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(cj_duration_parse(bad[i], &v), -EINVAL);
        assert_int_equal(v, 42);
    }
    assert_int_equal(cj_duration_parse("18446744073710", &v), -ERANGE);
    assert_int_equal(cj_duration_parse("18446744073709551615ms", &v), -ERANGE);
    assert_int_equal(cj_duration_parse("99999999999999999999999s", &v), -ERANGE);
    assert_int_equal(cj_duration_parse("213503983d", &v), -ERANGE);
    assert_int_equal(cj_duration_parse(NULL, &v), -EINVAL);
    assert_int_equal(v, 42);
}

static void test_size(void **state)
{
    static const struct {
        const char *s;
        uint64_t bytes;
    } good[] = {
        {"0", 0},
        {"4096", 4096},
        {"4096B", 4096},
        {"1K", 1024},
        {"1KB", 1024},
        {"1KiB", 1024},
        {"10M", 10485760},
        {"4G", UINT64_C(4294967296)},
        {"4GiB", UINT64_C(4294967296)},
        {"2T", UINT64_C(2199023255552)},
        {"16777215T", UINT64_C(16777215) << 40},
        {"18446744073709551615", UINT64_MAX},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        uint64_t v = 42;
        assert_int_equal(cj_size_parse(good[i].s, &v), 0);
        assert_int_equal(v, good[i].bytes);
    }
    uint64_t v = 42;
    static const char *const bad[] = {"",   "G",   "-1G",  "+1G", "1 G", "1.5G", "1g", "1P",
                                      "1E", "1Gb", "1GB ", "1iB", "1KK", "1BB",  "G1", "0x1K"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(cj_size_parse(bad[i], &v), -EINVAL);
        assert_int_equal(v, 42);
    }
    assert_int_equal(cj_size_parse("16777216T", &v), -ERANGE);
    assert_int_equal(cj_size_parse("18446744073709551616", &v), -ERANGE);
    assert_int_equal(cj_size_parse("17179869184G", &v), -ERANGE);
    assert_int_equal(cj_size_parse(NULL, &v), -EINVAL);
    assert_int_equal(v, 42);
}

static void test_now(void **state)
{
    int64_t a = cj_now_ns(), b = cj_now_ns();
    assert_true(a > NS(1704067200)); /* after 2024-01-01: the clock is set */
    assert_true(b >= a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iso_valid),  cmocka_unit_test(test_iso_invalid),
        cmocka_unit_test(test_iso_range),  cmocka_unit_test(test_format),
        cmocka_unit_test(test_round_trip), cmocka_unit_test(test_leap_years),
        cmocka_unit_test(test_relative),   cmocka_unit_test(test_user),
        cmocka_unit_test(test_duration),   cmocka_unit_test(test_size),
        cmocka_unit_test(test_now),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
