/* SPDX-License-Identifier: MIT */
/* Finding credentials off the event loop. The chain may wait a minute for a credential_process
 * and seconds for a metadata endpoint or STS; on the loop that would hold every API client and
 * the watchdog. So a lookup runs cj_credentials_load_with() (and, while the sync does not know
 * its account, cj_credentials_account()) on a thread of its own and
 * reports through an eventfd the loop watches; the pass that needs it sends nothing until it
 * is back. One lookup at a time: a pass or a reload that wants one while another runs waits
 * for that one.
 *
 * The lookup's state is shared by the loop and the worker and freed by whichever lets go
 * last, so that a worker stuck past the bounded join at shutdown still has valid memory. The
 * worker touches nothing else of the sync. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "cj-time.h"
#include "credentials.h"
#include "log.h"
#include "sync-internal.h"

/* How long cj_sync_free() waits for an abandoned lookup to notice (a credential_process is
 * killed within 50 ms; curl checks about once a second). */
#define LOOKUP_JOIN_USEC (5 * CJ_USEC_PER_SEC)

struct sync_lookup {
    atomic_int refs;    /* the loop's and the worker's */
    atomic_bool cancel; /* set by the loop: the worker stops as soon as it can */
    atomic_bool done;   /* set by the worker (release) once result, creds and source are in */
    int efd;            /* eventfd the worker signals when done */
    pthread_t thread;
    sd_event_source *source; /* the loop's watch on efd */
    uint64_t gen;            /* of the params it looks up for */
    char *profile, *region, *role_arn, *external_id, *role_session_name;
    bool want_account; /* the sync does not know its account yet */
    int result;
    struct cj_aws_credentials creds;
    char source_name[768];                   /* the source, or on failure the chain's reason */
    char account[CJ_ACCOUNT_ID_STR_LEN + 1]; /* "" = not learned */
    char account_error[256];
};

static void lookup_unref(struct sync_lookup *l)
{
    if (atomic_fetch_sub_explicit(&l->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (l->efd >= 0)
        close(l->efd);
    free(l->profile);
    free(l->region);
    free(l->role_arn);
    free(l->external_id);
    free(l->role_session_name);
    cj_credentials_done(&l->creds);
    free(l);
}

static void *lookup_worker(void *userdata)
{
    struct sync_lookup *l = userdata;
    uint64_t one = 1;

    struct cj_credentials_options o = {
        .profile = l->profile,
        .region = l->region,
        .role_arn = l->role_arn,
        .external_id = l->external_id,
        .role_session_name = l->role_session_name,
        .cancel = &l->cancel,
    };
    l->result = cj_credentials_load_with(&o, &l->creds, l->source_name, sizeof(l->source_name));
    if (l->result >= 0 && l->want_account && !atomic_load(&l->cancel)) {
        if (!l->role_arn || cj_role_arn_account(l->role_arn, l->account) < 0)
            (void)cj_credentials_account(&l->creds, l->region, l->account, l->account_error,
                                         sizeof(l->account_error));
    }
    atomic_store_explicit(&l->done, true, memory_order_release);
    /* The counter cannot overflow with one write; a failure leaves the loop to the join at
     * free, which is all that can be done from here. */
    (void)write(l->efd, &one, sizeof(one));
    lookup_unref(l);
    return NULL;
}

/* Leaves the loop's side: stops watching, and either joins the worker (bounded when
 * `wait_usec` > 0) or lets it finish on its own. */
static void lookup_release(struct sync_lookup *l, uint64_t wait_usec)
{
    l->source = sd_event_source_disable_unref(l->source);
    if (wait_usec > 0) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += (time_t)(wait_usec / CJ_USEC_PER_SEC);
        if (pthread_timedjoin_np(l->thread, NULL, &deadline) != 0) {
            log_warning("sync: a credential lookup did not stop within %u s; leaving it",
                        (unsigned)(wait_usec / CJ_USEC_PER_SEC));
            pthread_detach(l->thread);
        }
    } else {
        pthread_join(l->thread, NULL); /* done was set: the worker is returning */
    }
    lookup_unref(l);
}

static void lookup_finished(struct cj_sync *s, struct sync_lookup *l)
{
    struct cj_sync_params *p = s->params;
    bool current = l->gen == p->gen;

    if (!current) {
        log_debug("sync %s: dropping the credentials looked up for settings since replaced",
                  p->name);
    } else if (l->result >= 0) {
        cj_credentials_done(&p->creds);
        p->creds = l->creds;
        l->creds = (struct cj_aws_credentials){0};
        p->lookup_wanted = false;
        p->lookup_error[0] = '\0';
        log_info("sync %s: AWS credentials reloaded from %s", p->name, l->source_name);
        if (l->want_account && l->account[0] && !s->status.account[0]) {
            memcpy(s->status.account, l->account, sizeof(s->status.account));
            log_info("sync %s: account %s, region %s", p->name, s->status.account, p->region);
            if (s->account_fn)
                s->account_fn(s, s->account_userdata);
        } else if (l->want_account && !l->account[0]) {
            log_info("sync %s: the account is unknown (%s)", p->name,
                     l->account_error[0] ? l->account_error : "STS did not say");
        }
    } else {
        /* lookup_wanted stays: the next pass tries again. */
        snprintf(p->lookup_error, sizeof(p->lookup_error), "%s",
                 l->source_name[0] ? l->source_name : "no source of the chain has any");
        log_warning_errno(l->result, "sync %s: cannot reload the AWS credentials: %s", p->name,
                          p->lookup_error);
    }

    if (s->running && s->pass.waiting_credentials) {
        s->pass.waiting_credentials = false;
        sync_step_schedule(s, 0);
    } else if (!current && !s->running) {
        sync_credentials_prefetch(s);
    }
}

static int on_lookup_event(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
    struct cj_sync *s = userdata;
    struct sync_lookup *l = s->lookup;
    uint64_t n;

    if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN && errno != EINTR)
        log_debug_errno(errno, "sync: reading the lookup's eventfd: %m");
    if (!l || !atomic_load_explicit(&l->done, memory_order_acquire))
        return 0;
    s->lookup = NULL;
    lookup_finished(s, l);
    lookup_release(l, 0);
    return 0;
}

static int lookup_start(struct cj_sync *s)
{
    struct sync_lookup *l = calloc(1, sizeof(*l));
    sigset_t all, old;
    int r;

    if (!l)
        return -ENOMEM;
    atomic_init(&l->refs, 1);
    atomic_init(&l->cancel, false);
    atomic_init(&l->done, false);
    l->gen = s->params->gen;
    l->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (l->efd < 0) {
        r = -errno;
        goto fail;
    }
    const struct cj_sync_params *p = s->params;
    if ((p->profile && !(l->profile = strdup(p->profile))) ||
        (p->region && !(l->region = strdup(p->region))) ||
        (p->role_arn && !(l->role_arn = strdup(p->role_arn))) ||
        (p->external_id && !(l->external_id = strdup(p->external_id))) ||
        (p->role_session_name && !(l->role_session_name = strdup(p->role_session_name)))) {
        r = -ENOMEM;
        goto fail;
    }
    l->want_account = !s->status.account[0];
    r = sd_event_add_io(s->event, &l->source, l->efd, EPOLLIN, on_lookup_event, s);
    if (r < 0)
        goto fail;
    (void)sd_event_source_set_description(l->source, "sync-credentials");

    /* The worker must never take a signal the loop reads through its signalfd. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    atomic_fetch_add_explicit(&l->refs, 1, memory_order_relaxed);
    r = -pthread_create(&l->thread, NULL, lookup_worker, l);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r < 0) {
        atomic_fetch_sub_explicit(&l->refs, 1, memory_order_relaxed);
        goto fail;
    }
    s->lookup = l;
    log_debug("sync %s: looking for AWS credentials (profile %s%s%s)", p->name,
              l->profile ? l->profile : "default", l->role_arn ? ", role " : "",
              l->role_arn ? l->role_arn : "");
    return 0;
fail:
    l->source = sd_event_source_disable_unref(l->source);
    lookup_unref(l);
    return log_warning_errno(r, "sync %s: cannot start looking for AWS credentials: %m",
                             s->params->name);
}

void sync_credentials_prefetch(struct cj_sync *s)
{
    if (!s->lookup && s->params->lookup_wanted)
        (void)lookup_start(s);
}

void sync_credentials_stop(struct cj_sync *s)
{
    struct sync_lookup *l = s->lookup;

    if (!l)
        return;
    s->lookup = NULL;
    atomic_store_explicit(&l->cancel, true, memory_order_release);
    lookup_release(l, LOOKUP_JOIN_USEC);
}

bool sync_credentials_usable(const struct cj_sync *s)
{
    /* need_refresh is true within the refresh window, so keys it passes have not expired. */
    return !s->lookup && !s->params->lookup_wanted &&
           !cj_credentials_need_refresh(&s->params->creds, cj_now_ns());
}

bool sync_credentials_ready(struct cj_sync *s)
{
    struct cj_sync_pass *p = &s->pass;
    struct cj_aws_credentials *c = &s->params->creds;
    int64_t now = cj_now_ns();

    if (s->lookup) {
        /* A reload's lookup for these settings counts as this pass's one. */
        if (s->lookup->gen == s->params->gen)
            p->credentials_reloaded = true;
        p->waiting_credentials = true;
        return false;
    }
    /* No keys (none at start: IMDS not up yet, a credstore file added later), keys about to
     * expire, an ExpiredToken answer or a reload: look again, once per pass. */
    if ((s->params->lookup_wanted || cj_credentials_need_refresh(c, now)) &&
        !p->credentials_reloaded) {
        p->credentials_reloaded = true;
        if (lookup_start(s) >= 0) {
            p->waiting_credentials = true;
            return false;
        }
    }
    if (!c->access_key_id || !c->secret_access_key) {
        sync_pass_end(s, -ENOKEY, "MissingCredentials",
                      s->params->lookup_error[0]
                          ? s->params->lookup_error
                          : "no AWS credentials found in any source of the chain");
        return false;
    }
    if (c->expiration_ns > 0 && now >= c->expiration_ns) {
        sync_pass_end(s, -EKEYEXPIRED, "ExpiredCredentials",
                      "the AWS credentials have expired and could not be refreshed");
        return false;
    }
    return true;
}
