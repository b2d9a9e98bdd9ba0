/* SPDX-License-Identifier: MIT */
/* What job.c (the jansson reference) and job-page.c (the streaming page parser) share, so
 * both spell every stored byte, reason and log line the same way. */
#pragma once

#include <stddef.h>

#include "cj-buf.h"
#include "cj-util.h"
#include "job.h"

#define PAGE_BODY_MAX   ((size_t)64 * 1024 * 1024)
#define NEXT_TOKEN_MAX  2048
#define TAGS_MAX        200
#define FAILURE_MSG_MAX 2048
#define LOGGED_ARN_MAX  100

/* Puts the reason into err (control characters replaced by '?') and returns -EBADMSG. */
int cj_job_fail(char *err, size_t errlen, const char *fmt, ...) _printf_(3, 4);
/* Characters, not bytes, of valid UTF-8. */
size_t cj_job_utf8_length(const char *s, size_t len);
/* A JSON string literal, escaped as cj_buf_append_json_string() does. */
int cj_job_append_json_string(struct cj_buf *b, const char *s, size_t len);
/* ,"name":"value" (no comma for the first member) */
int cj_job_append_member(struct cj_buf *b, const char *name, const char *value, size_t len);
/* The jobArn of a rejected summary as logged: at most size - 1 bytes, whole UTF-8
 * characters, control characters replaced. */
void cj_job_loggable_arn(const char *s, size_t n, char *buf, size_t size);
/* The warning for summary i that failed validation; arn may be "". */
void cj_job_log_skipped(size_t i, const char *arn, const char *reason);
/* The validated fields and the stored JSON (taken from json) as a cj_job in ret. */
int cj_job_assemble(struct cj_buf *json, enum cj_status st, int64_t creation_ns,
                    const char *account, const char *arn, size_t arn_len, const char *source_arn,
                    size_t source_arn_len, const char *target_name, size_t target_name_len,
                    struct cj_job *ret);
/* Checks a nextToken string value and copies it (NULL for ""). 0, -EBADMSG or -ENOMEM. */
int cj_page_next_token(const char *s, size_t n, char **ret, char *err, size_t errlen);
