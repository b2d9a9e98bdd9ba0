/* SPDX-License-Identifier: MIT */
/* STS and IAM Identity Center without the network: the XML walker and STS's answers, the
 * profile resolution that happens before any call (source_profile chains and cycles,
 * credential_source, refused combinations), the role cache and its refresh window, the SSO
 * cache file name, the cached token and the portal's answer. The calls themselves are tested
 * against the fake in tests/integration/credentials-sts.test.mjs. */
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

#include "cj-time.h"
#include "credentials-sts.h"
#include "test-util.h"

#define NOW (INT64_C(1700000000) * 1000000000)

static char tmpdir[64];

static void write_str(const char *name, const char *content)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(content, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
    (void)state;
    static const char *const unset[] = {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "CREDENTIALS_DIRECTORY",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_STS",
    };
    for (size_t i = 0; i < sizeof(unset) / sizeof(unset[0]); i++)
        unsetenv(unset[i]);
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/cj-test-sts-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    char path[128];
    setenv("HOME", tmpdir, 1);
    snprintf(path, sizeof(path), "%s/config", tmpdir);
    setenv("AWS_CONFIG_FILE", path, 1);
    snprintf(path, sizeof(path), "%s/credentials", tmpdir);
    setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    /* Nothing listens here: a call that is made fails fast instead of reaching AWS. */
    setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9", 1);
    aws_role_cache_clear();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    aws_role_cache_clear();
    return test_rm_tree(tmpdir);
}

/* ---- XML ---- */

static const char assume_ok[] =
    "<?xml version=\"1.0\"?>\n"
    "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
    "  <AssumeRoleResult>\n"
    "    <AssumedRoleUser><Arn>arn:aws:sts::210987654321:assumed-role/r/s</Arn>"
    "<AssumedRoleId>AROAX:s</AssumedRoleId></AssumedRoleUser>\n"
    "    <!-- a comment -->\n"
    "    <Credentials>\n"
    "      <AccessKeyId>ASIAEXAMPLE000000001</AccessKeyId>\n"
    "      <SecretAccessKey>cjSecret/a&amp;b&#43;c</SecretAccessKey>\n"
    "      <SessionToken><![CDATA[tok/en+1==]]></SessionToken>\n"
    "      <Expiration>2023-11-14T23:13:20Z</Expiration>\n"
    "    </Credentials>\n"
    "  </AssumeRoleResult>\n"
    "  <ResponseMetadata><RequestId>x</RequestId></ResponseMetadata>\n"
    "</AssumeRoleResponse>\n";

static void test_xml_credentials(void **state)
{
    (void)state;
    struct cj_aws_credentials c;
    char err[200];
    assert_int_equal(aws_sts_parse_credentials("AssumeRole", assume_ok, strlen(assume_ok), NOW, &c,
                                               err, sizeof(err)),
                     0);
    assert_string_equal(c.access_key_id, "ASIAEXAMPLE000000001");
    assert_string_equal(c.secret_access_key, "cjSecret/a&b+c");
    assert_string_equal(c.session_token, "tok/en+1==");
    assert_true(c.expiration_ns == INT64_C(1700003600) * 1000000000);
    cj_credentials_done(&c);

    /* The wrong action's shape has no credentials. */
    assert_int_equal(aws_sts_parse_credentials("AssumeRoleWithWebIdentity", assume_ok,
                                               strlen(assume_ok), NOW, &c, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "AccessKeyId"));
    assert_null(c.access_key_id);
    /* Expired credentials are refused. */
    assert_int_equal(aws_sts_parse_credentials("AssumeRole", assume_ok, strlen(assume_ok),
                                               NOW + INT64_C(7200) * 1000000000, &c, err,
                                               sizeof(err)),
                     -EKEYEXPIRED);
}

static void test_xml_errors(void **state)
{
    (void)state;
    static const char err_xml[] =
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
        "  <Error><Type>Sender</Type><Code>AccessDenied</Code>\n"
        "  <Message>User: arn:aws:iam::1:user/x is not authorized &lt;here&gt;\n"
        "  </Message></Error><RequestId>r</RequestId></ErrorResponse>";
    struct aws_sts_error e;
    assert_int_equal(aws_sts_parse_error(err_xml, strlen(err_xml), &e), 0);
    assert_string_equal(e.code, "AccessDenied");
    assert_non_null(strstr(e.message, "not authorized <here>"));
    assert_null(strchr(e.message, '\n')); /* control characters replaced */

    static const char odd_code[] =
        "<ErrorResponse><Error><Code>a b\n</Code></Error></ErrorResponse>";
    assert_int_equal(aws_sts_parse_error(odd_code, strlen(odd_code), &e), 0);
    assert_string_equal(e.code, "");
    assert_int_equal(aws_sts_parse_error(assume_ok, strlen(assume_ok), &e), -EINVAL);
}

static void test_xml_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "text",
        "<a>",
        "<a></b>",
        "<a><b></a></b>",
        "<a/><b/>",
        "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>",
        "<a>&unknown;</a>",
        "<a>&#0;</a>",
        "<a>&#xD800;</a>",
        "<a><![CDATA[never closed</a>",
        "<a><!-- never closed</a>",
        "<a b=\"never closed></a>",
        "<a>x</a>trailing",
        "<a><Code>1</Code><Code>2</Code></a>",
    };
    const char *paths[] = {"a/Code"};
    char *values[1];
    char err[200];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(
            aws_xml_extract(bad[i], strlen(bad[i]), paths, 1, values, err, sizeof(err)), -EINVAL);
        assert_null(values[0]);
        assert_true(err[0] != '\0');
    }

    /* Depth and length limits. */
    char deep[4 * (CJ_STS_XML_DEPTH_MAX + 1) * 2 + 1] = "";
    for (int i = 0; i <= CJ_STS_XML_DEPTH_MAX; i++)
        strcat(deep, "<a>");
    for (int i = 0; i <= CJ_STS_XML_DEPTH_MAX; i++)
        strcat(deep, "</a>");
    assert_int_equal(aws_xml_extract(deep, strlen(deep), paths, 1, values, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "deep"));

    size_t n = CJ_STS_XML_VALUE_MAX + 100;
    char *big = malloc(n + 32);
    assert_non_null(big);
    strcpy(big, "<a><Code>");
    memset(big + 9, 'x', n);
    strcpy(big + 9 + n, "</Code></a>");
    assert_int_equal(aws_xml_extract(big, strlen(big), paths, 1, values, err, sizeof(err)),
                     -EINVAL);
    free(big);

    /* Namespace prefixes are ignored; unwanted elements are skipped. */
    static const char ok[] = "<p:a xmlns:p=\"u\"><x>1</x><p:Code>v&#x41;</p:Code></p:a>";
    assert_int_equal(aws_xml_extract(ok, strlen(ok), paths, 1, values, err, sizeof(err)), 0);
    assert_string_equal(values[0], "vA");
    aws_free_secret(values[0]);
}

/* ---- profile resolution ---- */

static int load(const char *profile, char *source, size_t len)
{
    struct cj_aws_credentials c;
    int r = cj_credentials_load_for_profile(profile, &c, source, len);
    if (r < 0)
        assert_null(c.access_key_id);
    cj_credentials_done(&c);
    return r;
}

static void test_profile_chains(void **state)
{
    (void)state;
    char source[768];

    write_str("credentials", "");
    write_str("config", "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/a\n"
                        "source_profile = b\n"
                        "[profile b]\nrole_arn = arn:aws:iam::123456789012:role/b\n"
                        "source_profile = c\n"
                        "[profile c]\nrole_arn = arn:aws:iam::123456789012:role/c\n"
                        "source_profile = a\n");
    assert_int_equal(load("a", source, sizeof(source)), -ELOOP);
    assert_non_null(strstr(source, "cycle: a -> b -> c -> a"));

    /* A missing source profile; both source_profile and credential_source. */
    write_str("config", "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/a\n"
                        "source_profile = nowhere\n");
    assert_int_equal(load("a", source, sizeof(source)), -ENOKEY);
    assert_non_null(strstr(source, "nowhere"));
    write_str("config", "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/a\n"
                        "source_profile = b\ncredential_source = Environment\n");
    assert_int_equal(load("a", source, sizeof(source)), -EINVAL);
    assert_non_null(strstr(source, "both source_profile and credential_source"));
    write_str("config", "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/a\n");
    assert_int_equal(load("a", source, sizeof(source)), -EINVAL);
    assert_non_null(strstr(source, "neither source_profile"));

    /* credential_source: an unknown name, and Environment without keys. */
    write_str("config", "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/a\n"
                        "credential_source = Somewhere\n");
    assert_int_equal(load("a", source, sizeof(source)), -EINVAL);
    assert_non_null(strstr(source, "Ec2InstanceMetadata"));
    write_str("config", "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/a\n"
                        "credential_source = Environment\n");
    assert_int_equal(load("a", source, sizeof(source)), -ENOKEY);
    assert_non_null(strstr(source, "credential_source Environment has no credentials"));

    /* With keys in the environment the chain's first source wins: the profile's role is not
     * reached. credential_source = Environment is reached through the profile only when the
     * environment holds no keys, so the call itself is tested with the fake. */

    /* Static keys of a source profile win over its own role_arn (no cycle), and a profile may
     * name itself; the AssumeRole call then fails (nothing listens) with the role named. */
    write_str("config", "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/a\n"
                        "source_profile = a\n"
                        "aws_access_key_id = AKIDCOPYJOBDTEST0001\n"
                        "aws_secret_access_key = cjSecTest/unitSecret0001\n");
    assert_int_equal(load("a", source, sizeof(source)), -EHOSTUNREACH);
    assert_non_null(strstr(source, "STS AssumeRole of arn:aws:iam::123456789012:role/a"));
    assert_null(strstr(source, "cjSecTest"));

    /* Bad values are refused before any call. */
    write_str("config", "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/a\n"
                        "source_profile = a\nduration_seconds = 60\n"
                        "aws_access_key_id = AKIDCOPYJOBDTEST0001\n"
                        "aws_secret_access_key = cjSecTest/unitSecret0001\n");
    assert_int_equal(load("a", source, sizeof(source)), -EINVAL);
    assert_non_null(strstr(source, "duration_seconds"));
    write_str("config", "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/a\n"
                        "source_profile = a\nexternal_id = has space\n"
                        "aws_access_key_id = AKIDCOPYJOBDTEST0001\n"
                        "aws_secret_access_key = cjSecTest/unitSecret0001\n");
    assert_int_equal(load("a", source, sizeof(source)), -EINVAL);
    assert_non_null(strstr(source, "external_id"));
    write_str("config", "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/a\n"
                        "source_profile = a\nmfa_serial = arn:aws:iam::1:mfa/x\n");
    assert_int_equal(load("a", source, sizeof(source)), -EOPNOTSUPP);

    /* An endpoint override that is neither https nor loopback is refused. */
    setenv("AWS_ENDPOINT_URL_STS", "http://sts.example.com", 1);
    write_str("config", "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/a\n"
                        "source_profile = a\n"
                        "aws_access_key_id = AKIDCOPYJOBDTEST0001\n"
                        "aws_secret_access_key = cjSecTest/unitSecret0001\n");
    assert_int_equal(load("a", source, sizeof(source)), -EINVAL);
    assert_non_null(strstr(source, "AWS_ENDPOINT_URL_STS must be https"));
}

static void test_web_identity_env(void **state)
{
    (void)state;
    char source[768];
    write_str("credentials", "");
    write_str("config", "");
    setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/w", 1);
    assert_int_equal(load(NULL, source, sizeof(source)), -EINVAL);
    assert_non_null(strstr(source, "AWS_WEB_IDENTITY_TOKEN_FILE"));
    char path[128];
    snprintf(path, sizeof(path), "%s/token", tmpdir);
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", path, 1);
    assert_int_equal(load(NULL, source, sizeof(source)), -ENOENT);
    assert_non_null(strstr(source, "web identity token file"));
    write_str("token", "a b\n");
    assert_int_equal(load(NULL, source, sizeof(source)), -EINVAL);
    write_str("token", "cjSecTest/jwt.part.two\n");
    assert_int_equal(load(NULL, source, sizeof(source)), -EHOSTUNREACH);
    assert_non_null(
        strstr(source, "AssumeRoleWithWebIdentity of arn:aws:iam::123456789012:role/w"));
    assert_null(strstr(source, "cjSecTest"));
    unsetenv("AWS_ROLE_ARN");
    unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
}

/* ---- the role cache ---- */

static void test_role_cache(void **state)
{
    (void)state;
    struct cj_aws_credentials c = {0}, got;
    char err[100];
    char exp[CJ_ISO8601_MAX];
    int64_t now = cj_now_ns();
    assert_true(cj_time_format_iso8601(now + INT64_C(600) * 1000000000, exp, sizeof(exp)) > 0);
    assert_int_equal(
        aws_cred_set(&c, "ASIAEXAMPLE000000001", "secret", "token", exp, now, err, sizeof(err)), 0);
    assert_false(aws_role_cache_get("k", now, &got));
    aws_role_cache_put("k", &c);
    assert_true(aws_role_cache_get("k", now, &got));
    assert_string_equal(got.secret_access_key, "secret");
    cj_credentials_done(&got);
    assert_false(aws_role_cache_get("other", now, &got));
    /* Within 5 minutes of the expiry it is not handed out any more. */
    assert_false(aws_role_cache_get("k", now + INT64_C(301) * 1000000000, &got));
    assert_false(aws_role_cache_get("k", now, &got)); /* and was dropped */
    /* Bounded: many keys keep working. */
    for (int i = 0; i < 200; i++) {
        char key[16];
        snprintf(key, sizeof(key), "k%d", i);
        aws_role_cache_put(key, &c);
    }
    assert_true(aws_role_cache_get("k199", now, &got));
    cj_credentials_done(&got);
    assert_false(aws_role_cache_get("k0", now, &got));
    cj_credentials_done(&c);
}

/* ---- IAM Identity Center ---- */

static void test_sso_file_name(void **state)
{
    (void)state;
    char name[46];
    /* The SHA-1 of the start URL, as Python's hashlib computes it. */
    assert_int_equal(aws_sso_cache_file_name("my-sso", name), 0);
    assert_int_equal(strlen(name), 45);
    assert_string_equal(name + 40, ".json");
    assert_int_equal(aws_sso_cache_file_name("https://d-92671207e4.awsapps.com/start", name), 0);
    assert_string_equal(name, "13f9d35043871d073ab260e020f0ffde092cb14b.json");
}

static void test_sso_token(void **state)
{
    (void)state;
    struct aws_sso_token t;
    char err[200];
    static const char full[] =
        "{\"startUrl\":\"https://x\",\"region\":\"us-east-1\",\"accessToken\":\"at-1\","
        "\"expiresAt\":\"2023-11-14T22:13:20Z\",\"refreshToken\":\"rt-1\",\"clientId\":\"cid\","
        "\"clientSecret\":\"cs\",\"registrationExpiresAt\":\"2024-01-01T00:00:00Z\"}";
    assert_int_equal(aws_sso_token_parse(full, strlen(full), &t, err, sizeof(err)), 0);
    assert_string_equal(t.access_token, "at-1");
    assert_true(t.expires_at_ns == NOW);
    assert_true(aws_sso_token_refreshable(&t, NOW));
    assert_false(aws_sso_token_refreshable(&t, INT64_C(1704067200) * 1000000000));
    aws_sso_token_done(&t);

    /* The first CLI versions wrote "UTC" instead of "Z"; no refresh token: not refreshable. */
    static const char legacy[] =
        "{\"accessToken\":\"at\",\"expiresAt\":\"2023-11-14T22:13:20UTC\"}";
    assert_int_equal(aws_sso_token_parse(legacy, strlen(legacy), &t, err, sizeof(err)), 0);
    assert_true(t.expires_at_ns == NOW);
    assert_false(aws_sso_token_refreshable(&t, 0));
    aws_sso_token_done(&t);

    static const char *const bad[] = {
        "",
        "[]",
        "{\"accessToken\":\"at\"}",
        "{\"expiresAt\":\"2023-11-14T22:13:20Z\"}",
        "{\"accessToken\":\"a b\",\"expiresAt\":\"2023-11-14T22:13:20Z\"}",
        "{\"accessToken\":\"at\",\"expiresAt\":\"soon\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(aws_sso_token_parse(bad[i], strlen(bad[i]), &t, err, sizeof(err)),
                         -EINVAL);
        assert_null(t.access_token);
    }
}

static void test_sso_role_credentials(void **state)
{
    (void)state;
    struct cj_aws_credentials c;
    char err[200];
    static const char ok[] =
        "{\"roleCredentials\":{\"accessKeyId\":\"ASIAEXAMPLE000000002\",\"secretAccessKey\":"
        "\"s3cret\",\"sessionToken\":\"tok\",\"expiration\":1700003600000}}";
    assert_int_equal(aws_sso_parse_role_credentials(ok, strlen(ok), NOW, &c, err, sizeof(err)), 0);
    assert_string_equal(c.access_key_id, "ASIAEXAMPLE000000002");
    assert_true(c.expiration_ns == INT64_C(1700003600) * 1000000000);
    cj_credentials_done(&c);
    static const char *const bad[] = {
        "{}", "{\"roleCredentials\":{}}",
        "{\"roleCredentials\":{\"accessKeyId\":\"ASIAEXAMPLE000000002\",\"secretAccessKey\":"
        "\"s\",\"sessionToken\":\"t\",\"expiration\":\"1700003600000\"}}",
        "{\"roleCredentials\":{\"accessKeyId\":\"ASIAEXAMPLE000000002\",\"secretAccessKey\":"
        "\"s\",\"sessionToken\":\"t\",\"expiration\":1000}}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_true(
            aws_sso_parse_role_credentials(bad[i], strlen(bad[i]), NOW, &c, err, sizeof(err)) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xml_credentials),
        cmocka_unit_test(test_xml_errors),
        cmocka_unit_test(test_xml_refused),
        cmocka_unit_test_setup_teardown(test_profile_chains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_web_identity_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_role_cache, setup, teardown),
        cmocka_unit_test(test_sso_file_name),
        cmocka_unit_test(test_sso_token),
        cmocka_unit_test(test_sso_role_credentials),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
