/* SPDX-License-Identifier: MIT */
/* A table that fits the terminal: columns shrink in a chosen order, optional ones appear only
 * when there is room, long cells end in '…', and as a last resort whole lines are cut. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "text.h"

#define SEPARATOR       "  "
#define SEPARATOR_WIDTH 2
#define MARKER_WIDTH    2 /* the mark and a space */
#define COLOUR_ROW      "\033[31m"
#define COLOUR_HEADER   "\033[1m"
#define COLOUR_RESET    "\033[0m"

int ctl_table_add_row(struct ctl_table *t, const char *const *cells, char mark, bool highlight)
{
    if (t->n_rows == t->cap_rows) {
        size_t cap = t->cap_rows ? t->cap_rows * 2 : 64;
        char **c = reallocarray(t->cells, cap, t->n_columns * sizeof(char *));
        if (!c)
            return -ENOMEM;
        t->cells = c;
        char *m = realloc(t->marks, cap);
        if (!m)
            return -ENOMEM;
        t->marks = m;
        bool *h = reallocarray(t->highlight, cap, sizeof(bool));
        if (!h)
            return -ENOMEM;
        t->highlight = h;
        t->cap_rows = cap;
    }

    char **row = t->cells + t->n_rows * t->n_columns;
    for (size_t i = 0; i < t->n_columns; i++) {
        struct cj_buf clean = {0};
        int r = ctl_text_append_sanitized(&clean, cells[i] ? cells[i] : "-");
        if (r >= 0)
            r = cj_buf_append_str(&clean, ""); /* data is never NULL after this */
        if (r < 0) {
            cj_buf_free(&clean);
            while (i > 0)
                free(row[--i]);
            return r;
        }
        row[i] = cj_buf_steal(&clean);
    }
    t->marks[t->n_rows] = mark;
    t->highlight[t->n_rows] = highlight;
    t->n_rows++;
    return 0;
}

void ctl_table_free(struct ctl_table *t)
{
    for (size_t i = 0; i < t->n_rows * t->n_columns; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t->marks);
    free(t->highlight);
    t->cells = NULL;
    t->marks = NULL;
    t->highlight = NULL;
    t->n_rows = t->cap_rows = 0;
}

static size_t layout_width(const struct ctl_table *t, const size_t *widths, const bool *visible)
{
    size_t total = t->marker ? MARKER_WIDTH : 0, shown = 0;
    for (size_t i = 0; i < t->n_columns; i++)
        if (visible[i]) {
            total += widths[i];
            shown++;
        }
    return total + (shown > 1 ? (shown - 1) * SEPARATOR_WIDTH : 0);
}

/* Decides each column's width and whether it is shown. */
static void layout(const struct ctl_table *t, size_t width, size_t *widths, bool *visible,
                   size_t *natural)
{
    for (size_t i = 0; i < t->n_columns; i++) {
        widths[i] = ctl_text_width(t->columns[i].header);
        for (size_t row = 0; row < t->n_rows; row++) {
            size_t w = ctl_text_width(t->cells[row * t->n_columns + i]);
            if (w > widths[i])
                widths[i] = w;
        }
        visible[i] = !t->columns[i].optional;
        natural[i] = widths[i];
    }

    size_t total = layout_width(t, widths, visible);
    for (size_t s = 0; s < t->n_shrink && total > width; s++) {
        size_t col = t->shrink[s].column, min = t->shrink[s].min_width;
        if (col >= t->n_columns || !visible[col])
            continue;
        if (min == 0) {
            /* Hiding beats a column too narrow to read. */
            visible[col] = false;
            total = layout_width(t, widths, visible);
            continue;
        }
        if (widths[col] <= min)
            continue;
        size_t cut = widths[col] - min;
        /* A plainly cut value (a date) reads right only at the chosen steps. */
        if (cut > total - width && !t->columns[col].plain_cut)
            cut = total - width;
        widths[col] -= cut;
        total -= cut;
    }

    /* Whole steps may have freed more than needed: give it back, to the columns that
     * shrank first (they were cut the most). */
    for (size_t s = 0; s < t->n_shrink && total < width; s++) {
        size_t col = t->shrink[s].column;
        if (col >= t->n_columns || !visible[col] || widths[col] >= natural[col])
            continue;
        size_t grow = natural[col] - widths[col];
        if (grow > width - total && t->columns[col].plain_cut)
            continue;
        if (grow > width - total)
            grow = width - total;
        widths[col] += grow;
        total += grow;
    }

    for (size_t i = 0; i < t->n_columns; i++) {
        if (!t->columns[i].optional)
            continue;
        size_t room = width > total ? width - total : 0;
        if (room < SEPARATOR_WIDTH + t->columns[i].min_width)
            continue;
        if (widths[i] > room - SEPARATOR_WIDTH)
            widths[i] = room - SEPARATOR_WIDTH;
        visible[i] = true;
        total += SEPARATOR_WIDTH + widths[i];
    }
}

static size_t last_visible(const struct ctl_table *t, const bool *visible)
{
    size_t last = 0;
    for (size_t i = 0; i < t->n_columns; i++)
        if (visible[i])
            last = i;
    return last;
}

/* One line of the table, cut to `width` if even the narrowest layout does not fit. */
static int print_line(const struct ctl_table *t, FILE *f, const char *const *cells, char mark,
                      const size_t *widths, const bool *visible, size_t width, const char *colour)
{
    _cleanup_buf_ struct cj_buf line = {0}, cut = {0};
    size_t last = last_visible(t, visible);
    bool first = true;
    int r = cj_buf_append_str(&line, "");

    if (r >= 0 && t->marker)
        r = cj_buf_printf(&line, "%c ", mark);
    for (size_t i = 0; r >= 0 && i < t->n_columns; i++) {
        if (!visible[i])
            continue;
        if (!first)
            r = cj_buf_append_str(&line, SEPARATOR);
        first = false;
        if (r >= 0)
            r = ctl_text_append_fitted(&line, cells[i], widths[i], t->columns[i].plain_cut,
                                       i != last);
    }
    if (r < 0)
        return r;
    /* Nothing trails a line, not even the padding of an empty last cell. */
    while (line.len > 0 && line.data[line.len - 1] == ' ')
        line.data[--line.len] = '\0';

    const char *text = line.data;
    if (ctl_text_width(text) > width) {
        r = ctl_text_append_fitted(&cut, text, width, false, false);
        if (r < 0)
            return r;
        text = cut.data;
    }
    if (colour)
        fprintf(f, "%s%s%s\n", colour, text, COLOUR_RESET);
    else
        fprintf(f, "%s\n", text);
    return 0;
}

int ctl_table_print(const struct ctl_table *t, FILE *f, size_t width, bool colour)
{
    _cleanup_free_ size_t *widths = calloc(t->n_columns, sizeof(size_t));
    _cleanup_free_ bool *visible = calloc(t->n_columns, sizeof(bool));
    _cleanup_free_ size_t *natural = calloc(t->n_columns, sizeof(size_t));
    _cleanup_free_ const char **headers = calloc(t->n_columns, sizeof(char *));
    if (!widths || !visible || !natural || !headers)
        return -ENOMEM;

    layout(t, width, widths, visible, natural);
    for (size_t i = 0; i < t->n_columns; i++)
        headers[i] = t->columns[i].header;

    int r = print_line(t, f, headers, ' ', widths, visible, width, colour ? COLOUR_HEADER : NULL);
    for (size_t row = 0; r >= 0 && row < t->n_rows; row++)
        r = print_line(t, f, (const char *const *)t->cells + row * t->n_columns, t->marks[row],
                       widths, visible, width, colour && t->highlight[row] ? COLOUR_ROW : NULL);
    return r;
}

int ctl_kv_print(FILE *f, const char *const *keys, const char *const *values, size_t n)
{
    size_t keywidth = 0;
    for (size_t i = 0; i < n; i++)
        if (strlen(keys[i]) > keywidth)
            keywidth = strlen(keys[i]);

    for (size_t i = 0; i < n; i++) {
        _cleanup_buf_ struct cj_buf value = {0};
        int r = ctl_text_append_sanitized(&value, values[i] ? values[i] : "-");
        if (r >= 0)
            r = cj_buf_append_str(&value, "");
        if (r < 0)
            return r;
        fprintf(f, "%s:%*s %s\n", keys[i], (int)(keywidth - strlen(keys[i])), "", value.data);
    }
    return 0;
}
