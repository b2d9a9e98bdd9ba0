/* SPDX-License-Identifier: MIT */
/* Shared between the store's files only: the environment, the on-disk row and key
 * formats, and the write-transaction runner that grows the map. */
#pragma once

#include <errno.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "byte-order.h"
#include "cj-buf.h"
#include "hash-set.h"
#include "siphash.h"
#include "store.h"

#define CJ_STORE_MAC_KEY_SIZE 32
#define CJ_MODEL_ARN_MAX      CJ_SOURCE_MODEL_ARN_KEEP_MAX /* the row format allows more */

/* Names of the LMDB databases. The rows live in one database per status (rows_*: time |
 * jobArn -> row value): a status's rows, in time order, share pages, so a page of one status
 * reads them in place, as a page of every status does by merging the four in time order.
 * The statuses the service model does not know share rows_other. `jobs` maps a jobArn (in
 * 16 bytes when it has Bedrock's form, store-jobs-key.c) to its 8-byte time key, the missing
 * half of its row's key, to the code of its source, so that a pass's end finds its source's
 * jobs without reading rows, and to its status code, which names the row's database. The
 * secondary indexes' entries end with that status code too (store-index.c). */
#define STORE_DB_JOBS "jobs" /* jobs key -> time key (8) | source code (le16) | status (1) */
#define STORE_DB_META "meta"
/* The change log, in two generations (store-events.c): be64 seq -> [u8 type][job JSON]. */
extern const char *const store_events_db_names[2];
/* jobArn -> u32 LE: how many complete full passes in a row did not list the job. Emptied of
 * a job when anything lists it again or it is removed. */
#define STORE_DB_MISSED "missed"
/* The scratch database of a migration; it exists only while one runs. */
#define STORE_DB_MIGRATE_TMP "migrate_time"
/* The secondary indexes' names; those of the time and status plans are schema 5's
 * databases, which only its migration opens. */
extern const char *const store_index_db_names[_CJ_INDEX_MAX];
#define STORE_ROWS_DBS (_CJ_STATUS_MAX + 1)
/* The named databases an environment may hold: 13 in use, 15 while migrating from schema 5. */
#define STORE_MAX_DBS 16
extern const char *const store_rows_db_names[STORE_ROWS_DBS];
/* The first index with a database of its own in this schema: the time and status plans
 * walk the rows. */
#define STORE_INDEX_FIRST_SECONDARY CJ_INDEX_ACCOUNT_TIME
/* Closes *c if it is open and forgets it. */
static inline void store_cursor_drop(MDB_cursor **c)
{
    if (*c)
        mdb_cursor_close(*c);
    *c = NULL;
}

/* The database of the rows of status code `status`. */
static inline unsigned store_rows_of(uint8_t status)
{
    return status < _CJ_STATUS_MAX ? status : _CJ_STATUS_MAX;
}

/* Keys of the meta database. */
#define META_SCHEMA_VERSION "schema_version" /* u32 LE */
#define META_COUNTS         "counts"         /* u64 LE total, then one per status: all sources */
#define META_TOKEN_KEY      "token_key"      /* CJ_STORE_MAC_KEY_SIZE random bytes */
/* i64 LE ns: schema 4's one last sync time, which the migration hands to the source it makes. */
#define META_SYNCED_AT_V4 "synced_at"
#define META_LAST_SEQ     "last_seq" /* u64 LE: the newest seq ever handed out */
/* u64 LE, 0 or 1: the generation of the change log that takes new events (absent: 0). */
#define META_EVENTS_NEWER "events_newer"
/* The names of the statuses the service model does not know, each followed by a NUL, in the
 * order first stored: the first has status code _CJ_STATUS_MAX, the next one more. */
#define META_STATUS_NAMES "status_names"
/* u8 database, u8 phase: where the steps of the schema 6 -> 7 migration are (store-migrate.c);
 * present only while it runs. */
#define META_REKEY_AT "rekey_at"
/* The last jobArn key the schema 9 -> 10 migration read; present only while it runs. */
#define META_REPACK_AT "repack_at"

/* Status codes, in the row's header and idx_status's prefix: 0.._CJ_STATUS_MAX - 1 the
 * known statuses (enum cj_status), then the names of META_STATUS_NAMES; 255 is never one. */
#define STORE_STATUS_CODES 255
#define META_STORE_ID      "store_id" /* CJ_STORE_ID_SIZE random bytes */
#define CJ_STORE_ID_SIZE   16

/* Sources and the regions of jobArns are named by small codes (le16 in `jobs` values and
 * rows, be16 in idx_jregion's prefix), each the position of its name in a table in meta:
 * the names, each followed by a NUL, the first with code 0. A source dropped leaves an empty
 * name, a free code the next new source takes; regions are never freed. */
#define META_SOURCE_NAMES  "source_names"
#define META_REGION_NAMES  "region_names"
#define STORE_SOURCE_CODES 4096
#define STORE_REGION_CODES 1024
/* One per source, "source/" and its code in decimal: i64 LE last successful sync (0: never),
 * u64 LE total, then one u64 LE per status code (as META_COUNTS). */
#define META_SOURCE_PREFIX "source/"

/* A Bloom filter of blocks of 512 bits (store-jobs-pending.c). */
struct store_bloom {
    uint64_t *words; /* NULL when there is none */
    size_t blocks;   /* a power of two */
    size_t capacity; /* the keys it is sized for */
    size_t keys;     /* the keys added */
};

/* New jobs' `jobs` entries waiting for their batch's commit (store-jobs-pending.c). */
struct store_jobs_pending {
    struct store_bloom known;      /* every key of `jobs` and pending, while full passes run */
    struct pending_entry *entries; /* the pending ones, in the order found */
    size_t n, cap;
    struct pending_entry *spare; /* the sort's other array, spare_cap entries */
    size_t spare_cap;
    /* The pending keys' hashes (key_hash's): a "pending" that is a collision only puts the
     * entries before the lookup, as for a pending key. */
    struct cj_hash_set keys;
    size_t txn_new;    /* new jobs the write transaction at hand looked up */
    size_t min_keys;   /* the least a filter is sized for; 0 = 256 Ki (tests set less) */
    size_t last_txnid; /* of our latest commit: `known` holds while the next write follows it */
};

/* A new job's row or secondary index entry waiting for its batch's commit
 * (store-rows-pending.c): its key and value lie in the pending bytes at `at`. */
struct pending_put {
    size_t at;
    uint32_t value_len;
    uint16_t key_len;
    /* A rows database (store_rows_of), or STORE_ROWS_DBS + a secondary index. */
    uint8_t target;
};

struct store_rows_pending {
    struct cj_buf bytes; /* each one's key, then its value */
    struct pending_put *puts;
    size_t n, cap;
};

struct cj_store {
    MDB_env *env; /* NULL only when a reopen failed (store_release_pages) */
    int lost_env; /* then: why, a negative errno, returned by every call */
    MDB_dbi dbi_jobs;
    MDB_dbi dbi_meta;
    /* The secondary indexes; the time and status entries are schema 5's idx_time and
     * idx_status, open only in a store that has them (has_v5), for its migration. */
    MDB_dbi dbi_index[_CJ_INDEX_MAX];
    bool has_v5;
    MDB_dbi dbi_rows[STORE_ROWS_DBS];
    MDB_dbi dbi_events[2]; /* the log's generations, by store_events_db_names */
    MDB_dbi dbi_missed;
    bool has_missed;     /* false only in a read-only open of a store that lacks it */
    bool txn_missed_any; /* the write transaction at hand began with entries in `missed` */
    uint64_t max_events;
    unsigned scan_budget; /* rows a list page may examine */
    uint64_t map_size;
    uint64_t max_size;
    bool read_only;
    char id[CJ_STORE_ID_LEN + 1]; /* hex of META_STORE_ID; "" for a read-only store without */
    uint8_t mac_key[CJ_STORE_MAC_KEY_SIZE];
    /* Derived from mac_key (store-list.c): the SipHash keys of the nextToken's MAC, and of
     * its query digest. */
    uint8_t token_mac_keys[2][16];
    uint8_t digest_key[16];

    /* A read transaction kept reset between queries, and one cursor per index renewed
     * with it: renewing is much cheaper than beginning and opening. */
    MDB_txn *rtxn;
    MDB_cursor *rcursor[_CJ_INDEX_MAX];
    MDB_cursor *rrows[STORE_ROWS_DBS];

    struct cj_buf scratch;        /* row values under construction */
    struct cj_buf old_json;       /* a changed row's JSON, for the event that referred to it */
    struct cj_store_pass *passes; /* the full passes in progress, one per source at most */

    /* The change log's view of the write transaction in progress (reset by store_write at
     * each attempt, by a batch when it begins): the newest seq and the generation that takes
     * new events, loaded at the first use, and whether it appended. */
    struct {
        bool loaded;
        bool appended;
        uint8_t newer;
        uint64_t last_seq;
    } txn_events;
    /* Bit i: a put into index i in this write transaction found its key not past the
     * index's last one, so the next ones go without MDB_APPEND (see store_index_put); bit
     * STORE_NO_APPEND_ROWS + d the same for rows database d. */
    unsigned no_append;
    /* Cursors open only within a run of puts (put_txn's), else NULL, each opened at its first
     * use in the run (store_run_cursor): a put through a cursor that stands near the key's
     * place skips the descent from the root, and LMDB moves a cursor that appends along the
     * last leaf. */
    bool in_run;
    MDB_cursor *index_cursor[_CJ_INDEX_MAX];
    MDB_cursor *rows_cursor[STORE_ROWS_DBS];
    MDB_cursor *log_cursor;
    /* The open batch (store_write_batched): a write transaction holding whole pages of full
     * passes, not yet committed. */
    struct {
        MDB_txn *txn;        /* NULL when none is open */
        uint64_t id;         /* of the latest batch, counted from 1 */
        size_t jobs;         /* of the pages it holds */
        uint64_t need, room; /* map bytes its pages may take, and what the map had left */
        uint64_t high_water; /* the largest `need` since the environment was opened */
        uint64_t begun_usec;
        uint64_t max_usec; /* 0 = STORE_BATCH_USEC; tests that watch a batch set more */
    } batch;
    struct store_jobs_pending pending;
    struct store_rows_pending rows_pending;
    cj_store_change_fn change_fn;
    void *change_userdata;
};

/* ---- errors ---- */

/* LMDB's return codes as negative errno values. MDB_MAP_FULL is -ENOSPC. */
int store_errno(int mdb_rc);

/* ---- transactions ---- */

/* Commits the open batch, then runs fn in a write transaction and commits it. When the map fills up
 * (fn or the commit sees MDB_MAP_FULL, i.e. -ENOSPC), the transaction is aborted, the map doubled
 * (up to max_size) and fn run again from scratch, so fn must not leave effects outside the
 * transaction that a rerun would duplicate. */
typedef int (*store_write_fn)(struct cj_store *s, MDB_txn *txn, void *userdata);
int store_write(struct cj_store *s, store_write_fn fn, void *userdata);

/* A batch is committed once it holds this many jobs, or at the first write this long after
 * it began. One commit per page cost more than the jobs' own work; into a large store, where
 * `jobs` and the secondary indexes take each job at a random place, a batch dirties (copies
 * and writes at commit) about one leaf per job and index, so a leaf dirtied once takes more
 * of the batch's inserts the larger it is: a sync of 1,000,000 jobs costs ~20 % less CPU with
 * 50,000 than with 10,000, for ~130 MiB of dirty pages held while it runs (given back by
 * store_release_pages) and more free pages in the file; 100,000 saves nothing more
 * (docs/performance.md). */
#define STORE_BATCH_JOBS 50000
#define STORE_BATCH_USEC (1000 * 1000)

/* Runs fn in the open batch (opened if none is; one that may not have room for fn's page of
 * `jobs` jobs and `bytes` of JSON is committed first), and commits the batch once it holds
 * STORE_BATCH_JOBS jobs (counting `jobs` for fn) or is STORE_BATCH_USEC old. Until then
 * readers see none of the batch. When fn fails, nothing of it may be committed, so the batch
 * is aborted with the pages before fn's: each running pass that wrote one is told
 * (store_passes_batch_lost) and fails at its end. Only a batch that held nothing before fn
 * is run again after the map grew, when it filled up. An error committing the batch loses
 * it the same way. */
int store_write_batched(struct cj_store *s, store_write_fn fn, void *userdata, size_t jobs,
                        size_t bytes);

/* ---- new jobs' `jobs` entries (store-jobs-pending.c) ---- */

/* A batch that has looked up this many new jobs in `jobs` builds the filter that lets the
 * next ones skip the lookup. */
#define STORE_PENDING_AFTER 256

/* 1 when the job of `jobs` key `key` is new and its entry (value) now pending in the batch,
 * 0 when it is to be looked up in `jobs` (the pending entries put first if it is one of
 * them), or a negative errno. */
int store_jobs_pending_claim(struct cj_store *s, MDB_txn *txn, const MDB_val *key,
                             const MDB_val *value);
/* A key put into `jobs` the slow way: 0, or a negative errno. */
int store_jobs_pending_note_new(struct cj_store *s, MDB_txn *txn, const MDB_val *key);
/* Sorts p's entries by key: 0 or -ENOMEM (the entries then as they were). */
int store_jobs_pending_sort(struct store_jobs_pending *p);
/* Puts the pending entries into `jobs` in key order (before the batch commits), after the
 * rows and index entries that wait with them (store_rows_pending_flush): 0, -EUCLEAN when one
 * was there already (the batch must be given up), or another negative errno. */
int store_jobs_pending_flush(struct cj_store *s, MDB_txn *txn);
/* A write transaction began, committed, or was aborted (its pending entries are dropped). */
void store_jobs_pending_begin(struct cj_store *s, MDB_txn *txn);
void store_jobs_pending_committed(struct cj_store *s, size_t txnid);
void store_jobs_pending_abort(struct cj_store *s);
/* No full pass is running: the filter's memory goes back. */
void store_jobs_pending_release(struct cj_store *s);

/* ---- new jobs' rows and index entries (store-rows-pending.c) ---- */

/* The most bytes of rows and index entries (keys and values, and the stored ones taken out
 * to be put again among them) one batch holds back; what comes after is put at once. A batch
 * of STORE_BATCH_JOBS jobs as Bedrock lists them takes ~50 MB. */
#define STORE_ROWS_PENDING_BYTES ((size_t)64 * 1024 * 1024)
/* Whether the row and index entries of a new job whose `jobs` entry is pending wait for the
 * commit too: in a batch (txn is its transaction) while full passes of more than one source
 * run. */
bool store_rows_pending_wanted(const struct cj_store *s, MDB_txn *txn);
/* Copies a put aside: into rows database `target` (key, value), or, for target
 * STORE_ROWS_DBS + i, into secondary index i (key the prefix, value the duplicate). true when
 * it now waits, false when the caller is to put it (past STORE_ROWS_PENDING_BYTES, or no
 * memory to hold it). */
bool store_rows_pending_add(struct cj_store *s, unsigned target, const MDB_val *key,
                            const MDB_val *value);
/* Puts what waits, in key order (store_jobs_pending_flush, before the `jobs` entries): 0 or
 * a negative errno (the batch must be given up). Nothing waits after it, either way. */
int store_rows_pending_flush(struct cj_store *s, MDB_txn *txn);
/* Drops what waits (its transaction is aborted). */
void store_rows_pending_clear(struct cj_store *s);
/* No full pass is running: the memory goes back. */
void store_rows_pending_release(struct cj_store *s);

/* LMDB keeps each page a write transaction dirtied (malloc'd, in non-WRITEMAP mode) for the
 * next ones until the environment closes: after a batch of STORE_BATCH_JOBS jobs into a large
 * store, ~130 MiB. Once a batch since the last opening may have taken
 * STORE_RELEASE_PAGES_BYTES, and none is open, this closes and reopens the environment (a few
 * ms) to give that memory back. The read transaction and its cursors are closed with it, and
 * malloc trimmed. */
#define STORE_RELEASE_PAGES_BYTES (8 * 1024 * 1024)
int store_release_pages(struct cj_store *s);

/* The store directory is ours to use: a directory owned by us or root that nobody else may
 * write to (a symlink only to such a one, see store.c): 0, or a negative errno, logged. */
int store_check_directory(const char *path);

/* The reusable read transaction; store_read_end resets it. */
int store_read_begin(struct cj_store *s, MDB_txn **ret);
void store_read_end(struct cj_store *s);
/* The reused cursor of secondary index i or of rows database d, renewed in the reused read
 * transaction txn. */
int store_index_cursor(struct cj_store *s, MDB_txn *txn, enum cj_index i, MDB_cursor **ret);
int store_rows_cursor(struct cj_store *s, MDB_txn *txn, unsigned d, MDB_cursor **ret);

/* Keys sort oldest first: every key holding time | jobArn sorts as (time asc, jobArn bytes
 * asc). Full passes list oldest first and quick syncs find jobs newer than every stored one,
 * so both put at the right edge of each database (and of each prefix's range), where LMDB
 * appends (MDB_APPEND) or splits a full page past the new key, leaving the pages behind it
 * full; at the left edge it splits them in half (docs/performance.md, "Keys oldest first"). */

/* A time as 8 bytes that sort like the signed value under memcmp. */
static inline void put_time_key(uint8_t *p, int64_t ns)
{
    put_be64(p, (uint64_t)ns ^ (UINT64_C(1) << 63));
}

static inline int64_t get_time_key(const uint8_t *p)
{
    return (int64_t)(get_be64(p) ^ (UINT64_C(1) << 63));
}

/* A jobArn in a key: its bytes. It ends every key, so a jobArn that is a prefix of a longer
 * one sorts first, as memcmp then length (LMDB's order) does. */
#define ARN_KEY_SIZE(arn_len) (arn_len)

static inline size_t put_arn_key(uint8_t *p, const void *arn, size_t len)
{
    memcpy(p, arn, len);
    return len;
}

/* Copies the jobArn of n key bytes into out (CJ_JOB_ARN_MAX bytes, not terminated): its
 * length, or -EUCLEAN if the bytes cannot be one. */
static inline ssize_t get_arn_key(const uint8_t *p, size_t n, char *out)
{
    if (n == 0 || n > CJ_JOB_ARN_MAX || memchr(p, '\0', n))
        return -EUCLEAN;
    memcpy(out, p, n);
    return (ssize_t)n;
}

/* Schemas 4 to 6 keyed newest first: the time negated, each jobArn byte as 255 - b, then
 * 0xFF. Only the migrations read and write them. */
#define ARN_KEY_END_V6 0xFF

static inline void put_time_key_v6(uint8_t *p, int64_t ns)
{
    put_be64(p, ~((uint64_t)ns ^ (UINT64_C(1) << 63)));
}

static inline int64_t get_time_key_v6(const uint8_t *p)
{
    return (int64_t)(~get_be64(p) ^ (UINT64_C(1) << 63));
}

static inline size_t put_arn_key_v6(uint8_t *p, const void *arn, size_t len)
{
    const uint8_t *a = arn;
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)~a[i];
    p[len] = ARN_KEY_END_V6;
    return len + 1;
}

static inline ssize_t get_arn_key_v6(const uint8_t *p, size_t n, char *out)
{
    if (n < 2 || n - 1 > CJ_JOB_ARN_MAX || p[n - 1] != ARN_KEY_END_V6)
        return -EUCLEAN;
    for (size_t i = 0; i < n - 1; i++) {
        if (p[i] == ARN_KEY_END_V6)
            return -EUCLEAN;
        out[i] = (char)(255 - p[i]);
    }
    return (ssize_t)(n - 1);
}

/* ---- hashing ---- */

/* The model hash is SipHash-2-4 under a fixed key: it is stored on disk, so the key may not
 * change. Collisions are harmless (the model filter checks the real ARN on the row). */

/* Of a sourceModelArn, as kept in the row and idx_model. */
static inline uint64_t store_model_hash(const char *arn, size_t len)
{
    static const uint8_t key[16] = "cj-model-arn-v1";
    return cj_siphash24(key, arn, len);
}

/* Of a jobArn, for the in-memory sets of seen jobs (a full pass's, verify's), never stored:
 * each 8-byte word xored in, then murmur3's 64-bit finaliser (a bijection), so two jobArns of
 * one length that differ only in their last word never collide, and others with a chance of
 * 2^-64. A tenth of SipHash's cost, and no key: jobArns are Bedrock's, not an attacker's, and
 * a collision only keeps a removed job until a later pass. */
static inline uint64_t store_hash_mix(uint64_t h)
{
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    h *= UINT64_C(0xc4ceb9fe1a85ec53);
    h ^= h >> 33;
    return h;
}

static inline uint64_t store_job_hash(const char *arn, size_t len)
{
    const uint8_t *p = (const uint8_t *)arn;
    uint64_t h = UINT64_C(0x9e3779b97f4a7c15) ^ len, w;
    for (; len >= 8; p += 8, len -= 8) {
        memcpy(&w, p, 8);
        h = store_hash_mix(h ^ w);
    }
    if (len > 0) {
        w = 0;
        memcpy(&w, p, len);
        h = store_hash_mix(h ^ w ^ UINT64_C(0x8000000000000000));
    }
    return h;
}

/* ---- rows and index keys (store-row.c) ---- */

/* The value of a row (in a rows database): a fixed header, the targetModelName and
 * sourceModelArn bytes where the JSON does not hold them as they are (filters are checked on
 * these bytes, never by parsing the JSON), then the JSON as served.
 *   0 version  1 status  2 name length  3 flags (ROW_HAS_NAME)
 *   4 sourceModelArn length (le16)  6 offset of the JSON (le16)
 *   8 creation_ns (le64)  16 hash of sourceModelArn (le64)  24 sourceAccountId (12 bytes)
 *  36 code of the jobArn's region (le16)  38 reserved (2 zero bytes)
 *  40 (version >= 2) seq of the change log event that refers to this row (le64, 0: none)
 *  48 (version 3) where the name's bytes start in the JSON (le16), 50 the sourceModelArn's:
 *     ROW_COPIED when the JSON escapes them (or lies past 64 KiB), which then follow the
 *     header, name first
 *  then the copied name and sourceModelArn, the JSON.
 * Versions 1 (schemas up to 7: a 40-byte header) and 2 (schema 8: 48) copy both always; all
 * three are read, version 3 is written. The account of the jobArn is not repeated: every key
 * that leads to a row ends with the jobArn, where a filter reads it. The source is in `jobs`,
 * as nothing served depends on it. */
#define ROW_VERSION_1      1
#define ROW_VERSION_2      2
#define ROW_VERSION        3
#define ROW_HEADER_SIZE_V1 40
#define ROW_HEADER_SIZE_V2 48
#define ROW_HEADER_SIZE    52
#define ROW_EVENT_SEQ_AT   40
#define ROW_NAME_AT        48
#define ROW_MODEL_AT       50
#define ROW_COPIED         0xFFFF
#define ROW_HAS_NAME       0x01

/* The bytes of a row value the filters and the answer read, in place. */
struct store_row_view {
    const char *name, *model_arn, *json;
    size_t name_len, model_arn_len, json_len;
};

/* Finds them; false if the value is not a row of a version this one reads. The hot path of
 * every query (store-list.c), so inline. */
static inline bool store_row_view(const uint8_t *h, size_t size, struct store_row_view *v)
{
    if (size < ROW_HEADER_SIZE_V1)
        return false;
    size_t header = h[0] == ROW_VERSION     ? ROW_HEADER_SIZE
                    : h[0] == ROW_VERSION_2 ? ROW_HEADER_SIZE_V2
                    : h[0] == ROW_VERSION_1 ? ROW_HEADER_SIZE_V1
                                            : 0;
    if (header == 0 || size < header)
        return false;
    size_t name_len = h[2], arn_len = get_le16(h + 4), json_off = get_le16(h + 6);
    size_t name_at = ROW_COPIED, model_at = ROW_COPIED;
    if (header == ROW_HEADER_SIZE) {
        name_at = get_le16(h + ROW_NAME_AT);
        model_at = get_le16(h + ROW_MODEL_AT);
    }
    size_t copied = (name_at == ROW_COPIED ? name_len : 0) + (model_at == ROW_COPIED ? arn_len : 0);
    if (json_off != header + copied || json_off >= size)
        return false;
    const char *after = (const char *)h + header, *json = (const char *)h + json_off;
    size_t json_len = size - json_off;
    if ((name_at != ROW_COPIED && name_at + name_len > json_len) ||
        (model_at != ROW_COPIED && model_at + arn_len > json_len))
        return false;
    *v = (struct store_row_view){
        .name = name_at == ROW_COPIED ? after : json + name_at,
        .name_len = name_len,
        .model_arn = model_at == ROW_COPIED ? after + (name_at == ROW_COPIED ? name_len : 0)
                                            : json + model_at,
        .model_arn_len = arn_len,
        .json = json,
        .json_len = json_len,
    };
    return true;
}

struct store_row {
    uint8_t status;
    bool has_name;
    uint8_t name_len;
    uint16_t model_arn_len;
    int64_t creation_ns;
    uint64_t model_hash;
    uint16_t region_code;
    uint64_t event_seq;  /* the change log event that refers to this row, 0 for none */
    const char *account; /* CJ_ACCOUNT_ID_LEN bytes, not terminated */
    const char *name;
    const char *model_arn;
    const char *json;
    size_t json_len;
};

/* Checks a job before it is stored: -EINVAL naming the bad field in the log. */
int store_job_check(const struct cj_job *j);
/* Appends the row value of j, under status code `status` and region code `region`, to b
 * (reset first). A targetModelName over 255 bytes is served but not kept in the row (no name
 * filter finds it). */
int store_row_encode(const struct cj_job *j, uint8_t status, uint16_t region, struct cj_buf *b);
/* Whether two row values hold the same job: everything but their version, their layout and
 * their event seq. */
bool store_row_same(const void *a, size_t a_len, const void *b, size_t b_len);
/* Sets the event seq of a row value being built (store_row_encode's). */
static inline void store_row_set_event_seq(struct cj_buf *b, uint64_t seq)
{
    put_le64((uint8_t *)b->data + ROW_EVENT_SEQ_AT, seq);
}

/* The region and account of a jobArn (arn:PARTITION:bedrock:REGION:ACCOUNT:...): the region
 * 1..CJ_REGION_NAME_MAX of [a-z0-9-], the account 12 digits. false when it has no such shape. */
bool store_arn_parse(const char *arn, size_t len, const char **region, size_t *region_len,
                     const char **account);
/* Decodes a row value in place; -EUCLEAN if it is not one this version wrote. */
int store_row_decode(const void *data, size_t size, struct store_row *ret);

/* The largest index key: account (12) + time (8) + jobArn, and a byte for schema 6's jobArn
 * terminator, which the migrations write and read. */
#define INDEX_PREFIX_MAX 12
#define INDEX_KEY_MAX    (INDEX_PREFIX_MAX + 8 + CJ_JOB_ARN_MAX + 1)

/* What an index groups by: nothing, status, sourceAccountId, model hash, the jobArn's
 * region code (be16), the jobArn's account. */
struct store_prefix_of {
    uint8_t status;
    const char *account; /* 12 digits */
    uint64_t model_hash;
    uint16_t region_code;
    const char *job_account; /* 12 digits */
};
/* The prefix of index i. Returns its size. */
size_t store_index_prefix(enum cj_index i, const struct store_prefix_of *of,
                          uint8_t out[INDEX_PREFIX_MAX]);
static inline size_t store_index_prefix_len(enum cj_index i)
{
    static const uint8_t lens[_CJ_INDEX_MAX] = {0, 1, CJ_ACCOUNT_ID_LEN, 8, 2, CJ_ACCOUNT_ID_LEN};
    return lens[i];
}
/* prefix | time | jobArn. Returns the size. The time plan's key (no prefix) is also the
 * row's key, and every secondary index key ends with it. The status plan's (the status code
 * first) is that of schema 5's idx_status; in this schema the status names the rows'
 * database instead. */
size_t store_index_key(enum cj_index i, const struct store_row *r, const char *arn, size_t arn_len,
                       uint8_t out[INDEX_KEY_MAX]);
/* The same key as schemas 4 to 6 wrote it, for the migrations. */
size_t store_index_key_v6(enum cj_index i, const struct store_row *r, const char *arn,
                          size_t arn_len, uint8_t out[INDEX_KEY_MAX]);

/* ---- secondary index entries (store-index.c) ----
 * A secondary index is an MDB_DUPSORT database: the key is the entry's prefix
 * (store_index_prefix), each sorted duplicate its row's key (time | jobArn) then its status
 * code. Each prefix's entries are then a B-tree of their own, which entries in time order fill
 * at its end, where under one key order they went inside pages that also held the next
 * prefix's first keys, and LMDB split those in half. An entry is named by its full key
 * (prefix | time | jobArn, store_index_key's) and its status. */
#define INDEX_DUP_MAX (8 + CJ_JOB_ARN_MAX + 1)
/* LMDB's codes. store_index_remove is MDB_SUCCESS when the entry was not there. */
int store_index_add(struct cj_store *s, MDB_txn *txn, enum cj_index i, const uint8_t *key,
                    size_t size, uint8_t status);
int store_index_remove(struct cj_store *s, MDB_txn *txn, enum cj_index i, const uint8_t *key,
                       size_t size, uint8_t status);
/* The entry made to wait for the batch's commit (store_rows_pending_add): true when it
 * waits, false when the caller is to add it. */
bool store_index_add_pending(struct cj_store *s, enum cj_index i, const uint8_t *key, size_t size,
                             uint8_t status);
/* Within a run of puts, *ret is the run's cursor on dbi, kept in *slot (opened at its first
 * use; the run closes it before it returns, so none outlives its transaction); outside one,
 * NULL, and the caller writes without a cursor. LMDB's code. */
int store_run_cursor(struct cj_store *s, MDB_txn *txn, MDB_dbi dbi, MDB_cursor **slot,
                     MDB_cursor **ret);
/* Closes the run's cursors (if any); the run goes on, and opens them again when it next puts. */
void store_run_cursors_drop(struct cj_store *s);
/* MDB_SUCCESS when database dbi (index i's) holds the entry, else MDB_NOTFOUND or an error. */
int store_index_find(MDB_txn *txn, MDB_dbi dbi, enum cj_index i, const uint8_t *key, size_t size,
                     uint8_t status);
/* A duplicate's row key (time | jobArn, pointing into it) and status; false if it is too
 * short to be one. */
static inline bool store_index_dup_split(const MDB_val *dup, MDB_val *row_key, uint8_t *status)
{
    if (dup->mv_size < 8 + 2) /* time, a jobArn byte, status */
        return false;
    *row_key = (MDB_val){.mv_size = dup->mv_size - 1, .mv_data = dup->mv_data};
    *status = ((const uint8_t *)dup->mv_data)[dup->mv_size - 1];
    return true;
}

/* ---- finding a row by jobArn (store-read.c) ---- */

#define TIME_KEY_SIZE      8                   /* the row's time key, first in a `jobs` value */
#define JOBS_VALUE_SIZE_V5 (TIME_KEY_SIZE + 2) /* then the source code */
#define JOBS_VALUE_SIZE    (JOBS_VALUE_SIZE_V5 + 1) /* then the status code */
/* Schema 6's secondary index value: the status code, which names its row's database. */
#define INDEX_VALUE_SIZE 1

static inline uint16_t jobs_value_source(const MDB_val *v)
{
    return get_le16((const uint8_t *)v->mv_data + TIME_KEY_SIZE);
}

static inline uint8_t jobs_value_status(const MDB_val *v)
{
    return ((const uint8_t *)v->mv_data)[JOBS_VALUE_SIZE_V5];
}

/* The key of a job's row, from its `jobs` value and its jobArn: -EUCLEAN if the value is
 * not a `jobs` value or the jobArn is too long. Returns the size in *len; the row lies in
 * the database of jobs_value_status(). */
int store_row_key(const MDB_val *jobs_value, const void *arn, size_t arn_len,
                  uint8_t out[INDEX_KEY_MAX], size_t *len);
/* The row of jobArn `arn` whose `jobs` value is jobs_value (pointing into the map): -EUCLEAN
 * if the value is not one or there is no such row. */
int store_row_at(struct cj_store *s, MDB_txn *txn, const MDB_val *jobs_value, const void *arn,
                 size_t arn_len, MDB_val *row);
/* The `jobs` value of jobArn `arn` (pointing into the map): -ENOENT if it has none. */
int store_jobs_get(struct cj_store *s, MDB_txn *txn, const char *arn, size_t arn_len,
                   MDB_val *value);
/* The row of jobArn `arn` (pointing into the map), and when source is not NULL the code of
 * its source: -ENOENT if `jobs` has no such job, -EUCLEAN if it has one without a row. */
int store_row_get(struct cj_store *s, MDB_txn *txn, const void *arn, size_t arn_len, MDB_val *row,
                  uint16_t *source);

/* ---- the keys of `jobs` (store-jobs-key.c) ---- */

#define JOBS_KEY_PACKED 16
/* A pending `jobs` entry of a packed key (store-jobs-pending.c). */
struct pending_entry {
    uint8_t key[JOBS_KEY_PACKED];
    uint8_t value[JOBS_VALUE_SIZE];
};
/* Every packed key's first byte (its tag) is below this; every jobArn's ('a') is not. */
#define JOBS_KEY_FIRST_RAW 0x20
/* *key: the `jobs` key of jobArn `arn`, whose region has code `region`: packed into buf, or
 * arn itself when it has not Bedrock's form. */
void store_jobs_key(const char *arn, size_t len, uint16_t region, uint8_t buf[JOBS_KEY_PACKED],
                    MDB_val *key);
/* The same, the region's code looked up: -ENOENT when there is none (no job of that region,
 * or of no region, is stored). */
int store_jobs_key_find(struct cj_store *s, MDB_txn *txn, const char *arn, size_t len,
                        uint8_t buf[JOBS_KEY_PACKED], MDB_val *key);
/* Whether a `jobs` key is a packed one (else it is a jobArn as it is). */
bool store_jobs_key_packed(const MDB_val *key);
/* Of a packed key: the code of its region, and its jobArn, given that region's name, in *arn
 * (in buf); -EUCLEAN when the key is out of range. */
uint16_t store_jobs_key_region(const MDB_val *key);
int store_jobs_key_unpack(const MDB_val *key, const char *region, size_t region_len,
                          char buf[CJ_JOB_ARN_MAX], MDB_val *arn);
/* The last region name a walk of `jobs` unpacked, so that the next key of that region does
 * not read the names table. Zeroed before the walk. */
struct store_region_name {
    bool valid;
    uint16_t code;
    uint8_t len;
    char name[CJ_REGION_NAME_MAX];
};
/* The jobArn of `jobs` key `key`, in *arn: in buf when packed, else the key's own bytes.
 * -EUCLEAN when the key is neither (a tag, account or ID out of range, a region code without
 * a name, a raw key that is no ARN). */
int store_jobs_key_arn(struct cj_store *s, MDB_txn *txn, const MDB_val *key,
                       struct store_region_name *cache, char buf[CJ_JOB_ARN_MAX], MDB_val *arn);

/* ---- migrations (store-migrate.c) ---- */

/* Schema 2 -> 3: moves every row from `jobs` into the time index. -EUCLEAN if a row of the
 * old store does not decode (the caller then discards the cache). */
int store_migrate_from_2(struct cj_store *s, MDB_txn *txn);
/* Schema 3 -> 4: the keys turn newest first. With rows_v3, the time index and `jobs` still
 * hold schema 3's keys and are rewritten; the other indexes are rebuilt from the rows.
 * -EUCLEAN if an old key or row does not decode. */
int store_migrate_from_3(struct cj_store *s, MDB_txn *txn, bool rows_v3);
/* Schema 4 -> 5: each job joins the source named after its jobArn's region, which inherits
 * META_SYNCED_AT_V4; rows get their region code, the new indexes are built. -EUCLEAN if a row
 * does not decode or a jobArn names no region and account. */
int store_migrate_from_4(struct cj_store *s, MDB_txn *txn);
/* Schema 5 -> 6: the rows move from idx_time into the database of their status, `jobs`
 * values and secondary index values gain the status code, idx_time and idx_status go.
 * -EUCLEAN if a row does not decode. */
int store_migrate_from_5(struct cj_store *s, MDB_txn *txn);
/* Schema 6 -> 7: every key holding time | jobArn (rows, secondary indexes, the time key in
 * `jobs` values) turns oldest first, in transactions of its own after the opening one (see
 * store-migrate.c), going on from where an earlier open stopped; the last records schema 9,
 * which reads schema 7's data as it is (store_migrate_from_9 goes on from there).
 * -EUCLEAN if a key does not decode, -ENOSPC if a step does not fit under max_size; the
 * caller then discards the cache. */
#define STORE_REKEY_STEP_ROWS 50000
int store_migrate_from_6(struct cj_store *s);
/* Entries a step moves (STORE_REKEY_STEP_ROWS); tests make it small. */
extern size_t store_rekey_step_rows;
/* Tests stop the migration before this step (0: never), the open failing with -EINTR, to see
 * the next open resume it. */
extern unsigned store_rekey_stop_after;
/* Schema 9 -> 10: the `jobs` keys of jobArns in Bedrock's form are packed (store-jobs-key.c),
 * in transactions of their own of store_rekey_step_rows keys, going on from where an earlier
 * open stopped; the last records schema 11. -EUCLEAN if a `jobs` entry is damaged, -ENOSPC
 * if a step does not fit under max_size; the caller then discards the cache. */
int store_migrate_from_9(struct cj_store *s);
/* Tests stop it before this step (0: never), the open failing with -EINTR. */
extern unsigned store_repack_stop_after;
/* Deletes idx_time and idx_status when the store has them; LMDB's code. */
int store_drop_v5(struct cj_store *s, MDB_txn *txn);
/* A put into index i in schema 6's layout (one entry per key, the migrations' steps up to 6),
 * or into rows database d, that appends when the key is past the database's last
 * (store-write.c). Returns LMDB's code; s->no_append is to be reset at the start of each
 * transaction. */
int store_index_put(struct cj_store *s, MDB_txn *txn, enum cj_index i, MDB_val *k, MDB_val *v);
#define STORE_NO_APPEND_ROWS 8
int store_rows_put(struct cj_store *s, MDB_txn *txn, unsigned d, MDB_val *k, MDB_val *v);

/* ---- counters in meta (store.c) ---- */

struct store_counts {
    uint64_t total;
    uint64_t by_status[STORE_STATUS_CODES]; /* by status code */
};
/* Of every source (META_COUNTS). */
int store_counts_load(struct cj_store *s, MDB_txn *txn, struct store_counts *ret);
int store_counts_save(struct cj_store *s, MDB_txn *txn, const struct store_counts *c);
/* The total then the status counters, as META_COUNTS and a source's entry hold them. */
int store_counts_decode(const uint8_t *p, size_t size, struct store_counts *ret);
size_t store_counts_encode(const struct store_counts *c, uint8_t out[8 * (1 + STORE_STATUS_CODES)]);
/* One meta value: -ENOENT when absent; the value points into the map. */
int store_meta_get(struct cj_store *s, MDB_txn *txn, const char *key, MDB_val *v);
int store_meta_put(struct cj_store *s, MDB_txn *txn, const char *key, const void *data,
                   size_t size);
/* Deletes one meta value; 0 when absent too. */
int store_meta_del(struct cj_store *s, MDB_txn *txn, const char *key);
/* Records the schema version. */
int store_schema_put(struct cj_store *s, MDB_txn *txn, uint32_t version);
int store_meta_put_i64(struct cj_store *s, MDB_txn *txn, const char *key, int64_t v);
int store_meta_get_i64(struct cj_store *s, MDB_txn *txn, const char *key, int64_t *ret);
/* The same for u64; -EUCLEAN if the value is not 8 bytes, 0 (value 0) if absent. */
int store_meta_put_u64(struct cj_store *s, MDB_txn *txn, const char *key, uint64_t v);
int store_meta_get_u64(struct cj_store *s, MDB_txn *txn, const char *key, uint64_t *ret);

/* ---- status codes (store-status.c) ---- */

/* The status code of j: its enum cj_status for a known status, else the code of its
 * status_name, registered in META_STATUS_NAMES when `create` and it is new. -ENOENT (not
 * registered, !create); -ERANGE when every code is taken. */
int store_status_code(struct cj_store *s, MDB_txn *txn, const struct cj_job *j, bool create,
                      uint8_t *ret);
/* The name of status code `code`, pointing into the map or static data (valid while txn
 * is): -ENOENT for a code that is not registered. */
int store_status_name(struct cj_store *s, MDB_txn *txn, uint8_t code, const char **name,
                      size_t *len);

/* ---- the nextToken key (store-list.c) ---- */

/* Installs the token key (from the store's meta database) and derives the MAC's and the
 * digest's keys from it: 0, -EINVAL for a key of another size, -ENOMEM. */
int store_token_set_key(struct cj_store *s, const void *key, size_t n);
/* Forgets the key and those derived from it. */
void store_token_clear_key(struct cj_store *s);

/* ---- the change log (store-events.c) ---- */

/* An event's value is its type then either the job's JSON, or, with EVENT_REFERS set in the
 * type, the job's jobArn: the event's JSON is then its row's, whose event seq names it. A
 * job's newest event refers to its row; when the row changes or goes, that event gets the
 * row's JSON first (store_event_materialize), so every event keeps what the job was. */
#define EVENT_REFERS 0x80
static inline bool store_event_refers(uint8_t b)
{
    return b & EVENT_REFERS;
}
static inline uint8_t store_event_type(uint8_t b)
{
    return b & (uint8_t)~EVENT_REFERS;
}
/* Appends an event holding json in txn. json must not point into the map (a write may move
 * pages): copy a stored row's JSON out first. */
int store_event_append(struct cj_store *s, MDB_txn *txn, enum cj_event_type type, const char *json,
                       size_t json_len);
/* Appends an event that refers to the row of jobArn arn, its seq in *seq. */
int store_event_append_ref(struct cj_store *s, MDB_txn *txn, enum cj_event_type type,
                           const char *arn, size_t arn_len, uint64_t *seq);
/* Gives event `seq`, if it is still in the log and refers to a row, the row's JSON (json,
 * which may point into the map: it is copied before the first write). */
int store_event_materialize(struct cj_store *s, MDB_txn *txn, uint64_t seq, const char *json,
                            size_t json_len);
/* Event `seq`'s value, in whichever generation holds it: -ENOENT when the log does not. */
int store_event_get(struct cj_store *s, MDB_txn *txn, uint64_t seq, MDB_val *v);
/* Called by store_write (store_write_batched: in each child) before committing a transaction
 * that appended: records the newest seq in meta and trims the log. */
int store_events_commit_prepare(struct cj_store *s, MDB_txn *txn);
/* Once the newer generation holds max_events, empties the older one and makes it the newer
 * (also at open, after the bound was lowered). */
int store_events_trim(struct cj_store *s, MDB_txn *txn);
/* The newest seq ever handed out: the larger of meta's and the log's last key. */
int store_events_last_seq(struct cj_store *s, MDB_txn *txn, uint64_t *ret);

/* The log's two generations walked as one, in seq order: every key of the older is below
 * every key of the newer. Operations are MDB_FIRST, MDB_LAST, MDB_NEXT, MDB_PREV and
 * MDB_SET_RANGE, with LMDB's return codes. */
struct store_log_cursor {
    MDB_cursor *gen[2]; /* [0] the older, [1] the newer generation */
    unsigned at;        /* the one the cursor stands in */
};
int store_log_cursor_open(struct cj_store *s, MDB_txn *txn, struct store_log_cursor *c);
void store_log_cursor_close(struct store_log_cursor *c);
int store_log_cursor_get(struct store_log_cursor *c, MDB_val *k, MDB_val *v, MDB_cursor_op op);
/* The events in the newer generation. */
int store_events_count(struct cj_store *s, MDB_txn *txn, uint64_t *newer);

/* ---- removing a row's index entries (store-write.c) ---- */

/* Removes job `arn` in txn: row, index keys, `jobs` and `missed` entries, counters, and a
 * `removed` event. -ENOENT if it is not stored; -EUCLEAN for a damaged entry. */
struct store_tally;
int store_remove_job(struct cj_store *s, MDB_txn *txn, const char *arn, size_t len,
                     struct store_tally *t);

/* ---- the full pass (store-pass.c) ---- */

/* Every job a source writes while its pass runs counts as seen by that pass, also by a
 * quick sync (p NULL). */
void store_pass_note(struct cj_store *s, struct cj_store_pass *p, const char *source,
                     const char *arn, size_t len);
/* A pass's page went into the open batch. */
void store_pass_wrote(struct cj_store *s, struct cj_store_pass *p);
/* Batch `id` was lost with `error`: every running pass that wrote into it fails at its end
 * with that error (its listing must run again). */
void store_passes_batch_lost(struct cj_store *s, uint64_t id, int error);
/* The running pass of `source`, or NULL. */
struct cj_store_pass *store_pass_of(struct cj_store *s, const char *source);
/* Whether full passes of more than one source are running. */
bool store_passes_several(const struct cj_store *s);
/* Called by cj_store_close: a pass freed later must not touch the store. */
void store_pass_detach(struct cj_store *s);

/* ---- sources, regions and their counters (store-source.c) ---- */

/* The code of a name in the table under meta key `key` (META_SOURCE_NAMES or
 * META_REGION_NAMES): -ENOENT when it has none and !create; with create a new one, in the
 * first free slot, -ERANGE when all `max` are taken. */
int store_names_code(struct cj_store *s, MDB_txn *txn, const char *key, const char *name,
                     size_t len, bool create, unsigned max, uint16_t *ret);
/* The name of a code (pointing into the map): -ENOENT for a free or unknown code. */
int store_names_name(struct cj_store *s, MDB_txn *txn, const char *key, uint16_t code,
                     const char **name, size_t *len);
/* Calls fn with each name and its code, in code order (free codes skipped). */
int store_names_foreach(struct cj_store *s, MDB_txn *txn, const char *key,
                        int (*fn)(const char *name, size_t len, uint16_t code, void *u), void *u);

/* One source's entry in meta. */
struct store_source_entry {
    int64_t synced_at_ns;
    struct store_counts c;
};
int store_source_load(struct cj_store *s, MDB_txn *txn, uint16_t code,
                      struct store_source_entry *ret);
int store_source_save(struct cj_store *s, MDB_txn *txn, uint16_t code,
                      const struct store_source_entry *e);
/* Deletes the entry and frees the code. */
int store_source_forget(struct cj_store *s, MDB_txn *txn, uint16_t code);

/* The counters a write transaction changes: of every source and of each source it touches,
 * loaded when first touched and saved by store_tally_save. */
struct store_tally_source {
    uint16_t code;
    bool dirty;
    struct store_source_entry e;
};
struct store_tally {
    struct store_counts all;
    bool dirty;
    struct store_tally_source *src;
    size_t n, cap;
};
int store_tally_begin(struct cj_store *s, MDB_txn *txn, struct store_tally *t);
/* The entry of source `code` in the tally (loaded now if it was not). */
int store_tally_source(struct cj_store *s, MDB_txn *txn, struct store_tally *t, uint16_t code,
                       struct store_tally_source **ret);
/* One job of status code `status` more (delta 1) or less (-1) in source `code`. */
int store_tally_job(struct cj_store *s, MDB_txn *txn, struct store_tally *t, uint16_t code,
                    uint8_t status, int delta);
int store_tally_save(struct cj_store *s, MDB_txn *txn, struct store_tally *t);
void store_tally_free(struct store_tally *t);

/* Calls fn with the jobArn (pointing into the map, not terminated) of each job of source
 * `code`, in `jobs` order; fn may not write to `jobs`. A damaged `jobs` entry (a value that is
 * not one, a key that is no jobArn) stops the walk with -EUCLEAN: whose job it is cannot be
 * told, so nothing is removed on its account until verify has been run. */
int store_source_jobs(struct cj_store *s, MDB_txn *txn, uint16_t code,
                      int (*fn)(const MDB_val *arn, void *u), void *u);
/* A list of jobArns kept out of the map (to write after a walk of `jobs`): each appended as
 * [le16 length][bytes], and walked in that order. */
int store_arn_list_add(struct cj_buf *b, const void *arn, size_t len);
int store_arn_list_walk(const struct cj_buf *b,
                        int (*fn)(struct cj_store *s, MDB_txn *txn, const char *arn, size_t len,
                                  void *u),
                        struct cj_store *s, MDB_txn *txn, void *u);
/* The oldest last sync of the sources the store knows; 0 if one never synced, or none. */
int store_sources_synced_at(struct cj_store *s, MDB_txn *txn, int64_t *ret);
/* The counters of `source`, or of every source (NULL): -ENOENT for a source the store does
 * not know, -EINVAL for a name that is not one. */
int store_source_counts(struct cj_store *s, MDB_txn *txn, const char *source,
                        struct store_counts *ret);
