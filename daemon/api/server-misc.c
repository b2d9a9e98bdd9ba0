/* SPDX-License-Identifier: MIT */
/* Beyond Bedrock's API: /v1/stats, /v1/health and /v1/sync. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
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

int api_handle_stats(struct cj_request *req, struct cj_reply *reply)
{
    struct cj_store_stats st;
    struct cj_buf *b = &reply->body;

    int r = cj_store_stats(req->server->store, &st);
    if (r < 0)
        return api_reply_errno(reply, r, "reading the cache");

    reply->from_cache = true;
    r = cj_buf_printf(b, "{\"total\":%" PRIu64 ",\"byStatus\":{", st.total);
    for (int i = 0; r >= 0 && i < _CJ_STATUS_MAX; i++)
        r = cj_buf_printf(b, "%s\"%s\":%" PRIu64, i ? "," : "", cj_status_to_string(i),
                          st.by_status[i]);
    /* A status the service model does not name yet is counted under its own name. */
    if (r >= 0 && st.by_other_status > 0)
        r = cj_store_foreach_other_status(req->server->store, NULL, append_other_status, b);
    if (r >= 0)
        r = cj_buf_append_str(b, "},");
    if (r >= 0)
        r = append_time(b, "oldestCreationTime", st.total ? st.oldest_ns : 0);
    if (r >= 0)
        r = cj_buf_append_char(b, ',');
    if (r >= 0)
        r = append_time(b, "newestCreationTime", st.total ? st.newest_ns : 0);
    if (r >= 0)
        r = cj_buf_append_char(b, '}');
    return r;
}

static const char *health_state(const struct cj_server *s, int64_t synced_ns,
                                const struct cj_sync_status *ss, int64_t now_ns)
{
    if (synced_ns == 0)
        return "starting";
    if (s->full_interval_usec > 0 &&
        now_ns - synced_ns > (int64_t)(3 * s->full_interval_usec) * CJ_NSEC_PER_USEC)
        return "stale";
    if (ss && ss->passes_ok + ss->passes_failed > 0 && ss->last_result < 0)
        return "degraded";
    if (ss && ss->removal_held > 0)
        return "degraded";
    return "ok";
}

int api_handle_health(struct cj_request *req, struct cj_reply *reply)
{
    struct cj_server *s = req->server;
    struct cj_sync_status ss = {0};
    struct cj_store_stats st;
    struct cj_buf *b = &reply->body;

    int r = cj_store_stats(s->store, &st);
    if (r < 0)
        return api_reply_errno(reply, r, "reading the cache");
    if (s->sync)
        cj_sync_get_status(s->sync, &ss);

    int64_t synced = ss.last_success_ns > st.synced_at_ns ? ss.last_success_ns : st.synced_at_ns;
    const char *state = health_state(s, synced, s->sync ? &ss : NULL, cj_now_ns());
    bool failed = s->sync && ss.passes_ok + ss.passes_failed > 0 && ss.last_result < 0;

    reply->status = strcmp(state, "ok") == 0 ? 200 : 503;
    r = cj_buf_printf(b, "{\"state\":\"%s\",\"jobs\":%" PRIu64 ",", state, st.total);
    if (r >= 0)
        r = append_time(b, "lastSuccessfulSync", synced);
    if (r >= 0)
        r = cj_buf_append_char(b, ',');
    if (r >= 0)
        r = append_time(b, "lastAttempt", ss.last_attempt_ns);
    if (r >= 0)
        r = cj_buf_append_str(b, ",\"lastError\":");
    if (r >= 0 && failed) {
        const char *type = ss.last_error_type[0] ? ss.last_error_type : "InternalError";
        const char *message =
            ss.last_error_message[0] ? ss.last_error_message : strerror(-ss.last_result);
        r = append_error(b, type, message);
    } else if (r >= 0 && s->sync && ss.removal_held > 0) {
        char message[256];
        snprintf(message, sizeof(message),
                 "the last full pass would have removed %" PRIu64 " of %" PRIu64
                 " jobs, more than sync.max_removal_share (%u.%02u%%) and more than %d; "
                 "nothing was removed",
                 ss.removal_held, ss.removal_held_of, ss.removal_limit_bp / 100,
                 ss.removal_limit_bp % 100, CJ_STORE_REMOVAL_FLOOR);
        r = append_error(b, "RemovalGuard", message);
    } else if (r >= 0) {
        r = cj_buf_append_str(b, "null");
    }
    if (r >= 0)
        r = cj_buf_append_char(b, '}');
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

/* Answers POST /v1/sync. Within sync.min_on_demand_interval of the last on-demand pass it
 * starts nothing (cj_sync_request): it joins the running pass, or takes the last result. */
int api_handle_sync(struct cj_request *req, struct cj_reply *reply)
{
    struct cj_server *s = req->server;
    struct cj_sync_ticket t;
    bool full, wait;
    int r;

    if (bool_arg(req->connection, "full", &full, reply) > 0 ||
        bool_arg(req->connection, "wait", &wait, reply) > 0)
        return 0;
    if (!s->sync || s->stopping)
        return api_reply_error(reply, 503, "ServiceUnavailableException",
                               "syncing is not available in this daemon");
    if (wait && s->n_waiting >= max_waiters(s)) {
        struct cj_sync_status st;
        cj_sync_get_status(s->sync, &st);
        /* A slot frees when the pass ends: about as long as the last one took. */
        reply->retry_after_s = seconds_up((uint64_t)st.last_duration_ns / 1000) + 1;
        return api_reply_error(reply, 503, "ServiceUnavailableException",
                               "%zu requests already wait for a sync; try again later",
                               s->n_waiting);
    }

    r = cj_sync_request(s->sync, full, &t);
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

    req->sync_pass = t.pass;
    req->sync_started = t.started;
    if (t.pass == 0) {
        /* Nothing runs or starts: the last pass's result is the answer. */
        req->sync_done = true;
        cj_sync_get_status(s->sync, &req->sync_status);
        req->sync_result = req->sync_status.last_result;
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

void api_on_sync_done(struct cj_sync *sync, int result, void *userdata)
{
    struct cj_server *s = userdata;
    struct cj_sync_status status;
    bool resumed = false;

    cj_sync_get_status(sync, &status);
    /* Only the waiters of this pass (or of an earlier one): a full pass asked for during a
     * quick one is answered when the full one ends. */
    for (struct cj_request *req = s->waiting_head; req; req = req->wait_next) {
        if (!still_waiting(req) || req->sync_pass > status.pass_id)
            continue;
        req->sync_done = true;
        req->sync_result = result;
        req->sync_status = status;
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
    const struct cj_sync_status *ss = &req->sync_status;
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

    r = cj_store_stats(s->store, &st);
    if (r < 0)
        return api_reply_errno(reply, r, "reading the cache");

    reply->status = 200;
    if (!req->sync_started && s->sync)
        reply->retry_after_s = seconds_up(cj_sync_on_demand_wait_usec(s->sync));
    r = cj_buf_printf(b, "{\"result\":\"%s\",\"error\":", req->sync_result < 0 ? "failed" : "ok");
    if (r >= 0 && req->sync_result < 0) {
        const char *type = ss->last_error_type[0] ? ss->last_error_type : "InternalError";
        const char *message =
            ss->last_error_message[0] ? ss->last_error_message : strerror(-req->sync_result);
        r = append_error(b, type, message);
    } else if (r >= 0) {
        r = cj_buf_append_str(b, "null");
    }
    if (r >= 0)
        r = cj_buf_printf(b,
                          ",\"jobs\":%" PRIu64 ",\"changes\":{\"created\":%zu,\"updated\":%zu,"
                          "\"removed\":%zu}}",
                          st.total, ss->last_changes.created, ss->last_changes.updated,
                          ss->last_changes.removed);
    return r;
}
