/* SPDX-License-Identifier: MIT */
/* Reading a small file that holds a secret (a credential, a token, a credentials file) whole,
 * without leaving copies of it behind. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "cj-util.h"

struct cj_secret_file {
    char *data; /* len bytes, then a NUL; the bytes themselves may hold NULs */
    size_t len;
    mode_t mode; /* st_mode of the file read */
};

/* Reads path (relative to dirfd, or AT_FDCWD) into *ret: a regular file of at most max bytes.
 * Symbolic links are followed; a FIFO or a device is refused without blocking on it. The data
 * is read straight into one buffer allocated at the limit, so no partial copy is left in freed
 * memory; on error nothing is kept and *ret is empty.
 *
 * what names the file in log messages ("credential /run/credentials/x/key"); the value is
 * never logged. Returns 0, or a negative errno, logged naming what: -EINVAL not a regular
 * file, -EFBIG larger than max, -ENOMEM, or the error of open, fstat or read — except -ENOENT,
 * which is not logged, since whether a missing file is an error is the caller's call. */
int cj_secret_file_read(int dirfd, const char *path, const char *what, size_t max,
                        struct cj_secret_file *ret);

/* Zeroes and frees the data; *f is empty afterwards, and an empty *f is fine. */
void cj_secret_file_done(struct cj_secret_file *f);
#define _cleanup_secret_file_ _cleanup_(cj_secret_file_done)
