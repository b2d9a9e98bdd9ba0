/* SPDX-License-Identifier: MIT */
#include "cmd-common.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "output.h"

int ctl_parse_simple(const char *command, int argc, char **argv, enum ctl_output *ret_output)
{
    static const struct option options[] = {
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {},
    };
    int opt, r;

    *ret_output = CTL_OUTPUT_TABLE;
    while ((opt = getopt_long(argc, argv, ":o:h", options, NULL)) != -1) {
        switch (opt) {
        case 'o':
            r = ctl_parse_output(command, optarg,
                                 CTL_OUTPUT_BIT(CTL_OUTPUT_TABLE) | CTL_OUTPUT_BIT(CTL_OUTPUT_JSON),
                                 ret_output);
            if (r != 0)
                return r;
            break;
        case 'h':
            ctl_help();
            return -1;
        default:
            return ctl_bad_option(command, opt, argv);
        }
    }
    return 0;
}

int ctl_fetch_object(struct ctl_client *client, const char *method, const char *target,
                     const char *what, const long *ok_statuses, struct ctl_response *resp,
                     json_t **ret)
{
    int r = ctl_client_request(client, method, target, resp);
    if (r < 0)
        return ctl_client_report(client, r);

    bool ok = false;
    for (const long *s = ok_statuses; *s; s++)
        ok = ok || resp->status == *s;
    if (!ok || resp->error_type[0])
        return ctl_response_report_error(resp);

    *ret = ctl_json_parse_object(resp, what);
    return *ret ? CTL_EXIT_OK : CTL_EXIT_FAILURE;
}

const char *ctl_cache_age_text(const struct ctl_response *resp, char *buf, size_t size)
{
    if (!resp->synced_at[0])
        return NULL;
    if (resp->age >= 0)
        snprintf(buf, size, "%s (%llds ago)", resp->synced_at, resp->age);
    else
        snprintf(buf, size, "%s", resp->synced_at);
    return buf;
}
