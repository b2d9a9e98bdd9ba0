/* SPDX-License-Identifier: MIT */
/* AWS Signature Version 4 with OpenSSL.
 *
 * libcurl 7.88's CURLOPT_AWS_SIGV4 signs the query unsorted and the path single-encoded,
 * which Bedrock rejects (see README), so copyjobd builds the canonical request itself and
 * sends exactly the query and path it signed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cj-buf.h"
#include "cj-util.h"

struct cj_aws_credentials {
    char *access_key_id;
    char *secret_access_key;
    char *session_token;   /* NULL for long-term keys */
    int64_t expiration_ns; /* 0 = does not expire */
};

/* RFC 3986 percent-encoding as SigV4 wants it: A-Za-z0-9-_.~ kept, everything else %XX with
 * upper-case hex; '/' kept only when keep_slash. */
int cj_uri_encode(const char *s, size_t len, bool keep_slash, struct cj_buf *out);
/* (Both encoders above and below APPEND to out; out->data is non-NULL on success.) */

/* The canonical query string: each key and value URI-encoded (a NULL value as "", giving "key="),
 * sorted by encoded key then encoded value, "k=v" joined by '&'. Send the URL with exactly this
 * string. */
int cj_sigv4_canonical_query(const struct cj_kv *params, size_t n, struct cj_buf *out);

struct cj_sigv4_request {
    const char *method;          /* "GET" */
    const char *path;            /* path as sent on the wire, already percent-encoded */
    const char *query;           /* canonical query from cj_sigv4_canonical_query, or "" */
    const struct cj_kv *headers; /* headers to sign besides host and x-amz-date (may be 0) */
    size_t n_headers;
    const char *host;           /* Host header value: "host" or "host:port" when non-default */
    const char *payload_sha256; /* lower-case hex; NULL = SHA-256 of the empty string */
    const char *region;
    const char *service;     /* "bedrock" */
    int64_t time_sec;        /* signing time, seconds since the epoch, UTC */
    bool double_encode_path; /* true for every service but S3 */
    bool normalize_path;     /* remove "." / ".." segments and duplicate slashes */
};

struct cj_sigv4_result {
    char amz_date[17];       /* "YYYYMMDDTHHMMSSZ": send as X-Amz-Date */
    char *authorization;     /* Authorization header value; owned */
    char *canonical_request; /* owned, for tests and debug logging (holds no secret) */
    char *string_to_sign;    /* owned */
};

/* Signs; if creds->session_token is set it is signed as x-amz-security-token (the caller
 * sends that header too). Returns 0 or a negative errno. Never logs a secret. */
int cj_sigv4_sign(const struct cj_sigv4_request *req, const struct cj_aws_credentials *creds,
                  struct cj_sigv4_result *ret);
void cj_sigv4_result_done(struct cj_sigv4_result *r);

/* More of cj_sigv4_sign's contract: a session_token of NULL or "" means long-term keys.
 * req->headers must not name host, x-amz-date, x-amz-security-token or authorization (those come
 * from req and creds): -EINVAL. Header values are trimmed and inner runs of whitespace (space, tab,
 * CR, LF: a folded multi-line value) become one space; other control bytes are -EINVAL;
 * repeated names are joined with ',' in the order given. req->query must be canonical (only
 * unreserved, '%', '=', '&'). payload_sha256, when set, must be 64 lower-case hex digits.
 * time_sec must lie in 1970..9999 (-ERANGE). Canonical request over the limit below: -E2BIG.
 * On failure *ret is left empty (cj_sigv4_result_done() is still safe to call). */

#define CJ_SIGV4_MAX_CANONICAL_REQUEST ((size_t)1024 * 1024) /* -E2BIG beyond */

/* The canonical URI of req->path as cj_sigv4_sign builds it: "" -> "/"; with normalize,
 * "." and ".." segments removed and empty segments dropped, a trailing '/' kept; with
 * double_encode, URI-encoded once more keeping '/'. Appends to out. -EINVAL if a non-empty
 * path does not start with '/' or (without double_encode) holds a byte a wire path cannot. */
int cj_sigv4_canonical_uri(const char *path, bool double_encode, bool normalize,
                           struct cj_buf *out);

/* Lower-case hex SHA-256 of data (for payload_sha256 of a request with a body). */
int cj_sha256_hex(const void *data, size_t len, char out[static 65]);
