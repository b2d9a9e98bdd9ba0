/* SPDX-License-Identifier: MIT */
/* copyjobd: the service. Wires config, credentials, store, sync and the local API into one
 * sd-event loop and speaks the sd_notify protocol to systemd. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <locale.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "check-config.h"
#include "cj-time.h"
#include "config.h"
#include "credentials.h"
#include "log.h"
#include "server.h"
#include "store.h"
#include "sync-set.h"
#include "sync.h"

struct daemon_args {
    const char *config_path;
    bool config_explicit;
    bool once;
    bool check_config;
    bool verify_store;
    bool compact_store;
};

struct daemon {
    struct daemon_args args;
    struct cj_settings settings;
    sd_event *event;
    struct cj_store *store;
    struct cj_sync_set *syncs;
    struct cj_server *server;
    sd_event_source *status_timer;
    size_t once_pending; /* --once: sources whose pass has not ended yet */
    size_t once_failed;
    bool stopping; /* a signal ended the loop; STOPPING=1 already sent */
};

static void help(void)
{
    printf("Usage: copyjobd [OPTIONS]\n"
           "\n"
           "Keeps a local LMDB cache of Amazon Bedrock model copy jobs and serves it over a\n"
           "Unix socket with Bedrock's own ListModelCopyJobs/GetModelCopyJob API.\n"
           "\n"
           "  -c, --config FILE   configuration file (default " CJ_DEFAULT_CONFIG_PATH ")\n"
           "      --once          run one full sync of every source, then exit (non-zero,\n"
           "                      naming each source that failed, on failure)\n"
           "      --check-config  validate the configuration and credentials source, print the\n"
           "                      effective settings (never a secret), and exit\n"
           "      --verify-store  check the store's rows, indexes, counters and change log\n"
           "                      (read-only, safe while the service runs), print the result,\n"
           "                      exit 0 if consistent, 1 if not\n"
           "      --compact-store rewrite the store with full pages and no free space (only\n"
           "                      while the service is stopped), print the sizes, and exit\n"
           "      --debug         log debug messages\n"
           "      --version       print the version and exit\n"
           "  -h, --help          show this help\n"
           "\n"
           "Signals: SIGTERM/SIGINT stop, SIGHUP reloads configuration and credentials.\n"
           "See copyjobd(8) and copyjobd.conf(5).\n");
}

static int parse_args(int argc, char **argv, struct daemon_args *a)
{
    enum {
        ARG_ONCE = 0x100,
        ARG_CHECK_CONFIG,
        ARG_VERSION,
        ARG_DEBUG,
        ARG_VERIFY_STORE,
        ARG_COMPACT_STORE
    };
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"once", no_argument, NULL, ARG_ONCE},
        {"check-config", no_argument, NULL, ARG_CHECK_CONFIG},
        {"verify-store", no_argument, NULL, ARG_VERIFY_STORE},
        {"compact-store", no_argument, NULL, ARG_COMPACT_STORE},
        {"debug", no_argument, NULL, ARG_DEBUG},
        {"version", no_argument, NULL, ARG_VERSION},
        {"help", no_argument, NULL, 'h'},
        {},
    };
    int c;

    a->config_path = CJ_DEFAULT_CONFIG_PATH;
    while ((c = getopt_long(argc, argv, "c:h", options, NULL)) >= 0) {
        switch (c) {
        case 'c':
            a->config_path = optarg;
            a->config_explicit = true;
            break;
        case ARG_ONCE:
            a->once = true;
            break;
        case ARG_CHECK_CONFIG:
            a->check_config = true;
            break;
        case ARG_VERIFY_STORE:
            a->verify_store = true;
            break;
        case ARG_COMPACT_STORE:
            a->compact_store = true;
            break;
        case ARG_DEBUG:
            cj_log_set_max_level(LOG_DEBUG);
            break;
        case ARG_VERSION:
            printf("copyjobd %s\n", CJ_VERSION);
            return 0;
        case 'h':
            help();
            return 0;
        default:
            return -EINVAL;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "copyjobd: unexpected argument '%s'; see --help\n", argv[optind]);
        return -EINVAL;
    }
    return 1;
}

/* Reads the config file and the environment into *s, and hands the credential chain its
 * test-only container host (the chain has no settings of its own: it is called from main and
 * from the sync); on failure logs and leaves *s empty. */
static int load_settings(const struct daemon_args *a, struct cj_settings *s)
{
    char err[512] = "";
    int r;

    cj_settings_init_defaults(s);
    r = cj_settings_load_file(s, a->config_path, !a->config_explicit, err, sizeof(err));
    if (r >= 0)
        r = cj_settings_resolve(s, err, sizeof(err));
    if (r >= 0 && cj_credentials_set_container_host(s->test.container_credentials_host) < 0) {
        snprintf(err, sizeof(err), "COPYJOBD_CONTAINER_CREDENTIALS_HOST: too long");
        r = -EINVAL;
    }
    if (r < 0) {
        cj_settings_done(s);
        return log_error_errno(r, "configuration: %s", err);
    }
    return 0;
}

/* --verify-store: needs no credentials and never writes, so it can run beside the service. */
static int verify_store(const struct cj_settings *settings)
{
    struct cj_store_options so = {
        .directory = settings->store.directory,
        .max_size = settings->store.max_size,
        .max_events = settings->store.max_events,
        .read_only = true,
    };
    struct cj_store *store = NULL;
    struct cj_store_stats st;
    uint64_t first = 0, last = 0;
    char report[4096];

    int r = cj_store_open(&so, &store);
    if (r < 0)
        return log_error_errno(r, "cannot open the store in %s read-only: %m", so.directory);
    r = cj_store_verify(store, report, sizeof(report));
    if (r == -EUCLEAN)
        printf("store DAMAGED: %s\n", report);
    else if (r < 0)
        log_error_errno(r, "cannot verify the store in %s: %m", so.directory);
    else {
        r = cj_store_stats(store, &st);
        if (r >= 0)
            r = cj_store_events_bounds(store, &first, &last);
        if (r >= 0)
            printf("store OK: %" PRIu64 " jobs, %" PRIu64 " events (seq %" PRIu64 "..%" PRIu64
                   ")\n",
                   st.total, last ? last - first + 1 : 0, first, last);
    }
    cj_store_close(store);
    return r;
}

/* Thousands separators make "12,345 jobs" readable in systemctl status. */
static void format_count(uint64_t n, char *buf, size_t size)
{
    char digits[32];
    int len = snprintf(digits, sizeof(digits), "%" PRIu64, n);
    size_t o = 0;
    for (int i = 0; i < len && o + 2 < size; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
}

static void notify_status(struct daemon *d)
{
    struct cj_store_stats st;
    char jobs[32], failed[32], line[768];
    size_t n_sources = cj_sync_set_size(d->syncs), n_failing = 0;

    if (cj_store_stats(d->store, &st) < 0)
        return;
    format_count(st.total, jobs, sizeof(jobs));
    format_count(st.by_status[CJ_STATUS_FAILED], failed, sizeof(failed));

    int64_t synced = cj_sync_set_last_success_ns(d->syncs, NULL, NULL);
    size_t n = (size_t)snprintf(line, sizeof(line), "STATUS=%s jobs, %s failed", jobs, failed);
    if (synced) {
        int64_t ago = (cj_now_ns() - synced) / CJ_NSEC_PER_SEC;
        n += (size_t)snprintf(line + n, sizeof(line) - n, ", synced %" PRId64 "s ago",
                              ago < 0 ? 0 : ago);
    } else {
        n += (size_t)snprintf(line + n, sizeof(line) - n, ", not synced yet");
    }
    if (n_sources > 1 && n < sizeof(line))
        n += (size_t)snprintf(line + n, sizeof(line) - n, ", %zu sources", n_sources);
    /* Which sources fail, and how; one source says it as it always did. */
    for (size_t i = 0; i < n_sources && n < sizeof(line); i++) {
        struct cj_sync_status ss;
        cj_sync_get_status(cj_sync_set_get(d->syncs, i), &ss);
        if (ss.last_result >= 0 || !ss.last_error_type[0])
            continue;
        if (n_sources == 1)
            n += (size_t)snprintf(line + n, sizeof(line) - n, "; last sync failed: %s",
                                  ss.last_error_type);
        else
            n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s (%s)",
                                  n_failing ? ", " : "; failing: ", ss.name, ss.last_error_type);
        n_failing++;
    }
    sd_notify(false, line);
}

static int on_status_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
    struct daemon *d = userdata;
    notify_status(d);
    /* "synced 5s ago" stays true to within the refresh period. */
    sd_event_source_set_time(s, usec + 10 * CJ_USEC_PER_SEC);
    sd_event_source_set_enabled(s, SD_EVENT_ON);
    return 0;
}

static void on_sync_done(struct cj_sync_set *set, struct cj_sync *sync, int result, void *userdata)
{
    struct daemon *d = userdata;

    int lost = cj_store_lost(d->store);
    if (lost < 0) {
        /* Nothing can be served or stored any more; a fresh start reopens it. */
        log_error_errno(lost, "the store cannot be used any more (%m): exiting for a restart");
        sd_event_exit(d->event, 1);
        return;
    }
    notify_status(d);
    if (!d->args.once || d->once_pending == 0)
        return;
    /* --once: one full pass per source; each source's ends once. */
    if (result < 0) {
        struct cj_sync_status ss;
        cj_sync_get_status(sync, &ss);
        log_error("source %s failed: %s: %s", ss.name, ss.last_error_type, ss.last_error_message);
        d->once_failed++;
    }
    if (--d->once_pending == 0)
        sd_event_exit(d->event, d->once_failed ? 1 : 0);
}

static int on_terminate(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
    struct daemon *d = userdata;

    log_info("received %s, stopping", strsignal((int)si->ssi_signo));
    sd_notify(false, "STOPPING=1");
    d->stopping = true;
    if (d->syncs)
        cj_sync_set_cancel(d->syncs);
    sd_event_exit(d->event, 0);
    return 0;
}

/* The credentials are looked up by the sync, off the loop: a credential_process may take a
 * minute, and the API and the watchdog must not wait for it. */
static int reload(struct daemon *d)
{
    struct cj_settings fresh;
    int r;

    r = load_settings(&d->args, &fresh);
    if (r < 0)
        return r;
    /* Sources are matched by name: kept, added, or removed with their jobs. */
    r = cj_sync_set_reconfigure(d->syncs, &fresh);
    if (r < 0)
        log_error_errno(r, "reload: some sources keep their previous settings: %m");

    /* The listening sockets and the store stay as they are: changing them needs a restart,
     * which clients would notice; say so instead of doing it behind their backs. */
    if (strcmp(fresh.server.socket, d->settings.server.socket) != 0 ||
        fresh.server.socket_mode != d->settings.server.socket_mode ||
        (fresh.server.listen_tcp == NULL) != (d->settings.server.listen_tcp == NULL) ||
        (fresh.server.listen_tcp &&
         strcmp(fresh.server.listen_tcp, d->settings.server.listen_tcp) != 0) ||
        fresh.server.max_connections != d->settings.server.max_connections ||
        strcmp(fresh.store.directory, d->settings.store.directory) != 0 ||
        fresh.store.max_size != d->settings.store.max_size)
        log_notice("reload: [server] and [store] changes take effect at the next restart");

    /* The server keeps pointing at the settings it started with; the syncs took copies. */
    cj_settings_done(&fresh);
    log_info("reloaded configuration from %s; looking for the AWS credentials again",
             d->args.config_path);
    return 0;
}

static int on_reload(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
    struct daemon *d = userdata;
    char msg[64];

    uint64_t now = 0;

    /* MONOTONIC_USEC lets systemd (Type=notify-reload) match this reload to its request. */
    sd_event_now(d->event, CLOCK_MONOTONIC, &now);
    snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, now);
    sd_notify(false, msg);
    if (reload(d) < 0)
        log_warning("reload failed; keeping the previous configuration and credentials");
    /* READY=1 before the credentials are back: their lookup may take a minute, and a failed
     * one keeps the keys there were (the sync logs either way). */
    sd_notify(false, "READY=1");
    notify_status(d);
    return 0;
}

/* Every client connection and watcher is a file descriptor; the soft limit of 1024 that
 * processes start with is too low for server.max_connections near it, and raising it to
 * the hard limit is what systemd recommends for servers that use poll/epoll. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            log_debug_errno(errno, "cannot raise the file descriptor limit: %m");
    }
}

static int setup_signals(struct daemon *d)
{
    sigset_t mask;
    int r;

    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
        return log_error_errno(errno, "cannot block signals: %m");
    /* libcurl may write to a peer that closed; the error is handled where it occurs. */
    signal(SIGPIPE, SIG_IGN);

    r = sd_event_add_signal(d->event, NULL, SIGTERM, on_terminate, d);
    if (r >= 0)
        r = sd_event_add_signal(d->event, NULL, SIGINT, on_terminate, d);
    if (r >= 0 && !d->args.once)
        r = sd_event_add_signal(d->event, NULL, SIGHUP, on_reload, d);
    if (r < 0)
        return log_error_errno(r, "cannot watch signals: %m");
    return 0;
}

static int run(struct daemon *d)
{
    int r;

    struct cj_store_options so = {
        .directory = d->settings.store.directory,
        .max_size = d->settings.store.max_size,
        .max_events = d->settings.store.max_events,
    };
    r = cj_store_open(&so, &d->store);
    if (r < 0)
        return log_error_errno(r, "cannot open the store in %s: %m", so.directory);

    raise_fd_limit();
    r = sd_event_default(&d->event);
    if (r < 0)
        return log_error_errno(r, "cannot create the event loop: %m");
    r = setup_signals(d);
    if (r < 0)
        return r;
    if (!d->args.once) {
        /* Sends WATCHDOG=1 at half of WATCHDOG_USEC while the loop turns. */
        r = sd_event_set_watchdog(d->event, true);
        if (r < 0)
            return log_error_errno(r, "cannot set up the watchdog: %m");
    }

    /* Each source looks its credentials up on its own worker thread, off the loop. */
    r = cj_sync_set_new(d->event, d->store, &d->settings, &d->syncs);
    if (r < 0)
        return log_error_errno(r, "cannot set up the sync: %m");
    r = cj_sync_set_add_pass_callback(d->syncs, on_sync_done, d);
    if (r < 0)
        return log_error_errno(r, "cannot set up the sync: %m");

    if (d->args.once) {
        d->once_pending = cj_sync_set_size(d->syncs);
        r = cj_sync_set_trigger(d->syncs, true);
        if (r < 0)
            return log_error_errno(r, "cannot start the sync: %m");
        r = sd_event_loop(d->event);
        if (r < 0)
            return log_error_errno(r, "event loop failed: %m");
        if (d->once_pending > 0)
            return -ECANCELED; /* a signal stopped it */
        if (d->once_failed > 0)
            return log_error_errno(EIO, "%zu of %zu sources failed", d->once_failed,
                                   cj_sync_set_size(d->syncs));
        return 0;
    }

    r = cj_server_new(d->event, d->store, d->syncs, &d->settings, &d->server);
    if (r < 0)
        return log_error_errno(r, "cannot start the local API: %m");
    r = cj_sync_set_start_schedule(d->syncs);
    if (r < 0)
        return log_error_errno(r, "cannot schedule syncs: %m");

    uint64_t now;
    sd_event_now(d->event, CLOCK_MONOTONIC, &now);
    r = sd_event_add_time(d->event, &d->status_timer, CLOCK_MONOTONIC, now + 10 * CJ_USEC_PER_SEC,
                          CJ_USEC_PER_SEC, on_status_timer, d);
    if (r < 0)
        return log_error_errno(r, "cannot set up the status timer: %m");

    char served[512];
    cj_server_describe(d->server, served, sizeof(served));
    char names[512] = "";
    for (size_t i = 0, n = 0; i < d->settings.n_sources && n < sizeof(names); i++)
        n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s (%s)", i ? ", " : "",
                              d->settings.sources[i].name, d->settings.sources[i].endpoint);
    log_info("copyjobd %s serving %s, syncing %zu source%s every %" PRIu64 "s: %s", CJ_VERSION,
             served, d->settings.n_sources, d->settings.n_sources == 1 ? "" : "s",
             d->settings.sync.interval_usec / CJ_USEC_PER_SEC, names);
    sd_notify(false, "READY=1");
    notify_status(d);

    r = sd_event_loop(d->event);
    if (r < 0)
        return log_error_errno(r, "event loop failed: %m");
    return r > 0 ? -EIO : 0; /* an exit code other than 0 is a failure (the store was lost) */
}

static void daemon_done(struct daemon *d)
{
    cj_server_free(d->server);
    cj_sync_set_free(d->syncs);
    sd_event_source_unref(d->status_timer);
    cj_store_close(d->store);
    sd_event_unref(d->event);
    cj_settings_done(&d->settings);
}

int main(int argc, char **argv)
{
    struct daemon d = {0};
    int r;

    setlocale(LC_ALL, "C");
    r = parse_args(argc, argv, &d.args);
    if (r <= 0)
        return r < 0 ? 64 : 0;

    if (load_settings(&d.args, &d.settings) < 0)
        return 1;
    if (d.args.verify_store) {
        r = verify_store(&d.settings);
        cj_settings_done(&d.settings);
        return r < 0 ? 1 : 0;
    }
    if (d.args.compact_store) {
        uint64_t before = 0, after = 0;
        r = cj_store_compact(d.settings.store.directory, &before, &after);
        if (r >= 0)
            printf("store compacted: %" PRIu64 " KiB -> %" PRIu64 " KiB on disk\n", before / 1024,
                   after / 1024);
        cj_settings_done(&d.settings);
        return r < 0 ? 1 : 0;
    }
    if (d.args.check_config) {
        r = cj_check_config(&d.settings, stdout);
        cj_settings_done(&d.settings);
        return r < 0 ? 1 : 0;
    }
    /* The service and --once look each source's credentials up off the loop, when its first
     * pass starts: a source without any fails its passes with MissingCredentials (and --once
     * names it), the others go on, and a boot where the instance metadata service is late
     * does not crash-loop the daemon. */
    r = run(&d);
    /* on_terminate already said STOPPING=1 when a signal ended the loop. */
    if (!d.args.once && !d.stopping)
        sd_notify(false, "STOPPING=1");
    daemon_done(&d);
    if (r < 0)
        return 1;
    return 0;
}
