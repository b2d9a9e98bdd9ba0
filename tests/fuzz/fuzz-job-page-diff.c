/* SPDX-License-Identifier: MIT */
/* cj_page_parse (streaming) against cj_page_parse_reference (jansson) on arbitrary bodies:
 * they must agree on accepting or refusing, on the reason, on every job and stored byte,
 * on the skipped count, nextToken and the warnings logged. The same body read as one
 * GetModelCopyJob answer: cj_job_parse against cj_job_parse_reference. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../page-diff.h"
#include "job.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int log_fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    cj_log_set_max_level(LOG_WARNING); /* the skip warnings are part of what must agree */
    log_fd = page_log_fd();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct page_run a, b;
    /* The first byte picks the reason buffer's size, so truncated reasons are compared too. */
    size_t errlen = size > 0 ? (data[0] % 4 == 0 ? 16 : 256) : 256;

    page_run(cj_page_parse, (const char *)data, size, errlen, log_fd, &a);
    page_run(cj_page_parse_reference, (const char *)data, size, errlen, log_fd, &b);
    const char *what = page_runs_differ(&a, &b, errlen);
    if (what) {
        fprintf(stderr, "cj_page_parse and the reference differ in %s: %d/%d \"%s\" / \"%s\"\n",
                what, a.r, b.r, a.err, b.err);
        fprintf(stderr, "log:\n%s---\n%s\n", a.log, b.log);
        __builtin_trap();
    }
    page_run_done(&a);
    page_run_done(&b);

    struct job_run x, y;
    job_run(cj_job_parse, (const char *)data, size, errlen, &x);
    job_run(cj_job_parse_reference, (const char *)data, size, errlen, &y);
    what = job_runs_differ(&x, &y, errlen);
    if (what) {
        fprintf(stderr, "cj_job_parse and the reference differ in %s: %d/%d \"%s\" / \"%s\"\n",
                what, x.r, y.r, x.err, y.err);
        __builtin_trap();
    }
    cj_job_done(&x.job);
    cj_job_done(&y.job);
    return 0;
}
