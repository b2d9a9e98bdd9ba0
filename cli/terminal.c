/* SPDX-License-Identifier: MIT */
#include "terminal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define MAX_WIDTH 10000

size_t ctl_terminal_width(void)
{
    const char *columns = getenv("COLUMNS");
    if (columns && *columns) {
        char *end;
        errno = 0;
        unsigned long n = strtoul(columns, &end, 10);
        if (errno == 0 && *end == '\0' && columns[0] != '-' && n > 0 && n <= MAX_WIDTH)
            return n;
    }

    struct winsize ws = {0};
    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return CTL_DEFAULT_WIDTH;
}

static bool dumb_terminal(void)
{
    const char *term = getenv("TERM");
    return !term || strcmp(term, "dumb") == 0;
}

bool ctl_terminal_colour(void)
{
    const char *no_colour = getenv("NO_COLOR");
    if (no_colour && *no_colour)
        return false;
    return isatty(STDOUT_FILENO) && !dumb_terminal();
}

bool ctl_terminal_progress(void)
{
    return isatty(STDERR_FILENO) && !dumb_terminal();
}
