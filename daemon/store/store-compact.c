/* SPDX-License-Identifier: MIT */
/* Compacting the store offline: every database written anew, in key order and appending, so
 * that its pages are full, into a new file swapped in for the old one.
 *
 * The new file starts LMDB's transaction ids again, which the lock file also records, so it is
 * taken and swapped in only while no other process has the environment open. Byte 0 of the lock
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
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "store-internal.h"

static int env_open(const char *directory, unsigned flags, MDB_env **ret)
{
    MDB_env *env;
    int rc = mdb_env_create(&env);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);
    rc = mdb_env_set_maxdbs(env, STORE_MAX_DBS);
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

/* Copies database `name` from txn to txn2 in key order, appending: LMDB then fills each page
 * before it starts the next. Commits txn2 every REWRITE_TXN_ENTRIES entries (renewing it), so
 * that the dirty pages a transaction keeps in memory stay bounded. */
#define REWRITE_TXN_ENTRIES 50000
static int rewrite_db(MDB_env *env2, MDB_txn *txn, MDB_txn **txn2, const char *name)
{
    MDB_dbi from, to;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    unsigned n = 0, flags = 0;

    /* With its flags, so that the new database sorts its keys as the old one did. */
    int rc = mdb_dbi_open(txn, name, 0, &from);
    if (rc == MDB_SUCCESS)
        rc = mdb_dbi_flags(txn, from, &flags);
    if (rc == MDB_SUCCESS)
        rc = mdb_dbi_open(*txn2, name, flags | MDB_CREATE, &to);
    if (rc == MDB_SUCCESS)
        rc = mdb_cursor_open(txn, from, &cur);
    for (int op = MDB_FIRST; rc == MDB_SUCCESS; op = MDB_NEXT) {
        rc = mdb_cursor_get(cur, &k, &v, op);
        if (rc != MDB_SUCCESS)
            break;
        /* MDB_APPEND refuses a key equal to the last: sorted duplicates append as mdb_load
         * does, the key found by a descent, the duplicate appended. */
        rc = mdb_put(*txn2, to, &k, &v, flags & MDB_DUPSORT ? MDB_APPENDDUP : MDB_APPEND);
        if (rc == MDB_SUCCESS && ++n == REWRITE_TXN_ENTRIES) {
            n = 0;
            rc = mdb_txn_commit(*txn2);
            *txn2 = NULL;
            if (rc == MDB_SUCCESS)
                rc = mdb_txn_begin(env2, NULL, 0, txn2);
        }
    }
    if (cur)
        mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
}

/* Writes every database of the environment in `directory` anew into `tmpdir`'s data.mdb, in key
 * order. LMDB's own compacting copy (MDB_CP_COMPACT) only leaves the free pages out: it keeps
 * half-full pages as they are, which is what a grown store is made of. */
static int rewrite(const char *directory, const char *tmpdir)
{
    MDB_env *env = NULL, *env2 = NULL;
    MDB_txn *txn = NULL, *txn2 = NULL;
    MDB_cursor *names = NULL;
    MDB_envinfo info;
    MDB_dbi main_dbi;
    MDB_val k, v;

    /* MDB_NOLOCK: LMDB must not open (and at close unlock) the lock file we hold. */
    int r = env_open(directory, MDB_RDONLY | MDB_NOLOCK, &env);
    if (r < 0)
        return log_error_errno(r, "store: cannot open %s to compact it: %m", directory);
    int rc = mdb_env_info(env, &info);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_create(&env2);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_set_maxdbs(env2, STORE_MAX_DBS);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_set_mapsize(env2, info.me_mapsize);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_open(env2, tmpdir, MDB_NOLOCK, 0600);
    if (rc == MDB_SUCCESS)
        rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    if (rc == MDB_SUCCESS)
        rc = mdb_txn_begin(env2, NULL, 0, &txn2);
    if (rc == MDB_SUCCESS)
        rc = mdb_dbi_open(txn, NULL, 0, &main_dbi);
    if (rc == MDB_SUCCESS)
        rc = mdb_cursor_open(txn, main_dbi, &names);
    /* The main database's keys are the names of the others: the store keeps nothing else
     * there. */
    for (int op = MDB_FIRST; rc == MDB_SUCCESS; op = MDB_NEXT) {
        char name[64];
        rc = mdb_cursor_get(names, &k, &v, op);
        if (rc != MDB_SUCCESS)
            break;
        if (k.mv_size == 0 || k.mv_size >= sizeof(name) || memchr(k.mv_data, 0, k.mv_size)) {
            rc = MDB_INCOMPATIBLE;
            break;
        }
        memcpy(name, k.mv_data, k.mv_size);
        name[k.mv_size] = '\0';
        rc = rewrite_db(env2, txn, &txn2, name);
    }
    if (rc == MDB_NOTFOUND)
        rc = MDB_SUCCESS;
    if (names)
        mdb_cursor_close(names);
    if (rc == MDB_SUCCESS && txn2) {
        rc = mdb_txn_commit(txn2); /* durable: LMDB syncs each commit */
        txn2 = NULL;
    }
    if (txn2)
        mdb_txn_abort(txn2);
    if (txn)
        mdb_txn_abort(txn);
    if (env2)
        mdb_env_close(env2);
    mdb_env_close(env);
    if (rc != MDB_SUCCESS)
        return log_error_errno(store_errno(rc), "store: rewriting %s failed: %s", directory,
                               mdb_strerror(rc));
    return 0;
}

int cj_store_compact(const char *directory, uint64_t *before, uint64_t *after)
{
    char lock[PATH_MAX], data[PATH_MAX], tmpdir[PATH_MAX], tmp[PATH_MAX], tmplock[PATH_MAX];
    int r = store_check_directory(directory);
    if (r < 0)
        return r;
    if (snprintf(lock, sizeof(lock), "%s/lock.mdb", directory) >= (int)sizeof(lock) ||
        snprintf(data, sizeof(data), "%s/data.mdb", directory) >= (int)sizeof(data) ||
        snprintf(tmpdir, sizeof(tmpdir), "%s/compact.tmp", directory) >= (int)sizeof(tmpdir) ||
        snprintf(tmp, sizeof(tmp), "%s/data.mdb", tmpdir) >= (int)sizeof(tmp) ||
        snprintf(tmplock, sizeof(tmplock), "%s/lock.mdb", tmpdir) >= (int)sizeof(tmplock))
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
    /* What a failed run left. */
    (void)unlink(tmp);
    (void)unlink(tmplock);
    if (r >= 0 && mkdir(tmpdir, 0700) < 0 && errno != EEXIST)
        r = log_error_errno(errno, "store: cannot create %s: %m", tmpdir);
    if (r >= 0)
        r = rewrite(directory, tmpdir);
    if (r >= 0 && rename(tmp, data) < 0)
        r = log_error_errno(errno, "store: cannot replace %s: %m", data);
    (void)unlink(tmp);
    (void)unlink(tmplock);
    (void)rmdir(tmpdir);
    if (r >= 0) {
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
