/* SPDX-License-Identifier: MIT */
/* The LMDB cache of model copy jobs.
 *
 * Sources. Every job belongs to one source (an account in a region that the sync lists, by
 * name, [a-z0-9-]{1,CJ_SOURCE_NAME_MAX}): the one whose listing stored it last.
 * Counters, the last successful sync time, full passes and their removals are per source;
 * lists and stats cover every source unless filtered.
 *
 * One environment, several named databases: the rows (a small fixed header, then the job's
 * JSON bytes exactly as served), one database per status (and one for the statuses the
 * service model does not know), keyed time|jobArn, so that the rows of a status are
 * clustered by creation time; secondary indexes keyed by what they group by
 * (sourceAccountId; hash(sourceModelArn); the region of the jobArn; the account of the
 * jobArn), each job an entry among the key's sorted duplicates: time|jobArn (so equal times
 * order by ARN) and the row's status; the jobs by jobArn (value: the creation time and status, to
 * find the row, and the job's source); a change log; the jobs the last complete full passes
 * did not list; and a meta database (schema version, counters of all and of each source, the
 * names of sources, of regions and of statuses the service model does not know, each source's
 * last sync time, the key that authenticates nextTokens).
 * Readers never block the writer; every write is one transaction, and readers see each
 * commit whole. The pages of full passes share commits (see cj_store_put_jobs).
 * A cj_store belongs to one thread (it reuses one read transaction and one scratch buffer);
 * other processes may open the same directory read_only. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cj-buf.h"
#include "job.h"

/* 2: the change log (events); 3: rows in the time index, jobs maps jobArn -> time;
 * 4: keys newest first; 5: sources, the region and job account indexes; 6: rows in one
 * database per status; 7: keys oldest first, secondary indexes of sorted duplicates; 8: a
 * job's newest event refers to its row instead of copying its JSON; 9: rows find their name
 * and sourceModelArn in their JSON instead of copying them; 10: `jobs` keys a jobArn of
 * Bedrock's form by 16 bytes; 11: the change log in two generations */
#define CJ_STORE_SCHEMA_VERSION 11
#define CJ_MAX_RESULTS_MAX      1000
#define CJ_NEXT_TOKEN_MAX       2048

struct cj_store;

struct cj_store_options {
    const char *directory; /* created 0700 if missing */
    uint64_t max_size;     /* ceiling of the LMDB map, bytes */
    bool read_only;
    uint64_t initial_size; /* first map size; 0 = min(64 MiB, max_size). Tests use small ones */
    /* The change log keeps at least this many (see below); 0 = CJ_STORE_EVENTS_DEFAULT. */
    uint64_t max_events;
    unsigned scan_budget; /* rows one list page may examine; 0 = CJ_STORE_SCAN_BUDGET_DEFAULT */
};

/* A filter no index serves (outputModelNameContains alone) makes a list page walk rows that do
 * not match; this many examined rows end the page early, so one query holds the loop for
 * about a millisecond, not for the whole store. */
#define CJ_STORE_SCAN_BUDGET_DEFAULT 10000u

/* Opens or creates the store. A store written by a newer schema is refused with
 * -EPROTONOSUPPORT; an older one is migrated in place when it can be (schema 1: the change
 * log is added; schema 2: the rows move into the time index; schema 4 and older: each job
 * joins the source named after the region of its jobArn, which is the name a single-region
 * daemon's source has, and that source inherits the store's last sync time; schema 5 and
 * older: the rows move into the database of their status) and otherwise
 * wiped and refilled by the next full sync; the log line says which. A wipe keeps the change log's
 * sequence going. Read-only opens refuse any other schema. Stale reader slots left by crashed
 * processes are cleared. */
int cj_store_open(const struct cj_store_options *o, struct cj_store **ret);
/* Commits the pages the batch holds (cj_store_flush), then closes. */
void cj_store_close(struct cj_store *s);
/* 0, or the negative errno with which the environment could not be reopened after a pass gave
 * its memory back (cj_store_pass_finish): the store is then unusable, every call returns that
 * error, and the owner should close it and start again (the daemon exits for systemd to
 * restart it). */
int cj_store_lost(const struct cj_store *s);

/* ---- writing, used by the sync ---- */

struct cj_store_changes {
    size_t created;
    size_t updated; /* any served byte differs */
    size_t unchanged;
    size_t removed;
};

/* A full pass of one source: remembers which jobArns it has seen (8 bytes each, in memory),
 * so that at its end the source's jobs it did not see can be found. One pass at a time per
 * source (-EBUSY otherwise); passes of different sources run side by side. The process may
 * use transparent huge pages while a pass runs and not from the end of the last (prctl
 * PR_SET_THP_DISABLE): a pass dirties many new pages, an idle daemon few. Jobs the same
 * source writes with cj_store_put_jobs(pass=NULL) while its pass runs (a quick sync) count as
 * seen by it too. Free a pass before closing its store; a pass freed after the close is
 * harmless. -EINVAL for a source name that is not [a-z0-9-]{1,CJ_SOURCE_NAME_MAX}. */
struct cj_store_pass;
int cj_store_pass_begin(struct cj_store *s, const char *source, struct cj_store_pass **ret);
void cj_store_pass_free(struct cj_store_pass *p);

/* The removal guard: a complete pass removes nothing when the jobs it would remove are
 * more than CJ_STORE_REMOVAL_FLOOR and more than max_share_bp (basis points: 1000 = 10 %)
 * of its source's jobs stored. Default CJ_STORE_REMOVAL_SHARE_DEFAULT_BP; 10000 lets every
 * removal through. -EINVAL above 10000. */
#define CJ_STORE_REMOVAL_FLOOR            10
#define CJ_STORE_REMOVAL_SHARE_DEFAULT_BP 1000
int cj_store_pass_set_removal_limit(struct cj_store_pass *p, uint32_t max_share_bp);
/* Pure: whether the guard lets `removals` of `total` jobs go. */
bool cj_store_removal_allowed(uint64_t removals, uint64_t total, uint32_t max_share_bp);

/* Counts a job the service listed but that was not stored (its summary was refused) as
 * seen by the pass, so that no pass removes the copy it may have. -EINVAL for an empty or
 * over-long jobArn. */
int cj_store_pass_saw(struct cj_store *s, struct cj_store_pass *p, const char *job_arn);

/* Inserts or updates every job in one write transaction, keeping the indexes and the
 * counters in step; each job then belongs to `source` (a job another source stored moves to
 * it, an `updated` event only when a served byte changed). The jobs are written, and their
 * events logged, in key order (creationTime, then jobArn; a jobArn listed twice keeps the
 * page's order), so that new rows append. `pass` may be NULL (quick sync), else it is that
 * source's. Adds to *changes if non-NULL. A source name that is not valid
 * is -EINVAL.
 * Jobs are checked first (jobArn 1..CJ_JOB_ARN_MAX of the shape
 * arn:PARTITION:bedrock:REGION:ACCOUNT:..., status, 12-digit account,
 * sourceModelArn, json): one bad job refuses the whole page with -EINVAL. When the map is
 * full at max_size: -ENOSPC, and nothing of the page is written.
 * With a pass, the page is written whole into the batch: a write transaction shared with the
 * pages before it (of every source's pass), committed when it holds 50,000 jobs, at the first
 * page 1 s after it began, by cj_store_flush, and before any other write; until then readers
 * and a crash see the store without the batch. An error writing a page (or committing the
 * batch) loses the batch with it, as a crash would: the error is returned (logged) and every
 * pass that wrote into it fails at its end. The `jobs` entries of the new jobs a batch is full
 * of are put when it commits, in key order (store-jobs-pending.c), and while passes of more
 * than one source run, their rows and index entries too (store-rows-pending.c): a map that
 * fills up then loses the batch, and is grown (up to max_size) for the next one. Without a
 * pass, the page is committed at once. */
int cj_store_put_jobs(struct cj_store *s, const char *source, struct cj_store_pass *pass,
                      const struct cj_job *jobs, size_t n, struct cj_store_changes *changes);

/* Commits the batch, if one is open: then readers see every page written. On failure the
 * batch's pages are lost (the store stays as it was before them; the passes that wrote them
 * fail at their end) and the error returned. */
int cj_store_flush(struct cj_store *s);

/* Removes one job at once (GetModelCopyJob said 404). 0, or -ENOENT if it was not there. */
int cj_store_remove(struct cj_store *s, const char *job_arn);

/* Ends a pass. complete=true, in one transaction: every stored job of the pass's source that
 * the pass did not see is noted as missed; one the complete pass before it missed too is removed (a
 * `removed` event each), unless more would go than the guard allows: then none is, and they stay
 * noted; a job seen again is no longer missed. Records `synced_at_ns` as the last
 * successful sync of its source. Either way the batch is committed first (cj_store_flush):
 * complete=false (an interrupted pass) records nothing else. A pass whose pages were lost
 * (see cj_store_put_jobs) cannot complete: the error that lost them. When no other pass
 * runs and its batches were large, the store then reopens its LMDB environment (a few ms) to
 * give back the pages LMDB keeps. Adds the removals to *changes. Frees nothing; call
 * pass_free. */
int cj_store_pass_finish(struct cj_store *s, struct cj_store_pass *p, bool complete,
                         int64_t synced_at_ns, struct cj_store_changes *changes);

/* What a complete pass's end did (all 0 before, or after an incomplete one). */
struct cj_store_pass_result {
    uint64_t removed; /* missed by this pass and the complete one before: removed */
    uint64_t missed;  /* missed by this pass for the first time: removed if the next misses them */
    uint64_t held;    /* would have been removed, but the guard held them: kept, still missed */
    uint64_t total;   /* jobs of its source stored when the pass ended, before its removals */
};
void cj_store_pass_get_result(const struct cj_store_pass *p, struct cj_store_pass_result *ret);

/* Records a successful quick sync time of `source` without a pass. */
int cj_store_set_synced_at(struct cj_store *s, const char *source, int64_t synced_at_ns);

/* Removes every job of `source` (a `removed` event each) and forgets the source, in one
 * transaction: for a source that is no longer configured. Adds the removals to *changes.
 * -ENOENT when the store knows no such source; -EBUSY while a pass of it runs. */
int cj_store_drop_source(struct cj_store *s, const char *source, struct cj_store_changes *changes);

/* ---- reading, used by the local API ---- */

/* A validated ListModelCopyJobs query (see query.h for the parser of the wire form). */
struct cj_query {
    bool has_status;
    enum cj_status status;
    const char *source_account;   /* NULL or 12 digits */
    const char *source_model_arn; /* NULL or a valid ModelArn */
    const char *name_contains;    /* NULL or 1..63 bytes, case-sensitive substring */
    bool has_after;
    int64_t after_ns; /* creationTime > after_ns */
    bool has_before;
    int64_t before_ns;       /* creationTime < before_ns */
    const char *job_region;  /* NULL or a region name: the region in the jobArn */
    const char *job_account; /* NULL or 12 digits: the account in the jobArn */
    bool ascending;          /* default false: newest first */
    unsigned max_results;    /* 1..1000 */
    const char *next_token;  /* NULL, or the token exactly as the client sent it */
};

enum cj_index {
    CJ_INDEX_TIME,
    CJ_INDEX_STATUS_TIME,
    CJ_INDEX_ACCOUNT_TIME,
    CJ_INDEX_MODEL_TIME,
    CJ_INDEX_JOB_REGION_TIME,
    CJ_INDEX_JOB_ACCOUNT_TIME,
    _CJ_INDEX_MAX,
};
const char *cj_index_to_string(enum cj_index i);

/* Which index answers a query: the most selective equality filter's. Pure. */
enum cj_index cj_query_plan(const struct cj_query *q);

/* Appends the complete ListModelCopyJobs response body to out:
 *   {"modelCopyJobSummaries":[...],"nextToken":"..."}   (nextToken only if more rows)
 * The token is opaque, bound to the query's filters and order (not to maxResults), carries
 * the position of the last row returned and a MAC, so following it returns every job that
 * matches exactly once and in order, even while syncs write between pages. A page examines at
 * most the store's scan_budget rows: when that runs out first, the page ends with fewer than
 * maxResults jobs (even none) and a nextToken at the last row examined, as DynamoDB's Scan
 * does; Bedrock's paginators follow nextToken until it is absent, so that is transparent.
 * A token that is malformed, tampered with, from another query or from another schema
 * gives -EINVAL with a message for the client in err (it begins "nextToken: "); a query
 * out of bounds (maxResults, account, name length) too, naming the parameter. On error
 * nothing is appended to out. */
int cj_store_list(struct cj_store *s, const struct cj_query *q, struct cj_buf *out, char *err,
                  size_t errlen);

/* Appends the stored JSON object of one job. 0, or -ENOENT. */
int cj_store_get(struct cj_store *s, const char *job_arn, struct cj_buf *out);

/* Of every source together (cj_store_stats), or of one (cj_store_foreach_source). */
struct cj_store_stats {
    uint64_t total;
    uint64_t by_status[_CJ_STATUS_MAX]; /* the statuses the service model names */
    uint64_t by_other_status;           /* every other status (cj_store_foreach_other_status) */
    int64_t oldest_ns;                  /* 0 when empty */
    int64_t newest_ns;                  /* 0 when empty */
    int64_t synced_at_ns;               /* last successful sync; of several sources the oldest
                                           of theirs; 0 if never (or if one never synced) */
    uint64_t map_size;                  /* current size of the LMDB map, bytes */
};
int cj_store_stats(struct cj_store *s, struct cj_store_stats *ret);

/* Calls fn with every source the store knows (it has jobs, or a recorded sync) and that
 * source's stats (map_size 0; oldest_ns/newest_ns 0 unless the store keeps them per source),
 * in name order, from one read snapshot; fn returns >= 0 to go on, < 0 to stop (returned). */
typedef int (*cj_store_source_fn)(const char *source, const struct cj_store_stats *st,
                                  void *userdata);
int cj_store_foreach_source(struct cj_store *s, cj_store_source_fn fn, void *userdata);

/* Calls fn with each status the service model does not name that stored jobs carry (its
 * name as Bedrock sent it, and how many), of every source (source NULL) or of one, in the
 * order first stored; fn returns >= 0 to go on, < 0 to stop (returned). */
typedef int (*cj_store_status_fn)(const char *name, size_t len, uint64_t count, void *userdata);
int cj_store_foreach_other_status(struct cj_store *s, const char *source, cj_store_status_fn fn,
                                  void *userdata);

/* Consistency check: walks the jobs, every index and the counters. 0 when they all agree;
 * -EUCLEAN with the first disagreements described in report (always NUL-terminated) when
 * not. O(n log n); for tests and diagnostics, not the serving path. */
int cj_store_verify(struct cj_store *s, char *report, size_t len);

/* Rewrites the store in `directory` compacted (LMDB's compacting copy: every database in key
 * order, its pages full, no free pages) and swaps the copy in for the file; *before and *after
 * are the file's sizes on disk. Only while no other process has the store open, nor the
 * caller: -EBUSY when another does. Needs the compacted size free on its file system; a
 * failure leaves the store as it was. */
int cj_store_compact(const char *directory, uint64_t *before, uint64_t *after);

/* ---- the change log (backs GET /v1/events) ----
 * Every insert, change of any served byte, and removal appends one event in the same write
 * transaction as the change, with a sequence number that only grows and survives restarts. The
 * log keeps at least the newest max_events events and at most twice as many and one write
 * transaction's: older ones go max_events or more at a time, in the transaction that makes the
 * newer ones that many (or at open). Each
 * event gives the job as it was after that change, whatever came later; a job's newest event
 * shares its row's bytes, so the log of a large sync costs little more than its jobArns. */

#define CJ_STORE_EVENTS_DEFAULT 100000

enum cj_event_type {
    CJ_EVENT_CREATED,
    CJ_EVENT_UPDATED,
    CJ_EVENT_REMOVED,
    _CJ_EVENT_TYPE_MAX,
};
const char *cj_event_type_to_string(enum cj_event_type t); /* "created", "updated", "removed" */

struct cj_store_event {
    uint64_t seq;
    enum cj_event_type type;
    const char *job_json; /* the job as served after the change; for removed, as it was last */
    size_t job_json_len;
};

/* Returns >= 0 to go on, < 0 to stop (that value is returned by cj_store_events_read). */
typedef int (*cj_store_event_fn)(const struct cj_store_event *ev, void *userdata);

/* Calls fn for the events with seq > after_seq, oldest first, at most max of them, from one
 * read snapshot. Returns how many were delivered, or a negative errno. */
int cj_store_events_read(struct cj_store *s, uint64_t after_seq, size_t max, cj_store_event_fn fn,
                         void *userdata);
/* Sequence numbers of the oldest retained and the newest event; both 0 when the log is empty. */
int cj_store_events_bounds(struct cj_store *s, uint64_t *first_seq, uint64_t *last_seq);

/* The store's identity, which positions in its change log are relative to: 32 lower-case hex
 * digits of a random 128-bit id made with the store (kept by migrations, new when the store is
 * created, wiped or replaced; made at the first writable open of a store that had none). ""
 * for a read-only open of a store that has none yet. Valid until cj_store_close. */
#define CJ_STORE_ID_LEN 32
const char *cj_store_id(const struct cj_store *s);

/* Called after every committed write transaction that appended events (one thread: the caller's),
 * so the API can wake its watchers. One callback; NULL removes it. */
typedef void (*cj_store_change_fn)(struct cj_store *s, uint64_t last_seq, void *userdata);
void cj_store_set_change_callback(struct cj_store *s, cj_store_change_fn fn, void *userdata);

/* ---- iteration for the quick sync ---- */

/* Calls fn with every stored job of `source` (NULL: of every source) with the given status
 * (jobArn, creation time) from one read snapshot, in index order; fn returns >= 0 to go on,
 * < 0 to stop (returned). A source the store does not know has no jobs: 0, no call. -EINVAL
 * for a status out of range or a source name that is not one. */
typedef int (*cj_store_job_fn)(const char *job_arn, size_t arn_len, int64_t creation_ns,
                               void *userdata);
int cj_store_foreach_with_status(struct cj_store *s, const char *source, enum cj_status status,
                                 cj_store_job_fn fn, void *userdata);
