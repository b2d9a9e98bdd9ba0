/* SPDX-License-Identifier: MIT */
/* The access handler: per-request state, request bodies drained and ignored, and the
 * dispatch of (method, path) to a handler. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cj-time.h"
#include "dashboard.h"
#include "log.h"
#include "server-internal.h"
#include "server-origin.h"

/* The methods a route answers; HEAD is answered like GET. */
enum {
    METHOD_GET = 1 << 0,
    METHOD_HEAD = 1 << 1,
    METHOD_POST = 1 << 2,
};

typedef int (*route_handler)(struct cj_request *req, struct cj_reply *reply);

/* Every endpoint, in one table. A prefix route matches a URL that begins with its path and
 * has more after it; the rest is req->path_tail. */
static const struct route {
    const char *path;
    bool prefix;
    const char *shown_as; /* in the 405 message */
    unsigned methods;
    const char *allow; /* the Allow header of the 405 */
    enum cj_endpoint endpoint;
    route_handler handler;
} routes[] = {
    {"/model-copy-jobs", false, "/model-copy-jobs", METHOD_GET | METHOD_HEAD, "GET, HEAD",
     CJ_ENDPOINT_LIST, api_handle_list},
    {"/model-copy-jobs/", true, "/model-copy-jobs/{jobArn}", METHOD_GET | METHOD_HEAD, "GET, HEAD",
     CJ_ENDPOINT_GET, api_handle_get},
    {"/v1/stats", false, "/v1/stats", METHOD_GET | METHOD_HEAD, "GET, HEAD", CJ_ENDPOINT_STATS,
     api_handle_stats},
    {"/v1/health", false, "/v1/health", METHOD_GET | METHOD_HEAD, "GET, HEAD", CJ_ENDPOINT_HEALTH,
     api_handle_health},
    {"/v1/sync", false, "/v1/sync", METHOD_POST, "POST", CJ_ENDPOINT_SYNC, api_handle_sync},
    /* A stream has no HEAD form worth having. */
    {"/v1/events", false, "/v1/events", METHOD_GET, "GET", CJ_ENDPOINT_EVENTS, api_handle_events},
    {"/metrics", false, "/metrics", METHOD_GET | METHOD_HEAD, "GET, HEAD", CJ_ENDPOINT_METRICS,
     api_handle_metrics},
    {"/", false, NULL, METHOD_GET | METHOD_HEAD, "GET, HEAD", CJ_ENDPOINT_OTHER,
     api_handle_dashboard},
    {"/dashboard/", true, NULL, METHOD_GET | METHOD_HEAD, "GET, HEAD", CJ_ENDPOINT_OTHER,
     api_handle_dashboard},
};

static const struct route *find_route(const char *url, const char **ret_tail)
{
    for (size_t i = 0; i < ELEMENTSOF(routes); i++) {
        const struct route *r = &routes[i];
        size_t n = strlen(r->path);
        if (r->prefix ? strncmp(url, r->path, n) == 0 && url[n] != '\0'
                      : strcmp(url, r->path) == 0) {
            *ret_tail = url + n;
            return r;
        }
    }
    return NULL;
}

static unsigned method_bit(const char *method)
{
    if (strcmp(method, MHD_HTTP_METHOD_GET) == 0)
        return METHOD_GET;
    if (strcmp(method, MHD_HTTP_METHOD_HEAD) == 0)
        return METHOD_HEAD;
    if (strcmp(method, MHD_HTTP_METHOD_POST) == 0)
        return METHOD_POST;
    return 0;
}

static int dispatch(struct cj_request *req, const char *url, const char *method,
                    struct cj_reply *reply)
{
    const struct route *r = find_route(url, &req->path_tail);

    if (!r)
        return api_reply_error(reply, 404, "ResourceNotFoundException", "no such endpoint: %s",
                               url);
    if (!(method_bit(method) & r->methods)) {
        reply->allow = r->allow;
        return api_reply_error(reply, 405, "ValidationException", "%s is not allowed on %s; use %s",
                               method, r->shown_as ? r->shown_as : url, r->allow);
    }
    req->url = url;
    return r->handler(req, reply);
}

/* A body announced larger than we read is refused before it is sent (the connection then
 * closes); a chunked one that grows past the cap closes the connection. */
static bool announced_body_too_large(struct MHD_Connection *c)
{
    const char *cl =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!cl)
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(cl, &end, 10);
    return errno != 0 || *end != '\0' || v > CJ_SERVER_BODY_MAX;
}

enum MHD_Result api_access_handler(void *cls, struct MHD_Connection *connection, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **req_cls)
{
    struct cj_server *s = cls;
    struct cj_request *req = *req_cls;
    struct cj_reply reply = {.status = 200};
    enum MHD_Result ret;
    int r;

    if (!req) {
        /* Answering on this first call makes MHD 0.9.75 close keep-alive connections
         * (NOTES.md): only set up the request state here, answer on the next call. */
        req = calloc(1, sizeof(*req));
        if (!req)
            return MHD_NO;
        const char *tail;
        const struct route *route = find_route(url, &tail);
        req->server = s;
        req->connection = connection;
        req->conn = api_conn_of(connection);
        req->endpoint = route ? route->endpoint : CJ_ENDPOINT_OTHER;
        *req_cls = req;
        r = api_check_origin(req, &reply);
        if (r < 0 && api_reply_errno(&reply, r, "checking the request's Host") < 0)
            return MHD_NO;
        if (r != 0) {
            api_conn_set_deadline(req->conn, 0);
            ret = api_reply_send(req, &reply);
            api_reply_done(&reply);
            return ret;
        }
        /* Handlers read the path and the query's values as C strings: one that a %00 would
         * cut short is refused, not read as its prefix. */
        if (!req->conn)
            return MHD_NO; /* refused when it opened (server-conn.c) */
        if (req->conn->nul_in_uri) {
            api_conn_set_deadline(req->conn, 0);
            api_reply_error(&reply, 400, "ValidationException",
                            "the path and query must not contain %%00 (a NUL byte)");
            ret = api_reply_send(req, &reply);
            api_reply_done(&reply);
            return ret;
        }
        if (announced_body_too_large(connection)) {
            api_conn_set_deadline(req->conn, 0);
            api_reply_error(&reply, 400, "ValidationException",
                            "request bodies are not accepted (larger than %zu bytes)",
                            CJ_SERVER_BODY_MAX);
            ret = api_reply_send(req, &reply);
            api_reply_done(&reply);
            return ret;
        }
        return MHD_YES;
    }

    if (*upload_data_size > 0) {
        req->body_bytes += *upload_data_size;
        *upload_data_size = 0;
        if (req->body_bytes > CJ_SERVER_BODY_MAX) {
            log_debug("http: request body over %zu bytes, closing", CJ_SERVER_BODY_MAX);
            return MHD_NO;
        }
        return MHD_YES;
    }

    /* The whole request is in: from here on the connection is answered (or waits for a
     * sync or for events), which the request deadline does not cover. */
    api_conn_set_deadline(req->conn, 0);
    if (req->waiting)
        r = api_handle_sync_resumed(req, &reply);
    else
        r = dispatch(req, url, method, &reply);
    if (r < 0)
        r = api_reply_errno(&reply, r, "request failed");
    if (r < 0) {
        api_reply_done(&reply);
        return MHD_NO;
    }
    if (reply.suspended) {
        api_reply_done(&reply);
        return MHD_YES;
    }
    if (reply.status >= 400)
        log_debug("http: %s %s -> %u %s", method, url, reply.status,
                  reply.error_type ? reply.error_type : "");
    ret = api_reply_send(req, &reply);
    api_reply_done(&reply);
    return ret;
}

void api_request_completed(void *cls, struct MHD_Connection *connection, void **req_cls,
                           enum MHD_RequestTerminationCode toe)
{
    struct cj_server *s = cls;
    struct cj_request *req = *req_cls;

    /* A keep-alive connection has the idle timeout to send its next request completely;
     * MHD closes it at that time anyway if it stays silent. */
    if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
        api_conn_set_deadline(api_conn_of(connection),
                              api_mono_ns() + (int64_t)s->idle_timeout_s * CJ_NSEC_PER_SEC);
    if (!req)
        return;
    if (req->waiting)
        api_unwait(req);
    cj_sync_round_result_done(&req->sync_res);
    free(req);
    *req_cls = NULL;
}
