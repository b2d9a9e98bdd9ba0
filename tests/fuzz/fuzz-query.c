/* SPDX-License-Identifier: MIT */
/* api_query_parse over arbitrary key/value pairs: the input is a query string, split on
 * '&' into pairs and on the first '=' into key and value ("key" alone has no value). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"

#define MAX_PAIRS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cj_kv args[MAX_PAIRS];
    struct cj_query_storage st;
    struct cj_query q;
    char err[256];
    size_t n = 0;

    if (size > 16384)
        return 0;
    char *copy = malloc(size + 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';

    /* An embedded NUL ends the input, as it would end a C string. */
    for (char *p = copy, *next; p && n < MAX_PAIRS; p = next) {
        next = strchr(p, '&');
        if (next)
            *next++ = '\0';
        char *eq = strchr(p, '=');
        if (eq)
            *eq++ = '\0';
        args[n++] = (struct cj_kv){.key = p, .value = eq};
    }

    int r = api_query_parse(args, n, &q, &st, err, sizeof(err));
    if (r == 0) {
        if (q.max_results < 1 || q.max_results > CJ_MAX_RESULTS_MAX)
            abort();
        if (q.next_token && (strlen(q.next_token) < 1 || strlen(q.next_token) > CJ_NEXT_TOKEN_MAX))
            abort();
        if (q.name_contains && strlen(q.name_contains) > CJ_MODEL_NAME_MAX)
            abort();
        if (q.source_account && strlen(q.source_account) != CJ_ACCOUNT_ID_LEN)
            abort();
        if (q.job_account && !cj_valid_account_id(q.job_account, strlen(q.job_account)))
            abort();
        if (q.job_region && !cj_valid_region_name(q.job_region, strlen(q.job_region)))
            abort();
    } else if (strlen(err) >= sizeof(err) || err[0] == '\0') {
        abort(); /* every refusal says why */
    }
    api_query_storage_done(&st);
    free(copy);
    return 0;
}
