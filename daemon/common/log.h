/* SPDX-License-Identifier: MIT */
/* Logging to stderr, or to the journal when stderr is the journal.
 *
 * When systemd connected stderr to journald (JOURNAL_STREAM names the device:inode of fd 2),
 * each entry goes to journald over its native protocol, with PRIORITY=, CODE_FILE=,
 * CODE_LINE=, CODE_FUNC=, ERRNO= and any structured fields of log_struct(); should that
 * fail, the line is written to stderr with a "<N>" syslog priority prefix that journald
 * reads as the priority. Elsewhere a line reads "copyjobd[level]: message".
 * Never pass a secret. */
#pragma once

#include <stdint.h>
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

/* ---- structured fields (journald) ---- */

/* One journal field. KEY: upper-case letters, digits and '_', starting with a letter, at most
 * 64 bytes (journald's rule; a field with a bad key is dropped). value NULL: the field is num. */
struct cj_log_field {
    const char *key;
    const char *value;
    int64_t num;
};
#define CJ_LOG_STR(k, v) ((struct cj_log_field){.key = (k), .value = (v) ? (v) : ""})
#define CJ_LOG_NUM(k, n) ((struct cj_log_field){.key = (k), .num = (int64_t)(n)})
/* A field list for log_struct(): CJ_LOG_FIELDS(CJ_LOG_STR("SYNC_KIND", kind), ...). */
#define CJ_LOG_FIELDS(...) ((const struct cj_log_field[]){__VA_ARGS__, {.key = NULL}})

/* Like cj_log_internal, plus the fields (terminated by a NULL key) when logging to the
 * journal; the stderr line carries only the message. */
int cj_log_struct_internal(int level, int error, const char *file, int line, const char *func,
                           const struct cj_log_field *fields, const char *fmt, ...) _printf_(7, 8);

/* log_struct(LOG_INFO, CJ_LOG_FIELDS(CJ_LOG_NUM("JOB_COUNT", n)), "synced %zu jobs", n); */
#define log_struct(level, fields, ...)                                                             \
    cj_log_struct_internal((level), 0, __FILE__, __LINE__, __func__, (fields), __VA_ARGS__)
#define log_struct_errno(level, error, fields, ...)                                                \
    cj_log_struct_internal((level), (error), __FILE__, __LINE__, __func__, (fields), __VA_ARGS__)

/* For tests: re-reads JOURNAL_STREAM and fd 2 (after a dup2 over stderr), and sends journal
 * entries to `path` instead of /run/systemd/journal/socket (NULL: the default). */
void cj_log_reset_target(const char *journal_socket_path);
