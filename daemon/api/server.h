/* SPDX-License-Identifier: MIT */
/* The local HTTP/1.1 API: libmicrohttpd, driven by the sd-event loop through its epoll fd,
 * on the Unix socket (or the socket systemd passed in) and the optional TCP listener. */
#pragma once

#include <systemd/sd-event.h>

#include "config.h"
#include "store.h"
#include "sync-set.h"

struct cj_server;

/* Listens on the sockets passed by systemd (sd_listen_fds) if any, else creates
 * settings->server.socket (mode socket_mode; a stale socket file is replaced, anything
 * else at the path is an error). syncs may be NULL (then /v1/sync answers 503, and health,
 * stats and the Age headers go by what the store recorded); it must outlive the server. */
int cj_server_new(sd_event *event, struct cj_store *store, struct cj_sync_set *syncs,
                  const struct cj_settings *settings, struct cj_server **ret);
/* Stops accepting, closes every connection, removes the socket file it created. */
void cj_server_free(struct cj_server *s);
/* Writes "path, address, ..." of the sockets actually served (systemd's, when it passed
 * them) into buf, truncated to size. */
void cj_server_describe(const struct cj_server *s, char *buf, size_t size);
