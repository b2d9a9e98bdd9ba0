/* SPDX-License-Identifier: MIT */
/* Server-Sent Events (the WHATWG HTML "event stream" format) for GET /v1/events: choosing it
 * from the Accept header, reading the positions clients send back (Last-Event-ID, ?after=), and
 * framing the change feed's events, gaps and heartbeats. Pure functions, no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cj-buf.h"
#include "store.h"

/* What the first bytes of a stream tell the browser: reconnect after this many ms. */
#define CJ_SSE_RETRY_MS 2000u

/* True when an Accept header value lists text/event-stream (media types compared
 * case-insensitively, parameters ignored) with a q above 0. NULL or empty: false. */
bool api_sse_accepts(const char *accept);

/* A position in the change feed as a client hands it back: "SEQ", which any store's log is
 * read after, or "STOREID-SEQ" (the form this feed sends), which a store with another id
 * answers with a gap first: that history is not this store's. */
struct api_event_pos {
    uint64_t seq;
    bool has_store;
    char store[CJ_STORE_ID_LEN + 1];
};

/* Parses a position: an optional store id of exactly CJ_STORE_ID_LEN lower-case hex digits and
 * a '-', then the decimal seq (1..20 digits, below UINT64_MAX); with `spaces`, surrounded by
 * optional spaces (Last-Event-ID). 0 with *ret set, or -EINVAL with *ret untouched. */
int api_event_pos_parse(const char *value, bool spaces, struct api_event_pos *ret);
/* A Last-Event-ID header: api_event_pos_parse with spaces. */
int api_sse_parse_last_event_id(const char *value, struct api_event_pos *ret);

/* Appends the position "STOREID-SEQ" (just "SEQ" when store_id is ""). */
int api_event_pos_append(struct cj_buf *b, const char *store_id, uint64_t seq);

/* Appends one event's JSON object, the ndjson line without its newline and the SSE data:
 * {"seq":SEQ,"id":"STOREID-SEQ","type":TYPE,"job":JOB}. job is len bytes of compact JSON; CR
 * and LF in it (only possible outside strings) become spaces, so the object stays one line. */
int api_event_append_json(struct cj_buf *b, const char *store_id, uint64_t seq, const char *type,
                          const char *job, size_t len);

/* Appends the stream's opening block: "retry: CJ_SSE_RETRY_MS" and, when with_id,
 * "id: STOREID-POS", the position the stream continues after. The block has no data, so it
 * dispatches no event, but it sets the EventSource's last event ID: a browser that reconnects
 * before any event arrived resumes from POS instead of from whatever is newest then. */
int api_sse_append_open(struct cj_buf *b, const char *store_id, uint64_t pos, bool with_id);

/* Appends one event: "id: STOREID-SEQ", "event: TYPE" and "data: " followed by
 * api_event_append_json's object, then the blank line that dispatches it. 0 or -ENOMEM. */
int api_sse_append_event(struct cj_buf *b, const char *store_id, uint64_t seq, const char *type,
                         const char *job, size_t len);

/* Appends an "event: gap" block whose data is {"type":"gap","after":A,"firstSeq":F}. It has
 * no id, so the client's Last-Event-ID stays where it was until event F arrives. */
int api_sse_append_gap(struct cj_buf *b, uint64_t after, uint64_t first_seq);

/* Appends a comment line (": heartbeat"), which EventSource ignores. */
int api_sse_append_heartbeat(struct cj_buf *b);
