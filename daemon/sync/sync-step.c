/* SPDX-License-Identifier: MIT */
/* One request on the wire, and what happens when it fails.
 *
 * The step timer fires no earlier than the rate cap allows (requests are spaced by
 * 1/max_requests_per_second, retries included), the walk builds and signs the request, curl
 * carries it. A failed attempt is retried after a capped exponential backoff with full
 * jitter when it is worth it (throttling, 5xx, timeouts, resets, truncated or malformed
 * bodies), up to CJ_RETRY_MAX_ATTEMPTS; a rejection for clock skew is retried once at once
 * with the clock corrected from the answer's Date header; anything else ends the pass,
 * keeping what it stored. Before each request the credentials are checked
 * (sync-credentials.c), which may park the pass until a lookup returns. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cj-time.h"
#include "credentials.h"
#include "job.h"
#include "log.h"
#include "sync-internal.h"

static const char *operation_name(enum cj_api_operation op)
{
    return op == CJ_API_GET_MODEL_COPY_JOB ? "GetModelCopyJob" : "ListModelCopyJobs";
}

int64_t sync_step_signing_time(const struct cj_sync *s)
{
    return (int64_t)time(NULL) + s->clock_offset_sec;
}

/* xorshift64*: the jitter needs spread, not secrecy. */
static uint64_t next_random(struct cj_sync *s)
{
    uint64_t x = s->rng_state ? s->rng_state : UINT64_C(0x9e3779b97f4a7c15);
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng_state = x;
    return x * UINT64_C(0x2545f4914f6cdd1d);
}

/* ---- sending ---- */

static void on_http_done(struct cj_http *h, void *userdata);

/* Builds, signs and starts the request the walk needs next, and counts it. */
static int start_request(struct cj_sync *s)
{
    struct cj_sync_pass *p = &s->pass;

    int r = sync_walk_build_request(s);
    if (r < 0) {
        cj_signed_request_done(&p->request);
        return r;
    }
    struct cj_http_options o = {
        .url = p->request.url,
        .headers = p->request.headers,
        .timeout_usec = s->params->timeout_usec,
        .ca_file = s->params->ca_file,
    };
    r = cj_http_start(s->http, &o, on_http_done, s);
    if (r < 0) {
        cj_signed_request_done(&p->request);
        return -EIO;
    }
    s->last_request_mono_usec = sync_now_mono_usec();
    s->status.api_calls++;
    s->metrics.api_calls[p->op]++;
    p->requests++;
    if (p->retry_pending) {
        p->retry_pending = false;
        s->metrics.retries++;
        s->status.retries++;
    }
    return 0;
}

static void send_request(struct cj_sync *s)
{
    if (s->duplicate_of[0]) {
        char message[256];
        snprintf(message, sizeof(message),
                 "the same account (%s) and region (%s) as source %s: this source syncs nothing "
                 "until the configuration is changed and reloaded",
                 s->status.account[0] ? s->status.account : "?", s->params->region,
                 s->duplicate_of);
        sync_pass_end(s, -EEXIST, "DuplicateSource", message);
        return;
    }
    if (!sync_credentials_ready(s))
        return;

    int r = start_request(s);
    if (r == -EIO)
        sync_pass_end(s, r, "NetworkError", "cannot start the HTTP request");
    else if (r < 0)
        sync_pass_end(s, r, "SigningError", "cannot build or sign the request");
}

static void reset_attempts(struct cj_sync_pass *p)
{
    p->attempt = 1;
    p->skew_retried = false;
    p->retry_pending = false;
}

bool sync_step_send_now(struct cj_sync *s)
{
    uint64_t gap = CJ_USEC_PER_SEC / s->params->max_requests_per_second;

    if (s->duplicate_of[0] || !sync_credentials_usable(s) || cj_http_busy(s->http) ||
        (s->last_request_mono_usec > 0 && s->last_request_mono_usec + gap > sync_now_mono_usec()))
        return false;
    reset_attempts(&s->pass);
    if (start_request(s) < 0)
        return false;
    cj_curl_advance(s->curl);
    return true;
}

static int on_step(sd_event_source *source, uint64_t usec, void *userdata)
{
    struct cj_sync *s = userdata;
    struct cj_sync_pass *p = &s->pass;

    if (!s->running)
        return 0;
    if (!p->begun) {
        char err[256] = "";
        p->begun = true;
        int r = sync_walk_begin(s, err, sizeof(err));
        if (r < 0) {
            sync_pass_end(s, r, "StoreError", err[0] ? err : "cannot begin the pass");
            return 0;
        }
    }
    send_request(s);
    return 0;
}

int sync_step_arm(struct cj_sync *s, uint64_t delay_usec)
{
    uint64_t gap = CJ_USEC_PER_SEC / s->params->max_requests_per_second;
    uint64_t when = sync_now_mono_usec() + delay_usec;
    int r;

    if (s->last_request_mono_usec > 0 && s->last_request_mono_usec + gap > when)
        when = s->last_request_mono_usec + gap;

    if (s->step_timer) {
        r = sd_event_source_set_time(s->step_timer, when);
        if (r >= 0)
            r = sd_event_source_set_enabled(s->step_timer, SD_EVENT_ONESHOT);
    } else {
        /* accuracy 1 µs: the rate cap is the only pacing wanted */
        r = sd_event_add_time(s->event, &s->step_timer, CLOCK_MONOTONIC, when, 1, on_step, s);
        if (r >= 0)
            (void)sd_event_source_set_description(s->step_timer, "sync-step");
    }
    return r;
}

void sync_step_schedule(struct cj_sync *s, uint64_t delay_usec)
{
    int r = sync_step_arm(s, delay_usec);
    if (r < 0) {
        log_error_errno(r, "sync %s: cannot arm the request timer: %m", s->params->name);
        sync_pass_end(s, r, "InternalError", "cannot arm the request timer");
    }
}

void sync_step_next_request(struct cj_sync *s)
{
    reset_attempts(&s->pass);
    sync_step_schedule(s, 0);
}

/* ---- failures ---- */

void sync_step_failed(struct cj_sync *s, enum cj_retry_class retry, int r, const char *type,
                      const char *message)
{
    struct cj_sync_pass *p = &s->pass;

    sync_metrics_count_error(s, type);
    if (retry == CJ_RETRY_BACKOFF && p->attempt < CJ_RETRY_MAX_ATTEMPTS) {
        /* The pages stored so far are not held back from readers while the pass waits. */
        int q = cj_store_flush(s->store);
        if (q < 0) {
            char err[128];
            snprintf(err, sizeof(err), "cannot commit the pages stored: %s", strerror(-q));
            sync_pass_end(s, q, "StoreError", err);
            return;
        }
        uint64_t delay = sync_retry_delay_usec(p->attempt, s->params->retry_base_usec,
                                               s->params->retry_cap_usec, next_random(s));
        log_info("sync %s: %s attempt %u of %u failed (%s: %s); retrying in %" PRIu64 " ms",
                 s->params->name, operation_name(p->op), p->attempt, CJ_RETRY_MAX_ATTEMPTS, type,
                 message, delay / 1000);
        p->attempt++;
        p->retry_pending = true;
        sync_step_schedule(s, delay);
        return;
    }
    if (retry == CJ_RETRY_EXPIRED_TOKEN)
        s->params->lookup_wanted = true;
    sync_pass_end(s, r, type, message);
}

static const char *transport_error(const struct cj_http_response *resp, int *ret_errno)
{
    if (resp->body_too_large) {
        *ret_errno = -E2BIG;
        return "ResponseTooLarge";
    }
    if (sync_curl_is_tls_setup_error(resp->code) || resp->code == CURLE_SSL_SHUTDOWN_FAILED) {
        *ret_errno = -EPROTO;
        return "TLSError";
    }
    switch (resp->code) {
    case CURLE_OPERATION_TIMEDOUT:
        *ret_errno = -ETIMEDOUT;
        return "Timeout";
    case CURLE_COULDNT_RESOLVE_HOST:
        *ret_errno = -EHOSTUNREACH;
        return "NetworkError";
    case CURLE_COULDNT_CONNECT:
        *ret_errno = -ECONNREFUSED;
        return "NetworkError";
    case CURLE_PARTIAL_FILE:
        *ret_errno = -EPIPE;
        return "TruncatedResponse";
    default:
        *ret_errno = -EIO;
        return "NetworkError";
    }
}

static int http_status_errno(long status)
{
    if (status == 429 || status == 503)
        return -EAGAIN;
    if (status == 401 || status == 403)
        return -EACCES;
    if (status == 404)
        return -ENOENT;
    if (status >= 400 && status < 500)
        return -EINVAL;
    if (status >= 500 && status < 600)
        return -EIO;
    return -EPROTO;
}

/* A rejected signature is most often a wrong clock: say so when the service's Date header
 * is more than SigV4's 5 minutes away from our (corrected) clock. */
static void clock_skew_hint(const struct cj_sync *s, const struct cj_http_response *resp, char *out,
                            size_t outlen)
{
    if (resp->status != 403 || !resp->date[0])
        return;
    /* Not sync_retry_clock_offset(): a hint may name any distance, even a broken one. */
    time_t server = curl_getdate(resp->date, NULL);
    if (server <= 0)
        return;
    int64_t offset = (int64_t)server - sync_step_signing_time(s);
    if (offset > 300 || offset < -300)
        snprintf(out, outlen, " (the service's clock is %" PRId64 " s %s ours)",
                 offset < 0 ? -offset : offset, offset < 0 ? "behind" : "ahead of");
}

/* Corrects the signing clock from the answer's Date. True when a retry should follow. */
static bool correct_clock(struct cj_sync *s, const struct cj_http_response *resp)
{
    struct cj_sync_pass *p = &s->pass;
    int64_t offset;

    if (p->skew_retried || sync_retry_clock_offset(resp->date, (int64_t)time(NULL), &offset) < 0)
        return false;
    p->skew_retried = true;
    log_warning("sync %s: the service rejected the request time; its clock is %" PRId64
                " s from ours (was corrected by %" PRId64 " s): signing with the service's time",
                s->params->name, offset, s->clock_offset_sec);
    s->clock_offset_sec = offset;
    s->status.clock_offset_sec = offset;
    return true;
}

static void on_http_done(struct cj_http *h, void *userdata)
{
    struct cj_sync *s = userdata;
    struct cj_sync_pass *p = &s->pass;
    const struct cj_http_response *resp = cj_http_response(h);

    cj_signed_request_done(&p->request);

    if (resp->code != CURLE_OK) {
        int r;
        const char *type = transport_error(resp, &r);
        sync_step_failed(s, sync_retry_classify_transport(resp->code, resp->body_too_large), r,
                         type, resp->curl_error);
        return;
    }

    char type[64], message[384], skew[96] = "", full_message[640];
    if (resp->status != 200)
        cj_aws_error_parse(resp->status, resp->error_type[0] ? resp->error_type : NULL,
                           resp->body.data ? resp->body.data : "", resp->body.len, type,
                           sizeof(type), message, sizeof(message));
    if (resp->status == 200 || (resp->status == 404 && p->op == CJ_API_GET_MODEL_COPY_JOB &&
                                strcmp(type, "ResourceNotFoundException") == 0)) {
        sync_walk_on_answer(s, resp);
        return;
    }

    enum cj_retry_class retry = sync_retry_classify_http(resp->status, type, message);
    if (retry == CJ_RETRY_CLOCK_SKEW) {
        if (correct_clock(s, resp)) {
            sync_metrics_count_error(s, type);
            p->retry_pending = true;
            sync_step_schedule(s, 0);
            return;
        }
        retry = CJ_RETRY_NEVER; /* no usable Date, or corrected once already */
    }
    clock_skew_hint(s, resp, skew, sizeof(skew));
    snprintf(full_message, sizeof(full_message), "HTTP %ld%s%s%s%s%s%s", resp->status,
             message[0] ? ": " : "", message, skew, resp->request_id[0] ? " (request id " : "",
             resp->request_id, resp->request_id[0] ? ")" : "");
    sync_step_failed(s, retry, http_status_errno(resp->status), type, full_message);
}
