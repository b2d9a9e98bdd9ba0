/* SPDX-License-Identifier: MIT */
/* The three JSON answers that carry temporary credentials: credential_process output, the
 * container endpoint and EC2 instance metadata. jansson's own error text quotes the input
 * near the error, which may be a secret, so only its position is ever reported. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "credentials-internal.h"

/* NULL when absent; *bad set when present but not a string (or holding a NUL). */
static const char *string_member(json_t *obj, const char *key, bool *bad)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
        *bad = true;
        return NULL;
    }
    return json_string_value(v);
}

int aws_cred_parse_json(enum cj_cred_json_kind kind, const char *data, size_t len, int64_t now_ns,
                        struct cj_aws_credentials *ret, char *err, size_t errlen)
{
    *ret = (struct cj_aws_credentials){0};
    if (len > CJ_CRED_RESPONSE_MAX) {
        snprintf(err, errlen, "the answer is larger than %zu bytes", CJ_CRED_RESPONSE_MAX);
        return -EFBIG;
    }

    json_error_t jerr;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, errlen, "the answer is not valid JSON (line %d, column %d)", jerr.line,
                 jerr.column);
        return -EINVAL;
    }

    int r = -EINVAL;
    bool bad = false;
    if (!json_is_object(root)) {
        snprintf(err, errlen, "the answer is not a JSON object");
        goto out;
    }

    if (kind == CJ_CRED_JSON_PROCESS) {
        json_t *version = json_object_get(root, "Version");
        if (!version) {
            snprintf(err, errlen, "Version is missing (it must be 1)");
            goto out;
        }
        if (!json_is_integer(version) || json_integer_value(version) != 1) {
            snprintf(err, errlen, "Version is not 1");
            goto out;
        }
    }
    if (kind == CJ_CRED_JSON_IMDS) {
        const char *code = string_member(root, "Code", &bad);
        if (!code || strcmp(code, "Success") != 0) {
            /* The code is AWS's word, not a secret, but bound what is echoed. */
            snprintf(err, errlen, "Code is %s%.40s%s, not \"Success\"", code ? "\"" : "",
                     code ? code : "missing", code ? "\"" : "");
            goto out;
        }
    }

    static const char *const field[][4] = {
        /* key id, secret, token, expiration */
        [CJ_CRED_JSON_PROCESS] = {"AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"},
        [CJ_CRED_JSON_CONTAINER] = {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"},
        [CJ_CRED_JSON_IMDS] = {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"},
    };
    const char *values[4];
    for (size_t i = 0; i < 4; i++) {
        bad = false;
        values[i] = string_member(root, field[kind][i], &bad);
        if (bad) {
            snprintf(err, errlen, "%s is not a string", field[kind][i]);
            goto out;
        }
    }
    if (kind == CJ_CRED_JSON_IMDS && (!values[2] || !values[3])) {
        snprintf(err, errlen, "%s is missing", values[2] ? "Expiration" : "Token");
        goto out;
    }
    if (values[2] && !*values[2])
        values[2] = NULL; /* an empty token means long-term keys */

    char why[160];
    r = aws_cred_set(ret, values[0], values[1], values[2], values[3], now_ns, why, sizeof(why));
    if (r < 0)
        snprintf(err, errlen, "%s", why);
out:
    json_decref(root);
    return r;
}
