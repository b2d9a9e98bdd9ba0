/* SPDX-License-Identifier: MIT */
/* A set of 64-bit hashes of strings (open addressing): the nextTokens a walk has seen, the
 * jobArns a quick sync listed as InProgress, the store's pending `jobs` keys (by a hash of
 * its own). Two strings share a hash with odds of about n²/2⁶⁵, so a million entries give one
 * chance in 36 million of a wrong "seen". */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cj_hash_set {
    uint64_t *slots; /* 0 = empty; a hash of 0 is stored as 1 */
    size_t n, cap;
};

uint64_t cj_hash_set_hash(const char *s, size_t len);
/* 1 if added, 0 if it was there already, -ENOMEM. */
int cj_hash_set_add(struct cj_hash_set *set, const char *s, size_t len);
bool cj_hash_set_contains(const struct cj_hash_set *set, const char *s, size_t len);
/* The same for a hash the caller made (uniform in its low bits, as cj_hash_set_hash's). */
int cj_hash_set_add_hash(struct cj_hash_set *set, uint64_t h);
bool cj_hash_set_contains_hash(const struct cj_hash_set *set, uint64_t h);
void cj_hash_set_clear(struct cj_hash_set *set);
/* Empty, its slots kept for the next entries. */
void cj_hash_set_empty(struct cj_hash_set *set);
