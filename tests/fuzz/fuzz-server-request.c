/* SPDX-License-Identifier: MIT */
/* The whole request path of the local API: the input is the raw bytes a client sends on the
 * Unix socket (request line, headers, body, pipelined requests, garbage), served by the real
 * server (libmicrohttpd inside sd-event, routing, the query validator, the handlers) over a
 * real store with a few jobs. One server serves every input; each input gets a fresh
 * connection. The loop is stepped without waiting (a Unix socket delivers at once, so
 * whatever the server can do is ready): send, run what is ready, read the answer, and
 * again, until a round changes nothing (the server has answered and closed, or it waits
 * for bytes the input does not have) or a bounded number of rounds has passed. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "../unit/test-util.h"
#include "cj-time.h"
#include "job.h"
#include "log.h"
#include "server.h"

/* Rounds per input, and events dispatched per round at most: bounds an input's work. */
#define ROUNDS    256
#define SPINS     64
#define INPUT_MAX (256 * 1024)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char page[] =
    "{\"modelCopyJobSummaries\":["
    "{\"jobArn\":\"arn:aws:bedrock:us-east-1:123456789012:model-copy-job/abcdefabcdef\","
    "\"status\":\"Failed\",\"creationTime\":\"2024-05-01T12:34:56.1Z\","
    "\"targetModelArn\":\"arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/"
    "abcdefabcdef\",\"targetModelName\":\"prod-model\",\"sourceAccountId\":\"123456789012\","
    "\"sourceModelArn\":\"arn:aws:bedrock:us-east-1::foundation-model/a.b.c:1\","
    "\"failureMessage\":\"quota\"},"
    "{\"jobArn\":\"arn:aws:bedrock:us-east-1:123456789012:model-copy-job/000000000001\","
    "\"status\":\"InProgress\",\"creationTime\":\"2024-05-02T00:00:00Z\","
    "\"targetModelArn\":\"arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/"
    "000000000001\",\"sourceAccountId\":\"210987654321\","
    "\"sourceModelArn\":\"arn:aws:bedrock:us-east-1::foundation-model/a.b.c:1\"},"
    "{\"jobArn\":\"arn:aws:bedrock:us-east-1:123456789012:model-copy-job/000000000002\","
    "\"status\":\"Completed\",\"creationTime\":\"2024-05-02T00:00:00Z\","
    "\"targetModelArn\":\"arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/"
    "000000000002\",\"targetModelName\":\"test-2\",\"sourceAccountId\":\"210987654321\","
    "\"sourceModelArn\":\"arn:aws:bedrock:us-east-1:210987654321:custom-model/imported/"
    "zyxwvu987654\"}]}";

static struct {
    char dir[64];
    char socket_path[128];
    struct cj_settings settings;
    sd_event *event;
    struct cj_store *store;
    struct cj_server *server;
} f;

static void die(const char *what, int r)
{
    fprintf(stderr, "fuzz-server-request: %s: %s\n", what, strerror(r < 0 ? -r : r));
    abort();
}

/* libFuzzer ends a run by exit(): the server, the store and their directory go then, so that
 * runs leave nothing behind. */
static void teardown(void)
{
    cj_server_free(f.server);
    sd_event_unref(f.event);
    cj_store_close(f.store);
    (void)test_rm_tree(f.dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    struct cj_page p = {0};
    struct cj_store_changes changes = {0};
    char err[256];
    int r;

    cj_log_set_max_level(LOG_CRIT); /* every bad request would be logged otherwise */
    snprintf(f.dir, sizeof(f.dir), "/tmp/cj-fuzz-server-XXXXXX");
    if (!mkdtemp(f.dir))
        die("mkdtemp", errno);
    snprintf(f.socket_path, sizeof(f.socket_path), "%s/api.sock", f.dir);
    if (atexit(teardown) != 0)
        die("atexit", ENOMEM);

    struct cj_store_options o = {.directory = f.dir, .max_size = 64 * 1024 * 1024};
    if ((r = cj_store_open(&o, &f.store)) < 0)
        die("store", r);
    if ((r = cj_page_parse(page, sizeof(page) - 1, &p, err, sizeof(err))) < 0 || p.n_jobs != 3)
        die("page", r < 0 ? r : -EINVAL);
    if ((r = cj_store_put_jobs(f.store, "us-east-1", NULL, p.jobs, p.n_jobs, &changes)) < 0)
        die("put", r);
    cj_page_done(&p);

    f.settings.sync.full_interval_usec = 15 * 60 * CJ_USEC_PER_SEC;
    f.settings.server.socket = f.socket_path;
    f.settings.server.socket_mode = 0600;
    f.settings.server.max_connections = 16;
    if ((r = sd_event_new(&f.event)) < 0)
        die("sd_event_new", r);
    if ((r = cj_server_new(f.event, f.store, NULL, &f.settings, &f.server)) < 0)
        die("server", r);
    return 0;
}

static int connect_client(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, f.socket_path, strlen(f.socket_path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        die("socket", errno);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        die("connect", errno);
    return fd;
}

/* Dispatches what is ready, without waiting. Returns how many events ran. */
static int run_ready(void)
{
    int n = 0;
    while (n < SPINS && sd_event_run(f.event, 0) > 0)
        n++;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char sink[16384];
    size_t sent = 0;
    bool closed = false;

    if (size > INPUT_MAX)
        return 0;
    int fd = connect_client();
    for (int round = 0; round < ROUNDS && !closed; round++) {
        bool progress = false;
        if (sent < size) {
            ssize_t n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
            if (n > 0) {
                sent += (size_t)n;
                progress = true;
            } else if (n < 0 && errno != EAGAIN) {
                sent = size; /* the server closed on us: nothing more to send */
            }
            if (sent == size)
                (void)shutdown(fd, SHUT_WR);
        }
        if (run_ready() > 0)
            progress = true;
        for (;;) {
            ssize_t n = recv(fd, sink, sizeof(sink), 0);
            if (n > 0) {
                progress = true;
                continue;
            }
            if (n == 0 || errno != EAGAIN)
                closed = true;
            break;
        }
        if (!progress)
            break;
    }
    close(fd);
    /* Let the server see the close, so connections do not pile up across inputs. */
    (void)run_ready();
    return 0;
}
