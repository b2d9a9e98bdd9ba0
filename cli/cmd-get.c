/* SPDX-License-Identifier: MIT */
/* get ARN: GET /model-copy-jobs/{jobArn}, the ARN percent-encoded as one path segment. */
#include <getopt.h>
#include <string.h>

#include "cmd-common.h"
#include "output.h"
#include "validate.h"

int ctl_cmd_get(const struct ctl_context *ctx, int argc, char **argv)
{
    _cleanup_client_ struct ctl_client *client = NULL;
    _cleanup_buf_ struct cj_buf target = {0};
    struct ctl_response resp = {.age = -1};
    enum ctl_output output;
    json_t *job = NULL;

    int r = ctl_parse_simple("get", argc, argv, &output);
    if (r != 0)
        return r < 0 ? CTL_EXIT_OK : r;
    if (optind >= argc)
        return ctl_usage_error("get: missing the job's ARN");
    if (optind + 1 < argc)
        return ctl_usage_error("get: unexpected argument '%s'", argv[optind + 1]);
    const char *arn = argv[optind];
    if (!ctl_valid_model_copy_job_arn(arn))
        return ctl_usage_error("get: '%s' is not a model copy job ARN "
                               "(arn:aws:bedrock:REGION:ACCOUNT:model-copy-job/ID)",
                               arn);

    r = cj_buf_append_str(&target, "/model-copy-jobs/");
    if (r >= 0)
        r = ctl_append_escaped(&target, arn);
    if (r < 0)
        return ctl_error("out of memory");
    r = ctl_client_new(ctx->socket_path, &client);
    if (r < 0)
        return ctl_error("cannot set up the HTTP client: %s", strerror(-r));

    int ret = ctl_fetch_object(client, "GET", target.data, "the job", (const long[]){200, 0}, &resp,
                               &job);
    if (ret == CTL_EXIT_OK) {
        r = output == CTL_OUTPUT_JSON ? ctl_json_print(stdout, job)
                                      : ctl_job_print_details(stdout, job);
        if (r < 0)
            ret = ctl_error("writing the output: %s", strerror(-r));
    }
    json_decref(job);
    ctl_response_done(&resp);
    return ret;
}
