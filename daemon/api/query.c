/* SPDX-License-Identifier: MIT */
/* ListModelCopyJobs' query string, validated the way Bedrock validates it: every value
 * against the service model's constraint, every message naming the parameter and the rule. */
#include "query.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cj-time.h"
#include "job.h"

/* How much of a rejected value is quoted back to the client. */
#define QUOTE_MAX 64

enum query_key {
    KEY_CREATION_TIME_AFTER,
    KEY_CREATION_TIME_BEFORE,
    KEY_STATUS_EQUALS,
    KEY_SOURCE_ACCOUNT_EQUALS,
    KEY_SOURCE_MODEL_ARN_EQUALS,
    KEY_NAME_CONTAINS, /* outputModelNameContains or targetModelNameContains */
    KEY_SORT_BY,
    KEY_SORT_ORDER,
    KEY_MAX_RESULTS,
    KEY_NEXT_TOKEN,
    KEY_JOB_REGION_EQUALS,
    KEY_JOB_ACCOUNT_EQUALS,
    _KEY_MAX,
    KEY_UNKNOWN = -1,
};

static const struct {
    const char *name;
    enum query_key key;
} key_names[] = {
    {"creationTimeAfter", KEY_CREATION_TIME_AFTER},
    {"creationTimeBefore", KEY_CREATION_TIME_BEFORE},
    {"statusEquals", KEY_STATUS_EQUALS},
    {"sourceAccountEquals", KEY_SOURCE_ACCOUNT_EQUALS},
    {"sourceModelArnEquals", KEY_SOURCE_MODEL_ARN_EQUALS},
    {"outputModelNameContains", KEY_NAME_CONTAINS},
    {"targetModelNameContains", KEY_NAME_CONTAINS},
    {"sortBy", KEY_SORT_BY},
    {"sortOrder", KEY_SORT_ORDER},
    {"maxResults", KEY_MAX_RESULTS},
    {"nextToken", KEY_NEXT_TOKEN},
    /* beyond Bedrock: the region and account in the job's own ARN */
    {"jobRegionEquals", KEY_JOB_REGION_EQUALS},
    {"jobAccountEquals", KEY_JOB_ACCOUNT_EQUALS},
};

static enum query_key lookup_key(const char *name)
{
    for (size_t i = 0; i < ELEMENTSOF(key_names); i++)
        if (strcmp(name, key_names[i].name) == 0)
            return key_names[i].key;
    return KEY_UNKNOWN;
}

bool api_query_is_key(const char *name)
{
    return name && lookup_key(name) != KEY_UNKNOWN;
}

void api_query_storage_done(struct cj_query_storage *st)
{
    if (!st)
        return;
    free(st->source_account);
    free(st->source_model_arn);
    free(st->name_contains);
    free(st->next_token);
    free(st->job_region);
    free(st->job_account);
    *st = (struct cj_query_storage){0};
}

/* The value as it can be shown in a message: at most QUOTE_MAX bytes, control and
 * non-ASCII bytes replaced, so an error body stays short and printable. */
static void quote_value(const char *v, char *out, size_t size)
{
    size_t o = 0, i = 0;

    if (!v)
        v = "";
    for (; v[i] && i < QUOTE_MAX && o + 1 < size; i++) {
        unsigned char c = (unsigned char)v[i];
        out[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    if (v[i] && o + 4 < size) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

static void _printf_(3, 4) set_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int invalid(char *err, size_t errlen, const char *key, const char *value, const char *rule)
{
    char quoted[QUOTE_MAX + 8];

    if (value) {
        quote_value(value, quoted, sizeof(quoted));
        set_error(err, errlen, "%s: %s (got '%s')", key, rule, quoted);
    } else {
        set_error(err, errlen, "%s: %s (no value given)", key, rule);
    }
    return -EINVAL;
}

static int parse_timestamp(const char *key, const char *value, int64_t *ret, char *err,
                           size_t errlen)
{
    if (!value || !*value)
        return invalid(err, errlen, key, value,
                       "must be an ISO 8601 timestamp such as 2024-05-01T12:34:56Z");
    int r = cj_time_parse_iso8601(value, strlen(value), ret);
    if (r == -ERANGE)
        return invalid(err, errlen, key, value,
                       "must be a timestamp between the years 1678 and 2262");
    if (r < 0)
        return invalid(err, errlen, key, value,
                       "must be an ISO 8601 timestamp such as 2024-05-01T12:34:56Z");
    return 0;
}

/* Decimal digits only, no sign, no spaces, within 1..CJ_MAX_RESULTS_MAX. */
static int parse_max_results(const char *value, unsigned *ret, char *err, size_t errlen)
{
    static const char rule[] = "must be an integer from 1 to 1000";
    unsigned long v = 0;

    if (!value || !*value)
        return invalid(err, errlen, "maxResults", value, rule);
    for (const char *p = value; *p; p++) {
        if (*p < '0' || *p > '9')
            return invalid(err, errlen, "maxResults", value, rule);
        v = v * 10 + (unsigned long)(*p - '0');
        if (v > CJ_MAX_RESULTS_MAX)
            return invalid(err, errlen, "maxResults", value, "must be less than or equal to 1000");
    }
    if (v < 1)
        return invalid(err, errlen, "maxResults", value, "must be greater than or equal to 1");
    *ret = (unsigned)v;
    return 0;
}

static int dup_value(const char *value, char **ret)
{
    char *copy = strdup(value);
    if (!copy)
        return -ENOMEM;
    *ret = copy;
    return 0;
}

static int parse_one(enum query_key key, const char *name, const char *value, struct cj_query *q,
                     struct cj_query_storage *st, char *err, size_t errlen)
{
    size_t len = value ? strlen(value) : 0;

    switch (key) {
    case KEY_CREATION_TIME_AFTER:
        q->has_after = true;
        return parse_timestamp(name, value, &q->after_ns, err, errlen);
    case KEY_CREATION_TIME_BEFORE:
        q->has_before = true;
        return parse_timestamp(name, value, &q->before_ns, err, errlen);
    case KEY_STATUS_EQUALS:
        if (!value || cj_status_from_string(value, &q->status) < 0)
            return invalid(err, errlen, name, value,
                           "must be one of InProgress, Completed, Failed");
        q->has_status = true;
        return 0;
    case KEY_SOURCE_ACCOUNT_EQUALS:
        if (!value || !cj_valid_account_id(value, len))
            return invalid(err, errlen, name, value, "must be a 12-digit AWS account ID");
        return dup_value(value, &st->source_account);
    case KEY_SOURCE_MODEL_ARN_EQUALS:
        if (!value || !cj_valid_model_arn(value, len))
            return invalid(err, errlen, name, value,
                           "must be a Bedrock model ARN of 20 to 1011 characters "
                           "(arn:aws:bedrock:REGION:ACCOUNT:custom-model/... or "
                           "arn:aws:bedrock:REGION::foundation-model/...)");
        return dup_value(value, &st->source_model_arn);
    case KEY_NAME_CONTAINS:
        if (!value || !cj_valid_custom_model_name(value, len))
            return invalid(err, errlen, name, value,
                           "must be 1 to 63 characters matching ([0-9a-zA-Z][_-]?){1,63}");
        return dup_value(value, &st->name_contains);
    case KEY_SORT_BY:
        if (!value || strcmp(value, "CreationTime") != 0)
            return invalid(err, errlen, name, value, "must be CreationTime");
        return 0;
    case KEY_SORT_ORDER:
        if (value && strcmp(value, "Ascending") == 0)
            q->ascending = true;
        else if (value && strcmp(value, "Descending") == 0)
            q->ascending = false;
        else
            return invalid(err, errlen, name, value, "must be Ascending or Descending");
        return 0;
    case KEY_MAX_RESULTS:
        return parse_max_results(value, &q->max_results, err, errlen);
    case KEY_NEXT_TOKEN:
        if (!value || !cj_valid_next_token(value, len))
            return invalid(err, errlen, name, value,
                           "must be 1 to 2048 characters without whitespace");
        return dup_value(value, &st->next_token);
    case KEY_JOB_REGION_EQUALS:
        if (!value || !cj_valid_region_name(value, len))
            return invalid(err, errlen, name, value,
                           "must be a region name of 1 to 32 lower-case letters, digits and '-' "
                           "(e.g. us-east-1)");
        return dup_value(value, &st->job_region);
    case KEY_JOB_ACCOUNT_EQUALS:
        if (!value || !cj_valid_account_id(value, len))
            return invalid(err, errlen, name, value, "must be a 12-digit AWS account ID");
        return dup_value(value, &st->job_account);
    default:
        return 0;
    }
}

int api_query_parse(const struct cj_kv *args, size_t n, struct cj_query *q,
                    struct cj_query_storage *st, char *err, size_t errlen)
{
    const char *seen[_KEY_MAX] = {0};
    int r;

    if ((!args && n > 0) || !q || !st)
        return -EINVAL;
    if (err && errlen)
        err[0] = '\0';
    *q = (struct cj_query){.ascending = false, .max_results = CJ_MAX_RESULTS_MAX};
    *st = (struct cj_query_storage){0};

    for (size_t i = 0; i < n; i++) {
        const char *name = args[i].key;
        if (!name)
            continue;
        enum query_key key = lookup_key(name);
        if (key == KEY_UNKNOWN)
            continue; /* Bedrock ignores query keys it does not model */

        if (seen[key]) {
            if (strcmp(seen[key], name) == 0)
                set_error(err, errlen, "%s: given more than once", name);
            else
                set_error(err, errlen, "%s: given more than once (%s is the same parameter)", name,
                          seen[key]);
            r = -EINVAL;
            goto fail;
        }
        seen[key] = name;

        r = parse_one(key, name, args[i].value, q, st, err, errlen);
        if (r < 0)
            goto fail;
    }

    q->source_account = st->source_account;
    q->source_model_arn = st->source_model_arn;
    q->name_contains = st->name_contains;
    q->next_token = st->next_token;
    q->job_region = st->job_region;
    q->job_account = st->job_account;
    return 0;

fail:
    if (r == -ENOMEM)
        set_error(err, errlen, "out of memory");
    api_query_storage_done(st);
    *q = (struct cj_query){.max_results = CJ_MAX_RESULTS_MAX};
    return r;
}
