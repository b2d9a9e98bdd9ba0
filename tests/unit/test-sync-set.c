/* SPDX-License-Identifier: MIT */
/* The syncs of several sources side by side, with real parts: a real LMDB store in a temp dir,
 * libcurl in sd-event, one canned-response HTTP server on 127.0.0.1 per source, the real
 * credential chain (environment, shared files, a slow credential_process). What is checked:
 * a source that hangs, is throttled or waits for its credentials never holds another back;
 * rounds end when every source's pass has; duplicates sync nothing; Age's source choice;
 * sources added and removed by a reconfigure, and stale ones dropped at start. Every wait has
 * a deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <ftw.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <time.h>

#include "cj-time.h"
#include "sync-set.h"
#include "test-httpd.h"
#include "test-util.h"

#define KEY_ID "AKIDTESTSYNCSET01"
#define SECRET "syncset/test+secret=KEYexample0123456789"

#define ARN(r, x) "arn:aws:bedrock:" r ":123456789012:model-copy-job/aaaaaaaaaa" x
#define JOB(r, x, t)                                                                               \
    "{\"jobArn\":\"" ARN(r, x) "\",\"status\":\"Completed\",\"creationTime\":\"" t "\","           \
                               "\"targetModelArn\":\"arn:aws:bedrock:" r                           \
                               ":123456789012:custom-model/amazon.titan-text-express-v1:0:8k/"     \
                               "abcdefghijkl\",\"targetModelName\":\"copy-" x "\","                \
                               "\"sourceAccountId\":\"210987654321\",\"sourceModelArn\":\"arn:"    \
                               "aws:bedrock:us-west-2:210987654321:custom-model/"                  \
                               "amazon.titan-text-express-v1:0:8k/abcdefghijkl\"}"
#define PAGE(r, x) "{\"modelCopyJobSummaries\":[" JOB(r, x, "2024-05-03T00:00:00Z") "]}"
#define EMPTY_PAGE "{\"modelCopyJobSummaries\":[]}"
#define THROTTLED                                                                                  \
    (struct httpd_response)                                                                        \
    {                                                                                              \
        .status = 429, .headers = "x-amzn-ErrorType: ThrottlingException\r\n",                     \
        .body = "{\"message\":\"Rate exceeded\"}"                                                  \
    }

#define N_SOURCES_MAX 3

struct fixture {
    char dir[64];
    sd_event *event;
    struct cj_store *store;
    struct cj_sync_set *set;
    struct httpd httpd[N_SOURCES_MAX];
    char endpoint[N_SOURCES_MAX][64];
    struct cj_source_settings sources[N_SOURCES_MAX];
    struct cj_settings settings;
    unsigned passes;
    unsigned rounds;
    struct cj_sync_round_result round; /* the last one */
};

static void on_pass(struct cj_sync_set *set, struct cj_sync *sync, int result, void *userdata)
{
    struct fixture *f = userdata;
    f->passes++;
}

static void on_round(struct cj_sync_set *set, const struct cj_sync_round_result *res,
                     void *userdata)
{
    struct fixture *f = userdata;
    f->rounds++;
    cj_sync_round_result_done(&f->round);
    assert_int_equal(cj_sync_round_result_copy(res, &f->round), 0);
}

static const char *const names[N_SOURCES_MAX] = {"alpha", "beta", "gamma"};
static const char *const regions[N_SOURCES_MAX] = {"us-east-1", "us-west-2", "eu-west-1"};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/cj-test-sync-set-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(sd_event_new(&f->event), 0);
    struct cj_store_options o = {.directory = f->dir, .max_size = 256ull << 20};
    assert_int_equal(cj_store_open(&o, &f->store), 0);
    for (int i = 0; i < N_SOURCES_MAX; i++) {
        assert_int_equal(httpd_start(&f->httpd[i]), 0);
        snprintf(f->endpoint[i], sizeof(f->endpoint[i]), "http://127.0.0.1:%d", f->httpd[i].port);
        f->sources[i] = (struct cj_source_settings){
            .name = (char *)names[i],
            .region = (char *)regions[i],
            .endpoint = f->endpoint[i],
            .role_session_name = (char *)"copyjobd",
        };
    }
    f->settings.test.has_retry_base_usec = true;
    f->settings.test.retry_base_usec = 10 * 1000;
    f->settings.sync.interval_usec = 3600 * CJ_USEC_PER_SEC;
    f->settings.sync.full_interval_usec = 3600 * CJ_USEC_PER_SEC;
    f->settings.sync.page_size = 1000;
    f->settings.sync.max_requests_per_second = 1000;
    f->settings.sync.timeout_usec = 20 * CJ_USEC_PER_SEC;
    f->settings.sources = f->sources;
    f->settings.n_sources = 2;
    setenv("AWS_ACCESS_KEY_ID", KEY_ID, 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    cj_sync_set_free(f->set);
    cj_sync_round_result_done(&f->round);
    cj_store_close(f->store);
    sd_event_unref(f->event);
    for (int i = 0; i < N_SOURCES_MAX; i++)
        httpd_stop(&f->httpd[i]);
    test_rm_tree(f->dir);
    free(f);
    return 0;
}

static void set_create(struct fixture *f)
{
    assert_int_equal(cj_sync_set_new(f->event, f->store, &f->settings, &f->set), 0);
    assert_int_equal(cj_sync_set_add_pass_callback(f->set, on_pass, f), 0);
    assert_int_equal(cj_sync_set_add_round_callback(f->set, on_round, f), 0);
}

static struct cj_sync_status status_of(struct fixture *f, const char *name)
{
    struct cj_sync_status st;
    struct cj_sync *s = cj_sync_set_find(f->set, name);
    assert_non_null(s);
    cj_sync_get_status(s, &st);
    return st;
}

/* Runs the loop until source `name` has finished `passes` passes, or the deadline. */
static void run_until_source(struct fixture *f, const char *name, uint64_t passes,
                             uint64_t timeout_ms)
{
    uint64_t deadline = test_mono_ms() + timeout_ms;
    for (;;) {
        struct cj_sync_status st = status_of(f, name);
        if (st.passes_ok + st.passes_failed >= passes)
            return;
        if (test_mono_ms() >= deadline)
            fail_msg("source %s did not finish %" PRIu64 " passes within %" PRIu64 " ms", name,
                     passes, timeout_ms);
        assert_true(sd_event_run(f->event, 50 * 1000) >= 0);
    }
}

static bool store_has(struct fixture *f, const char *arn)
{
    struct cj_buf b = {0};
    int r = cj_store_get(f->store, arn, &b);
    cj_buf_free(&b);
    assert_true(r == 0 || r == -ENOENT);
    return r == 0;
}

/* ---- one source never holds another back ---- */

static void test_hanging_source_holds_nothing(void **state)
{
    struct fixture *f = *state;
    httpd_push(&f->httpd[0], (struct httpd_response){.action = HTTPD_HANG});
    httpd_push(&f->httpd[1],
               (struct httpd_response){.status = 200, .body = PAGE("us-west-2", "b1")});
    set_create(f);

    uint64_t t0 = test_mono_ms();
    assert_int_equal(cj_sync_set_trigger(f->set, true), 0);
    run_until_source(f, "beta", 1, 10000);
    assert_true(test_mono_ms() - t0 < 10000);
    struct cj_sync_status a = status_of(f, "alpha"), b = status_of(f, "beta");
    assert_true(a.running);
    assert_int_equal(a.passes_ok + a.passes_failed, 0);
    assert_int_equal(b.last_result, 0);
    assert_string_equal(b.name, "beta");
    assert_string_equal(b.region, "us-west-2");
    assert_true(store_has(f, ARN("us-west-2", "b1")));
    /* The answers that cover alpha have no age yet; beta's alone have beta's. */
    assert_int_equal(cj_sync_set_last_success_ns(f->set, NULL, NULL), 0);
    assert_int_equal(cj_sync_set_last_success_ns(f->set, "us-east-1", NULL), 0);
    assert_int_equal(cj_sync_set_last_success_ns(f->set, "us-west-2", NULL), b.last_success_ns);
    assert_int_equal(cj_sync_set_last_success_ns(f->set, "us-west-2", "123456789012"),
                     b.last_success_ns);

    /* A round: alpha's running pass answers its part, beta starts a quick one. */
    httpd_push(&f->httpd[1], (struct httpd_response){.status = 200, .body = EMPTY_PAGE});
    httpd_push(&f->httpd[1], (struct httpd_response){.status = 200, .body = EMPTY_PAGE});
    struct cj_sync_round_ticket t;
    assert_int_equal(cj_sync_set_request(f->set, false, &t), 0);
    assert_true(t.round > 0);
    assert_true(t.started);
    assert_true(t.joined);
    assert_int_equal(f->rounds, 0); /* never inside the request */
    run_until_source(f, "beta", 2, 10000);
    assert_int_equal(status_of(f, "beta").last_result, 0);
    assert_int_equal(f->rounds, 0); /* alpha still runs */

    /* Ending alpha ends the round: its failure is the round's, beta's part is ok. */
    cj_sync_set_cancel(f->set);
    assert_int_equal(f->rounds, 1);
    assert_int_equal(f->round.round, t.round);
    assert_int_equal(f->round.n, 2);
    assert_true(f->round.result < 0);
    assert_int_equal(f->round.first_failed, 0);
    assert_string_equal(f->round.sources[0].name, "alpha");
    assert_string_equal(f->round.sources[0].error_type, "Cancelled");
    assert_string_equal(f->round.sources[1].name, "beta");
    assert_int_equal(f->round.sources[1].result, 0);
}

static void test_throttled_source_holds_nothing(void **state)
{
    struct fixture *f = *state;
    /* alpha's backoff waits up to 2 s between its tries (random: both waits below beta's
     * few milliseconds is a chance of about 1e-6). */
    f->settings.test.retry_base_usec = 2000 * 1000;
    f->settings.test.has_retry_cap_usec = true;
    f->settings.test.retry_cap_usec = 2000 * 1000;
    for (int i = 0; i < 3; i++)
        httpd_push(&f->httpd[0], THROTTLED);
    httpd_push(&f->httpd[1],
               (struct httpd_response){.status = 200, .body = PAGE("us-west-2", "b1")});
    set_create(f);

    assert_int_equal(cj_sync_set_trigger(f->set, true), 0);
    run_until_source(f, "beta", 1, 10000);
    assert_int_equal(status_of(f, "beta").last_result, 0);
    struct cj_sync_status a = status_of(f, "alpha");
    if (a.passes_ok + a.passes_failed > 0) /* only if beta took longer than alpha's retries */
        fail_msg("beta's pass ended after throttled alpha gave up");
    run_until_source(f, "alpha", 1, 20000);
    a = status_of(f, "alpha");
    assert_string_equal(a.last_error_type, "ThrottlingException");
    assert_int_equal(a.api_calls, 3);
    assert_int_equal(status_of(f, "beta").api_calls, 1);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_source_waiting_for_credentials_holds_nothing(void **state)
{
    struct fixture *f = *state;
    char config[128], credentials[128], script[128], text[512];

    /* No keys in the environment: alpha's profile runs a credential_process that takes 2 s,
     * beta's has static keys. */
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    snprintf(script, sizeof(script), "%s/slow-credentials", f->dir);
    write_file(script,
               "#!/bin/sh\nsleep 2\necho '{\"Version\":1,\"AccessKeyId\":\"" KEY_ID
               "\",\"SecretAccessKey\":\"" SECRET "\"}'\n",
               0700);
    snprintf(config, sizeof(config), "%s/config", f->dir);
    snprintf(text, sizeof(text), "[profile slow]\ncredential_process = %s\n", script);
    write_file(config, text, 0600);
    snprintf(credentials, sizeof(credentials), "%s/credentials", f->dir);
    write_file(credentials,
               "[fast]\naws_access_key_id = " KEY_ID "\naws_secret_access_key = " SECRET "\n",
               0600);
    setenv("AWS_CONFIG_FILE", config, 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", credentials, 1);
    f->sources[0].profile = (char *)"slow";
    f->sources[1].profile = (char *)"fast";
    httpd_push(&f->httpd[0],
               (struct httpd_response){.status = 200, .body = PAGE("us-east-1", "a1")});
    httpd_push(&f->httpd[1],
               (struct httpd_response){.status = 200, .body = PAGE("us-west-2", "b1")});
    set_create(f);

    uint64_t t0 = test_mono_ms();
    assert_int_equal(cj_sync_set_trigger(f->set, true), 0);
    run_until_source(f, "beta", 1, 10000);
    uint64_t beta_ms = test_mono_ms() - t0;
    struct cj_sync_status a = status_of(f, "alpha");
    assert_int_equal(status_of(f, "beta").last_result, 0);
    if (beta_ms < 1500) {
        /* alpha's lookup is still out: it has sent nothing yet */
        assert_true(a.running);
        assert_int_equal(a.api_calls, 0);
    }
    run_until_source(f, "alpha", 1, 20000);
    assert_int_equal(status_of(f, "alpha").last_result, 0);
    assert_true(store_has(f, ARN("us-east-1", "a1")));
    assert_true(store_has(f, ARN("us-west-2", "b1")));
    setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
}

/* ---- duplicates ---- */

static void test_duplicate_syncs_nothing(void **state)
{
    struct fixture *f = *state;
    /* The same role in the same region: the role's ARN names the account. */
    f->sources[1].region = (char *)"us-east-1";
    f->sources[0].role_arn = f->sources[1].role_arn = (char *)"arn:aws:iam::111122223333:role/r";
    set_create(f);
    assert_string_equal(cj_sync_account(cj_sync_set_find(f->set, "beta")), "111122223333");

    assert_int_equal(cj_sync_set_trigger(f->set, true), 0);
    run_until_source(f, "beta", 1, 10000);
    struct cj_sync_status b = status_of(f, "beta");
    assert_string_equal(b.last_error_type, "DuplicateSource");
    assert_non_null(strstr(b.last_error_message, "alpha"));
    assert_int_equal(b.api_calls, 0);
    assert_int_equal(httpd_requests(&f->httpd[1]), 0);
    run_until_source(f, "alpha", 1, 20000);
    assert_string_not_equal(status_of(f, "alpha").last_error_type, "DuplicateSource");
    /* A duplicate holds nothing: the age of every answer is alpha's alone. */
    assert_int_equal(cj_sync_set_last_success_ns(f->set, NULL, NULL),
                     status_of(f, "alpha").last_success_ns);

    /* A reload that gives beta another role lets it sync. */
    f->sources[1].role_arn = (char *)"arn:aws:iam::444455556666:role/r";
    assert_int_equal(cj_sync_set_reconfigure(f->set, &f->settings), 0);
    assert_string_equal(cj_sync_account(cj_sync_set_find(f->set, "beta")), "444455556666");
    assert_int_equal(cj_sync_set_trigger(f->set, true), 0);
    run_until_source(f, "beta", 2, 20000);
    assert_string_not_equal(status_of(f, "beta").last_error_type, "DuplicateSource");
}

/* ---- the set changes ---- */

static void test_reconfigure_adds_and_removes(void **state)
{
    struct fixture *f = *state;
    httpd_push(&f->httpd[0],
               (struct httpd_response){.status = 200, .body = PAGE("us-east-1", "a1")});
    httpd_push(&f->httpd[1],
               (struct httpd_response){.status = 200, .body = PAGE("us-west-2", "b1")});
    httpd_push(&f->httpd[2],
               (struct httpd_response){.status = 200, .body = PAGE("eu-west-1", "c1")});
    set_create(f);
    assert_int_equal(cj_sync_set_start_schedule(f->set), 0);
    run_until_source(f, "alpha", 1, 10000);
    run_until_source(f, "beta", 1, 10000);
    assert_true(store_has(f, ARN("us-east-1", "a1")));
    assert_true(store_has(f, ARN("us-west-2", "b1")));

    /* alpha goes with its jobs, gamma comes and syncs at once (the schedule runs). */
    f->settings.sources = &f->sources[1];
    f->settings.n_sources = 2;
    assert_int_equal(cj_sync_set_reconfigure(f->set, &f->settings), 0);
    assert_int_equal(cj_sync_set_size(f->set), 2);
    assert_null(cj_sync_set_find(f->set, "alpha"));
    assert_string_equal(cj_sync_name(cj_sync_set_get(f->set, 0)), "beta");
    assert_string_equal(cj_sync_name(cj_sync_set_get(f->set, 1)), "gamma");
    assert_false(store_has(f, ARN("us-east-1", "a1")));
    assert_true(store_has(f, ARN("us-west-2", "b1")));
    run_until_source(f, "gamma", 1, 10000);
    assert_int_equal(status_of(f, "gamma").last_result, 0);
    assert_true(store_has(f, ARN("eu-west-1", "c1")));
    /* beta kept its state: its one pass, no new one */
    assert_int_equal(status_of(f, "beta").passes_ok, 1);
}

static void test_stale_sources_dropped_at_start(void **state)
{
    struct fixture *f = *state;
    httpd_push(&f->httpd[0],
               (struct httpd_response){.status = 200, .body = PAGE("us-east-1", "a1")});
    httpd_push(&f->httpd[2],
               (struct httpd_response){.status = 200, .body = PAGE("eu-west-1", "c1")});
    f->settings.sources = &f->sources[0];
    f->settings.n_sources = 1;
    set_create(f);
    assert_int_equal(cj_sync_set_trigger(f->set, true), 0);
    run_until_source(f, "alpha", 1, 10000);
    assert_true(store_has(f, ARN("us-east-1", "a1")));
    int64_t alpha_synced = status_of(f, "alpha").last_success_ns;
    cj_sync_set_free(f->set);
    f->set = NULL;

    /* Restarted with alpha renamed away: its jobs go; gamma starts from nothing. */
    f->settings.sources = &f->sources[2];
    set_create(f);
    assert_false(store_has(f, ARN("us-east-1", "a1")));
    assert_int_equal(status_of(f, "gamma").last_success_ns, 0);
    cj_sync_set_free(f->set);
    f->set = NULL;

    /* A source the store knows starts from the sync it recorded. */
    httpd_push(&f->httpd[0],
               (struct httpd_response){.status = 200, .body = PAGE("us-east-1", "a1")});
    f->settings.sources = &f->sources[0];
    set_create(f);
    assert_int_equal(cj_sync_set_trigger(f->set, true), 0);
    run_until_source(f, "alpha", 1, 10000);
    alpha_synced = status_of(f, "alpha").last_success_ns;
    cj_sync_set_free(f->set);
    f->set = NULL;
    set_create(f);
    assert_int_equal(status_of(f, "alpha").last_success_ns, alpha_synced);
}

static void test_requests_answered_by_last_results(void **state)
{
    struct fixture *f = *state;
    httpd_push(&f->httpd[0],
               (struct httpd_response){.status = 200, .body = PAGE("us-east-1", "a1")});
    httpd_push(&f->httpd[1], THROTTLED);
    f->settings.sync.min_on_demand_interval_usec = 3600 * CJ_USEC_PER_SEC;
    set_create(f);

    /* The first round starts a pass of each; beta's first try is throttled, and its retries
     * get 500s (nothing more was pushed). */
    struct cj_sync_round_ticket t;
    assert_int_equal(cj_sync_set_request(f->set, true, &t), 0);
    assert_true(t.started);
    assert_int_equal(t.retry_after_usec, 0);
    uint64_t deadline = test_mono_ms() + 30000;
    while (f->rounds < 1 && test_mono_ms() < deadline)
        assert_true(sd_event_run(f->event, 50 * 1000) >= 0);
    assert_int_equal(f->rounds, 1);
    assert_int_equal(f->round.sources[0].result, 0);
    assert_true(f->round.sources[1].result < 0);
    assert_int_equal(f->round.first_failed, 1);

    /* Within min_on_demand_interval nothing starts: the last results answer, with a wait. */
    assert_int_equal(cj_sync_set_request(f->set, true, &t), 0);
    assert_int_equal(t.round, 0);
    assert_false(t.started);
    assert_true(t.retry_after_usec > 0);
    assert_true(cj_sync_set_on_demand_wait_usec(f->set) > 0);
    struct cj_sync_round_result res;
    assert_int_equal(cj_sync_set_last_results(f->set, &res), 0);
    assert_int_equal(res.n, 2);
    assert_int_equal(res.sources[0].result, 0);
    assert_true(res.sources[1].result < 0);
    assert_int_equal(res.result, res.sources[1].result);
    cj_sync_round_result_done(&res);
}

int main(void)
{
    test_aws_env_offline();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hanging_source_holds_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_throttled_source_holds_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_source_waiting_for_credentials_holds_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_syncs_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconfigure_adds_and_removes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_sources_dropped_at_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_requests_answered_by_last_results, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
