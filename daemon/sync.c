/* SPDX-License-Identifier: MIT */
/* The sync pass state machine and its schedule.
 *
 * A pass is a chain of steps on the event loop: the step timer fires (no earlier than the
 * request rate cap allows), one ListModelCopyJobs request is signed and handed to curl,
 * its completion writes the page to the store and arms the step timer again for the next
 * page, or ends the pass. Nothing in a pass runs synchronously inside cj_sync_trigger(),
 * so a caller never sees its own done callback fire before trigger returns.
 *
 * Later work (quick syncs, retries with backoff) hooks into pass_end() and
 * schedule_request(): a retry is another step after a delay. */
#include "sync.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cj-time.h"
#include "credentials.h"
#include "job.h"
#include "log.h"
#include "sync-curl.h"
#include "sync-request.h"

/* A pass that needs more pages than this is looping on a broken paginator: even a million
 * jobs at the smallest useful page size stay far below it. */
#define CJ_SYNC_MAX_PAGES 100000

struct cj_sync_params {
    struct cj_endpoint endpoint;
    char *region;
    char *ca_file;
    unsigned page_size;
    unsigned max_requests_per_second;
    uint64_t timeout_usec;
    uint64_t interval_usec;
    struct cj_aws_credentials creds;
};

struct cj_sync_callback {
    cj_sync_done_fn fn;
    void *userdata;
};

struct cj_sync_pass {
    bool full;
    bool begun; /* the store pass exists (or was attempted) */
    struct cj_store_pass *store_pass;
    char *next_token;                 /* NULL for the first page */
    struct cj_signed_request request; /* alive while its transfer runs */
    uint64_t pages, jobs, skipped, requests;
    uint64_t started_mono_usec;
    struct cj_store_changes changes;
};

struct cj_sync {
    sd_event *event;
    struct cj_store *store;
    struct cj_sync_params *params;
    struct cj_sync_params *pending_params; /* from reconfigure during a pass */

    struct cj_curl *curl;
    struct cj_http *http;
    sd_event_source *step_timer;
    sd_event_source *schedule_timer;
    bool schedule_enabled;

    bool running;
    bool want_full_after; /* a full pass was asked for while a quick one ran */
    struct cj_sync_pass pass;
    uint64_t last_request_mono_usec; /* 0 = no request sent yet */

    struct cj_sync_status status;
    struct cj_sync_callback *callbacks;
    size_t n_callbacks;
};

static uint64_t now_mono_usec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * CJ_USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- parameters: a private copy of what a pass needs ---- */

static void params_free(struct cj_sync_params *p)
{
    if (!p)
        return;
    cj_endpoint_done(&p->endpoint);
    free(p->region);
    free(p->ca_file);
    cj_credentials_done(&p->creds);
    free(p);
}

static int strdup_opt(const char *s, char **ret)
{
    *ret = NULL;
    if (!s)
        return 0;
    *ret = strdup(s);
    return *ret ? 0 : -ENOMEM;
}

static int params_new(const struct cj_settings *settings, const struct cj_aws_credentials *creds,
                      struct cj_sync_params **ret)
{
    struct cj_sync_params *p = calloc(1, sizeof(*p));
    int r;

    if (!p)
        return -ENOMEM;
    if (!settings->aws.region || !*settings->aws.region) {
        r = log_error_errno(EINVAL, "sync: no AWS region configured");
        goto fail;
    }
    r = cj_endpoint_parse(settings->aws.endpoint, &p->endpoint);
    if (r < 0)
        goto fail;
    if ((r = strdup_opt(settings->aws.region, &p->region)) < 0 ||
        (r = strdup_opt(settings->aws.ca_file, &p->ca_file)) < 0)
        goto fail;
    p->page_size = settings->sync.page_size;
    if (p->page_size < 1 || p->page_size > 1000) {
        r = log_error_errno(EINVAL, "sync: page_size %u is outside 1..1000", p->page_size);
        goto fail;
    }
    p->max_requests_per_second = settings->sync.max_requests_per_second;
    if (p->max_requests_per_second < 1)
        p->max_requests_per_second = 1;
    p->timeout_usec = settings->sync.timeout_usec;
    p->interval_usec = settings->sync.interval_usec;

    if (creds) {
        if ((r = strdup_opt(creds->access_key_id, &p->creds.access_key_id)) < 0 ||
            (r = strdup_opt(creds->secret_access_key, &p->creds.secret_access_key)) < 0 ||
            (r = strdup_opt(creds->session_token, &p->creds.session_token)) < 0)
            goto fail;
        p->creds.expiration_ns = creds->expiration_ns;
    }

    *ret = p;
    return 0;
fail:
    params_free(p);
    return r;
}

/* ---- the end of a pass ---- */

static void pass_clear(struct cj_sync *s)
{
    free(s->pass.next_token);
    cj_signed_request_done(&s->pass.request);
    if (s->pass.store_pass)
        cj_store_pass_free(s->pass.store_pass);
    s->pass = (struct cj_sync_pass){0};
}

static void changes_add(struct cj_store_changes *to, const struct cj_store_changes *c)
{
    to->created += c->created;
    to->updated += c->updated;
    to->unchanged += c->unchanged;
    to->removed += c->removed;
}

static int start_pass(struct cj_sync *s, bool full);

static void arm_schedule(struct cj_sync *s)
{
    if (!s->schedule_enabled)
        return;

    uint64_t when = now_mono_usec() + s->params->interval_usec;
    int r;
    if (s->schedule_timer) {
        r = sd_event_source_set_time(s->schedule_timer, when);
        if (r >= 0)
            r = sd_event_source_set_enabled(s->schedule_timer, SD_EVENT_ONESHOT);
    } else {
        r = -ENOENT; /* created in cj_sync_start_schedule() */
    }
    if (r < 0)
        log_error_errno(r, "sync: cannot schedule the next pass: %m");
}

static void pass_end(struct cj_sync *s, int result, const char *type, const char *message)
{
    struct cj_sync_pass *p = &s->pass;
    int64_t now_ns = cj_now_ns();
    char store_error[128];
    int r;

    if (p->store_pass) {
        struct cj_store_changes fin = {0};
        r = cj_store_pass_finish(s->store, p->store_pass, result == 0, now_ns, &fin);
        if (r < 0 && result == 0) {
            snprintf(store_error, sizeof(store_error), "cannot finish the pass in the store: %s",
                     strerror(-r));
            result = r;
            type = "StoreError";
            message = store_error;
        } else if (r >= 0) {
            changes_add(&p->changes, &fin);
        }
    }

    uint64_t duration_usec = now_mono_usec() - p->started_mono_usec;
    struct cj_sync_status *st = &s->status;
    st->running = st->running_full = false;
    st->last_duration_ns = (int64_t)duration_usec * CJ_NSEC_PER_USEC;
    st->last_result = result;
    st->last_changes = p->changes;
    const char *kind = p->full ? "full" : "quick";
    if (result == 0) {
        st->passes_ok++;
        st->last_success_ns = now_ns;
        st->last_error_type[0] = st->last_error_message[0] = '\0';
        log_info("sync: %s pass ok: %" PRIu64 " jobs (%zu created, %zu updated, %zu removed) in "
                 "%" PRIu64 " ms, %" PRIu64 " requests",
                 kind, p->jobs, p->changes.created, p->changes.updated, p->changes.removed,
                 duration_usec / 1000, p->requests);
        if (p->skipped)
            log_warning("sync: %" PRIu64 " invalid job summaries were skipped (not stored)",
                        p->skipped);
    } else {
        st->passes_failed++;
        snprintf(st->last_error_type, sizeof(st->last_error_type), "%s", type ? type : "Error");
        snprintf(st->last_error_message, sizeof(st->last_error_message), "%s",
                 message ? message : "");
        log_warning("sync: %s pass failed after %" PRIu64 " requests (%" PRIu64
                    " pages kept, nothing removed): %s: %s",
                    kind, p->requests, p->pages, st->last_error_type, st->last_error_message);
    }

    pass_clear(s);
    s->running = false;

    if (s->pending_params) {
        params_free(s->params);
        s->params = s->pending_params;
        s->pending_params = NULL;
    }

    if (s->want_full_after) {
        s->want_full_after = false;
        r = start_pass(s, true);
        if (r < 0)
            log_error_errno(r, "sync: cannot start the requested full pass: %m");
    }
    if (!s->running)
        arm_schedule(s);

    /* Last: a callback may trigger, reconfigure or cancel (but not free the sync). */
    for (size_t i = 0; i < s->n_callbacks; i++)
        s->callbacks[i].fn(s, result, s->callbacks[i].userdata);
}

/* ---- one request ---- */

static const char *transport_error(const struct cj_http_response *resp, int *ret_errno)
{
    if (resp->body_too_large) {
        *ret_errno = -E2BIG;
        return "ResponseTooLarge";
    }
    switch (resp->code) {
    case CURLE_OPERATION_TIMEDOUT:
        *ret_errno = -ETIMEDOUT;
        return "Timeout";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
        *ret_errno = -EPROTO;
        return "TLSError";
    case CURLE_COULDNT_RESOLVE_HOST:
        *ret_errno = -EHOSTUNREACH;
        return "NetworkError";
    case CURLE_COULDNT_CONNECT:
        *ret_errno = -ECONNREFUSED;
        return "NetworkError";
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

static void schedule_request(struct cj_sync *s);

static void on_page(struct cj_sync *s, const struct cj_http_response *resp)
{
    struct cj_sync_pass *p = &s->pass;
    struct cj_page page = {0};
    char err[256] = "";
    int r;

    r = cj_page_parse(resp->body.data ? resp->body.data : "", resp->body.len, &page, err,
                      sizeof(err));
    if (r < 0) {
        cj_page_done(&page);
        pass_end(s, -EBADMSG, "MalformedResponse", err[0] ? err : "unreadable response body");
        return;
    }

    r = cj_store_put_jobs(s->store, p->store_pass, page.jobs, page.n_jobs, &p->changes);
    if (r < 0) {
        snprintf(err, sizeof(err), "cannot store page %" PRIu64 ": %s", p->pages + 1, strerror(-r));
        cj_page_done(&page);
        pass_end(s, r, "StoreError", err);
        return;
    }
    p->pages++;
    p->jobs += page.n_jobs;
    p->skipped += page.n_skipped;

    if (!page.next_token) {
        cj_page_done(&page);
        pass_end(s, 0, NULL, NULL);
        return;
    }
    if (p->next_token && strcmp(p->next_token, page.next_token) == 0) {
        cj_page_done(&page);
        pass_end(s, -ELOOP, "PaginationLoop", "the service returned the same nextToken twice");
        return;
    }
    if (p->pages >= CJ_SYNC_MAX_PAGES) {
        cj_page_done(&page);
        snprintf(err, sizeof(err), "more than %d pages in one pass", CJ_SYNC_MAX_PAGES);
        pass_end(s, -E2BIG, "PaginationLoop", err);
        return;
    }

    free(p->next_token);
    p->next_token = page.next_token;
    page.next_token = NULL;
    cj_page_done(&page);
    schedule_request(s);
}

/* A rejected signature is most often a wrong clock: say so when the service's Date header
 * is more than SigV4's 5 minutes away from ours. */
static void clock_skew_hint(const struct cj_http_response *resp, char *out, size_t outlen)
{
    if (resp->status != 403 || !resp->date[0])
        return;
    time_t server = curl_getdate(resp->date, NULL);
    if (server <= 0)
        return;
    long long skew = (long long)server - (long long)time(NULL);
    if (skew > 300 || skew < -300)
        snprintf(out, outlen, " (the service's clock is %lld s %s ours)", skew < 0 ? -skew : skew,
                 skew < 0 ? "behind" : "ahead of");
}

static void on_http_done(struct cj_http *h, void *userdata)
{
    struct cj_sync *s = userdata;
    const struct cj_http_response *resp = cj_http_response(h);

    cj_signed_request_done(&s->pass.request);

    if (resp->code != CURLE_OK) {
        int r;
        const char *type = transport_error(resp, &r);
        pass_end(s, r, type, resp->curl_error);
        return;
    }
    if (resp->status == 200) {
        on_page(s, resp);
        return;
    }

    char type[64], message[384], skew[96] = "", full_message[640];
    cj_aws_error_parse(resp->status, resp->error_type[0] ? resp->error_type : NULL,
                       resp->body.data ? resp->body.data : "", resp->body.len, type, sizeof(type),
                       message, sizeof(message));
    clock_skew_hint(resp, skew, sizeof(skew));
    snprintf(full_message, sizeof(full_message), "HTTP %ld%s%s%s%s%s%s", resp->status,
             message[0] ? ": " : "", message, skew, resp->request_id[0] ? " (request id " : "",
             resp->request_id, resp->request_id[0] ? ")" : "");
    pass_end(s, http_status_errno(resp->status), type, full_message);
}

static void send_request(struct cj_sync *s)
{
    struct cj_sync_params *p = s->params;
    struct cj_sync_pass *pass = &s->pass;
    int r;

    if (!p->creds.access_key_id || !p->creds.secret_access_key) {
        pass_end(s, -ENOKEY, "MissingCredentials", "no AWS credentials are configured");
        return;
    }
    if (p->creds.expiration_ns > 0 && cj_now_ns() >= p->creds.expiration_ns) {
        pass_end(s, -EKEYEXPIRED, "ExpiredCredentials", "the AWS credentials have expired");
        return;
    }

    struct cj_list_request l = {
        .max_results = p->page_size,
        .ascending = false,
        .next_token = pass->next_token,
    };
    r = cj_request_list_jobs(&p->endpoint, p->region, &p->creds, &l, (int64_t)time(NULL),
                             &pass->request);
    if (r < 0) {
        pass_end(s, r, "SigningError", "cannot build or sign the request");
        return;
    }

    struct cj_http_options o = {
        .url = pass->request.url,
        .headers = pass->request.headers,
        .timeout_usec = p->timeout_usec,
        .ca_file = p->ca_file,
    };
    r = cj_http_start(s->http, &o, on_http_done, s);
    if (r < 0) {
        cj_signed_request_done(&pass->request);
        pass_end(s, r, "NetworkError", "cannot start the HTTP request");
        return;
    }
    s->last_request_mono_usec = now_mono_usec();
    s->status.api_calls++;
    pass->requests++;
}

static int on_step(sd_event_source *source, uint64_t usec, void *userdata)
{
    struct cj_sync *s = userdata;
    struct cj_sync_pass *p = &s->pass;

    if (!s->running)
        return 0;
    if (p->full && !p->begun) {
        p->begun = true;
        int r = cj_store_pass_begin(s->store, &p->store_pass);
        if (r < 0) {
            char err[128];
            snprintf(err, sizeof(err), "cannot begin a pass in the store: %s", strerror(-r));
            p->store_pass = NULL;
            pass_end(s, r, "StoreError", err);
            return 0;
        }
    }
    send_request(s);
    return 0;
}

/* Arms the step timer for the next request, no sooner than the rate cap allows. */
static int arm_step(struct cj_sync *s)
{
    uint64_t gap = CJ_USEC_PER_SEC / s->params->max_requests_per_second;
    uint64_t now = now_mono_usec();
    uint64_t when = now;
    int r;

    if (s->last_request_mono_usec > 0 && s->last_request_mono_usec + gap > now)
        when = s->last_request_mono_usec + gap;

    if (s->step_timer) {
        r = sd_event_source_set_time(s->step_timer, when);
        if (r >= 0)
            r = sd_event_source_set_enabled(s->step_timer, SD_EVENT_ONESHOT);
    } else {
        r = sd_event_add_time(s->event, &s->step_timer, CLOCK_MONOTONIC, when, 1, on_step, s);
        if (r >= 0)
            (void)sd_event_source_set_description(s->step_timer, "sync-step");
    }
    return r;
}

static void schedule_request(struct cj_sync *s)
{
    int r = arm_step(s);
    if (r < 0) {
        log_error_errno(r, "sync: cannot arm the request timer: %m");
        pass_end(s, r, "InternalError", "cannot arm the request timer");
    }
}

static int start_pass(struct cj_sync *s, bool full)
{
    s->pass = (struct cj_sync_pass){
        .full = full,
        .started_mono_usec = now_mono_usec(),
    };
    int r = arm_step(s);
    if (r < 0) {
        s->pass = (struct cj_sync_pass){0};
        return log_error_errno(r, "sync: cannot start a pass: %m");
    }
    s->running = true;
    s->status.running = true;
    s->status.running_full = full;
    s->status.last_attempt_ns = cj_now_ns();
    if (s->schedule_timer)
        (void)sd_event_source_set_enabled(s->schedule_timer, SD_EVENT_OFF);
    return 0;
}

/* ---- the public face ---- */

static int on_schedule(sd_event_source *source, uint64_t usec, void *userdata)
{
    struct cj_sync *s = userdata;
    int r = cj_sync_trigger(s, true);
    if (r < 0)
        log_error_errno(r, "sync: cannot start the scheduled pass: %m");
    return 0;
}

int cj_sync_new(sd_event *event, struct cj_store *store, const struct cj_settings *settings,
                const struct cj_aws_credentials *creds, struct cj_sync **ret)
{
    struct cj_sync *s = calloc(1, sizeof(*s));
    int r;

    if (!s)
        return -ENOMEM;
    s->event = sd_event_ref(event);
    s->store = store;

    r = params_new(settings, creds, &s->params);
    if (r < 0)
        goto fail;
    r = cj_curl_new(event, &s->curl);
    if (r < 0)
        goto fail;
    r = cj_http_new(s->curl, &s->http);
    if (r < 0)
        goto fail;

    struct cj_store_stats stats;
    if (cj_store_stats(store, &stats) >= 0)
        s->status.last_success_ns = stats.synced_at_ns;

    *ret = s;
    return 0;
fail:
    cj_sync_free(s);
    return r;
}

void cj_sync_free(struct cj_sync *s)
{
    if (!s)
        return;
    cj_http_free(s->http); /* abandons a transfer in flight */
    if (s->pass.store_pass)
        (void)cj_store_pass_finish(s->store, s->pass.store_pass, false, 0, NULL);
    pass_clear(s);
    cj_curl_free(s->curl);
    sd_event_source_disable_unref(s->step_timer);
    sd_event_source_disable_unref(s->schedule_timer);
    params_free(s->params);
    params_free(s->pending_params);
    free(s->callbacks);
    sd_event_unref(s->event);
    free(s);
}

int cj_sync_start_schedule(struct cj_sync *s)
{
    if (!s->schedule_timer) {
        int r =
            sd_event_add_time(s->event, &s->schedule_timer, CLOCK_MONOTONIC, 0, 0, on_schedule, s);
        if (r < 0)
            return log_error_errno(r, "sync: cannot create the schedule timer: %m");
        (void)sd_event_source_set_enabled(s->schedule_timer, SD_EVENT_OFF);
        (void)sd_event_source_set_description(s->schedule_timer, "sync-schedule");
    }
    s->schedule_enabled = true;
    return cj_sync_trigger(s, true);
}

int cj_sync_trigger(struct cj_sync *s, bool full)
{
    if (s->running) {
        if (full && !s->pass.full)
            s->want_full_after = true;
        return 0;
    }
    /* Quick syncs do not exist yet: every pass is a full one. */
    return start_pass(s, true);
}

void cj_sync_cancel(struct cj_sync *s)
{
    if (!s->running)
        return;
    cj_http_cancel(s->http);
    if (s->step_timer)
        (void)sd_event_source_set_enabled(s->step_timer, SD_EVENT_OFF);
    cj_signed_request_done(&s->pass.request);
    s->want_full_after = false;
    pass_end(s, -ECANCELED, "Cancelled", "the sync was cancelled");
}

int cj_sync_add_done_callback(struct cj_sync *s, cj_sync_done_fn fn, void *userdata)
{
    if (!fn)
        return -EINVAL;
    struct cj_sync_callback *c =
        reallocarray(s->callbacks, s->n_callbacks + 1, sizeof(struct cj_sync_callback));
    if (!c)
        return -ENOMEM;
    s->callbacks = c;
    s->callbacks[s->n_callbacks++] = (struct cj_sync_callback){fn, userdata};
    return 0;
}

int cj_sync_reconfigure(struct cj_sync *s, const struct cj_settings *settings,
                        const struct cj_aws_credentials *creds)
{
    struct cj_sync_params *p;
    int r = params_new(settings, creds, &p);
    if (r < 0)
        return r;

    if (s->running) {
        params_free(s->pending_params);
        s->pending_params = p;
    } else {
        params_free(s->params);
        s->params = p;
    }
    return 0;
}

void cj_sync_get_status(const struct cj_sync *s, struct cj_sync_status *ret)
{
    *ret = s->status;
}
