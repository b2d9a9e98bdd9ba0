/* SPDX-License-Identifier: MIT */
/* A tiny HTTP/1.1 stand-in on 127.0.0.1 for the unit tests: one thread, one connection at a
 * time, real sockets (so libcurl is exercised for real). It answers each request either with
 * the next canned response pushed by the test (keep-alive: the sync and curl tests), or with
 * what a handler decides from the method, path and headers (one request per connection: the
 * credential stand-ins). Every wait is bounded. Requests are taken to have no body. */
#pragma once

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define HTTPD_MAX_RESPONSES 64
#define HTTPD_REQUEST_MAX   16384

enum httpd_action {
    HTTPD_RESPOND,   /* status + headers + body */
    HTTPD_HANG,      /* read the request, answer nothing until stopped */
    HTTPD_HUGE_BODY, /* 200 with huge_len bytes of body */
    HTTPD_CLOSE,     /* close the connection without answering */
};

struct httpd_response {
    enum httpd_action action;
    int status;
    const char *headers; /* extra header lines, each ending in "\r\n" */
    const char *body;    /* NULL = ""; must live until the answer is sent */
    size_t huge_len;
};

struct httpd_request {
    char method[16];
    char path[1024];
    const char *head; /* request line and headers, NUL-terminated */
};

/* Decides the answer to one request; runs on the server's thread. */
typedef void (*httpd_handler)(void *userdata, const struct httpd_request *req,
                              struct httpd_response *resp);

struct httpd {
    int listen_fd;
    int stop_pipe[2];
    int port;
    pthread_t thread;
    pthread_mutex_t lock;
    httpd_handler handler; /* NULL: the canned responses */
    void *userdata;
    struct httpd_response responses[HTTPD_MAX_RESPONSES];
    size_t n_responses, next_response;
    unsigned connections;                 /* accepted so far */
    unsigned requests;                    /* read so far */
    char last_request[HTTPD_REQUEST_MAX]; /* request line and headers of the last request */
};

static inline void httpd_push(struct httpd *h, struct httpd_response r)
{
    pthread_mutex_lock(&h->lock);
    if (h->n_responses < HTTPD_MAX_RESPONSES)
        h->responses[h->n_responses++] = r;
    pthread_mutex_unlock(&h->lock);
}

static inline void httpd_snapshot(struct httpd *h, unsigned *connections, unsigned *requests,
                                  char *last, size_t lastlen)
{
    pthread_mutex_lock(&h->lock);
    if (connections)
        *connections = h->connections;
    if (requests)
        *requests = h->requests;
    if (last)
        snprintf(last, lastlen, "%s", h->last_request);
    pthread_mutex_unlock(&h->lock);
}

static inline unsigned httpd_requests(struct httpd *h)
{
    unsigned n;
    httpd_snapshot(h, NULL, &n, NULL, 0);
    return n;
}

/* The value of header `name` in a request head, copied to out; false when absent. */
static inline bool httpd_header(const char *head, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ')
                v++;
            size_t vl = strcspn(v, "\r\n");
            snprintf(out, outlen, "%.*s", (int)vl, v);
            return true;
        }
    }
    return false;
}

/* Waits for fd readable or stop; 1 readable, 0 stop/timeout. Bounded at 10 s per wait. */
static inline int httpd_wait(struct httpd *h, int fd)
{
    struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = h->stop_pipe[0], .events = POLLIN}};
    int r = poll(p, 2, 10000);
    if (r <= 0 || (p[1].revents & POLLIN))
        return 0;
    return 1;
}

static inline bool httpd_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* The answer to the request in buf[0..reqlen) (its head ends in "\r\n\r\n"). Without a
 * handler, or a pushed response: 500 with an empty body (a handler's) or "{}". */
static inline struct httpd_response httpd_answer_for(struct httpd *h, const char *buf,
                                                     size_t reqlen)
{
    struct httpd_response r = {.status = 500, .body = h->handler ? "" : "{}"};

    pthread_mutex_lock(&h->lock);
    memcpy(h->last_request, buf, reqlen);
    h->last_request[reqlen] = '\0';
    h->requests++;
    if (!h->handler && h->next_response < h->n_responses)
        r = h->responses[h->next_response++];
    pthread_mutex_unlock(&h->lock);
    if (h->handler) {
        /* Only this thread writes last_request: reading it unlocked here is safe. */
        struct httpd_request req = {.head = h->last_request};
        sscanf(req.head, "%15s %1023s", req.method, req.path);
        h->handler(h->userdata, &req, &r);
    }
    return r;
}

static inline bool httpd_send(int fd, const struct httpd_response *r, bool close)
{
    char head[1024];
    const char *body = r->body ? r->body : "";
    size_t body_len = r->action == HTTPD_HUGE_BODY ? r->huge_len : strlen(body);
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n%s%s\r\n",
                     r->action == HTTPD_HUGE_BODY ? 200 : r->status, body_len,
                     close ? "Connection: close\r\n" : "", r->headers ? r->headers : "");
    if (!httpd_write_all(fd, head, (size_t)n))
        return false;
    if (r->action != HTTPD_HUGE_BODY)
        return httpd_write_all(fd, body, body_len);
    static char chunk[1 << 16];
    memset(chunk, ' ', sizeof(chunk));
    for (size_t sent = 0; sent < body_len;) {
        size_t c = body_len - sent < sizeof(chunk) ? body_len - sent : sizeof(chunk);
        if (!httpd_write_all(fd, chunk, c))
            return false;
        sent += c;
    }
    return true;
}

static inline void httpd_serve_connection(struct httpd *h, int fd)
{
    char buf[HTTPD_REQUEST_MAX];
    size_t len = 0;

    for (;;) {
        char *end;
        while (!(end = memmem(buf, len, "\r\n\r\n", 4))) {
            if (len >= sizeof(buf) - 1 || !httpd_wait(h, fd))
                return;
            ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
            if (n <= 0)
                return;
            len += (size_t)n;
        }
        size_t reqlen = (size_t)(end - buf) + 4;
        struct httpd_response r = httpd_answer_for(h, buf, reqlen);
        memmove(buf, buf + reqlen, len - reqlen);
        len -= reqlen;

        if (r.action == HTTPD_CLOSE)
            return;
        if (r.action == HTTPD_HANG) {
            (void)httpd_wait(h, h->stop_pipe[0]);
            return;
        }
        /* A handler's stand-in answers one request per connection. */
        if (!httpd_send(fd, &r, h->handler != NULL) || h->handler)
            return;
    }
}

static inline void *httpd_main(void *userdata)
{
    struct httpd *h = userdata;
    while (httpd_wait(h, h->listen_fd)) {
        int fd = accept4(h->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        pthread_mutex_lock(&h->lock);
        h->connections++;
        pthread_mutex_unlock(&h->lock);
        httpd_serve_connection(h, fd);
        close(fd);
    }
    return NULL;
}

/* Starts a stand-in that answers with handler, or (handler NULL) with the responses pushed,
 * then 500 "{}" once they run out. */
static inline int httpd_start_with(struct httpd *h, httpd_handler handler, void *userdata)
{
    memset(h, 0, sizeof(*h));
    h->handler = handler;
    h->userdata = userdata;
    pthread_mutex_init(&h->lock, NULL);
    if (pipe2(h->stop_pipe, O_CLOEXEC) < 0)
        return -errno;
    h->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (h->listen_fd < 0)
        return -errno;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    if (bind(h->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(h->listen_fd, 16) < 0 ||
        getsockname(h->listen_fd, (struct sockaddr *)&a, &alen) < 0)
        return -errno;
    h->port = ntohs(a.sin_port);
    if (pthread_create(&h->thread, NULL, httpd_main, h) != 0)
        return -EAGAIN;
    return 0;
}

static inline int httpd_start(struct httpd *h)
{
    return httpd_start_with(h, NULL, NULL);
}

static inline void httpd_stop(struct httpd *h)
{
    (void)!write(h->stop_pipe[1], "x", 1);
    pthread_join(h->thread, NULL);
    close(h->listen_fd);
    close(h->stop_pipe[0]);
    close(h->stop_pipe[1]);
    pthread_mutex_destroy(&h->lock);
}
