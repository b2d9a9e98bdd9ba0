/* SPDX-License-Identifier: MIT */
/* Schema 3 -> 4 (below) turns every key holding time | jobArn newest first.
 *
 * Schema 2 -> 3 in place: the rows move from `jobs` (jobArn -> row) into the time index
 * (time | jobArn -> row, where schema 2 kept empty values), and `jobs` keeps only each
 * job's time key, both already in schema 4's key order; the 3 -> 4 step then rebuilds
 * the other indexes. The change log, the counters and meta keep their bytes. Runs inside the
 * opening write transaction, so a crash leaves schema 2. */
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
        /* The cursor's key, copied out like the row (the key holds it encoded). */
        char arn[CJ_JOB_ARN_MAX];
        memcpy(arn, k.mv_data, k.mv_size);
        MDB_val ak = {.mv_size = k.mv_size, .mv_data = arn};
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

/* ---- schema 3 -> 4 ---- */

#define MIGRATE_TMP_DB "migrate_time" /* the time index being rewritten; dropped at the end */

static int map_rc(int rc, const char *what)
{
    /* A full map is not an error yet: store_write grows it and runs the migration again. */
    if (rc == MDB_MAP_FULL)
        return -ENOSPC;
    return log_error_errno(store_errno(rc), "store: cannot %s for schema 4: %s", what,
                           mdb_strerror(rc));
}

/* Copies every entry of `from` into `to` (empty) with its key rewritten by `rekey` (NULL:
 * kept). The walk runs backwards when the new keys sort in the reverse of the old ones, so
 * every put appends. Values are copied out first: a put may spill the page they lie on. */
static int copy_rows(struct cj_store *s, MDB_txn *txn, MDB_dbi from, MDB_dbi to, bool backwards,
                     bool rekey)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = mdb_cursor_open(txn, from, &cur);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);
    const MDB_cursor_op first = backwards ? MDB_LAST : MDB_FIRST;
    const MDB_cursor_op next = backwards ? MDB_PREV : MDB_NEXT;
    int r = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, first); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &k, &v, next)) {
        uint8_t key[INDEX_KEY_MAX];
        size_t klen = k.mv_size;
        if (rekey) {
            /* schema 3: time (oldest first) | jobArn bytes */
            if (k.mv_size <= TIME_KEY_SIZE || k.mv_size > TIME_KEY_SIZE + CJ_JOB_ARN_MAX) {
                r = log_error_errno(EUCLEAN, "store: a time index key of schema 3 is damaged");
                break;
            }
            put_time_key(key, get_time_key_v3(k.mv_data));
            klen = TIME_KEY_SIZE + put_arn_key(key + TIME_KEY_SIZE,
                                               (uint8_t *)k.mv_data + TIME_KEY_SIZE,
                                               k.mv_size - TIME_KEY_SIZE);
        } else {
            if (k.mv_size > sizeof(key)) {
                r = -EUCLEAN;
                break;
            }
            memcpy(key, k.mv_data, k.mv_size);
        }
        cj_buf_reset(&s->scratch);
        r = cj_buf_append(&s->scratch, v.mv_data, v.mv_size);
        if (r < 0)
            break;
        MDB_val nk = {.mv_size = klen, .mv_data = key};
        MDB_val nv = {.mv_size = s->scratch.len, .mv_data = s->scratch.data};
        rc = mdb_put(txn, to, &nk, &nv, MDB_APPEND);
        if (rc == MDB_KEYEXIST) {
            r = log_error_errno(EUCLEAN, "store: the time index of schema 3 is out of order");
            break;
        }
        if (rc != MDB_SUCCESS)
            break;
    }
    mdb_cursor_close(cur);
    if (r < 0)
        return r;
    return rc == MDB_NOTFOUND ? 0 : map_rc(rc, "move the rows");
}

/* The time index with schema 4's keys: rewritten into a scratch database (the old and new
 * keys cannot share one while the old are read in order), then copied back. */
static int rewrite_rows(struct cj_store *s, MDB_txn *txn)
{
    const MDB_dbi time_dbi = s->dbi_index[CJ_INDEX_TIME];
    MDB_dbi tmp;
    int rc = mdb_dbi_open(txn, MIGRATE_TMP_DB, MDB_CREATE, &tmp);
    if (rc != MDB_SUCCESS)
        return map_rc(rc, "open a scratch database");
    rc = mdb_drop(txn, tmp, 0);
    if (rc != MDB_SUCCESS)
        return map_rc(rc, "empty the scratch database");
    int r = copy_rows(s, txn, time_dbi, tmp, true, true);
    if (r < 0)
        return r;
    rc = mdb_drop(txn, time_dbi, 0);
    if (rc != MDB_SUCCESS)
        return map_rc(rc, "empty the time index");
    r = copy_rows(s, txn, tmp, time_dbi, false, false);
    if (r < 0)
        return r;
    rc = mdb_drop(txn, tmp, 1);
    if (rc != MDB_SUCCESS)
        return map_rc(rc, "drop the scratch database");

    /* `jobs`: each job's time key, same size, rewritten in place. */
    MDB_cursor *cur;
    MDB_val k, v;
    rc = mdb_cursor_open(txn, s->dbi_jobs, &cur);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        uint8_t tk[TIME_KEY_SIZE], ak[CJ_JOB_ARN_MAX];
        if (v.mv_size != TIME_KEY_SIZE || k.mv_size == 0 || k.mv_size > sizeof(ak)) {
            r = log_error_errno(EUCLEAN, "store: a job of schema 3 has no time key");
            break;
        }
        put_time_key(tk, get_time_key_v3(v.mv_data));
        memcpy(ak, k.mv_data, k.mv_size); /* the cursor's key, copied like the value */
        MDB_val nk = {.mv_size = k.mv_size, .mv_data = ak};
        MDB_val nv = {.mv_size = TIME_KEY_SIZE, .mv_data = tk};
        rc = mdb_cursor_put(cur, &nk, &nv, MDB_CURRENT);
        if (rc != MDB_SUCCESS)
            break;
    }
    mdb_cursor_close(cur);
    if (r < 0)
        return r;
    return rc == MDB_NOTFOUND ? 0 : map_rc(rc, "rewrite the jobs' time keys");
}

/* The other indexes, rebuilt from the rows (walked in key order, so the last prefix's keys
 * append). */
static int rebuild_indexes(struct cj_store *s, MDB_txn *txn, uint64_t *count)
{
    int rc = MDB_SUCCESS;
    for (size_t i = 0; rc == MDB_SUCCESS && i < _CJ_INDEX_MAX; i++)
        if (i != CJ_INDEX_TIME)
            rc = mdb_drop(txn, s->dbi_index[i], 0);
    if (rc != MDB_SUCCESS)
        return map_rc(rc, "empty the indexes");

    MDB_cursor *cur;
    MDB_val k, v;
    int r = 0;
    rc = mdb_cursor_open(txn, s->dbi_index[CJ_INDEX_TIME], &cur);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);
    s->no_append = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        char arn[CJ_JOB_ARN_MAX];
        struct store_row row;
        ssize_t arn_len =
            k.mv_size <= TIME_KEY_SIZE
                ? -EUCLEAN
                : get_arn_key((uint8_t *)k.mv_data + TIME_KEY_SIZE, k.mv_size - TIME_KEY_SIZE, arn);
        if (arn_len < 0 || store_row_decode(v.mv_data, v.mv_size, &row) < 0) {
            r = log_error_errno(EUCLEAN, "store: a row of schema 3 does not decode");
            break;
        }
        /* All keys first: the row lies in the map, and a put may spill its page. */
        uint8_t keys[_CJ_INDEX_MAX][INDEX_KEY_MAX];
        size_t sizes[_CJ_INDEX_MAX];
        for (size_t i = 0; i < _CJ_INDEX_MAX; i++)
            sizes[i] = store_index_key(i, &row, arn, (size_t)arn_len, keys[i]);
        for (size_t i = 0; rc == MDB_SUCCESS && i < _CJ_INDEX_MAX; i++) {
            if (i == CJ_INDEX_TIME)
                continue;
            MDB_val ik = {.mv_size = sizes[i], .mv_data = keys[i]}, iv = {0};
            rc = store_index_put(s, txn, i, &ik, &iv);
        }
        if (rc != MDB_SUCCESS)
            break;
        (*count)++;
    }
    mdb_cursor_close(cur);
    if (r < 0)
        return r;
    return rc == MDB_NOTFOUND ? 0 : map_rc(rc, "rebuild the indexes");
}

int store_migrate_from_3(struct cj_store *s, MDB_txn *txn, bool rows_v3)
{
    uint64_t count = 0;
    int r = rows_v3 ? rewrite_rows(s, txn) : 0;
    if (r >= 0)
        r = rebuild_indexes(s, txn, &count);
    if (r < 0)
        return r;
    log_notice("store: migrated the cache from schema 3 to 4 (index keys newest first); its "
               "%" PRIu64 " job(s) are kept",
               count);
    return 0;
}
