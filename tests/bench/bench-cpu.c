/* SPDX-License-Identifier: MIT */
/* A server's CPU per answer, and the floor to compare it with. The CPU comes from
 * /proc/PID/task/TID/schedstat (first field: ns on CPU), summed over the threads, read only
 * once the server sleeps again: the kernel updates that field when a thread leaves the CPU, so
 * a reading taken while the server still runs would miss its latest work. The floor is a
 * child that replays, for each request, the exact bytes copyjobd just answered: what the
 * answer costs in system calls alone. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

pid_t peer_pid(int fd)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
        return -errno;
    return cred.pid;
}

void proc_cpu_close(struct proc_cpu *p)
{
    for (int i = 0; i < p->n; i++)
        close(p->fd[i]);
    if (p->stat_fd >= 0)
        close(p->stat_fd);
    *p = (struct proc_cpu){.pid = -1, .stat_fd = -1};
}

int proc_cpu_open(pid_t pid, struct proc_cpu *p)
{
    char path[320];
    struct dirent *e;
    DIR *d;

    *p = (struct proc_cpu){.pid = pid, .stat_fd = -1};
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    d = opendir(path);
    if (!d)
        return -errno;
    while ((e = readdir(d)) && p->n < PROC_CPU_MAX_THREADS) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0)
            p->fd[p->n++] = fd;
    }
    closedir(d);
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    p->stat_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (p->n == 0 || p->stat_fd < 0) {
        proc_cpu_close(p);
        return -ENOENT;
    }
    return 0;
}

/* Waits (bounded) until the main thread is neither running nor waiting for a CPU. */
static void wait_asleep(const struct proc_cpu *p)
{
    char buf[512];
    for (int i = 0; i < 20000; i++) {
        ssize_t k = pread(p->stat_fd, buf, sizeof(buf) - 1, 0);
        if (k <= 0)
            return;
        buf[k] = '\0';
        const char *s = strrchr(buf, ')'); /* the command name may hold anything */
        if (!s || s[1] != ' ' || s[2] != 'R')
            return;
        sched_yield(); /* pinned to our CPU, it can only finish once we step aside */
    }
}

int64_t proc_cpu_ns(const struct proc_cpu *p)
{
    int64_t sum = 0;
    char buf[128];
    wait_asleep(p);
    for (int i = 0; i < p->n; i++) {
        ssize_t k = pread(p->fd[i], buf, sizeof(buf) - 1, 0);
        if (k <= 0)
            continue; /* a thread that has exited */
        buf[k] = '\0';
        sum += strtoll(buf, NULL, 10);
    }
    return sum;
}

int64_t proc_minflt(const struct proc_cpu *p)
{
    char buf[512];
    ssize_t k = pread(p->stat_fd, buf, sizeof(buf) - 1, 0);
    if (k <= 0)
        return -1;
    buf[k] = '\0';
    /* After the command name: state, ppid, pgrp, session, tty_nr, tpgid, flags, minflt. */
    const char *s = strrchr(buf, ')');
    if (!s)
        return -1;
    s++;
    for (int field = 0; field < 7; field++) {
        s = strchr(s + 1, ' ');
        if (!s)
            return -1;
    }
    return strtoll(s + 1, NULL, 10);
}

/* ---- the replay server ---- */

static ssize_t write_all(int fd, const char *p, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t k = write(fd, p + done, n - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        done += (size_t)k;
    }
    return (ssize_t)done;
}

/* One connection: for each request (up to the blank line after its headers), the bytes the
 * client put in shared memory. Requests carry no body (GET). */
static void replay_serve(int fd, const struct replay_shm *shm)
{
    char buf[16384];
    size_t len = 0;
    for (;;) {
        ssize_t k = read(fd, buf + len, sizeof(buf) - len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return;
        len += (size_t)k;
        char *end;
        while ((end = memmem(buf, len, "\r\n\r\n", 4))) {
            size_t used = (size_t)(end - buf) + 4;
            size_t n = shm->len < REPLAY_MAX ? shm->len : 0;
            if (write_all(fd, shm->bytes, n) < 0)
                return;
            memmove(buf, buf + used, len - used);
            len -= used;
        }
        if (len == sizeof(buf))
            return; /* headers larger than any request of ours */
    }
}

/* The child listens itself: SO_PEERCRED names the process that called listen(). */
static void replay_child(const struct sockaddr_un *sa, int ready_fd, const struct replay_shm *shm)
{
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (lfd < 0 || bind(lfd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 || listen(lfd, 4) < 0)
        _exit(1);
    if (write(ready_fd, "1", 1) != 1)
        _exit(1);
    close(ready_fd);
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            _exit(1);
        }
        replay_serve(fd, shm);
        close(fd);
    }
}

int replay_start(const char *workdir, struct replay *rp)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int pipefd[2];
    char c;

    *rp = (struct replay){.pid = -1};
    snprintf(rp->socket, sizeof(rp->socket), "%s/replay.sock", workdir);
    if (strlen(rp->socket) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, rp->socket);
    rp->shm = mmap(NULL, sizeof(*rp->shm), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (rp->shm == MAP_FAILED) {
        rp->shm = NULL;
        return -errno;
    }
    unlink(rp->socket);
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return -errno;
    rp->pid = fork();
    if (rp->pid < 0) {
        int r = -errno;
        close(pipefd[0]);
        close(pipefd[1]);
        return r;
    }
    if (rp->pid == 0) {
        close(pipefd[0]);
        replay_child(&sa, pipefd[1], rp->shm);
    }
    close(pipefd[1]);
    /* One byte once it listens; end of file if it could not. */
    ssize_t k = read(pipefd[0], &c, 1);
    close(pipefd[0]);
    return k == 1 ? 0 : -EIO;
}

int replay_set(struct replay *rp, const char *bytes, size_t len)
{
    if (len > REPLAY_MAX)
        return -E2BIG;
    memcpy(rp->shm->bytes, bytes, len);
    rp->shm->len = len;
    return 0;
}

void replay_stop(struct replay *rp)
{
    int status;
    if (rp->pid > 0) {
        kill(rp->pid, SIGTERM);
        waitpid(rp->pid, &status, 0);
    }
    if (rp->shm)
        munmap(rp->shm, sizeof(*rp->shm));
    if (rp->socket[0])
        unlink(rp->socket);
    *rp = (struct replay){.pid = -1};
}
