/* SPDX-License-Identifier: MIT */
/* ModelCopyJobSummary and ListModelCopyJobs pages: validation and the stored JSON. */
#include "job.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cj-buf.h"
#include "cj-time.h"
#include "job-internal.h"
#include "log.h"

static const char *const status_names[_CJ_STATUS_MAX] = {
    [CJ_STATUS_IN_PROGRESS] = "InProgress",
    [CJ_STATUS_COMPLETED] = "Completed",
    [CJ_STATUS_FAILED] = "Failed",
};

const char *cj_status_to_string(enum cj_status s)
{
    if ((unsigned)s >= _CJ_STATUS_MAX)
        return NULL;
    return status_names[s];
}

int cj_status_from_string(const char *s, enum cj_status *ret)
{
    if (!s)
        return -EINVAL;
    for (unsigned i = 0; i < _CJ_STATUS_MAX; i++)
        if (strcmp(s, status_names[i]) == 0) {
            if (ret)
                *ret = (enum cj_status)i;
            return 0;
        }
    return -EINVAL;
}

/* Replaces control characters (which a reason may quote from the input) with '?'. */
static void sanitize(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

int cj_job_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
        sanitize(err);
    }
    return -EBADMSG;
}

void cj_job_done(struct cj_job *j)
{
    if (!j)
        return;
    free(j->job_arn);
    free(j->source_model_arn);
    free(j->target_model_name);
    free(j->json);
    *j = (struct cj_job){};
}

size_t cj_job_utf8_length(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xc0) != 0x80;
    return n;
}

/* A member that must be a string if present; JSON null counts as absent. */
static int get_string(const json_t *obj, const char *name, bool required, const char **ret,
                      size_t *ret_len, char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, name);
    if (!v || json_is_null(v)) {
        *ret = NULL;
        *ret_len = 0;
        return required ? cj_job_fail(err, errlen, "%s: missing", name) : 0;
    }
    if (!json_is_string(v))
        return cj_job_fail(err, errlen, "%s: not a string", name);
    *ret = json_string_value(v);
    *ret_len = json_string_length(v);
    return 0;
}

/* JSON string literal, escaped exactly as cj_buf_append_json_string does (so every part
 * of the project spells a string the same way), written in one reservation: this runs
 * for every string of every job on every sync. */
int cj_job_append_json_string(struct cj_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    if (len > (SIZE_MAX - 2) / 6)
        return -E2BIG;
    int r = cj_buf_reserve(b, len * 6 + 2);
    if (r < 0)
        return r;
    char *o = b->data + b->len;
    *o++ = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"':
        case '\\':
            *o++ = (char)c;
            break;
        case '\n':
            *o++ = 'n';
            break;
        case '\r':
            *o++ = 'r';
            break;
        case '\t':
            *o++ = 't';
            break;
        default:
            memcpy(o, "u00", 3);
            o[3] = hex[c >> 4];
            o[4] = hex[c & 0xf];
            o += 5;
        }
    }
    *o++ = '"';
    *o = '\0';
    b->len = (size_t)(o - b->data);
    return 0;
}

/* ,"name":"value" (no comma for the first member) */
int cj_job_append_member(struct cj_buf *b, const char *name, const char *value, size_t len)
{
    size_t n = strlen(name);
    int r = cj_buf_reserve(b, n + 4);
    if (r < 0)
        return r;
    char *o = b->data + b->len;
    if (b->len > 1)
        *o++ = ',';
    *o++ = '"';
    memcpy(o, name, n);
    o += n;
    *o++ = '"';
    *o++ = ':';
    b->len = (size_t)(o - b->data);
    return cj_job_append_json_string(b, value, len);
}

/* Validates targetModelTags and appends it to b as [{"key":..,"value":..},...]. */
static int append_tags(struct cj_buf *b, const json_t *tags, char *err, size_t errlen)
{
    if (!json_is_array(tags))
        return cj_job_fail(err, errlen, "targetModelTags: not an array");
    size_t n = json_array_size(tags);
    if (n > TAGS_MAX)
        return cj_job_fail(err, errlen, "targetModelTags: %zu tags, at most %d allowed", n,
                           TAGS_MAX);

    int r = cj_buf_append_str(b, ",\"targetModelTags\":[");
    for (size_t i = 0; r >= 0 && i < n; i++) {
        const json_t *tag = json_array_get(tags, i);
        if (!json_is_object(tag))
            return cj_job_fail(err, errlen, "targetModelTags[%zu]: not an object", i);
        const json_t *k = json_object_get(tag, "key"), *v = json_object_get(tag, "value");
        if (!k || json_is_null(k))
            return cj_job_fail(err, errlen, "targetModelTags[%zu].key: missing", i);
        if (!json_is_string(k))
            return cj_job_fail(err, errlen, "targetModelTags[%zu].key: not a string", i);
        if (!cj_valid_tag_key(json_string_value(k), json_string_length(k)))
            return cj_job_fail(err, errlen,
                               "targetModelTags[%zu].key: not 1..128 of [a-zA-Z0-9 ._:/=+@-]", i);
        if (!v || json_is_null(v))
            return cj_job_fail(err, errlen, "targetModelTags[%zu].value: missing", i);
        if (!json_is_string(v))
            return cj_job_fail(err, errlen, "targetModelTags[%zu].value: not a string", i);
        if (!cj_valid_tag_value(json_string_value(v), json_string_length(v)))
            return cj_job_fail(err, errlen,
                               "targetModelTags[%zu].value: not 0..256 of [a-zA-Z0-9 ._:/=+@-]", i);

        r = cj_buf_append_str(b, i ? ",{\"key\":" : "{\"key\":");
        if (r >= 0)
            r = cj_job_append_json_string(b, json_string_value(k), json_string_length(k));
        if (r >= 0)
            r = cj_buf_append_str(b, ",\"value\":");
        if (r >= 0)
            r = cj_job_append_json_string(b, json_string_value(v), json_string_length(v));
        if (r >= 0)
            r = cj_buf_append_char(b, '}');
    }
    if (r >= 0)
        r = cj_buf_append_char(b, ']');
    return r;
}

int cj_job_from_json(const json_t *obj, struct cj_job *ret, char *err, size_t errlen)
{
    const char *arn, *status, *ctime, *target_arn, *target_name, *account, *source_arn, *kms,
        *failure, *source_name;
    size_t arn_len, status_len, ctime_len, target_arn_len, target_name_len, account_len,
        source_arn_len, kms_len, failure_len, source_name_len;
    enum cj_status st;
    int64_t creation_ns;
    int r;

    if (!ret)
        return -EINVAL;
    *ret = (struct cj_job){};
    if (err && errlen > 0)
        err[0] = '\0';
    if (!json_is_object(obj))
        return cj_job_fail(err, errlen, "summary: not an object");

    /* Every member first, in the model's order, so the reason names the first bad one. */
    r = get_string(obj, "jobArn", true, &arn, &arn_len, err, errlen);
    if (r < 0)
        return r;
    if (!cj_valid_job_arn(arn, arn_len))
        return cj_job_fail(err, errlen,
                           "jobArn: not a model copy job ARN of at most %d bytes "
                           "(arn:aws:bedrock:<region>:<account>:model-copy-job/<12 chars>)",
                           CJ_JOB_ARN_MAX);

    r = get_string(obj, "status", true, &status, &status_len, err, errlen);
    if (r < 0)
        return r;
    if (cj_status_from_string(status, &st) < 0)
        return cj_job_fail(err, errlen, "status: not one of InProgress, Completed, Failed");

    r = get_string(obj, "creationTime", true, &ctime, &ctime_len, err, errlen);
    if (r < 0)
        return r;
    r = cj_time_parse_iso8601(ctime, ctime_len, &creation_ns);
    if (r == -ERANGE)
        return cj_job_fail(err, errlen, "creationTime: outside the years 1678..2262");
    if (r < 0 || ctime_len <= STRLEN("YYYY-MM-DD"))
        return cj_job_fail(err, errlen, "creationTime: not an ISO 8601 date and time");

    r = get_string(obj, "targetModelArn", true, &target_arn, &target_arn_len, err, errlen);
    if (r < 0)
        return r;
    if (!cj_valid_custom_model_arn(target_arn, target_arn_len))
        return cj_job_fail(err, errlen, "targetModelArn: not a custom model ARN");

    r = get_string(obj, "targetModelName", false, &target_name, &target_name_len, err, errlen);
    if (r < 0)
        return r;
    if (target_name && !cj_valid_custom_model_name(target_name, target_name_len))
        return cj_job_fail(err, errlen, "targetModelName: not 1..63 of ([0-9a-zA-Z][_-]?)");

    r = get_string(obj, "sourceAccountId", true, &account, &account_len, err, errlen);
    if (r < 0)
        return r;
    if (!cj_valid_account_id(account, account_len))
        return cj_job_fail(err, errlen, "sourceAccountId: not 12 digits");

    r = get_string(obj, "sourceModelArn", true, &source_arn, &source_arn_len, err, errlen);
    if (r < 0)
        return r;
    if (!cj_valid_model_arn(source_arn, source_arn_len))
        return cj_job_fail(err, errlen, "sourceModelArn: not a model ARN");

    r = get_string(obj, "targetModelKmsKeyArn", false, &kms, &kms_len, err, errlen);
    if (r < 0)
        return r;
    if (kms && !cj_valid_kms_key_arn(kms, kms_len))
        return cj_job_fail(err, errlen, "targetModelKmsKeyArn: not a KMS key ARN");

    const json_t *tags = json_object_get(obj, "targetModelTags");
    if (json_is_null(tags))
        tags = NULL;

    r = get_string(obj, "failureMessage", false, &failure, &failure_len, err, errlen);
    if (r < 0)
        return r;
    if (failure && cj_job_utf8_length(failure, failure_len) > FAILURE_MSG_MAX)
        return cj_job_fail(err, errlen, "failureMessage: longer than %d characters",
                           FAILURE_MSG_MAX);

    r = get_string(obj, "sourceModelName", false, &source_name, &source_name_len, err, errlen);
    if (r < 0)
        return r;
    if (source_name && !cj_valid_custom_model_name(source_name, source_name_len))
        return cj_job_fail(err, errlen, "sourceModelName: not 1..63 of ([0-9a-zA-Z][_-]?)");

    /* The served bytes, in the model's member order. */
    _cleanup_buf_ struct cj_buf b = {};
    r = cj_buf_reserve(&b, 256 + arn_len + target_arn_len + source_arn_len + kms_len + failure_len +
                               target_name_len + source_name_len);
    if (r >= 0)
        r = cj_buf_append_char(&b, '{');
    if (r >= 0)
        r = cj_job_append_member(&b, "jobArn", arn, arn_len);
    if (r >= 0)
        r = cj_job_append_member(&b, "status", status, status_len);
    if (r >= 0)
        r = cj_job_append_member(&b, "creationTime", ctime, ctime_len);
    if (r >= 0)
        r = cj_job_append_member(&b, "targetModelArn", target_arn, target_arn_len);
    if (r >= 0 && target_name)
        r = cj_job_append_member(&b, "targetModelName", target_name, target_name_len);
    if (r >= 0)
        r = cj_job_append_member(&b, "sourceAccountId", account, account_len);
    if (r >= 0)
        r = cj_job_append_member(&b, "sourceModelArn", source_arn, source_arn_len);
    if (r >= 0 && kms)
        r = cj_job_append_member(&b, "targetModelKmsKeyArn", kms, kms_len);
    if (r >= 0 && tags)
        r = append_tags(&b, tags, err, errlen);
    if (r == -EBADMSG)
        return r;
    if (r >= 0 && failure)
        r = cj_job_append_member(&b, "failureMessage", failure, failure_len);
    if (r >= 0 && source_name)
        r = cj_job_append_member(&b, "sourceModelName", source_name, source_name_len);
    if (r >= 0)
        r = cj_buf_append_char(&b, '}');
    if (r < 0)
        return r;

    return cj_job_assemble(&b, st, creation_ns, account, arn, arn_len, source_arn, source_arn_len,
                           target_name, target_name_len, ret);
}

int cj_job_assemble(struct cj_buf *json, enum cj_status st, int64_t creation_ns,
                    const char *account, const char *arn, size_t arn_len, const char *source_arn,
                    size_t source_arn_len, const char *target_name, size_t target_name_len,
                    struct cj_job *ret)
{
    struct cj_job j = {
        .status = st,
        .creation_ns = creation_ns,
        .json_len = json->len,
    };
    memcpy(j.source_account, account, CJ_ACCOUNT_ID_LEN);
    j.job_arn = strndup(arn, arn_len);
    j.source_model_arn = strndup(source_arn, source_arn_len);
    j.target_model_name = target_name ? strndup(target_name, target_name_len) : NULL;
    j.json = cj_buf_steal(json);
    if (!j.job_arn || !j.source_model_arn || (target_name && !j.target_model_name) || !j.json) {
        cj_job_done(&j);
        return -ENOMEM;
    }
    *ret = j;
    return 0;
}

void cj_page_done(struct cj_page *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_jobs; i++)
        cj_job_done(&p->jobs[i]);
    free(p->jobs);
    free(p->next_token);
    *p = (struct cj_page){};
}

void cj_job_loggable_arn(const char *s, size_t n, char *buf, size_t size)
{
    if (n > size - 1) {
        n = size - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--; /* s[n] is where the cut falls; never split a character */
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    sanitize(buf);
}

/* The jobArn of a rejected summary, for the log: see cj_job_loggable_arn(). */
static void loggable_arn(const json_t *summary, char *buf, size_t size)
{
    const json_t *v = json_is_object(summary) ? json_object_get(summary, "jobArn") : NULL;
    buf[0] = '\0';
    if (!json_is_string(v))
        return;
    cj_job_loggable_arn(json_string_value(v), json_string_length(v), buf, size);
}

void cj_job_log_skipped(size_t i, const char *arn, const char *reason)
{
    if (arn[0])
        log_warning("Skipping model copy job summary %zu (jobArn %s): %s", i, arn, reason);
    else
        log_warning("Skipping model copy job summary %zu: %s", i, reason);
}

int cj_page_next_token(const char *s, size_t n, char **ret, char *err, size_t errlen)
{
    *ret = NULL;
    if (n == 0)
        return 0;
    if (n > NEXT_TOKEN_MAX)
        return cj_job_fail(err, errlen, "nextToken: %zu bytes, at most %d allowed", n,
                           NEXT_TOKEN_MAX);
    for (size_t i = 0; i < n; i++)
        if (s[i] != '\0' && strchr(" \t\n\v\f\r", s[i]))
            return cj_job_fail(err, errlen, "nextToken: contains white space");
    *ret = strndup(s, n);
    return *ret ? 0 : -ENOMEM;
}

static int parse_next_token(const json_t *root, char **ret, char *err, size_t errlen)
{
    const json_t *v = json_object_get(root, "nextToken");
    *ret = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return cj_job_fail(err, errlen, "nextToken: not a string");
    return cj_page_next_token(json_string_value(v), json_string_length(v), ret, err, errlen);
}

int cj_page_parse_reference(const char *body, size_t len, struct cj_page *ret, char *err,
                            size_t errlen)
{
    json_error_t jerr;
    int r;

    if (!ret)
        return -EINVAL;
    *ret = (struct cj_page){};
    if (err && errlen > 0)
        err[0] = '\0';
    if (!body)
        return cj_job_fail(err, errlen, "empty response body");
    if (len > PAGE_BODY_MAX) {
        cj_job_fail(err, errlen, "response body of %zu bytes exceeds the %zu byte limit", len,
                    PAGE_BODY_MAX);
        return -E2BIG;
    }

    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root)
        return cj_job_fail(err, errlen, "invalid JSON at line %d column %d: %s", jerr.line,
                           jerr.column, jerr.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return cj_job_fail(err, errlen, "response body is not a JSON object");
    }

    struct cj_page page = {};
    const json_t *summaries = json_object_get(root, "modelCopyJobSummaries");
    if (summaries && !json_is_null(summaries) && !json_is_array(summaries)) {
        r = cj_job_fail(err, errlen, "modelCopyJobSummaries: not an array");
        goto out;
    }
    r = parse_next_token(root, &page.next_token, err, errlen);
    if (r < 0)
        goto out;

    size_t n = json_array_size(summaries); /* 0 for NULL or null */
    if (n > 0) {
        page.jobs = calloc(n, sizeof(struct cj_job));
        if (!page.jobs) {
            r = -ENOMEM;
            goto out;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *s = json_array_get(summaries, i);
        char reason[256];

        r = cj_job_from_json(s, &page.jobs[page.n_jobs], reason, sizeof(reason));
        if (r == 0) {
            page.n_jobs++;
            continue;
        }
        if (r != -EBADMSG)
            goto out;
        char arn[LOGGED_ARN_MAX + 1];
        loggable_arn(s, arn, sizeof(arn));
        page.n_skipped++;
        cj_job_log_skipped(i, arn, reason);
    }
    r = 0;
    *ret = page;
    page = (struct cj_page){};
out:
    cj_page_done(&page);
    json_decref(root);
    return r;
}
