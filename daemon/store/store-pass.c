/* SPDX-License-Identifier: MIT */
/* Full-pass reconciliation: the 64-bit hashes of every jobArn the pass saw, in a plain
 * array (8 bytes a job; sorted once at the end), then one transaction that removes every
 * stored job whose hash is not among them. A hash collision only keeps a removed job until
 * a later pass. */
#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "store-internal.h"

struct cj_store_pass {
    struct cj_store *store; /* NULL once the store is closed */
    uint64_t *hashes;
    size_t n, cap;
    bool failed; /* out of memory: the pass cannot tell what it missed */
    bool finished;
};

int cj_store_pass_begin(struct cj_store *s, struct cj_store_pass **ret)
{
    if (!s || !ret)
        return -EINVAL;
    if (s->pass)
        return -EBUSY;
    struct cj_store_pass *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->store = s;
    s->pass = p;
    *ret = p;
    return 0;
}

void cj_store_pass_free(struct cj_store_pass *p)
{
    if (!p)
        return;
    if (p->store && p->store->pass == p)
        p->store->pass = NULL;
    free(p->hashes);
    free(p);
}

void store_pass_detach(struct cj_store *s)
{
    if (s->pass)
        s->pass->store = NULL;
    s->pass = NULL;
}

static void pass_add(struct cj_store_pass *p, uint64_t h)
{
    if (p->failed || p->finished)
        return;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap + p->cap / 2 : 1024;
        uint64_t *a = cap < SIZE_MAX / sizeof(*a) ? realloc(p->hashes, cap * sizeof(*a)) : NULL;
        if (!a) {
            log_error("store: out of memory for the full pass; it will remove nothing");
            p->failed = true;
            return;
        }
        p->hashes = a;
        p->cap = cap;
    }
    p->hashes[p->n++] = h;
}

void store_pass_note(struct cj_store *s, struct cj_store_pass *p, const char *arn, size_t len)
{
    uint64_t h = store_job_hash(arn, len);
    if (p)
        pass_add(p, h);
    if (s->pass && s->pass != p)
        pass_add(s->pass, h);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static bool pass_contains(const struct cj_store_pass *p, uint64_t h)
{
    size_t lo = 0, hi = p->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->hashes[mid] < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < p->n && p->hashes[lo] == h;
}

struct finish_ctx {
    const struct cj_store_pass *pass;
    int64_t synced_at_ns;
    size_t removed;
};

static int finish_txn(struct cj_store *s, MDB_txn *txn, void *userdata)
{
    struct finish_ctx *c = userdata;
    struct store_counts counts;
    MDB_cursor *cur;
    MDB_val k, v;

    c->removed = 0;
    int r = store_counts_load(s, txn, &counts);
    if (r < 0)
        return r;
    int rc = mdb_cursor_open(txn, s->dbi_jobs, &cur);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);

    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (pass_contains(c->pass, store_job_hash(k.mv_data, k.mv_size)))
            continue;

        struct store_row row;
        char arn[CJ_JOB_ARN_MAX];
        uint8_t tkey[INDEX_KEY_MAX];
        MDB_val tk = {.mv_data = tkey}, row_v;
        size_t arn_len = k.mv_size;
        /* `jobs` is small (jobArn -> time): only the rows of unseen jobs are read. */
        if (store_row_key(&v, k.mv_data, k.mv_size, tkey, &tk.mv_size) < 0 ||
            mdb_get(txn, s->dbi_index[CJ_INDEX_TIME], &tk, &row_v) != MDB_SUCCESS ||
            store_row_decode(row_v.mv_data, row_v.mv_size, &row) < 0) {
            r = log_error_errno(EUCLEAN, "store: a damaged row blocks the pass; run verify");
            break;
        }
        memcpy(arn, k.mv_data, arn_len);
        /* Copied out before the first write can move the page it lies on. */
        cj_buf_reset(&s->scratch);
        r = cj_buf_append(&s->scratch, row.json, row.json_len);
        if (r >= 0)
            r = store_unindex_row(s, txn, arn, arn_len, &row, &counts);
        if (r >= 0)
            r = store_event_append(s, txn, CJ_EVENT_REMOVED, s->scratch.data, s->scratch.len);
        if (r < 0)
            break;
        /* The cursor then stands on the next row, which MDB_NEXT returns. */
        rc = mdb_cursor_del(cur, 0);
        if (rc != MDB_SUCCESS) {
            r = store_errno(rc);
            break;
        }
        c->removed++;
    }
    mdb_cursor_close(cur);
    if (r < 0)
        return r;
    if (rc != MDB_NOTFOUND)
        return store_errno(rc);
    if (c->removed > 0) {
        r = store_counts_save(s, txn, &counts);
        if (r < 0)
            return r;
    }
    return store_meta_put_i64(s, txn, META_SYNCED_AT, c->synced_at_ns);
}

int cj_store_pass_finish(struct cj_store *s, struct cj_store_pass *p, bool complete,
                         int64_t synced_at_ns, struct cj_store_changes *changes)
{
    if (!s || !p || p->store != s)
        return -EINVAL;
    if (p->finished)
        return -EALREADY;
    p->finished = true;
    if (s->pass == p)
        s->pass = NULL;
    if (!complete)
        return 0;
    if (p->failed)
        return -ENOMEM;

    if (p->n > 0)
        qsort(p->hashes, p->n, sizeof(*p->hashes), cmp_u64);
    struct finish_ctx c = {.pass = p, .synced_at_ns = synced_at_ns};
    int r = store_write(s, finish_txn, &c);
    if (r < 0)
        return r;
    if (c.removed > 0)
        log_info("store: full pass removed %zu job(s) no longer listed", c.removed);
    if (changes)
        changes->removed += c.removed;
    return 0;
}
