/* SPDX-License-Identifier: MIT */
/* The credential parsers, no I/O: the shared files (both kinds, two profiles), the JSON of
 * credential_process, the container endpoint and instance metadata, and the container URL
 * check. The first byte picks the parser; the rest is the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "credentials-internal.h"
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

    switch (data[0] % 6) {
    case 0:
    case 1: {
        struct cj_profile p;
        enum cj_profile_file_kind kind =
            data[0] % 6 == 0 ? CJ_PROFILE_CREDENTIALS_FILE : CJ_PROFILE_CONFIG_FILE;
        const char *profile = (data[0] / 6) % 2 ? "x" : "default";
        if (aws_profile_parse(in, len, kind, profile, &p, err, sizeof(err)) == 0) {
            if (p.access_key_id)
                (void)strlen(p.access_key_id);
            aws_profile_done(&p);
        }
        break;
    }
    case 2:
    case 3:
    case 4: {
        struct cj_aws_credentials c;
        enum cj_cred_json_kind kind = data[0] % 6 == 2   ? CJ_CRED_JSON_PROCESS
                                      : data[0] % 6 == 3 ? CJ_CRED_JSON_CONTAINER
                                                         : CJ_CRED_JSON_IMDS;
        if (aws_cred_parse_json(kind, in, len, now, &c, err, sizeof(err)) == 0) {
            if (!aws_cred_key_id_ok(c.access_key_id, strlen(c.access_key_id)) ||
                !aws_cred_secret_ok(c.secret_access_key, strlen(c.secret_access_key)) ||
                (c.session_token && !aws_cred_token_ok(c.session_token, strlen(c.session_token))))
                abort();
            cj_credentials_done(&c);
        }
        break;
    }
    case 5: {
        char *url = strndup(in, len < 4096 ? len : 4096);
        if (url) {
            (void)aws_cred_container_url_check(url, err, sizeof(err));
            free(url);
        }
        break;
    }
    }
    return 0;
}
