/* SPDX-License-Identifier: MIT */
/* The entry each finished sync pass logs: its line on stderr and its journal fields. */
#include "test-journal-util.h"

#include "sync-report.h"

static void test_report_ok(void **state)
{
    struct fixture *f = *state;
    struct journal_entry e;
    struct cj_sync_report r = {
        .kind = "quick",
        .jobs = 12345,
        .requests = 13,
        .pages = 13,
        .duration_usec = 2500000,
        .created = 3,
        .updated = 2,
        .removed = 1,
    };

    sync_report_log(&r);
    assert_string_equal(read_stderr(f), "copyjobd[info]: sync: quick pass ok: 12345 jobs (3 "
                                        "created, 2 updated, 1 removed) in 2500 ms, 13 requests\n");

    set_journal_stream(f, 0);
    sync_report_log(&r);
    assert_int_equal(receive_entry(f, &e), 0);
    assert_string_equal(field(&e, "MESSAGE_ID"), CJ_SYNC_MESSAGE_OK);
    assert_string_equal(field(&e, "SYNC_KIND"), "quick");
    assert_string_equal(field(&e, "SYNC_RESULT"), "ok");
    assert_string_equal(field(&e, "JOB_COUNT"), "12345");
    assert_string_equal(field(&e, "JOBS_CREATED"), "3");
    assert_string_equal(field(&e, "JOBS_UPDATED"), "2");
    assert_string_equal(field(&e, "JOBS_REMOVED"), "1");
    assert_string_equal(field(&e, "API_REQUESTS"), "13");
    assert_string_equal(field(&e, "SYNC_DURATION_USEC"), "2500000");
    assert_string_equal(field(&e, "PRIORITY"), "6");
    assert_null(field(&e, "ERROR_TYPE"));
    assert_null(field(&e, "ERRNO"));
}

static void test_report_names_the_source(void **state)
{
    struct fixture *f = *state;
    struct journal_entry e;
    struct cj_sync_report r = {
        .source = "eu-west-1",
        .kind = "full",
        .result = -EPROTO,
        .requests = 1,
        .duration_usec = 1000,
        .error_type = "AccessDeniedException",
        .error_message = "no",
    };

    sync_report_log(&r);
    assert_string_equal(read_stderr(f),
                        "copyjobd[warn]: sync: full pass failed [eu-west-1] after 1 "
                        "requests (0 pages kept, nothing removed): "
                        "AccessDeniedException: no\n");
    set_journal_stream(f, 0);
    sync_report_log(&r);
    assert_int_equal(receive_entry(f, &e), 0);
    assert_string_equal(field(&e, "SYNC_SOURCE"), "eu-west-1");
    assert_string_equal(field(&e, "SYNC_RESULT"), "failed");

    r.result = 0;
    sync_report_log(&r);
    assert_int_equal(receive_entry(f, &e), 0);
    assert_string_equal(field(&e, "SYNC_SOURCE"), "eu-west-1");
    assert_non_null(strstr(field(&e, "MESSAGE"), "sync: full pass ok [eu-west-1]: "));
}

static void test_report_failed(void **state)
{
    struct fixture *f = *state;
    struct journal_entry e;
    struct cj_sync_report r = {
        .kind = "full",
        .result = -EPROTO,
        .requests = 4,
        .pages = 3,
        .skipped = 0,
        .duration_usec = 1000,
        .error_type = "ThrottlingException",
        .error_message = "Rate exceeded",
    };

    sync_report_log(&r);
    assert_string_equal(read_stderr(f),
                        "copyjobd[warn]: sync: full pass failed after 4 requests (3 pages kept, "
                        "nothing removed): ThrottlingException: Rate exceeded\n");

    set_journal_stream(f, 0);
    sync_report_log(&r);
    assert_int_equal(receive_entry(f, &e), 0);
    assert_string_equal(field(&e, "MESSAGE_ID"), CJ_SYNC_MESSAGE_FAILED);
    assert_string_equal(field(&e, "SYNC_RESULT"), "failed");
    assert_string_equal(field(&e, "ERROR_TYPE"), "ThrottlingException");
    assert_string_equal(field(&e, "ERRNO"), "71");
    assert_string_equal(field(&e, "PRIORITY"), "4");
    assert_string_equal(field(&e, "PAGES"), "3");
}

static void test_report_skipped_warns(void **state)
{
    struct fixture *f = *state;
    struct cj_sync_report r = {.kind = "full", .jobs = 10, .skipped = 2};
    sync_report_log(&r);
    assert_non_null(strstr(read_stderr(f), "copyjobd[warn]: sync: 2 invalid job summaries were "
                                           "skipped (not stored)\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_report_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_failed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_names_the_source, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_skipped_warns, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
