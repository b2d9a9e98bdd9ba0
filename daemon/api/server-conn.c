/* SPDX-License-Identifier: MIT */
/* Admission: a new connection is answered (503, or 429 for its peer) and closed at once when
 * the server already holds server.max_connections over all its listeners, or when its peer
 * (api_peer: a uid on the Unix socket, loopback or an address on TCP) holds its share of them,
 * so that one local user cannot keep the others out.
 *
 * Every open connection is tracked, for /metrics and for the request deadline: MHD's own
 * connection timeout counts idle time since the last byte, so a client that sends one byte a
 * second would hold a connection forever. Here each connection has until a deadline to
 * complete the request it is sending (its headers, and the small body we drain); a timer
 * closes the ones past it by shutting the socket down, which MHD then sees as a disconnect.
 *
 * Deadlines: accepted -> now + header timeout; a request answered -> none (sending is MHD's
 * business, bounded by its idle timeout); a request completed on a keep-alive connection ->
 * now + idle timeout (an idle connection is closed by MHD at that time anyway, a dribbling
 * one by us); the request line of that next request arrives -> now + header timeout. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
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

static int connection_fd(struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    return info ? info->connect_fd : -1;
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
        int fd = connection_fd(c->connection);
        if (fd < 0)
            continue;
        /* MHD sees end of file on its next read and closes the connection itself. */
        if (shutdown(fd, SHUT_RDWR) < 0 && errno != ENOTCONN)
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

static struct api_peer peer_of(int fd)
{
    struct api_peer p = {.kind = API_PEER_UNKNOWN};
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
        return p;
    if (ss.ss_family == AF_UNIX) {
        struct ucred cred;
        socklen_t clen = sizeof(cred);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
            p.kind = API_PEER_UID;
            memcpy(p.id, &cred.uid, sizeof(cred.uid));
        }
    } else if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
        if ((ntohl(in->sin_addr.s_addr) >> 24) == 127)
            p.kind = API_PEER_LOOPBACK;
        else {
            p.kind = API_PEER_IPV4;
            memcpy(p.id, &in->sin_addr, 4);
        }
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
        const uint8_t *a = in6->sin6_addr.s6_addr;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) ||
            (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && a[12] == 127))
            p.kind = API_PEER_LOOPBACK;
        else if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            p.kind = API_PEER_IPV4;
            memcpy(p.id, a + 12, 4);
        } else {
            p.kind = API_PEER_IPV6_64;
            memcpy(p.id, a, 8);
        }
    }
    return p;
}

static bool same_peer(const struct api_peer *a, const struct api_peer *b)
{
    return a->kind == b->kind && memcmp(a->id, b->id, sizeof(a->id)) == 0;
}

/* Answers a connection that is over a limit before it has sent anything, and shuts it down;
 * MHD then reads the end of file and closes it. The answer is best effort: it fits an empty
 * socket buffer, and a client that already sent its request still reads it first. */
static void refuse(struct cj_server *s, int fd, unsigned status, const char *type,
                   const char *message)
{
    char body[256], head[512], request_id[37];

    if (fd < 0)
        return;
    api_format_request_id(s, request_id);
    int blen = snprintf(body, sizeof(body), "{\"message\":\"%s\"}", message);
    int hlen = snprintf(head, sizeof(head),
                        "HTTP/1.1 %u %s\r\nContent-Type: application/json\r\n"
                        "x-amzn-ErrorType: %s\r\nx-amzn-RequestId: %s\r\nRetry-After: 1\r\n"
                        "Connection: close\r\nContent-Length: %d\r\n\r\n%s",
                        status, status == 503 ? "Service Unavailable" : "Too Many Requests", type,
                        request_id, blen, body);
    if (blen > 0 && (size_t)blen < sizeof(body) && hlen > 0 && (size_t)hlen < sizeof(head))
        (void)send(fd, head, (size_t)hlen, MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)shutdown(fd, SHUT_RDWR);
}

/* A new connection is admitted while the server holds fewer than max_connections (over every
 * listener) and its peer fewer than max_per_peer, not counting connections whose client has
 * left. O(connections), once per connection. */
static void count_held(struct cj_server *s, const struct api_peer *peer, size_t *all, size_t *same)
{
    *all = *same = 0;
    for (struct cj_conn *c = s->conns_head; c; c = c->next)
        if (!c->hung_up) {
            (*all)++;
            *same += same_peer(&c->peer, peer);
        }
}

static bool admit(struct cj_server *s, int fd, const struct api_peer *peer)
{
    size_t all, same;

    count_held(s, peer, &all, &same);
    /* Streams whose clients left in this very loop iteration may not have been told yet. */
    if ((all >= s->max_connections || same >= s->max_per_peer) && api_events_reap_hangups(s))
        count_held(s, peer, &all, &same);
    if (all >= s->max_connections) {
        s->refused_full++;
        log_debug("http: refusing a connection: %u open", s->max_connections);
        refuse(s, fd, 503, "ServiceUnavailableException",
               "too many connections to copyjobd; try again");
        return false;
    }
    if (same >= s->max_per_peer) {
        s->refused_peer++;
        log_debug("http: refusing a connection: its peer holds %zu", same);
        refuse(s, fd, 429, "ThrottlingException",
               "too many connections from this client (uid or address); close some");
        return false;
    }
    return true;
}

void api_notify_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                           enum MHD_ConnectionNotificationCode toe)
{
    struct cj_server *s = cls;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        int fd = connection_fd(connection);
        struct api_peer peer = peer_of(fd);
        if (!admit(s, fd, &peer))
            return; /* untracked: its requests, if any arrive, are closed unanswered */
        struct cj_conn *c = calloc(1, sizeof(*c));
        if (!c || ensure_timer(s) < 0) {
            /* An untracked connection would escape the deadline and the limits: refuse it. */
            free(c);
            log_warning("http: cannot track a new connection; closing it");
            if (fd >= 0)
                (void)shutdown(fd, SHUT_RDWR);
            return;
        }
        c->server = s;
        c->connection = connection;
        c->peer = peer;
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
