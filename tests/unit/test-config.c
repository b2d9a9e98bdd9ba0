/* SPDX-License-Identifier: MIT */
/* copyjobd.conf: every key, defaults, errors naming file, line and key, and the
 * environment fallbacks of the contract. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config-endpoint.h"
#include "config.h"

static char tmpdir[] = "/tmp/cj-test-config-XXXXXX";

static const char *const env_vars[] = {
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL_BEDROCK",
    "AWS_ENDPOINT_URL",
    "AWS_CA_BUNDLE",
    "AWS_CONFIG_FILE",
    "STATE_DIRECTORY",
    "RUNTIME_DIRECTORY",
    "HOME",
    "COPYJOBD_IDLE_TIMEOUT_SEC",
    "COPYJOBD_HEADER_TIMEOUT_SEC",
    "COPYJOBD_HEARTBEAT_SEC",
    "COPYJOBD_SYNC_WAIT_SEC",
    "COPYJOBD_RETRY_BASE_MS",
    "COPYJOBD_RETRY_CAP_MS",
    "COPYJOBD_CONTAINER_CREDENTIALS_HOST",
};

static int setup(void **state)
{
    for (size_t i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++)
        unsetenv(env_vars[i]);
    setenv("HOME", tmpdir, 1); /* no ~/.aws/config there */
    return 0;
}

static char *write_file(const char *name, const char *content)
{
    char *path;
    assert_true(asprintf(&path, "%s/%s", tmpdir, name) > 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    return path;
}

static int load(const char *content, struct cj_settings *s, char *err, size_t errlen)
{
    char *path = write_file("copyjobd.conf", content);
    cj_settings_init_defaults(s);
    int r = cj_settings_load_file(s, path, false, err, errlen);
    free(path);
    return r;
}

static void test_defaults(void **state)
{
    struct cj_settings s;
    char err[256] = "";
    setenv("AWS_REGION", "eu-west-1", 1);
    assert_int_equal(load("", &s, err, sizeof(err)), 0);
    assert_int_equal(cj_settings_resolve(&s, err, sizeof(err)), 0);
    assert_int_equal(s.sync.interval_usec, 60000000);
    assert_int_equal(s.sync.full_interval_usec, 900000000);
    assert_int_equal(s.sync.page_size, 1000);
    assert_int_equal(s.sync.max_requests_per_second, 5);
    assert_int_equal(s.sync.max_removal_share_bp, 1000); /* 10 % */
    assert_int_equal(s.sync.timeout_usec, 30000000);
    assert_int_equal(s.sync.min_on_demand_interval_usec, 10000000);
    assert_int_equal(s.store.max_size, UINT64_C(4) << 30);
    assert_int_equal(s.store.max_events, 100000);
    assert_string_equal(s.store.directory, "/var/lib/copyjobd");
    assert_string_equal(s.server.socket, "/run/copyjobd/copyjobd.sock");
    assert_int_equal(s.server.socket_mode, 0660);
    assert_null(s.server.listen_tcp);
    assert_int_equal(s.server.max_connections, 256);
    assert_string_equal(s.aws.region, "eu-west-1");
    assert_string_equal(s.aws.profile, "default");
    assert_string_equal(s.aws.endpoint, "https://bedrock.eu-west-1.amazonaws.com");
    assert_null(s.aws.ca_file);
    cj_settings_done(&s);
}

static void test_every_key(void **state)
{
    struct cj_settings s;
    char err[256] = "";
    assert_int_equal(load("# comment\n"
                          "; another\n"
                          "[aws]\n"
                          "region = us-west-2\n"
                          "profile = prod\n"
                          "endpoint = http://127.0.0.1:8080/\n"
                          "ca_file = /etc/ssl/ca.pem\n"
                          "[sync]\n"
                          "interval = 500ms\n"
                          "full_interval = 2h\n"
                          "page_size = 25\n"
                          "max_requests_per_second = 9\n"
                          "timeout = 1m\n"
                          "[store]\n"
                          "directory = /tmp/x\n"
                          "max_size = 512M\n"
                          "[server]\n"
                          "socket = /tmp/x.sock\n"
                          "socket_mode = 0600\n"
                          "listen_tcp = 127.0.0.1:7605\n"
                          "max_connections = 3\n",
                          &s, err, sizeof(err)),
                     -EINVAL); /* interval below 1s */
    assert_non_null(strstr(err, "copyjobd.conf:9: [sync] interval:"));
    cj_settings_done(&s);

    assert_int_equal(load("[aws]\n"
                          "region = us-west-2\n"
                          "profile = prod\n"
                          "endpoint = http://127.0.0.1:8080/\n"
                          "ca_file = /etc/ssl/ca.pem\n"
                          "[sync]\n"
                          "interval = 90s\n"
                          "full_interval = 2h\n"
                          "page_size = 25\n"
                          "max_requests_per_second = 9\n"
                          "timeout = 1500ms\n"
                          "max_removal_share = 12.5%\n"
                          "min_on_demand_interval = 0\n"
                          "[store]\n"
                          "directory = /tmp/x\n"
                          "max_size = 512M\n"
                          "max_events = 5000\n"
                          "[server]\n"
                          "socket = /tmp/x.sock\n"
                          "socket_mode = 0600\n"
                          "listen_tcp = 127.0.0.1:7605\n"
                          "listen_tcp_allow_remote = yes\n"
                          "max_connections = 3\n",
                          &s, err, sizeof(err)),
                     0);
    assert_true(s.server.listen_tcp_allow_remote);
    assert_int_equal(s.store.max_events, 5000);
    assert_int_equal(cj_settings_resolve(&s, err, sizeof(err)), 0);
    assert_string_equal(s.aws.region, "us-west-2");
    assert_string_equal(s.aws.profile, "prod");
    assert_string_equal(s.aws.endpoint, "http://127.0.0.1:8080");
    assert_string_equal(s.aws.ca_file, "/etc/ssl/ca.pem");
    assert_int_equal(s.sync.interval_usec, 90000000);
    assert_int_equal(s.sync.full_interval_usec, UINT64_C(7200000000));
    assert_int_equal(s.sync.page_size, 25);
    assert_int_equal(s.sync.max_requests_per_second, 9);
    assert_int_equal(s.sync.timeout_usec, 1500000);
    assert_int_equal(s.sync.max_removal_share_bp, 1250);
    assert_int_equal(s.sync.min_on_demand_interval_usec, 0);
    assert_string_equal(s.store.directory, "/tmp/x");
    assert_int_equal(s.store.max_size, UINT64_C(512) << 20);
    assert_string_equal(s.server.socket, "/tmp/x.sock");
    assert_int_equal(s.server.socket_mode, 0600);
    assert_string_equal(s.server.listen_tcp, "127.0.0.1:7605");
    assert_int_equal(s.server.max_connections, 3);

    /* The dump shows the effective values and reads back as the same settings. */
    char *dump = NULL;
    size_t dumplen = 0;
    FILE *f = open_memstream(&dump, &dumplen);
    cj_settings_dump(&s, f);
    fclose(f);
    assert_non_null(strstr(dump, "interval = 90s\n"));
    assert_non_null(strstr(dump, "full_interval = 2h\n"));
    assert_non_null(strstr(dump, "timeout = 1500ms\n"));
    assert_non_null(strstr(dump, "max_removal_share = 12.5%\n"));
    assert_non_null(strstr(dump, "min_on_demand_interval = 0\n"));
    assert_non_null(strstr(dump, "max_size = 512M\n"));
    assert_non_null(strstr(dump, "socket_mode = 0600\n"));
    struct cj_settings again;
    assert_int_equal(load(dump, &again, err, sizeof(err)), 0);
    assert_int_equal(again.sync.interval_usec, s.sync.interval_usec);
    assert_int_equal(again.sync.min_on_demand_interval_usec, 0);
    assert_int_equal(again.store.max_size, s.store.max_size);
    assert_string_equal(again.aws.endpoint, s.aws.endpoint);
    cj_settings_done(&again);
    free(dump);
    cj_settings_done(&s);
}

struct bad_case {
    const char *content;
    const char *expect; /* substring of the error */
};

static void test_errors_name_file_line_and_key(void **state)
{
    static const struct bad_case cases[] = {
        {"[aws]\nregion = us-east-1\nbogus = 1\n", "copyjobd.conf:3: [aws] unknown key 'bogus'"},
        {"[nope]\nx = 1\n", "copyjobd.conf:2: unknown section [nope]"},
        {"[sync]\npage_size = 0\n", "copyjobd.conf:2: [sync] page_size: must be an integer from 1"},
        {"[sync]\npage_size = 1001\n", "[sync] page_size:"},
        {"[sync]\npage_size = 12abc\n", "[sync] page_size:"},
        {"[sync]\npage_size = -1\n", "[sync] page_size:"},
        {"[sync]\nmax_removal_share = 10\n",
         "copyjobd.conf:2: [sync] max_removal_share: must be a percentage from 0% to 100%"},
        {"[sync]\nmax_removal_share = 0.1\n", "[sync] max_removal_share:"},
        {"[sync]\nmax_removal_share = 100.01%\n", "[sync] max_removal_share:"},
        {"[sync]\nmax_removal_share = 101%\n", "[sync] max_removal_share:"},
        {"[sync]\nmax_removal_share = 1.234%\n", "[sync] max_removal_share:"},
        {"[sync]\nmax_removal_share = -1%\n", "[sync] max_removal_share:"},
        {"[sync]\nmax_removal_share = 5.%\n", "[sync] max_removal_share:"},
        {"[sync]\nmax_removal_share = %\n", "[sync] max_removal_share:"},
        {"[sync]\nmax_removal_share = 10%%\n", "[sync] max_removal_share:"},
        {"[sync]\ninterval = soon\n", "copyjobd.conf:2: [sync] interval: must be a duration"},
        {"[sync]\nmin_on_demand_interval = 2d\n",
         "copyjobd.conf:2: [sync] min_on_demand_interval: must be a duration from 0 to 1d"},
        {"[sync]\nmin_on_demand_interval = -1s\n", "[sync] min_on_demand_interval:"},
        {"[sync]\ntimeout = 30\n\n[sync]\ntimeout = 31s\n",
         "copyjobd.conf:5: [sync] timeout: already set on line 2"},
        {"[store]\nmax_size = 4Q\n", "[store] max_size: must be a size"},
        {"[store]\nmax_events = 10\n", "[store] max_events: must be an integer from 1000"},
        {"[store]\ndirectory = relative/path\n", "[store] directory: must be an absolute path"},
        {"[server]\nsocket_mode = 0666\n", "[server] socket_mode: must not make the socket world"},
        {"[server]\nsocket_mode = 0999\n", "[server] socket_mode: must be an octal mode"},
        {"[server]\nsocket_mode = 0060\n", "[server] socket_mode: must give the owner"},
        {"[server]\nmax_connections = 0\n", "[server] max_connections:"},
        {"[server]\nlisten_tcp_allow_remote = maybe\n",
         "listen_tcp_allow_remote: must be yes or no"},
        {"[aws]\nendpoint = ftp://x\n", "[aws] endpoint: must start with https:// or http://"},
        {"[aws]\nendpoint = https://host/path\n", "[aws] endpoint: must be scheme://host"},
        {"[aws]\nregion = US East\n", "[aws] region: must be a region name"},
        {"[sync]\ninterval = 60s ; inline comments are not comments\n", "[sync] interval:"},
        {"[aws]\nthis line has no equals sign\n", "copyjobd.conf:2: syntax error"},
        {"key = before any section\n", "copyjobd.conf:1: unknown section []"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cj_settings s;
        char err[256] = "";
        int r = load(cases[i].content, &s, err, sizeof(err));
        if (r != -EINVAL || !strstr(err, cases[i].expect))
            fail_msg("case %zu: r=%d err='%s', expected '%s'", i, r, err, cases[i].expect);
        assert_non_null(strstr(err, tmpdir)); /* the file is named in full */
        cj_settings_done(&s);
    }
}

static void test_overlong_line_is_an_error(void **state)
{
    char content[2048];
    int n = snprintf(content, sizeof(content), "[aws]\nendpoint = https://");
    memset(content + n, 'a', 1500);
    strcpy(content + n + 1500, "\n");
    struct cj_settings s;
    char err[256] = "";
    assert_int_equal(load(content, &s, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "copyjobd.conf:2: line longer than"));
    cj_settings_done(&s);
}

static void test_missing_file(void **state)
{
    struct cj_settings s;
    char err[256] = "";
    cj_settings_init_defaults(&s);
    assert_int_equal(
        cj_settings_load_file(&s, "/nonexistent/copyjobd.conf", true, err, sizeof(err)), 0);
    assert_int_equal(
        cj_settings_load_file(&s, "/nonexistent/copyjobd.conf", false, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "/nonexistent/copyjobd.conf"));
    cj_settings_done(&s);
}

static void test_environment_fallbacks(void **state)
{
    struct cj_settings s;
    char err[256] = "";

    /* No region anywhere: a clear error. */
    assert_int_equal(load("", &s, err, sizeof(err)), 0);
    assert_int_equal(cj_settings_resolve(&s, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "no AWS region"));
    cj_settings_done(&s);

    /* AWS_DEFAULT_REGION is used when AWS_REGION is not set; AWS_REGION wins over it. */
    setenv("AWS_DEFAULT_REGION", "ap-south-1", 1);
    assert_int_equal(load("", &s, err, sizeof(err)), 0);
    assert_int_equal(cj_settings_resolve(&s, err, sizeof(err)), 0);
    assert_string_equal(s.aws.region, "ap-south-1");
    cj_settings_done(&s);
    setenv("AWS_REGION", "eu-central-1", 1);
    assert_int_equal(load("", &s, err, sizeof(err)), 0);
    assert_int_equal(cj_settings_resolve(&s, err, sizeof(err)), 0);
    assert_string_equal(s.aws.region, "eu-central-1");
    cj_settings_done(&s);

    /* The file wins over the environment. */
    assert_int_equal(load("[aws]\nregion = us-east-2\n", &s, err, sizeof(err)), 0);
    assert_int_equal(cj_settings_resolve(&s, err, sizeof(err)), 0);
    assert_string_equal(s.aws.region, "us-east-2");
    cj_settings_done(&s);

    /* Endpoint: AWS_ENDPOINT_URL_BEDROCK before AWS_ENDPOINT_URL. */
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1", 1);
    assert_int_equal(load("", &s, err, sizeof(err)), 0);
    assert_int_equal(cj_settings_resolve(&s, err, sizeof(err)), 0);
    assert_string_equal(s.aws.endpoint, "http://127.0.0.1:1");
    cj_settings_done(&s);
    setenv("AWS_ENDPOINT_URL_BEDROCK", "https://localhost:2/", 1);
    assert_int_equal(load("", &s, err, sizeof(err)), 0);
    assert_int_equal(cj_settings_resolve(&s, err, sizeof(err)), 0);
    assert_string_equal(s.aws.endpoint, "https://localhost:2");
    cj_settings_done(&s);
    setenv("AWS_ENDPOINT_URL_BEDROCK", "localhost:2", 1);
    assert_int_equal(load("", &s, err, sizeof(err)), 0);
    assert_int_equal(cj_settings_resolve(&s, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "endpoint from the environment"));
    cj_settings_done(&s);
    /* Plain http:// crosses a network only in the tests' imagination: loopback only. */
    setenv("AWS_ENDPOINT_URL_BEDROCK", "http://10.1.2.3:8080", 1);
    assert_int_equal(load("", &s, err, sizeof(err)), 0);
    assert_int_equal(cj_settings_resolve(&s, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "plain http:// only for a loopback address"));
    cj_settings_done(&s);
    unsetenv("AWS_ENDPOINT_URL_BEDROCK");
    setenv("AWS_ENDPOINT_URL", "http://bedrock.us-east-1.amazonaws.com", 1);
    assert_int_equal(load("", &s, err, sizeof(err)), 0);
    assert_int_equal(cj_settings_resolve(&s, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "plain http://"));
    cj_settings_done(&s);
    unsetenv("AWS_ENDPOINT_URL_BEDROCK");
    unsetenv("AWS_ENDPOINT_URL");

    /* China regions use their own DNS suffix. */
    setenv("AWS_REGION", "cn-north-1", 1);
    assert_int_equal(load("", &s, err, sizeof(err)), 0);
    assert_int_equal(cj_settings_resolve(&s, err, sizeof(err)), 0);
    assert_string_equal(s.aws.endpoint, "https://bedrock.cn-north-1.amazonaws.com.cn");
    cj_settings_done(&s);

    /* AWS_CA_BUNDLE, and the directories systemd hands over. */
    setenv("AWS_CA_BUNDLE", "/etc/ca.pem", 1);
    setenv("STATE_DIRECTORY", "/var/lib/copyjobd:/var/lib/other", 1);
    setenv("RUNTIME_DIRECTORY", "/run/copyjobd", 1);
    assert_int_equal(load("", &s, err, sizeof(err)), 0);
    assert_int_equal(cj_settings_resolve(&s, err, sizeof(err)), 0);
    assert_string_equal(s.aws.ca_file, "/etc/ca.pem");
    assert_string_equal(s.store.directory, "/var/lib/copyjobd");
    assert_string_equal(s.server.socket, "/run/copyjobd/copyjobd.sock");
    cj_settings_done(&s);
}

static void test_profile_region_from_aws_config(void **state)
{
    char *cfg = write_file("aws-config", "[default]\nregion = us-west-1\n"
                                         "[profile prod]\nregion = eu-north-1\n"
                                         "s3 =\n  max_concurrent_requests = 5\n");
    setenv("AWS_CONFIG_FILE", cfg, 1);
    struct cj_settings s;
    char err[256] = "";
    assert_int_equal(load("", &s, err, sizeof(err)), 0);
    assert_int_equal(cj_settings_resolve(&s, err, sizeof(err)), 0);
    assert_string_equal(s.aws.region, "us-west-1");
    cj_settings_done(&s);

    setenv("AWS_PROFILE", "prod", 1);
    assert_int_equal(load("", &s, err, sizeof(err)), 0);
    assert_int_equal(cj_settings_resolve(&s, err, sizeof(err)), 0);
    assert_string_equal(s.aws.profile, "prod");
    assert_string_equal(s.aws.region, "eu-north-1");
    cj_settings_done(&s);
    free(cfg);
}

/* The test-only knobs: unset means the modules' defaults; a good value is taken; a bad one
 * is ignored (a warning names it) rather than stopping the daemon. */
static void test_test_knobs(void **state)
{
    struct cj_settings s;
    char err[256] = "";
    setenv("AWS_REGION", "eu-west-1", 1);

    assert_int_equal(load("", &s, err, sizeof(err)), 0);
    assert_int_equal(cj_settings_resolve(&s, err, sizeof(err)), 0);
    assert_int_equal(s.test.idle_timeout_s, 0);
    assert_int_equal(s.test.header_timeout_s, 0);
    assert_int_equal(s.test.heartbeat_s, 0);
    assert_int_equal(s.test.sync_wait_s, 0);
    assert_false(s.test.has_retry_base_usec);
    assert_false(s.test.has_retry_cap_usec);
    assert_null(s.test.container_credentials_host);
    cj_settings_done(&s);

    setenv("COPYJOBD_IDLE_TIMEOUT_SEC", "1", 1);
    setenv("COPYJOBD_HEADER_TIMEOUT_SEC", "3600", 1);
    setenv("COPYJOBD_HEARTBEAT_SEC", "7", 1);
    setenv("COPYJOBD_SYNC_WAIT_SEC", "2", 1);
    setenv("COPYJOBD_RETRY_BASE_MS", "0", 1);
    setenv("COPYJOBD_RETRY_CAP_MS", "3600000", 1);
    setenv("COPYJOBD_CONTAINER_CREDENTIALS_HOST", "127.0.0.1:8080", 1);
    assert_int_equal(load("", &s, err, sizeof(err)), 0);
    assert_int_equal(cj_settings_resolve(&s, err, sizeof(err)), 0);
    assert_int_equal(s.test.idle_timeout_s, 1);
    assert_int_equal(s.test.header_timeout_s, 3600);
    assert_int_equal(s.test.heartbeat_s, 7);
    assert_int_equal(s.test.sync_wait_s, 2);
    assert_true(s.test.has_retry_base_usec);
    assert_int_equal(s.test.retry_base_usec, 0);
    assert_true(s.test.has_retry_cap_usec);
    assert_int_equal(s.test.retry_cap_usec, UINT64_C(3600000000));
    assert_string_equal(s.test.container_credentials_host, "127.0.0.1:8080");
    cj_settings_done(&s);

    static const struct {
        const char *name, *value;
    } bad[] = {
        {"COPYJOBD_IDLE_TIMEOUT_SEC", "0"},    {"COPYJOBD_IDLE_TIMEOUT_SEC", "3601"},
        {"COPYJOBD_HEADER_TIMEOUT_SEC", "-1"}, {"COPYJOBD_HEARTBEAT_SEC", "1s"},
        {"COPYJOBD_HEARTBEAT_SEC", " 5"},      {"COPYJOBD_SYNC_WAIT_SEC", "0"},
        {"COPYJOBD_RETRY_BASE_MS", "-3"},      {"COPYJOBD_RETRY_BASE_MS", "3600001"},
        {"COPYJOBD_RETRY_CAP_MS", "lots"},     {"COPYJOBD_RETRY_CAP_MS", "99999999999999999999999"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        for (size_t k = 0; k < sizeof(env_vars) / sizeof(env_vars[0]); k++)
            if (strncmp(env_vars[k], "COPYJOBD_", 9) == 0)
                unsetenv(env_vars[k]);
        setenv(bad[i].name, bad[i].value, 1);
        assert_int_equal(load("", &s, err, sizeof(err)), 0);
        assert_int_equal(cj_settings_resolve(&s, err, sizeof(err)), 0);
        assert_int_equal(s.test.idle_timeout_s, 0);
        assert_int_equal(s.test.header_timeout_s, 0);
        assert_int_equal(s.test.heartbeat_s, 0);
        assert_int_equal(s.test.sync_wait_s, 0);
        assert_false(s.test.has_retry_base_usec);
        assert_false(s.test.has_retry_cap_usec);
        cj_settings_done(&s);
    }
}

static void check_endpoint(const char *url, const char *origin, const char *host, bool https)
{
    struct cj_endpoint e;
    char why[128] = "";
    if (cj_endpoint_parse_url(url, &e, why, sizeof(why)) != 0)
        fail_msg("%s: %s", url, why);
    assert_string_equal(e.origin, origin);
    assert_string_equal(e.host, host);
    assert_int_equal(e.https, https);
    cj_endpoint_done(&e);
}

/* The one endpoint check, used by the config, the request builder and instance metadata.
 * The refusals include the cases where a check of the characters alone and libcurl's
 * reading of the URL differ. */
static void test_endpoint_url(void **state)
{
    check_endpoint("https://bedrock.us-east-1.amazonaws.com",
                   "https://bedrock.us-east-1.amazonaws.com", "bedrock.us-east-1.amazonaws.com",
                   true);
    check_endpoint("https://bedrock.us-east-1.amazonaws.com:443/",
                   "https://bedrock.us-east-1.amazonaws.com", "bedrock.us-east-1.amazonaws.com",
                   true);
    check_endpoint("http://127.0.0.1:8080///", "http://127.0.0.1:8080", "127.0.0.1:8080", false);
    check_endpoint("http://127.0.0.1:80", "http://127.0.0.1", "127.0.0.1", false);
    check_endpoint("https://127.0.0.1:80", "https://127.0.0.1:80", "127.0.0.1:80", true);
    check_endpoint("http://[::1]:9000/", "http://[::1]:9000", "[::1]:9000", false);
    check_endpoint("http://localhost:65535", "http://localhost:65535", "localhost:65535", false);
    check_endpoint("http://127.200.3.4", "http://127.200.3.4", "127.200.3.4", false);
    check_endpoint("http://[::ffff:127.0.0.1]:1", "http://[::ffff:127.0.0.1]:1",
                   "[::ffff:127.0.0.1]:1", false);
    check_endpoint("https://10.1.2.3:8443", "https://10.1.2.3:8443", "10.1.2.3:8443", true);

    char longest[CJ_ENDPOINT_URL_MAX + 2];
    memset(longest, 'a', sizeof(longest) - 1);
    longest[sizeof(longest) - 1] = '\0';
    memcpy(longest, "https://", 8);

    const struct {
        const char *url, *why;
    } bad[] = {
        /* Characters that pass, a host or port libcurl would not connect to. */
        {"http://127.0.0.1:99999", "is not a valid host[:port]"},
        {"http://127.0.0.1:65536", "is not a valid host[:port]"},
        {"http://127.0.0.1:0", "is not a valid host[:port]"},
        {"http://127.0.0.1:abc", "is not a valid host[:port]"},
        {"http://[::1", "is not a valid host[:port]"},
        {"http://a:b:c", "is not a valid host[:port]"},
        /* URLs libcurl reads, outside the rule: a path, an upper-case scheme, a length. */
        {"http://localhost:9000/proxy/bedrock", "without path"},
        {"http://127.0.0.1/a/../b", "without path"},
        {"HTTPS://bedrock.us-east-1.amazonaws.com", "must start with https:// or http://"},
        {longest, "is longer than 1024 bytes"},
        /* Neither. */
        {"", "is empty"},
        {"bedrock.us-east-1.amazonaws.com", "must start with"},
        {"ftp://example.com", "must start with"},
        {"http://", "has no host"},
        {"https:///", "has no host"},
        {"http://user:pw@127.0.0.1/", "without path, query or user"},
        {"http://127.0.0.1/?x=1", "without path"},
        {"http://127.0.0.1?x=1", "without path, query"},
        {"http://127.0.0.1#frag", "without path"},
        {"http://127.0.0.1//a", "without path"},
        {"http://127.0.0.1 /", "without path"},
        {"http://127.0.0.1\t", "without path"},
        /* Plain http:// to anything but loopback: credentials and answers in clear text. */
        {"http://bedrock.us-east-1.amazonaws.com", "plain http:// only for a loopback address"},
        {"http://10.0.0.1:8080", "plain http:// only"},
        {"http://128.0.0.1", "plain http:// only"},
        {"http://[::2]", "plain http:// only"},
        {"http://[::ffff:10.0.0.1]", "plain http:// only"},
        {"http://127.0.0.1.evil.example", "plain http:// only"},
        {"http://localhost.evil.example", "plain http:// only"},
        {"http://169.254.169.254", "plain http:// only"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct cj_endpoint e = {0};
        char why[128] = "";
        int r = cj_endpoint_parse_url(bad[i].url, &e, why, sizeof(why));
        if (r != -EINVAL || !strstr(why, bad[i].why))
            fail_msg("%.60s: r=%d '%s', expected '%s'", bad[i].url, r, why, bad[i].why);
        assert_null(e.origin);
    }
    assert_int_equal(cj_endpoint_parse_url(NULL, &(struct cj_endpoint){0}, longest, 8), -EINVAL);

    /* The instance metadata service is plain http:// on a link-local address by design. */
    struct cj_endpoint md = {0};
    char why[128] = "";
    assert_int_equal(
        cj_endpoint_parse_metadata_url("http://169.254.169.254", &md, why, sizeof(why)), 0);
    assert_string_equal(md.origin, "http://169.254.169.254");
    cj_endpoint_done(&md);
    assert_int_equal(
        cj_endpoint_parse_metadata_url("http://[fd00:ec2::254]/", &md, why, sizeof(why)), 0);
    cj_endpoint_done(&md);
    assert_int_equal(cj_endpoint_parse_metadata_url("http://x/y", &md, why, sizeof(why)), -EINVAL);

    /* The config stores the normal form. */
    struct cj_settings s;
    char err[256] = "";
    assert_int_equal(load("[aws]\nendpoint = https://localhost:443//\n", &s, err, sizeof(err)), 0);
    assert_string_equal(s.aws.endpoint, "https://localhost");
    cj_settings_done(&s);
    assert_int_equal(load("[aws]\nendpoint = http://192.0.2.1\n", &s, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "plain http:// only"));
    cj_settings_done(&s);
}

static int load_resolved(const char *content, struct cj_settings *s, char *err, size_t errlen)
{
    int r = load(content, s, err, errlen);
    if (r == 0)
        r = cj_settings_resolve(s, err, errlen);
    return r;
}

static void test_sources(void **state)
{
    struct cj_settings s;
    char err[512] = "";

    /* [aws] regions: one source per region, named after it, with the [aws] profile and
     * endpoint; a [source.NAME] after them with its defaults. */
    setenv("AWS_ENDPOINT_URL_BEDROCK", "http://127.0.0.1:7", 1);
    assert_int_equal(load_resolved("[aws]\nregions = us-east-1, us-west-2\nprofile = central\n"
                                   "endpoint = http://127.0.0.1:9\n"
                                   "[source.partner]\nregion = eu-west-1\n"
                                   "role_arn = arn:aws:iam::210987654321:role/CopyJobsReader\n"
                                   "external_id = partner-ext-1\n",
                                   &s, err, sizeof(err)),
                     0);
    assert_int_equal(s.n_sources, 3);
    assert_string_equal(s.sources[0].name, "us-east-1");
    assert_string_equal(s.sources[0].region, "us-east-1");
    assert_string_equal(s.sources[0].profile, "central");
    assert_string_equal(s.sources[0].endpoint, "http://127.0.0.1:9");
    assert_true(s.sources[0].from_aws);
    assert_null(s.sources[0].role_arn);
    assert_string_equal(s.sources[1].name, "us-west-2");
    assert_string_equal(s.sources[1].endpoint, "http://127.0.0.1:9");
    assert_string_equal(s.sources[2].name, "partner");
    assert_false(s.sources[2].from_aws);
    assert_string_equal(s.sources[2].region, "eu-west-1");
    assert_string_equal(s.sources[2].profile, "central");
    assert_string_equal(s.sources[2].role_arn, "arn:aws:iam::210987654321:role/CopyJobsReader");
    assert_string_equal(s.sources[2].external_id, "partner-ext-1");
    assert_string_equal(s.sources[2].role_session_name, "copyjobd");
    /* [aws] endpoint is the [aws] sources'; the environment's applies to the others. */
    assert_string_equal(s.sources[2].endpoint, "http://127.0.0.1:7");

    /* The dump shows every source, never the external id. */
    char *dump = NULL;
    size_t dumplen = 0;
    FILE *f = open_memstream(&dump, &dumplen);
    assert_non_null(f);
    cj_settings_dump(&s, f);
    fclose(f);
    assert_non_null(strstr(dump, "regions = us-east-1, us-west-2\n"));
    assert_non_null(strstr(dump, "[source.us-west-2]\n# from [aws]\nregion = us-west-2\n"));
    assert_non_null(strstr(dump, "[source.partner]\nregion = eu-west-1\nprofile = central\n"
                                 "role_arn = arn:aws:iam::210987654321:role/CopyJobsReader\n"
                                 "external_id = (set)\nrole_session_name = copyjobd\n"
                                 "endpoint = http://127.0.0.1:7\n"));
    assert_null(strstr(dump, "partner-ext-1"));
    free(dump);
    cj_settings_done(&s);

    /* Without the environment, a source's endpoint is its region's. Only sources, no
     * [aws] region anywhere: fine. */
    unsetenv("AWS_ENDPOINT_URL_BEDROCK");
    assert_int_equal(load_resolved("[source.a]\nregion = eu-central-1\nprofile = a\n"
                                   "role_session_name = reader@a\n"
                                   "[source.b]\nregion = cn-north-1\nprofile = b\n"
                                   "endpoint = https://localhost:4443/\n",
                                   &s, err, sizeof(err)),
                     0);
    assert_int_equal(s.n_sources, 2);
    assert_string_equal(s.sources[0].endpoint, "https://bedrock.eu-central-1.amazonaws.com");
    assert_string_equal(s.sources[0].role_session_name, "reader@a");
    assert_string_equal(s.sources[1].endpoint, "https://localhost:4443");
    cj_settings_done(&s);

    /* regions overrides region. */
    assert_int_equal(
        load_resolved("[aws]\nregion = eu-west-3\nregions = ap-south-1\n", &s, err, sizeof(err)),
        0);
    assert_int_equal(s.n_sources, 1);
    assert_string_equal(s.sources[0].name, "ap-south-1");
    cj_settings_done(&s);
}

static void test_sources_errors(void **state)
{
    static const struct {
        const char *conf;
        const char *message; /* file name, line and key */
    } bad[] = {
        {"[source.a]\nregion = us-east-1\ncolour = blue\n",
         "copyjobd.conf:3: [source.a] unknown key 'colour'"},
        {"[source.Prod]\nregion = us-east-1\n", "copyjobd.conf:2: [source.Prod]: a source name is"},
        {"[source.]\nregion = us-east-1\n", "copyjobd.conf:2: [source.]: a source name is"},
        {"[source.a]\nprofile = x\n", "copyjobd.conf:2: [source.a] region: required"},
        {"[source.a]\nregion = us-east-1\nregion = us-east-2\n",
         "copyjobd.conf:3: [source.a] region: already set on line 2"},
        {"[source.a]\nregion = US-EAST-1\n", "copyjobd.conf:2: [source.a] region: must be"},
        {"[source.a]\nregion = us-east-1\nrole_arn = arn:aws:iam::12345:role/x\n",
         "copyjobd.conf:3: [source.a] role_arn: must be an IAM role ARN"},
        {"[source.a]\nregion = us-east-1\nrole_arn = arn:aws:sts::123456789012:assumed-role/x/y\n",
         "copyjobd.conf:3: [source.a] role_arn: must be an IAM role ARN"},
        {"[source.a]\nregion = us-east-1\nexternal_id = x y\n",
         "copyjobd.conf:3: [source.a] external_id: must be"},
        {"[source.a]\nregion = us-east-1\nexternal_id = abc\n",
         "copyjobd.conf:3: [source.a] external_id: needs role_arn"},
        {"[source.a]\nregion = us-east-1\nrole_session_name = a b\n",
         "copyjobd.conf:3: [source.a] role_session_name: must be"},
        {"[source.a]\nregion = us-east-1\nendpoint = ftp://x\n",
         "copyjobd.conf:3: [source.a] endpoint:"},
        {"[aws]\nregions = us-east-1, us-east-1\n",
         "copyjobd.conf:2: [aws] regions: 'us-east-1' is named twice"},
        {"[aws]\nregions = us-east-1,\n",
         "copyjobd.conf:2: [aws] regions: must not end with a comma"},
        {"[aws]\nregions = us-east-1 eu-west-1\n",
         "copyjobd.conf:2: [aws] regions: must be region names"},
        {"[aws]\nregions = us_east_1\n", "copyjobd.conf:2: [aws] regions: 'us_east_1' is not"},
        /* Two sources of one name. */
        {"[aws]\nregions = us-east-1\n[source.us-east-1]\nregion = us-east-1\nprofile = other\n",
         "copyjobd.conf:4: [source.us-east-1]: a source named 'us-east-1' is already configured by "
         "[aws]"},
        /* The same account and region, as far as the file tells. */
        {"[aws]\nregion = us-east-1\n[source.again]\nregion = us-east-1\n",
         "copyjobd.conf:4: [source.again] region: source 'again' is the same account and region as "
         "source 'us-east-1'"},
        {"[source.a]\nregion = eu-west-1\nrole_arn = arn:aws:iam::111122223333:role/A\n"
         "[source.b]\nrole_arn = arn:aws:iam::111122223333:role/B\nregion = eu-west-1\n",
         "copyjobd.conf:6: [source.b] region: source 'b' is the same account and region as source "
         "'a'"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct cj_settings s;
        char err[512] = "";
        int r = load_resolved(bad[i].conf, &s, err, sizeof(err));
        if (r != -EINVAL || !strstr(err, bad[i].message))
            fail_msg("case %zu: r=%d, err '%s', wanted '%s'", i, r, err, bad[i].message);
        cj_settings_done(&s);
    }

    /* Different profiles, or different role accounts, in one region are different sources. */
    struct cj_settings s;
    char err[512] = "";
    assert_int_equal(load_resolved("[aws]\nregion = us-east-1\n[source.b]\nregion = us-east-1\n"
                                   "profile = member\n[source.c]\nregion = us-east-1\n"
                                   "role_arn = arn:aws-us-gov:iam::444455556666:role/path/R\n",
                                   &s, err, sizeof(err)),
                     0);
    assert_int_equal(s.n_sources, 3);
    cj_settings_done(&s);
}

int main(void)
{
    if (!mkdtemp(tmpdir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, setup),
        cmocka_unit_test_setup(test_every_key, setup),
        cmocka_unit_test_setup(test_errors_name_file_line_and_key, setup),
        cmocka_unit_test_setup(test_overlong_line_is_an_error, setup),
        cmocka_unit_test_setup(test_missing_file, setup),
        cmocka_unit_test_setup(test_environment_fallbacks, setup),
        cmocka_unit_test_setup(test_profile_region_from_aws_config, setup),
        cmocka_unit_test_setup(test_test_knobs, setup),
        cmocka_unit_test_setup(test_endpoint_url, setup),
        cmocka_unit_test_setup(test_sources, setup),
        cmocka_unit_test_setup(test_sources_errors, setup),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        return 1;
    return failed;
}
