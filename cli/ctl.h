/* SPDX-License-Identifier: MIT */
/* copyjobctl: what the commands share. Parsing lives in main.c and cmd-*.c, talking to the
 * daemon in client.c, and presenting answers in output-*.c, so each can change alone. */
#pragma once

#include <stdbool.h>

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

struct ctl_context {
    const char *socket_path;
};

/* Every command gets argv with argv[0] = the command's name and returns an exit code. */
int ctl_cmd_list(const struct ctl_context *ctx, int argc, char **argv);
int ctl_cmd_get(const struct ctl_context *ctx, int argc, char **argv);
int ctl_cmd_stats(const struct ctl_context *ctx, int argc, char **argv);
int ctl_cmd_health(const struct ctl_context *ctx, int argc, char **argv);
int ctl_cmd_sync(const struct ctl_context *ctx, int argc, char **argv);
int ctl_cmd_watch(const struct ctl_context *ctx, int argc, char **argv);

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
