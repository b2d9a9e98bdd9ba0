/* SPDX-License-Identifier: MIT */
/* HTTP/1.1 to copyjobd over its Unix socket, with libcurl. One client keeps one connection
 * alive across requests (the pages of `list --all`). Every answer is bounded in size. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "cj-buf.h"

#define CTL_MAX_BODY     ((size_t)64 * 1024 * 1024)
#define CTL_MAX_LINE     ((size_t)1024 * 1024) /* one streamed event */
#define CTL_SUN_PATH_MAX 107                   /* sizeof(sun_path) - 1 */

struct ctl_client;

struct ctl_response {
    long status;
    struct cj_buf body;   /* the whole body; for a streamed 2xx answer, only what is unread */
    char error_type[128]; /* x-amzn-ErrorType, reduced to the type's name; "" if none */
    char synced_at[64];   /* x-copyjobd-synced-at; "" if none */
    long long age;        /* Age header in seconds; -1 if none */
};

void ctl_response_done(struct ctl_response *r);

/* Called for each complete line of a streamed 2xx answer (without its newline). Returning
 * non-zero stops the transfer and makes ctl_client_stream() return that value. */
typedef int (*ctl_line_fn)(const char *line, size_t len, void *userdata);
/* Called about once a second, and on every chunk, while a request runs. */
typedef void (*ctl_tick_fn)(void *userdata);

int ctl_client_new(const char *socket_path, struct ctl_client **ret);
void ctl_client_free(struct ctl_client *c);
#define _cleanup_client_ _cleanup_(ctl_client_freep)
static inline void ctl_client_freep(struct ctl_client **c)
{
    ctl_client_free(*c);
}

/* Waits at most timeout_sec for the whole answer (0 = no limit). */
void ctl_client_set_timeout(struct ctl_client *c, long timeout_sec);
void ctl_client_set_tick(struct ctl_client *c, ctl_tick_fn fn, void *userdata);

/* Sends one request. `target` is the path and query, already percent-encoded. Returns 0
 * when an answer arrived (whatever its status), -ECANCELED when interrupted (SIGINT), or
 * another negative errno; ctl_client_report() then explains it. */
int ctl_client_request(struct ctl_client *c, const char *method, const char *target,
                       struct ctl_response *ret);
/* Like ctl_client_request(), but a 2xx body is handed out line by line as it arrives. */
int ctl_client_stream(struct ctl_client *c, const char *target, ctl_line_fn fn, void *userdata,
                      struct ctl_response *ret);

/* Prints why a request failed (r from the calls above) and returns the exit code:
 * CTL_EXIT_UNREACHABLE when no connection could be made, CTL_EXIT_FAILURE otherwise. */
int ctl_client_report(const struct ctl_client *c, int r);

/* For an answer that is not 2xx: "copyjobctl: <Type>: <message>". Returns CTL_EXIT_FAILURE. */
int ctl_response_report_error(const struct ctl_response *resp);

/* Set from a SIGINT handler; a request in flight ends with -ECANCELED soon after. */
void ctl_client_interrupt(void);
bool ctl_client_interrupted(void);

/* Appends "key=value" to a query string, with '?' or '&' before it and the value
 * percent-encoded (RFC 3986 unreserved characters kept). */
int ctl_query_add(struct cj_buf *query, const char *key, const char *value);
/* Appends s percent-encoded, for a path segment. */
int ctl_append_escaped(struct cj_buf *out, const char *s);
