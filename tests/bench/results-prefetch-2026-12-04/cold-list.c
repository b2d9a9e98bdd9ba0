/* SPDX-License-Identifier: MIT */
/* cj_store_list's CPU time per query with the caches swept before each (64 MiB written), in
 * process, on a store synced from the fake; built against a build's store library:
 *   B=build-bench; cc -D_GNU_SOURCE -DCJ_VERSION=\"0.1.0\" -Iinclude -Idaemon/store -Idaemon/bedrock
 *     -Idaemon/aws -Idaemon/config -Idaemon/common -O2 -DNDEBUG -std=gnu17 -o cold-list cold-list.c
 *     $B/daemon/store/libcj_store.a $B/daemon/bedrock/libcj_bedrock.a
 *     $B/daemon/common/libcj_common.a -llmdb -lcrypto -ljansson -lsystemd
 *   ./cold-list STORE_DIR KIND N    (KIND: newest, window, failed, account, model, walk, get)
 * Derived from tests/bench/profile-store.c (its parameters: the newest jobs' account and
 * model). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"

#define NS            INT64_C(1000000000)
#define APRIL_2025    INT64_C(1743465600) /* 2025-04-01T00:00:00Z */
#define MAY_2025      INT64_C(1746057600)
#define DAY           INT64_C(86400)
#define MODEL_ARN_MAX 2048 /* as the store allows */

static char account[CJ_ACCOUNT_ID_LEN + 1], model[MODEL_ARN_MAX + 1];
static char arns[200][CJ_JOB_ARN_MAX + 1];
static size_t n_arns;

/* The parameters of the queries, from the newest jobs. */
static int pick(const char *body)
{
    const char *p = body;
    while (n_arns < 200 && (p = strstr(p, "\"jobArn\":\""))) {
        p += strlen("\"jobArn\":\"");
        size_t n = strcspn(p, "\"");
        if (n > CJ_JOB_ARN_MAX)
            return -1;
        memcpy(arns[n_arns++], p, n);
    }
    const char *a = strstr(body, "\"sourceAccountId\":\""),
               *m = strstr(body, "\"sourceModelArn\":\"");
    if (!n_arns || !a || !m)
        return -1;
    memcpy(account, a + strlen("\"sourceAccountId\":\""), CJ_ACCOUNT_ID_LEN);
    m += strlen("\"sourceModelArn\":\"");
    size_t n = strcspn(m, "\"");
    if (n > MODEL_ARN_MAX)
        return -1;
    memcpy(model, m, n);
    return 0;
}

static void month(struct cj_query *q, int64_t before_s)
{
    q->has_after = q->has_before = true;
    q->before_ns = before_s * NS;
    q->after_ns = (before_s - 30 * DAY) * NS;
}

#include <time.h>
#define SWEEP (64u << 20)
static unsigned char *sweep_buf;
static volatile unsigned sink;
static void evict(void)
{
    for (size_t i = 0; i < SWEEP; i += 64)
        sweep_buf[i]++;
}
static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}
static int64_t oldest_ns, newest_ns;

/* One kind's query n times, each after the caches are swept; median and p90 of its CPU. */
static int measure(struct cj_store *s, const char *kind, int n, struct cj_buf *out)
{
    struct cj_query q = {.max_results = 100};
    bool get = strcmp(kind, "get") == 0, window = strcmp(kind, "window") == 0,
         failed = strcmp(kind, "failed") == 0, walk = strcmp(kind, "walk") == 0;
    if (walk)
        q.has_status = true, q.status = CJ_STATUS_FAILED, q.max_results = 1000;
    else if (failed)
        q.has_status = true, q.status = CJ_STATUS_FAILED;
    else if (strcmp(kind, "account") == 0)
        q.source_account = account;
    else if (strcmp(kind, "model") == 0)
        q.source_model_arn = model;
    else if (strcmp(kind, "newest") != 0 && !get && !window && !walk)
        return -1;
    uint64_t *t = malloc((size_t)n * sizeof(*t));
    uint64_t rng = 88172645463325252u;
    for (int i = 0; i < n; i++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        if (window || failed || walk) {
            int64_t span = newest_ns - oldest_ns - 30 * DAY * NS;
            q.after_ns = oldest_ns + (int64_t)(rng % (uint64_t)(span > 0 ? span : 1));
            q.before_ns = q.after_ns + 30 * DAY * NS;
            q.has_after = q.has_before = true;
        }
        cj_buf_reset(out);
        evict();
        uint64_t t0 = cpu_ns();
        int r = get ? cj_store_get(s, arns[rng % n_arns], out) : cj_store_list(s, &q, out, NULL, 0);
        t[i] = cpu_ns() - t0;
        if (r < 0)
            return r;
    }
    qsort(t, (size_t)n, sizeof(*t), cmp_u64);
    printf("%-8s median %6.1f us  p90 %6.1f us\n", kind, t[n / 2] / 1e3, t[n * 9 / 10] / 1e3);
    free(t);
    return 0;
}

int main(int argc, char **argv)
{
    struct cj_store *s = NULL;
    struct cj_buf out = {0};
    struct cj_query newest = {.max_results = 200};

    if (argc != 4) {
        fprintf(stderr, "usage: %s STORE_DIR KIND N\n", argv[0]);
        return 2;
    }
    cj_log_set_max_level(LOG_WARNING);
    struct cj_store_options o = {
        .directory = argv[1], .max_size = UINT64_C(1) << 40, .read_only = true};
    if (cj_store_open(&o, &s) < 0 || cj_store_list(s, &newest, &out, NULL, 0) < 0 ||
        pick(out.data) < 0) {
        fprintf(stderr, "%s: cannot query %s for %s\n", argv[0], argv[1], argv[2]);
        return 1;
    }
    size_t rows = 0;
    for (const char *p = out.data; (p = strstr(p, "\"jobArn\"")); p++)
        rows++;
    struct cj_store_stats st;
    if (cj_store_stats(s, &st) < 0)
        return 1;
    oldest_ns = st.oldest_ns, newest_ns = st.newest_ns;
    sweep_buf = calloc(1, SWEEP);
    int r = measure(s, argv[2], atoi(argv[3]), &out);
    printf("%s: %zu row(s) a page\n", argv[2], rows);
    cj_buf_free(&out);
    cj_store_close(s);
    return r < 0;
}
