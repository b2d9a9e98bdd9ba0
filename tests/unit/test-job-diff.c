/* SPDX-License-Identifier: MIT */
/* cj_page_parse (streaming) against cj_page_parse_reference (jansson): the test pages, the
 * fuzz seeds, and seeded random pages (escapes, Unicode, tags, members missing, null, of
 * the wrong type or invalid, unknown members, duplicates) with mutations of each, must all
 * give the same results, reasons, stored bytes and log lines; and each body read as one
 * GetModelCopyJob answer, cj_job_parse against cj_job_parse_reference. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../page-diff.h"
#include "cj-buf.h"
#include "cj-util.h"
#include "job.h"
#include "log.h"

static int log_fd = -1;
static size_t n_checked, n_accepted, n_jobs_accepted;

static void check_same(const char *body, size_t len)
{
    static const size_t errlens[] = {256, 40};
    for (size_t e = 0; e < ELEMENTSOF(errlens); e++) {
        struct page_run a, b;
        page_run(cj_page_parse, body, len, errlens[e], log_fd, &a);
        page_run(cj_page_parse_reference, body, len, errlens[e], log_fd, &b);
        const char *what = page_runs_differ(&a, &b, errlens[e]);
        if (what) {
            fprintf(stderr, "differ in %s: %d/%d \"%s\" / \"%s\"\nbody (%zu bytes): %.*s\n", what,
                    a.r, b.r, a.err, b.err, len, (int)(len < 4000 ? len : 4000), body);
            fprintf(stderr, "log:\n%s---\n%s\n", a.log, b.log);
            fail_msg("cj_page_parse and cj_page_parse_reference differ");
        }
        if (e == 0) {
            n_checked++;
            n_accepted += a.r == 0;
        }
        page_run_done(&a);
        page_run_done(&b);

        struct job_run x, y;
        job_run(cj_job_parse, body, len, errlens[e], &x);
        job_run(cj_job_parse_reference, body, len, errlens[e], &y);
        what = job_runs_differ(&x, &y, errlens[e]);
        if (what) {
            fprintf(stderr, "differ in %s: %d/%d \"%s\" / \"%s\"\nbody (%zu bytes): %.*s\n", what,
                    x.r, y.r, x.err, y.err, len, (int)(len < 4000 ? len : 4000), body);
            fail_msg("cj_job_parse and cj_job_parse_reference differ");
        }
        if (e == 0)
            n_jobs_accepted += x.r == 0;
        cj_job_done(&x.job);
        cj_job_done(&y.job);
    }
}

static void put_str(struct cj_buf *b, const char *s)
{
    assert_int_equal(cj_buf_append_str(b, s), 0);
}

static void check_dir(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *de; (de = readdir(d));) {
        if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "re");
        assert_non_null(f);
        char *buf = malloc(1 << 20);
        assert_non_null(buf);
        size_t len = fread(buf, 1, 1 << 20, f);
        fclose(f);
        check_same(buf, len);
        free(buf);
        n++;
    }
    closedir(d);
    assert_true(n > 0);
}

static void test_files(void **state)
{
    check_dir(CJ_TEST_DATA "/job", "page-");
    check_dir(CJ_TEST_DATA "/../fuzz/corpus/fuzz-job-page", "");
    check_dir(CJ_TEST_DATA "/../fuzz/corpus/fuzz-job-page-diff", "");
}

static void test_edges(void **state)
{
    static const char *const bodies[] = {
        "",
        " ",
        "{}",
        "[]",
        "null",
        "nul",
        "nullx",
        "{\"modelCopyJobSummaries\":nul}",
        "{\"modelCopyJobSummaries\":null}",
        "{\"modelCopyJobSummaries\":null,\"modelCopyJobSummaries\":null}",
        "{\"modelCopyJobSummaries\":[],\"modelCopyJob\\u0053ummaries\":[]}",
        "{\"nextToken\":\"\"}",
        "{\"nextToken\":\"a b\"}",
        "{\"nextToken\":\"a\\u0020b\"}",
        "{\"nextToken\":\"\\u00e9\"}",
        "{\"nextToken\":5}",
        "{\"nextToken\":[]}",
        "{\"next\\u0054oken\":\"x\"}",
        "{\"a\":1,\"a\":2}",
        "{\"a\":{},\"b\":{}}",
        "{\"a\":{\"x\":1},\"b\":{\"x\":1}}",
        "{\"a\":[{\"x\":1,\"y\":{\"x\":2}}],\"x\":3}",
        "{\"\\u0061\":1,\"a\":2}",
        "{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}",
        "{\"a\":\"\\ud83d\"}",
        "{\"a\":\"\\ude00\"}",
        "{\"a\":\"\\ud83d\\u0041\"}",
        "{\"a\":\"\\ud83d\\ud83d\"}",
        "{\"a\":\"\\uD83D\\uDE00\"}",
        "{\"a\":\"\\u00\"}",
        "{\"a\":\"\\x\"}",
        "{\"a\":\"\\\"}",
        "{\"a\":\"\xc0\x80\"}",
        "{\"a\":\"\xed\xa0\x80\"}",
        "{\"a\":\"\xf4\x90\x80\x80\"}",
        "{\"a\":\"\xe0\x9f\xbf\"}",
        "{\"a\":\"\xf0\x8f\xbf\xbf\"}",
        "{\"a\":\"\x7f\"}",
        "{\"a\":\"\xc3\"}",
        "{\"a\":01}",
        "{\"a\":-}",
        "{\"a\":-0}",
        "{\"a\":1.}",
        "{\"a\":.5}",
        "{\"a\":1e}",
        "{\"a\":1e+}",
        "{\"a\":1E-5}",
        "{\"a\":+1}",
        "{\"a\":9223372036854775807}",
        "{\"a\":9223372036854775808}",
        "{\"a\":-9223372036854775808}",
        "{\"a\":-9223372036854775809}",
        "{\"a\":1e308}",
        "{\"a\":1e309}",
        "{\"a\":-1e309}",
        "{\"a\":1e-400}",
        "{\"a\":true,\"b\":false,\"c\":null}",
        "{\"a\":tru}",
        "{\"a\":True}",
        "{\"a\":truefalse}",
        "{\"a\":[1,2,]}",
        "{\"a\":[,]}",
        "{\"a\" 1}",
        "{\"a\":1 \"b\":2}",
        "{1:2}",
        "\t\r\n {}\t\r\n ",
        "{}\f",
        "{}\x00",
        "\xef\xbb\xbf{}",
        "{\"modelCopyJobSummaries\":[null,1,\"s\",[],{},true]}",
        "{\"modelCopyJobSummaries\":[{\"jobArn\":5}]}",
        "{\"modelCopyJobSummaries\":[{\"jobArn\":\"\\u0001\"}]}",
        "{\"modelCopyJobSummaries\":[{\"jobArn\":\"\\u00e9x\"}]}",
        "{\"modelCopyJobSummaries\":[{\"jobArn\":null,\"jobArn\":null}]}",
        "{\"modelCopyJobSummaries\":[{\"x\":1,\"x\":1}]}",
        "{\"modelCopyJobSummaries\":[{\"x\":1}],\"x\":1}",
    };
    for (size_t i = 0; i < ELEMENTSOF(bodies); i++)
        check_same(bodies[i], strlen(bodies[i]));
    check_same("{}\0", 3);
    /* jansson loses one NUL byte after a number or literal (see job-scan.c) */
    static const struct {
        const char *s;
        size_t len;
    } nuls[] = {
        {"2\0 \t", 4},          {"2\0\0", 3},
        {"[1\0]", 4},           {"[1.5e3\0,true\0]", 14},
        {"{\"a\":null\0}", 11}, {"{\"a\":null\0\0}", 12},
        {"[tru\0e]", 7},        {"[\"a\"\0]", 6},
        {"[-\0]", 4},           {"{\"modelCopyJobSummaries\":null\0,\"nextToken\":false\0}", 50},
    };
    for (size_t i = 0; i < ELEMENTSOF(nuls); i++)
        check_same(nuls[i].s, nuls[i].len);
    check_same("{\"a\":\"\0\"}", 8);
    check_same(NULL, 0);

    /* depth: jansson allows 2048 levels of values, containers included */
    for (size_t depth = 2044; depth <= 2050; depth++)
        for (int kind = 0; kind < 3; kind++) {
            _cleanup_buf_ struct cj_buf b = {};
            put_str(&b, "{\"a\":");
            for (size_t i = 0; i < depth; i++)
                put_str(&b, kind == 1 ? "{\"k\":" : "[");
            put_str(&b, kind == 2 ? "" : "1");
            for (size_t i = 0; i < depth; i++)
                put_str(&b, kind == 1 ? "}" : "]");
            put_str(&b, "}");
            check_same(b.data, b.len);
        }
}

/* ---- generated pages ---- */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n) /* 0..n-1 */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)((rng_state >> 16) % n);
}

static void put(struct cj_buf *b, const char *s)
{
    assert_int_equal(cj_buf_append_str(b, s), 0);
}

static void ws(struct cj_buf *b)
{
    static const char *const spaces[] = {" ", "\n", "\t", "\r\n  "};
    if (rnd(8) == 0)
        put(b, spaces[rnd(ELEMENTSOF(spaces))]);
}

static void put_utf8(struct cj_buf *b, uint32_t v)
{
    char o[5] = {};
    if (v < 0x80)
        o[0] = (char)v;
    else if (v < 0x800) {
        o[0] = (char)(0xc0 | v >> 6);
        o[1] = (char)(0x80 | (v & 0x3f));
    } else if (v < 0x10000) {
        o[0] = (char)(0xe0 | v >> 12);
        o[1] = (char)(0x80 | (v >> 6 & 0x3f));
        o[2] = (char)(0x80 | (v & 0x3f));
    } else {
        o[0] = (char)(0xf0 | v >> 18);
        o[1] = (char)(0x80 | (v >> 12 & 0x3f));
        o[2] = (char)(0x80 | (v >> 6 & 0x3f));
        o[3] = (char)(0x80 | (v & 0x3f));
    }
    put(b, o);
}

/* A JSON string literal of the UTF-8 text s, with escapes chosen at random where allowed. */
static void put_string(struct cj_buf *b, const char *s)
{
    char tmp[16];
    put(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        unsigned c = *p;
        if (c < 0x80) {
            p++;
            if (c == '"' || c == '\\' || c < 0x20 || rnd(20) == 0) {
                static const char shorts[] = {
                    ['"'] = '"',  ['\\'] = '\\', ['/'] = '/',  ['\b'] = 'b',
                    ['\f'] = 'f', ['\n'] = 'n',  ['\r'] = 'r', ['\t'] = 't'};
                if (c < sizeof(shorts) && shorts[c] && rnd(3))
                    snprintf(tmp, sizeof(tmp), "\\%c", shorts[c]);
                else
                    snprintf(tmp, sizeof(tmp), rnd(2) ? "\\u%04x" : "\\u%04X", c);
                put(b, tmp);
            } else {
                tmp[0] = (char)c;
                tmp[1] = '\0';
                put(b, tmp);
            }
            continue;
        }
        /* a whole UTF-8 character */
        size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        uint32_t v = c & (0x3f >> (n - 1));
        for (size_t i = 1; i < n; i++)
            v = v << 6 | (p[i] & 0x3f);
        if (rnd(2)) {
            assert_int_equal(cj_buf_append(b, p, n), 0);
        } else if (v >= 0x10000) {
            snprintf(tmp, sizeof(tmp), "\\u%04x\\u%04x", 0xd800 + ((v - 0x10000) >> 10),
                     0xdc00 + ((v - 0x10000) & 0x3ff));
            put(b, tmp);
        } else {
            snprintf(tmp, sizeof(tmp), "\\u%04x", v);
            put(b, tmp);
        }
        p += n;
    }
    put(b, "\"");
}

static void random_text(struct cj_buf *out, size_t max)
{
    static const uint32_t chars[] = {'a',    'Z',    '0',     ' ',      '/',  '"',  '\\', '\n',
                                     '\t',   '\b',   '\f',    '\r',     0x01, 0x1f, 0x7f, 0xe9,
                                     0x2028, 0xffff, 0x1f600, 0x10ffff, '.',  ':',  '-',  '_'};
    size_t n = rnd((uint32_t)max + 1);
    for (size_t i = 0; i < n; i++)
        put_utf8(out, chars[rnd(ELEMENTSOF(chars))]);
}

static void random_scalar(struct cj_buf *b)
{
    static const char *const scalars[] = {"0",    "-1",    "1.5e3", "true", "false",
                                          "null", "\"s\"", "[]",    "{}",   "123456789012"};
    put(b, scalars[rnd(ELEMENTSOF(scalars))]);
}

/* Any value, nested up to depth more levels. */
static void random_value(struct cj_buf *b, int depth)
{
    if (depth <= 0 || rnd(3) == 0) {
        random_scalar(b);
        return;
    }
    if (rnd(2)) {
        put(b, "[");
        for (uint32_t i = 0, n = rnd(4); i < n; i++) {
            if (i)
                put(b, ",");
            random_value(b, depth - 1);
        }
        put(b, "]");
    } else {
        put(b, "{");
        for (uint32_t i = 0, n = rnd(4); i < n; i++) {
            char key[16];
            snprintf(key, sizeof(key), "k%u", rnd(6));
            if (i)
                put(b, ",");
            put_string(b, key);
            put(b, ":");
            random_value(b, depth - 1);
        }
        put(b, "}");
    }
}

/* A value for a known member: usually a good one, sometimes a bad one or another type. */
static void member_value(struct cj_buf *b, const char *const *good, size_t n_good,
                         const char *const *bad, size_t n_bad)
{
    uint32_t k = rnd(20);
    if (k < 15)
        put_string(b, good[rnd((uint32_t)n_good)]);
    else if (k < 18)
        put_string(b, bad[rnd((uint32_t)n_bad)]);
    else if (k < 19)
        put(b, "null");
    else
        random_value(b, 2);
}

static void random_tags(struct cj_buf *b)
{
    static const char *const keys[] = {"team", "cost-center/a=b+c@d:e_f.g", "k", " ", ""};
    static const char *const values[] = {"ml platform", "", "v=1", "bad\x01", "x\ty", "\xc3\xa9"};
    uint32_t k = rnd(30);
    if (k == 0) {
        random_value(b, 2);
        return;
    }
    uint32_t n = k == 1 ? 201 : k == 2 ? 200 : rnd(4);
    put(b, "[");
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            put(b, ",");
        ws(b);
        if (rnd(40) == 0) {
            random_value(b, 1);
            continue;
        }
        put(b, "{");
        bool first = true;
        uint32_t order = rnd(2);
        for (int m = 0; m < 2; m++) {
            bool is_key = (m == 0) ^ (order == 1);
            if (rnd(25) == 0)
                continue; /* missing */
            if (!first)
                put(b, ",");
            first = false;
            put_string(b, is_key ? "key" : "value");
            put(b, ":");
            if (rnd(30) == 0)
                random_value(b, 1);
            else
                put_string(b,
                           is_key ? keys[rnd(ELEMENTSOF(keys))] : values[rnd(ELEMENTSOF(values))]);
        }
        if (rnd(10) == 0) {
            if (!first)
                put(b, ",");
            put(b, "\"extra\":");
            random_value(b, 2);
        }
        put(b, "}");
    }
    put(b, "]");
}

static void random_summary(struct cj_buf *b)
{
    static const char *const job_arns[] = {
        "arn:aws:bedrock:us-east-1:123456789012:model-copy-job/abcdefgh1234",
        "arn:aws-us-gov:bedrock:us-gov-west-1:000000000001:model-copy-job/0a1b2c3d4e5f"};
    static const char *const bad_job_arns[] = {"arn:aws:bedrock:us-east-1:123456789012:job/x", "",
                                               "arn\xc3\xa9\x01"};
    static const char *const statuses[] = {"InProgress", "Completed", "Failed"};
    static const char *const bad_statuses[] = {"completed", "Completed ", ""};
    static const char *const times[] = {"2024-05-01T12:34:56.789Z", "2024-05-02T10:00:00+02:00",
                                        "2023-12-31T23:59:59.123456789Z"};
    static const char *const bad_times[] = {"2024-05-01", "2024-13-01T00:00:00Z",
                                            "3000-01-01T00:00:00Z", "yesterday"};
    static const char *const target_arns[] = {
        "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/abcdefabcdef",
        "arn:aws:bedrock:us-east-1:123456789012:custom-model/"
        "amazon.titan-text-express-v1:0:8k/a1b2c3d4e5f6"};
    static const char *const bad_arns[] = {"arn:aws:s3:::bucket", "x"};
    static const char *const names[] = {"my-copied_model1", "a", "llama-copy"};
    static const char *const bad_names[] = {"-bad", "a__b", ""};
    static const char *const accounts[] = {"123456789012", "000000000002"};
    static const char *const bad_accounts[] = {"12345", "12345678901a"};
    static const char *const source_arns[] = {"arn:aws:bedrock:us-east-1::foundation-model/a.b.c:1",
                                              "arn:aws:bedrock:us-west-2:210987654321:custom-model/"
                                              "amazon.titan-text-express-v1:0:8k/zyxwvu987654"};
    static const char *const kms[] = {
        "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"};
    static const char *const bad_kms[] = {"key"};
    enum { N_MEMBERS = 11 };
    static const char *const member_names[N_MEMBERS] = {
        "jobArn",          "status",          "creationTime",   "targetModelArn",
        "targetModelName", "sourceAccountId", "sourceModelArn", "targetModelKmsKeyArn",
        "targetModelTags", "failureMessage",  "sourceModelName"};
    static const bool optional[N_MEMBERS] = {
        [4] = true, [7] = true, [8] = true, [9] = true, [10] = true};

    int order[N_MEMBERS + 3];
    size_t n = 0;
    for (int i = 0; i < N_MEMBERS; i++)
        if (rnd(optional[i] ? 3 : 60) != 0)
            order[n++] = i;
    for (uint32_t u = rnd(3); u > 0; u--)
        order[n++] = -1; /* an unknown member */
    if (rnd(40) == 0 && n > 0) {
        int dup = order[rnd((uint32_t)n)];
        order[n++] = dup; /* a duplicate */
    }
    for (size_t i = n; i > 1; i--) {
        size_t j = rnd((uint32_t)i);
        int t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }

    put(b, "{");
    for (size_t i = 0; i < n; i++) {
        if (i)
            put(b, ",");
        ws(b);
        int m = order[i];
        if (m < 0) {
            static const char *const unknown[] = {"x", "extra", "jobarn", "tags", "\xc3\xa9"};
            put_string(b, unknown[rnd(ELEMENTSOF(unknown))]);
            put(b, ":");
            random_value(b, 3);
            continue;
        }
        put_string(b, member_names[m]);
        ws(b);
        put(b, ":");
        ws(b);
        _cleanup_buf_ struct cj_buf text = {};
        switch (m) {
        case 0:
            member_value(b, job_arns, ELEMENTSOF(job_arns), bad_job_arns, ELEMENTSOF(bad_job_arns));
            break;
        case 1:
            member_value(b, statuses, ELEMENTSOF(statuses), bad_statuses, ELEMENTSOF(bad_statuses));
            break;
        case 2:
            member_value(b, times, ELEMENTSOF(times), bad_times, ELEMENTSOF(bad_times));
            break;
        case 3:
            member_value(b, target_arns, ELEMENTSOF(target_arns), bad_arns, ELEMENTSOF(bad_arns));
            break;
        case 4:
        case 10:
            member_value(b, names, ELEMENTSOF(names), bad_names, ELEMENTSOF(bad_names));
            break;
        case 5:
            member_value(b, accounts, ELEMENTSOF(accounts), bad_accounts, ELEMENTSOF(bad_accounts));
            break;
        case 6:
            member_value(b, source_arns, ELEMENTSOF(source_arns), bad_arns, ELEMENTSOF(bad_arns));
            break;
        case 7:
            member_value(b, kms, ELEMENTSOF(kms), bad_kms, ELEMENTSOF(bad_kms));
            break;
        case 8:
            if (rnd(10) == 0)
                put(b, "null");
            else
                random_tags(b);
            break;
        case 9:
            if (rnd(10) == 0)
                random_value(b, 1);
            else {
                random_text(&text, rnd(50) == 0 ? 2100 : 40);
                put_string(b, text.data ? text.data : "");
            }
            break;
        }
        ws(b);
    }
    put(b, "}");
}

static void random_page(struct cj_buf *b)
{
    int order[5];
    size_t n = 0;
    if (rnd(10))
        order[n++] = 0; /* modelCopyJobSummaries */
    if (rnd(2))
        order[n++] = 1; /* nextToken */
    for (uint32_t u = rnd(3); u > 0; u--)
        order[n++] = 2;
    for (size_t i = n; i > 1; i--) {
        size_t j = rnd((uint32_t)i);
        int t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    ws(b);
    put(b, "{");
    for (size_t i = 0; i < n; i++) {
        if (i)
            put(b, ",");
        ws(b);
        if (order[i] == 0) {
            put_string(b, "modelCopyJobSummaries");
            put(b, ":");
            ws(b);
            if (rnd(15) == 0) {
                random_value(b, 2);
                continue;
            }
            put(b, "[");
            for (uint32_t k = 0, jobs = rnd(6); k < jobs; k++) {
                if (k)
                    put(b, ",");
                ws(b);
                if (rnd(15) == 0)
                    random_value(b, 2);
                else
                    random_summary(b);
            }
            ws(b);
            put(b, "]");
        } else if (order[i] == 1) {
            put_string(b, "nextToken");
            put(b, ":");
            uint32_t k = rnd(12);
            if (k == 0)
                random_value(b, 1);
            else if (k == 1)
                put_string(b, "with space");
            else if (k == 2)
                put_string(b, "");
            else if (k == 3) {
                _cleanup_buf_ struct cj_buf t = {};
                for (size_t j = 0; j < 2049; j++)
                    put(&t, "t");
                put_string(b, t.data);
            } else
                put_string(b, "eyJwYWdlIjoyfQ==+/xyz");
        } else {
            put_string(b, rnd(2) ? "other" : "x");
            put(b, ":");
            random_value(b, 3);
        }
        ws(b);
    }
    put(b, "}");
    ws(b);
}

/* A small edit at random: cut the body, or change, insert or delete a byte. */
static size_t mutate(char *s, size_t len, size_t cap)
{
    static const char bytes[] = {'"', '\\', '{',  '}', '[', ']', ',',    ':',    'u',    '0',
                                 'n', ' ',  '\n', 'e', '.', '-', '\x80', '\xc3', '\xff', '\0'};
    if (len == 0)
        return 0;
    size_t at = rnd((uint32_t)len);
    switch (rnd(4)) {
    case 0:
        return at;
    case 1:
        s[at] = bytes[rnd(sizeof(bytes))];
        return len;
    case 2:
        if (len + 1 > cap)
            return len;
        memmove(s + at + 1, s + at, len - at);
        s[at] = bytes[rnd(sizeof(bytes))];
        return len + 1;
    default:
        memmove(s + at, s + at + 1, len - at - 1);
        return len - 1;
    }
}

static void test_generated(void **state)
{
    rng_state = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < 3000; i++) {
        _cleanup_buf_ struct cj_buf b = {};
        random_page(&b);
        check_same(b.data, b.len);
        for (int m = 0; m < 3; m++) {
            char *copy = malloc(b.len + 8);
            assert_non_null(copy);
            memcpy(copy, b.data, b.len);
            size_t len = b.len;
            for (uint32_t k = rnd(3) + 1; k > 0; k--)
                len = mutate(copy, len, b.len + 8);
            check_same(copy, len);
            free(copy);
        }
    }
    /* the generator must reach both sides: accepted pages with jobs, and refusals */
    fprintf(stderr, "checked %zu bodies, %zu accepted\n", n_checked, n_accepted);
    assert_true(n_accepted > n_checked / 10);
    assert_true(n_accepted < n_checked);
}

/* Summaries alone: GetModelCopyJob bodies, mutated as the pages are. */
static void test_generated_jobs(void **state)
{
    rng_state = 0x2545f4914f6cdd1du;
    size_t checked = n_checked, accepted = n_jobs_accepted;
    for (int i = 0; i < 2000; i++) {
        _cleanup_buf_ struct cj_buf b = {};
        random_summary(&b);
        check_same(b.data, b.len);
        char *copy = malloc(b.len + 8);
        assert_non_null(copy);
        memcpy(copy, b.data, b.len);
        size_t len = mutate(copy, b.len, b.len + 8);
        check_same(copy, len);
        free(copy);
    }
    checked = n_checked - checked;
    accepted = n_jobs_accepted - accepted;
    fprintf(stderr, "checked %zu job bodies, %zu accepted\n", checked, accepted);
    assert_true(accepted > checked / 100); /* most random summaries break some rule */
    assert_true(accepted < checked);
}

static int setup(void **state)
{
    log_fd = page_log_fd();
    cj_log_set_max_level(LOG_WARNING);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_generated),
        cmocka_unit_test(test_generated_jobs),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
