/* SPDX-License-Identifier: MIT */
/* The table of copyjobd.conf keys: where each lives and how its value is checked. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

enum cj_config_key_id {
    CJ_KEY_AWS_REGION,
    CJ_KEY_AWS_REGIONS,
    CJ_KEY_AWS_PROFILE,
    CJ_KEY_AWS_ENDPOINT,
    CJ_KEY_AWS_CA_FILE,
    CJ_KEY_SYNC_INTERVAL,
    CJ_KEY_SYNC_FULL_INTERVAL,
    CJ_KEY_SYNC_PAGE_SIZE,
    CJ_KEY_SYNC_MAX_RPS,
    CJ_KEY_SYNC_TIMEOUT,
    CJ_KEY_SYNC_MAX_REMOVAL_SHARE,
    CJ_KEY_SYNC_MIN_ON_DEMAND_INTERVAL,
    CJ_KEY_STORE_DIRECTORY,
    CJ_KEY_STORE_MAX_SIZE,
    CJ_KEY_STORE_MAX_EVENTS,
    CJ_KEY_SERVER_SOCKET,
    CJ_KEY_SERVER_SOCKET_MODE,
    CJ_KEY_SERVER_LISTEN_TCP,
    CJ_KEY_SERVER_LISTEN_TCP_ALLOW_REMOTE,
    CJ_KEY_SERVER_MAX_CONNECTIONS,
    _CJ_KEY_MAX,
};

struct cj_config_key {
    enum cj_config_key_id id;
    const char *section;
    const char *name;
};

const struct cj_config_key *config_key_lookup(const char *section, const char *name);
bool config_section_known(const char *section);
/* Checks and stores one value; on -EINVAL puts the reason (never the value of a secret;
 * the config file holds none) into reason. */
int config_key_apply(const struct cj_config_key *key, struct cj_settings *s, const char *value,
                     char *reason, size_t reasonlen);

/* Checks an endpoint URL with cj_endpoint_parse_url() and stores its normal form, the
 * origin (no trailing '/', no default port). */
int config_normalize_endpoint(const char *value, char **ret, char *reason, size_t reasonlen);
