/* SPDX-License-Identifier: MIT */
/* Text from the daemon, made safe and measured for a terminal. Anything copyjobd sends is
 * treated as untrusted: control characters and invalid UTF-8 never reach the terminal. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "cj-buf.h"

/* Call once at start: decides whether wcwidth() can be trusted (a UTF-8 locale). */
void ctl_text_init(void);

/* Appends s with tab/CR/LF turned into spaces, other control characters (C0, DEL, C1),
 * bidirectional overrides and invalid UTF-8 into '?'. */
int ctl_text_append_sanitized(struct cj_buf *out, const char *s);

/* Display width (terminal columns) of a sanitized string. */
size_t ctl_text_width(const char *s);

/* Appends a sanitized string cut to `width` columns. A cut string ends in '…' unless
 * `plain_cut` (for values whose prefix still reads right, like a date). With `pad`, fills
 * up to `width` with spaces. */
int ctl_text_append_fitted(struct cj_buf *out, const char *s, size_t width, bool plain_cut,
                           bool pad);
