/* SPDX-License-Identifier: MIT */
/* health: GET /v1/health, in all and per source. The exit code is the answer: 0 ok, 1 anything
 * else, 2 unreachable. */
#include <string.h>

#include "cmd-common.h"
#include "output.h"

static int print_health(const json_t *health, const struct ctl_response *resp)
{
    struct cj_buf scratch[5] = {};
    const char *keys[] = {"state", "jobs", "last successful sync", "last attempt", "last error"};
    const char *values[] = {
        ctl_json_text(health, "state", &scratch[0]),
        ctl_json_text(health, "jobs", &scratch[1]),
        ctl_json_text(health, "lastSuccessfulSync", &scratch[2]),
        ctl_json_text(health, "lastAttempt", &scratch[3]),
        ctl_last_error_text(health, &scratch[4]),
    };
    int r = ctl_kv_print(stdout, keys, values, ELEMENTSOF(keys));
    if (r >= 0)
        r = ctl_sources_print(stdout, health, CTL_SOURCES_HEALTH);
    for (size_t i = 0; i < ELEMENTSOF(scratch); i++)
        cj_buf_free(&scratch[i]);
    return r;
}

static int verdict(const json_t *health, const struct ctl_response *resp)
{
    const char *state = json_string_value(json_object_get(health, "state"));
    if (!state || strcmp(state, "ok") != 0 || resp->status != 200)
        return CTL_EXIT_FAILURE;
    return CTL_EXIT_OK;
}

static int run(struct ctl_client *client, const struct ctl_args *a)
{
    /* 503 is how the daemon says "not ok"; its body is still the health report. */
    const struct ctl_show show = {
        .method = "GET",
        .what = "the health report",
        .ok_statuses = (const long[]){200, 503, 0},
        .table = print_health,
        .verdict = verdict,
    };
    return ctl_show_object(client, "/v1/health", a->output, &show);
}

const struct ctl_command ctl_command_health = {
    .name = "health",
    .outputs = CTL_OUTPUT_BIT(CTL_OUTPUT_TABLE) | CTL_OUTPUT_BIT(CTL_OUTPUT_JSON),
    .run = run,
};
