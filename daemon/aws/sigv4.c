/* SPDX-License-Identifier: MIT */
/* SigV4: canonical request, string to sign, signing key and the Authorization header. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sigv4.h"

#define SHA256_LEN        32
#define ALGORITHM         "AWS4-HMAC-SHA256"
#define EMPTY_SHA256      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SCOPE_TERMINATOR  "aws4_request"
#define YEAR_9999_END_SEC INT64_C(253402300799)

static void hex_lower(const unsigned char *in, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 0xf];
    }
    out[2 * n] = '\0';
}

int cj_sha256_hex(const void *data, size_t len, char out[static 65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;

    assert(data || !len);
    if (!EVP_Digest(data ? data : "", len, md, &md_len, EVP_sha256(), NULL) || md_len != SHA256_LEN)
        return -EIO;
    hex_lower(md, SHA256_LEN, out);
    return 0;
}

static int hmac_sha256(const void *key, size_t key_len, const void *data, size_t data_len,
                       unsigned char out[static SHA256_LEN])
{
    unsigned int out_len = 0;

    if (key_len > INT32_MAX)
        return -E2BIG;
    if (!HMAC(EVP_sha256(), key, (int)key_len, data, data_len, out, &out_len) ||
        out_len != SHA256_LEN)
        return -EIO;
    return 0;
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
 * Every intermediate key is wiped, whatever happens. */
static int derive_signing_key(const char *secret, const char *date, const char *region,
                              const char *service, unsigned char key[static SHA256_LEN])
{
    size_t secret_len = strlen(secret);
    size_t seed_len = STRLEN("AWS4") + secret_len;
    unsigned char k_date[SHA256_LEN], k_region[SHA256_LEN], k_service[SHA256_LEN];
    int r;

    char *seed = malloc(seed_len);
    if (!seed)
        return -ENOMEM;
    memcpy(seed, "AWS4", STRLEN("AWS4"));
    memcpy(seed + STRLEN("AWS4"), secret, secret_len);

    r = hmac_sha256(seed, seed_len, date, strlen(date), k_date);
    if (r >= 0)
        r = hmac_sha256(k_date, SHA256_LEN, region, strlen(region), k_region);
    if (r >= 0)
        r = hmac_sha256(k_region, SHA256_LEN, service, strlen(service), k_service);
    if (r >= 0)
        r = hmac_sha256(k_service, SHA256_LEN, SCOPE_TERMINATOR, STRLEN(SCOPE_TERMINATOR), key);

    cj_explicit_zero(seed, seed_len);
    free(seed);
    cj_explicit_zero(k_date, sizeof(k_date));
    cj_explicit_zero(k_region, sizeof(k_region));
    cj_explicit_zero(k_service, sizeof(k_service));
    if (r < 0)
        cj_explicit_zero(key, SHA256_LEN);
    return r;
}

/* RFC 9110 token characters: what a method or a header name may hold. */
static bool is_tchar(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_token(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (!is_tchar((unsigned char)*s))
            return false;
    return true;
}

/* Region, service and access key id go into the credential scope, where '/', ',', '=' or
 * whitespace would change its meaning. */
static bool is_scope_part(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c >= 0x7f || c == '/' || c == ',' || c == '=' || c == ';')
            return false;
    }
    return true;
}

static bool is_printable_ascii(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

static bool is_canonical_query(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  strchr("-_.~%=&", c);
        if (!ok)
            return false;
    }
    return true;
}

static bool is_lower_hex64(const char *s)
{
    size_t i;
    for (i = 0; s[i]; i++)
        if (i >= 64 || !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return i == 64;
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Trimmed, with every inner run of whitespace (incl. the line breaks of a folded value)
 * turned into one space. Other control bytes are refused: they cannot be sent. */
static int append_header_value(struct cj_buf *out, const char *v)
{
    while (is_ws(*v))
        v++;
    while (*v) {
        const char *s = v;
        while (*v && !is_ws(*v)) {
            unsigned char c = (unsigned char)*v;
            if (c < 0x20 || c == 0x7f)
                return -EINVAL;
            v++;
        }
        int r = cj_buf_append(out, s, (size_t)(v - s));
        if (r < 0)
            return r;
        while (is_ws(*v))
            v++;
        if (*v && (r = cj_buf_append_char(out, ' ')) < 0)
            return r;
    }
    return 0;
}

struct header {
    char *name; /* lower-cased, owned */
    const char *value;
    size_t order;
};

static int header_compare(const void *a, const void *b)
{
    const struct header *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c != 0)
        return c;
    /* qsort is not stable; the input order of repeated headers is the value order. */
    return x->order < y->order ? -1 : x->order > y->order;
}

static bool is_reserved_header(const char *lname)
{
    return strcmp(lname, "host") == 0 || strcmp(lname, "x-amz-date") == 0 ||
           strcmp(lname, "x-amz-security-token") == 0 || strcmp(lname, "authorization") == 0;
}

static void headers_free(struct header *h, size_t n)
{
    if (!h)
        return;
    for (size_t i = 0; i < n; i++)
        free(h[i].name);
    free(h);
}

/* Appends "name:value\n" lines (sorted, repeated names merged), the blank line that ends
 * them, then the signed headers list, to creq; the list alone goes to signed_headers. */
static int append_canonical_headers(const struct cj_sigv4_request *req, const char *amz_date,
                                    const char *session_token, struct cj_buf *creq,
                                    struct cj_buf *signed_headers)
{
    size_t n = 0, cap;
    struct header *h = NULL;
    int r;

    if (req->n_headers > 0 && !req->headers)
        return -EINVAL;
    if (__builtin_add_overflow(req->n_headers, (size_t)3, &cap))
        return -E2BIG;
    h = calloc(cap, sizeof(*h));
    if (!h)
        return -ENOMEM;

    for (size_t i = 0; i < req->n_headers; i++) {
        const struct cj_kv *kv = &req->headers[i];
        r = -EINVAL;
        if (!is_token(kv->key) || !kv->value)
            goto finish;
        h[n].name = strdup(kv->key);
        if (!h[n].name) {
            r = -ENOMEM;
            goto finish;
        }
        for (char *p = h[n].name; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        h[n].value = kv->value;
        h[n].order = n;
        n++;
        r = -EINVAL;
        if (is_reserved_header(h[n - 1].name))
            goto finish;
    }

    const struct {
        const char *name, *value;
    } own[] = {
        {"host", req->host},
        {"x-amz-date", amz_date},
        {"x-amz-security-token", session_token},
    };
    for (size_t i = 0; i < ELEMENTSOF(own); i++) {
        if (!own[i].value)
            continue;
        h[n].name = strdup(own[i].name);
        if (!h[n].name) {
            r = -ENOMEM;
            goto finish;
        }
        h[n].value = own[i].value;
        h[n].order = n;
        n++;
    }

    qsort(h, n, sizeof(*h), header_compare);

    for (size_t i = 0; i < n; i++) {
        bool continues = i > 0 && strcmp(h[i - 1].name, h[i].name) == 0;
        if (continues) {
            r = cj_buf_append_char(creq, ',');
        } else {
            if (i > 0 && (r = cj_buf_append_char(creq, '\n')) < 0)
                goto finish;
            if (i > 0 && (r = cj_buf_append_char(signed_headers, ';')) < 0)
                goto finish;
            if ((r = cj_buf_append_str(signed_headers, h[i].name)) < 0)
                goto finish;
            if ((r = cj_buf_append_str(creq, h[i].name)) < 0)
                goto finish;
            r = cj_buf_append_char(creq, ':');
        }
        if (r < 0)
            goto finish;
        r = append_header_value(creq, h[i].value);
        if (r < 0)
            goto finish;
    }
    r = cj_buf_printf(creq, "\n\n%s\n", signed_headers->data);
finish:
    headers_free(h, cap);
    return r;
}

static int format_amz_date(int64_t t, char out[static 17], char date[static 9])
{
    struct tm tm;
    time_t tt = (time_t)t;

    if (t < 0 || t > YEAR_9999_END_SEC || (int64_t)tt != t)
        return -ERANGE;
    if (!gmtime_r(&tt, &tm))
        return -ERANGE;
    if (strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
        return -ERANGE;
    memcpy(date, out, 8);
    date[8] = '\0';
    return 0;
}

static int validate(const struct cj_sigv4_request *req, const struct cj_aws_credentials *creds)
{
    assert(req);
    assert(creds);
    if (!is_token(req->method) || !is_printable_ascii(req->host) || !is_scope_part(req->region) ||
        !is_scope_part(req->service))
        return -EINVAL;
    if (req->query && !is_canonical_query(req->query))
        return -EINVAL;
    if (req->payload_sha256 && !is_lower_hex64(req->payload_sha256))
        return -EINVAL;
    if (!is_scope_part(creds->access_key_id) || !creds->secret_access_key ||
        !*creds->secret_access_key)
        return -EINVAL;
    /* The token is a header value: it must be sendable as one, and is signed verbatim. */
    if (creds->session_token && *creds->session_token && !is_printable_ascii(creds->session_token))
        return -EINVAL;
    return 0;
}

int cj_sigv4_sign(const struct cj_sigv4_request *req, const struct cj_aws_credentials *creds,
                  struct cj_sigv4_result *ret)
{
    _cleanup_buf_ struct cj_buf creq = {.limit = CJ_SIGV4_MAX_CANONICAL_REQUEST};
    _cleanup_buf_ struct cj_buf signed_headers = {.limit = CJ_SIGV4_MAX_CANONICAL_REQUEST};
    _cleanup_buf_ struct cj_buf sts = {};
    _cleanup_buf_ struct cj_buf auth = {};
    char amz_date[17], date[9], creq_hash[65], signature[65];
    unsigned char key[SHA256_LEN], mac[SHA256_LEN];
    int r;

    assert(ret);
    *ret = (struct cj_sigv4_result){};
    r = validate(req, creds);
    if (r < 0)
        return r;
    r = format_amz_date(req->time_sec, amz_date, date);
    if (r < 0)
        return r;
    const char *token = creds->session_token && *creds->session_token ? creds->session_token : NULL;

    if ((r = cj_buf_printf(&creq, "%s\n", req->method)) < 0 ||
        (r = cj_sigv4_canonical_uri(req->path, req->double_encode_path, req->normalize_path,
                                    &creq)) < 0 ||
        (r = cj_buf_printf(&creq, "\n%s\n", req->query ? req->query : "")) < 0 ||
        (r = append_canonical_headers(req, amz_date, token, &creq, &signed_headers)) < 0 ||
        (r = cj_buf_append_str(&creq, req->payload_sha256 ? req->payload_sha256 : EMPTY_SHA256)) <
            0)
        return r;

    r = cj_sha256_hex(creq.data, creq.len, creq_hash);
    if (r < 0)
        return r;
    r = cj_buf_printf(&sts, ALGORITHM "\n%s\n%s/%s/%s/" SCOPE_TERMINATOR "\n%s", amz_date, date,
                      req->region, req->service, creq_hash);
    if (r < 0)
        return r;

    r = derive_signing_key(creds->secret_access_key, date, req->region, req->service, key);
    if (r >= 0)
        r = hmac_sha256(key, sizeof(key), sts.data, sts.len, mac);
    cj_explicit_zero(key, sizeof(key));
    if (r < 0)
        return r;
    hex_lower(mac, sizeof(mac), signature);

    r = cj_buf_printf(
        &auth,
        ALGORITHM " Credential=%s/%s/%s/%s/" SCOPE_TERMINATOR ", SignedHeaders=%s, Signature=%s",
        creds->access_key_id, date, req->region, req->service, signed_headers.data, signature);
    if (r < 0)
        return r;

    struct cj_sigv4_result res = {};
    memcpy(res.amz_date, amz_date, sizeof(amz_date));
    res.canonical_request = cj_buf_steal(&creq);
    res.string_to_sign = cj_buf_steal(&sts);
    res.authorization = cj_buf_steal(&auth);
    if (!res.canonical_request || !res.string_to_sign || !res.authorization) {
        cj_sigv4_result_done(&res);
        return -ENOMEM;
    }
    *ret = res;
    return 0;
}

void cj_sigv4_result_done(struct cj_sigv4_result *r)
{
    if (!r)
        return;
    if (r->authorization)
        cj_explicit_zero(r->authorization, strlen(r->authorization));
    free(r->authorization);
    free(r->canonical_request);
    free(r->string_to_sign);
    *r = (struct cj_sigv4_result){};
}
