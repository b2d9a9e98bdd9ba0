/* SPDX-License-Identifier: MIT */
/* ListModelCopyJobs from the store, against a brute-force reference over the same 3,000
 * jobs (many equal creation times, several regions and job accounts, stored by several
 * sources): every filter alone and combined, both orders, strict bounds, paging with changing
 * page sizes; nextToken validation; paging while jobs are written between pages. */
#include "test-store-util.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define N_JOBS    3000
#define N_QUERIES 320
#define MIB       ((uint64_t)1024 * 1024)

static char *dir;
static struct cj_store *store;
static struct cj_job jobs[N_JOBS];
static struct cj_job *job_ptrs[N_JOBS];

static const char *const name_needles[] = {"alpha", "a", "bet", "copy", "zzz", "Alpha", "-", "_"};
static const char *const regions[] = {"us-east-1", "us-west-2", "eu-west-1", "us-gov-west-1"};
static const char *const sources[] = {"us-east-1", "partner", "eu"};

static int group_setup(void **state)
{
    prng_state = 20260101;
    dir = make_tmpdir();
    store = open_store_at(dir, 0, 256 * MIB);
    for (unsigned i = 0; i < N_JOBS; i++) {
        /* 400 distinct seconds for 3,000 jobs: ties everywhere; a few sub-second times. */
        int64_t t = TEST_BASE_NS + (int64_t)prng_below(400) * 1000000000;
        if (prng_below(5) == 0)
            t += prng_below(3);
        struct test_job_spec sp = {
            .id = i,
            .status = prng_below(3),
            .creation_ns = t,
            .account = test_accounts[prng_below(ELEMENTSOF(test_accounts))],
            .model = test_models[prng_below(ELEMENTSOF(test_models))],
            .name = test_names[prng_below(ELEMENTSOF(test_names))],
            .region = regions[prng_below(ELEMENTSOF(regions))],
            .job_account =
                prng_below(3) ? test_accounts[prng_below(ELEMENTSOF(test_accounts))] : NULL,
        };
        test_job_fill(&jobs[i], &sp);
        job_ptrs[i] = &jobs[i];
    }
    /* Stored in a shuffled order, in pages of 100. */
    struct cj_job *shuffled = calloc(N_JOBS, sizeof(*shuffled));
    assert_non_null(shuffled);
    memcpy(shuffled, jobs, sizeof(jobs));
    for (unsigned i = N_JOBS - 1; i > 0; i--) {
        unsigned k = prng_below(i + 1);
        struct cj_job tmp = shuffled[i];
        shuffled[i] = shuffled[k];
        shuffled[k] = tmp;
    }
    struct cj_store_changes ch = {0};
    for (unsigned i = 0; i < N_JOBS; i += 100)
        assert_int_equal(cj_store_put_jobs(store, sources[(i / 100) % ELEMENTSOF(sources)], NULL,
                                           shuffled + i, 100, &ch),
                         0);
    free(shuffled); /* shallow copies: the strings belong to jobs[] */
    assert_int_equal(ch.created, N_JOBS);
    assert_verified(store);
    return 0;
}

static int group_teardown(void **state)
{
    cj_store_close(store);
    for (unsigned i = 0; i < N_JOBS; i++)
        test_job_free(&jobs[i]);
    remove_tree(dir);
    return 0;
}

static int64_t random_bound(void)
{
    switch (prng_below(12)) {
    case 0:
        return INT64_MIN;
    case 1:
        return INT64_MAX;
    case 2:
        return TEST_BASE_NS - 1;
    default:
        return jobs[prng_below(N_JOBS)].creation_ns + (int64_t)prng_below(3) - 1;
    }
}

static void random_query(struct cj_query *q)
{
    *q = (struct cj_query){.ascending = prng_below(2), .max_results = 1};
    if (prng_below(10) < 4) {
        q->has_status = true;
        q->status = prng_below(3);
    }
    if (prng_below(10) < 3)
        q->source_account = test_accounts[prng_below(ELEMENTSOF(test_accounts))];
    if (prng_below(10) < 3)
        q->source_model_arn = prng_below(8) == 0
                                  ? "arn:aws:bedrock:us-east-1::foundation-model/not.stored"
                                  : test_models[prng_below(ELEMENTSOF(test_models))];
    if (prng_below(10) < 3)
        q->name_contains = name_needles[prng_below(ELEMENTSOF(name_needles))];
    if (prng_below(10) < 4) {
        q->has_after = true;
        q->after_ns = random_bound();
    }
    if (prng_below(10) < 4) {
        q->has_before = true;
        q->before_ns = random_bound();
    }
    if (prng_below(10) < 3)
        q->job_region =
            prng_below(10) == 0 ? "ap-south-2" : regions[prng_below(ELEMENTSOF(regions))];
    if (prng_below(10) < 3)
        q->job_account = prng_below(10) == 0 ? "999999999999"
                                             : test_accounts[prng_below(ELEMENTSOF(test_accounts))];
}

/* Pages through q with page sizes from sizes(), checking each page against the reference.
 * Returns the number of pages. */
static unsigned page_through(struct cj_query *q, unsigned max_page)
{
    static struct cj_job *expect[N_JOBS];
    size_t total = ref_query(job_ptrs, N_JOBS, q, expect);
    size_t pos = 0;
    unsigned pages = 0;
    char *token = NULL;
    struct cj_buf out = {0};
    char err[256];

    do {
        assert_true(pages++ <= N_JOBS); /* bounded */
        q->max_results = 1 + prng_below(max_page);
        q->next_token = token;
        cj_buf_reset(&out);
        int r = cj_store_list(store, q, &out, err, sizeof(err));
        if (r != 0)
            fail_msg("cj_store_list: %d: %s", r, err);
        size_t m = total - pos < q->max_results ? total - pos : q->max_results;
        char *next = check_page(&out, expect + pos, m, pos + m < total);
        pos += m;
        free(token);
        token = next;
    } while (token);
    assert_int_equal(pos, total);
    q->next_token = NULL;
    cj_buf_free(&out);
    return pages;
}

static void test_random_queries_against_reference(void **state)
{
    unsigned nonempty = 0, multi_page = 0, per_index[_CJ_INDEX_MAX] = {0};
    for (unsigned i = 0; i < N_QUERIES; i++) {
        struct cj_query q;
        random_query(&q);
        per_index[cj_query_plan(&q)]++;
        static struct cj_job *expect[N_JOBS];
        if (ref_query(job_ptrs, N_JOBS, &q, expect) > 0)
            nonempty++;
        if (page_through(&q, 50) > 1)
            multi_page++;
    }
    /* The generator must exercise real results, not only empty ones. */
    assert_true(nonempty > N_QUERIES / 3);
    assert_true(multi_page > N_QUERIES / 4);
    /* Every plan answers some of them: the time index reads rows in place, the others
     * fetch them from it. */
    for (size_t i = 0; i < _CJ_INDEX_MAX; i++)
        if (per_index[i] < 10)
            fail_msg("only %u random queries planned on %s", per_index[i], cj_index_to_string(i));
}

static void test_every_filter_alone_and_combined(void **state)
{
    /* All 2^8 combinations of the filters, both orders, one fixed value each. */
    int64_t mid = jobs[N_JOBS / 2].creation_ns;
    unsigned per_index[_CJ_INDEX_MAX] = {0};
    for (unsigned mask = 0; mask < 256; mask++)
        for (int asc = 0; asc < 2; asc++) {
            struct cj_query q = {
                .ascending = asc,
                .has_status = mask & 1,
                .status = CJ_STATUS_COMPLETED,
                .source_account = mask & 2 ? test_accounts[1] : NULL,
                .source_model_arn = mask & 4 ? test_models[2] : NULL,
                .name_contains = mask & 8 ? "a" : NULL,
                .has_after = mask & 16,
                .after_ns = mid - 100 * INT64_C(1000000000),
                .has_before = mask & 32,
                .before_ns = mid,
                .job_region = mask & 64 ? "us-west-2" : NULL,
                .job_account = mask & 128 ? test_accounts[3] : NULL,
            };
            per_index[cj_query_plan(&q)]++;
            page_through(&q, mask == 0 ? 1000 : 20);
        }
    for (size_t i = 0; i < _CJ_INDEX_MAX; i++)
        assert_true(per_index[i] >= 8);
}

static void test_strict_bounds_with_ties(void **state)
{
    /* A time shared by several jobs: neither bound includes it. */
    int64_t t = 0;
    for (unsigned i = 0; i < N_JOBS && !t; i++) {
        unsigned same = 0;
        for (unsigned k = 0; k < N_JOBS; k++)
            same += jobs[k].creation_ns == jobs[i].creation_ns;
        if (same >= 5)
            t = jobs[i].creation_ns;
    }
    assert_true(t != 0);

    struct cj_query q = {.has_after = true,
                         .after_ns = t - 1,
                         .has_before = true,
                         .before_ns = t + 1,
                         .max_results = 1000};
    static struct cj_job *expect[N_JOBS];
    size_t n = ref_query(job_ptrs, N_JOBS, &q, expect);
    assert_true(n >= 5);
    for (size_t i = 0; i < n; i++)
        assert_true(expect[i]->creation_ns == t);
    page_through(&q, 2);
    q.ascending = true;
    page_through(&q, 2);

    /* after == t or before == t excludes t itself. */
    struct cj_buf out = {0};
    char err[128];
    q = (struct cj_query){.has_after = true,
                          .after_ns = t,
                          .has_before = true,
                          .before_ns = t + 1,
                          .max_results = 1000};
    assert_int_equal(cj_store_list(store, &q, &out, err, sizeof(err)), 0);
    assert_string_equal(out.data, "{\"modelCopyJobSummaries\":[]}");
    cj_buf_reset(&out);
    q = (struct cj_query){.has_after = true,
                          .after_ns = t - 1,
                          .has_before = true,
                          .before_ns = t,
                          .max_results = 1000};
    assert_int_equal(cj_store_list(store, &q, &out, err, sizeof(err)), 0);
    assert_string_equal(out.data, "{\"modelCopyJobSummaries\":[]}");
    cj_buf_free(&out);
}

/* First page of q with max_results m; returns its token. */
static char *first_token(struct cj_query *q, unsigned m)
{
    struct cj_buf out = {0};
    char err[128];
    q->max_results = m;
    q->next_token = NULL;
    assert_int_equal(cj_store_list(store, q, &out, err, sizeof(err)), 0);
    const char *p = strstr(out.data, "\"nextToken\":\"");
    assert_non_null(p);
    p += strlen("\"nextToken\":\"");
    char *t = strndup(p, strcspn(p, "\""));
    cj_buf_free(&out);
    return t;
}

static void expect_bad_token(struct cj_query *q, const char *token, const char *msg_part)
{
    struct cj_buf out = {0};
    char err[256] = "";
    q->next_token = token;
    assert_int_equal(cj_store_list(store, q, &out, err, sizeof(err)), -EINVAL);
    assert_true(strncmp(err, "nextToken: ", 11) == 0);
    if (msg_part && !strstr(err, msg_part))
        fail_msg("message \"%s\" lacks \"%s\"", err, msg_part);
    assert_int_equal(out.len, 0);
    q->next_token = NULL;
    cj_buf_free(&out);
}

/* Decodes a token (base64url, no padding), sets its version byte, and signs it again with the
 * store's key the way the store does: two SipHash-2-4 values over all before the MAC, under the
 * two halves of HMAC-SHA256("cj-token-mac-keys") keyed with the store's key. */
static char *reissue_with_version(const char *token, uint8_t version)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint8_t raw[4096];
    size_t n = 0, len = strlen(token);
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < len; i++) {
        const char *p = strchr(alphabet, token[i]);
        assert_non_null(p);
        acc = acc << 6 | (uint32_t)(p - alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            assert_true(n < sizeof(raw));
            raw[n++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    assert_true(n > 16);
    if (n <= 16 || n > sizeof(raw))
        abort(); /* tells the compiler too */
    size_t body = n - 16;
    raw[0] = version;
    static const char label[] = "cj-token-mac-keys";
    uint8_t keys[32];
    unsigned keys_len = sizeof(keys);
    assert_non_null(HMAC(EVP_sha256(), store->mac_key, sizeof(store->mac_key),
                         (const uint8_t *)label, sizeof(label) - 1, keys, &keys_len));
    put_le64(raw + body, cj_siphash24(keys, raw, body));
    put_le64(raw + body + 8, cj_siphash24(keys + 16, raw, body));

    char *out = malloc((n + 2) / 3 * 4 + 1);
    size_t o = 0;
    assert_non_null(out);
    acc = 0;
    bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = acc << 8 | raw[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = alphabet[(acc >> bits) & 63];
        }
    }
    if (bits > 0)
        out[o++] = alphabet[(acc << (6 - bits)) & 63];
    out[o] = '\0';
    return out;
}

static void test_bad_tokens(void **state)
{
    struct cj_query q = {.has_status = true, .status = CJ_STATUS_FAILED};
    char *t = first_token(&q, 5);
    size_t len = strlen(t);

    /* Every single-character change is caught. */
    for (size_t i = 0; i < len; i++) {
        char *bad = strdup(t);
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        expect_bad_token(&q, bad, NULL);
        free(bad);
    }
    /* A token issued under the keys of schema 6 (newest first), correctly MAC'd with this
     * store's key: refused for its version, not misread as a position. */
    char *old = reissue_with_version(t, 6);
    expect_bad_token(&q, old, "incompatible version");
    free(old);
    /* The same re-issue with this format's version (11) is this token: the helper is sound.
     * Version 7 had these keys with another MAC: refused as another version's, not reported as
     * altered; one of a later number claims a format there never was. */
    char *same = reissue_with_version(t, 11);
    assert_string_equal(same, t);
    free(same);
    char *hmac_era = reissue_with_version(t, 7);
    expect_bad_token(&q, hmac_era, "incompatible version");
    free(hmac_era);
    char *next = reissue_with_version(t, 12);
    expect_bad_token(&q, next, "incompatible version");
    free(next);

    /* A changed version byte (the first 6 bits). */
    char *v = strdup(t);
    v[0] = 'E';
    expect_bad_token(&q, v, "version");
    free(v);

    /* Truncated, extended, garbage, empty, too long. */
    char *trunc = strndup(t, len - 3);
    expect_bad_token(&q, trunc, NULL);
    free(trunc);
    trunc = strndup(t, len - 1);
    expect_bad_token(&q, trunc, NULL);
    free(trunc);
    char *ext = NULL;
    assert_true(asprintf(&ext, "%sAAAA", t) > 0);
    expect_bad_token(&q, ext, NULL);
    free(ext);
    expect_bad_token(&q, "!!not base64!!", "not a token");
    expect_bad_token(&q, "hello world", NULL);
    expect_bad_token(&q, "", NULL);
    expect_bad_token(&q, "AAAA", NULL);
    char *huge = malloc(CJ_NEXT_TOKEN_MAX + 2);
    memset(huge, 'A', CJ_NEXT_TOKEN_MAX + 1);
    huge[CJ_NEXT_TOKEN_MAX + 1] = '\0';
    expect_bad_token(&q, huge, NULL);
    free(huge);

    /* Another query's token: other filter value, other order, other index, other bounds. */
    struct cj_query other = q;
    other.status = CJ_STATUS_COMPLETED;
    expect_bad_token(&other, t, "does not belong to this query");
    other = q;
    other.ascending = true;
    expect_bad_token(&other, t, "does not belong to this query");
    other = q;
    other.source_account = test_accounts[0];
    expect_bad_token(&other, t, "does not belong to this query");
    other = q;
    other.has_before = true;
    other.before_ns = INT64_MAX;
    expect_bad_token(&other, t, "does not belong to this query");
    other = q;
    other.name_contains = "a";
    expect_bad_token(&other, t, "does not belong to this query");

    /* A token of another store (another key) fails verification. */
    char *dir2 = make_tmpdir();
    struct cj_store *s2 = open_store_at(dir2, 0, 16 * MIB);
    struct cj_buf out = {0};
    char err[256];
    q.next_token = t;
    q.max_results = 5;
    assert_int_equal(cj_store_list(s2, &q, &out, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "verification"));
    cj_store_close(s2);
    remove_tree(dir2);

    /* The page size may change between pages. */
    static struct cj_job *expect[N_JOBS];
    size_t n = ref_query(job_ptrs, N_JOBS, &q, expect);
    assert_true(n > 30);
    q.next_token = t;
    q.max_results = 17;
    cj_buf_reset(&out);
    assert_int_equal(cj_store_list(store, &q, &out, err, sizeof(err)), 0);
    free(check_page(&out, expect + 5, 17, true));

    /* Bad queries are refused with a message too. */
    q.next_token = NULL;
    q.max_results = 0;
    assert_int_equal(cj_store_list(store, &q, &out, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "maxResults"));
    q.max_results = 1001;
    assert_int_equal(cj_store_list(store, &q, &out, err, sizeof(err)), -EINVAL);

    cj_buf_free(&out);
    free(t);
}

/* ---- paging while jobs are written between pages ---- */

#define LIVE_INITIAL 600
#define LIVE_MAX     1200

struct live {
    struct cj_job job[LIVE_MAX];
    bool present[LIVE_MAX];
    bool touched[LIVE_MAX]; /* removed at some point, or inserted during the walk */
    unsigned n;
};

static void live_add(struct cj_store *s, struct live *l, bool during)
{
    unsigned id = l->n++;
    assert_true(id < LIVE_MAX);
    struct test_job_spec sp = {.id = 50000 + id,
                               .status = prng_below(3),
                               .creation_ns = TEST_BASE_NS + (int64_t)prng_below(100),
                               .account = test_accounts[prng_below(2)],
                               .model = test_models[prng_below(2)],
                               .name = test_names[prng_below(ELEMENTSOF(test_names))]};
    test_job_fill(&l->job[id], &sp);
    put_one(s, &l->job[id], NULL);
    l->present[id] = true;
    l->touched[id] = during;
}

static unsigned id_of(const char *arn_end)
{
    /* ".../model-copy-job/0000050123" */
    return (unsigned)strtoul(arn_end - 10, NULL, 10) - 50000;
}

static void live_walk(struct cj_store *s, struct live *l, struct cj_query *q, bool change_status)
{
    char *token = NULL;
    char err[256];
    struct cj_buf out = {0};
    unsigned seen[LIVE_MAX] = {0};
    int64_t last_t = 0;
    const char *last_arn = NULL;
    unsigned pages = 0;

    do {
        assert_true(pages++ < 2 * LIVE_MAX);
        q->max_results = 1 + prng_below(9);
        q->next_token = token;
        cj_buf_reset(&out);
        assert_int_equal(cj_store_list(s, q, &out, err, sizeof(err)), 0);

        /* Rows in order, each once. */
        for (const char *p = strstr(out.data, "{\"jobArn\":\""); p;
             p = strstr(p + 1, "{\"jobArn\":\"")) {
            const char *arn = p + strlen("{\"jobArn\":\"");
            const char *end = strchr(arn, '"');
            unsigned id = id_of(end);
            assert_true(id < l->n);
            assert_int_equal(seen[id]++, 0);
            assert_true(ref_matches(&l->job[id], q));
            if (last_arn) {
                int c = l->job[id].creation_ns != last_t
                            ? (l->job[id].creation_ns < last_t ? -1 : 1)
                            : strcmp(l->job[id].job_arn, last_arn);
                assert_true(q->ascending ? c > 0 : c < 0);
            }
            last_t = l->job[id].creation_ns;
            last_arn = l->job[id].job_arn;
        }
        char *next = NULL;
        const char *tp = strstr(out.data, "\"nextToken\":\"");
        if (tp) {
            tp += strlen("\"nextToken\":\"");
            next = strndup(tp, strcspn(tp, "\""));
        }
        free(token);
        token = next;

        /* Writes between pages: inserts anywhere in time, removals, updates. */
        for (unsigned k = 0; k < 2 && l->n < LIVE_MAX; k++)
            live_add(s, l, true);
        for (unsigned k = 0; k < 2; k++) {
            unsigned id = prng_below(l->n);
            if (l->present[id]) {
                assert_int_equal(cj_store_remove(s, l->job[id].job_arn), 0);
                l->present[id] = false;
                l->touched[id] = true;
            }
        }
        for (unsigned k = 0; k < 3; k++) {
            unsigned id = prng_below(l->n);
            if (!l->present[id] || l->touched[id])
                continue;
            struct test_job_spec sp = {.id = 50000 + id,
                                       .rev = prng_below(1000) + 1,
                                       .status = l->job[id].status,
                                       .creation_ns = l->job[id].creation_ns,
                                       .account = l->job[id].source_account,
                                       .model = l->job[id].source_model_arn,
                                       .name = l->job[id].target_model_name};
            if (change_status)
                sp.status = (sp.status + 1) % 3;
            struct cj_job j;
            test_job_fill(&j, &sp);
            put_one(s, &j, NULL);
            /* job[] keeps its strings: last_arn may point into them. */
            l->job[id].status = j.status;
            free(l->job[id].json);
            l->job[id].json = TAKE_PTR(j.json);
            test_job_free(&j);
        }
    } while (token);
    assert_verified(s);

    /* Every job present and matching throughout was delivered exactly once. */
    unsigned throughout = 0;
    for (unsigned id = 0; id < l->n; id++)
        if (!l->touched[id] && ref_matches(&l->job[id], q)) {
            throughout++;
            if (seen[id] != 1)
                fail_msg("job %u (present throughout) delivered %u times", id, seen[id]);
        }
    assert_true(throughout > 50);
    q->next_token = NULL;
    cj_buf_free(&out);
}

static void test_paging_during_writes(void **state)
{
    char *d = make_tmpdir();
    struct cj_store *s = open_store_at(d, 0, 64 * MIB);
    struct live *l = calloc(1, sizeof(*l));
    assert_non_null(l);
    prng_state = 77;
    for (unsigned i = 0; i < LIVE_INITIAL; i++)
        live_add(s, l, false);

    struct cj_query q = {0};
    live_walk(s, l, &q, true); /* descending, no filter: status changes stay in range */
    q.ascending = true;
    live_walk(s, l, &q, true);
    q = (struct cj_query){.source_account = test_accounts[1], .ascending = true};
    live_walk(s, l, &q, true);
    q = (struct cj_query){
        .source_model_arn = test_models[0], .has_after = true, .after_ns = TEST_BASE_NS + 10};
    live_walk(s, l, &q, true);

    for (unsigned id = 0; id < l->n; id++)
        test_job_free(&l->job[id]);
    free(l);
    cj_store_close(s);
    remove_tree(d);
}

/* A scan no index serves stops after the store's scan budget of rows, with a nextToken at the
 * last row examined: pages may be short or empty, and following the tokens still returns every
 * match exactly once, in order. 50,000 jobs, one in ~1,000 matching, a budget of 700 rows. */
#define SCAN_JOBS   50000
#define SCAN_BUDGET 700

static void scan_pages(struct cj_store *s, struct cj_job *const *all, size_t n_all,
                       struct cj_query *q, unsigned *empty_pages)
{
    static struct cj_job *expect[SCAN_JOBS];
    size_t total = ref_query(all, n_all, q, expect), pos = 0;
    unsigned pages = 0;
    char *token = NULL;
    struct cj_buf out = {0};
    char err[256];

    do {
        assert_true(pages++ <= SCAN_JOBS / SCAN_BUDGET + total + 2); /* bounded, and no more */
        q->max_results = 1 + prng_below(5);
        q->next_token = token;
        cj_buf_reset(&out);
        int r = cj_store_list(s, q, &out, err, sizeof(err));
        if (r != 0)
            fail_msg("cj_store_list: %d: %s", r, err);
        /* The page holds the next 0..max_results expected jobs; count them from the body. */
        size_t m = 0;
        for (const char *p = out.data; (p = strstr(p, "{\"jobArn\":")); p++)
            m++;
        assert_true(m <= q->max_results && pos + m <= total);
        bool more = strstr(out.data, "\"nextToken\":") != NULL;
        char *next = check_page(&out, expect + pos, m, more);
        if (m == 0 && more)
            (*empty_pages)++;
        pos += m;
        free(token);
        token = next;
    } while (token);
    assert_int_equal(pos, total);
    q->next_token = NULL;
    cj_buf_free(&out);
}

static void test_scan_budget(void **state)
{
    char *sdir = make_tmpdir();
    struct cj_store_options o = {
        .directory = sdir, .max_size = 1024 * MIB, .scan_budget = SCAN_BUDGET};
    struct cj_store *s = NULL;
    struct cj_job *all = calloc(SCAN_JOBS, sizeof(*all));
    struct cj_job **ptrs = calloc(SCAN_JOBS, sizeof(*ptrs));
    assert_non_null(all);
    assert_non_null(ptrs);
    assert_int_equal(cj_store_open(&o, &s), 0);

    prng_state = 424242;
    for (unsigned i = 0; i < SCAN_JOBS; i++) {
        struct test_job_spec sp = {
            .id = i,
            .status = prng_below(3),
            /* 5,000 distinct seconds: ties, so the budget also ends pages inside a tie */
            .creation_ns = TEST_BASE_NS + (int64_t)prng_below(5000) * 1000000000,
            .account = test_accounts[prng_below(ELEMENTSOF(test_accounts))],
            .model = test_models[prng_below(ELEMENTSOF(test_models))],
            .name = prng_below(1000) == 0 ? "needle-x" : "hay",
        };
        test_job_fill(&all[i], &sp);
        ptrs[i] = &all[i];
    }
    for (unsigned i = 0; i < SCAN_JOBS; i += 1000)
        assert_int_equal(cj_store_put_jobs(s, "us-east-1", NULL, all + i, 1000, NULL), 0);

    unsigned empty = 0;
    for (int asc = 0; asc < 2; asc++) {
        struct cj_query q = {.ascending = asc, .name_contains = "needle"};
        scan_pages(s, ptrs, SCAN_JOBS, &q, &empty);
        /* with an index and the unserved filter on top */
        q = (struct cj_query){.ascending = asc,
                              .name_contains = "needle",
                              .has_status = true,
                              .status = CJ_STATUS_FAILED};
        scan_pages(s, ptrs, SCAN_JOBS, &q, &empty);
        q = (struct cj_query){.ascending = asc,
                              .name_contains = "needle",
                              .has_after = true,
                              .after_ns = TEST_BASE_NS + 1000 * INT64_C(1000000000),
                              .has_before = true,
                              .before_ns = TEST_BASE_NS + 4000 * INT64_C(1000000000)};
        scan_pages(s, ptrs, SCAN_JOBS, &q, &empty);
        /* no match at all: every page is empty until the end */
        q = (struct cj_query){.ascending = asc, .name_contains = "nothere"};
        scan_pages(s, ptrs, SCAN_JOBS, &q, &empty);
    }
    assert_true(empty >= 2 * SCAN_JOBS / SCAN_BUDGET); /* the budget did end pages */

    /* A full page still comes whole when the matches are dense. */
    struct cj_query q = {.max_results = 1000};
    struct cj_buf out = {0};
    char err[256];
    assert_int_equal(cj_store_list(s, &q, &out, err, sizeof(err)), 0);
    size_t m = 0;
    for (const char *p = out.data; (p = strstr(p, "{\"jobArn\":")); p++)
        m++;
    assert_int_equal(m, SCAN_BUDGET); /* the budget bounds rows examined, matches or not */
    cj_buf_free(&out);

    cj_store_close(s);
    for (unsigned i = 0; i < SCAN_JOBS; i++)
        test_job_free(&all[i]);
    free(all);
    free(ptrs);
    remove_tree(sdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_queries_against_reference),
        cmocka_unit_test(test_every_filter_alone_and_combined),
        cmocka_unit_test(test_strict_bounds_with_ties),
        cmocka_unit_test(test_bad_tokens),
        cmocka_unit_test(test_paging_during_writes),
        cmocka_unit_test(test_scan_budget),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
