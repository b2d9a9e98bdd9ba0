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

#define CJ_SOURCES_MAX 1000 /* sources one daemon syncs */

/* One account in one region that the daemon syncs (the contract's Sources). Every string is
 * owned by the settings; NULL where unset. */
struct cj_source_settings {
    char *name;              /* the region's name for an [aws] source, else NAME of [source.NAME] */
    char *region;            /* required */
    char *profile;           /* resolved: the source's, else [aws] profile (itself resolved) */
    char *role_arn;          /* NULL: the profile's own credentials */
    char *external_id;       /* NULL: none */
    char *role_session_name; /* resolved: default "copyjobd" */
    char *endpoint;          /* resolved: the source's, else AWS_ENDPOINT_URL_BEDROCK,
                                AWS_ENDPOINT_URL, else https://bedrock.<region>.<dns suffix>;
                                [aws] sources take [aws] endpoint first */
    bool from_aws;           /* an [aws] source (region or regions), not a [source.NAME] */
    char *file;              /* where its region was set, for messages; NULL: the environment */
    unsigned line;           /* that line */
    unsigned key_line[8];    /* where each key of [source.NAME] was set (config-sources.c) */
};

struct cj_settings {
    struct {
        char *region;         /* resolved: config, AWS_REGION, AWS_DEFAULT_REGION; NULL if none */
        char *profile;        /* resolved: config, AWS_PROFILE, "default" */
        char *endpoint;       /* resolved: config, AWS_ENDPOINT_URL_BEDROCK, AWS_ENDPOINT_URL,
                                 https://bedrock.<region>.amazonaws.com */
        char *ca_file;        /* resolved: config, AWS_CA_BUNDLE; NULL = system store */
        char **regions;       /* [aws] regions, as written (NULL-terminated; NULL = not set) */
        char *file;           /* the config file that set region or regions, NULL = none */
        unsigned region_line; /* its line, for messages */
    } aws;
    /* The effective sources, in order: one per [aws] region (regions, else region), then
     * every [source.NAME] in file order. Filled by cj_settings_resolve(), which refuses
     * (naming file, line and key): no source at all, two sources of one name, and two that
     * resolve to the same account and region where the configuration alone tells (the same
     * region with the same role_arn, or with the same profile and no role_arn). */
    struct cj_source_settings *sources;
    size_t n_sources;
    struct {
        uint64_t interval_usec;           /* 60s */
        uint64_t full_interval_usec;      /* 15m */
        unsigned page_size;               /* 1000, 1..1000 */
        unsigned max_requests_per_second; /* 5, 1..1000 */
        uint64_t timeout_usec;            /* 30s */
        uint32_t max_removal_share_bp;    /* 10%: in basis points, 0..10000 */
        /* 10s, 0..1d: the least time between the starts of passes POST /v1/sync asks for */
        uint64_t min_on_demand_interval_usec;
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
    /* Test-only knobs, from the COPYJOBD_* environment variables (cj_settings_resolve), so
     * that tests need not wait for the real timers. Production never sets them. Zero, false
     * or NULL: the module's own default. */
    struct cj_test_settings {
        unsigned idle_timeout_s;          /* COPYJOBD_IDLE_TIMEOUT_SEC, 1..3600 */
        unsigned header_timeout_s;        /* COPYJOBD_HEADER_TIMEOUT_SEC, 1..3600 */
        unsigned heartbeat_s;             /* COPYJOBD_HEARTBEAT_SEC, 1..3600 */
        bool has_retry_base_usec;         /* COPYJOBD_RETRY_BASE_MS was set */
        uint64_t retry_base_usec;         /* COPYJOBD_RETRY_BASE_MS, 0..3600000 ms */
        bool has_retry_cap_usec;          /* COPYJOBD_RETRY_CAP_MS was set */
        uint64_t retry_cap_usec;          /* COPYJOBD_RETRY_CAP_MS, 0..3600000 ms */
        unsigned sync_wait_s;             /* COPYJOBD_SYNC_WAIT_SEC, 1..3600: how long a
                                             POST /v1/sync?wait=true may wait */
        char *container_credentials_host; /* COPYJOBD_CONTAINER_CREDENTIALS_HOST, see
                                             cj_credentials_set_container_host() */
    } test;
};

/* The account of an IAM role ARN (arn:PARTITION:iam::ACCOUNT:role/PATH/NAME) as 12 digits;
 * -EINVAL when arn is not one. */
int cj_role_arn_account(const char *arn, char account[static 13]);

void cj_settings_init_defaults(struct cj_settings *s);
/* Reads the file. A missing file is fine only when `optional` (the default path).
 * Errors (-EINVAL, -ENOENT, ...) are written to err as "FILE:LINE: key: reason". */
int cj_settings_load_file(struct cj_settings *s, const char *path, bool optional, char *err,
                          size_t errlen);
/* Fills what the file left unset from the environment, then checks the whole (e.g. that a
 * region or an endpoint is known). Also reads the test-only COPYJOBD_* variables into
 * s->test; a number out of its range is ignored with a warning naming the variable. */
int cj_settings_resolve(struct cj_settings *s, char *err, size_t errlen);
/* Prints the effective settings as "section.key = value" lines (no secret is ever here), the
 * sources as "source.NAME.key = value". */
void cj_settings_dump(const struct cj_settings *s, FILE *f);
void cj_settings_done(struct cj_settings *s);
