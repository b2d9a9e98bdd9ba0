/* SPDX-License-Identifier: MIT */
/* The syncs of every configured source, side by side on one event loop.
 *
 * One cj_sync per entry of settings->sources, in config order, each with its own schedule,
 * curl multi, rate cap, retry state, credentials and status: a source that fails, is
 * throttled or waits for credentials never holds another back, since each pass is a chain of
 * its own steps on the loop and their transfers run concurrently.
 *
 * Rounds. An on-demand request (POST /v1/sync) is a round over every source:
 * cj_sync_request() on each, and the round ends once every source's pass that answers it has
 * ended (at once for a source whose last result answers it). Round callbacks then get every
 * source's result. A round never ends inside cj_sync_set_request().
 *
 * Reconfigure matches sources by name: kept ones are reconfigured, new ones created (and
 * scheduled when the schedule runs), removed ones freed and their jobs dropped from the store
 * (cj_store_drop_source(); a round waiting on one gets "SourceRemoved" for it). At creation,
 * the jobs of sources the store knows but the settings no longer name are dropped the same
 * way.
 *
 * Duplicates. Accounts are learned at run time (cj_sync_account()); two sources of one
 * account and region are a mistake the configuration alone could not tell: the later one in
 * config order is marked cj_sync_set_duplicate_of() the earlier, and syncs nothing (its passes
 * fail with "DuplicateSource") until a reconfigure, which forgets the marks and checks again.
 *
 * Callbacks run on the loop, never inside the call that caused them (but for
 * cj_sync_set_cancel() and cj_sync_set_reconfigure(), which may end passes and rounds before
 * they return). A callback may trigger, request or cancel, but must not reconfigure or free
 * the set. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "store.h"
#include "sync.h"

struct cj_sync_set;

/* Creates one sync per settings->sources (none: -EINVAL), looking credentials up on each
 * one's worker thread when its first pass starts. Drops the store's sources the settings do
 * not name (logged at notice with their job count). Arms no timer yet. */
int cj_sync_set_new(sd_event *event, struct cj_store *store, const struct cj_settings *settings,
                    struct cj_sync_set **ret);
void cj_sync_set_free(struct cj_sync_set *set);

/* Every source's schedule (cj_sync_start_schedule()); a source that a reconfigure brings in
 * starts its own at once. */
int cj_sync_set_start_schedule(struct cj_sync_set *set);
/* cj_sync_trigger() on every source; the first error is returned after trying all. */
int cj_sync_set_trigger(struct cj_sync_set *set, bool full);
/* cj_sync_cancel() on every source. */
void cj_sync_set_cancel(struct cj_sync_set *set);
/* New settings (SIGHUP), see above. The set keeps no pointer into settings. Sources whose
 * new settings are refused keep their old ones (the first error is returned); a new source
 * that cannot be created is logged and left out. */
int cj_sync_set_reconfigure(struct cj_sync_set *set, const struct cj_settings *settings);

/* The sources, in config order. */
size_t cj_sync_set_size(const struct cj_sync_set *set);
struct cj_sync *cj_sync_set_get(const struct cj_sync_set *set, size_t i);
struct cj_sync *cj_sync_set_find(const struct cj_sync_set *set, const char *name);

/* The oldest last successful sync among the sources that may hold jobs of job_region and
 * job_account (NULL = any; a source whose account is unknown may hold every account's), 0 if
 * one of them never succeeded. Sources marked duplicate hold nothing and do not count; when
 * no source may hold such jobs, every source counts. */
int64_t cj_sync_set_last_success_ns(const struct cj_sync_set *set, const char *job_region,
                                    const char *job_account);

/* ---- rounds ---- */

/* One source's part of a finished round. */
struct cj_sync_source_result {
    char name[CJ_SOURCE_NAME_MAX + 1];
    int result; /* 0 or the negative errno of the pass that answered */
    char error_type[64];
    char error_message[512];
    struct cj_store_changes changes;
};

/* A round's results, owned by whoever holds it (cj_sync_round_result_done()). */
struct cj_sync_round_result {
    uint64_t round;
    int result;          /* 0, or the first failed source's (config order) */
    size_t first_failed; /* index of that source, valid when result < 0 */
    size_t n;
    struct cj_sync_source_result *sources; /* config order at the time of the request */
};
void cj_sync_round_result_done(struct cj_sync_round_result *r);
int cj_sync_round_result_copy(const struct cj_sync_round_result *from,
                              struct cj_sync_round_result *to);

struct cj_sync_round_ticket {
    uint64_t round;            /* the round whose end answers it; 0 = none: every source's
                                  last result answers it now (cj_sync_set_last_results()) */
    bool started;              /* it started (or queued) a pass of some source */
    bool joined;               /* it joined a pass of some source that runs or is queued */
    uint64_t retry_after_usec; /* > 0: some source started nothing because of
                                  sync.min_on_demand_interval; the longest time left */
};
/* cj_sync_request() on every source (see "Rounds"). */
int cj_sync_set_request(struct cj_sync_set *set, bool full, struct cj_sync_round_ticket *ret);
/* The longest time until every source's cj_sync_request() may start a pass again; 0 = now. */
uint64_t cj_sync_set_on_demand_wait_usec(const struct cj_sync_set *set);
/* Every source's last finished pass, as a round result (round 0). */
int cj_sync_set_last_results(const struct cj_sync_set *set, struct cj_sync_round_result *ret);

/* ---- callbacks ---- */

/* Each pass of each source that ends. */
typedef void (*cj_sync_set_pass_fn)(struct cj_sync_set *set, struct cj_sync *sync, int result,
                                    void *userdata);
int cj_sync_set_add_pass_callback(struct cj_sync_set *set, cj_sync_set_pass_fn fn, void *userdata);
/* Each round that ends; res is valid during the call only. */
typedef void (*cj_sync_set_round_fn)(struct cj_sync_set *set,
                                     const struct cj_sync_round_result *res, void *userdata);
int cj_sync_set_add_round_callback(struct cj_sync_set *set, cj_sync_set_round_fn fn,
                                   void *userdata);
