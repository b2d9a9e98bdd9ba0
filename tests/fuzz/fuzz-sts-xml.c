/* SPDX-License-Identifier: MIT */
/* The STS answer parsers and the IAM Identity Center JSON parsers, no I/O. The first byte
 * picks the parser; the rest is the input. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "credentials-sts.h"
#include "fuzz-util.h"
#include "log.h"

FUZZ_QUIET_INITIALIZE()

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *in = (const char *)data + 1;
    size_t len = size - 1;
    char err[200];
    const int64_t now = INT64_C(1700000000) * 1000000000;
    struct cj_aws_credentials c;

    switch (data[0] % 6) {
    case 0:
    case 1:
        if (aws_sts_parse_credentials(data[0] % 6 ? "AssumeRoleWithWebIdentity" : "AssumeRole", in,
                                      len, now, &c, err, sizeof(err)) == 0)
            cj_credentials_done(&c);
        break;
    case 2: {
        struct aws_sts_error e;
        if (aws_sts_parse_error(in, len, &e) == 0 && strlen(e.code) >= sizeof(e.code))
            __builtin_trap();
        break;
    }
    case 3: {
        const char *paths[] = {"a/b", "a", "a/b/c"};
        char *values[3];
        if (aws_xml_extract(in, len, paths, 3, values, err, sizeof(err)) == 0)
            for (int i = 0; i < 3; i++)
                aws_free_secret(values[i]);
        break;
    }
    case 4: {
        struct aws_sso_token t;
        if (aws_sso_token_parse(in, len, &t, err, sizeof(err)) == 0)
            aws_sso_token_done(&t);
        break;
    }
    default:
        if (aws_sso_parse_role_credentials(in, len, now, &c, err, sizeof(err)) == 0)
            cj_credentials_done(&c);
        break;
    }
    return 0;
}
