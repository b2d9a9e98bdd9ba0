/* SPDX-License-Identifier: MIT */
/* Text from the daemon, made safe and measured for a terminal. Anything copyjobd sends is
 * treated as untrusted, and every output format goes through this one sanitiser: C0 and C1
 * control characters, DEL, bidirectional controls and invalid UTF-8 never reach stdout or
 * stderr raw, whichever --output was asked for. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "cj-buf.h"

/* Call once at start: decides whether wcwidth() can be trusted (a UTF-8 locale). */
void ctl_text_init(void);

/* Appends s with tab/CR/LF turned into spaces, other control characters (C0, DEL, C1),
 * bidirectional controls and invalid UTF-8 into '?'. For tables, "key: value" lines and
 * error messages. */
int ctl_text_append_sanitized(struct cj_buf *out, const char *s);

/* Appends JSON text as jansson writes it (outside strings only ASCII and the newlines of
 * indentation; inside them, C0 controls already escaped), with each other C0/C1 control, DEL
 * and bidirectional control written as a \uXXXX escape and invalid UTF-8 as \ufffd: the
 * same JSON value, in bytes a terminal shows as they are. */
int ctl_text_append_json(struct cj_buf *out, const char *json);

/* Appends s as one RFC 4180 field: sanitized as ctl_text_append_sanitized() does (so a record
 * is always one line), quoted when it holds a comma or a quote, quotes doubled. A value that
 * a spreadsheet would run as a formula (its first character other than a space is = + - @ or
 * a full-width form of one) is quoted and prefixed with a single quote (OWASP). */
int ctl_text_append_csv(struct cj_buf *out, const char *s);

/* Display width (terminal columns) of a sanitized string. */
size_t ctl_text_width(const char *s);

/* Appends a sanitized string cut to `width` columns. A cut string ends in '…' unless
 * `plain_cut` (for values whose prefix still reads right, like a date). With `pad`, fills
 * up to `width` with spaces. */
int ctl_text_append_fitted(struct cj_buf *out, const char *s, size_t width, bool plain_cut,
                           bool pad);
