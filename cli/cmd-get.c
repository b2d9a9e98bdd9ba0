/* SPDX-License-Identifier: MIT */
/* get ARN: GET /model-copy-jobs/{jobArn}, the ARN percent-encoded as one path segment. */
#include <string.h>

#include "bedrock-syntax.h"
#include "cmd-common.h"
#include "output.h"

static int check(struct ctl_args *a)
{
    if (!cj_valid_job_arn(a->operand, strlen(a->operand)))
        return ctl_usage_error("get: '%s' is not a model copy job ARN "
                               "(arn:aws:bedrock:REGION:ACCOUNT:model-copy-job/ID)",
                               a->operand);
    return 0;
}

static int print_job(const json_t *job, const struct ctl_response *resp)
{
    return ctl_job_print_details(stdout, job);
}

static int run(struct ctl_client *client, const struct ctl_args *a)
{
    const struct ctl_show show = {
        .method = "GET",
        .what = "the job",
        .ok_statuses = (const long[]){200, 0},
        .table = print_job,
    };
    _cleanup_buf_ struct cj_buf target = {0};

    int r = cj_buf_append_str(&target, "/model-copy-jobs/");
    if (r >= 0)
        r = ctl_append_escaped(&target, a->operand);
    if (r < 0)
        return ctl_error("out of memory");
    return ctl_show_object(client, target.data, a->output, &show);
}

const struct ctl_command ctl_command_get = {
    .name = "get",
    .outputs = CTL_OUTPUT_BIT(CTL_OUTPUT_TABLE) | CTL_OUTPUT_BIT(CTL_OUTPUT_JSON),
    .operand = "the job's ARN",
    .check = check,
    .run = run,
};
