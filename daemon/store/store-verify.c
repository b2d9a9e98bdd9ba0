/* SPDX-License-Identifier: MIT */
/* The consistency checker: every job in `jobs` has its row in the rows database of its status
 * and every row its job there; every row decodes, lies under its own creation time in the
 * database of its status and has its key in every secondary index; every index key points at
 * a row that produces exactly that key and names its status; schema 5's databases are gone; the
 * counters in meta agree; every status code is a known status or a registered name; every
 * entry of `missed` names a stored job; every job's source and region codes are registered,
 * its region code is its jobArn's, and each source's counters agree with its jobs; and the change
 * log is in order, within its bound, behind meta's last seq and agrees with the rows. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store-internal.h"

#define VERIFY_MAX_REPORTED 8

struct report {
    char *buf;
    size_t len, used;
    unsigned problems;
};

_printf_(2, 3) static void problem(struct report *rep, const char *fmt, ...)
{
    rep->problems++;
    if (rep->problems > VERIFY_MAX_REPORTED || rep->used + 1 >= rep->len)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(rep->buf + rep->used, rep->len - rep->used, fmt, ap);
    va_end(ap);
    if (n > 0)
        rep->used += (size_t)n < rep->len - rep->used ? (size_t)n : rep->len - rep->used - 1;
    if (rep->used + 2 < rep->len) {
        rep->buf[rep->used++] = ';';
        rep->buf[rep->used++] = ' ';
        rep->buf[rep->used] = '\0';
    }
}

static int verify_meta(struct cj_store *s, MDB_txn *txn, struct report *rep)
{
    MDB_val k = {.mv_size = strlen(META_SCHEMA_VERSION), .mv_data = META_SCHEMA_VERSION}, v;
    int rc = mdb_get(txn, s->dbi_meta, &k, &v);
    if (rc != MDB_SUCCESS || v.mv_size != 4 || ((uint8_t *)v.mv_data)[0] != CJ_STORE_SCHEMA_VERSION)
        problem(rep, "meta: schema version missing or not %d", CJ_STORE_SCHEMA_VERSION);
    k = (MDB_val){.mv_size = strlen(META_TOKEN_KEY), .mv_data = META_TOKEN_KEY};
    rc = mdb_get(txn, s->dbi_meta, &k, &v);
    if (rc != MDB_SUCCESS || v.mv_size != CJ_STORE_MAC_KEY_SIZE ||
        memcmp(v.mv_data, s->mac_key, CJ_STORE_MAC_KEY_SIZE) != 0)
        problem(rep, "meta: token key missing or not the one in use");
    return 0;
}

/* The jobs counted per source code, each counted the first time one is seen. */
struct seen_sources {
    struct store_counts *by_code[STORE_SOURCE_CODES];
};

static void seen_sources_free(struct seen_sources *ss)
{
    for (size_t i = 0; i < STORE_SOURCE_CODES; i++)
        free(ss->by_code[i]);
}

/* `jobs` against the rows: each job has a time key and a registered source, a row under it
 * that decodes, whose region code is its jobArn's, and that row's keys in the other indexes. */
static int verify_jobs(struct cj_store *s, MDB_txn *txn, struct store_counts *seen,
                       struct seen_sources *ss, struct report *rep)
{
    MDB_cursor *cur;
    MDB_val k, v;
    struct store_region_name region_cache = {0};
    int rc = mdb_cursor_open(txn, s->dbi_jobs, &cur);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);

    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        struct store_row row;
        uint8_t tkey[INDEX_KEY_MAX];
        MDB_val tk = {.mv_data = tkey}, row_v, arn;
        char arn_buf[CJ_JOB_ARN_MAX];
        int r = store_jobs_key_arn(s, txn, &k, &region_cache, arn_buf, &arn);
        if (r == -EUCLEAN) {
            problem(rep, "jobs: key of %zu bytes is no jobArn, packed or not", k.mv_size);
            continue;
        }
        if (r < 0) {
            mdb_cursor_close(cur);
            return r;
        }
        int klen = (int)(arn.mv_size > 200 ? 200 : arn.mv_size);
        if (!store_jobs_key_packed(&k)) {
            /* Looked up packed, such a job would never be found. */
            uint8_t kb[JOBS_KEY_PACKED];
            MDB_val pk;
            if (store_jobs_key_find(s, txn, arn.mv_data, arn.mv_size, kb, &pk) >= 0 &&
                store_jobs_key_packed(&pk))
                problem(rep, "jobs: %.*s is kept as it is, not packed", klen, (char *)arn.mv_data);
        }
        if (store_row_key(&v, arn.mv_data, arn.mv_size, tkey, &tk.mv_size) < 0) {
            problem(rep, "jobs: %.*s: value of %zu bytes is not a time key", klen,
                    (char *)arn.mv_data, v.mv_size);
            continue;
        }
        const unsigned d = store_rows_of(jobs_value_status(&v));
        if (mdb_get(txn, s->dbi_rows[d], &tk, &row_v) != MDB_SUCCESS) {
            problem(rep, "%s: no row for job %.*s", store_rows_db_names[d], klen,
                    (char *)arn.mv_data);
            continue;
        }
        if (store_row_decode(row_v.mv_data, row_v.mv_size, &row) < 0)
            continue; /* reported by verify_rows */
        if (row.status != jobs_value_status(&v))
            problem(rep, "jobs: %.*s: status code %u, its row's %u", klen, (char *)arn.mv_data,
                    jobs_value_status(&v), row.status);
        seen->total++;
        seen->by_status[row.status]++;
        uint16_t code = jobs_value_source(&v);
        const char *name, *region, *account;
        size_t name_len, region_len;
        if (code >= STORE_SOURCE_CODES ||
            store_names_name(s, txn, META_SOURCE_NAMES, code, &name, &name_len) < 0)
            problem(rep, "jobs: %.*s: source code %u is not registered", klen, (char *)arn.mv_data,
                    code);
        else {
            if (!ss->by_code[code] &&
                !(ss->by_code[code] = calloc(1, sizeof(struct store_counts)))) {
                mdb_cursor_close(cur);
                return -ENOMEM;
            }
            ss->by_code[code]->total++;
            ss->by_code[code]->by_status[row.status]++;
        }
        if (!store_arn_parse(arn.mv_data, arn.mv_size, &region, &region_len, &account))
            problem(rep, "jobs: %.*s: the jobArn names no region and account", klen,
                    (char *)arn.mv_data);
        else if (store_names_name(s, txn, META_REGION_NAMES, row.region_code, &name, &name_len) <
                     0 ||
                 name_len != region_len || memcmp(name, region, region_len) != 0)
            problem(rep, "jobs: %.*s: region code %u is not its jobArn's region", klen,
                    (char *)arn.mv_data, row.region_code);
        const char *sname;
        size_t slen;
        if (store_status_name(s, txn, row.status, &sname, &slen) < 0)
            problem(rep, "jobs: %.*s: status code %u is not registered", klen, (char *)arn.mv_data,
                    row.status);
        for (size_t i = STORE_INDEX_FIRST_SECONDARY; i < _CJ_INDEX_MAX; i++) {
            uint8_t key[INDEX_KEY_MAX];
            size_t n = store_index_key(i, &row, arn.mv_data, arn.mv_size, key);
            if (store_index_find(txn, s->dbi_index[i], i, key, n, row.status) != MDB_SUCCESS)
                problem(rep, "%s: no entry for job %.*s", store_index_db_names[i], klen,
                        (char *)arn.mv_data);
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : store_errno(rc);
}

/* The change log's oldest kept seq (0 when it is empty) and the newest seq handed out. */
struct log_bounds {
    uint64_t first, last;
};

static void log_bounds_read(struct cj_store *s, MDB_txn *txn, struct log_bounds *b)
{
    struct store_log_cursor cur;
    MDB_val k, v;
    *b = (struct log_bounds){0};
    (void)store_meta_get_u64(s, txn, META_LAST_SEQ, &b->last); /* verify_events reports it */
    if (store_log_cursor_open(s, txn, &cur) < 0)
        return;
    if (store_log_cursor_get(&cur, &k, &v, MDB_FIRST) == MDB_SUCCESS && k.mv_size == 8)
        b->first = get_be64(k.mv_data);
    store_log_cursor_close(&cur);
}

/* The event a row names: in the log, it refers to this row (store-events.c); not in it, it
 * was trimmed (older than the log's oldest, or the log is empty), never missing from the
 * middle nor past the newest seq handed out. */
static void verify_row_event(struct cj_store *s, MDB_txn *txn, const struct log_bounds *log,
                             const struct store_row *row, const MDB_val *arn, const char *name,
                             struct report *rep)
{
    int alen = (int)(arn->mv_size > 200 ? 200 : arn->mv_size);
    MDB_val v;
    if (store_event_get(s, txn, row->event_seq, &v) >= 0) {
        const uint8_t *p = v.mv_data;
        if (v.mv_size < 1 || !store_event_refers(p[0]) || v.mv_size - 1 != arn->mv_size ||
            memcmp(p + 1, arn->mv_data, arn->mv_size) != 0)
            problem(rep, "%s: %.*s: names event %" PRIu64 ", which does not refer to it", name,
                    alen, (char *)arn->mv_data, row->event_seq);
    } else if (row->event_seq > log->last)
        problem(rep, "%s: %.*s: names event %" PRIu64 ", past the newest seq %" PRIu64, name, alen,
                (char *)arn->mv_data, row->event_seq, log->last);
    else if (log->first && row->event_seq >= log->first)
        problem(rep, "%s: %.*s: names event %" PRIu64 ", which is missing", name, alen,
                (char *)arn->mv_data, row->event_seq);
}

/* The rows of database d against `jobs`: each row decodes, lies under its own creation time
 * in the database of its status, and its job points at it. Adds the rows to *entries. */
static int verify_rows(struct cj_store *s, MDB_txn *txn, unsigned d, const struct log_bounds *log,
                       uint64_t *entries, struct report *rep)
{
    const char *name = store_rows_db_names[d];
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = mdb_cursor_open(txn, s->dbi_rows[d], &cur);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);

    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        (*entries)++;
        char arn_buf[CJ_JOB_ARN_MAX];
        ssize_t arn_len = k.mv_size <= TIME_KEY_SIZE
                              ? -EUCLEAN
                              : get_arn_key((uint8_t *)k.mv_data + TIME_KEY_SIZE,
                                            k.mv_size - TIME_KEY_SIZE, arn_buf);
        if (arn_len < 0) {
            problem(rep, "%s: key of %zu bytes is not time | jobArn", name, k.mv_size);
            continue;
        }
        MDB_val arn = {.mv_size = (size_t)arn_len, .mv_data = arn_buf}, jv;
        int alen = (int)(arn.mv_size > 200 ? 200 : arn.mv_size);
        struct store_row row;
        if (store_row_decode(v.mv_data, v.mv_size, &row) < 0)
            problem(rep, "%s: %.*s: row does not decode", name, alen, (char *)arn.mv_data);
        else {
            if (row.model_hash != store_model_hash(row.model_arn, row.model_arn_len))
                problem(rep, "%s: %.*s: model hash does not match its ARN", name, alen,
                        (char *)arn.mv_data);
            if (row.creation_ns != get_time_key(k.mv_data))
                problem(rep, "%s: %.*s: row lies under another time than its own", name, alen,
                        (char *)arn.mv_data);
            if (store_rows_of(row.status) != d)
                problem(rep, "%s: %.*s: row of status code %u", name, alen, (char *)arn.mv_data,
                        row.status);
            if (row.event_seq)
                verify_row_event(s, txn, log, &row, &arn, name, rep);
        }
        if (store_jobs_get(s, txn, arn.mv_data, arn.mv_size, &jv) < 0)
            problem(rep, "%s: row of %.*s which is not in jobs", name, alen, (char *)arn.mv_data);
        else if (jv.mv_size != JOBS_VALUE_SIZE ||
                 memcmp(jv.mv_data, k.mv_data, TIME_KEY_SIZE) != 0 ||
                 store_rows_of(jobs_value_status(&jv)) != d)
            problem(rep, "%s: row of %.*s, whose job points elsewhere", name, alen,
                    (char *)arn.mv_data);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : store_errno(rc);
}

/* A secondary index: each entry (prefix, then time | jobArn | status) the one its row
 * produces, with the row's status. */
static int verify_index(struct cj_store *s, MDB_txn *txn, enum cj_index i, uint64_t expected,
                        struct report *rep)
{
    const char *name = store_index_db_names[i];
    size_t plen = store_index_prefix_len(i);
    uint64_t entries = 0;
    MDB_cursor *cur;
    MDB_val dk, v;
    unsigned flags;
    int rc = mdb_dbi_flags(txn, s->dbi_index[i], &flags);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);
    if (!(flags & MDB_DUPSORT))
        problem(rep, "%s: not a database of sorted duplicates", name);
    rc = mdb_cursor_open(txn, s->dbi_index[i], &cur);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);

    for (rc = mdb_cursor_get(cur, &dk, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &dk, &v, MDB_NEXT)) {
        entries++;
        uint8_t status, full[INDEX_KEY_MAX];
        MDB_val rowk;
        if (dk.mv_size != plen || !store_index_dup_split(&v, &rowk, &status) ||
            plen + rowk.mv_size > sizeof(full)) {
            problem(rep, "%s: entry of %zu and %zu bytes is not prefix, time | jobArn | status",
                    name, dk.mv_size, v.mv_size);
            continue;
        }
        memcpy(full, dk.mv_data, plen);
        memcpy(full + plen, rowk.mv_data, rowk.mv_size);
        MDB_val k = {.mv_size = plen + rowk.mv_size, .mv_data = full};
        /* The key ends with its row's key: time | jobArn. */
        char arn_buf[CJ_JOB_ARN_MAX];
        ssize_t arn_len = k.mv_size <= plen + 8 ? -EUCLEAN
                                                : get_arn_key((uint8_t *)k.mv_data + plen + 8,
                                                              k.mv_size - plen - 8, arn_buf);
        if (arn_len < 0) {
            problem(rep, "%s: key of %zu bytes is not prefix | time | jobArn", name, k.mv_size);
            continue;
        }
        MDB_val rk = {.mv_size = k.mv_size - plen, .mv_data = (uint8_t *)k.mv_data + plen};
        MDB_val arn = {.mv_size = (size_t)arn_len, .mv_data = arn_buf};
        int alen = (int)(arn.mv_size > 200 ? 200 : arn.mv_size);
        MDB_val row_v;
        struct store_row row;
        if (mdb_get(txn, s->dbi_rows[store_rows_of(status)], &rk, &row_v) != MDB_SUCCESS) {
            problem(rep, "%s: entry for %.*s which is not stored", name, alen, (char *)arn.mv_data);
            continue;
        }
        if (store_row_decode(row_v.mv_data, row_v.mv_size, &row) < 0)
            continue; /* reported by verify_rows */
        uint8_t key[INDEX_KEY_MAX];
        size_t n = store_index_key(i, &row, arn.mv_data, arn.mv_size, key);
        if (n != k.mv_size || memcmp(key, k.mv_data, n) != 0 || row.status != status)
            problem(rep, "%s: stale entry for %.*s (the row says otherwise)", name, alen,
                    (char *)arn.mv_data);
    }
    mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND)
        return store_errno(rc);
    if (entries != expected)
        problem(rep, "%s: %" PRIu64 " entries for %" PRIu64 " jobs", name, entries, expected);
    return 0;
}

/* The change log: 8-byte keys in one unbroken run across its two generations, the older's
 * below the newer's (only the older is ever dropped), values [type][JSON] or
 * [type | EVENT_REFERS][jobArn], fewer than max_events in the newer generation, and meta's
 * last seq at or past the newest key so that no number is handed out twice. */
static int verify_events(struct cj_store *s, MDB_txn *txn, uint64_t *n_events, struct report *rep)
{
    uint64_t entries = 0, prev = 0, meta_last = 0, newer = 0;
    struct store_log_cursor cur;
    MDB_val k, v;

    if (store_meta_get_u64(s, txn, META_LAST_SEQ, &meta_last) < 0)
        problem(rep, "meta: last seq does not decode");
    int r = store_events_count(s, txn, &newer);
    if (r == -EUCLEAN) {
        problem(rep, "meta: the change log's newer generation is not 0 or 1");
        return 0;
    }
    if (r < 0)
        return r;
    r = store_log_cursor_open(s, txn, &cur);
    if (r < 0)
        return r;
    int rc;
    for (rc = store_log_cursor_get(&cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = store_log_cursor_get(&cur, &k, &v, MDB_NEXT)) {
        entries++;
        if (k.mv_size != 8) {
            problem(rep, "events: key of %zu bytes", k.mv_size);
            continue;
        }
        uint64_t seq = get_be64(k.mv_data);
        const uint8_t *p = v.mv_data;
        if (seq == 0)
            problem(rep, "events: seq 0");
        else if (entries > 1 && seq != prev + 1)
            problem(rep, "events: seq %" PRIu64 " follows %" PRIu64, seq, prev);
        if (v.mv_size >= 1 && store_event_refers(p[0])) {
            uint8_t type = store_event_type(p[0]);
            if (type >= _CJ_EVENT_TYPE_MAX || type == CJ_EVENT_REMOVED || v.mv_size < 2 ||
                v.mv_size - 1 > CJ_JOB_ARN_MAX)
                problem(rep, "events: seq %" PRIu64 ": not a type and a jobArn to refer to", seq);
        } else if (v.mv_size < 2 || p[0] >= _CJ_EVENT_TYPE_MAX || p[1] != '{')
            problem(rep, "events: seq %" PRIu64 ": not a type and a JSON object", seq);
        prev = seq;
    }
    store_log_cursor_close(&cur);
    if (rc != MDB_NOTFOUND)
        return store_errno(rc);
    *n_events = entries;
    if (newer >= s->max_events)
        problem(rep,
                "events: %" PRIu64 " in the newer generation, not fewer than max_events %" PRIu64,
                newer, s->max_events);
    if (entries > 0 && meta_last < prev)
        problem(rep, "meta: last seq %" PRIu64 " is behind the newest event %" PRIu64, meta_last,
                prev);
    return 0;
}

/* The jobArn in an event's JSON: the value of its "jobArn" member. A quote inside a JSON
 * string is always escaped, so the first unescaped `"jobArn"` followed by a colon is the
 * member's name (nested objects of a job have no such member). */
static bool event_job_arn(const char *json, size_t len, const char **arn, size_t *arn_len)
{
    static const char key[] = "\"jobArn\"";
    const char *end = json + len, *p = json;

    while ((p = memmem(p, (size_t)(end - p), key, sizeof(key) - 1))) {
        p += sizeof(key) - 1;
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
            p++;
        if (p == end || *p != ':')
            continue;
        p++;
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
            p++;
        if (p == end || *p != '"')
            return false;
        p++;
        const char *q = memchr(p, '"', (size_t)(end - p));
        if (!q || q == p || (size_t)(q - p) > CJ_JOB_ARN_MAX || memchr(p, '\\', (size_t)(q - p)))
            return false;
        *arn = p;
        *arn_len = (size_t)(q - p);
        return true;
    }
    return false;
}

/* An open-addressing set of jobArn hashes (0 marks a free slot; a hash of 0 is taken as 1). */
struct hash_set {
    uint64_t *slots;
    size_t mask;
};

static bool hash_set_add(struct hash_set *h, uint64_t v)
{
    v = v ? v : 1;
    for (size_t i = v & h->mask;; i = (i + 1) & h->mask) {
        if (h->slots[i] == v)
            return false;
        if (h->slots[i] == 0) {
            h->slots[i] = v;
            return true;
        }
    }
}

/* The log agrees with the rows: walking it newest first, the newest event of each job says
 * what the store holds: removed, and the job is absent; created or updated, and the row
 * serves exactly the event's JSON. Both are written in one transaction, so after any crash
 * this holds for every job the log still mentions. */
static int verify_events_agree(struct cj_store *s, MDB_txn *txn, uint64_t n_events,
                               struct report *rep)
{
    struct hash_set seen = {0};
    size_t cap = 16;
    while (cap < 2 * n_events)
        cap *= 2;
    _cleanup_free_ uint64_t *slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    seen = (struct hash_set){.slots = slots, .mask = cap - 1};

    struct store_log_cursor cur;
    MDB_val k, v;
    int r = store_log_cursor_open(s, txn, &cur);
    if (r == -EUCLEAN)
        return 0; /* reported by verify_events */
    if (r < 0)
        return r;
    int rc;
    for (rc = store_log_cursor_get(&cur, &k, &v, MDB_LAST); rc == MDB_SUCCESS;
         rc = store_log_cursor_get(&cur, &k, &v, MDB_PREV)) {
        const uint8_t *p = v.mv_data;
        const char *arn;
        size_t arn_len;
        if (k.mv_size != 8 || v.mv_size < 2 || store_event_type(p[0]) >= _CJ_EVENT_TYPE_MAX)
            continue; /* reported by verify_events */
        uint64_t seq = get_be64(k.mv_data);
        const bool refers = store_event_refers(p[0]);
        const uint8_t type = store_event_type(p[0]);
        if (refers) {
            arn = (const char *)p + 1;
            arn_len = v.mv_size - 1;
        } else if (!event_job_arn((const char *)p + 1, v.mv_size - 1, &arn, &arn_len)) {
            problem(rep, "events: seq %" PRIu64 ": no jobArn in its JSON", seq);
            continue;
        }
        int alen = (int)(arn_len > 200 ? 200 : arn_len);
        if (!hash_set_add(&seen, store_job_hash(arn, arn_len))) {
            /* An older event of a job already checked: it holds its JSON. */
            if (refers)
                problem(rep,
                        "events: seq %" PRIu64 " refers to the row of %.*s, but is not its "
                        "newest event",
                        seq, alen, arn);
            continue;
        }

        MDB_val row_v;
        struct store_row row;
        int gr = store_row_get(s, txn, arn, arn_len, &row_v, NULL);
        if (refers && gr >= 0 &&
            (store_row_decode(row_v.mv_data, row_v.mv_size, &row) < 0 || row.event_seq != seq)) {
            problem(rep,
                    "events: seq %" PRIu64 " refers to the row of %.*s, which names "
                    "another event",
                    seq, alen, arn);
        }
        if (type == CJ_EVENT_REMOVED) {
            if (gr != -ENOENT)
                problem(rep, "events: seq %" PRIu64 " removed %.*s, which is stored", seq, alen,
                        arn);
        } else if (gr < 0)
            problem(rep, "events: seq %" PRIu64 " %s %.*s, which is not stored", seq,
                    cj_event_type_to_string(type), alen, arn);
        else if (!refers && store_row_decode(row_v.mv_data, row_v.mv_size, &row) >= 0 &&
                 (row.json_len != v.mv_size - 1 || memcmp(row.json, p + 1, row.json_len) != 0))
            problem(rep, "events: seq %" PRIu64 " is not what %.*s serves", seq, alen, arn);
    }
    store_log_cursor_close(&cur);
    return rc == MDB_NOTFOUND ? 0 : store_errno(rc);
}

/* Every job `missed` names is stored, with a count of at least one pass. */
static int verify_missed(struct cj_store *s, MDB_txn *txn, struct report *rep)
{
    MDB_cursor *cur;
    MDB_val k, v, t;
    if (!s->has_missed)
        return 0;
    int rc = mdb_cursor_open(txn, s->dbi_missed, &cur);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        int klen = (int)(k.mv_size > 200 ? 200 : k.mv_size);
        if (v.mv_size != 4 || get_le16(v.mv_data) + get_le16((uint8_t *)v.mv_data + 2) == 0)
            problem(rep, "missed: %.*s: not a pass count", klen, (char *)k.mv_data);
        if (store_jobs_get(s, txn, k.mv_data, k.mv_size, &t) < 0)
            problem(rep, "missed: %.*s is not stored", klen, (char *)k.mv_data);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : store_errno(rc);
}

struct source_check {
    struct seen_sources *ss;
    struct report *rep;
    MDB_txn *txn;
    struct cj_store *s;
};

/* Each registered source's counters agree with the jobs tagged with it. */
static int check_source(const char *name, size_t len, uint16_t code, void *u)
{
    struct source_check *c = u;
    struct store_source_entry e;
    static const struct store_counts none;
    const struct store_counts *seen =
        code < STORE_SOURCE_CODES && c->ss->by_code[code] ? c->ss->by_code[code] : &none;
    if (store_source_load(c->s, c->txn, code, &e) < 0) {
        problem(c->rep, "meta: the counters of source %.*s do not decode", (int)len, name);
        return 0;
    }
    if (e.c.total != seen->total)
        problem(c->rep, "meta: source %.*s total %" PRIu64 " but %" PRIu64 " jobs stored", (int)len,
                name, e.c.total, seen->total);
    for (size_t i = 0; i < STORE_STATUS_CODES; i++)
        if (e.c.by_status[i] != seen->by_status[i])
            problem(c->rep,
                    "meta: source %.*s status code %zu count %" PRIu64 " but %" PRIu64 " stored",
                    (int)len, name, i, e.c.by_status[i], seen->by_status[i]);
    return 0;
}

int cj_store_verify(struct cj_store *s, char *report, size_t len)
{
    char dummy[1];
    struct report rep = {.buf = report && len ? report : dummy, .len = report && len ? len : 1};
    struct store_counts seen = {0}, counts;
    MDB_txn *txn;

    rep.buf[0] = '\0';
    assert(s);
    struct seen_sources *ss = calloc(1, sizeof(*ss));
    if (!ss)
        return -ENOMEM;
    int r = store_read_begin(s, &txn);
    if (r < 0) {
        free(ss);
        return r;
    }
    r = verify_meta(s, txn, &rep);
    if (r >= 0)
        r = verify_jobs(s, txn, &seen, ss, &rep);
    uint64_t rows = 0;
    struct log_bounds log;
    log_bounds_read(s, txn, &log);
    for (unsigned d = 0; r >= 0 && d < STORE_ROWS_DBS; d++)
        r = verify_rows(s, txn, d, &log, &rows, &rep);
    if (r >= 0 && rows != seen.total)
        problem(&rep, "rows: %" PRIu64 " rows for %" PRIu64 " jobs", rows, seen.total);
    if (r >= 0 && s->has_v5)
        problem(&rep, "idx_time and idx_status of schema 5 are still there");
    for (size_t i = STORE_INDEX_FIRST_SECONDARY; r >= 0 && i < _CJ_INDEX_MAX; i++)
        r = verify_index(s, txn, i, seen.total, &rep);
    if (r >= 0)
        r = verify_missed(s, txn, &rep);
    uint64_t n_events = 0;
    if (r >= 0)
        r = verify_events(s, txn, &n_events, &rep);
    if (r >= 0)
        r = verify_events_agree(s, txn, n_events, &rep);
    if (r >= 0) {
        r = store_counts_load(s, txn, &counts);
        if (r < 0)
            problem(&rep, "meta: counters do not decode");
        else {
            if (counts.total != seen.total)
                problem(&rep, "meta: total %" PRIu64 " but %" PRIu64 " jobs stored", counts.total,
                        seen.total);
            for (size_t i = 0; i < STORE_STATUS_CODES; i++)
                if (counts.by_status[i] != seen.by_status[i])
                    problem(&rep, "meta: status code %zu count %" PRIu64 " but %" PRIu64 " stored",
                            i, counts.by_status[i], seen.by_status[i]);
        }
        struct source_check sc = {.ss = ss, .rep = &rep, .txn = txn, .s = s};
        if (store_names_foreach(s, txn, META_SOURCE_NAMES, check_source, &sc) < 0)
            problem(&rep, "meta: the source names do not decode");
        r = 0;
    }
    store_read_end(s);
    seen_sources_free(ss);
    free(ss);
    if (r < 0)
        return r;
    if (rep.problems > VERIFY_MAX_REPORTED)
        problem(&rep, "(%u problems in all)", rep.problems - 1);
    return rep.problems ? -EUCLEAN : 0;
}
