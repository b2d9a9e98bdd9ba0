/* SPDX-License-Identifier: MIT */
/* The secondary indexes' entries, as sorted duplicates under their prefix. */
#include <errno.h>

#include "store-internal.h"

static size_t dup_of(enum cj_index i, const uint8_t *key, size_t size, uint8_t status,
                     uint8_t out[INDEX_DUP_MAX], MDB_val *k, MDB_val *d)
{
    size_t plen = store_index_prefix_len(i);
    size_t n = size - plen;
    memcpy(out, key + plen, n);
    out[n] = status;
    *k = (MDB_val){.mv_size = plen, .mv_data = (void *)key};
    *d = (MDB_val){.mv_size = n + 1, .mv_data = out};
    return n + 1;
}

/* A put through a cursor that still stands on the entry's prefix skips the descent to it:
 * mdb_cursor_set looks at the cursor's page first. */
static int put_entry(struct cj_store *s, MDB_txn *txn, enum cj_index i, MDB_val *k, MDB_val *d,
                     unsigned flags)
{
    MDB_cursor *cur;
    int rc = store_run_cursor(s, txn, s->dbi_index[i], &s->index_cursor[i], &cur);
    if (rc != MDB_SUCCESS)
        return rc;
    return cur ? mdb_cursor_put(cur, k, d, flags) : mdb_put(txn, s->dbi_index[i], k, d, flags);
}

int store_index_add(struct cj_store *s, MDB_txn *txn, enum cj_index i, const uint8_t *key,
                    size_t size, uint8_t status)
{
    uint8_t dup[INDEX_DUP_MAX];
    MDB_val k, d;
    dup_of(i, key, size, status, dup, &k, &d);
    /* Entries arrive in time order within each prefix: appending fills each prefix's pages.
     * A refused append costs a descent, so after one the rest of the transaction puts. */
    if (!(s->no_append & (1u << i))) {
        int rc = put_entry(s, txn, i, &k, &d, MDB_APPENDDUP);
        if (rc != MDB_KEYEXIST)
            return rc;
        s->no_append |= 1u << i;
    }
    return put_entry(s, txn, i, &k, &d, 0);
}

bool store_index_add_pending(struct cj_store *s, enum cj_index i, const uint8_t *key, size_t size,
                             uint8_t status)
{
    uint8_t dup[INDEX_DUP_MAX];
    MDB_val k, d;
    dup_of(i, key, size, status, dup, &k, &d);
    return store_rows_pending_add(s, STORE_ROWS_DBS + (unsigned)i, &k, &d);
}

int store_index_remove(struct cj_store *s, MDB_txn *txn, enum cj_index i, const uint8_t *key,
                       size_t size, uint8_t status)
{
    uint8_t dup[INDEX_DUP_MAX];
    MDB_val k, d;
    dup_of(i, key, size, status, dup, &k, &d);
    MDB_cursor *cur;
    int rc = store_run_cursor(s, txn, s->dbi_index[i], &s->index_cursor[i], &cur);
    if (rc != MDB_SUCCESS)
        return rc;
    rc = cur ? mdb_cursor_get(cur, &k, &d, MDB_GET_BOTH) : mdb_del(txn, s->dbi_index[i], &k, &d);
    if (cur && rc == MDB_SUCCESS)
        rc = mdb_cursor_del(cur, 0);
    return rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
}

int store_index_find(MDB_txn *txn, MDB_dbi dbi, enum cj_index i, const uint8_t *key, size_t size,
                     uint8_t status)
{
    uint8_t dup[INDEX_DUP_MAX];
    MDB_val k, d;
    MDB_cursor *cur;
    dup_of(i, key, size, status, dup, &k, &d);
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc != MDB_SUCCESS)
        return rc;
    rc = mdb_cursor_get(cur, &k, &d, MDB_GET_BOTH);
    mdb_cursor_close(cur);
    return rc;
}
