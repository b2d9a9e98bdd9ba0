/* SPDX-License-Identifier: MIT */
#include "microhttpd-sd-event.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include "log.h"

struct cj_mhd_event {
    sd_event *event;
    struct MHD_Daemon *mhd;
    sd_event_source *io;
    sd_event_source *timer;
    cj_mhd_event_run_again_fn run_again;
    void *userdata;
    char description[128];
};

/* MHD's timeout is relative milliseconds; sd-event wants an absolute CLOCK_MONOTONIC time. */
static void rearm_timer(struct cj_mhd_event *m)
{
    MHD_UNSIGNED_LONG_LONG timeout_ms;
    uint64_t now;
    int r;

    if (MHD_get_timeout(m->mhd, &timeout_ms) == MHD_NO) {
        sd_event_source_set_enabled(m->timer, SD_EVENT_OFF);
        return;
    }
    r = sd_event_now(m->event, CLOCK_MONOTONIC, &now);
    if (r < 0) {
        log_warning_errno(r, "http %s: cannot read the clock: %m", m->description);
        return;
    }
    uint64_t when = timeout_ms >= (UINT64_MAX - now) / 1000 ? UINT64_MAX : now + timeout_ms * 1000;
    r = sd_event_source_set_time(m->timer, when);
    if (r >= 0)
        r = sd_event_source_set_enabled(m->timer, SD_EVENT_ONESHOT);
    if (r < 0)
        log_warning_errno(r, "http %s: cannot arm the timer: %m", m->description);
}

static void run(struct cj_mhd_event *m)
{
    if (MHD_run(m->mhd) == MHD_NO)
        log_debug("http %s: MHD_run failed", m->description);
    if (m->run_again && m->run_again(m->userdata) && MHD_run(m->mhd) == MHD_NO)
        log_debug("http %s: MHD_run failed", m->description);
    rearm_timer(m);
}

static int on_io(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
    run(userdata);
    return 0;
}

static int on_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
    run(userdata);
    return 0;
}

int cj_mhd_event_new(sd_event *event, struct MHD_Daemon *mhd, const struct cj_mhd_event_options *o,
                     struct cj_mhd_event **ret)
{
    const union MHD_DaemonInfo *info;
    int r;

    struct cj_mhd_event *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->event = sd_event_ref(event);
    m->mhd = mhd;
    m->run_again = o->run_again;
    m->userdata = o->userdata;
    snprintf(m->description, sizeof(m->description), "%s", o->description ? o->description : "");

    info = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info) {
        r = log_error_errno(EINVAL, "http %s: libmicrohttpd has no epoll fd", m->description);
        goto fail;
    }
    r = sd_event_add_io(event, &m->io, info->epoll_fd, EPOLLIN, on_io, m);
    if (r < 0) {
        log_error_errno(r, "http %s: cannot watch the epoll fd: %m", m->description);
        goto fail;
    }
    (void)sd_event_source_set_description(m->io, "http-io");

    /* Accuracy 1 µs: a timeout of 0 means "data is already buffered, run again now". */
    r = sd_event_add_time(event, &m->timer, CLOCK_MONOTONIC, UINT64_MAX, 1, on_timer, m);
    if (r < 0) {
        log_error_errno(r, "http %s: cannot add the timer: %m", m->description);
        goto fail;
    }
    (void)sd_event_source_set_description(m->timer, "http-timer");
    rearm_timer(m);
    *ret = m;
    return 0;

fail:
    cj_mhd_event_free(m);
    return r;
}

void cj_mhd_event_free(struct cj_mhd_event *m)
{
    if (!m)
        return;
    sd_event_source_disable_unref(m->io);
    sd_event_source_disable_unref(m->timer);
    sd_event_unref(m->event);
    free(m);
}

void cj_mhd_event_kick(struct cj_mhd_event *m)
{
    if (sd_event_source_set_time(m->timer, 0) < 0 ||
        sd_event_source_set_enabled(m->timer, SD_EVENT_ONESHOT) < 0)
        log_warning("http %s: cannot schedule a run", m->description);
}
