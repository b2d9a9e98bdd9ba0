/* SPDX-License-Identifier: MIT */
/* ListModelCopyJobs and GetModelCopyJob, answered from the store. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cj-util.h"
#include "job.h"
#include "query.h"
#include "server-internal.h"

struct arg_list {
    struct cj_kv items[CJ_SERVER_QUERY_ARGS_MAX];
    size_t n;
    bool overflow;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    struct arg_list *l = cls;

    /* Unknown keys are ignored, so they take no room: only a known key given over and over
     * can reach the cap (and it is refused anyway). */
    if (!api_query_is_key(key))
        return MHD_YES;
    if (l->n >= ELEMENTSOF(l->items)) {
        l->overflow = true;
        return MHD_NO;
    }
    l->items[l->n++] = (struct cj_kv){.key = key, .value = value};
    return MHD_YES;
}

int api_handle_list(struct cj_request *req, struct cj_reply *reply)
{
    struct cj_query_storage st = {0};
    struct cj_query q;
    struct arg_list args = {.n = 0};
    char err[512] = "";
    int r;

    /* Every known pair, in order and with repeats, so that a repeated key can be refused. */
    MHD_get_connection_values(req->connection, MHD_GET_ARGUMENT_KIND, collect_arg, &args);
    if (args.overflow)
        return api_reply_error(reply, 400, "ValidationException",
                               "too many query parameters (at most %d)", CJ_SERVER_QUERY_ARGS_MAX);

    r = api_query_parse(args.items, args.n, &q, &st, err, sizeof(err));
    if (r == -EINVAL)
        return api_reply_error(reply, 400, "ValidationException", "%s", err);
    if (r < 0)
        return r;

    reply->from_cache = true;
    /* A list filtered to a region or account is as old as the sources that hold those. */
    if (q.job_region)
        snprintf(reply->scope_region, sizeof(reply->scope_region), "%s", q.job_region);
    if (q.job_account)
        snprintf(reply->scope_account, sizeof(reply->scope_account), "%s", q.job_account);
    r = cj_store_list(req->server->store, &q, &reply->body, err, sizeof(err));
    api_query_storage_done(&st);
    if (r == -EINVAL)
        return api_reply_error(reply, 400, "ValidationException", "%s",
                               err[0] ? err : "nextToken: invalid token");
    if (r < 0) {
        reply->from_cache = false;
        return api_reply_errno(reply, r, "listing the cache");
    }
    return 0;
}

/* The region and account a job ARN names (arn:PARTITION:bedrock:REGION:ACCOUNT:...): a Get
 * is as old as the sources that hold that region's and account's jobs. */
static void arn_scope(const char *arn, struct cj_reply *reply)
{
    const char *f[5];
    const char *p = arn;
    size_t n = 0;

    for (; n < 5 && p; n++) {
        f[n] = p;
        p = strchr(p, ':');
        if (p)
            p++;
    }
    if (n < 5 || !p)
        return;
    size_t region_len = (size_t)(f[4] - f[3] - 1), account_len = (size_t)(p - f[4] - 1);
    if (region_len > 0 && region_len < sizeof(reply->scope_region))
        snprintf(reply->scope_region, sizeof(reply->scope_region), "%.*s", (int)region_len, f[3]);
    if (account_len == CJ_ACCOUNT_ID_STR_LEN)
        snprintf(reply->scope_account, sizeof(reply->scope_account), "%.*s", (int)account_len,
                 f[4]);
}

int api_handle_get(struct cj_request *req, struct cj_reply *reply)
{
    const char *job_arn = req->path_tail;

    size_t len = strlen(job_arn);
    int r;

    /* MHD has already percent-decoded the path, so "arn%3Aaws%3A...%2F..." and the raw
     * ARN both arrive here as the plain ARN. */
    if (!cj_valid_job_arn(job_arn, len))
        return api_reply_error(reply, 400, "ValidationException",
                               "jobArn: must be a model copy job ARN "
                               "(arn:aws:bedrock:REGION:ACCOUNT:model-copy-job/ID) of at most "
                               "%d characters",
                               CJ_JOB_ARN_MAX);

    reply->from_cache = true;
    arn_scope(job_arn, reply);
    r = cj_store_get(req->server->store, job_arn, &reply->body);
    if (r == -ENOENT)
        return api_reply_error(reply, 404, "ResourceNotFoundException",
                               "Could not find model copy job %s", job_arn);
    if (r < 0) {
        reply->from_cache = false;
        return api_reply_errno(reply, r, "reading the cache");
    }
    return 0;
}
