/* SPDX-License-Identifier: MIT */
/* What the single-request commands (get, stats, health, sync) share. */
#pragma once

#include <jansson.h>

#include "client.h"
#include "ctl.h"

/* Parses "[--output table|json] [ARG...]" for `command`; the positional arguments are left
 * in argv[optind..]. Returns 0, -1 after --help, or CTL_EXIT_USAGE. */
int ctl_parse_simple(const char *command, int argc, char **argv, enum ctl_output *ret_output);

/* Sends the request and parses the answer as a JSON object when its status is one of
 * `ok_statuses` (0-terminated) and it carries no x-amzn-ErrorType. Returns CTL_EXIT_OK with
 * *ret set (and *ret_status the status), or the exit code after explaining the failure. */
int ctl_fetch_object(struct ctl_client *client, const char *method, const char *target,
                     const char *what, const long *ok_statuses, struct ctl_response *resp,
                     json_t **ret);

/* The age of the cache as one "key: value" worth of text, or NULL if the answer did not say. */
const char *ctl_cache_age_text(const struct ctl_response *resp, char *buf, size_t size);
