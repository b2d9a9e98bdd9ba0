/* cj_store_get in process: N jobs loaded, then random Gets timed (CLOCK_THREAD_CPUTIME_ID). */
#define _GNU_SOURCE
#include "job.h"
#include "store.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void arn_of(unsigned i, char *arn, size_t n)
{
    static const char a[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    char id[13];
    uint64_t x = i * 0x9E3779B97F4A7C15ull + 1;
    for (int c = 0; c < 12; c++) {
        x ^= x >> 29;
        x *= 0xBF58476D1CE4E5B9ull;
        id[c] = a[x % 36];
    }
    id[12] = 0;
    snprintf(arn, n, "arn:aws:bedrock:us-east-1:123456789012:model-copy-job/%s", id);
}

int main(int argc, char **argv)
{
    unsigned n = atoi(argv[2]), rounds = 200000;
    struct cj_store_options o = {.directory = argv[1], .max_size = 8ull << 30};
    struct cj_store *s;
    if (cj_store_open(&o, &s) < 0)
        return 1;
    enum { PAGE = 1000 };
    struct cj_job *jobs = calloc(PAGE, sizeof(*jobs));
    for (unsigned base = 0; base < n; base += PAGE) {
        for (unsigned k = 0; k < PAGE; k++) {
            unsigned i = base + k;
            char arn[128], json[600];
            arn_of(i, arn, sizeof(arn));
            struct cj_job *j = &jobs[k];
            memset(j, 0, sizeof(*j));
            j->job_arn = strdup(arn);
            j->status = i % 3;
            j->creation_ns = 1700000000000000000ll + (int64_t)i * 1000000;
            memcpy(j->source_account, "123456789012", 13);
            j->source_model_arn =
                strdup("arn:aws:bedrock:us-east-1:123456789012:custom-model/x/abcdefabcdef");
            j->target_model_name = strdup("target-name");
            int len = snprintf(
                json, sizeof(json),
                "{\"jobArn\":\"%s\",\"status\":\"%s\",\"targetModelName\":\"target-name\","
                "\"sourceAccountId\":\"123456789012\",\"sourceModelArn\":\"arn:aws:bedrock:us-east-"
                "1:123456789012:custom-model/x/abcdefabcdef\",\"pad\":\"%0300d\"}",
                arn,
                i % 3 == 0   ? "InProgress"
                : i % 3 == 1 ? "Completed"
                             : "Failed",
                0);
            j->json = strdup(json);
            j->json_len = len;
        }
        if (cj_store_put_jobs(s, "us-east-1", NULL, jobs, PAGE, NULL) < 0)
            return 2;
        for (unsigned k = 0; k < PAGE; k++)
            cj_job_done(&jobs[k]);
    }
    cj_store_flush(s);
    struct cj_buf b = {0};
    char(*arns)[128] = malloc(rounds * sizeof(*arns));
    uint64_t x = 7;
    for (unsigned r = 0; r < rounds; r++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        arn_of(x % n, arns[r], 128);
    }
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now();
        for (unsigned r = 0; r < rounds; r++) {
            b.len = 0;
            if (cj_store_get(s, arns[r], &b) < 0)
                return 3;
        }
        double t1 = now();
        printf("%.3f us per Get\n", (t1 - t0) / rounds * 1e6);
    }
    cj_store_close(s);
    return 0;
}
