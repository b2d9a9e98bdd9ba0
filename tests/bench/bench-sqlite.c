/* SPDX-License-Identifier: MIT */
/* What a user would otherwise build: a SQLite table of the jobs with the same indexes as
 * copyjobd's store, queried in process with prepared statements, answering with the same
 * JSON bytes (the stored job objects concatenated into the same envelope). */
#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define ORDER " ORDER BY creation_ns DESC, arn DESC LIMIT ?"

enum stmt {
    ST_INSERT,
    ST_NEWEST,
    ST_STATUS_WINDOW,
    ST_ACCOUNT_WINDOW,
    ST_MODEL,
    ST_NAME,
    ST_STATUS_FIRST,
    ST_STATUS_AFTER,
    ST_GET,
    _ST_MAX,
};

static const char *const sql[_ST_MAX] = {
    [ST_INSERT] = "INSERT OR REPLACE INTO jobs VALUES (?,?,?,?,?,?,?,?)",
    [ST_NEWEST] = "SELECT creation_ns, arn, json FROM jobs" ORDER,
    [ST_STATUS_WINDOW] = "SELECT creation_ns, arn, json FROM jobs WHERE status = ? AND "
                         "creation_ns > ? AND creation_ns < ?" ORDER,
    [ST_ACCOUNT_WINDOW] = "SELECT creation_ns, arn, json FROM jobs WHERE account = ? AND "
                          "creation_ns > ? AND creation_ns < ?" ORDER,
    [ST_MODEL] = "SELECT creation_ns, arn, json FROM jobs WHERE model = ?" ORDER,
    [ST_NAME] = "SELECT creation_ns, arn, json FROM jobs WHERE instr(name, ?) > 0" ORDER,
    [ST_STATUS_FIRST] = "SELECT creation_ns, arn, json FROM jobs WHERE status = ?" ORDER,
    [ST_STATUS_AFTER] = "SELECT creation_ns, arn, json FROM jobs WHERE status = ? AND "
                        "(creation_ns, arn) < (?, ?)" ORDER,
    [ST_GET] = "SELECT json FROM jobs WHERE arn = ?",
};

/* The other kinds: SQL built from the fields of the kind's first query, prepared on first use
 * and cached per kind; every variant of a kind sets the same fields (its shape). */
enum {
    SHAPE_STATUS = 1 << 0,
    SHAPE_ACCOUNT = 1 << 1,
    SHAPE_MODEL = 1 << 2,
    SHAPE_NAME = 1 << 3,
    SHAPE_AFTER = 1 << 4,
    SHAPE_BEFORE = 1 << 5,
    SHAPE_ASCENDING = 1 << 6,
    SHAPE_REGION = 1 << 7,
};

struct sq {
    sqlite3 *db;
    sqlite3_stmt *st[_ST_MAX];
    sqlite3_stmt *kind_st[_BQ_MAX];
    unsigned kind_shape[_BQ_MAX];
};

static int exec(sqlite3 *db, const char *s)
{
    char *msg = NULL;
    if (sqlite3_exec(db, s, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "cj-bench: sqlite: %s: %s\n", s, msg ? msg : "?");
        sqlite3_free(msg);
        return -EIO;
    }
    return 0;
}

int sq_open(const char *path, struct sq **ret)
{
    struct sq *q = calloc(1, sizeof(*q));
    if (!q)
        return -ENOMEM;
    if (sqlite3_open(path, &q->db) != SQLITE_OK) {
        fprintf(stderr, "cj-bench: sqlite: %s: %s\n", path, sqlite3_errmsg(q->db));
        sq_close(q);
        return -EIO;
    }
    /* A user's reasonable setup: WAL, NORMAL sync, a 64 MiB page cache. */
    int r = exec(q->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                        "PRAGMA cache_size=-65536;"
                        "CREATE TABLE IF NOT EXISTS jobs (arn TEXT PRIMARY KEY, status INTEGER "
                        "NOT NULL, creation_ns INTEGER NOT NULL, account TEXT NOT NULL, model "
                        "TEXT NOT NULL, name TEXT, json BLOB NOT NULL, region TEXT NOT NULL);"
                        "CREATE INDEX IF NOT EXISTS jobs_status_time ON jobs(status, "
                        "creation_ns, arn);"
                        "CREATE INDEX IF NOT EXISTS jobs_time ON jobs(creation_ns, arn);"
                        "CREATE INDEX IF NOT EXISTS jobs_account_time ON jobs(account, "
                        "creation_ns, arn);"
                        "CREATE INDEX IF NOT EXISTS jobs_model_time ON jobs(model, creation_ns, "
                        "arn);"
                        "CREATE INDEX IF NOT EXISTS jobs_region_time ON jobs(region, "
                        "creation_ns, arn);");
    for (int i = 0; r >= 0 && i < _ST_MAX; i++)
        if (sqlite3_prepare_v3(q->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &q->st[i], NULL) !=
            SQLITE_OK) {
            fprintf(stderr, "cj-bench: sqlite: %s: %s\n", sql[i], sqlite3_errmsg(q->db));
            r = -EIO;
        }
    if (r < 0) {
        sq_close(q);
        return r;
    }
    *ret = q;
    return 0;
}

void sq_close(struct sq *q)
{
    if (!q)
        return;
    for (int i = 0; i < _ST_MAX; i++)
        sqlite3_finalize(q->st[i]);
    for (int i = 0; i < _BQ_MAX; i++)
        sqlite3_finalize(q->kind_st[i]);
    sqlite3_close(q->db);
    free(q);
}

int sq_put_page(struct sq *q, const struct cj_job *jobs, size_t n)
{
    sqlite3_stmt *st = q->st[ST_INSERT];
    int r = exec(q->db, "BEGIN");
    for (size_t i = 0; r >= 0 && i < n; i++) {
        const struct cj_job *j = &jobs[i];
        sqlite3_bind_text(st, 1, j->job_arn, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, (int)j->status);
        sqlite3_bind_int64(st, 3, j->creation_ns);
        sqlite3_bind_text(st, 4, j->source_account, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, j->source_model_arn, -1, SQLITE_STATIC);
        if (j->target_model_name)
            sqlite3_bind_text(st, 6, j->target_model_name, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 6);
        sqlite3_bind_blob(st, 7, j->json, (int)j->json_len, SQLITE_STATIC);
        /* The jobArn's region: arn:aws:bedrock:REGION:... */
        const char *region = j->job_arn, *end = NULL;
        for (int f = 0; f < 3 && region; f++)
            region = strchr(region, ':') ? strchr(region, ':') + 1 : NULL;
        end = region ? strchr(region, ':') : NULL;
        if (end)
            sqlite3_bind_text(st, 8, region, (int)(end - region), SQLITE_STATIC);
        else
            sqlite3_bind_text(st, 8, "", 0, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            fprintf(stderr, "cj-bench: sqlite insert: %s\n", sqlite3_errmsg(q->db));
            r = -EIO;
        }
        sqlite3_reset(st);
    }
    if (r < 0) {
        exec(q->db, "ROLLBACK");
        return r;
    }
    return exec(q->db, "COMMIT");
}

/* Runs a bound list statement with LIMIT max+1 and appends the envelope; the last row's
 * position becomes the cursor (and the nextToken text) when there are more rows. */
static long run_page(struct sq *q, sqlite3_stmt *st, int limit_idx, unsigned max,
                     struct cj_buf *out, int64_t *last_ns, char *last_arn, size_t arn_len,
                     bool *more)
{
    long rows = 0;
    int rc;

    sqlite3_bind_int(st, limit_idx, (int)max + 1);
    cj_buf_append_str(out, "{\"modelCopyJobSummaries\":[");
    *more = false;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((unsigned)rows == max) {
            *more = true;
            break;
        }
        if (rows)
            cj_buf_append_char(out, ',');
        cj_buf_append(out, sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2));
        *last_ns = sqlite3_column_int64(st, 0);
        snprintf(last_arn, arn_len, "%s", (const char *)sqlite3_column_text(st, 1));
        rows++;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        fprintf(stderr, "cj-bench: sqlite query: %s\n", sqlite3_errmsg(q->db));
        sqlite3_reset(st);
        return -EIO;
    }
    sqlite3_reset(st);
    cj_buf_append_char(out, ']');
    if (*more)
        cj_buf_printf(out, ",\"nextToken\":\"%" PRId64 "|%s\"", *last_ns, last_arn);
    cj_buf_append_char(out, '}');
    return rows;
}

static unsigned shape_of(const struct bq *b)
{
    return (b->has_status ? SHAPE_STATUS : 0) | (b->account ? SHAPE_ACCOUNT : 0) |
           (b->model_arn ? SHAPE_MODEL : 0) | (b->name_contains ? SHAPE_NAME : 0) |
           (b->after_ns ? SHAPE_AFTER : 0) | (b->before_ns ? SHAPE_BEFORE : 0) |
           (b->ascending ? SHAPE_ASCENDING : 0) | (b->region ? SHAPE_REGION : 0);
}

/* The statement of a kind answered by built SQL: WHERE from the fields that are set, in the
 * order they are bound below, then the order and LIMIT. SQLite's planner picks the index. */
static sqlite3_stmt *kind_statement(struct sq *q, const struct bq *b)
{
    unsigned shape = shape_of(b);
    _cleanup_buf_ struct cj_buf s = {0};
    const char *sep = " WHERE ";

    if (q->kind_st[b->kind]) {
        if (q->kind_shape[b->kind] == shape)
            return q->kind_st[b->kind];
        fprintf(stderr, "cj-bench: sqlite: the variants of kind %d set different fields\n",
                (int)b->kind);
        return NULL;
    }
    cj_buf_append_str(&s, "SELECT creation_ns, arn, json FROM jobs");
    if (shape & SHAPE_STATUS) {
        cj_buf_printf(&s, "%sstatus = ?", sep);
        sep = " AND ";
    }
    if (shape & SHAPE_ACCOUNT) {
        cj_buf_printf(&s, "%saccount = ?", sep);
        sep = " AND ";
    }
    if (shape & SHAPE_MODEL) {
        cj_buf_printf(&s, "%smodel = ?", sep);
        sep = " AND ";
    }
    if (shape & SHAPE_NAME) {
        cj_buf_printf(&s, "%sinstr(name, ?) > 0", sep);
        sep = " AND ";
    }
    if (shape & SHAPE_REGION) {
        cj_buf_printf(&s, "%sregion = ?", sep);
        sep = " AND ";
    }
    if (shape & SHAPE_AFTER) {
        cj_buf_printf(&s, "%screation_ns > ?", sep);
        sep = " AND ";
    }
    if (shape & SHAPE_BEFORE)
        cj_buf_printf(&s, "%screation_ns < ?", sep);
    const char *dir = shape & SHAPE_ASCENDING ? "ASC" : "DESC";
    cj_buf_printf(&s, " ORDER BY creation_ns %s, arn %s LIMIT ?", dir, dir);
    if (!s.data || sqlite3_prepare_v3(q->db, s.data, -1, SQLITE_PREPARE_PERSISTENT,
                                      &q->kind_st[b->kind], NULL) != SQLITE_OK) {
        fprintf(stderr, "cj-bench: sqlite: %s: %s\n", s.data ? s.data : "?", sqlite3_errmsg(q->db));
        sqlite3_finalize(q->kind_st[b->kind]);
        q->kind_st[b->kind] = NULL;
        return NULL;
    }
    q->kind_shape[b->kind] = shape;
    return q->kind_st[b->kind];
}

/* One page of a kind answered by built SQL; binds in the order kind_statement wrote. */
static long query_built(struct sq *q, const struct bq *b, struct cj_buf *out)
{
    char last_arn[CJ_JOB_ARN_MAX + 1] = "";
    int64_t last_ns = 0;
    bool more;
    int i = 1;
    sqlite3_stmt *st = kind_statement(q, b);

    if (!st)
        return -EIO;
    if (b->has_status)
        sqlite3_bind_int(st, i++, (int)b->status);
    if (b->account)
        sqlite3_bind_text(st, i++, b->account, -1, SQLITE_STATIC);
    if (b->model_arn)
        sqlite3_bind_text(st, i++, b->model_arn, -1, SQLITE_STATIC);
    if (b->name_contains)
        sqlite3_bind_text(st, i++, b->name_contains, -1, SQLITE_STATIC);
    if (b->region)
        sqlite3_bind_text(st, i++, b->region, -1, SQLITE_STATIC);
    if (b->after_ns)
        sqlite3_bind_int64(st, i++, b->after_ns);
    if (b->before_ns)
        sqlite3_bind_int64(st, i++, b->before_ns);
    return run_page(q, st, i, b->max_results, out, &last_ns, last_arn, sizeof(last_arn), &more);
}

long sq_query(struct sq *q, const struct bq *b, struct cj_buf *out, unsigned *pages)
{
    char last_arn[CJ_JOB_ARN_MAX + 1] = "";
    int64_t last_ns = 0;
    bool more;
    sqlite3_stmt *st;

    if (pages)
        *pages = 1;
    switch (b->kind) {
    case BQ_NEWEST:
        st = q->st[ST_NEWEST];
        return run_page(q, st, 1, b->max_results, out, &last_ns, last_arn, sizeof(last_arn), &more);
    case BQ_FAILED_30D:
        st = q->st[ST_STATUS_WINDOW];
        sqlite3_bind_int(st, 1, CJ_STATUS_FAILED);
        sqlite3_bind_int64(st, 2, b->after_ns);
        sqlite3_bind_int64(st, 3, b->before_ns);
        return run_page(q, st, 4, b->max_results, out, &last_ns, last_arn, sizeof(last_arn), &more);
    case BQ_ACCOUNT_MONTH:
        st = q->st[ST_ACCOUNT_WINDOW];
        sqlite3_bind_text(st, 1, b->account, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, b->after_ns);
        sqlite3_bind_int64(st, 3, b->before_ns);
        return run_page(q, st, 4, b->max_results, out, &last_ns, last_arn, sizeof(last_arn), &more);
    case BQ_MODEL:
        st = q->st[ST_MODEL];
        sqlite3_bind_text(st, 1, b->model_arn, -1, SQLITE_STATIC);
        return run_page(q, st, 2, b->max_results, out, &last_ns, last_arn, sizeof(last_arn), &more);
    case BQ_NAME_CONTAINS:
        st = q->st[ST_NAME];
        sqlite3_bind_text(st, 1, b->name_contains, -1, SQLITE_STATIC);
        return run_page(q, st, 2, b->max_results, out, &last_ns, last_arn, sizeof(last_arn), &more);
    case BQ_WALK_FAILED: {
        long total = 0, rows;
        unsigned n = 0;
        st = q->st[ST_STATUS_FIRST];
        sqlite3_bind_int(st, 1, CJ_STATUS_FAILED);
        for (;;) {
            cj_buf_reset(out); /* a client handles each page, then drops it */
            rows = run_page(q, st, st == q->st[ST_STATUS_FIRST] ? 2 : 4, b->max_results, out,
                            &last_ns, last_arn, sizeof(last_arn), &more);
            if (rows < 0)
                return rows;
            total += rows;
            n++;
            if (!more)
                break;
            st = q->st[ST_STATUS_AFTER];
            sqlite3_bind_int(st, 1, CJ_STATUS_FAILED);
            sqlite3_bind_int64(st, 2, last_ns);
            sqlite3_bind_text(st, 3, last_arn, -1, SQLITE_TRANSIENT);
        }
        if (pages)
            *pages = n;
        return total;
    }
    case BQ_GET: {
        int rc;
        st = q->st[ST_GET];
        sqlite3_bind_text(st, 1, b->arn, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            cj_buf_append(out, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
        sqlite3_reset(st);
        return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? -ENOENT : -EIO;
    }
    case BQ_TIME_WINDOW:
    case BQ_OLDEST:
    case BQ_STATUS_ACCOUNT:
    case BQ_STATUS_MODEL:
    case BQ_ACCOUNT_MODEL:
    case BQ_ALL_FILTERS_ASC:
    case BQ_REGION:
    case BQ_REGION_FAILED_30D:
        return query_built(q, b, out);
    default:
        return -EINVAL;
    }
}
