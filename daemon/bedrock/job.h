/* SPDX-License-Identifier: MIT */
/* ModelCopyJobSummary as Bedrock sends it: parsing, validation against the service
 * model's constraints, and the compact JSON bytes the store keeps and serves. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cj_status {
    CJ_STATUS_IN_PROGRESS = 0,
    CJ_STATUS_COMPLETED = 1,
    CJ_STATUS_FAILED = 2,
    _CJ_STATUS_MAX,
};

/* "InProgress", "Completed", "Failed"; NULL for anything out of range. */
const char *cj_status_to_string(enum cj_status s);
/* Exact, case-sensitive. 0 or -EINVAL. */
int cj_status_from_string(const char *s, enum cj_status *ret);

/* Longest jobArn the store accepts: the service model allows 1011 bytes but LMDB keys are
 * limited to 511 bytes and index keys add 21. Real ARNs are ~90 bytes. */
#define CJ_JOB_ARN_MAX    400
#define CJ_ACCOUNT_ID_LEN 12
#define CJ_MODEL_NAME_MAX 63

/* One validated job. Every string is owned and NUL-terminated. */
struct cj_job {
    char *job_arn;
    enum cj_status status;
    int64_t creation_ns; /* creationTime, full precision */
    char source_account[CJ_ACCOUNT_ID_LEN + 1];
    char *source_model_arn;
    char *target_model_name; /* NULL when Bedrock sent none */
    /* The summary as a compact JSON object with the known fields only, in the service
     * model's member order, values exactly as Bedrock sent them (the creationTime string
     * is kept verbatim). This is what the local API serves. */
    char *json;
    size_t json_len;
};

void cj_job_done(struct cj_job *j); /* frees the contents, leaves *j zeroed */

/* Validates one summary object (also the GetModelCopyJob response, which has the same
 * fields at top level). Required: jobArn, status, creationTime, targetModelArn,
 * sourceAccountId, sourceModelArn. Optional: targetModelName, targetModelKmsKeyArn,
 * targetModelTags, failureMessage, sourceModelName; a JSON null counts as absent.
 * Unknown members are ignored (not stored). On failure returns -EBADMSG and puts a
 * one-line reason naming the field into err (never more than errlen bytes). */
int cj_job_from_json(const json_t *obj, struct cj_job *ret, char *err, size_t errlen);

/* One ListModelCopyJobs response page. */
struct cj_page {
    struct cj_job *jobs;
    size_t n_jobs;
    size_t n_skipped; /* summaries that failed validation: logged at warning, not stored */
    char *next_token; /* NULL on the last page (absent, null or "") */
};

/* Parses a whole response body. A body that is not a JSON object, whose
 * modelCopyJobSummaries is not an array, or whose nextToken is not a string of 1..2048
 * non-space bytes, is -EBADMSG with the reason in err. Invalid single summaries are
 * skipped, counted and logged. Bodies over 64 MiB are refused (-E2BIG). */
int cj_page_parse(const char *body, size_t len, struct cj_page *ret, char *err, size_t errlen);
/* The same contract, built on a jansson tree: the slower original, kept as the reference
 * that tests and the differential fuzzer hold cj_page_parse() to. */
int cj_page_parse_reference(const char *body, size_t len, struct cj_page *ret, char *err,
                            size_t errlen);
void cj_page_done(struct cj_page *p);

/* Reads an AWS error response: the type from the x-amzn-ErrorType header value (may be
 * NULL), else body "__type"/"code"/"Code", sanitised (cut at ':', keep after '#'); the
 * message from body "message"/"Message". Falls back to a type derived from the HTTP
 * status ("HttpError<status>") and an empty message. type and message are always
 * NUL-terminated, bounded by their sizes, and stripped of control characters. */
void cj_aws_error_parse(long http_status, const char *type_header, const char *body, size_t len,
                        char *type, size_t typelen, char *message, size_t msglen);

/* Syntax checks shared with the local API's query validator. */
bool cj_valid_account_id(const char *s, size_t len);
bool cj_valid_model_arn(const char *s, size_t len);         /* ModelArn pattern, 20..1011 */
bool cj_valid_job_arn(const char *s, size_t len);           /* ModelCopyJobArn, <= CJ_JOB_ARN_MAX */
bool cj_valid_custom_model_name(const char *s, size_t len); /* ([0-9a-zA-Z][_-]?){1,63} */

/* Added by the job module: the other patterns of ModelCopyJobSummary, for tests and tools. */
bool cj_valid_custom_model_arn(const char *s, size_t len); /* CustomModelArn, 20..1011 */
bool cj_valid_kms_key_arn(const char *s, size_t len);      /* KmsKeyArn, 1..2048 */
bool cj_valid_tag_key(const char *s, size_t len);          /* TagKey, 1..128 */
bool cj_valid_tag_value(const char *s, size_t len);        /* TagValue, 0..256 */
