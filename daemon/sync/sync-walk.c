/* SPDX-License-Identifier: MIT */
/* What a pass asks the service for, and what it does with the answers.
 *
 * Full: ListModelCopyJobs oldest first, every page stored under a store pass, which at the
 * end notes what was not seen and removes what the complete pass before did not see either
 * (within the removal guard). A summary the parser refused still counts as seen. Oldest
 * first, a first sync appends to the store's databases, which keep their keys in that order
 * and so stay full (store-internal.h); the newest jobs are stored last. Each page's successor
 * is asked for before the page is stored, when the rate cap lets it go at once: the service
 * prepares one page while the store writes the other.
 *
 * Quick, in this order:
 *   NEW      jobs created after (watermark - 1 s), newest first. The watermark is the newest
 *            creationTime of the last complete full or NEW listing: every job created at or
 *            before it was listed then (a job created during a full pass sorts last in its
 *            listing), and every job created since has a later creationTime. The 1 s margin
 * re-lists ties and jobs that show up in the listing late; upserts make that free. It stops early
 * at a page that lies at or below the watermark and holds only stored jobs. RUNNING
 * statusEquals=InProgress, every page: what runs now. GONE     the jobs stored as InProgress that
 * RUNNING did not list have finished (or vanished): GetModelCopyJob each; a 404 removes it, the
 * only removal a quick sync makes. NEW runs first so that RUNNING's inserts cannot make a page of
 * NEW look "all known". Nothing changed costs 1 + ⌈running / page size⌉ requests. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cj-time.h"
#include "log.h"
#include "sync-internal.h"

void sync_walk_clear(struct sync_walk *w)
{
    free(w->next_token);
    cj_hash_set_clear(&w->tokens);
    *w = (struct sync_walk){0};
}

void sync_pass_clear_quick(struct cj_sync_pass *p)
{
    cj_hash_set_clear(&p->running_seen);
    for (size_t i = 0; i < p->n_gone; i++)
        free(p->gone[i]);
    free(p->gone);
    p->gone = NULL;
    p->n_gone = p->next_gone = 0;
}

int sync_walk_begin(struct cj_sync *s, char *err, size_t errlen)
{
    struct cj_sync_pass *p = &s->pass;
    struct cj_store_stats st;
    int r;

    r = sync_store_source_stats(s->store, s->params->name, &st);
    if (r < 0) {
        snprintf(err, errlen, "cannot read the store's statistics: %s", strerror(-r));
        return r;
    }
    p->stored_at_start = st.total;

    if (p->kind == CJ_SYNC_FULL) {
        p->phase = SYNC_PHASE_FULL;
        r = cj_store_pass_begin(s->store, s->params->name, &p->store_pass);
        if (r < 0) {
            p->store_pass = NULL;
            snprintf(err, errlen, "cannot begin a pass in the store: %s", strerror(-r));
            return r;
        }
        r = cj_store_pass_set_removal_limit(p->store_pass, s->params->max_removal_share_bp);
        if (r < 0) {
            snprintf(err, errlen, "max_removal_share out of range");
            return r;
        }
    } else {
        p->phase = SYNC_PHASE_NEW;
        p->has_after = s->has_watermark && !s->watermark_empty;
        if (p->has_after)
            p->after_ns = s->watermark_ns > INT64_MIN + CJ_SYNC_NEW_MARGIN_NS
                              ? s->watermark_ns - CJ_SYNC_NEW_MARGIN_NS
                              : INT64_MIN;
    }
    p->attempt = 1;
    return 0;
}

int sync_walk_build_request(struct cj_sync *s)
{
    struct cj_sync_pass *p = &s->pass;
    struct cj_sync_params *params = s->params;

    if (p->phase == SYNC_PHASE_GONE) {
        p->op = CJ_API_GET_MODEL_COPY_JOB;
        return cj_request_get_job(&params->endpoint, params->region, &params->creds,
                                  p->gone[p->next_gone], sync_step_signing_time(s), &p->request);
    }

    struct cj_list_request l = {
        .max_results = params->page_size,
        .ascending = p->phase == SYNC_PHASE_FULL,
        .next_token = p->walk.next_token,
    };
    if (p->phase == SYNC_PHASE_NEW && p->has_after) {
        l.has_created_after = true;
        l.created_after_ns = p->after_ns;
    } else if (p->phase == SYNC_PHASE_RUNNING) {
        l.status_equals = cj_status_to_string(CJ_STATUS_IN_PROGRESS);
    }
    p->op = CJ_API_LIST_MODEL_COPY_JOBS;
    return cj_request_list_jobs(&params->endpoint, params->region, &params->creds, &l,
                                sync_step_signing_time(s), &p->request);
}

static void changes_add(struct cj_store_changes *to, const struct cj_store_changes *c)
{
    to->created += c->created;
    to->updated += c->updated;
    to->unchanged += c->unchanged;
    to->removed += c->removed;
}

/* ---- the end of a listing ---- */

static int collect_gone(const char *arn, size_t len, int64_t creation_ns, void *userdata)
{
    struct cj_sync_pass *p = userdata;

    if (cj_hash_set_contains(&p->running_seen, arn, len))
        return 0;
    char **g = reallocarray(p->gone, p->n_gone + 1, sizeof(char *));
    if (!g)
        return -ENOMEM;
    p->gone = g;
    if (!(p->gone[p->n_gone] = strndup(arn, len)))
        return -ENOMEM;
    p->n_gone++;
    return 0;
}

static void start_phase(struct cj_sync *s, enum sync_phase phase)
{
    sync_walk_clear(&s->pass.walk);
    s->pass.phase = phase;
    sync_step_next_request(s);
}

static void walk_finished(struct cj_sync *s)
{
    struct cj_sync_pass *p = &s->pass;
    char err[160];
    int r;

    switch (p->phase) {
    case SYNC_PHASE_FULL:
        sync_pass_end(s, 0, NULL, NULL); /* moves the watermark once the store agrees */
        return;

    case SYNC_PHASE_NEW:
        if (p->walk.has_top && (s->watermark_empty || p->walk.top_ns > s->watermark_ns)) {
            s->watermark_ns = p->walk.top_ns;
            s->watermark_empty = false;
        }
        start_phase(s, SYNC_PHASE_RUNNING);
        return;

    case SYNC_PHASE_RUNNING:
        r = cj_store_foreach_with_status(s->store, s->params->name, CJ_STATUS_IN_PROGRESS,
                                         collect_gone, p);
        if (r < 0) {
            snprintf(err, sizeof(err), "cannot read the running jobs from the store: %s",
                     strerror(-r));
            sync_pass_end(s, r, "StoreError", err);
            return;
        }
        if (p->n_gone == 0) {
            sync_pass_end(s, 0, NULL, NULL);
            return;
        }
        /* Past the cost of a full listing, fetching one by one is the dearer way. */
        uint64_t full_cost = (p->stored_at_start + s->params->page_size - 1) / s->params->page_size;
        if (p->n_gone > full_cost + 10) {
            log_info("sync %s: %zu jobs left InProgress; a full pass (%" PRIu64
                     " requests) is cheaper than fetching each",
                     s->params->name, p->n_gone, full_cost);
            s->want_full_after = true;
            sync_pass_end(s, 0, NULL, NULL);
            return;
        }
        log_info("sync %s: %zu jobs left InProgress; fetching each", s->params->name, p->n_gone);
        start_phase(s, SYNC_PHASE_GONE);
        return;

    case SYNC_PHASE_GONE:
        break;
    }
    sync_pass_end(s, -EINVAL, "InternalError", "a listing ended in the wrong phase");
}

/* ---- a page ---- */

static uint64_t page_budget(const struct cj_sync *s)
{
    const struct cj_sync_pass *p = &s->pass;
    uint64_t jobs = p->stored_at_start + p->walk.created;
    uint64_t pages = (jobs + s->params->page_size - 1) / s->params->page_size;
    uint64_t budget = pages * 2 + 100;
    return budget < CJ_SYNC_MAX_PAGES ? budget : CJ_SYNC_MAX_PAGES;
}

/* Checks the page's nextToken (a token given before in this listing is a loop; the listing
 * has a page budget) and makes it the walk's next. 0, or the pass has ended. */
static int take_next_token(struct cj_sync *s, struct cj_page *page)
{
    struct sync_walk *w = &s->pass.walk;
    char err[160];

    int r = cj_hash_set_add(&w->tokens, page->next_token, strlen(page->next_token));
    if (r == 0) {
        sync_pass_end(s, -ELOOP, "PaginationLoop",
                      "the service returned a nextToken it had already given in this listing");
        return -ELOOP;
    }
    if (r < 0) {
        sync_pass_end(s, r, "InternalError", "out of memory");
        return r;
    }
    if (w->pages >= page_budget(s)) {
        snprintf(err, sizeof(err),
                 "the listing did not end after %" PRIu64 " pages (%" PRIu64
                 " jobs known): abandoned",
                 w->pages, s->pass.stored_at_start + w->created);
        sync_pass_end(s, -E2BIG, "PaginationLoop", err);
        return -E2BIG;
    }
    free(w->next_token);
    w->next_token = page->next_token;
    page->next_token = NULL;
    return 0;
}

static void on_page(struct cj_sync *s, const struct cj_http_response *resp)
{
    struct cj_sync_pass *p = &s->pass;
    struct sync_walk *w = &p->walk;
    struct cj_store_changes pc = {0};
    struct cj_page page = {0};
    char err[256] = "";
    int r;

    r = cj_page_parse(resp->body.data ? resp->body.data : "", resp->body.len, &page, err,
                      sizeof(err));
    if (r < 0) {
        cj_page_done(&page);
        sync_step_failed(s, r == -E2BIG ? CJ_RETRY_NEVER : CJ_RETRY_BACKOFF, -EBADMSG,
                         "MalformedResponse", err[0] ? err : "unreadable response body");
        return;
    }
    bool last_page = !page.next_token;

    /* A full pass asks for its next page before it stores this one, so that the service
     * prepares that page while the store writes this: a pass takes about the longer of the
     * two, not their sum. Only with a token the checks pass before the store has counted
     * this page (the budget only grows with it); the quick phases ask after storing, as
     * NEW's early stop depends on what the store knew. Answers are handled one at a time,
     * so pages are still stored in their order. */
    bool token_taken = false, sent = false;
    if (p->phase == SYNC_PHASE_FULL && !last_page && w->pages + 1 < page_budget(s) &&
        !cj_hash_set_contains(&w->tokens, page.next_token, strlen(page.next_token))) {
        if (take_next_token(s, &page) < 0) {
            cj_page_done(&page);
            return;
        }
        token_taken = true;
        sent = sync_step_send_now(s);
    }

    r = cj_store_put_jobs(s->store, s->params->name, p->store_pass, page.jobs, page.n_jobs, &pc);
    if (r < 0) {
        snprintf(err, sizeof(err), "cannot store page %" PRIu64 ": %s", p->pages + 1, strerror(-r));
        cj_page_done(&page);
        sync_pass_end(s, r, "StoreError", err); /* cancels the request sent */
        return;
    }
    /* Listed, though not stored: the copy the store may have is no job gone. */
    for (size_t i = 0; i < page.n_skipped_arns; i++)
        (void)cj_store_pass_saw(s->store, p->store_pass, page.skipped_arns[i]);
    changes_add(&p->changes, &pc);
    p->pages++;
    p->jobs += page.n_jobs;
    p->skipped += page.n_skipped;
    w->pages++;
    w->created += pc.created;

    int64_t oldest = INT64_MAX;
    for (size_t i = 0; i < page.n_jobs; i++) {
        const struct cj_job *j = &page.jobs[i];
        if (!w->has_top || j->creation_ns > w->top_ns) {
            w->has_top = true;
            w->top_ns = j->creation_ns;
        }
        if (j->creation_ns < oldest)
            oldest = j->creation_ns;
        if (p->phase == SYNC_PHASE_RUNNING &&
            cj_hash_set_add(&p->running_seen, j->job_arn, strlen(j->job_arn)) < 0) {
            cj_page_done(&page);
            sync_pass_end(s, -ENOMEM, "InternalError", "out of memory");
            return;
        }
    }

    if (last_page) {
        cj_page_done(&page);
        walk_finished(s);
        return;
    }
    if (p->phase == SYNC_PHASE_NEW && page.n_jobs > 0 && pc.created == 0 && s->has_watermark &&
        !s->watermark_empty && oldest <= s->watermark_ns) {
        cj_page_done(&page);
        walk_finished(s);
        return;
    }
    r = token_taken ? 0 : take_next_token(s, &page);
    cj_page_done(&page);
    if (r < 0 || sent)
        return;
    sync_step_next_request(s);
}

/* ---- one job by GetModelCopyJob ---- */

static void on_job(struct cj_sync *s, const struct cj_http_response *resp)
{
    struct cj_sync_pass *p = &s->pass;
    const char *arn = p->gone[p->next_gone];
    char err[256] = "";
    int r;

    if (resp->status == 404) {
        r = cj_store_remove(s->store, arn);
        if (r < 0 && r != -ENOENT) {
            snprintf(err, sizeof(err), "cannot remove a vanished job: %s", strerror(-r));
            sync_pass_end(s, r, "StoreError", err);
            return;
        }
        if (r == 0) {
            p->changes.removed++;
            log_info("sync %s: %s no longer exists; removed", s->params->name, arn);
        }
    } else {
        char reason[sizeof(err) - STRLEN("GetModelCopyJob: ")];
        struct cj_job job;
        r = cj_job_parse(resp->body.data, resp->body.len, &job, reason, sizeof(reason));
        if (r == -EPROTO) {
            snprintf(err, sizeof(err), "GetModelCopyJob: %s", reason);
            sync_step_failed(s, CJ_RETRY_BACKOFF, -EBADMSG, "MalformedResponse", err);
            return;
        }
        snprintf(err, sizeof(err), "%s", reason);
        if (r == -EBADMSG) {
            /* The job exists but cannot be stored as it is now: the stored copy stays, and
             * the pass goes on (failing here would fail every quick pass until it changes). */
            log_warning("sync %s: GetModelCopyJob for %s: the job is not stored: %s",
                        s->params->name, arn, err);
            p->skipped++;
            goto next;
        }
        if (r >= 0 && strcmp(job.job_arn, arn) != 0) {
            snprintf(err, sizeof(err), "GetModelCopyJob answered for another jobArn");
            r = -EBADMSG;
        }
        if (r < 0) {
            cj_job_done(&job);
            sync_step_failed(s, CJ_RETRY_NEVER, -EBADMSG, "MalformedResponse", err);
            return;
        }
        struct cj_store_changes pc = {0};
        r = cj_store_put_jobs(s->store, s->params->name, NULL, &job, 1, &pc);
        cj_job_done(&job);
        if (r < 0) {
            snprintf(err, sizeof(err), "cannot store a fetched job: %s", strerror(-r));
            sync_pass_end(s, r, "StoreError", err);
            return;
        }
        changes_add(&p->changes, &pc);
        p->jobs++;
    }
next:
    p->fetched++;
    if (++p->next_gone >= p->n_gone) {
        sync_pass_end(s, 0, NULL, NULL);
        return;
    }
    sync_step_next_request(s);
}

void sync_walk_on_answer(struct cj_sync *s, const struct cj_http_response *resp)
{
    if (s->pass.op == CJ_API_GET_MODEL_COPY_JOB)
        on_job(s, resp);
    else
        on_page(s, resp);
}
