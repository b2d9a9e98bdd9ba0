/* SPDX-License-Identifier: MIT */
/* Full-pass reconciliation: the 64-bit hashes of every jobArn the pass saw, in a plain
 * array (8 bytes a job; indexed once at the end, below), then one transaction that compares
 * the stored jobs with them. A job a complete pass did not see is only noted in `missed`; the
 * next complete pass that misses it too removes it, unless the guard holds: one listing
 * that went wrong (a filter, a partial answer taken for a whole one) must not empty the
 * cache. A hash collision only keeps a removed job until a later pass. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/prctl.h>

#include "log.h"
#include "store-internal.h"

struct cj_store_pass {
    struct cj_store *store;     /* NULL once the store is closed */
    struct cj_store_pass *next; /* in store->passes */
    char source[CJ_SOURCE_NAME_MAX + 1];
    uint64_t *hashes;
    size_t n, cap;
    /* Once indexed (pass_index): where the hashes whose top bits are k begin, for each k, and
     * where the last ones end; NULL when the hashes are only sorted. */
    uint32_t *dir;
    unsigned dir_shift;
    bool failed;    /* out of memory: the pass cannot tell what it missed */
    uint64_t batch; /* the latest batch it wrote a page into */
    int lost;       /* the error that lost one of its pages, or 0 */
    bool finished;
    uint32_t max_removal_share_bp;
    struct cj_store_pass_result result;
};

struct cj_store_pass *store_pass_of(struct cj_store *s, const char *source)
{
    for (struct cj_store_pass *p = s->passes; p; p = p->next)
        if (strcmp(p->source, source) == 0)
            return p;
    return NULL;
}

bool store_passes_several(const struct cj_store *s)
{
    return s->passes && s->passes->next;
}

/* Transparent huge pages for the process while a full pass runs, none between passes. A pass
 * mallocs a page for each page its batches dirty, and with malloc's heap advised for huge
 * pages (the unit's GLIBC_TUNABLES) one fault maps 512 of them. Between passes the heap has
 * been trimmed, and a huge page faulted in for a small allocation there would keep 2 MiB
 * resident. A kernel without THP refuses the prctl; nothing else depends on it. */
static void pass_huge_pages(const struct cj_store *s)
{
    static bool refused;
    if (!refused && prctl(PR_SET_THP_DISABLE, s->passes ? 0 : 1, 0, 0, 0) < 0) {
        refused = true;
        log_debug_errno(errno, "store: transparent huge pages cannot be switched: %m");
    }
}

int cj_store_pass_begin(struct cj_store *s, const char *source, struct cj_store_pass **ret)
{
    assert(s);
    assert(ret);
    if (!cj_valid_source_name(source))
        return -EINVAL;
    if (store_pass_of(s, source))
        return -EBUSY;
    struct cj_store_pass *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->store = s;
    strcpy(p->source, source);
    p->max_removal_share_bp = CJ_STORE_REMOVAL_SHARE_DEFAULT_BP;
    p->next = s->passes;
    s->passes = p;
    if (!p->next)
        pass_huge_pages(s);
    *ret = p;
    return 0;
}

/* Takes p off its store's list of running passes. The last one ends the huge pages and gives
 * back the memory that new jobs' entries took, unless a batch still holds some of them. */
static void pass_unlink(struct cj_store_pass *p)
{
    struct cj_store *s = p->store;
    if (!s)
        return;
    for (struct cj_store_pass **at = &s->passes; *at; at = &(*at)->next)
        if (*at == p) {
            *at = p->next;
            break;
        }
    p->next = NULL;
    if (s->passes)
        return;
    pass_huge_pages(s);
    if (!s->batch.txn)
        store_jobs_pending_release(s);
}

void cj_store_pass_free(struct cj_store_pass *p)
{
    if (!p)
        return;
    pass_unlink(p);
    free(p->hashes);
    free(p->dir);
    free(p);
}

void store_pass_wrote(struct cj_store *s, struct cj_store_pass *p)
{
    p->batch = s->batch.id;
}

void store_passes_batch_lost(struct cj_store *s, uint64_t id, int error)
{
    for (struct cj_store_pass *p = s->passes; p; p = p->next)
        if (p->batch == id && p->lost == 0)
            p->lost = error;
}

void store_pass_detach(struct cj_store *s)
{
    for (struct cj_store_pass *p = s->passes, *next; p; p = next) {
        next = p->next;
        p->store = NULL;
        p->next = NULL;
    }
    s->passes = NULL;
    pass_huge_pages(s);
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

void store_pass_note(struct cj_store *s, struct cj_store_pass *p, const char *source,
                     const char *arn, size_t len)
{
    if (!p && s->passes)
        p = store_pass_of(s, source);
    if (p)
        pass_add(p, store_job_hash(arn, len));
}

int cj_store_pass_set_removal_limit(struct cj_store_pass *p, uint32_t max_share_bp)
{
    if (!p || max_share_bp > 10000)
        return -EINVAL;
    p->max_removal_share_bp = max_share_bp;
    return 0;
}

int cj_store_pass_saw(struct cj_store *s, struct cj_store_pass *p, const char *job_arn)
{
    assert(s);
    assert(job_arn);
    size_t len = strlen(job_arn);
    if (len == 0 || len > CJ_JOB_ARN_MAX)
        return -EINVAL;
    if (p)
        pass_add(p, store_job_hash(job_arn, len));
    return 0;
}

void cj_store_pass_get_result(const struct cj_store_pass *p, struct cj_store_pass_result *ret)
{
    *ret = p ? p->result : (struct cj_store_pass_result){0};
}

bool cj_store_removal_allowed(uint64_t removals, uint64_t total, uint32_t max_share_bp)
{
    if (removals <= CJ_STORE_REMOVAL_FLOOR)
        return true;
    /* removals / total <= bp / 10000, without division; both sides stay far below 2^64. */
    return (unsigned __int128)removals * 10000 <= (unsigned __int128)total * max_share_bp;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void sort_run(uint64_t *a, size_t n)
{
    if (n > 32) {
        qsort(a, n, sizeof(*a), cmp_u64);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        uint64_t x = a[i];
        size_t j = i;
        for (; j > 0 && a[j - 1] > x; j--)
            a[j] = a[j - 1];
        a[j] = x;
    }
}

/* Makes the seen set searchable, once the pass is over. The pass end looks up every stored
 * job of the source (a million at a million jobs), and a binary search of the whole array
 * misses the cache at each of its ~20 steps. So the hashes are counting-sorted by their top
 * bits (about one directory slot per 8 hashes), each slot's run sorted, and a lookup reads
 * the slot and then its run, a line or two. The hashes are uniform for any jobArns but chosen
 * ones, and those only lengthen some runs: a run is sorted by qsort past 32 and searched by
 * bisection, so no input costs more than sorting the whole array. Out of memory, the array is
 * sorted in place and searched whole. */
static void pass_index(struct cj_store_pass *p)
{
    unsigned bits = 1;
    while (bits < 20 && ((size_t)1 << (bits + 3)) < p->n)
        bits++;
    size_t slots = (size_t)1 << bits;
    uint32_t *dir = p->n <= UINT32_MAX ? calloc(slots + 1, sizeof(*dir)) : NULL;
    uint64_t *sorted = dir ? malloc(p->n * sizeof(*sorted)) : NULL;
    if (!sorted) {
        free(dir);
        qsort(p->hashes, p->n, sizeof(*p->hashes), cmp_u64);
        return;
    }
    unsigned shift = 64 - bits;
    for (size_t i = 0; i < p->n; i++)
        dir[(p->hashes[i] >> shift) + 1]++;
    for (size_t k = 0; k < slots; k++)
        dir[k + 1] += dir[k];
    /* dir[k] serves as slot k's cursor, ending where slot k + 1 begins; shifted back after. */
    for (size_t i = 0; i < p->n; i++)
        sorted[dir[p->hashes[i] >> shift]++] = p->hashes[i];
    memmove(dir + 1, dir, slots * sizeof(*dir));
    dir[0] = 0;
    for (size_t k = 0; k < slots; k++)
        sort_run(sorted + dir[k], dir[k + 1] - dir[k]);
    free(p->hashes);
    p->hashes = sorted;
    p->cap = p->n;
    p->dir = dir;
    p->dir_shift = shift;
}

static bool pass_contains(const struct cj_store_pass *p, uint64_t h)
{
    size_t lo = 0, hi = p->n;
    if (p->dir) {
        lo = p->dir[h >> p->dir_shift];
        hi = p->dir[(h >> p->dir_shift) + 1];
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->hashes[mid] < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < p->n && p->hashes[lo] == h;
}

/* The pass end looks every stored job of the source up in the seen set, at a million two
 * cache misses each: the directory's slot, then the slot's run. So the walk's jobArns wait in
 * a ring, in order: a job's slot is fetched as it arrives, its run UNLISTED_RING / 2 jobs
 * later, and it is looked up UNLISTED_RING jobs later, when both are in the cache. */
#define UNLISTED_RING 16
struct unlisted_ring {
    size_t head, n; /* the oldest job's place, and how many wait */
    struct {
        uint64_t hash;
        size_t len;
        char arn[CJ_JOB_ARN_MAX];
    } job[UNLISTED_RING];
};

struct finish_ctx {
    const struct cj_store_pass *pass;
    int64_t synced_at_ns;
    struct cj_store_pass_result result;
    /* jobArns the pass did not see (store_arn_list_add()'s): those the complete pass before
     * missed too (doomed), and the others (fresh). */
    struct cj_buf doomed, fresh;
    size_t n_doomed, n_fresh;
    struct store_tally tally;
    struct cj_store *s; /* and the transaction, for sort_unlisted */
    MDB_txn *txn;
    struct unlisted_ring ring;
};

static uint32_t missed_count(const MDB_val *v)
{
    const uint8_t *p = v->mv_data;
    return v->mv_size == 4
               ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
               : 1;
}

/* One more complete pass that did not list the job. */
static int mark_missed(struct cj_store *s, MDB_txn *txn, const char *arn, size_t len, void *u)
{
    MDB_val k = {.mv_size = len, .mv_data = (void *)arn}, v;
    uint32_t n = 0;
    int rc = mdb_get(txn, s->dbi_missed, &k, &v);
    if (rc == MDB_SUCCESS)
        n = missed_count(&v);
    else if (rc != MDB_NOTFOUND)
        return store_errno(rc);
    if (n < UINT32_MAX)
        n++;
    uint8_t b[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24)};
    v = (MDB_val){.mv_size = sizeof(b), .mv_data = b};
    return store_errno(mdb_put(txn, s->dbi_missed, &k, &v, 0));
}

static int remove_one(struct cj_store *s, MDB_txn *txn, const char *arn, size_t len, void *u)
{
    return store_remove_job(s, txn, arn, len, u);
}

/* 1 when the job of a `missed` key is stored, 0 when not, or a negative errno. */
static int is_stored(struct cj_store *s, MDB_txn *txn, const MDB_val *arn)
{
    MDB_val v;
    int r = store_jobs_get(s, txn, arn->mv_data, arn->mv_size, &v);
    return r >= 0 ? 1 : r == -ENOENT ? 0 : r;
}

/* Forgets the misses of jobs this pass saw, and of jobs no longer stored. */
static int forget_seen(struct cj_store *s, MDB_txn *txn, const struct cj_store_pass *pass)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int r = 0;
    int rc = mdb_cursor_open(txn, s->dbi_missed, &cur);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        r = pass_contains(pass, store_job_hash(k.mv_data, k.mv_size)) ? 0 : is_stored(s, txn, &k);
        if (r < 0)
            break;
        if (r == 0) {
            /* The cursor then stands on the next entry, which MDB_NEXT returns. */
            rc = mdb_cursor_del(cur, 0);
            if (rc != MDB_SUCCESS)
                break;
        }
    }
    mdb_cursor_close(cur);
    if (r < 0)
        return r;
    return rc == MDB_NOTFOUND ? 0 : store_errno(rc);
}

/* A job of the pass's source: unless the pass listed it, doomed if a pass before missed it
 * too, else fresh. */
static int sort_one(struct finish_ctx *c, const char *arn, size_t len, uint64_t hash)
{
    if (pass_contains(c->pass, hash))
        return 0;
    MDB_val key = {.mv_size = len, .mv_data = (void *)arn}, m;
    int rc = mdb_get(c->txn, c->s->dbi_missed, &key, &m);
    if (rc == MDB_SUCCESS) {
        c->n_doomed++;
        return store_arn_list_add(&c->doomed, arn, len);
    }
    if (rc != MDB_NOTFOUND)
        return store_errno(rc);
    c->n_fresh++;
    return store_arn_list_add(&c->fresh, arn, len);
}

static int sort_oldest(struct finish_ctx *c)
{
    struct unlisted_ring *q = &c->ring;
    size_t i = q->head;
    q->head = (q->head + 1) % UNLISTED_RING;
    q->n--;
    return sort_one(c, q->job[i].arn, q->job[i].len, q->job[i].hash);
}

static int sort_unlisted(const MDB_val *arn, void *u)
{
    struct finish_ctx *c = u;
    struct unlisted_ring *q = &c->ring;
    const struct cj_store_pass *p = c->pass;
    if (arn->mv_size > CJ_JOB_ARN_MAX) /* store_jobs_key_arn gives none: no room, no wait */
        return sort_one(c, arn->mv_data, arn->mv_size, store_job_hash(arn->mv_data, arn->mv_size));
    if (q->n == UNLISTED_RING) {
        int r = sort_oldest(c);
        if (r < 0)
            return r;
    }
    size_t i = (q->head + q->n++) % UNLISTED_RING;
    q->job[i].hash = store_job_hash(arn->mv_data, arn->mv_size);
    q->job[i].len = arn->mv_size;
    memcpy(q->job[i].arn, arn->mv_data, arn->mv_size);
    if (p->dir) {
        __builtin_prefetch(&p->dir[q->job[i].hash >> p->dir_shift]);
        if (q->n > UNLISTED_RING / 2) {
            uint64_t h = q->job[(i + UNLISTED_RING / 2) % UNLISTED_RING].hash;
            __builtin_prefetch(&p->hashes[p->dir[h >> p->dir_shift]]);
        }
    }
    return 0;
}

static int finish_txn(struct cj_store *s, MDB_txn *txn, void *userdata)
{
    struct finish_ctx *c = userdata;
    const struct cj_store_pass *pass = c->pass;
    struct store_tally_source *src;
    uint16_t code;

    /* A rerun after the map grew starts over. */
    c->result = (struct cj_store_pass_result){0};
    cj_buf_reset(&c->doomed);
    cj_buf_reset(&c->fresh);
    c->n_doomed = c->n_fresh = 0;

    int r = store_names_code(s, txn, META_SOURCE_NAMES, pass->source, strlen(pass->source), true,
                             STORE_SOURCE_CODES, &code);
    if (r >= 0)
        r = store_tally_begin(s, txn, &c->tally);
    if (r >= 0)
        r = store_tally_source(s, txn, &c->tally, code, &src);
    if (r < 0)
        return r;
    c->result.total = src->e.c.total;
    r = forget_seen(s, txn, pass);
    if (r < 0)
        return r;

    c->s = s;
    c->txn = txn;
    c->ring.head = c->ring.n = 0;
    r = store_source_jobs(s, txn, code, sort_unlisted, c);
    while (r >= 0 && c->ring.n > 0)
        r = sort_oldest(c);
    if (r < 0)
        return r;

    if (cj_store_removal_allowed(c->n_doomed, c->result.total, pass->max_removal_share_bp)) {
        r = store_arn_list_walk(&c->doomed, remove_one, s, txn, &c->tally);
        if (r < 0)
            return r;
        c->result.removed = c->n_doomed;
    } else {
        r = store_arn_list_walk(&c->doomed, mark_missed, s, txn, NULL);
        if (r < 0)
            return r;
        c->result.held = c->n_doomed;
    }
    r = store_arn_list_walk(&c->fresh, mark_missed, s, txn, NULL);
    if (r < 0)
        return r;
    c->result.missed = c->n_fresh;
    /* The removals may have loaded it again at another address. */
    r = store_tally_source(s, txn, &c->tally, code, &src);
    if (r < 0)
        return r;
    src->e.synced_at_ns = c->synced_at_ns;
    src->dirty = true;
    return store_tally_save(s, txn, &c->tally);
}

int cj_store_pass_finish(struct cj_store *s, struct cj_store_pass *p, bool complete,
                         int64_t synced_at_ns, struct cj_store_changes *changes)
{
    assert(s);
    assert(p);
    assert(p->store == s);
    if (p->finished)
        return -EALREADY;
    p->finished = true;
    pass_unlink(p);
    int r = cj_store_flush(s);
    if (!s->passes)
        store_jobs_pending_release(s);
    if (r >= 0 && !s->passes)
        r = store_release_pages(s);
    if (!complete || r < 0)
        return r;
    if (p->lost < 0)
        return p->lost;
    if (p->failed)
        return -ENOMEM;
    if (!s->has_missed)
        return -EROFS;

    if (p->n > 0)
        pass_index(p);
    struct finish_ctx c = {.pass = p, .synced_at_ns = synced_at_ns};
    r = store_write(s, finish_txn, &c);
    store_tally_free(&c.tally);
    cj_buf_free(&c.doomed);
    cj_buf_free(&c.fresh);
    if (r < 0)
        return r;
    p->result = c.result;
    if (c.result.removed > 0)
        log_info("store: full pass of %s removed %" PRIu64
                 " job(s) that two complete passes in a row did not list",
                 p->source, c.result.removed);
    if (c.result.missed > 0)
        log_info("store: %" PRIu64 " job(s) of %s not listed by this full pass; removed if the "
                 "next complete one does not list them either",
                 c.result.missed, p->source);
    if (changes)
        changes->removed += c.result.removed;
    return 0;
}
