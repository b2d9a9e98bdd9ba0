/* SPDX-License-Identifier: MIT */
/* Sources in the store: jobs tagged with the source that stored them last, passes of several
 * sources side by side that remove only their own source's jobs under a guard of their own,
 * jobs moving between sources, the counters and last sync of each source, dropping a source,
 * the jobs of one source and status; and the plan and tokens of the region and job account
 * filters. */
#include "test-store-util.h"

#define MIB ((uint64_t)1024 * 1024)

/* Job `id` in region `region`, run by account `job_account` (NULL: its source account). */
static void fill_job(struct cj_job *j, unsigned id, enum cj_status st, const char *region,
                     const char *job_account)
{
    struct test_job_spec sp = {.id = id,
                               .status = st,
                               .creation_ns = TEST_BASE_NS + (int64_t)(id % 50),
                               .account = test_accounts[id % 5],
                               .model = test_models[id % 6],
                               .name = test_names[id % 9],
                               .region = region,
                               .job_account = job_account};
    test_job_fill(j, &sp);
}

/* Stores jobs first..first+n-1 (region us-east-1) as `source`, through pass p (NULL: quick),
 * in pages of 100. */
static void put_range(struct cj_store *s, const char *source, struct cj_store_pass *p,
                      unsigned first, unsigned n, enum cj_status st)
{
    struct cj_job page[100];
    for (unsigned at = first; at < first + n; at += 100) {
        unsigned k = first + n - at < 100 ? first + n - at : 100;
        for (unsigned i = 0; i < k; i++)
            fill_job(&page[i], at + i, st, NULL, NULL);
        assert_int_equal(cj_store_put_jobs(s, source, p, page, k, NULL), 0);
        for (unsigned i = 0; i < k; i++)
            test_job_free(&page[i]);
    }
}

/* A complete pass of `source` that lists jobs first..first+n-1 (already stored by it). */
static struct cj_store_pass_result full_pass(struct cj_store *s, const char *source, unsigned first,
                                             unsigned n, int64_t at)
{
    struct cj_store_pass *p;
    struct cj_store_pass_result res;
    assert_int_equal(cj_store_pass_begin(s, source, &p), 0);
    put_range(s, source, p, first, n, CJ_STATUS_COMPLETED);
    assert_int_equal(cj_store_pass_finish(s, p, true, at, NULL), 0);
    cj_store_pass_get_result(p, &res);
    cj_store_pass_free(p);
    return res;
}

static bool stored(struct cj_store *s, unsigned id)
{
    struct cj_job j;
    struct cj_buf b = {0};
    fill_job(&j, id, CJ_STATUS_COMPLETED, NULL, NULL);
    int r = cj_store_get(s, j.job_arn, &b);
    assert_true(r == 0 || r == -ENOENT);
    test_job_free(&j);
    cj_buf_free(&b);
    return r == 0;
}

static const struct cj_store_stats *source_stats(struct source_seen *seen, const char *name)
{
    for (size_t i = 0; i < seen->n; i++)
        if (strcmp(seen->name[i], name) == 0)
            return &seen->st[i];
    return NULL;
}

static struct source_seen sources_of(struct cj_store *s)
{
    struct source_seen seen = {0};
    assert_int_equal(cj_store_foreach_source(s, collect_source, &seen), 0);
    return seen;
}

static uint64_t last_seq(struct cj_store *s)
{
    uint64_t first, last;
    assert_int_equal(cj_store_events_bounds(s, &first, &last), 0);
    return last;
}

static void test_bad_source_names(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = open_store_at(dir, 0, 64 * MIB);
    static const char *const bad[] = {
        "", "US-EAST-1", "a_b", "a b", "a/b", "é", "abcdefghijklmnopqrstuvwxyz0123456"};
    struct cj_store_pass *p = NULL;
    struct cj_job j;
    fill_job(&j, 1, CJ_STATUS_FAILED, NULL, NULL);
    for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
        assert_int_equal(cj_store_pass_begin(s, bad[i], &p), -EINVAL);
        assert_int_equal(cj_store_put_jobs(s, bad[i], NULL, &j, 1, NULL), -EINVAL);
        assert_int_equal(cj_store_set_synced_at(s, bad[i], TEST_BASE_NS), -EINVAL);
        assert_int_equal(cj_store_drop_source(s, bad[i], NULL), -EINVAL);
    }
    assert_int_equal(cj_store_pass_begin(s, NULL, &p), -EINVAL);
    assert_int_equal(cj_store_put_jobs(s, NULL, NULL, &j, 1, NULL), -EINVAL);
    /* The longest name is one. */
    assert_int_equal(cj_store_put_jobs(s, "abcdefghijklmnopqrstuvwxyz012345", NULL, &j, 1, NULL),
                     0);

    /* A pass writes only for its own source. */
    assert_int_equal(cj_store_pass_begin(s, "a", &p), 0);
    assert_int_equal(cj_store_put_jobs(s, "b", p, &j, 1, NULL), -EINVAL);
    cj_store_pass_free(p);

    /* A jobArn that names no region and account is refused. */
    free(j.job_arn);
    j.job_arn = strdup("arn:aws:bedrock:us-east-1:12345:model-copy-job/x");
    assert_int_equal(cj_store_put_jobs(s, "a", NULL, &j, 1, NULL), -EINVAL);
    free(j.job_arn);
    j.job_arn = strdup("arn:aws:bedrock:US-EAST-1:123456789012:model-copy-job/x");
    assert_int_equal(cj_store_put_jobs(s, "a", NULL, &j, 1, NULL), -EINVAL);
    test_job_free(&j);
    assert_verified(s);
    cj_store_close(s);
    remove_tree(dir);
}

/* Two sources' passes run side by side; each removes only its own source's jobs. */
static void test_passes_side_by_side(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = open_store_at(dir, 0, 64 * MIB);
    struct cj_store_pass *pa, *pb, *dup;

    put_range(s, "a", NULL, 0, 20, CJ_STATUS_COMPLETED);
    put_range(s, "b", NULL, 100, 20, CJ_STATUS_COMPLETED);

    /* Both at once, interleaved; a second pass of one source is refused. */
    for (int round = 0; round < 2; round++) {
        assert_int_equal(cj_store_pass_begin(s, "a", &pa), 0);
        assert_int_equal(cj_store_pass_begin(s, "b", &pb), 0);
        assert_int_equal(cj_store_pass_begin(s, "a", &dup), -EBUSY);
        assert_int_equal(cj_store_pass_begin(s, "b", &dup), -EBUSY);
        for (unsigned i = 0; i < 20; i++) {
            if (i < 17) /* a's listing lacks 17, 18, 19 */
                put_range(s, "a", pa, i, 1, CJ_STATUS_COMPLETED);
            put_range(s, "b", pb, 100 + i, 1, CJ_STATUS_COMPLETED); /* b's is whole */
        }
        struct cj_store_changes ca = {0}, cb = {0};
        struct cj_store_pass_result ra, rb;
        assert_int_equal(cj_store_pass_finish(s, pb, true, TEST_BASE_NS + 2, &cb), 0);
        assert_int_equal(cj_store_pass_finish(s, pa, true, TEST_BASE_NS + 1, &ca), 0);
        cj_store_pass_get_result(pa, &ra);
        cj_store_pass_get_result(pb, &rb);
        assert_int_equal(ra.total, 20); /* before its removals */
        assert_int_equal(rb.total, 20);
        assert_int_equal(rb.missed + rb.removed + rb.held, 0);
        assert_int_equal(ra.missed, round == 0 ? 3 : 0);
        assert_int_equal(ra.removed, round == 0 ? 0 : 3);
        assert_int_equal(ca.removed, ra.removed);
        cj_store_pass_free(pa);
        cj_store_pass_free(pb);
    }
    for (unsigned i = 0; i < 20; i++) {
        assert_true(stored(s, i) == (i < 17));
        assert_true(stored(s, 100 + i));
    }
    struct source_seen seen = sources_of(s);
    assert_int_equal(seen.n, 2);
    assert_string_equal(seen.name[0], "a");
    assert_string_equal(seen.name[1], "b");
    assert_int_equal(seen.st[0].total, 17);
    assert_int_equal(seen.st[1].total, 20);
    assert_true(seen.st[0].synced_at_ns == TEST_BASE_NS + 1);
    assert_true(seen.st[1].synced_at_ns == TEST_BASE_NS + 2);
    assert_verified(s);

    /* A pass interrupted records nothing for its source. */
    assert_int_equal(cj_store_pass_begin(s, "a", &pa), 0);
    assert_int_equal(cj_store_pass_finish(s, pa, false, TEST_BASE_NS + 9, NULL), 0);
    cj_store_pass_free(pa);
    seen = sources_of(s);
    assert_true(seen.st[0].synced_at_ns == TEST_BASE_NS + 1);
    cj_store_close(s);
    remove_tree(dir);
}

/* The guard counts the pass's own source: 20 missing of a source's 100 is held even when
 * the store holds 1,100 jobs; 20 of 1,000 goes. */
static void test_guard_per_source(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = open_store_at(dir, 0, 256 * MIB);
    put_range(s, "small", NULL, 0, 100, CJ_STATUS_COMPLETED);
    put_range(s, "big", NULL, 1000, 1000, CJ_STATUS_COMPLETED);

    struct cj_store_pass_result r;
    for (int round = 0; round < 2; round++) {
        r = full_pass(s, "small", 0, 80, TEST_BASE_NS);
        assert_int_equal(r.total, 100);
        r = full_pass(s, "big", 1000, 980, TEST_BASE_NS);
        assert_int_equal(r.total, 1000);
        if (round == 1)
            assert_int_equal(r.removed, 20);
    }
    r = full_pass(s, "small", 0, 80, TEST_BASE_NS);
    assert_int_equal(r.held, 20);
    assert_int_equal(r.removed, 0);
    struct cj_store_stats st;
    assert_int_equal(cj_store_stats(s, &st), 0);
    assert_int_equal(st.total, 100 + 980);
    assert_verified(s);
    cj_store_close(s);
    remove_tree(dir);
}

/* A job stored by another source moves to it: both sources' counters follow, no event when
 * no served byte changed, and the old source's pass no longer counts it. */
static void test_job_moves_between_sources(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = open_store_at(dir, 0, 64 * MIB);
    put_range(s, "a", NULL, 0, 5, CJ_STATUS_FAILED);
    put_range(s, "b", NULL, 10, 2, CJ_STATUS_IN_PROGRESS);
    uint64_t seq = last_seq(s);

    struct cj_job j;
    struct cj_store_changes ch = {0};
    fill_job(&j, 3, CJ_STATUS_FAILED, NULL, NULL);
    assert_int_equal(cj_store_put_jobs(s, "b", NULL, &j, 1, &ch), 0);
    assert_int_equal(ch.unchanged, 1);
    assert_int_equal(ch.created + ch.updated, 0);
    assert_true(last_seq(s) == seq); /* nothing served changed */
    struct source_seen seen = sources_of(s);
    const struct cj_store_stats *a = source_stats(&seen, "a"), *b = source_stats(&seen, "b");
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(a->total, 4);
    assert_int_equal(a->by_status[CJ_STATUS_FAILED], 4);
    assert_int_equal(b->total, 3);
    assert_int_equal(b->by_status[CJ_STATUS_FAILED], 1);
    assert_int_equal(b->by_status[CJ_STATUS_IN_PROGRESS], 2);
    assert_verified(s);

    /* Moved with a changed status: an `updated` event, both sources' counters right. */
    test_job_free(&j);
    fill_job(&j, 3, CJ_STATUS_COMPLETED, NULL, NULL);
    ch = (struct cj_store_changes){0};
    assert_int_equal(cj_store_put_jobs(s, "a", NULL, &j, 1, &ch), 0);
    assert_int_equal(ch.updated, 1);
    assert_true(last_seq(s) == seq + 1);
    seen = sources_of(s);
    a = source_stats(&seen, "a");
    b = source_stats(&seen, "b");
    assert_int_equal(a->total, 5);
    assert_int_equal(a->by_status[CJ_STATUS_COMPLETED], 1);
    assert_int_equal(b->total, 2);
    assert_int_equal(b->by_status[CJ_STATUS_FAILED], 0);
    struct cj_store_stats st;
    assert_int_equal(cj_store_stats(s, &st), 0);
    assert_int_equal(st.total, 7);
    assert_verified(s);

    /* b's complete passes do not list job 3 (it is a's now): it stays. */
    for (int i = 0; i < 2; i++) {
        struct cj_store_pass_result r = full_pass(s, "b", 10, 2, TEST_BASE_NS);
        assert_int_equal(r.missed + r.removed + r.held, 0);
    }
    assert_true(stored(s, 3));
    test_job_free(&j);
    cj_store_close(s);
    remove_tree(dir);
}

/* A quick sync's writes while a pass runs count as seen by the pass of their source only. */
static void test_quick_writes_count_for_their_source(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = open_store_at(dir, 0, 64 * MIB);
    put_range(s, "a", NULL, 0, 6, CJ_STATUS_COMPLETED);
    put_range(s, "b", NULL, 10, 6, CJ_STATUS_COMPLETED);

    for (int round = 0; round < 2; round++) {
        struct cj_store_pass *pa, *pb;
        assert_int_equal(cj_store_pass_begin(s, "a", &pa), 0);
        assert_int_equal(cj_store_pass_begin(s, "b", &pb), 0);
        put_range(s, "a", pa, 0, 5, CJ_STATUS_COMPLETED);   /* a lists 0..4 */
        put_range(s, "a", NULL, 5, 1, CJ_STATUS_COMPLETED); /* 5 by a's quick sync */
        put_range(s, "b", pb, 10, 5, CJ_STATUS_COMPLETED);  /* b lists 10..14 */
        struct cj_store_pass_result ra, rb;
        assert_int_equal(cj_store_pass_finish(s, pa, true, TEST_BASE_NS, NULL), 0);
        assert_int_equal(cj_store_pass_finish(s, pb, true, TEST_BASE_NS, NULL), 0);
        cj_store_pass_get_result(pa, &ra);
        cj_store_pass_get_result(pb, &rb);
        assert_int_equal(ra.missed + ra.removed, 0);
        assert_int_equal(round == 0 ? rb.missed : rb.removed, 1); /* 15: nobody listed it */
        cj_store_pass_free(pa);
        cj_store_pass_free(pb);
    }
    assert_true(stored(s, 5));
    assert_false(stored(s, 15));
    assert_verified(s);
    cj_store_close(s);
    remove_tree(dir);
}

static void fill_other(struct cj_job *j, unsigned id, const char *status)
{
    fill_job(j, id, CJ_STATUS_COMPLETED, NULL, NULL);
    char json[512];
    snprintf(json, sizeof(json), "{\"jobArn\":\"%s\",\"status\":\"%s\"}", j->job_arn, status);
    free(j->json);
    j->json = strdup(json);
    j->json_len = strlen(json);
    j->status = CJ_STATUS_OTHER;
    j->status_name = strdup(status);
}

struct other_seen {
    unsigned n;
    char names[4][CJ_STATUS_NAME_MAX + 1];
    uint64_t counts[4];
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

/* Each source's counters, other statuses included, and last sync; the union's sync is the
 * oldest, 0 while one source never synced. */
static void test_counts_and_synced_at_per_source(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = open_store_at(dir, 0, 64 * MIB);
    put_range(s, "us-west-2", NULL, 0, 3, CJ_STATUS_IN_PROGRESS);
    put_range(s, "us-west-2", NULL, 3, 2, CJ_STATUS_FAILED);
    put_range(s, "eu-west-1", NULL, 10, 4, CJ_STATUS_COMPLETED);
    struct cj_job o[3];
    fill_other(&o[0], 20, "Stopped");
    fill_other(&o[1], 21, "Stopping");
    fill_other(&o[2], 22, "Stopped");
    assert_int_equal(cj_store_put_jobs(s, "eu-west-1", NULL, &o[0], 1, NULL), 0);
    assert_int_equal(cj_store_put_jobs(s, "us-west-2", NULL, &o[1], 2, NULL), 0);

    struct cj_store_stats st;
    assert_int_equal(cj_store_stats(s, &st), 0);
    assert_int_equal(st.total, 12);
    assert_true(st.synced_at_ns == 0); /* neither synced */
    assert_int_equal(cj_store_set_synced_at(s, "us-west-2", TEST_BASE_NS + 50), 0);
    assert_int_equal(cj_store_stats(s, &st), 0);
    assert_true(st.synced_at_ns == 0); /* eu-west-1 never did */
    assert_int_equal(cj_store_set_synced_at(s, "eu-west-1", TEST_BASE_NS + 70), 0);
    assert_int_equal(cj_store_stats(s, &st), 0);
    assert_true(st.synced_at_ns == TEST_BASE_NS + 50);
    /* A source with a sync and no jobs is known too. */
    assert_int_equal(cj_store_set_synced_at(s, "empty", TEST_BASE_NS + 10), 0);
    assert_int_equal(cj_store_stats(s, &st), 0);
    assert_true(st.synced_at_ns == TEST_BASE_NS + 10);

    struct source_seen seen = sources_of(s);
    assert_int_equal(seen.n, 3);
    assert_string_equal(seen.name[0], "empty");
    assert_string_equal(seen.name[1], "eu-west-1");
    assert_string_equal(seen.name[2], "us-west-2");
    assert_int_equal(seen.st[0].total, 0);
    assert_int_equal(seen.st[1].total, 5);
    assert_int_equal(seen.st[1].by_status[CJ_STATUS_COMPLETED], 4);
    assert_int_equal(seen.st[1].by_other_status, 1);
    assert_true(seen.st[1].synced_at_ns == TEST_BASE_NS + 70);
    assert_int_equal(seen.st[2].total, 7);
    assert_int_equal(seen.st[2].by_status[CJ_STATUS_IN_PROGRESS], 3);
    assert_int_equal(seen.st[2].by_status[CJ_STATUS_FAILED], 2);
    assert_int_equal(seen.st[2].by_other_status, 2);
    assert_true(seen.st[2].map_size == 0);

    struct other_seen os = {0};
    assert_int_equal(cj_store_foreach_other_status(s, "us-west-2", collect_other, &os), 0);
    assert_int_equal(os.n, 2);
    assert_string_equal(os.names[0], "Stopped");
    assert_int_equal(os.counts[0], 1);
    assert_string_equal(os.names[1], "Stopping");
    assert_int_equal(os.counts[1], 1);
    os = (struct other_seen){0};
    assert_int_equal(cj_store_foreach_other_status(s, "eu-west-1", collect_other, &os), 0);
    assert_int_equal(os.n, 1);
    assert_string_equal(os.names[0], "Stopped");
    os = (struct other_seen){0};
    assert_int_equal(cj_store_foreach_other_status(s, NULL, collect_other, &os), 0);
    assert_int_equal(os.n, 2);
    assert_int_equal(os.counts[0], 2);
    os = (struct other_seen){0};
    assert_int_equal(cj_store_foreach_other_status(s, "nobody", collect_other, &os), 0);
    assert_int_equal(os.n, 0);
    assert_verified(s);

    /* Counters and syncs survive a reopen. */
    cj_store_close(s);
    s = open_store_at(dir, 0, 64 * MIB);
    struct source_seen again = sources_of(s);
    assert_memory_equal(&again, &seen, sizeof(seen));
    for (size_t i = 0; i < ELEMENTSOF(o); i++) {
        free(o[i].status_name);
        test_job_free(&o[i]);
    }
    cj_store_close(s);
    remove_tree(dir);
}

static void test_drop_source(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = open_store_at(dir, 0, 64 * MIB);
    put_range(s, "a", NULL, 0, 10, CJ_STATUS_COMPLETED);
    put_range(s, "b", NULL, 20, 5, CJ_STATUS_FAILED);
    assert_int_equal(cj_store_set_synced_at(s, "a", TEST_BASE_NS + 5), 0);
    assert_int_equal(cj_store_set_synced_at(s, "b", TEST_BASE_NS + 1), 0);
    uint64_t seq = last_seq(s);

    struct cj_store_pass *p;
    assert_int_equal(cj_store_pass_begin(s, "b", &p), 0);
    assert_int_equal(cj_store_drop_source(s, "b", NULL), -EBUSY);
    cj_store_pass_free(p);
    assert_int_equal(cj_store_drop_source(s, "nobody", NULL), -ENOENT);

    struct cj_store_changes ch = {0};
    assert_int_equal(cj_store_drop_source(s, "b", &ch), 0);
    assert_int_equal(ch.removed, 5);
    assert_true(last_seq(s) == seq + 5); /* a `removed` event each */
    for (unsigned i = 0; i < 10; i++)
        assert_true(stored(s, i));
    for (unsigned i = 20; i < 25; i++)
        assert_false(stored(s, i));
    struct source_seen seen = sources_of(s);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.name[0], "a");
    struct cj_store_stats st;
    assert_int_equal(cj_store_stats(s, &st), 0);
    assert_int_equal(st.total, 10);
    assert_int_equal(st.by_status[CJ_STATUS_FAILED], 0);
    assert_true(st.synced_at_ns == TEST_BASE_NS + 5); /* b's older sync is gone with it */
    assert_int_equal(cj_store_drop_source(s, "b", NULL), -ENOENT);
    assert_verified(s);

    /* A new source takes the freed code; a comes back after its drop. */
    put_range(s, "c", NULL, 30, 3, CJ_STATUS_COMPLETED);
    assert_int_equal(cj_store_drop_source(s, "a", &ch), 0);
    put_range(s, "a", NULL, 0, 1, CJ_STATUS_COMPLETED);
    seen = sources_of(s);
    assert_int_equal(seen.n, 2);
    assert_int_equal(source_stats(&seen, "a")->total, 1);
    assert_true(source_stats(&seen, "a")->synced_at_ns == 0);
    assert_int_equal(source_stats(&seen, "c")->total, 3);
    assert_verified(s);
    cj_store_close(s);
    remove_tree(dir);
}

/* A damaged `jobs` entry may be any source's: neither dropping a source nor a pass's end
 * removes anything while one is there, and both say so. */
static void test_damaged_jobs_entry_blocks_removals(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = open_store_at(dir, 0, 64 * MIB);
    put_range(s, "a", NULL, 0, 10, CJ_STATUS_COMPLETED);
    put_range(s, "b", NULL, 20, 5, CJ_STATUS_FAILED);
    cj_store_close(s);
    struct raw raw;
    MDB_dbi jobs = raw_open(&raw, dir, STORE_DB_JOBS);
    MDB_val k = {.mv_size = 5, .mv_data = "ghost"}, v = {.mv_size = 3, .mv_data = "bad"};
    assert_int_equal(mdb_put(raw.txn, jobs, &k, &v, 0), 0);
    raw_close(&raw);

    s = open_store_at(dir, 0, 64 * MIB);
    assert_int_equal(cj_store_drop_source(s, "b", NULL), -EUCLEAN);
    for (unsigned i = 20; i < 25; i++)
        assert_true(stored(s, i));
    struct cj_store_pass *p;
    assert_int_equal(cj_store_pass_begin(s, "a", &p), 0);
    put_range(s, "a", p, 0, 1, CJ_STATUS_COMPLETED);
    assert_int_equal(cj_store_pass_finish(s, p, true, TEST_BASE_NS, NULL), -EUCLEAN);
    cj_store_pass_free(p);
    for (unsigned i = 0; i < 10; i++)
        assert_true(stored(s, i));
    cj_store_close(s);

    /* Mended, both go through. */
    jobs = raw_open(&raw, dir, STORE_DB_JOBS);
    assert_int_equal(mdb_del(raw.txn, jobs, &k, NULL), 0);
    raw_close(&raw);
    s = open_store_at(dir, 0, 64 * MIB);
    struct cj_store_changes ch = {0};
    assert_int_equal(cj_store_drop_source(s, "b", &ch), 0);
    assert_int_equal(ch.removed, 5);
    assert_verified(s);
    cj_store_close(s);
    remove_tree(dir);
}

struct walked {
    unsigned n;
    char arns[16][CJ_JOB_ARN_MAX + 1];
};

static int collect_arn(const char *arn, size_t len, int64_t creation_ns, void *userdata)
{
    struct walked *w = userdata;
    assert_true(w->n < 16);
    memcpy(w->arns[w->n], arn, len + 1);
    w->n++;
    return 0;
}

static void test_foreach_with_status_of_a_source(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = open_store_at(dir, 0, 64 * MIB);
    put_range(s, "a", NULL, 0, 3, CJ_STATUS_IN_PROGRESS);
    put_range(s, "b", NULL, 10, 2, CJ_STATUS_IN_PROGRESS);
    put_range(s, "b", NULL, 20, 2, CJ_STATUS_COMPLETED);

    struct walked w = {0};
    assert_int_equal(cj_store_foreach_with_status(s, "b", CJ_STATUS_IN_PROGRESS, collect_arn, &w),
                     0);
    assert_int_equal(w.n, 2);
    for (unsigned i = 0; i < w.n; i++)
        assert_non_null(strstr(w.arns[i], i == 0 ? "0000000010" : "0000000011"));
    w = (struct walked){0};
    assert_int_equal(cj_store_foreach_with_status(s, "a", CJ_STATUS_IN_PROGRESS, collect_arn, &w),
                     0);
    assert_int_equal(w.n, 3);
    w = (struct walked){0};
    assert_int_equal(cj_store_foreach_with_status(s, NULL, CJ_STATUS_IN_PROGRESS, collect_arn, &w),
                     0);
    assert_int_equal(w.n, 5);
    w = (struct walked){0};
    assert_int_equal(
        cj_store_foreach_with_status(s, "nobody", CJ_STATUS_IN_PROGRESS, collect_arn, &w), 0);
    assert_int_equal(w.n, 0);
    assert_int_equal(
        cj_store_foreach_with_status(s, "Bad Name", CJ_STATUS_IN_PROGRESS, collect_arn, &w),
        -EINVAL);
    cj_store_close(s);
    remove_tree(dir);
}

/* Most selective index first: model, job account, source account, status, region, time. */
static void test_plan_order(void **state)
{
    const char *model = test_models[1], *acct = "111111111111";
    for (unsigned mask = 0; mask < 32; mask++) {
        struct cj_query q = {.max_results = 10,
                             .has_status = mask & 1,
                             .job_region = mask & 2 ? "us-west-2" : NULL,
                             .source_account = mask & 4 ? acct : NULL,
                             .job_account = mask & 8 ? acct : NULL,
                             .source_model_arn = mask & 16 ? model : NULL};
        enum cj_index want = mask & 16  ? CJ_INDEX_MODEL_TIME
                             : mask & 8 ? CJ_INDEX_JOB_ACCOUNT_TIME
                             : mask & 4 ? CJ_INDEX_ACCOUNT_TIME
                             : mask & 1 ? CJ_INDEX_STATUS_TIME
                             : mask & 2 ? CJ_INDEX_JOB_REGION_TIME
                                        : CJ_INDEX_TIME;
        assert_int_equal(cj_query_plan(&q), want);
    }
    assert_string_equal(cj_index_to_string(CJ_INDEX_JOB_REGION_TIME), "job-region+time");
    assert_string_equal(cj_index_to_string(CJ_INDEX_JOB_ACCOUNT_TIME), "job-account+time");
}

/* Region and job account filters: a region no job has lists nothing; bad values are refused
 * naming the parameter; a token is bound to both filters. */
static void test_region_and_account_filters(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = open_store_at(dir, 0, 64 * MIB);
    static const char *const regions[] = {"us-east-1", "us-gov-west-1"};
    static const char *const accounts[] = {"999999999991", "999999999992"};
    for (unsigned i = 0; i < 40; i++) {
        struct cj_job j;
        fill_job(&j, i, CJ_STATUS_COMPLETED, regions[i % 2], accounts[(i / 2) % 2]);
        assert_int_equal(cj_store_put_jobs(s, i < 20 ? "a" : "b", NULL, &j, 1, NULL), 0);
        test_job_free(&j);
    }
    assert_verified(s);
    struct cj_buf out = {0};
    char err[256];
    struct cj_query q = {.max_results = 1000, .job_region = "eu-west-3"};
    assert_int_equal(cj_store_list(s, &q, &out, err, sizeof(err)), 0);
    assert_string_equal(out.data, "{\"modelCopyJobSummaries\":[]}");

    q = (struct cj_query){.max_results = 10, .job_region = "US"};
    assert_int_equal(cj_store_list(s, &q, &out, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "jobRegionEquals"));
    q = (struct cj_query){.max_results = 10, .job_account = "12345"};
    assert_int_equal(cj_store_list(s, &q, &out, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "jobAccountEquals"));

    /* 10 jobs match each pair, across both sources; a page of 3 gives a token. */
    for (unsigned r = 0; r < 2; r++)
        for (unsigned a = 0; a < 2; a++) {
            q = (struct cj_query){
                .max_results = 3, .job_region = regions[r], .job_account = accounts[a]};
            cj_buf_reset(&out);
            assert_int_equal(cj_store_list(s, &q, &out, err, sizeof(err)), 0);
            const char *t = strstr(out.data, "\"nextToken\":\"");
            assert_non_null(t);
            char token[CJ_NEXT_TOKEN_MAX + 1];
            t += strlen("\"nextToken\":\"");
            size_t n = (size_t)(strchr(t, '"') - t);
            memcpy(token, t, n);
            token[n] = '\0';
            /* The same token with the other region, or the other account, or neither. */
            struct cj_query other[] = {
                {.max_results = 3,
                 .job_region = regions[!r],
                 .job_account = accounts[a],
                 .next_token = token},
                {.max_results = 3,
                 .job_region = regions[r],
                 .job_account = accounts[!a],
                 .next_token = token},
                {.max_results = 3, .job_region = regions[r], .next_token = token},
                {.max_results = 3, .job_account = accounts[a], .next_token = token},
            };
            for (size_t i = 0; i < ELEMENTSOF(other); i++) {
                struct cj_buf b = {0};
                assert_int_equal(cj_store_list(s, &other[i], &b, err, sizeof(err)), -EINVAL);
                assert_non_null(strstr(err, "nextToken"));
                cj_buf_free(&b);
            }
            q.next_token = token;
            cj_buf_reset(&out);
            assert_int_equal(cj_store_list(s, &q, &out, err, sizeof(err)), 0);
        }
    cj_buf_free(&out);
    cj_store_close(s);
    remove_tree(dir);
}

/* Schema 4 -> 5 with jobs of two regions: each joins the source named after its region, both
 * inherit the one last sync, and the region filter finds them. */
static void test_migration_by_region(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = open_store_at(dir, 0, 64 * MIB);
    for (unsigned i = 0; i < 30; i++) {
        struct cj_job j;
        fill_job(&j, i, i % 3, i % 3 ? "us-east-1" : "us-gov-west-1", NULL);
        assert_int_equal(cj_store_put_jobs(s, "old", NULL, &j, 1, NULL), 0);
        test_job_free(&j);
    }
    assert_int_equal(cj_store_set_synced_at(s, "old", TEST_BASE_NS + 77), 0);
    cj_store_close(s);
    raw_write_v4_layout(dir);

    s = open_store_at(dir, 0, 64 * MIB);
    assert_verified(s);
    struct source_seen seen = sources_of(s);
    assert_int_equal(seen.n, 2);
    assert_string_equal(seen.name[0], "us-east-1");
    assert_string_equal(seen.name[1], "us-gov-west-1");
    assert_int_equal(seen.st[0].total, 20);
    assert_int_equal(seen.st[0].by_status[CJ_STATUS_IN_PROGRESS], 0);
    assert_int_equal(seen.st[1].total, 10);
    assert_int_equal(seen.st[1].by_status[CJ_STATUS_IN_PROGRESS], 10);
    assert_true(seen.st[0].synced_at_ns == TEST_BASE_NS + 77 &&
                seen.st[1].synced_at_ns == TEST_BASE_NS + 77);
    struct cj_store_stats st;
    assert_int_equal(cj_store_stats(s, &st), 0);
    assert_int_equal(st.total, 30);
    assert_true(st.synced_at_ns == TEST_BASE_NS + 77);

    struct cj_buf out = {0};
    char err[256];
    struct cj_query q = {.max_results = 1000, .job_region = "us-gov-west-1"};
    assert_int_equal(cj_store_list(s, &q, &out, err, sizeof(err)), 0);
    unsigned n = 0;
    for (const char *p = out.data; (p = strstr(p, "\"jobArn\"")); p++)
        n++;
    assert_int_equal(n, 10);
    assert_null(strstr(out.data, ":us-east-1:111111111111:model-copy-job"));

    /* A full pass of one region's source leaves the other's jobs alone. */
    struct cj_store_pass *p;
    for (int round = 0; round < 2; round++) {
        assert_int_equal(cj_store_pass_begin(s, "us-gov-west-1", &p), 0);
        assert_int_equal(cj_store_pass_finish(s, p, true, TEST_BASE_NS + 80, NULL), 0);
        cj_store_pass_free(p);
    }
    assert_int_equal(cj_store_stats(s, &st), 0);
    assert_int_equal(st.total, 20);
    assert_verified(s);
    cj_buf_free(&out);
    cj_store_close(s);
    remove_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_source_names),
        cmocka_unit_test(test_passes_side_by_side),
        cmocka_unit_test(test_guard_per_source),
        cmocka_unit_test(test_job_moves_between_sources),
        cmocka_unit_test(test_quick_writes_count_for_their_source),
        cmocka_unit_test(test_counts_and_synced_at_per_source),
        cmocka_unit_test(test_drop_source),
        cmocka_unit_test(test_damaged_jobs_entry_blocks_removals),
        cmocka_unit_test(test_foreach_with_status_of_a_source),
        cmocka_unit_test(test_plan_order),
        cmocka_unit_test(test_region_and_account_filters),
        cmocka_unit_test(test_migration_by_region),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
