/* SPDX-License-Identifier: MIT */
/* ListModelCopyJobs from the cache: the hot path of the product, all of it in this file.
 *
 * 1. The plan: the query picks one index (cj_query_plan) and becomes a key prefix, a time
 *    range and the filters that index does not serve (plan_query).
 * 2. A nextToken, if given, is verified against the query and gives the key to resume
 *    past (token_decode; the format is below).
 * 3. One read transaction, a cursor walking the key range in the requested order (position,
 *    walk), the job's region and account checked on the key's jobArn (key_job_matches), the
 *    other filters on the row header (row_match), the rows' JSON gathered (page_rows) and
 *    copied once into an answer sized for them. The rows lie in one database per status,
 *    keyed time | jobArn: a status's page walks its database and reads them in place; a page
 *    of every status merges the four databases' walks by key (struct run), in place too. A
 *    secondary index walks the sorted duplicates of its prefix (position_dup), each its row's
 *    key and status, which names the row's database, where a second cursor fetches the row
 *    (fetch_row).
 * 4. When a row is left over, the key of the last row returned becomes the nextToken
 *    (token_encode), made while the transaction still holds the key's bytes. A page examines
 *    at most s->scan_budget rows: when they run out first, the nextToken holds the key of the
 *    last row examined instead, and the page may be short, even empty. */
#include <assert.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>

#include "base64url.h"
#include "log.h"
#include "store-internal.h"

/* ---- 1. the plan ---- */

/* Most selective first, the status before the secondary indexes it is not combined with: its
 * rows are read in place. A source model ARN names few jobs. The account a job runs in (its
 * jobArn's) is one of the organisation's accounts, each with a few sources; the source model's
 * account is often one central account that every job copies from, so it comes after. A
 * status is a third of everything (and the Completed share grows); time alone is the
 * fallback. The filters the chosen index does not serve are checked on the row header, except
 * the job's region and account, which are checked on the jobArn that ends each key: a
 * candidate that fails them costs no row fetch. So a region (one of the few a team copies to)
 * with a status takes the status index: a rare status (Failed) then fetches only the rows it
 * returns, where the region index would fetch every row of the region to check its status;
 * a common one (Completed) examines a few more keys and fetches about as many rows. */
enum cj_index cj_query_plan(const struct cj_query *q)
{
    if (q->source_model_arn)
        return CJ_INDEX_MODEL_TIME;
    if (q->job_account)
        return CJ_INDEX_JOB_ACCOUNT_TIME;
    if (q->source_account)
        return CJ_INDEX_ACCOUNT_TIME;
    if (q->has_status)
        return CJ_INDEX_STATUS_TIME;
    if (q->job_region)
        return CJ_INDEX_JOB_REGION_TIME;
    return CJ_INDEX_TIME;
}

struct list_plan {
    enum cj_index index;
    bool ascending;
    unsigned max_results;
    uint8_t prefix[INDEX_PREFIX_MAX];
    size_t plen;
    /* Rows in range have lo <= time < hi; lo and hi are time keys. */
    bool has_lo, has_hi, empty;
    uint8_t lo[8], hi[8];
    /* Filters checked on the row (the job's account: on the key's jobArn). */
    bool check_status, check_account, check_model, check_name, check_region, check_job_account;
    uint8_t status;
    uint16_t region_code;                       /* set in the read transaction (list_resolve) */
    uint8_t job_account_key[CJ_ACCOUNT_ID_LEN]; /* as in a key's jobArn */
    uint8_t region_key[CJ_REGION_NAME_MAX + 1]; /* the region and its ':', as in a key */
    size_t region_key_len;
    const char *account;
    const char *model_arn;
    size_t model_arn_len;
    const char *name;
    size_t name_len;
};

static int fail(char *err, size_t errlen, const char *msg)
{
    snprintf(err, errlen, "%s", msg);
    return -EINVAL;
}

static int plan_query(const struct cj_query *q, struct list_plan *p, char *err, size_t errlen)
{
    *p = (struct list_plan){
        .index = cj_query_plan(q), .ascending = q->ascending, .max_results = q->max_results};

    if (q->max_results < 1 || q->max_results > CJ_MAX_RESULTS_MAX)
        return fail(err, errlen, "maxResults: must be between 1 and 1000");
    if (q->has_status && (unsigned)q->status >= _CJ_STATUS_MAX)
        return fail(err, errlen, "statusEquals: must be InProgress, Completed or Failed");
    if (q->source_account && !cj_valid_account_id(q->source_account, strlen(q->source_account)))
        return fail(err, errlen, "sourceAccountEquals: must be 12 digits");
    if (q->source_model_arn) {
        p->model_arn_len = strlen(q->source_model_arn);
        if (p->model_arn_len == 0 || p->model_arn_len > CJ_MODEL_ARN_MAX)
            return fail(err, errlen, "sourceModelArnEquals: must be a model ARN");
    }
    if (q->name_contains) {
        p->name_len = strlen(q->name_contains);
        if (p->name_len == 0 || p->name_len > CJ_MODEL_NAME_MAX)
            return fail(err, errlen, "outputModelNameContains: must be 1..63 characters");
    }
    if (q->job_region && !cj_valid_region_name(q->job_region, strlen(q->job_region)))
        return fail(err, errlen,
                    "jobRegionEquals: must be a region name (a-z, 0-9 and '-', 1..32 characters)");
    if (q->job_account && !cj_valid_account_id(q->job_account, strlen(q->job_account)))
        return fail(err, errlen, "jobAccountEquals: must be 12 digits");

    /* The region's code comes from the store: list_resolve fills it in. */
    struct store_prefix_of of = {
        .status = q->has_status ? (uint8_t)q->status : 0,
        .account = q->source_account,
        .model_hash =
            q->source_model_arn ? store_model_hash(q->source_model_arn, p->model_arn_len) : 0,
        .job_account = q->job_account,
    };
    /* A status is the database, not a key prefix. */
    p->plen = p->index == CJ_INDEX_STATUS_TIME ? 0 : store_index_prefix(p->index, &of, p->prefix);

    /* Strict bounds: time > after means time >= after + 1. */
    if (q->has_after) {
        if (q->after_ns == INT64_MAX)
            p->empty = true;
        else {
            p->has_lo = true;
            put_time_key(p->lo, q->after_ns + 1);
        }
    }
    if (q->has_before) {
        p->has_hi = true;
        put_time_key(p->hi, q->before_ns);
        if (q->has_after && q->after_ns >= q->before_ns - (q->before_ns > INT64_MIN))
            p->empty = true;
        if (q->before_ns == INT64_MIN)
            p->empty = true;
    }

    p->check_status = q->has_status && p->index != CJ_INDEX_STATUS_TIME;
    p->status = q->has_status ? (uint8_t)q->status : 0;
    p->check_account = q->source_account && p->index != CJ_INDEX_ACCOUNT_TIME;
    p->account = q->source_account;
    p->check_model = q->source_model_arn != NULL; /* the index holds only its hash */
    p->model_arn = q->source_model_arn;
    p->check_name = q->name_contains != NULL;
    p->name = q->name_contains;
    p->check_region = q->job_region && p->index != CJ_INDEX_JOB_REGION_TIME;
    p->check_job_account = q->job_account && p->index != CJ_INDEX_JOB_ACCOUNT_TIME;
    if (q->job_region) {
        size_t n = strlen(q->job_region);
        for (size_t i = 0; i < n; i++)
            p->region_key[i] = (uint8_t)q->job_region[i];
        p->region_key[n] = ':';
        p->region_key_len = n + 1;
    }
    if (q->job_account)
        for (size_t i = 0; i < CJ_ACCOUNT_ID_LEN; i++)
            p->job_account_key[i] = (uint8_t)q->job_account[i];
    return 0;
}

/* In the read transaction: the region's code. A region no stored job has: no rows. */
static int list_resolve(struct cj_store *s, MDB_txn *txn, const struct cj_query *q,
                        struct list_plan *p)
{
    if (!q->job_region)
        return 0;
    int r = store_names_code(s, txn, META_REGION_NAMES, q->job_region, strlen(q->job_region), false,
                             0, &p->region_code);
    if (r == -ENOENT) {
        p->empty = true;
        return 0;
    }
    if (r < 0)
        return r;
    if (p->index == CJ_INDEX_JOB_REGION_TIME)
        p->plen = store_index_prefix(
            p->index, &(struct store_prefix_of){.region_code = p->region_code}, p->prefix);
    return 0;
}

/* ---- 2. and 4. the nextToken ----
 *
 * base64url (no padding) of
 *   version (1) | index (1) | query digest (8) | key length (be16) | index key | MAC (16)
 * where the version names the token's format. The MAC, over everything before it, is two
 * SipHash-2-4 values (le64 each) under two keys derived from the store's random key with
 * HMAC-SHA256 when the store opens: SipHash is a PRF made for short inputs, and a MAC costs
 * ~600 instructions where an HMAC-SHA256 costs ~8,300 (each page that has a next one makes a
 * MAC, and each that follows one checks one). The query digest is a keyed hash
 * (SipHash-2-4, its own derived key) of the query's filters and order, so a token works only
 * for the query that produced it (any maxResults); it needs no more, as the MAC covers it.
 * The key is the last row returned; the next page starts strictly past it. */

/* The keyed hash of the query's filters and order (not maxResults). */
#define TOKEN_QUERY_DIGEST_SIZE 8
/* A position is meaningful only in the key layout that issued it, and a MAC only under its
 * own algorithm, so a token carries its format's number: one from before a change of either
 * is refused as another version's, not misread or reported as altered. Up to 6, the
 * schema's keys; 7, schema 7's keys (still the layout) with HMAC-SHA256; 11, the same keys
 * with the SipHash MAC (8 to 10 are never issued). */
#define TOKEN_VERSION     11
#define TOKEN_MAC_SIZE    16
#define TOKEN_HEADER_SIZE (1 + 1 + TOKEN_QUERY_DIGEST_SIZE + 2)
#define TOKEN_PAYLOAD_MAX (TOKEN_HEADER_SIZE + INDEX_KEY_MAX + TOKEN_MAC_SIZE)

static void mac(const struct cj_store *s, const void *data, size_t n, uint8_t out[TOKEN_MAC_SIZE]);

/* The prefix of the keys a plan walks: none in the rows. */
static size_t plan_prefix_len(enum cj_index i)
{
    return i < STORE_INDEX_FIRST_SECONDARY ? 0 : store_index_prefix_len(i);
}

/* HMAC-SHA256 of label under the store's key: the keys derived from it. */
static int derive_key(const struct cj_store *s, const char *label, uint8_t out[32])
{
    unsigned len = 32;
    if (!HMAC(EVP_sha256(), s->mac_key, sizeof(s->mac_key), (const uint8_t *)label, strlen(label),
              out, &len) ||
        len != 32)
        return -ENOMEM;
    return 0;
}

int store_token_set_key(struct cj_store *s, const void *key, size_t n)
{
    uint8_t k[32];
    if (n != sizeof(s->mac_key))
        return -EINVAL;
    store_token_clear_key(s);
    memcpy(s->mac_key, key, n);

    int r = derive_key(s, "cj-query-digest-key", k);
    if (r >= 0) {
        memcpy(s->digest_key, k, sizeof(s->digest_key));
        r = derive_key(s, "cj-token-mac-keys", k);
    }
    if (r >= 0) {
        _Static_assert(sizeof(k) == sizeof(s->token_mac_keys), "two SipHash keys");
        memcpy(s->token_mac_keys, k, sizeof(k));
    }
    cj_explicit_zero(k, sizeof(k));
    if (r < 0)
        store_token_clear_key(s);
    return r;
}

void store_token_clear_key(struct cj_store *s)
{
    cj_explicit_zero(s->mac_key, sizeof(s->mac_key));
    cj_explicit_zero(s->token_mac_keys, sizeof(s->token_mac_keys));
    cj_explicit_zero(s->digest_key, sizeof(s->digest_key));
}

static void mac(const struct cj_store *s, const void *data, size_t n, uint8_t out[TOKEN_MAC_SIZE])
{
    _Static_assert(TOKEN_MAC_SIZE == 2 * sizeof(uint64_t), "the MAC is two SipHash values");
    put_le64(out, cj_siphash24(s->token_mac_keys[0], data, n));
    put_le64(out + 8, cj_siphash24(s->token_mac_keys[1], data, n));
}

static void digest_add_string(struct cj_buf *b, const char *str)
{
    uint8_t h[5] = {str != NULL};
    size_t n = str ? strlen(str) : 0;
    h[1] = (uint8_t)(n >> 24), h[2] = (uint8_t)(n >> 16), h[3] = (uint8_t)(n >> 8),
    h[4] = (uint8_t)n;
    cj_buf_append(b, h, sizeof(h));
    if (n)
        cj_buf_append(b, str, n);
}

static void query_digest(const struct cj_store *s, const struct cj_query *q,
                         uint8_t out[TOKEN_QUERY_DIGEST_SIZE])
{
    _cleanup_buf_ struct cj_buf b = {0};
    uint8_t h[48] = "cj-query-v1";
    uint8_t *p = h + 12;

    *p++ = q->ascending;
    *p++ = q->has_status;
    *p++ = q->has_status ? (uint8_t)q->status : 0;
    *p++ = q->has_after;
    put_le64(p, q->has_after ? (uint64_t)q->after_ns : 0);
    p += 8;
    *p++ = q->has_before;
    put_le64(p, q->has_before ? (uint64_t)q->before_ns : 0);
    p += 8;
    cj_buf_append(&b, h, (size_t)(p - h));
    digest_add_string(&b, q->source_account);
    digest_add_string(&b, q->source_model_arn);
    digest_add_string(&b, q->name_contains);
    digest_add_string(&b, q->job_region);
    digest_add_string(&b, q->job_account);

    /* On allocation failure the digest is of a prefix: tokens then fail to verify, which
     * is the safe direction. */
    uint64_t d = cj_siphash24(s->digest_key, b.data ? b.data : (char *)h, b.data ? b.len : 0);
    _Static_assert(TOKEN_QUERY_DIGEST_SIZE == sizeof(d), "the digest is one SipHash");
    put_le64(out, d);
}

static int token_encode(const struct cj_store *s, enum cj_index i,
                        const uint8_t digest[TOKEN_QUERY_DIGEST_SIZE], const void *key,
                        size_t key_len, struct cj_buf *out)
{
    uint8_t t[TOKEN_PAYLOAD_MAX], m[TOKEN_MAC_SIZE];

    if (key_len > INDEX_KEY_MAX)
        return -EINVAL;
    t[0] = TOKEN_VERSION;
    t[1] = (uint8_t)i;
    memcpy(t + 2, digest, TOKEN_QUERY_DIGEST_SIZE);
    t[2 + TOKEN_QUERY_DIGEST_SIZE] = (uint8_t)(key_len >> 8);
    t[3 + TOKEN_QUERY_DIGEST_SIZE] = (uint8_t)key_len;
    memcpy(t + TOKEN_HEADER_SIZE, key, key_len);
    size_t n = TOKEN_HEADER_SIZE + key_len;
    mac(s, t, n, m);
    memcpy(t + n, m, TOKEN_MAC_SIZE);
    return cj_base64url_encode(t, n + TOKEN_MAC_SIZE, out);
}

static int token_decode(const struct cj_store *s, const char *token, enum cj_index i,
                        const uint8_t digest[TOKEN_QUERY_DIGEST_SIZE], uint8_t *key,
                        size_t *key_len, char *err, size_t errlen)
{
    uint8_t t[TOKEN_PAYLOAD_MAX], m[TOKEN_MAC_SIZE];
    size_t len = strnlen(token, CJ_NEXT_TOKEN_MAX + 1);

    if (len == 0 || len > CJ_NEXT_TOKEN_MAX) {
        snprintf(err, errlen, "nextToken: must be 1..%d characters", CJ_NEXT_TOKEN_MAX);
        return -EINVAL;
    }
    ssize_t n = cj_base64url_decode(token, len, t, sizeof(t));
    if (n < TOKEN_HEADER_SIZE + TOKEN_MAC_SIZE) {
        snprintf(err, errlen, "nextToken: is not a token this service issued");
        return -EINVAL;
    }
    if (t[0] != TOKEN_VERSION) {
        snprintf(err, errlen, "nextToken: was issued by an incompatible version; start over");
        return -EINVAL;
    }
    size_t klen = (size_t)t[2 + TOKEN_QUERY_DIGEST_SIZE] << 8 | t[3 + TOKEN_QUERY_DIGEST_SIZE];
    if ((size_t)n != TOKEN_HEADER_SIZE + klen + TOKEN_MAC_SIZE) {
        snprintf(err, errlen, "nextToken: is not a token this service issued");
        return -EINVAL;
    }
    mac(s, t, TOKEN_HEADER_SIZE + klen, m);
    if (CRYPTO_memcmp(m, t + TOKEN_HEADER_SIZE + klen, TOKEN_MAC_SIZE) != 0) {
        snprintf(err, errlen, "nextToken: failed verification (altered, or from another cache)");
        return -EINVAL;
    }
    if (t[1] != (uint8_t)i || CRYPTO_memcmp(t + 2, digest, TOKEN_QUERY_DIGEST_SIZE) != 0) {
        snprintf(err, errlen, "nextToken: does not belong to this query");
        return -EINVAL;
    }
    size_t plen = plan_prefix_len(i);
    if (klen <= plen + 8 || klen > plen + 8 + ARN_KEY_SIZE(CJ_JOB_ARN_MAX)) {
        snprintf(err, errlen, "nextToken: is not a token this service issued");
        return -EINVAL;
    }
    memcpy(key, t + TOKEN_HEADER_SIZE, klen);
    *key_len = klen;
    return 0;
}

/* ---- 3. the walk ---- */

/* A page's rows are copied into the answer only once the walk has found them all: asking for
 * each row's bytes as it is found lets the memory fetch them while the walk goes on, where
 * otherwise the copy would wait for each row in turn (tests/bench/results-prefetch-2026-12-04/). */
static inline void prefetch_bytes(const void *p, size_t n)
{
    for (size_t o = 0; o < n; o += 64)
        __builtin_prefetch((const char *)p + o);
}

/* Whether the jobArn `a` (n bytes, the end of a key) names the region and the account wanted,
 * each when checked: the region follows the third colon and the account the fourth
 * (arn:PARTITION:bedrock:REGION:ACCOUNT:). */
static inline bool key_job_matches(const struct list_plan *p, const uint8_t *a, size_t n)
{
    const uint8_t colon = ':';
    const uint8_t *end = a + n;
    for (int i = 0; i < 3; i++) {
        const uint8_t *c = memchr(a, colon, (size_t)(end - a));
        if (!c)
            return false;
        a = c + 1;
    }
    if (p->check_region) {
        if ((size_t)(end - a) <= p->region_key_len ||
            memcmp(a, p->region_key, p->region_key_len) != 0)
            return false;
        a += p->region_key_len;
    } else {
        const uint8_t *c = memchr(a, colon, (size_t)(end - a));
        if (!c)
            return false;
        a = c + 1;
    }
    return !p->check_job_account ||
           (end - a > CJ_ACCOUNT_ID_LEN && memcmp(a, p->job_account_key, CJ_ACCOUNT_ID_LEN) == 0);
}

/* The row's JSON if the row passes the filters the index did not apply, else NULL. */
static inline const char *row_match(const struct list_plan *p, const MDB_val *v, size_t *json_len)
{
    const uint8_t *h = v->mv_data;
    struct store_row_view rv;
    if (!store_row_view(h, v->mv_size, &rv))
        return NULL;
    if (p->check_status && h[1] != p->status)
        return NULL;
    if (p->check_account && memcmp(h + 24, p->account, CJ_ACCOUNT_ID_LEN) != 0)
        return NULL;
    if (p->check_model && (rv.model_arn_len != p->model_arn_len ||
                           memcmp(rv.model_arn, p->model_arn, rv.model_arn_len) != 0))
        return NULL;
    if (p->check_name &&
        (!(h[3] & ROW_HAS_NAME) || !memmem(rv.name, rv.name_len, p->name, p->name_len)))
        return NULL;
    *json_len = rv.json_len;
    return rv.json;
}

/* Keys sort oldest first, so Ascending walks the cursor forwards and Descending backwards. */
static inline bool forwards(const struct list_plan *p)
{
    return p->ascending;
}

/* Puts the cursor on the first candidate: past the token's key, or at the range's start. */
static int position(const struct list_plan *p, MDB_cursor *cur, const uint8_t *resume,
                    size_t resume_len, MDB_val *k, MDB_val *v)
{
    uint8_t start[INDEX_PREFIX_MAX + 9];
    int rc;

    if (resume) {
        k->mv_data = (void *)resume;
        k->mv_size = resume_len;
    } else {
        /* prefix | time (no jobArn) is below every key of that time, and a jobArn byte 0xFF
         * (never in UTF-8) above every key of time INT64_MAX. */
        memcpy(start, p->prefix, p->plen);
        k->mv_data = start;
        k->mv_size = p->plen + 8;
        if (forwards(p)) {
            if (p->has_lo)
                memcpy(start + p->plen, p->lo, 8); /* the first key of time lo */
            else
                memset(start + p->plen, 0, 8);
        } else if (p->has_hi)
            memcpy(start + p->plen, p->hi, 8); /* the keys of time hi and past it are not */
        else {
            memset(start + p->plen, 0xff, 9); /* above every key of the prefix */
            k->mv_size = p->plen + 9;
        }
    }

    rc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
    if (forwards(p)) {
        /* Resuming: strictly past the last row returned, even if it was removed. */
        if (rc == MDB_SUCCESS && resume && k->mv_size == resume_len &&
            memcmp(k->mv_data, resume, resume_len) == 0)
            rc = mdb_cursor_get(cur, k, v, MDB_NEXT);
        return rc;
    }
    /* Backwards: the greatest key below the seek key. */
    if (rc == MDB_NOTFOUND)
        return mdb_cursor_get(cur, k, v, MDB_LAST);
    if (rc != MDB_SUCCESS)
        return rc;
    return mdb_cursor_get(cur, k, v, MDB_PREV);
}

/* The same on a secondary index, whose entries are sorted duplicates of their prefix
 * (store-index.c): the cursor stays among the prefix's, v the entry (time | jobArn | status)
 * and resume the full key (prefix | time | jobArn). */
static int position_dup(const struct list_plan *p, MDB_cursor *cur, const uint8_t *resume,
                        size_t resume_len, MDB_val *k, MDB_val *v)
{
    uint8_t start[9];
    *k = (MDB_val){.mv_size = p->plen, .mv_data = (void *)p->prefix};
    int rc = mdb_cursor_get(cur, k, v, MDB_SET_KEY);
    if (rc != MDB_SUCCESS)
        return rc; /* no entry has the prefix */
    if (resume)
        *v = (MDB_val){.mv_size = resume_len - p->plen, .mv_data = (void *)(resume + p->plen)};
    else {
        *v = (MDB_val){.mv_size = 8, .mv_data = start};
        if (forwards(p)) {
            if (p->has_lo)
                memcpy(start, p->lo, 8);
            else
                memset(start, 0, 8);
        } else if (p->has_hi)
            memcpy(start, p->hi, 8);
        else {
            memset(start, 0xff, 9);
            v->mv_size = 9;
        }
    }
    const MDB_val want = *v;
    rc = mdb_cursor_get(cur, k, v, MDB_GET_BOTH_RANGE);
    if (forwards(p)) {
        /* Resuming: past the entry of the last row returned (the entry adds its status). */
        if (rc == MDB_SUCCESS && resume && v->mv_size == want.mv_size + 1 &&
            memcmp(v->mv_data, want.mv_data, want.mv_size) == 0)
            rc = mdb_cursor_get(cur, k, v, MDB_NEXT_DUP);
        return rc;
    }
    if (rc == MDB_NOTFOUND) {
        *k = (MDB_val){.mv_size = p->plen, .mv_data = (void *)p->prefix};
        rc = mdb_cursor_get(cur, k, v, MDB_SET_KEY);
        return rc == MDB_SUCCESS ? mdb_cursor_get(cur, k, v, MDB_LAST_DUP) : rc;
    }
    if (rc != MDB_SUCCESS)
        return rc;
    return mdb_cursor_get(cur, k, v, MDB_PREV_DUP);
}

/* A cursor on a rows database that fetches the rows of a secondary index's entries, which
 * come in time order: the next row of that database wanted is some entries on from the last
 * one, and stepping there may be cheaper than a descent from the root. It is only when the index is
 * selective enough: at 100,000 jobs a descent costs about as much as ROW_DESCENT_STEPS
 * steps (~1,800 instructions against ~200), and a status is ~7 entries apart but a source
 * model ~60. So stepping keeps an account in units of a step: a row found k steps on
 * earns ROW_DESCENT_STEPS - k, a search that gives up after ROW_STEP_MAX steps (and then
 * descends) costs ROW_STEP_MAX. Out of credit, it descends, and every ROW_STEP_PROBE-th
 * row probes up to ROW_DESCENT_STEPS steps. Measurements: docs/performance.md. */
#define ROW_STEP_MAX      16
#define ROW_DESCENT_STEPS 9
#define ROW_STEP_CREDIT   (4 * ROW_STEP_MAX)
#define ROW_STEP_PROBE    32

struct row_cursor {
    MDB_cursor *cur;    /* NULL until the first fetch from its database */
    MDB_cursor_op step; /* the walk's direction */
    bool placed;        /* cur stands on the last row fetched */
    int credit;
    unsigned idle; /* rows fetched by descent since the credit ran out */
};

/* LMDB's default order: bytes, then length. */
static inline int key_cmp(const MDB_val *a, const MDB_val *b)
{
    size_t n = a->mv_size < b->mv_size ? a->mv_size : b->mv_size;
    int c = memcmp(a->mv_data, b->mv_data, n);
    return c ? c : (a->mv_size > b->mv_size) - (a->mv_size < b->mv_size);
}

/* Steps towards want: the number of steps when found (row set), 0 when not within `max`
 * steps, -1 when stepped past it (the row is missing). */
static int step_to(struct row_cursor *rc, const MDB_val *want, int max, MDB_val *row)
{
    MDB_val k;
    for (int i = 1; i <= max; i++) {
        if (mdb_cursor_get(rc->cur, &k, row, rc->step) != MDB_SUCCESS)
            return -1;
        int c = key_cmp(&k, want);
        if (c == 0)
            return i;
        if (rc->step == MDB_NEXT ? c > 0 : c < 0)
            return -1;
    }
    return 0;
}

/* The row whose time-index key is `want`. */
static int fetch_row(struct row_cursor *rc, const MDB_val *want, MDB_val *row)
{
    if (rc->placed && (rc->credit > 0 || ++rc->idle >= ROW_STEP_PROBE)) {
        /* A probe only looks as far as would pay. */
        int steps = step_to(rc, want, rc->credit > 0 ? ROW_STEP_MAX : ROW_DESCENT_STEPS, row);
        rc->idle = 0;
        if (steps > 0) {
            rc->credit += ROW_DESCENT_STEPS - steps;
            if (rc->credit > ROW_STEP_CREDIT)
                rc->credit = ROW_STEP_CREDIT;
            return MDB_SUCCESS;
        }
        if (steps == 0 && rc->credit > 0)
            rc->credit = rc->credit > ROW_STEP_MAX ? rc->credit - ROW_STEP_MAX : 0;
        /* Past it says nothing of the distance; the descent confirms the row is missing. */
    }
    MDB_val k = *want;
    int r = mdb_cursor_get(rc->cur, &k, row, MDB_SET_KEY);
    rc->placed = r == MDB_SUCCESS;
    return r;
}

/* The rows of a page, pointing into the map: gathered first, so that the answer is sized once
 * and each row copied once. */
struct page_rows {
    struct {
        const char *json;
        size_t len;
    } row[CJ_MAX_RESULTS_MAX];
    unsigned n;
    size_t bytes;
};

/* One ordered stream of candidates: a cursor and the key and value it stands on. A walk
 * has one, or for a page of every status one per rows database, merged by key. */
struct run {
    MDB_cursor *cur;
    MDB_val k, v;
    int rc; /* MDB_NOTFOUND once past the range */
};

/* Whether k lies in the plan's prefix and time range. */
static inline bool in_range(const struct list_plan *p, const MDB_val *k)
{
    const uint8_t *kp = k->mv_data;
    if (k->mv_size <= p->plen + 8 || memcmp(kp, p->prefix, p->plen) != 0)
        return false;
    return forwards(p) ? !(p->has_hi && memcmp(kp + p->plen, p->hi, 8) >= 0)
                       : !(p->has_lo && memcmp(kp + p->plen, p->lo, 8) < 0);
}

/* Whether the secondary index entry d lies in the plan's time range (its prefix does). */
static inline bool in_range_dup(const struct list_plan *p, const MDB_val *d)
{
    const uint8_t *dp = d->mv_data;
    if (d->mv_size < 8 + 2)
        return true; /* damage, skipped by the walk and reported by verify */
    return forwards(p) ? !(p->has_hi && memcmp(dp, p->hi, 8) >= 0)
                       : !(p->has_lo && memcmp(dp, p->lo, 8) < 0);
}

static inline void run_check(const struct list_plan *p, struct run *r, bool dup)
{
    if (r->rc == MDB_SUCCESS && !(dup ? in_range_dup(p, &r->v) : in_range(p, &r->k)))
        r->rc = MDB_NOTFOUND;
}

/* The run whose key comes first in the walk's order; NULL when all are past the range. */
static inline struct run *run_next(const struct list_plan *p, struct run *runs, unsigned n)
{
    struct run *best = NULL;
    for (unsigned i = 0; i < n; i++) {
        if (runs[i].rc != MDB_SUCCESS)
            continue;
        if (!best)
            best = &runs[i];
        else {
            int c = key_cmp(&runs[i].k, &best->k);
            if (forwards(p) ? c < 0 : c > 0)
                best = &runs[i];
        }
    }
    return best;
}

static int walk(struct cj_store *s, MDB_txn *txn, const struct list_plan *p, const uint8_t *resume,
                size_t resume_len, struct page_rows *out, MDB_val *last, bool *more)
{
    const MDB_cursor_op step = forwards(p) ? MDB_NEXT : MDB_PREV;
    const bool clustered = p->index < STORE_INDEX_FIRST_SECONDARY;
    const MDB_cursor_op run_step = clustered ? step : forwards(p) ? MDB_NEXT_DUP : MDB_PREV_DUP;
    const size_t plen = p->plen;
    struct run runs[STORE_ROWS_DBS] = {0};
    unsigned n_runs = 0;
    struct row_cursor rows[STORE_ROWS_DBS];
    MDB_val row, examined_key = {0};
    unsigned n = 0, examined = 0;
    int r = 0;

    if (p->index == CJ_INDEX_TIME)
        for (unsigned d = 0; r >= 0 && d < STORE_ROWS_DBS; d++)
            r = store_rows_cursor(s, txn, d, &runs[n_runs++].cur);
    else if (p->index == CJ_INDEX_STATUS_TIME)
        r = store_rows_cursor(s, txn, store_rows_of(p->status), &runs[n_runs++].cur);
    else
        r = store_index_cursor(s, txn, p->index, &runs[n_runs++].cur);
    if (r < 0)
        return r;
    for (unsigned d = 0; d < STORE_ROWS_DBS; d++)
        rows[d] = (struct row_cursor){.step = step, .credit = ROW_DESCENT_STEPS};
    for (unsigned i = 0; i < n_runs; i++) {
        runs[i].rc = clustered
                         ? position(p, runs[i].cur, resume, resume_len, &runs[i].k, &runs[i].v)
                         : position_dup(p, runs[i].cur, resume, resume_len, &runs[i].k, &runs[i].v);
        run_check(p, &runs[i], !clustered);
    }

    /* k: the row's key (time | jobArn), or a secondary index entry (time | jobArn | status),
     * after the prefix; what the nextToken resumes past. */
    for (struct run *best; (best = run_next(p, runs, n_runs));
         best->rc = mdb_cursor_get(best->cur, &best->k, &best->v, run_step),
         run_check(p, best, !clustered)) {
        const MDB_val k = clustered ? best->k : best->v;
        const uint8_t *kp = clustered ? (const uint8_t *)k.mv_data + plen : k.mv_data;
        /* Out of budget with rows still in range: the next page resumes past the last row
         * examined (every row up to it was either returned or did not match). */
        if (examined == s->scan_budget) {
            *last = examined_key;
            *more = true;
            break;
        }
        examined++;
        examined_key = k;

        const size_t klen = clustered ? k.mv_size - plen : k.mv_size - 1;
        if (!clustered && k.mv_size < 8 + 2)
            continue; /* damage verify reports */
        if ((p->check_region || p->check_job_account) && !key_job_matches(p, kp + 8, klen - 8))
            continue;
        if (clustered)
            row = best->v;
        else {
            /* The entry ends with the row's status: it names the row's database, and a status
             * filter needs no row fetched. */
            const uint8_t st = kp[klen];
            if (p->check_status && st != p->status)
                continue;
            struct row_cursor *rc = &rows[store_rows_of(st)];
            if (!rc->cur && (r = store_rows_cursor(s, txn, store_rows_of(st), &rc->cur)) < 0)
                return r;
            MDB_val rk = {.mv_size = klen, .mv_data = (void *)kp};
            if (fetch_row(rc, &rk, &row) != MDB_SUCCESS)
                continue; /* an index entry without its row: verify reports it */
        }
        size_t json_len;
        const char *json = row_match(p, &row, &json_len);
        if (!json)
            continue;
        if (n == p->max_results) {
            *more = true;
            break;
        }
        out->row[n].json = json;
        out->row[n].len = json_len;
        out->bytes += json_len;
        prefetch_bytes(json, json_len);
        *last = k;
        out->n = ++n;
    }
    for (unsigned i = 0; i < n_runs; i++)
        if (runs[i].rc != MDB_SUCCESS && runs[i].rc != MDB_NOTFOUND)
            return log_error_errno(store_errno(runs[i].rc), "store: list failed: %s",
                                   mdb_strerror(runs[i].rc));
    return 0;
}

int cj_store_list(struct cj_store *s, const struct cj_query *q, struct cj_buf *out, char *err,
                  size_t errlen)
{
    struct list_plan p;
    uint8_t digest[TOKEN_QUERY_DIGEST_SIZE];
    uint8_t resume[INDEX_KEY_MAX];
    size_t resume_len = 0;
    char dummy[1];

    if (!err || errlen == 0)
        err = dummy, errlen = sizeof(dummy);
    err[0] = '\0';
    assert(s && q && out);
    int r = plan_query(q, &p, err, errlen);
    if (r < 0)
        return r;
    if (q->next_token) {
        query_digest(s, q, digest);
        r = token_decode(s, q->next_token, p.index, digest, resume, &resume_len, err, errlen);
        if (r < 0)
            return r;
    }

    static const char head[] = "{\"modelCopyJobSummaries\":[", token_head[] = ",\"nextToken\":\"";
    size_t orig_len = out->len;
    MDB_val last = {0};
    bool more = false;
    struct page_rows rows;
    rows.n = 0;
    rows.bytes = 0;
    if (!p.empty) {
        MDB_txn *txn;
        r = store_read_begin(s, &txn);
        if (r < 0)
            return r;
        r = list_resolve(s, txn, q, &p);
        if (r >= 0 && !p.empty)
            r = walk(s, txn, &p, q->next_token ? resume : NULL, resume_len, &rows, &last, &more);
        /* One allocation for the whole answer: the rows, a comma between each two, and a
         * nextToken of the longest key. */
        if (r >= 0)
            r = cj_buf_reserve(out, sizeof(head) + rows.bytes + rows.n + sizeof(token_head) +
                                        (TOKEN_PAYLOAD_MAX + 2) / 3 * 4 + 3);
        if (r >= 0) {
            char *w = out->data + out->len;
            memcpy(w, head, sizeof(head) - 1);
            w += sizeof(head) - 1;
            for (unsigned i = 0; i < rows.n; i++) {
                if (i > 0)
                    *w++ = ',';
                memcpy(w, rows.row[i].json, rows.row[i].len);
                w += rows.row[i].len;
            }
            *w++ = ']';
            *w = '\0';
            out->len = (size_t)(w - out->data);
            if (more) {
                if (!q->next_token)
                    query_digest(s, q, digest);
                r = cj_buf_append(out, token_head, sizeof(token_head) - 1);
                /* last points into the map: encode before the transaction ends. A secondary
                 * index's token holds its full key: the prefix, then the entry without its
                 * status. */
                uint8_t full[INDEX_KEY_MAX];
                if (r >= 0 && p.index >= STORE_INDEX_FIRST_SECONDARY) {
                    if (last.mv_size < 2 || p.plen + last.mv_size - 1 > sizeof(full))
                        r = -EUCLEAN;
                    else {
                        memcpy(full, p.prefix, p.plen);
                        memcpy(full + p.plen, last.mv_data, last.mv_size - 1);
                        last = (MDB_val){.mv_size = p.plen + last.mv_size - 1, .mv_data = full};
                    }
                }
                if (r >= 0)
                    r = token_encode(s, p.index, digest, last.mv_data, last.mv_size, out);
                if (r >= 0)
                    r = cj_buf_append_char(out, '"');
            }
        }
        store_read_end(s);
    } else {
        r = cj_buf_append(out, head, sizeof(head) - 1);
        if (r >= 0)
            r = cj_buf_append_char(out, ']');
    }
    if (r >= 0)
        r = cj_buf_append_char(out, '}');
    if (r >= 0)
        return 0;
    out->len = orig_len;
    if (out->data)
        out->data[orig_len] = '\0';
    return r;
}
