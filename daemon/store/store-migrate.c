/* SPDX-License-Identifier: MIT */
/* Schema 3 -> 4 (below) turns every key holding time | jobArn newest first; 4 -> 5 tags each
 * job with a source and builds the region and job account indexes; 5 -> 6 moves the rows into
 * one database per status; 6 -> 7 (at the end) turns every key oldest first again. Steps up
 * to 6 write schema 6's keys (the *_v6 encodings), which step 6 -> 7 reads.
 *
 * Schema 2 -> 3 in place: the rows move from `jobs` (jobArn -> row) into the time index
 * (time | jobArn -> row, where schema 2 kept empty values), and `jobs` keeps only each
 * job's time key, both already in schema 4's key order; the 3 -> 4 step then rebuilds
 * the other indexes. The change log, the counters and meta keep their bytes. Runs inside the
 * opening write transaction, so a crash leaves schema 2. */
#include <errno.h>
#include <inttypes.h>

#include "log.h"
#include "store-internal.h"

/* Puts key with a copy of v into `to`: v lies in the map, and LMDB's values are valid only
 * until the next write, which may spill or free their page. LMDB's code (ENOMEM for the
 * copy, as LMDB reports it). */
static int put_copy(struct cj_store *s, MDB_txn *txn, MDB_dbi to, const void *key, size_t klen,
                    const MDB_val *v, unsigned flags)
{
    cj_buf_reset(&s->scratch);
    if (cj_buf_append(&s->scratch, v->mv_data, v->mv_size) < 0)
        return ENOMEM;
    MDB_val nk = {.mv_size = klen, .mv_data = (void *)key};
    MDB_val nv = {.mv_size = s->scratch.len, .mv_data = s->scratch.data};
    return mdb_put(txn, to, &nk, &nv, flags);
}

int store_migrate_from_2(struct cj_store *s, MDB_txn *txn)
{
    const MDB_dbi time_dbi = s->dbi_index[CJ_INDEX_TIME];
    MDB_cursor *cur;
    MDB_val k, v;
    uint64_t moved = 0;
    int r = 0;

    /* Rebuilt from the rows, so that a stale entry of the old index cannot survive as a
     * row with an empty value. */
    int rc = mdb_drop(txn, time_dbi, 0);
    if (rc == MDB_SUCCESS)
        rc = mdb_cursor_open(txn, s->dbi_jobs, &cur);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);

    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        struct store_row row;
        uint8_t key[INDEX_KEY_MAX];
        if (k.mv_size == 0 || k.mv_size > CJ_JOB_ARN_MAX ||
            store_row_decode(v.mv_data, v.mv_size, &row) < 0) {
            r = log_error_errno(EUCLEAN, "store: a row of schema 2 does not decode");
            break;
        }
        size_t klen = store_index_key_v6(CJ_INDEX_TIME, &row, k.mv_data, k.mv_size, key);
        rc = put_copy(s, txn, time_dbi, key, klen, &v, 0);
        if (rc != MDB_SUCCESS)
            break;
        /* The cursor's key, copied out like the row (the key holds it encoded). */
        char arn[CJ_JOB_ARN_MAX];
        memcpy(arn, k.mv_data, k.mv_size);
        MDB_val ak = {.mv_size = k.mv_size, .mv_data = arn};
        MDB_val av = {.mv_size = TIME_KEY_SIZE, .mv_data = key};
        rc = mdb_cursor_put(cur, &ak, &av, MDB_CURRENT);
        if (rc != MDB_SUCCESS)
            break;
        moved++;
    }
    mdb_cursor_close(cur);
    if (r < 0)
        return r;
    /* A full map is not an error yet: store_write grows it and runs the migration again. */
    if (rc == MDB_MAP_FULL)
        return -ENOSPC;
    if (rc != MDB_NOTFOUND)
        return log_error_errno(store_errno(rc), "store: cannot move the rows of schema 2: %s",
                               mdb_strerror(rc));
    log_notice("store: migrated the cache from schema 2 to 3 (rows clustered by creation time); "
               "its %" PRIu64 " job(s) are kept",
               moved);
    return 0;
}

/* ---- schema 3 -> 4 ---- */

static int map_rc(int rc, const char *what)
{
    /* A full map is not an error yet: store_write grows it and runs the migration again. */
    if (rc == MDB_MAP_FULL)
        return -ENOSPC;
    return log_error_errno(store_errno(rc), "store: cannot %s while migrating: %s", what,
                           mdb_strerror(rc));
}

/* Copies every entry of `from` into `to` (empty) with its key rewritten by `rekey` (NULL:
 * kept). The walk runs backwards when the new keys sort in the reverse of the old ones, so
 * every put appends. */
static int copy_rows(struct cj_store *s, MDB_txn *txn, MDB_dbi from, MDB_dbi to, bool backwards,
                     bool rekey)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = mdb_cursor_open(txn, from, &cur);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);
    const MDB_cursor_op first = backwards ? MDB_LAST : MDB_FIRST;
    const MDB_cursor_op next = backwards ? MDB_PREV : MDB_NEXT;
    int r = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, first); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &k, &v, next)) {
        uint8_t key[INDEX_KEY_MAX];
        size_t klen = k.mv_size;
        if (rekey) {
            /* schema 3: time | jobArn bytes, as this schema's keys */
            if (k.mv_size <= TIME_KEY_SIZE || k.mv_size > TIME_KEY_SIZE + CJ_JOB_ARN_MAX) {
                r = log_error_errno(EUCLEAN, "store: a time index key of schema 3 is damaged");
                break;
            }
            put_time_key_v6(key, get_time_key(k.mv_data));
            klen = TIME_KEY_SIZE + put_arn_key_v6(key + TIME_KEY_SIZE,
                                                  (uint8_t *)k.mv_data + TIME_KEY_SIZE,
                                                  k.mv_size - TIME_KEY_SIZE);
        } else {
            if (k.mv_size > sizeof(key)) {
                r = -EUCLEAN;
                break;
            }
            memcpy(key, k.mv_data, k.mv_size);
        }
        rc = put_copy(s, txn, to, key, klen, &v, MDB_APPEND);
        if (rc == MDB_KEYEXIST) {
            r = log_error_errno(EUCLEAN, "store: the time index of schema 3 is out of order");
            break;
        }
        if (rc != MDB_SUCCESS)
            break;
    }
    mdb_cursor_close(cur);
    if (r < 0)
        return r;
    return rc == MDB_NOTFOUND ? 0 : map_rc(rc, "move the rows");
}

/* Rewrites the time key that starts each `jobs` value (value_size bytes) in place: from
 * schema 3's order to schema 6's (from = 3), or from schema 6's to this one's (from = 6).
 * Counts the jobs into *count when not NULL. */
static int rewrite_jobs_time_keys(MDB_txn *txn, MDB_dbi jobs, size_t value_size, int from,
                                  uint64_t *count)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int r = 0;
    int rc = mdb_cursor_open(txn, jobs, &cur);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        uint8_t b[JOBS_VALUE_SIZE], ak[CJ_JOB_ARN_MAX];
        if (v.mv_size != value_size || k.mv_size == 0 || k.mv_size > sizeof(ak)) {
            r = log_error_errno(EUCLEAN, "store: a `jobs` entry of schema %d is damaged", from);
            break;
        }
        memcpy(b, v.mv_data, value_size);
        if (from == 3)
            put_time_key_v6(b, get_time_key(b));
        else
            put_time_key(b, get_time_key_v6(b));
        memcpy(ak, k.mv_data, k.mv_size); /* the cursor's key, copied like the value */
        MDB_val nk = {.mv_size = k.mv_size, .mv_data = ak};
        MDB_val nv = {.mv_size = value_size, .mv_data = b};
        rc = mdb_cursor_put(cur, &nk, &nv, MDB_CURRENT);
        if (rc != MDB_SUCCESS)
            break;
        if (count)
            (*count)++;
    }
    mdb_cursor_close(cur);
    if (r < 0)
        return r;
    return rc == MDB_NOTFOUND ? 0 : map_rc(rc, "rewrite the jobs' time keys");
}

/* The time index with schema 4's keys: rewritten into a scratch database (the old and new
 * keys cannot share one while the old are read in order), then copied back. */
static int rewrite_rows(struct cj_store *s, MDB_txn *txn)
{
    const MDB_dbi time_dbi = s->dbi_index[CJ_INDEX_TIME];
    MDB_dbi tmp;
    int rc = mdb_dbi_open(txn, STORE_DB_MIGRATE_TMP, MDB_CREATE, &tmp);
    if (rc != MDB_SUCCESS)
        return map_rc(rc, "open a scratch database");
    rc = mdb_drop(txn, tmp, 0);
    if (rc != MDB_SUCCESS)
        return map_rc(rc, "empty the scratch database");
    int r = copy_rows(s, txn, time_dbi, tmp, true, true);
    if (r < 0)
        return r;
    rc = mdb_drop(txn, time_dbi, 0);
    if (rc != MDB_SUCCESS)
        return map_rc(rc, "empty the time index");
    r = copy_rows(s, txn, tmp, time_dbi, false, false);
    if (r < 0)
        return r;
    rc = mdb_drop(txn, tmp, 1);
    if (rc != MDB_SUCCESS)
        return map_rc(rc, "drop the scratch database");

    /* `jobs`: each job's time key, same size, rewritten in place. */
    return rewrite_jobs_time_keys(txn, s->dbi_jobs, TIME_KEY_SIZE, 3, NULL);
}

/* Schema 4's indexes; step 4 -> 5 adds the others. */
#define INDEX_MAX_V4 CJ_INDEX_JOB_REGION_TIME

/* The other indexes of schema 4, rebuilt from the rows (walked in key order, so the last
 * prefix's keys append). */
static int rebuild_indexes(struct cj_store *s, MDB_txn *txn, uint64_t *count)
{
    int rc = MDB_SUCCESS;
    for (size_t i = 0; rc == MDB_SUCCESS && i < INDEX_MAX_V4; i++)
        if (i != CJ_INDEX_TIME)
            rc = mdb_drop(txn, s->dbi_index[i], 0);
    if (rc != MDB_SUCCESS)
        return map_rc(rc, "empty the indexes");

    MDB_cursor *cur;
    MDB_val k, v;
    int r = 0;
    rc = mdb_cursor_open(txn, s->dbi_index[CJ_INDEX_TIME], &cur);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);
    s->no_append = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        char arn[CJ_JOB_ARN_MAX];
        struct store_row row;
        ssize_t arn_len = k.mv_size <= TIME_KEY_SIZE
                              ? -EUCLEAN
                              : get_arn_key_v6((uint8_t *)k.mv_data + TIME_KEY_SIZE,
                                               k.mv_size - TIME_KEY_SIZE, arn);
        if (arn_len < 0 || store_row_decode(v.mv_data, v.mv_size, &row) < 0) {
            r = log_error_errno(EUCLEAN, "store: a row of schema 3 does not decode");
            break;
        }
        /* All keys first: the row lies in the map, and a put may spill its page. */
        uint8_t keys[INDEX_MAX_V4][INDEX_KEY_MAX];
        size_t sizes[INDEX_MAX_V4];
        for (size_t i = 0; i < INDEX_MAX_V4; i++)
            sizes[i] = store_index_key_v6(i, &row, arn, (size_t)arn_len, keys[i]);
        for (size_t i = 0; rc == MDB_SUCCESS && i < INDEX_MAX_V4; i++) {
            if (i == CJ_INDEX_TIME)
                continue;
            MDB_val ik = {.mv_size = sizes[i], .mv_data = keys[i]}, iv = {0};
            rc = store_index_put(s, txn, i, &ik, &iv);
        }
        if (rc != MDB_SUCCESS)
            break;
        (*count)++;
    }
    mdb_cursor_close(cur);
    if (r < 0)
        return r;
    return rc == MDB_NOTFOUND ? 0 : map_rc(rc, "rebuild the indexes");
}

int store_migrate_from_3(struct cj_store *s, MDB_txn *txn, bool rows_v3)
{
    uint64_t count = 0;
    int r = rows_v3 ? rewrite_rows(s, txn) : 0;
    if (r >= 0)
        r = rebuild_indexes(s, txn, &count);
    if (r < 0)
        return r;
    log_notice("store: migrated the cache from schema 3 to 4 (index keys newest first); its "
               "%" PRIu64 " job(s) are kept",
               count);
    return 0;
}

/* ---- schema 4 -> 5 ----
 *
 * Sources: each job joins the source named after its jobArn's region (the name a single-region
 * daemon's one source has), which inherits the store's last sync time. The rows get their
 * region's code (header bytes 36..37, zero before), `jobs` values the source's code, and the
 * region and job account indexes are built. The change log and the union's counters keep their
 * bytes. */

static int migrate_row_5(struct cj_store *s, MDB_txn *txn, MDB_cursor *cur, const MDB_val *k,
                         const MDB_val *v, struct store_tally *t)
{
    char arn[CJ_JOB_ARN_MAX];
    uint8_t key[INDEX_KEY_MAX];
    const char *region, *account;
    size_t region_len;
    struct store_row row;
    uint16_t region_code, source_code;

    ssize_t arn_len = k->mv_size <= TIME_KEY_SIZE || k->mv_size > sizeof(key)
                          ? -EUCLEAN
                          : get_arn_key_v6((uint8_t *)k->mv_data + TIME_KEY_SIZE,
                                           k->mv_size - TIME_KEY_SIZE, arn);
    if (arn_len < 0 || store_row_decode(v->mv_data, v->mv_size, &row) < 0)
        return log_error_errno(EUCLEAN, "store: a row of schema 4 does not decode");
    if (!store_arn_parse(arn, (size_t)arn_len, &region, &region_len, &account))
        return log_error_errno(EUCLEAN, "store: a jobArn of schema 4 names no region and account");
    int r = store_names_code(s, txn, META_REGION_NAMES, region, region_len, true,
                             STORE_REGION_CODES, &region_code);
    if (r >= 0)
        r = store_names_code(s, txn, META_SOURCE_NAMES, region, region_len, true,
                             STORE_SOURCE_CODES, &source_code);
    if (r == -ERANGE)
        return log_error_errno(EUCLEAN, "store: schema 4 holds more regions than codes");
    if (r < 0)
        return r;

    /* Key and row copied out: a put may spill the page they lie on. */
    memcpy(key, k->mv_data, k->mv_size);
    size_t klen = k->mv_size;
    cj_buf_reset(&s->scratch);
    r = cj_buf_append(&s->scratch, v->mv_data, v->mv_size);
    if (r < 0)
        return r;
    put_le16((uint8_t *)s->scratch.data + 36, region_code);
    r = store_row_decode(s->scratch.data, s->scratch.len, &row);
    if (r < 0)
        return r;
    uint8_t keys[2][INDEX_KEY_MAX];
    size_t sizes[2];
    for (int i = 0; i < 2; i++)
        sizes[i] =
            store_index_key_v6(CJ_INDEX_JOB_REGION_TIME + i, &row, arn, (size_t)arn_len, keys[i]);
    r = store_tally_job(s, txn, t, source_code, row.status, 1);
    if (r < 0)
        return r;

    MDB_val nk = {.mv_size = klen, .mv_data = key};
    MDB_val nv = {.mv_size = s->scratch.len, .mv_data = s->scratch.data};
    int rc = mdb_cursor_put(cur, &nk, &nv, MDB_CURRENT);
    for (int i = 0; rc == MDB_SUCCESS && i < 2; i++) {
        MDB_val ik = {.mv_size = sizes[i], .mv_data = keys[i]}, iv = {0};
        rc = store_index_put(s, txn, CJ_INDEX_JOB_REGION_TIME + i, &ik, &iv);
    }
    if (rc == MDB_SUCCESS) {
        uint8_t jv[JOBS_VALUE_SIZE_V5];
        memcpy(jv, key, TIME_KEY_SIZE);
        put_le16(jv + TIME_KEY_SIZE, source_code);
        MDB_val ak = {.mv_size = (size_t)arn_len, .mv_data = arn};
        MDB_val av = {.mv_size = sizeof(jv), .mv_data = jv};
        rc = mdb_put(txn, s->dbi_jobs, &ak, &av, 0);
    }
    return rc == MDB_SUCCESS ? 0 : map_rc(rc, "tag the jobs with their sources");
}

int store_migrate_from_4(struct cj_store *s, MDB_txn *txn)
{
    struct store_tally t = {0};
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int64_t synced_at = 0;
    uint64_t count = 0;

    int rc = MDB_SUCCESS;
    for (size_t i = INDEX_MAX_V4; rc == MDB_SUCCESS && i < _CJ_INDEX_MAX; i++)
        rc = mdb_drop(txn, s->dbi_index[i], 0);
    if (rc != MDB_SUCCESS)
        return map_rc(rc, "empty the new indexes");
    int r = store_meta_get_i64(s, txn, META_SYNCED_AT_V4, &synced_at);
    if (r >= 0)
        r = store_tally_begin(s, txn, &t);
    if (r >= 0)
        r = store_errno(mdb_cursor_open(txn, s->dbi_index[CJ_INDEX_TIME], &cur));
    s->no_append = 0;
    for (rc = r >= 0 ? mdb_cursor_get(cur, &k, &v, MDB_FIRST) : MDB_NOTFOUND;
         rc == MDB_SUCCESS && r >= 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        r = migrate_row_5(s, txn, cur, &k, &v, &t);
        count++;
    }
    if (cur)
        mdb_cursor_close(cur);
    if (r >= 0 && rc != MDB_NOTFOUND)
        r = map_rc(rc, "walk the rows");
    /* The union's counters are schema 4's, unchanged; the sources' are new. */
    t.dirty = false;
    for (size_t i = 0; r >= 0 && i < t.n; i++) {
        t.src[i].e.synced_at_ns = synced_at;
        t.src[i].dirty = true;
    }
    if (r >= 0)
        r = store_tally_save(s, txn, &t);
    store_tally_free(&t);
    if (r >= 0) {
        MDB_val mk = {.mv_size = strlen(META_SYNCED_AT_V4), .mv_data = META_SYNCED_AT_V4};
        rc = mdb_del(txn, s->dbi_meta, &mk, NULL);
        if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
            r = store_errno(rc);
    }
    if (r < 0)
        return r;
    log_notice("store: migrated the cache from schema 4 to 5 (jobs tagged with the source named "
               "after their region, region and job account indexes); its %" PRIu64
               " job(s) are kept",
               count);
    return 0;
}

/* ---- schema 5 -> 6 ----
 * The rows leave idx_time for the database of their status, in idx_time's key order, so that
 * each database is written by appending; each job's `jobs` value and secondary index entries
 * gain its status code; idx_time and idx_status are deleted. The change log, the counters and
 * meta keep their bytes. */

static int migrate_row_6(struct cj_store *s, MDB_txn *txn, MDB_val *k, MDB_val *v)
{
    char arn[CJ_JOB_ARN_MAX];
    struct store_row row;

    ssize_t arn_len = k->mv_size <= TIME_KEY_SIZE
                          ? -EUCLEAN
                          : get_arn_key_v6((uint8_t *)k->mv_data + TIME_KEY_SIZE,
                                           k->mv_size - TIME_KEY_SIZE, arn);
    if (arn_len < 0 || store_row_decode(v->mv_data, v->mv_size, &row) < 0)
        return log_error_errno(EUCLEAN, "store: a row of schema 5 does not decode");
    /* k and v lie in idx_time, which none of the puts below touches. */
    int rc = store_rows_put(s, txn, store_rows_of(row.status), k, v);

    MDB_val ak = {.mv_size = (size_t)arn_len, .mv_data = arn}, jv;
    if (rc == MDB_SUCCESS)
        rc = mdb_get(txn, s->dbi_jobs, &ak, &jv);
    if (rc == MDB_NOTFOUND || (rc == MDB_SUCCESS && jv.mv_size != JOBS_VALUE_SIZE_V5))
        return log_error_errno(EUCLEAN, "store: a job of schema 5 has no `jobs` entry");
    if (rc == MDB_SUCCESS) {
        uint8_t b[JOBS_VALUE_SIZE];
        memcpy(b, jv.mv_data, JOBS_VALUE_SIZE_V5);
        b[JOBS_VALUE_SIZE_V5] = row.status;
        MDB_val nv = {.mv_size = sizeof(b), .mv_data = b};
        rc = mdb_put(txn, s->dbi_jobs, &ak, &nv, 0);
    }
    for (size_t i = STORE_INDEX_FIRST_SECONDARY; rc == MDB_SUCCESS && i < _CJ_INDEX_MAX; i++) {
        uint8_t key[INDEX_KEY_MAX];
        MDB_val ik = {.mv_data = key}, iv = {.mv_size = INDEX_VALUE_SIZE, .mv_data = &row.status};
        ik.mv_size = store_index_key_v6(i, &row, arn, (size_t)arn_len, key);
        rc = mdb_put(txn, s->dbi_index[i], &ik, &iv, 0);
    }
    return rc == MDB_SUCCESS ? 0 : map_rc(rc, "move a row");
}

int store_migrate_from_5(struct cj_store *s, MDB_txn *txn)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint64_t count = 0;
    int r = 0;

    s->no_append = 0;
    int rc = mdb_cursor_open(txn, s->dbi_index[CJ_INDEX_TIME], &cur);
    if (rc != MDB_SUCCESS)
        return map_rc(rc, "walk the rows");
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS && r >= 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        r = migrate_row_6(s, txn, &k, &v);
        count++;
    }
    mdb_cursor_close(cur);
    if (r < 0)
        return r;
    if (rc != MDB_NOTFOUND)
        return map_rc(rc, "walk the rows");
    rc = store_drop_v5(s, txn);
    if (rc != MDB_SUCCESS)
        return map_rc(rc, "delete idx_time and idx_status");
    log_notice("store: migrated the cache from schema 5 to 6 (rows kept by status); its %" PRIu64
               " job(s) are kept",
               count);
    return 0;
}

/* ---- schema 6 -> 7 ----
 * In steps, each its own transaction, so that the pages one step frees serve the next and the
 * file grows by about a step's rows, not by a copy of the store: each database keyed prefix |
 * time | jobArn moves, STORE_REKEY_STEP_ROWS entries a step, from its end into the scratch
 * database with this schema's keys (walking backwards: schema 6's order reversed, so each
 * prefix's new keys come oldest first and a rows database's append), then back from the
 * scratch database's start, appending. META_REKEY_AT records where the steps are, in the
 * step's own transaction, so an open after a crash goes on from there. The last step rewrites
 * the time keys in `jobs` values in place and records schema 7. Values, the change log, the
 * counters and the rest of meta keep their bytes. */

size_t store_rekey_step_rows = STORE_REKEY_STEP_ROWS;
unsigned store_rekey_stop_after;

/* The databases rekeyed, in order: the rows', then the secondary indexes. */
#define REKEY_DBS (STORE_ROWS_DBS + _CJ_INDEX_MAX - STORE_INDEX_FIRST_SECONDARY)

static void rekey_target(const struct cj_store *s, unsigned i, MDB_dbi *dbi, size_t *plen)
{
    if (i < STORE_ROWS_DBS) {
        *dbi = s->dbi_rows[i];
        *plen = 0;
    } else {
        enum cj_index x = (enum cj_index)(STORE_INDEX_FIRST_SECONDARY + i - STORE_ROWS_DBS);
        *dbi = s->dbi_index[x];
        *plen = store_index_prefix_len(x);
    }
}

/* Moves up to `max` entries from the end of `from` (schema 6's keys) into `to` with this
 * schema's; *emptied once `from` has none left. */
static int move_out(struct cj_store *s, MDB_txn *txn, MDB_dbi from, MDB_dbi to, size_t plen,
                    size_t max, bool *emptied)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = mdb_cursor_open(txn, from, &cur);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);
    int r = 0;
    *emptied = false;
    for (size_t n = 0; n < max; n++) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
        if (rc == MDB_NOTFOUND) {
            *emptied = true;
            rc = MDB_SUCCESS;
            break;
        }
        if (rc != MDB_SUCCESS)
            break;
        uint8_t key[INDEX_KEY_MAX];
        char arn[CJ_JOB_ARN_MAX];
        const uint8_t *kp = k.mv_data;
        ssize_t arn_len =
            k.mv_size <= plen + TIME_KEY_SIZE
                ? -EUCLEAN
                : get_arn_key_v6(kp + plen + TIME_KEY_SIZE, k.mv_size - plen - TIME_KEY_SIZE, arn);
        if (arn_len < 0) {
            r = log_error_errno(EUCLEAN, "store: a key of schema 6 does not decode");
            break;
        }
        memcpy(key, kp, plen);
        put_time_key(key + plen, get_time_key_v6(kp + plen));
        size_t klen =
            plen + TIME_KEY_SIZE + put_arn_key(key + plen + TIME_KEY_SIZE, arn, (size_t)arn_len);
        /* A rows database's keys come in key order; an index's, one prefix after another
         * from the last. */
        rc = put_copy(s, txn, to, key, klen, &v, plen == 0 ? MDB_APPEND : 0);
        if (rc == MDB_KEYEXIST) {
            r = log_error_errno(EUCLEAN, "store: a database of schema 6 is out of order");
            break;
        }
        if (rc == MDB_SUCCESS)
            rc = mdb_cursor_del(cur, 0);
        if (rc != MDB_SUCCESS)
            break;
    }
    mdb_cursor_close(cur);
    if (r < 0)
        return r;
    return rc == MDB_SUCCESS ? 0 : map_rc(rc, "move an entry to the scratch database");
}

/* Moves up to `max` entries from the start of `from` to the end of `to`, rows database d's
 * (d < STORE_ROWS_DBS) or else secondary index d - STORE_ROWS_DBS + STORE_INDEX_FIRST_SECONDARY,
 * whose entries it splits into prefix and duplicate; *emptied once `from` has none left. */
static int move_back(struct cj_store *s, MDB_txn *txn, MDB_dbi from, unsigned d, size_t max,
                     bool *emptied)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = mdb_cursor_open(txn, from, &cur);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);
    *emptied = false;
    for (size_t n = 0; n < max; n++) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
        if (rc == MDB_NOTFOUND) {
            *emptied = true;
            rc = MDB_SUCCESS;
            break;
        }
        if (rc != MDB_SUCCESS)
            break;
        /* The key copied out, as the value is by put_copy: a write may move its page. */
        uint8_t key[INDEX_KEY_MAX];
        const size_t klen = k.mv_size;
        const bool rows = d < STORE_ROWS_DBS;
        const enum cj_index i =
            rows ? CJ_INDEX_TIME
                 : (enum cj_index)(STORE_INDEX_FIRST_SECONDARY + d - STORE_ROWS_DBS);
        if (klen > sizeof(key) ||
            (!rows && (v.mv_size != INDEX_VALUE_SIZE || klen <= store_index_prefix_len(i) + 8))) {
            mdb_cursor_close(cur);
            return log_error_errno(EUCLEAN, "store: the scratch database holds a damaged entry");
        }
        memcpy(key, k.mv_data, klen);
        rc = rows ? put_copy(s, txn, s->dbi_rows[d], key, klen, &v, MDB_APPEND)
                  : store_index_add(s, txn, i, key, klen, *(const uint8_t *)v.mv_data);
        if (rc == MDB_SUCCESS)
            rc = mdb_cursor_del(cur, 0);
        if (rc != MDB_SUCCESS)
            break;
    }
    mdb_cursor_close(cur);
    return rc == MDB_SUCCESS ? 0 : map_rc(rc, "move an entry back from the scratch database");
}

/* Runs `step` of migration `what` in write transactions of its own until it sets *done,
 * calling committed (when not NULL) after each commit; *steps counts the transactions.
 * -EINTR before step number stop_after (0: never), as a crash there would stop it; else the
 * first error, logged. */
static int migrate_in_steps(struct cj_store *s, const char *what, store_write_fn step, void *st,
                            const bool *done, unsigned stop_after, void (*committed)(void *st),
                            unsigned *steps)
{
    int r = 0;
    /* Each step moves at least one entry or one phase on: bounded by the entries. */
    for (*steps = 0; r >= 0 && !*done; (*steps)++) {
        if (stop_after && *steps == stop_after)
            return -EINTR;
        r = store_write(s, step, st);
        if (r >= 0 && committed)
            committed(st);
    }
    if (r < 0)
        return log_error_errno(r, "store: the migration %s stopped after %u transactions: %m", what,
                               *steps);
    return 0;
}

struct rekey_step {
    bool done;
    uint64_t jobs;
};

/* One step, in its transaction: META_REKEY_AT is the database (0..REKEY_DBS, REKEY_DBS for
 * `jobs`) and the phase (0: to the scratch database, 1: back). */
static int rekey_step(struct cj_store *s, MDB_txn *txn, void *userdata)
{
    struct rekey_step *st = userdata;
    uint8_t at[2] = {0, 0};
    MDB_val v;
    MDB_dbi tmp;

    st->done = false;
    int r = store_meta_get(s, txn, META_REKEY_AT, &v);
    if (r >= 0) {
        if (v.mv_size != sizeof(at) || ((uint8_t *)v.mv_data)[0] > REKEY_DBS ||
            ((uint8_t *)v.mv_data)[1] > 1)
            return log_error_errno(EUCLEAN, "store: the migration's position is damaged");
        memcpy(at, v.mv_data, sizeof(at));
    } else if (r != -ENOENT)
        return r;
    int rc = mdb_dbi_open(txn, STORE_DB_MIGRATE_TMP, MDB_CREATE, &tmp);
    if (rc != MDB_SUCCESS)
        return map_rc(rc, "open the scratch database");
    /* An aborted step closes the handle of an index it made anew: opened again each time,
     * with whatever flags the index has. */
    for (size_t i = STORE_INDEX_FIRST_SECONDARY; rc == MDB_SUCCESS && i < _CJ_INDEX_MAX; i++)
        rc = mdb_dbi_open(txn, store_index_db_names[i], MDB_CREATE, &s->dbi_index[i]);
    if (rc != MDB_SUCCESS)
        return map_rc(rc, "open the indexes");

    if (at[0] == REKEY_DBS) {
        st->jobs = 0;
        r = rewrite_jobs_time_keys(txn, s->dbi_jobs, JOBS_VALUE_SIZE, 6, &st->jobs);
        if (r < 0)
            return r;
        rc = mdb_drop(txn, tmp, 1);
        if (rc != MDB_SUCCESS)
            return map_rc(rc, "drop the scratch database");
        r = store_meta_del(s, txn, META_REKEY_AT);
        if (r >= 0)
            r = store_schema_put(s, txn, 9);
        st->done = r >= 0;
        return r;
    }

    MDB_dbi dbi;
    size_t plen;
    bool emptied;
    rekey_target(s, at[0], &dbi, &plen);
    s->no_append = 0;
    if (at[1] == 0)
        r = move_out(s, txn, dbi, tmp, plen, store_rekey_step_rows, &emptied);
    else
        r = move_back(s, txn, tmp, at[0], store_rekey_step_rows, &emptied);
    if (r < 0)
        return r;
    if (emptied && at[1] == 0 && at[0] >= STORE_ROWS_DBS) {
        /* The index comes back as sorted duplicates (store-index.c). */
        enum cj_index i = (enum cj_index)(STORE_INDEX_FIRST_SECONDARY + at[0] - STORE_ROWS_DBS);
        rc = mdb_drop(txn, s->dbi_index[i], 1);
        if (rc == MDB_SUCCESS)
            rc = mdb_dbi_open(txn, store_index_db_names[i], MDB_CREATE | MDB_DUPSORT,
                              &s->dbi_index[i]);
        if (rc != MDB_SUCCESS)
            return map_rc(rc, "make an index anew");
    }
    if (emptied) {
        at[0] += at[1];
        at[1] = !at[1];
    }
    return store_meta_put(s, txn, META_REKEY_AT, at, sizeof(at));
}

int store_migrate_from_6(struct cj_store *s)
{
    struct rekey_step st = {0};
    unsigned steps = 0;

    log_notice("store: migrating the cache from schema 6 to 7 (keys oldest first), %zu entries "
               "a transaction",
               store_rekey_step_rows);
    int r = migrate_in_steps(s, "from schema 6 to 7", rekey_step, &st, &st.done,
                             store_rekey_stop_after, NULL, &steps);
    if (r < 0)
        return r;
    log_notice("store: migrated the cache from schema 6 to 9 (keys oldest first) in %u "
               "transactions; its %" PRIu64 " job(s) are kept, their `jobs` keys are packed next",
               steps, st.jobs);
    return 0;
}

/* ---- schema 9 -> 10: `jobs` keys packed ----
 *
 * Packed keys begin with a tag below any jobArn's first byte, so the two kinds share `jobs`
 * while it runs: each step, a transaction of its own, reads up to store_rekey_step_rows
 * jobArn keys past the one META_REPACK_AT names, deletes those that pack and puts them back
 * packed, and names the last key it read. A crash leaves a position that holds, so the next
 * open goes on from it; the last step deletes it and records schema 11 (10 -> 11 adds only
 * the change log's second generation, which the opening made). */

unsigned store_repack_stop_after;

struct repack {
    bool done;
    uint64_t packed, step_packed;
    struct cj_buf moves; /* [le16 key length][jobArn][value][le16 region code] */
    uint8_t after[CJ_JOB_ARN_MAX];
    size_t after_len;
};

/* The region code of a jobArn key (1 when it has none and none is left: kept as it is);
 * -EUCLEAN if it names no region, which store_job_check refuses: damage. */
static int repack_region(struct cj_store *s, MDB_txn *txn, const MDB_val *k, uint16_t *code)
{
    const char *region, *account;
    size_t len;
    if (!store_arn_parse(k->mv_data, k->mv_size, &region, &len, &account))
        return log_error_errno(EUCLEAN, "store: a `jobs` key of %zu bytes is no jobArn",
                               k->mv_size);
    int r =
        store_names_code(s, txn, META_REGION_NAMES, region, len, true, STORE_REGION_CODES, code);
    return r == -ERANGE ? 1 : r;
}

/* Reads the jobArn keys of this step into st->moves (those that pack) and st->after (the
 * last one); *end when none is left past it. */
static int repack_read(struct cj_store *s, MDB_txn *txn, struct repack *st, bool *end)
{
    static const uint8_t first = JOBS_KEY_FIRST_RAW;
    MDB_val k = {.mv_size = 1, .mv_data = (void *)&first}, v;
    MDB_cursor *cur;

    int r = store_meta_get(s, txn, META_REPACK_AT, &v);
    if (r >= 0) {
        if (v.mv_size == 0 || v.mv_size > sizeof(st->after))
            return log_error_errno(EUCLEAN, "store: the migration's position is damaged");
        memcpy(st->after, v.mv_data, v.mv_size);
        st->after_len = v.mv_size;
        k = (MDB_val){.mv_size = st->after_len, .mv_data = st->after};
    } else if (r != -ENOENT)
        return r;
    else
        st->after_len = 0;
    r = 0;
    *end = false;
    cj_buf_reset(&st->moves);

    int rc = mdb_cursor_open(txn, s->dbi_jobs, &cur);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    /* The key the last step ended at is still there when it did not pack. */
    if (rc == MDB_SUCCESS && st->after_len && k.mv_size == st->after_len &&
        memcmp(k.mv_data, st->after, k.mv_size) == 0)
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    for (size_t n = 0; rc == MDB_SUCCESS && n < store_rekey_step_rows;
         n++, rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        uint16_t code;
        uint8_t kb[JOBS_KEY_PACKED], len[2], c[2];
        MDB_val pk;
        if (v.mv_size != JOBS_VALUE_SIZE || k.mv_size > CJ_JOB_ARN_MAX) {
            r = log_error_errno(EUCLEAN,
                                "store: a damaged `jobs` entry (%zu-byte key, %zu-byte value)",
                                k.mv_size, v.mv_size);
            break;
        }
        memcpy(st->after, k.mv_data, k.mv_size);
        st->after_len = k.mv_size;
        r = repack_region(s, txn, &k, &code);
        if (r < 0)
            break;
        if (r > 0)
            continue;
        store_jobs_key(k.mv_data, k.mv_size, code, kb, &pk);
        if (!store_jobs_key_packed(&pk))
            continue;
        put_le16(len, (uint16_t)k.mv_size);
        put_le16(c, code);
        if ((r = cj_buf_append(&st->moves, len, 2)) < 0 ||
            (r = cj_buf_append(&st->moves, k.mv_data, k.mv_size)) < 0 ||
            (r = cj_buf_append(&st->moves, v.mv_data, v.mv_size)) < 0 ||
            (r = cj_buf_append(&st->moves, c, 2)) < 0)
            break;
    }
    mdb_cursor_close(cur);
    if (r < 0)
        return r;
    if (rc == MDB_NOTFOUND)
        *end = true;
    else if (rc != MDB_SUCCESS)
        return map_rc(rc, "read `jobs`");
    return 0;
}

static int repack_step(struct cj_store *s, MDB_txn *txn, void *userdata)
{
    struct repack *st = userdata;
    bool end;

    st->done = false;
    st->step_packed = 0;
    int r = repack_read(s, txn, st, &end);
    if (r < 0)
        return r;
    const uint8_t *p = (const uint8_t *)st->moves.data, *e = p + st->moves.len;
    while (p < e) {
        size_t len = get_le16(p);
        const char *arn = (const char *)p + 2;
        uint8_t kb[JOBS_KEY_PACKED];
        MDB_val ak = {.mv_size = len, .mv_data = (void *)arn}, pk;
        MDB_val v = {.mv_size = JOBS_VALUE_SIZE, .mv_data = (void *)(p + 2 + len)};
        store_jobs_key(arn, len, get_le16(p + 2 + len + JOBS_VALUE_SIZE), kb, &pk);
        int rc = mdb_del(txn, s->dbi_jobs, &ak, NULL);
        if (rc == MDB_SUCCESS)
            rc = mdb_put(txn, s->dbi_jobs, &pk, &v, MDB_NOOVERWRITE);
        if (rc == MDB_KEYEXIST)
            return log_error_errno(EUCLEAN, "store: %.*s packs into the key of another job",
                                   (int)len, arn);
        if (rc != MDB_SUCCESS)
            return map_rc(rc, "pack a `jobs` key");
        st->step_packed++;
        p += 2 + len + JOBS_VALUE_SIZE + 2;
    }
    if (!end)
        return store_meta_put(s, txn, META_REPACK_AT, st->after, st->after_len);
    r = store_meta_del(s, txn, META_REPACK_AT);
    if (r >= 0)
        r = store_schema_put(s, txn, 11); /* 10 -> 11 adds only an empty database */
    st->done = r >= 0;
    return r;
}

static void repack_committed(void *userdata)
{
    struct repack *st = userdata;
    st->packed += st->step_packed;
}

int store_migrate_from_9(struct cj_store *s)
{
    struct repack st = {0};
    unsigned steps = 0;

    log_notice("store: migrating the cache from schema 9 to 11 (`jobs` keys packed), %zu keys "
               "a transaction",
               store_rekey_step_rows);
    int r = migrate_in_steps(s, "from schema 9 to 11", repack_step, &st, &st.done,
                             store_repack_stop_after, repack_committed, &steps);
    cj_buf_free(&st.moves);
    if (r < 0)
        return r;
    log_notice("store: migrated the cache from schema 9 to 11 in %u transactions; %" PRIu64
               " `jobs` key(s) packed",
               steps, st.packed);
    return 0;
}
