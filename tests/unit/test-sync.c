/* SPDX-License-Identifier: MIT */
/* The sync pass state machine, with real parts: a real LMDB store in a temp dir, libcurl in
 * sd-event, and a real HTTP server on 127.0.0.1 — first a canned-response thread (pages,
 * errors, cancel, scheduling), then the project's fake Bedrock endpoint (SigV4 checked over
 * HTTP and HTTPS, ground truth compared field by field). Every wait has a deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "cj-time.h"
#include "sync.h"
#include "test-httpd.h"
#include "test-util.h"

extern char **environ;

#define TEST_KEY_ID "AKIDTESTSYNC0001"
#define TEST_SECRET "sync/test+secret=KEYexample0123456789"

/* ---- helpers ---- */

/* The one source these tests sync: named after its region, as an [aws] source is. */
#define SOURCE_OF(settings)                                                                        \
    (&(struct cj_source_settings){.name = (char *)"us-east-1",                                     \
                                  .region = (settings).aws.region,                                 \
                                  .profile = (settings).aws.profile,                               \
                                  .endpoint = (settings).aws.endpoint})

struct fixture {
    char dir[64];
    sd_event *event;
    struct cj_store *store;
    struct cj_sync *sync;
    unsigned done_calls;
    int last_result;
    struct httpd httpd;
    bool httpd_running;
    char endpoint[256];
};

static void on_done(struct cj_sync *s, int result, void *userdata)
{
    struct fixture *f = userdata;
    f->done_calls++;
    f->last_result = result;
}

static void fixture_init(struct fixture *f)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/cj-test-sync-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(sd_event_new(&f->event), 0);
    struct cj_store_options o = {.directory = f->dir, .max_size = 256ull << 20};
    assert_int_equal(cj_store_open(&o, &f->store), 0);
}

static void fixture_done(struct fixture *f)
{
    cj_sync_free(f->sync);
    cj_store_close(f->store);
    sd_event_unref(f->event);
    if (f->httpd_running)
        httpd_stop(&f->httpd);
    test_rm_tree(f->dir);
}

struct sync_opts {
    const char *endpoint;
    const char *ca_file;
    unsigned page_size;
    unsigned rps;
    uint64_t timeout_usec;
    uint64_t interval_usec;
    bool no_credentials;
};

static void sync_create(struct fixture *f, const struct sync_opts *o)
{
    struct cj_settings settings = {0};
    /* Retries wait up to 10 ms × 2^n instead of 500 ms × 2^n. */
    settings.test.has_retry_base_usec = true;
    settings.test.retry_base_usec = 10 * 1000;
    settings.aws.region = (char *)"us-east-1";
    settings.aws.profile = (char *)"default";
    settings.aws.endpoint = (char *)o->endpoint;
    settings.aws.ca_file = (char *)o->ca_file;
    settings.sync.interval_usec = o->interval_usec ? o->interval_usec : 3600 * CJ_USEC_PER_SEC;
    settings.sync.full_interval_usec = settings.sync.interval_usec;
    settings.sync.page_size = o->page_size ? o->page_size : 1000;
    settings.sync.max_requests_per_second = o->rps ? o->rps : 1000;
    settings.sync.timeout_usec = o->timeout_usec ? o->timeout_usec : 10 * CJ_USEC_PER_SEC;

    struct cj_aws_credentials creds = {
        .access_key_id = (char *)TEST_KEY_ID,
        .secret_access_key = (char *)TEST_SECRET,
    };
    assert_int_equal(cj_sync_new(f->event, f->store, &settings, SOURCE_OF(settings),
                                 o->no_credentials ? NULL : &creds, &f->sync),
                     0);
    assert_int_equal(cj_sync_add_done_callback(f->sync, on_done, f), 0);
}

/* Runs the loop until `want` passes have ended, or the deadline. */
static void run_until_done(struct fixture *f, unsigned want, uint64_t timeout_ms)
{
    uint64_t deadline = test_mono_ms() + timeout_ms;
    while (f->done_calls < want && test_mono_ms() < deadline)
        assert_true(sd_event_run(f->event, 50 * 1000) >= 0);
    assert_int_equal(f->done_calls, want);
}

static int run_pass(struct fixture *f)
{
    unsigned want = f->done_calls + 1;
    assert_int_equal(cj_sync_trigger(f->sync, true), 0);
    /* The pass never ends inside trigger(). */
    assert_int_equal(f->done_calls, want - 1);
    run_until_done(f, want, 60000);
    return f->last_result;
}

static uint64_t store_total(struct fixture *f)
{
    struct cj_store_stats st;
    assert_int_equal(cj_store_stats(f->store, &st), 0);
    return st.total;
}

static bool store_has(struct fixture *f, const char *arn)
{
    struct cj_buf b = {0};
    int r = cj_store_get(f->store, arn, &b);
    cj_buf_free(&b);
    assert_true(r == 0 || r == -ENOENT);
    return r == 0;
}

/* ---- canned responses ---- */

#define ARN(x) "arn:aws:bedrock:us-east-1:123456789012:model-copy-job/aaaaaaaaaa" x
#define JOB(x, t)                                                                                  \
    "{\"jobArn\":\"" ARN(                                                                          \
        x) "\",\"status\":\"Completed\",\"creationTime\":\"" t "\","                               \
           "\"targetModelArn\":\"arn:aws:bedrock:us-east-1:123456789012:custom-model/"             \
           "amazon.titan-text-express-v1:0:8k/abcdefghijkl\",\"targetModelName\":\"copy-" x "\","  \
           "\"sourceAccountId\":\"210987654321\",\"sourceModelArn\":\"arn:aws:bedrock:us-west-2:"  \
           "210987654321:custom-model/amazon.titan-text-express-v1:0:8k/abcdefghijkl\"}"

#define PAGE1                                                                                      \
    "{\"modelCopyJobSummaries\":[" JOB("01", "2024-05-03T00:00:00Z") "," JOB(                      \
        "02", "2024-05-02T00:00:00Z") "],\"nextToken\":\"tok+1/==\"}"
#define PAGE2 "{\"modelCopyJobSummaries\":[" JOB("03", "2024-05-01T00:00:00.5Z") "]}"
#define PAGE_ONLY_1                                                                                \
    "{\"modelCopyJobSummaries\":[" JOB("01", "2024-05-03T00:00:00Z") "],\"nextToken\":null}"

static int canned_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    fixture_init(f);
    assert_int_equal(httpd_start(&f->httpd), 0);
    f->httpd_running = true;
    snprintf(f->endpoint, sizeof(f->endpoint), "http://127.0.0.1:%d", f->httpd.port);
    *state = f;
    return 0;
}

static int canned_teardown(void **state)
{
    struct fixture *f = *state;
    fixture_done(f);
    free(f);
    return 0;
}

static void test_canned_two_pages(void **state)
{
    struct fixture *f = *state;
    httpd_push(&f->httpd, (struct httpd_response){.status = 200, .body = PAGE1});
    httpd_push(&f->httpd, (struct httpd_response){.status = 200, .body = PAGE2});
    sync_create(f, &(struct sync_opts){.endpoint = f->endpoint, .page_size = 2});

    struct cj_sync_status st;
    cj_sync_get_status(f->sync, &st);
    assert_false(st.running);
    assert_int_equal(st.last_success_ns, 0);

    int64_t before = cj_now_ns();
    assert_int_equal(cj_sync_trigger(f->sync, true), 0);
    cj_sync_get_status(f->sync, &st);
    assert_true(st.running);
    assert_true(st.running_full);
    run_until_done(f, 1, 30000);
    assert_int_equal(f->last_result, 0);

    cj_sync_get_status(f->sync, &st);
    assert_false(st.running);
    assert_int_equal(st.passes_ok, 1);
    assert_int_equal(st.passes_failed, 0);
    assert_int_equal(st.api_calls, 2);
    assert_int_equal(st.last_result, 0);
    assert_string_equal(st.last_error_type, "");
    assert_true(st.last_success_ns >= before);
    assert_true(st.last_attempt_ns >= before);
    assert_int_equal(st.last_changes.created, 3);
    assert_int_equal(st.last_changes.removed, 0);

    assert_int_equal(store_total(f), 3);
    assert_true(store_has(f, ARN("01")));
    assert_true(store_has(f, ARN("02")));
    assert_true(store_has(f, ARN("03")));

    struct cj_buf b = {0};
    assert_int_equal(cj_store_get(f->store, ARN("03"), &b), 0);
    assert_non_null(strstr(b.data, "\"creationTime\":\"2024-05-01T00:00:00.5Z\""));
    cj_buf_free(&b);

    struct cj_store_stats ss;
    assert_int_equal(cj_store_stats(f->store, &ss), 0);
    assert_int_equal(ss.synced_at_ns, st.last_success_ns);

    /* The second request carried the token, canonically encoded, and was signed. */
    char req[HTTPD_REQUEST_MAX];
    httpd_snapshot(&f->httpd, NULL, NULL, req, sizeof(req));
    assert_non_null(strstr(req, "GET /model-copy-jobs?maxResults=2&nextToken=tok%2B1%2F%3D%3D&"
                                "sortBy=CreationTime&sortOrder=Ascending HTTP/1.1\r\n"));
    assert_non_null(strstr(req, "\r\nAuthorization: AWS4-HMAC-SHA256 Credential=" TEST_KEY_ID "/"));
    assert_non_null(
        strstr(req, "/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, "));
    assert_non_null(strstr(req, "\r\nX-Amz-Date: "));
    assert_null(strstr(req, TEST_SECRET));

    /* A new sync on the same store knows when the last success was. */
    cj_sync_free(f->sync);
    f->sync = NULL;
    sync_create(f, &(struct sync_opts){.endpoint = f->endpoint});
    cj_sync_get_status(f->sync, &st);
    assert_int_equal(st.last_success_ns, ss.synced_at_ns);
}

static void test_canned_malformed(void **state)
{
    struct fixture *f = *state;
    /* Malformed bodies are retried: 3 attempts per request. */
    for (int i = 0; i < 3; i++)
        httpd_push(&f->httpd, (struct httpd_response){.status = 200, .body = "<html>oops</html>"});
    for (int i = 0; i < 3; i++)
        httpd_push(&f->httpd, (struct httpd_response){.status = 200, .body = "{\"nextToken\":5}"});
    sync_create(f, &(struct sync_opts){.endpoint = f->endpoint});

    assert_int_equal(run_pass(f), -EBADMSG);
    struct cj_sync_status st;
    cj_sync_get_status(f->sync, &st);
    assert_string_equal(st.last_error_type, "MalformedResponse");
    assert_true(strlen(st.last_error_message) > 0);
    assert_int_equal(st.passes_failed, 1);
    assert_int_equal(st.last_success_ns, 0);
    assert_int_equal(st.api_calls, 3);
    assert_int_equal(st.retries, 2);

    assert_int_equal(run_pass(f), -EBADMSG);
    assert_int_equal(store_total(f), 0);
}

static void test_canned_failure_keeps_then_removes(void **state)
{
    struct fixture *f = *state;
    sync_create(f, &(struct sync_opts){.endpoint = f->endpoint});

    httpd_push(&f->httpd, (struct httpd_response){.status = 200, .body = PAGE1});
    httpd_push(&f->httpd, (struct httpd_response){.status = 200, .body = PAGE2});
    assert_int_equal(run_pass(f), 0);
    assert_int_equal(store_total(f), 3);

    /* The service now lists only job 01, but the pass breaks after page 1: nothing goes. */
    httpd_push(&f->httpd,
               (struct httpd_response){.status = 200,
                                       .body = "{\"modelCopyJobSummaries\":[" JOB(
                                           "01", "2024-05-03T00:00:00Z") "],\"nextToken\":\"t\"}"});
    for (int i = 0; i < 3; i++) /* every attempt */
        httpd_push(&f->httpd,
                   (struct httpd_response){
                       .status = 500,
                       .headers = "x-amzn-ErrorType: InternalServerException\r\n"
                                  "x-amzn-RequestId: 11111111-2222-3333-4444-555555555555\r\n",
                       .body = "{\"message\":\"try again\"}",
                   });
    assert_int_equal(run_pass(f), -EIO);
    struct cj_sync_status st;
    cj_sync_get_status(f->sync, &st);
    assert_string_equal(st.last_error_type, "InternalServerException");
    assert_non_null(strstr(st.last_error_message, "try again"));
    assert_non_null(strstr(st.last_error_message, "11111111-2222-3333-4444-555555555555"));
    assert_int_equal(st.passes_ok, 1);
    assert_int_equal(st.passes_failed, 1);
    assert_int_equal(store_total(f), 3);

    /* A complete pass that does not list 02 and 03 notes them missed; the next complete
     * one that does not list them either removes them. */
    httpd_push(&f->httpd, (struct httpd_response){.status = 200, .body = PAGE_ONLY_1});
    assert_int_equal(run_pass(f), 0);
    cj_sync_get_status(f->sync, &st);
    assert_int_equal(st.last_changes.removed, 0);
    assert_int_equal(store_total(f), 3);
    httpd_push(&f->httpd, (struct httpd_response){.status = 200, .body = PAGE_ONLY_1});
    assert_int_equal(run_pass(f), 0);
    cj_sync_get_status(f->sync, &st);
    assert_int_equal(st.last_changes.removed, 2);
    assert_int_equal(st.removal_held, 0);
    assert_int_equal(st.last_changes.created, 0);
    assert_int_equal(store_total(f), 1);
    assert_true(store_has(f, ARN("01")));
    assert_false(store_has(f, ARN("02")));
    assert_false(store_has(f, ARN("03")));
}

static void test_canned_aws_error(void **state)
{
    struct fixture *f = *state;
    httpd_push(
        &f->httpd,
        (struct httpd_response){
            .status = 403,
            .headers = "x-amzn-ErrorType: UnrecognizedClientException:http://internal/\r\n"
                       "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n",
            .body = "{\"message\":\"The security token included in the request is invalid.\"}",
        });
    for (int i = 0; i < 3; i++) /* throttling is retried: every attempt */
        httpd_push(&f->httpd, (struct httpd_response){.status = 429,
                                                      .body = "{\"__type\":"
                                                              "\"aws#ThrottlingException\","
                                                              "\"message\":\"slow down\"}"});
    sync_create(f, &(struct sync_opts){.endpoint = f->endpoint});

    assert_int_equal(run_pass(f), -EACCES);
    struct cj_sync_status st;
    cj_sync_get_status(f->sync, &st);
    assert_string_equal(st.last_error_type, "UnrecognizedClientException");
    assert_non_null(strstr(st.last_error_message, "security token included"));
    assert_null(strstr(st.last_error_message, TEST_SECRET));
    assert_null(strstr(st.last_error_message, "Authorization"));
    assert_non_null(strstr(st.last_error_message, "clock is"));
    assert_non_null(strstr(st.last_error_message, "behind ours"));

    /* Not retried: one request. */
    assert_int_equal(st.api_calls, 1);

    assert_int_equal(run_pass(f), -EAGAIN);
    cj_sync_get_status(f->sync, &st);
    assert_string_equal(st.last_error_type, "ThrottlingException");
    assert_int_equal(st.api_calls, 4);
    assert_int_equal(st.retries, 2);
}

static void test_canned_repeated_token(void **state)
{
    struct fixture *f = *state;
    const char *page =
        "{\"modelCopyJobSummaries\":[" JOB("01", "2024-05-03T00:00:00Z") "],"
                                                                         "\"nextToken\":\"again\"}";
    for (int i = 0; i < 3; i++)
        httpd_push(&f->httpd, (struct httpd_response){.status = 200, .body = page});
    sync_create(f, &(struct sync_opts){.endpoint = f->endpoint});

    assert_int_equal(run_pass(f), -ELOOP);
    struct cj_sync_status st;
    cj_sync_get_status(f->sync, &st);
    assert_string_equal(st.last_error_type, "PaginationLoop");
    assert_int_equal(st.api_calls, 2);
    assert_int_equal(store_total(f), 1); /* the page itself was fine */
}

/* Until the server has read at least `want` requests: a full pass sends its next one in the
 * same turn of the loop as it takes an answer, so the server may have read one more. */
static void wait_for_requests(struct fixture *f, unsigned want)
{
    unsigned requests = 0;
    uint64_t deadline = test_mono_ms() + 10000;
    while (requests < want && test_mono_ms() < deadline) {
        assert_true(sd_event_run(f->event, 20 * 1000) >= 0);
        httpd_snapshot(&f->httpd, NULL, &requests, NULL, 0);
    }
    assert_true(requests >= want);
}

static void test_canned_cancel(void **state)
{
    struct fixture *f = *state;
    httpd_push(&f->httpd, (struct httpd_response){.status = 200, .body = PAGE1});
    httpd_push(&f->httpd, (struct httpd_response){.action = HTTPD_HANG});
    sync_create(f, &(struct sync_opts){.endpoint = f->endpoint});

    cj_sync_cancel(f->sync); /* nothing running: no-op */
    assert_int_equal(f->done_calls, 0);

    assert_int_equal(cj_sync_trigger(f->sync, true), 0);
    wait_for_requests(f, 2);
    cj_sync_cancel(f->sync);
    assert_int_equal(f->done_calls, 1);
    assert_int_equal(f->last_result, -ECANCELED);

    struct cj_sync_status st;
    cj_sync_get_status(f->sync, &st);
    assert_false(st.running);
    assert_string_equal(st.last_error_type, "Cancelled");
    assert_int_equal(st.last_success_ns, 0);
    assert_int_equal(store_total(f), 2); /* page 1 stays */

    for (int i = 0; i < 5; i++)
        assert_true(sd_event_run(f->event, 20 * 1000) >= 0);
    assert_int_equal(f->done_calls, 1);
}

/* A full pass asks for its next page before it stores the one at hand; when that store fails,
 * the pass ends with the store's error and the request already sent is abandoned. */
static void test_canned_next_page_asked_before_storing(void **state)
{
    struct fixture *f = *state;
    httpd_push(&f->httpd, (struct httpd_response){.status = 200, .body = PAGE1});
    httpd_push(&f->httpd, (struct httpd_response){.action = HTTPD_HANG});
    cj_store_close(f->store);
    struct cj_store_options o = {.directory = f->dir, .max_size = 256ull << 20, .read_only = true};
    assert_int_equal(cj_store_open(&o, &f->store), 0);
    /* A rate cap that never holds the request back: the canned answer takes under 1 ms. */
    sync_create(f, &(struct sync_opts){.endpoint = f->endpoint, .page_size = 2, .rps = 1000000});

    assert_int_equal(run_pass(f), -EROFS);
    struct cj_sync_status st;
    cj_sync_get_status(f->sync, &st);
    assert_string_equal(st.last_error_type, "StoreError");
    assert_non_null(strstr(st.last_error_message, "cannot store page 1"));
    assert_int_equal(st.api_calls, 2);
    /* The second request, for page 2, went out before page 1 was stored. */
    wait_for_requests(f, 2);
    char req[HTTPD_REQUEST_MAX];
    httpd_snapshot(&f->httpd, NULL, NULL, req, sizeof(req));
    assert_non_null(strstr(req, "&nextToken=tok%2B1%2F%3D%3D&"));
    assert_int_equal(store_total(f), 0);

    /* Abandoned: its answer never comes back into an ended pass. */
    for (int i = 0; i < 5; i++)
        assert_true(sd_event_run(f->event, 20 * 1000) >= 0);
    assert_int_equal(f->done_calls, 1);
    cj_sync_get_status(f->sync, &st);
    assert_false(st.running);
}

static void test_canned_free_mid_pass(void **state)
{
    struct fixture *f = *state;
    httpd_push(&f->httpd, (struct httpd_response){.action = HTTPD_HANG});
    sync_create(f, &(struct sync_opts){.endpoint = f->endpoint});
    assert_int_equal(cj_sync_trigger(f->sync, true), 0);
    wait_for_requests(f, 1);
    cj_sync_free(f->sync); /* ASan checks that everything goes */
    f->sync = NULL;
    assert_int_equal(f->done_calls, 0);

    /* The store is free for another pass. */
    struct cj_store_pass *p;
    assert_int_equal(cj_store_pass_begin(f->store, "us-east-1", &p), 0);
    cj_store_pass_free(p);
}

static void test_canned_timeout(void **state)
{
    struct fixture *f = *state;
    httpd_push(&f->httpd, (struct httpd_response){.action = HTTPD_HANG});
    sync_create(f, &(struct sync_opts){.endpoint = f->endpoint, .timeout_usec = 300 * 1000});
    assert_int_equal(run_pass(f), -ETIMEDOUT);
    struct cj_sync_status st;
    cj_sync_get_status(f->sync, &st);
    assert_string_equal(st.last_error_type, "Timeout");
    assert_true(strlen(st.last_error_message) > 0);
}

static void test_canned_network_error(void **state)
{
    struct fixture *f = *state;
    sync_create(f, &(struct sync_opts){.endpoint = "http://127.0.0.1:1"});
    assert_int_equal(run_pass(f), -ECONNREFUSED);
    struct cj_sync_status st;
    cj_sync_get_status(f->sync, &st);
    assert_string_equal(st.last_error_type, "NetworkError");
}

static void test_canned_missing_credentials(void **state)
{
    struct fixture *f = *state;
    sync_create(f, &(struct sync_opts){.endpoint = f->endpoint, .no_credentials = true});
    assert_int_equal(run_pass(f), -ENOKEY);
    struct cj_sync_status st;
    cj_sync_get_status(f->sync, &st);
    assert_string_equal(st.last_error_type, "MissingCredentials");
    assert_int_equal(st.api_calls, 0);

    /* Each pass looks for them again: here they appear in the environment. */
    setenv("AWS_ACCESS_KEY_ID", "AKIDAPPEARED000001", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "appeared/secret+KEY0123456789", 1);
    httpd_push(&f->httpd, (struct httpd_response){.status = 200, .body = PAGE_ONLY_1});
    int r = run_pass(f);
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    assert_int_equal(r, 0);
    char seen[HTTPD_REQUEST_MAX];
    httpd_snapshot(&f->httpd, NULL, NULL, seen, sizeof(seen));
    assert_non_null(strstr(seen, "Credential=AKIDAPPEARED000001/"));

    /* Reconfigure supplies them for the next pass. */
    struct cj_settings settings = {0};
    /* Retries wait up to 10 ms × 2^n instead of 500 ms × 2^n. */
    settings.test.has_retry_base_usec = true;
    settings.test.retry_base_usec = 10 * 1000;
    settings.aws.region = (char *)"us-east-1";
    settings.aws.endpoint = f->endpoint;
    settings.sync.interval_usec = 3600 * CJ_USEC_PER_SEC;
    settings.sync.page_size = 1000;
    settings.sync.max_requests_per_second = 1000;
    settings.sync.timeout_usec = 10 * CJ_USEC_PER_SEC;
    struct cj_aws_credentials creds = {.access_key_id = (char *)TEST_KEY_ID,
                                       .secret_access_key = (char *)TEST_SECRET,
                                       .session_token = (char *)"session-token-value"};
    assert_int_equal(cj_sync_reconfigure(f->sync, &settings, SOURCE_OF(settings), &creds), 0);
    httpd_push(&f->httpd, (struct httpd_response){.status = 200, .body = PAGE_ONLY_1});
    assert_int_equal(run_pass(f), 0);
    char req[HTTPD_REQUEST_MAX];
    httpd_snapshot(&f->httpd, NULL, NULL, req, sizeof(req));
    assert_non_null(strstr(req, "\r\nX-Amz-Security-Token: session-token-value\r\n"));
    assert_non_null(strstr(req, "SignedHeaders=host;x-amz-date;x-amz-security-token,"));
}

static void test_canned_trigger_joins(void **state)
{
    struct fixture *f = *state;
    httpd_push(&f->httpd, (struct httpd_response){.status = 200, .body = PAGE1});
    httpd_push(&f->httpd, (struct httpd_response){.status = 200, .body = PAGE2});
    sync_create(f, &(struct sync_opts){.endpoint = f->endpoint});

    assert_int_equal(cj_sync_trigger(f->sync, true), 0);
    wait_for_requests(f, 1);
    assert_int_equal(cj_sync_trigger(f->sync, false), 0);
    assert_int_equal(cj_sync_trigger(f->sync, true), 0);
    run_until_done(f, 1, 30000);
    assert_int_equal(f->last_result, 0);

    /* No second pass follows the joined triggers. */
    for (int i = 0; i < 10; i++)
        assert_true(sd_event_run(f->event, 20 * 1000) >= 0);
    assert_int_equal(f->done_calls, 1);
    unsigned requests;
    httpd_snapshot(&f->httpd, NULL, &requests, NULL, 0);
    assert_int_equal(requests, 2);
}

static void test_canned_reconfigure_mid_pass(void **state)
{
    struct fixture *f = *state;
    httpd_push(&f->httpd, (struct httpd_response){.status = 200, .body = PAGE1});
    httpd_push(&f->httpd, (struct httpd_response){.status = 200, .body = PAGE2});
    httpd_push(&f->httpd, (struct httpd_response){.status = 200, .body = PAGE_ONLY_1});
    sync_create(f, &(struct sync_opts){.endpoint = f->endpoint, .page_size = 2});

    assert_int_equal(cj_sync_trigger(f->sync, true), 0);
    wait_for_requests(f, 1);
    /* Each turn of the loop takes one answer at most: page 2's is not in yet. */
    struct cj_sync_status st;
    cj_sync_get_status(f->sync, &st);
    assert_true(st.running);
    struct cj_settings settings = {0};
    /* Retries wait up to 10 ms × 2^n instead of 500 ms × 2^n. */
    settings.test.has_retry_base_usec = true;
    settings.test.retry_base_usec = 10 * 1000;
    settings.aws.region = (char *)"us-east-1";
    settings.aws.endpoint = f->endpoint;
    settings.sync.interval_usec = 3600 * CJ_USEC_PER_SEC;
    settings.sync.page_size = 7;
    settings.sync.max_requests_per_second = 1000;
    settings.sync.timeout_usec = 10 * CJ_USEC_PER_SEC;
    struct cj_aws_credentials creds = {.access_key_id = (char *)"AKIDOTHER0001",
                                       .secret_access_key = (char *)"other"};
    assert_int_equal(cj_sync_reconfigure(f->sync, &settings, SOURCE_OF(settings), &creds), 0);

    /* The pass in flight finishes with the old settings... */
    run_until_done(f, 1, 30000);
    assert_int_equal(f->last_result, 0);
    char req[HTTPD_REQUEST_MAX];
    httpd_snapshot(&f->httpd, NULL, NULL, req, sizeof(req));
    assert_non_null(strstr(req, "GET /model-copy-jobs?maxResults=2&nextToken="));
    assert_non_null(strstr(req, "Credential=" TEST_KEY_ID "/"));

    /* ...the next one uses the new. */
    assert_int_equal(run_pass(f), 0);
    httpd_snapshot(&f->httpd, NULL, NULL, req, sizeof(req));
    assert_non_null(strstr(req, "GET /model-copy-jobs?maxResults=7&sortBy="));
    assert_non_null(strstr(req, "Credential=AKIDOTHER0001/"));

    /* Bad settings are refused and change nothing. */
    settings.sync.page_size = 0;
    assert_int_equal(cj_sync_reconfigure(f->sync, &settings, SOURCE_OF(settings), &creds), -EINVAL);
    settings.sync.page_size = 7;
    settings.aws.endpoint = (char *)"gopher://127.0.0.1/";
    assert_int_equal(cj_sync_reconfigure(f->sync, &settings, SOURCE_OF(settings), &creds), -EINVAL);
    settings.aws.endpoint = f->endpoint;
    settings.aws.region = NULL;
    assert_int_equal(cj_sync_reconfigure(f->sync, &settings, SOURCE_OF(settings), &creds), -EINVAL);
}

static void test_canned_schedule_and_rate(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 2; i++) {
        httpd_push(&f->httpd, (struct httpd_response){.status = 200, .body = PAGE1});
        httpd_push(&f->httpd, (struct httpd_response){.status = 200, .body = PAGE2});
    }
    /* 5 requests/s: the second page waits 200 ms after the first. */
    sync_create(
        f, &(struct sync_opts){.endpoint = f->endpoint, .rps = 5, .interval_usec = 100 * 1000});
    assert_int_equal(cj_sync_start_schedule(f->sync), 0);
    run_until_done(f, 1, 30000);
    assert_int_equal(f->last_result, 0);
    struct cj_sync_status st;
    cj_sync_get_status(f->sync, &st);
    assert_true(st.last_duration_ns >= 150 * 1000 * 1000);

    /* The schedule starts the next pass on its own. */
    run_until_done(f, 2, 30000);
    assert_int_equal(f->last_result, 0);
    cj_sync_get_status(f->sync, &st);
    assert_int_equal(st.passes_ok, 2);
    assert_int_equal(st.api_calls, 4);
    assert_int_equal(st.last_changes.created, 0);
    assert_int_equal(st.last_changes.unchanged, 3);
}

/* ---- quick syncs, retries, clock skew, expired tokens ---- */

#define JOBS(x, t, st)                                                                             \
    "{\"jobArn\":\"" ARN(x) "\",\"status\":\"" st "\",\"creationTime\":\"" t "\","                 \
                            "\"targetModelArn\":\"arn:aws:bedrock:us-east-1:123456789012:custom-"  \
                            "model/amazon.titan-text-express-v1:0:8k/abcdefghijkl\","              \
                            "\"sourceAccountId\":\"210987654321\",\"sourceModelArn\":\"arn:aws:"   \
                            "bedrock:us-west-2:210987654321:custom-model/"                         \
                            "amazon.titan-text-express-v1:0:8k/abcdefghijkl\"}"
#define SUMMARIES(...) "{\"modelCopyJobSummaries\":[" __VA_ARGS__ "]}"
#define NOT_FOUND                                                                                  \
    (struct httpd_response)                                                                        \
    {                                                                                              \
        .status = 404, .headers = "x-amzn-ErrorType: ResourceNotFoundException\r\n",               \
        .body = "{\"message\":\"no such job\"}"                                                    \
    }

/* Runs the loop until the server has read `n` requests and returns the last one's line. */
static void request_line(struct fixture *f, unsigned n, char *line, size_t size)
{
    char req[HTTPD_REQUEST_MAX];
    wait_for_requests(f, n);
    httpd_snapshot(&f->httpd, NULL, NULL, req, sizeof(req));
    char *eol = strstr(req, "\r\n");
    assert_non_null(eol);
    *eol = '\0';
    size_t len = strlen(req);
    assert_true(len < size);
    memcpy(line, req, len + 1);
}

static int run_quick(struct fixture *f)
{
    unsigned want = f->done_calls + 1;
    assert_int_equal(cj_sync_trigger(f->sync, false), 0);
    run_until_done(f, want, 60000);
    return f->last_result;
}

static void test_canned_quick(void **state)
{
    struct fixture *f = *state;
    char line[2048];
    sync_create(f, &(struct sync_opts){.endpoint = f->endpoint});

    /* Before any full pass succeeded, a quick trigger runs a full pass. */
    httpd_push(&f->httpd,
               (struct httpd_response){
                   .status = 200,
                   .body = SUMMARIES(JOBS("0a", "2024-05-03T00:00:00Z", "InProgress") "," JOBS(
                       "0b", "2024-05-02T00:00:00Z",
                       "InProgress") "," JOBS("0c", "2024-05-01T00:00:00Z", "Completed"))});
    assert_int_equal(run_quick(f), 0);
    struct cj_sync_status st;
    cj_sync_get_status(f->sync, &st);
    assert_int_equal(st.last_kind, CJ_SYNC_FULL);
    assert_int_equal(store_total(f), 3);

    /* Quick: new jobs since the newest minus 1 s, then the running ones, then a Get of
     * each stored InProgress job not listed as running. */
    httpd_push(&f->httpd,
               (struct httpd_response){
                   .status = 200,
                   .body = SUMMARIES(JOBS("0d", "2024-05-04T00:00:00Z", "Completed") "," JOBS(
                       "0a", "2024-05-03T00:00:00Z", "InProgress"))});
    httpd_push(&f->httpd, (struct httpd_response){
                              .status = 200,
                              .body = SUMMARIES(JOBS("0a", "2024-05-03T00:00:00Z", "InProgress"))});
    httpd_push(&f->httpd, NOT_FOUND);
    assert_int_equal(cj_sync_trigger(f->sync, false), 0);
    cj_sync_get_status(f->sync, &st);
    assert_true(st.running);
    assert_false(st.running_full);
    assert_int_equal(st.running_kind, CJ_SYNC_QUICK);
    request_line(f, 2, line, sizeof(line));
    assert_string_equal(line, "GET /model-copy-jobs?creationTimeAfter=2024-05-02T23%3A59%3A59Z&"
                              "maxResults=1000&sortBy=CreationTime&sortOrder=Descending HTTP/1.1");
    request_line(f, 3, line, sizeof(line));
    assert_string_equal(line, "GET /model-copy-jobs?maxResults=1000&sortBy=CreationTime&"
                              "sortOrder=Descending&statusEquals=InProgress HTTP/1.1");
    request_line(f, 4, line, sizeof(line));
    assert_string_equal(line, "GET /model-copy-jobs/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%"
                              "3Amodel-copy-job%2Faaaaaaaaaa0b HTTP/1.1");
    run_until_done(f, 2, 30000);
    assert_int_equal(f->last_result, 0);
    cj_sync_get_status(f->sync, &st);
    assert_int_equal(st.last_kind, CJ_SYNC_QUICK);
    assert_int_equal(st.api_calls, 4);
    assert_int_equal(st.last_changes.created, 1);
    assert_int_equal(st.last_changes.removed, 1);
    assert_false(store_has(f, ARN("0b")));
    assert_true(store_has(f, ARN("0d")));
    assert_int_equal(store_total(f), 3);

    /* Quick again: 0a finished; its final state comes from GetModelCopyJob. */
    httpd_push(&f->httpd, (struct httpd_response){
                              .status = 200,
                              .body = SUMMARIES(JOBS("0d", "2024-05-04T00:00:00Z", "Completed"))});
    httpd_push(&f->httpd, (struct httpd_response){.status = 200, .body = SUMMARIES()});
    httpd_push(&f->httpd, (struct httpd_response){
                              .status = 200, .body = JOBS("0a", "2024-05-03T00:00:00Z", "Failed")});
    assert_int_equal(cj_sync_trigger(f->sync, false), 0);
    request_line(f, 5, line, sizeof(line));
    assert_non_null(strstr(line, "creationTimeAfter=2024-05-03T23%3A59%3A59Z&"));
    run_until_done(f, 3, 30000);
    assert_int_equal(f->last_result, 0);
    cj_sync_get_status(f->sync, &st);
    assert_int_equal(st.api_calls, 7);
    assert_int_equal(st.last_changes.updated, 1);
    assert_int_equal(st.last_changes.removed, 0);
    struct cj_buf b = {0};
    assert_int_equal(cj_store_get(f->store, ARN("0a"), &b), 0);
    assert_non_null(strstr(b.data, "\"status\":\"Failed\""));
    cj_buf_free(&b);

    /* Nothing changed, nothing running: one request. */
    httpd_push(&f->httpd, (struct httpd_response){
                              .status = 200,
                              .body = SUMMARIES(JOBS("0d", "2024-05-04T00:00:00Z", "Completed"))});
    httpd_push(&f->httpd, (struct httpd_response){.status = 200, .body = SUMMARIES()});
    assert_int_equal(run_quick(f), 0);
    cj_sync_get_status(f->sync, &st);
    assert_int_equal(st.api_calls, 9);
    assert_int_equal(store_total(f), 3);

    struct cj_sync_metrics m;
    cj_sync_get_metrics(f->sync, &m);
    assert_int_equal(m.passes[CJ_SYNC_FULL][0], 1);
    assert_int_equal(m.passes[CJ_SYNC_QUICK][0], 3);
    assert_int_equal(m.api_calls[CJ_API_LIST_MODEL_COPY_JOBS], 7);
    assert_int_equal(m.api_calls[CJ_API_GET_MODEL_COPY_JOB], 2);
}

static void test_canned_quick_failure_removes_nothing(void **state)
{
    struct fixture *f = *state;
    sync_create(f, &(struct sync_opts){.endpoint = f->endpoint});
    httpd_push(&f->httpd,
               (struct httpd_response){
                   .status = 200,
                   .body = SUMMARIES(JOBS("0a", "2024-05-03T00:00:00Z", "InProgress") "," JOBS(
                       "0b", "2024-05-02T00:00:00Z", "Completed"))});
    assert_int_equal(run_pass(f), 0);

    /* The running list fails for good: 0a is not fetched, nothing is removed. */
    httpd_push(&f->httpd, (struct httpd_response){.status = 200, .body = SUMMARIES()});
    for (int i = 0; i < 3; i++)
        httpd_push(&f->httpd, (struct httpd_response){
                                  .status = 503,
                                  .headers = "x-amzn-ErrorType: ServiceUnavailableException\r\n",
                                  .body = "{\"message\":\"down\"}"});
    assert_int_equal(run_quick(f), -EAGAIN);
    struct cj_sync_status st;
    cj_sync_get_status(f->sync, &st);
    assert_string_equal(st.last_error_type, "ServiceUnavailableException");
    assert_int_equal(st.api_calls, 5);
    assert_int_equal(st.consecutive_failures, 1);
    assert_int_equal(store_total(f), 2);

    struct cj_sync_metrics m;
    cj_sync_get_metrics(f->sync, &m);
    assert_int_equal(m.passes[CJ_SYNC_QUICK][1], 1);
    assert_int_equal(m.retries, 2);
    assert_int_equal(m.n_errors, 1);
    assert_string_equal(m.errors[0].type, "ServiceUnavailableException");
    assert_int_equal(m.errors[0].count, 3);
}

static void test_canned_retry_then_success(void **state)
{
    struct fixture *f = *state;
    httpd_push(&f->httpd,
               (struct httpd_response){.status = 429,
                                       .headers = "x-amzn-ErrorType: ThrottlingException\r\n",
                                       .body = "{\"message\":\"Rate exceeded\"}"});
    httpd_push(&f->httpd,
               (struct httpd_response){.status = 502, .body = "<html>Bad Gateway</html>"});
    httpd_push(&f->httpd, (struct httpd_response){.status = 200, .body = PAGE_ONLY_1});
    sync_create(f, &(struct sync_opts){.endpoint = f->endpoint});
    assert_int_equal(run_pass(f), 0);
    struct cj_sync_status st;
    cj_sync_get_status(f->sync, &st);
    assert_int_equal(st.api_calls, 3);
    assert_int_equal(st.retries, 2);
    assert_int_equal(store_total(f), 1);
    struct cj_sync_metrics m;
    cj_sync_get_metrics(f->sync, &m);
    assert_int_equal(m.n_errors, 2);
    assert_string_equal(m.errors[0].type, "ThrottlingException");
    assert_string_equal(m.errors[1].type, "HttpError502");
}

static void http_date(int64_t offset_sec, char *buf, size_t size)
{
    time_t t = time(NULL) + offset_sec;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static void test_canned_clock_skew(void **state)
{
    struct fixture *f = *state;
    char date[64], headers[256], req[HTTPD_REQUEST_MAX];
    http_date(3600, date, sizeof(date));
    snprintf(headers, sizeof(headers),
             "x-amzn-ErrorType: InvalidSignatureException\r\nDate: %s\r\n", date);
    struct httpd_response skewed = {
        .status = 403,
        .headers = headers,
        .body = "{\"message\":\"Signature expired: 20240101T000000Z is now earlier than "
                "20240101T010000Z (20240101T011500Z - 5 min.)\"}",
    };
    httpd_push(&f->httpd, skewed);
    httpd_push(&f->httpd, (struct httpd_response){.status = 200, .body = PAGE_ONLY_1});
    sync_create(f, &(struct sync_opts){.endpoint = f->endpoint});
    assert_int_equal(run_pass(f), 0);
    struct cj_sync_status st;
    cj_sync_get_status(f->sync, &st);
    assert_int_equal(st.api_calls, 2);
    assert_int_equal(st.retries, 1);
    assert_true(st.clock_offset_sec >= 3598 && st.clock_offset_sec <= 3602);

    /* The retry was signed an hour ahead of our clock. */
    httpd_snapshot(&f->httpd, NULL, NULL, req, sizeof(req));
    char want[32];
    time_t ahead = time(NULL) + 3600;
    struct tm tm;
    gmtime_r(&ahead, &tm);
    strftime(want, sizeof(want), "X-Amz-Date: %Y%m%dT%H", &tm);
    assert_non_null(strstr(req, want));

    /* Skewed twice in a row: one retry only, then the pass fails with the service's type. */
    httpd_push(&f->httpd, skewed);
    httpd_push(&f->httpd, skewed);
    assert_int_equal(run_pass(f), -EACCES);
    cj_sync_get_status(f->sync, &st);
    assert_string_equal(st.last_error_type, "InvalidSignatureException");
    assert_int_equal(st.api_calls, 4);
}

static void test_canned_expired_token(void **state)
{
    struct fixture *f = *state;
    httpd_push(&f->httpd, (struct httpd_response){
                              .status = 403,
                              .headers = "x-amzn-ErrorType: ExpiredTokenException\r\n",
                              .body = "{\"message\":\"The security token included in the request "
                                      "is expired\"}"});
    sync_create(f, &(struct sync_opts){.endpoint = f->endpoint});
    assert_int_equal(run_pass(f), -EACCES);
    struct cj_sync_status st;
    cj_sync_get_status(f->sync, &st);
    assert_string_equal(st.last_error_type, "ExpiredTokenException");
    assert_int_equal(st.api_calls, 1); /* not retried */

    /* The next pass reloads the credentials first (here: from the environment). */
    setenv("AWS_ACCESS_KEY_ID", "AKIDRELOADED00001", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "reloaded/secret+KEY0123456789", 1);
    httpd_push(&f->httpd, (struct httpd_response){.status = 200, .body = PAGE_ONLY_1});
    int r = run_pass(f);
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    assert_int_equal(r, 0);
    char req[HTTPD_REQUEST_MAX];
    httpd_snapshot(&f->httpd, NULL, NULL, req, sizeof(req));
    assert_non_null(strstr(req, "Credential=AKIDRELOADED00001/"));
    assert_null(strstr(req, "reloaded/secret"));
}

static void test_canned_full_after_quick(void **state)
{
    struct fixture *f = *state;
    sync_create(f, &(struct sync_opts){.endpoint = f->endpoint});
    httpd_push(&f->httpd, (struct httpd_response){.status = 200, .body = PAGE_ONLY_1});
    assert_int_equal(run_pass(f), 0);

    /* A full request while a quick sync runs: the full pass follows it. */
    httpd_push(&f->httpd, (struct httpd_response){.status = 200, .body = PAGE_ONLY_1});
    httpd_push(&f->httpd, (struct httpd_response){.status = 200, .body = SUMMARIES()});
    httpd_push(&f->httpd, (struct httpd_response){.status = 200, .body = PAGE_ONLY_1});
    assert_int_equal(cj_sync_trigger(f->sync, false), 0);
    assert_int_equal(cj_sync_trigger(f->sync, true), 0);
    run_until_done(f, 2, 30000);
    struct cj_sync_status st;
    cj_sync_get_status(f->sync, &st);
    assert_true(st.running);
    assert_true(st.running_full);
    assert_int_equal(st.last_kind, CJ_SYNC_QUICK);
    run_until_done(f, 3, 30000);
    cj_sync_get_status(f->sync, &st);
    assert_int_equal(st.last_kind, CJ_SYNC_FULL);
    assert_int_equal(st.api_calls, 4);
}

/* ---- the fake Bedrock endpoint ---- */

struct fake {
    pid_t pid;
    char http[128], https[128], admin[160], ca_file[512];
};

static struct fake fake;
static bool fake_available;
static char fake_skip_reason[256];

static bool file_exists(const char *p)
{
    return access(p, F_OK) == 0;
}

static bool node_in_path(char *out, size_t outlen)
{
    const char *path = getenv("PATH");
    if (!path)
        return false;
    char *copy = strdup(path), *save = NULL;
    bool found = false;
    for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        snprintf(out, outlen, "%s/node", d);
        found = access(out, X_OK) == 0;
    }
    free(copy);
    return found;
}

static bool fake_read_ready_line(int fd, char *line, size_t size)
{
    size_t len = 0;
    uint64_t deadline = test_mono_ms() + 30000;
    while (len + 1 < size && test_mono_ms() < deadline) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0)
            continue;
        ssize_t n = read(fd, line + len, 1);
        if (n <= 0)
            return false;
        if (line[len] == '\n') {
            line[len] = '\0';
            return true;
        }
        len++;
    }
    return false;
}

static void fake_stop(void)
{
    if (fake.pid <= 0)
        return;
    kill(fake.pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(fake.pid, NULL, WNOHANG) == fake.pid) {
            fake.pid = 0;
            return;
        }
        usleep(50 * 1000);
    }
    kill(fake.pid, SIGKILL);
    waitpid(fake.pid, NULL, 0);
    fake.pid = 0;
}

static int fake_group_setup(void **state)
{
    const char *dir = CJ_TEST_DATA "/../fake-bedrock";
    char server[512], modules[512], node[512];
    snprintf(server, sizeof(server), "%s/server.mjs", dir);
    snprintf(modules, sizeof(modules), "%s/node_modules/@smithy/signature-v4", dir);
    if (!node_in_path(node, sizeof(node))) {
        snprintf(fake_skip_reason, sizeof(fake_skip_reason), "node is not installed");
        return 0;
    }
    if (!file_exists(server) || !file_exists(modules)) {
        snprintf(fake_skip_reason, sizeof(fake_skip_reason),
                 "the fake Bedrock endpoint or its node_modules are missing (npm install in %s)",
                 dir);
        return 0;
    }

    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
    char *argv[] = {node,
                    server,
                    (char *)"--port",
                    (char *)"0",
                    (char *)"--https-port",
                    (char *)"0",
                    (char *)"--jobs",
                    (char *)"1234",
                    (char *)"--seed",
                    (char *)"7",
                    (char *)"--region",
                    (char *)"us-east-1",
                    (char *)"--access-key-id",
                    (char *)TEST_KEY_ID,
                    (char *)"--secret-access-key",
                    (char *)TEST_SECRET,
                    NULL};
    int r = posix_spawn(&fake.pid, node, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pipefd[1]);
    if (r != 0) {
        close(pipefd[0]);
        snprintf(fake_skip_reason, sizeof(fake_skip_reason), "cannot spawn node: %s", strerror(r));
        return 0;
    }

    char line[2048];
    bool ok = fake_read_ready_line(pipefd[0], line, sizeof(line));
    close(pipefd[0]);
    json_t *j = ok ? json_loads(line, 0, NULL) : NULL;
    const char *http = json_string_value(json_object_get(j, "http"));
    const char *https = json_string_value(json_object_get(j, "https"));
    const char *ca = json_string_value(json_object_get(j, "caFile"));
    const char *admin = json_string_value(json_object_get(j, "admin"));
    if (!http || !https || !ca || !admin) {
        json_decref(j);
        fake_stop();
        fprintf(stderr, "fake Bedrock endpoint did not become ready: '%s'\n", ok ? line : "");
        return -1; /* present but broken: a failure, not a skip */
    }
    snprintf(fake.http, sizeof(fake.http), "%s", http);
    snprintf(fake.https, sizeof(fake.https), "%s", https);
    snprintf(fake.ca_file, sizeof(fake.ca_file), "%s", ca);
    snprintf(fake.admin, sizeof(fake.admin), "%s", admin);
    json_decref(j);
    fake_available = true;
    return 0;
}

static int fake_group_teardown(void **state)
{
    fake_stop();
    return 0;
}

static size_t collect(char *data, size_t size, size_t nmemb, void *userdata)
{
    return cj_buf_append(userdata, data, size * nmemb) < 0 ? 0 : size * nmemb;
}

/* A blocking admin call (the sync's loop does not run meanwhile). */
static json_t *admin_call(const char *method, const char *path, const char *body)
{
    char url[512];
    struct cj_buf out = {0};
    long status = 0;
    snprintf(url, sizeof(url), "%s%s", fake.admin, path);

    CURL *c = curl_easy_init();
    assert_non_null(c);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (status != 200)
        fprintf(stderr, "admin %s %s: %ld %s\n", method, path, status, out.data);
    assert_int_equal(status, 200);
    json_t *j = json_loadb(out.data, out.len, 0, NULL);
    cj_buf_free(&out);
    assert_non_null(j);
    return j;
}

static json_int_t bad_signatures(void)
{
    json_t *s = admin_call("GET", "/stats", NULL);
    json_t *v = json_object_get(s, "badSignatures");
    assert_true(json_is_integer(v));
    json_int_t n = json_integer_value(v);
    json_decref(s);
    return n;
}

/* Every job of the fake's ground truth is stored with the same fields, and nothing else. */
static void assert_store_matches_fake(struct fixture *f)
{
    json_t *truth = admin_call("GET", "/jobs", NULL);
    json_t *jobs = json_object_get(truth, "jobs");
    assert_true(json_is_array(jobs));
    assert_int_equal(store_total(f), json_array_size(jobs));

    size_t i;
    json_t *job;
    json_array_foreach(jobs, i, job)
    {
        const char *arn = json_string_value(json_object_get(job, "jobArn"));
        assert_non_null(arn);
        struct cj_buf b = {0};
        assert_int_equal(cj_store_get(f->store, arn, &b), 0);
        json_t *stored = json_loadb(b.data, b.len, 0, NULL);
        assert_non_null(stored);
        const char *key;
        json_t *value;
        json_object_foreach(job, key, value)
        {
            json_t *sv = json_object_get(stored, key);
            if (!sv || !json_equal(sv, value))
                fail_msg("job %s: field %s differs: stored %s", arn, key, b.data);
        }
        assert_int_equal(json_object_size(stored), json_object_size(job));
        json_decref(stored);
        cj_buf_free(&b);
    }
    json_decref(truth);
}

static int fake_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    fixture_init(f);
    *state = f;
    return 0;
}

static int fake_teardown(void **state)
{
    struct fixture *f = *state;
    fixture_done(f);
    free(f);
    if (fake_available)
        json_decref(admin_call("DELETE", "/faults", NULL));
    return 0;
}

#define REQUIRE_FAKE()                                                                             \
    do {                                                                                           \
        if (!fake_available) {                                                                     \
            fprintf(stderr, "skipped: %s\n", fake_skip_reason);                                    \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

static void test_fake_http_full_pass(void **state)
{
    REQUIRE_FAKE();
    struct fixture *f = *state;
    json_int_t bad_before = bad_signatures();
    sync_create(f, &(struct sync_opts){.endpoint = fake.http, .page_size = 100});
    assert_int_equal(run_pass(f), 0);

    struct cj_sync_status st;
    cj_sync_get_status(f->sync, &st);
    assert_int_equal(st.api_calls, 13); /* 1234 jobs, 100 a page */
    assert_int_equal(st.last_changes.created, 1234);
    assert_store_matches_fake(f);
    assert_int_equal(bad_signatures(), bad_before);

    /* A second pass over the same data changes nothing. */
    assert_int_equal(run_pass(f), 0);
    cj_sync_get_status(f->sync, &st);
    assert_int_equal(st.last_changes.created, 0);
    assert_int_equal(st.last_changes.updated, 0);
    assert_int_equal(st.last_changes.removed, 0);
    assert_int_equal(st.last_changes.unchanged, 1234);
}

static void test_fake_https(void **state)
{
    REQUIRE_FAKE();
    struct fixture *f = *state;
    json_int_t bad_before = bad_signatures();
    sync_create(
        f, &(struct sync_opts){.endpoint = fake.https, .ca_file = fake.ca_file, .page_size = 1000});
    assert_int_equal(run_pass(f), 0);
    assert_store_matches_fake(f);
    assert_int_equal(bad_signatures(), bad_before);
}

static void test_fake_https_without_ca(void **state)
{
    REQUIRE_FAKE();
    struct fixture *f = *state;
    sync_create(f, &(struct sync_opts){.endpoint = fake.https});
    assert_int_equal(run_pass(f), -EPROTO);
    struct cj_sync_status st;
    cj_sync_get_status(f->sync, &st);
    assert_string_equal(st.last_error_type, "TLSError");
    assert_true(strlen(st.last_error_message) > 0);
    assert_int_equal(store_total(f), 0);
}

/* Runs the loop until the first page of the running pass is stored (and no further
 * request has gone out: one sd_event_run() dispatches one source). The page waits in the
 * store's batch, which the loop commits to see it. */
static void run_until_first_page(struct fixture *f, uint64_t stored_before)
{
    uint64_t deadline = test_mono_ms() + 30000;
    struct cj_sync_status st;
    do {
        assert_true(sd_event_run(f->event, 20 * 1000) >= 0);
        cj_sync_get_status(f->sync, &st);
        assert_int_equal(cj_store_flush(f->store), 0);
    } while (st.running && test_mono_ms() < deadline &&
             !(st.api_calls >= 1 && store_total(f) > stored_before));
    assert_true(st.running);
}

static void test_fake_failure_mid_pass_then_removal(void **state)
{
    REQUIRE_FAKE();
    struct fixture *f = *state;
    sync_create(f, &(struct sync_opts){.endpoint = fake.http, .page_size = 200});
    assert_int_equal(run_pass(f), 0);
    assert_store_matches_fake(f);
    uint64_t total = store_total(f);

    /* The service drops 10 jobs, then a pass fails with a 500 after its first page. */
    json_decref(admin_call("POST", "/jobs/remove", "{\"count\":10}"));
    json_t *added =
        admin_call("POST", "/jobs/add", "{\"count\":3,\"creationTime\":\"2001-01-01T00:00:00Z\"}");
    json_decref(added);

    struct cj_sync_status st;
    cj_sync_get_status(f->sync, &st);
    uint64_t calls_before = st.api_calls;
    /* Past page 1, as many 500s as a request has attempts. Oldest first: the 3 new jobs,
     * older than any, are on page 1. */
    json_decref(admin_call("POST", "/faults",
                           "{\"kind\":\"status\",\"status\":500,\"count\":3,\"after\":1}"));
    assert_int_equal(cj_sync_trigger(f->sync, true), 0);
    run_until_done(f, 2, 60000);
    assert_true(f->last_result < 0);
    cj_sync_get_status(f->sync, &st);
    assert_int_equal(st.api_calls, calls_before + 4);
    assert_int_equal(st.last_changes.removed, 0);
    assert_int_equal(store_total(f), total + 3); /* page 1 kept, nothing removed */

    /* A complete pass then notes exactly the 10 missed, and the next removes them. */
    assert_int_equal(run_pass(f), 0);
    cj_sync_get_status(f->sync, &st);
    assert_int_equal(st.last_changes.removed, 0);
    assert_int_equal(store_total(f), total + 3);
    assert_int_equal(run_pass(f), 0);
    cj_sync_get_status(f->sync, &st);
    assert_int_equal(st.last_changes.removed, 10);
    assert_store_matches_fake(f);
}

static void test_fake_cancel_mid_pass(void **state)
{
    REQUIRE_FAKE();
    struct fixture *f = *state;
    sync_create(f, &(struct sync_opts){.endpoint = fake.http, .page_size = 100});

    /* Page 2 will hang in the fake for a long time: cancel it in flight. */
    json_decref(
        admin_call("POST", "/faults", "{\"kind\":\"delay\",\"delayMs\":20000,\"after\":1}"));
    assert_int_equal(cj_sync_trigger(f->sync, true), 0);
    run_until_first_page(f, 0);
    struct cj_sync_status st;
    uint64_t deadline = test_mono_ms() + 10000;
    do {
        assert_true(sd_event_run(f->event, 20 * 1000) >= 0);
        cj_sync_get_status(f->sync, &st);
    } while (st.api_calls < 2 && test_mono_ms() < deadline);
    assert_int_equal(st.api_calls, 2);
    assert_true(st.running);

    cj_sync_cancel(f->sync);
    assert_int_equal(f->done_calls, 1);
    assert_int_equal(f->last_result, -ECANCELED);
    cj_sync_get_status(f->sync, &st);
    assert_string_equal(st.last_error_type, "Cancelled");
    assert_int_equal(store_total(f), 100);
}

int main(void)
{
    test_aws_env_offline();
    const struct CMUnitTest canned[] = {
        cmocka_unit_test_setup_teardown(test_canned_two_pages, canned_setup, canned_teardown),
        cmocka_unit_test_setup_teardown(test_canned_malformed, canned_setup, canned_teardown),
        cmocka_unit_test_setup_teardown(test_canned_failure_keeps_then_removes, canned_setup,
                                        canned_teardown),
        cmocka_unit_test_setup_teardown(test_canned_aws_error, canned_setup, canned_teardown),
        cmocka_unit_test_setup_teardown(test_canned_repeated_token, canned_setup, canned_teardown),
        cmocka_unit_test_setup_teardown(test_canned_cancel, canned_setup, canned_teardown),
        cmocka_unit_test_setup_teardown(test_canned_next_page_asked_before_storing, canned_setup,
                                        canned_teardown),
        cmocka_unit_test_setup_teardown(test_canned_free_mid_pass, canned_setup, canned_teardown),
        cmocka_unit_test_setup_teardown(test_canned_timeout, canned_setup, canned_teardown),
        cmocka_unit_test_setup_teardown(test_canned_network_error, canned_setup, canned_teardown),
        cmocka_unit_test_setup_teardown(test_canned_missing_credentials, canned_setup,
                                        canned_teardown),
        cmocka_unit_test_setup_teardown(test_canned_trigger_joins, canned_setup, canned_teardown),
        cmocka_unit_test_setup_teardown(test_canned_reconfigure_mid_pass, canned_setup,
                                        canned_teardown),
        cmocka_unit_test_setup_teardown(test_canned_schedule_and_rate, canned_setup,
                                        canned_teardown),
        cmocka_unit_test_setup_teardown(test_canned_quick, canned_setup, canned_teardown),
        cmocka_unit_test_setup_teardown(test_canned_quick_failure_removes_nothing, canned_setup,
                                        canned_teardown),
        cmocka_unit_test_setup_teardown(test_canned_retry_then_success, canned_setup,
                                        canned_teardown),
        cmocka_unit_test_setup_teardown(test_canned_clock_skew, canned_setup, canned_teardown),
        cmocka_unit_test_setup_teardown(test_canned_expired_token, canned_setup, canned_teardown),
        cmocka_unit_test_setup_teardown(test_canned_full_after_quick, canned_setup,
                                        canned_teardown),
    };
    const struct CMUnitTest with_fake[] = {
        cmocka_unit_test_setup_teardown(test_fake_http_full_pass, fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_fake_https, fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_fake_https_without_ca, fake_setup, fake_teardown),
        cmocka_unit_test_setup_teardown(test_fake_failure_mid_pass_then_removal, fake_setup,
                                        fake_teardown),
        cmocka_unit_test_setup_teardown(test_fake_cancel_mid_pass, fake_setup, fake_teardown),
    };
    int failed = cmocka_run_group_tests_name("canned", canned, NULL, NULL);
    failed += cmocka_run_group_tests_name("fake-bedrock", with_fake, fake_group_setup,
                                          fake_group_teardown);
    return failed;
}
