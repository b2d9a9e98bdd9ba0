/* SPDX-License-Identifier: MIT */
/* GET /v1/events?after=SEQ: the store's change log as newline-delimited JSON, streamed with
 * chunked encoding: the backlog after SEQ, oldest first, then live changes.
 *
 * Each watcher keeps only its position (the seq of the last event it queued) and a small
 * buffer. MHD pulls: the content reader is called when the connection's write buffer has
 * room, reads the next few events from the store, and when there is nothing new it suspends
 * the connection (no busy polling, no timeout while suspended). A committed change in the
 * store, or the heartbeat timer, resumes the suspended watchers. A watcher that does not read
 * only stops being called; nobody waits for it, and the store keeps no state for it. A
 * suspended watcher's socket is watched for the client's hang-up, which ends it at once.
 *
 * Lines:
 *   {"seq":N,"id":"STOREID-N","type":"created"|"updated"|"removed","job":{...}}
 *        id is the position to resume from (after=STOREID-N): it names the store, so that a
 *        store wiped or replaced since answers with a gap instead of another history.
 *   {"type":"gap","after":A,"firstSeq":F}  events after A and before F are no longer in the
 *        log (trimmed, the log was reset, or `after` named another store); the line that
 *        follows has seq F. A client that keeps a copy should re-read the list.
 *   an empty line, every heartbeat interval when nothing else was sent (keeps proxies and
 *        dead-peer detection working; clients skip blank lines).
 *
 * With Accept: text/event-stream the same feed is framed as Server-Sent Events (sse.h): the
 * event's STOREID-N as its id, its type as the event name, the line's object as data; gaps as
 * "event: gap"; heartbeats as comments. A reconnecting EventSource's Last-Event-ID header
 * takes the place of `after` (it is newer than the URL's). */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "cj-time.h"
#include "log.h"
#include "server-internal.h"
#include "sse.h"

struct cj_watcher {
    struct cj_server *server;
    struct MHD_Connection *connection;
    uint64_t pos;       /* seq of the last event queued */
    bool check_gap;     /* the next event must be pos + 1, else a gap line goes first */
    bool gap_forced;    /* the client's position is past the log's end: the log was reset */
    uint64_t gap_after; /* the client's `after`, for the forced gap line */
    bool suspended;     /* MHD_suspend_connection() called, not yet resumed */
    bool heartbeat_due; /* the heartbeat timer fired since data was last sent */
    bool sse;           /* Server-Sent Events framing instead of ndjson */
    bool hung_up;       /* the client closed while the watcher was suspended */
    /* Watches the connection's socket for the client's hang-up while suspended (MHD does not
     * watch a suspended connection); enabled only then, so never past the socket's close. */
    sd_event_source *hangup_source;
    struct cj_buf out; /* lines not yet handed to MHD */
    size_t out_off;
    struct cj_watcher *next, *prev;
};

static void watcher_resume(struct cj_watcher *w)
{
    if (!w->suspended)
        return;
    w->suspended = false;
    if (w->hangup_source)
        (void)sd_event_source_set_enabled(w->hangup_source, SD_EVENT_OFF);
    MHD_resume_connection(w->connection);
}

/* The client hung up (or the socket failed): resume it, so that MHD ends the stream now rather
 * than at the next heartbeat, and frees its slot. */
static void watcher_hung_up(struct cj_watcher *w)
{
    struct cj_conn *c = api_conn_of(w->connection);

    w->hung_up = true;
    if (c)
        c->hung_up = true;
    /* MHD 0.9.75 in epoll mode lets a connection it closed go only when it looks at it again,
     * and it looks at default-timeout connections only up to the first live one (an idle
     * connection older than this one would keep it forever). A connection with a timeout of
     * its own is looked at in every run. */
    (void)MHD_set_connection_option(w->connection, MHD_CONNECTION_OPTION_TIMEOUT, 1u);
    watcher_resume(w);
    api_kick(w->server);
}

static int on_hangup(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
    watcher_hung_up(userdata);
    return 0;
}

size_t api_events_reap_hangups(struct cj_server *s)
{
    size_t n = 0;

    for (struct cj_watcher *w = s->watchers_head; w; w = w->next) {
        int fd;
        if (!w->suspended || !w->hangup_source ||
            (fd = sd_event_source_get_io_fd(w->hangup_source)) < 0)
            continue;
        struct pollfd p = {.fd = fd, .events = POLLRDHUP};
        if (poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
            watcher_hung_up(w);
            n++;
        }
    }
    return n;
}

/* Arms the hang-up watch for a watcher about to be suspended. Without it (no fd, no memory)
 * the next heartbeat's write finds the hang-up instead. */
static void watch_hangup(struct cj_watcher *w)
{
    if (w->hangup_source) {
        if (sd_event_source_set_enabled(w->hangup_source, SD_EVENT_ON) < 0)
            log_debug("events: cannot watch a suspended stream for its hang-up");
        return;
    }
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(w->connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!info || info->connect_fd < 0)
        return;
    int r = sd_event_add_io(w->server->event, &w->hangup_source, info->connect_fd, EPOLLRDHUP,
                            on_hangup, w);
    if (r < 0) {
        log_debug_errno(r, "events: cannot watch a suspended stream for its hang-up: %m");
        return;
    }
    (void)sd_event_source_set_description(w->hangup_source, "events-hangup");
}

static void resume_all(struct cj_server *s, bool heartbeat)
{
    bool resumed = false;

    for (struct cj_watcher *w = s->watchers_head; w; w = w->next) {
        if (heartbeat)
            w->heartbeat_due = true;
        if (w->suspended) {
            watcher_resume(w);
            resumed = true;
        }
    }
    /* MHD picks up resumed connections in its next run; make that run happen now. */
    if (resumed)
        api_kick(s);
}

static void on_store_change(struct cj_store *store, uint64_t last_seq, void *userdata)
{
    resume_all(userdata, false);
}

static int heartbeat_arm(struct cj_server *s)
{
    uint64_t now;
    int r = sd_event_now(s->event, CLOCK_MONOTONIC, &now);
    if (r >= 0)
        r = sd_event_source_set_time(s->heartbeat_timer,
                                     now + (uint64_t)s->heartbeat_s * CJ_USEC_PER_SEC);
    if (r >= 0)
        r = sd_event_source_set_enabled(s->heartbeat_timer, SD_EVENT_ONESHOT);
    return r;
}

static int on_heartbeat(sd_event_source *source, uint64_t usec, void *userdata)
{
    struct cj_server *s = userdata;

    if (!s->watchers_head)
        return 0; /* re-armed by the next watcher */
    resume_all(s, true);
    int r = heartbeat_arm(s);
    if (r < 0)
        log_warning_errno(r, "events: cannot re-arm the heartbeat: %m");
    return 0;
}

int api_events_start(struct cj_server *s)
{
    int r = sd_event_add_time(s->event, &s->heartbeat_timer, CLOCK_MONOTONIC, UINT64_MAX,
                              CJ_USEC_PER_SEC, on_heartbeat, s);
    if (r < 0)
        return log_error_errno(r, "events: cannot add the heartbeat timer: %m");
    (void)sd_event_source_set_description(s->heartbeat_timer, "events-heartbeat");
    (void)sd_event_source_set_enabled(s->heartbeat_timer, SD_EVENT_OFF);
    cj_store_set_change_callback(s->store, on_store_change, s);
    return 0;
}

void api_events_stop(struct cj_server *s)
{
    cj_store_set_change_callback(s->store, NULL, NULL);
    s->heartbeat_timer = sd_event_source_disable_unref(s->heartbeat_timer);
    /* s->stopping is set: each resumed watcher ends its stream. */
    for (struct cj_watcher *w = s->watchers_head; w; w = w->next)
        watcher_resume(w);
}

/* ---- one watcher ---- */

static int append_gap(struct cj_buf *b, uint64_t after, uint64_t first)
{
    return cj_buf_printf(b, "{\"type\":\"gap\",\"after\":%" PRIu64 ",\"firstSeq\":%" PRIu64 "}\n",
                         after, first);
}

static int watcher_append_gap(struct cj_watcher *w, uint64_t after, uint64_t first)
{
    return w->sse ? api_sse_append_gap(&w->out, after, first) : append_gap(&w->out, after, first);
}

static int on_event(const struct cj_store_event *ev, void *userdata)
{
    struct cj_watcher *w = userdata;
    struct cj_buf *b = &w->out;
    const char *type = cj_event_type_to_string(ev->type);
    int r = 0;

    if (w->gap_forced)
        r = watcher_append_gap(w, w->gap_after, ev->seq);
    else if (w->check_gap && ev->seq != w->pos + 1)
        r = watcher_append_gap(w, w->pos, ev->seq);
    if (r < 0)
        return r;
    const char *store_id = cj_store_id(w->server->store);
    if (w->sse)
        r = api_sse_append_event(b, store_id, ev->seq, type, ev->job_json, ev->job_json_len);
    else {
        r = api_event_append_json(b, store_id, ev->seq, type, ev->job_json, ev->job_json_len);
        if (r >= 0)
            r = cj_buf_append_char(b, '\n');
    }
    if (r < 0)
        return r;
    w->gap_forced = false;
    w->check_gap = true;
    w->pos = ev->seq;
    /* Stop reading once the buffer is full enough; the rest waits for MHD's next pull. */
    return b->len >= CJ_WATCHER_BUFFER ? -ENOBUFS : 0;
}

static int watcher_fill(struct cj_watcher *w)
{
    int r = cj_store_events_read(w->server->store, w->pos, CJ_WATCHER_READ_MAX, on_event, w);
    if (r == -ENOBUFS)
        return 0;
    return r < 0 ? r : 0;
}

static ssize_t watcher_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct cj_watcher *w = cls;

    if (w->hung_up)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (w->out_off >= w->out.len) {
        cj_buf_reset(&w->out);
        w->out_off = 0;
        if (w->server->stopping)
            return MHD_CONTENT_READER_END_OF_STREAM;
        int r = watcher_fill(w);
        if (r < 0) {
            log_warning_errno(r, "events: cannot read the change log: %m");
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (w->out.len == 0 && w->heartbeat_due)
            r = w->sse ? api_sse_append_heartbeat(&w->out) : cj_buf_append_char(&w->out, '\n');
        if (r < 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (w->out.len == 0) {
            /* Nothing to send: wait for a change or the heartbeat, off MHD's loop. */
            w->suspended = true;
            MHD_suspend_connection(w->connection);
            watch_hangup(w);
            return 0;
        }
        w->heartbeat_due = false;
    }

    size_t n = w->out.len - w->out_off;
    if (n > max)
        n = max;
    memcpy(buf, w->out.data + w->out_off, n);
    w->out_off += n;
    return (ssize_t)n;
}

/* The response is destroyed: the connection closed or the server stops. */
static void watcher_free(void *cls)
{
    struct cj_watcher *w = cls;
    struct cj_server *s = w->server;

    if (w->prev)
        w->prev->next = w->next;
    else
        s->watchers_head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    s->n_watchers--;
    sd_event_source_disable_unref(w->hangup_source);
    cj_buf_free(&w->out);
    free(w);
    /* MHD destroys the response while it closes the connection (during MHD_run), but lets the
     * connection go, and frees its slot, only in a later run: ask for one at once (a kick from
     * inside a run would be overridden by the run's own timer). */
    s->conn_closed = true;
}

/* ---- the request ---- */

struct after_arg {
    const char *value;
    unsigned count;
};

static enum MHD_Result find_after(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    struct after_arg *a = cls;

    if (strcmp(key, "after") == 0) {
        a->count++;
        a->value = value;
    }
    return MHD_YES;
}

/* 0 when absent, 1 with *ret set, or a 400 filled in reply (returns 2). */
static int parse_after(struct MHD_Connection *c, struct api_event_pos *ret, struct cj_reply *reply)
{
    struct after_arg a = {0};

    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, find_after, &a);
    if (a.count == 0)
        return 0;
    if (a.count > 1) {
        api_reply_error(reply, 400, "ValidationException", "after: given more than once");
        return 2;
    }
    if (api_event_pos_parse(a.value ? a.value : "", false, ret) < 0) {
        api_reply_error(reply, 400, "ValidationException",
                        "after: must be the id of the last event seen (STOREID-SEQ) or its seq "
                        "(an integer from 0 to %" PRIu64 ")",
                        UINT64_MAX - 1);
        return 2;
    }
    return 1;
}

/* Like parse_after(), for the Last-Event-ID header of an SSE request. */
static int parse_last_event_id(struct MHD_Connection *c, struct api_event_pos *ret,
                               struct cj_reply *reply)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID");
    if (!v)
        return 0;
    if (api_sse_parse_last_event_id(v, ret) < 0) {
        api_reply_error(reply, 400, "ValidationException",
                        "Last-Event-ID: must be an event id this feed sent (STOREID-SEQ, or a "
                        "seq from 0 to %" PRIu64 ")",
                        UINT64_MAX - 1);
        return 2;
    }
    return 1;
}

int api_handle_events(struct cj_request *req, struct cj_reply *reply)
{
    struct cj_server *s = req->server;
    struct api_event_pos after = {0};
    uint64_t first = 0, last = 0;
    int r;

    bool sse = api_sse_accepts(
        MHD_lookup_connection_value(req->connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT));
    int has_after = parse_after(req->connection, &after, reply);
    if (has_after > 1)
        return 0;
    if (sse) {
        int has_id = parse_last_event_id(req->connection, &after, reply);
        if (has_id > 1)
            return 0;
        if (has_id)
            has_after = 1;
    }
    if (s->stopping)
        return api_reply_error(reply, 503, "ServiceUnavailableException", "copyjobd is stopping");
    if (s->n_watchers >= s->max_watchers)
        return api_reply_error(reply, 429, "ThrottlingException",
                               "too many event watchers: at most %zu at once", s->max_watchers);
    r = cj_store_events_bounds(s->store, &first, &last);
    if (r < 0)
        return api_reply_errno(reply, r, "reading the change log");

    struct cj_watcher *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->server = s;
    w->connection = req->connection;
    w->sse = sse;
    if (!has_after) {
        /* Live only: from the newest event now. An empty log may continue at any seq. */
        w->pos = last;
        w->check_gap = last != 0;
    } else if (after.seq <= last &&
               (!after.has_store || strcmp(after.store, cj_store_id(s->store)) == 0)) {
        w->pos = after.seq;
        w->check_gap = true; /* after < first - 1: the gap line comes first */
    } else {
        /* A position the log never reached (it was reset) or another store's: start over
         * from the oldest event, after a gap line. */
        w->pos = first ? first - 1 : last;
        w->gap_forced = true;
        w->gap_after = after.seq;
    }
    /* The opening block makes the headers and first bytes go out now (EventSource reports
     * the stream open only then) and records where a reconnect must resume. After a reset
     * log the client keeps its own position until the gap event reaches it. */
    if (sse && api_sse_append_open(&w->out, cj_store_id(s->store), w->pos, !w->gap_forced) < 0) {
        free(w);
        return -ENOMEM;
    }

    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024,
                                                                  watcher_read, w, watcher_free);
    if (!resp) {
        cj_buf_free(&w->out);
        free(w);
        return -ENOMEM;
    }
    w->next = s->watchers_head;
    if (s->watchers_head)
        s->watchers_head->prev = w;
    s->watchers_head = w;
    s->n_watchers++;
    if (s->heartbeat_timer && sd_event_source_get_enabled(s->heartbeat_timer, NULL) == 0 &&
        heartbeat_arm(s) < 0)
        log_warning("events: cannot arm the heartbeat");

    reply->response = resp;
    reply->content_type = sse ? "text/event-stream; charset=utf-8" : "application/x-ndjson";
    log_debug("events: a watcher starts after seq %" PRIu64 " (log %" PRIu64 "..%" PRIu64 ")",
              w->pos, first, last);
    return 0;
}
