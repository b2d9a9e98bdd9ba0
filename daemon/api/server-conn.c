/* SPDX-License-Identifier: MIT */
/* Every open connection is tracked, for /metrics and for the request deadline: MHD's own
 * connection timeout counts idle time since the last byte, so a client that sends one byte a
 * second would hold a connection forever. Here each connection has until a deadline to
 * complete the request it is sending (its headers, and the small body we drain); a timer
 * closes the ones past it by shutting the socket down, which MHD then sees as a disconnect.
 *
 * Deadlines: accepted -> now + header timeout; a request answered -> none (sending is MHD's
 * business, bounded by its idle timeout); a request completed on a keep-alive connection ->
 * now + idle timeout (an idle connection is closed by MHD at that time anyway, a dribbling
 * one by us); the request line of that next request arrives -> now + header timeout. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "cj-time.h"
#include "log.h"
#include "server-internal.h"

int64_t api_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * CJ_NSEC_PER_SEC + ts.tv_nsec;
}

static void deadline_rearm(struct cj_server *s);

static int on_deadline(sd_event_source *source, uint64_t usec, void *userdata)
{
    struct cj_server *s = userdata;
    int64_t now = api_mono_ns();
    bool closed = false;

    s->deadline_armed_ns = 0;
    for (struct cj_conn *c = s->conns_head; c; c = c->next) {
        if (c->deadline_ns == 0 || c->deadline_ns > now)
            continue;
        c->deadline_ns = 0;
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(c->connection, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!info)
            continue;
        /* MHD sees end of file on its next read and closes the connection itself. */
        if (shutdown(info->connect_fd, SHUT_RDWR) < 0 && errno != ENOTCONN)
            log_debug_errno(errno, "http: shutdown of a slow connection: %m");
        s->deadline_closed++;
        closed = true;
    }
    if (closed) {
        log_debug("http: closed connections that did not send a complete request in time");
        api_kick(s);
    }
    deadline_rearm(s);
    return 0;
}

/* Arms the timer at the earliest deadline. O(connections), run when a deadline fires or a new
 * one is earlier than the armed time. */
static void deadline_rearm(struct cj_server *s)
{
    int64_t earliest = 0;

    for (struct cj_conn *c = s->conns_head; c; c = c->next)
        if (c->deadline_ns && (earliest == 0 || c->deadline_ns < earliest))
            earliest = c->deadline_ns;
    if (!s->deadline_timer)
        return;
    if (earliest == 0) {
        s->deadline_armed_ns = 0;
        (void)sd_event_source_set_enabled(s->deadline_timer, SD_EVENT_OFF);
        return;
    }
    int r = sd_event_source_set_time(s->deadline_timer, (uint64_t)earliest / CJ_NSEC_PER_USEC);
    if (r >= 0)
        r = sd_event_source_set_enabled(s->deadline_timer, SD_EVENT_ONESHOT);
    if (r < 0) {
        log_warning_errno(r, "http: cannot arm the request deadline timer: %m");
        return;
    }
    s->deadline_armed_ns = earliest;
}

void api_conn_set_deadline(struct cj_conn *c, int64_t deadline_ns)
{
    if (!c)
        return;
    c->deadline_ns = deadline_ns;
    struct cj_server *s = c->server;
    if (deadline_ns && (s->deadline_armed_ns == 0 || deadline_ns < s->deadline_armed_ns))
        deadline_rearm(s);
}

struct cj_conn *api_conn_of(struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

static int ensure_timer(struct cj_server *s)
{
    if (s->deadline_timer)
        return 0;
    int r = sd_event_add_time(s->event, &s->deadline_timer, CLOCK_MONOTONIC, UINT64_MAX, 100 * 1000,
                              on_deadline, s);
    if (r < 0)
        return log_warning_errno(r, "http: cannot add the request deadline timer: %m");
    (void)sd_event_source_set_description(s->deadline_timer, "http-deadline");
    (void)sd_event_source_set_enabled(s->deadline_timer, SD_EVENT_OFF);
    return 0;
}

void api_notify_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                           enum MHD_ConnectionNotificationCode toe)
{
    struct cj_server *s = cls;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        struct cj_conn *c = calloc(1, sizeof(*c));
        if (!c || ensure_timer(s) < 0) {
            /* An untracked connection would escape the deadline and the limits: refuse it. */
            free(c);
            log_warning("http: cannot track a new connection; closing it");
            const union MHD_ConnectionInfo *info =
                MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
            if (info)
                (void)shutdown(info->connect_fd, SHUT_RDWR);
            return;
        }
        c->server = s;
        c->connection = connection;
        c->next = s->conns_head;
        if (s->conns_head)
            s->conns_head->prev = c;
        s->conns_head = c;
        s->n_conns++;
        *socket_context = c;
        api_conn_set_deadline(c, api_mono_ns() + (int64_t)s->header_timeout_s * CJ_NSEC_PER_SEC);
        return;
    }

    s->conn_closed = true;
    struct cj_conn *c = *socket_context;
    if (!c)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns_head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->n_conns--;
    free(c);
    *socket_context = NULL;
}

/* Called once the request line of each request has arrived. */
void *api_uri_log(void *cls, const char *uri, struct MHD_Connection *connection)
{
    struct cj_server *s = cls;
    struct cj_conn *c = api_conn_of(connection);

    if (c) {
        c->nul_in_uri = false;
        int64_t d = api_mono_ns() + (int64_t)s->header_timeout_s * CJ_NSEC_PER_SEC;
        if (c->deadline_ns == 0 || d < c->deadline_ns)
            api_conn_set_deadline(c, d);
    }
    return NULL; /* *req_cls stays NULL: the access handler sets up the request */
}

size_t api_unescape(void *cls, struct MHD_Connection *connection, char *s)
{
    size_t len = MHD_http_unescape(s);
    if (memchr(s, '\0', len)) {
        struct cj_conn *c = api_conn_of(connection);
        if (c)
            c->nul_in_uri = true;
    }
    return len;
}

void api_conns_stop(struct cj_server *s)
{
    s->deadline_timer = sd_event_source_disable_unref(s->deadline_timer);
    s->deadline_armed_ns = 0;
}
