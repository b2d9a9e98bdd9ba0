/* SPDX-License-Identifier: MIT */
/* Server-Sent Events (the WHATWG HTML "event stream" format) for GET /v1/events: choosing it
 * from the Accept header, reading the Last-Event-ID a reconnecting EventSource sends, and
 * framing the change feed's events, gaps and heartbeats. Pure functions, no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cj-buf.h"

/* What the first bytes of a stream tell the browser: reconnect after this many ms. */
#define CJ_SSE_RETRY_MS 2000u

/* True when an Accept header value lists text/event-stream (media types compared
 * case-insensitively, parameters ignored) with a q above 0. NULL or empty: false. */
bool api_sse_accepts(const char *accept);

/* Parses a Last-Event-ID value: the decimal seq this feed sent as an event's id, optionally
 * surrounded by spaces. Returns 0 and sets *ret, or -EINVAL for anything else (empty, signs,
 * non-digits, more than 20 digits, UINT64_MAX or above). */
int api_sse_parse_last_event_id(const char *value, uint64_t *ret);

/* Appends the stream's opening block: "retry: CJ_SSE_RETRY_MS" and, when with_id, "id: POS",
 * the seq the stream continues after. The block has no data, so it dispatches no event, but
 * it sets the EventSource's last event ID: a browser that reconnects before any event
 * arrived resumes from POS instead of from whatever is newest then. */
int api_sse_append_open(struct cj_buf *b, uint64_t pos, bool with_id);

/* Appends one event: "id: SEQ", "event: TYPE" and "data: " followed by the JSON object
 * {"seq":SEQ,"type":TYPE,"job":JOB} (the ndjson line's object), then the blank line that
 * dispatches it. job is len bytes of compact JSON; CR and LF in it (only possible outside
 * strings) become spaces, so the data stays one line. Returns 0 or -ENOMEM. */
int api_sse_append_event(struct cj_buf *b, uint64_t seq, const char *type, const char *job,
                         size_t len);

/* Appends an "event: gap" block whose data is {"type":"gap","after":A,"firstSeq":F}. It has
 * no id, so the client's Last-Event-ID stays where it was until event F arrives. */
int api_sse_append_gap(struct cj_buf *b, uint64_t after, uint64_t first_seq);

/* Appends a comment line (": heartbeat"), which EventSource ignores. */
int api_sse_append_heartbeat(struct cj_buf *b);
