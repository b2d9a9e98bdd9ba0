/* SPDX-License-Identifier: MIT */
/* cj_secret_file_read: what it reads, the bound (by size and by what read() returns), and what
 * it refuses — missing files, directories, FIFOs — with an empty result every time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secret-file.h"
#include "test-util.h"

static char tmpdir[64];

static void write_file(const char *name, const void *content, size_t len, mode_t mode)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

static const char *path_of(const char *name)
{
    static char path[256];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    return path;
}

static void assert_empty(const struct cj_secret_file *f)
{
    assert_null(f->data);
    assert_int_equal(f->len, 0);
}

static int setup(void **state)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/cj-test-secret-file-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    test_rm_tree(tmpdir);
    return 0;
}

static void test_reads_whole_file(void **state)
{
    struct cj_secret_file f;

    write_file("key", "s3cret\n", 7, 0640);
    assert_int_equal(cj_secret_file_read(AT_FDCWD, path_of("key"), "test key", 64, &f), 0);
    assert_int_equal(f.len, 7);
    assert_memory_equal(f.data, "s3cret\n", 8); /* with its NUL */
    assert_true(S_ISREG(f.mode));
    assert_int_equal(f.mode & 07777, 0640);
    cj_secret_file_done(&f);
    assert_empty(&f);
    cj_secret_file_done(&f); /* twice is fine */

    /* NUL bytes are data: len counts them. */
    write_file("nul", "a\0b", 3, 0600);
    assert_int_equal(cj_secret_file_read(AT_FDCWD, path_of("nul"), "test nul", 64, &f), 0);
    assert_int_equal(f.len, 3);
    assert_memory_equal(f.data, "a\0b", 4);
    cj_secret_file_done(&f);

    write_file("empty", "", 0, 0600);
    assert_int_equal(cj_secret_file_read(AT_FDCWD, path_of("empty"), "test empty", 64, &f), 0);
    assert_int_equal(f.len, 0);
    assert_non_null(f.data);
    assert_int_equal(f.data[0], '\0');
    cj_secret_file_done(&f);
}

static void test_relative_to_dirfd_and_through_symlink(void **state)
{
    struct cj_secret_file f;

    write_file("target", "tok", 3, 0600);
    assert_int_equal(symlink("target", path_of("link")), 0);
    int dirfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(dirfd >= 0);
    assert_int_equal(cj_secret_file_read(dirfd, "link", "test link", 64, &f), 0);
    assert_int_equal(f.len, 3);
    assert_string_equal(f.data, "tok");
    cj_secret_file_done(&f);
    assert_int_equal(cj_secret_file_read(dirfd, "absent", "test absent", 64, &f), -ENOENT);
    assert_empty(&f);
    close(dirfd);
}

static void test_bound(void **state)
{
    struct cj_secret_file f;
    static char big[4097];

    memset(big, 'x', sizeof(big));
    write_file("limit", big, 4096, 0600);
    assert_int_equal(cj_secret_file_read(AT_FDCWD, path_of("limit"), "test limit", 4096, &f), 0);
    assert_int_equal(f.len, 4096);
    assert_int_equal(f.data[4096], '\0');
    cj_secret_file_done(&f);

    write_file("over", big, 4097, 0600);
    assert_int_equal(cj_secret_file_read(AT_FDCWD, path_of("over"), "test over", 4096, &f), -EFBIG);
    assert_empty(&f);

    /* /proc files report size 0: the bound must hold on what read() returns, too. */
    assert_int_equal(cj_secret_file_read(AT_FDCWD, "/proc/self/status", "status", 16, &f), -EFBIG);
    assert_empty(&f);
    assert_int_equal(cj_secret_file_read(AT_FDCWD, "/proc/self/status", "status", 1 << 20, &f), 0);
    assert_true(f.len > 16);
    assert_non_null(strstr(f.data, "Name:"));
    cj_secret_file_done(&f);
}

static void test_refuses(void **state)
{
    struct cj_secret_file f;

    assert_int_equal(cj_secret_file_read(AT_FDCWD, path_of("missing"), "test missing", 64, &f),
                     -ENOENT);
    assert_empty(&f);

    assert_int_equal(mkdir(path_of("dir"), 0700), 0);
    assert_int_equal(cj_secret_file_read(AT_FDCWD, path_of("dir"), "test dir", 64, &f), -EINVAL);
    assert_empty(&f);

    /* A FIFO without a writer: refused at once rather than waited on. */
    assert_int_equal(mkfifo(path_of("fifo"), 0600), 0);
    assert_int_equal(cj_secret_file_read(AT_FDCWD, path_of("fifo"), "test fifo", 64, &f), -EINVAL);
    assert_empty(&f);

    assert_int_equal(cj_secret_file_read(AT_FDCWD, "/dev/null", "test device", 64, &f), -EINVAL);
    assert_empty(&f);

    /* Not readable: open's error (root reads it anyway, so only checked for others). */
    write_file("locked", "secret", 6, 0000);
    int r = cj_secret_file_read(AT_FDCWD, path_of("locked"), "test locked", 64, &f);
    if (geteuid() != 0)
        assert_int_equal(r, -EACCES);
    cj_secret_file_done(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reads_whole_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relative_to_dirfd_and_through_symlink, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
