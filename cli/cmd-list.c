/* SPDX-License-Identifier: MIT */
/* list: GET /model-copy-jobs with Bedrock's query keys, one page or (--all) every page. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bedrock-syntax.h"
#include "cj-time.h"
#include "client.h"
#include "ctl.h"
#include "output.h"

#define DEFAULT_LIMIT   100
#define MAX_PAGE        1000
#define MAX_TOTAL_LIMIT 100000000UL
#define MAX_TOKEN       2048

static int parse_status(const char *s, const char **ret)
{
    static const char *const statuses[] = {"InProgress", "Completed", "Failed"};
    for (size_t i = 0; i < ELEMENTSOF(statuses); i++)
        if (strcasecmp(s, statuses[i]) == 0) {
            *ret = statuses[i];
            return 0;
        }
    return ctl_usage_error("--status must be InProgress, Completed or Failed");
}

static int parse_sort(const char *s, const char **ret)
{
    if (strcasecmp(s, "asc") == 0 || strcasecmp(s, "ascending") == 0)
        *ret = "Ascending";
    else if (strcasecmp(s, "desc") == 0 || strcasecmp(s, "descending") == 0)
        *ret = "Descending";
    else
        return ctl_usage_error("--sort must be asc or desc");
    return 0;
}

static int parse_time(const char *option, const char *s, int64_t now, int64_t *ret)
{
    int r = cj_time_parse_user(s, now, ret);
    if (r == -ERANGE)
        return ctl_usage_error("%s: '%s' is out of range", option, s);
    if (r < 0)
        return ctl_usage_error("%s: '%s' is neither ISO 8601 (2024-05-01T12:00:00Z, 2024-05-01) "
                               "nor a relative time (7d, 12h, 30m)",
                               option, s);
    return 0;
}

static int parse_limit(const char *s, unsigned long *ret)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || s[0] == '+' || n == 0 ||
        n > MAX_TOTAL_LIMIT)
        return ctl_usage_error("--limit must be a whole number from 1 to 1000 "
                               "(more with --all)");
    *ret = n;
    return 0;
}

enum {
    OPT_STATUS = 256,
    OPT_SINCE,
    OPT_UNTIL,
    OPT_ACCOUNT,
    OPT_SOURCE_MODEL,
    OPT_REGION,
    OPT_JOB_ACCOUNT,
    OPT_NAME_CONTAINS,
    OPT_SORT,
    OPT_LIMIT,
    OPT_ALL
};

static int parse_option(struct ctl_args *a, int opt, const char *arg)
{
    struct ctl_list_args *o = &a->list;

    if (!o->now)
        o->now = cj_now_ns();
    switch (opt) {
    case OPT_STATUS:
        return parse_status(arg, &o->status);
    case OPT_SINCE:
        o->since_text = arg;
        return parse_time("--since", arg, o->now, &o->since);
    case OPT_UNTIL:
        o->until_text = arg;
        return parse_time("--until", arg, o->now, &o->until);
    case OPT_ACCOUNT:
        o->account = arg;
        if (!cj_valid_account_id(arg, strlen(arg)))
            return ctl_usage_error("--account must be a 12-digit AWS account id");
        return 0;
    case OPT_SOURCE_MODEL:
        o->source_model = arg;
        if (!cj_valid_model_arn(arg, strlen(arg)))
            return ctl_usage_error("--source-model must be a Bedrock model ARN "
                                   "(arn:aws:bedrock:REGION:ACCOUNT:custom-model/... or "
                                   "arn:aws:bedrock:REGION::foundation-model/...)");
        return 0;
    case OPT_REGION:
        o->job_region = arg;
        if (!cj_valid_region_name(arg, strlen(arg)))
            return ctl_usage_error("--region must be an AWS region name like us-east-1");
        return 0;
    case OPT_JOB_ACCOUNT:
        o->job_account = arg;
        if (!cj_valid_account_id(arg, strlen(arg)))
            return ctl_usage_error("--job-account must be a 12-digit AWS account id");
        return 0;
    case OPT_NAME_CONTAINS:
        o->name_contains = arg;
        if (!cj_valid_custom_model_name(arg, strlen(arg)))
            return ctl_usage_error("--name-contains must be 1 to 63 letters and digits, "
                                   "each optionally followed by one '-' or '_'");
        return 0;
    case OPT_SORT:
        return parse_sort(arg, &o->sort_order);
    case OPT_LIMIT:
        o->has_limit = true;
        return parse_limit(arg, &o->limit);
    default: /* OPT_ALL */
        o->all = true;
        return 0;
    }
}

static int check(struct ctl_args *a)
{
    struct ctl_list_args *o = &a->list;

    if (!o->has_limit)
        o->limit = o->all ? 0 : DEFAULT_LIMIT;
    else if (!o->all && o->limit > MAX_PAGE)
        return ctl_usage_error("--limit must be from 1 to 1000 without --all");
    if (o->since_text && o->until_text && o->since >= o->until)
        return ctl_usage_error("--since (%s) must be before --until (%s)", o->since_text,
                               o->until_text);
    return 0;
}

/* The path and every filter; maxResults and nextToken are added per page. */
static int build_query(const struct ctl_list_args *o, struct cj_buf *q)
{
    char since[CJ_ISO8601_MAX], until[CJ_ISO8601_MAX];
    int r;

    if (o->since_text && (r = cj_time_format_iso8601(o->since, since, sizeof(since))) < 0)
        return r;
    if (o->until_text && (r = cj_time_format_iso8601(o->until, until, sizeof(until))) < 0)
        return r;
    const struct {
        const char *key, *value; /* value NULL: not asked for */
    } filters[] = {
        {"statusEquals", o->status},
        {"creationTimeAfter", o->since_text ? since : NULL},
        {"creationTimeBefore", o->until_text ? until : NULL},
        {"sourceAccountEquals", o->account},
        {"sourceModelArnEquals", o->source_model},
        {"outputModelNameContains", o->name_contains},
        {"jobRegionEquals", o->job_region},
        {"jobAccountEquals", o->job_account},
        {"sortOrder", o->sort_order},
    };
    r = cj_buf_append_str(q, "/model-copy-jobs");
    for (size_t i = 0; i < ELEMENTSOF(filters) && r >= 0; i++)
        if (filters[i].value)
            r = ctl_query_add(q, filters[i].key, filters[i].value);
    return r;
}

/* What one page said: its jobs (borrowed from `page`) and the token of the next. */
static int read_page(json_t *page, json_t **ret_jobs, const char **ret_token)
{
    json_t *jobs = json_object_get(page, "modelCopyJobSummaries");
    json_t *token = json_object_get(page, "nextToken");

    if (jobs && !json_is_array(jobs) && !json_is_null(jobs))
        return ctl_error("copyjobd sent a list whose modelCopyJobSummaries is not an array");
    if (json_is_array(jobs)) {
        for (size_t i = 0; i < json_array_size(jobs); i++) {
            if (!json_is_object(json_array_get(jobs, i)))
                return ctl_error("copyjobd sent a job (#%zu of the page) that is not an object",
                                 i + 1);
        }
    }
    *ret_jobs = json_is_array(jobs) ? jobs : NULL;
    *ret_token = NULL;
    if (token && !json_is_null(token)) {
        const char *s = json_string_value(token);
        size_t len = s ? strlen(s) : 0;
        if (!s || len == 0 || len > MAX_TOKEN || strpbrk(s, " \t\r\n"))
            return ctl_error("copyjobd sent an invalid nextToken");
        *ret_token = s;
    }
    return 0;
}

/* Fetches page after page, handing each job to the output, until the last page, the
 * --limit or (without --all) the first page. Returns an exit code. */
static int fetch(const struct ctl_args *a, struct ctl_client *client, const char *base,
                 struct ctl_list_output *out)
{
    const struct ctl_list_args *o = &a->list;
    _cleanup_buf_ struct cj_buf target = {0};
    _cleanup_free_ char *token = NULL;
    struct ctl_response first = {.age = -1}, resp = {.age = -1};
    unsigned long page_size = o->limit && o->limit < MAX_PAGE ? o->limit : MAX_PAGE;
    json_t *page = NULL;
    bool began = false;
    int ret = CTL_EXIT_FAILURE;

    for (;;) {
        char size_text[24];
        json_t *jobs = NULL;
        const char *next;
        int r;

        snprintf(size_text, sizeof(size_text), "%lu", page_size);
        cj_buf_reset(&target);
        r = cj_buf_append_str(&target, base);
        if (r >= 0)
            r = ctl_query_add(&target, "maxResults", size_text);
        if (r >= 0 && token)
            r = ctl_query_add(&target, "nextToken", token);
        if (r < 0) {
            ret = ctl_error("out of memory");
            break;
        }

        ctl_response_done(&resp);
        r = ctl_client_request(client, "GET", target.data, &resp);
        if (r < 0) {
            ret = ctl_client_report(client, r);
            break;
        }
        if (resp.status != 200) {
            ret = ctl_response_report_error(&resp);
            break;
        }
        if (!first.status) {
            first.status = resp.status;
            first.age = resp.age;
            memcpy(first.synced_at, resp.synced_at, sizeof(first.synced_at));
        }

        json_decref(page);
        page = ctl_json_parse_object(&resp, "the job list");
        if (!page || read_page(page, &jobs, &next) != 0)
            break;
        /* Only now: an unreachable daemon leaves no half document on stdout. */
        if (!began && ctl_list_output_begin(out, a->output, stdout) < 0) {
            ret = ctl_error("writing the output: %s", strerror(errno ? errno : EIO));
            break;
        }
        began = true;

        bool capped = false;
        for (size_t i = 0; i < json_array_size(jobs); i++) {
            if (o->limit && out->rows >= o->limit) {
                capped = true;
                break;
            }
            if (ctl_list_output_row(out, json_array_get(jobs, i)) < 0) {
                ret = ctl_error("writing the output: %s", strerror(errno ? errno : EIO));
                goto done;
            }
        }
        capped = capped || (o->limit && out->rows >= o->limit);

        if (!o->all || !next || capped) {
            /* Without --all, the token says more match; with it, every row was wanted. */
            const char *more = !o->all && next ? next : NULL;
            if (ctl_list_output_end(out, more, &first) < 0) {
                ret = ctl_error("writing the output: %s", strerror(errno ? errno : EIO));
                break;
            }
            ret = CTL_EXIT_OK;
            break;
        }
        if (token && strcmp(token, next) == 0) {
            ret = ctl_error("copyjobd sent the same nextToken twice; stopping");
            break;
        }
        free(token);
        token = strdup(next);
        if (!token) {
            ret = ctl_error("out of memory");
            break;
        }
    }

done:
    json_decref(page);
    ctl_response_done(&resp);
    return ret;
}

static int run(struct ctl_client *client, const struct ctl_args *a)
{
    _cleanup_buf_ struct cj_buf base = {0};
    struct ctl_list_output out = {0};

    if (build_query(&a->list, &base) < 0)
        return ctl_error("out of memory");
    int ret = fetch(a, client, base.data, &out);
    ctl_list_output_done(&out);
    return ret;
}

const struct ctl_command ctl_command_list = {
    .name = "list",
    .outputs = CTL_OUTPUT_BIT(CTL_OUTPUT_TABLE) | CTL_OUTPUT_BIT(CTL_OUTPUT_JSON) |
               CTL_OUTPUT_BIT(CTL_OUTPUT_NDJSON) | CTL_OUTPUT_BIT(CTL_OUTPUT_CSV),
    .options =
        (const struct option[]){
            {"status", required_argument, NULL, OPT_STATUS},
            {"since", required_argument, NULL, OPT_SINCE},
            {"until", required_argument, NULL, OPT_UNTIL},
            {"account", required_argument, NULL, OPT_ACCOUNT},
            {"source-model", required_argument, NULL, OPT_SOURCE_MODEL},
            {"region", required_argument, NULL, OPT_REGION},
            {"job-account", required_argument, NULL, OPT_JOB_ACCOUNT},
            {"name-contains", required_argument, NULL, OPT_NAME_CONTAINS},
            {"sort", required_argument, NULL, OPT_SORT},
            {"limit", required_argument, NULL, OPT_LIMIT},
            {"all", no_argument, NULL, OPT_ALL},
            {},
        },
    .parse_option = parse_option,
    .check = check,
    .run = run,
};
