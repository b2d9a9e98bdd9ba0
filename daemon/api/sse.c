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

int api_sse_parse_last_event_id(const char *value, uint64_t *ret)
{
    if (!value || !ret)
        return -EINVAL;
    while (is_space(*value))
        value++;
    size_t n = strspn(value, "0123456789");
    if (n == 0 || n > 20)
        return -EINVAL;
    for (const char *t = value + n; *t; t++)
        if (!is_space(*t))
            return -EINVAL;

    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(value[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -EINVAL;
        v = v * 10 + d;
    }
    if (v == UINT64_MAX)
        return -EINVAL;
    *ret = v;
    return 0;
}

int api_sse_append_open(struct cj_buf *b, uint64_t pos, bool with_id)
{
    if (!with_id)
        return cj_buf_printf(b, "retry: %u\n\n", CJ_SSE_RETRY_MS);
    return cj_buf_printf(b, "retry: %u\nid: %" PRIu64 "\n\n", CJ_SSE_RETRY_MS, pos);
}

int api_sse_append_event(struct cj_buf *b, uint64_t seq, const char *type, const char *job,
                         size_t len)
{
    int r = cj_buf_printf(
        b, "id: %" PRIu64 "\nevent: %s\ndata: {\"seq\":%" PRIu64 ",\"type\":\"%s\",\"job\":", seq,
        type, seq, type);
    if (r < 0)
        return r;
    size_t start = b->len;
    r = cj_buf_append(b, job, len);
    if (r < 0)
        return r;
    for (size_t i = start; i < b->len; i++)
        if (b->data[i] == '\n' || b->data[i] == '\r')
            b->data[i] = ' ';
    return cj_buf_append_str(b, "}\n\n");
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
