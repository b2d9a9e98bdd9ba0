/* SPDX-License-Identifier: MIT */
/* sync: POST /v1/sync?full=..&wait=..; with --wait, the sync's result once it ends. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd-common.h"
#include "output.h"
#include "signals.h"
#include "terminal.h"

struct spinner {
    struct timespec start, last;
    unsigned frame;
    bool drawn;
};

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void spinner_tick(void *userdata)
{
    static const char frames[] = "|/-\\";
    struct spinner *s = userdata;
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    if (s->drawn && seconds_between(&s->last, &now) < 0.1)
        return;
    s->last = now;
    s->drawn = true;
    fprintf(stderr, "\r%c waiting for the sync to finish (%lds)", frames[s->frame++ % 4],
            (long)seconds_between(&s->start, &now));
    fflush(stderr);
}

static void spinner_clear(struct spinner *s)
{
    if (s->drawn)
        fputs("\r\033[K", stderr);
}

static int print_result(const json_t *result)
{
    json_t *changes = json_object_get(result, "changes");
    json_t *error = json_object_get(result, "error");
    struct cj_buf scratch[6] = {};
    const char *type = json_string_value(json_object_get(error, "type"));
    const char *message = json_string_value(json_object_get(error, "message"));
    const char *error_text = NULL;

    if (json_is_object(error) &&
        cj_buf_printf(&scratch[5], "%s: %s", type ? type : "-", message ? message : "-") >= 0)
        error_text = scratch[5].data;

    const char *keys[] = {"result", "error", "jobs", "created", "updated", "removed"};
    const char *values[] = {
        ctl_json_text(result, "result", &scratch[0]),
        error_text,
        ctl_json_text(result, "jobs", &scratch[1]),
        ctl_json_text(changes, "created", &scratch[2]),
        ctl_json_text(changes, "updated", &scratch[3]),
        ctl_json_text(changes, "removed", &scratch[4]),
    };
    int r = ctl_kv_print(stdout, keys, values, ELEMENTSOF(keys));
    for (size_t i = 0; i < ELEMENTSOF(scratch); i++)
        cj_buf_free(&scratch[i]);
    return r;
}

/* 200: the sync ended (--wait), 202: it started, was joined, or was refused for
 * sync.min_on_demand_interval (neither started nor joined). */
static int print_answer(const json_t *answer, const struct ctl_response *resp)
{
    if (resp->status == 200)
        return print_result(answer);
    bool joined = json_is_true(json_object_get(answer, "joined"));
    bool started = json_is_true(json_object_get(answer, "started"));
    puts(joined    ? "joined the sync already running"
         : started ? "sync started"
                   : "no sync started: the last one a client asked for started less than "
                     "sync.min_on_demand_interval ago");
    return 0;
}

static int parse_option(struct ctl_args *a, int opt, const char *arg)
{
    if (opt == 'f')
        a->full = true;
    else
        a->wait = true;
    return 0;
}

static int run(struct ctl_client *client, const struct ctl_args *a)
{
    struct ctl_response resp = {.age = -1};
    struct spinner spinner = {0};
    json_t *answer = NULL;
    char target[64];

    snprintf(target, sizeof(target), "/v1/sync?full=%s&wait=%s", a->full ? "true" : "false",
             a->wait ? "true" : "false");
    if (a->wait) {
        /* A sync takes as long as AWS takes; Ctrl-C ends the wait, not the sync. */
        ctl_client_set_timeout(client, 0);
        if (ctl_catch_interrupts() < 0)
            return ctl_error("cannot catch SIGINT");
        if (ctl_terminal_progress()) {
            clock_gettime(CLOCK_MONOTONIC, &spinner.start);
            ctl_client_set_tick(client, spinner_tick, &spinner);
        }
    }

    int ret = ctl_fetch_object(client, "POST", target, "the sync", (const long[]){200, 202, 0},
                               &resp, &answer);
    spinner_clear(&spinner);
    if (ret == CTL_EXIT_OK)
        ret = ctl_print_answer(a->output, answer, &resp, print_answer);
    if (ret == CTL_EXIT_OK && resp.status == 200) {
        const char *result = json_string_value(json_object_get(answer, "result"));
        if (!result || strcmp(result, "ok") != 0)
            ret = CTL_EXIT_FAILURE;
    }
    json_decref(answer);
    ctl_response_done(&resp);
    return ret;
}

const struct ctl_command ctl_command_sync = {
    .name = "sync",
    .outputs = CTL_OUTPUT_BIT(CTL_OUTPUT_TABLE) | CTL_OUTPUT_BIT(CTL_OUTPUT_JSON),
    .options =
        (const struct option[]){
            {"full", no_argument, NULL, 'f'},
            {"wait", no_argument, NULL, 'w'},
            {},
        },
    .parse_option = parse_option,
    .run = run,
};
