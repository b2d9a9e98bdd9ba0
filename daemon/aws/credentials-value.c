/* SPDX-License-Identifier: MIT */
/* Checks of credential values and the memory that holds them. Values end up in HTTP
 * headers, so anything outside printable ASCII, or a space, is refused before it can
 * inject a header; every copy of a secret is zeroed before it is freed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cj-time.h"
#include "cj-util.h"
#include "credentials-internal.h"

int aws_secret_buf_init(struct cj_secret_buf *b, size_t limit)
{
    *b = (struct cj_secret_buf){.limit = limit};
    b->data = malloc(limit + 1);
    if (!b->data)
        return -ENOMEM;
    b->data[0] = '\0';
    return 0;
}

void aws_secret_buf_append(struct cj_secret_buf *b, const void *data, size_t len)
{
    size_t room = b->limit - b->len;
    if (len > room) {
        b->overflow = true;
        len = room;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void aws_secret_buf_done(struct cj_secret_buf *b)
{
    if (b->data) {
        cj_explicit_zero(b->data, b->limit + 1);
        free(b->data);
    }
    *b = (struct cj_secret_buf){0};
}

void aws_free_secret(char *s)
{
    if (s) {
        cj_explicit_zero(s, strlen(s));
        free(s);
    }
}

static bool printable_no_space(const char *s, size_t len, size_t max)
{
    if (len == 0 || len > max)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return false;
    return true;
}

bool aws_cred_key_id_ok(const char *s, size_t len)
{
    if (len < CJ_CRED_KEY_ID_MIN || len > CJ_CRED_KEY_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

bool aws_cred_secret_ok(const char *s, size_t len)
{
    return printable_no_space(s, len, CJ_CRED_SECRET_MAX);
}

bool aws_cred_token_ok(const char *s, size_t len)
{
    return printable_no_space(s, len, CJ_CRED_TOKEN_MAX);
}

bool aws_profile_name_ok(const char *profile)
{
    size_t len = strlen(profile);
    if (len == 0 || len > CJ_CRED_PROFILE_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)profile[i];
        if (ch <= 0x20 || ch >= 0x7f || ch == '[' || ch == ']')
            return false;
    }
    return true;
}

int aws_cred_set(struct cj_aws_credentials *c, const char *key_id, const char *secret,
                 const char *token, const char *expiration, int64_t now_ns, char *err,
                 size_t errlen)
{
    *c = (struct cj_aws_credentials){0};
    if (!key_id || !aws_cred_key_id_ok(key_id, strlen(key_id))) {
        snprintf(err, errlen, "the access key id is %s (%d..%d characters of A-Z and 0-9)",
                 key_id ? "not valid" : "missing", CJ_CRED_KEY_ID_MIN, CJ_CRED_KEY_ID_MAX);
        return -EINVAL;
    }
    if (!secret || !aws_cred_secret_ok(secret, strlen(secret))) {
        snprintf(err, errlen,
                 "the secret access key is %s (1..%d printable characters without spaces)",
                 secret ? "not valid" : "missing", CJ_CRED_SECRET_MAX);
        return -EINVAL;
    }
    if (token && !aws_cred_token_ok(token, strlen(token))) {
        snprintf(err, errlen,
                 "the session token is not valid (1..%d printable characters without spaces)",
                 CJ_CRED_TOKEN_MAX);
        return -EINVAL;
    }
    int64_t exp = 0;
    if (expiration) {
        if (cj_time_parse_iso8601(expiration, strlen(expiration), &exp) < 0) {
            snprintf(err, errlen, "the expiration is not an ISO 8601 time");
            return -EINVAL;
        }
        if (exp <= now_ns) {
            char when[CJ_ISO8601_MAX];
            if (cj_time_format_iso8601(exp, when, sizeof(when)) < 0)
                snprintf(when, sizeof(when), "?");
            snprintf(err, errlen, "the credentials expired at %s", when);
            return -EKEYEXPIRED;
        }
        if (exp == 0) /* 0 means "never"; the epoch itself is long past anyway */
            exp = 1;
    }

    c->access_key_id = strdup(key_id);
    c->secret_access_key = strdup(secret);
    c->session_token = token ? strdup(token) : NULL;
    c->expiration_ns = exp;
    if (!c->access_key_id || !c->secret_access_key || (token && !c->session_token)) {
        cj_credentials_done(c);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    return 0;
}
