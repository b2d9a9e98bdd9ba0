/* SPDX-License-Identifier: MIT */
/* health: GET /v1/health. The exit code is the answer: 0 ok, 1 anything else, 2 unreachable. */
#include <getopt.h>
#include <string.h>

#include "cmd-common.h"
#include "output.h"

static const char *error_text(const json_t *health, struct cj_buf *out)
{
    json_t *error = json_object_get(health, "lastError");
    if (!json_is_object(error))
        return NULL;
    const char *type = json_string_value(json_object_get(error, "type"));
    const char *message = json_string_value(json_object_get(error, "message"));
    cj_buf_reset(out);
    if (cj_buf_printf(out, "%s: %s", type ? type : "-", message ? message : "-") < 0)
        return NULL;
    return out->data;
}

static int print_health(const json_t *health)
{
    struct cj_buf scratch[5] = {};
    const char *keys[] = {"state", "jobs", "last successful sync", "last attempt", "last error"};
    const char *values[] = {
        ctl_json_text(health, "state", &scratch[0]),
        ctl_json_text(health, "jobs", &scratch[1]),
        ctl_json_text(health, "lastSuccessfulSync", &scratch[2]),
        ctl_json_text(health, "lastAttempt", &scratch[3]),
        error_text(health, &scratch[4]),
    };
    int r = ctl_kv_print(stdout, keys, values, ELEMENTSOF(keys));
    for (size_t i = 0; i < ELEMENTSOF(scratch); i++)
        cj_buf_free(&scratch[i]);
    return r;
}

int ctl_cmd_health(const struct ctl_context *ctx, int argc, char **argv)
{
    _cleanup_client_ struct ctl_client *client = NULL;
    struct ctl_response resp = {.age = -1};
    enum ctl_output output;
    json_t *health = NULL;

    int r = ctl_parse_simple("health", argc, argv, &output);
    if (r != 0)
        return r < 0 ? CTL_EXIT_OK : r;
    if (optind < argc)
        return ctl_usage_error("health: unexpected argument '%s'", argv[optind]);
    r = ctl_client_new(ctx->socket_path, &client);
    if (r < 0)
        return ctl_error("cannot set up the HTTP client: %s", strerror(-r));

    /* 503 is how the daemon says "not ok"; its body is still the health report. */
    int ret = ctl_fetch_object(client, "GET", "/v1/health", "the health report",
                               (const long[]){200, 503, 0}, &resp, &health);
    if (ret == CTL_EXIT_OK) {
        const char *state = json_string_value(json_object_get(health, "state"));
        r = output == CTL_OUTPUT_JSON ? ctl_json_print(stdout, health) : print_health(health);
        if (r < 0)
            ret = ctl_error("writing the output: %s", strerror(-r));
        else if (!state || strcmp(state, "ok") != 0 || resp.status != 200)
            ret = CTL_EXIT_FAILURE;
    }
    json_decref(health);
    ctl_response_done(&resp);
    return ret;
}
