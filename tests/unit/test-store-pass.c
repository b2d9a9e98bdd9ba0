/* SPDX-License-Identifier: MIT */
/* What the store keeps that the service model does not name, and what a full pass may
 * remove: statuses of their own, removal confirmed by a second complete pass, the removal
 * guard, jobs counted as seen without being stored. Real LMDB in a temporary directory. */
#include <sys/prctl.h>

#include "test-store-util.h"

#define MIB (UINT64_C(1) << 20)

static void fill(struct cj_job *j, unsigned id)
{
    struct test_job_spec sp = {.id = id,
                               .status = (enum cj_status)(id % 3),
                               .creation_ns = TEST_BASE_NS + id,
                               .account = test_accounts[id % 5],
                               .model = test_models[id % 6],
                               .name = test_names[id % 9]};
    test_job_fill(j, &sp);
}

static struct cj_store *store_with(const char *dir, unsigned n)
{
    struct cj_store *s = open_store_at(dir, 0, 64 * MIB);
    for (unsigned i = 0; i < n; i++) {
        struct cj_job j;
        fill(&j, i);
        put_one(s, &j, NULL);
        test_job_free(&j);
    }
    return s;
}

static bool has_job(struct cj_store *s, unsigned id)
{
    struct cj_job j;
    struct cj_buf b = {0};
    fill(&j, id);
    int r = cj_store_get(s, j.job_arn, &b);
    test_job_free(&j);
    cj_buf_free(&b);
    return r == 0;
}

/* A complete pass that sees the jobs [0, seen) (by cj_store_pass_saw) under limit_bp. */
static struct cj_store_pass_result pass_seeing(struct cj_store *s, unsigned seen, uint32_t limit_bp)
{
    struct cj_store_pass *p;
    struct cj_store_pass_result res;
    struct cj_store_changes ch = {0};
    assert_int_equal(cj_store_pass_begin(s, "us-east-1", &p), 0);
    assert_int_equal(cj_store_pass_set_removal_limit(p, limit_bp), 0);
    for (unsigned i = 0; i < seen; i++) {
        struct cj_job j;
        fill(&j, i);
        assert_int_equal(cj_store_pass_saw(s, p, j.job_arn), 0);
        test_job_free(&j);
    }
    assert_int_equal(cj_store_pass_finish(s, p, true, TEST_BASE_NS, &ch), 0);
    cj_store_pass_get_result(p, &res);
    assert_int_equal(ch.removed, res.removed);
    cj_store_pass_free(p);
    assert_verified(s);
    return res;
}

/* Jobs [first, first + n) as one page of the pass. */
static void put_page(struct cj_store *s, struct cj_store_pass *p, unsigned first, unsigned n)
{
    struct cj_job *jobs = calloc(n, sizeof(*jobs));
    assert_non_null(jobs);
    for (unsigned i = 0; i < n; i++)
        fill(&jobs[i], first + i);
    assert_int_equal(cj_store_put_jobs(s, "us-east-1", p, jobs, n, NULL), 0);
    for (unsigned i = 0; i < n; i++)
        test_job_free(&jobs[i]);
    free(jobs);
}

static void count_change(struct cj_store *s, uint64_t last_seq, void *userdata)
{
    (*(unsigned *)userdata)++;
}

/* A full pass's pages wait in the batch: readers and the change log's watchers see none of
 * them until it is committed, then all; the map grows under a batch without losing its pages;
 * an interrupted pass's end commits what it stored. */
static void test_batch(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = open_store_at(dir, 256 * 1024, 64 * MIB);
    struct cj_store_pass *p;
    uint64_t first, last;
    unsigned calls = 0;

    cj_store_set_change_callback(s, count_change, &calls);
    assert_int_equal(cj_store_pass_begin(s, "us-east-1", &p), 0);
    put_page(s, p, 0, 100);
    assert_int_equal(committed_total(s), 0);
    assert_int_equal(cj_store_events_bounds(s, &first, &last), 0);
    assert_int_equal(last, 0);
    assert_int_equal(calls, 0);

    assert_int_equal(cj_store_flush(s), 0);
    assert_int_equal(committed_total(s), 100);
    assert_int_equal(cj_store_events_bounds(s, &first, &last), 0);
    assert_int_equal(last, 100);
    assert_int_equal(calls, 1);
    assert_int_equal(cj_store_flush(s), 0); /* nothing open: nothing to do */
    assert_int_equal(calls, 1);

    /* ~4 MiB of jobs through a 256 KiB map: it grows under open batches. */
    for (unsigned i = 1; i < 30; i++)
        put_page(s, p, i * 100, 100);
    assert_int_equal(cj_store_pass_finish(s, p, false, 0, NULL), 0);
    cj_store_pass_free(p);
    assert_int_equal(committed_total(s), 3000);
    assert_int_equal(cj_store_events_bounds(s, &first, &last), 0);
    assert_int_equal(last, 3000);
    assert_verified(s);

    /* A write outside a pass commits at once, and the batch before it first. */
    assert_int_equal(cj_store_pass_begin(s, "us-east-1", &p), 0);
    put_page(s, p, 3000, 10);
    struct cj_job j;
    fill(&j, 5000);
    put_one(s, &j, NULL);
    test_job_free(&j);
    assert_int_equal(committed_total(s), 3011);
    put_page(s, p, 3010, 10);
    cj_store_pass_free(p);
    cj_store_close(s); /* commits the batch */
    s = open_store_at(dir, 0, 64 * MIB);
    assert_int_equal(committed_total(s), 3021);
    assert_verified(s);
    cj_store_close(s);
    remove_tree(dir);
}

/* A page that fails half-way takes the batch with it, as a crash would: the pages before it
 * in the batch are lost too, and so the pass that wrote them cannot complete. */
static void test_batch_lost(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = store_with(dir, 1);
    struct cj_store_pass *p;
    struct cj_job j;
    cj_store_close(s);
    /* Job 0's `jobs` entry is damaged: a write of job 0 fails after it began. */
    struct raw raw;
    MDB_dbi dbi = raw_open(&raw, dir, STORE_DB_JOBS);
    fill(&j, 0);
    uint8_t kb[JOBS_KEY_PACKED];
    MDB_val k, v = {.mv_size = 3, .mv_data = "bad"};
    raw_jobs_key(raw.txn, j.job_arn, strlen(j.job_arn), kb, &k);
    assert_int_equal(mdb_put(raw.txn, dbi, &k, &v, 0), 0);
    raw_close(&raw);

    s = open_store_at(dir, 0, 64 * MIB);
    assert_int_equal(cj_store_pass_begin(s, "us-east-1", &p), 0);
    put_page(s, p, 1, 50);
    assert_int_equal(cj_store_put_jobs(s, "us-east-1", p, &j, 1, NULL), -EUCLEAN);
    test_job_free(&j);
    assert_int_equal(committed_total(s), 1);
    assert_false(has_job(s, 1));
    assert_int_equal(cj_store_pass_finish(s, p, true, TEST_BASE_NS, NULL), -EUCLEAN);
    cj_store_pass_free(p);
    assert_int_equal(committed_total(s), 1);
    assert_int_equal(cj_store_flush(s), 0);
    cj_store_close(s);
    remove_tree(dir);
}

static void test_removal_needs_two_complete_passes(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = store_with(dir, 20);

    /* Missed once: kept, and the mark survives a restart. */
    struct cj_store_pass_result r = pass_seeing(s, 17, 10000);
    assert_int_equal(r.removed, 0);
    assert_int_equal(r.missed, 3);
    assert_true(has_job(s, 19));
    cj_store_close(s);
    s = open_store_at(dir, 0, 64 * MIB);

    /* An interrupted pass changes nothing, marks included. */
    struct cj_store_pass *p;
    assert_int_equal(cj_store_pass_begin(s, "us-east-1", &p), 0);
    assert_int_equal(cj_store_pass_finish(s, p, false, 0, NULL), 0);
    cj_store_pass_free(p);

    /* Job 17 is listed again by a quick sync: no longer missed. */
    struct cj_job j;
    fill(&j, 17);
    put_one(s, &j, NULL);
    test_job_free(&j);

    r = pass_seeing(s, 17, 10000);
    assert_int_equal(r.removed, 2); /* 18 and 19: missed twice in a row */
    assert_int_equal(r.missed, 1);  /* 17: missed once, again */
    assert_false(has_job(s, 18));
    assert_false(has_job(s, 19));
    assert_true(has_job(s, 17));

    /* Seen again by a full pass: the mark goes, so the next miss counts from one. */
    r = pass_seeing(s, 18, 10000);
    assert_int_equal(r.removed + r.missed, 0);
    r = pass_seeing(s, 17, 10000);
    assert_int_equal(r.removed, 0);
    assert_int_equal(r.missed, 1);

    /* A GetModelCopyJob 404 removes at once, and takes the mark with it. */
    fill(&j, 17);
    assert_int_equal(cj_store_remove(s, j.job_arn), 0);
    test_job_free(&j);
    assert_verified(s);
    r = pass_seeing(s, 17, 10000);
    assert_int_equal(r.removed + r.missed, 0);
    assert_int_equal(r.total, 17);

    cj_store_close(s);
    remove_tree(dir);
}

static void test_removal_guard(void **state)
{
    /* The share and the floor: at most 10 always go; beyond, at most the share. */
    assert_true(cj_store_removal_allowed(0, 0, 0));
    assert_true(cj_store_removal_allowed(10, 10, 0));
    assert_false(cj_store_removal_allowed(11, 1000, 0));
    assert_true(cj_store_removal_allowed(100, 1000, 1000));
    assert_false(cj_store_removal_allowed(101, 1000, 1000));
    assert_true(cj_store_removal_allowed(UINT64_MAX, UINT64_MAX, 10000));
    assert_false(cj_store_removal_allowed(UINT64_MAX, UINT64_MAX, 9999));

    char *dir = make_tmpdir();
    struct cj_store *s = store_with(dir, 100);
    struct cj_store_pass *p;
    assert_int_equal(cj_store_pass_begin(s, "us-east-1", &p), 0);
    assert_int_equal(cj_store_pass_set_removal_limit(p, 10001), -EINVAL);
    cj_store_pass_free(p);

    /* A listing that lost 30 of 100 jobs, twice: 30 > 10 and > 10 %: held, kept, noted. */
    struct cj_store_pass_result r = pass_seeing(s, 70, 1000);
    assert_int_equal(r.missed, 30);
    r = pass_seeing(s, 70, 1000);
    assert_int_equal(r.removed, 0);
    assert_int_equal(r.held, 30);
    assert_int_equal(r.missed, 0);
    assert_int_equal(r.total, 100);
    assert_true(has_job(s, 99));
    /* Held again on the next one, then a wider limit lets them go. */
    r = pass_seeing(s, 70, 2900);
    assert_int_equal(r.held, 30);
    r = pass_seeing(s, 70, 3000);
    assert_int_equal(r.removed, 30);
    assert_int_equal(r.held, 0);
    assert_false(has_job(s, 99));

    /* A few always go, whatever the share: 3 of 70 under 0 %. */
    pass_seeing(s, 67, 0);
    r = pass_seeing(s, 67, 0);
    assert_int_equal(r.removed, 3);

    /* The default is 10 %: 12 of 67 is held. */
    pass_seeing(s, 55, CJ_STORE_REMOVAL_SHARE_DEFAULT_BP);
    assert_int_equal(cj_store_pass_begin(s, "us-east-1", &p), 0);
    assert_int_equal(cj_store_pass_finish(s, p, true, TEST_BASE_NS, NULL), 0);
    struct cj_store_pass_result d;
    cj_store_pass_get_result(p, &d);
    cj_store_pass_free(p);
    assert_int_equal(d.removed, 0);
    assert_int_equal(d.held, 12); /* 0..54 unseen now too, but noted for the first time */
    assert_int_equal(d.missed, 55);

    cj_store_close(s);
    remove_tree(dir);
}

/* A job of an unknown status, its JSON saying so. */
static void fill_other(struct cj_job *j, unsigned id, const char *status)
{
    fill(j, id);
    char json[1024];
    snprintf(json, sizeof(json), "{\"jobArn\":\"%s\",\"status\":\"%s\",\"id\":%u}", j->job_arn,
             status, id);
    free(j->json);
    j->json = strdup(json);
    j->json_len = strlen(json);
    j->status = CJ_STATUS_OTHER;
    j->status_name = strdup(status);
    j->note = strdup("status: not one of InProgress, Completed, Failed");
}

struct other_seen {
    char names[4][CJ_STATUS_NAME_MAX + 1];
    uint64_t counts[4];
    size_t n;
};

static int collect_other(const char *name, size_t len, uint64_t count, void *userdata)
{
    struct other_seen *o = userdata;
    assert_true(o->n < 4 && len <= CJ_STATUS_NAME_MAX);
    memcpy(o->names[o->n], name, len);
    o->names[o->n][len] = '\0';
    o->counts[o->n++] = count;
    return 0;
}

static void test_unknown_statuses(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = store_with(dir, 9); /* 3 of each known status */
    struct cj_job a, b, c;
    struct cj_store_changes ch = {0};

    fill_other(&a, 100, "Stopped");
    fill_other(&b, 101, "Stopping");
    fill_other(&c, 102, "Stopped");
    struct cj_job page[3] = {a, b, c};
    assert_int_equal(cj_store_put_jobs(s, "us-east-1", NULL, page, 3, &ch), 0);
    assert_int_equal(ch.created, 3);
    assert_verified(s);

    struct cj_store_stats st;
    assert_int_equal(cj_store_stats(s, &st), 0);
    assert_int_equal(st.total, 12);
    assert_int_equal(st.by_status[CJ_STATUS_IN_PROGRESS], 3);
    assert_int_equal(st.by_other_status, 3);
    struct other_seen o = {0};
    assert_int_equal(cj_store_foreach_other_status(s, NULL, collect_other, &o), 0);
    assert_int_equal(o.n, 2);
    assert_string_equal(o.names[0], "Stopped");
    assert_int_equal(o.counts[0], 2);
    assert_string_equal(o.names[1], "Stopping");
    assert_int_equal(o.counts[1], 1);

    /* Served exactly as stored. */
    struct cj_buf out = {0};
    assert_int_equal(cj_store_get(s, a.job_arn, &out), 0);
    assert_int_equal(out.len, a.json_len);
    assert_memory_equal(out.data, a.json, a.json_len);

    /* Not among the known statuses' jobs (the quick sync's running set). */
    struct cj_buf list = {0};
    char err[128];
    struct cj_query q = {.has_status = true, .status = CJ_STATUS_IN_PROGRESS, .max_results = 100};
    assert_int_equal(cj_store_list(s, &q, &list, err, sizeof(err)), 0);
    assert_null(strstr(list.data, "Stopped"));

    /* Codes survive a restart; a job moving from an unknown status to a known one. */
    cj_store_close(s);
    s = open_store_at(dir, 0, 64 * MIB);
    struct cj_job a2;
    fill(&a2, 100);
    a2.status = CJ_STATUS_COMPLETED;
    put_one(s, &a2, NULL);
    test_job_free(&a2);
    struct cj_job d;
    fill_other(&d, 103, "Stopping");
    put_one(s, &d, NULL);
    assert_verified(s);
    memset(&o, 0, sizeof(o));
    assert_int_equal(cj_store_foreach_other_status(s, NULL, collect_other, &o), 0);
    assert_int_equal(o.n, 2);
    assert_int_equal(o.counts[0], 1); /* Stopped: c */
    assert_int_equal(o.counts[1], 2); /* Stopping: b, d */

    /* Removal takes them off their own counter. */
    assert_int_equal(cj_store_remove(s, c.job_arn), 0);
    assert_int_equal(cj_store_stats(s, &st), 0);
    assert_int_equal(st.by_other_status, 2);
    memset(&o, 0, sizeof(o));
    assert_int_equal(cj_store_foreach_other_status(s, NULL, collect_other, &o), 0);
    assert_int_equal(o.n, 1);
    assert_string_equal(o.names[0], "Stopping");
    assert_verified(s);

    /* A job of an unknown status without its name is refused. */
    struct cj_job bad;
    fill(&bad, 200);
    bad.status = CJ_STATUS_OTHER;
    assert_int_equal(cj_store_put_jobs(s, "us-east-1", NULL, &bad, 1, NULL), -EINVAL);
    test_job_free(&bad);

    for (size_t i = 0; i < 3; i++)
        cj_job_done(&page[i]);
    cj_job_done(&d);
    cj_buf_free(&out);
    cj_buf_free(&list);
    cj_store_close(s);
    remove_tree(dir);
}

/* A store written before unknown statuses had codes (counters for three) opens and counts
 * on: no schema change. */
static void test_old_counters_still_read(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = store_with(dir, 6);
    cj_store_close(s);

    struct raw raw;
    MDB_dbi meta = raw_open(&raw, dir, "meta");
    MDB_val k = {.mv_size = strlen("counts"), .mv_data = "counts"}, v;
    assert_int_equal(mdb_get(raw.txn, meta, &k, &v), MDB_SUCCESS);
    assert_int_equal(v.mv_size, 8 * 4); /* total and three statuses, as before */
    raw_close(&raw);

    s = open_store_at(dir, 0, 64 * MIB);
    struct cj_job j;
    fill_other(&j, 50, "Paused");
    put_one(s, &j, NULL);
    cj_job_done(&j);
    assert_verified(s);
    struct cj_store_stats st;
    assert_int_equal(cj_store_stats(s, &st), 0);
    assert_int_equal(st.total, 7);
    assert_int_equal(st.by_other_status, 1);
    cj_store_close(s);
    remove_tree(dir);
}

/* After a pass that batched many pages the environment is reopened to give LMDB's page cache
 * back: the data stays; and when the reopen fails (here: the directory has moved away) the
 * store says so on every call instead of going on with nothing under it. */
static void test_release_pages(void **state)
{
    char *dir = make_tmpdir();
    char moved[600];
    struct cj_store *s = open_store_at(dir, 0, 64 * MIB);
    struct cj_store_pass *p;
    struct cj_store_stats st;

    assert_int_equal(cj_store_pass_begin(s, "us-east-1", &p), 0);
    for (unsigned i = 0; i < 20; i++)
        put_page(s, p, i * 100, 100);
    assert_int_equal(cj_store_pass_finish(s, p, true, 1, NULL), 0);
    cj_store_pass_free(p);
    assert_int_equal(cj_store_lost(s), 0);
    assert_int_equal(committed_total(s), 2000);
    assert_verified(s);

    assert_int_equal(cj_store_pass_begin(s, "us-east-1", &p), 0);
    for (unsigned i = 20; i < 40; i++)
        put_page(s, p, i * 100, 100);
    snprintf(moved, sizeof(moved), "%s.moved", dir);
    assert_int_equal(rename(dir, moved), 0);
    assert_true(cj_store_pass_finish(s, p, true, 2, NULL) < 0);
    cj_store_pass_free(p);
    assert_true(cj_store_lost(s) < 0);
    assert_int_equal(cj_store_stats(s, &st), cj_store_lost(s));
    cj_store_close(s);

    /* The batch was committed before the environment closed: nothing was lost. */
    assert_int_equal(rename(moved, dir), 0);
    s = open_store_at(dir, 0, 64 * MIB);
    assert_int_equal(committed_total(s), 4000);
    assert_verified(s);
    cj_store_close(s);
    remove_tree(dir);
}

/* Huge pages while any full pass runs: two sources' passes side by side, the first ending
 * before the second; none once the last has ended, or been freed unfinished. */
static void test_huge_pages_while_passes_run(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = open_store_at(dir, 0, 64 * MIB);
    struct cj_store_pass *a, *b;

    if (prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) < 0)
        skip(); /* a kernel without THP: the store does not switch it */
    assert_int_equal(prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0), 0);
    assert_int_equal(cj_store_pass_begin(s, "us-east-1", &a), 0);
    assert_int_equal(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0), 0);
    assert_int_equal(cj_store_pass_begin(s, "eu-west-1", &b), 0);
    put_page(s, a, 0, 100);
    assert_int_equal(cj_store_pass_finish(s, a, true, 1, NULL), 0);
    cj_store_pass_free(a);
    assert_int_equal(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0), 0);
    assert_int_equal(cj_store_pass_finish(s, b, true, 1, NULL), 0);
    assert_int_equal(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0), 1);
    cj_store_pass_free(b);

    assert_int_equal(cj_store_pass_begin(s, "us-east-1", &a), 0);
    assert_int_equal(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0), 0);
    cj_store_pass_free(a);
    assert_int_equal(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0), 1);
    assert_verified(s);
    cj_store_close(s);
    remove_tree(dir);
}

/* A pass of many jobs: the seen set's lookups at its end (a directory over sorted hashes) find
 * exactly the jobs it saw, whatever slot they fall in, seen twice or once. */
static void test_many_jobs_seen(void **state)
{
    enum { N = 20000, PAGE = 1000 };
    char *dir = make_tmpdir();
    struct cj_store *s = open_store_at(dir, 0, 256 * MIB);
    struct cj_store_pass *p;
    struct cj_store_pass_result res;

    assert_int_equal(cj_store_pass_begin(s, "us-east-1", &p), 0);
    for (unsigned first = 0; first < N; first += PAGE)
        put_page(s, p, first, PAGE);
    assert_int_equal(cj_store_pass_finish(s, p, true, TEST_BASE_NS, NULL), 0);
    cj_store_pass_get_result(p, &res);
    cj_store_pass_free(p);
    assert_int_equal(res.total, N);
    assert_int_equal(res.missed + res.removed, 0);

    /* Two passes that list every job but those of id % 97 == 5, some of them twice. */
    unsigned unlisted = 0;
    for (unsigned i = 0; i < N; i++)
        unlisted += i % 97 == 5;
    for (int round = 0; round < 2; round++) {
        assert_int_equal(cj_store_pass_begin(s, "us-east-1", &p), 0);
        assert_int_equal(cj_store_pass_set_removal_limit(p, 10000), 0);
        for (unsigned i = 0; i < N; i++) {
            if (i % 97 == 5)
                continue;
            struct cj_job j;
            fill(&j, i);
            assert_int_equal(cj_store_pass_saw(s, p, j.job_arn), 0);
            if (i % 13 == 0)
                assert_int_equal(cj_store_pass_saw(s, p, j.job_arn), 0);
            test_job_free(&j);
        }
        assert_int_equal(cj_store_pass_finish(s, p, true, TEST_BASE_NS, NULL), 0);
        cj_store_pass_get_result(p, &res);
        cj_store_pass_free(p);
        assert_int_equal(res.missed, round == 0 ? unlisted : 0);
        assert_int_equal(res.removed, round == 0 ? 0 : unlisted);
    }
    for (unsigned i = 0; i < N; i++)
        assert_int_equal(has_job(s, i), i % 97 != 5);
    assert_verified(s);
    cj_store_close(s);
    remove_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_batch_lost),
        cmocka_unit_test(test_release_pages),
        cmocka_unit_test(test_huge_pages_while_passes_run),
        cmocka_unit_test(test_removal_needs_two_complete_passes),
        cmocka_unit_test(test_removal_guard),
        cmocka_unit_test(test_many_jobs_seen),
        cmocka_unit_test(test_unknown_statuses),
        cmocka_unit_test(test_old_counters_still_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
