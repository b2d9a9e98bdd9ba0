/* SPDX-License-Identifier: MIT */
/* Building and signing one Bedrock request: endpoint parsing, the Host value signed, the
 * URL sent equal to the one signed, and botocore's known answer for GetModelCopyJob. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "request.h"

#define T_20150830 INT64_C(1440938160) /* 2015-08-30T12:36:00Z */

static struct cj_aws_credentials example_creds = {
    .access_key_id = (char *)"AKIDEXAMPLE",
    .secret_access_key = (char *)"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};

static const char *header(const struct cj_signed_request *r, const char *name)
{
    size_t n = strlen(name);
    for (const struct curl_slist *l = r->headers; l; l = l->next)
        if (strncmp(l->data, name, n) == 0 && l->data[n] == ':' && l->data[n + 1] == ' ')
            return l->data + n + 2;
    return NULL;
}

/* The URL check itself is config's (test-config); here: its failures are logged. */
static void test_endpoint_parse(void **state)
{
    struct cj_endpoint e;
    assert_int_equal(cj_endpoint_parse("http://127.0.0.1:80/", &e), 0);
    assert_string_equal(e.origin, "http://127.0.0.1");
    assert_string_equal(e.host, "127.0.0.1");
    assert_false(e.https);
    cj_endpoint_done(&e);

    e = (struct cj_endpoint){0};
    assert_int_equal(cj_endpoint_parse("http://127.0.0.1:99999", &e), -EINVAL);
    assert_null(e.origin);
    assert_int_equal(cj_endpoint_parse(NULL, &e), -EINVAL);
}

static void test_get_known_answer(void **state)
{
    struct cj_endpoint ep;
    struct cj_signed_request r = {0};
    assert_int_equal(cj_endpoint_parse("https://bedrock.us-east-1.amazonaws.com", &ep), 0);
    assert_int_equal(cj_request_get_job(&ep, "us-east-1", &example_creds,
                                        "arn:aws:bedrock:us-east-1:123456789012:model-copy-job/"
                                        "abcdefghijkl",
                                        T_20150830, &r),
                     0);
    /* botocore 1.43.11, sigv4-known-answers.botocore.json case "get-by-arn" */
    assert_string_equal(r.url, "https://bedrock.us-east-1.amazonaws.com/model-copy-jobs/"
                               "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Amodel-copy-job%"
                               "2Fabcdefghijkl");
    assert_string_equal(header(&r, "X-Amz-Date"), "20150830T123600Z");
    assert_string_equal(
        header(&r, "Authorization"),
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/"
        "aws4_request, SignedHeaders=host;x-amz-date, "
        "Signature=fff87acf479e422772be3af085f71307a78661fe063a715327db247fec024552");
    assert_string_equal(header(&r, "Accept"), "application/json");
    assert_null(header(&r, "X-Amz-Security-Token"));
    assert_null(header(&r, "Host")); /* curl sends it from the URL */
    cj_signed_request_done(&r);
    assert_null(r.url);
    assert_null(r.headers);
    cj_endpoint_done(&ep);
}

static void test_list(void **state)
{
    struct cj_endpoint ep;
    struct cj_signed_request r = {0};
    struct cj_aws_credentials creds = example_creds;
    creds.session_token = (char *)"tok/en+=";

    assert_int_equal(cj_endpoint_parse("http://127.0.0.1:4567", &ep), 0);
    struct cj_list_request l = {.max_results = 100, .next_token = "ab+cd/ef=="};
    assert_int_equal(cj_request_list_jobs(&ep, "eu-west-1", &creds, &l, T_20150830, &r), 0);
    /* Exactly the canonical query on the wire, in canonical order. */
    assert_string_equal(r.url, "http://127.0.0.1:4567/model-copy-jobs?maxResults=100&"
                               "nextToken=ab%2Bcd%2Fef%3D%3D&sortBy=CreationTime&"
                               "sortOrder=Descending");
    assert_string_equal(header(&r, "X-Amz-Security-Token"), "tok/en+=");
    const char *auth = header(&r, "Authorization");
    assert_non_null(auth);
    assert_non_null(strstr(auth, "Credential=AKIDEXAMPLE/20150830/eu-west-1/bedrock/aws4_request"));
    assert_non_null(strstr(auth, "SignedHeaders=host;x-amz-date;x-amz-security-token,"));
    assert_null(strstr(auth, creds.secret_access_key));
    cj_signed_request_done(&r);

    l = (struct cj_list_request){.max_results = 1, .ascending = true};
    assert_int_equal(cj_request_list_jobs(&ep, "eu-west-1", &example_creds, &l, T_20150830, &r), 0);
    assert_string_equal(r.url, "http://127.0.0.1:4567/model-copy-jobs?maxResults=1&"
                               "sortBy=CreationTime&sortOrder=Ascending");
    assert_null(header(&r, "X-Amz-Security-Token"));
    cj_signed_request_done(&r);

    l.max_results = 0;
    assert_int_equal(cj_request_list_jobs(&ep, "eu-west-1", &example_creds, &l, T_20150830, &r),
                     -EINVAL);
    l.max_results = 1001;
    assert_int_equal(cj_request_list_jobs(&ep, "eu-west-1", &example_creds, &l, T_20150830, &r),
                     -EINVAL);
    l.max_results = 10;
    assert_int_equal(cj_request_list_jobs(&ep, NULL, &example_creds, &l, T_20150830, &r), -EINVAL);
    assert_null(r.url);
    cj_endpoint_done(&ep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpoint_parse),
        cmocka_unit_test(test_get_known_answer),
        cmocka_unit_test(test_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
