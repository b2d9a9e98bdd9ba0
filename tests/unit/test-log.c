/* SPDX-License-Identifier: MIT */
/* daemon/common/log.c: the plain stderr lines, the "<N>" lines when stderr is the journal's stream,
 * and the journald native-protocol entries with structured fields, read from a real
 * datagram socket standing in for /run/systemd/journal/socket. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

struct fixture {
    char dir[64];
    char err_path[128];
    char sock_path[128];
    int saved_stderr;
    int err_fd;
    int sock_fd;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/cj-test-log-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->err_path, sizeof(f->err_path), "%s/stderr", f->dir);
    snprintf(f->sock_path, sizeof(f->sock_path), "%s/journal.sock", f->dir);

    f->err_fd = open(f->err_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(f->err_fd >= 0);
    fflush(stderr);
    f->saved_stderr = dup(STDERR_FILENO);
    assert_true(f->saved_stderr >= 0);
    assert_int_equal(dup2(f->err_fd, STDERR_FILENO), STDERR_FILENO);

    f->sock_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    assert_true(f->sock_fd >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, f->sock_path);
    assert_int_equal(bind(f->sock_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);

    unsetenv("JOURNAL_STREAM");
    cj_log_set_max_level(LOG_INFO);
    cj_log_reset_target(f->sock_path);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    fflush(stderr);
    dup2(f->saved_stderr, STDERR_FILENO);
    close(f->saved_stderr);
    close(f->err_fd);
    close(f->sock_fd);
    unlink(f->err_path);
    unlink(f->sock_path);
    rmdir(f->dir);
    unsetenv("JOURNAL_STREAM");
    cj_log_reset_target(NULL);
    free(f);
    return 0;
}

/* Everything written to the redirected stderr so far. */
static char *read_stderr(struct fixture *f)
{
    static char buf[16384];
    fflush(stderr);
    ssize_t n = pread(f->err_fd, buf, sizeof(buf) - 1, 0);
    assert_true(n >= 0);
    buf[n] = '\0';
    return buf;
}

static void set_journal_stream(struct fixture *f, int ino_delta)
{
    struct stat st;
    char v[64];
    assert_int_equal(fstat(STDERR_FILENO, &st), 0);
    snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino + (unsigned long long)ino_delta);
    setenv("JOURNAL_STREAM", v, 1);
    cj_log_reset_target(f->sock_path);
}

struct journal_entry {
    char keys[32][65];
    char values[32][2048];
    size_t n;
};

/* Parses one native-protocol datagram: KEY=value lines and the binary KEY\n<le64>value\n. */
static void parse_entry(const char *p, size_t len, struct journal_entry *e)
{
    const char *end = p + len;
    e->n = 0;
    while (p < end) {
        assert_true(e->n < 32);
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eq = memchr(p, '=', (size_t)(end - p));
        assert_non_null(nl);
        if (eq && eq < nl) {
            snprintf(e->keys[e->n], sizeof(e->keys[0]), "%.*s", (int)(eq - p), p);
            snprintf(e->values[e->n], sizeof(e->values[0]), "%.*s", (int)(nl - eq - 1), eq + 1);
            p = nl + 1;
        } else {
            uint64_t le;
            snprintf(e->keys[e->n], sizeof(e->keys[0]), "%.*s", (int)(nl - p), p);
            assert_true(nl + 1 + 8 <= end);
            memcpy(&le, nl + 1, 8);
            size_t vlen = (size_t)le64toh(le);
            const char *v = nl + 1 + 8;
            assert_true(v + vlen + 1 <= end);
            assert_int_equal(v[vlen], '\n');
            snprintf(e->values[e->n], sizeof(e->values[0]), "%.*s", (int)vlen, v);
            p = v + vlen + 1;
        }
        e->n++;
    }
}

static const char *field(const struct journal_entry *e, const char *key)
{
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(e->keys[i], key) == 0)
            return e->values[i];
    return NULL;
}

static int receive_entry(struct fixture *f, struct journal_entry *e)
{
    static char buf[16384];
    ssize_t n = recv(f->sock_fd, buf, sizeof(buf), 0);
    if (n < 0)
        return -errno;
    parse_entry(buf, (size_t)n, e);
    return 0;
}

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

static void test_sync_finished_ok(void **state)
{
    struct fixture *f = *state;
    struct journal_entry e;
    struct cj_log_sync_result r = {
        .kind = "quick",
        .jobs = 12345,
        .requests = 13,
        .pages = 13,
        .duration_usec = 2500000,
        .created = 3,
        .updated = 2,
        .removed = 1,
    };

    cj_log_sync_finished(&r);
    assert_string_equal(read_stderr(f), "copyjobd[info]: sync: quick pass ok: 12345 jobs (3 "
                                        "created, 2 updated, 1 removed) in 2500 ms, 13 requests\n");

    set_journal_stream(f, 0);
    cj_log_sync_finished(&r);
    assert_int_equal(receive_entry(f, &e), 0);
    assert_string_equal(field(&e, "MESSAGE_ID"), CJ_LOG_MESSAGE_SYNC_OK);
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

static void test_sync_finished_failed(void **state)
{
    struct fixture *f = *state;
    struct journal_entry e;
    struct cj_log_sync_result r = {
        .kind = "full",
        .result = -EPROTO,
        .requests = 4,
        .pages = 3,
        .skipped = 0,
        .duration_usec = 1000,
        .error_type = "ThrottlingException",
        .error_message = "Rate exceeded",
    };

    cj_log_sync_finished(&r);
    assert_string_equal(read_stderr(f),
                        "copyjobd[warn]: sync: full pass failed after 4 requests (3 pages kept, "
                        "nothing removed): ThrottlingException: Rate exceeded\n");

    set_journal_stream(f, 0);
    cj_log_sync_finished(&r);
    assert_int_equal(receive_entry(f, &e), 0);
    assert_string_equal(field(&e, "MESSAGE_ID"), CJ_LOG_MESSAGE_SYNC_FAILED);
    assert_string_equal(field(&e, "SYNC_RESULT"), "failed");
    assert_string_equal(field(&e, "ERROR_TYPE"), "ThrottlingException");
    assert_string_equal(field(&e, "ERRNO"), "71");
    assert_string_equal(field(&e, "PRIORITY"), "4");
    assert_string_equal(field(&e, "PAGES"), "3");
}

static void test_sync_finished_skipped_warns(void **state)
{
    struct fixture *f = *state;
    struct cj_log_sync_result r = {.kind = "full", .jobs = 10, .skipped = 2};
    cj_log_sync_finished(&r);
    assert_non_null(strstr(read_stderr(f), "copyjobd[warn]: sync: 2 invalid job summaries were "
                                           "skipped (not stored)\n"));
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
        cmocka_unit_test_setup_teardown(test_sync_finished_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_finished_failed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_finished_skipped_warns, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
