/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int max_level = LOG_INFO;
static int use_prefix = -1; /* -1: not decided yet */

void cj_log_set_max_level(int level)
{
    max_level = level;
}

int cj_log_get_max_level(void)
{
    return max_level;
}

static bool want_priority_prefix(void)
{
    /* systemd sets JOURNAL_STREAM when stderr goes to the journal; only then are the
     * "<N>" prefixes read instead of printed. */
    if (use_prefix < 0)
        use_prefix = getenv("JOURNAL_STREAM") != NULL;
    return use_prefix;
}

static const char *level_name(int level)
{
    static const char *const names[] = {"emerg", "alert",  "crit", "error",
                                        "warn",  "notice", "info", "debug"};
    return names[level & LOG_PRIMASK];
}

int cj_log_internal(int level, int error, const char *file, int line, const char *fmt, ...)
{
    int saved = errno;
    int ret = error > 0 ? -error : error;

    if ((level & LOG_PRIMASK) > max_level) {
        errno = saved;
        return ret;
    }

    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    if (error != 0)
        errno = error > 0 ? error : -error; /* lets callers use %m for the error */
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    /* One fprintf per line so concurrent writers cannot interleave inside a line. */
    if (want_priority_prefix())
        fprintf(stderr, "<%d>%s\n", level & LOG_PRIMASK, msg);
    else if (max_level >= LOG_DEBUG)
        fprintf(stderr, "copyjobd[%s] %s:%d: %s\n", level_name(level), file, line, msg);
    else
        fprintf(stderr, "copyjobd[%s]: %s\n", level_name(level), msg);

    errno = saved;
    return ret;
}
