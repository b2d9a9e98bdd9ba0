/* SPDX-License-Identifier: MIT */
/* The output of `list`, written page by page so that `--all` over a large cache needs memory
 * for one page only (except for the table, which must see every row to size its columns). */
#include <errno.h>
#include <string.h>

#include "output.h"
#include "terminal.h"
#include "text.h"

enum {
    COL_CREATED,
    COL_STATUS,
    COL_ACCOUNT,
    COL_NAME,
    COL_JOB_ID,
    COL_FAILURE,
    _COL_MAX,
};

static const struct ctl_table_column list_columns[_COL_MAX] = {
    [COL_CREATED] = {.header = "CREATED", .plain_cut = true},
    [COL_STATUS] = {.header = "STATUS"},
    [COL_ACCOUNT] = {.header = "SOURCE ACCOUNT"},
    [COL_NAME] = {.header = "TARGET NAME"},
    [COL_JOB_ID] = {.header = "JOB ID"},
    [COL_FAILURE] = {.header = "FAILURE", .optional = true, .min_width = 12},
};

/* The time of day and the job id go last: they are what tells rows apart. A truncated
 * account number is useless, so that column hides instead. */
static const struct ctl_table_shrink list_shrink[] = {
    {COL_NAME, 16},   {COL_CREATED, 16}, {COL_ACCOUNT, 12}, {COL_NAME, 12},
    {COL_ACCOUNT, 0}, {COL_CREATED, 10}, {COL_NAME, 8},     {COL_STATUS, 8},
    {COL_NAME, 4},    {COL_STATUS, 4},   {COL_JOB_ID, 8},   {COL_CREATED, 5},
    {COL_NAME, 1},    {COL_STATUS, 1},   {COL_JOB_ID, 1},   {COL_CREATED, 1},
};

int ctl_list_output_begin(struct ctl_list_output *o, enum ctl_output format, FILE *f)
{
    *o = (struct ctl_list_output){
        .format = format,
        .f = f,
        .table = {.columns = list_columns,
                  .n_columns = _COL_MAX,
                  .shrink = list_shrink,
                  .n_shrink = ELEMENTSOF(list_shrink),
                  .marker = true},
    };
    switch (format) {
    case CTL_OUTPUT_JSON:
        return fputs("{\n  \"modelCopyJobSummaries\": [", f) == EOF ? -EIO : 0;
    case CTL_OUTPUT_CSV:
        return ctl_csv_header(f);
    default:
        return 0;
    }
}

static int table_row(struct ctl_list_output *o, const json_t *job)
{
    char created[32];
    const char *status = json_string_value(json_object_get(job, "status"));
    const char *failure = json_string_value(json_object_get(job, "failureMessage"));
    bool failed = status && strcmp(status, "Failed") == 0;
    const char *cells[_COL_MAX] = {
        [COL_CREATED] = ctl_job_created(job, created, sizeof(created)),
        [COL_STATUS] = status,
        [COL_ACCOUNT] = json_string_value(json_object_get(job, "sourceAccountId")),
        [COL_NAME] = json_string_value(json_object_get(job, "targetModelName")),
        [COL_JOB_ID] = ctl_job_id(job),
        [COL_FAILURE] = failure ? failure : "",
    };
    return ctl_table_add_row(&o->table, cells, failed ? '!' : ' ', failed);
}

/* A row of the json output, indented as json_dumps(JSON_INDENT(2)) would indent it inside
 * the whole document, so streamed output reads the same as one big dump. */
static int json_row(struct ctl_list_output *o, const json_t *job)
{
    _cleanup_buf_ struct cj_buf text = {0};
    int r = ctl_json_dump(job, JSON_INDENT(2), &text);
    if (r < 0)
        return r;
    if (fputs(o->rows ? ",\n" : "\n", o->f) == EOF)
        return -EIO;
    for (char *line = text.data, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (fprintf(o->f, "    %s%s", line, next ? "\n" : "") < 0)
            return -EIO;
    }
    return 0;
}

int ctl_list_output_row(struct ctl_list_output *o, const json_t *job)
{
    int r;

    switch (o->format) {
    case CTL_OUTPUT_TABLE:
        r = table_row(o, job);
        break;
    case CTL_OUTPUT_JSON:
        r = json_row(o, job);
        break;
    case CTL_OUTPUT_NDJSON:
        r = ctl_json_print_line(o->f, job);
        break;
    case CTL_OUTPUT_CSV:
        r = ctl_csv_row(o->f, job);
        break;
    default:
        r = -EINVAL;
    }
    if (r >= 0)
        o->rows++;
    return r;
}

static int json_end(struct ctl_list_output *o, const char *next_token)
{
    if (fputs(o->rows ? "\n  ]" : "]", o->f) == EOF)
        return -EIO;
    if (next_token) {
        _cleanup_buf_ struct cj_buf text = {0};
        json_t *token = json_string(next_token);
        int r = token ? ctl_json_dump(token, 0, &text) : -ENOMEM;
        json_decref(token);
        if (r < 0)
            return r;
        if (fprintf(o->f, ",\n  \"nextToken\": %s", text.data) < 0)
            return -EIO;
    }
    return fputs("\n}\n", o->f) == EOF ? -EIO : 0;
}

/* "N jobs", then what a reader should know about them, wrapped to the width. */
static int table_end(struct ctl_list_output *o, const char *next_token,
                     const struct ctl_response *first)
{
    size_t width = ctl_terminal_width();
    char parts[3][128];
    size_t n = 0;

    if (o->rows > 0) {
        int r = ctl_table_print(&o->table, o->f, width, ctl_terminal_colour());
        if (r < 0)
            return r;
    }
    snprintf(parts[n++], sizeof(parts[0]), "%zu job%s", o->rows, o->rows == 1 ? "" : "s");
    if (next_token)
        snprintf(parts[n++], sizeof(parts[0]), "more match: use --all or a larger --limit");
    if (first && first->synced_at[0] && first->age >= 0)
        snprintf(parts[n++], sizeof(parts[0]), "cache synced %s (%llds ago)", first->synced_at,
                 first->age);
    else if (first && first->synced_at[0])
        snprintf(parts[n++], sizeof(parts[0]), "cache synced %s", first->synced_at);

    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        _cleanup_buf_ struct cj_buf part = {0};
        if (ctl_text_append_fitted(&part, parts[i], width, false, false) < 0)
            return -ENOMEM;
        size_t len = ctl_text_width(part.data);
        if (i > 0 && used + 2 + len <= width) {
            fputs("; ", o->f);
            used += 2;
        } else if (i > 0) {
            fputc('\n', o->f);
            used = 0;
        }
        fputs(part.data, o->f);
        used += len;
    }
    return fputc('\n', o->f) == EOF ? -EIO : 0;
}

int ctl_list_output_end(struct ctl_list_output *o, const char *next_token,
                        const struct ctl_response *first)
{
    switch (o->format) {
    case CTL_OUTPUT_TABLE:
        return table_end(o, next_token, first);
    case CTL_OUTPUT_JSON:
        return json_end(o, next_token);
    default:
        return 0;
    }
}

void ctl_list_output_done(struct ctl_list_output *o)
{
    ctl_table_free(&o->table);
}
