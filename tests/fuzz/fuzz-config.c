/* SPDX-License-Identifier: MIT */
/* copyjobd.conf as an attacker or a careless admin could write it, handed to
 * cj_settings_load_file through a memfd, then resolved and dumped. Input up to the first
 * form feed (\f) is copyjobd.conf; what follows is the AWS shared config file
 * (AWS_CONFIG_FILE), which cj_settings_resolve reads for the profile's region when neither
 * the file nor the environment sets one. Whatever the files say, an accepted value is inside
 * its documented range, every resolved source is complete and named once, and a refusal names
 * the file. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bedrock-syntax.h"
#include "cj-time.h"
#include "config.h"
#include "fuzz-util.h"
#include "log.h"

static int config_fd = -1, aws_config_fd = -1;
static char config_path[64], aws_config_path[64];
static FILE *dump_sink;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    cj_log_set_max_level(LOG_CRIT);

    config_fd = memfd_create("fuzz-copyjobd.conf", MFD_CLOEXEC);
    if (config_fd < 0)
        abort();
    snprintf(config_path, sizeof(config_path), "/proc/self/fd/%d", config_fd);
    aws_config_fd = memfd_create("fuzz-aws-config", MFD_CLOEXEC);
    if (aws_config_fd < 0)
        abort();
    snprintf(aws_config_path, sizeof(aws_config_path), "/proc/self/fd/%d", aws_config_fd);
    dump_sink = fopen("/dev/null", "we");
    if (!dump_sink)
        abort();

    /* Only the file decides: nothing from the fuzzing machine's environment leaks in. */
    static const char *const unset[] = {
        "AWS_REGION",       "AWS_DEFAULT_REGION",       "AWS_PROFILE",
        "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_BEDROCK", "AWS_CA_BUNDLE",
        "STATE_DIRECTORY",  "RUNTIME_DIRECTORY",
    };
    for (size_t i = 0; i < sizeof(unset) / sizeof(unset[0]); i++)
        unsetenv(unset[i]);
    setenv("AWS_CONFIG_FILE", aws_config_path, 1);
    return 0;
}

static void check_accepted(const struct cj_settings *s)
{
    CHECK(s->sync.page_size >= 1 && s->sync.page_size <= 1000);
    CHECK(s->sync.max_requests_per_second >= 1 && s->sync.max_requests_per_second <= 1000);
    CHECK(s->sync.interval_usec >= CJ_USEC_PER_SEC);
    CHECK(s->sync.full_interval_usec >= CJ_USEC_PER_SEC);
    CHECK(s->sync.timeout_usec >= 100 * 1000 && s->sync.timeout_usec <= 600 * CJ_USEC_PER_SEC);
    CHECK(s->store.max_size >= (UINT64_C(1) << 20) && s->store.max_size <= (UINT64_C(1) << 40));
    CHECK(s->store.max_events >= 1000);
    /* The security promise of the config: the socket is never world-writable and its owner
     * can always use it. */
    CHECK((s->server.socket_mode & 0002) == 0);
    CHECK((s->server.socket_mode & 0600) == 0600);
    CHECK((s->server.socket_mode & ~(mode_t)0777) == 0);
    CHECK(s->server.max_connections >= 1 && s->server.max_connections <= 65536);
    CHECK(!s->server.socket || (s->server.socket[0] == '/' && strlen(s->server.socket) < 108));
    CHECK(!s->store.directory || s->store.directory[0] == '/');
    CHECK(!s->aws.endpoint || strncmp(s->aws.endpoint, "http", 4) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cj_settings s;
    char err[512];

    if (size > 256 * 1024)
        return 0;
    const uint8_t *ff = memchr(data, '\f', size);
    size_t conf_size = ff ? (size_t)(ff - data) : size;
    size_t aws_size = ff ? size - conf_size - 1 : 0;
    if (ftruncate(config_fd, 0) < 0 || ftruncate(aws_config_fd, 0) < 0 ||
        pwrite(config_fd, data, conf_size, 0) != (ssize_t)conf_size ||
        pwrite(aws_config_fd, data + conf_size + (ff ? 1 : 0), aws_size, 0) != (ssize_t)aws_size)
        abort();

    cj_settings_init_defaults(&s);
    memset(err, 0xa5, sizeof(err)); /* a refusal must write a terminated message */
    int r = cj_settings_load_file(&s, config_path, false, err, sizeof(err));
    if (r < 0) {
        CHECK(r == -EINVAL || r == -ENOMEM || r == -EIO);
        CHECK(memchr(err, '\0', sizeof(err)) != NULL);
        CHECK(strncmp(err, config_path, strlen(config_path)) == 0); /* names the file */
        cj_settings_done(&s);
        return 0;
    }
    check_accepted(&s);

    memset(err, 0xa5, sizeof(err));
    r = cj_settings_resolve(&s, err, sizeof(err));
    if (r < 0) {
        CHECK(r == -EINVAL || r == -ENOMEM);
        CHECK(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
    } else {
        check_accepted(&s);
        /* Every source is complete; the [aws] region is optional when regions or a
         * [source.NAME] gives the sources. */
        CHECK(s.aws.profile && s.n_sources >= 1 && s.n_sources <= CJ_SOURCES_MAX);
        for (size_t i = 0; i < s.n_sources; i++) {
            const struct cj_source_settings *src = &s.sources[i];
            CHECK(src->name && src->region && src->profile && src->role_session_name);
            CHECK(src->endpoint && strncmp(src->endpoint, "http", 4) == 0);
            CHECK(strlen(src->name) >= 1 && strlen(src->name) <= CJ_SOURCE_NAME_MAX);
            CHECK(!src->external_id || src->role_arn);
            for (size_t j = 0; j < i; j++)
                CHECK(strcmp(src->name, s.sources[j].name) != 0);
        }
        CHECK(s.store.directory && s.server.socket);
        cj_settings_dump(&s, dump_sink);
    }
    cj_settings_done(&s);
    return 0;
}
