/* SPDX-License-Identifier: MIT */
#include "config-keys.h"
#include "config-endpoint.h"
#include "config-sources.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bedrock-syntax.h"
#include "cj-time.h"
#include "cj-util.h"

static const struct cj_config_key keys[] = {
    {CJ_KEY_AWS_REGION, "aws", "region"},
    {CJ_KEY_AWS_REGIONS, "aws", "regions"},
    {CJ_KEY_AWS_PROFILE, "aws", "profile"},
    {CJ_KEY_AWS_ENDPOINT, "aws", "endpoint"},
    {CJ_KEY_AWS_CA_FILE, "aws", "ca_file"},
    {CJ_KEY_SYNC_INTERVAL, "sync", "interval"},
    {CJ_KEY_SYNC_FULL_INTERVAL, "sync", "full_interval"},
    {CJ_KEY_SYNC_PAGE_SIZE, "sync", "page_size"},
    {CJ_KEY_SYNC_MAX_RPS, "sync", "max_requests_per_second"},
    {CJ_KEY_SYNC_TIMEOUT, "sync", "timeout"},
    {CJ_KEY_SYNC_MAX_REMOVAL_SHARE, "sync", "max_removal_share"},
    {CJ_KEY_SYNC_MIN_ON_DEMAND_INTERVAL, "sync", "min_on_demand_interval"},
    {CJ_KEY_STORE_DIRECTORY, "store", "directory"},
    {CJ_KEY_STORE_MAX_SIZE, "store", "max_size"},
    {CJ_KEY_STORE_MAX_EVENTS, "store", "max_events"},
    {CJ_KEY_SERVER_SOCKET, "server", "socket"},
    {CJ_KEY_SERVER_SOCKET_MODE, "server", "socket_mode"},
    {CJ_KEY_SERVER_LISTEN_TCP, "server", "listen_tcp"},
    {CJ_KEY_SERVER_LISTEN_TCP_ALLOW_REMOTE, "server", "listen_tcp_allow_remote"},
    {CJ_KEY_SERVER_MAX_CONNECTIONS, "server", "max_connections"},
};

const struct cj_config_key *config_key_lookup(const char *section, const char *name)
{
    for (size_t i = 0; i < ELEMENTSOF(keys); i++)
        if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

bool config_section_known(const char *section)
{
    for (size_t i = 0; i < ELEMENTSOF(keys); i++)
        if (strcmp(keys[i].section, section) == 0)
            return true;
    return false;
}

int config_normalize_endpoint(const char *value, char **ret, char *reason, size_t reasonlen)
{
    struct cj_endpoint e;
    int r = cj_endpoint_parse_url(value, &e, reason, reasonlen);
    if (r < 0)
        return r;
    free(*ret);
    *ret = TAKE_PTR(e.origin);
    cj_endpoint_done(&e);
    return 0;
}

static int parse_uint(const char *value, unsigned long min, unsigned long max, int base,
                      unsigned long *ret, char *reason, size_t reasonlen)
{
    char *end;
    if (!isdigit((unsigned char)value[0]))
        goto bad;
    errno = 0;
    unsigned long v = strtoul(value, &end, base);
    if (errno || *end || v < min || v > max)
        goto bad;
    *ret = v;
    return 0;
bad:
    if (base == 8)
        snprintf(reason, reasonlen, "must be an octal mode from %04lo to %04lo", min, max);
    else
        snprintf(reason, reasonlen, "must be an integer from %lu to %lu", min, max);
    return -EINVAL;
}

/* A percentage with at most two decimals and its sign, "10%" or "2.5%", 0..100, in basis
 * points. The sign is required: "0.1" could mean a tenth or a tenth of a percent. */
static int parse_percent(const char *value, uint32_t *ret, char *reason, size_t reasonlen)
{
    uint32_t whole = 0, frac = 0;
    const char *p = value;
    int digits = 0, decimals = 0;

    for (; isdigit((unsigned char)*p) && digits < 4; p++, digits++)
        whole = whole * 10 + (uint32_t)(*p - '0');
    if (*p == '.') {
        p++;
        for (; isdigit((unsigned char)*p) && decimals < 2; p++, decimals++)
            frac = frac * 10 + (uint32_t)(*p - '0');
        if (decimals == 0)
            goto bad;
    }
    if (decimals == 1)
        frac *= 10;
    if (digits == 0 || strcmp(p, "%") != 0 || whole * 100 + frac > 10000)
        goto bad;
    *ret = whole * 100 + frac;
    return 0;
bad:
    snprintf(reason, reasonlen,
             "must be a percentage from 0%% to 100%% (at most two decimals), "
             "e.g. 10%%");
    return -EINVAL;
}

static int parse_bool(const char *value, bool *ret)
{
    static const char *const yes[] = {"yes", "true", "on", "1"}, *const no[] = {"no", "false",
                                                                                "off", "0"};
    for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
        if (strcasecmp(value, yes[i]) == 0)
            return *ret = true, 0;
        if (strcasecmp(value, no[i]) == 0)
            return *ret = false, 0;
    }
    return -EINVAL;
}

static int parse_duration_between(const char *value, uint64_t min, uint64_t max, uint64_t *ret,
                                  char *reason, size_t reasonlen, const char *range)
{
    uint64_t usec;
    if (cj_duration_parse(value, &usec) < 0 || usec < min || usec > max) {
        snprintf(reason, reasonlen, "must be a duration from %s (units ms, s, m, h)", range);
        return -EINVAL;
    }
    *ret = usec;
    return 0;
}

static int set_path(char **dst, const char *value, char *reason, size_t reasonlen)
{
    if (value[0] != '/') {
        snprintf(reason, reasonlen, "must be an absolute path");
        return -EINVAL;
    }
    if (strlen(value) > 4000) {
        snprintf(reason, reasonlen, "is too long");
        return -EINVAL;
    }
    char *copy = strdup(value);
    if (!copy)
        return -ENOMEM;
    free(*dst);
    *dst = copy;
    return 0;
}

static int set_optional_string(char **dst, const char *value)
{
    free(*dst);
    *dst = NULL;
    if (!*value)
        return 0; /* "key =" means: use the default / off */
    *dst = strdup(value);
    return *dst ? 0 : -ENOMEM;
}

int config_key_apply(const struct cj_config_key *key, struct cj_settings *s, const char *value,
                     char *reason, size_t reasonlen)
{
    unsigned long ul;
    int r;

    switch (key->id) {
    case CJ_KEY_AWS_REGION:
        if (*value && !cj_valid_region_name(value, strlen(value))) {
            snprintf(reason, reasonlen, "must be a region name like us-east-1");
            return -EINVAL;
        }
        return set_optional_string(&s->aws.region, value);
    case CJ_KEY_AWS_REGIONS: {
        char **list = NULL;
        r = config_regions_parse(value, &list, reason, reasonlen);
        if (r < 0)
            return r;
        config_regions_free(s->aws.regions);
        s->aws.regions = list;
        return 0;
    }
    case CJ_KEY_AWS_PROFILE:
        if (strlen(value) > 128 || strpbrk(value, "[] \t")) {
            snprintf(reason, reasonlen, "must be a profile name without spaces or brackets");
            return -EINVAL;
        }
        return set_optional_string(&s->aws.profile, value);
    case CJ_KEY_AWS_ENDPOINT:
        if (!*value)
            return set_optional_string(&s->aws.endpoint, value);
        return config_normalize_endpoint(value, &s->aws.endpoint, reason, reasonlen);
    case CJ_KEY_AWS_CA_FILE:
        if (!*value)
            return set_optional_string(&s->aws.ca_file, value);
        return set_path(&s->aws.ca_file, value, reason, reasonlen);
    case CJ_KEY_SYNC_INTERVAL:
        return parse_duration_between(value, CJ_USEC_PER_SEC, 7 * 24 * 3600 * CJ_USEC_PER_SEC,
                                      &s->sync.interval_usec, reason, reasonlen, "1s to 7d");
    case CJ_KEY_SYNC_FULL_INTERVAL:
        return parse_duration_between(value, CJ_USEC_PER_SEC, 7 * 24 * 3600 * CJ_USEC_PER_SEC,
                                      &s->sync.full_interval_usec, reason, reasonlen, "1s to 7d");
    case CJ_KEY_SYNC_TIMEOUT:
        return parse_duration_between(value, 100 * 1000, 600 * CJ_USEC_PER_SEC,
                                      &s->sync.timeout_usec, reason, reasonlen, "100ms to 10m");
    case CJ_KEY_SYNC_MAX_REMOVAL_SHARE:
        return parse_percent(value, &s->sync.max_removal_share_bp, reason, reasonlen);
    case CJ_KEY_SYNC_MIN_ON_DEMAND_INTERVAL:
        return parse_duration_between(value, 0, 24 * 3600 * CJ_USEC_PER_SEC,
                                      &s->sync.min_on_demand_interval_usec, reason, reasonlen,
                                      "0 to 1d");
    case CJ_KEY_SYNC_PAGE_SIZE:
        r = parse_uint(value, 1, 1000, 10, &ul, reason, reasonlen);
        if (r == 0)
            s->sync.page_size = (unsigned)ul;
        return r;
    case CJ_KEY_SYNC_MAX_RPS:
        r = parse_uint(value, 1, 1000, 10, &ul, reason, reasonlen);
        if (r == 0)
            s->sync.max_requests_per_second = (unsigned)ul;
        return r;
    case CJ_KEY_STORE_DIRECTORY:
        return set_path(&s->store.directory, value, reason, reasonlen);
    case CJ_KEY_STORE_MAX_SIZE: {
        uint64_t bytes;
        if (cj_size_parse(value, &bytes) < 0 || bytes < (UINT64_C(1) << 20) ||
            bytes > (UINT64_C(1) << 40)) {
            snprintf(reason, reasonlen, "must be a size from 1M to 1T (units K, M, G, T)");
            return -EINVAL;
        }
        s->store.max_size = bytes;
        return 0;
    }
    case CJ_KEY_STORE_MAX_EVENTS:
        r = parse_uint(value, 1000, 100000000, 10, &ul, reason, reasonlen);
        if (r == 0)
            s->store.max_events = ul;
        return r;
    case CJ_KEY_SERVER_SOCKET:
        if (strlen(value) >= 108) {
            snprintf(reason, reasonlen, "must be shorter than 108 bytes (a Unix socket path)");
            return -EINVAL;
        }
        return set_path(&s->server.socket, value, reason, reasonlen);
    case CJ_KEY_SERVER_SOCKET_MODE:
        r = parse_uint(value, 0, 0777, 8, &ul, reason, reasonlen);
        if (r < 0)
            return r;
        if (ul & 0002) {
            snprintf(reason, reasonlen, "must not make the socket world-writable");
            return -EINVAL;
        }
        if ((ul & 0600) != 0600) {
            snprintf(reason, reasonlen, "must give the owner read and write (0600 at least)");
            return -EINVAL;
        }
        s->server.socket_mode = (mode_t)ul;
        return 0;
    case CJ_KEY_SERVER_LISTEN_TCP:
        if (*value && (strlen(value) > 300 || !strchr(value, ':'))) {
            snprintf(reason, reasonlen, "must be HOST:PORT, e.g. 127.0.0.1:7605, or empty");
            return -EINVAL;
        }
        return set_optional_string(&s->server.listen_tcp, value);
    case CJ_KEY_SERVER_LISTEN_TCP_ALLOW_REMOTE:
        r = parse_bool(value, &s->server.listen_tcp_allow_remote);
        if (r < 0)
            snprintf(reason, reasonlen, "must be yes or no");
        return r;
    case CJ_KEY_SERVER_MAX_CONNECTIONS:
        r = parse_uint(value, 1, 65536, 10, &ul, reason, reasonlen);
        if (r == 0)
            s->server.max_connections = (unsigned)ul;
        return r;
    case _CJ_KEY_MAX:
        break;
    }
    return -EINVAL;
}
