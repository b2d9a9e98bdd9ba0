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

void cj_endpoint_done(struct cj_endpoint *e)
{
    if (!e)
        return;
    free(e->origin);
    free(e->prefix);
    free(e->host);
    *e = (struct cj_endpoint){0};
}

static int url_part(CURLU *u, CURLUPart part, unsigned flags, char **ret)
{
    CURLUcode uc = curl_url_get(u, part, ret, flags);
    if (uc == CURLUE_OK)
        return 1;
    *ret = NULL;
    switch (uc) {
    case CURLUE_NO_PORT:
    case CURLUE_NO_QUERY:
    case CURLUE_NO_FRAGMENT:
    case CURLUE_NO_USER:
    case CURLUE_NO_PASSWORD:
    case CURLUE_NO_OPTIONS:
        return 0;
    case CURLUE_OUT_OF_MEMORY:
        return -ENOMEM;
    default:
        return -EINVAL;
    }
}

/* A path prefix curl would rewrite ("." segments, "//") would no longer match what was
 * signed: refuse it rather than sign something else than what is sent. */
static bool prefix_ok(const char *p)
{
    for (const char *s = p; *s; s++) {
        if (*s == '?' || *s == '#' || (unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return false;
        if (*s == '/' &&
            (s[1] == '/' || (s[1] == '.' && (s[2] == '/' || s[2] == '\0' ||
                                             (s[2] == '.' && (s[3] == '/' || !s[3]))))))
            return false;
    }
    return true;
}

int cj_endpoint_parse(const char *url, struct cj_endpoint *ret)
{
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *extra = NULL;
    struct cj_endpoint e = {0};
    int r;

    if (!url || !*url)
        return log_error_errno(EINVAL, "AWS endpoint is empty");

    CURLU *u = curl_url();
    if (!u)
        return -ENOMEM;

    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
        r = log_error_errno(EINVAL, "AWS endpoint '%s' is not a valid URL", url);
        goto out;
    }
    if ((r = url_part(u, CURLUPART_SCHEME, 0, &scheme)) <= 0 ||
        (r = url_part(u, CURLUPART_HOST, 0, &host)) <= 0) {
        r = r < 0 ? r : -EINVAL;
        log_error_errno(r, "AWS endpoint '%s' has no scheme or host", url);
        goto out;
    }
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        r = log_error_errno(EINVAL, "AWS endpoint '%s' is not http or https", url);
        goto out;
    }
    static const CURLUPart unwanted[] = {CURLUPART_USER, CURLUPART_PASSWORD, CURLUPART_OPTIONS,
                                         CURLUPART_QUERY, CURLUPART_FRAGMENT};
    for (size_t i = 0; i < ELEMENTSOF(unwanted); i++) {
        r = url_part(u, unwanted[i], 0, &extra);
        curl_free(extra);
        extra = NULL;
        if (r != 0) {
            r = log_error_errno(EINVAL,
                                "AWS endpoint '%s' must not have credentials, a query or a "
                                "fragment",
                                url);
            goto out;
        }
    }
    r = url_part(u, CURLUPART_PORT, CURLU_NO_DEFAULT_PORT, &port);
    if (r < 0) {
        log_error_errno(r, "AWS endpoint '%s' has a bad port", url);
        goto out;
    }
    r = url_part(u, CURLUPART_PATH, 0, &path);
    if (r < 0)
        goto out;

    size_t plen = path ? strlen(path) : 0;
    while (plen > 0 && path[plen - 1] == '/')
        plen--;
    if (path)
        path[plen] = '\0';
    if (path && !prefix_ok(path)) {
        r = log_error_errno(EINVAL, "AWS endpoint '%s' has a path that cannot be signed", url);
        goto out;
    }

    e.https = strcmp(scheme, "https") == 0;
    r = -ENOMEM;
    if (port) {
        if (asprintf(&e.host, "%s:%s", host, port) < 0) {
            e.host = NULL;
            goto out;
        }
    } else if (!(e.host = strdup(host)))
        goto out;
    if (asprintf(&e.origin, "%s://%s", scheme, e.host) < 0) {
        e.origin = NULL;
        goto out;
    }
    if (!(e.prefix = strdup(path ? path : "")))
        goto out;

    *ret = e;
    e = (struct cj_endpoint){0};
    r = 0;
out:
    cj_endpoint_done(&e);
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_url_cleanup(u);
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
        .normalize_path = false, /* the path has no "." segments: prefix_ok() saw to it */
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
    _cleanup_free_ char *path = NULL;
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
    if (asprintf(&path, "%s/model-copy-jobs", ep->prefix) < 0) {
        path = NULL;
        return -ENOMEM;
    }
    return sign_get(ep, region, creds, path, query.data ? query.data : "", now_sec, ret);
}

int cj_request_get_job(const struct cj_endpoint *ep, const char *region,
                       const struct cj_aws_credentials *creds, const char *job_arn, int64_t now_sec,
                       struct cj_signed_request *ret)
{
    _cleanup_buf_ struct cj_buf path = {0};
    int r;

    if (!job_arn || !*job_arn)
        return -EINVAL;
    if ((r = cj_buf_append_str(&path, ep->prefix)) < 0 ||
        (r = cj_buf_append_str(&path, "/model-copy-jobs/")) < 0 ||
        (r = cj_uri_encode(job_arn, strlen(job_arn), false, &path)) < 0)
        return r;
    return sign_get(ep, region, creds, path.data, "", now_sec, ret);
}
