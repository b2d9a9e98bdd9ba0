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

#define JOBS_PATH "/model-copy-jobs"

enum route {
    ROUTE_NONE,
    ROUTE_LIST,
    ROUTE_GET,
    ROUTE_STATS,
    ROUTE_HEALTH,
    ROUTE_SYNC,
    ROUTE_EVENTS,
    ROUTE_METRICS,
    ROUTE_DASHBOARD,
};

static enum route find_route(const char *url, const char **ret_arn)
{
    if (strcmp(url, JOBS_PATH) == 0)
        return ROUTE_LIST;
    if (strncmp(url, JOBS_PATH "/", STRLEN(JOBS_PATH "/")) == 0 &&
        url[STRLEN(JOBS_PATH "/")] != '\0') {
        *ret_arn = url + STRLEN(JOBS_PATH "/");
        return ROUTE_GET;
    }
    if (strcmp(url, "/v1/stats") == 0)
        return ROUTE_STATS;
    if (strcmp(url, "/v1/health") == 0)
        return ROUTE_HEALTH;
    if (strcmp(url, "/v1/sync") == 0)
        return ROUTE_SYNC;
    if (strcmp(url, "/v1/events") == 0)
        return ROUTE_EVENTS;
    if (strcmp(url, "/metrics") == 0)
        return ROUTE_METRICS;
    if (strcmp(url, "/") == 0 || strncmp(url, "/dashboard/", STRLEN("/dashboard/")) == 0)
        return ROUTE_DASHBOARD;
    return ROUTE_NONE;
}

static enum cj_endpoint route_endpoint(enum route r)
{
    switch (r) {
    case ROUTE_LIST:
        return CJ_ENDPOINT_LIST;
    case ROUTE_GET:
        return CJ_ENDPOINT_GET;
    case ROUTE_STATS:
        return CJ_ENDPOINT_STATS;
    case ROUTE_HEALTH:
        return CJ_ENDPOINT_HEALTH;
    case ROUTE_SYNC:
        return CJ_ENDPOINT_SYNC;
    case ROUTE_EVENTS:
        return CJ_ENDPOINT_EVENTS;
    case ROUTE_METRICS:
        return CJ_ENDPOINT_METRICS;
    case ROUTE_DASHBOARD:
    case ROUTE_NONE:
    default:
        return CJ_ENDPOINT_OTHER;
    }
}

static bool is_read_method(const char *method)
{
    return strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
}

static int wrong_method(struct cj_reply *reply, const char *method, const char *url,
                        const char *allow)
{
    reply->allow = allow;
    return cj_reply_error(reply, 405, "ValidationException", "%s is not allowed on %s; use %s",
                          method, url, allow);
}

static int dispatch(struct cj_request *req, const char *url, const char *method,
                    struct cj_reply *reply)
{
    const char *arn = NULL;

    switch (find_route(url, &arn)) {
    case ROUTE_LIST:
        if (!is_read_method(method))
            return wrong_method(reply, method, JOBS_PATH, "GET, HEAD");
        return cj_server_handle_list(req, reply);
    case ROUTE_GET:
        if (!is_read_method(method))
            return wrong_method(reply, method, JOBS_PATH "/{jobArn}", "GET, HEAD");
        return cj_server_handle_get(req, arn, reply);
    case ROUTE_STATS:
        if (!is_read_method(method))
            return wrong_method(reply, method, "/v1/stats", "GET, HEAD");
        return cj_server_handle_stats(req, reply);
    case ROUTE_HEALTH:
        if (!is_read_method(method))
            return wrong_method(reply, method, "/v1/health", "GET, HEAD");
        return cj_server_handle_health(req, reply);
    case ROUTE_SYNC:
        if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
            return wrong_method(reply, method, "/v1/sync", "POST");
        return cj_server_handle_sync(req, reply);
    case ROUTE_EVENTS:
        /* A stream has no HEAD form worth having. */
        if (strcmp(method, MHD_HTTP_METHOD_GET) != 0)
            return wrong_method(reply, method, "/v1/events", "GET");
        return cj_server_handle_events(req, reply);
    case ROUTE_METRICS:
        if (!is_read_method(method))
            return wrong_method(reply, method, "/metrics", "GET, HEAD");
        return cj_server_handle_metrics(req, reply);
    case ROUTE_DASHBOARD:
        if (!is_read_method(method))
            return wrong_method(reply, method, url, "GET, HEAD");
        return cj_server_handle_dashboard(req, url, reply);
    case ROUTE_NONE:
    default:
        return cj_reply_error(reply, 404, "ResourceNotFoundException", "no such endpoint: %s", url);
    }
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

enum MHD_Result cj_server_access_handler(void *cls, struct MHD_Connection *connection,
                                         const char *url, const char *method, const char *version,
                                         const char *upload_data, size_t *upload_data_size,
                                         void **req_cls)
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
        const char *unused;
        req->server = s;
        req->connection = connection;
        req->conn = cj_server_conn_of(connection);
        req->endpoint = route_endpoint(find_route(url, &unused));
        *req_cls = req;
        r = cj_server_check_origin(req, &reply);
        if (r < 0 && cj_reply_errno(&reply, r, "checking the request's Host") < 0)
            return MHD_NO;
        if (r != 0) {
            cj_conn_set_deadline(req->conn, 0);
            ret = cj_reply_send(req, &reply);
            cj_reply_done(&reply);
            return ret;
        }
        if (announced_body_too_large(connection)) {
            cj_conn_set_deadline(req->conn, 0);
            cj_reply_error(&reply, 400, "ValidationException",
                           "request bodies are not accepted (larger than %zu bytes)",
                           CJ_SERVER_BODY_MAX);
            ret = cj_reply_send(req, &reply);
            cj_reply_done(&reply);
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
    cj_conn_set_deadline(req->conn, 0);
    if (req->waiting)
        r = cj_server_handle_sync_resumed(req, &reply);
    else
        r = dispatch(req, url, method, &reply);
    if (r < 0)
        r = cj_reply_errno(&reply, r, "request failed");
    if (r < 0) {
        cj_reply_done(&reply);
        return MHD_NO;
    }
    if (reply.suspended) {
        cj_reply_done(&reply);
        return MHD_YES;
    }
    if (reply.status >= 400)
        log_debug("http: %s %s -> %u %s", method, url, reply.status,
                  reply.error_type ? reply.error_type : "");
    ret = cj_reply_send(req, &reply);
    cj_reply_done(&reply);
    return ret;
}

void cj_server_request_completed(void *cls, struct MHD_Connection *connection, void **req_cls,
                                 enum MHD_RequestTerminationCode toe)
{
    struct cj_server *s = cls;
    struct cj_request *req = *req_cls;

    /* A keep-alive connection has the idle timeout to send its next request completely;
     * MHD closes it at that time anyway if it stays silent. */
    if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
        cj_conn_set_deadline(cj_server_conn_of(connection),
                             cj_server_mono_ns() + (int64_t)s->idle_timeout_s * CJ_NSEC_PER_SEC);
    if (!req)
        return;
    if (req->waiting)
        cj_server_unwait(req);
    free(req);
    *req_cls = NULL;
}
