/* SPDX-License-Identifier: MIT */
/* Open addressing with linear probing, kept at most half full. */
#include "hash-set.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a, 64 bits, then a murmur3 finaliser so that the low bits index well. */
uint64_t cj_hash_set_hash(const char *s, size_t len)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= UINT64_C(0x100000001b3);
    }
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    h *= UINT64_C(0xc4ceb9fe1a85ec53);
    h ^= h >> 33;
    return h ? h : 1;
}

static size_t probe(const uint64_t *slots, size_t cap, uint64_t h)
{
    size_t i = (size_t)h & (cap - 1);
    while (slots[i] != 0 && slots[i] != h)
        i = (i + 1) & (cap - 1);
    return i;
}

static int grow(struct cj_hash_set *set)
{
    size_t cap = set->cap ? set->cap * 2 : 64;
    uint64_t *slots = calloc(cap, sizeof(uint64_t));
    if (!slots)
        return -ENOMEM;
    for (size_t i = 0; i < set->cap; i++)
        if (set->slots[i])
            slots[probe(slots, cap, set->slots[i])] = set->slots[i];
    free(set->slots);
    set->slots = slots;
    set->cap = cap;
    return 0;
}

int cj_hash_set_add_hash(struct cj_hash_set *set, uint64_t h)
{
    if ((set->n + 1) * 2 > set->cap) {
        int r = grow(set);
        if (r < 0)
            return r;
    }
    h = h ? h : 1;
    size_t i = probe(set->slots, set->cap, h);
    if (set->slots[i] == h)
        return 0;
    set->slots[i] = h;
    set->n++;
    return 1;
}

bool cj_hash_set_contains_hash(const struct cj_hash_set *set, uint64_t h)
{
    if (set->n == 0)
        return false;
    h = h ? h : 1;
    return set->slots[probe(set->slots, set->cap, h)] == h;
}

int cj_hash_set_add(struct cj_hash_set *set, const char *s, size_t len)
{
    return cj_hash_set_add_hash(set, cj_hash_set_hash(s, len));
}

bool cj_hash_set_contains(const struct cj_hash_set *set, const char *s, size_t len)
{
    return cj_hash_set_contains_hash(set, cj_hash_set_hash(s, len));
}

void cj_hash_set_clear(struct cj_hash_set *set)
{
    free(set->slots);
    *set = (struct cj_hash_set){0};
}

void cj_hash_set_empty(struct cj_hash_set *set)
{
    if (set->n)
        memset(set->slots, 0, set->cap * sizeof(*set->slots));
    set->n = 0;
}
