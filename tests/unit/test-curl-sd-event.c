/* SPDX-License-Identifier: MIT */
/* libcurl multi inside sd-event, against a real HTTP server thread on 127.0.0.1: bodies,
 * captured headers, keep-alive reuse, timeouts, the body cap, cancel, refused protocols. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
#include <time.h>

#include "curl-sd-event.h"
#include "test-httpd.h"
#include "test-util.h"

struct fixture {
    struct httpd httpd;
    sd_event *event;
    struct cj_curl *curl;
    struct cj_http *http;
    unsigned done_calls;
    char url[128];
};

static void on_done(struct cj_http *h, void *userdata)
{
    struct fixture *f = userdata;
    f->done_calls++;
}

/* Runs the loop until *counter reaches want or timeout_ms passes. */
static void run_until(struct fixture *f, unsigned *counter, unsigned want, uint64_t timeout_ms)
{
    uint64_t deadline = test_mono_ms() + timeout_ms;
    while (*counter < want && test_mono_ms() < deadline)
        assert_true(sd_event_run(f->event, 50 * 1000) >= 0);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(httpd_start(&f->httpd), 0);
    assert_int_equal(sd_event_new(&f->event), 0);
    assert_int_equal(cj_curl_new(f->event, &f->curl), 0);
    assert_int_equal(cj_http_new(f->curl, &f->http), 0);
    snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d/model-copy-jobs?maxResults=2",
             f->httpd.port);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    cj_http_free(f->http);
    cj_curl_free(f->curl);
    sd_event_unref(f->event);
    httpd_stop(&f->httpd);
    free(f);
    return 0;
}

static void start(struct fixture *f, const char *url, const struct curl_slist *headers,
                  uint64_t timeout_usec)
{
    struct cj_http_options o = {.url = url, .headers = headers, .timeout_usec = timeout_usec};
    assert_int_equal(cj_http_start(f->http, &o, on_done, f), 0);
    assert_true(cj_http_busy(f->http));
}

static void test_get(void **state)
{
    struct fixture *f = *state;
    struct curl_slist *headers = curl_slist_append(NULL, "Accept: application/json");
    headers = curl_slist_append(headers, "X-Amz-Date: 20150830T123600Z");
    httpd_push(&f->httpd,
               (struct httpd_response){
                   .status = 200,
                   .headers = "x-amzn-RequestId: req-1\r\nDate: Sat, 28 Nov 2026 13:00:00 GMT\r\n",
                   .body = "{\"modelCopyJobSummaries\":[]}",
               });

    start(f, f->url, headers, 5 * 1000000);
    assert_int_equal(cj_http_start(f->http, &(struct cj_http_options){.url = f->url}, on_done, f),
                     -EBUSY);
    run_until(f, &f->done_calls, 1, 10000);
    assert_int_equal(f->done_calls, 1);
    assert_false(cj_http_busy(f->http));

    const struct cj_http_response *r = cj_http_response(f->http);
    assert_int_equal(r->code, CURLE_OK);
    assert_int_equal(r->status, 200);
    assert_string_equal(r->body.data, "{\"modelCopyJobSummaries\":[]}");
    assert_int_equal(r->body.len, strlen("{\"modelCopyJobSummaries\":[]}"));
    assert_string_equal(r->request_id, "req-1");
    assert_string_equal(r->date, "Sat, 28 Nov 2026 13:00:00 GMT");
    assert_string_equal(r->error_type, "");

    char req[HTTPD_REQUEST_MAX], host[64];
    httpd_snapshot(&f->httpd, NULL, NULL, req, sizeof(req));
    assert_non_null(strstr(req, "GET /model-copy-jobs?maxResults=2 HTTP/1.1\r\n"));
    snprintf(host, sizeof(host), "\r\nHost: 127.0.0.1:%d\r\n", f->httpd.port);
    assert_non_null(strstr(req, host));
    assert_non_null(strstr(req, "\r\nUser-Agent: copyjobd/" CJ_VERSION "\r\n"));
    assert_non_null(strstr(req, "\r\nAccept: application/json\r\n"));
    assert_null(strstr(req, "Accept: */*"));
    assert_non_null(strstr(req, "\r\nX-Amz-Date: 20150830T123600Z\r\n"));
    assert_non_null(strstr(req, "\r\nAccept-Encoding: "));
    curl_slist_free_all(headers);
}

static void on_done_chain(struct cj_http *h, void *userdata)
{
    struct fixture *f = userdata;
    f->done_calls++;
    /* The sync starts its next page from inside the completion: that must work. */
    if (f->done_calls < 3) {
        struct cj_http_options o = {.url = f->url, .timeout_usec = 5 * 1000000};
        assert_int_equal(cj_http_start(h, &o, on_done_chain, f), 0);
    }
}

static void test_keep_alive(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 3; i++)
        httpd_push(&f->httpd, (struct httpd_response){.status = 200, .body = "{}"});

    struct cj_http_options o = {.url = f->url, .timeout_usec = 5 * 1000000};
    assert_int_equal(cj_http_start(f->http, &o, on_done_chain, f), 0);
    run_until(f, &f->done_calls, 3, 10000);
    assert_int_equal(f->done_calls, 3);

    unsigned connections, requests;
    httpd_snapshot(&f->httpd, &connections, &requests, NULL, 0);
    assert_int_equal(requests, 3);
    assert_int_equal(connections, 1);
}

static void test_error_headers(void **state)
{
    struct fixture *f = *state;
    httpd_push(&f->httpd, (struct httpd_response){
                              .status = 400,
                              .headers = "X-Amzn-ErrorType:  ValidationException:http://x/ \r\n",
                              .body = "{\"message\":\"bad\"}",
                          });
    start(f, f->url, NULL, 5 * 1000000);
    run_until(f, &f->done_calls, 1, 10000);
    const struct cj_http_response *r = cj_http_response(f->http);
    assert_int_equal(r->code, CURLE_OK);
    assert_int_equal(r->status, 400);
    assert_string_equal(r->error_type, "ValidationException:http://x/");
    assert_string_equal(r->body.data, "{\"message\":\"bad\"}");
}

static void test_timeout(void **state)
{
    struct fixture *f = *state;
    httpd_push(&f->httpd, (struct httpd_response){.action = HTTPD_HANG});
    start(f, f->url, NULL, 300 * 1000);
    run_until(f, &f->done_calls, 1, 10000);
    assert_int_equal(f->done_calls, 1);
    const struct cj_http_response *r = cj_http_response(f->http);
    assert_int_equal(r->code, CURLE_OPERATION_TIMEDOUT);
    assert_int_equal(r->status, 0);
    assert_true(strlen(r->curl_error) > 0);
}

static void test_body_cap(void **state)
{
    struct fixture *f = *state;
    httpd_push(&f->httpd,
               (struct httpd_response){.action = HTTPD_HUGE_BODY, .huge_len = CJ_HTTP_BODY_MAX});
    httpd_push(&f->httpd, (struct httpd_response){.action = HTTPD_HUGE_BODY,
                                                  .huge_len = CJ_HTTP_BODY_MAX + 1});

    /* Exactly at the cap is accepted... */
    start(f, f->url, NULL, 60 * 1000000);
    run_until(f, &f->done_calls, 1, 60000);
    const struct cj_http_response *r = cj_http_response(f->http);
    assert_int_equal(r->code, CURLE_OK);
    assert_false(r->body_too_large);
    assert_int_equal(r->body.len, CJ_HTTP_BODY_MAX);

    /* ...one byte more aborts the transfer. */
    start(f, f->url, NULL, 60 * 1000000);
    run_until(f, &f->done_calls, 2, 60000);
    assert_int_equal(f->done_calls, 2);
    assert_int_equal(r->code, CURLE_WRITE_ERROR);
    assert_true(r->body_too_large);
}

static void test_cancel(void **state)
{
    struct fixture *f = *state;
    httpd_push(&f->httpd, (struct httpd_response){.action = HTTPD_HANG});
    start(f, f->url, NULL, 30 * 1000000);

    unsigned requests = 0;
    uint64_t deadline = test_mono_ms() + 10000;
    while (requests < 1 && test_mono_ms() < deadline) {
        assert_true(sd_event_run(f->event, 20 * 1000) >= 0);
        httpd_snapshot(&f->httpd, NULL, &requests, NULL, 0);
    }
    assert_int_equal(requests, 1);

    cj_http_cancel(f->http);
    assert_false(cj_http_busy(f->http));
    /* Nothing fires afterwards. */
    for (int i = 0; i < 5; i++)
        assert_true(sd_event_run(f->event, 20 * 1000) >= 0);
    assert_int_equal(f->done_calls, 0);
    cj_http_cancel(f->http); /* idempotent */
}

static void test_refused(void **state)
{
    struct fixture *f = *state;
    char url[128];

    /* A port nobody listens on: bind one, note it, close it. */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    close(fd);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", ntohs(a.sin_port));
    start(f, url, NULL, 5 * 1000000);
    run_until(f, &f->done_calls, 1, 10000);
    assert_int_equal(cj_http_response(f->http)->code, CURLE_COULDNT_CONNECT);

    /* Only http and https. */
    start(f, "file:///etc/hostname", NULL, 5 * 1000000);
    run_until(f, &f->done_calls, 2, 10000);
    assert_int_equal(f->done_calls, 2);
    assert_int_equal(cj_http_response(f->http)->code, CURLE_UNSUPPORTED_PROTOCOL);
}

static void test_no_redirect_and_close(void **state)
{
    struct fixture *f = *state;
    httpd_push(&f->httpd, (struct httpd_response){.status = 302,
                                                  .headers = "Location: http://127.0.0.1:1/x\r\n"});
    /* curl retries a request once when a reused connection turns out dead: close twice. */
    httpd_push(&f->httpd, (struct httpd_response){.action = HTTPD_CLOSE});
    httpd_push(&f->httpd, (struct httpd_response){.action = HTTPD_CLOSE});

    start(f, f->url, NULL, 5 * 1000000);
    run_until(f, &f->done_calls, 1, 10000);
    assert_int_equal(cj_http_response(f->http)->code, CURLE_OK);
    assert_int_equal(cj_http_response(f->http)->status, 302);

    start(f, f->url, NULL, 5 * 1000000);
    run_until(f, &f->done_calls, 2, 10000);
    assert_int_equal(f->done_calls, 2);
    assert_int_equal(cj_http_response(f->http)->code, CURLE_GOT_NOTHING);

    unsigned requests;
    httpd_snapshot(&f->httpd, NULL, &requests, NULL, 0);
    assert_int_equal(requests, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_alive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_redirect_and_close, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
