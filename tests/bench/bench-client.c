/* SPDX-License-Identifier: MIT */
/* A minimal HTTP/1.1 client for the daemon's Unix socket: one write per request, keep-alive,
 * the body read by Content-Length. As little client work as possible, so that what is
 * measured is the socket round trip and the daemon. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define HC_INITIAL (1024 * 1024)

int hc_connect(struct hc *c, const char *socket_path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    *c = (struct hc){.fd = -1};
    if (strlen(socket_path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, socket_path);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -errno;
    /* A daemon that stops answering fails the run instead of hanging it. */
    struct timeval tv = {.tv_sec = 30};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int r = -errno;
        hc_close(c);
        return r;
    }
    c->buf = malloc(HC_INITIAL);
    if (!c->buf) {
        hc_close(c);
        return -ENOMEM;
    }
    c->cap = HC_INITIAL;
    return 0;
}

void hc_close(struct hc *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->buf);
    *c = (struct hc){.fd = -1};
}

static int fill(struct hc *c)
{
    if (c->len == c->cap) {
        char *n = realloc(c->buf, c->cap * 2);
        if (!n)
            return -ENOMEM;
        c->buf = n;
        c->cap *= 2;
    }
    ssize_t k = read(c->fd, c->buf + c->len, c->cap - c->len);
    if (k < 0)
        return errno == EINTR ? 0 : -errno;
    if (k == 0)
        return -ECONNRESET;
    c->len += (size_t)k;
    return 0;
}

int hc_get(struct hc *c, const char *path)
{
    return hc_request(c, "GET", path);
}

int hc_request(struct hc *c, const char *method, const char *path)
{
    char req[8192];
    bool post = strcmp(method, "POST") == 0;
    int n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: localhost\r\n%s\r\n", method, path,
                     post ? "Content-Length: 0\r\n" : "");
    char *end;
    size_t head;
    long clen = -1;
    int r;

    if (n < 0 || (size_t)n >= sizeof(req))
        return -E2BIG;
    if (write(c->fd, req, (size_t)n) != n)
        return -EIO;
    c->len = 0;
    for (;;) {
        r = fill(c);
        if (r < 0)
            return r;
        end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (end)
            break;
        if (c->len > 64 * 1024)
            return -EBADMSG;
    }
    head = (size_t)(end - c->buf) + 4;
    if (c->len < 12 || memcmp(c->buf, "HTTP/1.1 ", 9) != 0)
        return -EBADMSG;
    c->status = atoi(c->buf + 9);
    for (char *p = c->buf; p < end;) {
        char *eol = memmem(p, (size_t)(end - p) + 2, "\r\n", 2);
        if (!eol)
            break;
        if ((size_t)(eol - p) > 15 && strncasecmp(p, "Content-Length:", 15) == 0)
            clen = strtol(p + 15, NULL, 10);
        p = eol + 2;
    }
    if (clen < 0)
        return -EBADMSG;
    while (c->len < head + (size_t)clen) {
        r = fill(c);
        if (r < 0)
            return r;
    }
    c->body_off = head;
    c->body_len = (size_t)clen;
    return c->status;
}

static void append_encoded(struct cj_buf *out, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~')
            cj_buf_append_char(out, (char)ch);
        else
            cj_buf_printf(out, "%%%02X", ch);
    }
}

static void append_time(struct cj_buf *out, const char *key, int64_t ns)
{
    char iso[40];
    struct tm tm;
    time_t t = (time_t)(ns / 1000000000);
    gmtime_r(&t, &tm);
    strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
    cj_buf_printf(out, "&%s=", key);
    append_encoded(out, iso);
}

void bq_path(const struct bq *b, const char *next_token, struct cj_buf *out)
{
    cj_buf_reset(out);
    if (b->kind == BQ_GET) {
        cj_buf_append_str(out, "/model-copy-jobs/");
        append_encoded(out, b->arn);
        return;
    }
    cj_buf_printf(out, "/model-copy-jobs?maxResults=%u", b->max_results);
    if (b->has_status)
        cj_buf_printf(out, "&statusEquals=%s", cj_status_to_string(b->status));
    if (b->account) {
        cj_buf_append_str(out, "&sourceAccountEquals=");
        append_encoded(out, b->account);
    }
    if (b->model_arn) {
        cj_buf_append_str(out, "&sourceModelArnEquals=");
        append_encoded(out, b->model_arn);
    }
    if (b->name_contains) {
        cj_buf_append_str(out, "&outputModelNameContains=");
        append_encoded(out, b->name_contains);
    }
    if (b->region) {
        cj_buf_append_str(out, "&jobRegionEquals=");
        append_encoded(out, b->region);
    }
    if (b->after_ns)
        append_time(out, "creationTimeAfter", b->after_ns);
    if (b->before_ns)
        append_time(out, "creationTimeBefore", b->before_ns);
    if (b->ascending)
        cj_buf_append_str(out, "&sortOrder=Ascending");
    if (next_token) {
        cj_buf_append_str(out, "&nextToken=");
        append_encoded(out, next_token);
    }
}

bool body_next_token(const char *body, size_t len, char *out, size_t outlen)
{
    static const char key[] = ",\"nextToken\":\"";
    /* The token is last in the envelope: search from the end of the rows. */
    const char *p = len > 4096 ? body + len - 4096 : body;
    const char *k = memmem(p, (size_t)(body + len - p), key, sizeof(key) - 1);
    if (!k)
        return false;
    k += sizeof(key) - 1;
    size_t n = 0;
    while (k < body + len && *k != '"' && n + 1 < outlen) {
        if (*k == '\\' && k + 1 < body + len)
            k++; /* tokens are base64-like; "\/" is the only escape seen */
        out[n++] = *k++;
    }
    out[n] = '\0';
    return n > 0;
}

long body_count_rows(const char *body, size_t len)
{
    static const char key[] = "{\"jobArn\":";
    long n = 0;
    for (const char *p = body; (p = memmem(p, (size_t)(body + len - p), key, sizeof(key) - 1));
         p += sizeof(key) - 1)
        n++;
    return n;
}

long hc_walk(struct hc *c, const struct bq *b, unsigned *pages, struct cj_buf *path, bool count)
{
    char token[4096];
    long total = 0;
    unsigned n = 0;
    bool more = false;

    do {
        bq_path(b, more ? token : NULL, path);
        int st = hc_get(c, path->data);
        if (st < 0)
            return st;
        if (st != 200) {
            fprintf(stderr, "cj-bench: walk page %u: HTTP %d: %.*s\n", n, st, (int)c->body_len,
                    c->buf + c->body_off);
            return -EIO;
        }
        if (count)
            total += body_count_rows(c->buf + c->body_off, c->body_len);
        n++;
        more = body_next_token(c->buf + c->body_off, c->body_len, token, sizeof(token));
    } while (more && n < 100000);
    *pages = n;
    return total;
}
