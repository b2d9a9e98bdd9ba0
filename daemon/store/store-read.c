/* SPDX-License-Identifier: MIT */
/* Reads outside the list: one job by jobArn, the jobs of one status, the O(1) statistics. */
#include <assert.h>
#include <errno.h>

#include "log.h"
#include "store-internal.h"

/* ---- one job by jobArn ---- */

/* `jobs` gives a job's creation time, which with the jobArn is the row's key, and its status,
 * which names the database the row is in. */
int store_row_key(const MDB_val *jobs_value, const void *arn, size_t arn_len,
                  uint8_t out[INDEX_KEY_MAX], size_t *len)
{
    if (jobs_value->mv_size != JOBS_VALUE_SIZE || arn_len == 0 || arn_len > CJ_JOB_ARN_MAX)
        return -EUCLEAN;
    memcpy(out, jobs_value->mv_data, TIME_KEY_SIZE);
    *len = TIME_KEY_SIZE + put_arn_key(out + TIME_KEY_SIZE, arn, arn_len);
    return 0;
}

int store_row_at(struct cj_store *s, MDB_txn *txn, const MDB_val *jobs_value, const void *arn,
                 size_t arn_len, MDB_val *row)
{
    uint8_t key[INDEX_KEY_MAX];
    MDB_val k = {.mv_data = key};

    int r = store_row_key(jobs_value, arn, arn_len, key, &k.mv_size);
    if (r < 0)
        return r;
    int rc = mdb_get(txn, s->dbi_rows[store_rows_of(jobs_value_status(jobs_value))], &k, row);
    /* A job without its row is damage, not absence: verify reports it. */
    return rc == MDB_NOTFOUND ? -EUCLEAN : store_errno(rc);
}

int store_jobs_get(struct cj_store *s, MDB_txn *txn, const char *arn, size_t arn_len,
                   MDB_val *value)
{
    uint8_t kb[JOBS_KEY_PACKED];
    MDB_val k;
    int r = store_jobs_key_find(s, txn, arn, arn_len, kb, &k);
    if (r < 0)
        return r;
    return store_errno(mdb_get(txn, s->dbi_jobs, &k, value));
}

int store_row_get(struct cj_store *s, MDB_txn *txn, const void *arn, size_t arn_len, MDB_val *row,
                  uint16_t *source)
{
    MDB_val t;
    int r = store_jobs_get(s, txn, arn, arn_len, &t);
    if (r < 0)
        return r;
    r = store_row_at(s, txn, &t, arn, arn_len, row);
    if (r >= 0 && source)
        *source = jobs_value_source(&t);
    return r;
}

int cj_store_get(struct cj_store *s, const char *job_arn, struct cj_buf *out)
{
    assert(s && job_arn && out);
    size_t len = strlen(job_arn);
    if (len == 0 || len > CJ_JOB_ARN_MAX)
        return -ENOENT;

    MDB_txn *txn;
    int r = store_read_begin(s, &txn);
    if (r < 0)
        return r;
    MDB_val v;
    struct store_row row;
    r = store_row_get(s, txn, job_arn, len, &v, NULL);
    if (r == -EUCLEAN)
        log_error("store: %s has no row; run verify", job_arn);
    else if (r >= 0 && (r = store_row_decode(v.mv_data, v.mv_size, &row)) < 0)
        log_error("store: the stored row of %s is damaged", job_arn);
    else if (r >= 0)
        r = cj_buf_append(out, row.json, row.json_len);
    store_read_end(s);
    return r;
}

/* ---- the jobs of one status, for the quick sync ---- */

/* The keys of a known status's rows database are its jobs' (creationTime, jobArn), so no
 * row has to be decoded; the source of each is in `jobs`. The jobs of a status the quick sync
 * walks (InProgress) are few, so one lookup each is cheap. */
int cj_store_foreach_with_status(struct cj_store *s, const char *source, enum cj_status status,
                                 cj_store_job_fn fn, void *userdata)
{
    assert(s && fn);
    if ((unsigned)status >= _CJ_STATUS_MAX || (source && !cj_valid_source_name(source)))
        return -EINVAL;

    MDB_txn *txn;
    uint16_t code = 0;
    int r = store_read_begin(s, &txn);
    if (r < 0)
        return r;
    if (source) {
        r = store_names_code(s, txn, META_SOURCE_NAMES, source, strlen(source), false, 0, &code);
        if (r == -ENOENT) {
            r = 0; /* no job of it is stored */
            goto out_end;
        }
        if (r < 0)
            goto out_end;
    }

    /* A cursor of our own: fn may not touch the store, but the shared cursors stay out of
     * reach of this walk all the same. */
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(txn, s->dbi_rows[store_rows_of((uint8_t)status)], &cur);
    if (rc != MDB_SUCCESS) {
        r = store_errno(rc);
        goto out;
    }

    /* Keys sort in (creationTime, jobArn) order. */
    MDB_val k, v;
    char arn[CJ_JOB_ARN_MAX + 1];
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const uint8_t *key = k.mv_data;
        /* A NUL-terminated copy: the map's bytes are not, and fn may keep nothing of them. */
        ssize_t arn_len = k.mv_size <= TIME_KEY_SIZE
                              ? -EUCLEAN
                              : get_arn_key(key + TIME_KEY_SIZE, k.mv_size - TIME_KEY_SIZE, arn);
        if (arn_len < 0) {
            r = log_error_errno(EUCLEAN, "store: a row key of %zu bytes is damaged", k.mv_size);
            goto out;
        }
        arn[arn_len] = '\0';
        if (source) {
            MDB_val jv;
            r = store_jobs_get(s, txn, arn, (size_t)arn_len, &jv);
            if (r == -ENOENT ||
                (r >= 0 && (jv.mv_size != JOBS_VALUE_SIZE || jobs_value_source(&jv) != code))) {
                r = 0; /* another source's (or damage that verify reports) */
                continue;
            }
            if (r < 0)
                goto out;
        }
        r = fn(arn, (size_t)arn_len, get_time_key(key), userdata);
        if (r < 0)
            goto out;
    }
    r = rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? 0 : store_errno(rc);
out:
    if (cur)
        mdb_cursor_close(cur);
out_end:
    store_read_end(s);
    return r;
}

/* ---- the statistics ---- */

/* 1 with the time of the first or last key, 0 when the database is empty. */
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
    return 1;
}

int cj_store_stats(struct cj_store *s, struct cj_store_stats *ret)
{
    struct store_counts c;
    MDB_txn *txn;

    assert(s && ret);
    *ret = (struct cj_store_stats){0};
    int r = store_read_begin(s, &txn);
    if (r < 0)
        return r;
    r = store_counts_load(s, txn, &c);
    if (r >= 0)
        r = store_sources_synced_at(s, txn, &ret->synced_at_ns);
    /* Keys sort oldest first: each database's first is its oldest. */
    bool any = false;
    for (unsigned d = 0; r >= 0 && d < STORE_ROWS_DBS; d++) {
        MDB_cursor *cur;
        int64_t oldest, newest;
        r = store_rows_cursor(s, txn, d, &cur);
        if (r >= 0)
            r = edge_time(cur, MDB_FIRST, &oldest);
        if (r > 0)
            r = edge_time(cur, MDB_LAST, &newest);
        if (r > 0) {
            ret->oldest_ns = any && ret->oldest_ns < oldest ? ret->oldest_ns : oldest;
            ret->newest_ns = any && ret->newest_ns > newest ? ret->newest_ns : newest;
            any = true;
        }
    }
    store_read_end(s);
    if (r < 0)
        return log_error_errno(r, "store: cannot read the statistics: %m");

    ret->total = c.total;
    memcpy(ret->by_status, c.by_status, sizeof(ret->by_status));
    for (size_t i = _CJ_STATUS_MAX; i < STORE_STATUS_CODES; i++)
        ret->by_other_status += c.by_status[i];
    MDB_envinfo info;
    mdb_env_info(s->env, &info);
    ret->map_size = info.me_mapsize;
    return 0;
}

int cj_store_foreach_other_status(struct cj_store *s, const char *source, cj_store_status_fn fn,
                                  void *userdata)
{
    struct store_counts c;
    MDB_txn *txn;

    assert(s && fn);
    int r = store_read_begin(s, &txn);
    if (r < 0)
        return r;
    r = store_source_counts(s, txn, source, &c);
    if (r == -ENOENT)
        r = 0, c = (struct store_counts){0};
    for (unsigned i = _CJ_STATUS_MAX; r >= 0 && i < STORE_STATUS_CODES; i++) {
        if (c.by_status[i] == 0)
            continue;
        const char *name;
        size_t len;
        r = store_status_name(s, txn, (uint8_t)i, &name, &len);
        if (r >= 0)
            r = fn(name, len, c.by_status[i], userdata);
    }
    store_read_end(s);
    return r;
}
