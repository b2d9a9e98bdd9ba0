/* SPDX-License-Identifier: MIT */
/* The keys of `jobs`: a jobArn of Bedrock's form packed into 16 bytes that unpack to it, in
 * the order of the jobArns; any other jobArn kept whole; a store that holds both kinds finds,
 * updates, lists, removes (by a pass's end and by dropping a source, which unpack the keys)
 * and verifies them; verify reports a key of either kind that is wrong. Real LMDB in a
 * temporary directory. */
#include "test-store-util.h"

#define MIB (UINT64_C(1) << 20)

static void pack(const char *arn, uint16_t region, uint8_t buf[JOBS_KEY_PACKED], MDB_val *key)
{
    store_jobs_key(arn, strlen(arn), region, buf, key);
}

static void test_packs_bedrock_form(void **state)
{
    static const char *const arns[] = {
        "arn:aws:bedrock:us-east-1:123456789012:model-copy-job/abcdefghijkl",
        "arn:aws:bedrock:us-east-1:000000000000:model-copy-job/000000000000",
        "arn:aws:bedrock:us-east-1:999999999999:model-copy-job/zzzzzzzzzzzz",
        "arn:aws-cn:bedrock:cn-north-1:123456789012:model-copy-job/0a1b2c3d4e5f",
        "arn:aws-us-gov:bedrock:us-gov-west-1:123456789012:model-copy-job/abcdefabcdef",
        "arn:aws-iso:bedrock:us-iso-east-1:123456789012:model-copy-job/abcdefabcdef",
        "arn:aws-iso-b:bedrock:us-isob-east-1:123456789012:model-copy-job/abcdefabcdef",
        "arn:aws-iso-e:bedrock:eu-isoe-west-1:123456789012:model-copy-job/abcdefabcdef",
        "arn:aws-iso-f:bedrock:us-isof-south-1:123456789012:model-copy-job/abcdefabcdef",
        "arn:aws-eusc:bedrock:eusc-de-east-1:123456789012:model-copy-job/abcdefabcdef",
    };
    for (size_t i = 0; i < ELEMENTSOF(arns); i++) {
        uint8_t buf[JOBS_KEY_PACKED];
        char out[CJ_JOB_ARN_MAX];
        MDB_val k, arn;
        pack(arns[i], 0x0102, buf, &k);
        if (!store_jobs_key_packed(&k))
            fail_msg("%s is not packed", arns[i]);
        assert_ptr_equal(k.mv_data, buf);
        assert_int_equal(store_jobs_key_region(&k), 0x0102);
        const char *region = strchr(strstr(arns[i], ":bedrock:") + 1, ':') + 1;
        size_t region_len = (size_t)(strchr(region, ':') - region);
        assert_int_equal(store_jobs_key_unpack(&k, region, region_len, out, &arn), 0);
        assert_int_equal(arn.mv_size, strlen(arns[i]));
        assert_memory_equal(arn.mv_data, arns[i], arn.mv_size);
    }

    /* The bytes, which are on disk: tag, region code, account, ID in base 36. */
    static const uint8_t want[JOBS_KEY_PACKED] = {0x01, 0x00, 0x07, 0x1c, 0xbe, 0x99, 0x1a, 0x14,
                                                  0x12, 0xd7, 0x7d, 0x0c, 0xa3, 0xf1, 0x94, 0x95};
    uint8_t buf[JOBS_KEY_PACKED];
    MDB_val k;
    pack(arns[0], 7, buf, &k);
    assert_memory_equal(k.mv_data, want, sizeof(want));
    pack(arns[3], 7, buf, &k);
    assert_int_equal(buf[0], 2); /* aws-cn */
}

static void test_keeps_other_arns_whole(void **state)
{
    static const char *const arns[] = {
        "arn:aws:bedrock:us-east-1:123456789012:model-copy-job/abcdefgh123",   /* 11 */
        "arn:aws:bedrock:us-east-1:123456789012:model-copy-job/abcdefgh12345", /* 13 */
        "arn:aws:bedrock:us-east-1:123456789012:model-copy-job/ABCDEFGH1234",
        "arn:aws:bedrock:us-east-1:123456789012:model-copy-job/abcdefgh-234",
        "arn:aws:bedrock:us-east-1:123456789012:model-copy-job/abcdefgh1234/",
        "arn:aws:bedrock:us-east-1:12345678901x:model-copy-job/abcdefgh1234",
        "arn:aws:bedrock:us-east-1:123456789012:custom-model/abcdefgh1234xxx",
        "arn:aws:sagemaker:us-east-1:123456789012:model-copy-job/abcdefgh1234",
        "arn:aws-xx:bedrock:us-east-1:123456789012:model-copy-job/abcdefgh1234",
        "arn:aws:bedrock:us-east-1:0123456789012:model-copy-job/abcdefgh1234",
        "arn:aws:bedrock",
    };
    for (size_t i = 0; i < ELEMENTSOF(arns); i++) {
        uint8_t buf[JOBS_KEY_PACKED];
        MDB_val k;
        pack(arns[i], 1, buf, &k);
        if (store_jobs_key_packed(&k) || k.mv_data != (void *)arns[i] ||
            k.mv_size != strlen(arns[i]))
            fail_msg("%s is not kept whole", arns[i]);
    }
}

/* Within a region, packed keys sort as their jobArns do; the tag and region code come first. */
static void test_packed_keys_keep_the_order(void **state)
{
    static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    enum { N = 200 };
    char arns[N][80];
    uint8_t keys[N][JOBS_KEY_PACKED];
    uint64_t x = 88172645463325252u;
    for (size_t i = 0; i < N; i++) {
        char id[13];
        for (int c = 0; c < 12; c++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            /* Few letters at each place, so that IDs share prefixes. */
            id[c] = alphabet[(x % 4) * 11 % 36];
        }
        id[12] = '\0';
        snprintf(arns[i], sizeof(arns[i]), "arn:aws:bedrock:us-east-1:%s:model-copy-job/%s",
                 test_accounts[i % 5], id);
        MDB_val k;
        pack(arns[i], 3, keys[i], &k);
        assert_true(store_jobs_key_packed(&k));
    }
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++) {
            int a = strcmp(arns[i], arns[j]), b = memcmp(keys[i], keys[j], JOBS_KEY_PACKED);
            if ((a < 0) != (b < 0) || (a == 0) != (b == 0))
                fail_msg("%s and %s sort apart packed", arns[i], arns[j]);
        }
}

static void test_unpack_refuses_out_of_range(void **state)
{
    const char *arn = "arn:aws:bedrock:us-east-1:999999999999:model-copy-job/zzzzzzzzzzzz";
    uint8_t buf[JOBS_KEY_PACKED], bad[JOBS_KEY_PACKED];
    char out[CJ_JOB_ARN_MAX];
    MDB_val k, a, bk = {.mv_size = sizeof(bad), .mv_data = bad};
    pack(arn, 1, buf, &k);
    assert_int_equal(store_jobs_key_unpack(&k, "us-east-1", 9, out, &a), 0);

    memcpy(bad, buf, sizeof(bad));
    put_be64(bad + 8, UINT64_C(4738381338321616896)); /* 36^12 */
    assert_int_equal(store_jobs_key_unpack(&bk, "us-east-1", 9, out, &a), -EUCLEAN);
    memcpy(bad, buf, sizeof(bad));
    memcpy(bad + 3, "\xe8\xd4\xa5\x10\x00", 5); /* 10^12 */
    assert_int_equal(store_jobs_key_unpack(&bk, "us-east-1", 9, out, &a), -EUCLEAN);
    memcpy(bad, buf, sizeof(bad));
    bad[0] = 0;
    assert_int_equal(store_jobs_key_unpack(&bk, "us-east-1", 9, out, &a), -EUCLEAN);
    bad[0] = 9;
    assert_int_equal(store_jobs_key_unpack(&bk, "us-east-1", 9, out, &a), -EUCLEAN);
    assert_int_equal(store_jobs_key_unpack(&k, "US-EAST-1", 9, out, &a), -EUCLEAN);
    assert_int_equal(store_jobs_key_unpack(&k, "", 0, out, &a), -EUCLEAN);
}

/* ---- a store with both kinds ---- */

struct mixed {
    const char *region;
    const char *partition;
    bool short_id;
};

static const struct mixed mixed[] = {
    {"us-east-1", "aws", false},           {"us-east-1", "aws", true},
    {"eu-west-1", "aws", false},           {"cn-north-1", "aws-cn", false},
    {"us-gov-west-1", "aws-us-gov", true}, {"us-gov-west-1", "aws-us-gov", false},
};
#define MIXED_JOBS 60

/* Job i of the mixed set, rev `rev`. */
static void mixed_job(struct cj_job *j, unsigned i, unsigned rev)
{
    const struct mixed *m = &mixed[i % ELEMENTSOF(mixed)];
    struct test_job_spec sp = {.id = i,
                               .status = (enum cj_status)(i % 3),
                               .creation_ns = TEST_BASE_NS + i,
                               .account = test_accounts[i % 5],
                               .model = test_models[i % 6],
                               .name = test_names[i % 9],
                               .region = m->region,
                               .short_id = m->short_id,
                               .rev = rev};
    test_job_fill(j, &sp);
    if (strcmp(m->partition, "aws") != 0) {
        /* The same jobArn in another partition, in the JSON too. */
        char arn[CJ_JOB_ARN_MAX], *json;
        snprintf(arn, sizeof(arn), "arn:%s%s", m->partition, j->job_arn + strlen("arn:aws"));
        assert_true(asprintf(&json, "{\"jobArn\":\"%s\"%s", arn, strchr(j->json, ',')) > 0);
        free((char *)j->job_arn);
        free((char *)j->json);
        j->job_arn = strdup(arn);
        j->json = json;
        j->json_len = strlen(json);
    }
}

static bool mixed_stored(struct cj_store *s, unsigned i, unsigned rev)
{
    struct cj_job j;
    struct cj_buf b = {0};
    mixed_job(&j, i, rev);
    int r = cj_store_get(s, j.job_arn, &b);
    bool same = r == 0 && b.len == j.json_len && memcmp(b.data, j.json, b.len) == 0;
    assert_true(r == 0 || r == -ENOENT);
    test_job_free(&j);
    cj_buf_free(&b);
    return same;
}

/* A complete pass of `source` that lists the jobs i of it with i % 2 == half (all: half 2). */
static void mixed_pass(struct cj_store *s, const char *source, unsigned half,
                       struct cj_store_changes *ch)
{
    struct cj_store_pass *p;
    assert_int_equal(cj_store_pass_begin(s, source, &p), 0);
    assert_int_equal(cj_store_pass_set_removal_limit(p, 10000), 0);
    for (unsigned i = 0; i < MIXED_JOBS; i++) {
        struct cj_job j;
        mixed_job(&j, i, 0);
        if (half == 2 || i % 2 == half)
            assert_int_equal(cj_store_put_jobs(s, source, p, &j, 1, ch), 0);
        test_job_free(&j);
    }
    assert_int_equal(cj_store_pass_finish(s, p, true, TEST_BASE_NS, ch), 0);
    cj_store_pass_free(p);
}

static void test_store_with_both_kinds(void **state)
{
    char *dir = make_tmpdir();
    struct cj_store *s = open_store_at(dir, 0, 64 * MIB);
    struct cj_store_changes ch = {0};
    size_t packed, whole, want_whole = 0;
    for (unsigned i = 0; i < MIXED_JOBS; i++)
        want_whole += mixed[i % ELEMENTSOF(mixed)].short_id;

    mixed_pass(s, "a", 2, &ch);
    assert_int_equal(ch.created, MIXED_JOBS);
    for (unsigned i = 0; i < MIXED_JOBS; i++)
        assert_true(mixed_stored(s, i, 0));
    assert_verified(s);
    cj_store_close(s);
    raw_count_jobs_keys(dir, &packed, &whole);
    assert_true(packed == MIXED_JOBS - want_whole && whole == want_whole);

    /* Updated in place, listed by another source (the job moves), then by a pass of it that
     * lists half: a second such pass removes the other half, found by unpacking `jobs`. */
    s = open_store_at(dir, 0, 64 * MIB);
    for (unsigned i = 0; i < MIXED_JOBS; i += 5) {
        struct cj_job j;
        mixed_job(&j, i, 1);
        put_one(s, &j, NULL);
        test_job_free(&j);
        assert_true(mixed_stored(s, i, 1));
    }
    assert_verified(s);
    mixed_pass(s, "b", 2, &ch);
    ch = (struct cj_store_changes){0};
    mixed_pass(s, "b", 0, &ch);
    assert_int_equal(ch.removed, 0);
    mixed_pass(s, "b", 0, &ch);
    assert_int_equal(ch.removed, MIXED_JOBS / 2);
    for (unsigned i = 0; i < MIXED_JOBS; i++)
        assert_int_equal(mixed_stored(s, i, 0), i % 2 == 0);
    assert_verified(s);
    cj_store_close(s);
    raw_count_jobs_keys(dir, &packed, &whole);
    assert_int_equal(packed + whole, MIXED_JOBS / 2);

    /* Dropping the source removes the rest, whole and packed. */
    s = open_store_at(dir, 0, 64 * MIB);
    ch = (struct cj_store_changes){0};
    assert_int_equal(cj_store_drop_source(s, "b", &ch), 0);
    assert_int_equal(ch.removed, MIXED_JOBS / 2);
    struct cj_store_stats st;
    assert_int_equal(cj_store_stats(s, &st), 0);
    assert_int_equal(st.total, 0);
    assert_verified(s);
    cj_store_close(s);
    raw_count_jobs_keys(dir, &packed, &whole);
    assert_true(packed == 0 && whole == 0);
    remove_tree(dir);
}

/* verify reports a job kept whole that packs (lookups would never find it), a packed key
 * that unpacks to no jobArn, and one whose region code names no region. */
static void test_verify_reports_wrong_keys(void **state)
{
    static const char *const reported[] = {
        "is kept as it is, not packed",
        "jobs: key of 16 bytes is no jobArn, packed or not",
        "jobs: key of 16 bytes is no jobArn, packed or not",
    };
    for (size_t c = 0; c < ELEMENTSOF(reported); c++) {
        char *dir = make_tmpdir();
        struct cj_store *s = open_store_at(dir, 0, 64 * MIB);
        struct cj_job j;
        mixed_job(&j, 0, 0);
        put_one(s, &j, NULL);
        assert_verified(s);
        cj_store_close(s);

        struct raw r;
        MDB_dbi jobs = raw_open(&r, dir, STORE_DB_JOBS);
        uint8_t kb[JOBS_KEY_PACKED], nb[JOBS_KEY_PACKED], value[JOBS_VALUE_SIZE];
        MDB_val k, v, nk = {.mv_size = JOBS_KEY_PACKED, .mv_data = nb};
        raw_jobs_key(r.txn, j.job_arn, strlen(j.job_arn), kb, &k);
        assert_true(store_jobs_key_packed(&k));
        assert_int_equal(mdb_get(r.txn, jobs, &k, &v), 0);
        memcpy(value, v.mv_data, sizeof(value));
        assert_int_equal(mdb_del(r.txn, jobs, &k, NULL), 0);
        memcpy(nb, kb, sizeof(nb));
        if (c == 0)
            nk = (MDB_val){.mv_size = strlen(j.job_arn), .mv_data = (void *)j.job_arn};
        else if (c == 1)
            put_be64(nb + 8, UINT64_MAX);
        else
            nb[1] = 0x0f; /* region code 0x0f00: none */
        v = (MDB_val){.mv_size = sizeof(value), .mv_data = value};
        assert_int_equal(mdb_put(r.txn, jobs, &nk, &v, 0), 0);
        raw_close(&r);

        char report[2048];
        s = open_store_at(dir, 0, 64 * MIB);
        assert_int_equal(cj_store_verify(s, report, sizeof(report)), -EUCLEAN);
        if (!strstr(report, reported[c]))
            fail_msg("report \"%s\" lacks \"%s\"", report, reported[c]);
        /* A pass's end cannot tell whose job the damaged key is, so it removes nothing. */
        if (c > 0) {
            struct cj_store_pass *p;
            assert_int_equal(cj_store_pass_begin(s, "us-east-1", &p), 0);
            assert_int_equal(cj_store_pass_finish(s, p, true, TEST_BASE_NS, NULL), -EUCLEAN);
            cj_store_pass_free(p);
        }
        cj_store_close(s);
        test_job_free(&j);
        remove_tree(dir);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_packs_bedrock_form),
        cmocka_unit_test(test_keeps_other_arns_whole),
        cmocka_unit_test(test_packed_keys_keep_the_order),
        cmocka_unit_test(test_unpack_refuses_out_of_range),
        cmocka_unit_test(test_store_with_both_kinds),
        cmocka_unit_test(test_verify_reports_wrong_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
