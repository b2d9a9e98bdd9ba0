/* SPDX-License-Identifier: MIT */
/* Turning a handler's reply into an HTTP response: AWS-shaped errors, the request id every
 * answer carries, and the Age / x-copyjobd-synced-at headers of answers from the cache. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cj-time.h"
#include "log.h"
#include "server-internal.h"

/* The longest message of an error body, in bytes. */
#define ERROR_MESSAGE_MAX 1024

/* The length of the strict UTF-8 sequence at s[0..n) (no overlong form, no surrogate, nothing
 * past U+10FFFF), or 0 when the bytes there are not one. */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t cp, min;

    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xe0) == 0xc0)
        len = 2, cp = s[0] & 0x1f, min = 0x80;
    else if ((s[0] & 0xf0) == 0xe0)
        len = 3, cp = s[0] & 0x0f, min = 0x800;
    else if ((s[0] & 0xf8) == 0xf0)
        len = 4, cp = s[0] & 0x07, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* Copies msg[0..len) into out (at least ERROR_MESSAGE_MAX + 1 bytes) as valid UTF-8 of at most
 * ERROR_MESSAGE_MAX bytes: every byte that does not begin a valid sequence becomes U+FFFD, and
 * a message too long is cut between two characters and ends with "...". Returns its length. */
static size_t sanitise_message(const char *msg, size_t len, char *out)
{
    static const char replacement[] = "\xef\xbf\xbd", ellipsis[] = "...";
    const unsigned char *s = (const unsigned char *)msg;
    size_t o = 0, cut = 0;

    for (size_t i = 0; i < len;) {
        size_t n = utf8_sequence(s + i, len - i);
        const void *piece = n ? (const void *)(s + i) : replacement;
        size_t plen = n ? n : sizeof(replacement) - 1;
        if (o + plen > ERROR_MESSAGE_MAX) {
            memcpy(out + cut, ellipsis, sizeof(ellipsis) - 1);
            return cut + sizeof(ellipsis) - 1;
        }
        memcpy(out + o, piece, plen);
        o += plen;
        if (o <= ERROR_MESSAGE_MAX - (sizeof(ellipsis) - 1))
            cut = o; /* where "..." still fits after this character */
        i += n ? n : 1;
    }
    return o;
}

/* Every error message passes here, and many quote what the client sent (a path, a value): the
 * body is always valid UTF-8 JSON and at most about ERROR_MESSAGE_MAX bytes of message. */
int api_reply_error(struct cj_reply *reply, unsigned status, const char *type, const char *fmt, ...)
{
    char raw[2 * ERROR_MESSAGE_MAX], message[ERROR_MESSAGE_MAX + 1];
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(raw, sizeof(raw), fmt, ap);
    va_end(ap);
    /* A message cut here is longer than the limit anyway: the cut below comes first. */
    size_t len = n < 0 ? 0 : (size_t)n >= sizeof(raw) ? sizeof(raw) - 1 : (size_t)n;
    len = sanitise_message(raw, len, message);

    cj_buf_reset(&reply->body);
    reply->status = status;
    reply->error_type = type;
    int r = cj_buf_append_str(&reply->body, "{\"message\":");
    if (r >= 0)
        r = cj_buf_append_json_string(&reply->body, message, len);
    if (r >= 0)
        r = cj_buf_append_char(&reply->body, '}');
    return r;
}

int api_reply_errno(struct cj_reply *reply, int r, const char *what)
{
    switch (r) {
    case -EBUSY:
    case -EAGAIN:
        return api_reply_error(reply, 503, "ServiceUnavailableException",
                               "%s: the cache is busy, try again", what);
    case -ENOMEM:
    case -E2BIG:
        return api_reply_error(reply, 500, "InternalServerException",
                               "%s: the answer does not fit in memory", what);
    default:
        return api_reply_error(reply, 500, "InternalServerException", "%s: %s", what,
                               strerror(r < 0 ? -r : r));
    }
}

void api_reply_done(struct cj_reply *reply)
{
    cj_buf_free(&reply->body);
    if (reply->response) {
        MHD_destroy_response(reply->response);
        reply->response = NULL;
    }
}

int64_t api_synced_at_ns(struct cj_server *s, const char *job_region, const char *job_account)
{
    struct cj_store_stats st;

    if (s->syncs)
        return cj_sync_set_last_success_ns(s->syncs, job_region, job_account);
    return cj_store_stats(s->store, &st) >= 0 ? st.synced_at_ns : 0;
}

/* The low `digits` hex digits of v, lowercase, at p; returns the end. Every answer formats an
 * id and an age, by hand: snprintf takes ~3,000 instructions for the two. */
static char *put_hex(char *p, uint64_t v, unsigned digits)
{
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = digits; i > 0; i--, v >>= 4)
        p[i - 1] = hex[v & 0xf];
    return p + digits;
}

/* v in decimal, NUL-terminated, in out (room for 21 bytes). */
static void put_decimal(char out[static 21], uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10) > 0);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
}

static bool add_header(struct MHD_Response *resp, const char *name, const char *value)
{
    return MHD_add_response_header(resp, name, value) == MHD_YES;
}

static bool add_cache_headers(struct cj_server *s, const struct cj_reply *reply,
                              struct MHD_Response *resp)
{
    char age[21];
    int64_t synced = api_synced_at_ns(s, reply->scope_region[0] ? reply->scope_region : NULL,
                                      reply->scope_account[0] ? reply->scope_account : NULL);

    if (synced <= 0)
        return true; /* never synced: nothing honest to say */
    if (synced != s->synced_header_ns) {
        _Static_assert(sizeof(s->synced_header) >= CJ_ISO8601_MAX, "room for a time");
        if (cj_time_format_iso8601(synced, s->synced_header, sizeof(s->synced_header)) < 0)
            return true;
        s->synced_header_ns = synced;
    }
    int64_t secs = (cj_now_ns() - synced) / CJ_NSEC_PER_SEC;
    put_decimal(age, secs < 0 ? 0 : (uint64_t)secs);
    return add_header(resp, "Age", age) &&
           add_header(resp, "x-copyjobd-synced-at", s->synced_header);
}

/* A UUID-shaped id, unique per daemon run (random prefix) and per request (counter):
 * PPPPPPPP-PPPP-PPPP-CCCC-CCCCCCCCCCCC. */
void api_format_request_id(struct cj_server *s, char out[static 37])
{
    uint64_t p = s->request_id_prefix, c = ++s->request_counter;
    char *o = out;

    o = put_hex(o, p >> 32, 8);
    *o++ = '-';
    o = put_hex(o, p >> 16, 4);
    *o++ = '-';
    o = put_hex(o, p, 4);
    *o++ = '-';
    o = put_hex(o, c >> 48, 4);
    *o++ = '-';
    o = put_hex(o, c, 12);
    *o = '\0';
}

enum MHD_Result api_reply_send(struct cj_request *req, struct cj_reply *reply)
{
    struct cj_server *s = req->server;
    struct MHD_Response *resp;
    char request_id[37];

    if (reply->response) {
        resp = TAKE_PTR(reply->response);
    } else {
        if (!reply->body.data && cj_buf_append_str(&reply->body, "{}") < 0)
            return MHD_NO;
        size_t len = reply->body.len;
        char *body = cj_buf_steal(&reply->body);
        if (!body)
            return MHD_NO;
        resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
            free(body);
            return MHD_NO;
        }
    }

    api_format_request_id(s, request_id);
    bool ok = add_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                         reply->content_type ? reply->content_type : "application/json") &&
              add_header(resp, "x-amzn-RequestId", request_id);
    if (ok && reply->error_type)
        ok = add_header(resp, "x-amzn-ErrorType", reply->error_type);
    if (ok && reply->allow)
        ok = add_header(resp, MHD_HTTP_HEADER_ALLOW, reply->allow);
    if (ok && reply->retry_after_s > 0) {
        char seconds[16];
        snprintf(seconds, sizeof(seconds), "%u", reply->retry_after_s);
        ok = add_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
    }
    if (ok && reply->from_cache)
        ok = add_cache_headers(s, reply, resp);
    if (ok && reply->content_type && !MHD_get_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL))
        ok = add_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");

    enum MHD_Result ret = ok ? MHD_queue_response(req->connection, reply->status, resp) : MHD_NO;
    MHD_destroy_response(resp);
    if (ret == MHD_NO)
        log_debug("http: cannot queue the %u response", reply->status);
    else
        api_count_request(s, req->endpoint, reply->status);
    return ret;
}
