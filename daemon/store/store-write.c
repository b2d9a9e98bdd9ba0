/* SPDX-License-Identifier: MIT */
/* Writing jobs: insert, update, unchanged detection, moves between sources, removal. Every
 * call is one transaction (a full pass's page: a part of the batch) that keeps rows, indexes
 * and counters in step. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "store-internal.h"

/* Deletes the row `r` of jobArn `arn` from its rows database and its keys from the
 * secondary indexes; the caller deletes the job's `jobs` entry and counts it off. */
static int unindex_row(struct cj_store *s, MDB_txn *txn, const char *arn, size_t arn_len,
                       const struct store_row *r)
{
    uint8_t keys[_CJ_INDEX_MAX][INDEX_KEY_MAX];
    size_t sizes[_CJ_INDEX_MAX];
    const unsigned rows_db = store_rows_of(r->status);

    /* All keys are built before the first delete: deleting may move pages under r, which
     * lies in the rows, the first database deleted from. */
    sizes[CJ_INDEX_TIME] = store_index_key(CJ_INDEX_TIME, r, arn, arn_len, keys[CJ_INDEX_TIME]);
    for (size_t i = STORE_INDEX_FIRST_SECONDARY; i < _CJ_INDEX_MAX; i++)
        sizes[i] = store_index_key(i, r, arn, arn_len, keys[i]);
    const uint8_t status = r->status;
    MDB_val k = {.mv_size = sizes[CJ_INDEX_TIME], .mv_data = keys[CJ_INDEX_TIME]};
    int rc = mdb_del(txn, s->dbi_rows[rows_db], &k, NULL);
    if (rc == MDB_NOTFOUND)
        rc = MDB_SUCCESS;
    for (size_t i = STORE_INDEX_FIRST_SECONDARY; rc == MDB_SUCCESS && i < _CJ_INDEX_MAX; i++)
        rc = store_index_remove(s, txn, i, keys[i], sizes[i], status);
    return store_errno(rc);
}

/* A put into a database that appends when it can. A full sync arrives oldest first, which is
 * the key order, so the keys of each rows database arrive past its last one: MDB_APPEND then
 * fills each page before starting the next, where a plain put splits it in half. A refused
 * append (MDB_KEYEXIST: the key is not past the last) costs one descent, so after the first
 * one in a transaction the index is written with plain puts. */
static int put_appending(struct cj_store *s, MDB_txn *txn, MDB_dbi dbi, MDB_cursor **slot,
                         unsigned bit, MDB_val *k, MDB_val *v)
{
    if (!(s->no_append & (1u << bit))) {
        MDB_val v2 = *v;
        MDB_cursor *cur = NULL;
        /* Only appends go through the run's cursor (slot), which so stays on the last leaf: a
         * plain put elsewhere could split that leaf under it. */
        int rc = slot ? store_run_cursor(s, txn, dbi, slot, &cur) : MDB_SUCCESS;
        if (rc == MDB_SUCCESS)
            rc = cur ? mdb_cursor_put(cur, k, &v2, MDB_APPEND)
                     : mdb_put(txn, dbi, k, &v2, MDB_APPEND);
        if (rc != MDB_KEYEXIST)
            return rc;
        s->no_append |= 1u << bit;
    }
    return mdb_put(txn, dbi, k, v, 0);
}

int store_index_put(struct cj_store *s, MDB_txn *txn, enum cj_index i, MDB_val *k, MDB_val *v)
{
    return put_appending(s, txn, s->dbi_index[i], NULL, (unsigned)i, k, v);
}

_Static_assert(_CJ_INDEX_MAX <= STORE_NO_APPEND_ROWS, "a bit for each index");
int store_rows_put(struct cj_store *s, MDB_txn *txn, unsigned d, MDB_val *k, MDB_val *v)
{
    return put_appending(s, txn, s->dbi_rows[d], &s->rows_cursor[d], STORE_NO_APPEND_ROWS + d, k,
                         v);
}

static bool same_key(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
    return a_len == b_len && memcmp(a, b, a_len) == 0;
}

/* A job listed again is no longer missed by any pass. */
static int forget_missed(struct cj_store *s, MDB_txn *txn, const char *arn, size_t len)
{
    if (!s->txn_missed_any)
        return 0;
    MDB_val k = {.mv_size = len, .mv_data = (void *)arn};
    int rc = mdb_del(txn, s->dbi_missed, &k, NULL);
    return rc == MDB_NOTFOUND ? 0 : store_errno(rc);
}

struct put_ctx {
    const char *source;
    const struct cj_job *jobs;
    size_t n;
    const size_t *order; /* the jobs in key order, or NULL when jobs[] is */
    uint16_t source_code;
    /* The region code of the job before, which the next usually shares. */
    char region[CJ_REGION_NAME_MAX];
    size_t region_len;
    uint16_t region_code;
    struct store_tally tally;
    struct cj_store_changes changes;
    size_t *noted; /* the jobs with a note this transaction created or changed */
    size_t n_noted, cap_noted;
};

static int region_code(struct cj_store *s, MDB_txn *txn, struct put_ctx *c, const char *arn,
                       size_t arn_len, uint16_t *ret)
{
    const char *region, *account;
    size_t len;
    if (!store_arn_parse(arn, arn_len, &region, &len, &account))
        return -EINVAL; /* store_job_check refused it already */
    if (len != c->region_len || memcmp(region, c->region, len) != 0) {
        int r = store_names_code(s, txn, META_REGION_NAMES, region, len, true, STORE_REGION_CODES,
                                 &c->region_code);
        if (r < 0)
            return r;
        memcpy(c->region, region, len);
        c->region_len = len;
    }
    *ret = c->region_code;
    return 0;
}

static void jobs_value(uint8_t b[JOBS_VALUE_SIZE], const uint8_t *time_key, uint16_t source,
                       uint8_t status)
{
    memcpy(b, time_key, TIME_KEY_SIZE);
    put_le16(b + TIME_KEY_SIZE, source);
    b[JOBS_VALUE_SIZE_V5] = status;
}

/* Puts a `jobs` entry of a job whose jobArn's region has code `region`: the row's time key,
 * the source and the status. */
static int put_jobs_entry(struct cj_store *s, MDB_txn *txn, const char *arn, size_t arn_len,
                          uint16_t region, const uint8_t *time_key, uint16_t source, uint8_t status)
{
    uint8_t b[JOBS_VALUE_SIZE], kb[JOBS_KEY_PACKED];
    jobs_value(b, time_key, source, status);
    MDB_val ak, av = {.mv_size = sizeof(b), .mv_data = b};
    store_jobs_key(arn, arn_len, region, kb, &ak);
    return store_errno(mdb_put(txn, s->dbi_jobs, &ak, &av, 0));
}

/* Puts the `jobs` entry of a new job, or finds the one there: -ENOENT when it put one (the
 * job is new; in a batch of many new jobs, its entry is pending until the batch commits,
 * store-jobs-pending.c, and *pending true), else the job's row and source as store_row_get
 * gives them. At most one descent into `jobs`, where a get then a put took two for each new
 * job. */
static int claim_jobs_entry(struct cj_store *s, MDB_txn *txn, const char *arn, size_t arn_len,
                            uint16_t region, const uint8_t *time_key, uint16_t source,
                            uint8_t status, MDB_val *row, uint16_t *old_source, bool *pending)
{
    uint8_t b[JOBS_VALUE_SIZE], kb[JOBS_KEY_PACKED];
    jobs_value(b, time_key, source, status);
    MDB_val ak, av = {.mv_size = sizeof(b), .mv_data = b};
    store_jobs_key(arn, arn_len, region, kb, &ak);
    int r = store_jobs_pending_claim(s, txn, &ak, &av);
    *pending = r > 0;
    if (r != 0)
        return r > 0 ? -ENOENT : r;
    int rc = mdb_put(txn, s->dbi_jobs, &ak, &av, MDB_NOOVERWRITE);
    if (rc == MDB_SUCCESS) {
        r = store_jobs_pending_note_new(s, txn, &ak);
        return r < 0 ? r : -ENOENT;
    }
    if (rc != MDB_KEYEXIST)
        return store_errno(rc);
    /* av is now the stored value. */
    r = store_row_at(s, txn, &av, arn, arn_len, row);
    if (r >= 0)
        *old_source = jobs_value_source(&av);
    return r;
}

/* 1 when the job was created or changed, 0 when it was unchanged (perhaps moved to this
 * source) or could not be indexed. */
static int put_one(struct cj_store *s, MDB_txn *txn, struct put_ctx *c, const struct cj_job *j)
{
    size_t arn_len = strlen(j->job_arn);
    struct cj_store_changes *ch = &c->changes;
    MDB_val old;
    struct store_row nr, orow;
    uint8_t new_keys[_CJ_INDEX_MAX][INDEX_KEY_MAX], old_keys[_CJ_INDEX_MAX][INDEX_KEY_MAX];
    size_t new_sizes[_CJ_INDEX_MAX], old_sizes[_CJ_INDEX_MAX];
    bool existed, pending;
    uint8_t status;
    uint16_t region, old_source = 0;

    int r = forget_missed(s, txn, j->job_arn, arn_len);
    if (r < 0)
        return r;
    r = store_status_code(s, txn, j, true, &status);
    if (r == -ERANGE) {
        log_warning("store: %s: no status code is left for status \"%s\"; the job is not stored",
                    j->job_arn, j->status_name);
        return 0;
    }
    if (r < 0)
        return r;
    r = region_code(s, txn, c, j->job_arn, arn_len, &region);
    if (r == -ERANGE) {
        log_warning("store: %s: no region code is left for its region; the job is not stored",
                    j->job_arn);
        return 0;
    }
    if (r < 0)
        return r;
    r = store_row_encode(j, status, region, &s->scratch);
    if (r < 0)
        return r;
    r = store_row_decode(s->scratch.data, s->scratch.len, &nr);
    if (r < 0)
        return r;
    for (size_t i = 0; i < _CJ_INDEX_MAX; i++)
        if (i == CJ_INDEX_TIME || i >= STORE_INDEX_FIRST_SECONDARY)
            new_sizes[i] = store_index_key(i, &nr, j->job_arn, arn_len, new_keys[i]);

    r = claim_jobs_entry(s, txn, j->job_arn, arn_len, region, new_keys[CJ_INDEX_TIME],
                         c->source_code, nr.status, &old, &old_source, &pending);
    if (r >= 0) {
        if (store_row_same(old.mv_data, old.mv_size, s->scratch.data, s->scratch.len)) {
            ch->unchanged++;
            if (old_source == c->source_code)
                return 0;
            /* Listed by another source now: it moves, and nothing served changes. */
            r = store_tally_job(s, txn, &c->tally, old_source, nr.status, -1);
            if (r >= 0)
                r = store_tally_job(s, txn, &c->tally, c->source_code, nr.status, 1);
            if (r >= 0)
                r = put_jobs_entry(s, txn, j->job_arn, arn_len, region, new_keys[CJ_INDEX_TIME],
                                   c->source_code, nr.status);
            return r < 0 ? r : 0;
        }
        existed = true;
        r = store_row_decode(old.mv_data, old.mv_size, &orow);
        if (r < 0)
            return log_error_errno(r, "store: the stored row of %s is damaged", j->job_arn);
        /* All old keys are built now: the first write may move the page old lies on. */
        for (size_t i = 0; i < _CJ_INDEX_MAX; i++)
            if (i == CJ_INDEX_TIME || i >= STORE_INDEX_FIRST_SECONDARY)
                old_sizes[i] = store_index_key(i, &orow, j->job_arn, arn_len, old_keys[i]);
        /* The event that referred to the old row keeps its JSON. */
        if (orow.event_seq) {
            r = store_event_materialize(s, txn, orow.event_seq, orow.json, orow.json_len);
            if (r < 0)
                return r;
        }
        r = store_tally_job(s, txn, &c->tally, old_source, orow.status, -1);
    } else if (r == -ENOENT) {
        existed = false;
        r = 0;
    } else
        return log_error_errno(r, "store: the stored row of %s is damaged", j->job_arn);
    if (r >= 0)
        r = store_tally_job(s, txn, &c->tally, c->source_code, nr.status, 1);
    if (r < 0)
        return r;

    /* The row, in the database of its status. A new status moves it to another, a new
     * creationTime (Bedrock never changes one) within it, and `jobs` then points at the new
     * place. */
    const uint8_t *tkey = new_keys[CJ_INDEX_TIME];
    const bool new_status = existed && orow.status != nr.status;
    bool moved = !existed || new_status ||
                 !same_key(old_keys[CJ_INDEX_TIME], old_sizes[CJ_INDEX_TIME], tkey,
                           new_sizes[CJ_INDEX_TIME]);
    if (existed && moved) {
        MDB_val ok = {.mv_size = old_sizes[CJ_INDEX_TIME], .mv_data = old_keys[CJ_INDEX_TIME]};
        int rc = mdb_del(txn, s->dbi_rows[store_rows_of(orow.status)], &ok, NULL);
        if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
            return store_errno(rc);
    }
    /* The event refers to the row, which names it. */
    uint64_t seq;
    r = store_event_append_ref(s, txn, existed ? CJ_EVENT_UPDATED : CJ_EVENT_CREATED, j->job_arn,
                               arn_len, &seq);
    if (r < 0)
        return r;
    store_row_set_event_seq(&s->scratch, seq);
    MDB_val k = {.mv_size = new_sizes[CJ_INDEX_TIME], .mv_data = (void *)tkey};
    MDB_val v = {.mv_size = s->scratch.len, .mv_data = s->scratch.data};
    const unsigned rows_db = store_rows_of(nr.status);
    const bool wait = pending && store_rows_pending_wanted(s, txn);
    int rc = wait && store_rows_pending_add(s, rows_db, &k, &v)
                 ? MDB_SUCCESS
                 : store_rows_put(s, txn, rows_db, &k, &v);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);
    if (existed && (moved || old_source != c->source_code)) {
        r = put_jobs_entry(s, txn, j->job_arn, arn_len, region, tkey, c->source_code, nr.status);
        if (r < 0)
            return r;
    }

    /* An entry holds its status: a new status is a new entry too. */
    for (size_t i = STORE_INDEX_FIRST_SECONDARY; i < _CJ_INDEX_MAX; i++) {
        bool same = existed && same_key(old_keys[i], old_sizes[i], new_keys[i], new_sizes[i]);
        if (same && !new_status)
            continue;
        if (existed) {
            rc = store_index_remove(s, txn, i, old_keys[i], old_sizes[i], orow.status);
            if (rc != MDB_SUCCESS)
                return store_errno(rc);
        }
        rc = wait && store_index_add_pending(s, i, new_keys[i], new_sizes[i], nr.status)
                 ? MDB_SUCCESS
                 : store_index_add(s, txn, i, new_keys[i], new_sizes[i], nr.status);
        if (rc != MDB_SUCCESS)
            return store_errno(rc);
    }
    if (existed)
        ch->updated++;
    else
        ch->created++;
    return 1;
}

static int note_changed(struct put_ctx *c, size_t i)
{
    if (c->n_noted == c->cap_noted) {
        size_t cap = c->cap_noted ? c->cap_noted * 2 : 8;
        size_t *a = reallocarray(c->noted, cap, sizeof(*a));
        if (!a)
            return -ENOMEM;
        c->noted = a;
        c->cap_noted = cap;
    }
    c->noted[c->n_noted++] = i;
    return 0;
}

static int put_all(struct cj_store *s, MDB_txn *txn, struct put_ctx *c)
{
    MDB_stat st;

    c->changes = (struct cj_store_changes){0}; /* a retry after growth starts over */
    c->n_noted = 0;
    c->region_len = 0;
    s->no_append = 0;
    s->txn_missed_any =
        s->has_missed && mdb_stat(txn, s->dbi_missed, &st) == MDB_SUCCESS && st.ms_entries > 0;
    int r = store_names_code(s, txn, META_SOURCE_NAMES, c->source, strlen(c->source), true,
                             STORE_SOURCE_CODES, &c->source_code);
    if (r == -ERANGE)
        return log_error_errno(ENOSPC, "store: no code is left for source %s (%d sources)",
                               c->source, STORE_SOURCE_CODES);
    if (r >= 0)
        r = store_tally_begin(s, txn, &c->tally);
    if (r < 0)
        return r;
    for (size_t o = 0; o < c->n; o++) {
        size_t i = c->order ? c->order[o] : o;
        r = put_one(s, txn, c, &c->jobs[i]);
        if (r > 0 && c->jobs[i].note)
            r = note_changed(c, i);
        if (r < 0)
            return r;
    }
    return store_tally_save(s, txn, &c->tally);
}

int store_run_cursor(struct cj_store *s, MDB_txn *txn, MDB_dbi dbi, MDB_cursor **slot,
                     MDB_cursor **ret)
{
    *ret = NULL;
    if (!s->in_run)
        return MDB_SUCCESS;
    if (!*slot) {
        int rc = mdb_cursor_open(txn, dbi, slot);
        if (rc != MDB_SUCCESS) {
            *slot = NULL;
            return rc;
        }
    }
    *ret = *slot;
    return MDB_SUCCESS;
}

void store_run_cursors_drop(struct cj_store *s)
{
    for (size_t i = 0; i < _CJ_INDEX_MAX; i++)
        store_cursor_drop(&s->index_cursor[i]);
    for (size_t d = 0; d < STORE_ROWS_DBS; d++)
        store_cursor_drop(&s->rows_cursor[d]);
    store_cursor_drop(&s->log_cursor);
}

/* Closes the run's cursors before its transaction can end. */
static void run_cursors_close(struct cj_store *s)
{
    store_run_cursors_drop(s);
    s->in_run = false;
}

static int put_txn(struct cj_store *s, MDB_txn *txn, void *userdata)
{
    s->in_run = true;
    int r = put_all(s, txn, userdata);
    run_cursors_close(s);
    return r;
}

/* A page is put in key order, (creationTime, jobArn) ascending, so that its new rows append
 * wherever they land: a full pass lists oldest first, but a quick sync newest first. Jobs of
 * one key keep the page's order. */
struct put_key {
    int64_t time;
    const char *arn;
    size_t i;
};

static int put_key_cmp(const void *a, const void *b)
{
    const struct put_key *x = a, *y = b;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    int c = strcmp(x->arn, y->arn);
    if (c)
        return c;
    return (x->i > y->i) - (x->i < y->i);
}

static int job_key_cmp(const struct cj_job *a, const struct cj_job *b)
{
    if (a->creation_ns != b->creation_ns)
        return a->creation_ns < b->creation_ns ? -1 : 1;
    return strcmp(a->job_arn, b->job_arn);
}

/* *ret: the order to put jobs[] in, NULL when it is jobs[]'s own. */
static int put_order(const struct cj_job *jobs, size_t n, size_t **ret)
{
    bool ascending = true, descending = true;
    for (size_t i = 1; i < n && (ascending || descending); i++) {
        int c = job_key_cmp(&jobs[i - 1], &jobs[i]);
        ascending = ascending && c <= 0;
        descending = descending && c > 0;
    }
    *ret = NULL;
    if (ascending)
        return 0;
    size_t *order = calloc(n, sizeof(*order));
    if (!order)
        return -ENOMEM;
    if (descending)
        for (size_t i = 0; i < n; i++)
            order[i] = n - 1 - i;
    else {
        struct put_key *k = calloc(n, sizeof(*k));
        if (!k) {
            free(order);
            return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
            k[i] = (struct put_key){.time = jobs[i].creation_ns, .arn = jobs[i].job_arn, .i = i};
        qsort(k, n, sizeof(*k), put_key_cmp);
        for (size_t i = 0; i < n; i++)
            order[i] = k[i].i;
        free(k);
    }
    *ret = order;
    return 0;
}

int cj_store_put_jobs(struct cj_store *s, const char *source, struct cj_store_pass *pass,
                      const struct cj_job *jobs, size_t n, struct cj_store_changes *changes)
{
    assert(s);
    assert(n == 0 || jobs);
    if (!cj_valid_source_name(source) || (pass && pass != store_pass_of(s, source)))
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        int r = store_job_check(&jobs[i]);
        if (r < 0)
            return r;
    }
    /* Seen means seen, whether or not this write succeeds. */
    for (size_t i = 0; i < n; i++)
        store_pass_note(s, pass, source, jobs[i].job_arn, strlen(jobs[i].job_arn));
    if (n == 0)
        return 0;

    size_t *order = NULL;
    int r = put_order(jobs, n, &order);
    if (r < 0)
        return r;
    struct put_ctx c = {.source = source, .jobs = jobs, .n = n, .order = order};
    /* A full pass's pages share commits; other writes are committed at once. */
    if (pass) {
        size_t bytes = 0;
        for (size_t i = 0; i < n; i++)
            bytes += jobs[i].json_len;
        r = store_write_batched(s, put_txn, &c, n, bytes);
        if (r >= 0)
            store_pass_wrote(s, pass);
    } else
        r = store_write(s, put_txn, &c);
    store_tally_free(&c.tally);
    if (r >= 0)
        /* Once a job: when its stored bytes change, not on every pass that lists it. */
        for (size_t i = 0; i < c.n_noted; i++)
            log_struct(LOG_NOTICE,
                       CJ_LOG_FIELDS(CJ_LOG_STR("JOB_ARN", jobs[c.noted[i]].job_arn),
                                     CJ_LOG_STR("JOB_NOTE", jobs[c.noted[i]].note)),
                       "store: %s breaks the service model and is kept as sent: %s",
                       jobs[c.noted[i]].job_arn, jobs[c.noted[i]].note);
    free(c.noted);
    free(order);
    if (r < 0)
        return r;
    if (changes) {
        changes->created += c.changes.created;
        changes->updated += c.changes.updated;
        changes->unchanged += c.changes.unchanged;
    }
    return 0;
}

int store_remove_job(struct cj_store *s, MDB_txn *txn, const char *arn, size_t len,
                     struct store_tally *t)
{
    uint8_t kb[JOBS_KEY_PACKED];
    MDB_val k, jv, v, missed_k = {.mv_size = len, .mv_data = (void *)arn};
    struct store_row row;

    /* store_row_get's steps, keeping the `jobs` key to delete it by. */
    int r = store_jobs_key_find(s, txn, arn, len, kb, &k);
    if (r >= 0)
        r = store_errno(mdb_get(txn, s->dbi_jobs, &k, &jv));
    if (r >= 0)
        r = store_row_at(s, txn, &jv, arn, len, &v);
    const uint16_t source = r >= 0 ? jobs_value_source(&jv) : 0;
    if (r == -EUCLEAN)
        return log_error_errno(r, "store: %.*s has no row; run verify", (int)len, arn);
    if (r < 0)
        return r;
    r = store_row_decode(v.mv_data, v.mv_size, &row);
    if (r < 0)
        return log_error_errno(r, "store: the stored row of %.*s is damaged", (int)len, arn);
    /* The JSON is copied out before the first write can move the page it lies on. */
    cj_buf_reset(&s->scratch);
    r = cj_buf_append(&s->scratch, row.json, row.json_len);
    if (r >= 0)
        r = store_tally_job(s, txn, t, source, row.status, -1);
    if (r >= 0)
        r = unindex_row(s, txn, arn, len, &row);
    /* The event that referred to the row and the removal both hold its JSON now. */
    if (r >= 0 && row.event_seq)
        r = store_event_materialize(s, txn, row.event_seq, s->scratch.data, s->scratch.len);
    if (r >= 0)
        r = store_event_append(s, txn, CJ_EVENT_REMOVED, s->scratch.data, s->scratch.len);
    if (r < 0)
        return r;
    int rc = mdb_del(txn, s->dbi_jobs, &k, NULL);
    if (rc == MDB_SUCCESS && s->has_missed) {
        rc = mdb_del(txn, s->dbi_missed, &missed_k, NULL);
        if (rc == MDB_NOTFOUND)
            rc = MDB_SUCCESS;
    }
    return store_errno(rc);
}

struct remove_ctx {
    const char *arn;
    size_t len;
};

static int remove_txn(struct cj_store *s, MDB_txn *txn, void *userdata)
{
    struct remove_ctx *c = userdata;
    struct store_tally t = {0};

    int r = store_tally_begin(s, txn, &t);
    if (r >= 0)
        r = store_remove_job(s, txn, c->arn, c->len, &t);
    if (r >= 0)
        r = store_tally_save(s, txn, &t);
    store_tally_free(&t);
    return r;
}

int cj_store_remove(struct cj_store *s, const char *job_arn)
{
    assert(s);
    assert(job_arn);
    size_t len = strlen(job_arn);
    if (len == 0 || len > CJ_JOB_ARN_MAX)
        return -ENOENT;
    return store_write(s, remove_txn, &(struct remove_ctx){.arn = job_arn, .len = len});
}
