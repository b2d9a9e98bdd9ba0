/* SPDX-License-Identifier: MIT */
/* One model copy job, as people read it. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "cj-time.h"
#include "output.h"

const char *ctl_job_created(const json_t *job, char *buf, size_t size)
{
    const char *created = json_string_value(json_object_get(job, "creationTime"));
    int64_t ns;

    if (!created)
        return NULL;
    if (cj_time_parse_iso8601(created, strlen(created), &ns) < 0)
        return created;

    time_t secs = (time_t)(ns / CJ_NSEC_PER_SEC - (ns % CJ_NSEC_PER_SEC < 0));
    struct tm tm;
    if (!gmtime_r(&secs, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        return created;
    return buf;
}

const char *ctl_job_id(const json_t *job)
{
    const char *arn = json_string_value(json_object_get(job, "jobArn"));
    if (!arn || !*arn)
        return NULL;
    const char *slash = strrchr(arn, '/');
    if (slash)
        return slash[1] ? slash + 1 : NULL;
    const char *colon = strrchr(arn, ':');
    return colon ? (colon[1] ? colon + 1 : NULL) : arn;
}

/* "key=value, key=value" from [{"key":..., "value":...}, ...]; NULL when absent. */
static const char *tags_text(const json_t *job, struct cj_buf *out)
{
    json_t *tags = json_object_get(job, "targetModelTags");
    int r = 0;

    if (!json_is_array(tags))
        return NULL;
    cj_buf_reset(out);
    r = cj_buf_append_str(out, "");
    for (size_t i = 0; i < json_array_size(tags); i++) {
        json_t *tag = json_array_get(tags, i);
        const char *k = json_string_value(json_object_get(tag, "key"));
        const char *v = json_string_value(json_object_get(tag, "value"));
        if (r >= 0)
            r = cj_buf_printf(out, "%s%s=%s", i ? ", " : "", k ? k : "-", v ? v : "");
    }
    if (r >= 0 && json_array_size(tags) == 0)
        r = cj_buf_append_str(out, "(none)");
    return r < 0 ? NULL : out->data;
}

int ctl_job_print_details(FILE *f, const json_t *job)
{
    static const char *const fields[] = {
        "jobArn",          "status",          "creationTime",
        "sourceAccountId", "sourceModelArn",  "sourceModelName",
        "targetModelArn",  "targetModelName", "targetModelKmsKeyArn",
        "targetModelTags", "failureMessage",
    };
    struct cj_buf scratch[ELEMENTSOF(fields)] = {};
    const char *values[ELEMENTSOF(fields)];

    for (size_t i = 0; i < ELEMENTSOF(fields); i++)
        values[i] = strcmp(fields[i], "targetModelTags") == 0
                        ? tags_text(job, &scratch[i])
                        : ctl_json_text(job, fields[i], &scratch[i]);
    int r = ctl_kv_print(f, fields, values, ELEMENTSOF(fields));
    for (size_t i = 0; i < ELEMENTSOF(fields); i++)
        cj_buf_free(&scratch[i]);
    return r;
}
