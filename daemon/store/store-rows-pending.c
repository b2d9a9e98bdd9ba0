/* SPDX-License-Identifier: MIT */
/* New jobs' rows and secondary index entries, put in key order when their batch commits,
 * while full passes of more than one source run.
 *
 * A row's key is its creationTime then its jobArn, in the database of its status, and a
 * secondary index entry is a sorted duplicate (that key, then the status) under its prefix
 * (store-index.c). A full pass lists oldest first, so one pass's new rows arrive past the
 * last key, and its entries past each prefix's last duplicate: they append, and MDB_APPEND
 * (MDB_APPENDDUP) fills each page. Passes of several sources running side by side each cover
 * the same span of time at their own pace, so a page of one source lands among the rows and
 * entries the other sources' pages put just before it, and LMDB splits a full page at its
 * middle for an insert anywhere but at its end: put as they come, they leave it half full.
 *
 * So while more than one pass runs, the row and entries of a new job whose `jobs` entry is
 * pending (store-jobs-pending.c) are copied aside instead of put. Before the batch commits,
 * they are sorted by database, key and value and put with one cursor a database: each run
 * past the last key (of the rows) or past the last duplicate (of an index prefix) appended,
 * what lies before it put in order. Before that, the rows (duplicates) the store holds from
 * a run's first pending key (duplicate) on are taken out and made pending too when they are
 * no more than TAIL_FACTOR times the run's pending ones, so that the whole run appends: they
 * are, as a rule, what the batch before put for the same span of time when it ended between
 * two sources' pages, and put again among this batch's they fill their pages where inserts
 * would split them in half; more would cost more than it packs.
 *
 * A row or entry is pending only while its job's `jobs` entry is, and store_jobs_pending_flush
 * puts them first, so nothing looks for one that is not there yet: a job listed twice in one
 * batch finds its entry pending, which puts them all. What would take the pending bytes past
 * STORE_ROWS_PENDING_BYTES, or what there is no memory to hold, is put at once, as with a
 * single pass: it only packs less. A batch given up (an error, a full map) drops what waits
 * with it, taken-out rows included, which its aborted transaction still holds. */
#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "store-internal.h"

#define TAIL_FACTOR 4

bool store_rows_pending_wanted(const struct cj_store *s, MDB_txn *txn)
{
    return txn == s->batch.txn && store_passes_several(s);
}

static bool is_index(unsigned target)
{
    return target >= STORE_ROWS_DBS;
}

static MDB_dbi target_dbi(const struct cj_store *s, unsigned target)
{
    return is_index(target) ? s->dbi_index[target - STORE_ROWS_DBS] : s->dbi_rows[target];
}

bool store_rows_pending_add(struct cj_store *s, unsigned target, const MDB_val *key,
                            const MDB_val *value)
{
    struct store_rows_pending *p = &s->rows_pending;
    if (key->mv_size > UINT16_MAX || value->mv_size > UINT32_MAX ||
        p->bytes.len + key->mv_size + value->mv_size > STORE_ROWS_PENDING_BYTES)
        return false;
    /* Without memory for it, the put is made at once: it only packs less. */
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 4096;
        struct pending_put *e = reallocarray(p->puts, cap, sizeof(*e));
        if (!e)
            return false;
        p->puts = e;
        p->cap = cap;
    }
    size_t at = p->bytes.len;
    int r = cj_buf_append(&p->bytes, key->mv_data, key->mv_size);
    if (r >= 0)
        r = cj_buf_append(&p->bytes, value->mv_data, value->mv_size);
    if (r < 0) {
        p->bytes.len = at;
        return false;
    }
    p->puts[p->n++] = (struct pending_put){.at = at,
                                           .value_len = (uint32_t)value->mv_size,
                                           .key_len = (uint16_t)key->mv_size,
                                           .target = (uint8_t)target};
    return true;
}

static int bytes_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al > bl) - (al < bl);
}

/* Target, then key, then value, each as memcmp orders it, a shorter one first when one begins
 * the other: LMDB's default order of keys and of duplicates, which the rows' databases and
 * the indexes have. */
static int put_cmp(const void *a, const void *b, void *arg)
{
    const struct pending_put *x = a, *y = b;
    const uint8_t *bytes = arg;
    if (x->target != y->target)
        return x->target < y->target ? -1 : 1;
    int c = bytes_cmp(bytes + x->at, x->key_len, bytes + y->at, y->key_len);
    if (c)
        return c;
    return bytes_cmp(bytes + x->at + x->key_len, x->value_len, bytes + y->at + y->key_len,
                     y->value_len);
}

static MDB_val put_key(const struct store_rows_pending *p, const struct pending_put *e)
{
    return (MDB_val){.mv_size = e->key_len, .mv_data = p->bytes.data + e->at};
}

static MDB_val put_value(const struct store_rows_pending *p, const struct pending_put *e)
{
    return (MDB_val){.mv_size = e->value_len, .mv_data = p->bytes.data + e->at + e->key_len};
}

/* The end of the run that begins at puts[i], at most `end`: the rows of one database, or the
 * entries of one index prefix. */
static size_t run_end(const struct store_rows_pending *p, size_t i, size_t end)
{
    const struct pending_put *a = &p->puts[i];
    size_t j = i + 1;
    for (; j < end && p->puts[j].target == a->target; j++)
        if (is_index(a->target) &&
            bytes_cmp((const uint8_t *)p->bytes.data + a->at, a->key_len,
                      (const uint8_t *)p->bytes.data + p->puts[j].at, p->puts[j].key_len) != 0)
            break;
    return j;
}

/* Positions cur at the first of the run's stored rows (duplicates) from `from` on. */
static int tail_first(MDB_cursor *cur, bool index, MDB_val *key, MDB_val *from, MDB_val *k,
                      MDB_val *v)
{
    if (index) {
        *k = *key;
        *v = *from;
        return mdb_cursor_get(cur, k, v, MDB_GET_BOTH_RANGE);
    }
    *k = *from;
    return mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
}

/* Takes out the run's tail (the top of this file): 0 or a negative errno. */
static int take_tail(struct cj_store *s, MDB_txn *txn, size_t first, size_t pending)
{
    struct store_rows_pending *p = &s->rows_pending;
    const struct pending_put *e = &p->puts[first];
    const unsigned target = e->target;
    const bool index = is_index(target);
    /* Copies: the pending bytes move as the tail is added to them. */
    uint8_t key_buf[INDEX_KEY_MAX], from_buf[INDEX_KEY_MAX];
    MDB_val key = put_key(p, e), from = index ? put_value(p, e) : key, k, v;
    if (key.mv_size > sizeof(key_buf) || from.mv_size > sizeof(from_buf))
        return 0;
    key = (MDB_val){.mv_size = key.mv_size, .mv_data = memcpy(key_buf, key.mv_data, key.mv_size)};
    from =
        (MDB_val){.mv_size = from.mv_size, .mv_data = memcpy(from_buf, from.mv_data, from.mv_size)};

    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, target_dbi(s, target), &cur);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);
    size_t tail = 0;
    for (rc = tail_first(cur, index, &key, &from, &k, &v);
         rc == MDB_SUCCESS && tail <= TAIL_FACTOR * pending;
         rc = mdb_cursor_get(cur, &k, &v, index ? MDB_NEXT_DUP : MDB_NEXT))
        tail++;
    int r = rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? 0 : store_errno(rc);
    if (r == 0 && tail > 0 && tail <= TAIL_FACTOR * pending)
        /* Each is copied out before it is deleted: k and v point into the map. */
        for (;;) {
            rc = tail_first(cur, index, &key, &from, &k, &v);
            if (rc != MDB_SUCCESS) {
                r = rc == MDB_NOTFOUND ? 0 : store_errno(rc);
                break;
            }
            if (!store_rows_pending_add(s, target, &k, &v))
                break; /* the rest stays where it is */
            r = store_errno(mdb_cursor_del(cur, 0));
            if (r < 0)
                break;
        }
    mdb_cursor_close(cur);
    return r;
}

/* Puts the run puts[i..j) (sorted) with one cursor: past the last stored key (duplicate)
 * appending, before it in order. LMDB's code. */
static int put_run(struct cj_store *s, MDB_txn *txn, size_t i, size_t j)
{
    struct store_rows_pending *p = &s->rows_pending;
    const unsigned target = p->puts[i].target;
    const bool index = is_index(target);
    MDB_val key = put_key(p, &p->puts[i]), k, last;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, target_dbi(s, target), &cur);
    if (rc != MDB_SUCCESS)
        return rc;
    if (index) {
        k = key;
        rc = mdb_cursor_get(cur, &k, &last, MDB_SET_KEY);
        if (rc == MDB_SUCCESS)
            rc = mdb_cursor_get(cur, &k, &last, MDB_LAST_DUP);
    } else
        rc = mdb_cursor_get(cur, &last, &k, MDB_LAST);
    size_t past = i;
    if (rc == MDB_SUCCESS)
        /* `last` points into the map: it is compared before the first put. */
        for (; past < j; past++) {
            MDB_val x = index ? put_value(p, &p->puts[past]) : put_key(p, &p->puts[past]);
            if ((index ? mdb_dcmp(txn, target_dbi(s, target), &x, &last)
                       : mdb_cmp(txn, target_dbi(s, target), &x, &last)) > 0)
                break;
        }
    else if (rc == MDB_NOTFOUND)
        rc = MDB_SUCCESS;
    const unsigned append = index ? MDB_APPENDDUP : MDB_APPEND;
    for (size_t e = i; rc == MDB_SUCCESS && e < j; e++) {
        MDB_val v = put_value(p, &p->puts[e]);
        k = put_key(p, &p->puts[e]);
        rc = mdb_cursor_put(cur, &k, &v, e < past ? 0 : append);
    }
    mdb_cursor_close(cur);
    return rc;
}

int store_rows_pending_flush(struct cj_store *s, MDB_txn *txn)
{
    struct store_rows_pending *p = &s->rows_pending;
    if (!p->n)
        return 0;
    /* A batch's page that finds a job of the pending ones: the run's cursors stand where
     * these puts and deletes may move pages; its next puts open them again. */
    store_run_cursors_drop(s);
    qsort_r(p->puts, p->n, sizeof(*p->puts), put_cmp, p->bytes.data);
    const size_t sorted = p->n;
    int r = 0;
    for (size_t i = 0, j; r >= 0 && i < sorted; i = j) {
        j = run_end(p, i, sorted);
        r = take_tail(s, txn, i, j - i);
    }
    if (r >= 0 && p->n > sorted)
        qsort_r(p->puts, p->n, sizeof(*p->puts), put_cmp, p->bytes.data);
    for (size_t i = 0, j; r >= 0 && i < p->n; i = j) {
        j = run_end(p, i, p->n);
        r = store_errno(put_run(s, txn, i, j));
    }
    if (r >= 0)
        log_debug("store: %zu rows and index entries put in key order (%zu bytes), %zu of them "
                  "taken out to be put again",
                  p->n, p->bytes.len, p->n - sorted);
    /* On failure what was taken out is lost with the pending rest: the batch is given up. */
    store_rows_pending_clear(s);
    return r;
}

void store_rows_pending_clear(struct cj_store *s)
{
    s->rows_pending.n = 0;
    cj_buf_reset(&s->rows_pending.bytes);
}

void store_rows_pending_release(struct cj_store *s)
{
    struct store_rows_pending *p = &s->rows_pending;
    free(p->puts);
    cj_buf_free(&p->bytes);
    *p = (struct store_rows_pending){0};
}
