/* SPDX-License-Identifier: MIT */
/* ModelCopyJobSummary as Bedrock sends it: parsing, validation against the service
 * model's constraints, and the compact JSON bytes the store keeps and serves. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bedrock-syntax.h"

/* The statuses the service model names. A status Bedrock sends that is not one of them is
 * CJ_STATUS_OTHER, with its name in the job (struct cj_job.status_name). */
enum cj_status {
    CJ_STATUS_IN_PROGRESS = 0,
    CJ_STATUS_COMPLETED = 1,
    CJ_STATUS_FAILED = 2,
    _CJ_STATUS_MAX,
    CJ_STATUS_OTHER = _CJ_STATUS_MAX,
};

/* The longest status name kept: a status beyond it cannot be indexed (the job is skipped). */
#define CJ_STATUS_NAME_MAX 64
/* The longest sourceModelArn kept (the model allows 1011): the store indexes it. */
#define CJ_SOURCE_MODEL_ARN_KEEP_MAX 2048

/* "InProgress", "Completed", "Failed"; NULL for anything else (CJ_STATUS_OTHER too). */
const char *cj_status_to_string(enum cj_status s);
/* Exact, case-sensitive, the three known names only. 0 or -EINVAL. */
int cj_status_from_string(const char *s, enum cj_status *ret);

/* One job as the store keeps it. Every string is NUL-terminated and owned by the job: by
 * `mem` when it is set, each by itself when it is NULL. */
struct cj_job {
    char *job_arn;
    enum cj_status status;
    char *status_name;   /* CJ_STATUS_OTHER: the status as sent (1..CJ_STATUS_NAME_MAX bytes, no
                          * control character); NULL otherwise */
    int64_t creation_ns; /* creationTime, full precision */
    char source_account[CJ_ACCOUNT_ID_LEN + 1];
    char *source_model_arn;  /* "" when Bedrock sent none */
    char *target_model_name; /* NULL when Bedrock sent none */
    /* The summary as a compact JSON object with the known fields only, in the service
     * model's member order, values exactly as Bedrock sent them (the creationTime string
     * is kept verbatim). This is what the local API serves. */
    char *json;
    size_t json_len;
    /* NULL, or why the job is kept although it breaks the service model: the first member
     * whose rule says "keep" (an unknown status, a value outside its documented length or
     * pattern), e.g. "status: not one of InProgress, Completed, Failed". */
    char *note;
    /* A parsed job's one allocation, holding the JSON and then every string above; NULL in a
     * job built string by string. */
    char *mem;
};

void cj_job_done(struct cj_job *j); /* frees the contents, leaves *j zeroed */

/* Parses one GetModelCopyJob response body: a JSON object with the members of a summary
 * at top level, checked as one summary of a page is (see cj_page_parse()): required
 * jobArn, status, creationTime, targetModelArn, sourceAccountId, sourceModelArn; optional
 * targetModelName, targetModelKmsKeyArn, targetModelTags, failureMessage,
 * sourceModelName; a JSON null counts as absent, unknown members are checked as JSON and
 * ignored. Each member's rule says what breaking it means (the table in job.c): the job
 * is kept as sent with the reason in ret->note (an unknown status, a length or pattern
 * the model documents), or it cannot be stored or served safely and is refused. A body
 * that is not one JSON object (duplicate keys included) is -EPROTO with "not a JSON
 * object: <why>" in err; a refused job is -EBADMSG with a one-line reason naming the
 * member; or -ENOMEM. err is never more than errlen bytes. */
int cj_job_parse(const char *body, size_t len, struct cj_job *ret, char *err, size_t errlen);

/* One ListModelCopyJobs response page. */
struct cj_page {
    struct cj_job *jobs;
    size_t n_jobs;
    size_t n_skipped; /* summaries refused (see cj_job_parse()): logged at warning, not stored */
    /* The jobArns of the refused summaries that carry a valid one: the service still lists
     * those jobs, so a full pass counts them as seen. */
    char **skipped_arns;
    size_t n_skipped_arns;
    char *next_token; /* NULL on the last page (absent, null or "") */
};

/* Parses a whole response body in one pass. A body that is not JSON as jansson reads it
 * (json_loadb with JSON_REJECT_DUPLICATES | JSON_DECODE_ANY: the reason is jansson's), is
 * not a JSON object, whose modelCopyJobSummaries is not an array, or whose nextToken is
 * not a string of 1..2048 non-space bytes, is -EBADMSG with the reason in err. A summary
 * that is refused (as cj_job_parse() refuses a job) is skipped, counted and logged at
 * warning, once the body has been accepted; one kept with a note is a job like the others. Bodies
 * over 64 MiB are refused (-E2BIG). On failure *ret is empty. */
int cj_page_parse(const char *body, size_t len, struct cj_page *ret, char *err, size_t errlen);
void cj_page_done(struct cj_page *p);

/* Reads an AWS error response: the type from the x-amzn-ErrorType header value (may be
 * NULL), else body "__type"/"code"/"Code", sanitised (cut at ':', keep after '#'); the
 * message from body "message"/"Message". Falls back to a type derived from the HTTP
 * status ("HttpError<status>") and an empty message. type and message are always
 * NUL-terminated, bounded by their sizes, and stripped of control characters. */
void cj_aws_error_parse(long http_status, const char *type_header, const char *body, size_t len,
                        char *type, size_t typelen, char *message, size_t msglen);
