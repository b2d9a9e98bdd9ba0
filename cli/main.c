/* SPDX-License-Identifier: MIT */
/* copyjobctl: the command line of copyjobd. Global options, then one command. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "ctl.h"
#include "text.h"

void ctl_help(void)
{
    fputs("Usage: copyjobctl [--socket PATH] COMMAND [OPTIONS]\n"
          "\n"
          "Queries copyjobd, the local cache of Amazon Bedrock model copy jobs.\n"
          "\n"
          "Commands:\n"
          "  list [--status S] [--since T] [--until T] [--account ID]\n"
          "       [--source-model ARN] [--name-contains STR] [--region R]\n"
          "       [--job-account ID] [--sort asc|desc]\n"
          "       [--limit N] [--all] [--output table|json|ndjson|csv]\n"
          "                      list jobs, newest first (--sort asc: oldest first)\n"
          "  get [--output table|json] ARN\n"
          "                      show one job\n"
          "  stats [--output table|json]\n"
          "                      count the cached jobs by status, in all and per source\n"
          "  health [--output table|json]\n"
          "                      show whether the cache is fresh, in all and per source\n"
          "  sync [--full] [--wait] [--output table|json]\n"
          "                      ask copyjobd to sync now (--full: a full reconcile;\n"
          "                      --wait: until it ends, printing its result)\n"
          "  watch [--after ID|SEQ] [--output table|json|ndjson]\n"
          "                      print changes as they happen, until interrupted\n"
          "\n"
          "Options of list:\n"
          "  --status S          InProgress, Completed or Failed\n"
          "  --since T, --until T\n"
          "                      jobs created after / before T: ISO 8601\n"
          "                      (2024-05-01T12:00:00Z, 2024-05-01) or that long before\n"
          "                      now (7d, 12h, 30m, 45s, 2w); both bounds are exclusive\n"
          "  --account ID        source account (12 digits)\n"
          "  --source-model ARN  source model ARN\n"
          "  --name-contains STR target model name contains STR (case-sensitive)\n"
          "  --region R          jobs in region R (the job's own, where the copy runs)\n"
          "  --job-account ID    jobs in account ID (the job's own, where the copy runs)\n"
          "  --limit N           rows to show: 1..1000, default 100; with --all, a cap on\n"
          "                      the total (default: no cap)\n"
          "  --all               follow every page\n"
          "  --output FORMAT     table (default), json (the API's own shape), ndjson (one\n"
          "                      job per line) or csv (RFC 4180)\n"
          "\n"
          "Global options:\n"
          "  --socket PATH       copyjobd's socket (default: $COPYJOBD_SOCKET, else\n"
          "                      " CTL_DEFAULT_SOCKET ")\n"
          "  -h, --help          show this help\n"
          "  -V, --version       show the version\n"
          "\n"
          "Tables fit $COLUMNS or the terminal's width; failed jobs are marked '!' (and red\n"
          "on a terminal, unless NO_COLOR is set).\n"
          "\n"
          "Exit status:\n"
          "  0   success (health: ok)\n"
          "  1   an error, or not ok (health: starting, degraded or stale; sync: failed)\n"
          "  2   copyjobd could not be reached\n"
          "  64  usage error\n",
          stdout);
}

/* Every message goes through the sanitiser: it may quote the daemon (jansson's error text,
 * curl's) or the command line, and neither may drive the terminal. */
_printf_(1, 0) static void vreport(const char *fmt, va_list ap)
{
    _cleanup_free_ char *raw = NULL;
    _cleanup_buf_ struct cj_buf clean = {0};

    if (vasprintf(&raw, fmt, ap) < 0) {
        raw = NULL;
        fputs("copyjobctl: out of memory", stderr);
        return;
    }
    if (ctl_text_append_sanitized(&clean, raw) < 0 || cj_buf_append_str(&clean, "") < 0) {
        fputs("copyjobctl: out of memory", stderr);
        return;
    }
    fprintf(stderr, "copyjobctl: %s", clean.data);
}

int ctl_usage_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(fmt, ap);
    va_end(ap);
    fputs("\nTry 'copyjobctl --help'.\n", stderr);
    return CTL_EXIT_USAGE;
}

int ctl_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CTL_EXIT_FAILURE;
}

int ctl_bad_option(const char *command, int opt, char **argv)
{
    const char *arg = argv[optind - 1];
    if (opt == ':')
        return ctl_usage_error("%s: option '%s' needs a value", command, arg);
    return ctl_usage_error("%s: unknown option '%s'", command, arg);
}

static const char *const output_names[] = {
    [CTL_OUTPUT_TABLE] = "table",
    [CTL_OUTPUT_JSON] = "json",
    [CTL_OUTPUT_NDJSON] = "ndjson",
    [CTL_OUTPUT_CSV] = "csv",
};

int ctl_parse_output(const char *command, const char *name, unsigned allowed, enum ctl_output *ret)
{
    char list[64] = "";
    size_t n = 0, count = 0;

    for (size_t i = 0; i < ELEMENTSOF(output_names); i++) {
        if (!(allowed & CTL_OUTPUT_BIT(i)))
            continue;
        if (strcmp(name, output_names[i]) == 0) {
            *ret = (enum ctl_output)i;
            return 0;
        }
        count++;
    }
    /* "table, json or csv" */
    for (size_t i = 0, k = 0; i < ELEMENTSOF(output_names); i++) {
        if (!(allowed & CTL_OUTPUT_BIT(i)))
            continue;
        k++;
        n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
                              k == 1       ? ""
                              : k == count ? " or "
                                           : ", ",
                              output_names[i]);
    }
    return ctl_usage_error("%s: --output must be %s", command, list);
}

static const struct ctl_command *const commands[] = {
    &ctl_command_list,   &ctl_command_get,  &ctl_command_stats,
    &ctl_command_health, &ctl_command_sync, &ctl_command_watch,
};

static const struct ctl_command *find_command(const char *name)
{
    for (size_t i = 0; i < ELEMENTSOF(commands); i++)
        if (strcmp(name, commands[i]->name) == 0)
            return commands[i];
    return NULL;
}

/* argv[0] is the command's name. */
static int run_command(const struct ctl_command *cmd, const char *socket_path, int argc,
                       char **argv)
{
    _cleanup_client_ struct ctl_client *client = NULL;
    struct ctl_args args;

    optind = 0; /* glibc: start the command's own getopt_long afresh */
    int r = ctl_parse_command(cmd, argc, argv, &args);
    if (r != 0)
        return r < 0 ? CTL_EXIT_OK : r;
    r = ctl_client_new(socket_path, &client);
    if (r < 0)
        return ctl_error("cannot set up the HTTP client: %s", strerror(-r));
    return cmd->run(client, &args);
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"socket", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {},
    };
    const char *socket_path = getenv("COPYJOBD_SOCKET");
    const char *socket_option = NULL;
    int opt;

    ctl_text_init();
    opterr = 0;
    /* '+': stop at the command, whose own options follow it. */
    while ((opt = getopt_long(argc, argv, "+:hV", options, NULL)) != -1) {
        switch (opt) {
        case 's':
            socket_option = optarg;
            break;
        case 'h':
            ctl_help();
            return CTL_EXIT_OK;
        case 'V':
            printf("copyjobctl %s\n", CJ_VERSION);
            return CTL_EXIT_OK;
        default:
            return ctl_bad_option("copyjobctl", opt, argv);
        }
    }

    if (socket_option)
        socket_path = socket_option;
    else if (!socket_path || !*socket_path)
        socket_path = CTL_DEFAULT_SOCKET;
    if (!*socket_path)
        return ctl_usage_error("--socket: the path is empty");
    if (strlen(socket_path) > CTL_SUN_PATH_MAX)
        return ctl_usage_error("socket path is longer than %d bytes: %s", CTL_SUN_PATH_MAX,
                               socket_path);

    if (optind >= argc)
        return ctl_usage_error("missing command: list, get, stats, health, sync or watch");
    const char *name = argv[optind];
    if (strcmp(name, "help") == 0) {
        ctl_help();
        return CTL_EXIT_OK;
    }
    const struct ctl_command *cmd = find_command(name);
    if (cmd) {
        int r = run_command(cmd, socket_path, argc - optind, argv + optind);
        if (fflush(stdout) != 0 || ferror(stdout)) {
            perror("copyjobctl: writing the output");
            return CTL_EXIT_FAILURE;
        }
        return r;
    }
    return ctl_usage_error("unknown command '%s': list, get, stats, health, sync or watch", name);
}
