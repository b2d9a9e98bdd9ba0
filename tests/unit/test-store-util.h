/* SPDX-License-Identifier: MIT */
/* Shared by the store's tests: temp directories, jobs built by hand (not by the parser),
 * a raw LMDB handle to damage or rewrite a closed store, and a brute-force reference for
 * ListModelCopyJobs. Header-only: each test program includes it once. */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store-internal.h"
#include "store.h"
#include "test-util.h"

#define TEST_BASE_NS INT64_C(1700000000000000000)

/* ---- temp directories ---- */

static _unused_ char *make_tmpdir(void)
{
    char *d = strdup("/tmp/cj-test-store-XXXXXX");
    assert_non_null(d);
    assert_non_null(mkdtemp(d));
    return d;
}

static _unused_ void remove_tree(char *dir)
{
    if (dir)
        test_rm_tree(dir);
    free(dir);
}

static _unused_ struct cj_store *open_store_at(const char *dir, uint64_t initial, uint64_t max)
{
    struct cj_store_options o = {.directory = dir, .max_size = max, .initial_size = initial};
    struct cj_store *s = NULL;
    assert_int_equal(cj_store_open(&o, &s), 0);
    assert_non_null(s);
    return s;
}

static _unused_ void assert_verified(struct cj_store *s)
{
    char report[2048];
    int r = cj_store_verify(s, report, sizeof(report));
    if (r != 0)
        fail_msg("cj_store_verify: %d: %s", r, report);
}

/* The jobs a reader sees committed. */
static _unused_ uint64_t committed_total(struct cj_store *s)
{
    struct cj_store_stats st;
    assert_int_equal(cj_store_stats(s, &st), 0);
    return st.total;
}

/* ---- a deterministic PRNG (splitmix64) ---- */

static uint64_t prng_state;
static _unused_ uint64_t prng(void)
{
    uint64_t z = (prng_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}
static _unused_ unsigned prng_below(unsigned n)
{
    return (unsigned)(prng() % n);
}

/* ---- jobs built by hand ---- */

static const char *const test_accounts[] = {"111111111111", "222222222222", "333333333333",
                                            "444444444444", "000000000001"};
static const char *const test_models[] = {
    "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-v1",
    "arn:aws:bedrock:us-east-1:111111111111:custom-model/alpha.v1/abcdefghij01",
    "arn:aws:bedrock:us-east-1:111111111111:custom-model/alpha.v1/abcdefghij02",
    "arn:aws:bedrock:us-west-2:222222222222:custom-model/beta.v2/zzzzzzzzzz99",
    "arn:aws:bedrock:eu-west-1:333333333333:custom-model/gamma/qqqqqqqqqq00",
    "arn:aws:bedrock:us-east-1:444444444444:custom-model/delta/mmmmmmmmmm55",
};
static const char *const test_names[] = {
    NULL, "alpha-copy", "alphabet", "beta", "gamma-1", "my_model", "Alpha", "copy-of-beta", "x"};

struct test_job_spec {
    unsigned id;
    unsigned rev; /* changes the served bytes only */
    enum cj_status status;
    int64_t creation_ns;
    const char *account;
    const char *model;
    const char *name;
    const char *region;      /* of the jobArn; NULL: us-east-1 */
    const char *job_account; /* of the jobArn; NULL: the source account */
    bool short_id; /* a jobArn whose ID has 10 digits, not Bedrock's 12: `jobs` keeps it whole */
};

static _unused_ void test_job_fill(struct cj_job *j, const struct test_job_spec *sp)
{
    static const char *const status_str[] = {"InProgress", "Completed", "Failed"};
    char arn[128], json[1024];

    *j = (struct cj_job){0};
    snprintf(arn, sizeof(arn),
             sp->short_id ? "arn:aws:bedrock:%s:%s:model-copy-job/%010u"
                          : "arn:aws:bedrock:%s:%s:model-copy-job/%012u",
             sp->region ? sp->region : "us-east-1", sp->job_account ? sp->job_account : sp->account,
             sp->id);
    j->job_arn = strdup(arn);
    j->status = sp->status;
    j->creation_ns = sp->creation_ns;
    memcpy(j->source_account, sp->account, CJ_ACCOUNT_ID_LEN + 1);
    j->source_model_arn = strdup(sp->model);
    j->target_model_name = sp->name ? strdup(sp->name) : NULL;
    int n = snprintf(json, sizeof(json),
                     "{\"jobArn\":\"%s\",\"status\":\"%s\",\"creationTime\":\"t%" PRId64
                     "\",\"targetModelArn\":\"arn:aws:bedrock:us-east-1:%s:custom-model/t%u\","
                     "%s%s%s\"sourceAccountId\":\"%s\",\"sourceModelArn\":\"%s\",\"rev\":%u}",
                     arn, status_str[sp->status], sp->creation_ns, sp->account, sp->id,
                     sp->name ? "\"targetModelName\":\"" : "", sp->name ? sp->name : "",
                     sp->name ? "\"," : "", sp->account, sp->model, sp->rev);
    assert_true(n > 0 && (size_t)n < sizeof(json));
    j->json = strdup(json);
    j->json_len = (size_t)n;
    assert_true(j->job_arn && j->source_model_arn && j->json);
}

static _unused_ void test_job_free(struct cj_job *j)
{
    free(j->job_arn);
    free(j->source_model_arn);
    free(j->target_model_name);
    free(j->json);
    *j = (struct cj_job){0};
}

static _unused_ void put_one(struct cj_store *s, const struct cj_job *j,
                             struct cj_store_changes *ch)
{
    assert_int_equal(cj_store_put_jobs(s, "us-east-1", NULL, j, 1, ch), 0);
}

/* cj_store_foreach_source's calls, collected. */
struct source_seen {
    size_t n;
    char name[16][CJ_SOURCE_NAME_MAX + 1];
    struct cj_store_stats st[16];
};

static _unused_ int collect_source(const char *source, const struct cj_store_stats *st,
                                   void *userdata)
{
    struct source_seen *c = userdata;
    assert_true(c->n < ELEMENTSOF(c->name));
    snprintf(c->name[c->n], sizeof(c->name[c->n]), "%s", source);
    c->st[c->n++] = *st;
    return 0;
}

/* ---- raw LMDB on a closed store ---- */

struct raw {
    MDB_env *env;
    MDB_txn *txn;
};

static _unused_ MDB_dbi raw_open(struct raw *r, const char *dir, const char *db)
{
    MDB_dbi dbi;
    assert_int_equal(mdb_env_create(&r->env), 0);
    assert_int_equal(mdb_env_set_maxdbs(r->env, 16), 0);
    assert_int_equal(mdb_env_open(r->env, dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(r->env, NULL, 0, &r->txn), 0);
    assert_int_equal(mdb_dbi_open(r->txn, db, 0, &dbi), 0);
    return dbi;
}

/* Records schema `version` in meta, as a copyjobd of then did. */
static _unused_ void raw_put_schema(MDB_txn *txn, uint8_t version)
{
    MDB_dbi meta;
    const uint8_t ver[4] = {version, 0, 0, 0};
    MDB_val vk = {.mv_size = strlen(META_SCHEMA_VERSION), .mv_data = META_SCHEMA_VERSION};
    MDB_val vv = {.mv_size = sizeof(ver), .mv_data = (void *)ver};
    assert_int_equal(mdb_dbi_open(txn, STORE_DB_META, 0, &meta), 0);
    assert_int_equal(mdb_put(txn, meta, &vk, &vv, 0), 0);
}

static _unused_ void raw_close(struct raw *r)
{
    assert_int_equal(mdb_txn_commit(r->txn), 0);
    mdb_env_close(r->env);
}

/* The name of region code `code` in a raw store's table (pointing into the map). */
static _unused_ void raw_region_name(MDB_txn *txn, uint16_t code, const char **name, size_t *len)
{
    MDB_dbi meta;
    MDB_val k = {.mv_size = strlen(META_REGION_NAMES), .mv_data = META_REGION_NAMES}, v;
    assert_int_equal(mdb_dbi_open(txn, STORE_DB_META, 0, &meta), 0);
    assert_int_equal(mdb_get(txn, meta, &k, &v), 0);
    const char *p = v.mv_data, *end = p + v.mv_size;
    for (uint16_t c = 0; c < code; c++) {
        p = memchr(p, '\0', (size_t)(end - p));
        assert_non_null(p);
        p++;
    }
    const char *nul = memchr(p, '\0', (size_t)(end - p));
    assert_non_null(nul);
    *name = p;
    *len = (size_t)(nul - p);
}

/* The `jobs` key of jobArn arn in a raw store of this schema: packed when it packs. */
static _unused_ void raw_jobs_key(MDB_txn *txn, const char *arn, size_t len,
                                  uint8_t buf[JOBS_KEY_PACKED], MDB_val *key)
{
    const char *region, *account, *name;
    size_t region_len, name_len;
    assert_true(store_arn_parse(arn, len, &region, &region_len, &account));
    for (uint16_t code = 0; code < STORE_REGION_CODES; code++) {
        raw_region_name(txn, code, &name, &name_len);
        if (name_len == region_len && memcmp(name, region, region_len) == 0) {
            store_jobs_key(arn, len, code, buf, key);
            return;
        }
    }
    fail_msg("region of %.*s has no code", (int)len, arn);
}

/* Rewrites every packed `jobs` key as its jobArn, as schema 9 and every copyjobd before it
 * kept them. */
static _unused_ void raw_unpack_jobs(MDB_txn *txn)
{
    MDB_dbi jobs;
    MDB_cursor *c;
    MDB_val k, v;
    int rc;
    assert_int_equal(mdb_dbi_open(txn, STORE_DB_JOBS, 0, &jobs), 0);
    assert_int_equal(mdb_cursor_open(txn, jobs, &c), 0);
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && store_jobs_key_packed(&k);
         rc = mdb_cursor_get(c, &k, &v, MDB_FIRST)) {
        const char *name;
        size_t name_len;
        char arn[CJ_JOB_ARN_MAX];
        uint8_t value[JOBS_VALUE_SIZE];
        MDB_val ak;
        assert_int_equal(v.mv_size, sizeof(value));
        memcpy(value, v.mv_data, sizeof(value));
        raw_region_name(txn, store_jobs_key_region(&k), &name, &name_len);
        assert_int_equal(store_jobs_key_unpack(&k, name, name_len, arn, &ak), 0);
        assert_int_equal(mdb_cursor_del(c, 0), 0);
        MDB_val nv = {.mv_size = sizeof(value), .mv_data = value};
        assert_int_equal(mdb_put(txn, jobs, &ak, &nv, MDB_NOOVERWRITE), 0);
    }
    assert_true(rc == 0 || rc == MDB_NOTFOUND);
    mdb_cursor_close(c);
}

/* How many keys of a closed store's `jobs` are packed, and how many are jobArns. */
static _unused_ void raw_count_jobs_keys(const char *dir, size_t *packed, size_t *whole)
{
    struct raw r;
    MDB_dbi jobs = raw_open(&r, dir, STORE_DB_JOBS);
    MDB_cursor *c;
    MDB_val k, v;
    int rc;
    *packed = *whole = 0;
    assert_int_equal(mdb_cursor_open(r.txn, jobs, &c), 0);
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
        (*(store_jobs_key_packed(&k) ? packed : whole))++;
    assert_int_equal(rc, MDB_NOTFOUND);
    mdb_cursor_close(c);
    raw_close(&r);
}

/* Rewrites a closed store's `jobs` as schema 9 kept it: each job under its jobArn. */
static _unused_ void raw_write_v9_data(const char *dir)
{
    struct raw r;
    (void)raw_open(&r, dir, STORE_DB_META);
    raw_unpack_jobs(r.txn);
    raw_put_schema(r.txn, 9);
    raw_close(&r);
}

/* A schema-3 key time (oldest first) | jobArn bytes from a schema-4 one at p (after any
 * prefix); returns its size. Schema 3's keys are this schema's. */
static _unused_ size_t raw_key_v3(const uint8_t *p, size_t n, uint8_t *out)
{
    char arn[CJ_JOB_ARN_MAX];
    assert_true(n > 8);
    ssize_t len = get_arn_key_v6(p + 8, n - 8, arn);
    assert_true(len > 0);
    put_time_key(out, get_time_key_v6(p));
    memcpy(out + 8, arn, (size_t)len);
    return 8 + (size_t)len;
}

static _unused_ void raw_meta_del(MDB_txn *txn, MDB_dbi meta, const char *key)
{
    MDB_val k = {.mv_size = strlen(key), .mv_data = (void *)key};
    int rc = mdb_del(txn, meta, &k, NULL);
    assert_true(rc == 0 || rc == MDB_NOTFOUND);
}

/* Rewrites database `name` (keys prefix of plen bytes | time | jobArn) with schema 6's keys:
 * a secondary index of sorted duplicates (prefix, then time | jobArn | status) becomes one
 * of keys prefix | time | jobArn and values the status. */
static _unused_ void raw_rekey_v6(MDB_txn *txn, const char *name, size_t plen)
{
    MDB_dbi dbi;
    unsigned flags;
    assert_int_equal(mdb_dbi_open(txn, name, 0, &dbi), 0);
    assert_int_equal(mdb_dbi_flags(txn, dbi, &flags), 0);
    const bool dup = flags & MDB_DUPSORT;
    struct entry {
        uint8_t key[INDEX_KEY_MAX];
        size_t klen;
        void *val;
        size_t vlen;
    } *e = NULL;
    size_t n = 0, cap = 0;
    MDB_cursor *c;
    MDB_val k, v;
    int rc;
    assert_int_equal(mdb_cursor_open(txn, dbi, &c), 0);
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        char arn[CJ_JOB_ARN_MAX];
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            e = realloc(e, cap * sizeof(*e));
            assert_non_null(e);
        }
        uint8_t full[INDEX_KEY_MAX];
        MDB_val fk = k, fv = v;
        if (dup) { /* the full key and the status as the value */
            assert_int_equal(k.mv_size, plen);
            assert_true(v.mv_size > 9);
            memcpy(full, k.mv_data, plen);
            memcpy(full + plen, v.mv_data, v.mv_size - 1);
            fk = (MDB_val){.mv_size = plen + v.mv_size - 1, .mv_data = full};
            fv = (MDB_val){.mv_size = 1, .mv_data = (uint8_t *)v.mv_data + v.mv_size - 1};
        }
        assert_true(fk.mv_size > plen + 8);
        ssize_t len = get_arn_key((uint8_t *)fk.mv_data + plen + 8, fk.mv_size - plen - 8, arn);
        assert_true(len > 0);
        memcpy(e[n].key, fk.mv_data, plen);
        put_time_key_v6(e[n].key + plen, get_time_key((uint8_t *)fk.mv_data + plen));
        e[n].klen = plen + 8 + put_arn_key_v6(e[n].key + plen + 8, arn, (size_t)len);
        e[n].val = malloc(fv.mv_size + 1);
        assert_non_null(e[n].val);
        memcpy(e[n].val, fv.mv_data, fv.mv_size);
        e[n].vlen = fv.mv_size;
        n++;
    }
    assert_int_equal(rc, MDB_NOTFOUND);
    mdb_cursor_close(c);
    assert_int_equal(mdb_drop(txn, dbi, dup), 0);
    if (dup)
        assert_int_equal(mdb_dbi_open(txn, name, MDB_CREATE, &dbi), 0);
    for (size_t j = 0; j < n; j++) {
        MDB_val nk = {.mv_size = e[j].klen, .mv_data = e[j].key};
        MDB_val nv = {.mv_size = e[j].vlen, .mv_data = e[j].val};
        assert_int_equal(mdb_put(txn, dbi, &nk, &nv, 0), 0);
        free(e[j].val);
    }
    free(e);
}

/* Rewrites a closed store in the layout of schema 6, as a copyjobd of then left it: every key
 * holding time | jobArn newest first (time negated, jobArn bytes as 255 - b, then 0xFF), in the
 * rows' databases, the secondary indexes (one entry per key, the status as its value) and
 * `jobs` values. */
static _unused_ void raw_write_v6_layout(const char *dir)
{
    struct raw r;
    MDB_dbi jobs = raw_open(&r, dir, STORE_DB_JOBS);
    MDB_cursor *c;
    MDB_val k, v;
    int rc;
    raw_unpack_jobs(r.txn);
    for (unsigned d = 0; d < STORE_ROWS_DBS; d++)
        raw_rekey_v6(r.txn, store_rows_db_names[d], 0);
    for (size_t i = STORE_INDEX_FIRST_SECONDARY; i < _CJ_INDEX_MAX; i++)
        raw_rekey_v6(r.txn, store_index_db_names[i], store_index_prefix_len(i));
    assert_int_equal(mdb_cursor_open(r.txn, jobs, &c), 0);
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        uint8_t t[JOBS_VALUE_SIZE], key[CJ_JOB_ARN_MAX];
        assert_int_equal(v.mv_size, JOBS_VALUE_SIZE);
        assert_true(k.mv_size <= sizeof(key));
        memcpy(t, v.mv_data, sizeof(t));
        put_time_key_v6(t, get_time_key(v.mv_data));
        memcpy(key, k.mv_data, k.mv_size);
        MDB_val nk = {.mv_size = k.mv_size, .mv_data = key};
        MDB_val nv = {.mv_size = sizeof(t), .mv_data = t};
        assert_int_equal(mdb_cursor_put(c, &nk, &nv, MDB_CURRENT), 0);
    }
    assert_int_equal(rc, MDB_NOTFOUND);
    mdb_cursor_close(c);
    raw_put_schema(r.txn, 6);
    raw_close(&r);
}

/* Rewrites a closed store in the layout of schema 5, as a copyjobd of then left it: every row
 * in idx_time, idx_status (status | time | jobArn, empty values), `jobs` values without the
 * status, empty values in the other indexes, no rows_* databases. */
static _unused_ void raw_write_v5_layout(const char *dir)
{
    struct raw r;
    raw_write_v6_layout(dir);
    MDB_dbi jobs = raw_open(&r, dir, STORE_DB_JOBS), time_dbi, status_dbi;
    MDB_cursor *c;
    MDB_val k, v;
    int rc;
    assert_int_equal(mdb_dbi_open(r.txn, "idx_time", MDB_CREATE, &time_dbi), 0);
    assert_int_equal(mdb_dbi_open(r.txn, "idx_status", MDB_CREATE, &status_dbi), 0);
    for (unsigned d = 0; d < STORE_ROWS_DBS; d++) {
        MDB_dbi rows;
        assert_int_equal(mdb_dbi_open(r.txn, store_rows_db_names[d], 0, &rows), 0);
        assert_int_equal(mdb_cursor_open(r.txn, rows, &c), 0);
        for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            uint8_t key[INDEX_KEY_MAX];
            assert_true(k.mv_size + 1 <= sizeof(key) && v.mv_size > ROW_HEADER_SIZE);
            assert_int_equal(mdb_put(r.txn, time_dbi, &k, &v, 0), 0);
            key[0] = ((const uint8_t *)v.mv_data)[1]; /* the row's status */
            memcpy(key + 1, k.mv_data, k.mv_size);
            MDB_val sk = {.mv_size = k.mv_size + 1, .mv_data = key}, empty = {0};
            assert_int_equal(mdb_put(r.txn, status_dbi, &sk, &empty, 0), 0);
        }
        assert_int_equal(rc, MDB_NOTFOUND);
        mdb_cursor_close(c);
        assert_int_equal(mdb_drop(r.txn, rows, 1), 0);
    }
    assert_int_equal(mdb_cursor_open(r.txn, jobs, &c), 0);
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        uint8_t t[JOBS_VALUE_SIZE_V5], key[CJ_JOB_ARN_MAX];
        assert_int_equal(v.mv_size, JOBS_VALUE_SIZE);
        assert_true(k.mv_size <= sizeof(key));
        memcpy(t, v.mv_data, sizeof(t));
        memcpy(key, k.mv_data, k.mv_size);
        MDB_val nk = {.mv_size = k.mv_size, .mv_data = key};
        MDB_val nv = {.mv_size = sizeof(t), .mv_data = t};
        assert_int_equal(mdb_cursor_put(c, &nk, &nv, MDB_CURRENT), 0);
    }
    assert_int_equal(rc, MDB_NOTFOUND);
    mdb_cursor_close(c);
    for (size_t i = STORE_INDEX_FIRST_SECONDARY; i < _CJ_INDEX_MAX; i++) {
        MDB_dbi dbi;
        assert_int_equal(mdb_dbi_open(r.txn, store_index_db_names[i], 0, &dbi), 0);
        assert_int_equal(mdb_cursor_open(r.txn, dbi, &c), 0);
        for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            uint8_t key[INDEX_KEY_MAX];
            assert_int_equal(v.mv_size, INDEX_VALUE_SIZE);
            memcpy(key, k.mv_data, k.mv_size);
            MDB_val nk = {.mv_size = k.mv_size, .mv_data = key}, empty = {0};
            assert_int_equal(mdb_cursor_put(c, &nk, &empty, MDB_CURRENT), 0);
        }
        assert_int_equal(rc, MDB_NOTFOUND);
        mdb_cursor_close(c);
    }
    raw_put_schema(r.txn, 5);
    raw_close(&r);
}

/* Rewrites a closed store in the layout of schema 4, as a copyjobd of then left it: no
 * sources (`jobs` values are time keys, the one last sync time is META_SYNCED_AT_V4: the one
 * of source code 0, if any), no region codes in the rows, no region or job account index. */
static _unused_ void raw_write_v4_layout(const char *dir)
{
    struct raw r;
    raw_write_v5_layout(dir);
    MDB_dbi jobs = raw_open(&r, dir, STORE_DB_JOBS), meta, time_dbi;
    MDB_cursor *c;
    MDB_val k, v;
    int rc;
    assert_int_equal(mdb_cursor_open(r.txn, jobs, &c), 0);
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        uint8_t t[8], key[CJ_JOB_ARN_MAX];
        assert_int_equal(v.mv_size, JOBS_VALUE_SIZE_V5);
        assert_true(k.mv_size <= sizeof(key));
        memcpy(t, v.mv_data, 8);
        /* Copied out: a put of another size moves the node the cursor's key lies in. */
        memcpy(key, k.mv_data, k.mv_size);
        MDB_val nk = {.mv_size = k.mv_size, .mv_data = key};
        MDB_val nv = {.mv_size = 8, .mv_data = t};
        assert_int_equal(mdb_cursor_put(c, &nk, &nv, MDB_CURRENT), 0);
    }
    assert_int_equal(rc, MDB_NOTFOUND);
    mdb_cursor_close(c);
    assert_int_equal(mdb_dbi_open(r.txn, "idx_time", 0, &time_dbi), 0);
    assert_int_equal(mdb_cursor_open(r.txn, time_dbi, &c), 0);
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        uint8_t key[INDEX_KEY_MAX];
        assert_true(v.mv_size > ROW_HEADER_SIZE && k.mv_size <= sizeof(key));
        memcpy(key, k.mv_data, k.mv_size);
        uint8_t *row = malloc(v.mv_size);
        assert_non_null(row);
        memcpy(row, v.mv_data, v.mv_size);
        row[36] = row[37] = 0;
        MDB_val nk = {.mv_size = k.mv_size, .mv_data = key};
        MDB_val nv = {.mv_size = v.mv_size, .mv_data = row};
        assert_int_equal(mdb_cursor_put(c, &nk, &nv, MDB_CURRENT), 0);
        free(row);
    }
    assert_int_equal(rc, MDB_NOTFOUND);
    mdb_cursor_close(c);
    for (size_t i = CJ_INDEX_JOB_REGION_TIME; i < _CJ_INDEX_MAX; i++) {
        MDB_dbi dbi;
        assert_int_equal(mdb_dbi_open(r.txn, store_index_db_names[i], 0, &dbi), 0);
        assert_int_equal(mdb_drop(r.txn, dbi, 1), 0);
    }
    assert_int_equal(mdb_dbi_open(r.txn, STORE_DB_META, 0, &meta), 0);
    MDB_val sk = {.mv_size = strlen(META_SOURCE_PREFIX "0"), .mv_data = META_SOURCE_PREFIX "0"};
    if (mdb_get(r.txn, meta, &sk, &v) == 0) {
        uint8_t t[8];
        assert_true(v.mv_size >= 8);
        memcpy(t, v.mv_data, 8);
        MDB_val tk = {.mv_size = strlen(META_SYNCED_AT_V4), .mv_data = META_SYNCED_AT_V4};
        MDB_val tv = {.mv_size = 8, .mv_data = t};
        assert_int_equal(mdb_put(r.txn, meta, &tk, &tv, 0), 0);
    }
    for (unsigned i = 0; i < 64; i++) {
        char key[32];
        snprintf(key, sizeof(key), META_SOURCE_PREFIX "%u", i);
        raw_meta_del(r.txn, meta, key);
    }
    raw_meta_del(r.txn, meta, META_SOURCE_NAMES);
    raw_meta_del(r.txn, meta, META_REGION_NAMES);
    raw_put_schema(r.txn, 4);
    raw_close(&r);
}

/* Rewrites a closed store in the layout of schema 3, as a copyjobd of then left it: keys
 * oldest first with the jobArn's own bytes, in every index and in `jobs`' values. */
static _unused_ void raw_write_v3_layout(const char *dir)
{
    struct raw r;
    raw_write_v4_layout(dir);
    MDB_dbi jobs = raw_open(&r, dir, STORE_DB_JOBS);
    MDB_cursor *c;
    MDB_val k, v;
    int rc;
    for (size_t i = 0; i < CJ_INDEX_JOB_REGION_TIME; i++) {
        MDB_dbi dbi;
        size_t plen = store_index_prefix_len(i), n = 0, cap = 0;
        struct {
            uint8_t key[INDEX_KEY_MAX];
            size_t klen;
            void *val;
            size_t vlen;
        } *e = NULL;
        assert_int_equal(mdb_dbi_open(r.txn, store_index_db_names[i], 0, &dbi), 0);
        assert_int_equal(mdb_cursor_open(r.txn, dbi, &c), 0);
        for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            if (n == cap) {
                cap = cap ? 2 * cap : 64;
                e = realloc(e, cap * sizeof(*e));
                assert_non_null(e);
            }
            memcpy(e[n].key, k.mv_data, plen);
            e[n].klen =
                plen + raw_key_v3((uint8_t *)k.mv_data + plen, k.mv_size - plen, e[n].key + plen);
            e[n].val = malloc(v.mv_size + 1);
            assert_non_null(e[n].val);
            memcpy(e[n].val, v.mv_data, v.mv_size);
            e[n].vlen = v.mv_size;
            n++;
        }
        assert_int_equal(rc, MDB_NOTFOUND);
        mdb_cursor_close(c);
        assert_int_equal(mdb_drop(r.txn, dbi, 0), 0);
        for (size_t j = 0; j < n; j++) {
            MDB_val nk = {.mv_size = e[j].klen, .mv_data = e[j].key};
            MDB_val nv = {.mv_size = e[j].vlen, .mv_data = e[j].val};
            assert_int_equal(mdb_put(r.txn, dbi, &nk, &nv, 0), 0);
            free(e[j].val);
        }
        free(e);
    }
    assert_int_equal(mdb_cursor_open(r.txn, jobs, &c), 0);
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        uint8_t t[8];
        assert_int_equal(v.mv_size, 8);
        put_time_key(t, get_time_key_v6(v.mv_data));
        MDB_val nv = {.mv_size = 8, .mv_data = t};
        assert_int_equal(mdb_cursor_put(c, &k, &nv, MDB_CURRENT), 0);
    }
    assert_int_equal(rc, MDB_NOTFOUND);
    mdb_cursor_close(c);
    raw_put_schema(r.txn, 3);
    raw_close(&r);
}

/* Rewrites a closed store in the layout of schema 2, as a copyjobd of then left it: each
 * row back in `jobs` under its jobArn, empty values in idx_time (schema 3's keys, as the
 * other indexes); and records `version` (2, or 1 for a store that also predates the change
 * log: the caller drops the log). */
static _unused_ void raw_write_old_layout(const char *dir, uint8_t version)
{
    struct raw r;
    raw_write_v3_layout(dir);
    MDB_dbi time_dbi = raw_open(&r, dir, "idx_time"), jobs, meta;
    MDB_cursor *c;
    MDB_val k, v;
    int rc;
    assert_int_equal(mdb_dbi_open(r.txn, STORE_DB_JOBS, 0, &jobs), 0);
    assert_int_equal(mdb_dbi_open(r.txn, STORE_DB_META, 0, &meta), 0);
    assert_int_equal(mdb_cursor_open(r.txn, time_dbi, &c), 0);
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        assert_true(k.mv_size > 8 && k.mv_size <= 8 + CJ_JOB_ARN_MAX);
        uint8_t key[8 + CJ_JOB_ARN_MAX];
        memcpy(key, k.mv_data, k.mv_size);
        void *row = malloc(v.mv_size);
        assert_non_null(row);
        memcpy(row, v.mv_data, v.mv_size);
        MDB_val ak = {.mv_size = k.mv_size - 8, .mv_data = key + 8};
        MDB_val av = {.mv_size = v.mv_size, .mv_data = row};
        assert_int_equal(mdb_put(r.txn, jobs, &ak, &av, 0), 0);
        MDB_val tk = {.mv_size = k.mv_size, .mv_data = key}, empty = {0};
        assert_int_equal(mdb_cursor_put(c, &tk, &empty, MDB_CURRENT), 0);
        free(row);
    }
    assert_int_equal(rc, MDB_NOTFOUND);
    mdb_cursor_close(c);
    raw_put_schema(r.txn, version);
    raw_close(&r);
}

/* The row value of jobArn arn, through `jobs` (database handle jobs), read raw in txn. */
static _unused_ void raw_get_row(MDB_txn *txn, MDB_dbi jobs, const void *arn, size_t arn_len,
                                 MDB_val *row)
{
    MDB_val ak = {.mv_size = arn_len, .mv_data = (void *)arn}, jv;
    uint8_t key[INDEX_KEY_MAX], kb[JOBS_KEY_PACKED];
    size_t key_len;
    MDB_dbi rows;
    /* Under its jobArn in a store of schema 9 or before, else packed when it packs. */
    if (mdb_get(txn, jobs, &ak, &jv) == MDB_NOTFOUND) {
        raw_jobs_key(txn, arn, arn_len, kb, &ak);
        assert_int_equal(mdb_get(txn, jobs, &ak, &jv), 0);
    }
    assert_int_equal(store_row_key(&jv, arn, arn_len, key, &key_len), 0);
    assert_int_equal(
        mdb_dbi_open(txn, store_rows_db_names[store_rows_of(jobs_value_status(&jv))], 0, &rows), 0);
    MDB_val rk = {.mv_size = key_len, .mv_data = key};
    assert_int_equal(mdb_get(txn, rows, &rk, row), 0);
}

/* Rewrites every row in the layout of row version 1 (a 40-byte header) or 2 (48, the event
 * seq), both with the name and sourceModelArn copied after the header. */
static _unused_ void raw_rows_to_version(MDB_txn *txn, uint8_t version)
{
    const size_t header = version == ROW_VERSION_1 ? ROW_HEADER_SIZE_V1 : ROW_HEADER_SIZE_V2;
    MDB_cursor *c;
    MDB_val k, v;
    int rc;
    assert_true(version == ROW_VERSION_1 || version == ROW_VERSION_2);
    for (unsigned d = 0; d < STORE_ROWS_DBS; d++) {
        MDB_dbi rows;
        assert_int_equal(mdb_dbi_open(txn, store_rows_db_names[d], 0, &rows), 0);
        assert_int_equal(mdb_cursor_open(txn, rows, &c), 0);
        for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            struct store_row row;
            assert_int_equal(store_row_decode(v.mv_data, v.mv_size, &row), 0);
            size_t json_off = header + row.name_len + row.model_arn_len;
            uint8_t *nv = calloc(1, json_off + row.json_len), key[INDEX_KEY_MAX];
            assert_non_null(nv);
            memcpy(nv, v.mv_data, ROW_HEADER_SIZE_V1);
            nv[0] = version;
            put_le16(nv + 6, (uint16_t)json_off);
            if (version == ROW_VERSION_2)
                put_le64(nv + ROW_EVENT_SEQ_AT, row.event_seq);
            memcpy(nv + header, row.name, row.name_len);
            memcpy(nv + header + row.name_len, row.model_arn, row.model_arn_len);
            memcpy(nv + json_off, row.json, row.json_len);
            assert_true(k.mv_size <= sizeof(key));
            memcpy(key, k.mv_data, k.mv_size);
            MDB_val nk = {.mv_size = k.mv_size, .mv_data = key};
            MDB_val val = {.mv_size = json_off + row.json_len, .mv_data = nv};
            assert_int_equal(mdb_cursor_put(c, &nk, &val, MDB_CURRENT), 0);
            free(nv);
        }
        assert_int_equal(rc, MDB_NOTFOUND);
        mdb_cursor_close(c);
    }
}

/* Rewrites a closed store's rows as schema 8 wrote them (row version 2); its events are
 * already as schema 8 writes them. */
static _unused_ void raw_write_v8_data(const char *dir)
{
    struct raw r;
    (void)raw_open(&r, dir, STORE_DB_META);
    raw_unpack_jobs(r.txn);
    raw_rows_to_version(r.txn, ROW_VERSION_2);
    raw_put_schema(r.txn, 8);
    raw_close(&r);
}

/* Rewrites a closed store's data as schema 7 and every copyjobd before it wrote it: each
 * event holds its JSON, and each row has a header of version 1 (no event seq). */
static _unused_ void raw_write_v7_data(const char *dir)
{
    struct raw r;
    MDB_dbi events = raw_open(&r, dir, store_events_db_names[0]), jobs;
    MDB_cursor *c;
    MDB_val k, v;
    int rc;
    raw_unpack_jobs(r.txn);
    assert_int_equal(mdb_dbi_open(r.txn, STORE_DB_JOBS, 0, &jobs), 0);
    assert_int_equal(mdb_cursor_open(r.txn, events, &c), 0);
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        const uint8_t *p = v.mv_data;
        if (!store_event_refers(p[0]))
            continue;
        MDB_val rv;
        struct store_row row;
        raw_get_row(r.txn, jobs, p + 1, v.mv_size - 1, &rv);
        assert_int_equal(store_row_decode(rv.mv_data, rv.mv_size, &row), 0);
        uint8_t *e = malloc(1 + row.json_len), key[8];
        assert_non_null(e);
        e[0] = store_event_type(p[0]);
        memcpy(e + 1, row.json, row.json_len);
        memcpy(key, k.mv_data, sizeof(key));
        MDB_val ek = {.mv_size = sizeof(key), .mv_data = key};
        MDB_val ev = {.mv_size = 1 + row.json_len, .mv_data = e};
        assert_int_equal(mdb_cursor_put(c, &ek, &ev, MDB_CURRENT), 0);
        free(e);
    }
    assert_int_equal(rc, MDB_NOTFOUND);
    mdb_cursor_close(c);
    raw_rows_to_version(r.txn, ROW_VERSION_1);
    raw_put_schema(r.txn, 7);
    raw_close(&r);
}

/* Rewrites a closed store in the layout of schema `version` (2 to 9). */
static _unused_ void raw_write_layout(const char *dir, uint8_t version)
{
    if (version == 9) {
        raw_write_v9_data(dir);
        return;
    }
    if (version == 8) {
        raw_write_v8_data(dir);
        return;
    }
    raw_write_v7_data(dir);
    if (version == 7)
        return;
    if (version == 6)
        raw_write_v6_layout(dir);
    else if (version == 5)
        raw_write_v5_layout(dir);
    else if (version == 4)
        raw_write_v4_layout(dir);
    else if (version == 3)
        raw_write_v3_layout(dir);
    else
        raw_write_old_layout(dir, version);
}

/* ---- the reference: filter and order the jobs by brute force ---- */

static _unused_ bool ref_matches(const struct cj_job *j, const struct cj_query *q)
{
    if (q->has_status && j->status != q->status)
        return false;
    if (q->source_account && strcmp(j->source_account, q->source_account) != 0)
        return false;
    if (q->source_model_arn && strcmp(j->source_model_arn, q->source_model_arn) != 0)
        return false;
    if (q->name_contains &&
        (!j->target_model_name || !strstr(j->target_model_name, q->name_contains)))
        return false;
    if (q->has_after && !(j->creation_ns > q->after_ns))
        return false;
    if (q->has_before && !(j->creation_ns < q->before_ns))
        return false;
    /* arn:aws:bedrock:REGION:ACCOUNT:..., the tests' partition is always aws */
    const char *region = j->job_arn + strlen("arn:aws:bedrock:");
    const char *account = strchr(region, ':') + 1;
    if (q->job_region && ((size_t)(account - 1 - region) != strlen(q->job_region) ||
                          memcmp(region, q->job_region, strlen(q->job_region)) != 0))
        return false;
    if (q->job_account && memcmp(account, q->job_account, CJ_ACCOUNT_ID_LEN) != 0)
        return false;
    return true;
}

static _unused_ int ref_cmp_asc(const void *a, const void *b)
{
    const struct cj_job *x = *(const struct cj_job *const *)a,
                        *y = *(const struct cj_job *const *)b;
    if (x->creation_ns != y->creation_ns)
        return x->creation_ns < y->creation_ns ? -1 : 1;
    return strcmp(x->job_arn, y->job_arn);
}

static _unused_ int ref_cmp_desc(const void *a, const void *b)
{
    return -ref_cmp_asc(a, b);
}

/* Fills out[] with the matching jobs in the query's order; returns the count. */
static _unused_ size_t ref_query(struct cj_job *const *jobs, size_t n, const struct cj_query *q,
                                 struct cj_job **out)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (jobs[i] && ref_matches(jobs[i], q))
            out[m++] = jobs[i];
    qsort(out, m, sizeof(*out), q->ascending ? ref_cmp_asc : ref_cmp_desc);
    return m;
}

/* Checks one page against the expected jobs exp[0..n) byte for byte; returns the
 * nextToken (malloc'd) or NULL on the last page. */
static _unused_ char *check_page(const struct cj_buf *out, struct cj_job *const *exp, size_t n,
                                 bool expect_more)
{
    struct cj_buf want = {0};
    assert_int_equal(cj_buf_append_str(&want, "{\"modelCopyJobSummaries\":["), 0);
    for (size_t i = 0; i < n; i++) {
        if (i)
            assert_int_equal(cj_buf_append_char(&want, ','), 0);
        assert_int_equal(cj_buf_append(&want, exp[i]->json, exp[i]->json_len), 0);
    }
    assert_int_equal(cj_buf_append_char(&want, ']'), 0);
    assert_non_null(out->data);
    if (out->len < want.len || memcmp(out->data, want.data, want.len) != 0)
        fail_msg("page differs:\n got %.600s\nwant %.600s", out->data, want.data);
    const char *rest = out->data + want.len;
    char *token = NULL;
    if (!expect_more) {
        assert_string_equal(rest, "}");
    } else {
        const char *pfx = ",\"nextToken\":\"";
        assert_memory_equal(rest, pfx, strlen(pfx));
        rest += strlen(pfx);
        const char *end = strchr(rest, '"');
        assert_non_null(end);
        assert_string_equal(end, "\"}");
        assert_true(end - rest <= CJ_NEXT_TOKEN_MAX && end > rest);
        token = strndup(rest, (size_t)(end - rest));
    }
    cj_buf_free(&want);
    return token;
}
