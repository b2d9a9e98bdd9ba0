/* SPDX-License-Identifier: MIT */
/* stats: GET /v1/stats, the cache's jobs counted by status, in all and per source. */
#include "cmd-common.h"
#include "output.h"
#include "text.h"

#define STATS_ROWS_MAX 300

/* Every status the daemon counts, in its order: the three Bedrock names, then any status
 * Bedrock added since, under its own name (made printable). */
static int print_stats(const json_t *stats, const struct ctl_response *resp)
{
    json_t *by_status = json_object_get(stats, "byStatus");
    struct cj_buf scratch[STATS_ROWS_MAX] = {}, names[STATS_ROWS_MAX] = {};
    const char *keys[STATS_ROWS_MAX], *values[STATS_ROWS_MAX];
    char age[128];
    size_t n = 0;
    int r = 0;

    keys[n] = "total";
    values[n] = ctl_json_text(stats, "total", &scratch[n]);
    n++;
    const char *name;
    json_t *count;
    json_object_foreach(by_status, name, count)
    {
        if (n >= STATS_ROWS_MAX - 3)
            break;
        r = ctl_text_append_sanitized(&names[n], name);
        if (r >= 0)
            r = cj_buf_append_str(&names[n], "");
        if (r < 0)
            goto out;
        keys[n] = names[n].data;
        values[n] = ctl_json_text(by_status, name, &scratch[n]);
        n++;
    }
    keys[n] = "oldest";
    values[n] = ctl_json_text(stats, "oldestCreationTime", &scratch[n]);
    n++;
    keys[n] = "newest";
    values[n] = ctl_json_text(stats, "newestCreationTime", &scratch[n]);
    n++;
    keys[n] = "synced";
    values[n] = ctl_cache_age_text(resp, age, sizeof(age));
    n++;
    r = ctl_kv_print(stdout, keys, values, n);
    if (r >= 0)
        r = ctl_sources_print(stdout, stats, CTL_SOURCES_STATS);
out:
    for (size_t i = 0; i < STATS_ROWS_MAX; i++) {
        cj_buf_free(&scratch[i]);
        cj_buf_free(&names[i]);
    }
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
