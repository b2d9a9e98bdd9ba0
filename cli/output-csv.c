/* SPDX-License-Identifier: MIT */
/* RFC 4180: CRLF line ends, a header line, then one record per job. What goes into a field
 * (sanitising, quoting, formula neutralising) is ctl_text_append_csv()'s business. */
#include <errno.h>
#include <string.h>

#include "output.h"
#include "text.h"

static const char *const csv_columns[] = {
    "jobArn",         "status",         "creationTime",    "sourceAccountId",
    "sourceModelArn", "targetModelArn", "targetModelName", "failureMessage",
};

/* One record; values[i] NULL is an empty field. */
static int csv_record(FILE *f, const char *const *values)
{
    _cleanup_buf_ struct cj_buf line = {0};
    int r = 0;

    for (size_t i = 0; i < ELEMENTSOF(csv_columns) && r >= 0; i++) {
        if (i)
            r = cj_buf_append_char(&line, ',');
        if (r >= 0 && values[i])
            r = ctl_text_append_csv(&line, values[i]);
    }
    if (r >= 0)
        r = cj_buf_append_str(&line, "\r\n");
    if (r < 0)
        return r;
    return fwrite(line.data, 1, line.len, f) == line.len ? 0 : -EIO;
}

int ctl_csv_header(FILE *f)
{
    return csv_record(f, csv_columns);
}

int ctl_csv_row(FILE *f, const json_t *job)
{
    struct cj_buf scratch[ELEMENTSOF(csv_columns)] = {};
    const char *values[ELEMENTSOF(csv_columns)];

    for (size_t i = 0; i < ELEMENTSOF(csv_columns); i++)
        values[i] = ctl_json_text(job, csv_columns[i], &scratch[i]);
    int r = csv_record(f, values);
    for (size_t i = 0; i < ELEMENTSOF(csv_columns); i++)
        cj_buf_free(&scratch[i]);
    return r;
}
