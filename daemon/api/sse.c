/* SPDX-License-Identifier: MIT */
/* Server-Sent Events framing, see sse.h. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include "sse.h"

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* One media range of an Accept header, [s, e): does it name text/event-stream, q > 0? */
static bool range_accepts(const char *s, const char *e)
{
    static const char want[] = "text/event-stream";

    while (s < e && is_space(*s))
        s++;
    const char *type_end = s;
    while (type_end < e && *type_end != ';')
        type_end++;
    const char *t = type_end;
    while (t > s && is_space(t[-1]))
        t--;
    if ((size_t)(t - s) != strlen(want) || strncasecmp(s, want, strlen(want)) != 0)
        return false;

    /* Parameters: only q matters; "q=0", "q=0.0", "q=0.000" refuse. */
    for (const char *p = type_end; p < e;) {
        p++; /* the ';' */
        while (p < e && is_space(*p))
            p++;
        const char *pe = p;
        while (pe < e && *pe != ';')
            pe++;
        if (pe - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            const char *v = p + 2;
            bool zero = v < pe && *v == '0';
            for (const char *c = v + 1; zero && c < pe && !is_space(*c); c++)
                if (*c != '.' && *c != '0')
                    zero = false;
            if (zero)
                return false;
        }
        p = pe;
    }
    return true;
}

bool api_sse_accepts(const char *accept)
{
    if (!accept)
        return false;
    for (const char *s = accept;;) {
        const char *e = strchr(s, ',');
        if (!e)
            e = s + strlen(s);
        if (range_accepts(s, e))
            return true;
        if (*e == '\0')
            return false;
        s = e + 1;
    }
}

static bool is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

int api_event_pos_parse(const char *value, bool spaces, struct api_event_pos *ret)
{
    struct api_event_pos pos = {0};

    if (!value || !ret)
        return -EINVAL;
    while (spaces && is_space(*value))
        value++;
    size_t h = 0;
    while (h <= CJ_STORE_ID_LEN && is_lower_hex(value[h]))
        h++;
    if (h == CJ_STORE_ID_LEN && value[h] == '-') {
        pos.has_store = true;
        memcpy(pos.store, value, CJ_STORE_ID_LEN);
        value += CJ_STORE_ID_LEN + 1;
    }
    size_t n = strspn(value, "0123456789");
    if (n == 0 || n > 20)
        return -EINVAL;
    for (const char *t = value + n; *t; t++)
        if (!spaces || !is_space(*t))
            return -EINVAL;

    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(value[i] - '0');
        if (pos.seq > (UINT64_MAX - d) / 10)
            return -EINVAL;
        pos.seq = pos.seq * 10 + d;
    }
    if (pos.seq == UINT64_MAX)
        return -EINVAL;
    *ret = pos;
    return 0;
}

int api_sse_parse_last_event_id(const char *value, struct api_event_pos *ret)
{
    return api_event_pos_parse(value, true, ret);
}

int api_event_pos_append(struct cj_buf *b, const char *store_id, uint64_t seq)
{
    if (!store_id || !*store_id)
        return cj_buf_printf(b, "%" PRIu64, seq);
    return cj_buf_printf(b, "%s-%" PRIu64, store_id, seq);
}

int api_event_append_json(struct cj_buf *b, const char *store_id, uint64_t seq, const char *type,
                          const char *job, size_t len)
{
    int r = cj_buf_printf(b, "{\"seq\":%" PRIu64 ",\"id\":\"", seq);
    if (r >= 0)
        r = api_event_pos_append(b, store_id, seq);
    if (r >= 0)
        r = cj_buf_printf(b, "\",\"type\":\"%s\",\"job\":", type);
    if (r < 0)
        return r;
    size_t start = b->len;
    r = cj_buf_append(b, job, len);
    if (r < 0)
        return r;
    for (size_t i = start; i < b->len; i++)
        if (b->data[i] == '\n' || b->data[i] == '\r')
            b->data[i] = ' ';
    return cj_buf_append_char(b, '}');
}

int api_sse_append_open(struct cj_buf *b, const char *store_id, uint64_t pos, bool with_id)
{
    if (!with_id)
        return cj_buf_printf(b, "retry: %u\n\n", CJ_SSE_RETRY_MS);
    int r = cj_buf_printf(b, "retry: %u\nid: ", CJ_SSE_RETRY_MS);
    if (r >= 0)
        r = api_event_pos_append(b, store_id, pos);
    if (r >= 0)
        r = cj_buf_append_str(b, "\n\n");
    return r;
}

int api_sse_append_event(struct cj_buf *b, const char *store_id, uint64_t seq, const char *type,
                         const char *job, size_t len)
{
    int r = cj_buf_append_str(b, "id: ");
    if (r >= 0)
        r = api_event_pos_append(b, store_id, seq);
    if (r >= 0)
        r = cj_buf_printf(b, "\nevent: %s\ndata: ", type);
    if (r >= 0)
        r = api_event_append_json(b, store_id, seq, type, job, len);
    if (r >= 0)
        r = cj_buf_append_str(b, "\n\n");
    return r;
}

int api_sse_append_gap(struct cj_buf *b, uint64_t after, uint64_t first_seq)
{
    return cj_buf_printf(b,
                         "event: gap\ndata: {\"type\":\"gap\",\"after\":%" PRIu64
                         ",\"firstSeq\":%" PRIu64 "}\n\n",
                         after, first_seq);
}

int api_sse_append_heartbeat(struct cj_buf *b)
{
    return cj_buf_append_str(b, ": heartbeat\n\n");
}
