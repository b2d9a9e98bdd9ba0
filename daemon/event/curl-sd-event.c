/* SPDX-License-Identifier: MIT */
/* curl multi inside sd-event. libcurl tells us which sockets to watch (socket callback)
 * and when to call it back (timer callback); we turn those into sd-event sources and feed
 * readiness back with curl_multi_socket_action(), then collect finished transfers with
 * curl_multi_info_read(). Nothing here blocks. */
#include "curl-sd-event.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <time.h>

#include "log.h"

/* Connecting should never take the whole request budget: fail fast and let the pass retry. */
#define CJ_CONNECT_TIMEOUT_MAX_MS 10000L
/* curl's receive buffer (its default is 16 KiB): a page of 1,000 jobs is ~650 KB, and each
 * buffer's worth costs a read(), a write callback and a turn of the event loop. */
#define CJ_HTTP_RECV_BUFFER (128L * 1024)

struct cj_curl_socket {
    struct cj_curl *curl;
    sd_event_source *source;
    struct cj_curl_socket *prev, *next;
};

struct cj_curl {
    sd_event *event;
    CURLM *multi;
    sd_event_source *timer;
    struct cj_curl_socket *sockets; /* every IO source we own, so free can release them */
};

struct cj_http {
    struct cj_curl *curl;
    CURL *easy;
    bool active;
    cj_http_done_fn done;
    void *userdata;
    struct cj_http_response response;
};

static bool curl_initialized;

static void socket_free(struct cj_curl_socket *s)
{
    if (!s)
        return;
    sd_event_source_disable_unref(s->source);
    if (s->prev)
        s->prev->next = s->next;
    else
        s->curl->sockets = s->next;
    if (s->next)
        s->next->prev = s->prev;
    free(s);
}

static void check_finished(struct cj_curl *c)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(c->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;

        /* msg dies with curl_multi_remove_handle(): copy what we need first. */
        CURL *easy = msg->easy_handle;
        CURLcode code = msg->data.result;
        struct cj_http *h = NULL;

        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&h);
        curl_multi_remove_handle(c->multi, easy);
        if (!h)
            continue;

        h->active = false;
        h->response.code = code;
        if (code == CURLE_OK || code == CURLE_WRITE_ERROR) {
            long status = 0;
            if (curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK)
                h->response.status = status;
        }
        if (code != CURLE_OK && h->response.curl_error[0] == '\0')
            snprintf(h->response.curl_error, sizeof(h->response.curl_error), "%s",
                     curl_easy_strerror(code));
        if (h->done)
            h->done(h, h->userdata);
    }
}

static int on_io(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
    struct cj_curl *c = userdata;
    int action = 0, running;

    if (revents & EPOLLIN)
        action |= CURL_CSELECT_IN;
    if (revents & EPOLLOUT)
        action |= CURL_CSELECT_OUT;
    if (revents & (EPOLLERR | EPOLLHUP))
        action |= CURL_CSELECT_ERR;

    CURLMcode mc = curl_multi_socket_action(c->multi, fd, action, &running);
    if (mc != CURLM_OK)
        log_warning("curl: socket action failed: %s", curl_multi_strerror(mc));
    check_finished(c);
    return 0;
}

static int on_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
    struct cj_curl *c = userdata;
    int running;

    CURLMcode mc = curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    if (mc != CURLM_OK)
        log_warning("curl: timeout action failed: %s", curl_multi_strerror(mc));
    check_finished(c);
    return 0;
}

static int socket_callback(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct cj_curl *c = userp;
    struct cj_curl_socket *s = socketp;
    uint32_t events = 0;
    int r;

    if (what == CURL_POLL_REMOVE) {
        if (s) {
            curl_multi_assign(c->multi, fd, NULL);
            socket_free(s);
        }
        return 0;
    }

    if (what & CURL_POLL_IN)
        events |= EPOLLIN;
    if (what & CURL_POLL_OUT)
        events |= EPOLLOUT;

    if (s) {
        r = sd_event_source_set_io_events(s->source, events);
        if (r >= 0)
            r = sd_event_source_set_enabled(s->source, SD_EVENT_ON);
        if (r < 0) {
            log_warning_errno(r, "curl: cannot update watch on socket %d: %m", fd);
            return -1;
        }
        return 0;
    }

    s = calloc(1, sizeof(*s));
    if (!s)
        return -1;
    s->curl = c;
    r = sd_event_add_io(c->event, &s->source, fd, events, on_io, c);
    if (r < 0) {
        free(s);
        log_warning_errno(r, "curl: cannot watch socket %d: %m", fd);
        return -1;
    }
    (void)sd_event_source_set_description(s->source, "curl-socket");
    s->next = c->sockets;
    if (s->next)
        s->next->prev = s;
    c->sockets = s;

    if (curl_multi_assign(c->multi, fd, s) != CURLM_OK) {
        socket_free(s);
        return -1;
    }
    return 0;
}

static int timer_callback(CURLM *multi, long timeout_ms, void *userp)
{
    struct cj_curl *c = userp;
    uint64_t now;
    int r;

    if (timeout_ms < 0) {
        if (c->timer)
            (void)sd_event_source_set_enabled(c->timer, SD_EVENT_OFF);
        return 0;
    }

    /* Not sd_event_now(): that is the start of the loop iteration, which may be long past
     * when a transfer is added from outside the loop. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    now = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
    uint64_t when = now + (uint64_t)timeout_ms * 1000;

    if (c->timer) {
        r = sd_event_source_set_time(c->timer, when);
        if (r >= 0)
            r = sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT);
    } else {
        /* accuracy 1 µs: the default 250 ms would stall every request */
        r = sd_event_add_time(c->event, &c->timer, CLOCK_MONOTONIC, when, 1, on_timer, c);
        if (r >= 0)
            (void)sd_event_source_set_description(c->timer, "curl-timer");
    }
    if (r < 0) {
        log_warning_errno(r, "curl: cannot arm timer: %m");
        return -1;
    }
    return 0;
}

int cj_curl_new(sd_event *event, struct cj_curl **ret)
{
    if (!curl_initialized) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return log_error_errno(EIO, "curl: global initialisation failed");
        curl_initialized = true;
    }

    struct cj_curl *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->event = sd_event_ref(event);
    c->multi = curl_multi_init();
    if (!c->multi) {
        cj_curl_free(c);
        return -ENOMEM;
    }

    if (curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_callback) != CURLM_OK ||
        curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c) != CURLM_OK ||
        curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_callback) != CURLM_OK ||
        curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c) != CURLM_OK) {
        cj_curl_free(c);
        return log_error_errno(EINVAL, "curl: cannot set up the multi handle");
    }

    *ret = c;
    return 0;
}

void cj_curl_free(struct cj_curl *c)
{
    if (!c)
        return;
    /* May still call socket_callback() to drop cached connections, so c stays valid. */
    if (c->multi)
        curl_multi_cleanup(c->multi);
    while (c->sockets)
        socket_free(c->sockets);
    sd_event_source_disable_unref(c->timer);
    sd_event_unref(c->event);
    free(c);
}

int cj_http_new(struct cj_curl *c, struct cj_http **ret)
{
    struct cj_http *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->curl = c;
    h->easy = curl_easy_init();
    if (!h->easy) {
        free(h);
        return -ENOMEM;
    }
    h->response.body.limit = CJ_HTTP_BODY_MAX;
    *ret = h;
    return 0;
}

void cj_http_free(struct cj_http *h)
{
    if (!h)
        return;
    cj_http_cancel(h);
    curl_easy_cleanup(h->easy);
    cj_buf_free(&h->response.body);
    free(h);
}

static size_t write_callback(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct cj_http *h = userdata;
    size_t n = size * nmemb;

    if (cj_buf_append(&h->response.body, data, n) < 0) {
        h->response.body_too_large = true;
        return 0; /* fewer bytes than handed: curl aborts with CURLE_WRITE_ERROR */
    }
    return n;
}

/* Copies a header value, trimmed and without control characters, bounded by size. */
static void copy_header_value(char *dst, size_t size, const char *v, size_t len)
{
    while (len > 0 && (*v == ' ' || *v == '\t'))
        v++, len--;
    while (len > 0 &&
           (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' ' || v[len - 1] == '\t'))
        len--;
    size_t j = 0;
    for (size_t i = 0; i < len && j + 1 < size; i++)
        if ((unsigned char)v[i] >= 0x20 && (unsigned char)v[i] != 0x7f)
            dst[j++] = v[i];
    dst[j] = '\0';
}

static bool header_is(const char *line, size_t namelen, const char *name)
{
    return namelen == strlen(name) && strncasecmp(line, name, namelen) == 0;
}

static size_t header_callback(char *line, size_t size, size_t nitems, void *userdata)
{
    struct cj_http *h = userdata;
    struct cj_http_response *r = &h->response;
    size_t n = size * nitems;

    /* A new status line starts a new response (e.g. after "100 Continue"). */
    if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        r->error_type[0] = r->request_id[0] = r->date[0] = '\0';
        return n;
    }

    const char *colon = memchr(line, ':', n);
    if (!colon)
        return n;
    size_t namelen = (size_t)(colon - line);
    const char *value = colon + 1;
    size_t valuelen = n - namelen - 1;

    if (header_is(line, namelen, "x-amzn-ErrorType"))
        copy_header_value(r->error_type, sizeof(r->error_type), value, valuelen);
    else if (header_is(line, namelen, "x-amzn-RequestId"))
        copy_header_value(r->request_id, sizeof(r->request_id), value, valuelen);
    else if (header_is(line, namelen, "Date"))
        copy_header_value(r->date, sizeof(r->date), value, valuelen);
    return n;
}

#define SETOPT(easy, opt, value)                                                                   \
    do {                                                                                           \
        CURLcode _cc = curl_easy_setopt((easy), (opt), (value));                                   \
        if (_cc != CURLE_OK)                                                                       \
            return log_error_errno(EINVAL, "curl: cannot set %s: %s", #opt,                        \
                                   curl_easy_strerror(_cc));                                       \
    } while (0)

static int setup_easy(struct cj_http *h, const struct cj_http_options *o)
{
    CURL *e = h->easy;

    /* Keeps the live connections (they belong to the multi), drops the old options. */
    curl_easy_reset(e);

    SETOPT(e, CURLOPT_URL, o->url);
    SETOPT(e, CURLOPT_HTTPGET, 1L);
    SETOPT(e, CURLOPT_HTTPHEADER, (struct curl_slist *)o->headers);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85 */
    SETOPT(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SETOPT(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SETOPT(e, CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(e, CURLOPT_NOSIGNAL, 1L);
    SETOPT(e, CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (o->ca_file)
        SETOPT(e, CURLOPT_CAINFO, o->ca_file);
    SETOPT(e, CURLOPT_ACCEPT_ENCODING, "");
    SETOPT(e, CURLOPT_USERAGENT, "copyjobd/" CJ_VERSION);
    SETOPT(e, CURLOPT_TCP_KEEPALIVE, 1L);
    SETOPT(e, CURLOPT_BUFFERSIZE, CJ_HTTP_RECV_BUFFER);
    if (o->timeout_usec > 0) {
        long ms = (long)(o->timeout_usec / 1000);
        if (ms < 1)
            ms = 1;
        SETOPT(e, CURLOPT_TIMEOUT_MS, ms);
        SETOPT(e, CURLOPT_CONNECTTIMEOUT_MS,
               ms < CJ_CONNECT_TIMEOUT_MAX_MS ? ms : CJ_CONNECT_TIMEOUT_MAX_MS);
    }
    SETOPT(e, CURLOPT_WRITEFUNCTION, write_callback);
    SETOPT(e, CURLOPT_WRITEDATA, h);
    SETOPT(e, CURLOPT_HEADERFUNCTION, header_callback);
    SETOPT(e, CURLOPT_HEADERDATA, h);
    SETOPT(e, CURLOPT_ERRORBUFFER, h->response.curl_error);
    SETOPT(e, CURLOPT_PRIVATE, h);
    return 0;
}

int cj_http_start(struct cj_http *h, const struct cj_http_options *o, cj_http_done_fn done,
                  void *userdata)
{
    if (h->active)
        return -EBUSY;
    assert(o->url);

    struct cj_http_response *r = &h->response;
    r->code = CURLE_OK;
    r->body_too_large = false;
    r->status = 0;
    r->curl_error[0] = r->error_type[0] = r->request_id[0] = r->date[0] = '\0';
    cj_buf_reset(&r->body);
    r->body.limit = CJ_HTTP_BODY_MAX;

    int ret = setup_easy(h, o);
    if (ret < 0)
        return ret;

    h->done = done;
    h->userdata = userdata;
    CURLMcode mc = curl_multi_add_handle(h->curl->multi, h->easy);
    if (mc != CURLM_OK)
        return log_error_errno(EIO, "curl: cannot add transfer: %s", curl_multi_strerror(mc));
    h->active = true;
    return 0;
}

void cj_curl_advance(struct cj_curl *c)
{
    int running;
    CURLMcode mc = curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    if (mc != CURLM_OK)
        log_warning("curl: timeout action failed: %s", curl_multi_strerror(mc));
    /* check_finished() waits for the timer's turn, so that no callback runs inside ours. */
    (void)timer_callback(c->multi, 0, c);
}

void cj_http_cancel(struct cj_http *h)
{
    if (!h || !h->active)
        return;
    curl_multi_remove_handle(h->curl->multi, h->easy);
    h->active = false;
}

int cj_http_release(struct cj_http *h)
{
    if (!h || h->active)
        return 0;
    CURL *easy = curl_easy_init();
    if (!easy)
        return -ENOMEM;
    curl_easy_cleanup(h->easy);
    h->easy = easy;
    cj_buf_free(&h->response.body);
    h->response.body.limit = CJ_HTTP_BODY_MAX;
    return 0;
}

bool cj_http_busy(const struct cj_http *h)
{
    return h->active;
}

const struct cj_http_response *cj_http_response(const struct cj_http *h)
{
    return &h->response;
}
