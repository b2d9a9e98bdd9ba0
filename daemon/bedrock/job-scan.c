/* SPDX-License-Identifier: MIT */
/* The JSON scanner of the streaming page parser (see job-scan.h).
 *
 * What it accepts is what jansson 2.14's json_loadb accepts with the flags the reference
 * uses, nothing more or less, because the page parser must agree with the reference on
 * every body: strict UTF-8 everywhere (no overlong forms, no encoded surrogates, nothing
 * past U+10FFFF), no raw control characters in strings, only the RFC 8259 escapes, \u
 * surrogates only as a high-low pair, no \u0000 (JSON_ALLOW_NUL is off), integers that fit
 * a long long and reals that do not overflow a double (jansson refuses both), no duplicate
 * keys after decoding (JSON_REJECT_DUPLICATES), at most CJ_SCAN_DEPTH_MAX levels of
 * values, and nothing but white space after the value. */
#include "job-scan.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cj-util.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Byte classes inside a string: what the hot loop must stop for. */
enum {
    C_PLAIN = 0,
    C_QUOTE,
    C_BACKSLASH,
    C_CONTROL,
    C_UTF8, /* 0x80 and up: a multi-byte sequence to check */
};

static const unsigned char string_class[256] = {
    [0x00 ... 0x1f] = C_CONTROL,
    ['"'] = C_QUOTE,
    ['\\'] = C_BACKSLASH,
    [0x80 ... 0xff] = C_UTF8,
};

void bedrock_scan_init(struct cj_scan *s, const char *p, size_t len)
{
    *s = (struct cj_scan){.p = p, .end = p + len};
}

void bedrock_scan_done(struct cj_scan *s)
{
    free(s->keys);
    free(s->arena);
    *s = (struct cj_scan){};
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Four hex digits at p (which has at least 4 bytes); -1 if any is not one. */
static int32_t hex4(const char *p)
{
    int32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_value((unsigned char)p[i]);
        if (h < 0)
            return -1;
        v = v << 4 | h;
    }
    return v;
}

/* One multi-byte UTF-8 sequence starting at p (a byte >= 0x80); its length or 0. */
static size_t utf8_sequence(const unsigned char *p, const unsigned char *end)
{
    size_t n;
    uint32_t v;

    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2;
        v = p[0] & 0x1f;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3;
        v = p[0] & 0x0f;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4;
        v = p[0] & 0x07;
    } else
        return 0; /* a continuation byte, 0xc0/0xc1 (always overlong), or past U+10FFFF */
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (p[i] & 0x3f);
    }
    if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000) || v > 0x10ffff ||
        (v >= 0xd800 && v <= 0xdfff))
        return 0;
    return n;
}

/* The escape after a backslash at p (p < end, p[0] == '\\'); its length or 0. */
static size_t escape_length(const char *p, const char *end)
{
    if (end - p < 2)
        return 0;
    switch (p[1]) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
        return 2;
    case 'u':
        break;
    default:
        return 0;
    }
    if (end - p < 6)
        return 0;
    int32_t v = hex4(p + 2);
    if (v <= 0) /* not hex, or U+0000, which jansson refuses without JSON_ALLOW_NUL */
        return 0;
    if (v >= 0xdc00 && v <= 0xdfff)
        return 0; /* a low surrogate alone */
    if (v < 0xd800 || v > 0xdbff)
        return 6;
    /* A high surrogate: only with a low one right after it. */
    if (end - p < 12 || p[6] != '\\' || p[7] != 'u')
        return 0;
    int32_t lo = hex4(p + 8);
    if (lo < 0xdc00 || lo > 0xdfff)
        return 0;
    return 12;
}

#if defined(__SSE2__)
/* The offset of the first of the 16 bytes at p that is '"', '\\', a control character or
 * non-ASCII (as a signed byte, every one of those but the two is below 0x20); 16 if none. */
static unsigned first_special16(const char *p)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i m = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
        _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
    unsigned mask = (unsigned)_mm_movemask_epi8(m);
    return mask ? (unsigned)__builtin_ctz(mask) : 16;
}
#else
#define ONES  UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* Whether any of the 8 bytes at p may be '"', '\\', a control character or non-ASCII
 * (the classic "has a zero byte" test, applied to w, w ^ '"' and w ^ '\\'; it may say
 * yes for a plain byte next to a special one, which only costs the byte loop). */
static bool word_needs_look(const char *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof(w));
    uint64_t quote = w ^ (ONES * '"'), backslash = w ^ (ONES * '\\');
    uint64_t control = (w - ONES * 0x20) & ~w;
    quote = (quote - ONES) & ~quote;
    backslash = (backslash - ONES) & ~backslash;
    return ((w | control | quote | backslash) & HIGHS) != 0;
}
#endif

/* The first byte from p on that a string must stop for, or end. The hot loop: most strings
 * are plain ASCII, looked at many bytes at a time. */
static const char *skip_plain(const char *p, const char *end)
{
#if defined(__SSE2__)
    for (; end - p >= 16; p += 16) {
        unsigned k = first_special16(p);
        if (k < 16)
            return p + k;
    }
#else
    while (end - p >= 8 && !word_needs_look(p))
        p += 8;
#endif
    while (p < end && string_class[(unsigned char)*p] == C_PLAIN)
        p++;
    return p;
}

int bedrock_scan_string(struct cj_scan *s, struct cj_str *ret)
{
    const char *start = ++s->p; /* past the opening quote */
    const char *p = start, *end = s->end;
    bool escaped = false;

    for (;;) {
        p = skip_plain(p, end);
        if (p >= end)
            return -EBADMSG;
        size_t n;
        switch (string_class[(unsigned char)*p]) {
        case C_QUOTE:
            *ret = (struct cj_str){.raw = start, .len = (size_t)(p - start), .escaped = escaped};
            s->p = p + 1;
            return 0;
        case C_BACKSLASH:
            n = escape_length(p, end);
            escaped = true;
            break;
        case C_UTF8:
            n = utf8_sequence((const unsigned char *)p, (const unsigned char *)end);
            break;
        default:
            return -EBADMSG; /* a raw control character */
        }
        if (n == 0)
            return -EBADMSG;
        p += n;
    }
}

static size_t utf8_encode(uint32_t v, char *o)
{
    if (v < 0x80) {
        o[0] = (char)v;
        return 1;
    }
    if (v < 0x800) {
        o[0] = (char)(0xc0 | v >> 6);
        o[1] = (char)(0x80 | (v & 0x3f));
        return 2;
    }
    if (v < 0x10000) {
        o[0] = (char)(0xe0 | v >> 12);
        o[1] = (char)(0x80 | (v >> 6 & 0x3f));
        o[2] = (char)(0x80 | (v & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | v >> 18);
    o[1] = (char)(0x80 | (v >> 12 & 0x3f));
    o[2] = (char)(0x80 | (v >> 6 & 0x3f));
    o[3] = (char)(0x80 | (v & 0x3f));
    return 4;
}

size_t bedrock_str_decode(const struct cj_str *str, char *dst)
{
    const char *p = str->raw, *end = str->raw + str->len;
    char *o = dst;

    if (!str->escaped) {
        memcpy(dst, p, str->len);
        return str->len;
    }
    while (p < end) {
        const char *bs = memchr(p, '\\', (size_t)(end - p));
        if (!bs)
            bs = end;
        memcpy(o, p, (size_t)(bs - p));
        o += bs - p;
        p = bs;
        if (p >= end)
            break;
        /* bedrock_scan_string() checked every escape: no bounds or digit checks needed here. */
        switch (p[1]) {
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'u': {
            uint32_t v = (uint32_t)hex4(p + 2);
            if (v >= 0xd800 && v <= 0xdbff) {
                v = 0x10000 + ((v - 0xd800) << 10) + ((uint32_t)hex4(p + 8) - 0xdc00);
                p += 6;
            }
            o += utf8_encode(v, o);
            p += 6;
            continue;
        }
        default: /* " \ / */
            *o++ = p[1];
        }
        p += 2;
    }
    return (size_t)(o - dst);
}

/* jansson turns an integer token into a long long and a real one into a double, and
 * refuses the body when that overflows: so must we. Rare (unknown members only). */
static int number_in_range(const char *p, size_t n, bool real)
{
    char small[64], *text = small;
    int r = 0;

    if (!real) {
        size_t digits = n - (p[0] == '-');
        if (digits < 19) /* below 10^18: always fits */
            return 0;
        if (digits > 20)
            return -EBADMSG; /* no leading zeros, so at least 10^20 */
    }
    if (n >= sizeof(small)) {
        text = malloc(n + 1);
        if (!text)
            return -ENOMEM;
    }
    memcpy(text, p, n);
    text[n] = '\0';
    errno = 0;
    if (real) {
        /* The daemon runs in the C locale, so '.' is the decimal point as jansson means. */
        double v = strtod(text, NULL);
        if ((v == HUGE_VAL || v == -HUGE_VAL) && errno == ERANGE)
            r = -EBADMSG;
    } else {
        (void)strtoll(text, NULL, 10);
        if (errno == ERANGE)
            r = -EBADMSG;
    }
    if (text != small)
        free(text);
    return r;
}

/* jansson's reader keeps one byte of look-ahead in a NUL-terminated buffer: when it puts
 * back the byte after a number or a literal and that byte is NUL, the buffer reads as
 * empty and the NUL is lost. So "2\0 " is the number 2 to it, and so must it be here:
 * one NUL right after a number, true, false or null is skipped. */
static void skip_lost_nul(struct cj_scan *s)
{
    if (s->p < s->end && *s->p == '\0')
        s->p++;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int scan_number(struct cj_scan *s)
{
    const char *start = s->p, *p = s->p, *end = s->end;
    bool real = false;

    if (p < end && *p == '-')
        p++;
    if (p >= end || !is_digit(*p))
        return -EBADMSG;
    if (*p == '0') {
        p++;
        if (p < end && is_digit(*p))
            return -EBADMSG; /* no leading zeros */
    } else
        while (p < end && is_digit(*p))
            p++;
    if (p < end && *p == '.') {
        real = true;
        p++;
        if (p >= end || !is_digit(*p))
            return -EBADMSG;
        while (p < end && is_digit(*p))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        real = true;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || !is_digit(*p))
            return -EBADMSG;
        while (p < end && is_digit(*p))
            p++;
    }
    s->p = p;
    skip_lost_nul(s);
    return number_in_range(start, (size_t)(p - start), real);
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* true, false or null: jansson reads a whole run of letters, so "truex" is no "true". */
static int scan_literal(struct cj_scan *s)
{
    const char *p = s->p;
    while (p < s->end && is_alpha(*p))
        p++;
    size_t n = (size_t)(p - s->p);
    if ((n == 4 && (memcmp(s->p, "true", 4) == 0 || memcmp(s->p, "null", 4) == 0)) ||
        (n == 5 && memcmp(s->p, "false", 5) == 0)) {
        s->p = p;
        skip_lost_nul(s);
        return 0;
    }
    return -EBADMSG;
}

bool bedrock_scan_null(struct cj_scan *s)
{
    cj_scan_ws(s);
    if (s->end - s->p >= 4 && memcmp(s->p, "null", 4) == 0 &&
        (s->end - s->p == 4 || !is_alpha(s->p[4]))) {
        s->p += 4;
        skip_lost_nul(s);
        return true;
    }
    return false;
}

static uint32_t hash_bytes(const char *p, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 16777619u;
    return h;
}

static int push_key(struct cj_scan *s, struct cj_scan_key k)
{
    if (s->n_keys == s->cap_keys) {
        size_t cap = s->cap_keys ? s->cap_keys * 2 : 64;
        struct cj_scan_key *keys = reallocarray(s->keys, cap, sizeof(*keys));
        if (!keys)
            return -ENOMEM;
        s->keys = keys;
        s->cap_keys = cap;
    }
    s->keys[s->n_keys++] = k;
    return 0;
}

int bedrock_scan_obj_begin(struct cj_scan *s)
{
    return push_key(s, (struct cj_scan_key){.s = NULL});
}

int bedrock_scan_obj_key(struct cj_scan *s, const struct cj_str *key)
{
    if (!key->escaped)
        return push_key(s, (struct cj_scan_key){.s = key->raw,
                                                .len = key->len,
                                                .hash = hash_bytes(key->raw, key->len)});

    if (key->len > s->arena_cap - s->arena_len) {
        size_t cap = s->arena_cap ? s->arena_cap : 256;
        while (cap - s->arena_len < key->len) {
            if (cap > SIZE_MAX / 2)
                return -ENOMEM;
            cap *= 2;
        }
        char *a = realloc(s->arena, cap);
        if (!a)
            return -ENOMEM;
        s->arena = a;
        s->arena_cap = cap;
    }
    char *o = s->arena + s->arena_len;
    size_t n = bedrock_str_decode(key, o);
    int r = push_key(
        s, (struct cj_scan_key){
               .len = n, .arena_off = s->arena_len, .hash = hash_bytes(o, n), .in_arena = true});
    if (r >= 0)
        s->arena_len += n;
    return r;
}

static int key_cmp(const void *a, const void *b)
{
    const struct cj_scan_key *x = a, *y = b;
    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return memcmp(x->s, y->s, x->len);
}

int bedrock_scan_obj_end(struct cj_scan *s)
{
    /* The marker is the last entry with neither a pointer nor an arena offset. */
    size_t m = s->n_keys;
    while (m > 0 && !(s->keys[m - 1].s == NULL && !s->keys[m - 1].in_arena))
        m--;
    if (m == 0)
        return -EINVAL; /* no object open: a bug in the caller */
    struct cj_scan_key *k = s->keys + m;
    size_t n = s->n_keys - m;
    size_t arena_start = s->arena_len;

    for (size_t i = 0; i < n; i++)
        if (k[i].in_arena) {
            k[i].s = s->arena + k[i].arena_off;
            if (k[i].arena_off < arena_start)
                arena_start = k[i].arena_off;
        }
    int r = 0;
    if (n <= 8) {
        for (size_t i = 1; i < n && r == 0; i++)
            for (size_t j = 0; j < i; j++)
                if (key_cmp(&k[i], &k[j]) == 0) {
                    r = -EBADMSG;
                    break;
                }
    } else {
        /* Sorting makes a large object O(n log n) where pairs would be O(n^2). */
        qsort(k, n, sizeof(*k), key_cmp);
        for (size_t i = 1; i < n; i++)
            if (key_cmp(&k[i], &k[i - 1]) == 0) {
                r = -EBADMSG;
                break;
            }
    }
    s->n_keys = m - 1;
    s->arena_len = arena_start; /* this object's decoded keys were the last ones added */
    return r;
}

int bedrock_scan_value(struct cj_scan *s, unsigned depth)
{
    /* One bit per open container: set for an object. */
    uint64_t is_object[CJ_SCAN_DEPTH_MAX / 64 + 1];
    unsigned level = 0;
    struct cj_str str;
    int r;

#define TOP_IS_OBJECT() (is_object[(level - 1) / 64] >> ((level - 1) % 64) & 1)

value:
    cj_scan_ws(s);
    if (s->p >= s->end || depth + level + 1 > CJ_SCAN_DEPTH_MAX)
        return -EBADMSG;
    switch (*s->p) {
    case '"':
        r = bedrock_scan_string(s, &str);
        break;
    case '-':
    case '0' ... '9':
        r = scan_number(s);
        break;
    case '[':
    case '{': {
        bool obj = *s->p == '{';
        s->p++;
        if (obj) {
            is_object[level / 64] |= UINT64_C(1) << (level % 64);
            r = bedrock_scan_obj_begin(s);
            if (r < 0)
                return r;
        } else
            is_object[level / 64] &= ~(UINT64_C(1) << (level % 64));
        level++;
        cj_scan_ws(s);
        if (s->p < s->end && *s->p == (obj ? '}' : ']')) {
            s->p++;
            if (obj)
                s->n_keys--; /* the marker of an empty object */
            level--;
            r = 0;
            break;
        }
        if (obj)
            goto key;
        goto value;
    }
    default:
        r = scan_literal(s);
    }
    if (r < 0)
        return r;

next:
    if (level == 0)
        return 0;
    cj_scan_ws(s);
    if (s->p >= s->end)
        return -EBADMSG;
    if (*s->p == ',') {
        s->p++;
        if (TOP_IS_OBJECT())
            goto key;
        goto value;
    }
    if (*s->p != (TOP_IS_OBJECT() ? '}' : ']'))
        return -EBADMSG;
    s->p++;
    if (TOP_IS_OBJECT()) {
        r = bedrock_scan_obj_end(s);
        if (r < 0)
            return r;
    }
    level--;
    goto next;

key:
    cj_scan_ws(s);
    if (s->p >= s->end || *s->p != '"')
        return -EBADMSG;
    r = bedrock_scan_string(s, &str);
    if (r < 0)
        return r;
    r = bedrock_scan_obj_key(s, &str);
    if (r < 0)
        return r;
    cj_scan_ws(s);
    if (s->p >= s->end || *s->p != ':')
        return -EBADMSG;
    s->p++;
    goto value;
#undef TOP_IS_OBJECT
}
