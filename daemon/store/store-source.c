/* SPDX-License-Identifier: MIT */
/* Sources and regions by code, each source's entry in meta (its counters and last sync), the
 * counters a write transaction changes, and the calls that read or drop a source. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "store-internal.h"

/* ---- name tables ---- */

int store_names_foreach(struct cj_store *s, MDB_txn *txn, const char *key,
                        int (*fn)(const char *name, size_t len, uint16_t code, void *u), void *u)
{
    MDB_val v;
    int r = store_meta_get(s, txn, key, &v);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    const char *p = v.mv_data, *end = p + v.mv_size;
    for (unsigned code = 0; p < end; code++) {
        const char *nul = memchr(p, '\0', (size_t)(end - p));
        if (!nul || code > UINT16_MAX)
            return -EUCLEAN;
        if (nul > p) {
            r = fn(p, (size_t)(nul - p), (uint16_t)code, u);
            if (r != 0)
                return r;
        }
        p = nul + 1;
    }
    return 0;
}

int store_names_code(struct cj_store *s, MDB_txn *txn, const char *key, const char *name,
                     size_t len, bool create, unsigned max, uint16_t *ret)
{
    static const char none[1];
    MDB_val v;
    int r = store_meta_get(s, txn, key, &v);
    if (r == -ENOENT)
        v = (MDB_val){.mv_size = 0, .mv_data = (void *)none}; /* no table yet: empty */
    else if (r < 0)
        return r;

    const char *p = v.mv_data, *end = p + v.mv_size;
    unsigned code = 0, free_code = UINT_MAX;
    size_t free_at = 0;
    for (; p < end; code++) {
        const char *nul = memchr(p, '\0', (size_t)(end - p));
        if (!nul)
            return -EUCLEAN;
        size_t n = (size_t)(nul - p);
        if (n == len && memcmp(p, name, len) == 0) {
            *ret = (uint16_t)code;
            return 0;
        }
        if (n == 0 && free_code == UINT_MAX) {
            free_code = code;
            free_at = (size_t)(p - (const char *)v.mv_data);
        }
        p = nul + 1;
    }
    if (!create)
        return -ENOENT;
    if (free_code == UINT_MAX && code >= max)
        return -ERANGE;

    /* The value lies in the map, which the put may move: rebuilt in memory first. */
    _cleanup_buf_ struct cj_buf b = {};
    r = cj_buf_reserve(&b, v.mv_size + len + 1);
    if (r < 0)
        return r;
    if (free_code != UINT_MAX) {
        cj_buf_append(&b, v.mv_data, free_at);
        cj_buf_append(&b, name, len);
        cj_buf_append(&b, (const char *)v.mv_data + free_at, v.mv_size - free_at);
        code = free_code;
    } else {
        cj_buf_append(&b, v.mv_data, v.mv_size);
        cj_buf_append(&b, name, len);
        cj_buf_append(&b, "", 1);
    }
    r = store_meta_put(s, txn, key, b.data, b.len);
    if (r < 0)
        return r;
    *ret = (uint16_t)code;
    return 0;
}

struct by_code {
    uint16_t code;
    const char *name;
    size_t len;
};

static int match_code(const char *name, size_t len, uint16_t code, void *u)
{
    struct by_code *b = u;
    if (code != b->code)
        return 0;
    b->name = name;
    b->len = len;
    return 1;
}

int store_names_name(struct cj_store *s, MDB_txn *txn, const char *key, uint16_t code,
                     const char **name, size_t *len)
{
    struct by_code b = {.code = code};
    int r = store_names_foreach(s, txn, key, match_code, &b);
    if (r < 0)
        return r;
    if (r == 0)
        return -ENOENT;
    *name = b.name;
    *len = b.len;
    return 0;
}

/* Empties the name of `code` (its code becomes free); trailing free codes are cut off. */
static int names_free(struct cj_store *s, MDB_txn *txn, const char *key, uint16_t code)
{
    MDB_val v;
    int r = store_meta_get(s, txn, key, &v);
    if (r < 0)
        return r;
    _cleanup_buf_ struct cj_buf b = {};
    r = cj_buf_reserve(&b, v.mv_size);
    if (r < 0)
        return r;
    const char *p = v.mv_data, *end = p + v.mv_size;
    for (unsigned c = 0; p < end; c++) {
        const char *nul = memchr(p, '\0', (size_t)(end - p));
        if (!nul)
            return -EUCLEAN;
        if (c != code)
            cj_buf_append(&b, p, (size_t)(nul - p));
        cj_buf_append(&b, "", 1);
        p = nul + 1;
    }
    while (b.len > 0 && b.data[b.len - 1] == '\0' && (b.len == 1 || b.data[b.len - 2] == '\0'))
        b.len--;
    if (b.len == 0)
        return store_errno(mdb_del(
            txn, s->dbi_meta, &(MDB_val){.mv_size = strlen(key), .mv_data = (void *)key}, NULL));
    return store_meta_put(s, txn, key, b.data, b.len);
}

/* ---- a source's entry ---- */

static void source_key(uint16_t code, char key[32])
{
    snprintf(key, 32, META_SOURCE_PREFIX "%u", (unsigned)code);
}

int store_source_load(struct cj_store *s, MDB_txn *txn, uint16_t code,
                      struct store_source_entry *ret)
{
    char key[32];
    MDB_val v;
    source_key(code, key);
    *ret = (struct store_source_entry){0};
    int r = store_meta_get(s, txn, key, &v);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    if (v.mv_size < 8)
        return -EUCLEAN;
    ret->synced_at_ns = (int64_t)get_le64(v.mv_data);
    return store_counts_decode((const uint8_t *)v.mv_data + 8, v.mv_size - 8, &ret->c);
}

int store_source_save(struct cj_store *s, MDB_txn *txn, uint16_t code,
                      const struct store_source_entry *e)
{
    char key[32];
    uint8_t b[8 + 8 * (1 + STORE_STATUS_CODES)];
    source_key(code, key);
    put_le64(b, (uint64_t)e->synced_at_ns);
    size_t n = store_counts_encode(&e->c, b + 8);
    return store_meta_put(s, txn, key, b, 8 + n);
}

int store_source_forget(struct cj_store *s, MDB_txn *txn, uint16_t code)
{
    char key[32];
    source_key(code, key);
    MDB_val k = {.mv_size = strlen(key), .mv_data = key};
    int rc = mdb_del(txn, s->dbi_meta, &k, NULL);
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
        return store_errno(rc);
    return names_free(s, txn, META_SOURCE_NAMES, code);
}

/* ---- the tally ---- */

int store_tally_begin(struct cj_store *s, MDB_txn *txn, struct store_tally *t)
{
    t->n = 0;
    t->dirty = false;
    return store_counts_load(s, txn, &t->all);
}

int store_tally_source(struct cj_store *s, MDB_txn *txn, struct store_tally *t, uint16_t code,
                       struct store_tally_source **ret)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->src[i].code == code) {
            *ret = &t->src[i];
            return 0;
        }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 2;
        struct store_tally_source *a = reallocarray(t->src, cap, sizeof(*a));
        if (!a)
            return -ENOMEM;
        t->src = a;
        t->cap = cap;
    }
    struct store_tally_source *e = &t->src[t->n];
    int r = store_source_load(s, txn, code, &e->e);
    if (r < 0)
        return r;
    e->code = code;
    e->dirty = false;
    t->n++;
    *ret = e;
    return 0;
}

static void count_add(struct store_counts *c, uint8_t status, int delta)
{
    if (delta > 0) {
        c->total++;
        c->by_status[status]++;
        return;
    }
    if (c->total > 0)
        c->total--;
    if (c->by_status[status] > 0)
        c->by_status[status]--;
}

int store_tally_job(struct cj_store *s, MDB_txn *txn, struct store_tally *t, uint16_t code,
                    uint8_t status, int delta)
{
    struct store_tally_source *e;
    int r = store_tally_source(s, txn, t, code, &e);
    if (r < 0)
        return r;
    count_add(&t->all, status, delta);
    count_add(&e->e.c, status, delta);
    t->dirty = e->dirty = true;
    return 0;
}

int store_tally_save(struct cj_store *s, MDB_txn *txn, struct store_tally *t)
{
    int r = t->dirty ? store_counts_save(s, txn, &t->all) : 0;
    for (size_t i = 0; r >= 0 && i < t->n; i++)
        if (t->src[i].dirty)
            r = store_source_save(s, txn, t->src[i].code, &t->src[i].e);
    return r;
}

void store_tally_free(struct store_tally *t)
{
    free(t->src);
    *t = (struct store_tally){0};
}

/* ---- the last sync of a source ---- */

struct synced_ctx {
    const char *source;
    int64_t ns;
};

static int synced_at_txn(struct cj_store *s, MDB_txn *txn, void *userdata)
{
    struct synced_ctx *c = userdata;
    struct store_source_entry e;
    uint16_t code;
    int r = store_names_code(s, txn, META_SOURCE_NAMES, c->source, strlen(c->source), true,
                             STORE_SOURCE_CODES, &code);
    if (r >= 0)
        r = store_source_load(s, txn, code, &e);
    if (r < 0)
        return r;
    e.synced_at_ns = c->ns;
    return store_source_save(s, txn, code, &e);
}

int cj_store_set_synced_at(struct cj_store *s, const char *source, int64_t synced_at_ns)
{
    assert(s);
    if (!cj_valid_source_name(source))
        return -EINVAL;
    return store_write(s, synced_at_txn, &(struct synced_ctx){source, synced_at_ns});
}

/* ---- reading the sources ---- */

struct source_item {
    char name[CJ_SOURCE_NAME_MAX + 1];
    uint16_t code;
};

struct source_list {
    struct source_item *items;
    size_t n, cap;
};

static int collect(const char *name, size_t len, uint16_t code, void *u)
{
    struct source_list *l = u;
    if (len > CJ_SOURCE_NAME_MAX)
        return -EUCLEAN;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        struct source_item *a = reallocarray(l->items, cap, sizeof(*a));
        if (!a)
            return -ENOMEM;
        l->items = a;
        l->cap = cap;
    }
    memcpy(l->items[l->n].name, name, len);
    l->items[l->n].name[len] = '\0';
    l->items[l->n].code = code;
    l->n++;
    return 0;
}

static int cmp_items(const void *a, const void *b)
{
    return strcmp(((const struct source_item *)a)->name, ((const struct source_item *)b)->name);
}

/* Calls fn with each source the store knows (jobs, or a recorded sync), in name order. */
typedef int (*entry_fn)(const char *name, uint16_t code, const struct store_source_entry *e,
                        void *u);

static int sources_walk(struct cj_store *s, MDB_txn *txn, entry_fn fn, void *u)
{
    struct source_list l = {0};
    int r = store_names_foreach(s, txn, META_SOURCE_NAMES, collect, &l);
    if (r >= 0 && l.n > 1)
        qsort(l.items, l.n, sizeof(*l.items), cmp_items);
    for (size_t i = 0; r >= 0 && i < l.n; i++) {
        struct store_source_entry e;
        r = store_source_load(s, txn, l.items[i].code, &e);
        if (r >= 0 && (e.c.total > 0 || e.synced_at_ns != 0))
            r = fn(l.items[i].name, l.items[i].code, &e, u);
    }
    free(l.items);
    return r;
}

static void stats_of(const struct store_counts *c, struct cj_store_stats *st)
{
    st->total = c->total;
    memcpy(st->by_status, c->by_status, sizeof(st->by_status));
    for (size_t i = _CJ_STATUS_MAX; i < STORE_STATUS_CODES; i++)
        st->by_other_status += c->by_status[i];
}

struct foreach_ctx {
    cj_store_source_fn fn;
    void *userdata;
};

static int source_to_fn(const char *name, uint16_t code, const struct store_source_entry *e,
                        void *u)
{
    struct foreach_ctx *c = u;
    struct cj_store_stats st = {.synced_at_ns = e->synced_at_ns};
    (void)code;
    stats_of(&e->c, &st);
    int r = c->fn(name, &st, c->userdata);
    return r < 0 ? r : 0;
}

int cj_store_foreach_source(struct cj_store *s, cj_store_source_fn fn, void *userdata)
{
    MDB_txn *txn;
    assert(s && fn);
    int r = store_read_begin(s, &txn);
    if (r < 0)
        return r;
    r = sources_walk(s, txn, source_to_fn, &(struct foreach_ctx){fn, userdata});
    store_read_end(s);
    return r;
}

struct oldest_ctx {
    bool any;
    int64_t oldest;
};

static int oldest_sync(const char *name, uint16_t code, const struct store_source_entry *e, void *u)
{
    struct oldest_ctx *c = u;
    (void)name, (void)code;
    if (!c->any || e->synced_at_ns < c->oldest)
        c->oldest = e->synced_at_ns;
    c->any = true;
    return 0;
}

int store_sources_synced_at(struct cj_store *s, MDB_txn *txn, int64_t *ret)
{
    struct oldest_ctx c = {0};
    int r = sources_walk(s, txn, oldest_sync, &c);
    /* A source that never synced counts as 0, the oldest of all. */
    *ret = c.any && c.oldest > 0 ? c.oldest : 0;
    return r;
}

/* The status counters of source `source`, or of all (NULL); -ENOENT for an unknown source. */
int store_source_counts(struct cj_store *s, MDB_txn *txn, const char *source,
                        struct store_counts *ret)
{
    if (!source)
        return store_counts_load(s, txn, ret);
    if (!cj_valid_source_name(source))
        return -EINVAL;
    uint16_t code;
    struct store_source_entry e;
    int r = store_names_code(s, txn, META_SOURCE_NAMES, source, strlen(source), false, 0, &code);
    if (r >= 0)
        r = store_source_load(s, txn, code, &e);
    if (r < 0)
        return r;
    *ret = e.c;
    return 0;
}

/* ---- the jobs of a source ---- */

int store_arn_list_add(struct cj_buf *b, const void *arn, size_t len)
{
    uint8_t n[2];
    put_le16(n, (uint16_t)len);
    int r = cj_buf_append(b, n, sizeof(n));
    return r < 0 ? r : cj_buf_append(b, arn, len);
}

int store_arn_list_walk(const struct cj_buf *b,
                        int (*fn)(struct cj_store *s, MDB_txn *txn, const char *arn, size_t len,
                                  void *u),
                        struct cj_store *s, MDB_txn *txn, void *u)
{
    for (size_t at = 0; at + 2 <= b->len;) {
        size_t len = get_le16((const uint8_t *)b->data + at);
        int r = fn(s, txn, b->data + at + 2, len, u);
        if (r < 0)
            return r;
        at += 2 + len;
    }
    return 0;
}

static int damaged_jobs_entry(const MDB_val *k, const MDB_val *v)
{
    return log_error_errno(EUCLEAN,
                           "store: a damaged `jobs` entry (%zu-byte key, %zu-byte value) "
                           "blocks removals; run copyjobd --verify-store",
                           k->mv_size, v->mv_size);
}

int store_source_jobs(struct cj_store *s, MDB_txn *txn, uint16_t code,
                      int (*fn)(const MDB_val *arn, void *u), void *u)
{
    MDB_cursor *cur;
    MDB_val k, v, arn;
    struct store_region_name region = {0};
    char buf[CJ_JOB_ARN_MAX];
    int r = 0;

    int rc = mdb_cursor_open(txn, s->dbi_jobs, &cur);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS && r >= 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (v.mv_size != JOBS_VALUE_SIZE)
            r = damaged_jobs_entry(&k, &v);
        else if (jobs_value_source(&v) == code) {
            r = store_jobs_key_arn(s, txn, &k, &region, buf, &arn);
            if (r == -EUCLEAN)
                r = damaged_jobs_entry(&k, &v);
            else if (r >= 0)
                r = fn(&arn, u);
        }
    }
    mdb_cursor_close(cur);
    if (r < 0)
        return r;
    return rc == MDB_NOTFOUND ? 0 : store_errno(rc);
}

/* ---- dropping a source ---- */

struct drop_ctx {
    const char *source;
    uint64_t removed;
    struct cj_buf arns; /* store_arn_list_add()'s */
    uint64_t n_arns;
};

static int collect_arn(const MDB_val *arn, void *u)
{
    struct drop_ctx *c = u;
    c->n_arns++;
    return store_arn_list_add(&c->arns, arn->mv_data, arn->mv_size);
}

static int remove_arn(struct cj_store *s, MDB_txn *txn, const char *arn, size_t len, void *u)
{
    return store_remove_job(s, txn, arn, len, u);
}

static int drop_txn(struct cj_store *s, MDB_txn *txn, void *userdata)
{
    struct drop_ctx *c = userdata;
    struct store_tally t = {0};
    uint16_t code;

    c->removed = c->n_arns = 0;
    cj_buf_reset(&c->arns);
    int r =
        store_names_code(s, txn, META_SOURCE_NAMES, c->source, strlen(c->source), false, 0, &code);
    if (r < 0)
        return r;
    r = store_source_jobs(s, txn, code, collect_arn, c);
    if (r < 0)
        return r;

    r = store_tally_begin(s, txn, &t);
    if (r >= 0)
        r = store_arn_list_walk(&c->arns, remove_arn, s, txn, &t);
    if (r >= 0)
        c->removed = c->n_arns;
    if (r >= 0)
        r = store_tally_save(s, txn, &t);
    store_tally_free(&t);
    if (r >= 0)
        r = store_source_forget(s, txn, code);
    return r;
}

int cj_store_drop_source(struct cj_store *s, const char *source, struct cj_store_changes *changes)
{
    assert(s);
    if (!cj_valid_source_name(source))
        return -EINVAL;
    if (store_pass_of(s, source))
        return -EBUSY;
    struct drop_ctx c = {.source = source};
    int r = store_write(s, drop_txn, &c);
    cj_buf_free(&c.arns);
    if (r < 0)
        return r;
    log_info("store: dropped source %s and its %" PRIu64 " job(s)", source, c.removed);
    if (changes)
        changes->removed += c.removed;
    return 0;
}
