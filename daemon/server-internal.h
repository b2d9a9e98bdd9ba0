/* SPDX-License-Identifier: MIT */
/* What the server*.c files share: the server, its listeners, one request's state and the
 * reply every handler fills in. Not used outside the server module. */
#pragma once

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "cj-buf.h"
#include "server.h"

/* A request body is read and thrown away, up to this much; more closes the connection. */
#define CJ_SERVER_BODY_MAX ((size_t)64 * 1024)
/* Memory MHD may use per connection: request line and headers must fit. */
#define CJ_SERVER_CONNECTION_MEM ((size_t)64 * 1024)
#define CJ_SERVER_IDLE_TIMEOUT_S 60u
#define CJ_SERVER_QUERY_ARGS_MAX 128

/* One MHD daemon per listening socket, each hooked into sd-event through MHD's epoll fd. */
struct cj_listener {
    struct cj_server *server;
    struct MHD_Daemon *mhd;
    sd_event_source *io;
    sd_event_source *timer;
    char description[128]; /* for log lines: the socket path or address */
};

struct cj_request;

struct cj_server {
    sd_event *event;
    struct cj_store *store;
    struct cj_sync *sync;
    uint64_t full_interval_usec;
    unsigned max_connections;

    /* The Unix socket this server created (NULL when systemd passed the sockets), and the
     * inode it got, so that only that file is removed at the end. */
    char *socket_path;
    dev_t socket_dev;
    ino_t socket_ino;

    struct cj_listener *listeners;
    size_t n_listeners;

    /* Connections suspended until the running sync pass ends (POST /v1/sync?wait=true). */
    struct cj_request *waiting_head;
    bool stopping;

    uint64_t request_id_prefix;
    uint64_t request_counter;
};

struct cj_request {
    struct cj_server *server;
    struct MHD_Connection *connection;
    size_t body_bytes;

    /* POST /v1/sync?wait=true */
    bool waiting;   /* on server->waiting list */
    bool suspended; /* MHD_suspend_connection() was called and not yet resumed */
    bool sync_done; /* the pass ended; sync_* hold its result */
    int sync_result;
    struct cj_sync_status sync_status;
    struct cj_request *wait_next, *wait_prev;
};

/* What a handler answers. The dispatcher turns it into an MHD response. */
struct cj_reply {
    unsigned status;
    struct cj_buf body;     /* JSON */
    const char *error_type; /* sets x-amzn-ErrorType */
    const char *allow;      /* sets Allow (405) */
    bool from_cache;        /* sets Age and x-copyjobd-synced-at */
    bool suspended;         /* no answer now: the connection waits (sync wait) */
};

/* server-errors.c */
int cj_reply_error(struct cj_reply *reply, unsigned status, const char *type, const char *fmt, ...)
    _printf_(4, 5);
/* Maps a negative errno from the store or sync to the matching AWS error. */
int cj_reply_errno(struct cj_reply *reply, int r, const char *what);
enum MHD_Result cj_reply_send(struct cj_request *req, struct cj_reply *reply);
void cj_reply_done(struct cj_reply *reply);
/* The time of the last successful sync (store or sync engine), 0 if never. */
int64_t cj_server_synced_at_ns(struct cj_server *s);

/* Makes every listener run MHD on the next event loop iteration. */
void cj_server_kick(struct cj_server *s);

/* server-routes.c */
enum MHD_Result cj_server_access_handler(void *cls, struct MHD_Connection *connection,
                                         const char *url, const char *method, const char *version,
                                         const char *upload_data, size_t *upload_data_size,
                                         void **req_cls);
void cj_server_request_completed(void *cls, struct MHD_Connection *connection, void **req_cls,
                                 enum MHD_RequestTerminationCode toe);

/* server-list.c */
int cj_server_handle_list(struct cj_request *req, struct cj_reply *reply);
int cj_server_handle_get(struct cj_request *req, const char *job_arn, struct cj_reply *reply);

/* server-misc.c */
int cj_server_handle_stats(struct cj_request *req, struct cj_reply *reply);
int cj_server_handle_health(struct cj_request *req, struct cj_reply *reply);
int cj_server_handle_sync(struct cj_request *req, struct cj_reply *reply);
/* Called again when a connection waiting for the sync is resumed. */
int cj_server_handle_sync_resumed(struct cj_request *req, struct cj_reply *reply);
void cj_server_on_sync_done(struct cj_sync *sync, int result, void *userdata);
/* Takes a request off the waiting list (it completed or the server stops). */
void cj_server_unwait(struct cj_request *req);

/* server-socket.c */
/* Fills fds with the listening sockets: those systemd passed, else the Unix socket this
 * creates (recorded in s->socket_path), plus the TCP ones of listen_tcp. */
int cj_server_open_sockets(struct cj_server *s, const struct cj_settings *settings, int **ret_fds,
                           char (**ret_names)[128], size_t *ret_n);
/* Checks that fd is a listening stream socket of AF_UNIX, AF_INET or AF_INET6. */
int cj_server_check_listen_fd(int fd);
