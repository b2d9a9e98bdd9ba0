/* SPDX-License-Identifier: MIT */
/* copyjobctl: what the commands share. Parsing lives in cmd-common.c and cmd-*.c, talking to the
 * daemon in client.c, and presenting answers in output-*.c, so each can change alone. */
#pragma once

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

/* Exit codes, documented in --help. */
enum {
    CTL_EXIT_OK = 0,
    CTL_EXIT_FAILURE = 1,     /* an error, or "not ok" (health, a failed sync) */
    CTL_EXIT_UNREACHABLE = 2, /* copyjobd could not be reached */
    CTL_EXIT_USAGE = 64,      /* EX_USAGE: bad command line */
};

#define CTL_DEFAULT_SOCKET "/run/copyjobd/copyjobd.sock"

enum ctl_output {
    CTL_OUTPUT_TABLE,
    CTL_OUTPUT_JSON,
    CTL_OUTPUT_NDJSON,
    CTL_OUTPUT_CSV,
};

/* list's filters and bounds. */
struct ctl_list_args {
    const char *status, *account, *source_model, *name_contains, *sort_order;
    const char *job_region, *job_account; /* of the job's own ARN */
    const char *since_text, *until_text;
    int64_t now; /* what --since and --until are relative to: one instant for both */
    int64_t since, until;
    unsigned long limit; /* 0 = none (only with --all) */
    bool has_limit, all;
};

/* What the command line asked for: one struct for every command, as bgpctl's parse_result.
 * A command's parser fills in its own fields and leaves the others zero. */
struct ctl_args {
    enum ctl_output output; /* --output; a table when not given */
    const char *operand;    /* the positional argument of a command that takes one */
    /* sync */
    bool full, wait;
    /* watch */
    const char *after;
    /* list */
    struct ctl_list_args list;
};

struct ctl_client;

/* One command: its row in main.c's table, chosen once by name. ctl_parse_command() reads
 * its options (its own, then --output and --help, which every command has) and operand;
 * main.c then connects and calls run. */
struct ctl_command {
    const char *name;
    unsigned outputs;             /* the --output formats it accepts (CTL_OUTPUT_BIT) */
    const char *operand;          /* its one positional argument ("the job's ARN"); NULL = none */
    const struct option *options; /* its own long options, {}-terminated; NULL = none */
    /* Takes one of those options (opt is its val). Returns 0 or CTL_EXIT_USAGE after saying
     * why. */
    int (*parse_option)(struct ctl_args *a, int opt, const char *arg);
    /* Checks the whole command line once read. Returns 0 or CTL_EXIT_USAGE; NULL = none. */
    int (*check)(struct ctl_args *a);
    /* Does the work; returns the exit code. */
    int (*run)(struct ctl_client *client, const struct ctl_args *a);
};

extern const struct ctl_command ctl_command_list, ctl_command_get, ctl_command_stats,
    ctl_command_health, ctl_command_sync, ctl_command_watch;

/* Parses argv (argv[0] = the command's name) for cmd into *a. Returns 0, -1 after --help
 * (printed), or CTL_EXIT_USAGE after saying why. */
int ctl_parse_command(const struct ctl_command *cmd, int argc, char **argv, struct ctl_args *a);

/* "copyjobctl: <message>" on stderr, then the hint to --help; returns CTL_EXIT_USAGE. */
int ctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "copyjobctl: <message>" on stderr; returns CTL_EXIT_FAILURE. */
int ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses --output NAME for a command that accepts the formats in `allowed` (a bit mask of
 * 1 << enum ctl_output). Returns 0, or CTL_EXIT_USAGE after printing why. */
int ctl_parse_output(const char *command, const char *name, unsigned allowed, enum ctl_output *ret);
/* Every command prints a table when --output is not given. */
#define CTL_OUTPUT_BIT(o) (1u << (o))

/* Shared by every command's option parser: handles the option getopt_long returned
 * for unknown options and missing arguments. Returns CTL_EXIT_USAGE. */
int ctl_bad_option(const char *command, int opt, char **argv);
/* Prints the full help text to stdout. */
void ctl_help(void);
