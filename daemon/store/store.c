/* SPDX-License-Identifier: MIT */
/* The environment: opening, the schema check, map growth, transactions, meta. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "store-internal.h"

#define STORE_INITIAL_MAP_SIZE ((uint64_t)64 * 1024 * 1024)
#define STORE_MAX_READERS      126
#define STORE_WRITE_ATTEMPTS   64 /* doubling from 64 KiB reaches 2^70: ample */

const char *const store_rows_db_names[STORE_ROWS_DBS] = {
    [CJ_STATUS_IN_PROGRESS] = "rows_inprogress",
    [CJ_STATUS_COMPLETED] = "rows_completed",
    [CJ_STATUS_FAILED] = "rows_failed",
    [_CJ_STATUS_MAX] = "rows_other",
};

const char *const store_index_db_names[_CJ_INDEX_MAX] = {
    [CJ_INDEX_TIME] = "idx_time",
    [CJ_INDEX_STATUS_TIME] = "idx_status",
    [CJ_INDEX_ACCOUNT_TIME] = "idx_account",
    [CJ_INDEX_MODEL_TIME] = "idx_model",
    [CJ_INDEX_JOB_REGION_TIME] = "idx_jregion",
    [CJ_INDEX_JOB_ACCOUNT_TIME] = "idx_jaccount",
};

const char *cj_index_to_string(enum cj_index i)
{
    static const char *const names[_CJ_INDEX_MAX] = {
        [CJ_INDEX_TIME] = "time",
        [CJ_INDEX_STATUS_TIME] = "status+time",
        [CJ_INDEX_ACCOUNT_TIME] = "account+time",
        [CJ_INDEX_MODEL_TIME] = "model+time",
        [CJ_INDEX_JOB_REGION_TIME] = "job-region+time",
        [CJ_INDEX_JOB_ACCOUNT_TIME] = "job-account+time",
    };
    return (unsigned)i < _CJ_INDEX_MAX ? names[i] : NULL;
}

int store_errno(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return 0;
    case MDB_NOTFOUND:
        return -ENOENT;
    case MDB_MAP_FULL:
        return -ENOSPC;
    case MDB_MAP_RESIZED:
        return -EAGAIN;
    case MDB_READERS_FULL:
        return -EUSERS;
    case MDB_TXN_FULL:
    case MDB_CURSOR_FULL:
    case MDB_PAGE_FULL:
        return -E2BIG;
    case MDB_DBS_FULL:
        return -EMFILE;
    case MDB_BAD_VALSIZE:
    case MDB_BAD_DBI:
    case MDB_BAD_TXN:
    case MDB_BAD_RSLOT:
    case MDB_INCOMPATIBLE:
        return -EINVAL;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
        return -EUCLEAN;
    default:
        return rc > 0 ? -rc : -EIO;
    }
}

/* ---- map growth and transactions ---- */

static int store_grow(struct cj_store *s)
{
    if (s->map_size >= s->max_size)
        return log_error_errno(ENOSPC,
                               "store: full at its ceiling of %" PRIu64
                               " bytes (store.max_size); raise max_size or remove old jobs",
                               s->max_size);
    uint64_t size = s->map_size > s->max_size / 2 ? s->max_size : s->map_size * 2;
    /* Legal only with no transaction active in this process: the daemon is single-threaded
     * and the kept read transaction is reset between uses. */
    int rc = mdb_env_set_mapsize(s->env, (size_t)size);
    if (rc != MDB_SUCCESS)
        return log_error_errno(store_errno(rc), "store: cannot grow the map to %" PRIu64 ": %s",
                               size, mdb_strerror(rc));
    MDB_envinfo info;
    mdb_env_info(s->env, &info);
    s->map_size = info.me_mapsize;
    log_info("store: map grown to %" PRIu64 " bytes (ceiling %" PRIu64 ")", s->map_size,
             s->max_size);
    return 0;
}

/* Another process may have grown the map; adopt its size. */
static int store_adopt_map_size(struct cj_store *s)
{
    int rc = mdb_env_set_mapsize(s->env, 0);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);
    MDB_envinfo info;
    mdb_env_info(s->env, &info);
    s->map_size = info.me_mapsize;
    return 0;
}

static uint64_t now_usec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* What a page of `jobs` jobs with `bytes` of JSON may take of the map, at most: its rows and
 * events, the index keys, and a copy of each leaf of `jobs` it touches (jobArns arrive in no
 * order there). Measured: ~6 KiB a job of 650 bytes. */
static uint64_t page_room(size_t jobs, size_t bytes)
{
    return (uint64_t)jobs * 8192 + (uint64_t)bytes * 3;
}

/* Begins the batch's transaction unless one is open. The map cannot grow under an open
 * transaction, and a full map would cost the batch its pages: it is grown first while less
 * than a quarter of it, or less than `need`, lies past the last page in use, and the batch
 * takes no page that may not fit in what is left (batch.room). */
static int batch_open(struct cj_store *s, uint64_t need)
{
    if (s->batch.txn)
        return 0;
    if (!s->env)
        return s->lost_env;
    MDB_envinfo info;
    MDB_stat st;
    uint64_t used = 0, psize = 4096;
    if (mdb_env_info(s->env, &info) == MDB_SUCCESS && mdb_env_stat(s->env, &st) == MDB_SUCCESS) {
        psize = st.ms_psize;
        used = ((uint64_t)info.me_last_pgno + 1) * psize;
    }
    while (s->map_size < s->max_size &&
           (used + need > s->map_size || s->map_size - used < s->map_size / 4))
        if (store_grow(s) < 0)
            break;
    for (unsigned attempt = 0; attempt < 3; attempt++) {
        int rc = mdb_txn_begin(s->env, NULL, 0, &s->batch.txn);
        if (rc == MDB_SUCCESS) {
            s->txn_events.loaded = s->txn_events.appended = false;
            store_jobs_pending_begin(s, s->batch.txn);
            s->batch.id++;
            s->batch.jobs = 0;
            s->batch.need = 0;
            s->batch.room = s->map_size > used ? s->map_size - used : 0;
            s->batch.begun_usec = now_usec();
            return 0;
        }
        s->batch.txn = NULL;
        if (rc != MDB_MAP_RESIZED)
            return log_error_errno(store_errno(rc), "store: cannot begin a write: %s",
                                   mdb_strerror(rc));
        int r = store_adopt_map_size(s);
        if (r < 0)
            return r;
    }
    return -EAGAIN;
}

/* The batch is gone, committed or not: a pass that wrote into it and is lost learns so. */
static void batch_close(struct cj_store *s, int error)
{
    if (error < 0 && s->batch.jobs > 0) {
        log_error("store: the last %zu jobs written are lost: %s", s->batch.jobs, strerror(-error));
        store_passes_batch_lost(s, s->batch.id, error);
    }
    store_jobs_pending_abort(s); /* nothing is pending after a commit */
    s->batch.txn = NULL;
    s->batch.jobs = 0;
}

int cj_store_flush(struct cj_store *s)
{
    assert(s);
    if (!s->batch.txn)
        return 0;
    size_t txnid = mdb_txn_id(s->batch.txn);
    int r = store_jobs_pending_flush(s, s->batch.txn);
    if (r < 0)
        mdb_txn_abort(s->batch.txn);
    else {
        int rc = mdb_txn_commit(s->batch.txn); /* frees it, also on failure */
        r = store_errno(rc);
        if (r < 0)
            log_error_errno(r, "store: commit failed: %s", mdb_strerror(rc));
    }
    batch_close(s, r);
    /* The map filled up under the batch's last puts: the next batch finds it grown, or the
     * log says that it is at its ceiling. */
    if (r == -ENOSPC)
        (void)store_grow(s);
    if (r < 0)
        return r;
    store_jobs_pending_committed(s, txnid);
    /* Only now are the events visible to readers. */
    if (s->txn_events.appended && s->change_fn)
        s->change_fn(s, s->txn_events.last_seq, s->change_userdata);
    return 0;
}

int store_write_batched(struct cj_store *s, store_write_fn fn, void *userdata, size_t jobs,
                        size_t bytes)
{
    if (s->read_only)
        return -EROFS;
    uint64_t need = page_room(jobs, bytes);
    if (s->batch.txn && s->batch.need + need > s->batch.room) {
        int r = cj_store_flush(s);
        if (r < 0)
            return r;
    }

    for (unsigned attempt = 0; attempt < STORE_WRITE_ATTEMPTS; attempt++) {
        int r = batch_open(s, need);
        if (r < 0)
            return r;
        bool appended = s->txn_events.appended;
        s->txn_events.appended = false;
        r = fn(s, s->batch.txn, userdata);
        if (r >= 0 && s->txn_events.appended)
            r = store_events_commit_prepare(s, s->batch.txn);
        if (r >= 0) {
            s->txn_events.appended |= appended;
            s->batch.jobs += jobs;
            s->batch.need += need;
            if (s->batch.need > s->batch.high_water)
                s->batch.high_water = s->batch.need;
            if (s->batch.jobs >= STORE_BATCH_JOBS ||
                now_usec() - s->batch.begun_usec >=
                    (s->batch.max_usec ? s->batch.max_usec : STORE_BATCH_USEC))
                return cj_store_flush(s);
            return 0;
        }
        /* Half a page is never committed: the batch goes, and the pages before it. */
        bool alone = s->batch.jobs == 0;
        mdb_txn_abort(s->batch.txn);
        batch_close(s, r);
        if (r != -ENOSPC || !alone)
            return r;
        r = store_grow(s);
        if (r < 0)
            return r;
    }
    return log_error_errno(ENOSPC, "store: gave up growing the map");
}

int store_write(struct cj_store *s, store_write_fn fn, void *userdata)
{
    if (s->read_only)
        return -EROFS;
    if (!s->env)
        return s->lost_env;
    /* Committed in order: what the batch holds was written first. */
    int f = cj_store_flush(s);
    if (f < 0)
        return f;

    for (unsigned attempt = 0; attempt < STORE_WRITE_ATTEMPTS; attempt++) {
        MDB_txn *txn;
        s->txn_events.loaded = s->txn_events.appended = false;
        int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
        if (rc == MDB_MAP_RESIZED) {
            int r = store_adopt_map_size(s);
            if (r < 0)
                return r;
            continue;
        }
        if (rc != MDB_SUCCESS)
            return log_error_errno(store_errno(rc), "store: cannot begin a write: %s",
                                   mdb_strerror(rc));
        store_jobs_pending_begin(s, txn);
        size_t txnid = mdb_txn_id(txn);

        int r = fn(s, txn, userdata);
        if (r >= 0 && s->txn_events.appended) {
            int q = store_events_commit_prepare(s, txn);
            if (q < 0)
                r = q;
        }
        if (r >= 0) {
            rc = mdb_txn_commit(txn); /* frees txn, also on failure */
            if (rc == MDB_SUCCESS) {
                store_jobs_pending_committed(s, txnid);
                /* Only now are the events visible to readers. */
                if (s->txn_events.appended && s->change_fn)
                    s->change_fn(s, s->txn_events.last_seq, s->change_userdata);
                return r;
            }
            r = store_errno(rc);
            if (r != -ENOSPC)
                return log_error_errno(r, "store: commit failed: %s", mdb_strerror(rc));
        } else
            mdb_txn_abort(txn);

        if (r != -ENOSPC)
            return r;
        r = store_grow(s);
        if (r < 0)
            return r;
    }
    return log_error_errno(ENOSPC, "store: gave up growing the map");
}

/* Closes the reused read transaction and its cursors; the next store_read_begin opens new
 * ones. */
static void read_txn_drop(struct cj_store *s)
{
    for (size_t i = 0; i < _CJ_INDEX_MAX; i++)
        store_cursor_drop(&s->rcursor[i]);
    for (size_t d = 0; d < STORE_ROWS_DBS; d++)
        store_cursor_drop(&s->rrows[d]);
    if (s->rtxn) {
        mdb_txn_abort(s->rtxn);
        s->rtxn = NULL;
    }
}

static int reused_cursor(MDB_txn *txn, MDB_dbi dbi, MDB_cursor **c)
{
    int rc = *c ? mdb_cursor_renew(txn, *c) : mdb_cursor_open(txn, dbi, c);
    return store_errno(rc);
}

int store_index_cursor(struct cj_store *s, MDB_txn *txn, enum cj_index i, MDB_cursor **ret)
{
    assert(i >= STORE_INDEX_FIRST_SECONDARY && i < _CJ_INDEX_MAX);
    int r = reused_cursor(txn, s->dbi_index[i], &s->rcursor[i]);
    *ret = s->rcursor[i];
    return r;
}

int store_rows_cursor(struct cj_store *s, MDB_txn *txn, unsigned d, MDB_cursor **ret)
{
    assert(d < STORE_ROWS_DBS);
    int r = reused_cursor(txn, s->dbi_rows[d], &s->rrows[d]);
    *ret = s->rrows[d];
    return r;
}

int store_read_begin(struct cj_store *s, MDB_txn **ret)
{
    if (!s->env)
        return s->lost_env;
    for (unsigned attempt = 0; attempt < 3; attempt++) {
        int rc;
        if (s->rtxn)
            rc = mdb_txn_renew(s->rtxn);
        else
            rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &s->rtxn);
        if (rc == MDB_SUCCESS) {
            *ret = s->rtxn;
            return 0;
        }
        if (rc == MDB_READERS_FULL && attempt == 0) {
            /* Slots of readers that died (e.g. a killed copyjobd --once) free up here. */
            int dead = 0;
            mdb_reader_check(s->env, &dead);
            log_warning("store: reader table full; cleared %d stale slot(s)", dead);
            continue;
        }
        if (rc != MDB_MAP_RESIZED)
            return log_error_errno(store_errno(rc), "store: cannot begin a read: %s",
                                   mdb_strerror(rc));
        /* Start over with a fresh handle once the new size is adopted. */
        read_txn_drop(s);
        int r = store_adopt_map_size(s);
        if (r < 0)
            return r;
    }
    return -EAGAIN;
}

void store_read_end(struct cj_store *s)
{
    if (s->rtxn)
        mdb_txn_reset(s->rtxn);
}

/* ---- meta ---- */

int store_meta_get(struct cj_store *s, MDB_txn *txn, const char *key, MDB_val *v)
{
    MDB_val k = {.mv_size = strlen(key), .mv_data = (void *)key};
    return store_errno(mdb_get(txn, s->dbi_meta, &k, v));
}

int store_meta_put(struct cj_store *s, MDB_txn *txn, const char *key, const void *data, size_t size)
{
    MDB_val k = {.mv_size = strlen(key), .mv_data = (void *)key};
    MDB_val v = {.mv_size = size, .mv_data = (void *)data};
    return store_errno(mdb_put(txn, s->dbi_meta, &k, &v, 0));
}

int store_meta_put_i64(struct cj_store *s, MDB_txn *txn, const char *key, int64_t v)
{
    uint8_t b[8];
    put_le64(b, (uint64_t)v);
    return store_meta_put(s, txn, key, b, sizeof(b));
}

int store_meta_get_i64(struct cj_store *s, MDB_txn *txn, const char *key, int64_t *ret)
{
    MDB_val v;
    int r = store_meta_get(s, txn, key, &v);
    if (r == -ENOENT) {
        *ret = 0;
        return 0;
    }
    if (r < 0)
        return r;
    if (v.mv_size != 8)
        return -EUCLEAN;
    *ret = (int64_t)get_le64(v.mv_data);
    return 0;
}

int store_meta_put_u64(struct cj_store *s, MDB_txn *txn, const char *key, uint64_t v)
{
    return store_meta_put_i64(s, txn, key, (int64_t)v);
}

int store_meta_get_u64(struct cj_store *s, MDB_txn *txn, const char *key, uint64_t *ret)
{
    int64_t v;
    int r = store_meta_get_i64(s, txn, key, &v);
    *ret = r < 0 ? 0 : (uint64_t)v;
    return r;
}

/* The total, then one counter per status code: 3 and more (one per known status, then one
 * for each status name registered so far; trailing zeros are left out). */
int store_counts_decode(const uint8_t *p, size_t size, struct store_counts *ret)
{
    size_t n = size / 8;
    *ret = (struct store_counts){0};
    if (size % 8 != 0 || n < 1 + _CJ_STATUS_MAX || n > 1 + STORE_STATUS_CODES)
        return -EUCLEAN;
    ret->total = get_le64(p);
    for (size_t i = 0; i + 1 < n; i++)
        ret->by_status[i] = get_le64(p + 8 * (i + 1));
    return 0;
}

size_t store_counts_encode(const struct store_counts *c, uint8_t out[8 * (1 + STORE_STATUS_CODES)])
{
    size_t n = STORE_STATUS_CODES;
    while (n > _CJ_STATUS_MAX && c->by_status[n - 1] == 0)
        n--;
    put_le64(out, c->total);
    for (size_t i = 0; i < n; i++)
        put_le64(out + 8 * (i + 1), c->by_status[i]);
    return 8 * (1 + n);
}

int store_counts_load(struct cj_store *s, MDB_txn *txn, struct store_counts *ret)
{
    MDB_val v;
    int r = store_meta_get(s, txn, META_COUNTS, &v);
    *ret = (struct store_counts){0};
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    return store_counts_decode(v.mv_data, v.mv_size, ret);
}

int store_counts_save(struct cj_store *s, MDB_txn *txn, const struct store_counts *c)
{
    uint8_t b[8 * (1 + STORE_STATUS_CODES)];
    size_t n = store_counts_encode(c, b);
    return store_meta_put(s, txn, META_COUNTS, b, n);
}

/* ---- opening ---- */

static int open_dbis(struct cj_store *s, MDB_txn *txn, unsigned flags)
{
    int rc = mdb_dbi_open(txn, STORE_DB_JOBS, flags, &s->dbi_jobs);
    if (rc == MDB_SUCCESS)
        rc = mdb_dbi_open(txn, STORE_DB_META, flags, &s->dbi_meta);
    /* An existing index keeps the flags it was made with: schema 6's were no MDB_DUPSORT. */
    for (size_t i = STORE_INDEX_FIRST_SECONDARY; rc == MDB_SUCCESS && i < _CJ_INDEX_MAX; i++)
        rc = mdb_dbi_open(txn, store_index_db_names[i],
                          flags & MDB_CREATE ? flags | MDB_DUPSORT : flags, &s->dbi_index[i]);
    for (size_t d = 0; rc == MDB_SUCCESS && d < STORE_ROWS_DBS; d++)
        rc = mdb_dbi_open(txn, store_rows_db_names[d], flags, &s->dbi_rows[d]);
    for (size_t g = 0; rc == MDB_SUCCESS && g < 2; g++)
        rc = mdb_dbi_open(txn, store_events_db_names[g], flags, &s->dbi_events[g]);
    /* A store no writer of this version has opened yet has no `missed`: readers need none. */
    if (rc == MDB_SUCCESS) {
        rc = mdb_dbi_open(txn, STORE_DB_MISSED, flags, &s->dbi_missed);
        s->has_missed = rc == MDB_SUCCESS;
        if (rc == MDB_NOTFOUND && !(flags & MDB_CREATE))
            rc = MDB_SUCCESS;
    }
    return store_errno(rc);
}

/* The steps up to schema 6 write its secondary indexes, one entry per key: an index that
 * open_dbis just made (empty, with MDB_DUPSORT), such as schema 4's missing ones, is made
 * again without. Not once the step to 7 has begun, which makes them anew itself. */
static int open_v6_indexes(struct cj_store *s, MDB_txn *txn)
{
    MDB_val v;
    int r = store_meta_get(s, txn, META_REKEY_AT, &v);
    if (r != -ENOENT)
        return r < 0 ? r : 0;
    for (size_t i = STORE_INDEX_FIRST_SECONDARY; i < _CJ_INDEX_MAX; i++) {
        unsigned flags;
        MDB_stat st;
        int rc = mdb_dbi_flags(txn, s->dbi_index[i], &flags);
        if (rc == MDB_SUCCESS && (flags & MDB_DUPSORT))
            rc = mdb_stat(txn, s->dbi_index[i], &st);
        if (rc == MDB_SUCCESS && (flags & MDB_DUPSORT)) {
            if (st.ms_entries > 0)
                return log_error_errno(EUCLEAN,
                                       "store: %s holds entries of schema 7 in a store "
                                       "of schema 6",
                                       store_index_db_names[i]);
            rc = mdb_drop(txn, s->dbi_index[i], 1);
            if (rc == MDB_SUCCESS)
                rc = mdb_dbi_open(txn, store_index_db_names[i], MDB_CREATE, &s->dbi_index[i]);
        }
        if (rc != MDB_SUCCESS)
            return store_errno(rc);
    }
    return 0;
}

/* Schema 5's idx_time and idx_status, for its migration: with MDB_CREATE for a store of
 * schema 1..5 (the earlier steps build them), else only when present. */
static int open_v5_dbis(struct cj_store *s, MDB_txn *txn, unsigned flags)
{
    int rc = MDB_SUCCESS;
    s->has_v5 = false;
    for (size_t i = 0; rc == MDB_SUCCESS && i < STORE_INDEX_FIRST_SECONDARY; i++)
        rc = mdb_dbi_open(txn, store_index_db_names[i], flags, &s->dbi_index[i]);
    if (rc == MDB_NOTFOUND && !(flags & MDB_CREATE))
        return 0;
    s->has_v5 = rc == MDB_SUCCESS;
    return store_errno(rc);
}

static int db_is_empty(MDB_txn *txn, MDB_dbi dbi, bool *ret)
{
    MDB_stat st;
    int rc = mdb_stat(txn, dbi, &st);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);
    *ret = st.ms_entries == 0;
    return 0;
}

int store_drop_v5(struct cj_store *s, MDB_txn *txn)
{
    int rc = MDB_SUCCESS;
    for (size_t i = 0; s->has_v5 && rc == MDB_SUCCESS && i < STORE_INDEX_FIRST_SECONDARY; i++)
        rc = mdb_drop(txn, s->dbi_index[i], 1);
    if (rc == MDB_SUCCESS)
        s->has_v5 = false;
    return rc;
}

static int drop_all(struct cj_store *s, MDB_txn *txn)
{
    int rc = mdb_drop(txn, s->dbi_jobs, 0);
    if (rc == MDB_SUCCESS)
        rc = mdb_drop(txn, s->dbi_meta, 0);
    /* Made anew: a store of schema 6 had its indexes without MDB_DUPSORT. */
    for (size_t i = STORE_INDEX_FIRST_SECONDARY; rc == MDB_SUCCESS && i < _CJ_INDEX_MAX; i++) {
        rc = mdb_drop(txn, s->dbi_index[i], 1);
        if (rc == MDB_SUCCESS)
            rc = mdb_dbi_open(txn, store_index_db_names[i], MDB_CREATE | MDB_DUPSORT,
                              &s->dbi_index[i]);
    }
    for (size_t d = 0; rc == MDB_SUCCESS && d < STORE_ROWS_DBS; d++)
        rc = mdb_drop(txn, s->dbi_rows[d], 0);
    if (rc == MDB_SUCCESS)
        rc = store_drop_v5(s, txn);
    for (size_t g = 0; rc == MDB_SUCCESS && g < 2; g++)
        rc = mdb_drop(txn, s->dbi_events[g], 0);
    if (rc == MDB_SUCCESS && s->has_missed)
        rc = mdb_drop(txn, s->dbi_missed, 0);
    MDB_dbi tmp;
    if (rc == MDB_SUCCESS && mdb_dbi_open(txn, STORE_DB_MIGRATE_TMP, 0, &tmp) == MDB_SUCCESS)
        rc = mdb_drop(txn, tmp, 1);
    return store_errno(rc);
}

static int read_schema(struct cj_store *s, MDB_txn *txn, uint32_t *ret, bool *has_data)
{
    MDB_val v;
    int r = store_meta_get(s, txn, META_SCHEMA_VERSION, &v);
    if (r == -ENOENT) {
        MDB_dbi dbis[4 + _CJ_INDEX_MAX + STORE_ROWS_DBS] = {s->dbi_jobs, s->dbi_meta,
                                                            s->dbi_events[0], s->dbi_events[1]};
        size_t n = 4;
        for (size_t i = s->has_v5 ? 0 : STORE_INDEX_FIRST_SECONDARY; i < _CJ_INDEX_MAX; i++)
            dbis[n++] = s->dbi_index[i];
        for (size_t d = 0; d < STORE_ROWS_DBS; d++)
            dbis[n++] = s->dbi_rows[d];
        *ret = 0;
        *has_data = false;
        for (size_t i = 0; i < n; i++) {
            bool empty = true;
            r = db_is_empty(txn, dbis[i], &empty);
            if (r < 0)
                return r;
            *has_data = *has_data || !empty;
        }
        return 0;
    }
    if (r < 0)
        return r;
    if (v.mv_size != 4)
        return -EUCLEAN;
    const uint8_t *p = v.mv_data;
    *ret = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    *has_data = true;
    return 0;
}

static void put_schema_version(uint8_t v[4])
{
    for (int i = 0; i < 4; i++)
        v[i] = (uint8_t)((uint32_t)CJ_STORE_SCHEMA_VERSION >> (8 * i));
}

static int new_store_id(struct cj_store *s, MDB_txn *txn)
{
    uint8_t id[CJ_STORE_ID_SIZE];
    if (getrandom(id, sizeof(id), 0) != (ssize_t)sizeof(id))
        return log_error_errno(errno ? errno : EIO, "store: no random bytes for the store id: %m");
    return store_meta_put(s, txn, META_STORE_ID, id, sizeof(id));
}

static int init_meta(struct cj_store *s, MDB_txn *txn)
{
    uint8_t key[CJ_STORE_MAC_KEY_SIZE];
    if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key))
        return log_error_errno(errno ? errno : EIO, "store: no random bytes for the token key: %m");
    uint8_t v[4];
    put_schema_version(v);
    int r = store_meta_put(s, txn, META_SCHEMA_VERSION, v, sizeof(v));
    if (r >= 0)
        r = store_meta_put(s, txn, META_TOKEN_KEY, key, sizeof(key));
    if (r >= 0)
        r = new_store_id(s, txn);
    if (r >= 0)
        r = store_counts_save(s, txn, &(struct store_counts){0});
    cj_explicit_zero(key, sizeof(key));
    return r;
}

/* The id into s->id; with `create`, one is made if the store has none (a store from before
 * ids: its change log's positions were never tied to an id, so any new one is right). */
static int load_store_id(struct cj_store *s, MDB_txn *txn, bool create)
{
    static const char hex[] = "0123456789abcdef";
    MDB_val v;
    int r = store_meta_get(s, txn, META_STORE_ID, &v);
    if (r == -ENOENT && create) {
        r = new_store_id(s, txn);
        if (r >= 0)
            r = store_meta_get(s, txn, META_STORE_ID, &v);
    }
    if (r == -ENOENT) {
        s->id[0] = '\0';
        return 0;
    }
    if (r < 0 || v.mv_size != CJ_STORE_ID_SIZE)
        return log_error_errno(r < 0 ? r : EUCLEAN, "store: the store id is unreadable");
    const uint8_t *b = v.mv_data;
    for (size_t i = 0; i < CJ_STORE_ID_SIZE; i++) {
        s->id[2 * i] = hex[b[i] >> 4];
        s->id[2 * i + 1] = hex[b[i] & 0xf];
    }
    s->id[CJ_STORE_ID_LEN] = '\0';
    return 0;
}

const char *cj_store_id(const struct cj_store *s)
{
    return s->id;
}

static int load_token_key(struct cj_store *s, MDB_txn *txn)
{
    MDB_val v;
    int r = store_meta_get(s, txn, META_TOKEN_KEY, &v);
    if (r < 0 || v.mv_size != CJ_STORE_MAC_KEY_SIZE)
        return log_error_errno(r < 0 ? r : EUCLEAN, "store: the nextToken key is missing");
    return store_token_set_key(s, v.mv_data, v.mv_size);
}

int store_meta_del(struct cj_store *s, MDB_txn *txn, const char *key)
{
    MDB_val k = {.mv_size = strlen(key), .mv_data = (void *)key};
    int rc = mdb_del(txn, s->dbi_meta, &k, NULL);
    return rc == MDB_NOTFOUND ? 0 : store_errno(rc);
}

int store_schema_put(struct cj_store *s, MDB_txn *txn, uint32_t version)
{
    uint8_t v[4];
    for (int i = 0; i < 4; i++)
        v[i] = (uint8_t)(version >> (8 * i));
    return store_meta_put(s, txn, META_SCHEMA_VERSION, v, sizeof(v));
}

/* Schema 1 had no change log; everything else is as in schema 2, so adding the (empty)
 * log, already created by open_dbis, is the whole step. */
static int migrate_from_1(struct cj_store *s, MDB_txn *txn)
{
    struct store_counts c;
    int r = store_counts_load(s, txn, &c);
    if (r < 0)
        return log_error_errno(r, "store: cannot read the counters of schema 1: %m");
    r = store_schema_put(s, txn, 2);
    if (r < 0)
        return r;
    log_notice("store: migrated the cache from schema 1 to 2 (added the change log); its %" PRIu64
               " job(s) are kept",
               c.total);
    return 0;
}

/* Each step brings one schema to the next, up to schema 6 in the opening transaction;
 * store_migrate_from_6 then takes it to 9 and store_migrate_from_9 to 11, each in
 * transactions of its own (10 -> 11 only records the version: see below). Schema 9 reads every row
 * and event of schemas 7 and 8 as they are (rows of versions 1 and 2; events that hold their JSON,
 * and in 8 events that refer to rows), so 7 -> 9 and 8 -> 9 record the version. */
_Static_assert(CJ_STORE_SCHEMA_VERSION == 11,
               "migrate() ends at schema 11: add a step, or wipe, for a later schema");
static int migrate(struct cj_store *s, MDB_txn *txn, uint32_t version)
{
    int r = 0;
    if (version == 1)
        r = migrate_from_1(s, txn);
    /* Step 2 -> 3 builds the time index with schema 4's keys already (it has only the rows
     * to build it from), so 3 -> 4 then rewrites only the other indexes. */
    if (r >= 0 && version <= 2)
        r = store_migrate_from_2(s, txn);
    if (r >= 0 && version <= 3)
        r = store_migrate_from_3(s, txn, version == 3);
    if (r >= 0 && version <= 4)
        r = store_migrate_from_4(s, txn);
    if (r >= 0 && version <= 5)
        r = store_migrate_from_5(s, txn);
    if (r >= 0 && version <= 5)
        r = store_schema_put(s, txn, 6);
    if (r >= 0 && (version == 7 || version == 8))
        r = store_schema_put(s, txn, 9);
    /* Schema 11's second generation of the log is made empty by open_dbis, and meta's
     * absent META_EVENTS_NEWER names the first, schema 10's log. */
    if (r >= 0 && version == 10)
        r = store_schema_put(s, txn, 11);
    return r;
}

/* A cache that cannot be migrated is discarded; the next full sync rebuilds it. The change
 * log's sequence goes on from where it was, so no client holds a number that comes back. */
static int wipe_for_rebuild(struct cj_store *s, MDB_txn *txn, uint32_t version)
{
    uint64_t last_seq = 0;
    if (store_events_last_seq(s, txn, &last_seq) < 0) {
        log_warning("store: the old change log's position is unreadable; it restarts at 0");
        last_seq = 0;
    }
    int r = drop_all(s, txn);
    if (r < 0)
        return log_error_errno(r, "store: cannot discard the old cache: %m");
    r = init_meta(s, txn);
    if (r >= 0 && last_seq > 0)
        r = store_meta_put_u64(s, txn, META_LAST_SEQ, last_seq);
    if (r < 0)
        return r;
    log_notice("store: schema %" PRIu32 " is older than %d and cannot be migrated; discarded the "
               "cache, it is rebuilt from the next full sync (the change log goes on after seq "
               "%" PRIu64 ")",
               version, CJ_STORE_SCHEMA_VERSION, last_seq);
    return 0;
}

struct setup {
    bool wipe;   /* in: discard a store that could be migrated (no room, or damage) */
    bool rekey;  /* out: the store is at schema 6, for store_migrate_from_6 */
    bool repack; /* out: then at schema 9, for store_migrate_from_9 */
};

/* Runs in one write transaction (retried after growth): creates the databases, checks
 * the schema, migrates (up to schema 6) or wipes an older store, creates meta. */
static int setup_txn(struct cj_store *s, MDB_txn *txn, void *userdata)
{
    struct setup *setup = userdata;
    const bool *no_room = &setup->wipe;
    setup->rekey = setup->repack = false; /* a rerun after growth starts over */
    uint32_t version;
    bool has_data;
    int r = open_dbis(s, txn, MDB_CREATE);
    if (r >= 0)
        r = open_v5_dbis(s, txn, 0);
    if (r < 0)
        return log_error_errno(r, "store: cannot open the databases: %m");
    r = read_schema(s, txn, &version, &has_data);
    if (r < 0)
        return log_error_errno(r, "store: cannot read the schema version: %m");
    /* Schemas up to 5 kept the time and status indexes, which their migration fills. */
    if (version >= 1 && version <= 5 && !*no_room) {
        r = open_v5_dbis(s, txn, MDB_CREATE);
        if (r < 0)
            return log_error_errno(r, "store: cannot open the databases of schema 5: %m");
    }
    if (version >= 1 && version <= 6 && !*no_room) {
        r = open_v6_indexes(s, txn);
        if (r < 0)
            return log_error_errno(r, "store: cannot open the indexes of schema 6: %m");
    }

    if (version > CJ_STORE_SCHEMA_VERSION)
        return log_error_errno(EPROTONOSUPPORT,
                               "store: written by a newer copyjobd (schema %" PRIu32
                               ", this one knows %d); refusing to touch it",
                               version, CJ_STORE_SCHEMA_VERSION);
    /* Schema 0 is a store that never got one: nothing to migrate from. */
    const bool migratable = version >= 1 && version < CJ_STORE_SCHEMA_VERSION;
    if (migratable && *no_room)
        r = wipe_for_rebuild(s, txn, version);
    else if (migratable) {
        r = migrate(s, txn, version);
        /* Rows that do not decode cannot be moved; the next full sync rebuilds them. The
         * log is untouched by the migration, so its sequence still goes on. */
        if (r == -EUCLEAN)
            r = wipe_for_rebuild(s, txn, version);
        else {
            setup->rekey = r >= 0 && version <= 6;
            setup->repack = r >= 0 && version <= 9;
        }
    } else if (version < CJ_STORE_SCHEMA_VERSION && has_data)
        r = wipe_for_rebuild(s, txn, version);
    else if (version < CJ_STORE_SCHEMA_VERSION)
        r = init_meta(s, txn);
    if (r < 0)
        return r;
    /* max_events may have been lowered since the last run. */
    r = store_events_trim(s, txn);
    if (r < 0)
        return log_error_errno(r, "store: cannot trim the change log: %m");
    r = load_store_id(s, txn, true);
    if (r < 0)
        return r;
    return load_token_key(s, txn);
}

static int setup_read_only(struct cj_store *s, const char *directory)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc != MDB_SUCCESS)
        return log_error_errno(store_errno(rc), "store: cannot begin a read: %s", mdb_strerror(rc));
    /* The version first: an older store may lack databases this one has. */
    int r = store_errno(mdb_dbi_open(txn, STORE_DB_META, 0, &s->dbi_meta));
    uint32_t version = 0;
    if (r >= 0) {
        MDB_val k = {.mv_size = strlen(META_SCHEMA_VERSION), .mv_data = META_SCHEMA_VERSION}, v;
        r = store_errno(mdb_get(txn, s->dbi_meta, &k, &v));
        if (r >= 0 && v.mv_size == 4)
            version = (uint32_t)((uint8_t *)v.mv_data)[0] |
                      (uint32_t)((uint8_t *)v.mv_data)[1] << 8 |
                      (uint32_t)((uint8_t *)v.mv_data)[2] << 16 |
                      (uint32_t)((uint8_t *)v.mv_data)[3] << 24;
        if (r == -ENOENT)
            r = 0; /* version 0 */
    }
    if (r >= 0 && version != CJ_STORE_SCHEMA_VERSION)
        r = log_error_errno(EPROTONOSUPPORT,
                            "store: schema %" PRIu32 " is not %d, and read-only cannot convert",
                            version, CJ_STORE_SCHEMA_VERSION);
    if (r >= 0)
        r = open_dbis(s, txn, 0);
    /* Only so that verify sees schema 5's databases if they were left behind. */
    if (r >= 0)
        r = open_v5_dbis(s, txn, 0);
    if (r == -ENOENT)
        log_error("store: %s has no copyjobd databases yet", directory);
    if (r >= 0)
        r = load_token_key(s, txn);
    if (r >= 0)
        r = load_store_id(s, txn, false);
    if (r < 0) {
        mdb_txn_abort(txn);
        return r;
    }
    /* Committing, not aborting, keeps the database handles opened in this transaction. */
    return store_errno(mdb_txn_commit(txn));
}

/* Whoever else can write into the store directory can swap the database files under the
 * daemon (sshd's StrictModes): it must be owned by us or root, and `forbidden` mode bits
 * (group and other write at least) must be clear. */
static bool directory_is_safe(const struct stat *st, uid_t me, mode_t forbidden)
{
    return S_ISDIR(st->st_mode) && (st->st_uid == me || st->st_uid == 0) &&
           !(st->st_mode & forbidden);
}

/* A symlink planted at the store path would redirect the cache (and its writes) somewhere
 * the operator never chose. systemd's DynamicUser= makes one on purpose, though
 * (/var/lib/copyjobd -> private/copyjobd, mode 0700), so a symlink is followed only when
 * root or we own it and it leads to a directory nobody else can enter at all. */
int store_check_directory(const char *path)
{
    struct stat link, dir;
    uid_t me = geteuid();

    if (lstat(path, &link) < 0)
        return log_error_errno(errno, "store: cannot stat %s: %m", path);
    if (!S_ISLNK(link.st_mode)) {
        if (!S_ISDIR(link.st_mode))
            return log_error_errno(ENOTDIR, "store: %s is not a directory", path);
        if (!directory_is_safe(&link, me, S_IWGRP | S_IWOTH))
            return log_error_errno(EPERM,
                                   "store: %s is owned by uid %u with mode %04o; refusing it: "
                                   "it must be owned by uid %u or root and not writable by "
                                   "group or others (chmod go-w)",
                                   path, (unsigned)link.st_uid, (unsigned)(link.st_mode & 07777),
                                   (unsigned)me);
        return 0;
    }
    if (stat(path, &dir) < 0)
        return log_error_errno(errno, "store: %s is a symbolic link to nowhere: %m", path);
    if ((link.st_uid != 0 && link.st_uid != me) || !directory_is_safe(&dir, me, 0077))
        return log_error_errno(ELOOP,
                               "store: %s is a symbolic link that does not lead to a private "
                               "directory (mode 0700, owner uid %u or root); refusing to "
                               "follow it",
                               path, (unsigned)me);
    return 0;
}

/* The environment, as cj_store_open and store_release_pages open it. */
static int env_open(struct cj_store *s, const char *directory, uint64_t map_size)
{
    int rc = mdb_env_create(&s->env);
    if (rc != MDB_SUCCESS) {
        s->env = NULL;
        return store_errno(rc);
    }
    rc = mdb_env_set_maxdbs(s->env, STORE_MAX_DBS);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_set_maxreaders(s->env, STORE_MAX_READERS);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_set_mapsize(s->env, (size_t)map_size);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_open(s->env, directory, MDB_NOTLS | (s->read_only ? MDB_RDONLY : 0), 0600);
    if (rc != MDB_SUCCESS) {
        mdb_env_close(s->env);
        s->env = NULL;
        return log_error_errno(store_errno(rc), "store: cannot open LMDB in %s: %s", directory,
                               mdb_strerror(rc));
    }
    MDB_envinfo info;
    mdb_env_info(s->env, &info);
    s->map_size = info.me_mapsize;
    return 0;
}

static int reopen_dbis(struct cj_store *s, MDB_txn *txn, void *userdata)
{
    return open_dbis(s, txn, 0);
}

int store_release_pages(struct cj_store *s)
{
    if (s->read_only || !s->env || s->batch.txn || s->batch.high_water < STORE_RELEASE_PAGES_BYTES)
        return 0;
    char dir[PATH_MAX];
    const char *path;
    if (mdb_env_get_path(s->env, &path) != MDB_SUCCESS || strlen(path) >= sizeof(dir))
        return 0;
    strcpy(dir, path);
    read_txn_drop(s);
    mdb_env_close(s->env);
    s->batch.high_water = 0;
    /* The pages went back to malloc, which keeps them in its heap unless told. */
    malloc_trim(0);
    /* The same directory, just opened: failing now leaves nothing to serve from, and every
     * call says so (cj_store_lost()) until the store is closed. */
    int r = env_open(s, dir, s->map_size);
    if (r >= 0)
        r = store_write(s, reopen_dbis, NULL);
    if (r < 0) {
        log_error_errno(r, "store: cannot reopen %s: %m", dir);
        if (s->env)
            mdb_env_close(s->env);
        s->env = NULL;
        s->lost_env = r;
        return r;
    }
    return 0;
}

int cj_store_lost(const struct cj_store *s)
{
    assert(s);
    return s->env ? 0 : s->lost_env;
}

int cj_store_open(const struct cj_store_options *o, struct cj_store **ret)
{
    int r;

    assert(o);
    assert(o->directory);
    assert(ret);
    if (o->max_size < 64 * 1024)
        return log_error_errno(EINVAL, "store: max_size %" PRIu64 " is below 64K", o->max_size);

    if (!o->read_only && mkdir(o->directory, 0700) < 0 && errno != EEXIST)
        return log_error_errno(errno, "store: cannot create %s: %m", o->directory);
    r = store_check_directory(o->directory);
    if (r < 0)
        return r;

    struct cj_store *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->read_only = o->read_only;
    s->max_size = o->max_size;
    s->max_events = o->max_events ? o->max_events : CJ_STORE_EVENTS_DEFAULT;
    s->scan_budget = o->scan_budget ? o->scan_budget : CJ_STORE_SCAN_BUDGET_DEFAULT;
    uint64_t initial = o->initial_size ? o->initial_size : STORE_INITIAL_MAP_SIZE;
    if (initial > o->max_size)
        initial = o->max_size;

    /* An existing environment may be larger than the initial size: LMDB keeps its size. */
    r = env_open(s, o->directory, initial);
    if (r < 0) {
        free(s);
        return r;
    }

    int dead = 0;
    int rc = mdb_reader_check(s->env, &dead);
    if (rc != MDB_SUCCESS)
        log_warning("store: cannot check reader slots: %s", mdb_strerror(rc));
    else if (dead > 0)
        log_notice("store: cleared %d reader slot(s) left by processes that died", dead);

    struct setup setup = {0};
    r = s->read_only ? setup_read_only(s, o->directory) : store_write(s, setup_txn, &setup);
    if (r >= 0 && (setup.rekey || setup.repack)) {
        r = setup.rekey ? store_migrate_from_6(s) : 0;
        if (r >= 0)
            r = store_migrate_from_9(s);
        if (r == -EUCLEAN) {
            log_warning("store: the cache cannot be migrated; discarding it");
            setup.wipe = true;
            r = store_write(s, setup_txn, &setup);
        }
    }
    if (r == -ENOSPC && !s->read_only) {
        /* A migration writes rows anew while their old copies stay allocated until it
         * commits, which may not fit under max_size: a cache refilled by the next full
         * sync is better than a daemon that cannot start. */
        log_warning("store: no room under store.max_size to migrate the cache; discarding it");
        setup.wipe = true;
        r = store_write(s, setup_txn, &setup);
    }
    if (r < 0)
        goto fail;

    *ret = s;
    return 0;

fail:
    mdb_env_close(s->env);
    cj_buf_free(&s->scratch); /* a migration may have used it */
    cj_buf_free(&s->old_json);
    store_token_clear_key(s);
    free(s);
    return r;
}

void cj_store_close(struct cj_store *s)
{
    if (!s)
        return;
    store_pass_detach(s);
    (void)cj_store_flush(s);
    read_txn_drop(s);
    mdb_env_close(s->env);
    cj_buf_free(&s->scratch);
    cj_buf_free(&s->old_json);
    store_jobs_pending_release(s);
    store_token_clear_key(s);
    free(s);
}
