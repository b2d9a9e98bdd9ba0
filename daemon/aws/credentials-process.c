/* SPDX-License-Identifier: MIT */
/* credential_process: a command of the user's that prints credentials as JSON. It runs in a
 * process group of its own so that a timeout or an oversized answer kills everything it
 * started, with the signal mask and dispositions reset (the daemon blocks the signals its
 * event loop reads, and a child would inherit that). Every wait is bounded by the deadline and
 * ends early, killing the group, when the lookup is abandoned. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cj-time.h"
#include "credentials-internal.h"
#include "log.h"

extern char **environ;

#define STDERR_LINE_MAX 512

static uint64_t now_usec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int spawn(const char *command, int out_fd, int err_fd, pid_t *ret)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t empty, all;
    int r;

    sigemptyset(&empty);
    sigfillset(&all);
    if ((r = posix_spawn_file_actions_init(&fa)) != 0)
        return -r;
    if ((r = posix_spawnattr_init(&attr)) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return -r;
    }
    char *const argv[] = {(char *)"sh", (char *)"-c", (char *)command, NULL};
    if ((r = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0)) ||
        (r = posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO)) ||
        (r = posix_spawn_file_actions_adddup2(&fa, err_fd, STDERR_FILENO)) ||
        (r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                 POSIX_SPAWN_SETSIGDEF)) ||
        (r = posix_spawnattr_setpgroup(&attr, 0)) ||
        (r = posix_spawnattr_setsigmask(&attr, &empty)) ||
        (r = posix_spawnattr_setsigdefault(&attr, &all)))
        goto out;
    r = posix_spawn(ret, "/bin/sh", &fa, &attr, argv, environ);
out:
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return -r;
}

/* Logs complete lines of the child's stderr at debug, bounded in length. */
static void flush_stderr_lines(const char *profile, char *buf, size_t *len, bool all)
{
    for (;;) {
        char *nl = memchr(buf, '\n', *len);
        size_t n = nl ? (size_t)(nl - buf) : (all || *len == STDERR_LINE_MAX ? *len : 0);
        if (n == 0 && !nl)
            return;
        if (n > 0) {
            /* Whatever the helper prints must not reach the journal as control sequences. */
            for (size_t i = 0; i < n; i++)
                if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] == 0x7f)
                    buf[i] = '?';
            log_debug("credential_process (profile %s) stderr: %.*s", profile, (int)n, buf);
        }
        size_t used = nl ? n + 1 : n;
        memmove(buf, buf + used, *len - used);
        *len -= used;
        if (*len == 0)
            return;
    }
}

struct child_io {
    int out, err; /* -1 once closed */
    struct cj_secret_buf *output;
    char errline[STDERR_LINE_MAX];
    size_t errlen;
};

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* One poll round of at most timeout_ms; reads whatever is there. */
static void pump(struct child_io *io, const char *profile, int timeout_ms)
{
    struct pollfd p[2] = {{.fd = io->out, .events = POLLIN}, {.fd = io->err, .events = POLLIN}};
    if (poll(p, 2, timeout_ms) <= 0)
        return;

    if (p[0].revents) {
        char chunk[4096];
        ssize_t n = read(io->out, chunk, sizeof(chunk));
        if (n > 0)
            aws_secret_buf_append(io->output, chunk, (size_t)n);
        else if (n == 0 || (errno != EINTR && errno != EAGAIN))
            close_fd(&io->out);
        cj_explicit_zero(chunk, sizeof(chunk));
    }
    if (p[1].revents) {
        ssize_t n = read(io->err, io->errline + io->errlen, sizeof(io->errline) - io->errlen);
        if (n > 0) {
            io->errlen += (size_t)n;
            flush_stderr_lines(profile, io->errline, &io->errlen, false);
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
            close_fd(&io->err);
        }
    }
}

int aws_credential_process_run(const char *command, const char *profile, uint64_t timeout_usec,
                               struct cj_aws_credentials *ret)
{
    _cleanup_secret_buf_ struct cj_secret_buf output = {0};
    int outp[2] = {-1, -1}, errp[2] = {-1, -1};
    pid_t pid = -1;
    int status = 0, r;

    *ret = (struct cj_aws_credentials){0};
    if ((r = aws_secret_buf_init(&output, CJ_CRED_RESPONSE_MAX)) < 0)
        return r;
    if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
        r = log_error_errno(errno, "credential_process (profile %s): cannot create a pipe: %m",
                            profile);
        goto out;
    }
    r = spawn(command, outp[1], errp[1], &pid);
    close_fd(&outp[1]);
    close_fd(&errp[1]);
    if (r < 0) {
        pid = -1;
        r = log_error_errno(r, "credential_process (profile %s): cannot start /bin/sh: %m",
                            profile);
        goto out;
    }

    struct child_io io = {.out = outp[0], .err = errp[0], .output = &output};
    outp[0] = errp[0] = -1;
    uint64_t deadline = now_usec() + timeout_usec;
    bool reaped = false, cancelled = false;
    while (!(reaped && io.out < 0)) {
        uint64_t now = now_usec();
        if (now >= deadline || output.overflow)
            break;
        if (aws_cred_cancelled()) {
            cancelled = true;
            break;
        }
        uint64_t left_ms = (deadline - now + 999) / 1000;
        /* Wake at least every 50 ms to notice the exit of a child whose grandchildren keep
         * its stderr open. */
        if (io.out >= 0 || io.err >= 0)
            pump(&io, profile, (int)(left_ms < 50 ? left_ms : 50));
        else
            poll(NULL, 0, (int)(left_ms < 10 ? left_ms : 10));
        if (!reaped) {
            pid_t w = waitpid(pid, &status, WNOHANG);
            if (w == pid)
                reaped = true;
        }
    }
    flush_stderr_lines(profile, io.errline, &io.errlen, true);
    close_fd(&io.out);
    close_fd(&io.err);

    if (!reaped) {
        (void)kill(-pid, SIGKILL);
        (void)waitpid(pid, &status, 0);
        if (cancelled) {
            log_debug("credential_process (profile %s): the lookup was abandoned; killed it",
                      profile);
            r = -ECANCELED;
        } else if (output.overflow)
            r = log_error_errno(EFBIG,
                                "credential_process (profile %s) printed more than %zu bytes",
                                profile, CJ_CRED_RESPONSE_MAX);
        else
            r = log_error_errno(ETIME,
                                "credential_process (profile %s) did not finish within %" PRIu64
                                " ms; killed it",
                                profile, timeout_usec / 1000);
        goto out;
    }
    /* The shell is gone; anything it left in its group goes with it. */
    (void)kill(-pid, SIGKILL);
    if (output.overflow) {
        r = log_error_errno(EFBIG, "credential_process (profile %s) printed more than %zu bytes",
                            profile, CJ_CRED_RESPONSE_MAX);
        goto out;
    }
    if (WIFSIGNALED(status)) {
        r = log_error_errno(EPROTO, "credential_process (profile %s) was killed by signal %d",
                            profile, WTERMSIG(status));
        goto out;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        r = log_error_errno(EPROTO, "credential_process (profile %s) exited with status %d",
                            profile, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        goto out;
    }

    char why[200];
    r = aws_cred_parse_json(CJ_CRED_JSON_PROCESS, output.data, output.len, cj_now_ns(), ret, why,
                            sizeof(why));
    if (r < 0)
        r = log_error_errno(r == -ENOMEM ? ENOMEM : (r == -EKEYEXPIRED ? EKEYEXPIRED : EPROTO),
                            "credential_process (profile %s) printed unusable credentials: %s",
                            profile, why);
out:
    close_fd(&outp[0]);
    close_fd(&outp[1]);
    close_fd(&errp[0]);
    close_fd(&errp[1]);
    return r;
}
