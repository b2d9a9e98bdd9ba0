/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bedrock-syntax.h"
#include "cj-time.h"
#include "cj-util.h"
#include "config-keys.h"
#include "config-sources.h"
#include "log.h"

#define CONFIG_LINE_MAX 1024

static int set_string(char **dst, const char *value)
{
    char *copy = strdup(value);
    if (!copy)
        return -ENOMEM;
    free(*dst);
    *dst = copy;
    return 0;
}

void cj_settings_init_defaults(struct cj_settings *s)
{
    *s = (struct cj_settings){
        .sync =
            {
                .interval_usec = 60 * CJ_USEC_PER_SEC,
                .full_interval_usec = 15 * 60 * CJ_USEC_PER_SEC,
                .page_size = 1000,
                .max_removal_share_bp = 1000,
                .max_requests_per_second = 5,
                .timeout_usec = 30 * CJ_USEC_PER_SEC,
                .min_on_demand_interval_usec = 10 * CJ_USEC_PER_SEC,
            },
        .store = {.max_size = UINT64_C(4) << 30, .max_events = 100000},
        .server = {.socket_mode = 0660, .max_connections = 256},
    };
}

void cj_settings_done(struct cj_settings *s)
{
    free(s->aws.region);
    free(s->aws.profile);
    free(s->aws.endpoint);
    free(s->aws.ca_file);
    free(s->store.directory);
    free(s->server.socket);
    free(s->server.listen_tcp);
    free(s->test.container_credentials_host);
    config_regions_free(s->aws.regions);
    free(s->aws.file);
    for (size_t i = 0; i < s->n_sources; i++)
        config_source_done(&s->sources[i]);
    free(s->sources);
    *s = (struct cj_settings){0};
}

/* ---- the file ---- */

struct parse_state {
    struct cj_settings *settings;
    const char *path;
    FILE *file;
    unsigned line; /* line the reader handed out last */
    bool line_too_long;
    unsigned seen_line[_CJ_KEY_MAX]; /* where each key was set, for duplicates */
    int error;                       /* first error, negative errno */
    char *err;
    size_t errlen;
};

_printf_(3, 4) static int fail(struct parse_state *st, unsigned line, const char *fmt, ...)
{
    if (st->error < 0)
        return 0; /* keep the first error; it is the one users fix first */
    int n = snprintf(st->err, st->errlen, "%s:%u: ", st->path, line);
    if (n >= 0 && (size_t)n < st->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(st->err + n, st->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    st->error = -EINVAL;
    return 0;
}

/* inih's handler is not told the line number; counting the lines the reader hands out gives
 * it, because inih calls the handler before it reads the next line. */
static char *counting_reader(char *str, int num, void *stream)
{
    struct parse_state *st = stream;
    char *r = fgets(str, num, st->file);
    if (!r)
        return NULL;
    st->line++;
    size_t len = strlen(r);
    if (len > 0 && r[len - 1] != '\n' && !feof(st->file)) {
        /* Longer than inih's buffer: refuse rather than let the rest become a new line. */
        st->line_too_long = true;
        fail(st, st->line, "line longer than %d bytes", num - 3);
        int c;
        while ((c = fgetc(st->file)) != EOF && c != '\n')
            ;
        str[0] = '\0';
    }
    return r;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct parse_state *st = user;
    unsigned line = st->line;
    const struct cj_config_key *key = config_key_lookup(section, name);
    char reason[256] = "";
    int r;

    if (strncmp(section, CJ_SOURCE_SECTION_PREFIX, strlen(CJ_SOURCE_SECTION_PREFIX)) == 0) {
        r = config_source_key(st->settings, st->path, section, name, value, line, reason,
                              sizeof(reason));
        if (r == -ENOMEM) {
            st->error = -ENOMEM;
            return 0;
        }
        return r < 0 ? fail(st, line, "%s", reason) : 1;
    }
    if (!key) {
        if (!config_section_known(section))
            return fail(st, line, "unknown section [%s]", section);
        return fail(st, line, "[%s] unknown key '%s'", section, name);
    }
    if (st->seen_line[key->id])
        return fail(st, line, "[%s] %s: already set on line %u", section, name,
                    st->seen_line[key->id]);
    st->seen_line[key->id] = line;

    r = config_key_apply(key, st->settings, value, reason, sizeof(reason));
    if (r == -ENOMEM) {
        st->error = -ENOMEM;
        return 0;
    }
    if (r < 0)
        return fail(st, line, "[%s] %s: %s", section, name, reason);
    /* Where the [aws] sources come from, for the messages about them; regions overrides
     * region wherever it stands. */
    if (key->id == CJ_KEY_AWS_REGIONS ||
        (key->id == CJ_KEY_AWS_REGION && !st->seen_line[CJ_KEY_AWS_REGIONS])) {
        struct cj_settings *s = st->settings;
        free(s->aws.file);
        if (!(s->aws.file = strdup(st->path))) {
            st->error = -ENOMEM;
            return 0;
        }
        s->aws.region_line = line;
    }
    return 1;
}

int cj_settings_load_file(struct cj_settings *s, const char *path, bool optional, char *err,
                          size_t errlen)
{
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    if (!f) {
        if (errno == ENOENT && optional)
            return 0;
        int e = errno;
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
        return -e;
    }

    struct parse_state st = {.settings = s, .path = path, .file = f, .err = err, .errlen = errlen};
    /* Comments on their own lines only, and no continuation lines: a value is exactly what
     * follows '=' on its line, so a stray ';' or indentation cannot silently change it. */
    ini_allow_inline_comments = false;
    ini_allow_multiline = false;

    int r = ini_parse_stream(counting_reader, &st, handler, &st);
    if (st.error < 0)
        return st.error;
    if (r > 0) {
        fail(&st, (unsigned)r, "syntax error: expected '[section]' or 'key = value'");
        return st.error;
    }
    if (r < 0) {
        snprintf(err, errlen, "%s: cannot read", path);
        return -EIO;
    }
    return 0;
}

/* ---- the environment and derived values ---- */

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* systemd may pass several directories separated by ':'; the first is ours. */
static int first_of_env_path_list(const char *name, const char *suffix, char **ret)
{
    const char *v = env_nonempty(name);
    if (!v)
        return 0;
    size_t n = strcspn(v, ":");
    if (v[0] != '/')
        return 0;
    if (asprintf(ret, "%.*s%s", (int)n, v, suffix) < 0)
        return -ENOMEM;
    return 1;
}

/* Region of the profile in the shared config file, as the AWS CLI reads it. */
struct profile_lookup {
    const char *section; /* "default" or "profile NAME" */
    char *region;
};

static int profile_handler(void *user, const char *section, const char *name, const char *value)
{
    struct profile_lookup *pl = user;
    if (strcmp(section, pl->section) == 0 && strcmp(name, "region") == 0 && !pl->region)
        pl->region = strdup(value);
    return 1;
}

static char *profile_region(const char *profile)
{
    _cleanup_free_ char *path = NULL;
    const char *env = env_nonempty("AWS_CONFIG_FILE");
    if (env)
        path = strdup(env);
    else if (env_nonempty("HOME") && asprintf(&path, "%s/.aws/config", getenv("HOME")) < 0)
        path = NULL;
    if (!path)
        return NULL;

    _cleanup_free_ char *section = NULL;
    if (strcmp(profile, "default") == 0)
        section = strdup("default");
    else if (asprintf(&section, "profile %s", profile) < 0)
        section = NULL;
    if (!section)
        return NULL;

    struct profile_lookup pl = {.section = section};
    ini_allow_inline_comments = false;
    ini_allow_multiline = true; /* the AWS files use continuation lines for nested keys */
    (void)ini_parse(path, profile_handler, &pl);
    ini_allow_multiline = false;
    return pl.region;
}

/* The one reader of the test-only variables' numbers: unset or empty leaves *set false, and
 * so does a value that is not a decimal number in min..max, with a warning naming the
 * variable (a test knob never stops the daemon). */
static void env_number(const char *name, uint64_t min, uint64_t max, const char *unit,
                       uint64_t *ret, bool *set)
{
    const char *v = env_nonempty(name);
    char *end;

    *set = false;
    if (!v)
        return;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno != 0 || *end != '\0' || v[0] < '0' || v[0] > '9' || n < min || n > max) {
        log_warning("%s=%s: not a number of %s from %" PRIu64 " to %" PRIu64 "; using the default",
                    name, v, unit, min, max);
        return;
    }
    log_notice("%s=%llu (a test setting)", name, n);
    *ret = n;
    *set = true;
}

/* 1..3600 seconds; 0 when unset. */
static unsigned env_seconds(const char *name)
{
    uint64_t n = 0;
    bool set;
    env_number(name, 1, 3600, "seconds", &n, &set);
    return set ? (unsigned)n : 0;
}

/* 0..3600000 milliseconds, kept in microseconds. */
static void env_msec(const char *name, uint64_t *ret_usec, bool *set)
{
    uint64_t n = 0;
    env_number(name, 0, 3600 * 1000, "milliseconds", &n, set);
    *ret_usec = *set ? n * 1000 : 0;
}

static int resolve_test_knobs(struct cj_settings *s)
{
    s->test.idle_timeout_s = env_seconds("COPYJOBD_IDLE_TIMEOUT_SEC");
    s->test.header_timeout_s = env_seconds("COPYJOBD_HEADER_TIMEOUT_SEC");
    s->test.heartbeat_s = env_seconds("COPYJOBD_HEARTBEAT_SEC");
    s->test.sync_wait_s = env_seconds("COPYJOBD_SYNC_WAIT_SEC");
    env_msec("COPYJOBD_RETRY_BASE_MS", &s->test.retry_base_usec, &s->test.has_retry_base_usec);
    env_msec("COPYJOBD_RETRY_CAP_MS", &s->test.retry_cap_usec, &s->test.has_retry_cap_usec);

    /* Checked where it is used (it must be a loopback host[:port]). */
    const char *host = env_nonempty("COPYJOBD_CONTAINER_CREDENTIALS_HOST");
    free(s->test.container_credentials_host);
    s->test.container_credentials_host = NULL;
    if (host && set_string(&s->test.container_credentials_host, host) < 0)
        return -ENOMEM;
    return 0;
}

int cj_settings_resolve(struct cj_settings *s, char *err, size_t errlen)
{
    int r;
    const char *v;

    if (!s->aws.profile) {
        v = env_nonempty("AWS_PROFILE");
        if (set_string(&s->aws.profile, v ? v : "default") < 0)
            return -ENOMEM;
    }
    if (!s->aws.region) {
        v = env_nonempty("AWS_REGION");
        if (!v)
            v = env_nonempty("AWS_DEFAULT_REGION");
        if (v) {
            if (set_string(&s->aws.region, v) < 0)
                return -ENOMEM;
        } else {
            s->aws.region = profile_region(s->aws.profile);
        }
    }
    char reason[160];
    if (s->aws.region && !cj_valid_region_name(s->aws.region, strlen(s->aws.region))) {
        snprintf(err, errlen, "region '%.64s' is not a valid AWS region name", s->aws.region);
        return -EINVAL;
    }

    /* AWS_ENDPOINT_URL_BEDROCK and AWS_ENDPOINT_URL apply to every source; [aws] endpoint
     * to the [aws] sources, before them. */
    _cleanup_free_ char *env_endpoint = NULL;
    v = env_nonempty("AWS_ENDPOINT_URL_BEDROCK");
    if (!v)
        v = env_nonempty("AWS_ENDPOINT_URL");
    if (v) {
        r = config_normalize_endpoint(v, &env_endpoint, reason, sizeof(reason));
        if (r < 0) {
            snprintf(err, errlen, "endpoint from the environment: %s", reason);
            return r;
        }
    }
    if (!s->aws.endpoint && env_endpoint && set_string(&s->aws.endpoint, env_endpoint) < 0)
        return -ENOMEM;
    r = config_sources_resolve(s, s->aws.endpoint, env_endpoint, err, errlen);
    if (r < 0)
        return r;
    if (!s->aws.endpoint && s->aws.region &&
        config_default_endpoint(s->aws.region, &s->aws.endpoint) < 0)
        return -ENOMEM;
    if (!s->aws.ca_file && (v = env_nonempty("AWS_CA_BUNDLE")))
        if (set_string(&s->aws.ca_file, v) < 0)
            return -ENOMEM;

    if (!s->store.directory) {
        r = first_of_env_path_list("STATE_DIRECTORY", "", &s->store.directory);
        if (r < 0)
            return r;
        if (r == 0 && set_string(&s->store.directory, CJ_DEFAULT_STATE_DIR) < 0)
            return -ENOMEM;
    }
    if (!s->server.socket) {
        r = first_of_env_path_list("RUNTIME_DIRECTORY", "/copyjobd.sock", &s->server.socket);
        if (r < 0)
            return r;
        if (r == 0 && set_string(&s->server.socket, CJ_DEFAULT_SOCKET_PATH) < 0)
            return -ENOMEM;
    }
    return resolve_test_knobs(s);
}

static void dump_duration(FILE *f, const char *name, uint64_t usec)
{
    if (usec == 0)
        fprintf(f, "%s = 0\n", name);
    else if (usec % (3600 * CJ_USEC_PER_SEC) == 0)
        fprintf(f, "%s = %" PRIu64 "h\n", name, usec / (3600 * CJ_USEC_PER_SEC));
    else if (usec % (60 * CJ_USEC_PER_SEC) == 0)
        fprintf(f, "%s = %" PRIu64 "m\n", name, usec / (60 * CJ_USEC_PER_SEC));
    else if (usec % CJ_USEC_PER_SEC == 0)
        fprintf(f, "%s = %" PRIu64 "s\n", name, usec / CJ_USEC_PER_SEC);
    else
        fprintf(f, "%s = %" PRIu64 "ms\n", name, usec / 1000);
}

static void dump_size(FILE *f, const char *name, uint64_t bytes)
{
    static const char units[] = "KMGT";
    int u = -1;
    while (u < 3 && bytes >= 1024 && bytes % 1024 == 0)
        bytes /= 1024, u++;
    if (u < 0)
        fprintf(f, "%s = %" PRIu64 "\n", name, bytes);
    else
        fprintf(f, "%s = %" PRIu64 "%c\n", name, bytes, units[u]);
}

#define STR_OR_EMPTY(s) ((s) ? (s) : "")

void cj_settings_dump(const struct cj_settings *s, FILE *f)
{
    fprintf(f, "[aws]\nregion = %s\nregions = ", STR_OR_EMPTY(s->aws.region));
    for (char **p = s->aws.regions; p && *p; p++)
        fprintf(f, "%s%s", p == s->aws.regions ? "" : ", ", *p);
    fprintf(f, "\nprofile = %s\nendpoint = %s\nca_file = %s\n\n", STR_OR_EMPTY(s->aws.profile),
            STR_OR_EMPTY(s->aws.endpoint), STR_OR_EMPTY(s->aws.ca_file));
    fprintf(f, "[sync]\n");
    dump_duration(f, "interval", s->sync.interval_usec);
    dump_duration(f, "full_interval", s->sync.full_interval_usec);
    fprintf(f, "page_size = %u\nmax_requests_per_second = %u\n", s->sync.page_size,
            s->sync.max_requests_per_second);
    dump_duration(f, "timeout", s->sync.timeout_usec);
    uint32_t bp = s->sync.max_removal_share_bp;
    if (bp % 100 == 0)
        fprintf(f, "max_removal_share = %u%%\n", bp / 100);
    else if (bp % 10 == 0)
        fprintf(f, "max_removal_share = %u.%u%%\n", bp / 100, bp % 100 / 10);
    else
        fprintf(f, "max_removal_share = %u.%02u%%\n", bp / 100, bp % 100);
    dump_duration(f, "min_on_demand_interval", s->sync.min_on_demand_interval_usec);
    fprintf(f, "\n[store]\ndirectory = %s\n", STR_OR_EMPTY(s->store.directory));
    dump_size(f, "max_size", s->store.max_size);
    fprintf(f, "max_events = %" PRIu64 "\n", s->store.max_events);
    fprintf(f,
            "\n[server]\nsocket = %s\nsocket_mode = %04o\nlisten_tcp = %s\n"
            "listen_tcp_allow_remote = %s\nmax_connections = %u\n",
            STR_OR_EMPTY(s->server.socket), (unsigned)s->server.socket_mode,
            STR_OR_EMPTY(s->server.listen_tcp), s->server.listen_tcp_allow_remote ? "yes" : "no",
            s->server.max_connections);
    config_sources_dump(s, f);
}
