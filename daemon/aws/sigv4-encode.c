/* SPDX-License-Identifier: MIT */
/* The encodings SigV4 signs: percent-encoding, the canonical query string, the canonical URI. */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sigv4.h"

static bool is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

int cj_uri_encode(const char *s, size_t len, bool keep_slash, struct cj_buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t need = 0;

    assert(out);
    assert(s || !len);
    /* Size it exactly first, so the buffer's ceiling means the result's length and the
     * writing loop cannot fail half-way. */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (need > SIZE_MAX - 3)
            return -E2BIG;
        need += is_unreserved(c) || (keep_slash && c == '/') ? 1 : 3;
    }
    int r = cj_buf_reserve(out, need);
    if (r < 0)
        return r;

    char *p = out->data + out->len;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            *p++ = (char)c;
        } else {
            *p++ = '%';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 0xf];
        }
    }
    *p = '\0';
    out->len += need;
    return 0;
}

struct encoded_param {
    char *key;
    char *value;
};

static int encoded_param_compare(const void *a, const void *b)
{
    const struct encoded_param *x = a, *y = b;
    /* Encoded strings hold no NUL (it becomes %00), so strcmp is byte order over the whole. */
    int c = strcmp(x->key, y->key);
    return c != 0 ? c : strcmp(x->value, y->value);
}

static int encode_to_string(const char *s, char **ret)
{
    _cleanup_buf_ struct cj_buf b = {};
    int r = cj_uri_encode(s, strlen(s), false, &b);
    if (r < 0)
        return r;
    char *p = cj_buf_steal(&b);
    if (!p)
        return -ENOMEM;
    *ret = p;
    return 0;
}

static void encoded_params_free(struct encoded_param *e, size_t n)
{
    if (!e)
        return;
    for (size_t i = 0; i < n; i++) {
        free(e[i].key);
        free(e[i].value);
    }
    free(e);
}

int cj_sigv4_canonical_query(const struct cj_kv *params, size_t n, struct cj_buf *out)
{
    struct encoded_param *enc = NULL;
    int r;

    assert(out);
    assert(params || !n);
    for (size_t i = 0; i < n; i++)
        if (!params[i].key)
            return -EINVAL;

    r = cj_buf_append(out, "", 0); /* data non-NULL even for an empty query */
    if (r < 0)
        return r;
    if (n == 0)
        return 0;

    enc = calloc(n, sizeof(*enc));
    if (!enc)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        r = encode_to_string(params[i].key, &enc[i].key);
        if (r < 0)
            goto finish;
        r = encode_to_string(params[i].value ? params[i].value : "", &enc[i].value);
        if (r < 0)
            goto finish;
    }
    qsort(enc, n, sizeof(*enc), encoded_param_compare);

    size_t start = out->len;
    for (size_t i = 0; i < n; i++) {
        if ((i > 0 && (r = cj_buf_append_char(out, '&')) < 0) ||
            (r = cj_buf_append_str(out, enc[i].key)) < 0 ||
            (r = cj_buf_append_char(out, '=')) < 0 ||
            (r = cj_buf_append_str(out, enc[i].value)) < 0) {
            /* Leave out as it was rather than with half a query in it. */
            out->len = start;
            out->data[start] = '\0';
            goto finish;
        }
    }
    r = 0;
finish:
    encoded_params_free(enc, n);
    return r;
}

/* Appends one path segment of a path being rebuilt, encoding it when asked. */
static int append_segment(struct cj_buf *out, const char *seg, size_t len, bool double_encode)
{
    return double_encode ? cj_uri_encode(seg, len, true, out) : cj_buf_append(out, seg, len);
}

static bool is_wire_path_byte(unsigned char c)
{
    return c > 0x20 && c < 0x7f;
}

/* Removes "." and ".." segments and empty ones (repeated slashes); keeps a trailing '/'.
 * Segments are kept as (offset, length) pairs into path; ".." above the root is dropped. */
static int append_normalized(const char *path, size_t len, bool double_encode, struct cj_buf *out)
{
    size_t n_max = len / 2 + 1, n = 0;
    _cleanup_free_ size_t *seg_off = calloc(n_max, sizeof(size_t));
    _cleanup_free_ size_t *seg_len = calloc(n_max, sizeof(size_t));
    int r;

    if (!seg_off || !seg_len)
        return -ENOMEM;

    for (size_t i = 0; i < len;) {
        while (i < len && path[i] == '/')
            i++;
        size_t s = i;
        while (i < len && path[i] != '/')
            i++;
        size_t l = i - s;
        if (l == 0 || (l == 1 && path[s] == '.'))
            continue;
        if (l == 2 && path[s] == '.' && path[s + 1] == '.') {
            if (n > 0)
                n--;
            continue;
        }
        /* A segment needs at least one byte and one slash before it, so n < n_max. */
        seg_off[n] = s;
        seg_len[n] = l;
        n++;
    }

    r = cj_buf_append_char(out, '/');
    if (r < 0)
        return r;
    for (size_t k = 0; k < n; k++) {
        if (k > 0 && (r = cj_buf_append_char(out, '/')) < 0)
            return r;
        r = append_segment(out, path + seg_off[k], seg_len[k], double_encode);
        if (r < 0)
            return r;
    }
    if (n > 0 && path[len - 1] == '/')
        return cj_buf_append_char(out, '/');
    return 0;
}

int cj_sigv4_canonical_uri(const char *path, bool double_encode, bool normalize, struct cj_buf *out)
{
    assert(out);

    size_t len = path ? strlen(path) : 0;
    if (len == 0)
        return cj_buf_append_char(out, '/');
    if (path[0] != '/')
        return -EINVAL;
    if (!double_encode)
        for (size_t i = 0; i < len; i++)
            if (!is_wire_path_byte((unsigned char)path[i]))
                return -EINVAL;

    size_t start = out->len;
    int r = normalize ? append_normalized(path, len, double_encode, out)
                      : append_segment(out, path, len, double_encode);
    if (r < 0 && out->data) {
        out->len = start;
        out->data[start] = '\0';
    }
    return r;
}
