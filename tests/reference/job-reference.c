/* SPDX-License-Identifier: MIT */
/* A jansson tree turned into the values bedrock_job_from_values() checks (see job-reference.h). */
#include "job-reference.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "job-internal.h"

static struct cj_value value_of(const json_t *v)
{
    if (!v)
        return (struct cj_value){.kind = CJ_VALUE_ABSENT};
    if (json_is_null(v))
        return (struct cj_value){.kind = CJ_VALUE_NULL};
    if (json_is_string(v))
        return (struct cj_value){
            .kind = CJ_VALUE_STRING, .s = json_string_value(v), .len = json_string_length(v)};
    return (struct cj_value){.kind = json_is_array(v) ? CJ_VALUE_ARRAY : CJ_VALUE_OTHER};
}

/* One summary object's job. */
static int job_from_object(const json_t *obj, struct cj_job *ret, char *err, size_t errlen)
{
    struct cj_value v[_CJ_M_MAX];

    for (int i = 0; i < _CJ_M_MAX; i++)
        v[i] = value_of(json_object_get(obj, cj_job_members[i].name));

    const json_t *array = json_object_get(obj, cj_job_members[CJ_M_TARGET_MODEL_TAGS].name);
    size_t n = json_array_size(array); /* 0 for anything but an array */
    struct cj_tag *tag = calloc(n ? n : 1, sizeof(*tag));
    if (!tag)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const json_t *t = json_array_get(array, i);
        tag[i].object = json_is_object(t);
        for (int k = 0; tag[i].object && k < _CJ_TAG_MAX; k++)
            tag[i].member[k] = value_of(json_object_get(t, cj_tag_members[k].name));
    }
    int r = bedrock_job_from_values(v, &(struct cj_tags){.tag = tag, .n = n}, ret, err, errlen);
    free(tag);
    return r;
}

int cj_job_parse_reference(const char *body, size_t len, struct cj_job *ret, char *err,
                           size_t errlen)
{
    json_error_t jerr;

    if (!ret)
        return -EINVAL;
    *ret = (struct cj_job){};
    if (err && errlen > 0)
        err[0] = '\0';
    json_t *obj = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(obj)) {
        if (err && errlen > 0)
            snprintf(err, errlen, "not a JSON object: %s", obj ? "wrong type" : jerr.text);
        json_decref(obj);
        return -EPROTO;
    }
    int r = job_from_object(obj, ret, err, errlen);
    json_decref(obj);
    return r;
}

int cj_page_parse_reference(const char *body, size_t len, struct cj_page *ret, char *err,
                            size_t errlen)
{
    json_error_t jerr;
    int r;

    if (!ret)
        return -EINVAL;
    *ret = (struct cj_page){};
    r = bedrock_page_check_body(body, len, err, errlen);
    if (r < 0)
        return r;

    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root)
        return bedrock_job_fail(err, errlen, "invalid JSON at line %d column %d: %s", jerr.line,
                                jerr.column, jerr.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return bedrock_job_fail(err, errlen, REASON_BODY_NOT_OBJECT);
    }

    struct cj_page page = {};
    size_t cap_skipped_arns = 0;
    const json_t *summaries = json_object_get(root, "modelCopyJobSummaries");
    struct cj_value s = value_of(summaries), token = value_of(json_object_get(root, "nextToken"));
    r = bedrock_page_check_root(&s, &token, &page.next_token, err, errlen);
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
        const json_t *summary = json_array_get(summaries, i);
        char reason[REASON_MAX];

        if (json_is_object(summary))
            r = job_from_object(summary, &page.jobs[page.n_jobs], reason, sizeof(reason));
        else
            r = bedrock_job_fail(reason, sizeof(reason), REASON_SUMMARY_NOT_OBJECT);
        if (r == 0) {
            page.n_jobs++;
            continue;
        }
        if (r != -EBADMSG)
            goto out;
        char arn[LOGGED_ARN_MAX + 1] = "";
        const json_t *v = json_object_get(summary, "jobArn");
        if (json_is_string(v))
            bedrock_job_loggable_arn(json_string_value(v), json_string_length(v), arn, sizeof(arn));
        struct cj_value arn_value = value_of(v);
        r = bedrock_page_add_skipped_arn(&page, &cap_skipped_arns, &arn_value);
        if (r < 0)
            goto out;
        page.n_skipped++;
        bedrock_job_log_skipped(i, arn, reason);
    }
    r = 0;
    *ret = page;
    page = (struct cj_page){};
out:
    cj_page_done(&page);
    json_decref(root);
    return r;
}
