/* SPDX-License-Identifier: MIT */
/* daemon/common/log.c: the plain stderr lines, the "<N>" lines when stderr is the journal's stream,
 * and the journald native-protocol entries with structured fields, read from a real
 * datagram socket standing in for /run/systemd/journal/socket. */
#include "test-journal-util.h"

static void test_plain_lines(void **state)
{
    struct fixture *f = *state;

    errno = 0;
    log_info("hello %d", 5);
    log_debug("not shown at the default level");
    assert_int_equal(log_error_errno(EIO, "reading: %m"), -EIO);
    assert_int_equal(log_warning_errno(-ENOENT, "gone: %m"), -ENOENT);
    assert_int_equal(errno, 0); /* logging leaves errno alone */
    assert_string_equal(read_stderr(f), "copyjobd[info]: hello 5\n"
                                        "copyjobd[error]: reading: Input/output error\n"
                                        "copyjobd[warn]: gone: No such file or directory\n");

    struct journal_entry e;
    assert_int_equal(receive_entry(f, &e), -EAGAIN);
}

static void test_debug_lines_name_the_source(void **state)
{
    struct fixture *f = *state;
    cj_log_set_max_level(LOG_DEBUG);
    log_debug("detail");
    assert_non_null(strstr(read_stderr(f), "copyjobd[debug] "));
    assert_non_null(strstr(read_stderr(f), "test-log.c:"));
    assert_non_null(strstr(read_stderr(f), ": detail\n"));
}

static void test_struct_falls_back_to_the_message(void **state)
{
    struct fixture *f = *state;
    log_struct(LOG_NOTICE, CJ_LOG_FIELDS(CJ_LOG_NUM("JOB_COUNT", 12)), "counted %d", 12);
    assert_string_equal(read_stderr(f), "copyjobd[notice]: counted 12\n");
}

/* A JOURNAL_STREAM inherited by a process whose stderr went elsewhere is not the journal. */
static void test_journal_stream_must_match_stderr(void **state)
{
    struct fixture *f = *state;
    set_journal_stream(f, 1);
    log_info("to the file");
    setenv("JOURNAL_STREAM", "garbage", 1);
    cj_log_reset_target(f->sock_path);
    log_info("still the file");
    assert_string_equal(read_stderr(f),
                        "copyjobd[info]: to the file\ncopyjobd[info]: still the file\n");
    struct journal_entry e;
    assert_int_equal(receive_entry(f, &e), -EAGAIN);
}

static void test_journal_entry_with_fields(void **state)
{
    struct fixture *f = *state;
    struct journal_entry e;

    set_journal_stream(f, 0);
    assert_int_equal(log_struct_errno(LOG_ERR, EPIPE,
                                      CJ_LOG_FIELDS(CJ_LOG_NUM("JOB_COUNT", 12345),
                                                    CJ_LOG_STR("SYNC_KIND", "full"),
                                                    CJ_LOG_STR("bad key", "dropped"),
                                                    CJ_LOG_STR("ERROR_TYPE", NULL)),
                                      "line one\nline two: %m"),
                     -EPIPE);
    assert_int_equal(receive_entry(f, &e), 0);
    assert_string_equal(field(&e, "MESSAGE"), "line one\nline two: Broken pipe");
    assert_string_equal(field(&e, "PRIORITY"), "3");
    assert_string_equal(field(&e, "ERRNO"), "32");
    assert_string_equal(field(&e, "JOB_COUNT"), "12345");
    assert_string_equal(field(&e, "SYNC_KIND"), "full");
    assert_string_equal(field(&e, "ERROR_TYPE"), "");
    assert_null(field(&e, "bad key"));
    assert_non_null(strstr(field(&e, "CODE_FILE"), "test-log.c"));
    assert_string_equal(field(&e, "CODE_FUNC"), "test_journal_entry_with_fields");
    assert_non_null(field(&e, "SYSLOG_IDENTIFIER"));

    log_info("plain %s", "too");
    assert_int_equal(receive_entry(f, &e), 0);
    assert_string_equal(field(&e, "MESSAGE"), "plain too");
    assert_string_equal(field(&e, "PRIORITY"), "6");
    assert_null(field(&e, "ERRNO"));

    assert_string_equal(read_stderr(f), ""); /* nothing doubled on the stream */
}

static void test_journal_away_gives_priority_lines(void **state)
{
    struct fixture *f = *state;
    char missing[160];

    set_journal_stream(f, 0);
    snprintf(missing, sizeof(missing), "%s/no-such-socket", f->dir);
    cj_log_reset_target(missing);
    log_warning("journald is away");
    log_struct(LOG_INFO, CJ_LOG_FIELDS(CJ_LOG_NUM("JOB_COUNT", 1)), "one job");
    assert_string_equal(read_stderr(f), "<4>journald is away\n<6>one job\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_plain_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_debug_lines_name_the_source, setup, teardown),
        cmocka_unit_test_setup_teardown(test_struct_falls_back_to_the_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_stream_must_match_stderr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_entry_with_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_away_gives_priority_lines, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
