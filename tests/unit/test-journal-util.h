/* SPDX-License-Identifier: MIT */
/* For the tests of log lines: stderr redirected to a file, and a real datagram socket
 * standing in for /run/systemd/journal/socket, whose native-protocol entries are parsed back
 * into fields. setup/teardown are cmocka fixtures; state is a struct fixture. */
#pragma once

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
