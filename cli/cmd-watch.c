/* SPDX-License-Identifier: MIT */
/* watch: GET /v1/events?after=SEQ, an NDJSON stream of changes, printed as they arrive until
 * interrupted (which is a normal end: exit 0). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cmd-common.h"
#include "output.h"
#include "signals.h"
#include "text.h"

struct watch {
    enum ctl_output output;
    uint64_t events;
};

/* "42  created  Failed      abcdefghijkl  my-model  2024-05-01 12:34:56  <failure>" */
static int print_summary(const json_t *event)
{
    _cleanup_buf_ struct cj_buf line = {0}, scratch = {0};
    json_t *job = json_object_get(event, "job");
    char created[32];
    const char *seq = ctl_json_text(event, "seq", &scratch);
    const char *type = json_string_value(json_object_get(event, "type"));
    const char *status = json_string_value(json_object_get(job, "status"));
    const char *name = json_string_value(json_object_get(job, "targetModelName"));
    const char *id = ctl_job_id(job);
    const char *when = ctl_job_created(job, created, sizeof(created));
    const char *failure = json_string_value(json_object_get(job, "failureMessage"));

    /* The failure message, last, only when there is one. */
    const struct {
        const char *text;
        size_t width;
        bool pad;
    } columns[] = {
        {seq, 8, true},   {type, 7, true},   {status, 10, true},    {id, 12, true},
        {when, 19, true}, {name, 63, false}, {failure, 200, false},
    };
    size_t n = failure ? ELEMENTSOF(columns) : ELEMENTSOF(columns) - 1;
    int r = 0;
    for (size_t i = 0; i < n && r >= 0; i++) {
        if (i > 0)
            r = cj_buf_append_str(&line, "  ");
        if (r >= 0)
            r = ctl_text_append_fitted(&line, columns[i].text ? columns[i].text : "-",
                                       columns[i].width, false, columns[i].pad);
    }
    if (r < 0)
        return r;
    puts(line.data);
    return 0;
}

static int on_event(const char *text, size_t len, void *userdata)
{
    struct watch *w = userdata;
    json_error_t error;

    if (len == 0 || strspn(text, " \t") == len)
        return 0; /* a keep-alive */
    json_t *event = json_loadb(text, len, 0, &error);
    if (!json_is_object(event)) {
        json_decref(event);
        ctl_error("copyjobd sent an event that is not a JSON object%s%s", event ? "" : ": ",
                  event ? "" : error.text);
        return -EBADMSG;
    }
    int r =
        w->output == CTL_OUTPUT_TABLE ? print_summary(event) : ctl_json_print_line(stdout, event);
    json_decref(event);
    if (r < 0 || fflush(stdout) != 0)
        return -EPIPE;
    w->events++;
    return 0;
}

/* An event's id (32 lower-case hex digits of the store, '-', the seq) or its bare seq: the
 * daemon checks the rest. */
static int parse_option(struct ctl_args *a, int opt, const char *arg)
{
    const char *seq = arg;
    if (strspn(arg, "0123456789abcdef") == 32 && arg[32] == '-')
        seq = arg + 33;
    char *end;
    errno = 0;
    (void)strtoull(seq, &end, 10);
    if (errno != 0 || end == seq || *end != '\0' || seq[0] < '0' || seq[0] > '9')
        return ctl_usage_error(
            "--after must be an event's id (STOREID-SEQ) or its sequence number (0 or more)");
    a->after = arg;
    return 0;
}

static int run(struct ctl_client *client, const struct ctl_args *a)
{
    _cleanup_buf_ struct cj_buf target = {0};
    struct ctl_response resp = {.age = -1};
    struct watch w = {.output = a->output};

    int r = cj_buf_append_str(&target, "/v1/events");
    if (r >= 0 && a->after)
        r = ctl_query_add(&target, "after", a->after);
    if (r < 0)
        return ctl_error("out of memory");
    ctl_client_set_timeout(client, 0);
    if (ctl_catch_interrupts() < 0)
        return ctl_error("cannot catch SIGINT");

    int ret;
    r = ctl_client_stream(client, target.data, on_event, &w, &resp);
    if (r == -ECANCELED)
        ret = CTL_EXIT_OK; /* interrupted: how a watch normally ends */
    else if (r == -EBADMSG || r == -EPIPE)
        ret = CTL_EXIT_FAILURE;
    else if (r < 0)
        ret = ctl_client_report(client, r);
    else if (resp.status < 200 || resp.status >= 300)
        ret = ctl_response_report_error(&resp);
    else
        ret = ctl_error("copyjobd ended the event stream");
    ctl_response_done(&resp);
    return ret;
}

const struct ctl_command ctl_command_watch = {
    .name = "watch",
    .outputs = CTL_OUTPUT_BIT(CTL_OUTPUT_TABLE) | CTL_OUTPUT_BIT(CTL_OUTPUT_JSON) |
               CTL_OUTPUT_BIT(CTL_OUTPUT_NDJSON),
    .options =
        (const struct option[]){
            {"after", required_argument, NULL, 'a'},
            {},
        },
    .parse_option = parse_option,
    .run = run,
};
