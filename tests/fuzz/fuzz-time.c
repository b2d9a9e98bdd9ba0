/* SPDX-License-Identifier: MIT */
/* Every parser of cj-time.h on the input as a NUL-terminated string; accepted
 * timestamps must format and parse back to the same instant. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cj-time.h"
#include "fuzz-util.h"

FUZZ_QUIET_INITIALIZE()

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    int64_t ns, back;
    char buf[CJ_ISO8601_MAX];
    int r = cj_time_parse_iso8601(s, size, &ns);
    CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
    if (r == 0) {
        int n = cj_time_format_iso8601(ns, buf, sizeof(buf));
        CHECK(n > 0 && (size_t)n < sizeof(buf));
        CHECK(cj_time_parse_iso8601(buf, (size_t)n, &back) == 0 && back == ns);
    }
    /* the raw bytes as a number of nanoseconds: formatting never fails or overflows */
    if (size >= 8) {
        memcpy(&ns, data, 8);
        int n = cj_time_format_iso8601(ns, buf, sizeof(buf));
        CHECK(n > 0 && cj_time_parse_iso8601(buf, (size_t)n, &back) == 0 && back == ns);
    }

    const int64_t now = INT64_C(1714566896) * CJ_NSEC_PER_SEC;
    r = cj_time_parse_relative(s, now, &ns);
    CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
    CHECK(r != 0 || ns < now);
    r = cj_time_parse_user(s, now, &ns);
    CHECK(r == 0 || r == -EINVAL || r == -ERANGE);

    uint64_t u;
    r = cj_duration_parse(s, &u);
    CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
    r = cj_size_parse(s, &u);
    CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
    free(s);
    return 0;
}
