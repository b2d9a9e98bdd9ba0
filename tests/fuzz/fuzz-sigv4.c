/* SPDX-License-Identifier: MIT */
/* Arbitrary bytes as path, host, query parameters and header values for the SigV4 encoders
 * and signer. Input: one flags byte, then NUL-separated fields: path, host, then name/value
 * pairs used both as query parameters and as headers. Besides not crashing or leaking, it
 * checks properties that must hold for any input. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-util.h"
#include "sigv4.h"

#define MAX_FIELDS 18
#define SECRET     "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
/* The part of SECRET after its '/': path normalisation can join "wJalrXUtnFEMI//K7MD..." into
 * SECRET, but cannot make this run of non-slash bytes from an input that lacks it. */
#define SECRET_TAIL "K7MDENG+bPxRfiCYEXAMPLEKEY"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1; /* lower-case hex is never produced */
}

/* Encoding then decoding gives the input back; only unreserved, '/' (when kept) and
 * %XX appear. */
static void check_encode_roundtrip(const char *s, size_t len, bool keep_slash)
{
    struct cj_buf b = {};
    CHECK(cj_uri_encode(s, len, keep_slash, &b) == 0);
    size_t j = 0;
    for (size_t i = 0; i < b.len; i++, j++) {
        char c = b.data[i];
        if (c == '%') {
            CHECK(i + 2 < b.len);
            int hi = hexval(b.data[i + 1]), lo = hexval(b.data[i + 2]);
            CHECK(hi >= 0 && lo >= 0);
            CHECK(j < len && (unsigned char)s[j] == (unsigned)(hi << 4 | lo));
            i += 2;
        } else {
            CHECK(c != '/' || keep_slash);
            CHECK(j < len && s[j] == c);
        }
    }
    CHECK(j == len);
    cj_buf_free(&b);
}

static void check_canonical_uri(const char *path, bool double_encode, bool normalize)
{
    struct cj_buf b = {};
    int r = cj_sigv4_canonical_uri(path, double_encode, normalize, &b);
    if (r == 0) {
        CHECK(b.data && b.data[0] == '/');
        if (normalize) {
            CHECK(!strstr(b.data, "//") && !strstr(b.data, "/./") && !strstr(b.data, "/../"));
            size_t n = b.len;
            CHECK(!(n >= 2 && strcmp(b.data + n - 2, "/.") == 0));
            CHECK(!(n >= 3 && strcmp(b.data + n - 3, "/..") == 0));
        }
    } else {
        CHECK(r == -EINVAL);
    }
    cj_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 64 * 1024)
        return 0;

    uint8_t flags = data[0];
    bool secret_in_input = memmem(data, size, SECRET_TAIL, strlen(SECRET_TAIL)) != NULL;
    char *copy = malloc(size); /* fields NUL-terminated in place; one extra byte for the last */
    if (!copy)
        return 0;
    memcpy(copy, data + 1, size - 1);
    copy[size - 1] = '\0';

    const char *fields[MAX_FIELDS];
    size_t lens[MAX_FIELDS], n = 0;
    for (size_t i = 0, start = 0; i < size && n < MAX_FIELDS; i++) {
        if (copy[i] == '\0') {
            fields[n] = copy + start;
            lens[n] = i - start;
            n++;
            start = i + 1;
        }
    }

    for (size_t i = 0; i < n; i++) {
        check_encode_roundtrip(fields[i], lens[i], flags & 0x10);
        check_canonical_uri(fields[i], flags & 1, flags & 2);
    }

    /* Pairs after path and host; an odd one out is a valueless parameter. */
    struct cj_kv kv[MAX_FIELDS / 2];
    size_t n_kv = 0;
    for (size_t i = 2; i < n; i += 2)
        kv[n_kv++] = (struct cj_kv){fields[i], i + 1 < n ? fields[i + 1] : NULL};

    struct cj_buf query = {};
    CHECK(cj_sigv4_canonical_query(kv, n_kv, &query) == 0);
    for (size_t i = 0; i < query.len; i++)
        CHECK(query.data[i] && strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789-_.~%=&",
                                      query.data[i]));

    struct cj_kv headers[MAX_FIELDS / 2];
    for (size_t i = 0; i < n_kv; i++)
        headers[i] = (struct cj_kv){kv[i].key, kv[i].value ? kv[i].value : ""};

    struct cj_aws_credentials creds = {
        .access_key_id = (char *)"AKIDEXAMPLE",
        .secret_access_key = (char *)SECRET,
        .session_token = flags & 4 ? (char *)(n > 1 ? fields[1] : "token") : NULL,
    };
    struct cj_sigv4_request req = {
        .method = flags & 8 ? "POST" : "GET",
        .path = n > 0 ? fields[0] : NULL,
        .query = query.data,
        .headers = headers,
        .n_headers = flags & 0x20 ? n_kv : 0,
        .host = n > 1 ? fields[1] : "example.amazonaws.com",
        .region = "us-east-1",
        .service = "service",
        .time_sec = flags & 0x40 ? 1440938160 : (int64_t)(flags * 1000003) * 977,
        .double_encode_path = flags & 1,
        .normalize_path = flags & 2,
    };

    for (int pass = 0; pass < 2; pass++) {
        struct cj_sigv4_result res = {};
        int r = cj_sigv4_sign(&req, &creds, &res);
        if (r == 0) {
            CHECK(strlen(res.amz_date) == 16);
            CHECK(strncmp(res.authorization, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/", 40) == 0);
            /* The secret is never echoed (unless the input itself carries it). */
            CHECK(secret_in_input ||
                  (!strstr(res.authorization, SECRET) && !strstr(res.canonical_request, SECRET) &&
                   !strstr(res.string_to_sign, SECRET)));
            /* The query is signed verbatim, on line 3. */
            const char *l3 = strchr(strchr(res.canonical_request, '\n') + 1, '\n') + 1;
            size_t qlen = strlen(req.query);
            CHECK(strncmp(l3, req.query, qlen) == 0 && l3[qlen] == '\n');
        } else {
            CHECK(r == -EINVAL || r == -ERANGE || r == -E2BIG);
            CHECK(!res.authorization && !res.canonical_request && !res.string_to_sign);
        }
        cj_sigv4_result_done(&res);
        /* Second pass: a raw field as the query, which the signer must refuse unless it
         * happens to be canonical already. */
        req.query = n > 2 ? fields[2] : "";
    }

    cj_buf_free(&query);
    free(copy);
    return 0;
}
