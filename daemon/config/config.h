/* SPDX-License-Identifier: MIT */
/* copyjobd.conf: parsing, validation and the effective settings. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define CJ_DEFAULT_CONFIG_PATH "/etc/copyjobd/copyjobd.conf"
#define CJ_DEFAULT_STATE_DIR   "/var/lib/copyjobd"
#define CJ_DEFAULT_SOCKET_PATH "/run/copyjobd/copyjobd.sock"

struct cj_settings {
    struct {
        char *region;   /* resolved: config, AWS_REGION, AWS_DEFAULT_REGION; NULL if none */
        char *profile;  /* resolved: config, AWS_PROFILE, "default" */
        char *endpoint; /* resolved: config, AWS_ENDPOINT_URL_BEDROCK, AWS_ENDPOINT_URL,
                           https://bedrock.<region>.amazonaws.com */
        char *ca_file;  /* resolved: config, AWS_CA_BUNDLE; NULL = system store */
    } aws;
    struct {
        uint64_t interval_usec;           /* 60s */
        uint64_t full_interval_usec;      /* 15m */
        unsigned page_size;               /* 1000, 1..1000 */
        unsigned max_requests_per_second; /* 5, 1..1000 */
        uint64_t timeout_usec;            /* 30s */
    } sync;
    struct {
        char *directory;     /* /var/lib/copyjobd, or $STATE_DIRECTORY when set by systemd */
        uint64_t max_size;   /* 4G */
        uint64_t max_events; /* 100000: change log entries kept */
    } store;
    struct {
        char *socket;       /* /run/copyjobd/copyjobd.sock, or $RUNTIME_DIRECTORY/copyjobd.sock */
        mode_t socket_mode; /* 0660 */
        char *listen_tcp;   /* NULL = off */
        bool listen_tcp_allow_remote; /* false: listen_tcp must be a loopback address */
        unsigned max_connections;     /* 256 */
    } server;
};

void cj_settings_init_defaults(struct cj_settings *s);
/* Reads the file. A missing file is fine only when `optional` (the default path).
 * Errors (-EINVAL, -ENOENT, ...) are written to err as "FILE:LINE: key: reason". */
int cj_settings_load_file(struct cj_settings *s, const char *path, bool optional, char *err,
                          size_t errlen);
/* Fills what the file left unset from the environment, then checks the whole (e.g. that a
 * region or an endpoint is known). */
int cj_settings_resolve(struct cj_settings *s, char *err, size_t errlen);
/* Prints the effective settings as "section.key = value" lines (no secret is ever here). */
void cj_settings_dump(const struct cj_settings *s, FILE *f);
void cj_settings_done(struct cj_settings *s);
