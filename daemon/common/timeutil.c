/* SPDX-License-Identifier: MIT */
/* Timestamps, relative times, durations and sizes. Calendar arithmetic is done here
 * (proleptic Gregorian, UTC) so that nothing depends on TZ, the locale or timegm(). */
#include "cj-time.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define SEC_PER_DAY INT64_C(86400)
/* Years past this are out of range for int64 ns anyway; clamping keeps the day
 * arithmetic far from overflow while a syntactically valid huge year still reports
 * -ERANGE rather than -EINVAL. */
#define YEAR_CLAMP INT64_C(1000000)

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *ret_y, unsigned *ret_m, unsigned *ret_d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    *ret_y = y + (m <= 2);
    *ret_m = m;
    *ret_d = d;
}

/* Exactly n digits at *p (within end); advances *p. */
static bool take_digits(const char **p, const char *end, unsigned n, unsigned *ret)
{
    unsigned v = 0;
    if ((size_t)(end - *p) < n)
        return false;
    for (unsigned i = 0; i < n; i++) {
        char c = (*p)[i];
        if (!is_digit(c))
            return false;
        v = v * 10 + (unsigned)(c - '0');
    }
    *p += n;
    *ret = v;
    return true;
}

static bool take_char(const char **p, const char *end, char c)
{
    if (*p >= end || **p != c)
        return false;
    (*p)++;
    return true;
}

int cj_time_parse_iso8601(const char *s, size_t len, int64_t *ret_ns)
{
    assert(ret_ns);
    if (!s)
        return -EINVAL;

    const char *p = s, *end = s + len;
    unsigned mon, day, hour = 0, min = 0, sec = 0, off_h = 0, off_m = 0;
    int64_t year = 0, frac = 0;
    int off_sign = 0;
    size_t ydigits = 0;

    /* Four digits or more; more can only be out of range, but are still a well-formed year. */
    while (p < end && is_digit(*p)) {
        if (year < YEAR_CLAMP)
            year = year * 10 + (*p - '0');
        p++;
        ydigits++;
    }
    if (ydigits < 4 || (ydigits > 4 && s[0] == '0'))
        return -EINVAL;
    if (!take_char(&p, end, '-') || !take_digits(&p, end, 2, &mon) || !take_char(&p, end, '-') ||
        !take_digits(&p, end, 2, &day))
        return -EINVAL;

    if (p < end) {
        if (*p != 'T' && *p != 't' && *p != ' ')
            return -EINVAL;
        p++;
        if (!take_digits(&p, end, 2, &hour) || !take_char(&p, end, ':') ||
            !take_digits(&p, end, 2, &min) || !take_char(&p, end, ':') ||
            !take_digits(&p, end, 2, &sec))
            return -EINVAL;

        if (take_char(&p, end, '.')) {
            unsigned n = 0;
            while (p < end && is_digit(*p)) {
                if (++n > 9)
                    return -EINVAL;
                frac = frac * 10 + (*p - '0');
                p++;
            }
            if (n == 0)
                return -EINVAL;
            for (; n < 9; n++)
                frac *= 10;
        }

        if (p >= end)
            return -EINVAL; /* a time of day needs its offset: local time is ambiguous */
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            off_sign = *p == '-' ? -1 : 1;
            p++;
            if (!take_digits(&p, end, 2, &off_h))
                return -EINVAL;
            if (p < end) {
                take_char(&p, end, ':'); /* +HH:MM and +HHMM alike */
                if (!take_digits(&p, end, 2, &off_m))
                    return -EINVAL;
            }
        } else
            return -EINVAL;
        if (p != end)
            return -EINVAL;
    }

    if (mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon) || hour > 23 || min > 59 ||
        sec > 60 || off_h > 23 || off_m > 59)
        return -EINVAL;

    /* Second 60 (a leap second) simply adds up into the next minute. */
    int64_t secs = days_from_civil(year, mon, day) * SEC_PER_DAY + hour * 3600 + min * 60 + sec -
                   off_sign * (int64_t)(off_h * 3600 + off_m * 60);
    int64_t ns;
    /* Before the epoch, add the fraction to the following second so that the last
     * representable instant (INT64_MIN) does not overflow in between. */
    if (secs < 0 && frac > 0) {
        secs++;
        frac -= CJ_NSEC_PER_SEC;
    }
    if (__builtin_mul_overflow(secs, CJ_NSEC_PER_SEC, &ns) || __builtin_add_overflow(ns, frac, &ns))
        return -ERANGE;
    *ret_ns = ns;
    return 0;
}

int cj_time_format_iso8601(int64_t ns, char *buf, size_t size)
{
    int64_t secs = ns / CJ_NSEC_PER_SEC, frac = ns % CJ_NSEC_PER_SEC;
    if (frac < 0) {
        frac += CJ_NSEC_PER_SEC;
        secs--;
    }
    int64_t days = secs / SEC_PER_DAY, rem = secs % SEC_PER_DAY;
    if (rem < 0) {
        rem += SEC_PER_DAY;
        days--;
    }
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);

    char fr[11] = "";
    if (frac % 1000000 == 0 && frac != 0)
        snprintf(fr, sizeof(fr), ".%03d", (int)(frac / 1000000));
    else if (frac % 1000 == 0 && frac != 0)
        snprintf(fr, sizeof(fr), ".%06d", (int)(frac / 1000));
    else if (frac != 0)
        snprintf(fr, sizeof(fr), ".%09d", (int)frac);

    char tmp[CJ_ISO8601_MAX];
    int n = snprintf(tmp, sizeof(tmp), "%04d-%02u-%02uT%02d:%02d:%02d%sZ", (int)y, m, d,
                     (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), fr);
    if (n < 0 || (size_t)n >= sizeof(tmp) || !buf || size <= (size_t)n)
        return -ENOBUFS;
    memcpy(buf, tmp, (size_t)n + 1);
    return n;
}

/* An unsigned decimal of at least one digit; *p advances past it. -ERANGE on overflow. */
static int parse_uint(const char **p, uint64_t *ret)
{
    const char *q = *p;
    uint64_t v = 0;
    bool overflow = false;

    if (!is_digit(*q))
        return -EINVAL;
    for (; is_digit(*q); q++)
        if (__builtin_mul_overflow(v, 10, &v) ||
            __builtin_add_overflow(v, (uint64_t)(*q - '0'), &v))
            overflow = true;
    *p = q;
    *ret = v;
    return overflow ? -ERANGE : 0;
}

int cj_time_parse_relative(const char *s, int64_t now_ns, int64_t *ret_ns)
{
    static const struct {
        char unit;
        int64_t sec;
    } units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400}};
    uint64_t count;

    assert(ret_ns);
    if (!s)
        return -EINVAL;
    const char *p = s;
    int r = parse_uint(&p, &count);
    if (r == -EINVAL)
        return r;
    if (p[0] == '\0' || p[1] != '\0')
        return -EINVAL;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (units[i].unit != p[0])
            continue;
        if (r < 0)
            return r;
        if (count == 0)
            return -EINVAL;
        int64_t delta, ns;
        if (count > (uint64_t)INT64_MAX ||
            __builtin_mul_overflow((int64_t)count, units[i].sec * CJ_NSEC_PER_SEC, &delta) ||
            __builtin_sub_overflow(now_ns, delta, &ns))
            return -ERANGE;
        *ret_ns = ns;
        return 0;
    }
    return -EINVAL;
}

int cj_time_parse_user(const char *s, int64_t now_ns, int64_t *ret_ns)
{
    assert(ret_ns);
    if (!s)
        return -EINVAL;
    int r = cj_time_parse_iso8601(s, strlen(s), ret_ns);
    if (r != -EINVAL)
        return r;
    return cj_time_parse_relative(s, now_ns, ret_ns);
}

int cj_duration_parse(const char *s, uint64_t *ret_usec)
{
    static const struct {
        const char *suffix;
        uint64_t usec;
    } units[] = {
        {"", CJ_USEC_PER_SEC},         {"ms", 1000},
        {"s", CJ_USEC_PER_SEC},        {"m", 60 * CJ_USEC_PER_SEC},
        {"h", 3600 * CJ_USEC_PER_SEC}, {"d", 86400 * CJ_USEC_PER_SEC},
    };
    uint64_t count, v;

    assert(ret_usec);
    if (!s)
        return -EINVAL;
    const char *p = s;
    int r = parse_uint(&p, &count);
    if (r == -EINVAL)
        return r;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(p, units[i].suffix) != 0)
            continue;
        if (r < 0 || __builtin_mul_overflow(count, units[i].usec, &v))
            return -ERANGE;
        *ret_usec = v;
        return 0;
    }
    return -EINVAL;
}

int cj_size_parse(const char *s, uint64_t *ret_bytes)
{
    static const char *const prefixes = "KMGT";
    uint64_t count, factor = 1, v;

    assert(ret_bytes);
    if (!s)
        return -EINVAL;
    const char *p = s;
    int r = parse_uint(&p, &count);
    if (r == -EINVAL)
        return r;
    if (*p != '\0' && strcmp(p, "B") != 0) {
        const char *u = strchr(prefixes, *p);
        if (!u || *u == '\0')
            return -EINVAL;
        factor = UINT64_C(1) << (10 * (u - prefixes + 1));
        p++;
        if (*p != '\0' && strcmp(p, "B") != 0 && strcmp(p, "iB") != 0)
            return -EINVAL;
    }
    if (r < 0 || __builtin_mul_overflow(count, factor, &v))
        return -ERANGE;
    *ret_bytes = v;
    return 0;
}

int64_t cj_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * CJ_NSEC_PER_SEC + ts.tv_nsec;
}
