/* SPDX-License-Identifier: MIT */
/* Logging to stderr. Under systemd (JOURNAL_STREAM set) each line carries a
 * "<N>" syslog priority prefix that journald turns into the entry's priority;
 * on a terminal it reads "copyjobd[level]: message". Never pass a secret. */
#pragma once

#include <syslog.h>

#include "cj-util.h"

void cj_log_set_max_level(int level); /* default LOG_INFO; LOG_DEBUG with --debug */
int cj_log_get_max_level(void);
/* Returns -abs(error) when error != 0, else 0, so "return log_error_errno(r, ...)" works. */
int cj_log_internal(int level, int error, const char *file, int line, const char *fmt, ...)
    _printf_(5, 6);

#define log_full_errno(level, error, ...)                                                          \
    cj_log_internal((level), (error), __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...)   log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...)    log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...)  log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...)   log_full_errno(LOG_ERR, 0, __VA_ARGS__)
/* The *_errno variants return the negative errno, for "return log_error_errno(r, ...)". */
#define log_debug_errno(e, ...)   log_full_errno(LOG_DEBUG, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...)   log_full_errno(LOG_ERR, (e), __VA_ARGS__)
