/* SPDX-License-Identifier: MIT */
/* The store's own cost of a query, for callgrind: no HTTP, and one response buffer reused,
 * so that realloc's copies (which vary from run to run in the daemon) do not blur the
 * count. Opens a kept store read-only (scripts/bench --keep, or tests/bench/profile.sh),
 * runs one kind of query N times in measure() and prints the rows of a page:
 *   valgrind --tool=callgrind --toggle-collect=measure cj-profile-store STORE KIND N
 * Ir per query = Ir / (N + 1) (measure also runs once to warm the buffer up).
 * Kinds: newest, failed, completed (30 days, April 2025), account (one month), model, get,
 * failed-cycle (Failed in 12 different 30-day windows in turn).
 *
 * With a fourth argument "cold": the CPU time of each query with the caches swept before it
 * (64 MiB written, twice the L3), as the benchmark's other queries leave them; prints the
 * median and 90th percentile. Kinds then: newest, window (every status in a 30-day window at a
 * random place in the store's span), failed (the same, Failed), account, model (the newest
 * job's, no window), walk (Failed in such a window, pages of 1,000), get. Any store will do,
 * one synced from the fake too:
 *   cj-profile-store STORE KIND N cold */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
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

__attribute__((noinline)) static int measure(struct cj_store *s, const char *kind, int n,
                                             struct cj_buf *out)
{
    struct cj_query q = {.max_results = 100};
    bool get = strcmp(kind, "get") == 0, cycle = strcmp(kind, "failed-cycle") == 0;

    if (strcmp(kind, "failed") == 0 || cycle) {
        q.has_status = true, q.status = CJ_STATUS_FAILED;
        month(&q, MAY_2025);
        q.after_ns = APRIL_2025 * NS;
    } else if (strcmp(kind, "completed") == 0) {
        q.has_status = true, q.status = CJ_STATUS_COMPLETED;
        month(&q, MAY_2025);
        q.after_ns = APRIL_2025 * NS;
    } else if (strcmp(kind, "account") == 0) {
        q.source_account = account;
        month(&q, MAY_2025);
        q.after_ns = APRIL_2025 * NS;
    } else if (strcmp(kind, "model") == 0)
        q.source_model_arn = model;
    else if (strcmp(kind, "newest") != 0 && !get)
        return -1;

    for (int i = 0; i < n; i++) {
        if (cycle)
            month(&q, MAY_2025 - (i % 12) * 30 * DAY);
        cj_buf_reset(out);
        int r = get ? cj_store_get(s, arns[(size_t)i % n_arns], out)
                    : cj_store_list(s, &q, out, NULL, 0);
        if (r < 0)
            return r;
    }
    return 0;
}

#define SWEEP (64u << 20)

static int measure_cold(struct cj_store *s, const char *kind, int n, struct cj_buf *out)
{
    struct cj_query q = {.max_results = 100};
    struct cj_store_stats st = {0};
    struct samples t = {0};
    uint64_t rng = 88172645463325252u;
    bool get = strcmp(kind, "get") == 0, window = strcmp(kind, "window") == 0,
         failed = strcmp(kind, "failed") == 0, walk = strcmp(kind, "walk") == 0;

    if (failed || walk)
        q.has_status = true, q.status = CJ_STATUS_FAILED;
    if (walk)
        q.max_results = 1000;
    if (strcmp(kind, "account") == 0)
        q.source_account = account;
    else if (strcmp(kind, "model") == 0)
        q.source_model_arn = model;
    else if (strcmp(kind, "newest") != 0 && !get && !window && !failed && !walk)
        return -1;
    unsigned char *sweep = calloc(1, SWEEP);
    int r = sweep ? cj_store_stats(s, &st) : -1;
    const int64_t span = st.newest_ns - st.oldest_ns - 30 * DAY * NS;
    for (int i = 0; i < n && r >= 0; i++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        if (window || failed || walk) {
            q.has_after = q.has_before = true;
            q.after_ns = st.oldest_ns + (int64_t)(rng % (uint64_t)(span > 0 ? span : 1));
            q.before_ns = q.after_ns + 30 * DAY * NS;
        }
        cj_buf_reset(out);
        for (size_t o = 0; o < SWEEP; o += 64)
            sweep[o]++;
        int64_t t0 = thread_cpu_ns();
        r = get ? cj_store_get(s, arns[rng % n_arns], out) : cj_store_list(s, &q, out, NULL, 0);
        samples_add(&t, (double)(thread_cpu_ns() - t0) / 1e3);
    }
    if (r >= 0)
        printf("%s, cold: median %.1f us, p90 %.1f us (%d queries)\n", kind, samples_pct(&t, 50),
               samples_pct(&t, 90), n);
    samples_free(&t);
    free(sweep);
    return r;
}

int main(int argc, char **argv)
{
    struct cj_store *s = NULL;
    struct cj_buf out = {0};
    struct cj_query newest = {.max_results = 200};

    bool cold = argc == 5 && strcmp(argv[4], "cold") == 0;
    if (argc != 4 && !cold) {
        fprintf(stderr, "usage: %s STORE_DIR KIND N [cold]\n", argv[0]);
        return 2;
    }
    cj_log_set_max_level(LOG_WARNING);
    struct cj_store_options o = {
        .directory = argv[1], .max_size = UINT64_C(1) << 40, .read_only = true};
    if (cj_store_open(&o, &s) < 0 || cj_store_list(s, &newest, &out, NULL, 0) < 0 ||
        pick(out.data) < 0 || (!cold && measure(s, argv[2], 1, &out) < 0)) {
        fprintf(stderr, "%s: cannot query %s for %s\n", argv[0], argv[1], argv[2]);
        return 1;
    }
    int r;
    if (cold)
        r = measure_cold(s, argv[2], atoi(argv[3]) > 0 ? atoi(argv[3]) : 1, &out);
    else {
        size_t rows = 0;
        for (const char *p = out.data; (p = strstr(p, "\"jobArn\"")); p++)
            rows++;
        r = measure(s, argv[2], atoi(argv[3]), &out);
        printf("%s: %zu row(s) a page\n", argv[2], rows);
    }
    cj_buf_free(&out);
    cj_store_close(s);
    return r < 0;
}
