/* SPDX-License-Identifier: MIT */
/* The streaming and protective parts of the local API: GET /v1/events, GET /metrics, the
 * request deadline, the idle timeout, the connection limit, oversized requests and the TCP
 * listener's opt-in for non-loopback addresses. A real store in a temp dir, the server on a
 * temp Unix socket in an sd-event loop, and raw non-blocking sockets as clients, so that a
 * test can play a client that reads nothing or sends a byte at a time. One thread; every
 * wait is bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "cj-time.h"
#include "log.h"
#include "server.h"
#include "test-net-util.h"
#include "test-server-fixture.h"

#define BASE_TIME_NS (INT64_C(1714521600) * CJ_NSEC_PER_SEC) /* 2024-05-01T00:00:00Z */
#define ARN_PREFIX   "arn:aws:bedrock:us-east-1:123456789012:model-copy-job/"
#define MODEL_ARN    "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1"
#define WAIT_NS      (20 * CJ_NSEC_PER_SEC)

static char tmpdir[] = "/tmp/cj-test-server-api-XXXXXX";

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * CJ_NSEC_PER_SEC + ts.tv_nsec;
}

/* ---- jobs ---- */

/* Job i; `version` changes its served bytes (an update), `pad` makes it bigger. */
static void put_job(struct server_fixture *f, size_t i, int version, size_t pad)
{
    char arn[128], when[CJ_ISO8601_MAX];
    struct cj_buf json = {0};
    struct cj_job j = {0};

    snprintf(arn, sizeof(arn), ARN_PREFIX "job%09zu", i);
    j.job_arn = strdup(arn);
    j.status = version ? CJ_STATUS_COMPLETED : CJ_STATUS_IN_PROGRESS;
    j.creation_ns = BASE_TIME_NS + (int64_t)i * CJ_NSEC_PER_SEC;
    snprintf(j.source_account, sizeof(j.source_account), "111111111111");
    j.source_model_arn = strdup(MODEL_ARN);
    assert_true(cj_time_format_iso8601(j.creation_ns, when, sizeof(when)) > 0);
    assert_int_equal(cj_buf_printf(&json,
                                   "{\"jobArn\":\"%s\",\"status\":\"%s\",\"creationTime\":\"%s\","
                                   "\"targetModelArn\":\"arn:aws:bedrock:us-east-1:123456789012:"
                                   "custom-model/imported/abcdefghij%02zu\",\"targetModelName\":\"",
                                   arn, cj_status_to_string(j.status), when, i % 100),
                     0);
    for (size_t k = 0; k < pad; k++)
        assert_int_equal(cj_buf_append_char(&json, 'a' + (char)(k % 26)), 0);
    assert_int_equal(cj_buf_printf(&json,
                                   "v%d\",\"sourceAccountId\":\"111111111111\",\"sourceModelArn\":"
                                   "\"%s\"}",
                                   version, MODEL_ARN),
                     0);
    j.json_len = json.len;
    j.json = cj_buf_steal(&json);
    assert_int_equal(cj_store_put_jobs(f->store, "us-east-1", NULL, &j, 1, NULL), 0);
    cj_job_done(&j);
}

static void job_arn(size_t i, char *buf, size_t size)
{
    snprintf(buf, size, ARN_PREFIX "job%09zu", i);
}

/* ---- fixture ---- */

/* The test-only settings of the next fx_start. */
static struct cj_test_settings fx_test;

static int fx_start_tcp(struct server_fixture *f, uint64_t max_events, unsigned max_connections,
                        const char *listen_tcp, bool allow_remote)
{
    server_fixture_open(f, tmpdir, "api.sock", max_events);
    f->settings.server.socket_mode = 0600;
    f->settings.server.max_connections = max_connections;
    f->settings.server.listen_tcp = (char *)listen_tcp;
    f->settings.server.listen_tcp_allow_remote = allow_remote;
    f->settings.test = fx_test;
    return server_fixture_serve(f);
}

static void fx_start(struct server_fixture *f, uint64_t max_events, unsigned max_connections)
{
    assert_int_equal(fx_start_tcp(f, max_events, max_connections, NULL, false), 0);
}

static void fx_run(struct server_fixture *f)
{
    assert_true(sd_event_run(f->event, 2000) >= 0);
}

/* ---- raw clients ---- */

struct client {
    int fd;
    struct cj_buf in;
    bool closed; /* the server closed (or reset) the connection */
};

static void client_open_addr(struct client *c, const struct sockaddr *sa, socklen_t len)
{
    memset(c, 0, sizeof(*c));
    c->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(c->fd >= 0);
    assert_int_equal(connect(c->fd, sa, len), 0);
    assert_int_equal(fcntl(c->fd, F_SETFL, O_NONBLOCK), 0);
}

static void client_open_tcp(struct client *c, unsigned short port)
{
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    client_open_addr(c, (struct sockaddr *)&sa, sizeof(sa));
}

static void client_open(struct server_fixture *f, struct client *c)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(f->socket_path);
    assert_true(len < sizeof(sa.sun_path));
    memcpy(sa.sun_path, f->socket_path, len + 1);
    client_open_addr(c, (struct sockaddr *)&sa, sizeof(sa));
}

static void client_close(struct client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    cj_buf_free(&c->in);
}

/* Reads what is there without blocking. */
static void client_read(struct client *c)
{
    char buf[65536];

    while (!c->closed) {
        ssize_t n = read(c->fd, buf, sizeof(buf));
        if (n > 0) {
            assert_int_equal(cj_buf_append(&c->in, buf, (size_t)n), 0);
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
            c->closed = true;
        break;
    }
}

/* Writes everything, running the server meanwhile; false if the server closed first. */
static bool client_send_len(struct server_fixture *f, struct client *c, const char *data,
                            size_t len)
{
    int64_t deadline = mono_ns() + WAIT_NS;
    while (len > 0) {
        ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
        if (n > 0) {
            data += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return false;
        fx_run(f);
        if (mono_ns() > deadline)
            fail_msg("could not send in time");
    }
    return true;
}

static bool client_send(struct server_fixture *f, struct client *c, const char *data)
{
    return client_send_len(f, c, data, strlen(data));
}

typedef bool (*client_pred)(struct client *c, const void *arg);

static bool client_wait_for(struct server_fixture *f, struct client *c, client_pred pred,
                            const void *arg, int64_t timeout_ns)
{
    int64_t deadline = mono_ns() + timeout_ns;
    for (;;) {
        client_read(c);
        if (pred(c, arg))
            return true;
        if (mono_ns() > deadline)
            return false;
        fx_run(f);
    }
}

/* ---- HTTP responses ---- */

struct parsed {
    int status;
    char headers[4096];
    struct cj_buf body; /* de-chunked when chunked */
    bool complete;      /* the whole body (content-length met, or the last chunk) */
};

static const char *find_header(const struct parsed *p, const char *name, char *out, size_t size)
{
    size_t nlen = strlen(name);
    for (const char *line = p->headers; line && *line; line = strstr(line, "\r\n")) {
        if (line[0] == '\r')
            line += 2;
        if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1;
            v += strspn(v, " ");
            size_t vlen = strcspn(v, "\r\n");
            snprintf(out, size, "%.*s", (int)vlen, v);
            return out;
        }
    }
    return NULL;
}

static void parsed_done(struct parsed *p)
{
    cj_buf_free(&p->body);
}

/* Parses the first response in c->in; false until its header block is in. */
static bool parse_response(const struct client *c, struct parsed *p)
{
    char value[64];

    cj_buf_free(&p->body);
    memset(p, 0, sizeof(*p));
    if (!c->in.data)
        return false;
    const char *end = memmem(c->in.data, c->in.len, "\r\n\r\n", 4);
    if (!end || sscanf(c->in.data, "HTTP/1.%*c %d", &p->status) != 1)
        return false;
    size_t hlen = (size_t)(end - c->in.data) + 2;
    snprintf(p->headers, sizeof(p->headers), "%.*s", (int)hlen, c->in.data);
    const char *b = end + 4, *stop = c->in.data + c->in.len;

    if (find_header(p, "Transfer-Encoding", value, sizeof(value))) {
        while (b < stop) {
            const char *crlf = memmem(b, (size_t)(stop - b), "\r\n", 2);
            if (!crlf)
                break;
            size_t size = strtoul(b, NULL, 16);
            if (size == 0) {
                p->complete = true;
                break;
            }
            if ((size_t)(stop - crlf - 2) < size + 2)
                break;
            assert_int_equal(cj_buf_append(&p->body, crlf + 2, size), 0);
            b = crlf + 2 + size + 2;
        }
    } else {
        size_t want = find_header(p, "Content-Length", value, sizeof(value))
                          ? strtoul(value, NULL, 10)
                          : (size_t)(stop - b);
        size_t have = (size_t)(stop - b) < want ? (size_t)(stop - b) : want;
        assert_int_equal(cj_buf_append(&p->body, b, have), 0);
        p->complete = have == want;
    }
    if (!p->body.data)
        assert_int_equal(cj_buf_append_str(&p->body, ""), 0);
    return true;
}

static bool response_complete(struct client *c, const void *arg)
{
    struct parsed p = {0};
    bool done = parse_response(c, &p) && p.complete;
    parsed_done(&p);
    return done || c->closed;
}

static bool has_head(struct client *c, const void *arg)
{
    struct parsed p = {0};
    bool done = parse_response(c, &p);
    parsed_done(&p);
    return done || c->closed;
}

static bool is_closed(struct client *c, const void *arg)
{
    return c->closed;
}

static bool has_text(struct client *c, const void *arg)
{
    return c->in.data && memmem(c->in.data, c->in.len, arg, strlen(arg));
}

/* One request on a fresh connection (closed after); the answer in p. */
static void do_request(struct server_fixture *f, const char *method, const char *target,
                       struct parsed *p)
{
    struct client c;
    char req[4096];

    client_open(f, &c);
    snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
             method, target);
    assert_true(client_send(f, &c, req));
    if (!client_wait_for(f, &c, response_complete, NULL, WAIT_NS))
        fail_msg("%s %s: no answer in time", method, target);
    memset(p, 0, sizeof(*p));
    if (!parse_response(&c, p))
        fail_msg("%s %s: no HTTP response (%zu bytes)", method, target, c.in.len);
    client_close(&c);
}

static void expect_error(struct server_fixture *f, const char *method, const char *target,
                         int status, const char *type, const char *needle)
{
    struct parsed p = {0};
    char value[128];

    do_request(f, method, target, &p);
    if (p.status != status)
        fail_msg("%s %s: %d, expected %d: %s", method, target, p.status, status, p.body.data);
    assert_non_null(find_header(&p, "x-amzn-ErrorType", value, sizeof(value)));
    assert_string_equal(value, type);
    json_t *j = json_loads(p.body.data, 0, NULL);
    assert_non_null(j);
    const char *msg = json_string_value(json_object_get(j, "message"));
    assert_non_null(msg);
    if (needle && !strstr(msg, needle))
        fail_msg("%s %s: message '%s' lacks '%s'", method, target, msg, needle);
    json_decref(j);
    parsed_done(&p);
}

/* ---- event streams ---- */

struct watcher {
    struct client c;
    size_t lines_seen;
};

static void watch(struct server_fixture *f, struct watcher *w, const char *target)
{
    char req[512];

    memset(w, 0, sizeof(*w));
    client_open(f, &w->c);
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", target);
    assert_true(client_send(f, &w->c, req));
}

/* The stream's lines so far (blank lines included), as a JSON array of parsed objects
 * (a blank line is JSON null). */
static json_t *stream_lines(struct client *c, struct parsed *p)
{
    json_t *arr = json_array();
    assert_true(parse_response(c, p));
    assert_int_equal(p->status, 200);
    const char *s = p->body.data, *stop = p->body.data + p->body.len;
    while (s < stop) {
        const char *nl = memchr(s, '\n', (size_t)(stop - s));
        if (!nl)
            break; /* a line still arriving */
        if (nl == s) {
            json_array_append_new(arr, json_null());
        } else {
            json_error_t err;
            json_t *v = json_loadb(s, (size_t)(nl - s), 0, &err);
            if (!json_is_object(v))
                fail_msg("not a JSON object line: %.*s", (int)(nl - s), s);
            json_array_append_new(arr, v);
        }
        s = nl + 1;
    }
    return arr;
}

struct want_lines {
    size_t n; /* non-blank lines */
};

/* Event lines received so far, counted in the raw bytes. */
static size_t count_events(const struct client *c)
{
    size_t n = 0;
    const char *p = c->in.data, *end = c->in.data + c->in.len;
    while (p && p < end && (p = memmem(p, (size_t)(end - p), "\"seq\":", 6))) {
        n++;
        p += 6;
    }
    return n;
}

static bool has_lines(struct client *c, const void *arg)
{
    const struct want_lines *w = arg;
    struct parsed p = {0};
    bool ok = false;
    if (parse_response(c, &p) && p.status == 200) {
        json_t *a = stream_lines(c, &p);
        size_t n = 0, i;
        json_t *v;
        json_array_foreach(a, i, v) if (json_is_object(v)) n++;
        ok = n >= w->n;
        json_decref(a);
    } else if (parse_response(c, &p)) {
        ok = true; /* an error answer: let the caller see it */
    }
    parsed_done(&p);
    return ok || c->closed;
}

/* Waits for n event/gap lines on w and returns them (blank lines dropped). */
static json_t *expect_lines(struct server_fixture *f, struct watcher *w, size_t n)
{
    struct want_lines want = {n};
    struct parsed p = {0};

    if (!client_wait_for(f, &w->c, has_lines, &want, WAIT_NS))
        fail_msg("fewer than %zu lines in time (%zu bytes in)", n, w->c.in.len);
    json_t *all = stream_lines(&w->c, &p), *out = json_array(), *v;
    size_t i;
    json_array_foreach(all, i, v) if (json_is_object(v)) json_array_append(out, v);
    json_decref(all);
    parsed_done(&p);
    return out;
}

static void expect_event(struct server_fixture *f, json_t *line, uint64_t seq, const char *type,
                         size_t job)
{
    char arn[128];
    struct cj_buf stored = {0};

    job_arn(job, arn, sizeof(arn));
    assert_int_equal(json_integer_value(json_object_get(line, "seq")), seq);
    char id[64];
    snprintf(id, sizeof(id), "%s-%" PRIu64, cj_store_id(f->store), seq);
    assert_string_equal(json_string_value(json_object_get(line, "id")), id);
    assert_string_equal(json_string_value(json_object_get(line, "type")), type);
    json_t *j = json_object_get(line, "job");
    assert_true(json_is_object(j));
    assert_string_equal(json_string_value(json_object_get(j, "jobArn")), arn);
    if (strcmp(type, "removed") != 0) {
        /* the job exactly as GET /model-copy-jobs/{arn} serves it */
        assert_int_equal(cj_store_get(f->store, arn, &stored), 0);
        json_t *s = json_loadb(stored.data, stored.len, 0, NULL);
        assert_true(json_equal(s, j));
        json_decref(s);
        cj_buf_free(&stored);
    }
}

static void expect_gap(json_t *line, uint64_t after, uint64_t first)
{
    assert_string_equal(json_string_value(json_object_get(line, "type")), "gap");
    assert_int_equal(json_integer_value(json_object_get(line, "after")), after);
    assert_int_equal(json_integer_value(json_object_get(line, "firstSeq")), first);
    assert_null(json_object_get(line, "seq"));
}

static void test_events_backlog_then_live(void **state)
{
    struct server_fixture f;
    struct watcher w, live, all;
    struct parsed p = {0};
    char value[128];

    fx_start(&f, 0, 16);
    for (size_t i = 0; i < 10; i++)
        put_job(&f, i, 0, 0); /* events 1..10 */

    watch(&f, &w, "/v1/events?after=3");
    watch(&f, &all, "/v1/events?after=0");
    watch(&f, &live, "/v1/events");
    json_t *lines = expect_lines(&f, &w, 7);
    assert_int_equal(json_array_size(lines), 7);
    for (size_t i = 0; i < 7; i++)
        expect_event(&f, json_array_get(lines, i), 4 + i, "created", 3 + i);
    json_decref(lines);
    lines = expect_lines(&f, &all, 10);
    assert_int_equal(json_array_size(lines), 10);
    expect_event(&f, json_array_get(lines, 0), 1, "created", 0);
    json_decref(lines);

    assert_true(parse_response(&w.c, &p));
    assert_non_null(find_header(&p, "Content-Type", value, sizeof(value)));
    assert_string_equal(value, "application/x-ndjson");
    assert_non_null(find_header(&p, "Transfer-Encoding", value, sizeof(value)));
    assert_string_equal(value, "chunked");
    parsed_done(&p);

    /* live changes reach every watcher; the live-only one sees nothing older */
    char arn[128];
    put_job(&f, 2, 1, 0);  /* 11 updated */
    put_job(&f, 10, 0, 0); /* 12 created */
    job_arn(5, arn, sizeof(arn));
    assert_int_equal(cj_store_remove(f.store, arn), 0); /* 13 removed */
    put_job(&f, 2, 1, 0);                               /* unchanged: no event */

    lines = expect_lines(&f, &w, 10);
    assert_int_equal(json_array_size(lines), 10);
    expect_event(&f, json_array_get(lines, 7), 11, "updated", 2);
    expect_event(&f, json_array_get(lines, 8), 12, "created", 10);
    expect_event(&f, json_array_get(lines, 9), 13, "removed", 5);
    json_decref(lines);
    lines = expect_lines(&f, &live, 3);
    assert_int_equal(json_array_size(lines), 3);
    expect_event(&f, json_array_get(lines, 0), 11, "updated", 2);
    expect_event(&f, json_array_get(lines, 2), 13, "removed", 5);
    json_decref(lines);
    lines = expect_lines(&f, &all, 13);
    assert_int_equal(json_array_size(lines), 13);
    json_decref(lines);

    /* normal queries are answered while the streams are open */
    do_request(&f, "GET", "/v1/stats", &p);
    assert_int_equal(p.status, 200);
    parsed_done(&p);

    client_close(&w.c);
    client_close(&live.c);
    client_close(&all.c);
    server_fixture_close(&f);
}

static void test_events_gaps(void **state)
{
    struct server_fixture f;
    struct watcher w;
    json_t *lines;

    fx_start(&f, 5, 16);
    for (size_t i = 0; i < 12; i++)
        put_job(&f, i, 0, 0); /* events 1..12; 1..5 and 6..10 fill a generation each */
    /* 1..5 were dropped when 6..10 filled theirs: 6..12 are kept. */

    static const struct {
        const char *target;
        uint64_t gap_after; /* 0 with gap false: no gap line */
        bool gap;
        uint64_t first_seq;
    } cases[] = {
        {"/v1/events?after=2", 2, true, 6},     /* older than the oldest kept */
        {"/v1/events?after=0", 0, true, 6},     /* the whole retained log */
        {"/v1/events?after=5", 0, false, 6},    /* just before the oldest kept: no gap */
        {"/v1/events?after=10", 0, false, 11},  /* within the log */
        {"/v1/events?after=500", 500, true, 6}, /* past the end: the log was reset */
    };
    for (size_t k = 0; k < ELEMENTSOF(cases); k++) {
        size_t n_events = 12 - cases[k].first_seq + 1;
        watch(&f, &w, cases[k].target);
        lines = expect_lines(&f, &w, n_events + cases[k].gap);
        assert_int_equal(json_array_size(lines), n_events + cases[k].gap);
        size_t at = 0;
        if (cases[k].gap)
            expect_gap(json_array_get(lines, at++), cases[k].gap_after, cases[k].first_seq);
        for (size_t i = 0; i < n_events; i++)
            expect_event(&f, json_array_get(lines, at + i), cases[k].first_seq + i, "created",
                         cases[k].first_seq + i - 1);
        json_decref(lines);
        client_close(&w.c);
    }

    /* A position names its store: this store's id resumes as a plain seq does, another's
     * (a store wiped or replaced since) gets the gap line first, then the oldest event. */
    char target[128];
    assert_int_equal(strlen(cj_store_id(f.store)), 32);
    snprintf(target, sizeof(target), "/v1/events?after=%s-10", cj_store_id(f.store));
    watch(&f, &w, target);
    lines = expect_lines(&f, &w, 2);
    expect_event(&f, json_array_get(lines, 0), 11, "created", 10);
    json_decref(lines);
    client_close(&w.c);
    watch(&f, &w, "/v1/events?after=00000000000000000000000000000000-10");
    lines = expect_lines(&f, &w, 8);
    expect_gap(json_array_get(lines, 0), 10, 6);
    for (size_t i = 0; i < 7; i++)
        expect_event(&f, json_array_get(lines, 1 + i), 6 + i, "created", 5 + i);
    json_decref(lines);
    client_close(&w.c);

    /* a watcher at the newest event, then the log moves on by more than it keeps while the
     * watcher is not served (no loop run): it is told about the gap */
    watch(&f, &w, "/v1/events?after=12");
    for (int i = 0; i < 20; i++)
        fx_run(&f);
    for (size_t i = 12; i < 22; i++)
        put_job(&f, i, 0, 0); /* 13..22; the log keeps 16..22 */
    lines = expect_lines(&f, &w, 1);
    if (json_integer_value(json_object_get(json_array_get(lines, 0), "seq")) == 13) {
        /* the server read 13 before the trim reached it: no gap to report, all in order */
        json_decref(lines);
        lines = expect_lines(&f, &w, 10);
        for (size_t i = 0; i < 10; i++)
            expect_event(&f, json_array_get(lines, i), 13 + i, "created", 12 + i);
    } else {
        json_decref(lines);
        lines = expect_lines(&f, &w, 8);
        expect_gap(json_array_get(lines, 0), 12, 16);
        for (size_t i = 0; i < 7; i++)
            expect_event(&f, json_array_get(lines, 1 + i), 16 + i, "created", 15 + i);
    }
    json_decref(lines);
    client_close(&w.c);
    server_fixture_close(&f);
}

static void test_events_errors(void **state)
{
    struct server_fixture f;
    struct parsed p = {0};
    char value[64];

    fx_start(&f, 0, 16);
    static const char *const bad[] = {
        "/v1/events?after=-1",
        "/v1/events?after=abc",
        "/v1/events?after=",
        "/v1/events?after=1.5",
        "/v1/events?after=+1",
        "/v1/events?after=18446744073709551615",
        "/v1/events?after=99999999999999999999999",
    };
    for (size_t i = 0; i < ELEMENTSOF(bad); i++)
        expect_error(&f, "GET", bad[i], 400, "ValidationException", "after:");
    expect_error(&f, "GET", "/v1/events?after=1&after=2", 400, "ValidationException",
                 "more than once");
    expect_error(&f, "POST", "/v1/events", 405, "ValidationException", "GET");
    expect_error(&f, "DELETE", "/v1/events?after=1", 405, "ValidationException", NULL);
    do_request(&f, "HEAD", "/v1/events", &p);
    assert_int_equal(p.status, 405);
    assert_non_null(find_header(&p, "Allow", value, sizeof(value)));
    assert_string_equal(value, "GET");
    parsed_done(&p);
    expect_error(&f, "GET", "/v1/event", 404, "ResourceNotFoundException", "/v1/event");
    expect_error(&f, "GET", "/metrics/x", 404, "ResourceNotFoundException", NULL);
    expect_error(&f, "POST", "/metrics", 405, "ValidationException", NULL);
    server_fixture_close(&f);
}

/* Several watchers; one never reads and has a tiny receive buffer, so its socket fills up.
 * The others get every event and queries are answered; the daemon never waits for it. */
static void test_events_stuck_watcher(void **state)
{
    struct server_fixture f;
    struct watcher w[4], stuck;
    struct parsed p = {0};
    int small = 4096;
    const size_t n_jobs = 600, pad = 1500; /* ~1 MB of events */

    fx_start(&f, 0, 16);
    client_open(&f, &stuck.c);
    assert_int_equal(setsockopt(stuck.c.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
    assert_true(client_send(&f, &stuck.c, "GET /v1/events?after=0 HTTP/1.1\r\nHost: x\r\n\r\n"));
    for (size_t i = 0; i < ELEMENTSOF(w); i++)
        watch(&f, &w[i], "/v1/events?after=0");
    for (int i = 0; i < 20; i++)
        fx_run(&f);

    for (size_t i = 0; i < n_jobs; i++) {
        put_job(&f, i, 0, pad);
        if (i % 50 == 0) {
            /* a query in the middle of it all is answered */
            do_request(&f, "GET", "/model-copy-jobs?maxResults=5", &p);
            assert_int_equal(p.status, 200);
            parsed_done(&p);
            for (size_t k = 0; k < ELEMENTSOF(w); k++)
                client_read(&w[k].c);
        }
    }
    for (size_t i = 0; i < ELEMENTSOF(w); i++) {
        json_t *lines = expect_lines(&f, &w[i], n_jobs);
        assert_int_equal(json_array_size(lines), n_jobs);
        for (size_t k = 0; k < n_jobs; k++)
            assert_int_equal(json_integer_value(json_object_get(json_array_get(lines, k), "seq")),
                             k + 1);
        json_decref(lines);
    }
    /* the stuck one got a little (what fits its socket), not everything */
    client_read(&stuck.c);
    assert_false(stuck.c.closed);
    assert_true(count_events(&stuck.c) < n_jobs);

    do_request(&f, "GET", "/v1/stats", &p);
    assert_int_equal(p.status, 200);
    parsed_done(&p);

    /* it starts reading again: it gets the rest, in order */
    json_t *lines = expect_lines(&f, &stuck, n_jobs);
    assert_int_equal(json_array_size(lines), n_jobs);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(lines, n_jobs - 1), "seq")),
                     n_jobs);
    json_decref(lines);

    client_close(&stuck.c);
    for (size_t i = 0; i < ELEMENTSOF(w); i++)
        client_close(&w[i].c);
    server_fixture_close(&f);
}

static void test_events_watcher_limit_and_stop(void **state)
{
    struct server_fixture f;
    struct watcher w[6];
    struct parsed p = {0};
    char spec[64];
    unsigned short port = free_port();

    /* 8 connections: at most 6 watchers, and 6 for one peer. Five watchers from this uid on
     * the Unix socket and one from loopback TCP fill the watchers, leaving the uid room. */
    snprintf(spec, sizeof(spec), "127.0.0.1:%u", port);
    assert_int_equal(fx_start_tcp(&f, 0, 8, spec, false), 0);
    put_job(&f, 1, 0, 0);
    for (size_t i = 0; i < ELEMENTSOF(w); i++) {
        if (i < 5)
            watch(&f, &w[i], "/v1/events?after=0");
        else {
            memset(&w[i], 0, sizeof(w[i]));
            client_open_tcp(&w[i].c, port);
            char req[128];
            snprintf(req, sizeof(req),
                     "GET /v1/events?after=0 HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n", port);
            assert_true(client_send(&f, &w[i].c, req));
        }
        json_decref(expect_lines(&f, &w[i], 1));
    }
    expect_error(&f, "GET", "/v1/events", 429, "ThrottlingException", "watchers");
    do_request(&f, "GET", "/v1/health", &p);
    assert_int_equal(p.status, 503); /* never synced: "starting" */
    parsed_done(&p);

    /* one leaves: room for another (its hang-up is noticed while it is suspended) */
    client_close(&w[0].c);
    int64_t deadline = mono_ns() + WAIT_NS;
    for (;;) {
        watch(&f, &w[0], "/v1/events?after=1");
        assert_true(client_wait_for(&f, &w[0].c, has_head, NULL, WAIT_NS));
        assert_true(parse_response(&w[0].c, &p));
        int status = p.status;
        parsed_done(&p);
        if (status == 200)
            break;
        assert_int_equal(status, 429);
        client_close(&w[0].c);
        assert_true(mono_ns() < deadline);
    }

    /* the server stops: each open stream is ended properly (last chunk) or closed */
    cj_server_free(f.server);
    f.server = NULL;
    for (size_t i = 0; i < ELEMENTSOF(w); i++) {
        client_read(&w[i].c);
        assert_true(w[i].c.closed || has_text(&w[i].c, "\r\n0\r\n\r\n"));
        client_close(&w[i].c);
    }
    server_fixture_close(&f);
}

/* Streams opened and dropped while they wait for events free their connection at once, not
 * at the next heartbeat (an hour here): 200 of them through 8 connections, then a request. */
static void test_events_abandoned(void **state)
{
    struct server_fixture f;
    struct watcher w;
    struct parsed p = {0};

    fx_test.heartbeat_s = 3600;
    fx_start(&f, 0, 8);
    fx_test = (struct cj_test_settings){0};
    put_job(&f, 1, 0, 0);
    /* An idle connection older than the streams (MHD looks at closed connections behind it
     * only when asked to). */
    struct client idle;
    client_open(&f, &idle);
    fx_run(&f);
    for (int i = 0; i < 200; i++) {
        /* nothing to send: suspended at once; half of them ask to close after the answer */
        memset(&w, 0, sizeof(w));
        client_open(&f, &w.c);
        assert_true(client_send(&f, &w.c,
                                i % 2 ? "GET /v1/events?after=1 HTTP/1.1\r\nHost: localhost\r\n\r\n"
                                      : "GET /v1/events?after=1 HTTP/1.1\r\nHost: localhost\r\n"
                                        "Connection: close\r\n\r\n"));
        if (!client_wait_for(&f, &w.c, has_head, NULL, 5 * CJ_NSEC_PER_SEC))
            fail_msg("stream %d: no answer: the dropped ones still hold the connections", i);
        assert_true(parse_response(&w.c, &p));
        if (p.status != 200)
            fail_msg("stream %d: %d: %s", i, p.status, p.body.data);
        parsed_done(&p);
        client_close(&w.c);
        fx_run(&f);
    }
    do_request(&f, "GET", "/v1/stats", &p);
    assert_int_equal(p.status, 200);
    parsed_done(&p);
    client_close(&idle);
    server_fixture_close(&f);
}

static void test_events_heartbeat(void **state)
{
    struct server_fixture f;
    struct watcher w;
    struct parsed p = {0};

    fx_test.heartbeat_s = 1;
    fx_start(&f, 0, 16);
    fx_test = (struct cj_test_settings){0};
    watch(&f, &w, "/v1/events");
    int64_t deadline = mono_ns() + WAIT_NS;
    size_t blanks = 0;
    while (blanks < 2) {
        assert_true(mono_ns() < deadline);
        fx_run(&f);
        client_read(&w.c);
        assert_false(w.c.closed);
        if (parse_response(&w.c, &p)) {
            json_t *a = stream_lines(&w.c, &p);
            blanks = json_array_size(a); /* nothing happened: every line is blank */
            for (size_t i = 0; i < blanks; i++)
                assert_true(json_is_null(json_array_get(a, i)));
            json_decref(a);
        }
        parsed_done(&p);
    }
    /* and an event after heartbeats still arrives */
    put_job(&f, 1, 0, 0);
    json_t *lines = expect_lines(&f, &w, 1);
    expect_event(&f, json_array_get(lines, 0), 1, "created", 1);
    json_decref(lines);
    client_close(&w.c);
    server_fixture_close(&f);
}

/* ---- /metrics ---- */

/* Checks the Prometheus text format: every sample belongs to a family announced by # HELP and
 * # TYPE before it; returns the value of the sample `series` (name{labels}), -1 if absent. */
static double metric(const char *text, const char *series)
{
    char *copy = strdup(text), *save = NULL;
    char helped[64][96] = {{0}}, typed[64][96] = {{0}};
    size_t n_help = 0, n_type = 0;
    double found = -1;

    assert_non_null(copy);
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[96];
        if (strncmp(line, "# HELP ", 7) == 0) {
            assert_int_equal(sscanf(line + 7, "%95s", name), 1);
            assert_true(n_help < 64);
            snprintf(helped[n_help++], sizeof(helped[0]), "%s", name);
            continue;
        }
        if (strncmp(line, "# TYPE ", 7) == 0) {
            char type[32];
            assert_int_equal(sscanf(line + 7, "%95s %31s", name, type), 2);
            assert_true(strcmp(type, "gauge") == 0 || strcmp(type, "counter") == 0);
            if (strcmp(type, "counter") == 0)
                assert_non_null(strstr(name, "_total"));
            assert_true(n_type < 64);
            snprintf(typed[n_type++], sizeof(typed[0]), "%s", name);
            continue;
        }
        assert_true(line[0] != '#');
        size_t nlen = strcspn(line, "{ ");
        assert_true(nlen > 0 && nlen < sizeof(name));
        snprintf(name, sizeof(name), "%.*s", (int)nlen, line);
        bool h = false, t = false;
        for (size_t i = 0; i < n_help; i++)
            h |= strcmp(helped[i], name) == 0;
        for (size_t i = 0; i < n_type; i++)
            t |= strcmp(typed[i], name) == 0;
        if (!h || !t)
            fail_msg("sample without HELP/TYPE: %s", line);
        const char *sp = strrchr(line, ' ');
        assert_non_null(sp);
        char *end;
        double v = strtod(sp + 1, &end);
        assert_true(*end == '\0');
        if (strlen(series) == (size_t)(sp - line) && strncmp(line, series, strlen(series)) == 0)
            found = v;
    }
    free(copy);
    return found;
}

static char *get_metrics(struct server_fixture *f)
{
    struct parsed p = {0};
    char value[128];

    do_request(f, "GET", "/metrics", &p);
    assert_int_equal(p.status, 200);
    assert_non_null(find_header(&p, "Content-Type", value, sizeof(value)));
    assert_non_null(strstr(value, "text/plain; version=0.0.4"));
    char *text = cj_buf_steal(&p.body);
    parsed_done(&p);
    return text;
}

static void test_metrics(void **state)
{
    struct server_fixture f;
    struct parsed p = {0};
    struct watcher w;

    fx_start(&f, 0, 16);
    for (size_t i = 0; i < 7; i++)
        put_job(&f, i, i < 3, 0);

    char *m = get_metrics(&f);
    static const char *const families[] = {
        "copyjobd_jobs",
        "copyjobd_syncs_total",
        "copyjobd_api_calls_total",
        "copyjobd_api_errors_total",
        "copyjobd_api_retries_total",
        "copyjobd_last_success_timestamp_seconds",
        "copyjobd_sync_duration_seconds",
        "copyjobd_http_requests_total",
        "copyjobd_http_connections_open",
        "copyjobd_store_map_bytes",
        "copyjobd_events_last_seq",
    };
    for (size_t i = 0; i < ELEMENTSOF(families); i++) {
        char want[160];
        snprintf(want, sizeof(want), "# TYPE %s ", families[i]);
        if (!strstr(m, want))
            fail_msg("no %s in:\n%s", families[i], m);
        snprintf(want, sizeof(want), "# HELP %s ", families[i]);
        assert_non_null(strstr(m, want));
    }
    /* Per-source series carry the source's name. */
    assert_true(metric(m, "copyjobd_jobs{source=\"us-east-1\",status=\"InProgress\"}") == 4);
    assert_true(metric(m, "copyjobd_jobs{source=\"us-east-1\",status=\"Completed\"}") == 3);
    assert_true(metric(m, "copyjobd_jobs{source=\"us-east-1\",status=\"Failed\"}") == 0);
    assert_true(metric(m, "copyjobd_events_last_seq") == 7);
    assert_true(metric(m, "copyjobd_store_map_bytes") > 0);
    assert_true(metric(m, "copyjobd_http_connections_open") >= 1);
    /* No sync runs here: its counters have no series, the store's last sync says 0. */
    assert_true(
        metric(m, "copyjobd_syncs_total{source=\"us-east-1\",kind=\"quick\",result=\"ok\"}") == -1);
    assert_true(metric(m, "copyjobd_last_success_timestamp_seconds{source=\"us-east-1\"}") == 0);
    double stats_before =
        metric(m, "copyjobd_http_requests_total{endpoint=\"stats\",code=\"200\"}");
    free(m);

    /* requests move the counters, by endpoint and code */
    for (int i = 0; i < 3; i++) {
        do_request(&f, "GET", "/v1/stats", &p);
        parsed_done(&p);
    }
    do_request(&f, "GET", "/nowhere", &p);
    parsed_done(&p);
    do_request(&f, "GET", "/model-copy-jobs?maxResults=0", &p);
    assert_int_equal(p.status, 400);
    parsed_done(&p);
    do_request(&f, "PUT", "/v1/stats", &p);
    parsed_done(&p);
    watch(&f, &w, "/v1/events?after=0");
    json_decref(expect_lines(&f, &w, 7));
    put_job(&f, 8, 0, 0);

    m = get_metrics(&f);
    assert_true(metric(m, "copyjobd_http_requests_total{endpoint=\"stats\",code=\"200\"}") ==
                (stats_before < 0 ? 0 : stats_before) + 3);
    assert_true(metric(m, "copyjobd_http_requests_total{endpoint=\"other\",code=\"404\"}") == 1);
    assert_true(metric(m, "copyjobd_http_requests_total{endpoint=\"list\",code=\"400\"}") == 1);
    assert_true(metric(m, "copyjobd_http_requests_total{endpoint=\"stats\",code=\"405\"}") == 1);
    assert_true(metric(m, "copyjobd_http_requests_total{endpoint=\"events\",code=\"200\"}") == 1);
    assert_true(metric(m, "copyjobd_http_requests_total{endpoint=\"metrics\",code=\"200\"}") == 1);
    assert_true(metric(m, "copyjobd_events_watchers") == 1);
    assert_true(metric(m, "copyjobd_events_last_seq") == 8);
    assert_true(metric(m, "copyjobd_http_connections_open") >= 2);
    free(m);
    client_close(&w.c);

    /* HEAD works too; the label escaping is Prometheus' */
    do_request(&f, "HEAD", "/metrics", &p);
    assert_int_equal(p.status, 200);
    parsed_done(&p);
    server_fixture_close(&f);
}

/* ---- limits ---- */

/* A client that sends its request a byte at a time is closed at the header deadline, whether
 * it is the connection's first request or a later one; others are served meanwhile. */
static void test_request_deadline(void **state)
{
    struct server_fixture f;
    struct client slow, later;
    struct parsed p = {0};

    fx_test.header_timeout_s = 1;
    fx_start(&f, 0, 16);
    fx_test = (struct cj_test_settings){0};

    client_open(&f, &slow);
    client_open(&f, &later);
    /* `later` completes a request, then dribbles the next one's headers */
    assert_true(client_send(&f, &later, "GET /v1/stats HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert_true(client_wait_for(&f, &later, response_complete, NULL, WAIT_NS));
    assert_true(parse_response(&later, &p));
    assert_int_equal(p.status, 200);
    parsed_done(&p);
    cj_buf_reset(&later.in);
    assert_true(client_send(&f, &later, "GET /v1/stats HTTP/1.1\r\n"));

    const char *req =
        "GET /v1/stats HTTP/1.1\r\nHost: x\r\nX-Slow: "
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    int64_t start = mono_ns();
    size_t sent = 0;
    bool later_sent_ok = true;
    while (!slow.closed || !later.closed) {
        /* a byte each 100 ms: always active, never complete within the test */
        if (!slow.closed && sent < strlen(req) - 4 && !client_send_len(&f, &slow, req + sent, 1))
            slow.closed = true;
        if (!later.closed && later_sent_ok)
            later_sent_ok = client_send(&f, &later, "X");
        sent++;
        int64_t next = mono_ns() + 100 * 1000 * 1000;
        while (mono_ns() < next)
            fx_run(&f);
        client_read(&slow);
        client_read(&later);
        if (mono_ns() - start > WAIT_NS)
            fail_msg("the slow clients were not closed (sent %zu bytes)", sent);
        /* meanwhile a well-behaved client is served */
        if (sent % 5 == 0) {
            do_request(&f, "GET", "/v1/stats", &p);
            assert_int_equal(p.status, 200);
            parsed_done(&p);
        }
    }
    assert_true(sent < strlen(req) - 4); /* closed before it could finish */
    assert_null(slow.in.data && memmem(slow.in.data, slow.in.len, "200 OK", 6) ? "answered" : NULL);
    client_close(&slow);
    client_close(&later);

    char *m = get_metrics(&f);
    assert_true(metric(m, "copyjobd_http_request_timeouts_total") >= 2);
    free(m);
    server_fixture_close(&f);
}

/* Idle keep-alive connections close after the idle timeout; a watcher waiting for events
 * does not. */
static void test_idle_timeout(void **state)
{
    struct server_fixture f;
    struct client idle;
    struct watcher w;
    struct parsed p = {0};

    fx_test.idle_timeout_s = 1;
    fx_test.heartbeat_s = 3600;
    fx_start(&f, 0, 16);
    fx_test = (struct cj_test_settings){0};

    watch(&f, &w, "/v1/events");
    client_open(&f, &idle);
    assert_true(client_send(&f, &idle, "GET /v1/stats HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert_true(client_wait_for(&f, &idle, response_complete, NULL, WAIT_NS));
    assert_false(idle.closed); /* keep-alive */
    assert_true(client_wait_for(&f, &idle, is_closed, NULL, WAIT_NS));
    /* the watcher outlived it (3 idle timeouts at least), then gets its event */
    int64_t until = mono_ns() + 3 * CJ_NSEC_PER_SEC;
    while (mono_ns() < until) {
        fx_run(&f);
        client_read(&w.c);
    }
    assert_false(w.c.closed);
    put_job(&f, 1, 0, 0);
    json_t *lines = expect_lines(&f, &w, 1);
    assert_int_equal(json_array_size(lines), 1);
    json_decref(lines);
    do_request(&f, "GET", "/v1/stats", &p);
    assert_int_equal(p.status, 200);
    parsed_done(&p);
    client_close(&idle);
    client_close(&w.c);
    server_fixture_close(&f);
}

/* More connections than max_connections: the extra ones are refused or wait; the ones in
 * keep being served. */
static bool refused_with(struct server_fixture *f, struct client *c, int status, const char *type)
{
    struct parsed p = {0};
    char value[128];

    if (!client_wait_for(f, c, is_closed, NULL, WAIT_NS) || !parse_response(c, &p))
        return false;
    bool ok = p.status == status && find_header(&p, "x-amzn-ErrorType", value, sizeof(value)) &&
              strcmp(value, type) == 0;
    parsed_done(&p);
    return ok;
}

/* max_connections counts over every listener; one peer (here this uid on the Unix socket)
 * holds at most 3/4 of them; loopback TCP is another peer. Refused connections are answered
 * in Bedrock's shape and closed. */
static void test_max_connections(void **state)
{
    struct server_fixture f;
    struct client in[3], extra[2], tcp[2];
    struct parsed p = {0};
    const char *req = "GET /v1/stats HTTP/1.1\r\nHost: x\r\n\r\n";
    char spec[64], tcp_req[128];
    unsigned short port = free_port();

    snprintf(spec, sizeof(spec), "127.0.0.1:%u", port);
    snprintf(tcp_req, sizeof(tcp_req), "GET /v1/stats HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n",
             port);
    assert_int_equal(fx_start_tcp(&f, 0, 4, spec, false), 0);
    for (size_t i = 0; i < ELEMENTSOF(in); i++) {
        client_open(&f, &in[i]);
        assert_true(client_send(&f, &in[i], req));
        assert_true(client_wait_for(&f, &in[i], response_complete, NULL, WAIT_NS));
        assert_true(parse_response(&in[i], &p));
        assert_int_equal(p.status, 200);
        parsed_done(&p);
        cj_buf_reset(&in[i].in);
    }
    /* this uid holds its 3 of 4 */
    for (size_t i = 0; i < ELEMENTSOF(extra); i++) {
        client_open(&f, &extra[i]);
        assert_true(refused_with(&f, &extra[i], 429, "ThrottlingException"));
    }
    /* loopback TCP is another peer: the fourth connection */
    client_open_tcp(&tcp[0], port);
    assert_true(client_send(&f, &tcp[0], tcp_req));
    assert_true(client_wait_for(&f, &tcp[0], response_complete, NULL, WAIT_NS));
    assert_true(parse_response(&tcp[0], &p));
    assert_int_equal(p.status, 200);
    parsed_done(&p);
    /* and the server is full, over both listeners */
    client_open_tcp(&tcp[1], port);
    assert_true(refused_with(&f, &tcp[1], 503, "ServiceUnavailableException"));

    /* the connections in are still served */
    for (size_t i = 0; i < ELEMENTSOF(in); i++) {
        cj_buf_reset(&in[i].in);
        assert_true(client_send(&f, &in[i], req));
        assert_true(client_wait_for(&f, &in[i], response_complete, NULL, WAIT_NS));
        assert_true(parse_response(&in[i], &p));
        assert_int_equal(p.status, 200);
        parsed_done(&p);
    }
    /* room again: a new client gets through */
    for (size_t i = 0; i < ELEMENTSOF(in); i++)
        client_close(&in[i]);
    int64_t deadline = mono_ns() + WAIT_NS;
    for (;;) {
        struct client c;
        client_open(&f, &c);
        bool sent = client_send(&f, &c, req);
        if (sent && client_wait_for(&f, &c, response_complete, NULL, WAIT_NS) &&
            parse_response(&c, &p) && p.status == 200) {
            parsed_done(&p);
            client_close(&c);
            break;
        }
        parsed_done(&p);
        client_close(&c);
        assert_true(mono_ns() < deadline);
    }
    for (size_t i = 0; i < ELEMENTSOF(extra); i++)
        client_close(&extra[i]);
    for (size_t i = 0; i < ELEMENTSOF(tcp); i++)
        client_close(&tcp[i]);
    server_fixture_close(&f);
}

/* One uid cannot take every connection: another user's process (uid 65534, forked and
 * setuid, so root only) holds all it may of 4, and root's requests still get through. */
static void test_peer_share_uid(void **state)
{
    struct server_fixture f;
    struct parsed p = {0};
    int ready[2], done[2];

    if (geteuid() != 0) {
        print_message("not root: the per-uid share needs a second uid; skipped\n");
        skip();
    }
    server_fixture_open(&f, tmpdir, "api.sock", 0);
    f.settings.server.socket_mode = 0666;
    f.settings.server.max_connections = 4;
    assert_int_equal(server_fixture_serve(&f), 0);
    assert_int_equal(chmod(tmpdir, 0711), 0);
    assert_int_equal(chmod(f.dir, 0711), 0);
    assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
    assert_int_equal(pipe2(done, O_CLOEXEC), 0);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* The other user: connects four times, sends nothing, waits to be told to go. */
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        size_t len = strlen(f.socket_path);
        if (len >= sizeof(sa.sun_path))
            _exit(1);
        memcpy(sa.sun_path, f.socket_path, len + 1);
        if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
            _exit(2);
        for (int i = 0; i < 4; i++) {
            int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                _exit(3);
        }
        char c = 'r';
        if (write(ready[1], &c, 1) != 1)
            _exit(4);
        (void)read(done[0], &c, 1);
        _exit(0);
    }
    close(ready[1]);
    close(done[0]);
    char c = 0;
    assert_int_equal(read(ready[0], &c, 1), 1);
    /* The server accepts them: 3 held, 1 refused. */
    for (int i = 0; i < 20; i++)
        assert_true(sd_event_run(f.event, 20 * 1000) >= 0);

    for (int i = 0; i < 2; i++) {
        do_request(&f, "GET", "/v1/stats", &p);
        assert_int_equal(p.status, 200);
        parsed_done(&p);
    }
    c = 'x';
    assert_int_equal(write(done[1], &c, 1), 1);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(ready[0]);
    close(done[1]);
    assert_int_equal(chmod(tmpdir, 0700), 0);
    server_fixture_close(&f);
}

/* 10 MB of headers: refused with a 4xx or closed, without buffering it; others served. */
static void test_oversized_request(void **state)
{
    struct server_fixture f;
    struct client big;
    struct parsed p = {0};
    const size_t total = 10 * 1024 * 1024;

    fx_start(&f, 0, 16);
    client_open(&f, &big);
    char *filler = malloc(64 * 1024 + 1);
    assert_non_null(filler);
    memset(filler, 'a', 64 * 1024);
    filler[64 * 1024] = '\0';
    assert_true(client_send(&f, &big, "GET /v1/stats HTTP/1.1\r\nHost: x\r\nX-Big: "));
    size_t sent = 0;
    while (sent < total && client_send(&f, &big, filler)) {
        sent += 64 * 1024;
        client_read(&big);
        if (big.closed)
            break;
    }
    free(filler);
    assert_true(client_wait_for(&f, &big, is_closed, NULL, WAIT_NS));
    if (parse_response(&big, &p))
        assert_true(p.status >= 400 && p.status < 500);
    parsed_done(&p);
    assert_true(sent < total); /* it stopped reading long before the end */
    client_close(&big);

    /* a long query string too */
    char *target = malloc(200 * 1024);
    assert_non_null(target);
    strcpy(target, "/model-copy-jobs?x=");
    memset(target + strlen(target), 'b', 150 * 1024);
    target[strlen("/model-copy-jobs?x=") + 150 * 1024] = '\0';
    client_open(&f, &big);
    char *req = malloc(210 * 1024);
    assert_non_null(req);
    snprintf(req, 210 * 1024, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", target);
    (void)client_send(&f, &big, req);
    assert_true(client_wait_for(&f, &big, response_complete, NULL, WAIT_NS));
    if (parse_response(&big, &p))
        assert_true(p.status >= 400 && p.status < 500);
    parsed_done(&p);
    client_close(&big);
    free(req);
    free(target);

    do_request(&f, "GET", "/v1/stats", &p);
    assert_int_equal(p.status, 200);
    parsed_done(&p);
    server_fixture_close(&f);
}

/* ---- TCP ---- */

static void test_tcp_remote_opt_in(void **state)
{
    struct server_fixture f;
    struct client c;
    struct parsed p = {0};
    char spec[64];

    /* a non-loopback address (TEST-NET-1, never bound here): refused unless allowed; when
     * allowed, the only failure left is that this machine does not have that address */
    unsigned short port = free_port();
    snprintf(spec, sizeof(spec), "192.0.2.1:%u", port);
    assert_int_equal(fx_start_tcp(&f, 0, 16, spec, false), -EPERM);
    f.server = NULL;
    server_fixture_close(&f);
    int r = fx_start_tcp(&f, 0, 16, spec, true);
    assert_true(r < 0 && r != -EPERM);
    f.server = NULL;
    server_fixture_close(&f);
    snprintf(spec, sizeof(spec), "[2001:db8::1]:%u", port);
    assert_int_equal(fx_start_tcp(&f, 0, 16, spec, false), -EPERM);
    f.server = NULL;
    server_fixture_close(&f);

    /* loopback with the opt-in set works as before; an SDK's headers are ignored */
    snprintf(spec, sizeof(spec), "127.0.0.1:%u", port);
    assert_int_equal(fx_start_tcp(&f, 0, 16, spec, true), 0);
    put_job(&f, 1, 0, 0);
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    client_open_addr(&c, (struct sockaddr *)&sa, sizeof(sa));
    char req[2048];
    snprintf(req, sizeof(req),
             "GET /model-copy-jobs?maxResults=2&sortOrder=Ascending HTTP/1.1\r\n"
             "Host: 127.0.0.1:%u\r\n"
             "Content-Type: application/json\r\n"
             "amz-sdk-invocation-id: 5d3bb4a6-0d41-4b0c-9a59-1d0b5c0c4c36\r\n"
             "amz-sdk-request: attempt=1; max=3\r\n"
             "x-amz-date: 20240501T000000Z\r\n"
             "x-amz-content-sha256: "
             "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\r\n"
             "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240501/us-east-1/bedrock/"
             "aws4_request, SignedHeaders=host;x-amz-date, Signature=00\r\n"
             "User-Agent: aws-sdk-js/3.0.0\r\n"
             "Content-Length: 0\r\n\r\n",
             port);
    assert_true(client_send(&f, &c, req));
    assert_true(client_wait_for(&f, &c, response_complete, NULL, WAIT_NS));
    assert_true(parse_response(&c, &p));
    assert_int_equal(p.status, 200);
    json_t *j = json_loads(p.body.data, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(j, "modelCopyJobSummaries")), 1);
    json_decref(j);
    parsed_done(&p);
    client_close(&c);
    server_fixture_close(&f);
}

static int group_setup(void **state)
{
    cj_log_set_max_level(LOG_WARNING);
    if (!mkdtemp(tmpdir))
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_backlog_then_live),
        cmocka_unit_test(test_events_gaps),
        cmocka_unit_test(test_events_errors),
        cmocka_unit_test(test_events_stuck_watcher),
        cmocka_unit_test(test_events_watcher_limit_and_stop),
        cmocka_unit_test(test_events_abandoned),
        cmocka_unit_test(test_events_heartbeat),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_request_deadline),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_max_connections),
        cmocka_unit_test(test_peer_share_uid),
        cmocka_unit_test(test_oversized_request),
        cmocka_unit_test(test_tcp_remote_opt_in),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
