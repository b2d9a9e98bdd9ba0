/* SPDX-License-Identifier: MIT */
/* cj_store_foreach_with_status: every job of one status, in (creationTime, jobArn) order,
 * nothing of another status, stopping when the callback says so. Real LMDB in a temp dir. */
#include "test-store-util.h"

struct seen {
    size_t n;
    char arns[64][128];
    int64_t times[64];
    size_t stop_after; /* 0 = never */
};

static int collect(const char *arn, size_t len, int64_t creation_ns, void *userdata)
{
    struct seen *s = userdata;
    assert_int_equal(strlen(arn), len);
    assert_true(s->n < 64 && len < 128);
    memcpy(s->arns[s->n], arn, len + 1);
    s->times[s->n] = creation_ns;
    s->n++;
    if (s->stop_after && s->n == s->stop_after)
        return -ECANCELED;
    return 0;
}

static void put(struct cj_store *st, unsigned id, enum cj_status status, int64_t t)
{
    struct cj_job j;
    test_job_fill(&j, &(struct test_job_spec){.id = id,
                                              .status = status,
                                              .creation_ns = t,
                                              .account = test_accounts[id % 3],
                                              .model = test_models[0]});
    put_one(st, &j, NULL);
    test_job_free(&j);
}

static void test_iter_by_status(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *st = open_store_at(dir, 0, 64ull << 20);
    struct seen s = {0};

    /* Empty store: no call. */
    assert_int_equal(
        cj_store_foreach_with_status(st, "us-east-1", CJ_STATUS_IN_PROGRESS, collect, &s), 0);
    assert_int_equal(s.n, 0);

    /* Ids 1..30; every third InProgress; ties in creationTime at 5 and 6 (InProgress 6 and
     * 12 share a time; ordered by jobArn). */
    for (unsigned id = 1; id <= 30; id++) {
        int64_t t = TEST_BASE_NS - (int64_t)id * 1000;
        if (id == 12)
            t = TEST_BASE_NS - 6 * 1000;
        put(st, id,
            id % 3 == 0 ? CJ_STATUS_IN_PROGRESS
                        : (id % 3 == 1 ? CJ_STATUS_COMPLETED : CJ_STATUS_FAILED),
            t);
    }
    assert_int_equal(
        cj_store_foreach_with_status(st, "us-east-1", CJ_STATUS_IN_PROGRESS, collect, &s), 0);
    assert_int_equal(s.n, 10);
    for (size_t i = 0; i < s.n; i++) {
        assert_non_null(strstr(s.arns[i], ":model-copy-job/"));
        unsigned id = (unsigned)strtoul(strrchr(s.arns[i], '/') + 1, NULL, 10);
        assert_int_equal(id % 3, 0);
        if (i > 0) {
            assert_true(s.times[i - 1] < s.times[i] ||
                        (s.times[i - 1] == s.times[i] && strcmp(s.arns[i - 1], s.arns[i]) < 0));
        }
    }
    /* The oldest InProgress is id 30; 6 and 12 tie. */
    assert_int_equal(s.times[0], TEST_BASE_NS - 30 * 1000);
    assert_int_equal(s.times[7], TEST_BASE_NS - 6 * 1000);
    assert_int_equal(s.times[8], TEST_BASE_NS - 6 * 1000);
    assert_non_null(strstr(s.arns[7], "/000000000006"));
    assert_non_null(strstr(s.arns[8], "/000000000012"));
    assert_int_equal(s.times[9], TEST_BASE_NS - 3 * 1000);

    /* A job that changes status moves out of the walk. */
    put(st, 3, CJ_STATUS_COMPLETED, TEST_BASE_NS - 3 * 1000);
    memset(&s, 0, sizeof(s));
    assert_int_equal(
        cj_store_foreach_with_status(st, "us-east-1", CJ_STATUS_IN_PROGRESS, collect, &s), 0);
    assert_int_equal(s.n, 9);
    for (size_t i = 0; i < s.n; i++)
        assert_null(strstr(s.arns[i], "/0000000003"));

    /* Failed: ids 2, 5, ...; the callback stops the walk, and its value comes back. */
    memset(&s, 0, sizeof(s));
    s.stop_after = 4;
    assert_int_equal(cj_store_foreach_with_status(st, "us-east-1", CJ_STATUS_FAILED, collect, &s),
                     -ECANCELED);
    assert_int_equal(s.n, 4);

    /* The store is usable afterwards (the read transaction was ended). */
    struct cj_store_stats stats;
    assert_int_equal(cj_store_stats(st, &stats), 0);
    assert_int_equal(stats.total, 30);
    assert_int_equal(stats.by_status[CJ_STATUS_IN_PROGRESS], 9);

    assert_int_equal(cj_store_foreach_with_status(st, "us-east-1", _CJ_STATUS_MAX, collect, &s),
                     -EINVAL);

    cj_store_close(st);
    remove_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iter_by_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
