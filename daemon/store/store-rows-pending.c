/* SPDX-License-Identifier: MIT */
/* New jobs' rows, put in key order when their batch commits, while full passes of more than
 * one source run.
 *
 * A row's key is its creationTime then its jobArn, in the database of its status, and a full
 * pass lists oldest first: one pass's new rows arrive past the last key and append, and
 * MDB_APPEND fills each page. Passes of several sources running side by side each cover the
 * same span of time at their own pace, so a page of one source lands among the rows that the
 * other sources' pages put just before it, and LMDB splits a full page at its middle for an
 * insert anywhere but at its end: such a store's rows were left about half full.
 *
 * So while more than one pass runs, the row of a new job whose `jobs` entry is pending
 * (store-jobs-pending.c) is copied aside instead of put. Before the batch commits, the rows
 * are sorted by database and key and put with one cursor per database: the run past the
 * database's last key appended, the keys before it (a batch that begins inside the span of
 * the one before) put in order. A row is pending only while its job's `jobs` entry is, and
 * store_jobs_pending_flush puts both, so nothing looks for a row that is not there yet: a
 * job listed twice in one batch finds its entry pending, which puts them first. Rows past
 * STORE_ROWS_PENDING_BYTES in one batch are put at once, as with a single pass. */
#include <errno.h>
#include <stdlib.h>

#include "byte-order.h"
#include "store-internal.h"

bool store_rows_pending_wanted(const struct cj_store *s, MDB_txn *txn)
{
    return txn == s->batch.txn && store_passes_several(s);
}

int store_rows_pending_add(struct cj_store *s, unsigned db, const MDB_val *key,
                           const MDB_val *value)
{
    struct store_rows_pending *p = &s->rows_pending;
    if (key->mv_size < TIME_KEY_SIZE || key->mv_size > UINT16_MAX || value->mv_size > UINT32_MAX)
        return 0;
    if (p->bytes.len + key->mv_size + value->mv_size > STORE_ROWS_PENDING_BYTES)
        return 0;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 4096;
        struct pending_row *r = reallocarray(p->rows, cap, sizeof(*r));
        if (!r)
            return -ENOMEM;
        p->rows = r;
        p->cap = cap;
    }
    p->bytes.limit = STORE_ROWS_PENDING_BYTES + 1;
    size_t at = p->bytes.len;
    int r = cj_buf_append(&p->bytes, key->mv_data, key->mv_size);
    if (r >= 0)
        r = cj_buf_append(&p->bytes, value->mv_data, value->mv_size);
    if (r < 0) {
        p->bytes.len = at;
        return r;
    }
    p->rows[p->n++] = (struct pending_row){.time = get_be64(key->mv_data),
                                           .at = at,
                                           .value_len = (uint32_t)value->mv_size,
                                           .key_len = (uint16_t)key->mv_size,
                                           .db = (uint8_t)db};
    return 1;
}

/* Database, then key as memcmp orders it (the rows' databases have LMDB's default order):
 * the time, then the rest, a shorter key first when one begins the other. */
static int row_cmp(const void *a, const void *b, void *arg)
{
    const struct pending_row *x = a, *y = b;
    const uint8_t *bytes = arg;
    if (x->db != y->db)
        return x->db < y->db ? -1 : 1;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    size_t xl = x->key_len - TIME_KEY_SIZE, yl = y->key_len - TIME_KEY_SIZE;
    int c = memcmp(bytes + x->at + TIME_KEY_SIZE, bytes + y->at + TIME_KEY_SIZE, xl < yl ? xl : yl);
    if (c)
        return c;
    return (xl > yl) - (xl < yl);
}

/* Puts rows[0..n) (sorted, one database's) with one cursor. */
static int put_sorted(MDB_txn *txn, MDB_dbi dbi, const uint8_t *bytes,
                      const struct pending_row *rows, size_t n)
{
    MDB_cursor *cur;
    MDB_val last, unused;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc != MDB_SUCCESS)
        return rc;
    rc = mdb_cursor_get(cur, &last, &unused, MDB_LAST);
    size_t past = 0;
    if (rc == MDB_SUCCESS)
        /* `last` points into the map: it is compared before the first put. */
        for (; past < n; past++) {
            MDB_val k = {.mv_size = rows[past].key_len, .mv_data = (void *)(bytes + rows[past].at)};
            if (mdb_cmp(txn, dbi, &k, &last) > 0)
                break;
        }
    else if (rc == MDB_NOTFOUND)
        rc = MDB_SUCCESS;
    for (size_t i = 0; rc == MDB_SUCCESS && i < n; i++) {
        const struct pending_row *r = &rows[i];
        MDB_val k = {.mv_size = r->key_len, .mv_data = (void *)(bytes + r->at)};
        MDB_val v = {.mv_size = r->value_len, .mv_data = (void *)(bytes + r->at + r->key_len)};
        rc = mdb_cursor_put(cur, &k, &v, i < past ? 0 : MDB_APPEND);
    }
    mdb_cursor_close(cur);
    return rc;
}

/* When database db's stored rows from its smallest pending key on are no more than its
 * pending rows, takes them out and makes them pending too, so that every row from there on
 * is put appending. Those rows are, as a rule, the ones the batch before put for the same
 * span of time (it ended between two sources' pages): put again among this batch's, they
 * fill their pages where inserts would split them in half. Rewriting more than the batch
 * holds would cost more than it packs. */
static int take_tail(struct cj_store *s, MDB_txn *txn, unsigned db, size_t first, size_t pending)
{
    struct store_rows_pending *p = &s->rows_pending;
    MDB_dbi dbi = s->dbi_rows[db];
    uint8_t from[INDEX_KEY_MAX];
    MDB_val k = {.mv_size = p->rows[first].key_len, .mv_data = from}, v;
    MDB_cursor *cur;
    memcpy(from, p->bytes.data + p->rows[first].at, k.mv_size);

    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);
    size_t tail = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == MDB_SUCCESS && tail <= 4 * pending;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        tail++;
    int r = 0;
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
        r = store_errno(rc);
    else if (tail > 0 && tail <= 4 * pending)
        /* Each row is copied out before it is deleted: k and v point into the map. Past
         * STORE_ROWS_PENDING_BYTES the rest stays where it is. */
        for (;;) {
            k = (MDB_val){.mv_size = p->rows[first].key_len, .mv_data = from};
            rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
            if (rc != MDB_SUCCESS) {
                r = rc == MDB_NOTFOUND ? 0 : store_errno(rc);
                break;
            }
            r = store_rows_pending_add(s, db, &k, &v);
            if (r <= 0)
                break;
            r = store_errno(mdb_cursor_del(cur, 0));
            if (r < 0)
                break;
        }
    mdb_cursor_close(cur);
    return r;
}

int store_rows_pending_flush(struct cj_store *s, MDB_txn *txn)
{
    struct store_rows_pending *p = &s->rows_pending;
    if (!p->n)
        return 0;
    /* Each database's smallest pending row, and how many it has. */
    size_t first[STORE_ROWS_DBS], count[STORE_ROWS_DBS] = {0};
    for (size_t i = 0; i < p->n; i++) {
        unsigned d = p->rows[i].db;
        if (!count[d]++ || row_cmp(&p->rows[i], &p->rows[first[d]], p->bytes.data) < 0)
            first[d] = i;
    }
    int r = 0;
    for (unsigned d = 0; r >= 0 && d < STORE_ROWS_DBS; d++)
        if (count[d])
            r = take_tail(s, txn, d, first[d], count[d]);
    if (r < 0) {
        /* Rows already taken out are pending: a batch that loses them is given up whole. */
        store_rows_pending_clear(s);
        return r;
    }
    const uint8_t *bytes = (const uint8_t *)p->bytes.data;
    qsort_r(p->rows, p->n, sizeof(*p->rows), row_cmp, (void *)bytes);
    int rc = MDB_SUCCESS;
    for (size_t i = 0, j; rc == MDB_SUCCESS && i < p->n; i = j) {
        for (j = i + 1; j < p->n && p->rows[j].db == p->rows[i].db;)
            j++;
        rc = put_sorted(txn, s->dbi_rows[p->rows[i].db], bytes, p->rows + i, j - i);
    }
    store_rows_pending_clear(s);
    return store_errno(rc);
}

void store_rows_pending_clear(struct cj_store *s)
{
    s->rows_pending.n = 0;
    cj_buf_reset(&s->rows_pending.bytes);
}

void store_rows_pending_release(struct cj_store *s)
{
    struct store_rows_pending *p = &s->rows_pending;
    free(p->rows);
    cj_buf_free(&p->bytes);
    *p = (struct store_rows_pending){0};
}
