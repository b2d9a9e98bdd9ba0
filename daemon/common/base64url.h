/* SPDX-License-Identifier: MIT */
/* base64url (RFC 4648 §5: the alphabet A-Z a-z 0-9 - _) without padding. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cj-buf.h"

/* The encoded size of n bytes: ceil(4n/3), no padding. */
static inline size_t cj_base64url_encoded_len(size_t n)
{
    return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

/* Appends the encoding of in[0..n) to out (NUL-terminated). -ENOMEM or -E2BIG from the buffer;
 * out is unchanged then. */
int cj_base64url_encode(const void *in, size_t n, struct cj_buf *out);

/* Decodes s[0..n) into out[0..size). Strict: only the alphabet, no padding, no length of the
 * form 4k+1, no non-zero bits left over in the last character, so that each byte string has
 * exactly one encoding. Returns the decoded size, or -EINVAL (also when it would not fit). */
ssize_t cj_base64url_decode(const char *s, size_t n, uint8_t *out, size_t size);
