/* SPDX-License-Identifier: MIT */
/* Compacting the store offline: LMDB's compacting copy (every database rewritten in key order,
 * its pages full, no free pages) swapped in for the file.
 *
 * The copy restarts LMDB's transaction ids, which the lock file also records, so it is taken
 * and swapped in only while no other process has the environment open. Byte 0 of the lock
 * file is what LMDB itself locks exclusively when it is the only user (mdb_env_excl_lock;
 * every other user holds a shared lock on it); we hold it exclusively from before the copy
 * until an open of the new file, in this process, has found itself the only user and set the
 * lock file up again from the new file. A process that opens the store meanwhile waits for
 * that lock and then sees the new file. Any failure before the swap leaves the old file as it
 * was. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "store-internal.h"

#define COMPACT_MAX_DBS 32 /* any store's, with room */

static int env_open(const char *directory, unsigned flags, MDB_env **ret)
{
    MDB_env *env;
    int rc = mdb_env_create(&env);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);
    rc = mdb_env_set_maxdbs(env, COMPACT_MAX_DBS);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_open(env, directory, flags, 0600);
    if (rc != MDB_SUCCESS) {
        mdb_env_close(env);
        return store_errno(rc);
    }
    *ret = env;
    return 0;
}

static int file_size(const char *path, uint64_t *ret)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return -errno;
    *ret = (uint64_t)st.st_blocks * 512;
    return 0;
}

/* The compacting copy of the environment in `directory` into the new file `tmp`, on disk. */
static int copy_compacted(const char *directory, const char *tmp)
{
    MDB_env *env = NULL;
    /* MDB_NOLOCK: LMDB must not open (and at close unlock) the lock file we hold. */
    int r = env_open(directory, MDB_RDONLY | MDB_NOLOCK, &env);
    if (r < 0)
        return log_error_errno(r, "store: cannot open %s to compact it: %m", directory);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        r = log_error_errno(errno, "store: cannot create %s: %m", tmp);
    else {
        int rc = mdb_env_copyfd2(env, fd, MDB_CP_COMPACT);
        if (rc != MDB_SUCCESS)
            r = log_error_errno(store_errno(rc), "store: compacting copy failed: %s",
                                mdb_strerror(rc));
        else if (fsync(fd) < 0)
            r = log_error_errno(errno, "store: cannot write %s: %m", tmp);
        if (close(fd) < 0 && r >= 0)
            r = log_error_errno(errno, "store: cannot write %s: %m", tmp);
    }
    mdb_env_close(env);
    return r;
}

int cj_store_compact(const char *directory, uint64_t *before, uint64_t *after)
{
    char lock[PATH_MAX], data[PATH_MAX], tmp[PATH_MAX];
    int r = store_check_directory(directory);
    if (r < 0)
        return r;
    if (snprintf(lock, sizeof(lock), "%s/lock.mdb", directory) >= (int)sizeof(lock) ||
        snprintf(data, sizeof(data), "%s/data.mdb", directory) >= (int)sizeof(data) ||
        snprintf(tmp, sizeof(tmp), "%s/data.mdb.compact", directory) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;

    int lfd = open(lock, O_RDWR | O_CLOEXEC);
    if (lfd < 0)
        return log_error_errno(errno, "store: cannot open %s: %m", lock);
    struct flock only = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    if (fcntl(lfd, F_SETLK, &only) < 0) {
        r = errno == EACCES || errno == EAGAIN ? -EBUSY : -errno;
        if (r == -EBUSY)
            log_error("store: %s is open in another process (copyjobd?); stop it first", directory);
        else
            log_error_errno(r, "store: cannot lock %s: %m", lock);
        close(lfd);
        return r;
    }

    r = file_size(data, before);
    if (r < 0)
        log_error_errno(r, "store: cannot stat %s: %m", data);
    if (r >= 0)
        r = copy_compacted(directory, tmp);
    if (r >= 0 && rename(tmp, data) < 0)
        r = log_error_errno(errno, "store: cannot replace %s: %m", data);
    if (r < 0)
        (void)unlink(tmp);
    else {
        int dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) < 0)
            r = log_error_errno(errno, "store: cannot write %s: %m", directory);
        if (dfd >= 0)
            close(dfd);
        /* While we hold byte 0, this open is the only user: it sets the lock file up again
         * from the new file (LMDB's locks are the process's, so ours does not stop it). */
        MDB_env *env = NULL;
        int r2 = env_open(directory, MDB_RDONLY, &env);
        if (r2 < 0)
            r = log_error_errno(r2, "store: cannot open %s after compacting it: %m", directory);
        else
            mdb_env_close(env); /* closing any descriptor of the lock file drops our lock too */
        if (r >= 0)
            r = file_size(data, after);
    }
    close(lfd);
    return r;
}
