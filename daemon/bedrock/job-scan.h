/* SPDX-License-Identifier: MIT */
/* A one-pass JSON scanner over a whole buffer, for the streaming page parser: it checks
 * the syntax exactly as strictly as the jansson reference is configured (json_loadb with
 * JSON_REJECT_DUPLICATES | JSON_DECODE_ANY) and hands out strings in place, undecoded,
 * so that the common string with no escape costs no copy. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* jansson's JSON_PARSER_MAX_DEPTH: a value inside n containers is at depth n + 1. */
#define CJ_SCAN_DEPTH_MAX 2048

/* A string as it stands in the input: the bytes between the quotes. */
struct cj_str {
    const char *raw;
    size_t len;   /* of raw */
    bool escaped; /* raw holds a backslash: decode before use */
};

/* A key of an object still open, for the duplicate check. */
struct cj_scan_key {
    const char *s; /* NULL: marks where an object's keys start */
    size_t len;
    size_t arena_off; /* decoded keys live in the arena (which may move): s is NULL there */
    uint32_t hash;
    bool in_arena;
};

struct cj_scan {
    const char *p, *end;
    struct cj_scan_key *keys;
    size_t n_keys, cap_keys;
    char *arena; /* decoded escaped keys */
    size_t arena_len, arena_cap;
};

void bedrock_scan_init(struct cj_scan *s, const char *p, size_t len);
void bedrock_scan_done(struct cj_scan *s);

/* Skips JSON white space (space, tab, LF, CR). */
static inline void cj_scan_ws(struct cj_scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

/* At '"': one string, checked (UTF-8, escapes, surrogate pairs, no U+0000). 0 or -EBADMSG. */
int bedrock_scan_string(struct cj_scan *s, struct cj_str *ret);
/* Decodes a checked string into dst (at least str->len bytes); returns the decoded length. */
size_t bedrock_str_decode(const struct cj_str *str, char *dst);
/* Skips one value of any kind (after white space) inside depth containers, checking it
 * completely, including duplicate keys. Iterative: depth is bounded by CJ_SCAN_DEPTH_MAX.
 * 0, -EBADMSG, or -ENOMEM. */
int bedrock_scan_value(struct cj_scan *s, unsigned depth);
/* "null" at the cursor (after white space)? Consumes it if so. */
bool bedrock_scan_null(struct cj_scan *s);

/* Duplicate keys of one object: begin at '{', add each key (not needed for keys the caller
 * tells apart itself), end at '}' (-EBADMSG on a duplicate). Objects nest. */
int bedrock_scan_obj_begin(struct cj_scan *s);
int bedrock_scan_obj_key(struct cj_scan *s, const struct cj_str *key);
int bedrock_scan_obj_end(struct cj_scan *s);
