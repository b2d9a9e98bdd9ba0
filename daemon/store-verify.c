/* SPDX-License-Identifier: MIT */
/* The consistency checker: every row decodes and has its key in every index, every index
 * key points at a row that produces exactly that key, and the counters in meta agree. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "log.h"
#include "store-internal.h"

#define VERIFY_MAX_REPORTED 8

/* Not cj_status_to_string: the checker should not need the job module. */
static const char *const status_names[_CJ_STATUS_MAX] = {"InProgress", "Completed", "Failed"};

struct report {
    char *buf;
    size_t len, used;
    unsigned problems;
};

_printf_(2, 3) static void problem(struct report *rep, const char *fmt, ...)
{
    rep->problems++;
    if (rep->problems > VERIFY_MAX_REPORTED || rep->used + 1 >= rep->len)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(rep->buf + rep->used, rep->len - rep->used, fmt, ap);
    va_end(ap);
    if (n > 0)
        rep->used += (size_t)n < rep->len - rep->used ? (size_t)n : rep->len - rep->used - 1;
    if (rep->used + 2 < rep->len) {
        rep->buf[rep->used++] = ';';
        rep->buf[rep->used++] = ' ';
        rep->buf[rep->used] = '\0';
    }
}

static int verify_meta(struct cj_store *s, MDB_txn *txn, struct report *rep)
{
    MDB_val k = {.mv_size = strlen(META_SCHEMA_VERSION), .mv_data = META_SCHEMA_VERSION}, v;
    int rc = mdb_get(txn, s->dbi_meta, &k, &v);
    if (rc != MDB_SUCCESS || v.mv_size != 4 || ((uint8_t *)v.mv_data)[0] != CJ_STORE_SCHEMA_VERSION)
        problem(rep, "meta: schema version missing or not %d", CJ_STORE_SCHEMA_VERSION);
    k = (MDB_val){.mv_size = strlen(META_TOKEN_KEY), .mv_data = META_TOKEN_KEY};
    rc = mdb_get(txn, s->dbi_meta, &k, &v);
    if (rc != MDB_SUCCESS || v.mv_size != CJ_STORE_MAC_KEY_SIZE ||
        memcmp(v.mv_data, s->mac_key, CJ_STORE_MAC_KEY_SIZE) != 0)
        problem(rep, "meta: token key missing or not the one in use");
    return 0;
}

static int verify_rows(struct cj_store *s, MDB_txn *txn, struct store_counts *seen,
                       struct report *rep)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = mdb_cursor_open(txn, s->dbi_jobs, &cur);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);

    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        struct store_row row;
        int klen = (int)(k.mv_size > 200 ? 200 : k.mv_size);
        if (k.mv_size == 0 || k.mv_size > CJ_JOB_ARN_MAX) {
            problem(rep, "jobs: key of %zu bytes", k.mv_size);
            continue;
        }
        if (store_row_decode(v.mv_data, v.mv_size, &row) < 0) {
            problem(rep, "jobs: %.*s: row does not decode", klen, (char *)k.mv_data);
            continue;
        }
        if (row.model_hash != store_model_hash(row.model_arn, row.model_arn_len))
            problem(rep, "jobs: %.*s: model hash does not match its ARN", klen, (char *)k.mv_data);
        seen->total++;
        seen->by_status[row.status]++;
        for (size_t i = 0; i < _CJ_INDEX_MAX; i++) {
            uint8_t key[INDEX_KEY_MAX];
            MDB_val ik = {.mv_data = key}, iv;
            ik.mv_size = store_index_key(i, &row, k.mv_data, k.mv_size, key);
            if (mdb_get(txn, s->dbi_index[i], &ik, &iv) != MDB_SUCCESS)
                problem(rep, "%s: no entry for job %.*s", store_index_db_names[i], klen,
                        (char *)k.mv_data);
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : store_errno(rc);
}

static int verify_index(struct cj_store *s, MDB_txn *txn, enum cj_index i, uint64_t expected,
                        struct report *rep)
{
    const char *name = store_index_db_names[i];
    size_t plen = store_index_prefix_len(i);
    uint64_t entries = 0;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = mdb_cursor_open(txn, s->dbi_index[i], &cur);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);

    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        entries++;
        if (v.mv_size != 0)
            problem(rep, "%s: entry with a non-empty value", name);
        if (k.mv_size <= plen + 8 || k.mv_size > plen + 8 + CJ_JOB_ARN_MAX) {
            problem(rep, "%s: key of %zu bytes", name, k.mv_size);
            continue;
        }
        MDB_val arn = {.mv_size = k.mv_size - plen - 8, .mv_data = (uint8_t *)k.mv_data + plen + 8};
        int alen = (int)(arn.mv_size > 200 ? 200 : arn.mv_size);
        MDB_val row_v;
        struct store_row row;
        if (mdb_get(txn, s->dbi_jobs, &arn, &row_v) != MDB_SUCCESS) {
            problem(rep, "%s: entry for %.*s which is not stored", name, alen, (char *)arn.mv_data);
            continue;
        }
        if (store_row_decode(row_v.mv_data, row_v.mv_size, &row) < 0)
            continue; /* reported by verify_rows */
        uint8_t key[INDEX_KEY_MAX];
        size_t n = store_index_key(i, &row, arn.mv_data, arn.mv_size, key);
        if (n != k.mv_size || memcmp(key, k.mv_data, n) != 0)
            problem(rep, "%s: stale entry for %.*s (the row says otherwise)", name, alen,
                    (char *)arn.mv_data);
    }
    mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND)
        return store_errno(rc);
    if (entries != expected)
        problem(rep, "%s: %" PRIu64 " entries for %" PRIu64 " jobs", name, entries, expected);
    return 0;
}

int cj_store_verify(struct cj_store *s, char *report, size_t len)
{
    char dummy[1];
    struct report rep = {.buf = report && len ? report : dummy, .len = report && len ? len : 1};
    struct store_counts seen = {0}, counts;
    MDB_txn *txn;

    rep.buf[0] = '\0';
    if (!s)
        return -EINVAL;
    int r = store_read_begin(s, &txn);
    if (r < 0)
        return r;
    r = verify_meta(s, txn, &rep);
    if (r >= 0)
        r = verify_rows(s, txn, &seen, &rep);
    for (size_t i = 0; r >= 0 && i < _CJ_INDEX_MAX; i++)
        r = verify_index(s, txn, i, seen.total, &rep);
    if (r >= 0) {
        r = store_counts_load(s, txn, &counts);
        if (r < 0)
            problem(&rep, "meta: counters do not decode");
        else {
            if (counts.total != seen.total)
                problem(&rep, "meta: total %" PRIu64 " but %" PRIu64 " jobs stored", counts.total,
                        seen.total);
            for (size_t i = 0; i < _CJ_STATUS_MAX; i++)
                if (counts.by_status[i] != seen.by_status[i])
                    problem(&rep, "meta: %s count %" PRIu64 " but %" PRIu64 " stored",
                            status_names[i], counts.by_status[i], seen.by_status[i]);
        }
        r = 0;
    }
    store_read_end(s);
    if (r < 0)
        return r;
    if (rep.problems > VERIFY_MAX_REPORTED)
        problem(&rep, "(%u problems in all)", rep.problems - 1);
    return rep.problems ? -EUCLEAN : 0;
}
