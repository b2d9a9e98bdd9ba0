/* SPDX-License-Identifier: MIT */
/* The syntax of Bedrock's identifiers and strings, as the service model (service-2.json)
 * states it: the one copy of each rule, used by the daemon's job model, its query validator
 * and its store, and by copyjobctl before it sends anything. One rule is narrower than the
 * model's: an ARN's partition is aws(-[a-z-]+)? (the model says aws(-[^:]+)?), so that an ARN a
 * hostile endpoint sends cannot carry a newline or an escape into a log line. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Longest jobArn the store accepts: the service model allows 1011 bytes but LMDB keys are
 * limited to 511 bytes and index keys add 21. Real ARNs are ~90 bytes. */
#define CJ_JOB_ARN_MAX         400
#define CJ_ACCOUNT_ID_LEN      12
#define CJ_REGION_NAME_MAX     32
#define CJ_MODEL_NAME_MAX      63
#define CJ_NEXT_TOKEN_LEN_MAX  2048
#define CJ_FAILURE_MESSAGE_MAX 2048

/* Each matches the whole of s[0..len); NULL never matches. */
bool cj_valid_account_id(const char *s, size_t len);  /* [0-9]{12} */
bool cj_valid_region_name(const char *s, size_t len); /* [a-z0-9-]{1,32}, no '-' at either end */
/* copyjobd's name of a source (an account in a region): [a-z0-9-]{1,CJ_SOURCE_NAME_MAX}; NULL is
 * not one. */
#define CJ_SOURCE_NAME_MAX 32
bool cj_valid_source_name(const char *s);
bool cj_valid_model_arn(const char *s, size_t len);         /* ModelArn, 20..1011 characters */
bool cj_valid_job_arn(const char *s, size_t len);           /* ModelCopyJobArn, <= CJ_JOB_ARN_MAX */
bool cj_valid_custom_model_name(const char *s, size_t len); /* ([0-9a-zA-Z][_-]?){1,63} */
bool cj_valid_custom_model_arn(const char *s, size_t len);  /* CustomModelArn, 20..1011 */
bool cj_valid_kms_key_arn(const char *s, size_t len);       /* KmsKeyArn, 1..2048 */
bool cj_valid_tag_key(const char *s, size_t len);           /* TagKey, 1..128 */
bool cj_valid_tag_value(const char *s, size_t len);         /* TagValue, 0..256 */
bool cj_valid_failure_message(const char *s, size_t len);   /* 0..2048 characters */
bool cj_valid_next_token(const char *s, size_t len);        /* NextToken: \S*, 1..2048 */
