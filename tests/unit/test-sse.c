/* SPDX-License-Identifier: MIT */
/* Server-Sent Events framing of the change feed: choosing it from Accept, reading the
 * Last-Event-ID a reconnecting EventSource sends, and the exact bytes of events, gaps and
 * heartbeats, parsed back the way the WHATWG event-stream algorithm reads them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"

static void test_accepts(void **state)
{
    (void)state;
    assert_true(api_sse_accepts("text/event-stream"));
    assert_true(api_sse_accepts("Text/Event-Stream"));
    assert_true(api_sse_accepts("application/json, text/event-stream;q=0.5"));
    assert_true(api_sse_accepts(" text/event-stream ; charset=utf-8"));
    assert_true(api_sse_accepts("text/event-stream;q=1"));
    assert_true(api_sse_accepts("text/event-stream;q=0.001"));

    assert_false(api_sse_accepts(NULL));
    assert_false(api_sse_accepts(""));
    assert_false(api_sse_accepts("*/*"));
    assert_false(api_sse_accepts("application/x-ndjson"));
    assert_false(api_sse_accepts("text/event-streams"));
    assert_false(api_sse_accepts("text/event"));
    assert_false(api_sse_accepts("text/event-stream;q=0"));
    assert_false(api_sse_accepts("text/event-stream; q=0.000"));
    assert_false(api_sse_accepts("application/json;x=text/event-stream"));
}

#define SID "0123456789abcdef0123456789abcdef"

static void expect_id(const char *v, uint64_t want)
{
    struct api_event_pos got = {.seq = 12345};
    if (api_sse_parse_last_event_id(v, &got) != 0)
        fail_msg("Last-Event-ID '%s' refused", v);
    assert_int_equal(got.seq, want);
    assert_false(got.has_store);
}

static void expect_store_id(const char *v, const char *store, uint64_t want)
{
    struct api_event_pos got = {.seq = 12345};
    if (api_sse_parse_last_event_id(v, &got) != 0)
        fail_msg("Last-Event-ID '%s' refused", v);
    assert_int_equal(got.seq, want);
    assert_true(got.has_store);
    assert_string_equal(got.store, store);
}

static void expect_bad_id(const char *v)
{
    struct api_event_pos got = {.seq = 12345};
    if (api_sse_parse_last_event_id(v, &got) != -EINVAL)
        fail_msg("Last-Event-ID '%s' accepted", v ? v : "(null)");
    assert_int_equal(got.seq, 12345); /* untouched */
    assert_false(got.has_store);
}

static void test_last_event_id(void **state)
{
    (void)state;
    expect_id("0", 0);
    expect_id("1", 1);
    expect_id("42", 42);
    expect_id(" 42 ", 42);
    expect_id("000017", 17);
    expect_id("18446744073709551614", UINT64_MAX - 1);

    expect_bad_id(NULL);
    expect_bad_id("");
    expect_bad_id("   ");
    expect_bad_id("-1");
    expect_bad_id("+1");
    expect_bad_id("1.5");
    expect_bad_id("0x10");
    expect_bad_id("12abc");
    expect_bad_id("1 2");
    expect_bad_id("18446744073709551615"); /* UINT64_MAX: no event has it */
    expect_bad_id("18446744073709551616"); /* overflows */
    expect_bad_id("99999999999999999999");
    expect_bad_id("000000000000000000001"); /* 21 digits */
    assert_int_equal(api_sse_parse_last_event_id("1", NULL), -EINVAL);

    /* STOREID-SEQ: exactly 32 lower-case hex digits, a '-', the seq. */
    expect_store_id(SID "-0", SID, 0);
    expect_store_id(" " SID "-42 ", SID, 42);
    expect_store_id(SID "-18446744073709551614", SID, UINT64_MAX - 1);
    expect_bad_id(SID "-");
    expect_bad_id(SID);
    expect_bad_id(SID "-18446744073709551615");
    expect_bad_id(SID "--1");
    expect_bad_id(SID "- 1");
    expect_bad_id("0123456789ABCDEF0123456789abcdef-1");  /* upper case */
    expect_bad_id("0123456789abcdef0123456789abcde-1");   /* 31 digits */
    expect_bad_id("0123456789abcdef0123456789abcdef0-1"); /* 33 */
    expect_bad_id("0123456789abcdef0123456789abcdeg-1");
    expect_bad_id("-1" SID);

    /* ?after= takes the same forms, without spaces. */
    struct api_event_pos p = {0};
    assert_int_equal(api_event_pos_parse(SID "-7", false, &p), 0);
    assert_true(p.has_store && p.seq == 7);
    assert_int_equal(api_event_pos_parse("7", false, &p), 0);
    assert_true(!p.has_store && p.seq == 7);
    assert_int_equal(api_event_pos_parse(" 7", false, &p), -EINVAL);
    assert_int_equal(api_event_pos_parse(SID "-7 ", false, &p), -EINVAL);
}

/* The event-stream parser of the HTML standard, for the fields this feed uses: the
 * dispatched events of a buffer, as "type|id|data" lines (id as last set). */
static void sse_parse(const char *in, char *out, size_t outsz, unsigned *retry)
{
    char type[64] = "", data[4096] = "", id[64] = "";
    bool have_data = false;
    size_t used = 0;

    out[0] = '\0';
    for (const char *line = in; *line;) {
        const char *nl = strchr(line, '\n');
        assert_non_null(nl); /* every block ends with a newline */
        size_t len = (size_t)(nl - line);
        char buf[4096];
        assert_true(len < sizeof(buf));
        memcpy(buf, line, len);
        buf[len] = '\0';
        line = nl + 1;

        if (len == 0) { /* dispatch */
            if (have_data) {
                int n = snprintf(out + used, outsz - used, "%s|%s|%s\n", type[0] ? type : "message",
                                 id, data);
                assert_true(n > 0 && (size_t)n < outsz - used);
                used += (size_t)n;
            }
            type[0] = data[0] = '\0';
            have_data = false;
            continue;
        }
        if (buf[0] == ':')
            continue; /* comment */
        char *colon = strchr(buf, ':');
        const char *value = "";
        if (colon) {
            *colon = '\0';
            value = colon[1] == ' ' ? colon + 2 : colon + 1;
        }
        if (strcmp(buf, "event") == 0)
            snprintf(type, sizeof(type), "%s", value);
        else if (strcmp(buf, "id") == 0)
            snprintf(id, sizeof(id), "%s", value);
        else if (strcmp(buf, "data") == 0) {
            assert_false(have_data); /* one data line per event */
            snprintf(data, sizeof(data), "%s", value);
            have_data = true;
        } else if (strcmp(buf, "retry") == 0)
            *retry = (unsigned)strtoul(value, NULL, 10);
        else
            fail_msg("unknown field %s", buf);
    }
}

static void test_framing(void **state)
{
    (void)state;
    struct cj_buf b = {0};
    char out[8192];
    unsigned retry = 0;

    assert_int_equal(api_sse_append_open(&b, SID, 6, false), 0);
    static const char job1[] = "{\"jobArn\":\"arn:a\",\"status\":\"InProgress\"}";
    assert_int_equal(api_sse_append_event(&b, SID, 7, "created", job1, strlen(job1)), 0);
    assert_int_equal(api_sse_append_heartbeat(&b), 0);
    assert_int_equal(api_sse_append_gap(&b, 7, 12), 0);
    /* A raw newline outside strings must not split the data line. */
    static const char job2[] = "{\"jobArn\":\"arn:b\",\n\"status\":\r\"Failed\"}";
    assert_int_equal(api_sse_append_event(&b, SID, 12, "updated", job2, strlen(job2)), 0);
    assert_int_equal(api_sse_append_event(&b, "", 13, "removed", "{}", 2), 0);

    assert_string_equal(b.data,
                        "retry: 2000\n\n"
                        "id: " SID "-7\nevent: created\n"
                        "data: {\"seq\":7,\"id\":\"" SID "-7\",\"type\":\"created\",\"job\":"
                        "{\"jobArn\":\"arn:a\",\"status\":\"InProgress\"}}\n\n"
                        ": heartbeat\n\n"
                        "event: gap\ndata: {\"type\":\"gap\",\"after\":7,\"firstSeq\":12}\n\n"
                        "id: " SID "-12\nevent: updated\n"
                        "data: {\"seq\":12,\"id\":\"" SID "-12\",\"type\":\"updated\",\"job\":"
                        "{\"jobArn\":\"arn:b\", \"status\": \"Failed\"}}\n\n"
                        "id: 13\nevent: removed\n"
                        "data: {\"seq\":13,\"id\":\"13\",\"type\":\"removed\",\"job\":{}}\n\n");

    sse_parse(b.data, out, sizeof(out), &retry);
    assert_int_equal(retry, CJ_SSE_RETRY_MS);
    /* The gap carries no id: Last-Event-ID stays 7 until event 12 arrives. */
    assert_string_equal(out,
                        "created|" SID "-7|{\"seq\":7,\"id\":\"" SID
                        "-7\",\"type\":\"created\",\"job\":{\"jobArn\":\"arn:a\","
                        "\"status\":\"InProgress\"}}\n"
                        "gap|" SID "-7|{\"type\":\"gap\",\"after\":7,\"firstSeq\":12}\n"
                        "updated|" SID "-12|{\"seq\":12,\"id\":\"" SID
                        "-12\",\"type\":\"updated\",\"job\":{\"jobArn\":"
                        "\"arn:b\", \"status\": \"Failed\"}}\n"
                        "removed|13|{\"seq\":13,\"id\":\"13\",\"type\":\"removed\",\"job\":{}}\n");
    cj_buf_free(&b);
}

/* The id the stream last set is what the browser sends back; it parses to that seq. */
/* The opening block's id dispatches nothing but is what a reconnect sends back. */
static void test_open_sets_id(void **state)
{
    (void)state;
    struct cj_buf b = {0};
    struct api_event_pos pos = {0};

    assert_int_equal(api_sse_append_open(&b, SID, 41, true), 0);
    assert_string_equal(b.data, "retry: 2000\nid: " SID "-41\n\n");
    assert_int_equal(api_sse_parse_last_event_id(SID "-41", &pos), 0);
    assert_int_equal(pos.seq, 41);
    assert_string_equal(pos.store, SID);
    char out[256];
    unsigned retry = 0;
    sse_parse(b.data, out, sizeof(out), &retry);
    assert_string_equal(out, "");
    assert_int_equal(retry, 2000);
    cj_buf_free(&b);
}

static void test_resume_roundtrip(void **state)
{
    (void)state;
    struct cj_buf b = {0};
    char out[1024];
    unsigned retry = 0;
    struct api_event_pos pos = {0};

    assert_int_equal(api_sse_append_event(&b, SID, UINT64_MAX - 1, "created", "{}", 2), 0);
    sse_parse(b.data, out, sizeof(out), &retry);
    const char *id = strchr(out, '|') + 1;
    char idbuf[64];
    snprintf(idbuf, sizeof(idbuf), "%.*s", (int)strcspn(id, "|"), id);
    assert_int_equal(api_sse_parse_last_event_id(idbuf, &pos), 0);
    assert_int_equal(pos.seq, UINT64_MAX - 1);
    assert_true(pos.has_store);
    assert_string_equal(pos.store, SID);
    cj_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts),          cmocka_unit_test(test_last_event_id),
        cmocka_unit_test(test_framing),          cmocka_unit_test(test_open_sets_id),
        cmocka_unit_test(test_resume_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
