/* SPDX-License-Identifier: MIT */
/* The sources a direct load tags its jobs with, and the config that names the same ones. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

/* Distinct regions: two sources of one profile may not share a region (the config refuses
 * them as the same account and region). The first is the single-source bench's. */
static const char *const source_regions[GEN_SOURCES_MAX] = {
    "us-east-1",      "us-east-2",      "us-west-1",      "us-west-2",      "ca-central-1",
    "sa-east-1",      "eu-west-1",      "eu-west-2",      "eu-west-3",      "eu-central-1",
    "eu-central-2",   "eu-north-1",     "eu-south-1",     "eu-south-2",     "ap-northeast-1",
    "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "ap-south-1",
};

const char *gen_source_name(unsigned i)
{
    return i < GEN_SOURCES_MAX ? source_regions[i] : NULL;
}

unsigned gen_source_of(const char *job_arn, unsigned n)
{
    /* FNV-1a: the same split on every run, ~1/n of the jobs each. */
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (const unsigned char *p = (const unsigned char *)job_arn; *p; p++)
        h = (h ^ *p) * UINT64_C(0x100000001b3);
    return n > 1 ? (unsigned)(h % n) : 0;
}

int gen_write_sources(FILE *f, unsigned n, const char *endpoint)
{
    if (n < 1 || n > GEN_SOURCES_MAX)
        return -EINVAL;
    if (n == 1) {
        fprintf(f, "[aws]\nregion = %s\nendpoint = %s\n", source_regions[0], endpoint);
        return 0;
    }
    for (unsigned i = 0; i < n; i++)
        fprintf(f, "[source.%s]\nregion = %s\nendpoint = %s\n", source_regions[i],
                source_regions[i], endpoint);
    return 0;
}
