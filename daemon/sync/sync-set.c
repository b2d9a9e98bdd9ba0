/* SPDX-License-Identifier: MIT */
/* Every source's sync on one loop, the rounds of on-demand requests over them, and the
 * duplicate check once accounts are known.
 *
 * Each sync keeps its own curl multi (cj_sync_new() makes one) rather than sharing one: a
 * source's transfers, timeouts and connection cache then never touch another's, and a sync
 * can be freed on reload without a shared multi to drain. The cost is one connection per
 * source even where two sources share an endpoint, which AWS's per-account-and-region
 * endpoints make rare, and a few KiB per source. */
#include "sync-set.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sync-internal.h"

struct set_entry {
    struct cj_sync_set *set;
    struct cj_sync *sync;
};

struct round_source {
    struct set_entry *entry; /* NULL once its source was removed */
    uint64_t pass;           /* the pass whose end answers it */
    bool done;
};

struct round {
    uint64_t id;
    size_t pending; /* sources not done */
    struct round_source *src;
    struct cj_sync_round_result res;
    struct round *next;
};

struct pass_callback {
    cj_sync_set_pass_fn fn;
    void *userdata;
};

struct round_callback {
    cj_sync_set_round_fn fn;
    void *userdata;
};

struct cj_sync_set {
    sd_event *event;
    struct cj_store *store;
    struct set_entry **entries; /* config order */
    size_t n;
    bool schedule;
    struct round *rounds;
    uint64_t round_counter;
    struct pass_callback *pass_callbacks;
    size_t n_pass_callbacks;
    struct round_callback *round_callbacks;
    size_t n_round_callbacks;
};

/* ---- round results ---- */

void cj_sync_round_result_done(struct cj_sync_round_result *r)
{
    if (!r)
        return;
    free(r->sources);
    *r = (struct cj_sync_round_result){0};
}

int cj_sync_round_result_copy(const struct cj_sync_round_result *from,
                              struct cj_sync_round_result *to)
{
    *to = *from;
    to->sources = NULL;
    if (from->n > 0) {
        to->sources = calloc(from->n, sizeof(*to->sources));
        if (!to->sources) {
            *to = (struct cj_sync_round_result){0};
            return -ENOMEM;
        }
        memcpy(to->sources, from->sources, from->n * sizeof(*to->sources));
    }
    return 0;
}

static void source_result_from_status(struct cj_sync_source_result *r,
                                      const struct cj_sync_status *st)
{
    snprintf(r->name, sizeof(r->name), "%s", st->name);
    r->result = st->last_result;
    snprintf(r->error_type, sizeof(r->error_type), "%s",
             st->last_result < 0 ? st->last_error_type : "");
    snprintf(r->error_message, sizeof(r->error_message), "%s",
             st->last_result < 0 ? st->last_error_message : "");
    r->changes = st->last_changes;
}

/* The overall result: the first failed source's, in config order. */
static void result_summarise(struct cj_sync_round_result *res)
{
    res->result = 0;
    res->first_failed = 0;
    for (size_t i = 0; i < res->n; i++)
        if (res->sources[i].result < 0) {
            res->result = res->sources[i].result;
            res->first_failed = i;
            return;
        }
}

int cj_sync_set_last_results(const struct cj_sync_set *set, struct cj_sync_round_result *ret)
{
    *ret = (struct cj_sync_round_result){0};
    if (set->n > 0 && !(ret->sources = calloc(set->n, sizeof(*ret->sources))))
        return -ENOMEM;
    ret->n = set->n;
    for (size_t i = 0; i < set->n; i++) {
        struct cj_sync_status st;
        cj_sync_get_status(set->entries[i]->sync, &st);
        source_result_from_status(&ret->sources[i], &st);
    }
    result_summarise(ret);
    return 0;
}

/* ---- rounds ---- */

static void round_free(struct round *r)
{
    if (!r)
        return;
    free(r->src);
    cj_sync_round_result_done(&r->res);
    free(r);
}

/* Ends the rounds nothing is pending for: unlinked first, so that a round callback may start
 * another round. */
static void rounds_finish(struct cj_sync_set *set)
{
    struct round *finished = NULL, **pp = &set->rounds;

    while (*pp) {
        struct round *r = *pp;
        if (r->pending == 0) {
            *pp = r->next;
            r->next = finished;
            finished = r;
        } else {
            pp = &r->next;
        }
    }
    while (finished) {
        struct round *r = finished;
        finished = r->next;
        result_summarise(&r->res);
        for (size_t i = 0; i < set->n_round_callbacks; i++)
            set->round_callbacks[i].fn(set, &r->res, set->round_callbacks[i].userdata);
        round_free(r);
    }
}

static void round_source_settle(struct round *r, size_t i, const struct cj_sync_status *st)
{
    if (r->src[i].done)
        return;
    source_result_from_status(&r->res.sources[i], st);
    r->src[i].done = true;
    r->pending--;
}

int cj_sync_set_request(struct cj_sync_set *set, bool full, struct cj_sync_round_ticket *ret)
{
    struct round *r = calloc(1, sizeof(*r));
    int first_error = 0;

    *ret = (struct cj_sync_round_ticket){0};
    if (!r)
        return -ENOMEM;
    r->src = calloc(set->n ? set->n : 1, sizeof(*r->src));
    r->res.sources = calloc(set->n ? set->n : 1, sizeof(*r->res.sources));
    if (!r->src || !r->res.sources) {
        round_free(r);
        return -ENOMEM;
    }
    r->res.n = set->n;

    for (size_t i = 0; i < set->n; i++) {
        struct set_entry *e = set->entries[i];
        struct cj_sync_ticket t;
        struct cj_sync_status st;

        r->src[i].entry = e;
        int k = cj_sync_request(e->sync, full, &t);
        cj_sync_get_status(e->sync, &st);
        if (k < 0) {
            if (first_error == 0)
                first_error = k;
            source_result_from_status(&r->res.sources[i], &st);
            r->res.sources[i].result = k;
            snprintf(r->res.sources[i].error_type, sizeof(r->res.sources[i].error_type),
                     "InternalError");
            snprintf(r->res.sources[i].error_message, sizeof(r->res.sources[i].error_message),
                     "cannot start a sync: %s", strerror(-k));
            r->src[i].done = true;
            continue;
        }
        ret->started |= t.started;
        ret->joined |= t.joined;
        if (!t.started && t.retry_after_usec > ret->retry_after_usec)
            ret->retry_after_usec = t.retry_after_usec;
        r->src[i].pass = t.pass;
        if (t.pass == 0) {
            source_result_from_status(&r->res.sources[i], &st);
            r->src[i].done = true;
        } else {
            r->pending++;
        }
    }
    if (ret->started)
        ret->retry_after_usec = 0;
    if (first_error < 0 && !ret->started && !ret->joined) {
        round_free(r);
        return first_error;
    }
    if (r->pending == 0) {
        round_free(r); /* every source's last result answers it now */
        return 0;
    }
    r->id = r->res.round = ++set->round_counter;
    r->next = set->rounds;
    set->rounds = r;
    ret->round = r->id;
    return 0;
}

uint64_t cj_sync_set_on_demand_wait_usec(const struct cj_sync_set *set)
{
    uint64_t wait = 0;
    for (size_t i = 0; i < set->n; i++) {
        uint64_t w = cj_sync_on_demand_wait_usec(set->entries[i]->sync);
        if (w > wait)
            wait = w;
    }
    return wait;
}

/* ---- the passes ---- */

static void on_pass_done(struct cj_sync *sync, int result, void *userdata)
{
    struct set_entry *e = userdata;
    struct cj_sync_set *set = e->set;
    struct cj_sync_status st;

    cj_sync_get_status(sync, &st);
    for (struct round *r = set->rounds; r; r = r->next)
        for (size_t i = 0; i < r->res.n; i++)
            if (r->src[i].entry == e && !r->src[i].done && r->src[i].pass <= st.pass_id)
                round_source_settle(r, i, &st);

    for (size_t i = 0; i < set->n_pass_callbacks; i++)
        set->pass_callbacks[i].fn(set, sync, result, set->pass_callbacks[i].userdata);
    rounds_finish(set);
}

/* ---- duplicates ---- */

static void check_duplicates(struct cj_sync_set *set)
{
    for (size_t j = 0; j < set->n; j++) {
        struct cj_sync *b = set->entries[j]->sync;
        if (b->duplicate_of[0] || !b->status.account[0])
            continue;
        for (size_t i = 0; i < j; i++) {
            const struct cj_sync *a = set->entries[i]->sync;
            if (strcmp(a->status.account, b->status.account) != 0 ||
                strcmp(a->status.region, b->status.region) != 0)
                continue;
            log_warning("sync %s: the same account (%s) and region (%s) as source %s, which "
                        "comes first in the configuration: syncing nothing until that is "
                        "changed and reloaded",
                        b->status.name, b->status.account, b->status.region, a->status.name);
            (void)cj_sync_set_duplicate_of(b, a->status.name);
            break;
        }
    }
}

static void on_account(struct cj_sync *sync, void *userdata)
{
    struct set_entry *e = userdata;
    check_duplicates(e->set);
}

/* ---- building and taking apart ---- */

static int entry_new(struct cj_sync_set *set, const struct cj_settings *settings,
                     const struct cj_source_settings *src, struct set_entry **ret)
{
    struct set_entry *e = calloc(1, sizeof(*e));
    int r;

    if (!e)
        return -ENOMEM;
    e->set = set;
    r = cj_sync_new(set->event, set->store, settings, src, NULL, &e->sync);
    if (r >= 0)
        r = cj_sync_add_done_callback(e->sync, on_pass_done, e);
    if (r < 0) {
        cj_sync_free(e->sync);
        free(e);
        return r;
    }
    cj_sync_set_account_callback(e->sync, on_account, e);
    *ret = e;
    return 0;
}

static void drop_source(struct cj_sync_set *set, const char *name)
{
    struct cj_store_changes c = {0};
    int r = cj_store_drop_source(set->store, name, &c);
    if (r == -ENOENT)
        return;
    if (r < 0) {
        log_warning_errno(r, "sync: cannot drop the jobs of source %s: %m", name);
        return;
    }
    log_notice("sync: source %s is no longer configured: dropped its %zu jobs from the cache", name,
               c.removed);
}

/* Frees a removed source's sync: the rounds waiting on it get "SourceRemoved" for it. */
static void entry_remove(struct cj_sync_set *set, struct set_entry *e)
{
    char name[CJ_SOURCE_NAME_MAX + 1];
    struct cj_sync_status st;

    cj_sync_get_status(e->sync, &st);
    for (struct round *r = set->rounds; r; r = r->next)
        for (size_t i = 0; i < r->res.n; i++) {
            if (r->src[i].entry != e)
                continue;
            r->src[i].entry = NULL;
            if (r->src[i].done)
                continue;
            struct cj_sync_source_result *sr = &r->res.sources[i];
            source_result_from_status(sr, &st);
            sr->result = -ENODEV;
            snprintf(sr->error_type, sizeof(sr->error_type), "SourceRemoved");
            snprintf(sr->error_message, sizeof(sr->error_message),
                     "the source was removed from the configuration");
            r->src[i].done = true;
            r->pending--;
        }
    snprintf(name, sizeof(name), "%s", st.name);
    cj_sync_free(e->sync);
    free(e);
    drop_source(set, name);
}

struct stale_sources {
    const struct cj_sync_set *set;
    char (*names)[CJ_SOURCE_NAME_MAX + 1];
    size_t n;
};

static int collect_stale(const char *source, const struct cj_store_stats *st, void *userdata)
{
    struct stale_sources *s = userdata;
    if (cj_sync_set_find(s->set, source))
        return 0;
    char(*names)[CJ_SOURCE_NAME_MAX + 1] = reallocarray(s->names, s->n + 1, sizeof(*s->names));
    if (!names)
        return -ENOMEM;
    s->names = names;
    snprintf(s->names[s->n++], sizeof(*s->names), "%s", source);
    return 0;
}

static void drop_stale_sources(struct cj_sync_set *set)
{
    struct stale_sources s = {.set = set};
    int r = cj_store_foreach_source(set->store, collect_stale, &s);
    if (r < 0)
        log_warning_errno(r, "sync: cannot list the sources in the cache: %m");
    for (size_t i = 0; i < s.n; i++)
        drop_source(set, s.names[i]);
    free(s.names);
}

int cj_sync_set_new(sd_event *event, struct cj_store *store, const struct cj_settings *settings,
                    struct cj_sync_set **ret)
{
    struct cj_sync_set *set;
    int r;

    if (settings->n_sources == 0)
        return log_error_errno(EINVAL, "sync: no source configured");
    set = calloc(1, sizeof(*set));
    if (!set)
        return -ENOMEM;
    set->event = sd_event_ref(event);
    set->store = store;
    set->entries = calloc(settings->n_sources, sizeof(*set->entries));
    if (!set->entries) {
        r = -ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < settings->n_sources; i++) {
        r = entry_new(set, settings, &settings->sources[i], &set->entries[set->n]);
        if (r < 0)
            goto fail;
        set->n++;
    }
    drop_stale_sources(set);
    check_duplicates(set); /* a role_arn tells the account before any lookup */
    *ret = set;
    return 0;
fail:
    cj_sync_set_free(set);
    return r;
}

void cj_sync_set_free(struct cj_sync_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++) {
        cj_sync_free(set->entries[i]->sync);
        free(set->entries[i]);
    }
    free(set->entries);
    while (set->rounds) {
        struct round *r = set->rounds;
        set->rounds = r->next;
        round_free(r);
    }
    free(set->pass_callbacks);
    free(set->round_callbacks);
    sd_event_unref(set->event);
    free(set);
}

int cj_sync_set_reconfigure(struct cj_sync_set *set, const struct cj_settings *settings)
{
    struct set_entry **next;
    size_t n = 0;
    int first_error = 0;

    if (settings->n_sources == 0)
        return log_error_errno(EINVAL, "sync: no source configured");
    next = calloc(settings->n_sources, sizeof(*next));
    if (!next)
        return -ENOMEM;

    for (size_t i = 0; i < settings->n_sources; i++) {
        const struct cj_source_settings *src = &settings->sources[i];
        struct set_entry *e = NULL;
        int r;

        for (size_t k = 0; k < set->n; k++)
            if (set->entries[k] && strcmp(cj_sync_name(set->entries[k]->sync), src->name) == 0) {
                e = set->entries[k];
                set->entries[k] = NULL; /* taken */
                break;
            }
        if (e) {
            r = cj_sync_reconfigure(e->sync, settings, src, NULL);
            if (r < 0 && first_error == 0)
                first_error = r;
            next[n++] = e;
            continue;
        }
        r = entry_new(set, settings, src, &e);
        if (r < 0) {
            log_error_errno(r, "sync: cannot add source %s: %m", src->name);
            if (first_error == 0)
                first_error = r;
            continue;
        }
        log_info("sync: source %s (region %s) added", src->name, src->region);
        next[n++] = e;
        if (set->schedule) {
            r = cj_sync_start_schedule(e->sync);
            if (r < 0 && first_error == 0)
                first_error = r;
        }
    }

    struct set_entry **old = set->entries;
    size_t n_old = set->n;
    set->entries = next;
    set->n = n;
    for (size_t k = 0; k < n_old; k++)
        if (old[k])
            entry_remove(set, old[k]);
    free(old);

    /* Accounts may have changed with the credentials: judge duplicates afresh. */
    for (size_t i = 0; i < set->n; i++)
        (void)cj_sync_set_duplicate_of(set->entries[i]->sync, NULL);
    check_duplicates(set);
    rounds_finish(set);
    return first_error;
}

/* ---- the rest of the public face ---- */

int cj_sync_set_start_schedule(struct cj_sync_set *set)
{
    int first_error = 0;
    set->schedule = true;
    for (size_t i = 0; i < set->n; i++) {
        int r = cj_sync_start_schedule(set->entries[i]->sync);
        if (r < 0 && first_error == 0)
            first_error = r;
    }
    return first_error;
}

int cj_sync_set_trigger(struct cj_sync_set *set, bool full)
{
    int first_error = 0;
    for (size_t i = 0; i < set->n; i++) {
        int r = cj_sync_trigger(set->entries[i]->sync, full);
        if (r < 0 && first_error == 0)
            first_error = r;
    }
    return first_error;
}

void cj_sync_set_cancel(struct cj_sync_set *set)
{
    for (size_t i = 0; i < set->n; i++)
        cj_sync_cancel(set->entries[i]->sync);
}

size_t cj_sync_set_size(const struct cj_sync_set *set)
{
    return set->n;
}

struct cj_sync *cj_sync_set_get(const struct cj_sync_set *set, size_t i)
{
    return i < set->n ? set->entries[i]->sync : NULL;
}

struct cj_sync *cj_sync_set_find(const struct cj_sync_set *set, const char *name)
{
    for (size_t i = 0; i < set->n; i++)
        if (set->entries[i] && strcmp(cj_sync_name(set->entries[i]->sync), name) == 0)
            return set->entries[i]->sync;
    return NULL;
}

static bool may_hold(const struct cj_sync *s, const char *job_region, const char *job_account)
{
    if (job_region && strcmp(job_region, s->status.region) != 0)
        return false;
    if (job_account && s->status.account[0] && strcmp(job_account, s->status.account) != 0)
        return false;
    return true;
}

int64_t cj_sync_set_last_success_ns(const struct cj_sync_set *set, const char *job_region,
                                    const char *job_account)
{
    for (int all = 0; all < 2; all++) {
        int64_t oldest = 0;
        bool any = false;
        for (size_t i = 0; i < set->n; i++) {
            const struct cj_sync *s = set->entries[i]->sync;
            if (s->duplicate_of[0] || (!all && !may_hold(s, job_region, job_account)))
                continue;
            if (s->status.last_success_ns == 0)
                return 0;
            if (!any || s->status.last_success_ns < oldest)
                oldest = s->status.last_success_ns;
            any = true;
        }
        if (any || (!job_region && !job_account))
            return oldest;
    }
    return 0;
}

int cj_sync_set_add_pass_callback(struct cj_sync_set *set, cj_sync_set_pass_fn fn, void *userdata)
{
    assert(fn);
    struct pass_callback *c =
        reallocarray(set->pass_callbacks, set->n_pass_callbacks + 1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    set->pass_callbacks = c;
    c[set->n_pass_callbacks++] = (struct pass_callback){fn, userdata};
    return 0;
}

int cj_sync_set_add_round_callback(struct cj_sync_set *set, cj_sync_set_round_fn fn, void *userdata)
{
    assert(fn);
    struct round_callback *c =
        reallocarray(set->round_callbacks, set->n_round_callbacks + 1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    set->round_callbacks = c;
    c[set->n_round_callbacks++] = (struct round_callback){fn, userdata};
    return 0;
}
