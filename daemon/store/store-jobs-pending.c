/* SPDX-License-Identifier: MIT */
/* New jobs' `jobs` entries, put in key order when their batch commits.
 *
 * jobArns are random, so each new job's `jobs` entry lands at a random leaf, one that a large
 * store no longer has in the CPU caches: a descent from the root to learn that the job is new,
 * and its put. While full passes bring many new jobs, a job is not looked up at all when a
 * Bloom filter says it cannot be in `jobs`:
 *
 *   - `known` holds the key of every entry of `jobs` and of every pending one, so its
 *     "absent" is exact. It is built by reading `jobs` in a batch's write transaction once
 *     that batch has claimed STORE_PENDING_AFTER new jobs the slow way, every key this process
 *     puts into `jobs` afterwards is added, and it is built again at twice the size when it
 *     holds more keys than it was sized for (BLOOM_BITS_PER_KEY).
 *   - A job `known` does not hold is new: its entry waits in the batch (`pending`, with a
 *     set of the pending keys' 64-bit hashes beside it, whose rare collision only puts the
 *     entries early), and store_jobs_pending_flush, just before the batch commits, sorts the
 *     entries and puts them with one cursor, which LMDB moves along a leaf without descending
 *     again while the keys stay on it. Readers see the batch only once it commits, with its
 *     entries.
 *   - A job `known` may hold (one that is stored, or about one new job in a hundred) is
 *     looked up in `jobs` as before, after the pending entries are put if it is one of them
 *     (a job a pass listed twice in one batch).
 *   - While passes of several sources run, a new job's row and index entries wait with its
 *     entry, and are put just before the entries (store-rows-pending.c).
 *
 * `known` is exact only while this process is the store's only writer: a write transaction
 * whose id does not follow our last commit (another process wrote meanwhile) drops it, and a
 * later batch builds it again. It is freed when no full pass is running. */
#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "siphash.h"
#include "store-internal.h"

#define BLOOM_BLOCK_WORDS  8  /* a block of 512 bits, one cache line */
#define BLOOM_BITS_PER_KEY 12 /* with 6 bits a key in its block: ~1 % false "maybe" */
#define BLOOM_PROBES       6
#define BLOOM_MIN_KEYS     (256 * 1024)

/* Fixed, so that the filter's hashes need no state; nothing is stored under them. */
static const uint8_t hash_key[16] = "cj-jobs-pending";

static uint64_t splitmix64(uint64_t x)
{
    x += UINT64_C(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

static uint64_t key_hash(const MDB_val *k)
{
    return cj_siphash24(hash_key, k->mv_data, k->mv_size);
}

/* The block of hash h, and its probes' bits from a second hash, so that the keys of one
 * block differ in them. */
static uint64_t *bloom_block(const struct store_bloom *f, uint64_t h)
{
    return f->words + (h & (f->blocks - 1)) * BLOOM_BLOCK_WORDS;
}

static void bloom_add(struct store_bloom *f, uint64_t h)
{
    uint64_t *b = bloom_block(f, h), g = splitmix64(h);
    for (unsigned i = 0; i < BLOOM_PROBES; i++, g >>= 9)
        b[(g >> 6) & 7] |= UINT64_C(1) << (g & 63);
    f->keys++;
}

static bool bloom_maybe(const struct store_bloom *f, uint64_t h)
{
    const uint64_t *b = bloom_block(f, h);
    uint64_t g = splitmix64(h);
    for (unsigned i = 0; i < BLOOM_PROBES; i++, g >>= 9)
        if (!(b[(g >> 6) & 7] & (UINT64_C(1) << (g & 63))))
            return false;
    return true;
}

static void bloom_free(struct store_bloom *f)
{
    free(f->words);
    *f = (struct store_bloom){0};
}

/* An empty filter for `keys` keys at BLOOM_BITS_PER_KEY or more. */
static int bloom_init(struct store_bloom *f, size_t keys)
{
    size_t blocks = 1;
    while (blocks * BLOOM_BLOCK_WORDS * 64 < keys * BLOOM_BITS_PER_KEY)
        blocks *= 2;
    uint64_t *w = calloc(blocks * BLOOM_BLOCK_WORDS, sizeof(*w));
    if (!w)
        return -ENOMEM;
    bloom_free(f);
    f->words = w;
    f->blocks = blocks;
    f->capacity = blocks * BLOOM_BLOCK_WORDS * 64 / BLOOM_BITS_PER_KEY;
    return 0;
}

static int pending_add(struct store_jobs_pending *p, uint64_t h, const MDB_val *key,
                       const MDB_val *value)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 4096;
        struct pending_entry *e = reallocarray(p->entries, cap, sizeof(*e));
        if (!e)
            return -ENOMEM;
        p->entries = e;
        p->cap = cap;
    }
    int r = cj_hash_set_add_hash(&p->keys, h);
    if (r < 0)
        return r;
    struct pending_entry *e = &p->entries[p->n++];
    memcpy(e->key, key->mv_data, JOBS_KEY_PACKED);
    memcpy(e->value, value->mv_data, JOBS_VALUE_SIZE);
    return 0;
}

static void pending_clear(struct store_jobs_pending *p)
{
    cj_hash_set_empty(&p->keys);
    p->n = 0;
}

/* `known` anew, for `keys` keys or more: every key of `jobs` as txn sees it, and the pending
 * ones. */
static int known_build(struct cj_store *s, MDB_txn *txn, size_t keys)
{
    struct store_jobs_pending *p = &s->pending;
    MDB_stat st;
    int rc = mdb_stat(txn, s->dbi_jobs, &st);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);
    size_t want = st.ms_entries + p->n;
    if (keys < 2 * want)
        keys = 2 * want;
    size_t least = p->min_keys ? p->min_keys : BLOOM_MIN_KEYS;
    if (keys < least)
        keys = least;
    int r = bloom_init(&p->known, keys);
    if (r < 0)
        return r;

    MDB_cursor *cur;
    MDB_val k, v;
    rc = mdb_cursor_open(txn, s->dbi_jobs, &cur);
    if (rc == MDB_SUCCESS) {
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
            bloom_add(&p->known, key_hash(&k));
        mdb_cursor_close(cur);
    }
    if (rc != MDB_NOTFOUND) {
        bloom_free(&p->known);
        return store_errno(rc);
    }
    for (size_t i = 0; i < p->n; i++) {
        MDB_val pk = {.mv_size = JOBS_KEY_PACKED, .mv_data = p->entries[i].key};
        bloom_add(&p->known, key_hash(&pk));
    }
    p->last_txnid = mdb_txn_id(txn) - 1;
    log_debug("store: new jobs' entries wait for their commit (%zu keys known, room for %zu)",
              p->known.keys, p->known.capacity);
    return 0;
}

/* A key now in `jobs` or pending: `known` holds it, and is built again larger once it holds
 * more keys than it was sized for. */
static int known_add(struct cj_store *s, MDB_txn *txn, uint64_t h)
{
    struct store_jobs_pending *p = &s->pending;
    bloom_add(&p->known, h);
    if (p->known.keys <= p->known.capacity)
        return 0;
    int r = known_build(s, txn, 2 * p->known.keys);
    if (r < 0)
        bloom_free(&p->known); /* the slow way for every job until built again */
    return r == -ENOMEM ? 0 : r;
}

void store_jobs_pending_begin(struct cj_store *s, MDB_txn *txn)
{
    struct store_jobs_pending *p = &s->pending;
    p->txn_new = 0;
    if (p->known.words && mdb_txn_id(txn) != p->last_txnid + 1) {
        log_debug("store: another process wrote to the store; new jobs are looked up again");
        bloom_free(&p->known);
    }
}

void store_jobs_pending_committed(struct cj_store *s, size_t txnid)
{
    s->pending.last_txnid = txnid;
}

void store_jobs_pending_abort(struct cj_store *s)
{
    pending_clear(&s->pending);
    store_rows_pending_clear(s);
}

void store_jobs_pending_release(struct cj_store *s)
{
    struct store_jobs_pending *p = &s->pending;
    bloom_free(&p->known);
    free(p->entries);
    free(p->spare);
    cj_hash_set_clear(&p->keys);
    *p = (struct store_jobs_pending){.min_keys = p->min_keys};
    store_rows_pending_release(s);
}

/* A radix sort, the key's last byte first: one read counts each byte's values, then a stable
 * pass per byte moves the entries into the other array by that byte. A byte every key shares
 * (the partition, region and account of one source's jobs, as a rule) needs no pass. Linear
 * in the entries, where a comparison sort of a batch's 50,000 took ~16 comparisons and moves
 * an entry; the other array is kept, like the entries, while passes run. */
int store_jobs_pending_sort(struct store_jobs_pending *p)
{
    if (p->n < 2)
        return 0;
    if (p->spare_cap < p->n) {
        struct pending_entry *e = reallocarray(p->spare, p->cap, sizeof(*e));
        if (!e)
            return -ENOMEM;
        p->spare = e;
        p->spare_cap = p->cap;
    }
    uint32_t count[JOBS_KEY_PACKED][256] = {{0}};
    for (size_t i = 0; i < p->n; i++)
        for (size_t b = 0; b < JOBS_KEY_PACKED; b++)
            count[b][p->entries[i].key[b]]++;
    struct pending_entry *from = p->entries, *to = p->spare;
    for (size_t b = JOBS_KEY_PACKED; b-- > 0;) {
        if (count[b][from[0].key[b]] == p->n)
            continue;
        size_t at[256];
        for (size_t v = 0, sum = 0; v < 256; v++) {
            at[v] = sum;
            sum += count[b][v];
        }
        for (size_t i = 0; i < p->n; i++)
            to[at[from[i].key[b]]++] = from[i];
        struct pending_entry *t = from;
        from = to;
        to = t;
    }
    if (from != p->entries) {
        size_t cap = p->cap;
        p->spare = p->entries;
        p->entries = from;
        p->cap = p->spare_cap;
        p->spare_cap = cap;
    }
    return 0;
}

int store_jobs_pending_flush(struct cj_store *s, MDB_txn *txn)
{
    struct store_jobs_pending *p = &s->pending;
    /* The rows and index entries that wait with the entries first (store-rows-pending.c). */
    int r = store_rows_pending_flush(s, txn);
    if (r < 0 || !p->n) {
        pending_clear(p);
        return r;
    }
    r = store_jobs_pending_sort(p);
    if (r < 0) {
        pending_clear(p);
        return r;
    }
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(txn, s->dbi_jobs, &cur);
    for (size_t i = 0; rc == MDB_SUCCESS && i < p->n; i++) {
        MDB_val k = {.mv_size = JOBS_KEY_PACKED, .mv_data = p->entries[i].key};
        MDB_val v = {.mv_size = JOBS_VALUE_SIZE, .mv_data = p->entries[i].value};
        rc = mdb_cursor_put(cur, &k, &v, MDB_NOOVERWRITE);
    }
    if (cur)
        mdb_cursor_close(cur);
    pending_clear(p);
    if (rc == MDB_SUCCESS)
        return 0;
    /* A key `known` did not hold was in `jobs` after all: it is not exact. */
    if (rc == MDB_KEYEXIST) {
        bloom_free(&p->known);
        return log_error_errno(EUCLEAN, "store: a new job was stored already; the batch is "
                                        "given up");
    }
    return store_errno(rc);
}

int store_jobs_pending_claim(struct cj_store *s, MDB_txn *txn, const MDB_val *key,
                             const MDB_val *value)
{
    struct store_jobs_pending *p = &s->pending;
    /* Entries are pending only in a batch, and only those of packed keys. */
    if ((!p->known.words && !p->n) || txn != s->batch.txn || key->mv_size != JOBS_KEY_PACKED)
        return 0;
    uint64_t h = key_hash(key);
    if (p->known.words && !bloom_maybe(&p->known, h)) {
        int r = pending_add(p, h, key, value);
        if (r >= 0)
            r = known_add(s, txn, h);
        return r < 0 ? r : 1;
    }
    return cj_hash_set_contains_hash(&p->keys, h) ? store_jobs_pending_flush(s, txn) : 0;
}

int store_jobs_pending_note_new(struct cj_store *s, MDB_txn *txn, const MDB_val *key)
{
    struct store_jobs_pending *p = &s->pending;
    if (p->known.words)
        return known_add(s, txn, key_hash(key));
    if (txn != s->batch.txn || ++p->txn_new < STORE_PENDING_AFTER || !s->passes)
        return 0;
    int r = known_build(s, txn, 0);
    return r == -ENOMEM ? 0 : r;
}
