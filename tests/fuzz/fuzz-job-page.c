/* SPDX-License-Identifier: MIT */
/* cj_page_parse on arbitrary bodies; every job it accepts must re-parse to itself. */
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "fuzz-util.h"
#include "job.h"

FUZZ_QUIET_INITIALIZE()

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cj_page p;
    char err[128];

    int r = cj_page_parse((const char *)data, size, &p, err, sizeof(err));
    if (r < 0) {
        CHECK(!p.jobs && p.n_jobs == 0 && !p.next_token);
        CHECK(strlen(err) < sizeof(err));
        return 0;
    }
    for (size_t i = 0; i < p.n_skipped_arns; i++)
        CHECK(cj_valid_job_arn(p.skipped_arns[i], strlen(p.skipped_arns[i])));
    CHECK(!p.next_token || (strlen(p.next_token) >= 1 && strlen(p.next_token) <= 2048));
    for (size_t i = 0; i < p.n_jobs; i++) {
        const struct cj_job *j = &p.jobs[i];
        CHECK(strlen(j->json) == j->json_len);
        CHECK(cj_valid_job_arn(j->job_arn, strlen(j->job_arn)));
        CHECK(j->status == CJ_STATUS_OTHER ? j->status_name && !cj_status_to_string(j->status)
                                           : cj_status_to_string(j->status) && !j->status_name);
        /* the stored bytes are JSON, and a valid summary that parses to the same job */
        json_t *o = json_loadb(j->json, j->json_len, JSON_REJECT_DUPLICATES, NULL);
        CHECK(json_is_object(o));
        json_decref(o);
        struct cj_job again;
        CHECK(cj_job_parse(j->json, j->json_len, &again, err, sizeof(err)) == 0);
        CHECK(again.json_len == j->json_len && memcmp(again.json, j->json, j->json_len) == 0);
        CHECK(again.creation_ns == j->creation_ns && again.status == j->status);
        CHECK(strcmp(again.job_arn, j->job_arn) == 0);
        CHECK((!again.note && !j->note) || (again.note && j->note && !strcmp(again.note, j->note)));
        cj_job_done(&again);
    }
    cj_page_done(&p);
    return 0;
}
