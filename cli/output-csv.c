/* SPDX-License-Identifier: MIT */
/* RFC 4180: CRLF line ends, a header line, fields quoted when they hold a comma, a quote or
 * a line break, quotes doubled inside. */
#include <errno.h>
#include <string.h>

#include "output.h"

static const char *const csv_columns[] = {
    "jobArn",         "status",         "creationTime",    "sourceAccountId",
    "sourceModelArn", "targetModelArn", "targetModelName", "failureMessage",
};

static int csv_field(FILE *f, const char *s)
{
    if (!s)
        return 0;
    if (!strpbrk(s, ",\"\r\n"))
        return fputs(s, f) == EOF ? -EIO : 0;

    if (fputc('"', f) == EOF)
        return -EIO;
    for (const char *p = s; *p; p++)
        if ((*p == '"' && fputc('"', f) == EOF) || fputc(*p, f) == EOF)
            return -EIO;
    return fputc('"', f) == EOF ? -EIO : 0;
}

int ctl_csv_header(FILE *f)
{
    for (size_t i = 0; i < ELEMENTSOF(csv_columns); i++)
        if ((i && fputc(',', f) == EOF) || csv_field(f, csv_columns[i]) < 0)
            return -EIO;
    return fputs("\r\n", f) == EOF ? -EIO : 0;
}

int ctl_csv_row(FILE *f, const json_t *job)
{
    _cleanup_buf_ struct cj_buf scratch = {0};

    for (size_t i = 0; i < ELEMENTSOF(csv_columns); i++) {
        const char *value = ctl_json_text(job, csv_columns[i], &scratch);
        if ((i && fputc(',', f) == EOF) || csv_field(f, value) < 0)
            return -EIO;
    }
    return fputs("\r\n", f) == EOF ? -EIO : 0;
}
