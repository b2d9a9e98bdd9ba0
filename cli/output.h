/* SPDX-License-Identifier: MIT */
/* Presenting copyjobd's answers: tables and "key: value" lines for people, JSON, NDJSON and
 * CSV for programs. Nothing here trusts the shape of what the daemon sent: a missing or
 * mistyped field prints as "-" (or an empty CSV field). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cj-buf.h"
#include "client.h"
#include "ctl.h"

/* --- generic table (output-table.c) --- */

struct ctl_table_column {
    const char *header;
    bool plain_cut;   /* cut without '…' because a prefix still reads right (dates) */
    bool optional;    /* shown only when at least min_width columns are left for it */
    size_t min_width; /* for optional columns */
};

/* When the table is too wide, columns shrink one step at a time, in this order; a step
 * with min_width 0 hides the column. */
struct ctl_table_shrink {
    size_t column;
    size_t min_width;
};

struct ctl_table {
    const struct ctl_table_column *columns;
    size_t n_columns;
    const struct ctl_table_shrink *shrink;
    size_t n_shrink;
    bool marker; /* a one-character marker column first, without a header */

    char **cells; /* n_rows * n_columns, sanitized copies */
    char *marks;
    bool *highlight;
    size_t n_rows, cap_rows;
};

int ctl_table_add_row(struct ctl_table *t, const char *const *cells, char mark, bool highlight);
/* Prints header and rows; no line is wider than `width` columns. */
int ctl_table_print(const struct ctl_table *t, FILE *f, size_t width, bool colour);
void ctl_table_free(struct ctl_table *t);

/* "key: value" lines with the values aligned; a NULL value prints as "-". */
int ctl_kv_print(FILE *f, const char *const *keys, const char *const *values, size_t n);

/* --- JSON helpers (output-json.c) --- */

/* Parses a body; NULL (after printing why, sanitised) if it is not a JSON object. */
json_t *ctl_json_parse_object(const struct ctl_response *resp, const char *what);
/* Appends value as JSON text (json_dumps() flags; JSON_ENCODE_ANY implied) with every
 * control character escaped (ctl_text_append_json()); out->data is never NULL afterwards.
 * Every JSON that copyjobctl prints is made here. */
int ctl_json_dump(const json_t *value, size_t flags, struct cj_buf *out);
/* Pretty-printed (2-space indent) with a newline. */
int ctl_json_print(FILE *f, const json_t *value);
/* One compact line. */
int ctl_json_print_line(FILE *f, const json_t *value);
/* A member as text: strings as they are, numbers and booleans spelled out, objects and
 * arrays as compact JSON; NULL when missing or null. `scratch` holds the text if needed. */
const char *ctl_json_text(const json_t *obj, const char *key, struct cj_buf *scratch);

/* --- model copy job views (output-job.c) --- */

/* "2024-05-01 12:34:56" (UTC) from the ISO 8601 creationTime, or the raw text if it does
 * not parse; NULL if missing. */
const char *ctl_job_created(const json_t *job, char *buf, size_t size);
/* The last segment of the jobArn ("abcdefghijkl"), or NULL. */
const char *ctl_job_id(const json_t *job);
/* Every field of one job as "key: value" lines (get). */
int ctl_job_print_details(FILE *f, const json_t *job);

/* --- list output, streamed page by page (output-list.c) --- */

struct ctl_list_output {
    enum ctl_output format;
    FILE *f;
    size_t rows;
    struct ctl_table table; /* CTL_OUTPUT_TABLE only: printed at the end */
};

int ctl_list_output_begin(struct ctl_list_output *o, enum ctl_output format, FILE *f);
int ctl_list_output_row(struct ctl_list_output *o, const json_t *job);
/* next_token: printed by json (the API's shape) and hinted at by table; NULL when all rows
 * were fetched. `first` carries the cache's age headers for the table's summary line. */
int ctl_list_output_end(struct ctl_list_output *o, const char *next_token,
                        const struct ctl_response *first);
void ctl_list_output_done(struct ctl_list_output *o);

/* --- per source (output-sources.c) --- */

enum ctl_sources_view {
    CTL_SOURCES_STATS,  /* region, account, jobs by status, last sync */
    CTL_SOURCES_HEALTH, /* state, jobs, last sync, last error; a source not ok is highlighted */
};
/* "TYPE: message" of a health report's (or one source's) lastError; NULL when it has none. */
const char *ctl_last_error_text(const json_t *health, struct cj_buf *out);
/* A blank line and a table of the answer's "sources" object, one row per source; nothing
 * when it has none. */
int ctl_sources_print(FILE *f, const json_t *answer, enum ctl_sources_view view);

/* --- CSV (output-csv.c) --- */

int ctl_csv_header(FILE *f);
int ctl_csv_row(FILE *f, const json_t *job);
