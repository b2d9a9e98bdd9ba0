/* SPDX-License-Identifier: MIT */
/* The first two sources of the credential chain: environment first, then systemd
 * credentials; half-configured sources are errors; secrets never reach the source string.
 * The later sources are tested in test-credentials-chain.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "credentials.h"
#include "test-util.h"

static char tmpdir[64];

static void write_file(const char *name, const char *content, size_t len)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(content, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void write_str(const char *name, const char *content)
{
    write_file(name, content, strlen(content));
}

static int setup(void **state)
{
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("CREDENTIALS_DIRECTORY");
    unsetenv("AWS_PROFILE");
    unsetenv("AWS_SHARED_CREDENTIALS_FILE");
    unsetenv("AWS_CONFIG_FILE");
    unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/cj-test-credentials-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    /* The later sources stay out of these tests: no ~/.aws, no instance metadata. */
    setenv("HOME", tmpdir, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    return 0;
}

static int teardown(void **state)
{
    test_rm_tree(tmpdir);
    return 0;
}

static void test_none(void **state)
{
    struct cj_aws_credentials c;
    char source[128] = "x";
    assert_int_equal(cj_credentials_load(&c, source, sizeof(source)), -ENOKEY);
    assert_non_null(strstr(source, "No AWS credentials found")); /* the reason */
    assert_null(c.access_key_id);
    assert_null(c.secret_access_key);
    assert_null(c.session_token);

    /* An empty credentials directory is "nothing here", not an error. */
    setenv("CREDENTIALS_DIRECTORY", tmpdir, 1);
    assert_int_equal(cj_credentials_load(&c, source, sizeof(source)), -ENOKEY);
}

static void test_environment(void **state)
{
    struct cj_aws_credentials c;
    char source[128];

    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
    assert_int_equal(cj_credentials_load(&c, source, sizeof(source)), 0);
    assert_string_equal(source, "environment");
    assert_string_equal(c.access_key_id, "AKIDEXAMPLE");
    assert_string_equal(c.secret_access_key, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    assert_null(c.session_token);
    assert_int_equal(c.expiration_ns, 0);
    cj_credentials_done(&c);
    assert_null(c.access_key_id);
    assert_null(c.secret_access_key);

    setenv("AWS_SESSION_TOKEN", "IQoJb3JpZ2luX2VjEXAMPLE==", 1);
    assert_int_equal(cj_credentials_load(&c, NULL, 0), 0);
    assert_string_equal(c.session_token, "IQoJb3JpZ2luX2VjEXAMPLE==");
    cj_credentials_done(&c);
    assert_null(c.session_token);

    /* The environment wins over systemd credentials. */
    setenv("CREDENTIALS_DIRECTORY", tmpdir, 1);
    write_str("aws-access-key-id", "AKIDFILE\n");
    write_str("aws-secret-access-key", "filesecret\n");
    assert_int_equal(cj_credentials_load(&c, source, sizeof(source)), 0);
    assert_string_equal(source, "environment");
    assert_string_equal(c.access_key_id, "AKIDEXAMPLE");
    cj_credentials_done(&c);
}

static void test_environment_half(void **state)
{
    struct cj_aws_credentials c;
    char source[128];

    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    assert_int_equal(cj_credentials_load(&c, source, sizeof(source)), -EINVAL);
    assert_null(c.access_key_id);
    unsetenv("AWS_ACCESS_KEY_ID");

    setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
    assert_int_equal(cj_credentials_load(&c, source, sizeof(source)), -EINVAL);
    assert_null(c.secret_access_key);

    /* A half-configured environment does not fall through to another identity. */
    setenv("CREDENTIALS_DIRECTORY", tmpdir, 1);
    write_str("aws-access-key-id", "AKIDFILE\n");
    write_str("aws-secret-access-key", "filesecret\n");
    assert_int_equal(cj_credentials_load(&c, source, sizeof(source)), -EINVAL);

    /* Header injection through the environment is refused. */
    setenv("AWS_ACCESS_KEY_ID", "AKID\r\nX-Evil: 1", 1);
    assert_int_equal(cj_credentials_load(&c, source, sizeof(source)), -EINVAL);
}

static void test_systemd_credentials(void **state)
{
    struct cj_aws_credentials c;
    char source[256], expect[256];

    setenv("CREDENTIALS_DIRECTORY", tmpdir, 1);
    write_str("aws-access-key-id", "AKIDFILE\n");
    write_str("aws-secret-access-key", "file/secret+key"); /* no newline is fine too */
    assert_int_equal(cj_credentials_load(&c, source, sizeof(source)), 0);
    snprintf(expect, sizeof(expect), "systemd credentials (%s)", tmpdir);
    assert_string_equal(source, expect);
    assert_string_equal(c.access_key_id, "AKIDFILE");
    assert_string_equal(c.secret_access_key, "file/secret+key");
    assert_null(c.session_token);
    cj_credentials_done(&c);

    write_str("aws-session-token", "tok\n");
    assert_int_equal(cj_credentials_load(&c, source, sizeof(source)), 0);
    assert_string_equal(c.session_token, "tok");
    cj_credentials_done(&c);

    /* Only one trailing newline is trimmed; a second one is content, and refused. */
    write_str("aws-session-token", "tok\n\n");
    assert_int_equal(cj_credentials_load(&c, source, sizeof(source)), -EINVAL);
    assert_true(source[0] != '\0'); /* a reason, never the value */
    assert_null(c.access_key_id);

    write_str("aws-session-token", "");
    assert_int_equal(cj_credentials_load(&c, source, sizeof(source)), -EINVAL);
    write_str("aws-session-token", "\n");
    assert_int_equal(cj_credentials_load(&c, source, sizeof(source)), -EINVAL);
}

static void test_systemd_credentials_bounds(void **state)
{
    struct cj_aws_credentials c;
    char source[256];
    static char big[4098];

    setenv("CREDENTIALS_DIRECTORY", tmpdir, 1);
    write_str("aws-access-key-id", "AKIDFILE\n");

    memset(big, 'a', sizeof(big));
    write_file("aws-secret-access-key", big, 4096);
    assert_int_equal(cj_credentials_load(&c, source, sizeof(source)), 0);
    assert_int_equal(strlen(c.secret_access_key), 4096);
    cj_credentials_done(&c);

    big[4096] = '\n';
    write_file("aws-secret-access-key", big, 4097);
    assert_int_equal(cj_credentials_load(&c, source, sizeof(source)), 0);
    assert_int_equal(strlen(c.secret_access_key), 4096);
    cj_credentials_done(&c);

    memset(big, 'a', sizeof(big));
    write_file("aws-secret-access-key", big, 4097);
    assert_int_equal(cj_credentials_load(&c, source, sizeof(source)), -EFBIG);
    write_file("aws-secret-access-key", big, sizeof(big));
    assert_int_equal(cj_credentials_load(&c, source, sizeof(source)), -EFBIG);

    write_str("aws-secret-access-key", "");
    assert_int_equal(cj_credentials_load(&c, source, sizeof(source)), -EINVAL);
    write_str("aws-secret-access-key", "\n");
    assert_int_equal(cj_credentials_load(&c, source, sizeof(source)), -EINVAL);
    write_file("aws-secret-access-key", "a\0b", 3);
    assert_int_equal(cj_credentials_load(&c, source, sizeof(source)), -EINVAL);
    write_str("aws-secret-access-key", "two words");
    assert_int_equal(cj_credentials_load(&c, source, sizeof(source)), -EINVAL);
}

static void test_systemd_credentials_half(void **state)
{
    struct cj_aws_credentials c;
    char source[256];
    char path[256];

    setenv("CREDENTIALS_DIRECTORY", tmpdir, 1);
    write_str("aws-access-key-id", "AKIDFILE\n");
    assert_int_equal(cj_credentials_load(&c, source, sizeof(source)), -EINVAL);
    assert_null(c.access_key_id);

    snprintf(path, sizeof(path), "%s/aws-access-key-id", tmpdir);
    assert_int_equal(unlink(path), 0);
    write_str("aws-secret-access-key", "secret\n");
    assert_int_equal(cj_credentials_load(&c, source, sizeof(source)), -EINVAL);

    /* A directory where a file should be is an error, not a missing credential. */
    snprintf(path, sizeof(path), "%s/aws-access-key-id", tmpdir);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(cj_credentials_load(&c, source, sizeof(source)), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_none, setup, teardown),
        cmocka_unit_test_setup_teardown(test_environment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_environment_half, setup, teardown),
        cmocka_unit_test_setup_teardown(test_systemd_credentials, setup, teardown),
        cmocka_unit_test_setup_teardown(test_systemd_credentials_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_systemd_credentials_half, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
