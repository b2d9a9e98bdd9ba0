/* SPDX-License-Identifier: MIT */
/* The public face of the sync: the schedule (a full reconcile every sync.full_interval and
 * at start, quick syncs every sync.interval in between), the start and the end of a pass,
 * the status and the counters. A pass is a chain of steps on the event loop (sync-step.c,
 * sync-walk.c); nothing of it runs synchronously inside cj_sync_trigger(), so a caller never
 * sees its own done callback fire before trigger returns. */
#include "sync.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "cj-time.h"
#include "credentials.h"
#include "job.h"
#include "log.h"
#include "sync-internal.h"
#include "sync-report.h"

uint64_t sync_now_mono_usec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * CJ_USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

const char *cj_sync_kind_to_string(enum cj_sync_kind k)
{
    switch (k) {
    case CJ_SYNC_QUICK:
        return "quick";
    case CJ_SYNC_FULL:
        return "full";
    default:
        return NULL;
    }
}

/* ---- parameters: a private copy of what a pass needs ---- */

static void params_free(struct cj_sync_params *p)
{
    if (!p)
        return;
    cj_endpoint_done(&p->endpoint);
    free(p->name);
    free(p->region);
    free(p->profile);
    free(p->role_arn);
    free(p->external_id);
    free(p->role_session_name);
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

static int params_new(const struct cj_settings *settings, const struct cj_source_settings *source,
                      const struct cj_aws_credentials *creds, struct cj_sync_params **ret)
{
    struct cj_sync_params *p = calloc(1, sizeof(*p));
    int r;

    if (!p)
        return -ENOMEM;
    if (!source || !cj_valid_source_name(source->name)) {
        r = log_error_errno(EINVAL, "sync: a source's name must be [a-z0-9-]{1,%d}",
                            CJ_SOURCE_NAME_MAX);
        goto fail;
    }
    if (!source->region || !*source->region || strlen(source->region) > CJ_REGION_NAME_MAX) {
        r = log_error_errno(EINVAL, "sync: source %s: no valid AWS region configured",
                            source->name);
        goto fail;
    }
    r = cj_endpoint_parse(source->endpoint, &p->endpoint);
    if (r < 0)
        goto fail;
    if ((r = strdup_opt(source->name, &p->name)) < 0 ||
        (r = strdup_opt(source->region, &p->region)) < 0 ||
        (r = strdup_opt(source->profile, &p->profile)) < 0 ||
        (r = strdup_opt(source->role_arn, &p->role_arn)) < 0 ||
        (r = strdup_opt(source->external_id, &p->external_id)) < 0 ||
        (r = strdup_opt(source->role_session_name, &p->role_session_name)) < 0 ||
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
    p->full_interval_usec = settings->sync.full_interval_usec;
    if (p->full_interval_usec < p->interval_usec)
        p->full_interval_usec = p->interval_usec; /* every pass is then a full one */
    p->max_removal_share_bp = settings->sync.max_removal_share_bp;
    p->retry_base_usec =
        settings->test.has_retry_base_usec ? settings->test.retry_base_usec : CJ_RETRY_BASE_USEC;
    p->retry_cap_usec =
        settings->test.has_retry_cap_usec ? settings->test.retry_cap_usec : CJ_RETRY_CAP_USEC;
    if (p->retry_cap_usec < p->retry_base_usec)
        p->retry_cap_usec = p->retry_base_usec;
    p->min_on_demand_interval_usec = settings->sync.min_on_demand_interval_usec;

    if (creds) {
        if ((r = strdup_opt(creds->access_key_id, &p->creds.access_key_id)) < 0 ||
            (r = strdup_opt(creds->secret_access_key, &p->creds.secret_access_key)) < 0 ||
            (r = strdup_opt(creds->session_token, &p->creds.session_token)) < 0)
            goto fail;
        p->creds.expiration_ns = creds->expiration_ns;
    } else {
        p->lookup_wanted = true;
    }

    *ret = p;
    return 0;
fail:
    params_free(p);
    return r;
}

/* ---- counters ---- */

void sync_metrics_count_error(struct cj_sync *s, const char *type)
{
    struct cj_sync_metrics *m = &s->metrics;
    const size_t other = CJ_SYNC_METRIC_ERROR_TYPES - 1;

    if (!type || !*type)
        type = "Error";
    for (size_t i = 0; i < m->n_errors; i++)
        if (strcmp(m->errors[i].type, type) == 0) {
            m->errors[i].count++;
            return;
        }
    size_t i;
    if (m->n_errors < other) {
        i = m->n_errors++;
        snprintf(m->errors[i].type, sizeof(m->errors[i].type), "%s", type);
    } else {
        i = other;
        if (m->n_errors == other) {
            m->n_errors++;
            snprintf(m->errors[i].type, sizeof(m->errors[i].type), "Other");
        }
    }
    m->errors[i].count++;
}

/* ---- the end of a pass ---- */

static void pass_clear(struct cj_sync *s)
{
    sync_walk_clear(&s->pass.walk);
    sync_pass_clear_quick(&s->pass);
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

static int start_pass(struct cj_sync *s, enum cj_sync_kind kind, bool on_demand);

static void arm_schedule(struct cj_sync *s)
{
    if (!s->schedule_enabled)
        return;

    uint64_t when = sync_now_mono_usec() + s->params->interval_usec;
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

/* The removal guard's verdict on a complete full pass: kept in the status (health shows
 * it) until a complete full pass gets through the guard. */
static void note_removal_guard(struct cj_sync *s, const struct cj_store_pass_result *res)
{
    struct cj_sync_status *st = &s->status;

    st->removal_held = res->held;
    st->removal_held_of = res->total;
    st->removal_limit_bp = s->params->max_removal_share_bp;
    if (res->held == 0)
        return;
    log_struct(LOG_WARNING,
               CJ_LOG_FIELDS(CJ_LOG_STR("MESSAGE_ID", CJ_SYNC_MESSAGE_REMOVAL_HELD),
                             CJ_LOG_NUM("JOBS_HELD", res->held),
                             CJ_LOG_NUM("JOB_COUNT", res->total),
                             CJ_LOG_NUM("MAX_REMOVAL_SHARE_BP", st->removal_limit_bp)),
               "sync %s: full pass would remove %" PRIu64 " of %" PRIu64
               " jobs, more than sync.max_removal_share (%u.%02u%%) and more than %d: removed "
               "none. If the jobs are really gone, raise max_removal_share or remove them by "
               "hand; the next complete pass that lists them clears this",
               s->params->name, res->held, res->total, st->removal_limit_bp / 100,
               st->removal_limit_bp % 100, CJ_STORE_REMOVAL_FLOOR);
}

/* The store's side of the end: a full pass notes and removes what it did not see, a quick
 * one only records its time. Returns the store's error, if any. */
static int finish_in_store(struct cj_sync *s, bool ok, int64_t now_ns)
{
    struct cj_sync_pass *p = &s->pass;
    int r = 0;

    if (p->store_pass) {
        struct cj_store_changes fin = {0};
        r = cj_store_pass_finish(s->store, p->store_pass, ok, now_ns, &fin);
        if (r >= 0)
            changes_add(&p->changes, &fin);
        if (r >= 0 && ok) {
            struct cj_store_pass_result res;
            cj_store_pass_get_result(p->store_pass, &res);
            note_removal_guard(s, &res);
        }
    } else if (ok && p->kind == CJ_SYNC_QUICK) {
        r = cj_store_set_synced_at(s->store, s->params->name, now_ns);
    }
    return r;
}

static void log_pass(const struct cj_sync *s, int result)
{
    const struct cj_sync_pass *p = &s->pass;
    const struct cj_sync_status *st = &s->status;

    /* One structured entry per pass, so "journalctl MESSAGE_ID=" finds every one. */
    sync_report_log(&(struct cj_sync_report){
        .source = s->params->name,
        .kind = cj_sync_kind_to_string(p->kind),
        .result = result,
        .jobs = p->jobs + p->fetched,
        .requests = p->requests,
        .pages = p->pages,
        .skipped = p->skipped,
        .duration_usec = (uint64_t)st->last_duration_ns / 1000,
        .created = p->changes.created,
        .updated = p->changes.updated,
        .removed = p->changes.removed,
        .error_type = st->last_error_type,
        .error_message = st->last_error_message,
    });
}

void sync_pass_end(struct cj_sync *s, int result, const char *type, const char *message)
{
    struct cj_sync_pass *p = &s->pass;
    struct cj_sync_status *st = &s->status;
    int64_t now_ns = cj_now_ns();
    char store_error[128];
    int r;

    if (s->step_timer)
        (void)sd_event_source_set_enabled(s->step_timer, SD_EVENT_OFF);
    /* A full pass asks for a page before it stores the one before (sync-walk.c). */
    cj_http_cancel(s->http);

    r = finish_in_store(s, result == 0, now_ns);
    if (r < 0 && result == 0) {
        snprintf(store_error, sizeof(store_error), "cannot finish the pass in the store: %s",
                 strerror(-r));
        result = r;
        type = "StoreError";
        message = store_error;
    }

    if (result == 0 && p->kind == CJ_SYNC_FULL) {
        s->last_full_ok_mono_usec = p->started_mono_usec;
        s->has_watermark = true;
        s->watermark_empty = !p->walk.has_top;
        s->watermark_ns = p->walk.has_top ? p->walk.top_ns : 0;
        st->last_full_success_ns = now_ns;
    }

    uint64_t duration_usec = sync_now_mono_usec() - p->started_mono_usec;
    st->running = st->running_full = false;
    st->last_kind = p->kind;
    st->last_duration_ns = (int64_t)duration_usec * CJ_NSEC_PER_USEC;
    st->last_result = result;
    st->last_changes = p->changes;
    s->metrics.passes[p->kind][result == 0 ? 0 : 1]++;
    s->metrics.last_duration_usec = duration_usec;
    if (result == 0) {
        st->passes_ok++;
        st->consecutive_failures = 0;
        st->last_success_ns = now_ns;
        s->metrics.last_success_ns = now_ns;
        st->last_error_type[0] = st->last_error_message[0] = '\0';
    } else {
        st->passes_failed++;
        st->consecutive_failures++;
        st->last_failure_ns = now_ns;
        snprintf(st->last_error_type, sizeof(st->last_error_type), "%s", type ? type : "Error");
        snprintf(st->last_error_message, sizeof(st->last_error_message), "%s",
                 message ? message : "");
    }
    st->pass_id = p->id;
    log_pass(s, result);

    pass_clear(s);
    s->running = false;

    if (s->pending_params) {
        params_free(s->params);
        s->params = s->pending_params;
        s->pending_params = NULL;
        if (!s->cancelling)
            sync_credentials_prefetch(s);
    }

    /* A full pass asked for during a quick one follows it at once, failed or not. One that
     * cannot start is settled by this pass's result, so that nobody waits for it forever. */
    if (s->want_full_after) {
        bool on_demand = s->want_full_on_demand;
        s->want_full_after = s->want_full_on_demand = false;
        r = s->cancelling ? -ECANCELED : start_pass(s, CJ_SYNC_FULL, on_demand);
        if (r < 0) {
            if (r != -ECANCELED)
                log_error_errno(r, "sync %s: cannot start the requested full pass: %m",
                                s->params->name);
            st->pass_id = ++s->pass_counter;
        }
    }
    if (!s->running) {
        arm_schedule(s);
        /* Idle until the next pass: the largest page's body and curl's buffer go back, and
         * malloc hands the free pages of its heap to the kernel (it keeps them otherwise). */
        (void)cj_http_release(s->http);
        malloc_trim(0);
    }

    /* Last: a callback may trigger, reconfigure or cancel (but not free the sync). */
    for (size_t i = 0; i < s->n_callbacks; i++)
        s->callbacks[i].fn(s, result, s->callbacks[i].userdata);
}

/* ---- the start of a pass ---- */

static int start_pass(struct cj_sync *s, enum cj_sync_kind kind, bool on_demand)
{
    /* Until a full pass has succeeded, nothing tells a quick sync where to start. */
    if (!s->has_watermark)
        kind = CJ_SYNC_FULL;
    s->pass = (struct cj_sync_pass){
        .kind = kind,
        .on_demand = on_demand,
        .started_mono_usec = sync_now_mono_usec(),
    };
    s->pass.attempt = 1;
    int r = sync_step_arm(s, 0);
    if (r < 0) {
        s->pass = (struct cj_sync_pass){0};
        return log_error_errno(r, "sync %s: cannot start a pass: %m", s->params->name);
    }
    s->pass.id = ++s->pass_counter;
    if (on_demand)
        s->last_on_demand_mono_usec = s->pass.started_mono_usec;
    s->running = true;
    s->status.running = true;
    s->status.running_full = kind == CJ_SYNC_FULL;
    s->status.running_kind = kind;
    s->status.last_attempt_ns = cj_now_ns();
    log_info("sync %s: %s pass started", s->params->name, cj_sync_kind_to_string(kind));
    if (s->schedule_timer)
        (void)sd_event_source_set_enabled(s->schedule_timer, SD_EVENT_OFF);
    return 0;
}

/* Which kind the schedule runs now: full when none has succeeded yet, or when the last
 * successful one started about full_interval ago (half an interval early rather than a
 * whole interval late). */
static enum cj_sync_kind scheduled_kind(const struct cj_sync *s)
{
    if (!s->has_watermark || s->last_full_ok_mono_usec == 0)
        return CJ_SYNC_FULL;
    uint64_t since = sync_now_mono_usec() - s->last_full_ok_mono_usec;
    if (since + s->params->interval_usec / 2 >= s->params->full_interval_usec)
        return CJ_SYNC_FULL;
    return CJ_SYNC_QUICK;
}

/* ---- the public face ---- */

static int on_schedule(sd_event_source *source, uint64_t usec, void *userdata)
{
    struct cj_sync *s = userdata;
    int r = cj_sync_trigger(s, scheduled_kind(s) == CJ_SYNC_FULL);
    if (r < 0)
        log_error_errno(r, "sync %s: cannot start the scheduled pass: %m", s->params->name);
    return 0;
}

static void status_set_source(struct cj_sync *s)
{
    struct cj_sync_status *st = &s->status;
    snprintf(st->name, sizeof(st->name), "%s", s->params->name);
    snprintf(st->region, sizeof(st->region), "%s", s->params->region);
}

struct source_stats_lookup {
    const char *name;
    struct cj_store_stats *st;
};

static int find_source_stats(const char *source, const struct cj_store_stats *st, void *userdata)
{
    struct source_stats_lookup *l = userdata;
    if (strcmp(source, l->name) != 0)
        return 0;
    *l->st = *st;
    return -ECANCELED; /* found: stop */
}

int sync_store_source_stats(struct cj_store *store, const char *name, struct cj_store_stats *ret)
{
    struct source_stats_lookup l = {.name = name, .st = ret};
    *ret = (struct cj_store_stats){0};
    int r = cj_store_foreach_source(store, find_source_stats, &l);
    return r == -ECANCELED ? 0 : r;
}

int cj_sync_new(sd_event *event, struct cj_store *store, const struct cj_settings *settings,
                const struct cj_source_settings *source, const struct cj_aws_credentials *creds,
                struct cj_sync **ret)
{
    struct cj_sync *s = calloc(1, sizeof(*s));
    int r;

    if (!s)
        return -ENOMEM;
    s->event = sd_event_ref(event);
    s->store = store;

    r = params_new(settings, source, creds, &s->params);
    if (r < 0)
        goto fail;
    s->params->gen = ++s->params_gen;
    status_set_source(s);
    if (s->params->role_arn)
        (void)cj_role_arn_account(s->params->role_arn, s->status.account);
    r = cj_curl_new(event, &s->curl);
    if (r < 0)
        goto fail;
    r = cj_http_new(s->curl, &s->http);
    if (r < 0)
        goto fail;
    if (getrandom(&s->rng_state, sizeof(s->rng_state), GRND_NONBLOCK) != sizeof(s->rng_state))
        s->rng_state = sync_now_mono_usec() ^ (uint64_t)cj_now_ns();

    struct cj_store_stats stats;
    if (sync_store_source_stats(store, s->params->name, &stats) >= 0) {
        s->status.last_success_ns = stats.synced_at_ns;
        s->metrics.last_success_ns = stats.synced_at_ns;
    }

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
    sync_credentials_stop(s);
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
            return log_error_errno(r, "sync %s: cannot create the schedule timer: %m",
                                   s->params->name);
        (void)sd_event_source_set_enabled(s->schedule_timer, SD_EVENT_OFF);
        (void)sd_event_source_set_description(s->schedule_timer, "sync-schedule");
    }
    s->schedule_enabled = true;
    return cj_sync_trigger(s, true);
}

int cj_sync_trigger(struct cj_sync *s, bool full)
{
    if (s->running) {
        if (full && s->pass.kind != CJ_SYNC_FULL)
            s->want_full_after = true;
        return 0;
    }
    return start_pass(s, full ? CJ_SYNC_FULL : CJ_SYNC_QUICK, false);
}

uint64_t cj_sync_on_demand_wait_usec(const struct cj_sync *s)
{
    uint64_t window = s->params->min_on_demand_interval_usec;
    uint64_t last = s->last_on_demand_mono_usec, now = sync_now_mono_usec();

    if (window == 0 || last == 0 || now >= last + window)
        return 0;
    return last + window - now;
}

int cj_sync_request(struct cj_sync *s, bool full, struct cj_sync_ticket *ret)
{
    uint64_t wait = cj_sync_on_demand_wait_usec(s);
    bool queued_full = s->running && s->want_full_after;

    *ret = (struct cj_sync_ticket){.retry_after_usec = wait};
    if (s->running) {
        bool need_full = full && s->pass.kind != CJ_SYNC_FULL;
        if (need_full && queued_full) {
            ret->pass = s->pass.id + 1;
            ret->joined = true;
        } else if (need_full && wait == 0) {
            s->want_full_after = s->want_full_on_demand = true;
            ret->pass = s->pass.id + 1;
            ret->started = true;
        } else {
            ret->pass = s->pass.id;
            ret->joined = true;
        }
        return 0;
    }
    if (wait > 0)
        return 0; /* answered by the last pass */
    int r = start_pass(s, full ? CJ_SYNC_FULL : CJ_SYNC_QUICK, true);
    if (r < 0)
        return r;
    ret->pass = s->pass.id;
    ret->started = true;
    return 0;
}

void cj_sync_cancel(struct cj_sync *s)
{
    if (!s->running)
        return;
    cj_http_cancel(s->http);
    if (s->step_timer)
        (void)sd_event_source_set_enabled(s->step_timer, SD_EVENT_OFF);
    cj_signed_request_done(&s->pass.request);
    s->cancelling = true;
    sync_pass_end(s, -ECANCELED, "Cancelled", "the sync was cancelled");
    s->cancelling = false;
}

int cj_sync_add_done_callback(struct cj_sync *s, cj_sync_done_fn fn, void *userdata)
{
    assert(fn);
    struct cj_sync_callback *c =
        reallocarray(s->callbacks, s->n_callbacks + 1, sizeof(struct cj_sync_callback));
    if (!c)
        return -ENOMEM;
    s->callbacks = c;
    s->callbacks[s->n_callbacks++] = (struct cj_sync_callback){fn, userdata};
    return 0;
}

static bool same_opt(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int cj_sync_reconfigure(struct cj_sync *s, const struct cj_settings *settings,
                        const struct cj_source_settings *source,
                        const struct cj_aws_credentials *creds)
{
    const struct cj_sync_params *cur = s->pending_params ? s->pending_params : s->params;
    struct cj_sync_params *p;

    if (!source || !source->name || strcmp(source->name, cur->name) != 0)
        return log_error_errno(EINVAL, "sync %s: cannot be reconfigured as another source",
                               cur->name);
    int r = params_new(settings, source, creds ? creds : &cur->creds, &p);
    if (r < 0)
        return r;
    p->gen = ++s->params_gen;
    /* Without credentials given, the keys there were serve until a lookup replaces them. */
    p->lookup_wanted = !creds;

    /* Another endpoint or region is another set of jobs: what the quick sync knows about
     * the old one says nothing there, so the next pass is a full one. */
    if (strcmp(cur->endpoint.origin, p->endpoint.origin) != 0 ||
        strcmp(cur->region, p->region) != 0) {
        s->has_watermark = false;
        s->last_full_ok_mono_usec = 0;
    }
    /* Other credentials may be another account: learned again by the next lookup. */
    if (!same_opt(cur->profile, p->profile) || !same_opt(cur->role_arn, p->role_arn) ||
        !same_opt(cur->external_id, p->external_id)) {
        s->status.account[0] = '\0';
        if (p->role_arn)
            (void)cj_role_arn_account(p->role_arn, s->status.account);
        p->lookup_wanted = true;
    }
    snprintf(s->status.region, sizeof(s->status.region), "%s", p->region);
    if (s->running) {
        params_free(s->pending_params);
        s->pending_params = p;
    } else {
        params_free(s->params);
        s->params = p;
        sync_credentials_prefetch(s);
    }
    return 0;
}

void cj_sync_get_status(const struct cj_sync *s, struct cj_sync_status *ret)
{
    *ret = s->status;
}

int64_t cj_sync_last_success_ns(const struct cj_sync *s)
{
    return s->status.last_success_ns;
}

int cj_sync_set_duplicate_of(struct cj_sync *s, const char *other)
{
    if (other && !cj_valid_source_name(other))
        return -EINVAL;
    snprintf(s->duplicate_of, sizeof(s->duplicate_of), "%s", other ? other : "");
    return 0;
}

const char *cj_sync_name(const struct cj_sync *s)
{
    return s->status.name;
}

const char *cj_sync_region(const struct cj_sync *s)
{
    return s->status.region;
}

const char *cj_sync_account(const struct cj_sync *s)
{
    return s->status.account;
}

void cj_sync_set_account_callback(struct cj_sync *s, cj_sync_account_fn fn, void *userdata)
{
    s->account_fn = fn;
    s->account_userdata = userdata;
}

void cj_sync_get_metrics(const struct cj_sync *s, struct cj_sync_metrics *ret)
{
    *ret = s->metrics;
}
