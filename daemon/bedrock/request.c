/* SPDX-License-Identifier: MIT */
/* One signed Bedrock GET. libcurl's own SigV4 signs a different query and path than it
 * sends (see NOTES.md), so the URL is assembled here from the very strings that were
 * signed, and curl only carries it. */
#include "request.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cj-buf.h"
#include "cj-time.h"
#include "cj-util.h"
#include "log.h"

#define BEDROCK_SERVICE "bedrock"

int cj_endpoint_parse(const char *url, struct cj_endpoint *ret)
{
    char reason[128];
    int r = cj_endpoint_parse_url(url, ret, reason, sizeof(reason));
    if (r == -EINVAL)
        log_error("AWS endpoint '%s' %s", url ? url : "", reason);
    return r;
}

void cj_signed_request_done(struct cj_signed_request *r)
{
    if (!r)
        return;
    for (struct curl_slist *l = r->headers; l; l = l->next)
        if (l->data)
            cj_explicit_zero(l->data, strlen(l->data));
    curl_slist_free_all(r->headers);
    free(r->url);
    *r = (struct cj_signed_request){0};
}

static int add_header(struct curl_slist **list, struct cj_buf *scratch, const char *name,
                      const char *value)
{
    cj_buf_reset(scratch);
    int r = cj_buf_printf(scratch, "%s: %s", name, value);
    if (r < 0)
        return r;
    struct curl_slist *n = curl_slist_append(*list, scratch->data);
    cj_explicit_zero(scratch->data, scratch->len);
    if (!n)
        return -ENOMEM;
    *list = n;
    return 0;
}

/* Signs GET origin+path?query and fills ret. path is percent-encoded, query canonical. */
static int sign_get(const struct cj_endpoint *ep, const char *region,
                    const struct cj_aws_credentials *creds, const char *path, const char *query,
                    int64_t now_sec, struct cj_signed_request *ret)
{
    struct cj_sigv4_request req = {
        .method = "GET",
        .path = path,
        .query = query,
        .host = ep->host,
        .region = region,
        .service = BEDROCK_SERVICE,
        .time_sec = now_sec,
        .double_encode_path = true,
        .normalize_path = false, /* no "." segments: the endpoint has no path, a jobArn is
                                    encoded with its '/' */
    };
    struct cj_sigv4_result sig = {0};
    struct cj_signed_request out = {0};
    _cleanup_buf_ struct cj_buf scratch = {0};
    int r;

    if (!region || !*region)
        return log_error_errno(EINVAL, "No AWS region to sign the request with");

    r = cj_sigv4_sign(&req, creds, &sig);
    if (r < 0) {
        log_error_errno(r, "Cannot sign the request: %m");
        goto out;
    }

    if (asprintf(&out.url, "%s%s%s%s", ep->origin, path, *query ? "?" : "", query) < 0) {
        out.url = NULL;
        r = -ENOMEM;
        goto out;
    }

    /* Host is sent by curl from the URL: the same "host[:port]" that was signed. */
    if ((r = add_header(&out.headers, &scratch, "X-Amz-Date", sig.amz_date)) < 0 ||
        (r = add_header(&out.headers, &scratch, "Authorization", sig.authorization)) < 0)
        goto out;
    if (creds->session_token && *creds->session_token &&
        (r = add_header(&out.headers, &scratch, "X-Amz-Security-Token", creds->session_token)) < 0)
        goto out;
    if ((r = add_header(&out.headers, &scratch, "Accept", "application/json")) < 0)
        goto out;

    *ret = out;
    out = (struct cj_signed_request){0};
    r = 0;
out:
    if (scratch.data)
        cj_explicit_zero(scratch.data, scratch.cap);
    cj_signed_request_done(&out);
    cj_sigv4_result_done(&sig);
    return r;
}

int cj_request_list_jobs(const struct cj_endpoint *ep, const char *region,
                         const struct cj_aws_credentials *creds, const struct cj_list_request *l,
                         int64_t now_sec, struct cj_signed_request *ret)
{
    _cleanup_buf_ struct cj_buf query = {0};
    char max_results[16], after[CJ_ISO8601_MAX];

    if (l->max_results < 1 || l->max_results > 1000)
        return -EINVAL;
    snprintf(max_results, sizeof(max_results), "%u", l->max_results);

    struct cj_kv params[6] = {
        {"maxResults", max_results},
        {"sortBy", "CreationTime"},
        {"sortOrder", l->ascending ? "Ascending" : "Descending"},
    };
    size_t n = 3;
    if (l->next_token)
        params[n++] = (struct cj_kv){"nextToken", l->next_token};
    if (l->status_equals)
        params[n++] = (struct cj_kv){"statusEquals", l->status_equals};
    if (l->has_created_after) {
        if (cj_time_format_iso8601(l->created_after_ns, after, sizeof(after)) < 0)
            return -EINVAL;
        params[n++] = (struct cj_kv){"creationTimeAfter", after};
    }

    int r = cj_sigv4_canonical_query(params, n, &query);
    if (r < 0)
        return r;
    return sign_get(ep, region, creds, "/model-copy-jobs", query.data ? query.data : "", now_sec,
                    ret);
}

int cj_request_get_job(const struct cj_endpoint *ep, const char *region,
                       const struct cj_aws_credentials *creds, const char *job_arn, int64_t now_sec,
                       struct cj_signed_request *ret)
{
    _cleanup_buf_ struct cj_buf path = {0};
    int r;

    if (!job_arn || !*job_arn)
        return -EINVAL;
    if ((r = cj_buf_append_str(&path, "/model-copy-jobs/")) < 0 ||
        (r = cj_uri_encode(job_arn, strlen(job_arn), false, &path)) < 0)
        return r;
    return sign_get(ep, region, creds, path.data, "", now_sec, ret);
}
