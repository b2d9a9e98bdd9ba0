/* SPDX-License-Identifier: MIT */
/* What the commands share: asking for one JSON object and printing it. */
#pragma once

#include <jansson.h>

#include "client.h"
#include "ctl.h"

/* Prints an answer as a table, given the answer and the response it came in. Returns 0 or a
 * negative errno. */
typedef int (*ctl_table_fn)(const json_t *answer, const struct ctl_response *resp);
/* The exit code an answer stands for (health: whether it is ok). */
typedef int (*ctl_verdict_fn)(const json_t *answer, const struct ctl_response *resp);

/* Sends the request and parses the answer as a JSON object when its status is one of
 * `ok_statuses` (0-terminated) and it carries no x-amzn-ErrorType. Returns CTL_EXIT_OK with
 * *ret set (resp->status says which), or the exit code after explaining the failure. */
int ctl_fetch_object(struct ctl_client *client, const char *method, const char *target,
                     const char *what, const long *ok_statuses, struct ctl_response *resp,
                     json_t **ret);

/* Prints an answer: as it came with --output json, else with table. Returns CTL_EXIT_OK, or
 * CTL_EXIT_FAILURE after saying why the output could not be written. */
int ctl_print_answer(enum ctl_output output, const json_t *answer, const struct ctl_response *resp,
                     ctl_table_fn table);

/* A request whose answer is one object, printed (get, stats, health). */
struct ctl_show {
    const char *method;
    const char *what;        /* "the job", for messages */
    const long *ok_statuses; /* 0-terminated */
    ctl_table_fn table;
    ctl_verdict_fn verdict; /* for a printed answer; NULL = CTL_EXIT_OK */
};

/* ctl_fetch_object(), then ctl_print_answer(), then the verdict. Returns the exit code. */
int ctl_show_object(struct ctl_client *client, const char *target, enum ctl_output output,
                    const struct ctl_show *show);

/* The age of the cache as one "key: value" worth of text, or NULL if the answer did not say. */
const char *ctl_cache_age_text(const struct ctl_response *resp, char *buf, size_t size);
