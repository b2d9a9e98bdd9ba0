/* SPDX-License-Identifier: MIT */
/* The LMDB store: opening, the schema check, writes and counters, the full pass, map
 * growth, the consistency checker. Real LMDB in a temp directory. */
#include <sys/wait.h>

#include "test-store-util.h"

#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* The model hash is stored in every row and idx_model key: its value may never change. */
static void test_stored_hashes_stable(void **state)
{
    static const char arn[] = "arn:aws:bedrock:us-east-1:123456789012:custom-model/m1";
    assert_true(store_model_hash(arn, sizeof(arn) - 1) == UINT64_C(0x699f8d642ea05e19));
}

/* The jobArn hash is never stored, only compared within a process: it must tell apart
 * jobArns that differ in one byte anywhere, or only in length. */
static void test_job_hash_distinguishes(void **state)
{
    char a[80], b[80];
    for (size_t len = 1; len <= sizeof(a); len++) {
        memset(a, 'x', len);
        uint64_t h = store_job_hash(a, len);
        assert_true(h == store_job_hash(a, len));
        if (len > 1)
            assert_true(h != store_job_hash(a, len - 1));
        for (size_t i = 0; i < len; i++) {
            memcpy(b, a, len);
            b[i] = 'y';
            assert_true(h != store_job_hash(b, len));
        }
    }
}

static void test_open_reopen(void **state)
{
    char *tmp = make_tmpdir();
    char dir[512], path[600];
    struct stat st;
    snprintf(dir, sizeof(dir), "%s/state", tmp);

    struct cj_store *s = open_store_at(dir, 0, 64 * MIB);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_verified(s);

    struct cj_job j;
    struct test_job_spec sp = spec(7, CJ_STATUS_COMPLETED, TEST_BASE_NS);
    test_job_fill(&j, &sp);
    put_one(s, &j, NULL);
    assert_int_equal(cj_store_set_synced_at(s, "us-east-1", TEST_BASE_NS + 5), 0);
    cj_store_close(s);

    s = open_store_at(dir, 0, 64 * MIB);
    struct cj_buf b = {0};
    assert_int_equal(cj_store_get(s, j.job_arn, &b), 0);
    assert_int_equal(b.len, j.json_len);
    assert_memory_equal(b.data, j.json, j.json_len);
    struct cj_store_stats stats;
    assert_int_equal(cj_store_stats(s, &stats), 0);
    assert_int_equal(stats.total, 1);
    assert_int_equal(stats.by_status[CJ_STATUS_COMPLETED], 1);
    assert_true(stats.synced_at_ns == TEST_BASE_NS + 5);
    assert_verified(s);
    cj_store_close(s);

    /* Read-only: reads work, writes are refused. */
    struct cj_store_options o = {.directory = dir, .max_size = 64 * MIB, .read_only = true};
    assert_int_equal(cj_store_open(&o, &s), 0);
    cj_buf_reset(&b);
    assert_int_equal(cj_store_get(s, j.job_arn, &b), 0);
    assert_int_equal(cj_store_put_jobs(s, "us-east-1", NULL, &j, 1, NULL), -EROFS);
    assert_int_equal(cj_store_remove(s, j.job_arn), -EROFS);
    cj_store_close(s);

    /* A missing directory is not created read-only. */
    snprintf(path, sizeof(path), "%s/absent", tmp);
    o.directory = path;
    assert_true(cj_store_open(&o, &s) < 0);

    cj_buf_free(&b);
    test_job_free(&j);
    remove_tree(tmp);
}

/* Symlinks: followed to a private directory of ours (what systemd's DynamicUser= makes of
 * StateDirectory=), refused when they lead anywhere else. */
static void test_open_symlinked_directory(void **state)
{
    char *tmp = make_tmpdir();
    char private_dir[512], open_dir[512], link[600];
    struct cj_store_options o = {.max_size = 64 * MIB};
    struct cj_store *s = NULL;

    snprintf(private_dir, sizeof(private_dir), "%s/private", tmp);
    snprintf(open_dir, sizeof(open_dir), "%s/open", tmp);
    assert_int_equal(mkdir(private_dir, 0700), 0);
    assert_int_equal(mkdir(open_dir, 0700), 0);
    assert_int_equal(chmod(open_dir, 0755), 0);

    snprintf(link, sizeof(link), "%s/state", tmp);
    assert_int_equal(symlink("private", link), 0);
    o.directory = link;
    assert_int_equal(cj_store_open(&o, &s), 0);
    assert_verified(s);
    cj_store_close(s);

    snprintf(link, sizeof(link), "%s/to-open", tmp);
    assert_int_equal(symlink("open", link), 0);
    o.directory = link;
    assert_int_equal(cj_store_open(&o, &s), -ELOOP);
    snprintf(link, sizeof(link), "%s/open/data.mdb", tmp);
    assert_int_equal(access(link, F_OK), -1); /* nothing written through the link */

    snprintf(link, sizeof(link), "%s/dangling", tmp);
    assert_int_equal(symlink("nowhere", link), 0);
    o.directory = link;
    assert_true(cj_store_open(&o, &s) < 0);

    snprintf(link, sizeof(link), "%s/file", tmp);
    FILE *f = fopen(link, "w");
    assert_non_null(f);
    fclose(f);
    o.directory = link;
    assert_int_equal(cj_store_open(&o, &s), -ENOTDIR);

    remove_tree(tmp);
}

/* A plain store directory: like sshd's StrictModes, refused when group or others may write
 * into it or when someone other than us or root owns it; nothing is created in a refused one. */
static void test_open_directory_owner_and_mode(void **state)
{
    char *tmp = make_tmpdir();
    char dir[512], probe[600];
    struct cj_store_options o = {.max_size = 64 * MIB, .directory = dir};
    struct cj_store *s = NULL;

    snprintf(dir, sizeof(dir), "%s/state", tmp);
    snprintf(probe, sizeof(probe), "%s/data.mdb", dir);
    assert_int_equal(mkdir(dir, 0700), 0);

    static const mode_t refused[] = {0770, 0707, 0775, 0757, 0777, 01777, 0720, 0702};
    for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
        assert_int_equal(chmod(dir, refused[i]), 0);
        assert_int_equal(cj_store_open(&o, &s), -EPERM);
        o.read_only = true;
        assert_int_equal(cj_store_open(&o, &s), -EPERM);
        o.read_only = false;
        assert_int_equal(access(probe, F_OK), -1);
    }

    /* Readable by others is the operator's choice; writable is not. */
    static const mode_t accepted[] = {0700, 0750, 0755, 0711};
    for (size_t i = 0; i < ELEMENTSOF(accepted); i++) {
        assert_int_equal(chmod(dir, accepted[i]), 0);
        assert_int_equal(cj_store_open(&o, &s), 0);
        cj_store_close(s);
    }

    /* Owned by another user: only root can set that up. */
    if (geteuid() == 0) {
        assert_int_equal(chmod(dir, 0700), 0);
        assert_int_equal(chown(dir, 65534, 65534), 0);
        assert_int_equal(cj_store_open(&o, &s), -EPERM);
        assert_int_equal(chown(dir, 0, 65534), 0);
        assert_int_equal(cj_store_open(&o, &s), 0);
        cj_store_close(s);
    }
    remove_tree(tmp);
}

static void write_schema(const char *dir, const uint8_t *v, size_t n)
{
    struct raw r;
    MDB_dbi dbi = raw_open(&r, dir, STORE_DB_META);
    MDB_val k = {.mv_size = strlen(META_SCHEMA_VERSION), .mv_data = META_SCHEMA_VERSION};
    MDB_val val = {.mv_size = n, .mv_data = (void *)v};
    if (v)
        assert_int_equal(mdb_put(r.txn, dbi, &k, &val, 0), 0);
    else
        assert_int_equal(mdb_del(r.txn, dbi, &k, NULL), 0);
    raw_close(&r);
}

static struct cj_store *store_with_jobs(const char *dir, unsigned n)
{
    struct cj_store *s = open_store_at(dir, 0, 64 * MIB);
    for (unsigned i = 0; i < n; i++) {
        struct cj_job j;
        struct test_job_spec sp = spec(i, i % 3, TEST_BASE_NS + i);
        test_job_fill(&j, &sp);
        put_one(s, &j, NULL);
        test_job_free(&j);
    }
    return s;
}

static void test_schema_versions(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = store_with_jobs(dir, 10);
    assert_int_equal(committed_total(s), 10);
    cj_store_close(s);

    /* Newer: refused, and left untouched. */
    const uint8_t newer[4] = {CJ_STORE_SCHEMA_VERSION + 1, 0, 0, 0};
    write_schema(dir, newer, sizeof(newer));
    struct cj_store_options o = {.directory = dir, .max_size = 64 * MIB};
    assert_int_equal(cj_store_open(&o, &s), -EPROTONOSUPPORT);
    o.read_only = true;
    assert_int_equal(cj_store_open(&o, &s), -EPROTONOSUPPORT);

    /* Older: wiped, usable, refilled later. */
    const uint8_t older[4] = {0, 0, 0, 0};
    write_schema(dir, older, sizeof(older));
    s = open_store_at(dir, 0, 64 * MIB);
    assert_int_equal(committed_total(s), 0);
    assert_verified(s);
    cj_store_close(s);

    /* No version but data: wiped too. */
    s = store_with_jobs(dir, 4);
    assert_int_equal(committed_total(s), 4);
    cj_store_close(s);
    write_schema(dir, NULL, 0);
    s = open_store_at(dir, 0, 64 * MIB);
    assert_int_equal(committed_total(s), 0);
    assert_verified(s);
    cj_store_close(s);
    remove_tree(dir);
}

static void test_put_update_unchanged_remove(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = open_store_at(dir, 0, 64 * MIB);
    struct cj_store_changes ch = {0};
    struct cj_store_stats st;
    struct cj_job a, b, a2;
    struct test_job_spec sa = spec(1, CJ_STATUS_IN_PROGRESS, TEST_BASE_NS + 100);
    struct test_job_spec sb = spec(2, CJ_STATUS_FAILED, TEST_BASE_NS - 50);
    test_job_fill(&a, &sa);
    test_job_fill(&b, &sb);

    assert_int_equal(cj_store_stats(s, &st), 0);
    assert_int_equal(st.total, 0);
    assert_true(st.oldest_ns == 0 && st.newest_ns == 0 && st.synced_at_ns == 0);

    put_one(s, &a, &ch);
    assert_verified(s);
    put_one(s, &b, &ch);
    assert_verified(s);
    assert_int_equal(ch.created, 2);
    put_one(s, &a, &ch);
    assert_int_equal(ch.unchanged, 1);
    assert_int_equal(ch.updated, 0);

    assert_int_equal(cj_store_stats(s, &st), 0);
    assert_int_equal(st.total, 2);
    assert_int_equal(st.by_status[CJ_STATUS_IN_PROGRESS], 1);
    assert_int_equal(st.by_status[CJ_STATUS_FAILED], 1);
    assert_true(st.oldest_ns == TEST_BASE_NS - 50);
    assert_true(st.newest_ns == TEST_BASE_NS + 100);

    /* The same job completes, a served byte changes, and its time moves: every index and
     * counter follows. */
    sa.status = CJ_STATUS_COMPLETED;
    sa.creation_ns = TEST_BASE_NS + 200;
    sa.rev = 1;
    test_job_fill(&a2, &sa);
    put_one(s, &a2, &ch);
    assert_int_equal(ch.updated, 1);
    assert_verified(s);
    assert_int_equal(cj_store_stats(s, &st), 0);
    assert_int_equal(st.total, 2);
    assert_int_equal(st.by_status[CJ_STATUS_IN_PROGRESS], 0);
    assert_int_equal(st.by_status[CJ_STATUS_COMPLETED], 1);
    assert_true(st.newest_ns == TEST_BASE_NS + 200);
    struct cj_buf buf = {0};
    assert_int_equal(cj_store_get(s, a.job_arn, &buf), 0);
    assert_string_equal(buf.data, a2.json);

    /* Only the served bytes differ (rev): updated, indexes unchanged. */
    sa.rev = 2;
    test_job_free(&a2);
    test_job_fill(&a2, &sa);
    put_one(s, &a2, &ch);
    assert_int_equal(ch.updated, 2);
    assert_verified(s);

    /* A page with the same job twice and a bad job: the bad one refuses the page. */
    struct cj_job page[3];
    struct test_job_spec sc = spec(3, CJ_STATUS_FAILED, TEST_BASE_NS);
    test_job_fill(&page[0], &sc);
    sc.rev = 9;
    test_job_fill(&page[1], &sc);
    test_job_fill(&page[2], &sc);
    page[2].status = (enum cj_status)7;
    assert_int_equal(cj_store_put_jobs(s, "us-east-1", NULL, page, 3, &ch), -EINVAL);
    assert_int_equal(committed_total(s), 2);
    struct cj_store_changes ch2 = {0};
    assert_int_equal(cj_store_put_jobs(s, "us-east-1", NULL, page, 2, &ch2), 0);
    assert_int_equal(ch2.created, 1);
    assert_int_equal(ch2.updated, 1);
    cj_buf_reset(&buf);
    assert_int_equal(cj_store_get(s, page[1].job_arn, &buf), 0);
    assert_string_equal(buf.data, page[1].json);
    assert_verified(s);

    assert_int_equal(cj_store_remove(s, b.job_arn), 0);
    assert_int_equal(cj_store_remove(s, b.job_arn), -ENOENT);
    assert_int_equal(cj_store_get(s, b.job_arn, &buf), -ENOENT);
    assert_int_equal(cj_store_remove(s, "arn:nope"), -ENOENT);
    assert_verified(s);
    assert_int_equal(cj_store_stats(s, &st), 0);
    assert_int_equal(st.total, 2);
    assert_int_equal(st.by_status[CJ_STATUS_FAILED], 1);
    assert_true(st.oldest_ns == TEST_BASE_NS);

    for (int i = 0; i < 3; i++)
        test_job_free(&page[i]);
    cj_buf_free(&buf);
    test_job_free(&a);
    test_job_free(&a2);
    test_job_free(&b);
    cj_store_close(s);
    remove_tree(dir);
}

static void test_pass_reconciliation(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = store_with_jobs(dir, 100);
    struct cj_store_pass *p, *p2;
    struct cj_store_changes ch = {0};
    struct cj_store_stats st;

    /* An interrupted pass removes nothing and records nothing. */
    assert_int_equal(cj_store_pass_begin(s, "us-east-1", &p), 0);
    assert_int_equal(cj_store_pass_begin(s, "us-east-1", &p2), -EBUSY);
    assert_int_equal(cj_store_pass_finish(s, p, false, TEST_BASE_NS, &ch), 0);
    assert_int_equal(cj_store_pass_finish(s, p, true, TEST_BASE_NS, &ch), -EALREADY);
    cj_store_pass_free(p);
    assert_int_equal(ch.removed, 0);
    assert_int_equal(cj_store_stats(s, &st), 0);
    assert_int_equal(st.total, 100);
    assert_true(st.synced_at_ns == 0);

    /* Two complete passes in a row that see the even jobs (in pages), while a quick sync
     * writes job 1 and a new job 500: those count as seen. The first only notes the odd
     * ones as missed; the second removes them (the guard let through: a test of its own). */
    struct cj_job page[10];
    for (int round = 0; round < 2; round++) {
        assert_int_equal(cj_store_pass_begin(s, "us-east-1", &p), 0);
        assert_int_equal(cj_store_pass_set_removal_limit(p, 10000), 0);
        size_t n = 0;
        ch = (struct cj_store_changes){0};
        for (unsigned i = 0; i < 100; i += 2) {
            struct test_job_spec sp = spec(i, i % 3, TEST_BASE_NS + i);
            test_job_fill(&page[n++], &sp);
            if (n == ELEMENTSOF(page) || i == 98) {
                assert_int_equal(cj_store_put_jobs(s, "us-east-1", p, page, n, &ch), 0);
                for (size_t k = 0; k < n; k++)
                    test_job_free(&page[k]);
                n = 0;
            }
        }
        assert_int_equal(ch.unchanged, 50);
        struct test_job_spec q1 = spec(1, 1, TEST_BASE_NS + 1), q500 = spec(500, 0, TEST_BASE_NS);
        test_job_fill(&page[0], &q1);
        test_job_fill(&page[1], &q500);
        assert_int_equal(cj_store_put_jobs(s, "us-east-1", NULL, page, 2, &ch), 0);
        assert_int_equal(cj_store_pass_finish(s, p, true, TEST_BASE_NS + 42, &ch), 0);
        struct cj_store_pass_result res;
        cj_store_pass_get_result(p, &res);
        cj_store_pass_free(p);
        assert_int_equal(ch.removed, round == 0 ? 0 : 49);
        assert_int_equal(res.removed, round == 0 ? 0 : 49);
        assert_int_equal(res.missed, round == 0 ? 49 : 0);
        assert_int_equal(res.held, 0);
        assert_int_equal(res.total, 101);
        assert_verified(s);
        if (round == 0) {
            assert_int_equal(committed_total(s), 101);
            test_job_free(&page[0]);
            test_job_free(&page[1]);
        }
    }
    assert_int_equal(cj_store_stats(s, &st), 0);
    assert_int_equal(st.total, 52);
    assert_true(st.synced_at_ns == TEST_BASE_NS + 42);
    struct cj_buf b = {0};
    assert_int_equal(cj_store_get(s, page[0].job_arn, &b), 0);
    assert_int_equal(cj_store_get(s, page[1].job_arn, &b), 0);
    for (unsigned i = 0; i < 100; i++) {
        struct cj_job j;
        struct test_job_spec sp = spec(i, i % 3, TEST_BASE_NS + i);
        test_job_fill(&j, &sp);
        assert_int_equal(cj_store_get(s, j.job_arn, &b), i % 2 == 0 || i == 1 ? 0 : -ENOENT);
        test_job_free(&j);
    }
    test_job_free(&page[0]);
    test_job_free(&page[1]);

    /* Two empty complete passes remove everything (without the guard); a pass outliving the
     * store is harmless. */
    for (int round = 0; round < 2; round++) {
        assert_int_equal(cj_store_pass_begin(s, "us-east-1", &p), 0);
        assert_int_equal(cj_store_pass_set_removal_limit(p, 10000), 0);
        assert_int_equal(cj_store_pass_finish(s, p, true, TEST_BASE_NS + 43, &ch), 0);
        cj_store_pass_free(p);
        assert_int_equal(committed_total(s), round == 0 ? 52 : 0);
    }
    assert_verified(s);
    assert_int_equal(cj_store_pass_begin(s, "us-east-1", &p), 0);
    cj_store_close(s);
    cj_store_pass_free(p);

    cj_buf_free(&b);
    remove_tree(dir);
}

static void test_map_growth_and_ceiling(void **state)
{
    char *dir = make_tmpdir();
    const uint64_t initial = 128 * 1024, max = 2 * MIB;
    struct cj_store *s = open_store_at(dir, initial, max);
    struct cj_store_stats st;
    unsigned stored = 0;
    int r = 0;

    assert_int_equal(cj_store_stats(s, &st), 0);
    assert_true(st.map_size == initial);

    /* Pages of 20 jobs of ~1 KiB until the ceiling: ~2,000 jobs at most. */
    for (unsigned page = 0; page < 200 && r == 0; page++) {
        struct cj_job jobs[20];
        for (unsigned i = 0; i < 20; i++) {
            struct test_job_spec sp = spec(page * 20 + i, i % 3, TEST_BASE_NS + page * 20 + i);
            test_job_fill(&jobs[i], &sp);
            char *big = NULL;
            assert_true(asprintf(&big, "%.*s,\"pad\":\"%0900d\"}", (int)jobs[i].json_len - 1,
                                 jobs[i].json, 0) > 0);
            free(jobs[i].json);
            jobs[i].json = big;
            jobs[i].json_len = strlen(big);
        }
        r = cj_store_put_jobs(s, "us-east-1", NULL, jobs, 20, NULL);
        if (r == 0)
            stored += 20;
        for (unsigned i = 0; i < 20; i++)
            test_job_free(&jobs[i]);
    }
    assert_int_equal(r, -ENOSPC);
    assert_true(stored > 100);
    assert_int_equal(cj_store_stats(s, &st), 0);
    assert_true(st.map_size > initial && st.map_size <= max);
    /* The failed page left nothing behind. */
    assert_int_equal(st.total, stored);
    assert_verified(s);
    /* Reads and removals still work at the ceiling. */
    struct cj_job j;
    struct test_job_spec sp = spec(0, 0, TEST_BASE_NS);
    test_job_fill(&j, &sp);
    assert_int_equal(cj_store_remove(s, j.job_arn), 0);
    test_job_free(&j);
    cj_store_close(s);

    /* A larger ceiling lets it grow again. */
    s = open_store_at(dir, initial, 8 * MIB);
    assert_int_equal(committed_total(s), stored - 1);
    sp = spec(100000, 0, TEST_BASE_NS);
    test_job_fill(&j, &sp);
    put_one(s, &j, NULL);
    test_job_free(&j);
    assert_verified(s);
    cj_store_close(s);
    remove_tree(dir);
}

static void test_verify_detects_damage(void **state)
{
    char *dir = make_tmpdir();
    char report[1024];
    struct cj_store *s = store_with_jobs(dir, 5);
    assert_verified(s);
    cj_store_close(s);

    /* Remove one index entry. */
    struct raw r;
    MDB_dbi dbi = raw_open(&r, dir, "idx_account");
    MDB_cursor *c;
    MDB_val k, v;
    assert_int_equal(mdb_cursor_open(r.txn, dbi, &c), 0);
    assert_int_equal(mdb_cursor_get(c, &k, &v, MDB_FIRST), 0);
    assert_int_equal(mdb_cursor_del(c, 0), 0);
    mdb_cursor_close(c);
    raw_close(&r);

    s = open_store_at(dir, 0, 64 * MIB);
    assert_int_equal(cj_store_verify(s, report, sizeof(report)), -EUCLEAN);
    assert_non_null(strstr(report, "idx_account: no entry for job"));
    assert_non_null(strstr(report, "idx_account: 4 entries for 5 jobs"));
    cj_store_close(s);

    /* Break the counters. */
    dbi = raw_open(&r, dir, STORE_DB_META);
    uint8_t counts[8 * (1 + _CJ_STATUS_MAX)] = {9};
    k = (MDB_val){.mv_size = strlen(META_COUNTS), .mv_data = META_COUNTS};
    v = (MDB_val){.mv_size = sizeof(counts), .mv_data = counts};
    assert_int_equal(mdb_put(r.txn, dbi, &k, &v, 0), 0);
    raw_close(&r);
    s = open_store_at(dir, 0, 64 * MIB);
    assert_int_equal(cj_store_verify(s, report, sizeof(report)), -EUCLEAN);
    assert_non_null(strstr(report, "meta: total 9 but 5 jobs stored"));
    /* A tiny report buffer stays terminated. */
    assert_int_equal(cj_store_verify(s, report, 8), -EUCLEAN);
    assert_true(strlen(report) < 8);
    cj_store_close(s);
    remove_tree(dir);
}

/* ---- schema 2 -> 3 -> 4 -> 5: the rows move into the time index, the keys turn newest
 * first, the jobs join sources ---- */

#define MIGRATE_JOBS 300

/* Everything a client or the next run can observe of a store, to compare across a migration. */
struct observed {
    char *lists[2 * _CJ_INDEX_MAX]; /* one query per index and order, every row */
    char *one;                      /* GetModelCopyJob of one job */
    struct cj_store_stats stats;
    uint64_t first_seq, last_seq;
    struct cj_buf events; /* every event: seq, type and JSON */
    uint8_t mac_key[CJ_STORE_MAC_KEY_SIZE];
};

static int append_event(const struct cj_store_event *ev, void *userdata)
{
    char head[64];
    snprintf(head, sizeof(head), "%" PRIu64 " %s ", ev->seq, cj_event_type_to_string(ev->type));
    assert_int_equal(cj_buf_append(userdata, head, strlen(head)), 0);
    assert_int_equal(cj_buf_append(userdata, ev->job_json, ev->job_json_len), 0);
    return cj_buf_append(userdata, "\n", 1);
}

static void observe(struct cj_store *s, const char *arn, struct observed *o)
{
    const struct cj_query queries[_CJ_INDEX_MAX] = {
        {.max_results = 1000},
        {.has_status = true, .status = CJ_STATUS_FAILED, .max_results = 1000},
        {.source_account = test_accounts[2], .max_results = 1000},
        {.source_model_arn = test_models[1], .max_results = 1000},
        {.job_region = "us-east-1", .max_results = 1000},
        {.job_account = test_accounts[2], .max_results = 1000},
    };
    struct cj_buf b = {0};
    char err[128];
    for (size_t i = 0; i < ELEMENTSOF(queries); i++)
        for (int asc = 0; asc < 2; asc++) {
            struct cj_query q = queries[i];
            q.ascending = asc;
            assert_int_equal(cj_query_plan(&q), (enum cj_index)i);
            cj_buf_reset(&b);
            assert_int_equal(cj_store_list(s, &q, &b, err, sizeof(err)), 0);
            assert_null(strstr(b.data, "nextToken")); /* all rows on the page */
            o->lists[2 * i + (size_t)asc] = strdup(b.data);
        }
    cj_buf_reset(&b);
    assert_int_equal(cj_store_get(s, arn, &b), 0);
    o->one = strdup(b.data);
    cj_buf_free(&b);
    assert_int_equal(cj_store_stats(s, &o->stats), 0);
    assert_int_equal(cj_store_events_bounds(s, &o->first_seq, &o->last_seq), 0);
    assert_true(cj_store_events_read(s, 0, SIZE_MAX, append_event, &o->events) >= 0);
    memcpy(o->mac_key, s->mac_key, sizeof(o->mac_key));
}

static void observed_free(struct observed *o)
{
    for (size_t i = 0; i < ELEMENTSOF(o->lists); i++)
        free(o->lists[i]);
    free(o->one);
    cj_buf_free(&o->events);
}

static struct cj_store *store_for_migration(const char *dir, struct cj_job *keep)
{
    struct cj_store *s = open_store_at(dir, 0, 64 * MIB);
    for (unsigned i = 0; i < MIGRATE_JOBS; i++) {
        struct cj_job j;
        /* 40 distinct times: ties, and rows inserted out of time order. */
        struct test_job_spec sp = spec(i, i % 3, TEST_BASE_NS + (int64_t)((i * 7919) % 40));
        sp.short_id = i % 7 == 5;
        test_job_fill(&j, &sp);
        put_one(s, &j, NULL);
        if (i == 17)
            *keep = j;
        else
            test_job_free(&j);
    }
    for (unsigned i = 0; i < MIGRATE_JOBS; i += 10) { /* updates and removals in the log */
        struct cj_job j;
        struct test_job_spec sp = spec(i, (i + 1) % 3, TEST_BASE_NS + (int64_t)((i * 7919) % 40));
        sp.short_id = i % 7 == 5;
        sp.rev = 1;
        test_job_fill(&j, &sp);
        if (i % 20 == 0)
            assert_int_equal(cj_store_remove(s, j.job_arn), 0);
        else
            put_one(s, &j, NULL);
        test_job_free(&j);
    }
    assert_int_equal(cj_store_set_synced_at(s, "us-east-1", TEST_BASE_NS + 123), 0);
    assert_verified(s);
    return s;
}

/* Jobs of store_for_migration whose jobArn does not pack (short_id), of those it keeps. */
static size_t migrate_whole_keys(void)
{
    size_t n = 0;
    for (unsigned i = 5; i < MIGRATE_JOBS; i += 7)
        n += i % 20 != 0;
    return n;
}

/* Schema `version` (2 to 9) rewritten from a current store, then opened: everything
 * observable is as before (the change log's events too) (the jobs are back in the source named
 * after their region, with its last sync), `jobs` keys packed but those that cannot be, and
 * the store verifies. */
/* With step_rows, schema 6 -> 7 moves and 9 -> 10 reads that many entries a transaction,
 * and with stop_after the first open stops before that step of the first of the two it runs
 * (as a crash would) and the next goes on. */
static void check_migration_steps(uint8_t version, size_t step_rows, unsigned stop_after)
{
    char *dir = make_tmpdir();
    struct cj_job keep;
    struct observed before = {0}, after = {0};
    struct cj_store *s = store_for_migration(dir, &keep);
    size_t packed, whole;
    observe(s, keep.job_arn, &before);
    assert_int_equal(before.stats.total, MIGRATE_JOBS - MIGRATE_JOBS / 20);
    cj_store_close(s);
    raw_count_jobs_keys(dir, &packed, &whole);
    assert_true(packed == before.stats.total - migrate_whole_keys() &&
                whole == migrate_whole_keys());
    raw_write_layout(dir, version);
    raw_count_jobs_keys(dir, &packed, &whole);
    assert_true(packed == 0 && whole == before.stats.total);

    /* Read-only cannot convert it, and leaves it as it was. */
    struct cj_store_options ro = {.directory = dir, .max_size = 64 * MIB, .read_only = true};
    assert_int_equal(cj_store_open(&ro, &s), -EPROTONOSUPPORT);

    if (step_rows)
        store_rekey_step_rows = step_rows;
    if (stop_after) {
        struct cj_store_options o = {.directory = dir, .max_size = 64 * MIB};
        unsigned *stop = version <= 6 ? &store_rekey_stop_after : &store_repack_stop_after;
        *stop = stop_after;
        assert_int_equal(cj_store_open(&o, &s), -EINTR);
        *stop = 0;
        /* Half way, it is still the old schema to every reader. */
        assert_int_equal(cj_store_open(&ro, &s), -EPROTONOSUPPORT);
        if (version == 9) {
            raw_count_jobs_keys(dir, &packed, &whole);
            /* Some packed (perhaps all that pack, the schema not yet recorded). */
            if (!(packed > 0 && packed + whole == before.stats.total))
                fail_msg("stopped at %u: %zu packed, %zu whole", stop_after, packed, whole);
        }
    }
    s = open_store_at(dir, 0, 64 * MIB);
    store_rekey_step_rows = STORE_REKEY_STEP_ROWS;
    assert_verified(s);
    observe(s, keep.job_arn, &after);
    for (size_t i = 0; i < ELEMENTSOF(before.lists); i++)
        assert_string_equal(after.lists[i], before.lists[i]);
    assert_string_equal(after.one, before.one);
    assert_int_equal(after.stats.total, before.stats.total);
    assert_memory_equal(after.stats.by_status, before.stats.by_status,
                        sizeof(before.stats.by_status));
    assert_true(after.stats.oldest_ns == before.stats.oldest_ns &&
                after.stats.newest_ns == before.stats.newest_ns);
    assert_true(after.stats.synced_at_ns == TEST_BASE_NS + 123);
    struct source_seen src = {0};
    assert_int_equal(cj_store_foreach_source(s, collect_source, &src), 0);
    assert_int_equal(src.n, 1);
    assert_string_equal(src.name[0], "us-east-1");
    assert_true(src.st[0].total == before.stats.total &&
                src.st[0].synced_at_ns == TEST_BASE_NS + 123);
    assert_memory_equal(src.st[0].by_status, before.stats.by_status,
                        sizeof(before.stats.by_status));
    assert_true(after.first_seq == before.first_seq && after.last_seq == before.last_seq);
    assert_true(before.events.len > 0 && after.events.len == before.events.len &&
                memcmp(after.events.data, before.events.data, before.events.len) == 0);
    assert_memory_equal(after.mac_key, before.mac_key, sizeof(before.mac_key));
    cj_store_close(s);
    raw_count_jobs_keys(dir, &packed, &whole);
    assert_true(packed == before.stats.total - migrate_whole_keys() &&
                whole == migrate_whole_keys());
    s = open_store_at(dir, 0, 64 * MIB);

    /* Writes go on in the new layout, the log's sequence too. */
    struct cj_job j;
    struct test_job_spec sp = spec(17, CJ_STATUS_COMPLETED, keep.creation_ns);
    sp.rev = 9;
    test_job_fill(&j, &sp);
    put_one(s, &j, NULL);
    test_job_free(&j);
    assert_int_equal(cj_store_remove(s, keep.job_arn), 0);
    uint64_t first, last;
    assert_int_equal(cj_store_events_bounds(s, &first, &last), 0);
    assert_true(last == before.last_seq + 2);
    assert_verified(s);
    cj_store_close(s);

    /* A second open finds this schema and changes nothing. */
    s = open_store_at(dir, 0, 64 * MIB);
    assert_int_equal(committed_total(s), before.stats.total - 1);
    assert_verified(s);
    cj_store_close(s);

    observed_free(&before);
    observed_free(&after);
    test_job_free(&keep);
    remove_tree(dir);
}

static void check_migration(uint8_t version)
{
    check_migration_steps(version, 0, 0);
}

static void test_migration_from_schema_2(void **state)
{
    check_migration(2);
}

static void test_migration_from_schema_3(void **state)
{
    check_migration(3);
}

static void test_migration_from_schema_4(void **state)
{
    check_migration(4);
}

static void test_migration_from_schema_5(void **state)
{
    check_migration(5);
}

static void test_migration_from_schema_6(void **state)
{
    check_migration(6);
}

static void test_migration_from_schema_7(void **state)
{
    check_migration(7);
}

static void test_migration_from_schema_8(void **state)
{
    check_migration(8);
}

static void test_migration_from_schema_9(void **state)
{
    check_migration(9);
}

/* Steps of 7 keys, among which the jobArns that do not pack, passed over: stopped at various
 * points, the next open goes on from where the last step ended and ends the same. */
static void test_migration_from_schema_9_in_steps(void **state)
{
    const unsigned stops[] = {1, 2, 17, 40};
    for (size_t i = 0; i < ELEMENTSOF(stops); i++)
        check_migration_steps(9, 7, stops[i]);
}

/* Steps of 7 entries: every database takes several, each phase's end falls inside a step or
 * on its edge; stopped at various points, the next open goes on and ends the same. */
static void test_migration_from_schema_6_in_steps(void **state)
{
    const unsigned stops[] = {1, 2, 9, 40, 77};
    for (size_t i = 0; i < ELEMENTSOF(stops); i++)
        check_migration_steps(6, 7, stops[i]);
    check_migration_steps(5, 7, 3); /* from 5: the steps to 6 first, in the opening one */
}

static void test_migration_of_a_damaged_row_wipes(void **state)
{
    char *dir = make_tmpdir();
    struct cj_job keep;
    struct cj_store *s = store_for_migration(dir, &keep);
    uint64_t first, last;
    assert_int_equal(cj_store_events_bounds(s, &first, &last), 0);
    cj_store_close(s);
    raw_write_v7_data(dir);
    raw_write_old_layout(dir, 2);

    /* One row of the old store that does not decode: nothing can be moved safely. */
    struct raw r;
    MDB_dbi jobs = raw_open(&r, dir, STORE_DB_JOBS);
    MDB_val k = {.mv_size = strlen(keep.job_arn), .mv_data = keep.job_arn};
    MDB_val v = {.mv_size = 5, .mv_data = "junk!"};
    assert_int_equal(mdb_put(r.txn, jobs, &k, &v, 0), 0);
    raw_close(&r);

    s = open_store_at(dir, 0, 64 * MIB);
    assert_int_equal(committed_total(s), 0);
    assert_verified(s);
    struct cj_job j;
    struct test_job_spec sp = spec(1, CJ_STATUS_FAILED, TEST_BASE_NS);
    test_job_fill(&j, &sp);
    put_one(s, &j, NULL);
    test_job_free(&j);
    uint64_t first2, last2;
    assert_int_equal(cj_store_events_bounds(s, &first2, &last2), 0);
    assert_true(last2 == last + 1); /* the sequence goes on */
    assert_verified(s);
    cj_store_close(s);
    test_job_free(&keep);
    remove_tree(dir);
}

/* Under a ceiling just above the store's size: the store is kept (migrated) or discarded, as
 * `kept` says. */
static void check_without_room(uint8_t version, bool kept)
{
    char *dir = make_tmpdir();
    struct cj_job keep;
    struct cj_store *s = store_for_migration(dir, &keep);
    uint64_t first, last;
    assert_int_equal(cj_store_events_bounds(s, &first, &last), 0);
    cj_store_close(s);
    raw_write_layout(dir, version);
    /* Packed, with a quarter of its size to grow into: no free pages, which the rewrite above
     * leaves, for a migration to use, and too little room for one that copies the rows; enough
     * for a wipe. */
    uint64_t before, after;
    assert_int_equal(cj_store_compact(dir, &before, &after), 0);

    struct cj_store_options o = {.directory = dir, .max_size = after + after / 4};
    assert_int_equal(cj_store_open(&o, &s), 0);
    assert_int_equal(committed_total(s), kept ? MIGRATE_JOBS - MIGRATE_JOBS / 20 : 0);
    assert_verified(s);
    /* The log goes on, with room to write. */
    cj_store_close(s);
    s = open_store_at(dir, 0, 64 * MIB);
    struct cj_job j;
    struct test_job_spec sp = spec(1, CJ_STATUS_FAILED, TEST_BASE_NS);
    test_job_fill(&j, &sp);
    put_one(s, &j, NULL);
    test_job_free(&j);
    uint64_t first2, last2;
    assert_int_equal(cj_store_events_bounds(s, &first2, &last2), 0);
    assert_true(last2 == last + 1);
    assert_verified(s);
    cj_store_close(s);
    test_job_free(&keep);
    remove_tree(dir);
}

static void test_migration_without_room_wipes(void **state)
{
    check_without_room(2, false);
    check_without_room(3, false);
    check_without_room(6, false);
    /* 7 -> 9 and 8 -> 9 only record the version; 9 -> 10 packs `jobs` in small steps */
    check_without_room(7, true);
    check_without_room(8, true);
    check_without_room(9, true);
}

/* Pages in use in a closed store's file. */
static size_t used_pages(const char *dir)
{
    struct raw r;
    MDB_envinfo info;
    (void)raw_open(&r, dir, STORE_DB_META);
    assert_int_equal(mdb_env_info(r.env, &info), 0);
    raw_close(&r);
    return info.me_last_pgno + 1;
}

/* The steps of schema 6 -> 7 reuse the pages the ones before them freed: the file grows by
 * about a step's rows, not by a copy of the store, as one step per database does. */
static void test_migration_from_schema_6_in_steps_needs_little_room(void **state)
{
    size_t grown[2];
    const size_t step_rows[2] = {20, 1000000};
    for (int i = 0; i < 2; i++) {
        char *dir = make_tmpdir();
        struct cj_job keep;
        cj_store_close(store_for_migration(dir, &keep));
        test_job_free(&keep);
        raw_write_layout(dir, 6);
        size_t before = used_pages(dir);
        store_rekey_step_rows = step_rows[i];
        struct cj_store *s = open_store_at(dir, 0, 64 * MIB);
        store_rekey_step_rows = STORE_REKEY_STEP_ROWS;
        assert_int_equal(committed_total(s), MIGRATE_JOBS - MIGRATE_JOBS / 20);
        cj_store_close(s);
        grown[i] = used_pages(dir) - before;
        remove_tree(dir);
    }
    if (grown[0] * 2 > grown[1])
        fail_msg("the file grew by %zu pages in steps of 20 entries, %zu in whole databases",
                 grown[0], grown[1]);
}

/* ---- the clustered layout's own invariants ---- */

static void expect_damage(const char *dir, const char *what)
{
    char report[2048];
    struct cj_store *s = open_store_at(dir, 0, 64 * MIB);
    assert_int_equal(cj_store_verify(s, report, sizeof(report)), -EUCLEAN);
    if (!strstr(report, what))
        fail_msg("report \"%s\" lacks \"%s\"", report, what);
    cj_store_close(s);
}

/* A secondary index's entries are sorted duplicates, time | jobArn | status, under the
 * prefix: verify reports one whose status is not its row's (the row it names is missing, and
 * the row's own entry too), one too short to be one, and an index that is not a database of
 * sorted duplicates. */
static void test_verify_checks_index_entries(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = store_with_jobs(dir, 5);
    assert_verified(s);
    cj_store_close(s);

    struct raw r;
    MDB_dbi dbi = raw_open(&r, dir, "idx_model");
    MDB_cursor *c;
    MDB_val k, v;
    uint8_t prefix[16], dup[INDEX_DUP_MAX];
    assert_int_equal(mdb_cursor_open(r.txn, dbi, &c), 0);
    assert_int_equal(mdb_cursor_get(c, &k, &v, MDB_FIRST), 0);
    assert_true(k.mv_size <= sizeof(prefix) && v.mv_size <= sizeof(dup) && v.mv_size > 10);
    memcpy(prefix, k.mv_data, k.mv_size);
    memcpy(dup, v.mv_data, v.mv_size);
    size_t plen = k.mv_size, dlen = v.mv_size;
    assert_int_equal(mdb_cursor_del(c, 0), 0);
    mdb_cursor_close(c);
    dup[dlen - 1] = (uint8_t)(dup[dlen - 1] + 1); /* another status */
    k = (MDB_val){.mv_size = plen, .mv_data = prefix};
    v = (MDB_val){.mv_size = dlen, .mv_data = dup};
    assert_int_equal(mdb_put(r.txn, dbi, &k, &v, 0), 0);
    v = (MDB_val){.mv_size = 3, .mv_data = dup};
    assert_int_equal(mdb_put(r.txn, dbi, &k, &v, 0), 0);
    raw_close(&r);
    /* Another status names another rows database: the entry's row is not there. */
    expect_damage(dir, "idx_model: no entry for job arn:aws:bedrock:");
    expect_damage(dir, "which is not stored");
    expect_damage(dir, "idx_model: entry of 8 and 3 bytes is not prefix, time | jobArn | status");

    /* One entry per key, as schema 6 kept them. */
    dbi = raw_open(&r, dir, "idx_model");
    assert_int_equal(mdb_drop(r.txn, dbi, 1), 0);
    assert_int_equal(mdb_dbi_open(r.txn, "idx_model", MDB_CREATE, &dbi), 0);
    raw_close(&r);
    expect_damage(dir, "idx_model: not a database of sorted duplicates");
    remove_tree(dir);
}

static void test_verify_detects_missing_rows_and_orphans(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = store_with_jobs(dir, 5);
    assert_verified(s);
    cj_store_close(s);

    /* A row missing from its rows database: its job is an orphan. The jobs are InProgress. */
    struct raw r;
    const char *rows = store_rows_db_names[CJ_STATUS_IN_PROGRESS];
    char want[256];
    MDB_dbi time_dbi = raw_open(&r, dir, rows);
    MDB_cursor *c;
    MDB_val k, v;
    uint8_t key[INDEX_KEY_MAX], row[4096];
    size_t klen, rlen;
    assert_int_equal(mdb_cursor_open(r.txn, time_dbi, &c), 0);
    assert_int_equal(mdb_cursor_get(c, &k, &v, MDB_FIRST), 0);
    assert_true(k.mv_size <= sizeof(key) && v.mv_size <= sizeof(row));
    memcpy(key, k.mv_data, klen = k.mv_size);
    memcpy(row, v.mv_data, rlen = v.mv_size);
    assert_int_equal(mdb_cursor_del(c, 0), 0);
    mdb_cursor_close(c);
    raw_close(&r);
    snprintf(want, sizeof(want), "%s: no row for job arn:aws:bedrock:", rows);
    expect_damage(dir, want);
    expect_damage(dir, "idx_account: entry for arn:aws:bedrock:");

    /* Put back, it is whole again. */
    time_dbi = raw_open(&r, dir, rows);
    k = (MDB_val){.mv_size = klen, .mv_data = key};
    v = (MDB_val){.mv_size = rlen, .mv_data = row};
    assert_int_equal(mdb_put(r.txn, time_dbi, &k, &v, 0), 0);
    raw_close(&r);
    s = open_store_at(dir, 0, 64 * MIB);
    assert_verified(s);
    cj_store_close(s);

    /* A row whose job is not in `jobs`. */
    static const char ghost[] = "arn:aws:bedrock:us-east-1:111111111111:model-copy-job/ghost";
    uint8_t gkey[8 + sizeof(ghost)];
    time_dbi = raw_open(&r, dir, rows);
    memcpy(gkey, key, 8);
    k = (MDB_val){.mv_size = 8 + put_arn_key(gkey + 8, ghost, strlen(ghost)), .mv_data = gkey};
    assert_int_equal(mdb_put(r.txn, time_dbi, &k, &v, 0), 0);
    raw_close(&r);
    snprintf(want, sizeof(want),
             "%s: row of arn:aws:bedrock:us-east-1:111111111111:model-copy-job/ghost which is not "
             "in jobs",
             rows);
    expect_damage(dir, want);
    expect_damage(dir, "rows: 6 rows for 5 jobs");
    time_dbi = raw_open(&r, dir, rows);
    assert_int_equal(mdb_del(r.txn, time_dbi, &k, NULL), 0);
    raw_close(&r);

    /* A job that points at another time than its row's. */
    MDB_dbi jobs = raw_open(&r, dir, STORE_DB_JOBS);
    uint8_t other[JOBS_VALUE_SIZE] = {0};
    char arn[CJ_JOB_ARN_MAX];
    memcpy(other, key, 8);
    other[7] ^= 1;
    other[JOBS_VALUE_SIZE_V5] = row[1]; /* the row's status */
    uint8_t kb[JOBS_KEY_PACKED];
    ssize_t arn_len = get_arn_key(key + 8, klen - 8, arn);
    assert_true(arn_len > 0);
    raw_jobs_key(r.txn, arn, (size_t)arn_len, kb, &k);
    v = (MDB_val){.mv_size = sizeof(other), .mv_data = other};
    assert_int_equal(mdb_put(r.txn, jobs, &k, &v, 0), 0);
    raw_close(&r);
    snprintf(want, sizeof(want), "%s: no row for job arn:aws:bedrock:", rows);
    expect_damage(dir, want);
    expect_damage(dir, "whose job points elsewhere");
    remove_tree(dir);
}

/* Rows of an index fetched by stepping along a rows database: a missing row (damage) is
 * skipped whether stepping finds it gone or reaches the end, in both orders. */
static void test_list_skips_entries_without_rows(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = open_store_at(dir, 0, 64 * MIB);
    enum { N = 60 };
    struct cj_job j[N];
    for (unsigned i = 0; i < N; i++) {
        /* Dense in Failed (so stepping is on); the others in between. */
        struct test_job_spec sp =
            spec(i, i % 4 ? CJ_STATUS_FAILED : CJ_STATUS_COMPLETED, TEST_BASE_NS + (int64_t)i);
        test_job_fill(&j[i], &sp);
        put_one(s, &j[i], NULL);
    }
    cj_store_close(s);

    /* Remove the rows of the Failed jobs 1 (the oldest), 30 and 59 (the newest). */
    struct raw r;
    MDB_dbi time_dbi = raw_open(&r, dir, store_rows_db_names[CJ_STATUS_FAILED]);
    const unsigned gone[] = {1, 30, 59};
    for (size_t g = 0; g < ELEMENTSOF(gone); g++) {
        uint8_t key[INDEX_KEY_MAX];
        size_t n = strlen(j[gone[g]].job_arn);
        put_time_key(key, j[gone[g]].creation_ns);
        MDB_val k = {.mv_size = 8 + put_arn_key(key + 8, j[gone[g]].job_arn, n), .mv_data = key};
        assert_int_equal(mdb_del(r.txn, time_dbi, &k, NULL), 0);
    }
    raw_close(&r);

    s = open_store_at(dir, 0, 64 * MIB);
    for (int asc = 0; asc < 2; asc++) {
        struct cj_buf out = {0}, want = {0};
        char err[128];
        assert_int_equal(cj_buf_append_str(&want, "{\"modelCopyJobSummaries\":["), 0);
        bool first = true;
        for (unsigned n = 0; n < N; n++) {
            unsigned i = asc ? n : N - 1 - n;
            if (i % 4 == 0 || i == 1 || i == 30 || i == 59)
                continue;
            if (!first)
                assert_int_equal(cj_buf_append_char(&want, ','), 0);
            first = false;
            assert_int_equal(cj_buf_append(&want, j[i].json, j[i].json_len), 0);
        }
        assert_int_equal(cj_buf_append_str(&want, "]}"), 0);
        struct cj_query q = {
            .has_status = true, .status = CJ_STATUS_FAILED, .ascending = asc, .max_results = 100};
        assert_int_equal(cj_store_list(s, &q, &out, err, sizeof(err)), 0);
        assert_string_equal(out.data, want.data);
        cj_buf_free(&out);
        cj_buf_free(&want);
    }
    cj_store_close(s);
    for (unsigned i = 0; i < N; i++)
        test_job_free(&j[i]);
    remove_tree(dir);
}

/* The size of job `arn`'s row value, read raw from a closed store. */
static size_t raw_row_size(const char *dir, const struct cj_job *j)
{
    struct raw r;
    MDB_dbi jobs = raw_open(&r, dir, STORE_DB_JOBS);
    MDB_val rv;
    raw_get_row(r.txn, jobs, j->job_arn, strlen(j->job_arn), &rv);
    size_t n = rv.mv_size;
    raw_close(&r);
    return n;
}

/* Replaces the JSON of j (test_job_fill's) with one where `from` reads `to`. */
static void json_replace(struct cj_job *j, const char *from, const char *to)
{
    char *p = strstr(j->json, from), buf[2048];
    assert_non_null(p);
    int n =
        snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(p - j->json), j->json, to, p + strlen(from));
    assert_true(n > 0 && (size_t)n < sizeof(buf));
    free(j->json);
    j->json = strdup(buf);
    assert_non_null(j->json);
    j->json_len = (size_t)n;
}

/* A row keeps no second copy of the targetModelName and sourceModelArn that its JSON holds as
 * they are; it copies them when the JSON escapes them, and the filters read either. A row of
 * an older layout holding the same job is the same job: listed again, it is unchanged. */
static void test_rows_find_name_and_model_in_their_json(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = open_store_at(dir, 0, 64 * MIB);
    struct cj_job plain, escaped;
    struct test_job_spec sp = spec(1, CJ_STATUS_COMPLETED, TEST_BASE_NS);
    test_job_fill(&plain, &sp);
    sp = spec(2, CJ_STATUS_COMPLETED, TEST_BASE_NS + 1);
    sp.name = "na\"me";
    sp.model = "arn:aws:bedrock:us-east-1:111111111111:custom-model/escaped";
    test_job_fill(&escaped, &sp);
    json_replace(&escaped, "na\"me", "na\\\"me");
    json_replace(&escaped, "custom-model/escaped", "custom-model\\/escaped");
    /* A JSON whose sourceModelArn comes before its targetModelName (the parser writes them the
     * other way round, and the model is looked for past the name): the row copies the ARN. */
    struct cj_job reordered;
    struct test_job_spec rsp = spec(3, CJ_STATUS_COMPLETED, TEST_BASE_NS + 2);
    rsp.name = "reordered-name";
    rsp.model = "arn:aws:bedrock:us-east-1:111111111111:custom-model/reordered";
    test_job_fill(&reordered, &rsp);
    json_replace(
        &reordered,
        ",\"sourceModelArn\":\"arn:aws:bedrock:us-east-1:111111111111:custom-model/reordered\"",
        "");
    json_replace(&reordered, "\"targetModelName\"",
                 "\"sourceModelArn\":\"arn:aws:bedrock:us-east-1:111111111111:custom-model/"
                 "reordered\",\"targetModelName\"");
    put_one(s, &plain, NULL);
    put_one(s, &escaped, NULL);
    put_one(s, &reordered, NULL);
    assert_verified(s);

    struct cj_query by_name = {.name_contains = "a\"m", .max_results = 10};
    struct cj_query by_model = {.source_model_arn = sp.model, .max_results = 10};
    struct cj_query plain_name = {.name_contains = plain.target_model_name, .max_results = 10};
    struct cj_buf b = {0};
    char err[128];
    struct cj_query reordered_model = {.source_model_arn = rsp.model, .max_results = 10};
    struct cj_query reordered_name = {.name_contains = "ordered-na", .max_results = 10};
    const struct cj_query *qs[] = {&by_name, &by_model, &plain_name, &reordered_model,
                                   &reordered_name};
    const struct cj_job *want[] = {&escaped, &escaped, &plain, &reordered, &reordered};
    for (size_t i = 0; i < ELEMENTSOF(qs); i++) {
        cj_buf_reset(&b);
        assert_int_equal(cj_store_list(s, qs[i], &b, err, sizeof(err)), 0);
        assert_non_null(strstr(b.data, want[i]->json));
        assert_null(strstr(b.data, want[i] == &plain ? escaped.json : plain.json));
    }
    cj_store_close(s);
    assert_int_equal(raw_row_size(dir, &plain), ROW_HEADER_SIZE + plain.json_len);
    assert_int_equal(raw_row_size(dir, &escaped),
                     ROW_HEADER_SIZE + strlen("na\"me") + strlen(sp.model) + escaped.json_len);
    assert_int_equal(raw_row_size(dir, &reordered),
                     ROW_HEADER_SIZE + strlen(rsp.model) + reordered.json_len);

    /* The rows as schema 7 wrote them: the same jobs, unchanged, no event. */
    raw_write_v7_data(dir);
    s = open_store_at(dir, 0, 64 * MIB);
    uint64_t first, last, last2;
    assert_int_equal(cj_store_events_bounds(s, &first, &last), 0);
    struct cj_store_changes ch = {0};
    put_one(s, &plain, &ch);
    put_one(s, &escaped, &ch);
    assert_true(ch.unchanged == 2 && ch.updated == 0 && ch.created == 0);
    assert_int_equal(cj_store_events_bounds(s, &first, &last2), 0);
    assert_true(last2 == last);
    cj_buf_reset(&b);
    assert_int_equal(cj_store_list(s, &by_name, &b, err, sizeof(err)), 0);
    assert_non_null(strstr(b.data, escaped.json));
    assert_verified(s);
    cj_store_close(s);

    cj_buf_free(&b);
    test_job_free(&plain);
    test_job_free(&escaped);
    test_job_free(&reordered);
    remove_tree(dir);
}

static void test_update_that_changes_creation_time(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = open_store_at(dir, 0, 64 * MIB);
    struct cj_job j[3];
    for (unsigned i = 0; i < 3; i++) {
        struct test_job_spec sp = spec(i, CJ_STATUS_FAILED, TEST_BASE_NS + 10 * (int64_t)i);
        test_job_fill(&j[i], &sp);
        put_one(s, &j[i], NULL);
    }

    /* Job 0, the oldest, comes back as the newest. */
    struct cj_job moved;
    struct test_job_spec sp = spec(0, CJ_STATUS_FAILED, TEST_BASE_NS + 100);
    test_job_fill(&moved, &sp);
    struct cj_store_changes ch = {0};
    put_one(s, &moved, &ch);
    assert_int_equal(ch.updated, 1);
    assert_verified(s);

    struct cj_store_stats st;
    assert_int_equal(cj_store_stats(s, &st), 0);
    assert_int_equal(st.total, 3);
    assert_int_equal(st.by_status[CJ_STATUS_FAILED], 3);
    assert_true(st.oldest_ns == TEST_BASE_NS + 10 && st.newest_ns == TEST_BASE_NS + 100);

    /* Each index serves it at its new time, once. */
    struct cj_buf out = {0}, want = {0};
    char err[128];
    assert_int_equal(cj_buf_append_str(&want, "{\"modelCopyJobSummaries\":["), 0);
    const struct cj_job *order[3] = {&moved, &j[2], &j[1]};
    for (size_t i = 0; i < 3; i++) {
        if (i)
            assert_int_equal(cj_buf_append_char(&want, ','), 0);
        assert_int_equal(cj_buf_append(&want, order[i]->json, order[i]->json_len), 0);
    }
    assert_int_equal(cj_buf_append_str(&want, "]}"), 0);
    struct cj_query qs[] = {
        {.max_results = 10},
        {.has_status = true, .status = CJ_STATUS_FAILED, .max_results = 10},
    };
    for (size_t i = 0; i < ELEMENTSOF(qs); i++) {
        cj_buf_reset(&out);
        assert_int_equal(cj_store_list(s, &qs[i], &out, err, sizeof(err)), 0);
        assert_string_equal(out.data, want.data);
    }
    cj_buf_reset(&out);
    assert_int_equal(cj_store_get(s, moved.job_arn, &out), 0);
    assert_string_equal(out.data, moved.json);

    /* And it can be removed from there. */
    assert_int_equal(cj_store_remove(s, moved.job_arn), 0);
    assert_int_equal(committed_total(s), 2);
    assert_verified(s);

    cj_buf_free(&out);
    cj_buf_free(&want);
    test_job_free(&moved);
    for (unsigned i = 0; i < 3; i++)
        test_job_free(&j[i]);
    cj_store_close(s);
    remove_tree(dir);
}

/* The JSON of a list (the caller frees it). */
static char *list_of(struct cj_store *s, const struct cj_query *q)
{
    struct cj_buf out = {0};
    char err[128];
    assert_int_equal(cj_store_list(s, q, &out, err, sizeof(err)), 0);
    return out.data;
}

static size_t rows_in(const char *dir, enum cj_status st)
{
    struct raw r;
    MDB_stat ms;
    MDB_dbi dbi = raw_open(&r, dir, store_rows_db_names[st]);
    assert_int_equal(mdb_stat(r.txn, dbi, &ms), 0);
    raw_close(&r);
    return ms.ms_entries;
}

/* A job whose status changes moves to the rows of its new status; every plan finds it there,
 * a status filter read from an index value included, and nowhere else. */
/* Leaf pages of rows database d of a closed store. */
static size_t rows_leaf_pages(const char *dir, unsigned d)
{
    struct raw r;
    MDB_stat st;
    MDB_dbi dbi = raw_open(&r, dir, store_rows_db_names[d]);
    assert_int_equal(mdb_stat(r.txn, dbi, &st), 0);
    raw_close(&r);
    return st.ms_leaf_pages;
}

/* Puts jobs first..last-1 (Completed, times in id order) in pages of `page` jobs, the pages
 * in time order, each listed newest first when `newest_first` (as a quick sync lists). */
static void put_range(struct cj_store *s, unsigned first, unsigned last, unsigned page,
                      bool newest_first)
{
    struct cj_job *j = calloc(page, sizeof(*j));
    assert_non_null(j);
    for (unsigned at = first; at < last; at += page) {
        unsigned n = last - at < page ? last - at : page;
        for (unsigned i = 0; i < n; i++) {
            unsigned id = newest_first ? at + n - 1 - i : at + i;
            struct test_job_spec sp = spec(id, CJ_STATUS_COMPLETED, TEST_BASE_NS + id);
            test_job_fill(&j[i], &sp);
        }
        assert_int_equal(cj_store_put_jobs(s, "us-east-1", NULL, j, n, NULL), 0);
        for (unsigned i = 0; i < n; i++)
            test_job_free(&j[i]);
    }
    free(j);
}

/* A store that grows by quick syncs (pages of jobs newer than every stored one, each listed
 * newest first) keeps its rows' pages as full as one filled by a full pass (oldest first):
 * keys oldest first make both append. */
static void test_growth_keeps_pages_full(void **state)
{
    enum { JOBS = 4000, PAGE = 100 };
    char *full = make_tmpdir(), *grown = make_tmpdir();
    struct cj_store *s = open_store_at(full, 0, 64 * MIB);
    put_range(s, 0, JOBS, PAGE, false);
    cj_store_close(s);
    s = open_store_at(grown, 0, 64 * MIB);
    put_range(s, 0, JOBS / 2, PAGE, false);
    put_range(s, JOBS / 2, JOBS, PAGE, true);
    assert_verified(s);
    assert_int_equal(committed_total(s), JOBS);
    cj_store_close(s);

    size_t a = rows_leaf_pages(full, CJ_STATUS_COMPLETED),
           b = rows_leaf_pages(grown, CJ_STATUS_COMPLETED);
    if (a < 100 || b * 10 > a * 11)
        fail_msg("leaf pages: %zu after one pass, %zu after growth", a, b);
    remove_tree(full);
    remove_tree(grown);
}

/* The secondary indexes' pages in a closed store: those in use, less the free ones and every
 * other database's (mdb_stat leaves the sub-databases of sorted duplicates out). */
static size_t index_pages(const char *dir)
{
    struct raw r;
    MDB_stat st;
    MDB_cursor *c;
    MDB_val k, v;
    size_t other = 2; /* LMDB's meta pages */
    /* Read-only: LMDB opens no cursor on the free list in a write transaction. */
    assert_int_equal(mdb_env_create(&r.env), 0);
    assert_int_equal(mdb_env_set_maxdbs(r.env, 16), 0);
    assert_int_equal(mdb_env_open(r.env, dir, MDB_RDONLY, 0600), 0);
    assert_int_equal(mdb_txn_begin(r.env, NULL, MDB_RDONLY, &r.txn), 0);
    const char *plain[] = {STORE_DB_JOBS, STORE_DB_META, store_events_db_names[0],
                           store_events_db_names[1], STORE_DB_MISSED};
    for (size_t i = 0; i < ELEMENTSOF(plain) + STORE_ROWS_DBS + 2; i++) {
        MDB_dbi dbi = 0; /* 0: the free list */
        if (i < ELEMENTSOF(plain))
            assert_int_equal(mdb_dbi_open(r.txn, plain[i], 0, &dbi), 0);
        else if (i < ELEMENTSOF(plain) + STORE_ROWS_DBS)
            assert_int_equal(
                mdb_dbi_open(r.txn, store_rows_db_names[i - ELEMENTSOF(plain)], 0, &dbi), 0);
        else if (i == ELEMENTSOF(plain) + STORE_ROWS_DBS)
            assert_int_equal(mdb_dbi_open(r.txn, NULL, 0, &dbi), 0); /* main */
        assert_int_equal(mdb_stat(r.txn, dbi, &st), 0);
        other += st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
    }
    assert_int_equal(mdb_cursor_open(r.txn, 0, &c), 0);
    while (mdb_cursor_get(c, &k, &v, MDB_NEXT) == 0) {
        size_t n;
        memcpy(&n, v.mv_data, sizeof(n)); /* the pages a transaction freed, counted first */
        other += n;
    }
    mdb_cursor_close(c);
    MDB_envinfo info;
    assert_int_equal(mdb_env_info(r.env, &info), 0);
    mdb_txn_abort(r.txn);
    mdb_env_close(r.env);
    assert_true(info.me_last_pgno + 1 > other);
    return info.me_last_pgno + 1 - other;
}

/* Index pages once 3,000 jobs are put oldest first in pages of 100 (as a full pass does),
 * every job of one source model and of one account (the source's and the jobArn's), or of 5
 * accounts in turn: rows of the same sizes either way. */
static size_t pages_for_jobs(bool spread)
{
    enum { JOBS = 3000, PAGE = 100 };
    char *dir = make_tmpdir();
    struct cj_store *s = open_store_at(dir, 0, 64 * MIB);
    struct cj_job j[PAGE];
    for (unsigned at = 0; at < JOBS; at += PAGE) {
        for (unsigned i = 0; i < PAGE; i++) {
            struct test_job_spec sp = spec(at + i, CJ_STATUS_COMPLETED, TEST_BASE_NS + at + i);
            sp.model = test_models[0];
            if (!spread)
                sp.account = test_accounts[0];
            test_job_fill(&j[i], &sp);
        }
        assert_int_equal(cj_store_put_jobs(s, "us-east-1", NULL, j, PAGE, NULL), 0);
        for (unsigned i = 0; i < PAGE; i++)
            test_job_free(&j[i]);
    }
    assert_verified(s);
    cj_store_close(s);
    size_t n = index_pages(dir);
    remove_tree(dir);
    return n;
}

/* Each prefix's entries in a secondary index grow at their own end: jobs spread over 5
 * accounts take the index pages jobs of one do, but for a last page per prefix (268 and 282
 * when written; with one key order for all entries, every prefix's range but the last grew
 * inside a page split in half, two of the four indexes about twice their size). */
static void test_index_prefixes_fill_their_pages(void **state)
{
    size_t one = pages_for_jobs(false), spread = pages_for_jobs(true);
    if (spread * 100 > one * 110)
        fail_msg("index pages: %zu with one account, %zu with 5", one, spread);
}

static void test_status_change_moves_the_row(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = open_store_at(dir, 0, 64 * MIB);
    struct cj_job j, k;
    struct test_job_spec sp = spec(3, CJ_STATUS_IN_PROGRESS, TEST_BASE_NS + 5);
    test_job_fill(&j, &sp);
    put_one(s, &j, NULL);
    sp = spec(4, CJ_STATUS_COMPLETED, TEST_BASE_NS + 1); /* another account and model, older */
    test_job_fill(&k, &sp);
    put_one(s, &k, NULL);
    cj_store_close(s);
    assert_int_equal(rows_in(dir, CJ_STATUS_IN_PROGRESS), 1);
    assert_int_equal(rows_in(dir, CJ_STATUS_COMPLETED), 1);

    s = open_store_at(dir, 0, 64 * MIB);
    struct cj_job done;
    sp = spec(3, CJ_STATUS_COMPLETED, TEST_BASE_NS + 5);
    test_job_fill(&done, &sp);
    struct cj_store_changes ch = {0};
    put_one(s, &done, &ch);
    assert_int_equal(ch.updated, 1);
    assert_verified(s);

    char want_one[1024], want_both[2048];
    snprintf(want_one, sizeof(want_one), "{\"modelCopyJobSummaries\":[%s]}", done.json);
    snprintf(want_both, sizeof(want_both), "{\"modelCopyJobSummaries\":[%s,%s]}", done.json,
             k.json);
    const struct {
        struct cj_query q;
        const char *want;
    } cases[] = {
        {{.max_results = 10}, want_both},
        {{.max_results = 10, .ascending = true}, NULL}, /* checked below */
        {{.has_status = true, .status = CJ_STATUS_COMPLETED, .max_results = 10}, want_both},
        {{.has_status = true, .status = CJ_STATUS_IN_PROGRESS, .max_results = 10},
         "{\"modelCopyJobSummaries\":[]}"},
        {{.has_status = true,
          .status = CJ_STATUS_COMPLETED,
          .source_account = done.source_account,
          .max_results = 10},
         want_one},
        {{.has_status = true,
          .status = CJ_STATUS_IN_PROGRESS,
          .source_account = done.source_account,
          .max_results = 10},
         "{\"modelCopyJobSummaries\":[]}"},
        {{.has_status = true,
          .status = CJ_STATUS_COMPLETED,
          .source_model_arn = done.source_model_arn,
          .max_results = 10},
         want_one},
    };
    for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
        char *got = list_of(s, &cases[i].q);
        if (cases[i].want)
            assert_string_equal(got, cases[i].want);
        else {
            char asc[2048];
            snprintf(asc, sizeof(asc), "{\"modelCopyJobSummaries\":[%s,%s]}", k.json, done.json);
            assert_string_equal(got, asc);
        }
        free(got);
    }
    struct cj_store_stats st;
    assert_int_equal(cj_store_stats(s, &st), 0);
    assert_true(st.by_status[CJ_STATUS_IN_PROGRESS] == 0 && st.by_status[CJ_STATUS_COMPLETED] == 2);
    assert_true(st.oldest_ns == TEST_BASE_NS + 1 && st.newest_ns == TEST_BASE_NS + 5);
    cj_store_close(s);
    assert_int_equal(rows_in(dir, CJ_STATUS_IN_PROGRESS), 0);
    assert_int_equal(rows_in(dir, CJ_STATUS_COMPLETED), 2);

    test_job_free(&j);
    test_job_free(&k);
    test_job_free(&done);
    remove_tree(dir);
}

/* The store's only job changes status, then changes back within one transaction: each
 * secondary index loses its only entry (its tree empties) and takes the new one through the
 * cursor that deleted it. */
static void test_lone_job_status_changes_refill_the_indexes(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = open_store_at(dir, 0, 64 * MIB);
    struct cj_job v[3];
    const enum cj_status seq[] = {CJ_STATUS_IN_PROGRESS, CJ_STATUS_FAILED, CJ_STATUS_COMPLETED};
    for (size_t i = 0; i < ELEMENTSOF(v); i++) {
        struct test_job_spec sp = spec(7, seq[i], TEST_BASE_NS + 9);
        sp.region = "eu-west-1";
        sp.job_account = "999999999999";
        test_job_fill(&v[i], &sp);
    }
    put_one(s, &v[0], NULL);
    struct cj_store_changes ch = {0};
    /* Failed, then Completed, in one call: one transaction. */
    assert_int_equal(cj_store_put_jobs(s, "us-east-1", NULL, &v[1], 2, &ch), 0);
    assert_int_equal(ch.updated, 2);
    assert_verified(s);

    char want[1024];
    snprintf(want, sizeof(want), "{\"modelCopyJobSummaries\":[%s]}", v[2].json);
    const char *none = "{\"modelCopyJobSummaries\":[]}";
    const struct {
        struct cj_query q;
        const char *want;
    } cases[] = {
        {{.source_account = v[2].source_account, .max_results = 5}, want},
        {{.source_model_arn = v[2].source_model_arn, .max_results = 5}, want},
        {{.job_region = "eu-west-1", .max_results = 5}, want},
        {{.job_account = "999999999999", .max_results = 5}, want},
        {{.job_region = "eu-west-1",
          .has_status = true,
          .status = CJ_STATUS_FAILED,
          .max_results = 5},
         none},
        {{.job_account = "999999999999",
          .has_status = true,
          .status = CJ_STATUS_COMPLETED,
          .max_results = 5},
         want},
    };
    for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
        char *got = list_of(s, &cases[i].q);
        assert_string_equal(got, cases[i].want);
        free(got);
    }
    cj_store_close(s);
    for (size_t i = 0; i < ELEMENTSOF(v); i++)
        test_job_free(&v[i]);
    remove_tree(dir);
}

/* The store's only job goes back and forth between two statuses in one transaction: a rows
 * database empties under the cursor that appended to it in that run of puts, which then
 * appends to it again. */
static void test_lone_job_back_and_forth_in_one_run(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = open_store_at(dir, 0, 64 * MIB);
    const enum cj_status seq[] = {CJ_STATUS_IN_PROGRESS, CJ_STATUS_FAILED,    CJ_STATUS_IN_PROGRESS,
                                  CJ_STATUS_FAILED,      CJ_STATUS_COMPLETED, CJ_STATUS_FAILED};
    struct cj_job v[ELEMENTSOF(seq)];
    for (size_t i = 0; i < ELEMENTSOF(v); i++) {
        struct test_job_spec sp = spec(7, seq[i], TEST_BASE_NS + 9);
        test_job_fill(&v[i], &sp);
    }
    put_one(s, &v[0], NULL);
    struct cj_store_changes ch = {0};
    assert_int_equal(cj_store_put_jobs(s, "us-east-1", NULL, &v[1], ELEMENTSOF(v) - 1, &ch), 0);
    assert_int_equal(ch.updated, ELEMENTSOF(v) - 1);
    assert_verified(s);

    const struct cj_job *last = &v[ELEMENTSOF(v) - 1];
    char want[1024];
    snprintf(want, sizeof(want), "{\"modelCopyJobSummaries\":[%s]}", last->json);
    for (enum cj_status st = 0; st < _CJ_STATUS_MAX; st++) {
        struct cj_query q = {.has_status = true, .status = st, .max_results = 5};
        char *got = list_of(s, &q);
        assert_string_equal(got, st == CJ_STATUS_FAILED ? want : "{\"modelCopyJobSummaries\":[]}");
        free(got);
    }
    /* And again in the next transaction, through new cursors. */
    assert_int_equal(cj_store_put_jobs(s, "us-east-1", NULL, &v[2], 3, &ch), 0);
    assert_verified(s);
    struct cj_query q = {.has_status = true, .status = CJ_STATUS_COMPLETED, .max_results = 5};
    char *got = list_of(s, &q);
    snprintf(want, sizeof(want), "{\"modelCopyJobSummaries\":[%s]}", v[4].json);
    assert_string_equal(got, want);
    free(got);
    cj_store_close(s);
    for (size_t i = 0; i < ELEMENTSOF(v); i++)
        test_job_free(&v[i]);
    remove_tree(dir);
}

/* Compacting keeps everything (jobs, lists, the change log, the store's identity), leaves a
 * smaller file that verifies, and is refused while another process has the store open. */
static void test_compact(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = store_with_jobs(dir, 300);
    for (unsigned i = 0; i < 300; i += 3) { /* free pages, and pages left part full */
        struct cj_job j;
        struct test_job_spec sp = spec(i, i % 3, TEST_BASE_NS + i);
        test_job_fill(&j, &sp);
        assert_int_equal(cj_store_remove(s, j.job_arn), 0);
        test_job_free(&j);
    }
    const struct cj_query all = {.max_results = 1000};
    char *list_before = list_of(s, &all), id[CJ_STORE_ID_LEN + 1];
    snprintf(id, sizeof(id), "%s", cj_store_id(s));
    uint64_t first, last, first2, last2, before, after;
    assert_int_equal(cj_store_events_bounds(s, &first, &last), 0);

    /* Open here: this process's own lock does not count, so only another's can be tested. */
    cj_store_close(s);
    int go[2], ready[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(ready), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct cj_store_options ro = {.directory = dir, .max_size = 64 * MIB, .read_only = true};
        struct cj_store *c;
        char b = cj_store_open(&ro, &c) == 0 ? 'y' : 'n';
        (void)!write(ready[1], &b, 1);
        (void)!read(go[0], &b, 1);
        cj_store_close(c);
        _exit(0);
    }
    char b = 0;
    assert_int_equal(read(ready[0], &b, 1), 1);
    assert_int_equal(b, 'y');
    assert_int_equal(cj_store_compact(dir, &before, &after), -EBUSY);
    assert_int_equal(write(go[1], "x", 1), 1);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    for (int i = 0; i < 2; i++)
        close(go[i]), close(ready[i]);

    assert_int_equal(cj_store_compact(dir, &before, &after), 0);
    assert_true(after > 0 && after < before);
    s = open_store_at(dir, 0, 64 * MIB);
    assert_verified(s);
    char *list_after = list_of(s, &all);
    assert_string_equal(list_after, list_before);
    assert_string_equal(cj_store_id(s), id);
    assert_int_equal(cj_store_events_bounds(s, &first2, &last2), 0);
    assert_true(first2 == first && last2 == last);
    assert_int_equal(committed_total(s), 200);
    /* It takes writes as before. */
    struct cj_job j;
    struct test_job_spec sp = spec(1000, CJ_STATUS_FAILED, TEST_BASE_NS + 5000);
    test_job_fill(&j, &sp);
    put_one(s, &j, NULL);
    test_job_free(&j);
    assert_int_equal(committed_total(s), 201);
    assert_verified(s);
    cj_store_close(s);

    free(list_before);
    free(list_after);
    remove_tree(dir);
}

/* Schema 5's databases left beside a schema-6 store are damage, which a read-only verify (as
 * copyjobd --verify-store runs) reports. */
static void test_verify_reports_schema_5_leftovers(void **state)
{
    char *dir = make_tmpdir(), report[1024];
    struct cj_store *s = store_with_jobs(dir, 3);
    cj_store_close(s);
    struct raw r;
    MDB_dbi left;
    raw_open(&r, dir, STORE_DB_META);
    assert_int_equal(mdb_dbi_open(r.txn, "idx_time", MDB_CREATE, &left), 0);
    assert_int_equal(mdb_dbi_open(r.txn, "idx_status", MDB_CREATE, &left), 0);
    raw_close(&r);

    struct cj_store_options ro = {.directory = dir, .max_size = 64 * MIB, .read_only = true};
    assert_int_equal(cj_store_open(&ro, &s), 0);
    assert_int_equal(cj_store_verify(s, report, sizeof(report)), -EUCLEAN);
    assert_non_null(strstr(report, "idx_time and idx_status of schema 5 are still there"));
    cj_store_close(s);
    remove_tree(dir);
}

static void test_planner(void **state)
{
    static const char arn[] = "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-v1";
    /* The index for each combination of the equality filters (bit 0 status, 1 account,
     * 2 model), written out: a model ARN names the fewest jobs, then an account, then a
     * status; nothing else changes the choice. */
    static const enum cj_index want[8] = {
        [0] = CJ_INDEX_TIME,         [1] = CJ_INDEX_STATUS_TIME, [2] = CJ_INDEX_ACCOUNT_TIME,
        [3] = CJ_INDEX_ACCOUNT_TIME, [4] = CJ_INDEX_MODEL_TIME,  [5] = CJ_INDEX_MODEL_TIME,
        [6] = CJ_INDEX_MODEL_TIME,   [7] = CJ_INDEX_MODEL_TIME,
    };
    unsigned cases = 0;
    /* Every equality combination x name filter x after x before x order x token. */
    for (unsigned mask = 0; mask < 128; mask++)
        for (int asc = 0; asc < 2; asc++) {
            struct cj_query q = {
                .has_status = mask & 1,
                .status = CJ_STATUS_FAILED,
                .source_account = mask & 2 ? "111111111111" : NULL,
                .source_model_arn = mask & 4 ? arn : NULL,
                .name_contains = mask & 8 ? "a" : NULL,
                .has_after = mask & 16,
                .after_ns = TEST_BASE_NS,
                .has_before = mask & 32,
                .before_ns = TEST_BASE_NS + 1000,
                .next_token = mask & 64 ? "AAAA" : NULL,
                .ascending = asc,
                .max_results = 10,
            };
            enum cj_index got = cj_query_plan(&q);
            if (got != want[mask & 7])
                fail_msg("mask %#x asc %d: planned %s, want %s", mask, asc, cj_index_to_string(got),
                         cj_index_to_string(want[mask & 7]));
            cases++;
        }
    assert_int_equal(cases, 256);
    /* Every status value plans the same way. */
    for (int st = 0; st < _CJ_STATUS_MAX; st++) {
        struct cj_query q = {.has_status = true, .status = st, .max_results = 1};
        assert_int_equal(cj_query_plan(&q), CJ_INDEX_STATUS_TIME);
    }
    assert_string_equal(cj_index_to_string(CJ_INDEX_TIME), "time");
    assert_string_equal(cj_index_to_string(CJ_INDEX_STATUS_TIME), "status+time");
    assert_string_equal(cj_index_to_string(CJ_INDEX_ACCOUNT_TIME), "account+time");
    assert_string_equal(cj_index_to_string(CJ_INDEX_MODEL_TIME), "model+time");
    assert_null(cj_index_to_string(_CJ_INDEX_MAX));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stored_hashes_stable),
        cmocka_unit_test(test_job_hash_distinguishes),
        cmocka_unit_test(test_open_reopen),
        cmocka_unit_test(test_open_symlinked_directory),
        cmocka_unit_test(test_open_directory_owner_and_mode),
        cmocka_unit_test(test_schema_versions),
        cmocka_unit_test(test_put_update_unchanged_remove),
        cmocka_unit_test(test_pass_reconciliation),
        cmocka_unit_test(test_map_growth_and_ceiling),
        cmocka_unit_test(test_verify_detects_damage),
        cmocka_unit_test(test_verify_checks_index_entries),
        cmocka_unit_test(test_migration_from_schema_2),
        cmocka_unit_test(test_migration_from_schema_3),
        cmocka_unit_test(test_migration_from_schema_4),
        cmocka_unit_test(test_migration_from_schema_5),
        cmocka_unit_test(test_migration_from_schema_6),
        cmocka_unit_test(test_migration_from_schema_7),
        cmocka_unit_test(test_migration_from_schema_8),
        cmocka_unit_test(test_migration_from_schema_9),
        cmocka_unit_test(test_migration_from_schema_9_in_steps),
        cmocka_unit_test(test_migration_from_schema_6_in_steps),
        cmocka_unit_test(test_migration_from_schema_6_in_steps_needs_little_room),
        cmocka_unit_test(test_growth_keeps_pages_full),
        cmocka_unit_test(test_index_prefixes_fill_their_pages),
        cmocka_unit_test(test_status_change_moves_the_row),
        cmocka_unit_test(test_lone_job_status_changes_refill_the_indexes),
        cmocka_unit_test(test_lone_job_back_and_forth_in_one_run),
        cmocka_unit_test(test_compact),
        cmocka_unit_test(test_verify_reports_schema_5_leftovers),
        cmocka_unit_test(test_migration_of_a_damaged_row_wipes),
        cmocka_unit_test(test_migration_without_room_wipes),
        cmocka_unit_test(test_verify_detects_missing_rows_and_orphans),
        cmocka_unit_test(test_rows_find_name_and_model_in_their_json),
        cmocka_unit_test(test_update_that_changes_creation_time),
        cmocka_unit_test(test_list_skips_entries_without_rows),
        cmocka_unit_test(test_planner),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
