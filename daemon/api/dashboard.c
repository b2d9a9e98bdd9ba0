/* SPDX-License-Identifier: MIT */
/* Serving the built-in dashboard from memory, see dashboard.h. */
#include <errno.h>
#include <string.h>

#include "dashboard.h"
#include "server-internal.h"

const struct cj_dashboard_asset *api_dashboard_find(const char *url)
{
    for (size_t i = 0; i < cj_dashboard_n_assets; i++)
        if (strcmp(cj_dashboard_assets[i].url, url) == 0)
            return &cj_dashboard_assets[i];
    return NULL;
}

/* If-None-Match: "*", or a comma-separated list of (possibly weak) ETags. */
static bool etag_matches(const char *header, const char *etag)
{
    size_t n = strlen(etag);

    for (const char *p = header; p && *p;) {
        p += strspn(p, " \t,");
        if (*p == '*')
            return true;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (strncmp(p, etag, n) == 0 && (p[n] == '\0' || strchr(" \t,", p[n])))
            return true;
        p = strchr(p, ',');
    }
    return false;
}

static bool add(struct MHD_Response *r, const char *name, const char *value)
{
    return MHD_add_response_header(r, name, value) == MHD_YES;
}

int api_handle_dashboard(struct cj_request *req, struct cj_reply *reply)
{
    const char *url = req->url;
    const struct cj_dashboard_asset *a = api_dashboard_find(url);
    if (!a)
        return api_reply_error(reply, 404, "ResourceNotFoundException",
                               "no such dashboard file: %s; the dashboard is at /", url);

    const char *inm = MHD_lookup_connection_value(req->connection, MHD_HEADER_KIND,
                                                  MHD_HTTP_HEADER_IF_NONE_MATCH);
    bool fresh = inm && etag_matches(inm, a->etag);
    /* The bytes are static: MHD sends them without a copy. */
    struct MHD_Response *resp =
        fresh ? MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT)
              : MHD_create_response_from_buffer(a->size, (void *)a->data, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return -ENOMEM;
    if (!add(resp, MHD_HTTP_HEADER_ETAG, a->etag) ||
        !add(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache") ||
        !add(resp, "Content-Security-Policy", CJ_DASHBOARD_CSP) ||
        !add(resp, "X-Content-Type-Options", "nosniff") ||
        !add(resp, "Referrer-Policy", "no-referrer") || !add(resp, "X-Frame-Options", "DENY") ||
        !add(resp, "Cross-Origin-Resource-Policy", "same-origin")) {
        MHD_destroy_response(resp);
        return -ENOMEM;
    }
    reply->status = fresh ? 304 : 200;
    reply->response = resp;
    reply->content_type = a->content_type;
    return 0;
}
