/* SPDX-License-Identifier: MIT */
/* The wire form of ListModelCopyJobs' query string, validated into a struct cj_query. */
#pragma once

#include "cj-buf.h"
#include "cj-util.h"
#include "store.h"

/* Holds the decoded strings that a cj_query points into. */
struct cj_query_storage {
    char *source_account;
    char *source_model_arn;
    char *name_contains;
    char *next_token;
    char *job_region;
    char *job_account;
};
void api_query_storage_done(struct cj_query_storage *st);

/* Validates the decoded query arguments, in the order they came (repeats included; a value
 * may be NULL for "?key"). Keys are Bedrock's wire names; an unknown key is ignored; a
 * repeated known key or a bad value is -EINVAL with a message naming the parameter in err,
 * e.g. "maxResults: must be an integer from 1 to 1000". Defaults: sortOrder Descending,
 * maxResults 1000. `targetModelNameContains` is accepted as outputModelNameContains. Beyond
 * Bedrock: `jobRegionEquals` (a region name, cj_valid_region_name) and `jobAccountEquals`
 * (12 digits), the region and account in the job's own ARN. */
/* True when name is a query key api_query_parse reads (the others are ignored). */
bool api_query_is_key(const char *name);

int api_query_parse(const struct cj_kv *args, size_t n, struct cj_query *q,
                    struct cj_query_storage *st, char *err, size_t errlen);
