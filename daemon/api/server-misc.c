/* SPDX-License-Identifier: MIT */
/* Beyond Bedrock's API: /v1/stats, /v1/health and /v1/sync. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cj-time.h"
#include "log.h"
#include "server-internal.h"

/* Appends "name":"<ISO 8601>" or "name":null (for 0). */
static int append_time(struct cj_buf *b, const char *name, int64_t ns)
{
    char when[CJ_ISO8601_MAX];

    if (ns == 0 || cj_time_format_iso8601(ns, when, sizeof(when)) < 0)
        return cj_buf_printf(b, "\"%s\":null", name);
    return cj_buf_printf(b, "\"%s\":\"%s\"", name, when);
}

static int append_error(struct cj_buf *b, const char *type, const char *message)
{
    int r = cj_buf_append_str(b, "{\"type\":");
    if (r >= 0)
        r = cj_buf_append_json_string(b, type, strlen(type));
    if (r >= 0)
        r = cj_buf_append_str(b, ",\"message\":");
    if (r >= 0)
        r = cj_buf_append_json_string(b, message, strlen(message));
    if (r >= 0)
        r = cj_buf_append_char(b, '}');
    return r;
}

static int append_other_status(const char *name, size_t len, uint64_t count, void *userdata)
{
    struct cj_buf *b = userdata;
    int r = cj_buf_append_char(b, ',');
    if (r >= 0)
        r = cj_buf_append_json_string(b, name, len);
    if (r >= 0)
        r = cj_buf_printf(b, ":%" PRIu64, count);
    return r;
}

/* ---- the sources as the API shows them ---- */

static int collect_store_source(const char *name, const struct cj_store_stats *st, void *userdata)
{
    struct api_sources *l = userdata;

    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0) {
            l->v[i].st = *st;
            l->v[i].in_store = true;
            return 0;
        }
    struct api_source *v = reallocarray(l->v, l->n + 1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    l->v = v;
    v[l->n] = (struct api_source){.st = *st, .in_store = true};
    snprintf(v[l->n].name, sizeof(v[l->n].name), "%s", name);
    l->n++;
    return 0;
}

int api_sources_load(struct cj_server *s, struct api_sources *ret)
{
    size_t n = s->syncs ? cj_sync_set_size(s->syncs) : 0;

    *ret = (struct api_sources){0};
    if (n > 0 && !(ret->v = calloc(n, sizeof(*ret->v))))
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        struct api_source *src = &ret->v[ret->n++];
        src->sync = cj_sync_set_get(s->syncs, i);
        cj_sync_get_status(src->sync, &src->status);
        snprintf(src->name, sizeof(src->name), "%s", src->status.name);
    }
    int r = cj_store_foreach_source(s->store, collect_store_source, ret);
    if (r < 0)
        api_sources_done(ret);
    return r;
}

void api_sources_done(struct api_sources *l)
{
    free(l->v);
    *l = (struct api_sources){0};
}

int64_t api_source_synced_ns(const struct api_source *src)
{
    if (src->sync && src->status.last_success_ns)
        return src->status.last_success_ns;
    return src->st.synced_at_ns;
}

/* ---- GET /v1/stats ---- */

static int append_by_status(struct cj_server *s, struct cj_buf *b, const char *source,
                            const struct cj_store_stats *st)
{
    int r = cj_buf_append_str(b, "\"byStatus\":{");
    for (int i = 0; r >= 0 && i < _CJ_STATUS_MAX; i++)
        r = cj_buf_printf(b, "%s\"%s\":%" PRIu64, i ? "," : "", cj_status_to_string(i),
                          st->by_status[i]);
    /* A status the service model does not name yet is counted under its own name. */
    if (r >= 0 && st->by_other_status > 0)
        r = cj_store_foreach_other_status(s->store, source, append_other_status, b);
    if (r >= 0)
        r = cj_buf_append_char(b, '}');
    return r;
}

static int append_string_or_null(struct cj_buf *b, const char *name, const char *v)
{
    int r = cj_buf_printf(b, "\"%s\":", name);
    if (r >= 0)
        r = v && *v ? cj_buf_append_json_string(b, v, strlen(v)) : cj_buf_append_str(b, "null");
    return r;
}

int api_handle_stats(struct cj_request *req, struct cj_reply *reply)
{
    struct cj_server *s = req->server;
    struct cj_store_stats st;
    struct api_sources sources;
    struct cj_buf *b = &reply->body;

    int r = cj_store_stats(s->store, &st);
    if (r >= 0)
        r = api_sources_load(s, &sources);
    if (r < 0)
        return api_reply_errno(reply, r, "reading the cache");

    reply->from_cache = true;
    r = cj_buf_printf(b, "{\"total\":%" PRIu64 ",", st.total);
    if (r >= 0)
        r = append_by_status(s, b, NULL, &st);
    if (r >= 0)
        r = cj_buf_append_char(b, ',');
    if (r >= 0)
        r = append_time(b, "oldestCreationTime", st.total ? st.oldest_ns : 0);
    if (r >= 0)
        r = cj_buf_append_char(b, ',');
    if (r >= 0)
        r = append_time(b, "newestCreationTime", st.total ? st.newest_ns : 0);
    if (r >= 0)
        r = cj_buf_append_str(b, ",\"sources\":{");
    for (size_t i = 0; r >= 0 && i < sources.n; i++) {
        const struct api_source *src = &sources.v[i];
        r = cj_buf_printf(b, "%s\"%s\":{", i ? "," : "", src->name);
        if (r >= 0)
            r = append_string_or_null(b, "region", src->sync ? src->status.region : NULL);
        if (r >= 0)
            r = cj_buf_append_char(b, ',');
        if (r >= 0)
            r = append_string_or_null(b, "account", src->sync ? src->status.account : NULL);
        if (r >= 0)
            r = cj_buf_printf(b, ",\"total\":%" PRIu64 ",", src->st.total);
        if (r >= 0)
            r = append_by_status(s, b, src->name, &src->st);
        if (r >= 0)
            r = cj_buf_append_char(b, ',');
        if (r >= 0)
            r = append_time(b, "lastSuccessfulSync", api_source_synced_ns(src));
        if (r >= 0)
            r = cj_buf_append_char(b, '}');
    }
    if (r >= 0)
        r = cj_buf_append_str(b, "}}");
    api_sources_done(&sources);
    return r;
}

/* ---- GET /v1/health ---- */

/* Worst last: the top-level state is the worst source's. */
enum health_state {
    HEALTH_OK,
    HEALTH_STARTING,
    HEALTH_DEGRADED,
    HEALTH_STALE,
};

static const char *health_state_to_string(enum health_state h)
{
    static const char *const names[] = {"ok", "starting", "degraded", "stale"};
    return names[h];
}

static bool source_failed(const struct api_source *src)
{
    const struct cj_sync_status *ss = &src->status;
    return src->sync && ss->passes_ok + ss->passes_failed > 0 && ss->last_result < 0;
}

static enum health_state source_health(const struct cj_server *s, const struct api_source *src,
                                       int64_t now_ns)
{
    const struct cj_sync_status *ss = &src->status;
    int64_t synced_ns = api_source_synced_ns(src);

    /* A duplicate never starts: it waits for the configuration to change. */
    if (source_failed(src) && strcmp(ss->last_error_type, "DuplicateSource") == 0)
        return HEALTH_DEGRADED;
    if (synced_ns == 0)
        return HEALTH_STARTING;
    if (s->full_interval_usec > 0 &&
        now_ns - synced_ns > (int64_t)(3 * s->full_interval_usec) * CJ_NSEC_PER_USEC)
        return HEALTH_STALE;
    if (source_failed(src) || (src->sync && ss->removal_held > 0))
        return HEALTH_DEGRADED;
    return HEALTH_OK;
}

/* The source's lastError: its last pass's failure, else the removal guard's hold, else none.
 * prefix (or NULL) goes before the message. */
static int append_source_error(struct cj_buf *b, const struct api_source *src, const char *prefix)
{
    const struct cj_sync_status *ss = &src->status;
    char message[sizeof(ss->last_error_message) + CJ_SOURCE_NAME_MAX + 16];

    if (source_failed(src)) {
        const char *type = ss->last_error_type[0] ? ss->last_error_type : "InternalError";
        snprintf(message, sizeof(message), "%s%s", prefix ? prefix : "",
                 ss->last_error_message[0] ? ss->last_error_message : strerror(-ss->last_result));
        return append_error(b, type, message);
    }
    if (src->sync && ss->removal_held > 0) {
        snprintf(message, sizeof(message),
                 "%sthe last full pass would have removed %" PRIu64 " of %" PRIu64
                 " jobs, more than sync.max_removal_share (%u.%02u%%) and more than %d; "
                 "nothing was removed",
                 prefix ? prefix : "", ss->removal_held, ss->removal_held_of,
                 ss->removal_limit_bp / 100, ss->removal_limit_bp % 100, CJ_STORE_REMOVAL_FLOOR);
        return append_error(b, "RemovalGuard", message);
    }
    return cj_buf_append_str(b, "null");
}

static bool source_has_error(const struct api_source *src)
{
    return source_failed(src) || (src->sync && src->status.removal_held > 0);
}

static int append_health_fields(struct cj_buf *b, enum health_state h, uint64_t jobs,
                                int64_t synced_ns, int64_t attempt_ns)
{
    int r =
        cj_buf_printf(b, "\"state\":\"%s\",\"jobs\":%" PRIu64 ",", health_state_to_string(h), jobs);
    if (r >= 0)
        r = append_time(b, "lastSuccessfulSync", synced_ns);
    if (r >= 0)
        r = cj_buf_append_char(b, ',');
    if (r >= 0)
        r = append_time(b, "lastAttempt", attempt_ns);
    if (r >= 0)
        r = cj_buf_append_str(b, ",\"lastError\":");
    return r;
}

int api_handle_health(struct cj_request *req, struct cj_reply *reply)
{
    struct cj_server *s = req->server;
    struct cj_store_stats st;
    struct api_sources sources;
    struct cj_buf *b = &reply->body;
    int64_t now = cj_now_ns(), attempt = 0;
    enum health_state worst = HEALTH_OK, culprit_state = HEALTH_OK;
    size_t culprit = SIZE_MAX; /* the worst source with an error: the top level shows it */

    int r = cj_store_stats(s->store, &st);
    if (r >= 0)
        r = api_sources_load(s, &sources);
    if (r < 0)
        return api_reply_errno(reply, r, "reading the cache");

    int64_t synced = api_synced_at_ns(s, NULL, NULL);
    if (sources.n == 0)
        worst = synced == 0 ? HEALTH_STARTING : HEALTH_OK;
    for (size_t i = 0; i < sources.n; i++) {
        enum health_state h = source_health(s, &sources.v[i], now);
        if (sources.v[i].status.last_attempt_ns > attempt)
            attempt = sources.v[i].status.last_attempt_ns;
        if (source_has_error(&sources.v[i]) && (culprit == SIZE_MAX || h > culprit_state)) {
            culprit = i;
            culprit_state = h;
        }
        if (h > worst)
            worst = h;
    }

    reply->status = worst == HEALTH_OK ? 200 : 503;
    r = cj_buf_append_char(b, '{');
    if (r >= 0)
        r = append_health_fields(b, worst, st.total, synced, attempt);
    if (r >= 0 && culprit != SIZE_MAX) {
        char prefix[CJ_SOURCE_NAME_MAX + 16];
        /* One source: its own words, as they always were; several: which one says it. */
        snprintf(prefix, sizeof(prefix), "source %s: ", sources.v[culprit].name);
        r = append_source_error(b, &sources.v[culprit], sources.n > 1 ? prefix : NULL);
    } else if (r >= 0) {
        r = cj_buf_append_str(b, "null");
    }
    if (r >= 0)
        r = cj_buf_append_str(b, ",\"sources\":{");
    for (size_t i = 0; r >= 0 && i < sources.n; i++) {
        const struct api_source *src = &sources.v[i];
        r = cj_buf_printf(b, "%s\"%s\":{", i ? "," : "", src->name);
        if (r >= 0)
            r = append_health_fields(b, source_health(s, src, now), src->st.total,
                                     api_source_synced_ns(src),
                                     src->sync ? src->status.last_attempt_ns : 0);
        if (r >= 0)
            r = append_source_error(b, src, NULL);
        if (r >= 0)
            r = cj_buf_append_char(b, '}');
    }
    if (r >= 0)
        r = cj_buf_append_str(b, "}}");
    api_sources_done(&sources);
    return r;
}

/* "true"/"false" (also "1"/"0" and a bare "?full"); anything else is refused. */
static int bool_arg(struct MHD_Connection *c, const char *key, bool *ret, struct cj_reply *reply)
{
    *ret = false;
    if (!MHD_lookup_connection_value_n(c, MHD_GET_ARGUMENT_KIND, key, strlen(key), NULL, NULL))
        return 0;
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
    if (!v || !*v || strcmp(v, "true") == 0 || strcmp(v, "1") == 0) {
        *ret = true;
        return 0;
    }
    if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
        return 0;
    api_reply_error(reply, 400, "ValidationException", "%s: must be true or false", key);
    return 1;
}

static unsigned seconds_up(uint64_t usec)
{
    uint64_t s = (usec + CJ_USEC_PER_SEC - 1) / CJ_USEC_PER_SEC;
    return s > UINT_MAX ? UINT_MAX : (unsigned)s;
}

/* A share of the connections, so that waiters cannot keep every other client out. */
static size_t max_waiters(const struct cj_server *s)
{
    size_t share = s->max_connections / 4;
    if (share < 1)
        share = 1;
    return share < CJ_SERVER_SYNC_WAITERS_MAX ? share : CJ_SERVER_SYNC_WAITERS_MAX;
}

static bool still_waiting(const struct cj_request *req)
{
    return !req->sync_done && !req->sync_expired;
}

/* Arms the deadline timer for the earliest waiter still suspended, or turns it off. */
static void wait_timer_update(struct cj_server *s)
{
    int64_t next = 0;

    if (!s->wait_timer)
        return;
    for (struct cj_request *req = s->waiting_head; req; req = req->wait_next)
        if (still_waiting(req) && (next == 0 || req->wait_deadline_ns < next))
            next = req->wait_deadline_ns;
    int r = next == 0 ? sd_event_source_set_enabled(s->wait_timer, SD_EVENT_OFF)
                      : sd_event_source_set_time(s->wait_timer, (uint64_t)next / 1000);
    if (r >= 0 && next != 0)
        r = sd_event_source_set_enabled(s->wait_timer, SD_EVENT_ONESHOT);
    if (r < 0)
        log_warning_errno(r, "http: cannot arm the sync wait deadline: %m");
}

static void wake(struct cj_request *req, bool *resumed)
{
    if (req->suspended) {
        req->suspended = false;
        MHD_resume_connection(req->connection);
        *resumed = true;
    }
}

static int on_wait_deadline(sd_event_source *source, uint64_t usec, void *userdata)
{
    struct cj_server *s = userdata;
    int64_t now = api_mono_ns();
    bool resumed = false;

    for (struct cj_request *req = s->waiting_head; req; req = req->wait_next)
        if (still_waiting(req) && req->wait_deadline_ns <= now) {
            req->sync_expired = true;
            wake(req, &resumed);
        }
    wait_timer_update(s);
    /* With external polling MHD needs MHD_run() after a resume: run every listener on the
     * next loop iteration. */
    if (resumed)
        api_kick(s);
    return 0;
}

static int wait_add(struct cj_server *s, struct cj_request *req)
{
    req->wait_deadline_ns = api_mono_ns() + (int64_t)s->sync_wait_s * CJ_NSEC_PER_SEC;
    if (!s->wait_timer) {
        int r = sd_event_add_time(s->event, &s->wait_timer, CLOCK_MONOTONIC,
                                  (uint64_t)req->wait_deadline_ns / 1000, 100 * 1000,
                                  on_wait_deadline, s);
        if (r < 0)
            return log_warning_errno(r, "http: cannot set up the sync wait deadline: %m");
        (void)sd_event_source_set_description(s->wait_timer, "http-sync-wait");
    }
    req->waiting = true;
    req->wait_prev = NULL;
    req->wait_next = s->waiting_head;
    if (s->waiting_head)
        s->waiting_head->wait_prev = req;
    s->waiting_head = req;
    s->n_waiting++;
    wait_timer_update(s);
    return 0;
}

void api_unwait(struct cj_request *req)
{
    struct cj_server *s = req->server;

    if (!req->waiting)
        return;
    if (req->wait_prev)
        req->wait_prev->wait_next = req->wait_next;
    else
        s->waiting_head = req->wait_next;
    if (req->wait_next)
        req->wait_next->wait_prev = req->wait_prev;
    req->wait_next = req->wait_prev = NULL;
    req->waiting = false;
    s->n_waiting--;
    if (!s->waiting_head)
        s->wait_timer = sd_event_source_disable_unref(s->wait_timer);
}

/* The longest a source's last pass took: about when a waiter's slot frees. */
static uint64_t longest_pass_usec(const struct cj_server *s)
{
    uint64_t longest = 0;
    for (size_t i = 0; i < cj_sync_set_size(s->syncs); i++) {
        struct cj_sync_status st;
        cj_sync_get_status(cj_sync_set_get(s->syncs, i), &st);
        if ((uint64_t)st.last_duration_ns / 1000 > longest)
            longest = (uint64_t)st.last_duration_ns / 1000;
    }
    return longest;
}

/* Answers POST /v1/sync: a round over every source. Within sync.min_on_demand_interval of a
 * source's last on-demand pass it starts nothing there (cj_sync_request): it joins the
 * running pass, or takes the last result. */
int api_handle_sync(struct cj_request *req, struct cj_reply *reply)
{
    struct cj_server *s = req->server;
    struct cj_sync_round_ticket t;
    bool full, wait;
    int r;

    if (bool_arg(req->connection, "full", &full, reply) > 0 ||
        bool_arg(req->connection, "wait", &wait, reply) > 0)
        return 0;
    if (!s->syncs || s->stopping)
        return api_reply_error(reply, 503, "ServiceUnavailableException",
                               "syncing is not available in this daemon");
    if (wait && s->n_waiting >= max_waiters(s)) {
        reply->retry_after_s = seconds_up(longest_pass_usec(s)) + 1;
        return api_reply_error(reply, 503, "ServiceUnavailableException",
                               "%zu requests already wait for a sync; try again later",
                               s->n_waiting);
    }

    r = cj_sync_set_request(s->syncs, full, &t);
    if (r < 0)
        return api_reply_error(reply, 503, "ServiceUnavailableException", "cannot start a sync: %s",
                               strerror(-r));
    if (!t.started)
        reply->retry_after_s = seconds_up(t.retry_after_usec);

    if (!wait) {
        reply->status = 202;
        return cj_buf_printf(&reply->body, "{\"started\":%s,\"joined\":%s}",
                             t.started ? "true" : "false", t.joined ? "true" : "false");
    }

    req->sync_round = t.round;
    req->sync_started = t.started;
    if (t.round == 0) {
        /* Nothing runs or starts: every source's last result is the answer. */
        r = cj_sync_set_last_results(s->syncs, &req->sync_res);
        if (r < 0)
            return api_reply_errno(reply, r, "reading the sync results");
        req->sync_done = true;
        return api_handle_sync_resumed(req, reply);
    }
    r = wait_add(s, req);
    if (r < 0)
        return api_reply_error(reply, 503, "ServiceUnavailableException",
                               "cannot wait for the sync: %s", strerror(-r));

    MHD_suspend_connection(req->connection);
    req->suspended = true;
    reply->suspended = true;
    return 0;
}

void api_on_sync_round_done(struct cj_sync_set *set, const struct cj_sync_round_result *res,
                            void *userdata)
{
    struct cj_server *s = userdata;
    bool resumed = false;

    for (struct cj_request *req = s->waiting_head; req; req = req->wait_next) {
        if (!still_waiting(req) || req->sync_round != res->round)
            continue;
        if (cj_sync_round_result_copy(res, &req->sync_res) < 0)
            req->sync_res = (struct cj_sync_round_result){.result = -ENOMEM};
        req->sync_done = true;
        wake(req, &resumed);
    }
    wait_timer_update(s);
    /* With external polling MHD needs MHD_run() after a resume (its epoll fd alone may
     * not wake): run every listener on the next loop iteration, outside this callback. */
    if (resumed)
        api_kick(s);
}

int api_handle_sync_resumed(struct cj_request *req, struct cj_reply *reply)
{
    struct cj_server *s = req->server;
    struct cj_store_stats st = {0};
    const struct cj_sync_round_result *res = &req->sync_res;
    struct cj_store_changes total = {0};
    struct cj_buf *b = &reply->body;
    int r;

    api_unwait(req);
    if (req->sync_expired && !req->sync_done)
        return api_reply_error(reply, 503, "ServiceUnavailableException",
                               "the sync did not end within %u s; it goes on, and GET /v1/health "
                               "shows its result",
                               s->sync_wait_s);
    if (!req->sync_done)
        return api_reply_error(reply, 503, "ServiceUnavailableException",
                               "copyjobd is stopping; the sync's result is unknown");
    if (res->result == -ENOMEM && res->n == 0)
        return api_reply_errno(reply, -ENOMEM, "reading the sync results");

    r = cj_store_stats(s->store, &st);
    if (r < 0)
        return api_reply_errno(reply, r, "reading the cache");

    reply->status = 200;
    if (!req->sync_started && s->syncs)
        reply->retry_after_s = seconds_up(cj_sync_set_on_demand_wait_usec(s->syncs));
    r = cj_buf_printf(b, "{\"result\":\"%s\",\"error\":", res->result < 0 ? "failed" : "ok");
    if (r >= 0 && res->result < 0) {
        const struct cj_sync_source_result *f = &res->sources[res->first_failed];
        const char *type = f->error_type[0] ? f->error_type : "InternalError";
        char message[sizeof(f->error_message) + CJ_SOURCE_NAME_MAX + 16];
        /* One source: its own words; several: which one says it. */
        snprintf(message, sizeof(message), "%s%s%s%s", res->n > 1 ? "source " : "",
                 res->n > 1 ? f->name : "", res->n > 1 ? ": " : "",
                 f->error_message[0] ? f->error_message : strerror(-res->result));
        r = append_error(b, type, message);
    } else if (r >= 0) {
        r = cj_buf_append_str(b, "null");
    }
    for (size_t i = 0; i < res->n; i++) {
        total.created += res->sources[i].changes.created;
        total.updated += res->sources[i].changes.updated;
        total.removed += res->sources[i].changes.removed;
    }
    if (r >= 0)
        r = cj_buf_printf(b,
                          ",\"jobs\":%" PRIu64 ",\"changes\":{\"created\":%zu,\"updated\":%zu,"
                          "\"removed\":%zu},\"sources\":{",
                          st.total, total.created, total.updated, total.removed);
    for (size_t i = 0; r >= 0 && i < res->n; i++) {
        const struct cj_sync_source_result *sr = &res->sources[i];
        r = cj_buf_printf(b, "%s\"%s\":{\"result\":\"%s\",\"error\":", i ? "," : "", sr->name,
                          sr->result < 0 ? "failed" : "ok");
        if (r >= 0 && sr->result < 0)
            r = append_error(b, sr->error_type[0] ? sr->error_type : "InternalError",
                             sr->error_message[0] ? sr->error_message : strerror(-sr->result));
        else if (r >= 0)
            r = cj_buf_append_str(b, "null");
        if (r >= 0)
            r = cj_buf_append_char(b, '}');
    }
    if (r >= 0)
        r = cj_buf_append_str(b, "}}");
    return r;
}
