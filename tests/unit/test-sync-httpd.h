/* SPDX-License-Identifier: MIT */
/* A tiny HTTP/1.1 server on 127.0.0.1 for the sync tests: one thread, one connection at a
 * time, keep-alive, answers each request with the next canned response. Real sockets, so
 * libcurl's multi glue is exercised for real. Every wait is bounded. */
#pragma once

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    const char *body;    /* NULL = "" */
    size_t huge_len;
};

struct httpd {
    int listen_fd;
    int stop_pipe[2];
    int port;
    pthread_t thread;
    pthread_mutex_t lock;
    struct httpd_response responses[HTTPD_MAX_RESPONSES];
    size_t n_responses, next_response;
    unsigned connections;                 /* accepted so far */
    unsigned requests;                    /* read so far */
    char last_request[HTTPD_REQUEST_MAX]; /* request line and headers of the last request */
};

static void httpd_push(struct httpd *h, struct httpd_response r)
{
    pthread_mutex_lock(&h->lock);
    if (h->n_responses < HTTPD_MAX_RESPONSES)
        h->responses[h->n_responses++] = r;
    pthread_mutex_unlock(&h->lock);
}

static void httpd_snapshot(struct httpd *h, unsigned *connections, unsigned *requests, char *last,
                           size_t lastlen)
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

/* Waits for fd readable or stop; 1 readable, 0 stop/timeout. Bounded at 10 s per wait. */
static int httpd_wait(struct httpd *h, int fd)
{
    struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = h->stop_pipe[0], .events = POLLIN}};
    int r = poll(p, 2, 10000);
    if (r <= 0 || (p[1].revents & POLLIN))
        return 0;
    return 1;
}

static bool httpd_write_all(int fd, const void *data, size_t len)
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

static void httpd_serve_connection(struct httpd *h, int fd)
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
        size_t reqlen = (size_t)(end - buf) + 4; /* GET requests have no body */

        struct httpd_response r = {.action = HTTPD_RESPOND, .status = 500, .body = "{}"};
        pthread_mutex_lock(&h->lock);
        memcpy(h->last_request, buf, reqlen);
        h->last_request[reqlen] = '\0';
        h->requests++;
        if (h->next_response < h->n_responses)
            r = h->responses[h->next_response++];
        pthread_mutex_unlock(&h->lock);
        memmove(buf, buf + reqlen, len - reqlen);
        len -= reqlen;

        if (r.action == HTTPD_CLOSE)
            return;
        if (r.action == HTTPD_HANG) {
            (void)httpd_wait(h, h->stop_pipe[0]);
            return;
        }

        char head[1024];
        const char *body = r.body ? r.body : "";
        size_t body_len = r.action == HTTPD_HUGE_BODY ? r.huge_len : strlen(body);
        int n = snprintf(head, sizeof(head),
                         "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                         "Content-Length: %zu\r\n%s\r\n",
                         r.action == HTTPD_HUGE_BODY ? 200 : r.status, body_len,
                         r.headers ? r.headers : "");
        if (!httpd_write_all(fd, head, (size_t)n))
            return;
        if (r.action == HTTPD_HUGE_BODY) {
            static char chunk[1 << 16];
            memset(chunk, ' ', sizeof(chunk));
            for (size_t sent = 0; sent < body_len;) {
                size_t c = body_len - sent < sizeof(chunk) ? body_len - sent : sizeof(chunk);
                if (!httpd_write_all(fd, chunk, c))
                    return;
                sent += c;
            }
        } else if (!httpd_write_all(fd, body, body_len)) {
            return;
        }
    }
}

static void *httpd_main(void *userdata)
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

static int httpd_start(struct httpd *h)
{
    memset(h, 0, sizeof(*h));
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

static void httpd_stop(struct httpd *h)
{
    (void)!write(h->stop_pipe[1], "x", 1);
    pthread_join(h->thread, NULL);
    close(h->listen_fd);
    close(h->stop_pipe[0]);
    close(h->stop_pipe[1]);
    pthread_mutex_destroy(&h->lock);
}
