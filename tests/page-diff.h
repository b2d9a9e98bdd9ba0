/* SPDX-License-Identifier: MIT */
/* Runs cj_page_parse() and cj_page_parse_reference() over one body and says whether they
 * agree on everything a caller can see: the result, the reason, every job field and
 * stored byte, the skipped count, nextToken, and the warnings logged; and the same for
 * cj_job_parse() and cj_job_parse_reference(). Shared by tests/unit/test-job.c,
 * tests/unit/test-job-diff.c and tests/fuzz/fuzz-job-page-diff.c (header-only: each
 * includes it once). */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "job-reference.h"
#include "job.h"

struct page_run {
    int r;
    struct cj_page page;
    char err[256];
    char *log; /* what the parser wrote to stderr */
    size_t log_len;
};

typedef int (*page_parser)(const char *body, size_t len, struct cj_page *ret, char *err,
                           size_t errlen);

/* Runs parse with stderr pointing at log_fd (a memfd), to catch the warnings it logs. */
static inline void page_run(page_parser parse, const char *body, size_t len, size_t errlen,
                            int log_fd, struct page_run *out)
{
    *out = (struct page_run){};
    if (ftruncate(log_fd, 0) < 0 || lseek(log_fd, 0, SEEK_SET) < 0)
        abort();
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    if (saved < 0 || dup2(log_fd, STDERR_FILENO) < 0)
        abort();
    memset(out->err, 'X', sizeof(out->err));
    out->r = parse(body, len, &out->page, out->err, errlen);
    fflush(stderr);
    if (dup2(saved, STDERR_FILENO) < 0)
        abort();
    close(saved);
    off_t n = lseek(log_fd, 0, SEEK_CUR);
    out->log = malloc((size_t)n + 1);
    if (!out->log || pread(log_fd, out->log, (size_t)n, 0) != n)
        abort();
    out->log[n] = '\0';
    out->log_len = (size_t)n;
}

static inline void page_run_done(struct page_run *run)
{
    cj_page_done(&run->page);
    free(run->log);
}

static inline bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* NULL when two accepted jobs are the same, else what differs first. */
static inline const char *jobs_differ(const struct cj_job *x, const struct cj_job *y)
{
    if (x->json_len != y->json_len || memcmp(x->json, y->json, x->json_len) != 0 ||
        x->json[x->json_len] != '\0' || y->json[y->json_len] != '\0')
        return "json";
    if (!same_str(x->job_arn, y->job_arn) || x->status != y->status ||
        x->creation_ns != y->creation_ns ||
        memcmp(x->source_account, y->source_account, sizeof(x->source_account)) != 0 ||
        !same_str(x->source_model_arn, y->source_model_arn) ||
        !same_str(x->target_model_name, y->target_model_name) ||
        !same_str(x->status_name, y->status_name) || !same_str(x->note, y->note))
        return "job fields";
    return NULL;
}

/* NULL when a and b agree, else what differs first. */
static inline const char *page_runs_differ(const struct page_run *a, const struct page_run *b,
                                           size_t errlen)
{
    if (a->r != b->r)
        return "result";
    if (errlen > 0 && strcmp(a->err, b->err) != 0)
        return "reason";
    if (a->log_len != b->log_len || memcmp(a->log, b->log, a->log_len) != 0)
        return "log";
    if (a->r < 0)
        return a->page.n_jobs || b->page.n_jobs || a->page.next_token || b->page.next_token ||
                       a->page.n_skipped_arns || b->page.n_skipped_arns
                   ? "page left filled on failure"
                   : NULL;
    if (a->page.n_jobs != b->page.n_jobs)
        return "n_jobs";
    if (a->page.n_skipped != b->page.n_skipped)
        return "n_skipped";
    if (a->page.n_skipped_arns != b->page.n_skipped_arns)
        return "n_skipped_arns";
    for (size_t i = 0; i < a->page.n_skipped_arns; i++)
        if (!same_str(a->page.skipped_arns[i], b->page.skipped_arns[i]))
            return "skipped_arns";
    if (!same_str(a->page.next_token, b->page.next_token))
        return "next_token";
    for (size_t i = 0; i < a->page.n_jobs; i++) {
        const char *what = jobs_differ(&a->page.jobs[i], &b->page.jobs[i]);
        if (what)
            return what;
    }
    return NULL;
}

struct job_run {
    int r;
    struct cj_job job;
    char err[256];
};

typedef int (*job_parser)(const char *body, size_t len, struct cj_job *ret, char *err,
                          size_t errlen);

static inline void job_run(job_parser parse, const char *body, size_t len, size_t errlen,
                           struct job_run *out)
{
    *out = (struct job_run){};
    memset(out->err, 'X', sizeof(out->err));
    out->r = parse(body, len, &out->job, out->err, errlen);
}

/* NULL when a and b agree on one GetModelCopyJob body, else what differs first. */
static inline const char *job_runs_differ(const struct job_run *a, const struct job_run *b,
                                          size_t errlen)
{
    if (a->r != b->r)
        return "result";
    if (errlen > 0 && strcmp(a->err, b->err) != 0)
        return "reason";
    if (a->r < 0)
        return a->job.json || b->job.json || a->job.job_arn || b->job.job_arn
                   ? "job left filled on failure"
                   : NULL;
    return jobs_differ(&a->job, &b->job);
}

/* A memfd for page_run()'s log. */
static inline int page_log_fd(void)
{
    int fd = memfd_create("page-diff-log", MFD_CLOEXEC);
    if (fd < 0)
        abort();
    return fd;
}
