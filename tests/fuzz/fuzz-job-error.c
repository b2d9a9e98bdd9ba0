/* SPDX-License-Identifier: MIT */
/* cj_aws_error_parse: the first line of the input is the x-amzn-ErrorType header, the
 * rest the body; the outputs must be bounded, terminated and free of control bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-util.h"
#include "job.h"

FUZZ_QUIET_INITIALIZE()

static void check_clean(const char *s, size_t size)
{
    size_t n = strlen(s);
    CHECK(n < size);
    for (size_t i = 0; i < n; i++)
        CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t hlen = nl ? (size_t)(nl - data) : 0;
    char *header = NULL;
    if (nl) {
        header = malloc(hlen + 1);
        if (!header)
            return 0;
        memcpy(header, data, hlen);
        header[hlen] = '\0';
    }
    const char *body = nl ? (const char *)nl + 1 : (const char *)data;
    size_t blen = nl ? size - hlen - 1 : size;

    char type[48], msg[96];
    long status = size ? 400 + data[0] % 200 : 500;
    cj_aws_error_parse(status, header, body, blen, type, sizeof(type), msg, sizeof(msg));
    check_clean(type, sizeof(type));
    check_clean(msg, sizeof(msg));
    CHECK(type[0] != '\0');
    CHECK(!strchr(type, ':') && !strchr(type, ' '));

    char t1[1], m1[1];
    cj_aws_error_parse(status, header, body, blen, t1, sizeof(t1), m1, sizeof(m1));
    CHECK(t1[0] == '\0' && m1[0] == '\0');
    free(header);
    return 0;
}
