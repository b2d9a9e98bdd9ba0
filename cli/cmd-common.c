/* SPDX-License-Identifier: MIT */
#include "cmd-common.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "output.h"

int ctl_parse_command(const struct ctl_command *cmd, int argc, char **argv, struct ctl_args *a)
{
    struct option options[16];
    size_t n = 0;
    int opt, r;

    for (const struct option *o = cmd->options; o && o->name; o++) {
        if (n + 3 > ELEMENTSOF(options))
            return ctl_error("%s: too many options", cmd->name);
        options[n++] = *o;
    }
    options[n++] = (struct option){"output", required_argument, NULL, 'o'};
    options[n++] = (struct option){"help", no_argument, NULL, 'h'};
    options[n] = (struct option){0};

    *a = (struct ctl_args){.output = CTL_OUTPUT_TABLE};
    while ((opt = getopt_long(argc, argv, ":o:h", options, NULL)) != -1) {
        switch (opt) {
        case 'o':
            r = ctl_parse_output(cmd->name, optarg, cmd->outputs, &a->output);
            break;
        case 'h':
            ctl_help();
            return -1;
        case ':':
        case '?':
            return ctl_bad_option(cmd->name, opt, argv);
        default:
            r = cmd->parse_option(a, opt, optarg);
            break;
        }
        if (r != 0)
            return r;
    }
    if (cmd->operand) {
        if (optind >= argc)
            return ctl_usage_error("%s: missing %s", cmd->name, cmd->operand);
        a->operand = argv[optind++];
    }
    if (optind < argc)
        return ctl_usage_error("%s: unexpected argument '%s'", cmd->name, argv[optind]);
    return cmd->check ? cmd->check(a) : 0;
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

int ctl_print_answer(enum ctl_output output, const json_t *answer, const struct ctl_response *resp,
                     ctl_table_fn table)
{
    int r = output == CTL_OUTPUT_JSON ? ctl_json_print(stdout, answer) : table(answer, resp);
    if (r < 0)
        return ctl_error("writing the output: %s", strerror(-r));
    return CTL_EXIT_OK;
}

int ctl_show_object(struct ctl_client *client, const char *target, enum ctl_output output,
                    const struct ctl_show *show)
{
    struct ctl_response resp = {.age = -1};
    json_t *answer = NULL;

    int ret = ctl_fetch_object(client, show->method, target, show->what, show->ok_statuses, &resp,
                               &answer);
    if (ret == CTL_EXIT_OK)
        ret = ctl_print_answer(output, answer, &resp, show->table);
    if (ret == CTL_EXIT_OK && show->verdict)
        ret = show->verdict(answer, &resp);
    json_decref(answer);
    ctl_response_done(&resp);
    return ret;
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
