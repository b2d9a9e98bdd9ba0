/* SPDX-License-Identifier: MIT */
/* Building and signing one Bedrock request (ListModelCopyJobs, GetModelCopyJob): the URL
 * sent is exactly the one signed. The sync module sends what it builds. */
#pragma once

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

#include "config-endpoint.h"
#include "sigv4.h"

/* cj_endpoint_parse_url(), logging the reason of an -EINVAL with the URL. */
int cj_endpoint_parse(const char *url, struct cj_endpoint *ret);

struct cj_signed_request {
    char *url;
    struct curl_slist *headers; /* X-Amz-Date, Authorization, [X-Amz-Security-Token], Accept */
};
/* Zeroes the header strings (they hold a signature and maybe a session token). */
void cj_signed_request_done(struct cj_signed_request *r);

struct cj_list_request {
    unsigned max_results;   /* 1..1000 */
    bool ascending;         /* sortOrder; sortBy is always CreationTime */
    const char *next_token; /* NULL on the first page */
    /* Filters (the quick sync's); send the same ones with every page of a walk. */
    const char *status_equals; /* NULL, or "InProgress", "Completed", "Failed" */
    bool has_created_after;
    int64_t created_after_ns; /* creationTimeAfter (strict), full precision */
};

int cj_request_list_jobs(const struct cj_endpoint *ep, const char *region,
                         const struct cj_aws_credentials *creds, const struct cj_list_request *l,
                         int64_t now_sec, struct cj_signed_request *ret);
int cj_request_get_job(const struct cj_endpoint *ep, const char *region,
                       const struct cj_aws_credentials *creds, const char *job_arn, int64_t now_sec,
                       struct cj_signed_request *ret);
