/* SPDX-License-Identifier: MIT */
/* GET /metrics: Prometheus text exposition format 0.0.4. Every family has its # HELP and
 * # TYPE lines; counters end in _total; label values are escaped. The cache's figures come
 * from the store, the sync's from the sync engine, the HTTP ones are counted here. Every
 * per-source series carries a source label (the source's name). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cj-time.h"
#include "server-internal.h"

static const char *const endpoint_names[_CJ_ENDPOINT_MAX] = {
    [CJ_ENDPOINT_LIST] = "list",       [CJ_ENDPOINT_GET] = "get",
    [CJ_ENDPOINT_STATS] = "stats",     [CJ_ENDPOINT_HEALTH] = "health",
    [CJ_ENDPOINT_SYNC] = "sync",       [CJ_ENDPOINT_EVENTS] = "events",
    [CJ_ENDPOINT_METRICS] = "metrics", [CJ_ENDPOINT_OTHER] = "other",
};

const char *api_endpoint_to_string(enum cj_endpoint e)
{
    return (unsigned)e < _CJ_ENDPOINT_MAX ? endpoint_names[e] : "other";
}

void api_count_request(struct cj_server *s, enum cj_endpoint e, unsigned code)
{
    if ((unsigned)e >= _CJ_ENDPOINT_MAX)
        e = CJ_ENDPOINT_OTHER;
    struct cj_http_counter *c = s->http[e];
    for (size_t i = 0; i < CJ_HTTP_CODES_MAX; i++) {
        if (c[i].code == code || c[i].code == 0) {
            c[i].code = code;
            c[i].count++;
            return;
        }
    }
    /* More distinct codes than slots (cannot happen with the codes handlers answer): the last
     * slot takes the rest rather than lose the count. */
    c[CJ_HTTP_CODES_MAX - 1].count++;
}

int api_prometheus_label_value(struct cj_buf *b, const char *v)
{
    int r = 0;
    for (const char *p = v; r >= 0 && *p; p++) {
        if (*p == '\\')
            r = cj_buf_append_str(b, "\\\\");
        else if (*p == '"')
            r = cj_buf_append_str(b, "\\\"");
        else if (*p == '\n')
            r = cj_buf_append_str(b, "\\n");
        else
            r = cj_buf_append_char(b, *p);
    }
    return r;
}

static int family(struct cj_buf *b, const char *name, const char *type, const char *help)
{
    return cj_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int source_label(struct cj_buf *b, const char *name, const struct api_source *src)
{
    int r = cj_buf_printf(b, "%s{source=\"", name);
    if (r >= 0)
        r = api_prometheus_label_value(b, src->name);
    if (r >= 0)
        r = cj_buf_append_char(b, '"');
    return r;
}

static int jobs_metrics(struct cj_buf *b, const struct api_sources *l)
{
    int r =
        family(b, "copyjobd_jobs", "gauge", "Model copy jobs in the cache, by source and status.");
    for (size_t k = 0; r >= 0 && k < l->n; k++)
        for (int i = 0; r >= 0 && i < _CJ_STATUS_MAX; i++) {
            r = source_label(b, "copyjobd_jobs", &l->v[k]);
            if (r >= 0)
                r = cj_buf_printf(b, ",status=\"%s\"} %" PRIu64 "\n", cj_status_to_string(i),
                                  l->v[k].st.by_status[i]);
        }
    return r;
}

static int sync_metrics(struct cj_buf *b, const struct api_sources *l)
{
    static const char *const operations[_CJ_API_OPERATION_MAX] = {
        [CJ_API_LIST_MODEL_COPY_JOBS] = "ListModelCopyJobs",
        [CJ_API_GET_MODEL_COPY_JOB] = "GetModelCopyJob",
    };
    struct cj_sync_metrics *m = calloc(l->n ? l->n : 1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    for (size_t k = 0; k < l->n; k++)
        if (l->v[k].sync)
            cj_sync_get_metrics(l->v[k].sync, &m[k]);

    int r = family(b, "copyjobd_syncs_total", "counter",
                   "Sync passes finished, by source, kind (quick or full) and result (ok or "
                   "failed).");
    for (size_t k = 0; r >= 0 && k < l->n; k++)
        for (int kind = 0; l->v[k].sync && r >= 0 && kind < _CJ_SYNC_KIND_MAX; kind++)
            for (int res = 0; r >= 0 && res < 2; res++) {
                r = source_label(b, "copyjobd_syncs_total", &l->v[k]);
                if (r >= 0)
                    r = cj_buf_printf(b, ",kind=\"%s\",result=\"%s\"} %" PRIu64 "\n",
                                      cj_sync_kind_to_string(kind), res ? "failed" : "ok",
                                      m[k].passes[kind][res]);
            }
    if (r >= 0)
        r = family(b, "copyjobd_api_calls_total", "counter",
                   "HTTP requests sent to Amazon Bedrock, retries included, by source and "
                   "operation.");
    for (size_t k = 0; r >= 0 && k < l->n; k++)
        for (int o = 0; l->v[k].sync && r >= 0 && o < _CJ_API_OPERATION_MAX; o++) {
            r = source_label(b, "copyjobd_api_calls_total", &l->v[k]);
            if (r >= 0)
                r = cj_buf_printf(b, ",operation=\"%s\"} %" PRIu64 "\n", operations[o],
                                  m[k].api_calls[o]);
        }
    if (r >= 0)
        r = family(b, "copyjobd_api_errors_total", "counter",
                   "Failed requests to Amazon Bedrock, by source and error type.");
    for (size_t k = 0; r >= 0 && k < l->n; k++)
        for (size_t i = 0; r >= 0 && i < m[k].n_errors && i < CJ_SYNC_METRIC_ERROR_TYPES; i++) {
            char type[sizeof(m[k].errors[i].type) + 1];
            snprintf(type, sizeof(type), "%.*s", (int)sizeof(m[k].errors[i].type),
                     m[k].errors[i].type);
            r = source_label(b, "copyjobd_api_errors_total", &l->v[k]);
            if (r >= 0)
                r = cj_buf_append_str(b, ",type=\"");
            if (r >= 0)
                r = api_prometheus_label_value(b, type[0] ? type : "Unknown");
            if (r >= 0)
                r = cj_buf_printf(b, "\"} %" PRIu64 "\n", m[k].errors[i].count);
        }
    if (r >= 0)
        r = family(b, "copyjobd_api_retries_total", "counter",
                   "Requests to Amazon Bedrock that were retries, by source.");
    for (size_t k = 0; r >= 0 && k < l->n; k++) {
        if (!l->v[k].sync)
            continue;
        r = source_label(b, "copyjobd_api_retries_total", &l->v[k]);
        if (r >= 0)
            r = cj_buf_printf(b, "} %" PRIu64 "\n", m[k].retries);
    }
    if (r >= 0)
        r = family(b, "copyjobd_last_success_timestamp_seconds", "gauge",
                   "Unix time of the end of the source's last successful sync; 0 if none yet.");
    for (size_t k = 0; r >= 0 && k < l->n; k++) {
        int64_t synced_ns = api_source_synced_ns(&l->v[k]);
        r = source_label(b, "copyjobd_last_success_timestamp_seconds", &l->v[k]);
        if (r >= 0)
            r = cj_buf_printf(b, "} %" PRId64 ".%03d\n", synced_ns / CJ_NSEC_PER_SEC,
                              (int)(synced_ns % CJ_NSEC_PER_SEC / 1000000));
    }
    if (r >= 0)
        r = family(b, "copyjobd_sync_duration_seconds", "gauge",
                   "Duration of the source's last finished sync pass.");
    for (size_t k = 0; r >= 0 && k < l->n; k++) {
        if (!l->v[k].sync)
            continue;
        r = source_label(b, "copyjobd_sync_duration_seconds", &l->v[k]);
        if (r >= 0)
            r = cj_buf_printf(b, "} %" PRIu64 ".%06" PRIu64 "\n",
                              m[k].last_duration_usec / CJ_USEC_PER_SEC,
                              m[k].last_duration_usec % CJ_USEC_PER_SEC);
    }
    free(m);
    return r;
}

static int http_metrics(struct cj_buf *b, const struct cj_server *s)
{
    int r = family(b, "copyjobd_http_requests_total", "counter",
                   "Requests answered by the local API, by endpoint and HTTP status code.");
    for (int e = 0; r >= 0 && e < _CJ_ENDPOINT_MAX; e++)
        for (size_t i = 0; r >= 0 && i < CJ_HTTP_CODES_MAX && s->http[e][i].code; i++)
            r = cj_buf_printf(
                b, "copyjobd_http_requests_total{endpoint=\"%s\",code=\"%u\"} %" PRIu64 "\n",
                api_endpoint_to_string(e), s->http[e][i].code, s->http[e][i].count);
    if (r >= 0)
        r = family(b, "copyjobd_http_connections_open", "gauge",
                   "Connections open to the local API (Unix socket and TCP).");
    if (r >= 0)
        r = cj_buf_printf(b, "copyjobd_http_connections_open %zu\n", s->n_conns);
    if (r >= 0)
        r = family(b, "copyjobd_http_request_timeouts_total", "counter",
                   "Connections closed because a request was not received in time.");
    if (r >= 0)
        r = cj_buf_printf(b, "copyjobd_http_request_timeouts_total %" PRIu64 "\n",
                          s->deadline_closed);
    if (r >= 0)
        r = family(b, "copyjobd_http_connections_refused_total", "counter",
                   "Connections refused: server.max_connections reached (full), or the share "
                   "one client (uid or address) may hold (peer).");
    if (r >= 0)
        r = cj_buf_printf(b,
                          "copyjobd_http_connections_refused_total{reason=\"full\"} %" PRIu64 "\n"
                          "copyjobd_http_connections_refused_total{reason=\"peer\"} %" PRIu64 "\n",
                          s->refused_full, s->refused_peer);
    if (r >= 0)
        r = family(b, "copyjobd_events_watchers", "gauge", "Open GET /v1/events streams.");
    if (r >= 0)
        r = cj_buf_printf(b, "copyjobd_events_watchers %zu\n", s->n_watchers);
    return r;
}

int api_handle_metrics(struct cj_request *req, struct cj_reply *reply)
{
    struct cj_server *s = req->server;
    struct cj_store_stats st;
    struct api_sources sources = {0};
    uint64_t first = 0, last = 0;
    struct cj_buf *b = &reply->body;

    int r = cj_store_stats(s->store, &st);
    if (r >= 0)
        r = cj_store_events_bounds(s->store, &first, &last);
    if (r >= 0)
        r = api_sources_load(s, &sources);
    if (r < 0)
        return api_reply_errno(reply, r, "reading the cache");

    reply->content_type = "text/plain; version=0.0.4; charset=utf-8";
    r = jobs_metrics(b, &sources);
    if (r >= 0)
        r = sync_metrics(b, &sources);
    api_sources_done(&sources);
    if (r >= 0)
        r = http_metrics(b, s);
    if (r >= 0)
        r = family(b, "copyjobd_store_map_bytes", "gauge", "Current size of the LMDB map.");
    if (r >= 0)
        r = cj_buf_printf(b, "copyjobd_store_map_bytes %" PRIu64 "\n", st.map_size);
    if (r >= 0)
        r = family(b, "copyjobd_events_last_seq", "gauge",
                   "Sequence number of the newest event in the change log.");
    if (r >= 0)
        r = cj_buf_printf(b, "copyjobd_events_last_seq %" PRIu64 "\n", last);
    if (r < 0) {
        reply->content_type = NULL;
        return api_reply_errno(reply, r, "building the metrics");
    }
    return 0;
}
