/* SPDX-License-Identifier: MIT */
/* Schema 2 -> 3 in place: the rows move from `jobs` (jobArn -> row) into the time index
 * (time | jobArn -> row, where schema 2 kept empty values), and `jobs` keeps only each
 * job's time key. The other indexes, the change log, the counters and meta keep their
 * bytes. Runs inside the opening write transaction, so a crash leaves schema 2. */
#include <errno.h>
#include <inttypes.h>

#include "log.h"
#include "store-internal.h"

int store_migrate_from_2(struct cj_store *s, MDB_txn *txn)
{
    const MDB_dbi time_dbi = s->dbi_index[CJ_INDEX_TIME];
    MDB_cursor *cur;
    MDB_val k, v;
    uint64_t moved = 0;
    int r = 0;

    /* Rebuilt from the rows, so that a stale entry of the old index cannot survive as a
     * row with an empty value. */
    int rc = mdb_drop(txn, time_dbi, 0);
    if (rc == MDB_SUCCESS)
        rc = mdb_cursor_open(txn, s->dbi_jobs, &cur);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);

    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        struct store_row row;
        uint8_t key[INDEX_KEY_MAX];
        if (k.mv_size == 0 || k.mv_size > CJ_JOB_ARN_MAX ||
            store_row_decode(v.mv_data, v.mv_size, &row) < 0) {
            r = log_error_errno(EUCLEAN, "store: a row of schema 2 does not decode");
            break;
        }
        size_t klen = store_index_key(CJ_INDEX_TIME, &row, k.mv_data, k.mv_size, key);
        /* Copied out: writes may spill or move the page the row lies on. */
        cj_buf_reset(&s->scratch);
        r = cj_buf_append(&s->scratch, v.mv_data, v.mv_size);
        if (r < 0)
            break;
        MDB_val tk = {.mv_size = klen, .mv_data = key};
        MDB_val tv = {.mv_size = s->scratch.len, .mv_data = s->scratch.data};
        rc = mdb_put(txn, time_dbi, &tk, &tv, 0);
        if (rc != MDB_SUCCESS)
            break;
        /* The cursor's key: key + TIME_KEY_SIZE holds a copy of the jobArn. */
        MDB_val ak = {.mv_size = klen - TIME_KEY_SIZE, .mv_data = key + TIME_KEY_SIZE};
        MDB_val av = {.mv_size = TIME_KEY_SIZE, .mv_data = key};
        rc = mdb_cursor_put(cur, &ak, &av, MDB_CURRENT);
        if (rc != MDB_SUCCESS)
            break;
        moved++;
    }
    mdb_cursor_close(cur);
    if (r < 0)
        return r;
    /* A full map is not an error yet: store_write grows it and runs the migration again. */
    if (rc == MDB_MAP_FULL)
        return -ENOSPC;
    if (rc != MDB_NOTFOUND)
        return log_error_errno(store_errno(rc), "store: cannot move the rows of schema 2: %s",
                               mdb_strerror(rc));
    log_notice("store: migrated the cache from schema 2 to 3 (rows clustered by creation time); "
               "its %" PRIu64 " job(s) are kept",
               moved);
    return 0;
}
