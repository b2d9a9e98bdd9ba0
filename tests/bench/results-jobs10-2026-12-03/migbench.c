/* Opens a store (migrating it), timing the open: wall and process CPU; prints the store's
 * total, then verifies it. */
#define _GNU_SOURCE
#include "store.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double ts(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    struct cj_store_options o = {.directory = argv[1], .max_size = 16ull << 30};
    struct cj_store *s;
    double w0 = ts(CLOCK_MONOTONIC), c0 = ts(CLOCK_PROCESS_CPUTIME_ID);
    int r = cj_store_open(&o, &s);
    double w1 = ts(CLOCK_MONOTONIC), c1 = ts(CLOCK_PROCESS_CPUTIME_ID);
    if (r < 0) {
        fprintf(stderr, "open: %d\n", r);
        return 1;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    struct cj_store_stats st;
    cj_store_stats(s, &st);
    printf("open (migration) %.2f s wall, %.2f s CPU, max RSS %ld KiB; %llu jobs\n", w1 - w0,
           c1 - c0, ru.ru_maxrss, (unsigned long long)st.total);
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, "RssAnon", 7) || !strncmp(line, "RssFile", 7) ||
            !strncmp(line, "VmHWM", 5))
            fputs(line, stdout);
    if (f)
        fclose(f);
    if (argc > 2) {
        char report[4096];
        r = cj_store_verify(s, report, sizeof(report));
        printf("verify: %d %s\n", r, r < 0 ? report : "");
    }
    cj_store_close(s);
    return 0;
}
