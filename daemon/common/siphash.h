/* SPDX-License-Identifier: MIT */
/* SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012): a keyed
 * 64-bit hash of short inputs, well distributed and stable across builds and hosts, so its
 * values may be stored. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The SipHash-2-4 of data[0..len) under the 16-byte key (read as two little-endian 64-bit
 * words, as in the paper). data may be NULL when len is 0. */
uint64_t cj_siphash24(const uint8_t key[16], const void *data, size_t len);
