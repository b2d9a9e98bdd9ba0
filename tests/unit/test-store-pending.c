/* SPDX-License-Identifier: MIT */
/* New jobs' `jobs` entries that wait for their batch's commit (store-jobs-pending.c): what a
 * pass stores is found exactly once whichever way its jobs went, a job listed twice in one
 * batch included; the filter grows with its pending entries in it; a write by another
 * process makes the next batch look its jobs up again; and the rows and index entries that
 * wait with them while several sources' passes run (store-rows-pending.c) leave the store as
 * packed as one pass would. Real LMDB in a temporary directory. */
#include <sys/wait.h>

#include "test-store-util.h"

#define MIB (UINT64_C(1) << 20)

/* A store whose batches commit only when full or asked to, however slow the machine. */
static struct cj_store *open_watched(const char *dir)
{
    struct cj_store *s = open_store_at(dir, 0, 256 * MIB);
    s->batch.max_usec = UINT64_C(3600) * 1000 * 1000;
    return s;
}

static void fill(struct cj_job *j, unsigned id, enum cj_status status)
{
    struct test_job_spec sp = {.id = id,
                               .status = status,
                               .creation_ns = TEST_BASE_NS + id,
                               .account = test_accounts[id % 5],
                               .model = test_models[id % 6],
                               .name = test_names[id % 9]};
    test_job_fill(j, &sp);
}

/* Jobs [first, first + n) as one page of the pass, of one status. */
static void put_page(struct cj_store *s, struct cj_store_pass *p, unsigned first, unsigned n,
                     enum cj_status status)
{
    struct cj_job *jobs = calloc(n, sizeof(*jobs));
    assert_non_null(jobs);
    for (unsigned i = 0; i < n; i++)
        fill(&jobs[i], first + i, status);
    assert_int_equal(cj_store_put_jobs(s, "us-east-1", p, jobs, n, NULL), 0);
    for (unsigned i = 0; i < n; i++)
        test_job_free(&jobs[i]);
    free(jobs);
}

/* Job id is stored once, with this status. */
static void assert_stored(struct cj_store *s, unsigned id, enum cj_status status)
{
    struct cj_job j;
    struct cj_buf b = {0};
    char want[64];
    fill(&j, id, status);
    assert_int_equal(cj_store_get(s, j.job_arn, &b), 0);
    snprintf(want, sizeof(want), "\"status\":\"%s\"", cj_status_to_string(status));
    if (!strstr(b.data, want))
        fail_msg("job %u: %s, not %s", id, b.data, want);
    test_job_free(&j);
    cj_buf_free(&b);
}

/* What test_new_jobs_wait_for_commit's pass leaves each job. */
static enum cj_status first_pass_status(unsigned id)
{
    if (id >= 2000)
        return CJ_STATUS_FAILED;
    return id >= 1500 && id < 1510 ? CJ_STATUS_COMPLETED : CJ_STATUS_IN_PROGRESS;
}

static void test_new_jobs_wait_for_commit(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = open_watched(dir);
    struct cj_store_pass *p;

    assert_int_equal(cj_store_pass_begin(s, "us-east-1", &p), 0);
    put_page(s, p, 0, 1000, CJ_STATUS_IN_PROGRESS);
    /* Past STORE_PENDING_AFTER new jobs the filter is built and the rest wait. */
    assert_non_null(s->pending.known.words);
    assert_true(s->pending.n > 0 && s->pending.n <= 1000 - STORE_PENDING_AFTER);
    put_page(s, p, 1000, 1000, CJ_STATUS_IN_PROGRESS);
    size_t pending = s->pending.n;
    assert_true(pending > 1000);
    assert_int_equal(committed_total(s), 0);

    /* Listed again in the same batch, Completed now: the first is pending, so the entries are
     * put before it is looked up, and the others are found where they went. */
    put_page(s, p, 1500, 10, CJ_STATUS_COMPLETED);
    assert_int_equal(s->pending.n, 0);
    put_page(s, p, 2000, 1000, CJ_STATUS_FAILED);
    assert_true(s->pending.n > 900); /* all but the filter's false "maybe"s */

    assert_int_equal(cj_store_pass_finish(s, p, true, TEST_BASE_NS, NULL), 0);
    cj_store_pass_free(p);
    assert_null(s->pending.known.words); /* no pass runs: its memory is back */
    assert_int_equal(s->pending.n, 0);
    assert_int_equal(committed_total(s), 3000);
    for (unsigned i = 0; i < 3000; i++)
        assert_stored(s, i, first_pass_status(i));
    assert_verified(s);

    /* The next pass lists them all again: nothing new, nothing pending, nothing changed. */
    struct cj_store_changes ch = {0};
    assert_int_equal(cj_store_pass_begin(s, "us-east-1", &p), 0);
    for (unsigned first = 0; first < 3000; first += 500) {
        struct cj_job jobs[500];
        for (unsigned i = 0; i < 500; i++)
            fill(&jobs[i], first + i, first_pass_status(first + i));
        struct cj_store_changes page = {0};
        assert_int_equal(cj_store_put_jobs(s, "us-east-1", p, jobs, 500, &page), 0);
        ch.created += page.created;
        ch.updated += page.updated;
        for (unsigned i = 0; i < 500; i++)
            test_job_free(&jobs[i]);
    }
    assert_int_equal(s->pending.n, 0);
    assert_int_equal(ch.created + ch.updated, 0);
    assert_int_equal(cj_store_pass_finish(s, p, true, TEST_BASE_NS, NULL), 0);
    cj_store_pass_free(p);
    assert_int_equal(committed_total(s), 3000);
    assert_verified(s);
    cj_store_close(s);
    remove_tree(dir);
}

/* The filter is built again, larger, as it fills, with the pending keys in it: a pending job
 * listed again after that is still found among them. */
static void test_filter_grows(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = open_watched(dir);
    struct cj_store_pass *p;

    s->pending.min_keys = 512;
    assert_int_equal(cj_store_pass_begin(s, "us-east-1", &p), 0);
    put_page(s, p, 0, 300, CJ_STATUS_IN_PROGRESS);
    assert_true(s->pending.known.capacity < 1000);
    put_page(s, p, 300, 700, CJ_STATUS_IN_PROGRESS);
    for (unsigned first = 1000; first < 6000; first += 1000)
        put_page(s, p, first, 1000, CJ_STATUS_IN_PROGRESS);
    assert_true(s->pending.known.capacity >= 6000);
    assert_true(s->pending.known.keys <= s->pending.known.capacity);
    /* Still one batch: the early jobs are pending. */
    assert_int_equal(committed_total(s), 0);
    assert_true(s->pending.n > 5000);

    put_page(s, p, 300, 10, CJ_STATUS_COMPLETED);
    assert_int_equal(cj_store_pass_finish(s, p, true, TEST_BASE_NS, NULL), 0);
    cj_store_pass_free(p);
    assert_int_equal(committed_total(s), 6000);
    for (unsigned i = 295; i < 315; i++)
        assert_stored(s, i, i >= 300 && i < 310 ? CJ_STATUS_COMPLETED : CJ_STATUS_IN_PROGRESS);
    assert_verified(s);
    cj_store_close(s);
    remove_tree(dir);
}

/* Another process stores a job between two batches: the filter no longer knows every key, so
 * the next batch looks its jobs up again and finds that one. */
static void test_other_writer(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = open_watched(dir);
    struct cj_store_pass *p;

    assert_int_equal(cj_store_pass_begin(s, "us-east-1", &p), 0);
    put_page(s, p, 0, 1000, CJ_STATUS_IN_PROGRESS);
    assert_int_equal(cj_store_flush(s), 0);
    assert_non_null(s->pending.known.words);
    assert_int_equal(committed_total(s), 1000);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* Not the parent's store: an environment of this process's own. */
        struct cj_store_options o = {.directory = dir, .max_size = 256 * MIB};
        struct cj_store *other = NULL;
        struct cj_job j;
        int r = cj_store_open(&o, &other);
        if (r >= 0) {
            fill(&j, 5000, CJ_STATUS_IN_PROGRESS);
            r = cj_store_put_jobs(other, "us-east-1", NULL, &j, 1, NULL);
            test_job_free(&j);
            cj_store_close(other);
        }
        _exit(r < 0 ? 1 : 0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(committed_total(s), 1001);

    put_page(s, p, 4990, 20, CJ_STATUS_IN_PROGRESS);
    assert_int_equal(cj_store_pass_finish(s, p, true, TEST_BASE_NS, NULL), 0);
    cj_store_pass_free(p);
    assert_int_equal(committed_total(s), 1020);
    assert_stored(s, 5000, CJ_STATUS_IN_PROGRESS);
    assert_verified(s);
    cj_store_close(s);
    remove_tree(dir);
}

/* Jobs ids[0..n) as one page of source `source`'s pass, In Progress: cj_store_put_jobs's
 * result. */
static int try_put_ids(struct cj_store *s, const char *source, struct cj_store_pass *p,
                       const unsigned *ids, unsigned n)
{
    struct cj_job *jobs = calloc(n, sizeof(*jobs));
    assert_non_null(jobs);
    for (unsigned i = 0; i < n; i++)
        fill(&jobs[i], ids[i], CJ_STATUS_IN_PROGRESS);
    int r = cj_store_put_jobs(s, source, p, jobs, n, NULL);
    for (unsigned i = 0; i < n; i++)
        test_job_free(&jobs[i]);
    free(jobs);
    return r;
}

static void put_ids(struct cj_store *s, const char *source, struct cj_store_pass *p,
                    const unsigned *ids, unsigned n)
{
    assert_int_equal(try_put_ids(s, source, p, ids, n), 0);
}

/* The leaf pages of the rows' databases. */
static size_t rows_leaf_pages(struct cj_store *s)
{
    MDB_txn *txn;
    MDB_stat st;
    size_t leaves = 0;
    assert_int_equal(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn), MDB_SUCCESS);
    for (size_t d = 0; d < STORE_ROWS_DBS; d++)
        if (s->dbi_rows[d]) {
            assert_int_equal(mdb_stat(txn, s->dbi_rows[d], &st), MDB_SUCCESS);
            leaves += st.ms_leaf_pages;
        }
    mdb_txn_abort(txn);
    return leaves;
}

static const char *const sources[] = {"us-east-1", "us-east-2", "us-west-1",    "us-west-2",
                                      "eu-west-1", "eu-west-2", "eu-central-1", "ap-south-1"};
#define SOURCES ELEMENTSOF(sources)
#define PAGE    250 /* a source's page: every SOURCES-th job of a span of SOURCES * PAGE */
#define ROUNDS  6
#define SPAN    (SOURCES * PAGE)

/* The pages the store's databases use, sorted duplicates included: all but LMDB's free
 * ones. */
static size_t live_pages(struct cj_store *s)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_envinfo info;
    MDB_stat st;
    MDB_val k, v;
    assert_int_equal(mdb_env_info(s->env, &info), MDB_SUCCESS);
    assert_int_equal(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn), MDB_SUCCESS);
    /* The free list is database 0: txnid -> the pages it freed, their count first. */
    assert_int_equal(mdb_stat(txn, 0, &st), MDB_SUCCESS);
    size_t free_pages = st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
    assert_int_equal(mdb_cursor_open(txn, 0, &cur), MDB_SUCCESS);
    for (int op = MDB_FIRST; mdb_cursor_get(cur, &k, &v, op) == MDB_SUCCESS; op = MDB_NEXT) {
        size_t count;
        assert_true(v.mv_size >= sizeof(count));
        memcpy(&count, v.mv_data, sizeof(count));
        free_pages += count;
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return info.me_last_pgno + 1 - free_pages;
}

static int count_source(const char *source, const struct cj_store_stats *st, void *userdata)
{
    uint64_t *totals = userdata;
    for (size_t i = 0; i < SOURCES; i++)
        if (strcmp(source, sources[i]) == 0)
            totals[i] = st->total;
    return 0;
}

/* The first passes of several sources side by side, a page of each in turn over the same
 * span of time, the batches ending in the middle of a span: the rows and index entries wait
 * for the commit and go in key order, with those the batch before put for the same span taken
 * out and put again among them, so the store takes as few pages as one pass's that listed
 * every job in order (where each page put among the other sources' split LMDB's pages in
 * half). A job two sources list in one batch is found, moves, and is stored once. */
static void test_interleaved_passes_pack_rows(void **state)
{
    char *dir = make_tmpdir(), *one_dir = make_tmpdir();
    struct cj_store *s = open_watched(dir), *one = open_watched(one_dir);
    struct cj_store_pass *pass[SOURCES], *p;
    unsigned ids[SPAN];

    for (size_t i = 0; i < SOURCES; i++)
        assert_int_equal(cj_store_pass_begin(s, sources[i], &pass[i]), 0);
    for (unsigned r = 0; r < ROUNDS; r++) {
        for (unsigned src = 0; src < SOURCES; src++) {
            for (unsigned i = 0; i < PAGE; i++)
                ids[i] = r * SPAN + SOURCES * i + src;
            put_ids(s, sources[src], pass[src], ids, PAGE);
            if (src == SOURCES / 2)
                assert_int_equal(cj_store_flush(s), 0);
        }
        if (r == 0)
            assert_true(s->rows_pending.n > 0); /* new rows wait once the filter is built */
    }
    /* One job listed by two sources in one batch: pending after the first, moved by the
     * second, whose page first changes a stored job (its old entries removed and its row put
     * through the run's cursors): the pending puts are made with those cursors open. */
    assert_int_equal(cj_store_flush(s), 0);
    const unsigned moved = ROUNDS * SPAN, changed = 5;
    put_ids(s, sources[0], pass[0], &moved, 1);
    assert_int_equal(s->rows_pending.n, 1 + _CJ_INDEX_MAX - STORE_INDEX_FIRST_SECONDARY);
    struct cj_job two[2];
    fill(&two[0], changed, CJ_STATUS_COMPLETED);
    fill(&two[1], moved, CJ_STATUS_IN_PROGRESS);
    assert_int_equal(cj_store_put_jobs(s, sources[1], pass[1], two, 2, NULL), 0);
    test_job_free(&two[0]);
    test_job_free(&two[1]);
    assert_int_equal(s->rows_pending.n, 0);
    for (size_t i = 0; i < SOURCES; i++) {
        assert_int_equal(cj_store_pass_finish(s, pass[i], true, TEST_BASE_NS, NULL), 0);
        cj_store_pass_free(pass[i]);
    }
    assert_null(s->rows_pending.puts); /* no pass runs: the memory is back */
    assert_int_equal(committed_total(s), ROUNDS * SPAN + 1);
    uint64_t totals[SOURCES] = {0};
    assert_int_equal(cj_store_foreach_source(s, count_source, totals), 0);
    for (size_t i = 0; i < SOURCES; i++)
        assert_int_equal(totals[i], ROUNDS * PAGE + 2 * (i == 1) - (i == changed % SOURCES));
    for (unsigned i = 0; i <= ROUNDS * SPAN; i++)
        assert_stored(s, i, i == changed ? CJ_STATUS_COMPLETED : CJ_STATUS_IN_PROGRESS);
    assert_verified(s);

    /* The same jobs from one pass, in order. */
    assert_int_equal(cj_store_pass_begin(one, sources[0], &p), 0);
    for (unsigned first = 0; first <= ROUNDS * SPAN; first += PAGE) {
        unsigned n = 0;
        for (unsigned i = first; i < first + PAGE && i <= ROUNDS * SPAN; i++)
            ids[n++] = i;
        put_ids(one, sources[0], p, ids, n);
    }
    assert_int_equal(cj_store_pass_finish(one, p, true, TEST_BASE_NS, NULL), 0);
    cj_store_pass_free(p);
    size_t packed = rows_leaf_pages(one), interleaved = rows_leaf_pages(s);
    if (interleaved > packed + packed / 10 + 1)
        fail_msg("rows of interleaved passes: %zu leaf pages, one pass's %zu", interleaved, packed);
    packed = live_pages(one);
    interleaved = live_pages(s);
    if (interleaved > packed + packed / 10 + 1)
        fail_msg("interleaved passes' store: %zu pages, one pass's %zu", interleaved, packed);
    cj_store_close(one);
    cj_store_close(s);
    remove_tree(one_dir);
    remove_tree(dir);
}

/* Passes side by side into a map that fills up: the batch whose puts find no room is lost
 * whole, what waited with it is dropped, and the rows taken out of the batch before it to be
 * put again are where they were: every committed job is still found, once. */
static void test_interleaved_batch_lost_at_ceiling(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = open_store_at(dir, 0, 16 * MIB);
    struct cj_store_pass *pass[SOURCES];
    unsigned ids[PAGE], put = 0, flushed = 0;
    int r = 0;

    s->batch.max_usec = UINT64_C(3600) * 1000 * 1000;
    for (size_t i = 0; i < SOURCES; i++)
        assert_int_equal(cj_store_pass_begin(s, sources[i], &pass[i]), 0);
    for (unsigned round = 0; round < 100 && r == 0; round++)
        for (unsigned src = 0; src < SOURCES && r == 0; src++) {
            for (unsigned i = 0; i < PAGE; i++)
                ids[i] = round * SPAN + SOURCES * i + src;
            r = try_put_ids(s, sources[src], pass[src], ids, PAGE);
            if (r == 0 && src == SOURCES / 2) {
                r = cj_store_flush(s);
                if (r == 0)
                    flushed = round + 1; /* every round before, and this one's first sources */
            }
            put = round * SPAN + SPAN;
        }
    assert_int_equal(r, -ENOSPC);
    assert_true(flushed > 1);
    assert_int_equal(s->rows_pending.n, 0);
    /* The passes that wrote into the lost batch cannot complete; the others may. */
    unsigned failed = 0;
    for (size_t i = 0; i < SOURCES; i++) {
        failed += cj_store_pass_finish(s, pass[i], true, TEST_BASE_NS, NULL) < 0;
        cj_store_pass_free(pass[i]);
    }
    assert_true(failed > 0);

    /* Found: every job put before the last flush that succeeded, and as many in all as the
     * store counts. */
    uint64_t found = 0;
    for (unsigned id = 0; id < put; id++) {
        struct cj_job j;
        struct cj_buf b = {0};
        fill(&j, id, CJ_STATUS_IN_PROGRESS);
        int g = cj_store_get(s, j.job_arn, &b);
        assert_true(g == 0 || g == -ENOENT);
        if (id / SPAN + 1 < flushed || (id / SPAN + 1 == flushed && id % SOURCES <= SOURCES / 2))
            assert_int_equal(g, 0);
        found += g == 0;
        test_job_free(&j);
        cj_buf_free(&b);
    }
    assert_int_equal(found, committed_total(s));
    assert_verified(s);
    cj_store_close(s);
    remove_tree(dir);
}

/* The sort gives memcmp's order of the keys, each with its value, whichever bytes the keys
 * share: one account's random IDs, a few partitions, regions and accounts, keys that differ
 * only in their first byte (many alike). */
static void test_sort_orders_the_keys(void **state)
{
    _Static_assert(JOBS_VALUE_SIZE >= sizeof(size_t), "a value holds the entry's index");
    uint64_t x = 7;
    for (unsigned shape = 0; shape < 3; shape++) {
        for (size_t n = 0; n < 3000; n = n * 3 + 1) {
            struct store_jobs_pending p = {0};
            struct pending_entry *orig = calloc(n + 1, sizeof(*orig));
            bool *seen = calloc(n + 1, sizeof(*seen));
            p.entries = calloc(n + 1, sizeof(*p.entries));
            assert_true(orig && seen && p.entries);
            p.n = p.cap = n;
            for (size_t i = 0; i < n; i++) {
                struct pending_entry *e = &p.entries[i];
                for (size_t b = 0; b < JOBS_KEY_PACKED; b++) {
                    x = x * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
                    uint8_t r = (uint8_t)(x >> 56);
                    if (shape == 0) /* one partition, region, account: random IDs */
                        e->key[b] = b < 8 ? (uint8_t)(b + 1) : r;
                    else if (shape == 1) /* a few of each */
                        e->key[b] = b < 8 ? (uint8_t)(r % 3) : r;
                    else
                        e->key[b] = b == 0 ? r : 0x5a;
                }
                memcpy(e->value, &i, sizeof(i));
            }
            memcpy(orig, p.entries, n * sizeof(*orig));
            assert_int_equal(store_jobs_pending_sort(&p), 0);
            assert_int_equal(p.n, n);
            for (size_t i = 0; i < n; i++) {
                size_t k;
                memcpy(&k, p.entries[i].value, sizeof(k));
                assert_true(k < n && !seen[k]);
                seen[k] = true;
                assert_memory_equal(orig[k].key, p.entries[i].key, JOBS_KEY_PACKED);
                if (i + 1 < n)
                    assert_true(memcmp(p.entries[i].key, p.entries[i + 1].key, JOBS_KEY_PACKED) <=
                                0);
            }
            free(orig);
            free(seen);
            free(p.entries);
            free(p.spare);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_jobs_wait_for_commit),
        cmocka_unit_test(test_filter_grows),
        cmocka_unit_test(test_other_writer),
        cmocka_unit_test(test_sort_orders_the_keys),
        cmocka_unit_test(test_interleaved_passes_pack_rows),
        cmocka_unit_test(test_interleaved_batch_lost_at_ceiling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
