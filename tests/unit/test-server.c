/* SPDX-License-Identifier: MIT */
/* The local HTTP API end to end: a real store in a temp dir, the server on a temp Unix
 * socket in an sd-event loop, and libcurl as the client. One thread: each request drives
 * curl's multi interface and sd_event_run() in turn, bounded in time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "cj-time.h"
#include "log.h"
#include "query.h"
#include "server.h"
#include "test-net-util.h"
#include "test-server-fixture.h"

#define N_JOBS       300
#define BASE_TIME_NS (INT64_C(1714521600) * CJ_NSEC_PER_SEC) /* 2024-05-01T00:00:00Z */
#define ACCOUNT_A    "111111111111"
#define ACCOUNT_B    "222222222222"
#define MODEL_A                                                                                    \
    "arn:aws:bedrock:us-east-1:111111111111:custom-model/amazon.titan-text-express-v1:0:8k/"       \
    "abcdefghijkl"
#define MODEL_B            "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1"
#define ARN_PREFIX         "arn:aws:bedrock:us-east-1:123456789012:model-copy-job/"
#define REQUEST_TIMEOUT_NS (20 * CJ_NSEC_PER_SEC)

/* The source the fixture's jobs belong to, and test_sync's one source. */
#ifndef FIXTURE_SOURCE
#define FIXTURE_SOURCE "us-east-1"
#endif

static char tmpdir[] = "/tmp/cj-test-server-XXXXXX";

struct fixture {
    struct server_fixture s;
    CURLM *multi;
    size_t n_jobs;
};

struct response {
    long status;
    long num_connects;
    struct cj_buf body;
    struct cj_buf headers;
};

static void set_sun_path(struct sockaddr_un *sa, const char *path)
{
    size_t len = strlen(path);
    assert_true(len < sizeof(sa->sun_path));
    memcpy(sa->sun_path, path, len + 1);
}

static void response_done(struct response *r)
{
    cj_buf_free(&r->body);
    cj_buf_free(&r->headers);
}

/* ---- jobs ---- */

static void job_arn(size_t i, char *buf, size_t size)
{
    snprintf(buf, size, ARN_PREFIX "job%09zu", i);
}

static enum cj_status job_status(size_t i)
{
    return (enum cj_status)(i % 3);
}

/* Pairs of jobs share a creationTime, so equal times must be ordered by jobArn. */
static int64_t job_time(size_t i)
{
    return BASE_TIME_NS + (int64_t)(i / 2) * 3600 * CJ_NSEC_PER_SEC + (i % 10 == 0 ? 500000000 : 0);
}

static const char *job_name(size_t i, char *buf, size_t size)
{
    if (i % 7 == 0)
        return NULL;
    snprintf(buf, size, "%s-%zu", i % 4 == 0 ? "prod" : "test", i);
    return buf;
}

static void make_job(size_t i, struct cj_job *j)
{
    char arn[128], when[CJ_ISO8601_MAX], namebuf[64];
    const char *name = job_name(i, namebuf, sizeof(namebuf));
    struct cj_buf json = {0};

    memset(j, 0, sizeof(*j));
    job_arn(i, arn, sizeof(arn));
    j->job_arn = strdup(arn);
    j->status = job_status(i);
    j->creation_ns = job_time(i);
    snprintf(j->source_account, sizeof(j->source_account), "%s", i % 2 ? ACCOUNT_A : ACCOUNT_B);
    j->source_model_arn = strdup(i % 5 == 0 ? MODEL_B : MODEL_A);
    j->target_model_name = name ? strdup(name) : NULL;
    assert_true(cj_time_format_iso8601(j->creation_ns, when, sizeof(when)) > 0);

    assert_int_equal(cj_buf_printf(&json,
                                   "{\"jobArn\":\"%s\",\"status\":\"%s\",\"creationTime\":\"%s\","
                                   "\"targetModelArn\":\"arn:aws:bedrock:us-east-1:123456789012:"
                                   "custom-model/imported/abcdefghij%02zu\"",
                                   arn, cj_status_to_string(j->status), when, i % 100),
                     0);
    if (name)
        assert_int_equal(cj_buf_printf(&json, ",\"targetModelName\":\"%s\"", name), 0);
    assert_int_equal(cj_buf_printf(&json, ",\"sourceAccountId\":\"%s\",\"sourceModelArn\":\"%s\"",
                                   j->source_account, j->source_model_arn),
                     0);
    if (j->status == CJ_STATUS_FAILED)
        assert_int_equal(cj_buf_printf(&json, ",\"failureMessage\":\"quota \\\"exceeded\\\"\""), 0);
    assert_int_equal(cj_buf_append_char(&json, '}'), 0);
    j->json_len = json.len;
    j->json = cj_buf_steal(&json);
}

static void fill_store(struct cj_store *store, size_t n)
{
    struct cj_job *jobs = calloc(n ? n : 1, sizeof(*jobs));
    struct cj_store_changes changes = {0};

    assert_non_null(jobs);
    for (size_t i = 0; i < n; i++)
        make_job(i, &jobs[i]);
    assert_int_equal(cj_store_put_jobs(store, "us-east-1", NULL, jobs, n, &changes), 0);
    assert_int_equal(changes.created, n);
    for (size_t i = 0; i < n; i++)
        cj_job_done(&jobs[i]);
    free(jobs);
}

/* ---- fixture ---- */

static int fixture_start(struct fixture *f, size_t n_jobs, mode_t mode, const char *listen_tcp)
{
    memset(f, 0, sizeof(*f));
    /* a directory that does not exist yet: the server creates it */
    server_fixture_open(&f->s, tmpdir, "run/api.sock", 0);
    f->s.settings.server.socket_mode = mode;
    f->s.settings.server.max_connections = 16;
    f->s.settings.server.listen_tcp = (char *)listen_tcp;
    fill_store(f->s.store, n_jobs);
    f->n_jobs = n_jobs;

    f->multi = curl_multi_init();
    assert_non_null(f->multi);
    return server_fixture_serve(&f->s);
}

static void fixture_stop(struct fixture *f)
{
    if (f->multi)
        curl_multi_cleanup(f->multi);
    server_fixture_close(&f->s);
    memset(f, 0, sizeof(*f));
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(fixture_start(f, N_JOBS, 0660, NULL), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_stop(*state);
    free(*state);
    return 0;
}

/* ---- client ---- */

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
    return cj_buf_append(userdata, data, size * n) < 0 ? 0 : size * n;
}

static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
    return cj_buf_append(userdata, data, size * n) < 0 ? 0 : size * n;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * CJ_NSEC_PER_SEC + ts.tv_nsec;
}

/* Runs one transfer: with a fixture, by turns of curl multi and the server's event loop;
 * without (the server lives in another process), as a plain blocking transfer. */
static void perform(struct fixture *f, CURL *easy)
{
    if (!f) {
        curl_easy_setopt(easy, CURLOPT_TIMEOUT, 20L);
        CURLcode rc = curl_easy_perform(easy);
        if (rc != CURLE_OK)
            fail_msg("curl: %s", curl_easy_strerror(rc));
        return;
    }

    int64_t deadline = mono_ns() + REQUEST_TIMEOUT_NS;
    int running = 1;
    assert_int_equal(curl_multi_add_handle(f->multi, easy), CURLM_OK);
    for (;;) {
        assert_int_equal(curl_multi_perform(f->multi, &running), CURLM_OK);
        if (!running)
            break;
        assert_true(sd_event_run(f->s.event, 0) >= 0);
        struct curl_waitfd w = {.fd = sd_event_get_fd(f->s.event), .events = CURL_WAIT_POLLIN};
        assert_int_equal(curl_multi_poll(f->multi, &w, 1, 10, NULL), CURLM_OK);
        if (mono_ns() > deadline)
            fail_msg("request did not finish in time");
    }
    int left;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(f->multi, &left)))
        if (msg->msg == CURLMSG_DONE && msg->data.result != CURLE_OK)
            fail_msg("curl: %s", curl_easy_strerror(msg->data.result));
    curl_multi_remove_handle(f->multi, easy);
}

static void request_full(struct fixture *f, const char *socket_path, const char *url,
                         const char *method, const char *body, size_t body_len, struct response *r)
{
    CURL *easy = curl_easy_init();

    assert_non_null(easy);
    memset(r, 0, sizeof(*r));
    curl_easy_setopt(easy, CURLOPT_URL, url);
    if (socket_path)
        curl_easy_setopt(easy, CURLOPT_UNIX_SOCKET_PATH, socket_path);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(easy, CURLOPT_PATH_AS_IS, 1L);
    if (body) {
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "GET") != 0 || body)
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "POST") == 0 && !body)
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, 0L);

    perform(f, easy);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &r->num_connects);
    curl_easy_cleanup(easy);
}

static void request(struct fixture *f, const char *method, const char *path, struct response *r)
{
    char url[8192];
    snprintf(url, sizeof(url), "http://localhost%s", path);
    request_full(f, f->s.socket_path, url, method, NULL, 0, r);
}

/* The value of a response header (case-insensitive name), copied into buf; NULL if absent. */
static const char *header(const struct response *r, const char *name, char *buf, size_t size)
{
    size_t nlen = strlen(name);
    const char *p = r->headers.data;

    /* curl hands over the headers of the last response only after a reset per response,
     * so search the whole capture and keep the last match */
    const char *found = NULL;
    while (p && *p) {
        const char *eol = strstr(p, "\r\n");
        if (!eol)
            break;
        if ((size_t)(eol - p) > nlen && strncasecmp(p, name, nlen) == 0 && p[nlen] == ':')
            found = p;
        p = eol + 2;
    }
    if (!found)
        return NULL;
    found += nlen + 1;
    while (*found == ' ')
        found++;
    size_t len = strcspn(found, "\r\n");
    if (len >= size)
        len = size - 1;
    memcpy(buf, found, len);
    buf[len] = '\0';
    return buf;
}

static json_t *body_json(const struct response *r)
{
    json_error_t e;
    json_t *j = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, &e);
    if (!j)
        fail_msg("response is not JSON (%s): %.200s", e.text, r->body.data ? r->body.data : "");
    return j;
}

/* Status, x-amzn-ErrorType, a {"message"} body that contains `needle`, and a request id. */
static void expect_error(const struct response *r, long status, const char *type,
                         const char *needle)
{
    char buf[256];

    if (r->status != status)
        fail_msg("expected %ld, got %ld: %.300s", status, r->status,
                 r->body.data ? r->body.data : "");
    assert_non_null(header(r, "x-amzn-ErrorType", buf, sizeof(buf)));
    assert_string_equal(buf, type);
    assert_non_null(header(r, "Content-Type", buf, sizeof(buf)));
    assert_string_equal(buf, "application/json");
    assert_non_null(header(r, "x-amzn-RequestId", buf, sizeof(buf)));
    json_t *j = body_json(r);
    const char *msg = json_string_value(json_object_get(j, "message"));
    assert_non_null(msg);
    if (needle && !strstr(msg, needle))
        fail_msg("message '%s' does not mention '%s'", msg, needle);
    json_decref(j);
}

/* One request answered with an error, checked as expect_error() does. */
static void expect_request_error(struct fixture *f, const char *method, const char *path,
                                 long status, const char *type, const char *needle)
{
    struct response r;
    request(f, method, path, &r);
    expect_error(&r, status, type, needle);
    response_done(&r);
}

static char *escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    assert_non_null(e);
    return e;
}

/* ---- list ---- */

/* Pages through one query over HTTP and straight from the store, page by page: the same
 * summaries, the same "is there more". Returns how many jobs it saw. */
static size_t compare_list(struct fixture *f, const struct cj_kv *args, size_t n)
{
    char *http_token = NULL, *store_token = NULL;
    size_t total = 0;

    for (unsigned page = 0; page < 1000; page++) {
        struct cj_buf path = {0};
        assert_int_equal(cj_buf_append_str(&path, "/model-copy-jobs?"), 0);
        for (size_t i = 0; i < n; i++) {
            char *v = escape(args[i].value);
            assert_int_equal(cj_buf_printf(&path, "%s%s=%s", i ? "&" : "", args[i].key, v), 0);
            curl_free(v);
        }
        if (http_token) {
            char *v = escape(http_token);
            assert_int_equal(cj_buf_printf(&path, "%snextToken=%s", n ? "&" : "", v), 0);
            curl_free(v);
        }

        struct response r;
        request(f, "GET", path.data, &r);
        cj_buf_free(&path);
        if (r.status != 200)
            fail_msg("list: %ld %.300s", r.status, r.body.data);
        json_t *got = body_json(&r);

        /* the store's own answer for the same query */
        struct cj_kv all[32];
        assert_true(n < ELEMENTSOF(all));
        memcpy(all, args, n * sizeof(*args));
        size_t m = n;
        if (store_token)
            all[m++] = (struct cj_kv){"nextToken", store_token};
        struct cj_query q;
        struct cj_query_storage st;
        char err[256];
        struct cj_buf out = {0};
        assert_int_equal(api_query_parse(all, m, &q, &st, err, sizeof(err)), 0);
        assert_int_equal(cj_store_list(f->s.store, &q, &out, err, sizeof(err)), 0);
        api_query_storage_done(&st);
        json_error_t e;
        json_t *want = json_loadb(out.data, out.len, 0, &e);
        assert_non_null(want);
        cj_buf_free(&out);

        json_t *got_jobs = json_object_get(got, "modelCopyJobSummaries");
        assert_true(json_is_array(got_jobs));
        assert_true(json_equal(got_jobs, json_object_get(want, "modelCopyJobSummaries")));
        total += json_array_size(got_jobs);

        const char *gt = json_string_value(json_object_get(got, "nextToken"));
        const char *wt = json_string_value(json_object_get(want, "nextToken"));
        assert_int_equal(gt != NULL, wt != NULL);
        free(http_token);
        free(store_token);
        http_token = gt ? strdup(gt) : NULL;
        store_token = wt ? strdup(wt) : NULL;
        json_decref(got);
        json_decref(want);
        response_done(&r);
        if (!http_token)
            return total;
    }
    fail_msg("paging did not end");
    return 0;
}

static void test_list_filters_and_paging(void **state)
{
    struct fixture *f = *state;
    char after[CJ_ISO8601_MAX], before[CJ_ISO8601_MAX];

    cj_time_format_iso8601(job_time(40), after, sizeof(after));
    cj_time_format_iso8601(job_time(200), before, sizeof(before));

    struct cj_kv none[] = {{"maxResults", "1000"}};
    assert_int_equal(compare_list(f, none, 0), N_JOBS);
    assert_int_equal(compare_list(f, none, 1), N_JOBS);

    struct cj_kv paged[] = {{"maxResults", "7"}};
    assert_int_equal(compare_list(f, paged, 1), N_JOBS);

    struct cj_kv failed[] = {{"statusEquals", "Failed"}, {"maxResults", "9"}};
    assert_int_equal(compare_list(f, failed, 2), N_JOBS / 3);

    struct cj_kv account[] = {
        {"sourceAccountEquals", ACCOUNT_A}, {"sortOrder", "Ascending"}, {"maxResults", "50"}};
    assert_int_equal(compare_list(f, account, 3), N_JOBS / 2);

    struct cj_kv window[] = {{"creationTimeAfter", after},
                             {"creationTimeBefore", before},
                             {"sortBy", "CreationTime"},
                             {"maxResults", "11"}};
    size_t in_window = 0;
    for (size_t i = 0; i < N_JOBS; i++)
        in_window += job_time(i) > job_time(40) && job_time(i) < job_time(200);
    assert_int_equal(compare_list(f, window, 4), in_window);

    struct cj_kv model[] = {{"sourceModelArnEquals", MODEL_B}, {"maxResults", "13"}};
    assert_int_equal(compare_list(f, model, 2), N_JOBS / 5);

    size_t prod = 0;
    for (size_t i = 0; i < N_JOBS; i++)
        prod += i % 7 != 0 && i % 4 == 0;
    struct cj_kv name[] = {{"outputModelNameContains", "prod"}, {"maxResults", "10"}};
    assert_int_equal(compare_list(f, name, 2), prod);
    struct cj_kv name2[] = {{"targetModelNameContains", "prod"}, {"unknownKey", "x"}};
    assert_int_equal(compare_list(f, name2, 2), prod);
}

/* 8-4-4-4-12 lowercase hex digits, as a UUID is written. */
static bool uuid_shaped(const char *id)
{
    if (strlen(id) != 36)
        return false;
    for (size_t i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? id[i] != '-' : !strchr("0123456789abcdef", id[i]) || !id[i])
            return false;
    }
    return true;
}
static void test_list_headers(void **state)
{
    struct fixture *f = *state;
    struct response r;
    char buf[128], want[CJ_ISO8601_MAX];

    /* never synced: no age to state */
    request(f, "GET", "/model-copy-jobs?maxResults=1", &r);
    assert_int_equal(r.status, 200);
    assert_null(header(&r, "Age", buf, sizeof(buf)));
    assert_null(header(&r, "x-copyjobd-synced-at", buf, sizeof(buf)));
    assert_non_null(header(&r, "Content-Type", buf, sizeof(buf)));
    assert_string_equal(buf, "application/json");
    char id1[64];
    assert_non_null(header(&r, "x-amzn-RequestId", id1, sizeof(id1)));
    response_done(&r);

    int64_t synced = cj_now_ns() - 5 * CJ_NSEC_PER_SEC - 250000000;
    assert_int_equal(cj_store_set_synced_at(f->s.store, "us-east-1", synced), 0);
    assert_true(cj_time_format_iso8601(synced, want, sizeof(want)) > 0);

    static const char *const paths[] = {"/model-copy-jobs", "/v1/stats",
                                        "/model-copy-jobs/" ARN_PREFIX "job000000001"};
    for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
        request(f, "GET", paths[i], &r);
        assert_int_equal(r.status, 200);
        assert_non_null(header(&r, "Age", buf, sizeof(buf)));
        char *end;
        long age = strtol(buf, &end, 10);
        assert_true(*end == '\0' && age >= 5 && age < 24 * 3600);
        assert_non_null(header(&r, "x-copyjobd-synced-at", buf, sizeof(buf)));
        assert_string_equal(buf, want);
        char id2[64];
        assert_non_null(header(&r, "x-amzn-RequestId", id2, sizeof(id2)));
        assert_string_not_equal(id1, id2);
        /* One run's ids: its random prefix, then the request's number. */
        assert_true(uuid_shaped(id1) && uuid_shaped(id2));
        assert_memory_equal(id1, id2, 23);
        assert_true(strtoull(id2 + 24, NULL, 16) == strtoull(id1 + 24, NULL, 16) + i + 1);
        response_done(&r);
    }
}

/* ---- get ---- */

static void test_get(void **state)
{
    struct fixture *f = *state;
    struct response r;
    char arn[128], path[512];
    struct cj_buf want = {0};

    job_arn(42, arn, sizeof(arn));
    assert_int_equal(cj_store_get(f->s.store, arn, &want), 0);

    /* percent-encoded, as SDKs send it */
    char *enc = escape(arn);
    assert_non_null(strstr(enc, "%3A"));
    assert_non_null(strstr(enc, "%2F"));
    snprintf(path, sizeof(path), "/model-copy-jobs/%s", enc);
    curl_free(enc);
    request(f, "GET", path, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, want.len);
    assert_memory_equal(r.body.data, want.data, want.len);
    response_done(&r);

    /* raw */
    snprintf(path, sizeof(path), "/model-copy-jobs/%s", arn);
    request(f, "GET", path, &r);
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.body.data, want.data, want.len);
    response_done(&r);

    /* HEAD: the headers only */
    request(f, "HEAD", path, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 0);
    response_done(&r);
    cj_buf_free(&want);

    /* a valid ARN that is not there */
    expect_request_error(f, "GET", "/model-copy-jobs/" ARN_PREFIX "zzzzzzzzzzzz", 404,
                         "ResourceNotFoundException",
                         "Could not find model copy job " ARN_PREFIX "zzzzzzzzzzzz");

    /* not an ARN at all */
    expect_request_error(f, "GET", "/model-copy-jobs/not-an-arn", 400, "ValidationException",
                         "jobArn");
    request(f, "GET", "/model-copy-jobs/%ZZ%00x", &r);
    assert_true(r.status == 400 || r.status == 404);
    response_done(&r);
}

/* ---- errors ---- */

static void test_errors(void **state)
{
    struct fixture *f = *state;
    struct response r;
    char buf[128];

    expect_request_error(f, "GET", "/nope", 404, "ResourceNotFoundException", "no such endpoint");
    expect_request_error(f, "GET", "/dashboard/nope", 404, "ResourceNotFoundException", NULL);
    expect_request_error(f, "GET", "/model-copy-jobs/", 404, "ResourceNotFoundException", NULL);

    request(f, "POST", "/model-copy-jobs", &r);
    expect_error(&r, 405, "ValidationException", "POST");
    assert_non_null(header(&r, "Allow", buf, sizeof(buf)));
    assert_string_equal(buf, "GET, HEAD");
    response_done(&r);
    expect_request_error(f, "DELETE", "/v1/stats", 405, "ValidationException", NULL);
    request(f, "GET", "/v1/sync", &r);
    expect_error(&r, 405, "ValidationException", NULL);
    assert_non_null(header(&r, "Allow", buf, sizeof(buf)));
    assert_string_equal(buf, "POST");
    response_done(&r);

    expect_request_error(f, "GET", "/model-copy-jobs?maxResults=0", 400, "ValidationException",
                         "maxResults");
    expect_request_error(f, "GET", "/model-copy-jobs?maxResults=abc", 400, "ValidationException",
                         "maxResults");
    expect_request_error(f, "GET", "/model-copy-jobs?statusEquals=Failed&statusEquals=Failed", 400,
                         "ValidationException", "statusEquals: given more than once");
    expect_request_error(f, "GET",
                         "/model-copy-jobs?outputModelNameContains=a&targetModelNameContains=a",
                         400, "ValidationException", "more than once");
    expect_request_error(f, "GET", "/model-copy-jobs?sortOrder", 400, "ValidationException",
                         "sortOrder");
    /* a token the store did not make */
    expect_request_error(f, "GET", "/model-copy-jobs?nextToken=bm90LWEtdG9rZW4", 400,
                         "ValidationException", NULL);

    /* no sync engine in this daemon */
    expect_request_error(f, "POST", "/v1/sync?wait=true", 503, "ServiceUnavailableException", NULL);
    expect_request_error(f, "POST", "/v1/sync?full=maybe", 400, "ValidationException", "full");

    /* Unknown keys are ignored and take no room; a known one repeated is refused. */
    struct cj_buf many = {0};
    assert_int_equal(cj_buf_append_str(&many, "/model-copy-jobs?"), 0);
    for (int i = 0; i < 200; i++)
        assert_int_equal(cj_buf_printf(&many, "k%d=v&", i), 0);
    assert_int_equal(cj_buf_append_str(&many, "maxResults=1"), 0);
    request(f, "GET", many.data, &r);
    assert_int_equal(r.status, 200);
    response_done(&r);
    cj_buf_reset(&many);
    assert_int_equal(cj_buf_append_str(&many, "/model-copy-jobs?"), 0);
    for (int i = 0; i < 200; i++)
        assert_int_equal(cj_buf_append_str(&many, "maxResults=1&"), 0);
    expect_request_error(f, "GET", many.data, 400, "ValidationException", NULL);

    /* %00 would cut a value, a key or the path short: refused, never read as the prefix. */
    static const char *const nul_paths[] = {
        "/model-copy-jobs?statusEquals=Failed%00x",
        "/model-copy-jobs?maxResults%00junk=1",
        "/model-copy-jobs?unknown=a%00",
        "/v1/stats%00junk",
        "/v1/stats%00",
        "/model-copy-jobs/arn:aws:bedrock:us-east-1:123456789012:model-copy-job/abcdefabcdef%00x",
        "/v1/events?after=0%00x",
    };
    for (size_t i = 0; i < sizeof(nul_paths) / sizeof(nul_paths[0]); i++)
        expect_request_error(f, "GET", nul_paths[i], 400, "ValidationException", "%00");
    /* A literal "%00" (encoded as %2500) is only text. */
    expect_request_error(f, "GET", "/model-copy-jobs?statusEquals=%2500", 400,
                         "ValidationException", "statusEquals");
    cj_buf_reset(&many);
    assert_int_equal(cj_buf_append_str(&many, "/model-copy-jobs?x="), 0);
    for (int i = 0; i < 100000; i++)
        assert_int_equal(cj_buf_append_char(&many, 'a'), 0);
    request_full(f, f->s.socket_path, "http://localhost/", "GET", NULL, 0, &r);
    response_done(&r);
    char *url;
    assert_true(asprintf(&url, "http://localhost%s", many.data) > 0);
    request_full(f, f->s.socket_path, url, "GET", NULL, 0, &r);
    assert_true(r.status >= 400 && r.status < 500);
    response_done(&r);
    free(url);

    /* Echoed input: the body stays valid UTF-8 (jansson refuses anything else), invalid bytes
     * shown as U+FFFD, a long message cut between two characters. */
    request(f, "GET", "/%FF%FEx", &r);
    expect_error(&r, 404, "ResourceNotFoundException", "/\xef\xbf\xbd\xef\xbf\xbdx");
    response_done(&r);
    request(f, "GET",
            "/model-copy-jobs/arn:aws-%FF%FE:bedrock:us-east-1:123456789012:"
            "model-copy-job/abcdefabcdef",
            &r);
    expect_error(&r, 400, "ValidationException", "jobArn");
    response_done(&r);
    for (size_t lead = 0; lead < 3; lead++) {
        cj_buf_reset(&many);
        assert_int_equal(cj_buf_append_str(&many, "/"), 0);
        for (size_t i = 0; i < lead; i++)
            assert_int_equal(cj_buf_append_char(&many, 'x'), 0);
        for (int i = 0; i < 700; i++) /* U+20AC, three bytes: some cut lands inside one */
            assert_int_equal(cj_buf_append_str(&many, "%E2%82%AC"), 0);
        request(f, "GET", many.data, &r);
        expect_error(&r, 404, "ResourceNotFoundException", "...");
        json_t *j = body_json(&r);
        const char *msg = json_string_value(json_object_get(j, "message"));
        assert_true(strlen(msg) <= 1024 && strlen(msg) > 900);
        assert_int_equal(strcmp(msg + strlen(msg) - 6, "\xe2\x82\xac..."), 0);
        json_decref(j);
        response_done(&r);
    }
    cj_buf_free(&many);

    /* still serving after all that */
    request(f, "GET", "/v1/stats", &r);
    assert_int_equal(r.status, 200);
    response_done(&r);
}

static void test_request_bodies(void **state)
{
    struct fixture *f = *state;
    struct response r;
    char *big = malloc(200000);

    assert_non_null(big);
    memset(big, 'b', 200000);
    /* a small body on a GET is read and ignored */
    request_full(f, f->s.socket_path, "http://localhost/v1/stats", "GET", "{\"x\":1}", 7, &r);
    assert_int_equal(r.status, 200);
    response_done(&r);
    /* a big one is refused */
    request_full(f, f->s.socket_path, "http://localhost/v1/stats", "GET", big, 200000, &r);
    expect_error(&r, 400, "ValidationException", "bodies");
    response_done(&r);
    free(big);

    request(f, "GET", "/v1/stats", &r);
    assert_int_equal(r.status, 200);
    response_done(&r);
}

/* ---- stats and health ---- */

static void test_stats(void **state)
{
    struct fixture *f = *state;
    struct response r;
    char oldest[CJ_ISO8601_MAX], newest[CJ_ISO8601_MAX];

    request(f, "GET", "/v1/stats", &r);
    assert_int_equal(r.status, 200);
    json_t *j = body_json(&r);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), N_JOBS);
    json_t *by = json_object_get(j, "byStatus");
    assert_int_equal(json_integer_value(json_object_get(by, "InProgress")), N_JOBS / 3);
    assert_int_equal(json_integer_value(json_object_get(by, "Completed")), N_JOBS / 3);
    assert_int_equal(json_integer_value(json_object_get(by, "Failed")), N_JOBS / 3);
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < N_JOBS; i++) {
        lo = job_time(i) < lo ? job_time(i) : lo;
        hi = job_time(i) > hi ? job_time(i) : hi;
    }
    cj_time_format_iso8601(lo, oldest, sizeof(oldest));
    cj_time_format_iso8601(hi, newest, sizeof(newest));
    assert_string_equal(json_string_value(json_object_get(j, "oldestCreationTime")), oldest);
    assert_string_equal(json_string_value(json_object_get(j, "newestCreationTime")), newest);
    json_decref(j);
    response_done(&r);
}

static void test_stats_empty(void **state)
{
    struct fixture f;
    struct response r;

    assert_int_equal(fixture_start(&f, 0, 0600, NULL), 0);
    request(&f, "GET", "/v1/stats", &r);
    assert_int_equal(r.status, 200);
    json_t *j = body_json(&r);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 0);
    assert_true(json_is_null(json_object_get(j, "oldestCreationTime")));
    assert_true(json_is_null(json_object_get(j, "newestCreationTime")));
    json_decref(j);
    response_done(&r);

    request(&f, "GET", "/model-copy-jobs", &r);
    assert_int_equal(r.status, 200);
    j = body_json(&r);
    assert_int_equal(json_array_size(json_object_get(j, "modelCopyJobSummaries")), 0);
    assert_null(json_object_get(j, "nextToken"));
    json_decref(j);
    response_done(&r);
    fixture_stop(&f);
}

static void expect_health_jobs(struct fixture *f, long status, const char *state, bool synced,
                               uint64_t jobs, bool attempted)
{
    struct response r;

    request(f, "GET", "/v1/health", &r);
    assert_int_equal(r.status, status);
    json_t *j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "state")), state);
    assert_int_equal(json_integer_value(json_object_get(j, "jobs")), jobs);
    assert_int_equal(json_is_string(json_object_get(j, "lastSuccessfulSync")), synced);
    assert_int_equal(json_is_string(json_object_get(j, "lastAttempt")), attempted);
    assert_true(json_is_null(json_object_get(j, "lastError")));
    json_decref(j);
    response_done(&r);
}

static void expect_health(struct fixture *f, long status, const char *state, bool synced)
{
    expect_health_jobs(f, status, state, synced, N_JOBS, false);
}

static void test_health(void **state)
{
    struct fixture *f = *state;

    expect_health(f, 503, "starting", false);
    assert_int_equal(cj_store_set_synced_at(f->s.store, "us-east-1", cj_now_ns()), 0);
    expect_health(f, 200, "ok", true);
    /* older than 3 x full_interval (15 min) */
    assert_int_equal(
        cj_store_set_synced_at(f->s.store, "us-east-1", cj_now_ns() - 46 * 60 * CJ_NSEC_PER_SEC),
        0);
    expect_health(f, 503, "stale", true);
}

/* ---- connections ---- */

static void test_keep_alive(void **state)
{
    struct fixture *f = *state;
    struct response r;
    char buf[64];

    request(f, "GET", "/v1/stats", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.num_connects, 1);
    assert_null(header(&r, "Connection", buf, sizeof(buf)));
    response_done(&r);
    for (int i = 0; i < 3; i++) {
        request(f, "GET", i == 1 ? "/model-copy-jobs?maxResults=2" : "/v1/health", &r);
        assert_int_equal(r.num_connects, 0); /* the same connection again */
        response_done(&r);
    }
    /* an error answer keeps it too */
    request(f, "GET", "/model-copy-jobs?maxResults=0", &r);
    assert_int_equal(r.status, 400);
    assert_int_equal(r.num_connects, 0);
    response_done(&r);
    request(f, "GET", "/v1/stats", &r);
    assert_int_equal(r.num_connects, 0);
    response_done(&r);
}

/* ---- sockets ---- */

static void test_socket_modes(void **state)
{
    static const mode_t modes[] = {0660, 0600, 0666};

    for (size_t i = 0; i < ELEMENTSOF(modes); i++) {
        struct fixture f;
        struct stat st;

        assert_int_equal(fixture_start(&f, 0, modes[i], NULL), 0);
        assert_int_equal(lstat(f.s.socket_path, &st), 0);
        assert_true(S_ISSOCK(st.st_mode));
        assert_int_equal(st.st_mode & 07777, modes[i]);
        char path[sizeof(f.s.socket_path)];
        memcpy(path, f.s.socket_path, sizeof(path));
        struct response r;
        request(&f, "GET", "/v1/health", &r);
        assert_int_equal(r.status, 503);
        response_done(&r);
        fixture_stop(&f);
        assert_int_equal(lstat(path, &st), -1); /* removed on free */
        assert_int_equal(errno, ENOENT);
    }
}

static void test_stale_socket_replaced(void **state)
{
    struct fixture f;
    char dir[128], path[200];
    struct stat st;

    /* a socket file nobody listens on, as a crashed daemon leaves it */
    snprintf(dir, sizeof(dir), "%s/stale", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/run", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/run/api.sock", dir);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    set_sun_path(&sa, path);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
    assert_int_equal(lstat(path, &st), 0);

    /* fixture_start uses <tmpdir>/fN/run/api.sock; point it at the stale one instead */
    memset(&f, 0, sizeof(f));
    f.s.settings.sync.full_interval_usec = 60 * CJ_USEC_PER_SEC;
    f.s.settings.server.socket = path;
    f.s.settings.server.socket_mode = 0600;
    f.s.settings.server.max_connections = 4;
    memcpy(f.s.socket_path, path, sizeof(path));
    struct cj_store_options o = {.directory = dir, .max_size = 64 * 1024 * 1024};
    assert_int_equal(cj_store_open(&o, &f.s.store), 0);
    assert_int_equal(sd_event_new(&f.s.event), 0);
    f.multi = curl_multi_init();
    assert_int_equal(server_fixture_serve(&f.s), 0);
    struct response r;
    request(&f, "GET", "/v1/stats", &r);
    assert_int_equal(r.status, 200);
    response_done(&r);

    /* a second server on the same, live, path is refused and leaves it alone */
    struct cj_server *second = NULL;
    assert_true(cj_server_new(f.s.event, f.s.store, NULL, &f.s.settings, &second) < 0);
    assert_null(second);
    request(&f, "GET", "/v1/stats", &r);
    assert_int_equal(r.status, 200);
    response_done(&r);
    fixture_stop(&f);
}

static void expect_refused_at_path(const char *kind)
{
    char dir[128], path[200];
    struct stat before, after;
    sd_event *event;
    struct cj_store *store;
    struct cj_server *server = NULL;
    static unsigned counter;

    snprintf(dir, sizeof(dir), "%s/refuse%u", tmpdir, ++counter);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/api.sock", dir);
    if (strcmp(kind, "file") == 0) {
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fputs("precious", fp);
        fclose(fp);
    } else if (strcmp(kind, "symlink") == 0) {
        assert_int_equal(symlink("/nonexistent/target", path), 0);
    } else {
        assert_int_equal(mkdir(path, 0700), 0);
    }
    assert_int_equal(lstat(path, &before), 0);

    struct cj_settings settings = {0};
    settings.server.socket = path;
    settings.server.socket_mode = 0660;
    settings.server.max_connections = 4;
    struct cj_store_options o = {.directory = dir, .max_size = 64 * 1024 * 1024};
    assert_int_equal(cj_store_open(&o, &store), 0);
    assert_int_equal(sd_event_new(&event), 0);
    assert_true(cj_server_new(event, store, NULL, &settings, &server) < 0);
    assert_null(server);

    assert_int_equal(lstat(path, &after), 0);
    assert_true(before.st_ino == after.st_ino);
    assert_int_equal(before.st_mode, after.st_mode);
    if (strcmp(kind, "file") == 0) {
        char content[32] = "";
        FILE *fp = fopen(path, "r");
        assert_non_null(fp);
        assert_non_null(fgets(content, sizeof(content), fp));
        fclose(fp);
        assert_string_equal(content, "precious");
    }
    sd_event_unref(event);
    cj_store_close(store);
}

static void test_refuses_non_socket(void **state)
{
    expect_refused_at_path("file");
    expect_refused_at_path("symlink");
    expect_refused_at_path("directory");
}

/* ---- TCP ---- */

static void test_tcp_listener(void **state)
{
    struct fixture f;
    char spec[64], url[128];
    struct response r;

    unsigned short port = free_port();
    snprintf(spec, sizeof(spec), "127.0.0.1:%u", port);
    assert_int_equal(fixture_start(&f, 3, 0660, spec), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/stats", port);
    request_full(&f, NULL, url, "GET", NULL, 0, &r);
    assert_int_equal(r.status, 200);
    json_t *j = body_json(&r);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 3);
    json_decref(j);
    response_done(&r);
    /* and the Unix socket as well */
    request(&f, "GET", "/v1/stats", &r);
    assert_int_equal(r.status, 200);
    response_done(&r);
    fixture_stop(&f);

    static const char *const refused[] = {
        "0.0.0.0:7605", "192.0.2.1:7605",  "[::]:7605", "[2001:db8::1]:7605", "127.0.0.1",
        "127.0.0.1:0",  "127.0.0.1:70000", "::1:7605",  "127.0.0.1:80x",      ":7605",
    };
    for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
        int rc = fixture_start(&f, 0, 0660, refused[i]);
        if (rc >= 0)
            fail_msg("listen_tcp '%s' was accepted", refused[i]);
        struct stat st;
        assert_int_equal(lstat(f.s.socket_path, &st), -1); /* nothing left behind */
        f.s.server = NULL;
        fixture_stop(&f);
    }
}

/* ---- POST /v1/sync with a real sync engine against a minimal fake Bedrock ---- */

struct fake_bedrock {
    struct MHD_Daemon *mhd;
    unsigned short port;
    volatile int fail; /* answer 400 ValidationException */
    volatile int requests;
    volatile int slow; /* hold each answer back, so that a pass is in flight for a while */
};

static enum MHD_Result fake_handler(void *cls, struct MHD_Connection *c, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **req_cls)
{
    struct fake_bedrock *fb = cls;
    static int first_call_marker;

    if (!*req_cls) {
        *req_cls = &first_call_marker;
        return MHD_YES;
    }
    __atomic_add_fetch(&fb->requests, 1, __ATOMIC_SEQ_CST);
    if (fb->slow)
        usleep(1500 * 1000);
    const char *body = fb->fail ? "{\"message\":\"bad filter\"}" : "{\"modelCopyJobSummaries\":[]}";
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, "Content-Type", "application/json");
    if (fb->fail)
        MHD_add_response_header(resp, "x-amzn-ErrorType", "ValidationException");
    enum MHD_Result ret = MHD_queue_response(c, fb->fail ? 400 : 200, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void fake_start(struct fake_bedrock *fb)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    memset(fb, 0, sizeof(*fb));
    fb->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
                               fake_handler, fb, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_END);
    assert_non_null(fb->mhd);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(fb->mhd, MHD_DAEMON_INFO_BIND_PORT);
    assert_non_null(info);
    fb->port = info->port;
}

static void test_sync(void **state)
{
    struct fixture f;
    struct fake_bedrock fb;
    struct cj_sync_set *syncs = NULL;
    struct response r;
    char endpoint[64];

    fake_start(&fb);
    assert_int_equal(fixture_start(&f, N_JOBS, 0600, NULL), 0);
    cj_server_free(f.s.server);
    f.s.server = NULL;

    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%u", fb.port);
    f.s.settings.aws.region = (char *)"us-east-1";
    f.s.settings.aws.endpoint = endpoint;
    f.s.settings.sync.interval_usec = 60 * CJ_USEC_PER_SEC;
    f.s.settings.sync.page_size = 1000;
    f.s.settings.sync.max_requests_per_second = 1000;
    f.s.settings.sync.timeout_usec = 10 * CJ_USEC_PER_SEC;
    /* One source, named after its region; its keys from the environment, looked up by the
     * sync, and STS (its account) refused at once. */
    struct cj_source_settings source = {
        .name = (char *)FIXTURE_SOURCE,
        .region = (char *)"us-east-1",
        .endpoint = endpoint,
    };
    f.s.settings.sources = &source;
    f.s.settings.n_sources = 1;
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9", 1);
    assert_int_equal(cj_sync_set_new(f.s.event, f.s.store, &f.s.settings, &syncs), 0);
    assert_int_equal(cj_server_new(f.s.event, f.s.store, syncs, &f.s.settings, &f.s.server), 0);

    /* quick pass, waited for: nothing changes, the result says ok */
    request(&f, "POST", "/v1/sync?wait=true", &r);
    if (r.status != 200)
        fail_msg("sync wait: %ld %.300s", r.status, r.body.data);
    json_t *j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "result")), "ok");
    assert_true(json_is_null(json_object_get(j, "error")));
    /* The fake lists nothing: a quick pass changes nothing, a full one removes every job. */
    struct cj_store_stats st;
    assert_int_equal(cj_store_stats(f.s.store, &st), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "jobs")), st.total);
    json_t *per_source = json_object_get(json_object_get(j, "sources"), FIXTURE_SOURCE);
    assert_string_equal(json_string_value(json_object_get(per_source, "result")), "ok");
    assert_true(json_is_null(json_object_get(per_source, "error")));
    json_t *changes = json_object_get(j, "changes");
    assert_true(json_is_object(changes));
    assert_int_equal(json_integer_value(json_object_get(changes, "created")), 0);
    assert_int_equal(json_integer_value(json_object_get(changes, "updated")), 0);
    assert_int_equal(json_integer_value(json_object_get(changes, "removed")), N_JOBS - st.total);
    json_decref(j);
    response_done(&r);
    assert_true(fb.requests >= 1);
    expect_health_jobs(&f, 200, "ok", true, st.total, true);

    /* stats and metrics per source */
    request(&f, "GET", "/v1/stats", &r);
    assert_int_equal(r.status, 200);
    j = body_json(&r);
    per_source = json_object_get(json_object_get(j, "sources"), FIXTURE_SOURCE);
    assert_string_equal(json_string_value(json_object_get(per_source, "region")), "us-east-1");
    assert_true(json_is_null(json_object_get(per_source, "account"))); /* STS refused */
    assert_int_equal(json_integer_value(json_object_get(per_source, "total")), st.total);
    assert_true(json_is_string(json_object_get(per_source, "lastSuccessfulSync")));
    json_decref(j);
    response_done(&r);
    request(&f, "GET", "/metrics", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body.data,
                           "\ncopyjobd_syncs_total{source=\"" FIXTURE_SOURCE "\",kind=\"full\","
                           "result=\"ok\"} 1\n"));
    assert_non_null(strstr(r.body.data, "\ncopyjobd_api_calls_total{source=\"" FIXTURE_SOURCE
                                        "\",operation=\"ListModelCopyJobs\"} "));
    response_done(&r);

    /* the cache answers now say how old they are */
    char buf[64];
    request(&f, "GET", "/model-copy-jobs?maxResults=1", &r);
    assert_non_null(header(&r, "Age", buf, sizeof(buf)));
    assert_non_null(header(&r, "x-copyjobd-synced-at", buf, sizeof(buf)));
    response_done(&r);

    /* not waited for: 202 at once */
    request(&f, "POST", "/v1/sync", &r);
    assert_int_equal(r.status, 202);
    j = body_json(&r);
    assert_true(json_is_boolean(json_object_get(j, "started")));
    json_decref(j);
    response_done(&r);

    /* a failing pass: joined (or started) and reported, health degraded */
    fb.fail = 1;
    request(&f, "POST", "/v1/sync?wait=true&full=false", &r);
    assert_int_equal(r.status, 200);
    j = body_json(&r);
    const char *result = json_string_value(json_object_get(j, "result"));
    assert_non_null(result);
    bool joined_ok = strcmp(result, "ok") == 0;
    if (!joined_ok) {
        json_t *err = json_object_get(j, "error");
        assert_string_equal(json_string_value(json_object_get(err, "type")), "ValidationException");
        assert_true(json_is_string(json_object_get(err, "message")));
    }
    json_decref(j);
    response_done(&r);
    if (joined_ok) {
        /* the wait joined the earlier, successful pass: wait for a fresh one */
        request(&f, "POST", "/v1/sync?wait=true", &r);
        j = body_json(&r);
        assert_string_equal(json_string_value(json_object_get(j, "result")), "failed");
        json_decref(j);
        response_done(&r);
    }
    request(&f, "GET", "/v1/health", &r);
    assert_int_equal(r.status, 503);
    j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "degraded");
    per_source = json_object_get(json_object_get(j, "sources"), FIXTURE_SOURCE);
    assert_string_equal(json_string_value(json_object_get(per_source, "state")), "degraded");
    assert_true(json_is_object(json_object_get(per_source, "lastError")));
    assert_true(json_is_object(json_object_get(j, "lastError")));
    assert_true(json_is_string(json_object_get(json_object_get(j, "lastError"), "type")));
    assert_true(json_is_string(json_object_get(j, "lastAttempt")));
    json_decref(j);
    response_done(&r);

    /* a waiter still suspended when the server goes away gets its answer, not a hang */
    fb.fail = 0;
    fb.slow = 1;
    CURL *easy = curl_easy_init();
    struct response pending = {0};
    curl_easy_setopt(easy, CURLOPT_URL, "http://localhost/v1/sync?wait=true");
    curl_easy_setopt(easy, CURLOPT_UNIX_SOCKET_PATH, f.s.socket_path);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, 0L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &pending.body);
    assert_int_equal(curl_multi_add_handle(f.multi, easy), CURLM_OK);
    int running = 1;
    for (int i = 0; i < 5 && running; i++) {
        curl_multi_perform(f.multi, &running);
        curl_multi_poll(f.multi, NULL, 0, 5, NULL);
    }
    /* let the server read it (no sync progress is made without the loop running long) */
    for (int i = 0; i < 3; i++)
        sd_event_run(f.s.event, 0);
    cj_server_free(f.s.server);
    f.s.server = NULL;
    int64_t deadline = mono_ns() + REQUEST_TIMEOUT_NS;
    while (running && mono_ns() < deadline) {
        curl_multi_perform(f.multi, &running);
        curl_multi_poll(f.multi, NULL, 0, 10, NULL);
    }
    assert_int_equal(running, 0);
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    assert_int_equal(status, 503);
    assert_non_null(strstr(pending.body.data, "stopping"));
    curl_multi_remove_handle(f.multi, easy);
    curl_easy_cleanup(easy);
    response_done(&pending);

    cj_sync_set_free(syncs);
    f.s.settings.sources = NULL;
    f.s.settings.n_sources = 0;
    fixture_stop(&f);
    MHD_stop_daemon(fb.mhd);
}

/* Two sources, one of which never reaches its endpoint: the round, health, stats and the Age
 * of each answer say which is which. */
static void test_sync_two_sources(void **state)
{
    struct fixture f;
    struct fake_bedrock fb;
    struct cj_sync_set *syncs = NULL;
    struct response r;
    char endpoint[64], buf[64];

    fake_start(&fb);
    assert_int_equal(fixture_start(&f, N_JOBS, 0600, NULL), 0);
    cj_server_free(f.s.server);
    f.s.server = NULL;

    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%u", fb.port);
    f.s.settings.sync.interval_usec = 60 * CJ_USEC_PER_SEC;
    f.s.settings.sync.page_size = 1000;
    f.s.settings.sync.max_requests_per_second = 1000;
    f.s.settings.sync.timeout_usec = 10 * CJ_USEC_PER_SEC;
    f.s.settings.test.has_retry_base_usec = true;
    f.s.settings.test.retry_base_usec = 10 * 1000;
    struct cj_source_settings sources[] = {
        {.name = (char *)FIXTURE_SOURCE, .region = (char *)"us-east-1", .endpoint = endpoint},
        {.name = (char *)"west",
         .region = (char *)"us-west-2",
         .endpoint = (char *)"http://127.0.0.1:9"},
    };
    f.s.settings.sources = sources;
    f.s.settings.n_sources = 2;
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9", 1);
    assert_int_equal(cj_sync_set_new(f.s.event, f.s.store, &f.s.settings, &syncs), 0);
    assert_int_equal(cj_server_new(f.s.event, f.s.store, syncs, &f.s.settings, &f.s.server), 0);

    /* The round fails as a whole with the failing source's error, and says per source. */
    request(&f, "POST", "/v1/sync?wait=true", &r);
    assert_int_equal(r.status, 200);
    json_t *j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "result")), "failed");
    json_t *err = json_object_get(j, "error");
    assert_string_equal(json_string_value(json_object_get(err, "type")), "NetworkError");
    assert_true(strncmp(json_string_value(json_object_get(err, "message")), "source west: ", 13) ==
                0);
    json_t *per = json_object_get(j, "sources");
    assert_int_equal(json_object_size(per), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(per, FIXTURE_SOURCE), "result")), "ok");
    json_t *west = json_object_get(per, "west");
    assert_string_equal(json_string_value(json_object_get(west, "result")), "failed");
    assert_string_equal(json_string_value(json_object_get(json_object_get(west, "error"), "type")),
                        "NetworkError");
    json_decref(j);
    response_done(&r);

    /* Health: the worst source's state on top, each source's own below. */
    request(&f, "GET", "/v1/health", &r);
    assert_int_equal(r.status, 503);
    j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "starting");
    assert_non_null(
        strstr(json_string_value(json_object_get(json_object_get(j, "lastError"), "message")),
               "source west: "));
    assert_true(json_is_null(json_object_get(j, "lastSuccessfulSync")));
    per = json_object_get(j, "sources");
    json_t *east = json_object_get(per, FIXTURE_SOURCE);
    assert_string_equal(json_string_value(json_object_get(east, "state")), "ok");
    assert_true(json_is_null(json_object_get(east, "lastError")));
    assert_true(json_is_string(json_object_get(east, "lastSuccessfulSync")));
    west = json_object_get(per, "west");
    assert_string_equal(json_string_value(json_object_get(west, "state")), "starting");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(west, "lastError"), "type")),
        "NetworkError");
    assert_int_equal(json_integer_value(json_object_get(west, "jobs")), 0);
    json_decref(j);
    response_done(&r);

    /* Stats: both sources, west empty. */
    request(&f, "GET", "/v1/stats", &r);
    j = body_json(&r);
    west = json_object_get(json_object_get(j, "sources"), "west");
    assert_string_equal(json_string_value(json_object_get(west, "region")), "us-west-2");
    assert_int_equal(json_integer_value(json_object_get(west, "total")), 0);
    assert_true(json_is_null(json_object_get(west, "lastSuccessfulSync")));
    json_decref(j);
    response_done(&r);

    /* Age: what covers west has none (never synced); what covers only us-east-1 has. */
    request(&f, "GET", "/model-copy-jobs?maxResults=1", &r);
    assert_int_equal(r.status, 200);
    assert_null(header(&r, "Age", buf, sizeof(buf)));
    response_done(&r);
    request(&f, "GET", "/model-copy-jobs?maxResults=1&jobRegionEquals=us-west-2", &r);
    assert_int_equal(r.status, 200);
    assert_null(header(&r, "Age", buf, sizeof(buf)));
    response_done(&r);
    request(&f, "GET", "/model-copy-jobs?maxResults=1&jobRegionEquals=us-east-1", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(header(&r, "Age", buf, sizeof(buf)));
    assert_non_null(header(&r, "x-copyjobd-synced-at", buf, sizeof(buf)));
    response_done(&r);
    request(&f, "GET", "/model-copy-jobs/" ARN_PREFIX "job000000001", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(header(&r, "Age", buf, sizeof(buf)));
    response_done(&r);
    request(&f, "GET", "/v1/stats", &r);
    assert_null(header(&r, "Age", buf, sizeof(buf)));
    response_done(&r);

    cj_server_free(f.s.server);
    f.s.server = NULL;
    cj_sync_set_free(syncs);
    f.s.settings.sources = NULL;
    f.s.settings.n_sources = 0;
    fixture_stop(&f);
    MHD_stop_daemon(fb.mhd);
}

/* ---- socket activation ---- */

static void serve_passed_fd_child(const char *dir, int listen_fd)
{
    char path[200], pid[32];
    sigset_t mask;

    /* as systemd passes it: fd 3, LISTEN_PID = us, LISTEN_FDS = 1 */
    if (listen_fd != 3 && dup2(listen_fd, 3) < 0)
        _exit(10);
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    setenv("LISTEN_PID", pid, 1);
    setenv("LISTEN_FDS", "1", 1);

    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, NULL);

    sd_event *event = NULL;
    struct cj_store *store = NULL;
    struct cj_server *server = NULL;
    struct cj_store_options o = {.directory = dir, .max_size = 64 * 1024 * 1024};
    struct cj_settings settings = {0};
    snprintf(path, sizeof(path), "%s/not-created.sock", dir);
    settings.server.socket = path;
    settings.server.socket_mode = 0600;
    settings.server.max_connections = 4;

    if (cj_store_open(&o, &store) < 0 || sd_event_new(&event) < 0)
        _exit(11);
    fill_store(store, 5);
    if (cj_server_new(event, store, NULL, &settings, &server) < 0)
        _exit(12);
    if (getenv("LISTEN_FDS"))
        _exit(13); /* sd_listen_fds(1) must unset it */
    if (sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL) < 0)
        _exit(14);
    /* bounded even if the parent dies */
    if (sd_event_add_time_relative(event, NULL, CLOCK_MONOTONIC, 30 * CJ_USEC_PER_SEC, 0, NULL,
                                   NULL) < 0)
        _exit(15);
    int r = sd_event_loop(event);
    cj_server_free(server);
    struct stat st;
    int created = lstat(path, &st) == 0;
    cj_store_close(store);
    sd_event_unref(event);
    _exit(r < 0 ? 16 : created ? 17 : 0);
}

static void test_socket_activation(void **state)
{
    char dir[128], path[200], url[64];
    struct response r;

    snprintf(dir, sizeof(dir), "%s/activated", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/passed.sock", dir);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    set_sun_path(&sa, path);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 16), 0);

    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        serve_passed_fd_child(dir, fd);
    close(fd);

    snprintf(url, sizeof(url), "http://localhost/v1/stats");
    request_full(NULL, path, url, "GET", NULL, 0, &r);
    assert_int_equal(r.status, 200);
    json_t *j = body_json(&r);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 5);
    json_decref(j);
    response_done(&r);
    request_full(NULL, path, "http://localhost/model-copy-jobs?maxResults=2", "GET", NULL, 0, &r);
    assert_int_equal(r.status, 200);
    response_done(&r);

    int status = 0;
    kill(child, SIGTERM);
    for (int i = 0; i < 2000; i++) {
        pid_t w = waitpid(child, &status, WNOHANG);
        if (w == child)
            break;
        assert_int_equal(w, 0);
        if (i == 1999) {
            kill(child, SIGKILL);
            waitpid(child, &status, 0);
            fail_msg("the child did not stop");
        }
        usleep(10000);
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* the passed socket is systemd's: still there */
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
}

static int group_setup(void **state)
{
    assert_non_null(mkdtemp(tmpdir));
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (getenv("CJ_TEST_DEBUG"))
        cj_log_set_max_level(LOG_DEBUG);
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_PID");
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    int rc = system(cmd);
    curl_global_cleanup();
    return rc == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_list_filters_and_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
        cmocka_unit_test(test_stats_empty),
        cmocka_unit_test_setup_teardown(test_health, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_alive, setup, teardown),
        cmocka_unit_test(test_socket_modes),
        cmocka_unit_test(test_stale_socket_replaced),
        cmocka_unit_test(test_refuses_non_socket),
        cmocka_unit_test(test_tcp_listener),
        cmocka_unit_test(test_sync),
        cmocka_unit_test(test_sync_two_sources),
        cmocka_unit_test(test_socket_activation),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
