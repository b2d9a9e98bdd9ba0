/* SPDX-License-Identifier: MIT */
/* stats: GET /v1/stats, the cache's jobs counted by status. */
#include "cmd-common.h"
#include "output.h"

static int print_stats(const json_t *stats, const struct ctl_response *resp)
{
    json_t *by_status = json_object_get(stats, "byStatus");
    struct cj_buf scratch[7] = {};
    char age[128];
    const char *keys[] = {"total",  "InProgress", "Completed", "Failed",
                          "oldest", "newest",     "synced"};
    const char *values[] = {
        ctl_json_text(stats, "total", &scratch[0]),
        ctl_json_text(by_status, "InProgress", &scratch[1]),
        ctl_json_text(by_status, "Completed", &scratch[2]),
        ctl_json_text(by_status, "Failed", &scratch[3]),
        ctl_json_text(stats, "oldestCreationTime", &scratch[4]),
        ctl_json_text(stats, "newestCreationTime", &scratch[5]),
        ctl_cache_age_text(resp, age, sizeof(age)),
    };
    int r = ctl_kv_print(stdout, keys, values, ELEMENTSOF(keys));
    for (size_t i = 0; i < ELEMENTSOF(scratch); i++)
        cj_buf_free(&scratch[i]);
    return r;
}

static int run(struct ctl_client *client, const struct ctl_args *a)
{
    const struct ctl_show show = {
        .method = "GET",
        .what = "the statistics",
        .ok_statuses = (const long[]){200, 0},
        .table = print_stats,
    };
    return ctl_show_object(client, "/v1/stats", a->output, &show);
}

const struct ctl_command ctl_command_stats = {
    .name = "stats",
    .outputs = CTL_OUTPUT_BIT(CTL_OUTPUT_TABLE) | CTL_OUTPUT_BIT(CTL_OUTPUT_JSON),
    .run = run,
};
