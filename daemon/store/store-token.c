/* SPDX-License-Identifier: MIT */
/* nextToken: base64url (no padding) of
 *   version (1) | index (1) | query digest (8) | key length (be16) | index key | MAC (16)
 * where the version is the store's schema. The MAC is HMAC-SHA256 with the store's random
 * key, truncated, over everything before it; the query digest is an HMAC of the query's filters and
 * order, so a token works only for the query that produced it (any maxResults). The key is the last
 * row returned; the next page starts strictly past it. */
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <stdio.h>

#include "base64url.h"
#include "store-internal.h"

/* A position is meaningful only in the index layout of the schema that issued it, so a
 * token carries the schema version: one from before an upgrade is refused, not misread. */
#define TOKEN_VERSION     CJ_STORE_SCHEMA_VERSION
#define TOKEN_MAC_SIZE    16
#define TOKEN_HEADER_SIZE (1 + 1 + TOKEN_QUERY_DIGEST_SIZE + 2)
#define TOKEN_PAYLOAD_MAX (TOKEN_HEADER_SIZE + INDEX_KEY_MAX + TOKEN_MAC_SIZE)

int store_token_set_key(struct cj_store *s, const void *key, size_t n)
{
    if (n != sizeof(s->mac_key))
        return -EINVAL;
    store_token_clear_key(s);
    memcpy(s->mac_key, key, n);

    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!hmac)
        return -ENOMEM;
    s->mac_ctx = EVP_MAC_CTX_new(hmac);
    EVP_MAC_free(hmac);
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (!s->mac_ctx || !EVP_MAC_init(s->mac_ctx, s->mac_key, sizeof(s->mac_key), params)) {
        store_token_clear_key(s);
        return -ENOMEM;
    }
    return 0;
}

void store_token_clear_key(struct cj_store *s)
{
    EVP_MAC_CTX_free(s->mac_ctx);
    s->mac_ctx = NULL;
    cj_explicit_zero(s->mac_key, sizeof(s->mac_key));
}

static void mac(const struct cj_store *s, const void *data, size_t n, uint8_t out[32])
{
    size_t len = 0;

    /* A NULL key re-initialises with the key already set. Should that ever fail, the
     * one-shot path gives the same bytes. */
    if (s->mac_ctx && EVP_MAC_init(s->mac_ctx, NULL, 0, NULL) &&
        EVP_MAC_update(s->mac_ctx, data, n) && EVP_MAC_final(s->mac_ctx, out, &len, 32) &&
        len == 32)
        return;
    unsigned ulen = 32;
    HMAC(EVP_sha256(), s->mac_key, sizeof(s->mac_key), data, n, out, &ulen);
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

void store_query_digest(const struct cj_store *s, const struct cj_query *q,
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

    uint8_t m[32] = {0};
    /* On allocation failure the digest is of a prefix: tokens then fail to verify, which
     * is the safe direction. */
    mac(s, b.data ? b.data : (char *)h, b.data ? b.len : 0, m);
    memcpy(out, m, TOKEN_QUERY_DIGEST_SIZE);
}

int store_token_encode(const struct cj_store *s, enum cj_index i,
                       const uint8_t digest[TOKEN_QUERY_DIGEST_SIZE], const void *key,
                       size_t key_len, struct cj_buf *out)
{
    uint8_t t[TOKEN_PAYLOAD_MAX], m[32] = {0};

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

int store_token_decode(const struct cj_store *s, const char *token, enum cj_index i,
                       const uint8_t digest[TOKEN_QUERY_DIGEST_SIZE], uint8_t *key, size_t *key_len,
                       char *err, size_t errlen)
{
    uint8_t t[TOKEN_PAYLOAD_MAX], m[32] = {0};
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
    size_t plen = store_index_prefix_len(i);
    if (klen <= plen + 8 + 1 || klen > plen + 8 + ARN_KEY_SIZE(CJ_JOB_ARN_MAX)) {
        snprintf(err, errlen, "nextToken: is not a token this service issued");
        return -EINVAL;
    }
    memcpy(key, t + TOKEN_HEADER_SIZE, klen);
    *key_len = klen;
    return 0;
}
