/* SPDX-License-Identifier: MIT */
/* Arbitrary bytes as nextToken for cj_store_list on a small store: never a crash, only 0
 * or -EINVAL with a client message, and never a row outside the query's filters.
 * Input: byte 0 picks one of the queries, byte 1 the page size, the rest is the token.
 * The store's token key is fixed so that seeds can hold real tokens; run once with
 * CJ_FUZZ_WRITE_SEEDS=<dir> to write them. */
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../unit/test-util.h"
#include "log.h"
#include "store-internal.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_JOBS 60

static const char *const accounts[] = {"111111111111", "222222222222"};
static const char *const models[] = {"arn:aws:bedrock:us-east-1::foundation-model/a.b-v1",
                                     "arn:aws:bedrock:us-east-1::foundation-model/c.d-v2"};
static const char *const status_names[] = {"InProgress", "Completed", "Failed"};

static const struct cj_query queries[] = {
    {.ascending = false},
    {.ascending = true, .has_status = true, .status = CJ_STATUS_FAILED},
    {.source_account = "111111111111"},
    {.source_model_arn = "arn:aws:bedrock:us-east-1::foundation-model/c.d-v2", .ascending = true},
    {.name_contains = "beta", .has_after = true, .after_ns = 1700000000000000010},
    {.source_account = "222222222222",
     .has_status = true,
     .status = CJ_STATUS_COMPLETED,
     .has_before = true,
     .before_ns = 1700000000000000040},
};

static char dir[] = "/tmp/cj-fuzz-store-XXXXXX";
static struct cj_store *store;

static void cleanup(void)
{
    cj_store_close(store);
    (void)test_rm_tree(dir);
}

static void fill(struct cj_job *j, unsigned i)
{
    static char arn[N_JOBS][96], json[N_JOBS][512];
    const char *name = i % 3 == 0 ? NULL : i % 3 == 1 ? "alphabeta" : "gamma";
    snprintf(arn[i], sizeof(arn[i]), "arn:aws:bedrock:us-east-1:%s:model-copy-job/j%04u",
             accounts[i % 2], i);
    *j = (struct cj_job){.job_arn = arn[i],
                         .status = (enum cj_status)(i % 3),
                         .creation_ns = 1700000000000000000 + (i / 4) * 5,
                         .source_model_arn = (char *)models[(i / 2) % 2],
                         .target_model_name = (char *)name};
    memcpy(j->source_account, accounts[i % 2], 13);
    int n = snprintf(json[i], sizeof(json[i]),
                     "{\"jobArn\":\"%s\",\"status\":\"%s\",\"sourceAccountId\":\"%s\","
                     "\"sourceModelArn\":\"%s\",\"targetModelName\":\"%s\",\"t\":%lld}",
                     arn[i], status_names[i % 3], accounts[i % 2], models[(i / 2) % 2],
                     name ? name : "", (long long)j->creation_ns);
    j->json = json[i];
    j->json_len = (size_t)n;
}

static void fix_token_key(void)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    uint8_t key[CJ_STORE_MAC_KEY_SIZE];
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(i * 7 + 1);
    MDB_val k = {.mv_size = strlen(META_TOKEN_KEY), .mv_data = META_TOKEN_KEY};
    MDB_val v = {.mv_size = sizeof(key), .mv_data = key};
    if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 8) || mdb_env_open(env, dir, 0, 0600) ||
        mdb_txn_begin(env, NULL, 0, &txn) || mdb_dbi_open(txn, STORE_DB_META, 0, &dbi) ||
        mdb_put(txn, dbi, &k, &v, 0) || mdb_txn_commit(txn))
        abort();
    mdb_env_close(env);
}

static void write_seeds(const char *out_dir)
{
    for (size_t qi = 0; qi < sizeof(queries) / sizeof(queries[0]); qi++) {
        struct cj_query q = queries[qi];
        struct cj_buf out = {0};
        char err[128], path[512];
        q.max_results = 3;
        if (cj_store_list(store, &q, &out, err, sizeof(err)) < 0)
            abort();
        const char *t = strstr(out.data, "\"nextToken\":\"");
        if (t) {
            t += strlen("\"nextToken\":\"");
            snprintf(path, sizeof(path), "%s/valid-query%zu", out_dir, qi);
            FILE *f = fopen(path, "w");
            if (!f)
                abort();
            fputc((int)qi, f);
            fputc(3, f);
            fwrite(t, 1, strcspn(t, "\""), f);
            fclose(f);
        }
        cj_buf_free(&out);
    }
}

static void init(void)
{
    struct cj_job jobs[N_JOBS];
    struct cj_store_options o = {.directory = dir, .max_size = 16 << 20};
    if (!mkdtemp(dir))
        abort();
    atexit(cleanup);
    cj_log_set_max_level(LOG_WARNING);
    if (cj_store_open(&o, &store) < 0)
        abort();
    for (unsigned i = 0; i < N_JOBS; i++)
        fill(&jobs[i], i);
    if (cj_store_put_jobs(store, "us-east-1", NULL, jobs, N_JOBS, NULL) < 0)
        abort();
    cj_store_close(store);
    fix_token_key();
    if (cj_store_open(&o, &store) < 0)
        abort();
    if (getenv("CJ_FUZZ_WRITE_SEEDS"))
        write_seeds(getenv("CJ_FUZZ_WRITE_SEEDS"));
}

/* Every returned row must satisfy the query. */
static void check_rows(const struct cj_query *q, const char *body)
{
    for (const char *p = strstr(body, "{\"jobArn\":\""); p; p = strstr(p + 1, "{\"jobArn\":\"")) {
        char want[160];
        const char *end = strchr(p, '}');
        if (!end)
            abort();
        size_t n = (size_t)(end - p);
        if (q->has_status) {
            snprintf(want, sizeof(want), "\"status\":\"%s\"", status_names[q->status]);
            if (!memmem(p, n, want, strlen(want)))
                abort();
        }
        if (q->source_account) {
            snprintf(want, sizeof(want), "\"sourceAccountId\":\"%s\"", q->source_account);
            if (!memmem(p, n, want, strlen(want)))
                abort();
        }
        if (q->source_model_arn) {
            snprintf(want, sizeof(want), "\"sourceModelArn\":\"%s\"", q->source_model_arn);
            if (!memmem(p, n, want, strlen(want)))
                abort();
        }
        if (q->name_contains) {
            const char *name = memmem(p, n, "\"targetModelName\":\"", 19);
            if (!name || !memmem(name + 19, (size_t)(end - name - 19), q->name_contains,
                                 strlen(q->name_contains)))
                abort();
        }
        if (q->has_after || q->has_before) {
            const char *t = memmem(p, n, "\"t\":", 4);
            if (!t)
                abort();
            long long ns = strtoll(t + 4, NULL, 10);
            if ((q->has_after && !(ns > q->after_ns)) || (q->has_before && !(ns < q->before_ns)))
                abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!store)
        init();
    if (size < 2)
        return 0;

    struct cj_query q = queries[data[0] % (sizeof(queries) / sizeof(queries[0]))];
    q.max_results = 1 + data[1] % 50;
    char *token = strndup((const char *)data + 2, size - 2);
    if (!token)
        return 0;
    q.next_token = token;

    struct cj_buf out = {0};
    char err[256] = "";
    int r = cj_store_list(store, &q, &out, err, sizeof(err));
    if (r == 0) {
        check_rows(&q, out.data);
        if (strncmp(out.data, "{\"modelCopyJobSummaries\":[", 26) != 0 ||
            out.data[out.len - 1] != '}')
            abort();
    } else if (r != -EINVAL || strncmp(err, "nextToken: ", 11) != 0 || out.len != 0)
        abort();
    cj_buf_free(&out);
    free(token);
    return 0;
}
