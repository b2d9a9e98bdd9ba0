/* SPDX-License-Identifier: MIT */
/* Time values as Bedrock and the contract spell them.
 *
 * A point in time is int64 nanoseconds since the Unix epoch (UTC), which keeps the
 * full precision of the ISO 8601 strings Bedrock returns and orders them with a
 * plain integer compare. Range: 1678..2262. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define CJ_NSEC_PER_SEC  INT64_C(1000000000)
#define CJ_USEC_PER_SEC  UINT64_C(1000000)
#define CJ_NSEC_PER_USEC INT64_C(1000)
#define CJ_ISO8601_MAX   40 /* buffer size that fits any formatted timestamp */

/* Parses an ISO 8601 / RFC 3339 timestamp: YYYY-MM-DDTHH:MM:SS, optional fraction of
 * 1..9 digits, then Z, z, +HH:MM, -HH:MM, +HHMM or +HH. Also accepts a lower-case 't'
 * or a space as separator, and a plain date YYYY-MM-DD (midnight UTC). Every field is
 * range-checked (month 1..12, day within month incl. leap years, hour 0..23, minute
 * 0..59, second 0..60 where 60 is folded into the next minute). `len` bytes of `s` are
 * read, no NUL needed. Returns 0, or -EINVAL for anything else, -ERANGE outside range. */
int cj_time_parse_iso8601(const char *s, size_t len, int64_t *ret_ns);

/* Formats as botocore does: "2024-05-01T12:34:56Z", with ".fff", ".ffffff" or
 * ".fffffffff" (the shortest group of 3 that is exact) when the fraction is non-zero.
 * Returns the length written, or -ENOBUFS. */
int cj_time_format_iso8601(int64_t ns, char *buf, size_t size);

/* "7d", "12h", "30m", "45s", "2w" before `now_ns` (a positive count and one unit).
 * Returns 0 or -EINVAL / -ERANGE. */
int cj_time_parse_relative(const char *s, int64_t now_ns, int64_t *ret_ns);

/* Either form above: ISO 8601 first, then relative. */
int cj_time_parse_user(const char *s, int64_t now_ns, int64_t *ret_ns);

/* Config durations: an unsigned integer and a unit of ms, s, m, h (also d).
 * A bare number is seconds. Returns microseconds. 0 or -EINVAL / -ERANGE. */
int cj_duration_parse(const char *s, uint64_t *ret_usec);

/* Config sizes: an unsigned integer and an optional K, M, G, T (powers of 1024,
 * optionally followed by "B" or "iB"). 0 or -EINVAL / -ERANGE. */
int cj_size_parse(const char *s, uint64_t *ret_bytes);

/* CLOCK_REALTIME now, in ns. */
int64_t cj_now_ns(void);
