/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "secret-file.h"

void cj_secret_file_done(struct cj_secret_file *f)
{
    if (f->data) {
        cj_explicit_zero(f->data, f->len + 1);
        free(f->data);
    }
    *f = (struct cj_secret_file){0};
}

int cj_secret_file_read(int dirfd, const char *path, const char *what, size_t max,
                        struct cj_secret_file *ret)
{
    _cleanup_secret_file_ struct cj_secret_file f = {0};

    *ret = (struct cj_secret_file){0};
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below anyway. */
    _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT)
            return -ENOENT;
        return log_error_errno(errno, "Cannot open %s: %m", what);
    }
    struct stat st;
    if (fstat(fd, &st) < 0)
        return log_error_errno(errno, "Cannot stat %s: %m", what);
    if (!S_ISREG(st.st_mode))
        return log_error_errno(EINVAL, "Cannot read %s: not a regular file", what);
    if ((uint64_t)st.st_size > max)
        return log_error_errno(EFBIG, "Cannot read %s: larger than %zu bytes", what, max);

    /* One byte past the limit tells a file that grew since fstat; one more for the NUL. */
    f.data = malloc(max + 2);
    if (!f.data)
        return -ENOMEM;
    f.mode = st.st_mode;
    while (f.len <= max) {
        ssize_t n = read(fd, f.data + f.len, max + 1 - f.len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return log_error_errno(errno, "Cannot read %s: %m", what);
        if (n == 0)
            break;
        f.len += (size_t)n;
    }
    f.data[f.len] = '\0';
    if (f.len > max)
        return log_error_errno(EFBIG, "Cannot read %s: larger than %zu bytes", what, max);

    *ret = f;
    f = (struct cj_secret_file){0};
    return 0;
}
