/* SPDX-License-Identifier: MIT */
/* A tiny HTTP/1.1 stand-in on 127.0.0.1 for the credential tests: one thread, one request per
 * connection, and a handler that decides each answer from the method, path and headers (the
 * IMDS stand-in must refuse a GET without the session token). Every wait is bounded. */
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

#define CHTTPD_REQUEST_MAX 16384

struct chttpd_request {
    char method[16];
    char path[1024];
    const char *head; /* request line and headers, NUL-terminated */
};

/* Fills status (-1 = hang: answer nothing until stopped) and body. */
typedef void (*chttpd_handler)(void *userdata, const struct chttpd_request *req, int *status,
                               char *body, size_t bodysize);

struct chttpd {
    int listen_fd;
    int stop_pipe[2];
    int port;
    pthread_t thread;
    pthread_mutex_t lock;
    chttpd_handler handler;
    void *userdata;
    unsigned requests;
    char last_request[CHTTPD_REQUEST_MAX];
};

/* The value of header `name` in a request head, copied to out; false when absent. */
static inline bool chttpd_header(const char *head, const char *name, char *out, size_t outlen)
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

static inline int chttpd_wait(struct chttpd *h, int fd)
{
    struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = h->stop_pipe[0], .events = POLLIN}};
    int r = poll(p, 2, 10000);
    if (r <= 0 || (p[1].revents & POLLIN))
        return 0;
    return 1;
}

static inline void chttpd_serve(struct chttpd *h, int fd)
{
    static char buf[CHTTPD_REQUEST_MAX];
    size_t len = 0;
    char *end;
    while (!(end = memmem(buf, len, "\r\n\r\n", 4))) {
        if (len >= sizeof(buf) - 1 || !chttpd_wait(h, fd))
            return;
        ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (n <= 0)
            return;
        len += (size_t)n;
    }
    end[2] = '\0'; /* keep the last header's "\r\n" */

    struct chttpd_request req = {.head = buf};
    sscanf(buf, "%15s %1023s", req.method, req.path);

    static char body[1 << 17];
    int status = 500;
    body[0] = '\0';
    pthread_mutex_lock(&h->lock);
    h->requests++;
    snprintf(h->last_request, sizeof(h->last_request), "%s", buf);
    pthread_mutex_unlock(&h->lock);
    h->handler(h->userdata, &req, &status, body, sizeof(body));
    if (status < 0) {
        (void)chttpd_wait(h, h->stop_pipe[0]);
        return;
    }

    char head[256];
    size_t bl = strlen(body);
    int n =
        snprintf(head, sizeof(head),
                 "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", status, bl);
    (void)!send(fd, head, (size_t)n, MSG_NOSIGNAL);
    for (size_t sent = 0; sent < bl;) {
        ssize_t w = send(fd, body + sent, bl - sent, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        sent += (size_t)w;
    }
}

static inline void *chttpd_main(void *userdata)
{
    struct chttpd *h = userdata;
    while (chttpd_wait(h, h->listen_fd)) {
        int fd = accept4(h->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        chttpd_serve(h, fd);
        close(fd);
    }
    return NULL;
}

static inline int chttpd_start(struct chttpd *h, chttpd_handler handler, void *userdata)
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
    if (pthread_create(&h->thread, NULL, chttpd_main, h) != 0)
        return -EAGAIN;
    return 0;
}

static inline unsigned chttpd_requests(struct chttpd *h)
{
    pthread_mutex_lock(&h->lock);
    unsigned n = h->requests;
    pthread_mutex_unlock(&h->lock);
    return n;
}

static inline void chttpd_stop(struct chttpd *h)
{
    (void)!write(h->stop_pipe[1], "x", 1);
    pthread_join(h->thread, NULL);
    close(h->listen_fd);
    close(h->stop_pipe[0]);
    close(h->stop_pipe[1]);
    pthread_mutex_destroy(&h->lock);
}

/* A loopback port nothing listens on: bound, then closed. */
static inline int chttpd_closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0)
        return -1;
    close(fd);
    return ntohs(a.sin_port);
}
