/* SPDX-License-Identifier: MIT */
/* AWS restJson1 error responses: the error type and message, made safe to log and show. */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "job.h"

/* Error bodies are small; anything bigger is not worth parsing for a message. */
#define ERROR_BODY_MAX ((size_t)1024 * 1024)

/* Copies src into dst (size > 0), dropping control characters, and for an error type
 * (an identifier) also spaces and non-ASCII bytes. Never cuts a UTF-8 character in two.
 * Returns the length written. */
static size_t copy_clean(char *dst, size_t size, const char *src, size_t n, bool identifier)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)src[i];
        size_t clen = 1;
        if (c >= 0x80) {
            /* jansson guarantees valid UTF-8 for body strings; a header may not be. */
            clen = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
            if (clen > n - i)
                clen = n - i;
        }
        bool drop = c < 0x20 || c == 0x7f || (identifier && (c == ' ' || c >= 0x80));
        if (!drop) {
            if (o + clen > size - 1)
                break;
            memcpy(dst + o, src + i, clen);
            o += clen;
        }
        i += clen;
    }
    dst[o] = '\0';
    return o;
}

/* "aws.protocoltests.restjson#FooError:http://internal.amazon.com/..." -> "FooError" */
static bool copy_type(char *dst, size_t size, const char *s, size_t n)
{
    const char *colon = memchr(s, ':', n);
    if (colon)
        n = (size_t)(colon - s);
    const char *hash = memrchr(s, '#', n);
    if (hash) {
        n -= (size_t)(hash + 1 - s);
        s = hash + 1;
    }
    return copy_clean(dst, size, s, n, true) > 0;
}

void cj_aws_error_parse(long http_status, const char *type_header, const char *body, size_t len,
                        char *type, size_t typelen, char *message, size_t msglen)
{
    static const char *const type_keys[] = {"__type", "code", "Code"};
    static const char *const message_keys[] = {"message", "Message"};
    json_t *root = NULL;
    bool have_type = false;

    if (type && typelen > 0)
        type[0] = '\0';
    if (message && msglen > 0)
        message[0] = '\0';

    if (body && len > 0 && len <= ERROR_BODY_MAX) {
        root = json_loadb(body, len, 0, NULL);
        if (root && !json_is_object(root)) {
            json_decref(root);
            root = NULL;
        }
    }

    if (type && typelen > 0) {
        if (type_header)
            have_type = copy_type(type, typelen, type_header, strlen(type_header));
        for (size_t i = 0; !have_type && root && i < sizeof(type_keys) / sizeof(type_keys[0]);
             i++) {
            const json_t *v = json_object_get(root, type_keys[i]);
            if (json_is_string(v))
                have_type = copy_type(type, typelen, json_string_value(v), json_string_length(v));
        }
        if (!have_type)
            snprintf(type, typelen, "HttpError%ld", http_status);
    }

    if (message && msglen > 0 && root)
        for (size_t i = 0; i < sizeof(message_keys) / sizeof(message_keys[0]); i++) {
            const json_t *v = json_object_get(root, message_keys[i]);
            if (json_is_string(v)) {
                copy_clean(message, msglen, json_string_value(v), json_string_length(v), false);
                break;
            }
        }

    json_decref(root);
}
