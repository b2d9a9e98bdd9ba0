/* SPDX-License-Identifier: MIT */
/* The readers that tests and the differential fuzzer hold cj_page_parse() and
 * cj_job_parse() to: the same contracts, built on a jansson tree (json_loadb) instead of
 * the one-pass scanner, handing each summary to the same bedrock_job_from_values(). They
 * agree with the streaming parser on every input: result, reason, job fields, stored
 * bytes and the warnings logged. */
#pragma once

#include <stddef.h>

#include "job.h"

int cj_page_parse_reference(const char *body, size_t len, struct cj_page *ret, char *err,
                            size_t errlen);
int cj_job_parse_reference(const char *body, size_t len, struct cj_job *ret, char *err,
                           size_t errlen);
