/* SPDX-License-Identifier: MIT */
/* A growable byte buffer with a hard ceiling, used to build requests and responses. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "cj-util.h"

struct cj_buf {
    char *data; /* always NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
    size_t limit; /* 0 = CJ_BUF_DEFAULT_LIMIT; appends past it fail with -E2BIG */
};

#define CJ_BUF_DEFAULT_LIMIT ((size_t)256 * 1024 * 1024)

/* Room for extra more bytes and the NUL: 0, -E2BIG past the limit, or -ENOMEM. The common
 * case, room already there, is inline: appends run for every byte the daemon writes. */
int cj_buf_grow(struct cj_buf *b, size_t extra);
static inline int cj_buf_reserve(struct cj_buf *b, size_t extra)
{
    size_t limit = b->limit ? b->limit : CJ_BUF_DEFAULT_LIMIT;
    if (extra < b->cap - b->len && b->len + extra <= limit)
        return 0;
    return cj_buf_grow(b, extra);
}
int cj_buf_append(struct cj_buf *b, const void *data, size_t len);
int cj_buf_append_str(struct cj_buf *b, const char *s);
int cj_buf_append_char(struct cj_buf *b, char c);
int cj_buf_printf(struct cj_buf *b, const char *fmt, ...) _printf_(2, 3);
/* Appends s as a JSON string literal, quotes included. */
int cj_buf_append_json_string(struct cj_buf *b, const char *s, size_t len);
void cj_buf_reset(struct cj_buf *b); /* len = 0, keeps memory */
void cj_buf_free(struct cj_buf *b);  /* frees and zeroes */
/* Gives away the data (NUL-terminated, never NULL on success); the buffer is empty after. */
char *cj_buf_steal(struct cj_buf *b);

#define _cleanup_buf_ _cleanup_(cj_buf_free)
