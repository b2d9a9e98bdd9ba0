/* SPDX-License-Identifier: MIT */
/* What the terminal on stdout/stderr can do. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define CTL_DEFAULT_WIDTH 120

/* Columns for table output: $COLUMNS if it is a sane number, else the terminal's width
 * (TIOCGWINSZ on stdout), else CTL_DEFAULT_WIDTH. */
size_t ctl_terminal_width(void);
/* ANSI colour on stdout: only on a terminal, and only when NO_COLOR is unset or empty and
 * TERM is not "dumb". */
bool ctl_terminal_colour(void);
/* Whether a progress line may be drawn on stderr. */
bool ctl_terminal_progress(void);
