/* SPDX-License-Identifier: MIT */
/* stats: GET /v1/stats, the cache's jobs counted by status. */
#include <getopt.h>
#include <string.h>

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

int ctl_cmd_stats(const struct ctl_context *ctx, int argc, char **argv)
{
    _cleanup_client_ struct ctl_client *client = NULL;
    struct ctl_response resp = {.age = -1};
    enum ctl_output output;
    json_t *stats = NULL;

    int r = ctl_parse_simple("stats", argc, argv, &output);
    if (r != 0)
        return r < 0 ? CTL_EXIT_OK : r;
    if (optind < argc)
        return ctl_usage_error("stats: unexpected argument '%s'", argv[optind]);
    r = ctl_client_new(ctx->socket_path, &client);
    if (r < 0)
        return ctl_error("cannot set up the HTTP client: %s", strerror(-r));

    int ret = ctl_fetch_object(client, "GET", "/v1/stats", "the statistics", (const long[]){200, 0},
                               &resp, &stats);
    if (ret == CTL_EXIT_OK) {
        r = output == CTL_OUTPUT_JSON ? ctl_json_print(stdout, stats) : print_stats(stats, &resp);
        if (r < 0)
            ret = ctl_error("writing the output: %s", strerror(-r));
    }
    json_decref(stats);
    ctl_response_done(&resp);
    return ret;
}
