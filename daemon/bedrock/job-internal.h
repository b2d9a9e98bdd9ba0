/* SPDX-License-Identifier: MIT */
/* The rules of ModelCopyJobSummary as one table, and what every reader of a summary hands
 * them: the members it found, as values. The streaming parser (job-page.c) and any other
 * reader turn a summary into values; bedrock_job_from_values() alone checks them, spells the
 * reasons and writes the stored bytes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "cj-buf.h"
#include "cj-util.h"
#include "job.h"

#define PAGE_BODY_MAX  ((size_t)64 * 1024 * 1024)
#define NEXT_TOKEN_MAX CJ_NEXT_TOKEN_LEN_MAX
#define TAGS_MAX       200
/* Tags beyond TAGS_MAX are kept up to this many; a longer list refuses the job. */
#define TAGS_KEEP_MAX   1000
#define FAILURE_MSG_MAX CJ_FAILURE_MESSAGE_MAX
#define LOGGED_ARN_MAX  100
/* The reasons a summary is refused for are at most this long. */
#define REASON_MAX 256

/* The members of ModelCopyJobSummary, in the service model's order: the order in which
 * they are checked (targetModelTags last), stored and served. */
enum cj_member {
    CJ_M_JOB_ARN,
    CJ_M_STATUS,
    CJ_M_CREATION_TIME,
    CJ_M_TARGET_MODEL_ARN,
    CJ_M_TARGET_MODEL_NAME,
    CJ_M_SOURCE_ACCOUNT_ID,
    CJ_M_SOURCE_MODEL_ARN,
    CJ_M_TARGET_MODEL_KMS_KEY_ARN,
    CJ_M_TARGET_MODEL_TAGS,
    CJ_M_FAILURE_MESSAGE,
    CJ_M_SOURCE_MODEL_NAME,
    _CJ_M_MAX,
};

/* The members of one element of targetModelTags. */
enum cj_tag_member {
    CJ_TAG_KEY,
    CJ_TAG_VALUE,
    _CJ_TAG_MAX,
};

enum cj_member_type {
    CJ_TYPE_STRING,    /* a string that valid() accepts */
    CJ_TYPE_ENUM,      /* a status name (cj_status_from_string()) */
    CJ_TYPE_TIMESTAMP, /* ISO 8601 date and time within the years 1678..2262 */
    CJ_TYPE_TAGS,      /* an array of at most TAGS_MAX {key, value} objects */
};

/* Whether a member must be there. */
enum cj_presence {
    CJ_OPTIONAL,
    CJ_REQUIRED, /* absent or null refuses the job as "<name>: missing" */
    CJ_EXPECTED, /* required by the model, not by the cache: absent or null is noted */
};

/* What a value that breaks its rule means. A value of the wrong JSON type (not a string,
 * not an array of objects) always refuses the job: it cannot be served as its type. */
enum cj_on_break {
    CJ_BREAK_SKIP, /* the job cannot be stored or served safely: refused (not stored) */
    CJ_BREAK_KEEP, /* the job is kept and served as sent, with the reason as its note, as AWS
                    * SDKs keep an enum value or a length they do not know */
};

struct cj_member_rule {
    const char *name;
    size_t name_len;
    enum cj_presence presence;
    enum cj_member_type type;
    bool (*valid)(const char *s, size_t len); /* CJ_TYPE_STRING, _ENUM: pattern and length */
    enum cj_on_break on_break;
    /* CJ_BREAK_KEEP: the most the store can keep of a broken value (bytes of a string,
     * elements of the tags); past it the job is refused. 0: no bound. */
    size_t keep_max;
    const char *broken; /* the reason after "<name>: " when the value breaks the rule */
};

extern const struct cj_member_rule cj_job_members[_CJ_M_MAX];
extern const struct cj_member_rule cj_tag_members[_CJ_TAG_MAX];

enum cj_value_kind {
    CJ_VALUE_ABSENT = 0,
    CJ_VALUE_NULL,
    CJ_VALUE_STRING,
    CJ_VALUE_ARRAY,
    CJ_VALUE_OTHER, /* an object, number or boolean */
};

/* One member's value as a reader found it. */
struct cj_value {
    enum cj_value_kind kind;
    const char *s; /* CJ_VALUE_STRING: decoded, not NUL-terminated */
    size_t len;
    bool plain; /* CJ_VALUE_STRING: s holds no '"', '\\' or control character, so its bytes are
                 * already its JSON spelling */
};

/* One element of targetModelTags: object false for anything but a JSON object. */
struct cj_tag {
    bool object;
    struct cj_value member[_CJ_TAG_MAX];
};

/* targetModelTags when it is an array: n elements, of which at least the first
 * min(n, TAGS_KEEP_MAX + 1) are in tag (enough to check and keep them all, or to refuse
 * the list). */
struct cj_tags {
    const struct cj_tag *tag;
    size_t n;
};

/* Checks one summary's values against the table, in its order, and makes the job: the
 * fields and the stored JSON (the known members in the table's order, strings escaped as
 * cj_buf_append_json_string() does), with the first kept breach as its note. tags is read
 * only when targetModelTags is CJ_VALUE_ARRAY. 0; -EBADMSG with the reason naming the
 * first member that refuses the job in err (at most errlen bytes); -ENOMEM. On failure
 * *ret is zeroed. */
int bedrock_job_from_values(const struct cj_value v[static _CJ_M_MAX], const struct cj_tags *tags,
                            struct cj_job *ret, char *err, size_t errlen);

/* The reasons a page or body is refused for that are not about one member. */
#define REASON_BODY_NOT_OBJECT    "response body is not a JSON object"
#define REASON_SUMMARY_NOT_OBJECT "summary: not an object"

/* Before a page body is read: "empty response body" for NULL (-EBADMSG), -E2BIG over
 * PAGE_BODY_MAX; 0 when it is worth reading. Clears err. */
int bedrock_page_check_body(const char *body, size_t len, char *err, size_t errlen);
/* After a page body was read as a JSON object: its modelCopyJobSummaries and nextToken
 * members checked, in that order, the token copied into *next_token (NULL when absent,
 * null or ""). 0, -EBADMSG or -ENOMEM. */
int bedrock_page_check_root(const struct cj_value *summaries, const struct cj_value *token,
                            char **next_token, char *err, size_t errlen);

/* Puts the reason into err (control characters replaced by '?') and returns -EBADMSG. */
int bedrock_job_fail(char *err, size_t errlen, const char *fmt, ...) _printf_(3, 4);
/* The jobArn of a rejected summary as logged: at most size - 1 bytes, whole UTF-8
 * characters, control characters replaced. */
void bedrock_job_loggable_arn(const char *s, size_t n, char *buf, size_t size);
/* Adds the jobArn of a refused summary to page->skipped_arns (room for *cap) when it is a
 * valid one; arn may be NULL. 0 or -ENOMEM. */
int bedrock_page_add_skipped_arn(struct cj_page *page, size_t *cap, const struct cj_value *arn);
/* The warning for summary i that was refused; arn may be "". */
void bedrock_job_log_skipped(size_t i, const char *arn, const char *reason);
