/* SPDX-License-Identifier: MIT */
/* The one log entry per finished sync pass. */
#pragma once

#include <stdint.h>

/* MESSAGE_ID= of the entries ("journalctl MESSAGE_ID=..." finds every pass). */
#define CJ_SYNC_MESSAGE_OK     "6728dad461f345de870b494305f1362a"
#define CJ_SYNC_MESSAGE_FAILED "4b24c0f21af049559941fe23f077d658"
/* A complete full pass whose removals the removal guard held back. */
#define CJ_SYNC_MESSAGE_REMOVAL_HELD "ff137c4a3ffb4a1085d593fde4cabf69"

/* What one finished pass reports. */
struct cj_sync_report {
    const char *source;     /* the source's name, NULL = unnamed */
    const char *kind;       /* "quick" or "full" */
    int result;             /* 0, or the pass's negative errno */
    uint64_t jobs;          /* job summaries seen */
    uint64_t requests;      /* HTTP requests sent to Bedrock */
    uint64_t pages;         /* pages written to the store */
    uint64_t skipped;       /* invalid summaries not stored */
    uint64_t duration_usec; /* wall time of the pass */
    uint64_t created, updated, removed;
    const char *error_type;    /* when result < 0, e.g. "ThrottlingException" */
    const char *error_message; /* when result < 0 */
};

/* Logs the pass ("sync: KIND pass ok|failed" and the figures, the source's name in brackets
 * after the kind): info when it succeeded (plus a warning when summaries were skipped),
 * warning when it failed. In the journal it carries MESSAGE_ID=, SYNC_SOURCE=, SYNC_KIND=,
 * SYNC_RESULT=ok|failed, JOB_COUNT=, JOBS_CREATED=, JOBS_UPDATED=, JOBS_REMOVED=,
 * JOBS_SKIPPED=, API_REQUESTS=, PAGES=, SYNC_DURATION_USEC=, and on failure ERROR_TYPE= and
 * ERRNO=. */
void sync_report_log(const struct cj_sync_report *r);
