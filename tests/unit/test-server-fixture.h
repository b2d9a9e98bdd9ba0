/* SPDX-License-Identifier: MIT */
/* What the server tests set up alike: a fresh directory under the test's temp dir with an
 * empty store in it, an sd-event loop, and settings for a server on a Unix socket there.
 * Include after <cmocka.h>. */
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-event.h>

#include "cj-time.h"
#include "server.h"

struct server_fixture {
    char dir[128];
    char socket_path[200];
    struct cj_settings settings;
    sd_event *event;
    struct cj_store *store;
    struct cj_server *server;
};

/* Opens <tmpdir>/fN (N counts up), its store (max_events: the bound of its event log, 0 = the
 * store's default) and an event loop, and points the settings at <tmpdir>/fN/<socket_name>.
 * The caller sets the rest (socket mode, limits, TCP) and fills the store, then serves. */
static inline void server_fixture_open(struct server_fixture *f, const char *tmpdir,
                                       const char *socket_name, uint64_t max_events)
{
    static unsigned counter;

    memset(f, 0, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "%s/f%u", tmpdir, ++counter);
    assert_int_equal(mkdir(f->dir, 0700), 0);
    snprintf(f->socket_path, sizeof(f->socket_path), "%s/%s", f->dir, socket_name);
    f->settings.sync.full_interval_usec = 15 * 60 * CJ_USEC_PER_SEC;
    f->settings.server.socket = f->socket_path;

    struct cj_store_options o = {
        .directory = f->dir, .max_size = 256 * 1024 * 1024, .max_events = max_events};
    assert_int_equal(cj_store_open(&o, &f->store), 0);
    assert_int_equal(sd_event_new(&f->event), 0);
}

/* Starts the server with the settings; returns what cj_server_new() returns. */
static inline int server_fixture_serve(struct server_fixture *f)
{
    return cj_server_new(f->event, f->store, NULL, &f->settings, &f->server);
}

static inline void server_fixture_close(struct server_fixture *f)
{
    cj_server_free(f->server);
    sd_event_unref(f->event);
    cj_store_close(f->store);
    memset(f, 0, sizeof(*f));
}
