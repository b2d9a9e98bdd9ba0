/* SPDX-License-Identifier: MIT */
/* The change log: one event per created, updated and removed job in the transaction of the
 * change, in order, surviving reopen, trimmed to max_events, read after a seq, the change
 * callback once per committed transaction that appended, the sequence kept across schema
 * migration and wipe, and the checker's view of a damaged log. Real LMDB in a temp dir. */
#include "test-store-util.h"

#include "log.h"

#define MIB ((uint64_t)1024 * 1024)

static struct test_job_spec spec(unsigned id, enum cj_status st, int64_t t)
{
    return (struct test_job_spec){.id = id,
                                  .status = st,
                                  .creation_ns = t,
                                  .account = test_accounts[id % 5],
                                  .model = test_models[id % 6],
                                  .name = test_names[id % 9]};
}

static struct cj_store *open_events(const char *dir, uint64_t max_events, uint64_t initial,
                                    uint64_t max)
{
    struct cj_store_options o = {
        .directory = dir, .max_size = max, .initial_size = initial, .max_events = max_events};
    struct cj_store *s = NULL;
    assert_int_equal(cj_store_open(&o, &s), 0);
    return s;
}

/* ---- collecting events ---- */

#define MAX_SEEN 256

struct seen_event {
    uint64_t seq;
    enum cj_event_type type;
    char *json;
};

struct seen {
    struct seen_event ev[MAX_SEEN];
    size_t n;
    int stop_after; /* return -ECANCELED after that many; 0 = never */
};

static int collect(const struct cj_store_event *ev, void *userdata)
{
    struct seen *s = userdata;
    assert_true(s->n < MAX_SEEN);
    s->ev[s->n].seq = ev->seq;
    s->ev[s->n].type = ev->type;
    s->ev[s->n].json = strndup(ev->job_json, ev->job_json_len);
    assert_non_null(s->ev[s->n].json);
    s->n++;
    if (s->stop_after && s->n == (size_t)s->stop_after)
        return -ECANCELED;
    return 0;
}

static void seen_free(struct seen *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->ev[i].json);
    s->n = 0;
}

static void read_all(struct cj_store *s, uint64_t after, struct seen *out)
{
    seen_free(out);
    int n = cj_store_events_read(s, after, SIZE_MAX, collect, out);
    assert_true(n >= 0);
    assert_int_equal((size_t)n, out->n);
}

static void expect_event(const struct seen *s, size_t i, uint64_t seq, enum cj_event_type type,
                         const struct cj_job *j)
{
    assert_true(i < s->n);
    if (s->ev[i].seq != seq || s->ev[i].type != type)
        fail_msg("event %zu: seq %" PRIu64 " %s, want %" PRIu64 " %s", i, s->ev[i].seq,
                 cj_event_type_to_string(s->ev[i].type), seq, cj_event_type_to_string(type));
    assert_string_equal(s->ev[i].json, j->json);
}

static void expect_bounds(struct cj_store *s, uint64_t first, uint64_t last)
{
    uint64_t f = 99, l = 99;
    assert_int_equal(cj_store_events_bounds(s, &f, &l), 0);
    if (f != first || l != last)
        fail_msg("bounds %" PRIu64 "..%" PRIu64 ", want %" PRIu64 "..%" PRIu64, f, l, first, last);
}

/* ---- the change callback ---- */

struct calls {
    unsigned n;
    uint64_t last_seq;
    size_t events_visible; /* events the callback could read after the previous call */
    uint64_t prev_seq;
};

static int count_event(const struct cj_store_event *ev, void *userdata)
{
    (*(size_t *)userdata)++;
    return 0;
}

static void on_change(struct cj_store *s, uint64_t last_seq, void *userdata)
{
    struct calls *c = userdata;
    size_t n = 0;
    c->n++;
    c->last_seq = last_seq;
    /* What a watcher does: read what is new. The transaction is committed already. */
    assert_true(cj_store_events_read(s, c->prev_seq, SIZE_MAX, count_event, &n) >= 0);
    c->events_visible = n;
    c->prev_seq = last_seq;
}

/* ---- the log lines, read back from stderr ---- */

struct captured {
    int saved_fd;
    FILE *f;
    int saved_level;
};

static void capture_begin(struct captured *c)
{
    fflush(stderr);
    c->f = tmpfile();
    assert_non_null(c->f);
    c->saved_fd = dup(STDERR_FILENO);
    assert_true(c->saved_fd >= 0);
    assert_true(dup2(fileno(c->f), STDERR_FILENO) >= 0);
    c->saved_level = cj_log_get_max_level();
    cj_log_set_max_level(LOG_INFO);
}

/* Returns what was logged (malloc'd) and puts stderr back. */
static char *capture_end(struct captured *c)
{
    fflush(stderr);
    assert_true(dup2(c->saved_fd, STDERR_FILENO) >= 0);
    close(c->saved_fd);
    cj_log_set_max_level(c->saved_level);
    long n = ftell(c->f);
    assert_true(n >= 0);
    char *text = calloc(1, (size_t)n + 1);
    assert_non_null(text);
    rewind(c->f);
    assert_int_equal(fread(text, 1, (size_t)n, c->f), (size_t)n);
    fclose(c->f);
    fputs(text, stderr); /* still visible in the test's output */
    return text;
}

static void expect_logged(const char *log, const char *what)
{
    if (!strstr(log, what))
        fail_msg("the log lacks \"%s\":\n%s", what, log);
}

/* ---- tests ---- */

static void test_type_names(void **state)
{
    assert_string_equal(cj_event_type_to_string(CJ_EVENT_CREATED), "created");
    assert_string_equal(cj_event_type_to_string(CJ_EVENT_UPDATED), "updated");
    assert_string_equal(cj_event_type_to_string(CJ_EVENT_REMOVED), "removed");
    assert_null(cj_event_type_to_string(_CJ_EVENT_TYPE_MAX));
    assert_null(cj_event_type_to_string((enum cj_event_type) - 1));
}

static void test_each_kind_in_order_and_reopen(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = open_events(dir, 0, 0, 64 * MIB);
    struct cj_job a, a2, a3, b, c;
    struct test_job_spec sa = spec(1, CJ_STATUS_IN_PROGRESS, TEST_BASE_NS + 10);
    struct test_job_spec sb = spec(2, CJ_STATUS_IN_PROGRESS, TEST_BASE_NS + 20);
    struct test_job_spec sc = spec(3, CJ_STATUS_FAILED, TEST_BASE_NS + 30);
    struct seen seen = {0};
    test_job_fill(&a, &sa);
    test_job_fill(&b, &sb);
    test_job_fill(&c, &sc);

    expect_bounds(s, 0, 0);
    read_all(s, 0, &seen);
    assert_int_equal(seen.n, 0);

    struct cj_job page[3] = {a, b, c};
    assert_int_equal(cj_store_put_jobs(s, "us-east-1", NULL, page, 3, NULL),
                     0);  /* 1, 2, 3 created */
    put_one(s, &a, NULL); /* unchanged: nothing */
    sa.status = CJ_STATUS_COMPLETED;
    test_job_fill(&a2, &sa);
    put_one(s, &a2, NULL); /* 4: status change */
    sa.rev = 1;
    test_job_fill(&a3, &sa);
    put_one(s, &a3, NULL);                              /* 5: a served byte */
    assert_int_equal(cj_store_remove(s, b.job_arn), 0); /* 6: removed, as it was */
    assert_int_equal(cj_store_remove(s, b.job_arn), -ENOENT);
    assert_int_equal(cj_store_set_synced_at(s, "us-east-1", TEST_BASE_NS), 0);

    /* Two complete full passes that see only a: the first notes c as missed (no event),
     * the second removes it (7). */
    struct cj_store_pass *p;
    for (int round = 0; round < 2; round++) {
        assert_int_equal(cj_store_pass_begin(s, "us-east-1", &p), 0);
        assert_int_equal(cj_store_put_jobs(s, "us-east-1", p, &a3, 1, NULL), 0);
        assert_int_equal(cj_store_pass_finish(s, p, true, TEST_BASE_NS + 1, NULL), 0);
        cj_store_pass_free(p);
        if (round == 0) {
            read_all(s, 0, &seen);
            assert_int_equal(seen.n, 6);
            seen_free(&seen);
        }
    }

    read_all(s, 0, &seen);
    assert_int_equal(seen.n, 7);
    expect_event(&seen, 0, 1, CJ_EVENT_CREATED, &a);
    expect_event(&seen, 1, 2, CJ_EVENT_CREATED, &b);
    expect_event(&seen, 2, 3, CJ_EVENT_CREATED, &c);
    expect_event(&seen, 3, 4, CJ_EVENT_UPDATED, &a2);
    expect_event(&seen, 4, 5, CJ_EVENT_UPDATED, &a3);
    expect_event(&seen, 5, 6, CJ_EVENT_REMOVED, &b);
    expect_event(&seen, 6, 7, CJ_EVENT_REMOVED, &c);
    expect_bounds(s, 1, 7);
    assert_verified(s);
    cj_store_close(s);

    /* Reopened: the same log, and the sequence goes on. */
    s = open_events(dir, 0, 0, 64 * MIB);
    expect_bounds(s, 1, 7);
    put_one(s, &b, NULL);
    read_all(s, 5, &seen);
    assert_int_equal(seen.n, 3);
    expect_event(&seen, 0, 6, CJ_EVENT_REMOVED, &b);
    expect_event(&seen, 2, 8, CJ_EVENT_CREATED, &b);
    assert_verified(s);
    cj_store_close(s);

    /* Read-only sees it too. */
    struct cj_store_options o = {.directory = dir, .max_size = 64 * MIB, .read_only = true};
    assert_int_equal(cj_store_open(&o, &s), 0);
    expect_bounds(s, 1, 8);
    assert_verified(s);
    cj_store_close(s);

    seen_free(&seen);
    test_job_free(&a);
    test_job_free(&a2);
    test_job_free(&a3);
    test_job_free(&b);
    test_job_free(&c);
    remove_tree(dir);
}

static void put_range(struct cj_store *s, unsigned from, unsigned n, unsigned rev)
{
    struct cj_job *jobs = calloc(n, sizeof(*jobs));
    assert_non_null(jobs);
    for (unsigned i = 0; i < n; i++) {
        struct test_job_spec sp = spec(from + i, (from + i) % 3, TEST_BASE_NS + from + i);
        sp.rev = rev;
        test_job_fill(&jobs[i], &sp);
    }
    assert_int_equal(cj_store_put_jobs(s, "us-east-1", NULL, jobs, n, NULL), 0);
    for (unsigned i = 0; i < n; i++)
        test_job_free(&jobs[i]);
    free(jobs);
}

static void test_trim_read_after_and_max(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = open_events(dir, 10, 0, 64 * MIB);
    struct seen seen = {0};

    for (unsigned i = 0; i < 7; i++)
        put_range(s, i, 1, 0); /* 1..7, one a transaction */
    expect_bounds(s, 1, 7);
    /* 8..22 in one transaction, more than the bound by itself: their generation, 1..22, is
     * now the older, kept whole. */
    put_range(s, 100, 15, 0);
    expect_bounds(s, 1, 22);
    put_range(s, 200, 9, 0); /* 23..31: the newer holds fewer than 10 */
    expect_bounds(s, 1, 31);
    assert_verified(s);
    put_range(s, 300, 1, 0); /* 32, the newer's 10th: the older goes */
    expect_bounds(s, 23, 32);
    assert_verified(s);
    read_all(s, 0, &seen);
    assert_int_equal(seen.n, 10);
    for (size_t i = 0; i < seen.n; i++)
        assert_true(seen.ev[i].seq == 23 + i);

    /* after and max, within the older generation, across both, within the newer. */
    seen_free(&seen);
    assert_int_equal(cj_store_events_read(s, 25, 3, collect, &seen), 3);
    assert_true(seen.ev[0].seq == 26 && seen.ev[2].seq == 28);
    seen_free(&seen);
    put_range(s, 400, 3, 0); /* 33..35 in the newer generation */
    assert_int_equal(cj_store_events_read(s, 30, 4, collect, &seen), 4);
    for (size_t i = 0; i < 4; i++)
        assert_true(seen.ev[i].seq == 31 + i);
    seen_free(&seen);
    assert_int_equal(cj_store_events_read(s, 33, 100, collect, &seen), 2);
    assert_true(seen.ev[0].seq == 34 && seen.ev[1].seq == 35);
    seen_free(&seen);
    assert_int_equal(cj_store_events_read(s, 35, 100, collect, &seen), 0);
    assert_int_equal(cj_store_events_read(s, 5000, 100, collect, &seen), 0);
    assert_int_equal(cj_store_events_read(s, UINT64_MAX, 100, collect, &seen), 0);
    assert_int_equal(cj_store_events_read(s, 0, 0, collect, &seen), 0);
    assert_int_equal(seen.n, 0);
    /* A trimmed position starts at the oldest kept. */
    assert_int_equal(cj_store_events_read(s, 3, 1, collect, &seen), 1);
    assert_true(seen.ev[0].seq == 23);
    seen_free(&seen);
    /* The callback stops the walk; its value is returned. */
    seen.stop_after = 2;
    assert_int_equal(cj_store_events_read(s, 0, 100, collect, &seen), -ECANCELED);
    assert_int_equal(seen.n, 2);
    seen.stop_after = 0;
    seen_free(&seen);
    cj_store_close(s);

    /* A larger bound keeps more from now on; a lower one drops the older generation at open
     * when the newer already holds that many. */
    s = open_events(dir, 1000, 0, 64 * MIB);
    put_range(s, 500, 30, 0); /* 36..65 */
    expect_bounds(s, 23, 65);
    cj_store_close(s);
    s = open_events(dir, 5, 0, 64 * MIB);
    expect_bounds(s, 33, 65);
    assert_verified(s);
    cj_store_close(s);

    /* The checker holds the newer generation to the bound it is given. */
    s = open_events(dir, 1000, 0, 64 * MIB);
    put_range(s, 600, 5, 0); /* 66..70, the newer's 5 */
    cj_store_close(s);
    struct cj_store_options o = {
        .directory = dir, .max_size = 64 * MIB, .read_only = true, .max_events = 4};
    char report[512];
    assert_int_equal(cj_store_open(&o, &s), 0);
    assert_int_equal(cj_store_verify(s, report, sizeof(report)), -EUCLEAN);
    assert_non_null(
        strstr(report, "events: 5 in the newer generation, not fewer than max_events 4"));
    cj_store_close(s);

    remove_tree(dir);
}

static void test_change_callback(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = open_events(dir, 0, 0, 64 * MIB);
    struct calls calls = {0};
    cj_store_set_change_callback(s, on_change, &calls);

    put_range(s, 0, 5, 0); /* one transaction, five events */
    assert_int_equal(calls.n, 1);
    assert_true(calls.last_seq == 5);
    assert_int_equal(calls.events_visible, 5);

    put_range(s, 0, 5, 0); /* unchanged */
    assert_int_equal(cj_store_set_synced_at(s, "us-east-1", TEST_BASE_NS), 0);
    assert_int_equal(calls.n, 1);

    put_range(s, 3, 4, 1); /* 3, 4 updated; 5, 6 created */
    assert_int_equal(calls.n, 2);
    assert_true(calls.last_seq == 9);
    assert_int_equal(calls.events_visible, 4);

    struct cj_job j;
    struct test_job_spec sp = spec(0, 0, TEST_BASE_NS);
    test_job_fill(&j, &sp);
    assert_int_equal(cj_store_remove(s, j.job_arn), 0);
    assert_int_equal(calls.n, 3);
    assert_true(calls.last_seq == 10);
    assert_int_equal(cj_store_remove(s, j.job_arn), -ENOENT);
    assert_int_equal(calls.n, 3);

    /* A pass that removes nothing commits (synced_at) but calls nobody. */
    struct cj_store_pass *p;
    assert_int_equal(cj_store_pass_begin(s, "us-east-1", &p), 0);
    put_range(s, 1, 6, 1); /* 1, 2 updated (11, 12), the rest unchanged */
    assert_int_equal(calls.n, 4);
    assert_int_equal(cj_store_pass_finish(s, p, true, TEST_BASE_NS + 1, NULL), 0);
    cj_store_pass_free(p);
    assert_int_equal(calls.n, 4);
    /* One that removes two: one call (after one that only notes them missed: none). */
    assert_int_equal(cj_store_pass_begin(s, "us-east-1", &p), 0);
    put_range(s, 1, 4, 1);
    assert_int_equal(cj_store_pass_finish(s, p, true, TEST_BASE_NS + 2, NULL), 0);
    cj_store_pass_free(p);
    assert_int_equal(calls.n, 4);
    assert_int_equal(cj_store_pass_begin(s, "us-east-1", &p), 0);
    put_range(s, 1, 4, 1);
    assert_int_equal(cj_store_pass_finish(s, p, true, TEST_BASE_NS + 2, NULL), 0);
    cj_store_pass_free(p);
    assert_int_equal(calls.n, 5);
    assert_true(calls.last_seq == 14);
    assert_int_equal(calls.events_visible, 2);
    /* A refused page (a bad job) writes nothing and calls nobody. */
    struct cj_job bad = j;
    bad.status = (enum cj_status)9;
    assert_int_equal(cj_store_put_jobs(s, "us-east-1", NULL, &bad, 1, NULL), -EINVAL);
    assert_int_equal(calls.n, 5);

    /* NULL removes the callback. */
    cj_store_set_change_callback(s, NULL, &calls);
    put_one(s, &j, NULL);
    assert_int_equal(calls.n, 5);
    expect_bounds(s, 1, 15);
    assert_verified(s);
    test_job_free(&j);
    cj_store_close(s);
    remove_tree(dir);
}

/* A transaction aborted at the ceiling: no event, no callback, no seq used up. */
static void test_no_events_from_aborted_transactions(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = open_events(dir, 0, 128 * 1024, 2 * MIB);
    struct calls calls = {0};
    uint64_t first, last, before_last = 0;
    unsigned pages = 0;
    int r = 0;
    struct captured cap;
    cj_store_set_change_callback(s, on_change, &calls);

    capture_begin(&cap);
    for (unsigned page = 0; page < 200 && r == 0; page++) {
        struct cj_job jobs[20];
        for (unsigned i = 0; i < 20; i++) {
            struct test_job_spec sp = spec(page * 20 + i, i % 3, TEST_BASE_NS + page * 20 + i);
            test_job_fill(&jobs[i], &sp);
            char *big = NULL;
            assert_true(asprintf(&big, "%.*s,\"pad\":\"%0700d\"}", (int)jobs[i].json_len - 1,
                                 jobs[i].json, 0) > 0);
            free(jobs[i].json);
            jobs[i].json = big;
            jobs[i].json_len = strlen(big);
        }
        assert_int_equal(cj_store_events_bounds(s, &first, &before_last), 0);
        r = cj_store_put_jobs(s, "us-east-1", NULL, jobs, 20, NULL);
        if (r == 0)
            pages++;
        for (unsigned i = 0; i < 20; i++)
            test_job_free(&jobs[i]);
    }
    char *log = capture_end(&cap);
    /* It grew from 128K up to the ceiling, then said which setting stopped it. */
    expect_logged(log, "store: map grown to 262144 bytes (ceiling 2097152)");
    expect_logged(log, "store: map grown to 2097152 bytes");
    expect_logged(log, "store: full at its ceiling of 2097152 bytes (store.max_size)");
    free(log);
    assert_int_equal(r, -ENOSPC);
    assert_true(pages > 5);
    assert_int_equal(calls.n, pages);
    assert_int_equal(cj_store_events_bounds(s, &first, &last), 0);
    assert_true(last == before_last && last == (uint64_t)pages * 20 && first == 1);
    assert_verified(s);

    /* A removal still fits, and takes the next number. */
    struct cj_job j;
    struct test_job_spec sp = spec(0, 0, TEST_BASE_NS);
    test_job_fill(&j, &sp);
    assert_int_equal(cj_store_remove(s, j.job_arn), 0);
    assert_int_equal(calls.n, pages + 1);
    assert_true(calls.last_seq == last + 1);
    test_job_free(&j);
    assert_verified(s);
    cj_store_close(s);
    remove_tree(dir);
}

static void meta_put_raw(struct raw *r, MDB_dbi dbi, const char *key, const void *v, size_t n)
{
    MDB_val k = {.mv_size = strlen(key), .mv_data = (void *)key};
    MDB_val val = {.mv_size = n, .mv_data = (void *)v};
    if (v)
        assert_int_equal(mdb_put(r->txn, dbi, &k, &val, 0), 0);
    else {
        int rc = mdb_del(r->txn, dbi, &k, NULL);
        assert_true(rc == 0 || rc == MDB_NOTFOUND);
    }
}

static void test_schema_migration_and_wipe_keep_the_sequence(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = open_events(dir, 0, 0, 64 * MIB);
    put_range(s, 0, 12, 0);
    expect_bounds(s, 1, 12);
    cj_store_close(s);

    /* Make it a schema-1 store: the rows in `jobs`, no change log, no last seq. */
    raw_write_v7_data(dir);
    raw_write_old_layout(dir, 1);
    struct raw r;
    MDB_dbi meta = raw_open(&r, dir, STORE_DB_META);
    MDB_dbi events;
    assert_int_equal(mdb_dbi_open(r.txn, store_events_db_names[0], 0, &events), 0);
    assert_int_equal(mdb_drop(r.txn, events, 1), 0);
    meta_put_raw(&r, meta, META_LAST_SEQ, NULL, 0);
    raw_close(&r);

    /* Read-only cannot convert it. */
    struct cj_store_options ro = {.directory = dir, .max_size = 64 * MIB, .read_only = true};
    assert_int_equal(cj_store_open(&ro, &s), -EPROTONOSUPPORT);

    /* Migrated: the jobs stay, the log starts. */
    struct captured cap;
    capture_begin(&cap);
    s = open_events(dir, 0, 0, 64 * MIB);
    char *log = capture_end(&cap);
    expect_logged(log, "store: migrated the cache from schema 1 to 2 (added the change log); its "
                       "12 job(s) are kept");
    expect_logged(log, "store: migrated the cache from schema 2 to 3 (rows clustered by creation "
                       "time); its 12 job(s) are kept");
    expect_logged(log, "store: migrated the cache from schema 3 to 4 (index keys newest first); "
                       "its 12 job(s) are kept");
    expect_logged(log, "store: migrated the cache from schema 4 to 5 (jobs tagged with the source "
                       "named after their region, region and job account indexes); its 12 job(s) "
                       "are kept");
    expect_logged(log, "store: migrated the cache from schema 5 to 6 (rows kept by status); its 12 "
                       "job(s) are kept");
    free(log);
    assert_int_equal(committed_total(s), 12);
    expect_bounds(s, 0, 0);
    assert_verified(s);
    put_range(s, 0, 2, 1);
    expect_bounds(s, 1, 2);
    put_range(s, 50, 3, 0);
    expect_bounds(s, 1, 5);
    cj_store_close(s);

    /* A store that cannot be migrated (no version, data): wiped, rebuilt later, and the
     * sequence goes on past every number handed out. */
    meta = raw_open(&r, dir, STORE_DB_META);
    meta_put_raw(&r, meta, META_SCHEMA_VERSION, NULL, 0);
    raw_close(&r);
    capture_begin(&cap);
    s = open_events(dir, 0, 0, 64 * MIB);
    log = capture_end(&cap);
    expect_logged(log, "store: schema 0 is older than 11 and cannot be migrated; discarded the "
                       "cache, it is rebuilt from the next full sync (the change log goes on "
                       "after seq 5)");
    free(log);
    assert_int_equal(committed_total(s), 0);
    expect_bounds(s, 0, 0);
    assert_verified(s);
    put_range(s, 0, 2, 0);
    expect_bounds(s, 6, 7);
    assert_verified(s);
    cj_store_close(s);
    remove_tree(dir);
}

/* The store's id: 32 hex digits, kept across opens, made for a store from before ids (at the
 * first writable open), new for another store and after a wipe. */
static void test_store_id(void **state)
{
    char *dir = make_tmpdir(), *other_dir = make_tmpdir();
    char id[CJ_STORE_ID_LEN + 1], lazy[CJ_STORE_ID_LEN + 1];
    struct raw r;

    struct cj_store *s = open_events(dir, 0, 0, 64 * MIB);
    snprintf(id, sizeof(id), "%s", cj_store_id(s));
    assert_int_equal(strlen(id), CJ_STORE_ID_LEN);
    assert_int_equal(strspn(id, "0123456789abcdef"), CJ_STORE_ID_LEN);
    put_range(s, 0, 3, 0);
    cj_store_close(s);
    s = open_events(dir, 0, 0, 64 * MIB);
    assert_string_equal(cj_store_id(s), id);
    cj_store_close(s);

    struct cj_store *o = open_events(other_dir, 0, 0, 64 * MIB);
    assert_string_not_equal(cj_store_id(o), id);
    cj_store_close(o);

    /* A store from before ids: read-only shows none, the daemon's open makes one for good. */
    MDB_dbi meta = raw_open(&r, dir, STORE_DB_META);
    meta_put_raw(&r, meta, META_STORE_ID, NULL, 0);
    raw_close(&r);
    struct cj_store_options ro = {.directory = dir, .max_size = 64 * MIB, .read_only = true};
    assert_int_equal(cj_store_open(&ro, &s), 0);
    assert_string_equal(cj_store_id(s), "");
    cj_store_close(s);
    s = open_events(dir, 0, 0, 64 * MIB);
    snprintf(lazy, sizeof(lazy), "%s", cj_store_id(s));
    assert_int_equal(strlen(lazy), CJ_STORE_ID_LEN);
    assert_string_not_equal(lazy, id);
    expect_bounds(s, 1, 3); /* the log is untouched */
    cj_store_close(s);
    assert_int_equal(cj_store_open(&ro, &s), 0);
    assert_string_equal(cj_store_id(s), lazy);
    cj_store_close(s);

    /* Wiped for a rebuild: another store as far as clients can tell. */
    meta = raw_open(&r, dir, STORE_DB_META);
    meta_put_raw(&r, meta, META_SCHEMA_VERSION, NULL, 0);
    raw_close(&r);
    s = open_events(dir, 0, 0, 64 * MIB);
    assert_int_equal(strlen(cj_store_id(s)), CJ_STORE_ID_LEN);
    assert_string_not_equal(cj_store_id(s), lazy);
    cj_store_close(s);
    remove_tree(dir);
    remove_tree(other_dir);
}

static void test_verify_detects_log_damage(void **state)
{
    char *dir = make_tmpdir();
    char report[1024];
    struct cj_store *s = open_events(dir, 0, 0, 64 * MIB);
    put_range(s, 0, 6, 0);
    assert_verified(s);
    cj_store_close(s);

    /* A hole in the middle, a bad type, meta behind the log. */
    struct raw r;
    MDB_dbi events = raw_open(&r, dir, store_events_db_names[0]);
    uint8_t key[8];
    put_be64(key, 3);
    MDB_val k = {.mv_size = 8, .mv_data = key}, v;
    assert_int_equal(mdb_del(r.txn, events, &k, NULL), 0);
    put_be64(key, 5);
    assert_int_equal(mdb_get(r.txn, events, &k, &v), 0);
    uint8_t *copy = malloc(v.mv_size);
    memcpy(copy, v.mv_data, v.mv_size);
    copy[0] = 7;
    v.mv_data = copy;
    assert_int_equal(mdb_put(r.txn, events, &k, &v, 0), 0);
    free(copy);
    MDB_dbi meta;
    assert_int_equal(mdb_dbi_open(r.txn, STORE_DB_META, 0, &meta), 0);
    uint8_t last[8];
    put_le64(last, 4);
    meta_put_raw(&r, meta, META_LAST_SEQ, last, sizeof(last));
    raw_close(&r);

    struct cj_store_options ro = {.directory = dir, .max_size = 64 * MIB, .read_only = true};
    assert_int_equal(cj_store_open(&ro, &s), 0);
    assert_int_equal(cj_store_verify(s, report, sizeof(report)), -EUCLEAN);
    assert_non_null(strstr(report, "events: seq 4 follows 2"));
    assert_non_null(strstr(report, "events: seq 5: not a type and a JSON object"));
    assert_non_null(strstr(report, "meta: last seq 4 is behind the newest event 6"));
    /* A reader refuses the damaged entry instead of passing it on. */
    struct seen seen = {0};
    assert_int_equal(cj_store_events_read(s, 4, 10, collect, &seen), -EUCLEAN);
    seen_free(&seen);
    cj_store_close(s);

    /* A writer never hands out a number twice, even with meta behind. */
    s = open_events(dir, 0, 0, 64 * MIB);
    put_range(s, 100, 1, 0);
    expect_bounds(s, 1, 7);
    cj_store_close(s);
    remove_tree(dir);
}

static void raw_put_event(struct raw *r, MDB_dbi events, uint64_t seq, enum cj_event_type type,
                          const char *json)
{
    uint8_t key[8], val[1024];
    size_t n = strlen(json);
    assert_true(n + 1 <= sizeof(val));
    put_be64(key, seq);
    val[0] = (uint8_t)type;
    memcpy(val + 1, json, n);
    MDB_val k = {.mv_size = 8, .mv_data = key}, v = {.mv_size = n + 1, .mv_data = val};
    assert_int_equal(mdb_put(r->txn, events, &k, &v, 0), 0);
}

static void test_verify_log_agrees_with_rows(void **state)
{
    char *dir = make_tmpdir();
    char report[2048];
    struct cj_store *s = open_events(dir, 0, 0, 64 * MIB);
    struct cj_job a, a2, gone;
    struct test_job_spec sa = spec(1, CJ_STATUS_IN_PROGRESS, TEST_BASE_NS);
    struct test_job_spec sg = spec(2, CJ_STATUS_FAILED, TEST_BASE_NS + 1);
    test_job_fill(&a, &sa);
    test_job_fill(&gone, &sg);
    sa.rev = 1;
    test_job_fill(&a2, &sa);
    put_one(s, &a, NULL);                                  /* 1 */
    put_one(s, &gone, NULL);                               /* 2 */
    put_one(s, &a2, NULL);                                 /* 3: a as stored now */
    assert_int_equal(cj_store_remove(s, gone.job_arn), 0); /* 4 */
    assert_verified(s);
    cj_store_close(s);

    /* The newest event of a says it is the old version; a "created" for a removed job; a
     * "removed" for a stored one; an event without a jobArn. */
    struct raw r;
    MDB_dbi events = raw_open(&r, dir, store_events_db_names[0]);
    raw_put_event(&r, events, 3, CJ_EVENT_UPDATED, a.json);
    raw_put_event(&r, events, 5, CJ_EVENT_CREATED, gone.json);
    raw_put_event(&r, events, 6, CJ_EVENT_REMOVED, a2.json);
    raw_put_event(&r, events, 7, CJ_EVENT_UPDATED, "{\"status\":\"Failed\"}");
    raw_close(&r);

    struct cj_store_options ro = {.directory = dir, .max_size = 64 * MIB, .read_only = true};
    assert_int_equal(cj_store_open(&ro, &s), 0);
    assert_int_equal(cj_store_verify(s, report, sizeof(report)), -EUCLEAN);
    char want[512];
    snprintf(want, sizeof(want), "events: seq 6 removed %s, which is stored", a.job_arn);
    assert_non_null(strstr(report, want));
    snprintf(want, sizeof(want), "events: seq 5 created %s, which is not stored", gone.job_arn);
    assert_non_null(strstr(report, want));
    assert_non_null(strstr(report, "events: seq 7: no jobArn in its JSON"));
    /* seq 3 is older than seq 6 for the same job: only the newest counts. */
    assert_null(strstr(report, "seq 3"));
    cj_store_close(s);

    /* Only the stale version: the newest event of a is not what it serves. */
    events = raw_open(&r, dir, store_events_db_names[0]);
    for (uint64_t seq = 5; seq <= 7; seq++) {
        uint8_t key[8];
        put_be64(key, seq);
        MDB_val k = {.mv_size = 8, .mv_data = key};
        assert_int_equal(mdb_del(r.txn, events, &k, NULL), 0);
    }
    raw_close(&r);
    assert_int_equal(cj_store_open(&ro, &s), 0);
    assert_int_equal(cj_store_verify(s, report, sizeof(report)), -EUCLEAN);
    snprintf(want, sizeof(want), "events: seq 3 is not what %s serves", a.job_arn);
    assert_non_null(strstr(report, want));
    cj_store_close(s);

    test_job_free(&a);
    test_job_free(&a2);
    test_job_free(&gone);
    remove_tree(dir);
}

/* A store of schema 10 had one log, which becomes the first generation; a second is made
 * empty. meta naming a generation that is neither is damage, reported, never read past. */
static void test_log_generations_from_schema_10(void **state)
{
    char *dir = make_tmpdir();
    char report[1024];
    struct cj_store *s = open_events(dir, 10, 0, 64 * MIB);
    put_range(s, 0, 7, 0);
    cj_store_close(s);

    struct raw r;
    MDB_dbi second = raw_open(&r, dir, store_events_db_names[1]);
    assert_int_equal(mdb_drop(r.txn, second, 1), 0);
    raw_put_schema(r.txn, 10);
    raw_close(&r);
    struct cj_store_options ro = {.directory = dir, .max_size = 64 * MIB, .read_only = true};
    assert_int_equal(cj_store_open(&ro, &s), -EPROTONOSUPPORT);

    s = open_events(dir, 10, 0, 64 * MIB);
    expect_bounds(s, 1, 7);
    assert_verified(s);
    put_range(s, 100, 3, 0); /* 8..10: the first generation holds 10 and becomes the older */
    put_range(s, 200, 2, 0); /* 11..12 in the second */
    expect_bounds(s, 1, 12);
    struct seen seen = {0};
    read_all(s, 0, &seen);
    assert_int_equal(seen.n, 12);
    for (size_t i = 0; i < seen.n; i++)
        assert_true(seen.ev[i].seq == 1 + i);
    seen_free(&seen);
    assert_verified(s);
    cj_store_close(s);

    /* The checks that walk the log newest first reach into the older generation. */
    struct cj_job ghost;
    struct test_job_spec sg = spec(9999, CJ_STATUS_FAILED, TEST_BASE_NS);
    test_job_fill(&ghost, &sg);
    MDB_dbi first = raw_open(&r, dir, store_events_db_names[0]);
    raw_put_event(&r, first, 3, CJ_EVENT_CREATED, ghost.json);
    raw_close(&r);
    assert_int_equal(cj_store_open(&ro, &s), 0);
    assert_int_equal(cj_store_verify(s, report, sizeof(report)), -EUCLEAN);
    char want[512];
    snprintf(want, sizeof(want), "events: seq 3 created %s, which is not stored", ghost.job_arn);
    assert_non_null(strstr(report, want));
    cj_store_close(s);
    test_job_free(&ghost);

    MDB_dbi meta = raw_open(&r, dir, STORE_DB_META);
    uint8_t bad[8];
    put_le64(bad, 2);
    meta_put_raw(&r, meta, META_EVENTS_NEWER, bad, sizeof(bad));
    raw_close(&r);
    assert_int_equal(cj_store_open(&ro, &s), 0);
    assert_int_equal(cj_store_verify(s, report, sizeof(report)), -EUCLEAN);
    assert_non_null(strstr(report, "meta: the change log's newer generation is not 0 or 1"));
    assert_int_equal(cj_store_events_read(s, 0, 10, collect, &seen), -EUCLEAN);
    assert_int_equal(seen.n, 0);
    cj_store_close(s);
    remove_tree(dir);
}

/* The value of event `seq` as stored (malloc'd), its size in *n. */
static uint8_t *raw_event(const char *dir, uint64_t seq, size_t *n)
{
    struct raw r;
    MDB_dbi events = raw_open(&r, dir, store_events_db_names[0]);
    uint8_t key[8];
    put_be64(key, seq);
    MDB_val k = {.mv_size = 8, .mv_data = key}, v;
    assert_int_equal(mdb_get(r.txn, events, &k, &v), 0);
    uint8_t *copy = malloc(v.mv_size);
    assert_non_null(copy);
    memcpy(copy, v.mv_data, v.mv_size);
    *n = v.mv_size;
    mdb_txn_abort(r.txn);
    mdb_env_close(r.env);
    return copy;
}

static void raw_put_event_bytes(const char *dir, uint64_t seq, const void *value, size_t n)
{
    struct raw r;
    MDB_dbi events = raw_open(&r, dir, store_events_db_names[0]);
    uint8_t key[8];
    put_be64(key, seq);
    MDB_val k = {.mv_size = 8, .mv_data = key}, v = {.mv_size = n, .mv_data = (void *)value};
    assert_int_equal(mdb_put(r.txn, events, &k, &v, 0), 0);
    raw_close(&r);
}

/* A job's newest event holds its jobArn and refers to the row; the event before it holds the
 * JSON the row had, copied when the row changed; a removal holds the JSON. A trimmed event
 * leaves its seq in the row, and the row's next change finds nothing to copy. The checker
 * holds both sides: an event that refers to a row naming another event, a referring event
 * that is not its job's newest, a row naming an event that is missing or past the newest. */
static void test_events_refer_to_rows(void **state)
{
    char *dir = make_tmpdir();
    char report[2048], want[512];
    struct cj_store *s = open_events(dir, 0, 0, 64 * MIB);
    struct cj_job a, a2, b, c;
    struct test_job_spec sa = spec(1, CJ_STATUS_IN_PROGRESS, TEST_BASE_NS);
    struct test_job_spec sb = spec(2, CJ_STATUS_FAILED, TEST_BASE_NS + 1);
    struct test_job_spec sc = spec(3, CJ_STATUS_COMPLETED, TEST_BASE_NS + 2);
    test_job_fill(&a, &sa);
    test_job_fill(&b, &sb);
    test_job_fill(&c, &sc);
    sa.status = CJ_STATUS_COMPLETED;
    test_job_fill(&a2, &sa);
    put_one(s, &a, NULL);                               /* 1 */
    put_one(s, &b, NULL);                               /* 2 */
    put_one(s, &a2, NULL);                              /* 3 */
    assert_int_equal(cj_store_remove(s, b.job_arn), 0); /* 4 */
    put_one(s, &c, NULL);                               /* 5 */
    assert_verified(s);
    cj_store_close(s);

    size_t n;
    uint8_t *v = raw_event(dir, 3, &n); /* a's newest: its jobArn */
    assert_int_equal(v[0], CJ_EVENT_UPDATED | EVENT_REFERS);
    assert_int_equal(n, 1 + strlen(a.job_arn));
    assert_memory_equal(v + 1, a.job_arn, n - 1);
    free(v);
    v = raw_event(dir, 1, &n); /* a's creation: the JSON of then */
    assert_int_equal(v[0], CJ_EVENT_CREATED);
    assert_int_equal(n, 1 + strlen(a.json));
    assert_memory_equal(v + 1, a.json, n - 1);
    free(v);
    for (uint64_t seq = 2; seq <= 4; seq += 2) { /* b's creation and removal */
        v = raw_event(dir, seq, &n);
        assert_int_equal(v[0], seq == 2 ? CJ_EVENT_CREATED : CJ_EVENT_REMOVED);
        assert_int_equal(n, 1 + strlen(b.json));
        free(v);
    }

    /* Damage: event 1 refers to a's row (which names 3): it is not a's newest; event 5 is
     * made to refer to a's row, which names event 3. */
    uint8_t ref[1 + CJ_JOB_ARN_MAX];
    ref[0] = CJ_EVENT_CREATED | EVENT_REFERS;
    memcpy(ref + 1, a.job_arn, strlen(a.job_arn));
    raw_put_event_bytes(dir, 1, ref, 1 + strlen(a.job_arn));
    raw_put_event_bytes(dir, 5, ref, 1 + strlen(a.job_arn));
    struct cj_store_options ro = {.directory = dir, .max_size = 64 * MIB, .read_only = true};
    assert_int_equal(cj_store_open(&ro, &s), 0);
    assert_int_equal(cj_store_verify(s, report, sizeof(report)), -EUCLEAN);
    snprintf(want, sizeof(want), "events: seq 5 refers to the row of %s, which names another event",
             a.job_arn);
    assert_non_null(strstr(report, want));
    snprintf(want, sizeof(want), "events: seq 3 refers to the row of %s, but is not its newest",
             a.job_arn);
    assert_non_null(strstr(report, want));
    snprintf(want, sizeof(want), "%s: names event 5, which does not refer to it", c.job_arn);
    assert_non_null(strstr(report, want));
    /* A reader refuses the event whose row names another instead of serving that row. */
    struct seen seen = {0};
    assert_int_equal(cj_store_events_read(s, 0, 100, collect, &seen), -EUCLEAN);
    seen_free(&seen);
    cj_store_close(s);

    /* A row naming an event past the newest seq handed out, and one whose event is missing. */
    {
        struct raw r;
        MDB_dbi events = raw_open(&r, dir, store_events_db_names[0]);
        uint8_t key[8];
        put_be64(key, 5);
        MDB_val k = {.mv_size = 8, .mv_data = key};
        assert_int_equal(mdb_del(r.txn, events, &k, NULL), 0);
        put_be64(key, 3);
        assert_int_equal(mdb_del(r.txn, events, &k, NULL), 0);
        MDB_dbi meta;
        uint8_t last[8];
        put_le64(last, 4);
        assert_int_equal(mdb_dbi_open(r.txn, STORE_DB_META, 0, &meta), 0);
        MDB_val mk = {.mv_size = strlen(META_LAST_SEQ), .mv_data = META_LAST_SEQ};
        MDB_val mv = {.mv_size = sizeof(last), .mv_data = last};
        assert_int_equal(mdb_put(r.txn, meta, &mk, &mv, 0), 0);
        raw_close(&r);
    }
    assert_int_equal(cj_store_open(&ro, &s), 0);
    assert_int_equal(cj_store_verify(s, report, sizeof(report)), -EUCLEAN);
    snprintf(want, sizeof(want), "%s: names event 5, past the newest seq 4", c.job_arn);
    assert_non_null(strstr(report, want));
    snprintf(want, sizeof(want), "%s: names event 3, which is missing", a.job_arn);
    assert_non_null(strstr(report, want));
    cj_store_close(s);
    remove_tree(dir);

    /* Trimmed: a log of 2 events; a's creation (event 1) goes, then a changes. */
    dir = make_tmpdir();
    s = open_events(dir, 2, 0, 64 * MIB);
    put_one(s, &a, NULL); /* 1 */
    put_one(s, &b, NULL); /* 2 */
    put_one(s, &c, NULL); /* 3: 1 trimmed, a's row names it still */
    assert_verified(s);
    put_one(s, &a2, NULL); /* 4: nothing to copy into 1 */
    read_all(s, 0, &seen);
    assert_int_equal(seen.n, 2);
    expect_event(&seen, 0, 3, CJ_EVENT_CREATED, &c);
    expect_event(&seen, 1, 4, CJ_EVENT_UPDATED, &a2);
    seen_free(&seen);
    assert_verified(s);
    cj_store_close(s);
    remove_tree(dir);

    test_job_free(&a);
    test_job_free(&a2);
    test_job_free(&b);
    test_job_free(&c);
}

/* ---- random operations against a model of the jobs ---- */

#define MODEL_JOBS 40

struct model_job {
    bool present;
    enum cj_status status;
    unsigned rev;
};

struct expected {
    enum cj_event_type type;
    char *json;
};

static unsigned page_rev(const struct cj_job *j)
{
    const char *r = strstr(j->json, "\"rev\":");
    assert_non_null(r);
    return (unsigned)strtoul(r + 6, NULL, 10);
}

static void job_for(struct cj_job *j, unsigned id, enum cj_status st, unsigned rev)
{
    struct test_job_spec sp = spec(id, st, TEST_BASE_NS + (int64_t)id * 7);
    sp.rev = rev;
    test_job_fill(j, &sp);
}

/* The events since *next_seq must be exactly exp[0..n): checks and advances. */
static void expect_new_events(struct cj_store *s, uint64_t *next_seq, struct expected *exp,
                              size_t n)
{
    struct seen seen = {0};
    read_all(s, *next_seq - 1, &seen);
    if (seen.n != n)
        fail_msg("%zu new events, want %zu (from seq %" PRIu64 ")", seen.n, n, *next_seq);
    for (size_t i = 0; i < n; i++) {
        assert_true(seen.ev[i].seq == *next_seq + i);
        assert_int_equal(seen.ev[i].type, exp[i].type);
        assert_string_equal(seen.ev[i].json, exp[i].json);
        free(exp[i].json);
    }
    *next_seq += n;
    seen_free(&seen);
}

static int cmp_arn_of_ids(const void *a, const void *b)
{
    char x[128], y[128];
    unsigned i = *(const unsigned *)a, k = *(const unsigned *)b;
    snprintf(x, sizeof(x), "arn:aws:bedrock:us-east-1:%s:model-copy-job/%012u",
             test_accounts[i % 5], i);
    snprintf(y, sizeof(y), "arn:aws:bedrock:us-east-1:%s:model-copy-job/%012u",
             test_accounts[k % 5], k);
    return strcmp(x, y);
}

static void test_random_operations_against_model(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = open_events(dir, 0, 0, 64 * MIB);
    struct model_job m[MODEL_JOBS] = {0};
    struct expected exp[2 * MODEL_JOBS];
    struct calls calls = {0};
    uint64_t next_seq = 1;
    unsigned commits = 0;
    prng_state = 4242;
    cj_store_set_change_callback(s, on_change, &calls);

    for (unsigned op = 0; op < 400; op++) {
        size_t n = 0;
        unsigned kind = prng_below(10);
        if (kind < 6) {
            /* A page of up to 6 jobs, sometimes the same one twice. */
            struct cj_job page[6];
            unsigned k = 1 + prng_below(6), ids[6];
            for (unsigned i = 0; i < k; i++)
                ids[i] = prng_below(MODEL_JOBS);
            for (unsigned i = 0; i < k; i++) {
                unsigned id = ids[i];
                enum cj_status st = prng_below(4) == 0 ? prng_below(3) : m[id].status;
                unsigned rev = prng_below(3) == 0 ? m[id].rev + 1 : m[id].rev;
                job_for(&page[i], id, st, rev);
            }
            /* Written, and logged, in key order: a job's time grows with its id, and a job
             * listed twice keeps the page's order. */
            unsigned order[6];
            for (unsigned i = 0; i < k; i++) {
                unsigned j = i;
                for (; j > 0 && ids[order[j - 1]] > ids[i]; j--)
                    order[j] = order[j - 1];
                order[j] = i;
            }
            for (unsigned o = 0; o < k; o++) {
                unsigned i = order[o], id = ids[i];
                enum cj_status st = page[i].status;
                unsigned rev = page_rev(&page[i]);
                if (!m[id].present || m[id].status != st || m[id].rev != rev) {
                    exp[n].type = m[id].present ? CJ_EVENT_UPDATED : CJ_EVENT_CREATED;
                    exp[n++].json = strdup(page[i].json);
                }
                m[id] = (struct model_job){.present = true, .status = st, .rev = rev};
            }
            assert_int_equal(cj_store_put_jobs(s, "us-east-1", NULL, page, k, NULL), 0);
            for (unsigned i = 0; i < k; i++)
                test_job_free(&page[i]);
        } else if (kind < 9) {
            unsigned id = prng_below(MODEL_JOBS);
            struct cj_job j;
            job_for(&j, id, m[id].status, m[id].rev);
            assert_int_equal(cj_store_remove(s, j.job_arn), m[id].present ? 0 : -ENOENT);
            if (m[id].present) {
                exp[n].type = CJ_EVENT_REMOVED;
                exp[n++].json = strdup(j.json);
                m[id].present = false;
            }
            test_job_free(&j);
        } else {
            /* Two complete full passes that see the same two thirds of the present jobs: the
             * first notes the others as missed, the second removes them. */
            struct cj_store_pass *p;
            unsigned gone[MODEL_JOBS], n_gone = 0;
            bool is_gone[MODEL_JOBS] = {false};
            for (unsigned id = 0; id < MODEL_JOBS; id++)
                if (m[id].present && prng_below(3) == 0) {
                    gone[n_gone++] = id;
                    is_gone[id] = true;
                }
            for (int round = 0; round < 2; round++) {
                assert_int_equal(cj_store_pass_begin(s, "us-east-1", &p), 0);
                assert_int_equal(cj_store_pass_set_removal_limit(p, 10000), 0);
                for (unsigned id = 0; id < MODEL_JOBS; id++) {
                    if (!m[id].present || is_gone[id])
                        continue;
                    struct cj_job j;
                    job_for(&j, id, m[id].status, m[id].rev);
                    assert_int_equal(cj_store_put_jobs(s, "us-east-1", p, &j, 1, NULL),
                                     0); /* unchanged */
                    test_job_free(&j);
                }
                assert_int_equal(cj_store_pass_finish(s, p, true, TEST_BASE_NS + op, NULL), 0);
                cj_store_pass_free(p);
            }
            /* Removed in the order of the jobs table: by jobArn. */
            qsort(gone, n_gone, sizeof(*gone), cmp_arn_of_ids);
            for (unsigned i = 0; i < n_gone; i++) {
                struct cj_job j;
                job_for(&j, gone[i], m[gone[i]].status, m[gone[i]].rev);
                exp[n].type = CJ_EVENT_REMOVED;
                exp[n++].json = strdup(j.json);
                m[gone[i]].present = false;
                test_job_free(&j);
            }
        }
        if (n > 0)
            commits++;
        assert_int_equal(calls.n, commits);
        expect_new_events(s, &next_seq, exp, n);
        if (op % 50 == 0)
            assert_verified(s);
    }
    assert_true(next_seq > 300); /* the operations did change things */
    assert_verified(s);
    cj_store_close(s);
    remove_tree(dir);
}

int main(void)
{
    cj_log_set_max_level(LOG_WARNING);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_each_kind_in_order_and_reopen),
        cmocka_unit_test(test_trim_read_after_and_max),
        cmocka_unit_test(test_change_callback),
        cmocka_unit_test(test_no_events_from_aborted_transactions),
        cmocka_unit_test(test_schema_migration_and_wipe_keep_the_sequence),
        cmocka_unit_test(test_log_generations_from_schema_10),
        cmocka_unit_test(test_store_id),
        cmocka_unit_test(test_verify_detects_log_damage),
        cmocka_unit_test(test_verify_log_agrees_with_rows),
        cmocka_unit_test(test_events_refer_to_rows),
        cmocka_unit_test(test_random_operations_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
