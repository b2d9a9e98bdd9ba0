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
#include "microhttpd-sd-event.h"
#include "server.h"

/* A request body is read and thrown away, up to this much; more closes the connection. */
#define CJ_SERVER_BODY_MAX ((size_t)64 * 1024)
/* Memory MHD may use per connection: request line and headers must fit. The largest
 * request Bedrock's limits allow (a 2 KiB nextToken, a 1011-byte ARN, every filter) is well
 * under 8 KiB. MHD clears the whole pool between requests, so every KiB here costs time on
 * each request (64 KiB made that clearing 3/4 of a GetModelCopyJob's instructions). */
#define CJ_SERVER_CONNECTION_MEM ((size_t)16 * 1024)
#define CJ_SERVER_IDLE_TIMEOUT_S 60u
/* From accepting a connection (or from the request line of a later request on it) to the end
 * of the request's headers: a client that sends a byte a second is closed after this. */
#define CJ_SERVER_HEADER_TIMEOUT_S 10u
/* An event watcher with nothing to say gets an empty line this often. */
#define CJ_SERVER_HEARTBEAT_S    15u
#define CJ_SERVER_QUERY_ARGS_MAX 128

/* POST /v1/sync?wait=true: a waiter is answered 503 after this long (its pass goes on), and
 * at most this many wait at once (and no more than a quarter of max_connections). */
#define CJ_SERVER_SYNC_WAIT_S      300u
#define CJ_SERVER_SYNC_WAITERS_MAX 64u
/* A watcher reads more events from the store only while less than this is waiting to be sent
 * (MHD's own write buffer comes on top, within CJ_SERVER_CONNECTION_MEM). */
#define CJ_WATCHER_BUFFER   ((size_t)32 * 1024)
#define CJ_WATCHER_READ_MAX 64 /* events per store read */
/* HTTP status codes counted per endpoint for /metrics. */
#define CJ_HTTP_CODES_MAX 12

enum cj_endpoint {
    CJ_ENDPOINT_LIST,
    CJ_ENDPOINT_GET,
    CJ_ENDPOINT_STATS,
    CJ_ENDPOINT_HEALTH,
    CJ_ENDPOINT_SYNC,
    CJ_ENDPOINT_EVENTS,
    CJ_ENDPOINT_METRICS,
    CJ_ENDPOINT_OTHER,
    _CJ_ENDPOINT_MAX,
};
const char *api_endpoint_to_string(enum cj_endpoint e);

struct cj_http_counter {
    unsigned code;
    uint64_t count;
};

/* One MHD daemon per listening socket, each hooked into sd-event through MHD's epoll fd. */
struct cj_listener {
    struct cj_server *server;
    struct MHD_Daemon *mhd;
    struct cj_mhd_event *mhd_event;
    char description[128]; /* for log lines: the socket path or address */
};

struct cj_request;
struct cj_watcher;

/* Who is at the other end of a connection, as far as sharing the connections goes: a uid on
 * the Unix socket (SO_PEERCRED); on TCP, all of loopback is one peer (any local user can send
 * from any 127.x address), any other address one peer per IPv4 address or IPv6 /64. */
enum api_peer_kind {
    API_PEER_UNKNOWN,
    API_PEER_UID,
    API_PEER_LOOPBACK,
    API_PEER_IPV4,
    API_PEER_IPV6_64,
};
struct api_peer {
    uint8_t kind;
    uint8_t id[8]; /* the uid, IPv4 address or IPv6 prefix; zero-padded */
};

/* One connection may hold at most this share of server.max_connections, so that one peer
 * cannot keep every other out. */
#define CJ_SERVER_PEER_SHARE_NUM 3
#define CJ_SERVER_PEER_SHARE_DEN 4
/* Connections over the limits are accepted, answered at once and closed (server-conn.c); MHD's
 * own per-listener limit sits this far above max_connections, so it is not what refuses them. */
#define CJ_SERVER_REFUSE_SLACK 64u

/* One per open connection (MHD_OPTION_NOTIFY_CONNECTION): the deadline by which the request
 * being received must be complete, so that slow senders cannot hold a connection forever. */
struct cj_conn {
    struct cj_server *server;
    struct MHD_Connection *connection;
    struct api_peer peer;
    int64_t deadline_ns; /* CLOCK_MONOTONIC; 0 = none (answering, or idle per MHD) */
    bool nul_in_uri;     /* the current request's path or query decodes to a NUL byte (%00) */
    bool hung_up;        /* its client left; MHD closes it on its next run */
    struct cj_conn *next, *prev;
};

struct cj_server {
    sd_event *event;
    struct cj_store *store;
    struct cj_sync_set *syncs;
    uint64_t full_interval_usec;
    unsigned max_connections; /* across every listener */
    unsigned max_per_peer;    /* connections one api_peer may hold */

    /* The Unix socket this server created (NULL when systemd passed the sockets), and the
     * inode it got, so that only that file is removed at the end. */
    char *socket_path;
    dev_t socket_dev;
    ino_t socket_ino;

    struct cj_listener *listeners;
    size_t n_listeners;

    /* Connections suspended until the sync pass they asked for ends (POST
     * /v1/sync?wait=true); the timer answers those past their deadline. */
    struct cj_request *waiting_head;
    size_t n_waiting;
    sd_event_source *wait_timer; /* exists while a request waits */
    bool stopping;

    uint64_t request_id_prefix;
    uint64_t request_counter;

    /* x-copyjobd-synced-at of the last answer: formatting a time costs more than the rest of
     * a GetModelCopyJob's headers, and it changes once per sync. */
    int64_t synced_header_ns;
    char synced_header[40];

    /* Limits (seconds): the CJ_SERVER_*_S defaults, or settings->test's. */
    unsigned idle_timeout_s, header_timeout_s, heartbeat_s, sync_wait_s;

    /* Open connections, for the header deadline and /metrics. */
    struct cj_conn *conns_head;
    size_t n_conns;
    sd_event_source *deadline_timer;
    int64_t deadline_armed_ns; /* when deadline_timer fires; 0 = off */
    uint64_t deadline_closed;  /* connections closed by the header deadline */
    uint64_t refused_full;     /* connections refused: max_connections reached */
    uint64_t refused_peer;     /* connections refused: their peer's share reached */
    bool conn_closed;          /* a connection closed during the current MHD_run() */

    /* GET /v1/events streams. */
    struct cj_watcher *watchers_head;
    size_t n_watchers, max_watchers;
    sd_event_source *heartbeat_timer;

    /* Requests answered, by endpoint and status code. */
    struct cj_http_counter http[_CJ_ENDPOINT_MAX][CJ_HTTP_CODES_MAX];
};

struct cj_request {
    struct cj_server *server;
    struct MHD_Connection *connection;
    struct cj_conn *conn; /* NULL if it could not be tracked */
    enum cj_endpoint endpoint;
    const char *url;       /* the decoded path, valid while the request is answered */
    const char *path_tail; /* after a prefix route's path: the jobArn, the dashboard file */
    size_t body_bytes;

    /* POST /v1/sync?wait=true */
    bool waiting;   /* on server->waiting list */
    bool suspended; /* MHD_suspend_connection() was called and not yet resumed */
    bool sync_done; /* the pass ended; sync_* hold its result */

    bool sync_expired;        /* the wait's deadline passed first */
    bool sync_started;        /* the request started (or queued) a pass it waits for */
    uint64_t sync_round;      /* the round whose end answers it (cj_sync_round_ticket.round) */
    int64_t wait_deadline_ns; /* CLOCK_MONOTONIC */
    struct cj_sync_round_result sync_res; /* when sync_done; owned */
    struct cj_request *wait_next, *wait_prev;
};

/* What a handler answers. The dispatcher turns it into an MHD response. */
struct cj_reply {
    unsigned status;
    struct cj_buf body;     /* JSON */
    const char *error_type; /* sets x-amzn-ErrorType */
    const char *allow;      /* sets Allow (405) */
    bool from_cache;        /* sets Age and x-copyjobd-synced-at */
    /* What the answer covers, for Age: the sources that may hold jobs of this region and
     * account ("" = any). */
    char scope_region[CJ_REGION_NAME_MAX + 1];
    char scope_account[CJ_ACCOUNT_ID_STR_LEN + 1];
    unsigned retry_after_s;        /* > 0 sets Retry-After */
    bool suspended;                /* no answer now: the connection waits (sync wait) */
    const char *content_type;      /* NULL: application/json */
    struct MHD_Response *response; /* a prepared response (the event stream) sent instead of
                                      body; api_reply_send() and api_reply_done() release it */
};

/* server-errors.c */
/* A UUID-shaped id, unique per daemon run and per answer (x-amzn-RequestId). */
void api_format_request_id(struct cj_server *s, char out[static 37]);
int api_reply_error(struct cj_reply *reply, unsigned status, const char *type, const char *fmt, ...)
    _printf_(4, 5);
/* Maps a negative errno from the store or sync to the matching AWS error. */
int api_reply_errno(struct cj_reply *reply, int r, const char *what);
enum MHD_Result api_reply_send(struct cj_request *req, struct cj_reply *reply);
void api_reply_done(struct cj_reply *reply);
/* The oldest last successful sync among the sources that may hold jobs of job_region and
 * job_account (NULL = any; cj_sync_set_last_success_ns(), or the store's record without
 * syncs), 0 if one never synced. */
int64_t api_synced_at_ns(struct cj_server *s, const char *job_region, const char *job_account);

/* Makes every listener run MHD on the next event loop iteration. */
void api_kick(struct cj_server *s);

/* server-routes.c */
enum MHD_Result api_access_handler(void *cls, struct MHD_Connection *connection, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **req_cls);
void api_request_completed(void *cls, struct MHD_Connection *connection, void **req_cls,
                           enum MHD_RequestTerminationCode toe);

/* server-list.c */
int api_handle_list(struct cj_request *req, struct cj_reply *reply);
int api_handle_get(struct cj_request *req, struct cj_reply *reply); /* req->path_tail: the jobArn */

/* server-misc.c */
/* One source as stats, health and metrics show it: its sync's status (the set's sources, in
 * config order) and the store's figures (sources only the store knows follow, sync NULL). */
struct api_source {
    char name[CJ_SOURCE_NAME_MAX + 1];
    struct cj_sync *sync; /* NULL: only the store knows it */
    struct cj_sync_status status;
    bool in_store;
    struct cj_store_stats st; /* zero when not in the store */
};
struct api_sources {
    struct api_source *v;
    size_t n;
};
int api_sources_load(struct cj_server *s, struct api_sources *ret);
void api_sources_done(struct api_sources *l);
/* Its last successful sync: the sync's, else the store's record. */
int64_t api_source_synced_ns(const struct api_source *src);
int api_handle_stats(struct cj_request *req, struct cj_reply *reply);
int api_handle_health(struct cj_request *req, struct cj_reply *reply);
int api_handle_sync(struct cj_request *req, struct cj_reply *reply);
/* Called again when a connection waiting for the sync is resumed. */
int api_handle_sync_resumed(struct cj_request *req, struct cj_reply *reply);
void api_on_sync_round_done(struct cj_sync_set *set, const struct cj_sync_round_result *res,
                            void *userdata);
/* Takes a request off the waiting list (it completed or the server stops); the last one
 * off frees the deadline timer. */
void api_unwait(struct cj_request *req);

/* server-events.c: GET /v1/events */
int api_handle_events(struct cj_request *req, struct cj_reply *reply);
int api_events_start(struct cj_server *s);
/* Ends every stream (the server stops): suspended watchers are resumed to end their chunked
 * answer. Call MHD_run() afterwards. */
void api_events_stop(struct cj_server *s);
/* Looks at every suspended watcher's socket now (a poll of each, no waiting) and ends those
 * whose client hung up, marking their connections hung_up, before their hang-up event is
 * dispatched. Returns how many. For admission, when the server looks full. */
size_t api_events_reap_hangups(struct cj_server *s);

/* server-metrics.c: GET /metrics */
int api_handle_metrics(struct cj_request *req, struct cj_reply *reply);
void api_count_request(struct cj_server *s, enum cj_endpoint e, unsigned code);
/* Appends v as a Prometheus label value (escaping \, " and newlines). */
int api_prometheus_label_value(struct cj_buf *b, const char *v);

/* server-conn.c: connection tracking and the header deadline */
void api_notify_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                           enum MHD_ConnectionNotificationCode toe);
void *api_uri_log(void *cls, const char *uri, struct MHD_Connection *connection);
/* MHD's %HH decoding of the path and of query keys and values, noting a %00 on the connection
 * (cj_conn.nul_in_uri): MHD hands those strings on without their length. */
size_t api_unescape(void *cls, struct MHD_Connection *connection, char *s);
struct cj_conn *api_conn_of(struct MHD_Connection *connection);
/* deadline_ns 0 clears it. */
void api_conn_set_deadline(struct cj_conn *c, int64_t deadline_ns);
int64_t api_mono_ns(void);
void api_conns_stop(struct cj_server *s);

/* server-socket.c */
/* Fills fds with the listening sockets: those systemd passed, else the Unix socket this
 * creates (recorded in s->socket_path), plus the TCP ones of listen_tcp. */
int api_open_sockets(struct cj_server *s, const struct cj_settings *settings, int **ret_fds,
                     char (**ret_names)[128], size_t *ret_n);
/* Checks that fd is a listening stream socket of AF_UNIX, AF_INET or AF_INET6. */
int api_check_listen_fd(int fd);
