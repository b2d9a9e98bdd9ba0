/* SPDX-License-Identifier: MIT */
/* Single-job reads and the O(1) statistics. */
#include <errno.h>

#include "log.h"
#include "store-internal.h"

int cj_store_get(struct cj_store *s, const char *job_arn, struct cj_buf *out)
{
    if (!s || !job_arn || !out)
        return -EINVAL;
    size_t len = strlen(job_arn);
    if (len == 0 || len > CJ_JOB_ARN_MAX)
        return -ENOENT;

    MDB_txn *txn;
    int r = store_read_begin(s, &txn);
    if (r < 0)
        return r;
    MDB_val v;
    struct store_row row;
    r = store_row_get(s, txn, job_arn, len, &v);
    if (r == -EUCLEAN)
        log_error("store: %s has no row; run verify", job_arn);
    else if (r >= 0 && (r = store_row_decode(v.mv_data, v.mv_size, &row)) < 0)
        log_error("store: the stored row of %s is damaged", job_arn);
    else if (r >= 0)
        r = cj_buf_append(out, row.json, row.json_len);
    store_read_end(s);
    return r;
}

static int edge_time(MDB_cursor *cur, MDB_cursor_op op, int64_t *ret)
{
    MDB_val k, v;
    int rc = mdb_cursor_get(cur, &k, &v, op);
    *ret = 0;
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != MDB_SUCCESS)
        return store_errno(rc);
    if (k.mv_size < 8)
        return -EUCLEAN;
    *ret = get_time_key(k.mv_data);
    return 0;
}

int cj_store_stats(struct cj_store *s, struct cj_store_stats *ret)
{
    struct store_counts c;
    MDB_cursor *cur;
    MDB_txn *txn;

    if (!s || !ret)
        return -EINVAL;
    *ret = (struct cj_store_stats){0};
    int r = store_read_begin(s, &txn);
    if (r < 0)
        return r;
    r = store_counts_load(s, txn, &c);
    if (r >= 0)
        r = store_meta_get_i64(s, txn, META_SYNCED_AT, &ret->synced_at_ns);
    if (r >= 0) {
        int rc = s->rcursor[CJ_INDEX_TIME] ? mdb_cursor_renew(txn, s->rcursor[CJ_INDEX_TIME])
                                           : mdb_cursor_open(txn, s->dbi_index[CJ_INDEX_TIME],
                                                             &s->rcursor[CJ_INDEX_TIME]);
        r = store_errno(rc);
        cur = s->rcursor[CJ_INDEX_TIME];
    }
    if (r >= 0)
        r = edge_time(cur, MDB_LAST, &ret->oldest_ns); /* keys sort newest first */
    if (r >= 0)
        r = edge_time(cur, MDB_FIRST, &ret->newest_ns);
    store_read_end(s);
    if (r < 0)
        return log_error_errno(r, "store: cannot read the statistics: %m");

    ret->total = c.total;
    memcpy(ret->by_status, c.by_status, sizeof(ret->by_status));
    MDB_envinfo info;
    mdb_env_info(s->env, &info);
    ret->map_size = info.me_mapsize;
    return 0;
}
