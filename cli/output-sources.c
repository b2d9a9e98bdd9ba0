/* SPDX-License-Identifier: MIT */
/* The per-source part of stats and health: one row per source of the answer's "sources"
 * object, after the totals. */
#include <string.h>

#include "output.h"
#include "terminal.h"

enum {
    STATS_SOURCE,
    STATS_REGION,
    STATS_ACCOUNT,
    STATS_JOBS,
    STATS_RUNNING,
    STATS_DONE,
    STATS_FAILED,
    STATS_OTHER,
    STATS_SYNCED,
    _STATS_MAX
};

static const struct ctl_table_column stats_columns[_STATS_MAX] = {
    [STATS_SOURCE] = {.header = "SOURCE"},
    [STATS_REGION] = {.header = "REGION"},
    [STATS_ACCOUNT] = {.header = "ACCOUNT", .optional = true, .min_width = 12},
    [STATS_JOBS] = {.header = "JOBS"},
    [STATS_RUNNING] = {.header = "IN PROGRESS"},
    [STATS_DONE] = {.header = "COMPLETED"},
    [STATS_FAILED] = {.header = "FAILED"},
    [STATS_OTHER] = {.header = "OTHER", .optional = true, .min_width = 5},
    [STATS_SYNCED] = {.header = "LAST SYNC", .plain_cut = true},
};
static const struct ctl_table_shrink stats_shrink[] = {
    {STATS_OTHER, 0},
    {STATS_ACCOUNT, 0},
    {STATS_SYNCED, 10},
    {STATS_SOURCE, 12},
};

enum { HEALTH_SOURCE, HEALTH_STATE, HEALTH_JOBS, HEALTH_SYNCED, HEALTH_ERROR, _HEALTH_MAX };

static const struct ctl_table_column health_columns[_HEALTH_MAX] = {
    [HEALTH_SOURCE] = {.header = "SOURCE"},
    [HEALTH_STATE] = {.header = "STATE"},
    [HEALTH_JOBS] = {.header = "JOBS"},
    [HEALTH_SYNCED] = {.header = "LAST SYNC", .plain_cut = true},
    [HEALTH_ERROR] = {.header = "LAST ERROR"},
};
static const struct ctl_table_shrink health_shrink[] = {
    {HEALTH_ERROR, 20},
    {HEALTH_SYNCED, 10},
    {HEALTH_SOURCE, 12},
    {HEALTH_ERROR, 0},
};

/* Jobs whose status is none of Bedrock's three, counted together. */
static const char *other_statuses(const json_t *by_status, struct cj_buf *scratch)
{
    json_int_t other = 0;
    const char *name;
    json_t *count;
    json_object_foreach((json_t *)by_status, name, count)
    {
        if (strcmp(name, "InProgress") != 0 && strcmp(name, "Completed") != 0 &&
            strcmp(name, "Failed") != 0 && json_is_integer(count))
            other += json_integer_value(count);
    }
    cj_buf_reset(scratch);
    return cj_buf_printf(scratch, "%lld", (long long)other) < 0 ? NULL : scratch->data;
}

const char *ctl_last_error_text(const json_t *health, struct cj_buf *out)
{
    json_t *error = json_object_get(health, "lastError");
    if (!json_is_object(error))
        return NULL;
    const char *type = json_string_value(json_object_get(error, "type"));
    const char *message = json_string_value(json_object_get(error, "message"));
    cj_buf_reset(out);
    if (cj_buf_printf(out, "%s: %s", type ? type : "-", message ? message : "-") < 0)
        return NULL;
    return out->data;
}

int ctl_sources_print(FILE *f, const json_t *answer, enum ctl_sources_view view)
{
    json_t *sources = json_object_get(answer, "sources");
    if (!json_is_object(sources) || json_object_size(sources) == 0)
        return 0;

    const bool stats = view == CTL_SOURCES_STATS;
    struct ctl_table t = {
        .columns = stats ? stats_columns : health_columns,
        .n_columns = stats ? _STATS_MAX : _HEALTH_MAX,
        .shrink = stats ? stats_shrink : health_shrink,
        .n_shrink = stats ? ELEMENTSOF(stats_shrink) : ELEMENTSOF(health_shrink),
    };
    struct cj_buf scratch[_STATS_MAX] = {};
    const char *name;
    json_t *source;
    int r = 0;

    json_object_foreach(sources, name, source)
    {
        const char *cells[_STATS_MAX] = {name};
        bool bad = false;
        if (stats) {
            json_t *by_status = json_object_get(source, "byStatus");
            cells[STATS_REGION] = ctl_json_text(source, "region", &scratch[STATS_REGION]);
            cells[STATS_ACCOUNT] = ctl_json_text(source, "account", &scratch[STATS_ACCOUNT]);
            cells[STATS_JOBS] = ctl_json_text(source, "total", &scratch[STATS_JOBS]);
            cells[STATS_RUNNING] = ctl_json_text(by_status, "InProgress", &scratch[STATS_RUNNING]);
            cells[STATS_DONE] = ctl_json_text(by_status, "Completed", &scratch[STATS_DONE]);
            cells[STATS_FAILED] = ctl_json_text(by_status, "Failed", &scratch[STATS_FAILED]);
            cells[STATS_OTHER] =
                json_is_object(by_status) ? other_statuses(by_status, &scratch[STATS_OTHER]) : NULL;
            cells[STATS_SYNCED] =
                ctl_json_text(source, "lastSuccessfulSync", &scratch[STATS_SYNCED]);
        } else {
            cells[HEALTH_STATE] = ctl_json_text(source, "state", &scratch[HEALTH_STATE]);
            cells[HEALTH_JOBS] = ctl_json_text(source, "jobs", &scratch[HEALTH_JOBS]);
            cells[HEALTH_SYNCED] =
                ctl_json_text(source, "lastSuccessfulSync", &scratch[HEALTH_SYNCED]);
            cells[HEALTH_ERROR] = ctl_last_error_text(source, &scratch[HEALTH_ERROR]);
            bad = !cells[HEALTH_STATE] || strcmp(cells[HEALTH_STATE], "ok") != 0;
        }
        if ((r = ctl_table_add_row(&t, cells, 0, bad)) < 0)
            goto out;
    }
    if (fputc('\n', f) == EOF)
        r = -EIO;
    else
        r = ctl_table_print(&t, f, ctl_terminal_width(), ctl_terminal_colour());
out:
    for (size_t i = 0; i < ELEMENTSOF(scratch); i++)
        cj_buf_free(&scratch[i]);
    ctl_table_free(&t);
    return r;
}
