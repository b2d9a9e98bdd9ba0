/* SPDX-License-Identifier: MIT */
#include "client.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ctl.h"

#define CONNECT_TIMEOUT_MS 5000L

struct ctl_client {
    CURL *curl;
    char *socket_path;
    long timeout_sec;
    ctl_tick_fn tick;
    void *tick_userdata;

    /* State of the request in flight. */
    struct ctl_response *resp;
    ctl_line_fn line_fn;
    void *line_userdata;
    int line_result;
    bool got_header;
    bool body_too_big;
    bool line_too_long;

    /* What went wrong last, for ctl_client_report(). */
    char errbuf[CURL_ERROR_SIZE];
};

static volatile sig_atomic_t interrupted;

void ctl_client_interrupt(void)
{
    interrupted = 1;
}

bool ctl_client_interrupted(void)
{
    return interrupted;
}

void ctl_response_done(struct ctl_response *r)
{
    cj_buf_free(&r->body);
    *r = (struct ctl_response){.age = -1};
}

int ctl_client_new(const char *socket_path, struct ctl_client **ret)
{
    if (strlen(socket_path) > CTL_SUN_PATH_MAX)
        return -ENAMETOOLONG;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -ENOMEM;

    struct ctl_client *c = calloc(1, sizeof(*c));
    if (!c) {
        curl_global_cleanup();
        return -ENOMEM;
    }
    c->socket_path = strdup(socket_path);
    c->curl = curl_easy_init();
    c->timeout_sec = 60;
    if (!c->socket_path || !c->curl) {
        ctl_client_free(c);
        return -ENOMEM;
    }
    *ret = c;
    return 0;
}

void ctl_client_free(struct ctl_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free(c->socket_path);
    free(c);
    curl_global_cleanup();
}

void ctl_client_set_timeout(struct ctl_client *c, long timeout_sec)
{
    c->timeout_sec = timeout_sec;
}

void ctl_client_set_tick(struct ctl_client *c, ctl_tick_fn fn, void *userdata)
{
    c->tick = fn;
    c->tick_userdata = userdata;
}

/* "aws.protocols#ValidationException:http://..." → "ValidationException"; only
 * [A-Za-z0-9._-] survive, so the type is safe to print. */
static void set_error_type(char *dst, size_t size, const char *src, size_t len)
{
    const char *colon = memchr(src, ':', len);
    if (colon)
        len = (size_t)(colon - src);
    for (size_t i = len; i > 0; i--)
        if (src[i - 1] == '#') {
            len -= i;
            src += i;
            break;
        }
    size_t n = 0;
    for (size_t i = 0; i < len && n + 1 < size; i++) {
        char ch = src[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '.' || ch == '_' || ch == '-')
            dst[n++] = ch;
    }
    dst[n] = '\0';
}

static bool header_is(const char *line, size_t namelen, const char *name)
{
    return namelen == strlen(name) && strncasecmp(line, name, namelen) == 0;
}

static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
    struct ctl_client *c = userdata;
    struct ctl_response *resp = c->resp;
    size_t len = size * n;

    c->got_header = true;
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* A new response (after a 1xx): forget the previous one's headers. */
        resp->error_type[0] = resp->synced_at[0] = '\0';
        resp->age = -1;
        resp->status = 0;
        const char *sp = memchr(data, ' ', len);
        if (sp && (size_t)(sp - data) + 4 <= len && isdigit((unsigned char)sp[1]) &&
            isdigit((unsigned char)sp[2]) && isdigit((unsigned char)sp[3]))
            resp->status = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
        return len;
    }

    const char *colon = memchr(data, ':', len);
    if (!colon)
        return len;
    size_t namelen = (size_t)(colon - data);
    const char *value = colon + 1, *end = data + len;
    while (value < end && (*value == ' ' || *value == '\t'))
        value++;
    while (end > value && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    size_t vlen = (size_t)(end - value);

    if (header_is(data, namelen, "x-amzn-ErrorType")) {
        set_error_type(resp->error_type, sizeof(resp->error_type), value, vlen);
    } else if (header_is(data, namelen, "x-copyjobd-synced-at")) {
        /* Printed later: keep only what a timestamp can hold. */
        size_t k = 0;
        for (size_t i = 0; i < vlen && k + 1 < sizeof(resp->synced_at); i++)
            if (strchr("0123456789-+:.TZtz ", value[i]))
                resp->synced_at[k++] = value[i];
        resp->synced_at[k] = '\0';
    } else if (header_is(data, namelen, "Age")) {
        long long age = 0;
        bool ok = vlen > 0 && vlen <= 12;
        for (size_t i = 0; ok && i < vlen; i++) {
            ok = value[i] >= '0' && value[i] <= '9';
            age = age * 10 + (value[i] - '0');
        }
        resp->age = ok ? age : -1;
    }
    return len;
}

/* Hands every complete line buffered so far to the line callback. */
static int flush_lines(struct ctl_client *c)
{
    struct cj_buf *b = &c->resp->body;
    size_t start = 0;

    for (;;) {
        char *nl = memchr(b->data + start, '\n', b->len - start);
        if (!nl)
            break;
        size_t end = (size_t)(nl - b->data), linelen = end - start;
        if (linelen > 0 && b->data[end - 1] == '\r')
            linelen--;
        b->data[start + linelen] = '\0';
        int r = c->line_fn(b->data + start, linelen, c->line_userdata);
        start = end + 1;
        if (r < 0) {
            c->line_result = r;
            return r;
        }
    }
    memmove(b->data, b->data + start, b->len - start);
    b->len -= start;
    b->data[b->len] = '\0';
    if (b->len > CTL_MAX_LINE) {
        c->line_too_long = true;
        return -EMSGSIZE;
    }
    return 0;
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
    struct ctl_client *c = userdata;
    struct ctl_response *resp = c->resp;
    size_t len = size * n;
    bool streaming = c->line_fn && resp->status >= 200 && resp->status < 300;

    if (cj_buf_append(&resp->body, data, len) < 0) {
        c->body_too_big = !streaming;
        c->line_too_long = streaming;
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    }
    if (streaming && flush_lines(c) < 0)
        return 0;
    return len;
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct ctl_client *c = userdata;

    if (interrupted)
        return 1;
    if (c->tick)
        c->tick(c->tick_userdata);
    return 0;
}

#define SETOPT(c, opt, val)                                                                        \
    do {                                                                                           \
        if (curl_easy_setopt((c), (opt), (val)) != CURLE_OK)                                       \
            return -EINVAL;                                                                        \
    } while (0)

static int setup(struct ctl_client *c, const char *method, const char *url,
                 struct curl_slist *headers)
{
    CURL *h = c->curl;

    /* Reset keeps the live connection, so the next request reuses it. */
    curl_easy_reset(h);
    c->errbuf[0] = '\0';
    SETOPT(h, CURLOPT_UNIX_SOCKET_PATH, c->socket_path);
    SETOPT(h, CURLOPT_URL, url);
    SETOPT(h, CURLOPT_PROTOCOLS_STR, "http");
    SETOPT(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    SETOPT(h, CURLOPT_NOSIGNAL, 1L);
    SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    SETOPT(h, CURLOPT_TIMEOUT, c->timeout_sec);
    SETOPT(h, CURLOPT_USERAGENT, "copyjobctl/" CJ_VERSION);
    SETOPT(h, CURLOPT_HTTPHEADER, headers);
    SETOPT(h, CURLOPT_ERRORBUFFER, c->errbuf);
    SETOPT(h, CURLOPT_HEADERFUNCTION, on_header);
    SETOPT(h, CURLOPT_HEADERDATA, c);
    SETOPT(h, CURLOPT_WRITEFUNCTION, on_body);
    SETOPT(h, CURLOPT_WRITEDATA, c);
    SETOPT(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    SETOPT(h, CURLOPT_XFERINFODATA, c);
    SETOPT(h, CURLOPT_NOPROGRESS, 0L);
    if (strcmp(method, "POST") == 0) {
        SETOPT(h, CURLOPT_POST, 1L);
        SETOPT(h, CURLOPT_POSTFIELDS, "");
        SETOPT(h, CURLOPT_POSTFIELDSIZE, 0L);
    } else if (strcmp(method, "GET") == 0) {
        SETOPT(h, CURLOPT_HTTPGET, 1L);
    } else {
        return -EINVAL;
    }
    return 0;
}

static int perform(struct ctl_client *c, const char *method, const char *target, const char *accept,
                   struct ctl_response *resp)
{
    _cleanup_buf_ struct cj_buf url = {0};
    struct curl_slist *headers = NULL, *h;
    int r;

    *resp = (struct ctl_response){.age = -1};
    resp->body.limit = c->line_fn ? CTL_MAX_LINE + CURL_MAX_WRITE_SIZE : CTL_MAX_BODY;
    c->resp = resp;
    c->line_result = 0;
    c->got_header = c->body_too_big = c->line_too_long = false;

    if (cj_buf_printf(&url, "http://localhost%s", target) < 0)
        return -ENOMEM;
    /* Expect: only slows a POST down; an empty Accept-Encoding is not sent. */
    h = curl_slist_append(NULL, accept);
    if (h)
        headers = h, h = curl_slist_append(headers, "Expect:");
    if (!h) {
        curl_slist_free_all(headers);
        return -ENOMEM;
    }

    r = setup(c, method, url.data, headers);
    if (r < 0) {
        curl_slist_free_all(headers);
        return r;
    }
    CURLcode code = curl_easy_perform(c->curl);
    curl_slist_free_all(headers);
    /* The list is gone: the handle must not point at it. */
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);

    long os_errno = 0, status = 0;
    curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &os_errno);
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    switch (code) {
    case CURLE_OK:
        resp->status = status;
        if (c->line_fn && status >= 200 && status < 300 && resp->body.len > 0) {
            /* A last line without its newline still counts. */
            if (cj_buf_append_char(&resp->body, '\n') < 0)
                return -ENOMEM;
            r = flush_lines(c);
            if (r < 0)
                return r;
        }
        return 0;
    case CURLE_ABORTED_BY_CALLBACK:
        return interrupted ? -ECANCELED : -EIO;
    case CURLE_WRITE_ERROR:
        if (c->body_too_big)
            return -EFBIG;
        if (c->line_too_long)
            return -EMSGSIZE;
        if (c->line_result < 0)
            return c->line_result;
        return -EIO;
    case CURLE_COULDNT_CONNECT:
        return os_errno > 0 ? -(int)os_errno : -ECONNREFUSED;
    case CURLE_OPERATION_TIMEDOUT:
        return c->got_header ? -ETIME : -ETIMEDOUT;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
        return -ECONNRESET;
    case CURLE_OUT_OF_MEMORY:
        return -ENOMEM;
    default:
        return -EPROTO;
    }
}

int ctl_client_request(struct ctl_client *c, const char *method, const char *target,
                       struct ctl_response *ret)
{
    c->line_fn = NULL;
    return perform(c, method, target, "Accept: application/json", ret);
}

int ctl_client_stream(struct ctl_client *c, const char *target, ctl_line_fn fn, void *userdata,
                      struct ctl_response *ret)
{
    c->line_fn = fn;
    c->line_userdata = userdata;
    int r = perform(c, "GET", target, "Accept: application/x-ndjson", ret);
    c->line_fn = NULL;
    return r;
}

int ctl_client_report(const struct ctl_client *c, int r)
{
    const char *path = c->socket_path;

    /* ctl_error() sanitises: curl's message may quote what the other end sent. */
    switch (-r) {
    case ENOENT:
    case ECONNREFUSED:
    case ENOTDIR:
    case ENOTSOCK:
    case EPROTOTYPE:
        ctl_error("cannot reach copyjobd at %s: is copyjobd running? "
                  "(systemctl status copyjobd.socket)",
                  path);
        return CTL_EXIT_UNREACHABLE;
    case EACCES:
    case EPERM:
        ctl_error("cannot reach copyjobd at %s: permission denied: "
                  "is your user in group copyjobd?",
                  path);
        return CTL_EXIT_UNREACHABLE;
    case ETIMEDOUT:
    case EAGAIN:
        ctl_error("copyjobd at %s did not answer in time: is it overloaded?", path);
        return CTL_EXIT_UNREACHABLE;
    case ETIME:
        return ctl_error("copyjobd at %s started answering but did not finish in time", path);
    case ECONNRESET:
        return ctl_error("copyjobd at %s closed the connection before answering%s%s", path,
                         c->errbuf[0] ? ": " : "", c->errbuf);
    case EFBIG:
        return ctl_error("copyjobd's answer is larger than %zu MiB; refusing it",
                         CTL_MAX_BODY / (1024 * 1024));
    case EMSGSIZE:
        return ctl_error("copyjobd sent a line longer than %zu KiB; refusing it",
                         CTL_MAX_LINE / 1024);
    case ECANCELED:
        ctl_error("interrupted");
        return 128 + SIGINT;
    case EPROTO:
        return ctl_error("talking to copyjobd at %s: %s", path,
                         c->errbuf[0] ? c->errbuf : "protocol error");
    default:
        return ctl_error("talking to copyjobd at %s: %s", path, strerror(-r));
    }
}

/* The first string member of `names` in the object, or NULL. */
static const char *json_first_string(json_t *obj, const char *const *names)
{
    for (; *names; names++) {
        const char *s = json_string_value(json_object_get(obj, *names));
        if (s)
            return s;
    }
    return NULL;
}

int ctl_response_report_error(const struct ctl_response *resp)
{
    _cleanup_buf_ struct cj_buf line = {0};
    char type[sizeof(resp->error_type)];
    const char *message = NULL;
    json_t *body = NULL;

    snprintf(type, sizeof(type), "%s", resp->error_type);
    if (resp->body.len > 0) {
        body = json_loadb(resp->body.data, resp->body.len, 0, NULL);
        if (json_is_object(body)) {
            message = json_first_string(body, (const char *const[]){"message", "Message", NULL});
            const char *t =
                json_first_string(body, (const char *const[]){"__type", "code", "Code", NULL});
            if (!type[0] && t)
                set_error_type(type, sizeof(type), t, strlen(t));
        }
    }

    int r = cj_buf_append_str(&line, "");
    if (r >= 0 && type[0])
        r = cj_buf_printf(&line, "%s: ", type);
    else if (r >= 0)
        r = cj_buf_printf(&line, "copyjobd answered HTTP %ld%s", resp->status, message ? ": " : "");
    if (r >= 0 && message)
        r = cj_buf_append_str(&line, message);
    else if (r >= 0 && type[0])
        r = cj_buf_printf(&line, "(HTTP %ld)", resp->status);
    json_decref(body);
    if (r < 0)
        return ctl_error("copyjobd answered HTTP %ld", resp->status);
    return ctl_error("%s", line.data);
}

int ctl_query_add(struct cj_buf *query, const char *key, const char *value)
{
    char *escaped = curl_easy_escape(NULL, value, 0);
    if (!escaped)
        return -ENOMEM;
    int r = cj_buf_printf(query, "%c%s=%s",
                          query->len == 0 || !strchr(query->data, '?') ? '?' : '&', key, escaped);
    curl_free(escaped);
    return r;
}

int ctl_append_escaped(struct cj_buf *out, const char *s)
{
    char *escaped = curl_easy_escape(NULL, s, 0);
    if (!escaped)
        return -ENOMEM;
    int r = cj_buf_append_str(out, escaped);
    curl_free(escaped);
    return r;
}
