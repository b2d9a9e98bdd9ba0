/* SPDX-License-Identifier: MIT */
/* The sync engine of one source (an account in a region, cj_source_settings): pages through
 * ListModelCopyJobs with libcurl's multi interface driven by the sd-event loop, writes each
 * page to the store under the source's name, and reconciles the source's jobs at the end of
 * a complete pass. One pass at a time; a request to sync while one runs joins it. Each sync
 * has its own curl multi, rate cap, retry state, clock offset, credentials, status and
 * counters, so that several run side by side on one loop without holding each other back
 * (sync-set.h runs one per configured source).
 *
 * Passes. cj_sync_trigger(s, false) runs a quick pass (what runs now, what was created since
 * the newest known job, a GetModelCopyJob for each job that left InProgress);
 * cj_sync_trigger(s, true) a full reconcile. Until a full pass has succeeded in this process
 * every pass is a full one. A full request while a quick pass runs starts a full pass right
 * after it (the quick pass's done callbacks run first). The schedule runs a full pass when
 * the last successful one started full_interval ago, a quick one otherwise; the next
 * scheduled pass starts sync.interval after the end of the previous one, and a reconfigure's
 * new interval applies from the end of the next pass. A quick pass removes a job only when
 * GetModelCopyJob answers 404 for it; a failed pass keeps every page it stored and removes
 * nothing else. A complete full pass removes a job only when the complete full pass before
 * it did not list it either, and nothing when more would go than sync.max_removal_share
 * allows (cj_sync_status.removal_held).
 *
 * Requests. Each is tried at most 3 times (throttling, 5xx, timeouts, resets, truncated or
 * malformed bodies), waiting random(0, min(20 s, 500 ms × 2^(try-1))) between tries;
 * requests (retries too) are spaced 1/max_requests_per_second apart. settings->test's retry
 * base and cap replace 500 ms and 20 s (for tests; a cap below the base is raised to it). A
 * 4xx rejection for request time skew is retried once with the clock corrected from the
 * answer's Date header (kept for later requests). An ExpiredToken answer ends the pass; the
 * credentials are looked up again (cj_credentials_load_with() with the source's profile,
 * region, role_arn, external_id and role_session_name) before the next request, as are
 * missing ones and temporary ones within 5 minutes of their expiry, at most once per pass.
 * Lookups run on a worker thread, one at a time per sync; the pass sends nothing until its
 * lookup is back, and the event loop goes on serving meanwhile. A failed lookup keeps the keys
 * there were.
 *
 * Account. A lookup also tells the sync its account while it does not know it yet: the
 * account in the source's role_arn, else STS GetCallerIdentity (cj_credentials_account(), on
 * the worker thread). Unknown stays "" (status.account). A sync marked as the duplicate of
 * another source (cj_sync_set_duplicate_of()) ends every pass at once with "DuplicateSource",
 * sending nothing.
 *
 * On demand. cj_sync_request() is cj_sync_trigger() for a client's request (POST /v1/sync),
 * spaced by sync.min_on_demand_interval: within that time after the last on-demand pass
 * started, a request starts and queues nothing. It joins the running pass, whatever its kind
 * (or the full pass already queued after it, when it asks for a full one), or, with none
 * running, is answered by the last pass's result. The schedule is not affected.
 *
 * Errors. A pass's error type is the service's own (x-amzn-ErrorType) or one of
 * "NetworkError", "Timeout", "TLSError", "ResponseTooLarge" (body over 64 MiB),
 * "TruncatedResponse" (the connection closed inside the body), "MalformedResponse",
 * "PaginationLoop", "StoreError", "MissingCredentials", "ExpiredCredentials",
 * "SigningError", "Cancelled", "DuplicateSource", "InternalError".
 *
 * Callbacks. A pass never ends inside cj_sync_trigger()/cj_sync_request()/
 * cj_sync_start_schedule(): its first
 * request goes out from the event loop, so done callbacks always run later
 * (cj_sync_cancel() is the exception: it ends the pass, and calls the callbacks, before it
 * returns). A done callback may trigger, cancel or reconfigure, but must not free the sync. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "credentials.h"
#include "sigv4.h"
#include "store.h"

struct cj_sync;

enum cj_sync_kind {
    CJ_SYNC_QUICK,
    CJ_SYNC_FULL,
    _CJ_SYNC_KIND_MAX,
};

struct cj_sync_status {
    char name[CJ_SOURCE_NAME_MAX + 1];       /* the source's */
    char region[CJ_REGION_NAME_MAX + 1];     /* the source's */
    char account[CJ_ACCOUNT_ID_STR_LEN + 1]; /* learned from its credentials; "" = unknown */
    bool running;
    bool running_full;
    uint64_t passes_ok, passes_failed;
    uint64_t api_calls;       /* HTTP requests sent to Bedrock */
    int64_t last_attempt_ns;  /* start of the last pass, 0 = never */
    int64_t last_success_ns;  /* end of the last successful pass, 0 = never (also from store) */
    int64_t last_duration_ns; /* of the last finished pass */
    int last_result;          /* 0 or negative errno of the last finished pass */
    char last_error_type[64]; /* "" when the last pass succeeded */
    char last_error_message[512];
    struct cj_store_changes last_changes;
    enum cj_sync_kind running_kind; /* of the pass running now (valid while running) */
    enum cj_sync_kind last_kind;    /* of the last finished pass */
    int64_t last_full_success_ns;   /* end of the last successful full pass, 0 = none yet */
    int64_t last_failure_ns;        /* end of the last failed pass, 0 = none */
    uint64_t consecutive_failures;  /* failed passes since the last successful one */
    uint64_t retries;               /* requests that were retries (backoff or clock skew) */
    int64_t clock_offset_sec;       /* added to our clock when signing (from a skew answer) */
    /* The removal guard held the removals of the last complete full pass: how many jobs of
     * how many stored, under which limit (basis points). 0 when it let them through. */
    uint64_t removal_held, removal_held_of;
    uint32_t removal_limit_bp;
    uint64_t pass_id; /* of the last pass that ended (passes are numbered from 1 as they
                         start); a queued full pass that could not start counts as ended
                         with the pass before it */
};

/* Called at the end of each pass with its result (0 or negative errno). */
typedef void (*cj_sync_done_fn)(struct cj_sync *sync, int result, void *userdata);

/* Takes copies of what it needs from settings ([sync], aws.ca_file, test), source (the
 * source's name, region, endpoint, profile and role) and creds. Arms no timer yet. A source
 * without a valid name ([a-z0-9-]{1,32}) or region, with an endpoint that is not
 * http(s)://host[:port], or settings with page_size outside 1..1000 are refused (-EINVAL,
 * logged); so are they by cj_sync_reconfigure(). creds may be NULL: the first pass looks them
 * up (and fails with type "MissingCredentials" when the chain has none). The last successful
 * sync the store recorded for the source's name is its status.last_success_ns until a pass
 * ends. */
int cj_sync_new(sd_event *event, struct cj_store *store, const struct cj_settings *settings,
                const struct cj_source_settings *source, const struct cj_aws_credentials *creds,
                struct cj_sync **ret);
/* Abandons a credential lookup in flight: its credential_process is killed, and the worker
 * thread is waited for at most 5 s (then it ends on its own). */
void cj_sync_free(struct cj_sync *s);

/* Runs a pass now and then one every sync.interval (from the end of the previous). */
int cj_sync_start_schedule(struct cj_sync *s);
/* Starts a pass now unless one is running (then joins it: returns 0 too). */
int cj_sync_trigger(struct cj_sync *s, bool full);

/* What an on-demand request got. */
struct cj_sync_ticket {
    uint64_t pass;             /* the pass whose end answers it: once status.pass_id >= pass;
                                  0 = none, the last pass's result answers it now */
    bool started;              /* it started a pass, or queued the full one after the quick
                                  pass that runs */
    bool joined;               /* it joined the running pass or the full one queued after it */
    uint64_t retry_after_usec; /* > 0: it started nothing because the last on-demand pass
                                  started less than sync.min_on_demand_interval ago; the time
                                  left until one may start */
};
/* An on-demand pass (see "On demand" above). Errors as cj_sync_trigger(). */
int cj_sync_request(struct cj_sync *s, bool full, struct cj_sync_ticket *ret);
/* The time until cj_sync_request() may start a pass again; 0 = now. */
uint64_t cj_sync_on_demand_wait_usec(const struct cj_sync *s);
/* Abandons the request in flight: the pass ends with -ECANCELED, removing nothing. */
void cj_sync_cancel(struct cj_sync *s);
/* Every finished pass calls every callback added here, in order. */
int cj_sync_add_done_callback(struct cj_sync *s, cj_sync_done_fn fn, void *userdata);
/* New settings (SIGHUP) for the same source name (-EINVAL for another); the pass in flight
 * finishes with the old ones. creds, when given, are used as they are. NULL looks the
 * credentials up again (on the worker thread, at once when no pass runs, else when the new
 * settings take over); until they are back the sync keeps the keys it has, and a failed lookup
 * keeps them too. Another profile or role forgets the account (learned again by the next
 * lookup); another region or endpoint makes the next pass a full one. */
int cj_sync_reconfigure(struct cj_sync *s, const struct cj_settings *settings,
                        const struct cj_source_settings *source,
                        const struct cj_aws_credentials *creds);
/* Marks the sync as syncing the same account and region as source `other` (NULL clears the
 * mark): from the next request on, its passes end at once with "DuplicateSource" naming
 * other. */
int cj_sync_set_duplicate_of(struct cj_sync *s, const char *other);
/* The source's name and region, and its account ("" while unknown); valid while s lives and
 * until the next cj_sync_reconfigure(). */
const char *cj_sync_name(const struct cj_sync *s);
const char *cj_sync_region(const struct cj_sync *s);
const char *cj_sync_account(const struct cj_sync *s);
/* Called on the loop when the sync learns its account (after a lookup); one per sync. */
typedef void (*cj_sync_account_fn)(struct cj_sync *sync, void *userdata);
void cj_sync_set_account_callback(struct cj_sync *s, cj_sync_account_fn fn, void *userdata);
void cj_sync_get_status(const struct cj_sync *s, struct cj_sync_status *ret);
/* Only status.last_success_ns, for the headers of every answer (no copy of the status). */
int64_t cj_sync_last_success_ns(const struct cj_sync *s);

/* ---- counters for GET /metrics ---- */

const char *cj_sync_kind_to_string(enum cj_sync_kind k); /* "quick", "full" */

enum cj_api_operation {
    CJ_API_LIST_MODEL_COPY_JOBS,
    CJ_API_GET_MODEL_COPY_JOB,
    _CJ_API_OPERATION_MAX,
};

#define CJ_SYNC_METRIC_ERROR_TYPES 24

struct cj_sync_metrics {
    uint64_t passes[_CJ_SYNC_KIND_MAX][2];     /* [kind][0 = ok, 1 = failed] */
    uint64_t api_calls[_CJ_API_OPERATION_MAX]; /* HTTP requests sent, retries included */
    uint64_t retries;                          /* requests that were retries */
    struct {
        char type[64]; /* e.g. "ThrottlingException", "Timeout" */
        uint64_t count;
    } errors[CJ_SYNC_METRIC_ERROR_TYPES]; /* failed requests by error type; the first
                                             CJ_SYNC_METRIC_ERROR_TYPES - 1 types seen get
                                             their own slot, the rest add up under "Other" */
    size_t n_errors;
    uint64_t last_duration_usec; /* of the last finished pass */
    int64_t last_success_ns;     /* end of the last successful pass, 0 = never */
};
void cj_sync_get_metrics(const struct cj_sync *s, struct cj_sync_metrics *ret);
