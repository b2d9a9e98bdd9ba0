/* SPDX-License-Identifier: MIT */
/* Walking the jobs of one status, for the quick sync: the status|time index holds every
 * (status, creationTime, jobArn) as its key, so no row has to be read. */
#include <errno.h>

#include "log.h"
#include "store-internal.h"

int cj_store_foreach_with_status(struct cj_store *s, enum cj_status status, cj_store_job_fn fn,
                                 void *userdata)
{
    if (!s || !fn || (unsigned)status >= _CJ_STATUS_MAX)
        return -EINVAL;

    MDB_txn *txn;
    int r = store_read_begin(s, &txn);
    if (r < 0)
        return r;

    /* A cursor of our own: fn may not touch the store, but the shared cursors stay out of
     * reach of this walk all the same. */
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(txn, s->dbi_index[CJ_INDEX_STATUS_TIME], &cur);
    if (rc != MDB_SUCCESS) {
        r = store_errno(rc);
        goto out;
    }

    /* Keys sort newest first: (creationTime, jobArn) order walks backwards from above the
     * status's last key. */
    uint8_t prefix = (uint8_t)status, seek[1 + 9];
    seek[0] = prefix;
    memset(seek + 1, 0xff, 9);
    MDB_val k = {.mv_size = sizeof(seek), .mv_data = seek}, v;
    char arn[CJ_JOB_ARN_MAX + 1];
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (rc == MDB_SUCCESS)
        rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
    else if (rc == MDB_NOTFOUND)
        rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    for (; rc == MDB_SUCCESS; rc = mdb_cursor_get(cur, &k, &v, MDB_PREV)) {
        const uint8_t *key = k.mv_data;
        if (k.mv_size < 1 || key[0] != prefix)
            break;
        /* A NUL-terminated copy: the map's bytes are not, and fn may keep nothing of them. */
        ssize_t arn_len = k.mv_size < 1 + 8 ? -EUCLEAN : get_arn_key(key + 9, k.mv_size - 9, arn);
        if (arn_len < 0) {
            r = log_error_errno(EUCLEAN, "store: a status index key of %zu bytes is damaged",
                                k.mv_size);
            goto out;
        }
        arn[arn_len] = '\0';
        r = fn(arn, (size_t)arn_len, get_time_key(key + 1), userdata);
        if (r < 0)
            goto out;
    }
    r = rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? 0 : store_errno(rc);
out:
    if (cur)
        mdb_cursor_close(cur);
    store_read_end(s);
    return r;
}
