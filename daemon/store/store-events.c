/* SPDX-License-Identifier: MIT */
/* The change log: one event per created, updated or removed job, written in the same
 * transaction as the change. Keys are big-endian sequence numbers, so the log is in order
 * under memcmp and appending is LMDB's cheap MDB_APPEND. meta keeps the newest seq ever
 * handed out, so trimming the log (or wiping the cache for a rebuild) never lets a number
 * come back.
 *
 * A created or updated event holds the jobArn and refers to the job's row, whose header
 * names the event (store-internal.h, EVENT_REFERS): the row holds the same JSON, so a sync
 * writes each job's bytes once, and the log costs a jobArn a job. Before the row changes or
 * is removed, that event gets a copy of its JSON (store_event_materialize), in the same
 * transaction; so at most one event per job refers, its newest, and a reader in any snapshot
 * finds in the row exactly what the event says. An event trimmed from the log leaves its seq
 * in the row, where it names nothing: numbers never come back.
 *
 * The log lives in two generations, two databases (store_events_db_names); meta names the
 * newer, which takes new events. Once the newer holds max_events, the older is emptied with
 * one mdb_drop and becomes the newer: the log keeps at least the newest max_events events and
 * at most twice as many and one transaction's, and trimming frees pages, not a B-tree delete
 * per event. Every key of the older is below every key of the newer, so a reader walks them
 * as one log (store_log_cursor). */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>

#include "cj-util.h"
#include "log.h"
#include "store-internal.h"

const char *cj_event_type_to_string(enum cj_event_type t)
{
    static const char *const names[_CJ_EVENT_TYPE_MAX] = {
        [CJ_EVENT_CREATED] = "created",
        [CJ_EVENT_UPDATED] = "updated",
        [CJ_EVENT_REMOVED] = "removed",
    };
    return (unsigned)t < _CJ_EVENT_TYPE_MAX ? names[t] : NULL;
}

const char *const store_events_db_names[2] = {"events", "events.1"};

/* The generation that takes new events, as meta names it. */
static int log_newer(struct cj_store *s, MDB_txn *txn, uint8_t *ret)
{
    uint64_t v;
    *ret = 0;
    int r = store_meta_get_u64(s, txn, META_EVENTS_NEWER, &v);
    if (r < 0)
        return r;
    if (v > 1)
        return log_error_errno(
            EUCLEAN,
            "store: meta names change log generation %" PRIu64 "; run copyjobd --verify-store", v);
    *ret = (uint8_t)v;
    return 0;
}

int store_log_cursor_open(struct cj_store *s, MDB_txn *txn, struct store_log_cursor *c)
{
    uint8_t newer;
    *c = (struct store_log_cursor){0};
    int r = log_newer(s, txn, &newer);
    if (r < 0)
        return r;
    int rc = mdb_cursor_open(txn, s->dbi_events[!newer], &c->gen[0]);
    if (rc == MDB_SUCCESS)
        rc = mdb_cursor_open(txn, s->dbi_events[newer], &c->gen[1]);
    if (rc != MDB_SUCCESS) {
        store_log_cursor_close(c);
        return store_errno(rc);
    }
    return 0;
}

void store_log_cursor_close(struct store_log_cursor *c)
{
    for (unsigned g = 0; g < 2; g++)
        store_cursor_drop(&c->gen[g]);
    c->at = 0;
}

/* How each operation walks the generations ([0] the older): the one it begins in (-1: the one
 * the cursor stands in), and, when it finds nothing in generation `from`, the operation it
 * goes on with in the other. */
static const struct {
    MDB_cursor_op op;
    int begin;
    unsigned from;
    MDB_cursor_op then;
} log_walk[] = {
    {MDB_FIRST, 0, 0, MDB_FIRST}, {MDB_SET_RANGE, 0, 0, MDB_SET_RANGE}, {MDB_LAST, 1, 1, MDB_LAST},
    {MDB_NEXT, -1, 0, MDB_FIRST}, {MDB_PREV, -1, 1, MDB_LAST},
};

int store_log_cursor_get(struct store_log_cursor *c, MDB_val *k, MDB_val *v, MDB_cursor_op op)
{
    for (size_t i = 0; i < ELEMENTSOF(log_walk); i++) {
        if (log_walk[i].op != op)
            continue;
        /* MDB_SET_RANGE's key, for the other generation; the other operations take none. */
        const MDB_val want = op == MDB_SET_RANGE ? *k : (MDB_val){0};
        c->at = log_walk[i].begin < 0 ? c->at : (unsigned)log_walk[i].begin;
        int rc = mdb_cursor_get(c->gen[c->at], k, v, op);
        if (rc == MDB_NOTFOUND && c->at == log_walk[i].from) {
            c->at = !c->at;
            *k = want;
            rc = mdb_cursor_get(c->gen[c->at], k, v, log_walk[i].then);
        }
        return rc;
    }
    return EINVAL;
}

/* The newer generation, and how many events it holds. */
static int newer_count(struct cj_store *s, MDB_txn *txn, uint8_t *gen, uint64_t *count)
{
    MDB_stat st;
    int r = log_newer(s, txn, gen);
    if (r < 0)
        return r;
    int rc = mdb_stat(txn, s->dbi_events[*gen], &st);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);
    *count = st.ms_entries;
    return 0;
}

int store_events_count(struct cj_store *s, MDB_txn *txn, uint64_t *newer)
{
    uint8_t gen;
    return newer_count(s, txn, &gen, newer);
}

int store_events_last_seq(struct cj_store *s, MDB_txn *txn, uint64_t *ret)
{
    uint64_t seq;
    struct store_log_cursor cur;
    MDB_val k, v;

    int r = store_meta_get_u64(s, txn, META_LAST_SEQ, &seq);
    if (r < 0)
        return r;
    r = store_log_cursor_open(s, txn, &cur);
    if (r < 0)
        return r;
    int rc = store_log_cursor_get(&cur, &k, &v, MDB_LAST);
    store_log_cursor_close(&cur);
    if (rc == MDB_SUCCESS) {
        if (k.mv_size != 8)
            return log_error_errno(EUCLEAN,
                                   "store: the change log has a key of %zu bytes; "
                                   "run copyjobd --verify-store",
                                   k.mv_size);
        /* meta should never be behind the log; if it is, do not hand out a number twice. */
        uint64_t last_key = get_be64(k.mv_data);
        if (last_key > seq)
            seq = last_key;
    } else if (rc != MDB_NOTFOUND)
        return store_errno(rc);
    *ret = seq;
    return 0;
}

static int txn_log_load(struct cj_store *s, MDB_txn *txn)
{
    if (s->txn_events.loaded)
        return 0;
    int r = store_events_last_seq(s, txn, &s->txn_events.last_seq);
    if (r >= 0)
        r = log_newer(s, txn, &s->txn_events.newer);
    if (r < 0)
        return r;
    s->txn_events.loaded = true;
    return 0;
}

/* Reserves the next event's value of `size` bytes; *seq is its number. */
static int event_reserve(struct cj_store *s, MDB_txn *txn, size_t size, uint8_t **value,
                         uint64_t *seq)
{
    int r = txn_log_load(s, txn);
    if (r < 0)
        return r;
    if (s->txn_events.last_seq == UINT64_MAX)
        return log_error_errno(EOVERFLOW, "store: the change log's sequence is exhausted");

    uint8_t key[8];
    put_be64(key, s->txn_events.last_seq + 1);
    MDB_val k = {.mv_size = sizeof(key), .mv_data = key};
    MDB_val v = {.mv_size = size};
    MDB_dbi dbi = s->dbi_events[s->txn_events.newer];
    MDB_cursor *cur;
    /* In a run of puts, through its cursor, which only appends: the generation's last leaf
     * without a descent. The generations swap only after the run. */
    int rc = store_run_cursor(s, txn, dbi, &s->log_cursor, &cur);
    if (rc == MDB_SUCCESS)
        rc = cur ? mdb_cursor_put(cur, &k, &v, MDB_APPEND | MDB_RESERVE)
                 : mdb_put(txn, dbi, &k, &v, MDB_APPEND | MDB_RESERVE);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);
    *value = v.mv_data;
    *seq = ++s->txn_events.last_seq;
    s->txn_events.appended = true;
    return 0;
}

int store_event_append(struct cj_store *s, MDB_txn *txn, enum cj_event_type type, const char *json,
                       size_t json_len)
{
    uint8_t *p = NULL;
    uint64_t seq;
    int r = event_reserve(s, txn, 1 + json_len, &p, &seq);
    if (r < 0)
        return r;
    p[0] = (uint8_t)type;
    memcpy(p + 1, json, json_len);
    return 0;
}

int store_event_append_ref(struct cj_store *s, MDB_txn *txn, enum cj_event_type type,
                           const char *arn, size_t arn_len, uint64_t *seq)
{
    uint8_t *p = NULL;
    int r = event_reserve(s, txn, 1 + arn_len, &p, seq);
    if (r < 0)
        return r;
    p[0] = (uint8_t)type | EVENT_REFERS;
    memcpy(p + 1, arn, arn_len);
    return 0;
}

/* Event `seq` (key k) in the generation that holds it, *gen. */
static int event_find(struct cj_store *s, MDB_txn *txn, MDB_val *k, MDB_val *v, unsigned *gen)
{
    for (unsigned g = 0; g < 2; g++) {
        int rc = mdb_get(txn, s->dbi_events[g], k, v);
        if (rc == MDB_SUCCESS) {
            *gen = g;
            return 0;
        }
        if (rc != MDB_NOTFOUND)
            return store_errno(rc);
    }
    return -ENOENT;
}

int store_event_get(struct cj_store *s, MDB_txn *txn, uint64_t seq, MDB_val *v)
{
    uint8_t key[8];
    unsigned gen;
    put_be64(key, seq);
    MDB_val k = {.mv_size = sizeof(key), .mv_data = key};
    return event_find(s, txn, &k, v, &gen);
}

int store_event_materialize(struct cj_store *s, MDB_txn *txn, uint64_t seq, const char *json,
                            size_t json_len)
{
    uint8_t key[8];
    unsigned gen;
    put_be64(key, seq);
    MDB_val k = {.mv_size = sizeof(key), .mv_data = key}, v;
    int r = event_find(s, txn, &k, &v, &gen);
    if (r == -ENOENT)
        return 0; /* trimmed */
    if (r < 0)
        return r;
    if (v.mv_size < 1 || !store_event_refers(((const uint8_t *)v.mv_data)[0]))
        return 0;
    uint8_t type = store_event_type(((const uint8_t *)v.mv_data)[0]);
    /* The put below may move the page json lies on. */
    cj_buf_reset(&s->old_json);
    r = cj_buf_append(&s->old_json, json, json_len);
    if (r < 0)
        return r;
    v = (MDB_val){.mv_size = 1 + json_len};
    int rc = mdb_put(txn, s->dbi_events[gen], &k, &v, MDB_RESERVE);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);
    uint8_t *p = v.mv_data;
    p[0] = type;
    memcpy(p + 1, s->old_json.data, json_len);
    return 0;
}

/* An event of the log read in txn: its type and JSON (a referring event's from its row);
 * -EUCLEAN when the entry is damaged or refers to a row that does not name it. */
static int event_decode(struct cj_store *s, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                        struct cj_store_event *ev)
{
    const uint8_t *p = v->mv_data;
    if (k->mv_size != 8 || v->mv_size < 2 || store_event_type(p[0]) >= _CJ_EVENT_TYPE_MAX)
        return -EUCLEAN;
    *ev = (struct cj_store_event){
        .seq = get_be64(k->mv_data),
        .type = (enum cj_event_type)store_event_type(p[0]),
        .job_json = (const char *)p + 1,
        .job_json_len = v->mv_size - 1,
    };
    if (!store_event_refers(p[0]))
        return 0;
    /* A removal always holds its JSON: there is no row left to refer to. */
    MDB_val row_v;
    struct store_row row;
    if (ev->type == CJ_EVENT_REMOVED || v->mv_size - 1 > CJ_JOB_ARN_MAX)
        return -EUCLEAN;
    int r = store_row_get(s, txn, p + 1, v->mv_size - 1, &row_v, NULL);
    if (r == -ENOENT)
        return -EUCLEAN;
    if (r >= 0)
        r = store_row_decode(row_v.mv_data, row_v.mv_size, &row);
    if (r < 0)
        return r;
    if (row.event_seq != ev->seq)
        return -EUCLEAN;
    ev->job_json = row.json;
    ev->job_json_len = row.json_len;
    return 0;
}

int store_events_trim(struct cj_store *s, MDB_txn *txn)
{
    uint8_t newer;
    uint64_t count = 0;
    int r = newer_count(s, txn, &newer, &count);
    if (r < 0 || count < s->max_events)
        return r;

    /* LMDB frees a dropped database's pages from its branch pages (reading leaves only for
     * their overflow pages), where deleting the oldest events one by one would move a node
     * into the leftmost leaf at nearly every delete. */
    const uint8_t older = !newer;
    int rc = mdb_drop(txn, s->dbi_events[older], 0);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);
    r = store_meta_put_u64(s, txn, META_EVENTS_NEWER, older);
    if (r < 0)
        return r;
    s->txn_events.newer = older;
    return 0;
}

int store_events_commit_prepare(struct cj_store *s, MDB_txn *txn)
{
    int r = store_meta_put_u64(s, txn, META_LAST_SEQ, s->txn_events.last_seq);
    if (r < 0)
        return r;
    return store_events_trim(s, txn);
}

/* ---- reading ---- */

int cj_store_events_read(struct cj_store *s, uint64_t after_seq, size_t max, cj_store_event_fn fn,
                         void *userdata)
{
    MDB_txn *txn;
    struct store_log_cursor cur;
    MDB_val k, v;
    size_t n = 0;

    assert(s);
    assert(fn);
    if (max == 0 || after_seq == UINT64_MAX)
        return 0;
    int r = store_read_begin(s, &txn);
    if (r < 0)
        return r;
    r = store_log_cursor_open(s, txn, &cur);
    if (r < 0) {
        store_read_end(s);
        return r;
    }

    uint8_t start[8];
    put_be64(start, after_seq + 1);
    k = (MDB_val){.mv_size = sizeof(start), .mv_data = start};
    int rc;
    for (rc = store_log_cursor_get(&cur, &k, &v, MDB_SET_RANGE); rc == MDB_SUCCESS && n < max;
         rc = store_log_cursor_get(&cur, &k, &v, MDB_NEXT)) {
        struct cj_store_event ev;
        r = event_decode(s, txn, &k, &v, &ev);
        if (r < 0) {
            r = log_error_errno(r, "store: a damaged change log entry: %m; run "
                                   "copyjobd --verify-store");
            break;
        }
        r = fn(&ev, userdata);
        if (r < 0)
            break;
        n++;
    }
    store_log_cursor_close(&cur);
    store_read_end(s);
    if (r < 0)
        return r;
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
        return log_error_errno(store_errno(rc), "store: reading the change log failed: %s",
                               mdb_strerror(rc));
    return n > INT32_MAX ? INT32_MAX : (int)n;
}

int cj_store_events_bounds(struct cj_store *s, uint64_t *first_seq, uint64_t *last_seq)
{
    MDB_txn *txn;
    struct store_log_cursor cur;
    MDB_val k, v;
    uint64_t first = 0, last = 0;

    assert(s);
    int r = store_read_begin(s, &txn);
    if (r < 0)
        return r;
    r = store_log_cursor_open(s, txn, &cur);
    if (r < 0) {
        store_read_end(s);
        return log_error_errno(r, "store: cannot read the change log's bounds: %m");
    }
    int rc = store_log_cursor_get(&cur, &k, &v, MDB_FIRST);
    if (rc == MDB_SUCCESS && k.mv_size == 8) {
        first = get_be64(k.mv_data);
        rc = store_log_cursor_get(&cur, &k, &v, MDB_LAST);
        if (rc == MDB_SUCCESS && k.mv_size == 8)
            last = get_be64(k.mv_data);
        else if (rc == MDB_SUCCESS)
            rc = MDB_CORRUPTED;
    } else if (rc == MDB_SUCCESS)
        rc = MDB_CORRUPTED;
    store_log_cursor_close(&cur);
    store_read_end(s);
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
        return log_error_errno(store_errno(rc), "store: cannot read the change log's bounds: %s",
                               mdb_strerror(rc));
    if (first_seq)
        *first_seq = first;
    if (last_seq)
        *last_seq = last;
    return 0;
}

void cj_store_set_change_callback(struct cj_store *s, cj_store_change_fn fn, void *userdata)
{
    if (!s)
        return;
    s->change_fn = fn;
    s->change_userdata = fn ? userdata : NULL;
}
