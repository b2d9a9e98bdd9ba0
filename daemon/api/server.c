/* SPDX-License-Identifier: MIT */
/* The server: one libmicrohttpd daemon per listening socket, each driven by the sd-event loop
 * (microhttpd-sd-event.h). */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cj-time.h"
#include "log.h"
#include "microhttpd-sd-event.h"
#include "server-internal.h"

/* MHD hands us its own format strings; the attribute tells the compiler so. */
__attribute__((format(printf, 2, 0))) static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    char msg[512];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    /* MHD reports client mistakes and disconnects here: not worth more than debug. */
    log_debug("http: %s", msg);
}

/* A connection that closed during the run (server-conn.c sets the flag) asks for one more run,
 * see cj_mhd_event_run_again_fn. */
static bool listener_run_again(void *userdata)
{
    struct cj_server *s = userdata;
    bool again = s->conn_closed;
    s->conn_closed = false;
    return again;
}

void api_kick(struct cj_server *s)
{
    for (size_t i = 0; i < s->n_listeners; i++)
        if (s->listeners[i].mhd_event)
            cj_mhd_event_kick(s->listeners[i].mhd_event);
}

static int listener_start(struct cj_server *s, struct cj_listener *l, int fd, const char *name)
{
    l->server = s;
    snprintf(l->description, sizeof(l->description), "%s", name);

    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_logger, NULL},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)api_request_completed, s},
        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)api_notify_connection, s},
        {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)api_uri_log, s},
        {MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)api_unescape, s},
        {MHD_OPTION_LISTEN_SOCKET, fd, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, s->max_connections + CJ_SERVER_REFUSE_SLACK, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, s->idle_timeout_s, NULL},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, CJ_SERVER_CONNECTION_MEM, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    /* MHD owns fd from here on and closes it in MHD_stop_daemon(). */
    l->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL,
                              NULL, api_access_handler, s, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (!l->mhd)
        return log_error_errno(EINVAL, "http %s: cannot start libmicrohttpd", name);

    return cj_mhd_event_new(s->event, l->mhd,
                            &(struct cj_mhd_event_options){.description = l->description,
                                                           .run_again = listener_run_again,
                                                           .userdata = s},
                            &l->mhd_event);
}

static void listener_stop(struct cj_listener *l)
{
    cj_mhd_event_free(l->mhd_event);
    l->mhd_event = NULL;
    if (l->mhd) {
        MHD_stop_daemon(l->mhd);
        l->mhd = NULL;
    }
}

/* Answers every connection still waiting for a sync (with 503, see the sync handler) so
 * that none is left suspended: MHD_stop_daemon() must not meet a suspended connection. */
static void release_waiting(struct cj_server *s)
{
    s->stopping = true;
    for (struct cj_request *req = s->waiting_head; req; req = req->wait_next)
        if (req->suspended) {
            req->suspended = false;
            MHD_resume_connection(req->connection);
        }
    api_events_stop(s);
    for (size_t i = 0; i < s->n_listeners; i++)
        if (s->listeners[i].mhd)
            MHD_run(s->listeners[i].mhd);
    while (s->waiting_head)
        api_unwait(s->waiting_head);
}

void cj_server_free(struct cj_server *s)
{
    struct stat st;

    if (!s)
        return;
    release_waiting(s);
    for (size_t i = 0; i < s->n_listeners; i++)
        listener_stop(&s->listeners[i]);
    free(s->listeners);
    api_conns_stop(s);

    /* Only the file this server made: a newer daemon may already have replaced it. */
    if (s->socket_path) {
        if (lstat(s->socket_path, &st) == 0 && st.st_dev == s->socket_dev &&
            st.st_ino == s->socket_ino && unlink(s->socket_path) < 0)
            log_warning_errno(errno, "cannot remove %s: %m", s->socket_path);
        free(s->socket_path);
    }
    sd_event_unref(s->event);
    free(s);
}

void cj_server_describe(const struct cj_server *s, char *buf, size_t size)
{
    size_t used = 0;

    if (size == 0)
        return;
    buf[0] = '\0';
    for (size_t k = 0; s && k < s->n_listeners && used < size; k++) {
        int n =
            snprintf(buf + used, size - used, "%s%s", k ? ", " : "", s->listeners[k].description);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

int cj_server_new(sd_event *event, struct cj_store *store, struct cj_sync_set *syncs,
                  const struct cj_settings *settings, struct cj_server **ret)
{
    _cleanup_free_ int *fds = NULL;
    _cleanup_free_ char(*names)[128] = NULL;
    size_t n = 0, handed = 0;
    int r;

    assert(event && store && settings && ret);

    struct cj_server *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->event = sd_event_ref(event);
    s->store = store;
    s->syncs = syncs;
    s->full_interval_usec = settings->sync.full_interval_usec;
    s->max_connections = settings->server.max_connections ? settings->server.max_connections : 256;
    s->max_per_peer = s->max_connections * CJ_SERVER_PEER_SHARE_NUM / CJ_SERVER_PEER_SHARE_DEN ?: 1;
    /* Event streams are long-lived: keep a quarter of the connections for everything else. */
    s->max_watchers = s->max_connections > 4 ? s->max_connections * 3 / 4 : 1;
    s->idle_timeout_s = settings->test.idle_timeout_s ?: CJ_SERVER_IDLE_TIMEOUT_S;
    s->header_timeout_s = settings->test.header_timeout_s ?: CJ_SERVER_HEADER_TIMEOUT_S;
    s->heartbeat_s = settings->test.heartbeat_s ?: CJ_SERVER_HEARTBEAT_S;
    s->sync_wait_s = settings->test.sync_wait_s ?: CJ_SERVER_SYNC_WAIT_S;
    if (getrandom(&s->request_id_prefix, sizeof(s->request_id_prefix), GRND_NONBLOCK) !=
        sizeof(s->request_id_prefix))
        s->request_id_prefix = (uint64_t)getpid() << 32 ^ (uint64_t)cj_now_ns();

    r = api_events_start(s);
    if (r < 0)
        goto fail;

    r = api_open_sockets(s, settings, &fds, &names, &n);
    if (r < 0)
        goto fail;

    s->listeners = calloc(n, sizeof(*s->listeners));
    if (!s->listeners) {
        r = -ENOMEM;
        goto fail;
    }
    /* fds[0..handed) belong to MHD (closed by MHD_stop_daemon, or by MHD_start_daemon on
     * failure: at worst one fd leaks on a failed start), the rest are still ours. */
    for (; handed < n; handed++) {
        s->n_listeners++;
        r = listener_start(s, &s->listeners[handed], fds[handed], names[handed]);
        if (r < 0) {
            handed++;
            goto fail;
        }
    }

    if (syncs) {
        r = cj_sync_set_add_round_callback(syncs, api_on_sync_round_done, s);
        if (r < 0) {
            log_error_errno(r, "cannot follow the sync's results: %m");
            goto fail;
        }
    }

    for (size_t k = 0; k < n; k++)
        log_debug("serving the API on %s", names[k]);
    *ret = s;
    return 0;

fail:
    for (size_t k = handed; k < n; k++)
        close(fds[k]);
    cj_server_free(s);
    return r;
}
