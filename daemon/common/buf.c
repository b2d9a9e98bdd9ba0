/* SPDX-License-Identifier: MIT */
#include "cj-buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t buf_limit(const struct cj_buf *b)
{
    return b->limit ? b->limit : CJ_BUF_DEFAULT_LIMIT;
}

int cj_buf_grow(struct cj_buf *b, size_t extra)
{
    size_t need;

    if (__builtin_add_overflow(b->len, extra, &need) || __builtin_add_overflow(need, 1, &need))
        return -E2BIG;
    if (need > buf_limit(b) + 1)
        return -E2BIG;
    if (need <= b->cap)
        return 0;

    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;

    char *p = realloc(b->data, cap);
    if (!p)
        return -ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int cj_buf_append(struct cj_buf *b, const void *data, size_t len)
{
    int r = cj_buf_reserve(b, len);
    if (r < 0)
        return r;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int cj_buf_append_str(struct cj_buf *b, const char *s)
{
    return cj_buf_append(b, s, strlen(s));
}

int cj_buf_append_char(struct cj_buf *b, char c)
{
    return cj_buf_append(b, &c, 1);
}

int cj_buf_printf(struct cj_buf *b, const char *fmt, ...)
{
    va_list ap;
    char small[256];

    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    if ((size_t)n < sizeof(small))
        return cj_buf_append(b, small, (size_t)n);

    int r = cj_buf_reserve(b, (size_t)n);
    if (r < 0)
        return r;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int cj_buf_append_json_string(struct cj_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    int r = cj_buf_reserve(b, len + 2);
    if (r < 0)
        return r;

    b->data[b->len++] = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[7];
        size_t n = 0;

        switch (c) {
        case '"':
            esc[n++] = '\\', esc[n++] = '"';
            break;
        case '\\':
            esc[n++] = '\\', esc[n++] = '\\';
            break;
        case '\n':
            esc[n++] = '\\', esc[n++] = 'n';
            break;
        case '\r':
            esc[n++] = '\\', esc[n++] = 'r';
            break;
        case '\t':
            esc[n++] = '\\', esc[n++] = 't';
            break;
        default:
            if (c < 0x20) {
                memcpy(esc, "\\u00", 4);
                n = 4;
                esc[n++] = hex[c >> 4];
                esc[n++] = hex[c & 0xf];
            } else {
                esc[n++] = (char)c;
            }
        }
        r = cj_buf_append(b, esc, n);
        if (r < 0)
            return r;
    }
    return cj_buf_append_char(b, '"');
}

void cj_buf_reset(struct cj_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void cj_buf_free(struct cj_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *cj_buf_steal(struct cj_buf *b)
{
    if (!b->data && cj_buf_reserve(b, 0) < 0)
        return NULL;
    if (b->len == 0)
        b->data[0] = '\0';
    char *p = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
