/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#define JOURNAL_SOCKET_DEFAULT "/run/systemd/journal/socket"

static int max_level = LOG_INFO;
static int stderr_is_journal = -1; /* -1: not decided yet */
static int journal_fd = -1;
static char journal_path[sizeof(((struct sockaddr_un *)NULL)->sun_path)] = JOURNAL_SOCKET_DEFAULT;

void cj_log_set_max_level(int level)
{
    max_level = level;
}

int cj_log_get_max_level(void)
{
    return max_level;
}

void cj_log_reset_target(const char *journal_socket_path)
{
    snprintf(journal_path, sizeof(journal_path), "%s",
             journal_socket_path ? journal_socket_path : JOURNAL_SOCKET_DEFAULT);
    stderr_is_journal = -1;
    if (journal_fd >= 0) {
        close(journal_fd);
        journal_fd = -1;
    }
}

/* systemd sets JOURNAL_STREAM=DEV:INODE when it connects stderr to journald. A child whose
 * stderr was redirected inherits the variable but not the stream, so the device and inode
 * must match fd 2 too (what sd_journal_stream_fd(3) recommends). */
static bool journal_connected(void)
{
    if (stderr_is_journal >= 0)
        return stderr_is_journal;

    stderr_is_journal = 0;
    const char *e = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    int end = 0;
    struct stat st;
    if (e && sscanf(e, "%llu:%llu%n", &dev, &ino, &end) == 2 && e[end] == '\0' &&
        fstat(STDERR_FILENO, &st) == 0 && st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino)
        stderr_is_journal = 1;
    return stderr_is_journal;
}

static const char *level_name(int level)
{
    static const char *const names[] = {"emerg", "alert",  "crit", "error",
                                        "warn",  "notice", "info", "debug"};
    return names[level & LOG_PRIMASK];
}

static bool field_key_valid(const char *key)
{
    size_t n = key ? strlen(key) : 0;
    if (n == 0 || n > 64 || key[0] < 'A' || key[0] > 'Z')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((key[i] >= 'A' && key[i] <= 'Z') || (key[i] >= '0' && key[i] <= '9') ||
              key[i] == '_'))
            return false;
    return true;
}

struct entry {
    char data[8192];
    size_t len;
    bool truncated;
};

/* Appends KEY=value, or the binary form (KEY, newline, 64-bit little-endian length, value)
 * that journald's native protocol wants for values with a newline in them. */
static void entry_add(struct entry *e, const char *key, const char *value)
{
    size_t klen = strlen(key), vlen = strlen(value);
    bool binary = memchr(value, '\n', vlen) != NULL;
    size_t need = klen + 1 + (binary ? 8 : 0) + vlen + 1;

    if (need > sizeof(e->data) - e->len) {
        e->truncated = true;
        return;
    }
    char *p = e->data + e->len;
    memcpy(p, key, klen);
    p += klen;
    if (binary) {
        uint64_t le = htole64((uint64_t)vlen);
        *p++ = '\n';
        memcpy(p, &le, sizeof(le));
        p += sizeof(le);
    } else {
        *p++ = '=';
    }
    memcpy(p, value, vlen);
    p += vlen;
    *p++ = '\n';
    e->len = (size_t)(p - e->data);
}

static void entry_add_num(struct entry *e, const char *key, int64_t n)
{
    char num[24];
    snprintf(num, sizeof(num), "%" PRId64, n);
    entry_add(e, key, num);
}

static int journal_send(const struct entry *e)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    if (journal_fd < 0) {
        journal_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (journal_fd < 0)
            return -errno;
        /* A full journal socket must not stall the daemon: drop to stderr instead. */
        int flags = fcntl(journal_fd, F_GETFL);
        if (flags >= 0)
            (void)fcntl(journal_fd, F_SETFL, flags | O_NONBLOCK);
    }
    memcpy(sa.sun_path, journal_path, strlen(journal_path));
    ssize_t n =
        sendto(journal_fd, e->data, e->len, MSG_NOSIGNAL, (struct sockaddr *)&sa, sizeof(sa));
    return n < 0 ? -errno : 0;
}

static void emit(int level, int error, const char *file, int line, const char *func,
                 const struct cj_log_field *fields, const char *msg)
{
    level &= LOG_PRIMASK;

    if (journal_connected()) {
        struct entry e = {.len = 0};
        entry_add(&e, "MESSAGE", msg);
        entry_add_num(&e, "PRIORITY", level);
        entry_add(&e, "SYSLOG_IDENTIFIER", program_invocation_short_name);
        entry_add(&e, "CODE_FILE", file);
        entry_add_num(&e, "CODE_LINE", line);
        if (func)
            entry_add(&e, "CODE_FUNC", func);
        if (error != 0)
            entry_add_num(&e, "ERRNO", error > 0 ? error : -error);
        for (const struct cj_log_field *f = fields; f && f->key; f++) {
            if (!field_key_valid(f->key))
                continue;
            if (f->value)
                entry_add(&e, f->key, f->value);
            else
                entry_add_num(&e, f->key, f->num);
        }
        if (!e.truncated && journal_send(&e) == 0)
            return;
        /* journald is away or the entry too big: the stream still carries the line. */
    }

    /* One fprintf per line so concurrent writers cannot interleave inside a line. */
    if (journal_connected())
        fprintf(stderr, "<%d>%s\n", level, msg);
    else if (max_level >= LOG_DEBUG)
        fprintf(stderr, "copyjobd[%s] %s:%d: %s\n", level_name(level), file, line, msg);
    else
        fprintf(stderr, "copyjobd[%s]: %s\n", level_name(level), msg);
}

_printf_(7, 0) static int log_va(int level, int error, const char *file, int line, const char *func,
                                 const struct cj_log_field *fields, const char *fmt, va_list ap)
{
    int saved = errno;
    int ret = error > 0 ? -error : error;

    if ((level & LOG_PRIMASK) > max_level) {
        errno = saved;
        return ret;
    }

    char msg[2048];
    if (error != 0)
        errno = error > 0 ? error : -error; /* lets callers use %m for the error */
    vsnprintf(msg, sizeof(msg), fmt, ap);
    emit(level, error, file, line, func, fields, msg);

    errno = saved;
    return ret;
}

int cj_log_internal(int level, int error, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = log_va(level, error, file, line, NULL, NULL, fmt, ap);
    va_end(ap);
    return r;
}

int cj_log_struct_internal(int level, int error, const char *file, int line, const char *func,
                           const struct cj_log_field *fields, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = log_va(level, error, file, line, func, fields, fmt, ap);
    va_end(ap);
    return r;
}
