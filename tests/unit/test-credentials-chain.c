/* SPDX-License-Identifier: MIT */
/* The credential chain after the environment and systemd credentials: the shared files of a
 * profile, credential_process, container credentials and EC2 instance metadata, their order,
 * and that no secret ever reaches a source string or the log. Real files, real processes, a
 * real HTTP stand-in on loopback, real libcurl. stderr (the log, at debug level) is captured
 * for every test and searched for every secret the test used. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cj-time.h"
#include "credentials-internal.h"
#include "credentials.h"
#include "log.h"
#include "test-httpd.h"
#include "test-net-util.h"
#include "test-util.h"

#define FILE_KEY_ID    "AKIAFILE0000000001"
#define FILE_SECRET    "fileSecret/0001+aaa"
#define FILE_TOKEN     "fileToken0001+/="
#define CONFIG_KEY_ID  "AKIACONFIG00000001"
#define CONFIG_SECRET  "configSecret/0002+bbb"
#define NAMED_KEY_ID   "AKIANAMED000000001"
#define NAMED_SECRET   "namedSecret/0003+ccc"
#define PROC_KEY_ID    "ASIAPROC0000000001"
#define PROC_SECRET    "procSecret/0004+ddd"
#define PROC_TOKEN     "procToken0004+/="
#define CONT_KEY_ID    "ASIACONTAINER00001"
#define CONT_SECRET    "contSecret/0005+eee"
#define CONT_TOKEN     "contToken0005+/="
#define CONT_AUTH      "Bearer-contAuth0006"
#define IMDS_KEY_ID    "ASIAIMDS0000000001"
#define IMDS_SECRET    "imdsSecret/0007+fff"
#define IMDS_TOKEN     "imdsToken0007+/="
#define IMDS_SESSION   "imdsSession0008AAAA"
#define ENV_SECRET     "envSecret/0009+ggg"
#define SYSTEMD_SECRET "systemdSecret/0010+hhh"
#define EXPIRATION     "2099-01-01T00:00:00Z"

static const char *const all_secrets[] = {
    FILE_SECRET, FILE_TOKEN, CONFIG_SECRET, NAMED_SECRET, PROC_SECRET,  PROC_TOKEN, CONT_SECRET,
    CONT_TOKEN,  CONT_AUTH,  IMDS_SECRET,   IMDS_TOKEN,   IMDS_SESSION, ENV_SECRET, SYSTEMD_SECRET,
};

static char tmpdir[64];
static char logpath[128];
static int saved_stderr = -1;

/* ---- files ---- */

static void path_of(char *out, size_t outlen, const char *name)
{
    snprintf(out, outlen, "%s/%s", tmpdir, name);
}

static void write_mode(const char *name, const char *content, mode_t mode)
{
    char path[256];
    path_of(path, sizeof(path), name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    assert_true(fd >= 0);
    assert_int_equal(fchmod(fd, mode), 0);
    size_t len = strlen(content);
    assert_int_equal(write(fd, content, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

static void write_str(const char *name, const char *content)
{
    write_mode(name, content, 0600);
}

static void remove_file(const char *name)
{
    char path[256];
    path_of(path, sizeof(path), name);
    (void)unlink(path);
}

/* ---- the captured log ---- */

static char *captured_log(void)
{
    fflush(stderr);
    FILE *f = fopen(logpath, "r");
    assert_non_null(f);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static const char *const env_vars[] = {
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "CREDENTIALS_DIRECTORY",
    "AWS_PROFILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_DISABLED",
};

static int setup(void **state)
{
    for (size_t i = 0; i < ELEMENTSOF(env_vars); i++)
        unsetenv(env_vars[i]);
    cj_credentials_set_container_host(NULL);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/cj-test-credchain-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    char aws[128];
    snprintf(aws, sizeof(aws), "%s/.aws", tmpdir);
    if (mkdir(aws, 0700) < 0)
        return -1;
    setenv("HOME", tmpdir, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);

    snprintf(logpath, sizeof(logpath), "%s/log", tmpdir);
    fflush(stderr);
    saved_stderr = dup(STDERR_FILENO);
    int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (saved_stderr < 0 || fd < 0 || dup2(fd, STDERR_FILENO) < 0)
        return -1;
    close(fd);
    cj_log_set_max_level(LOG_DEBUG);
    return 0;
}

/* Gives the log back to the real stderr (so failures stay readable) and fails the test if it
 * holds any secret. */
static int teardown(void **state)
{
    const char *log = captured_log();
    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    saved_stderr = -1;
    fputs(log, stderr);

    int r = 0;
    for (size_t i = 0; i < ELEMENTSOF(all_secrets); i++)
        if (strstr(log, all_secrets[i])) {
            fprintf(stderr, "SECRET LEAKED INTO THE LOG: %s\n", all_secrets[i]);
            r = -1;
        }
    test_rm_tree(tmpdir);
    return r;
}

static void assert_no_secret(const char *s)
{
    for (size_t i = 0; i < ELEMENTSOF(all_secrets); i++)
        assert_null(strstr(s, all_secrets[i]));
}

static int64_t expiration_ns(void)
{
    int64_t ns;
    assert_int_equal(cj_time_parse_iso8601(EXPIRATION, strlen(EXPIRATION), &ns), 0);
    return ns;
}

/* Loads with profile (NULL = cj_credentials_load) and checks result and source. */
static int load(const char *profile, struct cj_aws_credentials *c, char *source, size_t len)
{
    int r = profile ? cj_credentials_load_for_profile(profile, c, source, len)
                    : cj_credentials_load(c, source, len);
    assert_no_secret(source);
    if (r < 0) {
        assert_true(source[0] != '\0'); /* the reason, checked above to hold no secret */
        assert_null(c->access_key_id);
        assert_null(c->secret_access_key);
        assert_null(c->session_token);
    }
    return r;
}

/* ---- the shared files ---- */

static const char default_credentials[] = "[default]\n"
                                          "aws_access_key_id = " FILE_KEY_ID "\n"
                                          "aws_secret_access_key = " FILE_SECRET "\n"
                                          "aws_session_token = " FILE_TOKEN "\n";

static void test_shared_credentials_default(void **state)
{
    struct cj_aws_credentials c;
    char source[512], expect[512];

    /* No files at all: nothing here. */
    assert_int_equal(load(NULL, &c, source, sizeof(source)), -ENOKEY);

    write_str(".aws/credentials", default_credentials);
    assert_int_equal(load(NULL, &c, source, sizeof(source)), 0);
    snprintf(expect, sizeof(expect),
             "shared credentials file (%s/.aws/credentials, profile default)", tmpdir);
    assert_string_equal(source, expect);
    assert_string_equal(c.access_key_id, FILE_KEY_ID);
    assert_string_equal(c.secret_access_key, FILE_SECRET);
    assert_string_equal(c.session_token, FILE_TOKEN);
    assert_int_equal(c.expiration_ns, 0);
    cj_credentials_done(&c);
    assert_null(strstr(captured_log(), "readable by its group"));

    /* Explicit file locations, "~/" expanded. */
    write_str("elsewhere", default_credentials);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "~/elsewhere", 1);
    assert_int_equal(load("default", &c, source, sizeof(source)), 0);
    snprintf(expect, sizeof(expect), "shared credentials file (%s/elsewhere, profile default)",
             tmpdir);
    assert_string_equal(source, expect);
    cj_credentials_done(&c);
}

static void test_shared_permissions_warning(void **state)
{
    struct cj_aws_credentials c;
    char source[512];

    write_mode(".aws/credentials", default_credentials, 0644);
    assert_int_equal(load(NULL, &c, source, sizeof(source)), 0);
    cj_credentials_done(&c);
    assert_non_null(strstr(captured_log(), "readable by its group or others (mode 0644)"));
}

static void test_shared_profiles(void **state)
{
    struct cj_aws_credentials c;
    char source[512], expect[512];

    write_str(".aws/credentials", "[default]\n"
                                  "aws_access_key_id = " FILE_KEY_ID "\n"
                                  "aws_secret_access_key = " FILE_SECRET "\n"
                                  "[named]\n"
                                  "aws_access_key_id = " NAMED_KEY_ID "\n"
                                  "aws_secret_access_key = " NAMED_SECRET "\n"
                                  "[profile inconfigonly]\n"
                                  "aws_access_key_id = " NAMED_KEY_ID "\n"
                                  "aws_secret_access_key = " NAMED_SECRET "\n");
    write_str(".aws/config", "[default]\n"
                             "region = us-east-1\n"
                             "[profile named]\n"
                             "aws_access_key_id = " CONFIG_KEY_ID "\n"
                             "aws_secret_access_key = " CONFIG_SECRET "\n"
                             "[profile inconfigonly]\n"
                             "aws_access_key_id = " CONFIG_KEY_ID "\n"
                             "aws_secret_access_key = " CONFIG_SECRET "\n"
                             "[bare]\n"
                             "aws_access_key_id = " CONFIG_KEY_ID "\n"
                             "aws_secret_access_key = " CONFIG_SECRET "\n");

    /* AWS_PROFILE picks the profile; the credentials file wins over the config file. */
    setenv("AWS_PROFILE", "named", 1);
    assert_int_equal(load(NULL, &c, source, sizeof(source)), 0);
    snprintf(expect, sizeof(expect), "shared credentials file (%s/.aws/credentials, profile named)",
             tmpdir);
    assert_string_equal(source, expect);
    assert_string_equal(c.access_key_id, NAMED_KEY_ID);
    assert_null(c.session_token);
    cj_credentials_done(&c);

    /* The explicit argument is used as given, whatever AWS_PROFILE says. */
    assert_int_equal(load("default", &c, source, sizeof(source)), 0);
    assert_string_equal(c.access_key_id, FILE_KEY_ID);
    cj_credentials_done(&c);
    assert_int_equal(load("", &c, source, sizeof(source)), 0); /* "" = default */
    assert_string_equal(c.access_key_id, FILE_KEY_ID);
    cj_credentials_done(&c);

    /* "[profile x]" is a credentials-file section named "profile x", not profile x; the
     * config file's [profile inconfigonly] is. */
    assert_int_equal(load("inconfigonly", &c, source, sizeof(source)), 0);
    snprintf(expect, sizeof(expect), "shared config file (%s/.aws/config, profile inconfigonly)",
             tmpdir);
    assert_string_equal(source, expect);
    assert_string_equal(c.access_key_id, CONFIG_KEY_ID);
    assert_string_equal(c.secret_access_key, CONFIG_SECRET);
    cj_credentials_done(&c);

    /* In the config file "[bare]" is not profile bare: a named profile found nowhere is an
     * error, never a fall-through to another identity. */
    assert_int_equal(load("bare", &c, source, sizeof(source)), -ENOKEY);
    assert_non_null(strstr(captured_log(), "AWS profile bare is in neither"));
    assert_int_equal(load("nosuch", &c, source, sizeof(source)), -ENOKEY);

    /* Invalid profile names. */
    assert_int_equal(load("a b", &c, source, sizeof(source)), -EINVAL);
    assert_int_equal(load("a]", &c, source, sizeof(source)), -EINVAL);

    /* A profile that exists but only holds settings has no credentials: next source. */
    remove_file(".aws/credentials");
    assert_int_equal(load("default", &c, source, sizeof(source)), -ENOKEY);
    assert_non_null(strstr(captured_log(), "AWS profile default has no credentials"));
}

static void test_shared_syntax(void **state)
{
    struct cj_aws_credentials c;
    char source[512];

    /* Comments, inline comments, CRLF, odd spacing, upper-case key names, nested keys with
     * continuation lines, a repeated key (the later one wins), a merged section. */
    write_str(".aws/config", "# a comment\r\n"
                             "; another\r\n"
                             "[profile   spaced ]   # comment after the header\r\n"
                             "s3 =\r\n"
                             "  max_concurrent_requests = 10\r\n"
                             "  addressing_style = path\r\n"
                             "region=eu-west-1 ; inline comment\r\n"
                             "AWS_ACCESS_KEY_ID=AKIAWRONG000000001\r\n"
                             "\r\n"
                             "[other]\r\n"
                             "x = y\r\n"
                             "  continued\r\n"
                             "[profile spaced]\r\n"
                             "aws_access_key_id = " CONFIG_KEY_ID "   # the key\r\n"
                             "  \t\r\n"
                             "aws_secret_access_key\t=\t" CONFIG_SECRET "\r\n");
    assert_int_equal(load("spaced", &c, source, sizeof(source)), 0);
    assert_string_equal(c.access_key_id, CONFIG_KEY_ID);
    assert_string_equal(c.secret_access_key, CONFIG_SECRET);
    cj_credentials_done(&c);

    /* A credential continued on the next line is refused, naming the line. */
    write_str(".aws/config", "[default]\n"
                             "aws_access_key_id = " CONFIG_KEY_ID "\n"
                             "aws_secret_access_key = " CONFIG_SECRET "\n"
                             "  more\n");
    assert_int_equal(load(NULL, &c, source, sizeof(source)), -EINVAL);
    assert_non_null(strstr(captured_log(), "line 4: aws_secret_access_key continues"));

    /* Syntax errors anywhere in the file. */
    static const char *const broken[] = {
        "[default\naws_access_key_id = " CONFIG_KEY_ID "\n",
        "aws_access_key_id = " CONFIG_KEY_ID "\n[default]\n",
        "[default]\n" CONFIG_SECRET "\n",
        "[default]\n= value\n",
        "[]\n",
        "[default] trailing\n",
    };
    for (size_t i = 0; i < ELEMENTSOF(broken); i++) {
        write_str(".aws/config", broken[i]);
        assert_int_equal(load(NULL, &c, source, sizeof(source)), -EINVAL);
    }

    /* Half a key pair, a bad value, an unsupported kind of profile. */
    write_str(".aws/config", "[default]\naws_access_key_id = " CONFIG_KEY_ID "\n");
    assert_int_equal(load(NULL, &c, source, sizeof(source)), -EINVAL);
    assert_non_null(strstr(captured_log(), "aws_access_key_id is set but aws_secret_access_key"));
    write_str(".aws/config", "[default]\naws_session_token = " FILE_TOKEN "\n");
    assert_int_equal(load(NULL, &c, source, sizeof(source)), -EINVAL);
    write_str(".aws/config", "[default]\naws_access_key_id = akia-lower-case-1234\n"
                             "aws_secret_access_key = " CONFIG_SECRET "\n");
    assert_int_equal(load(NULL, &c, source, sizeof(source)), -EINVAL);
    write_str(".aws/config", "[default]\naws_access_key_id = " CONFIG_KEY_ID "\n"
                             "aws_secret_access_key = " CONFIG_SECRET "\n"
                             "role_arn = arn:aws:iam::123456789012:role/x\n"
                             "source_profile = base\n");
    assert_int_equal(load(NULL, &c, source, sizeof(source)), -ENOKEY);
    assert_non_null(strstr(source, "AWS profile base is in neither"));
    write_str(".aws/config", "[default]\nsso_session = corp\n");
    assert_int_equal(load(NULL, &c, source, sizeof(source)), -ENOKEY);
    assert_non_null(strstr(source, "no [sso-session corp]"));

    /* A directory where the file should be. */
    remove_file(".aws/config");
    char path[256];
    path_of(path, sizeof(path), ".aws/config");
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(load(NULL, &c, source, sizeof(source)), -EINVAL);
}

static void test_profile_parser(void **state)
{
    struct cj_profile p;
    char err[160];
    const char file[] = "[default]\naws_access_key_id = A\n[profile x]\n"
                        "credential_process = echo hi ; not a comment;either\n"
                        "aws_secret_access_key = s # c\n";

    assert_int_equal(
        aws_profile_parse(file, strlen(file), CJ_PROFILE_CONFIG_FILE, "x", &p, err, sizeof(err)),
        0);
    assert_true(p.found);
    assert_null(p.access_key_id);
    assert_string_equal(p.credential_process, "echo hi");
    assert_string_equal(p.secret_access_key, "s");
    aws_profile_done(&p);

    assert_int_equal(aws_profile_parse(file, strlen(file), CJ_PROFILE_CREDENTIALS_FILE, "x", &p,
                                       err, sizeof(err)),
                     0);
    assert_false(p.found);
    aws_profile_done(&p);

    assert_int_equal(
        aws_profile_parse("[a]\n\0x", 7, CJ_PROFILE_CONFIG_FILE, "a", &p, err, sizeof(err)),
        -EINVAL);
    assert_int_equal(aws_profile_parse("", 0, CJ_PROFILE_CONFIG_FILE, "a", &p, err, sizeof(err)),
                     0);
    assert_false(p.found);
}

/* ---- credential_process ---- */

#define PROC_JSON                                                                                  \
    "{\"Version\": 1, \"AccessKeyId\": \"" PROC_KEY_ID "\", \"SecretAccessKey\": \"" PROC_SECRET   \
    "\", \"SessionToken\": \"" PROC_TOKEN "\", \"Expiration\": \"" EXPIRATION "\"}"

static void write_script(const char *name, const char *body)
{
    char script[4096];
    snprintf(script, sizeof(script), "#!/bin/sh\n%s\n", body);
    write_mode(name, script, 0700);
}

static void test_process(void **state)
{
    struct cj_aws_credentials c;
    char source[512], config[512];

    write_script("good.sh", "echo 'helper says hi' >&2\ncat <<'EOF'\n" PROC_JSON "\nEOF");
    snprintf(config, sizeof(config), "[profile p]\ncredential_process = sh %s/good.sh\n", tmpdir);
    write_str(".aws/config", config);
    assert_int_equal(load("p", &c, source, sizeof(source)), 0);
    assert_string_equal(source, "credential_process (profile p)");
    assert_string_equal(c.access_key_id, PROC_KEY_ID);
    assert_string_equal(c.secret_access_key, PROC_SECRET);
    assert_string_equal(c.session_token, PROC_TOKEN);
    assert_true(c.expiration_ns == expiration_ns());
    cj_credentials_done(&c);
    /* The helper's stderr reaches the debug log. */
    assert_non_null(
        strstr(captured_log(), "credential_process (profile p) stderr: helper says hi"));

    /* credential_process wins over static keys of the config file, and the credentials
     * file's static keys win over it. */
    snprintf(config, sizeof(config),
             "[default]\naws_access_key_id = " CONFIG_KEY_ID "\n"
             "aws_secret_access_key = " CONFIG_SECRET "\ncredential_process = sh %s/good.sh\n",
             tmpdir);
    write_str(".aws/config", config);
    assert_int_equal(load(NULL, &c, source, sizeof(source)), 0);
    assert_string_equal(source, "credential_process (profile default)");
    cj_credentials_done(&c);
    write_str(".aws/credentials", default_credentials);
    assert_int_equal(load(NULL, &c, source, sizeof(source)), 0);
    assert_string_equal(c.access_key_id, FILE_KEY_ID);
    cj_credentials_done(&c);
    remove_file(".aws/credentials");

    /* Without Expiration: long-term keys. */
    write_script("noexp.sh", "echo '{\"Version\":1,\"AccessKeyId\":\"" PROC_KEY_ID
                             "\",\"SecretAccessKey\":\"" PROC_SECRET "\"}'");
    snprintf(config, sizeof(config), "[default]\ncredential_process = %s/noexp.sh\n", tmpdir);
    write_str(".aws/config", config);
    assert_int_equal(load(NULL, &c, source, sizeof(source)), 0);
    assert_null(c.session_token);
    assert_int_equal(c.expiration_ns, 0);
    cj_credentials_done(&c);
}

/* The file a credential_process comes from chooses a command the daemon runs: one that
 * group or others may write, or that another user owns, is refused naming it, and the
 * command never runs. */
static void test_process_file_permissions(void **state)
{
    struct cj_aws_credentials c;
    char source[512], config[512], ran[300], path[256], expect[512];

    snprintf(ran, sizeof(ran), "%s/ran", tmpdir);
    snprintf(config, sizeof(config),
             "[default]\ncredential_process = sh -c 'touch %s; cat %s/proc.json'\n", ran, tmpdir);
    write_str("proc.json", PROC_JSON);

    static const mode_t refused[] = {0620, 0602, 0660, 0666, 0622};
    for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
        for (int in_credentials = 0; in_credentials <= 1; in_credentials++) {
            const char *name = in_credentials ? ".aws/credentials" : ".aws/config";
            remove_file(".aws/credentials");
            remove_file(".aws/config");
            write_mode(name, config, refused[i]);
            assert_int_equal(load(NULL, &c, source, sizeof(source)), -EPERM);
            assert_int_equal(access(ran, F_OK), -1);
            path_of(path, sizeof(path), name);
            snprintf(expect, sizeof(expect),
                     "%s, profile default: refusing its credential_process: the file is owned by "
                     "uid %u with mode %04o",
                     path, (unsigned)geteuid(), (unsigned)refused[i]);
            assert_non_null(strstr(captured_log(), expect));
        }
    }
    remove_file(".aws/credentials");

    /* Readable by others is only warned about elsewhere; here it does not matter. */
    write_mode(".aws/config", config, 0644);
    assert_int_equal(load(NULL, &c, source, sizeof(source)), 0);
    assert_int_equal(access(ran, F_OK), 0);
    cj_credentials_done(&c);
    remove_file("ran");

    if (geteuid() == 0) {
        path_of(path, sizeof(path), ".aws/config");
        write_mode(".aws/config", config, 0600);
        assert_int_equal(chown(path, 65534, 65534), 0);
        assert_int_equal(load(NULL, &c, source, sizeof(source)), -EPERM);
        assert_int_equal(access(ran, F_OK), -1);
        assert_int_equal(chown(path, 0, 65534), 0);
        assert_int_equal(load(NULL, &c, source, sizeof(source)), 0);
        cj_credentials_done(&c);
    }
}

static void expect_process_error(const char *body, int expected, const char *in_log)
{
    struct cj_aws_credentials c;
    char source[512], config[512];

    write_script("bad.sh", body);
    snprintf(config, sizeof(config), "[default]\ncredential_process = sh %s/bad.sh\n", tmpdir);
    write_str(".aws/config", config);
    assert_int_equal(load(NULL, &c, source, sizeof(source)), expected);
    if (in_log)
        assert_non_null(strstr(captured_log(), in_log));
}

static void test_process_errors(void **state)
{
    expect_process_error("echo '{\"Version\":2,\"AccessKeyId\":\"" PROC_KEY_ID
                         "\",\"SecretAccessKey\":\"" PROC_SECRET "\"}'",
                         -EPROTO, "Version is not 1");
    expect_process_error("echo '{\"AccessKeyId\":\"" PROC_KEY_ID
                         "\",\"SecretAccessKey\":\"" PROC_SECRET "\"}'",
                         -EPROTO, "Version is missing");
    expect_process_error("echo '" PROC_JSON "'; exit 3", -EPROTO, "exited with status 3");
    expect_process_error("kill -9 $$", -EPROTO, "exited with status 137");
    /* Not JSON: jansson's message would quote the input, ours does not. */
    expect_process_error("echo '" PROC_SECRET "'", -EPROTO, "not valid JSON");
    expect_process_error("echo '{\"Version\":1,\"AccessKeyId\":\"" PROC_KEY_ID
                         "\",\"SecretAccessKey\":\"" PROC_SECRET
                         "\",\"Expiration\":\"2001-01-01T00:00:00Z\"}'",
                         -EKEYEXPIRED, "expired at 2001-01-01T00:00:00Z");
    expect_process_error("echo '{\"Version\":1,\"AccessKeyId\":\"" PROC_KEY_ID
                         "\",\"SecretAccessKey\":\"" PROC_SECRET "\",\"Expiration\":\"soon\"}'",
                         -EPROTO, "expiration is not an ISO 8601 time");
    expect_process_error("echo '{\"Version\":1,\"AccessKeyId\":\"" PROC_KEY_ID
                         "\",\"SecretAccessKey\":\"has space\"}'",
                         -EPROTO, "secret access key is not valid");
    expect_process_error("head -c 200000 /dev/zero | tr '\\000' a", -EFBIG,
                         "printed more than 65536 bytes");
}

static bool process_gone(pid_t pid)
{
    char path[64], stat[256] = "";
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return true;
    bool zombie = fgets(stat, sizeof(stat), f) && strstr(stat, ") Z ");
    fclose(f);
    return zombie;
}

static void test_process_timeout(void **state)
{
    struct cj_aws_credentials c;
    char cmd[512], path[256];

    /* The whole process group goes, the grandchild included. */
    path_of(path, sizeof(path), "sleeper.pid");
    snprintf(cmd, sizeof(cmd), "sleep 30 >/dev/null 2>&1 & echo $! > %s; wait", path);
    assert_int_equal(aws_credential_process_run(cmd, "slow", 300 * 1000, &c), -ETIME);
    assert_null(c.access_key_id);
    assert_non_null(
        strstr(captured_log(), "credential_process (profile slow) did not finish within 300 ms"));

    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int pid = 0;
    assert_int_equal(fscanf(f, "%d", &pid), 1);
    fclose(f);
    assert_true(pid > 1);
    bool gone = false;
    for (int i = 0; i < 250 && !gone; i++) { /* up to 5 s for the reaper */
        gone = process_gone(pid);
        if (!gone)
            usleep(20000);
    }
    assert_true(gone);

    /* A child that closes stdout but keeps running is still bounded by the timeout. */
    assert_int_equal(aws_credential_process_run("exec >&-; sleep 30", "slow", 300 * 1000, &c),
                     -ETIME);
    /* The shell itself killed by a signal. */
    assert_int_equal(aws_credential_process_run("kill -9 $$", "sig", 10 * 1000 * 1000, &c),
                     -EPROTO);
    assert_non_null(
        strstr(captured_log(), "credential_process (profile sig) was killed by signal 9"));
    /* stdin is /dev/null: a helper that reads it does not hang. */
    assert_int_equal(
        aws_credential_process_run("cat; echo '" PROC_JSON "'", "stdin", 10 * 1000 * 1000, &c), 0);
    assert_string_equal(c.access_key_id, PROC_KEY_ID);
    cj_credentials_done(&c);
}

/* ---- container credentials ---- */

struct container_standin {
    const char *auth; /* expected Authorization, NULL = none required */
    const char *body;
    int status;
    unsigned refused;
};

static void container_handler(void *userdata, const struct httpd_request *req,
                              struct httpd_response *resp)
{
    struct container_standin *s = userdata;
    char auth[256];
    bool has = httpd_header(req->head, "Authorization", auth, sizeof(auth));
    if (strcmp(req->method, "GET") != 0 || (s->auth && (!has || strcmp(auth, s->auth) != 0))) {
        s->refused++;
        resp->status = 401;
        resp->body = "{\"message\":\"unauthorized\"}";
        return;
    }
    resp->status = s->status;
    resp->body = s->body;
}

#define CONTAINER_JSON                                                                             \
    "{\"RoleArn\":\"arn:aws:iam::123456789012:role/task\",\"AccessKeyId\":\"" CONT_KEY_ID          \
    "\",\"SecretAccessKey\":\"" CONT_SECRET "\",\"Token\":\"" CONT_TOKEN                           \
    "\",\"Expiration\":\"" EXPIRATION "\"}"

static void test_container_relative(void **state)
{
    struct container_standin s = {.auth = CONT_AUTH, .body = CONTAINER_JSON, .status = 200};
    struct httpd h;
    struct cj_aws_credentials c;
    char source[512], expect[512], host[64];

    assert_int_equal(httpd_start_with(&h, container_handler, &s), 0);
    snprintf(host, sizeof(host), "127.0.0.1:%d", h.port);
    cj_credentials_set_container_host(host);
    setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc-123", 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", CONT_AUTH, 1);

    assert_int_equal(load(NULL, &c, source, sizeof(source)), 0);
    snprintf(expect, sizeof(expect), "container credentials (http://%s/v2/credentials/abc-123)",
             host);
    assert_string_equal(source, expect);
    assert_string_equal(c.access_key_id, CONT_KEY_ID);
    assert_string_equal(c.secret_access_key, CONT_SECRET);
    assert_string_equal(c.session_token, CONT_TOKEN);
    assert_true(c.expiration_ns == expiration_ns());
    cj_credentials_done(&c);
    assert_int_equal(s.refused, 0);

    /* A wrong token: the stand-in refuses, and that is an error, not a fall-through. */
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong", 1);
    assert_int_equal(load(NULL, &c, source, sizeof(source)), -EPROTO);
    assert_non_null(strstr(captured_log(), "answered HTTP 401"));

    /* The token file wins over the variable; its trailing newline is not part of it. */
    write_str("token", CONT_AUTH "\n");
    char path[256];
    path_of(path, sizeof(path), "token");
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path, 1);
    assert_int_equal(load(NULL, &c, source, sizeof(source)), 0);
    assert_string_equal(c.access_key_id, CONT_KEY_ID);
    cj_credentials_done(&c);

    /* A token that would inject a header. */
    write_str("token", CONT_AUTH "\nX-Evil: 1\n");
    assert_int_equal(load(NULL, &c, source, sizeof(source)), -EINVAL);
    path_of(path, sizeof(path), "no-such-token");
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path, 1);
    assert_int_equal(load(NULL, &c, source, sizeof(source)), -ENOENT);
    /* Only a regular file is read: a directory is refused. */
    path_of(path, sizeof(path), "token-dir");
    assert_int_equal(mkdir(path, 0700), 0);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path, 1);
    assert_int_equal(load(NULL, &c, source, sizeof(source)), -EINVAL);
    unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");

    /* The test-only host override only takes loopback. */
    cj_credentials_set_container_host("10.0.0.1:80");
    assert_int_equal(load(NULL, &c, source, sizeof(source)), -EINVAL);
    cj_credentials_set_container_host("169.254.170.2");
    assert_int_equal(load(NULL, &c, source, sizeof(source)), -EINVAL);
    cj_credentials_set_container_host(host);
    setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "v2/no-slash", 1);
    assert_int_equal(load(NULL, &c, source, sizeof(source)), -EINVAL);

    httpd_stop(&h);
}

static void test_container_full(void **state)
{
    struct container_standin s = {.body = CONTAINER_JSON, .status = 200};
    struct httpd h;
    struct cj_aws_credentials c;
    char source[512], expect[512], url[128];

    assert_int_equal(httpd_start_with(&h, container_handler, &s), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/creds", h.port);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    assert_int_equal(load(NULL, &c, source, sizeof(source)), 0);
    snprintf(expect, sizeof(expect), "container credentials (%s)", url);
    assert_string_equal(source, expect);
    assert_string_equal(c.session_token, CONT_TOKEN);
    cj_credentials_done(&c);

    /* The token header is sent when set. */
    s.auth = CONT_AUTH;
    assert_int_equal(load(NULL, &c, source, sizeof(source)), -EPROTO);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", CONT_AUTH, 1);
    assert_int_equal(load(NULL, &c, source, sizeof(source)), 0);
    cj_credentials_done(&c);

    /* Broken answers are errors naming the source. */
    s.body = "{\"AccessKeyId\":\"" CONT_KEY_ID "\"}";
    assert_int_equal(load(NULL, &c, source, sizeof(source)), -EPROTO);
    assert_non_null(strstr(captured_log(), "secret access key is missing"));
    s.body = "not json " CONT_SECRET;
    assert_int_equal(load(NULL, &c, source, sizeof(source)), -EPROTO);
    s.status = 500;
    s.body = CONTAINER_JSON;
    assert_int_equal(load(NULL, &c, source, sizeof(source)), -EPROTO);
    assert_true(httpd_requests(&h) >= 2);
    httpd_stop(&h);

    /* Configured but not answering: an error, not the next source. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/creds", free_port());
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    assert_int_equal(load(NULL, &c, source, sizeof(source)), -EHOSTUNREACH);

    /* Plain http only to loopback and the platforms' link-local addresses. */
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://10.1.2.3/creds", 1);
    assert_int_equal(load(NULL, &c, source, sizeof(source)), -EINVAL);
    char err[160];
    assert_int_equal(aws_cred_container_url_check("https://creds.example.com/x", err, sizeof(err)),
                     0);
    assert_int_equal(aws_cred_container_url_check("http://169.254.170.2/x", err, sizeof(err)), 0);
    assert_int_equal(
        aws_cred_container_url_check("http://169.254.170.23/v1/credentials", err, sizeof(err)), 0);
    assert_int_equal(aws_cred_container_url_check("http://[fd00:ec2::23]/x", err, sizeof(err)), 0);
    assert_int_equal(aws_cred_container_url_check("http://[::1]:8080/x", err, sizeof(err)), 0);
    assert_int_equal(aws_cred_container_url_check("http://127.0.0.2/x", err, sizeof(err)), 0);
    assert_int_equal(aws_cred_container_url_check("http://localhost/x", err, sizeof(err)), 0);
    assert_int_equal(aws_cred_container_url_check("http://169.254.169.254/x", err, sizeof(err)),
                     -EINVAL);
    assert_int_equal(aws_cred_container_url_check("http://example.com/x", err, sizeof(err)),
                     -EINVAL);
    assert_int_equal(aws_cred_container_url_check("ftp://127.0.0.1/x", err, sizeof(err)), -EINVAL);
    assert_int_equal(aws_cred_container_url_check("http://u:p@127.0.0.1/x", err, sizeof(err)),
                     -EINVAL);
    assert_int_equal(aws_cred_container_url_check("not a url", err, sizeof(err)), -EINVAL);
}

/* ---- EC2 instance metadata ---- */

struct imds_standin {
    const char *role;  /* NULL = no role (404) */
    const char *creds; /* the credentials document */
    bool hang;         /* answer nothing at all */
    unsigned token_puts, refused, served;
    char listing[256]; /* the body of the role listing */
};

static void imds_handler(void *userdata, const struct httpd_request *req,
                         struct httpd_response *resp)
{
    struct imds_standin *s = userdata;
    char v[256];

    if (s->hang) {
        resp->action = HTTPD_HANG;
        return;
    }
    if (strcmp(req->method, "PUT") == 0 && strcmp(req->path, "/latest/api/token") == 0) {
        if (!httpd_header(req->head, "X-aws-ec2-metadata-token-ttl-seconds", v, sizeof(v)) ||
            strcmp(v, "21600") != 0) {
            resp->status = 400;
            return;
        }
        s->token_puts++;
        resp->status = 200;
        resp->body = IMDS_SESSION;
        return;
    }
    /* IMDSv2 only: every GET needs the session token. */
    if (strcmp(req->method, "GET") != 0 ||
        !httpd_header(req->head, "X-aws-ec2-metadata-token", v, sizeof(v)) ||
        strcmp(v, IMDS_SESSION) != 0) {
        s->refused++;
        resp->status = 401;
        return;
    }
    s->served++;
    const char *base = "/latest/meta-data/iam/security-credentials/";
    if (strcmp(req->path, base) == 0) {
        resp->status = s->role ? 200 : 404;
        snprintf(s->listing, sizeof(s->listing), "%s\nsecond-role\n", s->role ? s->role : "");
        resp->body = s->listing;
    } else if (s->role && strncmp(req->path, base, strlen(base)) == 0 &&
               strcmp(req->path + strlen(base), s->role) == 0) {
        resp->status = 200;
        resp->body = s->creds;
    } else {
        resp->status = 404;
    }
}

#define IMDS_JSON                                                                                  \
    "{\"Code\":\"Success\",\"LastUpdated\":\"2024-05-01T00:00:00Z\",\"Type\":\"AWS-HMAC\","        \
    "\"AccessKeyId\":\"" IMDS_KEY_ID "\",\"SecretAccessKey\":\"" IMDS_SECRET                       \
    "\",\"Token\":\"" IMDS_TOKEN "\",\"Expiration\":\"" EXPIRATION "\"}"

static void test_imds(void **state)
{
    struct imds_standin s = {.role = "my-role", .creds = IMDS_JSON};
    struct httpd h;
    struct cj_aws_credentials c;
    char source[512], url[128];

    assert_int_equal(httpd_start_with(&h, imds_handler, &s), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", h.port);
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url, 1);

    /* Disabled: not asked at all. */
    assert_int_equal(load(NULL, &c, source, sizeof(source)), -ENOKEY);
    assert_int_equal(httpd_requests(&h), 0);
    setenv("AWS_EC2_METADATA_DISABLED", "false", 1);

    assert_int_equal(load(NULL, &c, source, sizeof(source)), 0);
    assert_string_equal(source, "EC2 instance metadata (role my-role)");
    assert_string_equal(c.access_key_id, IMDS_KEY_ID);
    assert_string_equal(c.secret_access_key, IMDS_SECRET);
    assert_string_equal(c.session_token, IMDS_TOKEN);
    assert_true(c.expiration_ns == expiration_ns());
    cj_credentials_done(&c);
    assert_int_equal(s.token_puts, 1);
    assert_int_equal(s.served, 2);
    assert_int_equal(s.refused, 0);
    setenv("AWS_EC2_METADATA_DISABLED", "TRUE", 1);
    assert_int_equal(load(NULL, &c, source, sizeof(source)), -ENOKEY);
    assert_int_equal(s.token_puts, 1);
    unsetenv("AWS_EC2_METADATA_DISABLED");

    /* Wrong answers are errors. */
    s.creds = "{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"Message\":\"x\"}";
    assert_int_equal(load(NULL, &c, source, sizeof(source)), -EPROTO);
    assert_non_null(strstr(captured_log(), "Code is \"AssumeRoleUnauthorizedAccess\""));
    s.creds = "{\"Code\":\"Success\",\"AccessKeyId\":\"" IMDS_KEY_ID
              "\",\"SecretAccessKey\":\"" IMDS_SECRET "\"}";
    assert_int_equal(load(NULL, &c, source, sizeof(source)), -EPROTO);
    s.creds = IMDS_JSON;
    s.role = "bad role!";
    assert_int_equal(load(NULL, &c, source, sizeof(source)), -EPROTO);

    /* No role attached: nothing here. */
    s.role = NULL;
    assert_int_equal(load(NULL, &c, source, sizeof(source)), -ENOKEY);
    assert_int_equal(s.refused, 0);

    /* The stand-in does refuse a GET without the token (checked with curl's own client). */
    s.role = "my-role";
    unsigned before = s.refused;
    struct cj_secret_buf body = {0};
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/latest/meta-data/iam/security-credentials/",
             h.port);
    const char *no_headers[] = {NULL};
    struct cj_cred_http_request req = {.method = "GET",
                                       .url = url,
                                       .headers = no_headers,
                                       .connect_timeout_ms = 1000,
                                       .timeout_ms = 2000,
                                       .attempts = 1};
    assert_int_equal(aws_cred_http(&req, &body), 401);
    aws_secret_buf_done(&body);
    assert_int_equal(s.refused, before + 1);

    /* Not answering at all: nothing here, after the bounded timeouts. */
    s.hang = true;
    assert_int_equal(load(NULL, &c, source, sizeof(source)), -ENOKEY);
    httpd_stop(&h);

    /* Nothing listening: nothing here, at once. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", free_port());
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url, 1);
    assert_int_equal(load(NULL, &c, source, sizeof(source)), -ENOKEY);
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "file:///etc/passwd", 1);
    assert_int_equal(load(NULL, &c, source, sizeof(source)), -EINVAL);
}

/* ---- the order of the chain ---- */

static void test_precedence(void **state)
{
    struct container_standin cs = {.body = CONTAINER_JSON, .status = 200};
    struct imds_standin is = {.role = "my-role", .creds = IMDS_JSON};
    struct httpd ch, ih;
    struct cj_aws_credentials c;
    char source[512], url[128];

    assert_int_equal(httpd_start_with(&ch, container_handler, &cs), 0);
    assert_int_equal(httpd_start_with(&ih, imds_handler, &is), 0);
    unsetenv("AWS_EC2_METADATA_DISABLED");
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", ih.port);
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url, 1);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/creds", ch.port);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    write_str(".aws/credentials", default_credentials);
    mkdir(tmpdir, 0700);
    char credsdir[256];
    path_of(credsdir, sizeof(credsdir), "creds.d");
    assert_int_equal(mkdir(credsdir, 0700), 0);
    write_str("creds.d/aws-access-key-id", "AKIASYSTEMD0000001\n");
    write_str("creds.d/aws-secret-access-key", SYSTEMD_SECRET "\n");
    setenv("CREDENTIALS_DIRECTORY", credsdir, 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIAENV00000000001", 1);
    setenv("AWS_SECRET_ACCESS_KEY", ENV_SECRET, 1);

    static const char *const expect_key[] = {"AKIAENV00000000001", "AKIASYSTEMD0000001",
                                             FILE_KEY_ID, CONT_KEY_ID, IMDS_KEY_ID};
    for (size_t step = 0; step < ELEMENTSOF(expect_key); step++) {
        assert_int_equal(load(NULL, &c, source, sizeof(source)), 0);
        assert_string_equal(c.access_key_id, expect_key[step]);
        cj_credentials_done(&c);
        switch (step) {
        case 0:
            unsetenv("AWS_ACCESS_KEY_ID");
            unsetenv("AWS_SECRET_ACCESS_KEY");
            break;
        case 1:
            unsetenv("CREDENTIALS_DIRECTORY");
            break;
        case 2:
            remove_file(".aws/credentials");
            break;
        case 3:
            unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
            break;
        }
    }
    /* The later sources were not asked while an earlier one answered. */
    assert_int_equal(httpd_requests(&ch), 1);
    assert_int_equal(httpd_requests(&ih), 3);
    httpd_stop(&ch);
    httpd_stop(&ih);
}

static void test_need_refresh(void **state)
{
    const int64_t now = INT64_C(1700000000) * CJ_NSEC_PER_SEC;
    const int64_t min = 60 * CJ_NSEC_PER_SEC;
    struct cj_aws_credentials c = {.access_key_id = (char *)"AKIAX",
                                   .secret_access_key = (char *)"s"};

    assert_false(cj_credentials_need_refresh(&c, now)); /* long-term keys never */
    c.expiration_ns = now + 60 * min;
    assert_false(cj_credentials_need_refresh(&c, now));
    c.expiration_ns = now + 5 * min + 1;
    assert_false(cj_credentials_need_refresh(&c, now));
    c.expiration_ns = now + 5 * min;
    assert_true(cj_credentials_need_refresh(&c, now));
    c.expiration_ns = now + min;
    assert_true(cj_credentials_need_refresh(&c, now));
    c.expiration_ns = now - min;
    assert_true(cj_credentials_need_refresh(&c, now));
    assert_true(cj_credentials_need_refresh(NULL, now));
    struct cj_aws_credentials empty = {0};
    assert_true(cj_credentials_need_refresh(&empty, now));
}

static void test_json_parser(void **state)
{
    struct cj_aws_credentials c;
    char err[200];
    const int64_t now = INT64_C(1700000000) * CJ_NSEC_PER_SEC;

    /* Duplicate keys, wrong types, NUL inside strings, long values. */
    static const char *const bad[] = {
        "{\"Version\":1,\"Version\":1,\"AccessKeyId\":\"" PROC_KEY_ID
        "\",\"SecretAccessKey\":\"s\"}",
        "{\"Version\":\"1\",\"AccessKeyId\":\"" PROC_KEY_ID "\",\"SecretAccessKey\":\"s\"}",
        "{\"Version\":1,\"AccessKeyId\":5,\"SecretAccessKey\":\"s\"}",
        "{\"Version\":1,\"AccessKeyId\":\"" PROC_KEY_ID "\",\"SecretAccessKey\":\"a\\u0000b\"}",
        "{\"Version\":1,\"AccessKeyId\":\"SHORT\",\"SecretAccessKey\":\"s\"}",
        "[1]",
        "",
    };
    for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
        assert_int_equal(aws_cred_parse_json(CJ_CRED_JSON_PROCESS, bad[i], strlen(bad[i]), now, &c,
                                             err, sizeof(err)),
                         -EINVAL);
        assert_null(c.access_key_id);
    }

    static char big[CJ_CRED_TOKEN_MAX + 200];
    int n = snprintf(big, sizeof(big),
                     "{\"AccessKeyId\":\"" CONT_KEY_ID "\",\"SecretAccessKey\":\"s\",\"Token\":\"");
    memset(big + n, 'T', CJ_CRED_TOKEN_MAX);
    strcpy(big + n + CJ_CRED_TOKEN_MAX, "\"}");
    assert_int_equal(
        aws_cred_parse_json(CJ_CRED_JSON_CONTAINER, big, strlen(big), now, &c, err, sizeof(err)),
        0);
    assert_int_equal(strlen(c.session_token), CJ_CRED_TOKEN_MAX);
    cj_credentials_done(&c);
    memmove(big + n + 1, big + n, strlen(big + n) + 1);
    big[n] = 'T';
    assert_int_equal(
        aws_cred_parse_json(CJ_CRED_JSON_CONTAINER, big, strlen(big), now, &c, err, sizeof(err)),
        -EINVAL);
    assert_non_null(strstr(err, "session token is not valid"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_shared_credentials_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_permissions_warning, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_profiles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_syntax, setup, teardown),
        cmocka_unit_test_setup_teardown(test_profile_parser, setup, teardown),
        cmocka_unit_test_setup_teardown(test_process, setup, teardown),
        cmocka_unit_test_setup_teardown(test_process_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_process_file_permissions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_process_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_container_relative, setup, teardown),
        cmocka_unit_test_setup_teardown(test_container_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_imds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_need_refresh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_parser, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
