/* SPDX-License-Identifier: MIT */
/* Shared between the sync module's files only.
 *
 *   sync.c       the public face, the schedule, the start and end of a pass, the counters
 *   sync-step.c  one request on the wire: the rate cap, sending, retries with backoff,
 *                clock skew
 *   sync-credentials.c  credential lookups on a worker thread, and the check before a request
 *   sync-walk.c  what a pass asks for: the full listing, and the quick sync's three parts
 *   sync-retry.c the pure retry decisions
 *   sync-set.c   every source's sync on one loop: rounds, reconfigure by name, duplicates */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "curl-sd-event.h"
#include "hash-set.h"
#include "request.h"
#include "sync-retry.h"
#include "sync.h"

/* A walk that needs more pages than this is looping on a broken paginator, whatever the
 * size of the store: even a million jobs at the smallest useful page size stay far below. */
#define CJ_SYNC_MAX_PAGES 100000
/* Quick syncs ask for jobs created after the newest known one minus this, so that jobs
 * sharing its creationTime, or appearing in the listing a little late, are never missed. */
#define CJ_SYNC_NEW_MARGIN_NS CJ_NSEC_PER_SEC

struct cj_sync_params {
    struct cj_endpoint endpoint;
    char *name; /* the source's: what the store files its jobs under */
    char *region;
    char *profile;
    char *role_arn; /* NULL: the profile's own credentials */
    char *external_id;
    char *role_session_name;
    char *ca_file;
    unsigned page_size;
    unsigned max_requests_per_second;
    uint64_t timeout_usec;
    uint64_t interval_usec;
    uint64_t full_interval_usec;
    uint32_t max_removal_share_bp; /* the store pass's removal guard, basis points */
    uint64_t retry_base_usec, retry_cap_usec;
    uint64_t min_on_demand_interval_usec;
    struct cj_aws_credentials creds;
    uint64_t gen;           /* which settings these are (a lookup's result goes to its own) */
    bool lookup_wanted;     /* look the credentials up before the next request (a reload, an
                               ExpiredToken answer); stays set when a lookup fails */
    char lookup_error[768]; /* why the last lookup failed (the chain's reason, never a secret),
                               "" after one succeeded */
};

enum sync_phase {
    SYNC_PHASE_FULL,    /* full: every job, oldest first */
    SYNC_PHASE_NEW,     /* quick (b): created since the newest known */
    SYNC_PHASE_RUNNING, /* quick (a): statusEquals=InProgress */
    SYNC_PHASE_GONE,    /* quick (c): GetModelCopyJob of each job that left InProgress */
};

/* One paged listing. */
struct sync_walk {
    char *next_token;          /* NULL for the first page */
    struct cj_hash_set tokens; /* every nextToken it was given */
    uint64_t pages;
    uint64_t created; /* jobs it stored that were new: they grow its page budget */
    bool has_top;
    int64_t top_ns; /* the newest creationTime it listed */
};

struct cj_sync_pass {
    uint64_t id; /* passes are numbered from 1 in the order they start */
    enum cj_sync_kind kind;
    bool on_demand; /* started by cj_sync_request() */
    enum sync_phase phase;
    bool begun; /* the first step ran (store pass begun, credentials checked) */
    struct cj_store_pass *store_pass;
    struct sync_walk walk;
    uint64_t stored_at_start; /* jobs in the store when the pass began */

    /* quick */
    bool has_after;
    int64_t after_ns;                /* creationTimeAfter of the NEW walk */
    struct cj_hash_set running_seen; /* jobArns the RUNNING walk listed */
    char **gone;                     /* stored as InProgress, not listed as such */
    size_t n_gone, next_gone;

    /* the request in flight, or about to be sent */
    enum cj_api_operation op;
    unsigned attempt;          /* 1 for the first try of a request */
    bool skew_retried;         /* the one retry after a clock correction is spent */
    bool retry_pending;        /* the next send is a retry (counted when it goes out) */
    bool credentials_reloaded; /* looked up once in this pass already */
    bool waiting_credentials;  /* parked until the lookup in flight returns */
    struct cj_signed_request request;

    uint64_t pages, jobs, skipped, requests, fetched;
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
    uint64_t last_full_ok_mono_usec; /* start of the last successful full pass, 0 = none */

    bool want_full_on_demand; /* the queued full pass is cj_sync_request()'s */
    bool cancelling;          /* in cj_sync_cancel(): the queued full pass does not start */
    uint64_t pass_counter;    /* id of the last pass started */
    uint64_t last_on_demand_mono_usec; /* start of the last on-demand pass, 0 = none */
    uint64_t params_gen;               /* gen of the newest params */
    struct sync_lookup *lookup;        /* the credential lookup in flight, NULL = none */

    /* The newest creationTime every job at or before which is known to be stored (set by
     * a complete full pass or NEW walk): quick syncs list only what was created after it. */
    bool has_watermark;
    bool watermark_empty; /* the account had no jobs: list without a time filter */
    int64_t watermark_ns;

    int64_t clock_offset_sec; /* added to our clock when signing (from a skew rejection) */
    uint64_t rng_state;

    /* The source this one duplicates (same account and region), "" = none: passes end at
     * once. */
    char duplicate_of[CJ_SOURCE_NAME_MAX + 1];
    cj_sync_account_fn account_fn;
    void *account_userdata;

    struct cj_sync_status status;
    struct cj_sync_metrics metrics;
    struct cj_sync_callback *callbacks;
    size_t n_callbacks;
};

struct cj_sync_callback {
    cj_sync_done_fn fn;
    void *userdata;
};

uint64_t sync_now_mono_usec(void);

/* sync.c: ends the pass with its result; type and message describe a failure. */
void sync_pass_end(struct cj_sync *s, int result, const char *type, const char *message);
/* sync.c: the store's figures of one source (all zero when the store does not know it). */
int sync_store_source_stats(struct cj_store *store, const char *name, struct cj_store_stats *ret);
/* sync.c: counts one failed request under its error type. */
void sync_metrics_count_error(struct cj_sync *s, const char *type);

/* sync-step.c: the next request goes out no sooner than delay_usec from now and than the
 * rate cap allows; on failure to arm the timer, ends the pass. */
void sync_step_schedule(struct cj_sync *s, uint64_t delay_usec);
/* sync-step.c: the same, returning the error instead of ending the pass. */
int sync_step_arm(struct cj_sync *s, uint64_t delay_usec);
/* sync-step.c: a new request (its first attempt), as soon as the rate cap allows. */
void sync_step_next_request(struct cj_sync *s);
/* sync-step.c: sends the walk's next request (its first attempt) at once, when nothing stands
 * in its way: the rate cap allows it, the credentials need no lookup, no request is in
 * flight. Ends no pass: false when it did not send, and the caller asks the usual way
 * (sync_step_next_request()). */
bool sync_step_send_now(struct cj_sync *s);
/* sync-step.c: an answer that arrived but cannot be used (malformed): retried like a
 * transport failure when `retry` says so, else the pass ends. */
void sync_step_failed(struct cj_sync *s, enum cj_retry_class retry, int r, const char *type,
                      const char *message);
/* sync-step.c: signs for the current credentials and the clock offset. */
int64_t sync_step_signing_time(const struct cj_sync *s);

/* sync-credentials.c: true when the pass may send its next request now. False when it waits
 * for a lookup (it resumes through sync_step_schedule() when the lookup returns), or when it
 * has ended for want of usable credentials. Looks up missing, soon-expiring or unwanted keys
 * at most once per pass. */
bool sync_credentials_ready(struct cj_sync *s);
/* sync-credentials.c: true when sync_credentials_ready() would be, without a lookup and
 * with no effect. */
bool sync_credentials_usable(const struct cj_sync *s);
/* sync-credentials.c: starts the lookup that params->lookup_wanted asks for, unless one runs
 * (its end starts the next when the settings changed meanwhile). */
void sync_credentials_prefetch(struct cj_sync *s);
/* sync-credentials.c: abandons the lookup in flight: a credential_process is killed, the
 * worker joined (waiting at most 5 s; then it finishes on its own, touching nothing of s). */
void sync_credentials_stop(struct cj_sync *s);

/* sync-walk.c: begins the pass's first phase (the store pass of a full one). */
int sync_walk_begin(struct cj_sync *s, char *err, size_t errlen);
/* sync-walk.c: builds the request the pass needs next (into pass.request). */
int sync_walk_build_request(struct cj_sync *s);
/* sync-walk.c: a successful answer (200, or 404 ResourceNotFound to a Get): stores what it
 * says and either schedules the next request or ends the pass. */
void sync_walk_on_answer(struct cj_sync *s, const struct cj_http_response *resp);
void sync_walk_clear(struct sync_walk *w);
void sync_pass_clear_quick(struct cj_sync_pass *p);
