/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../page-diff.h"
#include "cj-time.h"
#include "cj-util.h"
#include "job.h"
#include "log.h"

#define JOB1_ARN "arn:aws:bedrock:us-east-1:123456789012:model-copy-job/abcdefgh1234"
#define JOB1_JSON                                                                                  \
    "{\"jobArn\":\"" JOB1_ARN "\",\"status\":\"Completed\","                                       \
    "\"creationTime\":\"2024-05-01T12:34:56.789Z\","                                               \
    "\"targetModelArn\":\"arn:aws:bedrock:us-east-1:123456789012:custom-model/"                    \
    "amazon.titan-text-express-v1:0:8k/a1b2c3d4e5f6\","                                            \
    "\"targetModelName\":\"my-copied_model1\",\"sourceAccountId\":\"210987654321\","               \
    "\"sourceModelArn\":\"arn:aws:bedrock:us-west-2:210987654321:custom-model/"                    \
    "amazon.titan-text-express-v1:0:8k/zyxwvu987654\","                                            \
    "\"targetModelKmsKeyArn\":\"arn:aws:kms:us-east-1:123456789012:key/"                           \
    "1234abcd-12ab-34cd-56ef-1234567890ab\","                                                      \
    "\"targetModelTags\":[{\"key\":\"team\",\"value\":\"ml platform\"},"                           \
    "{\"key\":\"cost-center/a=b+c@d:e_f.g\",\"value\":\"\"}],"                                     \
    "\"failureMessage\":\"\",\"sourceModelName\":\"source-model\"}"

/* Every page this file parses also goes through the reference: both must agree on all of
 * it (page-diff.h) before the test looks at the streaming parser's answer. */
static int checked_page_parse(const char *body, size_t len, struct cj_page *ret, char *err,
                              size_t errlen)
{
    static int log_fd = -1;
    struct page_run a, b;

    if (log_fd < 0)
        log_fd = page_log_fd();
    page_run(cj_page_parse, body, len, errlen, log_fd, &a);
    page_run(cj_page_parse_reference, body, len, errlen, log_fd, &b);
    const char *what = page_runs_differ(&a, &b, errlen);
    if (what)
        print_error("cj_page_parse and the reference differ in %s on '%.*s'\n", what,
                    (int)(len < 2000 ? len : 2000), body ? body : "");
    assert_null(what);
    page_run_done(&a);
    page_run_done(&b);
    return cj_page_parse(body, len, ret, err, errlen);
}
#define cj_page_parse checked_page_parse

/* The same for GetModelCopyJob bodies. */
static int checked_job_parse(const char *body, size_t len, struct cj_job *ret, char *err,
                             size_t errlen)
{
    struct job_run a, b;

    job_run(cj_job_parse, body, len, errlen, &a);
    job_run(cj_job_parse_reference, body, len, errlen, &b);
    const char *what = job_runs_differ(&a, &b, errlen);
    if (what)
        print_error("cj_job_parse and the reference differ in %s on '%.*s'\n", what,
                    (int)(len < 2000 ? len : 2000), body ? body : "");
    assert_null(what);
    cj_job_done(&a.job);
    cj_job_done(&b.job);
    return cj_job_parse(body, len, ret, err, errlen);
}
#define cj_job_parse checked_job_parse

/* A summary built with jansson, as a GetModelCopyJob body. */
static int job_from_json(const json_t *o, struct cj_job *ret, char *err, size_t errlen)
{
    _cleanup_free_ char *body = json_dumps(o, JSON_COMPACT);
    assert_non_null(body);
    return cj_job_parse(body, strlen(body), ret, err, errlen);
}

static char *read_data(const char *name, size_t *ret_len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/job/%s", CJ_TEST_DATA, name);
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    assert_non_null(f);
    char *buf = malloc(1 << 20);
    assert_non_null(buf);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    assert_true(n > 0 && n < (1 << 20) - 1);
    buf[n] = '\0';
    *ret_len = n;
    return buf;
}

static int parse_str(const char *s, struct cj_page *p, char *err, size_t errlen)
{
    return cj_page_parse(s, strlen(s), p, err, errlen);
}

/* ---- status ---- */

static void test_status(void **state)
{
    enum cj_status st;
    assert_string_equal(cj_status_to_string(CJ_STATUS_IN_PROGRESS), "InProgress");
    assert_string_equal(cj_status_to_string(CJ_STATUS_COMPLETED), "Completed");
    assert_string_equal(cj_status_to_string(CJ_STATUS_FAILED), "Failed");
    assert_null(cj_status_to_string(_CJ_STATUS_MAX));
    assert_null(cj_status_to_string((enum cj_status) - 1));
    assert_int_equal(cj_status_from_string("Failed", &st), 0);
    assert_int_equal(st, CJ_STATUS_FAILED);
    assert_int_equal(cj_status_from_string("InProgress", &st), 0);
    assert_int_equal(st, CJ_STATUS_IN_PROGRESS);
    assert_int_equal(cj_status_from_string("failed", &st), -EINVAL);
    assert_int_equal(cj_status_from_string("Failed ", &st), -EINVAL);
    assert_int_equal(cj_status_from_string("", &st), -EINVAL);
    assert_int_equal(cj_status_from_string(NULL, &st), -EINVAL);
}

/* ---- the good page ---- */

/* The stored JSON is valid and equals the input summary minus unknown and null members. */
static void check_json_matches_source(const struct cj_job *j, const json_t *src)
{
    static const char *const known[] = {
        "jobArn",          "status",          "creationTime",   "targetModelArn",
        "targetModelName", "sourceAccountId", "sourceModelArn", "targetModelKmsKeyArn",
        "targetModelTags", "failureMessage",  "sourceModelName"};
    json_t *want = json_object();
    for (size_t i = 0; i < ELEMENTSOF(known); i++) {
        json_t *v = json_object_get(src, known[i]);
        if (v && !json_is_null(v))
            json_object_set(want, known[i], v);
    }
    json_error_t e;
    json_t *got = json_loadb(j->json, j->json_len, JSON_REJECT_DUPLICATES, &e);
    assert_non_null(got);
    assert_int_equal(strlen(j->json), j->json_len);
    assert_true(json_equal(got, want));

    /* model order: every present key appears after the previous one */
    const char *prev = j->json;
    for (size_t i = 0; i < ELEMENTSOF(known); i++) {
        char key[64];
        snprintf(key, sizeof(key), "\"%s\":", known[i]);
        const char *at = strstr(j->json, key);
        if (json_object_get(want, known[i])) {
            assert_non_null(at);
            assert_true(at >= prev);
            prev = at;
        }
    }
    json_decref(got);
    json_decref(want);
}

static void test_good_page(void **state)
{
    size_t len;
    _cleanup_free_ char *body = read_data("page-good.json", &len);
    struct cj_page p;
    char err[256] = "x";

    assert_int_equal(cj_page_parse(body, len, &p, err, sizeof(err)), 0);
    assert_int_equal(p.n_jobs, 4);
    assert_int_equal(p.n_skipped, 0);
    assert_string_equal(p.next_token, "eyJwYWdlIjoyLCJrIjoiYWJjIn0=+/xyz");

    const struct cj_job *j = &p.jobs[0];
    assert_string_equal(j->job_arn, JOB1_ARN);
    assert_int_equal(j->status, CJ_STATUS_COMPLETED);
    assert_int_equal(j->creation_ns, INT64_C(1714566896789000000));
    assert_string_equal(j->source_account, "210987654321");
    assert_string_equal(j->source_model_arn, "arn:aws:bedrock:us-west-2:210987654321:custom-model/"
                                             "amazon.titan-text-express-v1:0:8k/zyxwvu987654");
    assert_string_equal(j->target_model_name, "my-copied_model1");
    assert_string_equal(j->json, JOB1_JSON);
    assert_int_equal(j->json_len, strlen(JOB1_JSON));

    j = &p.jobs[1];
    assert_string_equal(j->job_arn,
                        "arn:aws:bedrock:us-east-1:123456789012:model-copy-job/zzzzzzzzzzz2");
    assert_int_equal(j->status, CJ_STATUS_FAILED);
    assert_int_equal(j->creation_ns, INT64_C(1714636800) * CJ_NSEC_PER_SEC);
    assert_string_equal(j->source_account, "123456789012");
    assert_string_equal(j->source_model_arn,
                        "arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-8b-instruct-v1:0");
    assert_string_equal(j->target_model_name, "llama-copy");
    /* strings re-escaped compactly; non-ASCII kept as UTF-8; empty tag list kept */
    assert_non_null(strstr(j->json, ",\"targetModelTags\":[],\"failureMessage\":\"Copy failed: "
                                    "\\\"quota\\\" exceeded\\n\xc3\xa9\xe2\x80\xa8\\\\ done\"}"));

    /* a tie: the same instant spelt with an offset; the string stays verbatim */
    j = &p.jobs[2];
    assert_int_equal(j->status, CJ_STATUS_IN_PROGRESS);
    assert_int_equal(j->creation_ns, p.jobs[1].creation_ns);
    assert_null(j->target_model_name);
    assert_string_equal(j->json,
                        "{\"jobArn\":\"arn:aws:bedrock:us-east-1:123456789012:model-copy-job/"
                        "aaaaaaaaaaa3\",\"status\":\"InProgress\",\"creationTime\":\"2024-05-02T10:"
                        "00:00+02:00\",\"targetModelArn\":\"arn:aws:bedrock:us-east-1:123456789012:"
                        "custom-model/imported/fedcba987654\",\"sourceAccountId\":\"123456789012\","
                        "\"sourceModelArn\":\"arn:aws:bedrock:us-east-1:123456789012:custom-model/"
                        "imported/fedcba000000\"}");

    j = &p.jobs[3];
    assert_string_equal(j->job_arn,
                        "arn:aws-us-gov:bedrock:us-gov-west-1:000000000001:model-copy-job/"
                        "0a1b2c3d4e5f");
    assert_int_equal(j->creation_ns, INT64_C(1704067199123456789));
    assert_null(j->target_model_name);
    assert_string_equal(j->source_account, "000000000002");

    json_t *root = json_loadb(body, len, 0, NULL);
    assert_non_null(root);
    json_t *arr = json_object_get(root, "modelCopyJobSummaries");
    for (size_t i = 0; i < p.n_jobs; i++)
        check_json_matches_source(&p.jobs[i], json_array_get(arr, i));
    json_decref(root);

    cj_page_done(&p);
    assert_null(p.jobs);
    assert_int_equal(p.n_jobs, 0);
    cj_page_done(&p); /* idempotent */
}

static void test_other_pages(void **state)
{
    size_t len;
    struct cj_page p;
    char err[256];

    _cleanup_free_ char *last = read_data("page-last.json", &len);
    assert_int_equal(cj_page_parse(last, len, &p, err, sizeof(err)), 0);
    assert_int_equal(p.n_jobs, 1);
    assert_null(p.next_token);
    cj_page_done(&p);

    _cleanup_free_ char *empty = read_data("page-empty.json", &len);
    assert_int_equal(cj_page_parse(empty, len, &p, err, sizeof(err)), 0);
    assert_int_equal(p.n_jobs, 0);
    assert_int_equal(p.n_skipped, 0);
    assert_null(p.jobs);
    assert_null(p.next_token);
    cj_page_done(&p);

    /* invalid summaries are skipped and counted, the rest kept in order */
    _cleanup_free_ char *mixed = read_data("page-mixed.json", &len);
    assert_int_equal(cj_page_parse(mixed, len, &p, err, sizeof(err)), 0);
    assert_int_equal(p.n_jobs, 2);
    assert_int_equal(p.n_skipped, 7);
    /* only a refused summary with a valid jobArn is still known to be listed */
    assert_int_equal(p.n_skipped_arns, 1);
    assert_string_equal(p.skipped_arns[0],
                        "arn:aws:bedrock:us-east-1:123456789012:model-copy-job/ok0000000003");
    assert_string_equal(p.jobs[0].job_arn,
                        "arn:aws:bedrock:us-east-1:123456789012:model-copy-job/ok0000000001");
    assert_string_equal(p.jobs[1].job_arn,
                        "arn:aws:bedrock:us-east-1:123456789012:model-copy-job/ok0000000002");
    cj_page_done(&p);

    /* GetModelCopyJob: the same fields at top level */
    _cleanup_free_ char *get = read_data("job-get.json", &len);
    struct cj_job j;
    assert_int_equal(cj_job_parse(get, len, &j, err, sizeof(err)), 0);
    assert_string_equal(j.json, JOB1_JSON);
    cj_job_done(&j);
    assert_null(j.json);
}

/* ---- single summaries, mutated one field at a time ---- */

static json_t *base_summary(void)
{
    json_t *o = json_loads(JOB1_JSON, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(o);
    return o;
}

/* Sets field (NULL value: removes it), validates, returns r; err names what failed. */
static int try_field(const char *field, json_t *value, char *err, size_t errlen)
{
    json_t *o = base_summary();
    if (value)
        json_object_set_new(o, field, value);
    else
        json_object_del(o, field);
    struct cj_job j = {.json = (char *)"poison"};
    int r = job_from_json(o, &j, err, errlen);
    if (r < 0) {
        assert_null(j.json); /* nothing half-filled is handed out */
        assert_null(j.job_arn);
    } else
        cj_job_done(&j);
    json_decref(o);
    return r;
}

static void expect_bad(const char *field, json_t *value, const char *reason_part)
{
    char err[256] = "";
    int r = try_field(field, value, err, sizeof(err));
    if (r != -EBADMSG || !strstr(err, reason_part))
        print_error("field %s: r=%d err='%s' (want '%s')\n", field, r, err, reason_part);
    assert_int_equal(r, -EBADMSG);
    assert_non_null(strstr(err, reason_part));
}

/* Kept as sent, with a note that names the breach; the served JSON holds the value. */
static void expect_noted(const char *field, json_t *value, const char *note_part)
{
    char err[256] = "";
    json_t *o = base_summary();
    if (value)
        json_object_set(o, field, value);
    else
        json_object_del(o, field);
    struct cj_job j;
    int r = job_from_json(o, &j, err, sizeof(err));
    if (r != 0 || !j.note || !strstr(j.note, note_part))
        print_error("field %s: r=%d err='%s' note='%s' (want '%s')\n", field, r, err,
                    r == 0 && j.note ? j.note : "", note_part);
    assert_int_equal(r, 0);
    assert_non_null(j.note);
    assert_non_null(strstr(j.note, note_part));
    /* served exactly as received: the stored object's member is the value sent */
    json_t *stored = json_loads(j.json, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(stored);
    if (value && !json_is_null(value))
        assert_true(json_equal(json_object_get(stored, field), value));
    else
        assert_null(json_object_get(stored, field)); /* null is served as absent */
    json_decref(stored);
    cj_job_done(&j);
    json_decref(o);
    json_decref(value);
}

static void expect_good(const char *field, json_t *value)
{
    char err[256] = "";
    int r = try_field(field, value, err, sizeof(err));
    if (r != 0)
        print_error("field %s: r=%d err='%s'\n", field, r, err);
    assert_int_equal(r, 0);
}

static const char *const required_fields[] = {"jobArn", "status", "creationTime",
                                              "sourceAccountId"};
/* Required by the model, not by the cache: a summary without them is kept and noted. */
static const char *const expected_fields[] = {"targetModelArn", "sourceModelArn"};
static const char *const optional_fields[] = {"targetModelName", "targetModelKmsKeyArn",
                                              "targetModelTags", "failureMessage",
                                              "sourceModelName"};

static void test_required_missing(void **state)
{
    char reason[128];
    for (size_t i = 0; i < ELEMENTSOF(required_fields); i++) {
        snprintf(reason, sizeof(reason), "%s: missing", required_fields[i]);
        expect_bad(required_fields[i], NULL, reason);
        expect_bad(required_fields[i], json_null(), reason);
    }
    for (size_t i = 0; i < ELEMENTSOF(expected_fields); i++) {
        snprintf(reason, sizeof(reason), "%s: missing", expected_fields[i]);
        expect_noted(expected_fields[i], NULL, reason);
        expect_noted(expected_fields[i], json_null(), reason);
    }
    /* no sourceModelArn: the job's field is "", which no filter matches */
    json_t *o = base_summary();
    json_object_del(o, "sourceModelArn");
    struct cj_job j;
    char err[128];
    assert_int_equal(job_from_json(o, &j, err, sizeof(err)), 0);
    assert_string_equal(j.source_model_arn, "");
    cj_job_done(&j);
    json_decref(o);
}

static void test_optional_absent_or_null(void **state)
{
    json_t *o = base_summary();
    for (size_t i = 0; i < ELEMENTSOF(optional_fields); i++) {
        expect_good(optional_fields[i], NULL);
        expect_good(optional_fields[i], json_null());
        json_object_set_new(o, optional_fields[i], json_null());
    }
    struct cj_job j;
    char err[128];
    assert_int_equal(job_from_json(o, &j, err, sizeof(err)), 0);
    for (size_t i = 0; i < ELEMENTSOF(optional_fields); i++)
        assert_null(strstr(j.json, optional_fields[i]));
    assert_null(j.target_model_name);
    cj_job_done(&j);
    json_decref(o);

    /* unknown members are ignored, whatever their type */
    expect_good("futureField", json_pack("{s:[i,f,b]}", "x", 1, 2.5, 1));
    expect_good("JobArn", json_integer(1));
}

static void test_wrong_types(void **state)
{
    char reason[128];
    const char *const all[] = {
        "jobArn",          "status",         "creationTime",    "targetModelArn",
        "sourceAccountId", "sourceModelArn", "targetModelName", "targetModelKmsKeyArn",
        "failureMessage",  "sourceModelName"};
    for (size_t i = 0; i < ELEMENTSOF(all); i++) {
        snprintf(reason, sizeof(reason), "%s: not a string", all[i]);
        expect_bad(all[i], json_integer(5), reason);
        expect_bad(all[i], json_real(1.5), reason);
        expect_bad(all[i], json_true(), reason);
        expect_bad(all[i], json_false(), reason);
        expect_bad(all[i], json_object(), reason);
        expect_bad(all[i], json_array(), reason);
    }
    /* epoch seconds are not what the model's timestampFormat says */
    expect_bad("creationTime", json_integer(1714566896), "creationTime: not a string");

    expect_bad("targetModelTags", json_string("team=ml"), "targetModelTags: not an array");
    expect_bad("targetModelTags", json_object(), "targetModelTags: not an array");
    expect_bad("targetModelTags", json_integer(0), "targetModelTags: not an array");
    expect_bad("targetModelTags", json_pack("[s]", "team"), "targetModelTags[0]: not an object");
    expect_bad("targetModelTags", json_pack("[{ssss}, n]", "key", "a", "value", "b"),
               "targetModelTags[1]: not an object");
    expect_bad("targetModelTags", json_pack("[{siss}]", "key", 1, "value", "b"),
               "targetModelTags[0].key: not a string");
    expect_bad("targetModelTags", json_pack("[{sssi}]", "key", "a", "value", 1),
               "targetModelTags[0].value: not a string");
    expect_bad("targetModelTags", json_pack("[{ss}]", "value", "b"),
               "targetModelTags[0].key: missing");
    expect_bad("targetModelTags", json_pack("[{ss}]", "key", "a"),
               "targetModelTags[0].value: missing");
    expect_bad("targetModelTags", json_pack("[{sssn}]", "key", "a", "value"),
               "targetModelTags[0].value: missing");

    /* not an object at all */
    struct cj_job j;
    char err[128];
    assert_int_equal(cj_job_parse("[]", 2, &j, err, sizeof(err)), -EPROTO);
    assert_string_equal(err, "not a JSON object: wrong type");
    assert_int_equal(cj_job_parse(" 5 ", 3, &j, err, sizeof(err)), -EPROTO);
    assert_non_null(strstr(err, "not a JSON object: "));
    assert_int_equal(cj_job_parse(NULL, 0, &j, err, sizeof(err)), -EPROTO);
    assert_non_null(strstr(err, "not a JSON object: "));
    assert_int_equal(cj_job_parse("{\"a\":1,\"a\":2}", 13, &j, err, sizeof(err)), -EPROTO);
    assert_non_null(strstr(err, "not a JSON object: "));
    assert_null(j.json);
}

static void test_job_arns(void **state)
{
    static const char *const good[] = {
        JOB1_ARN,
        "arn:aws-cn:bedrock:cn-north-1:123456789012:model-copy-job/000000000000",
        "arn:aws-iso-b:bedrock:us-isob-east-1:123456789012:model-copy-job/abcdefabcdef",
        "arn:aws-iso-f:bedrock:a:123456789012:model-copy-job/abcdefabcdef", /* -[a-z-]+ */
        "arn:aws:bedrock:abcdefghij0123456789:123456789012:model-copy-job/abcdefabcdef",
        "arn:aws:bedrock:-:123456789012:model-copy-job/abcdefabcdef",
    };
    static const char *const bad[] = {
        "",
        "arn",
        "arn:aws:bedrock:us-east-1:123456789012:model-copy-job/abcdefgh123",   /* 11-char id */
        "arn:aws:bedrock:us-east-1:123456789012:model-copy-job/abcdefgh12345", /* 13-char id */
        "arn:aws:bedrock:us-east-1:123456789012:model-copy-job/ABCDEFGH1234",  /* uppercase id */
        "arn:aws:bedrock:us-east-1:123456789012:model-copy-job/abcdefgh-234",
        "arn:aws:bedrock:us-east-1:12345678901:model-copy-job/abcdefgh1234",   /* 11 digits */
        "arn:aws:bedrock:us-east-1:1234567890123:model-copy-job/abcdefgh1234", /* 13 digits */
        "arn:aws:bedrock:us-east-1:12345678901a:model-copy-job/abcdefgh1234",
        "arn:aws:bedrock:us-east-1::model-copy-job/abcdefgh1234",
        "arn:azure:bedrock:us-east-1:123456789012:model-copy-job/abcdefgh1234", /* partition */
        "arn:aws-:bedrock:us-east-1:123456789012:model-copy-job/abcdefgh1234",
        "arn:aws-x.y/z:bedrock:a:123456789012:model-copy-job/abcdefabcdef", /* [a-z-] only */
        "arn:awsx:bedrock:us-east-1:123456789012:model-copy-job/abcdefgh1234",
        "ARN:aws:bedrock:us-east-1:123456789012:model-copy-job/abcdefgh1234",
        "arn:aws:sagemaker:us-east-1:123456789012:model-copy-job/abcdefgh1234", /* service */
        "arn:aws:Bedrock:us-east-1:123456789012:model-copy-job/abcdefgh1234",
        "arn:aws:bedrock:US-EAST-1:123456789012:model-copy-job/abcdefgh1234", /* region */
        "arn:aws:bedrock::123456789012:model-copy-job/abcdefgh1234",
        "arn:aws:bedrock:abcdefghij0123456789x:123456789012:model-copy-job/abcdefgh1234",
        "arn:aws:bedrock:us-east-1:123456789012:custom-model/abcdefgh1234", /* resource */
        "arn:aws:bedrock:us-east-1:123456789012:model-copy-jobs/abcdefgh1234",
        "arn:aws:bedrock:us-east-1:123456789012:model-copy-job:abcdefgh1234",
        "arn:aws:bedrock:us-east-1:123456789012:model-copy-job/abcdefgh1234/",
        " arn:aws:bedrock:us-east-1:123456789012:model-copy-job/abcdefgh1234",
        "arn:aws:bedrock:us-east-1:123456789012:model-copy-job/abcdefgh1234\n",
    };
    for (size_t i = 0; i < ELEMENTSOF(good); i++) {
        assert_true(cj_valid_job_arn(good[i], strlen(good[i])));
        expect_good("jobArn", json_string(good[i]));
    }
    for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
        if (cj_valid_job_arn(bad[i], strlen(bad[i])))
            print_error("accepted %s\n", bad[i]);
        assert_false(cj_valid_job_arn(bad[i], strlen(bad[i])));
        expect_bad("jobArn", json_string(bad[i]), "jobArn: not a model copy job ARN");
    }
    /* a NUL inside never matches; the length is honoured */
    assert_false(cj_valid_job_arn(JOB1_ARN "\0", sizeof(JOB1_ARN)));
    assert_false(cj_valid_job_arn(JOB1_ARN, strlen(JOB1_ARN) - 1));
    assert_false(cj_valid_job_arn(NULL, 0));

    /* length cap: the longest accepted is CJ_JOB_ARN_MAX bytes (via a long partition) */
    char arn[CJ_JOB_ARN_MAX + 2];
    const char *tail = ":bedrock:us-east-1:123456789012:model-copy-job/abcdefabcdef";
    size_t fill = CJ_JOB_ARN_MAX - strlen("arn:aws-") - strlen(tail);
    snprintf(arn, sizeof(arn), "arn:aws-%.*s%s", (int)fill,
             "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
             "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
             "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
             "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
             "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp",
             tail);
    assert_int_equal(strlen(arn), CJ_JOB_ARN_MAX);
    assert_true(cj_valid_job_arn(arn, strlen(arn)));
    snprintf(arn, sizeof(arn), "arn:aws-p%.*s%s", (int)fill,
             "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
             "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
             "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
             "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
             "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp",
             tail);
    assert_int_equal(strlen(arn), CJ_JOB_ARN_MAX + 1);
    assert_false(cj_valid_job_arn(arn, strlen(arn)));
    expect_bad("jobArn", json_string(arn), "jobArn: not a model copy job ARN");
}

static void test_model_arns(void **state)
{
    static const char *const good[] = {
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1",
        "arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-8b-instruct-v1:0",
        "arn:aws:bedrock:us-east-1::foundation-model/a.b",
        "arn:aws:bedrock:us-east-1::foundation-model/a.b.c.d:1:2",
        "arn:aws-cn:bedrock:cn-north-1::foundation-model/amazon.titan-embed-text-v1:2:8k",
        "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.titan-text-express-v1/"
        "abcdefabcdef",
        ("arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.titan-text-express-v1:0:8k/"
         "abcdefabcdef"),
        "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/abcdefabcdef",
        "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported:1/abcdefabcdef",
        "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported.x/abcdefabcdef",
    };
    static const char *const bad[] = {
        "",
        "arn:aws:bedrock:us-east-1::foundation-model/amazon",    /* no dot */
        "arn:aws:bedrock:us-east-1::foundation-model/a.b.c.d.e", /* 4 dots */
        "arn:aws:bedrock:us-east-1::foundation-model/a.b:1:2:3", /* 3 suffixes */
        "arn:aws:bedrock:us-east-1::foundation-model/a..b",
        "arn:aws:bedrock:us-east-1::foundation-model/a.b:",
        "arn:aws:bedrock:us-east-1::foundation-model/Amazon.titan", /* uppercase */
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan/",
        "arn:aws:bedrock:us-east-1:123456789012:foundation-model/amazon.titan",
        "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.titan-text/abcdefabcde",
        "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.titan.text/abcdefabcdef",
        "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon/abcdefabcdef",
        "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported",
        "arn:aws:bedrock:us-east-1:12345678901:custom-model/imported/abcdefabcdef",
        "arn:aws:bedrock:us-east-1:123456789012:custom-model/a.b:1:2:3/abcdefabcdef",
        "arn:aws:kms:us-east-1::foundation-model/amazon.titan",
        "arn:aws:bedrock:us-east-1:123456789012:model-copy-job/abcdefabcdef",
        /* a piece of 64 */
        ("arn:aws:bedrock:us-east-1::foundation-model/"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b"),
    };
    for (size_t i = 0; i < ELEMENTSOF(good); i++) {
        if (!cj_valid_model_arn(good[i], strlen(good[i])))
            print_error("rejected %s\n", good[i]);
        assert_true(cj_valid_model_arn(good[i], strlen(good[i])));
        expect_good("sourceModelArn", json_string(good[i]));
    }
    for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
        if (cj_valid_model_arn(bad[i], strlen(bad[i])))
            print_error("accepted %s\n", bad[i]);
        assert_false(cj_valid_model_arn(bad[i], strlen(bad[i])));
        expect_noted("sourceModelArn", json_string(bad[i]), "sourceModelArn: not a model ARN");
    }
    assert_true(cj_valid_model_arn("arn:aws:bedrock:x::foundation-model/a.b",
                                   strlen("arn:aws:bedrock:x::foundation-model/a.b")));
}

static void test_custom_model_arns(void **state)
{
    static const char *const good[] = {
        "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/abcdefabcdef",
        "arn:aws-us-gov:bedrock:us-gov-west-1:123456789012:custom-model/imported/abcdefabcdef",
        "arn:aws-cn:bedrock:cn-north-1:123456789012:custom-model/imported/abcdefabcdef",
        "arn:aws-iso:bedrock:us-iso-east-1:123456789012:custom-model/imported/abcdefabcdef",
        "arn:aws-iso-b:bedrock:us-isob-east-1:123456789012:custom-model/imported/abcdefabcdef",
        "arn:aws:bedrock:us-east-1:123456789012:custom-model/a.bc/abcdefabcdef",
        "arn:aws:bedrock:us-east-1:123456789012:custom-model/a.bc.d.e:1:2/abcdefabcdef",
        ("arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.titan-text-express-v1:0:8k/"
         "abcdefabcdef"),
    };
    static const char *const bad[] = {
        "arn:aws-eusc:bedrock:eu-1:123456789012:custom-model/imported/abcdefabcdef", /* partition */
        "arn:aws-x:bedrock:us-east-1:123456789012:custom-model/imported/abcdefabcdef",
        "arn:aws:bedrock:us-east-1:123456789012:custom-model/a.b/abcdefabcdef", /* 2nd piece 1 */
        "arn:aws:bedrock:us-east-1:123456789012:custom-model/ab/abcdefabcdef",
        "arn:aws:bedrock:us-east-1:123456789012:custom-model/a.bc.d.e.f/abcdefabcdef",
        "arn:aws:bedrock:us-east-1:123456789012:custom-model/a.bc:1:2:3/abcdefabcdef",
        "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported:1/abcdefabcdef",
        "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/abcdefabcdeF",
        "arn:aws:bedrock:us-east-1::custom-model/imported/abcdefabcdef",
        "arn:aws:bedrock:us-east-1:123456789012:model-copy-job/abcdefabcdef",
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1",
        "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/abcdefabcdef ",
    };
    for (size_t i = 0; i < ELEMENTSOF(good); i++) {
        if (!cj_valid_custom_model_arn(good[i], strlen(good[i])))
            print_error("rejected %s\n", good[i]);
        assert_true(cj_valid_custom_model_arn(good[i], strlen(good[i])));
        expect_good("targetModelArn", json_string(good[i]));
    }
    for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
        if (cj_valid_custom_model_arn(bad[i], strlen(bad[i])))
            print_error("accepted %s\n", bad[i]);
        assert_false(cj_valid_custom_model_arn(bad[i], strlen(bad[i])));
        expect_noted("targetModelArn", json_string(bad[i]),
                     "targetModelArn: not a custom model ARN");
    }
}

static void test_kms_names_accounts(void **state)
{
    expect_good("targetModelKmsKeyArn", json_string("arn:aws-cn:kms:cn-north-1:123456789012:key/"
                                                    "ABCDEF00-1234-5678-9abc-def012345678"));
    expect_good("targetModelKmsKeyArn",
                json_string("arn:aws:kms::123456789012:key/mrk-0123456789abcdef0123456789abcdef"));
    static const char *const bad_kms[] = {
        "",
        "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890a",
        "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890abc",
        "arn:aws:kms:us-east-1:123456789012:alias/my-key-alias-aaaaaaaaaaaaaaaaaaaaaaa",
        "arn:aws:kms:us_east_1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:bedrock:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:us-east-1:1234567890:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "1234abcd-12ab-34cd-56ef-1234567890ab",
    };
    for (size_t i = 0; i < ELEMENTSOF(bad_kms); i++) {
        assert_false(cj_valid_kms_key_arn(bad_kms[i], strlen(bad_kms[i])));
        expect_noted("targetModelKmsKeyArn", json_string(bad_kms[i]),
                     "targetModelKmsKeyArn: not a KMS key ARN");
    }

    static const char *const good_names[] = {
        "a",
        "A-b_c",
        "a-",
        "x1_",
        "0",
        ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaa")}; /* 63 */
    static const char *const bad_names[] = {"",
                                            "-a",
                                            "_a",
                                            "a--b",
                                            "a_-b",
                                            "a b",
                                            "a.b",
                                            "a/b",
                                            "é",
                                            ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                             "aaaaaaaaaaaaaaaaaaaaaaa")}; /* 64 */
    for (size_t i = 0; i < ELEMENTSOF(good_names); i++) {
        assert_true(cj_valid_custom_model_name(good_names[i], strlen(good_names[i])));
        expect_good("targetModelName", json_string(good_names[i]));
        expect_good("sourceModelName", json_string(good_names[i]));
    }
    for (size_t i = 0; i < ELEMENTSOF(bad_names); i++) {
        assert_false(cj_valid_custom_model_name(bad_names[i], strlen(bad_names[i])));
        expect_noted("targetModelName", json_string(bad_names[i]), "targetModelName: not 1..63");
        expect_noted("sourceModelName", json_string(bad_names[i]), "sourceModelName: not 1..63");
    }

    static const char *const bad_accounts[] = {"",
                                               "12345678901",
                                               "1234567890123",
                                               "12345678901a",
                                               " 23456789012",
                                               "-23456789012",
                                               "１23456789012"};
    for (size_t i = 0; i < ELEMENTSOF(bad_accounts); i++) {
        assert_false(cj_valid_account_id(bad_accounts[i], strlen(bad_accounts[i])));
        expect_bad("sourceAccountId", json_string(bad_accounts[i]),
                   "sourceAccountId: not 12 digits");
    }
    assert_true(cj_valid_account_id("000000000000", 12));
    assert_false(cj_valid_account_id("000000000000", 11));
}

static void test_timestamps_status(void **state)
{
    static const char *const bad_times[] = {
        "",
        "2024-05-01", /* a date alone is not a creation time */
        "2024-02-30T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "2024-05-01T12:34:56",
        "2024-05-01T25:00:00Z",
        "2024-05-01T12:34:56.1234567890Z",
        "1714566896",
        "May 1, 2024",
        "2024-05-01T12:34:56Z trailing",
    };
    for (size_t i = 0; i < ELEMENTSOF(bad_times); i++)
        expect_bad("creationTime", json_string(bad_times[i]),
                   "creationTime: not an ISO 8601 date and time");
    expect_bad("creationTime", json_string("3000-01-01T00:00:00Z"),
               "creationTime: outside the years");
    expect_good("creationTime", json_string("2024-05-01T12:34:56.1+05:30"));
    expect_good("creationTime", json_string("2016-12-31T23:59:60Z"));

    /* an unknown status is kept under its own name; one that cannot be indexed is not */
    static const char *const other_status[] = {"inprogress", "INPROGRESS", "Complete", "Completed ",
                                               "Stopped"};
    for (size_t i = 0; i < ELEMENTSOF(other_status); i++) {
        expect_noted("status", json_string(other_status[i]), "status: not one of");
        json_t *o = base_summary();
        json_object_set_new(o, "status", json_string(other_status[i]));
        struct cj_job j;
        char err[128];
        assert_int_equal(job_from_json(o, &j, err, sizeof(err)), 0);
        assert_int_equal(j.status, CJ_STATUS_OTHER);
        assert_string_equal(j.status_name, other_status[i]);
        assert_null(cj_status_to_string(j.status));
        cj_job_done(&j);
        json_decref(o);
    }
    char s64[CJ_STATUS_NAME_MAX + 1], s65[CJ_STATUS_NAME_MAX + 2];
    memset(s64, 'S', CJ_STATUS_NAME_MAX), s64[CJ_STATUS_NAME_MAX] = '\0';
    memset(s65, 'S', CJ_STATUS_NAME_MAX + 1), s65[CJ_STATUS_NAME_MAX + 1] = '\0';
    expect_noted("status", json_string(s64), "status: not one of");
    expect_bad("status", json_string(s65), "status: too long to index");
    expect_bad("status", json_string(""), "status: not a status name that can be indexed");
    expect_bad("status", json_string("Failed\n"), "status: not a status name that can be indexed");
    expect_good("status", json_string("InProgress"));
    expect_good("status", json_string("Failed"));
}

static json_t *tags_of(size_t n, const char *key, const char *value)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{ssss}", "key", key, "value", value));
    return a;
}

static void test_tags_and_failure_message(void **state)
{
    char k128[129], k129[130], v256[257], v257[258];
    memset(k128, 'k', 128), k128[128] = '\0';
    memset(k129, 'k', 129), k129[129] = '\0';
    memset(v256, 'v', 256), v256[256] = '\0';
    memset(v257, 'v', 257), v257[257] = '\0';

    expect_good("targetModelTags", json_array());
    expect_good("targetModelTags", tags_of(200, "k", "v"));
    expect_noted("targetModelTags", tags_of(201, "k", "v"), "targetModelTags: more than 200 tags");
    expect_noted("targetModelTags", tags_of(1000, "k", "v"), "targetModelTags: more than 200");
    expect_bad("targetModelTags", tags_of(1001, "k", "v"),
               "targetModelTags: 1001 tags, more than the 1000 kept");
    expect_good("targetModelTags", tags_of(1, k128, v256));
    expect_good("targetModelTags", tags_of(1, "a b\tc", ""));
    expect_noted("targetModelTags", tags_of(1, k129, "v"), "targetModelTags[0].key: not 1..128");
    expect_noted("targetModelTags", tags_of(1, "", "v"), "targetModelTags[0].key: not 1..128");
    expect_noted("targetModelTags", tags_of(1, "k", v257), "targetModelTags[0].value: not 0..256");
    expect_noted("targetModelTags", tags_of(1, "a*b", "v"), "targetModelTags[0].key");
    expect_noted("targetModelTags", tags_of(1, "k", "caf\xc3\xa9"), "targetModelTags[0].value");
    expect_noted("targetModelTags", tags_of(1, "k", "a,b"), "targetModelTags[0].value");

    /* failureMessage: 0..2048 characters (code points, not bytes) */
    static char msg[2 * 2049 + 1];
    memset(msg, 'x', 2048), msg[2048] = '\0';
    expect_good("failureMessage", json_string(msg));
    expect_good("failureMessage", json_string(""));
    memset(msg, 'x', 2049), msg[2049] = '\0';
    expect_noted("failureMessage", json_string(msg), "failureMessage: longer than 2048");
    for (int i = 0; i < 2048; i++)
        memcpy(msg + 2 * i, "\xc3\xa9", 2);
    msg[2 * 2048] = '\0';
    expect_good("failureMessage", json_string(msg));
    memcpy(msg + 2 * 2048, "\xc3\xa9", 2);
    msg[2 * 2049] = '\0';
    expect_noted("failureMessage", json_string(msg), "failureMessage: longer than 2048");
}

/* ---- page structure and nextToken ---- */

static void expect_page_bad(const char *body, size_t len, const char *reason_part)
{
    struct cj_page p = {.n_jobs = 99};
    char err[256] = "";
    int r = cj_page_parse(body, len, &p, err, sizeof(err));
    if (r != -EBADMSG || !strstr(err, reason_part))
        print_error("body '%.*s': r=%d err='%s'\n", (int)len, body, r, err);
    assert_int_equal(r, -EBADMSG);
    assert_non_null(strstr(err, reason_part));
    assert_int_equal(p.n_jobs, 0);
    assert_null(p.jobs);
    assert_null(p.next_token);
    for (const char *c = err; *c; c++)
        assert_true((unsigned char)*c >= 0x20 && *c != 0x7f);
}

static void test_next_token(void **state)
{
    struct cj_page p;
    char err[256];
    char body[4200];

    static const char *const last[] = {"{\"modelCopyJobSummaries\":[]}",
                                       "{\"modelCopyJobSummaries\":[],\"nextToken\":null}",
                                       "{\"modelCopyJobSummaries\":[],\"nextToken\":\"\"}"};
    for (size_t i = 0; i < ELEMENTSOF(last); i++) {
        assert_int_equal(parse_str(last[i], &p, err, sizeof(err)), 0);
        assert_null(p.next_token);
        cj_page_done(&p);
    }

    char tok[2050];
    memset(tok, 'A', 2048), tok[2048] = '\0';
    snprintf(body, sizeof(body), "{\"nextToken\":\"%s\"}", tok);
    assert_int_equal(parse_str(body, &p, err, sizeof(err)), 0);
    assert_string_equal(p.next_token, tok);
    cj_page_done(&p);

    assert_int_equal(parse_str("{\"nextToken\":\"a\\u00e9+/=\"}", &p, err, sizeof(err)), 0);
    assert_string_equal(p.next_token, "a\xc3\xa9+/=");
    cj_page_done(&p);

    memset(tok, 'A', 2049), tok[2049] = '\0';
    snprintf(body, sizeof(body), "{\"nextToken\":\"%s\"}", tok);
    expect_page_bad(body, strlen(body), "nextToken: 2049 bytes");

    static const char *const bad[] = {"{\"nextToken\":\" abc\"}", "{\"nextToken\":\"a\\tb\"}",
                                      "{\"nextToken\":\"ab\\n\"}", "{\"nextToken\":\"a\\u000bb\"}",
                                      "{\"nextToken\":\"a b\"}"};
    for (size_t i = 0; i < ELEMENTSOF(bad); i++)
        expect_page_bad(bad[i], strlen(bad[i]), "nextToken: contains white space");
    static const char *const wrong[] = {"{\"nextToken\":5}", "{\"nextToken\":[\"a\"]}",
                                        "{\"nextToken\":{}}", "{\"nextToken\":true}"};
    for (size_t i = 0; i < ELEMENTSOF(wrong); i++)
        expect_page_bad(wrong[i], strlen(wrong[i]), "nextToken: not a string");
}

static void test_page_structure(void **state)
{
    struct cj_page p;
    char err[256];

    assert_int_equal(parse_str("{\"modelCopyJobSummaries\":null}", &p, err, sizeof(err)), 0);
    assert_int_equal(p.n_jobs, 0);
    cj_page_done(&p);
    assert_int_equal(parse_str(" {\"other\":1} \n", &p, err, sizeof(err)), 0);
    cj_page_done(&p);
    assert_int_equal(
        parse_str("{\"modelCopyJobSummaries\":[1,\"x\",null,[],{}]}", &p, err, sizeof(err)), 0);
    assert_int_equal(p.n_jobs, 0);
    assert_int_equal(p.n_skipped, 5);
    cj_page_done(&p);

    static const char *const not_object[] = {"[]", "\"x\"", "5", "null", "true"};
    for (size_t i = 0; i < ELEMENTSOF(not_object); i++)
        expect_page_bad(not_object[i], strlen(not_object[i]), "not a JSON object");
    static const char *const not_array[] = {"{\"modelCopyJobSummaries\":{}}",
                                            "{\"modelCopyJobSummaries\":\"[]\"}",
                                            "{\"modelCopyJobSummaries\":0}"};
    for (size_t i = 0; i < ELEMENTSOF(not_array); i++)
        expect_page_bad(not_array[i], strlen(not_array[i]), "modelCopyJobSummaries: not an array");

    static const char *const malformed[] = {
        "",
        "{",
        "{\"modelCopyJobSummaries\":[}",
        "{\"a\":1}}",
        "{\"a\":1} x",
        "{'a':1}",
        "{\"a\":1,}",
        "{\"nextToken\":\"a\",\"nextToken\":\"b\"}", /* duplicate key */
        "{\"a\":\"\\u0000\"}",                       /* NUL inside a string */
        "{\"a\":\"\xff\"}",                          /* not UTF-8 */
        "{\"a\":\"\x01\"}",                          /* raw control character */
        "{\"a\":1e99999}",
        "{\"a\":123456789012345678901234567890}",
    };
    for (size_t i = 0; i < ELEMENTSOF(malformed); i++)
        expect_page_bad(malformed[i], strlen(malformed[i]), "invalid JSON");
    expect_page_bad(NULL, 0, "empty");

    /* every truncation of the good page is refused cleanly */
    size_t len;
    _cleanup_free_ char *body = read_data("page-good.json", &len);
    while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == ' '))
        len--;
    for (size_t n = 0; n < len; n++) {
        int r = cj_page_parse(body, n, &p, err, sizeof(err));
        assert_int_equal(r, -EBADMSG);
        assert_null(p.jobs);
    }
    assert_int_equal(cj_page_parse(body, len, &p, err, sizeof(err)), 0);
    cj_page_done(&p);

    /* deep nesting is refused, not a stack overflow */
    static char deep[200001];
    memset(deep, '[', 100000);
    memset(deep + 100000, ']', 100000);
    expect_page_bad(deep, 200000, "invalid JSON");

    /* over 64 MiB: refused before reading */
    size_t big = (size_t)64 * 1024 * 1024 + 1;
    char *huge = malloc(big);
    assert_non_null(huge);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big - 1] = '}';
    assert_int_equal(cj_page_parse(huge, big, &p, err, sizeof(err)), -E2BIG);
    assert_non_null(strstr(err, "exceeds"));
    assert_int_equal(cj_page_parse(huge, big - 1, &p, err, sizeof(err)), -EBADMSG);
    free(huge);

    /* err is bounded, and optional */
    char tiny[8];
    assert_int_equal(parse_str("[]", &p, tiny, sizeof(tiny)), -EBADMSG);
    assert_true(strlen(tiny) < sizeof(tiny));
    assert_int_equal(parse_str("[]", &p, NULL, 0), -EBADMSG);
}

/* ---- AWS errors ---- */

static void check_error(long status, const char *header, const char *body, const char *want_type,
                        const char *want_msg)
{
    char type[64], msg[256];
    memset(type, 'x', sizeof(type));
    memset(msg, 'x', sizeof(msg));
    cj_aws_error_parse(status, header, body, body ? strlen(body) : 0, type, sizeof(type), msg,
                       sizeof(msg));
    if (strcmp(type, want_type) != 0 || strcmp(msg, want_msg) != 0)
        print_error("got '%s' '%s', want '%s' '%s'\n", type, msg, want_type, want_msg);
    assert_string_equal(type, want_type);
    assert_string_equal(msg, want_msg);
}

static void test_aws_errors(void **state)
{
    check_error(429, "ThrottlingException", "{\"message\":\"Rate exceeded\"}",
                "ThrottlingException", "Rate exceeded");
    check_error(429, "aws.x#Throttling:http://internal.amazon.com/coral/", "{}", "Throttling", "");
    check_error(400, "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/",
                "{\"Message\":\"1 validation error\"}", "ValidationException",
                "1 validation error");
    check_error(403, NULL,
                "{\"__type\":\"com.amazon.coral.service#UnrecognizedClientException\","
                "\"message\":\"The security token included in the request is invalid.\"}",
                "UnrecognizedClientException",
                "The security token included in the request is invalid.");
    check_error(404, NULL, "{\"code\":\"ResourceNotFoundException\",\"message\":\"gone\"}",
                "ResourceNotFoundException", "gone");
    check_error(403, NULL, "{\"Code\":\"AccessDeniedException\",\"Message\":\"no\"}",
                "AccessDeniedException", "no");
    /* the header wins over the body */
    check_error(400, "ValidationException", "{\"__type\":\"Other\",\"message\":\"m\"}",
                "ValidationException", "m");
    /* a header that sanitises to nothing falls back to the body, then to the status */
    check_error(400, ":http://x", "{\"__type\":\"a#B\"}", "B", "");
    check_error(503, "", "<html>Service Unavailable</html>", "HttpError503", "");
    check_error(502, NULL, NULL, "HttpError502", "");
    check_error(500, NULL, "{\"__type\":5,\"message\":7}", "HttpError500", "");
    check_error(500, NULL, "[\"message\"]", "HttpError500", "");
    check_error(500, NULL, "{\"message\":\"trunc", "HttpError500", "");
    /* control characters are stripped from both */
    check_error(400, "Bad\r\nX-Injected: 1", "{\"message\":\"line1\\nline2\\u0007\\u001b[31m\"}",
                "BadX-Injected", "line1line2[31m");
    check_error(400, "Thrott\x01ling Exception\x7f", "{}", "ThrottlingException", "");

    /* bounded, and never a cut UTF-8 character */
    char type[10], msg[6];
    cj_aws_error_parse(400, "ServiceUnavailableException", "{\"message\":\"ab\xc3\xa9\xc3\xa9\"}",
                       strlen("{\"message\":\"ab\xc3\xa9\xc3\xa9\"}"), type, sizeof(type), msg,
                       sizeof(msg));
    assert_string_equal(type, "ServiceUn");
    assert_string_equal(msg, "ab\xc3\xa9");
    cj_aws_error_parse(429, NULL, NULL, 0, type, 4, msg, 1);
    assert_string_equal(type, "Htt");
    assert_string_equal(msg, "");
    cj_aws_error_parse(429, "T", NULL, 0, NULL, 0, NULL, 0); /* nothing to write: no crash */
}

static void test_error_data_files(void **state)
{
    static const struct {
        const char *file;
        long status;
        const char *type;
        const char *msg;
    } cases[] = {
        {"error-throttling.json", 429, "ThrottlingException", "Too many requests, please wait."},
        {"error-validation.json", 400, "ValidationException",
         "1 validation error detected: Value 'x' at 'maxResults' failed to satisfy constraint"},
        {"error-signature.json", 403, "InvalidSignatureException",
         "The request signature we calculated does not match the signature you provided."},
    };
    for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
        size_t len;
        _cleanup_free_ char *body = read_data(cases[i].file, &len);
        char type[128], msg[512];
        cj_aws_error_parse(cases[i].status, NULL, body, len, type, sizeof(type), msg, sizeof(msg));
        assert_string_equal(type, cases[i].type);
        assert_string_equal(msg, cases[i].msg);
    }
}

int main(void)
{
    cj_log_set_max_level(LOG_ERR); /* the skipped-summary warnings are expected here */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_good_page),
        cmocka_unit_test(test_other_pages),
        cmocka_unit_test(test_required_missing),
        cmocka_unit_test(test_optional_absent_or_null),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_job_arns),
        cmocka_unit_test(test_model_arns),
        cmocka_unit_test(test_custom_model_arns),
        cmocka_unit_test(test_kms_names_accounts),
        cmocka_unit_test(test_timestamps_status),
        cmocka_unit_test(test_tags_and_failure_message),
        cmocka_unit_test(test_next_token),
        cmocka_unit_test(test_page_structure),
        cmocka_unit_test(test_aws_errors),
        cmocka_unit_test(test_error_data_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
