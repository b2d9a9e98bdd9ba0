/* SPDX-License-Identifier: MIT */
/* A libmicrohttpd daemon driven by an sd-event loop, the way systemd-journal-remote drives
 * one: MHD runs without a thread of its own (started with MHD_USE_EPOLL), sd-event watches
 * MHD's epoll fd and one CLOCK_MONOTONIC timer that is re-armed from MHD_get_timeout() after
 * every MHD_run(). Knows nothing of what the daemon serves. */
#pragma once

#include <microhttpd.h>
#include <stdbool.h>
#include <systemd/sd-event.h>

struct cj_mhd_event;

/* Called after each MHD_run(). Returning true runs MHD once more before going back to the
 * loop: at its connection limit MHD takes its listening socket out of its epoll set and puts
 * it back only at the start of a later run, so after a connection closed during a run, one
 * more run accepts the clients waiting in the backlog now. */
typedef bool (*cj_mhd_event_run_again_fn)(void *userdata);

struct cj_mhd_event_options {
    const char *description;             /* for log lines, e.g. the socket's path */
    cj_mhd_event_run_again_fn run_again; /* NULL: one run per event */
    void *userdata;
};

/* Hooks mhd (started with MHD_USE_EPOLL, not yet watched) into event. mhd stays the
 * caller's: stop it after cj_mhd_event_free(). -EINVAL when mhd has no epoll fd (it was not
 * started with MHD_USE_EPOLL), or sd-event's error; each logged. */
int cj_mhd_event_new(sd_event *event, struct MHD_Daemon *mhd, const struct cj_mhd_event_options *o,
                     struct cj_mhd_event **ret);
/* Removes the event sources. NULL is a no-op. */
void cj_mhd_event_free(struct cj_mhd_event *m);
/* Makes MHD run on the next loop iteration, e.g. after a connection was resumed outside a
 * run. */
void cj_mhd_event_kick(struct cj_mhd_event *m);
