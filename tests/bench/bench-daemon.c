/* SPDX-License-Identifier: MIT */
/* copyjobd as a child process: started on a prepared store, timed to READY=1 through a
 * NOTIFY_SOCKET of our own, measured through /proc, and run once against the fake endpoint. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "store.h"

#define ACCESS_KEY_ID "AKIDCOPYJOBDTEST0001"
#define SECRET_KEY    "cjTest/SecretKey+DoNotLeak000000000000000"

/* What the unit's Environment= lines give copyjobd: every copyjobd the bench starts gets it
 * too, so that the figures are the installed daemon's. */
#define UNIT_ENV_MAX 8
static char *unit_env[UNIT_ENV_MAX];
static size_t n_unit_env;

int daemon_environment_load(const char *unit_path)
{
    static const char key[] = "Environment=";
    char line[512];
    int r = 0;
    FILE *f = fopen(unit_path, "re");
    if (!f)
        return -errno;
    while (r == 0 && fgets(line, sizeof(line), f)) {
        size_t len = strlen(line);
        if (len && line[len - 1] == '\n')
            line[--len] = '\0';
        else if (!feof(f))
            r = -E2BIG;
        if (r < 0 || strncmp(line, key, sizeof(key) - 1) != 0)
            continue;
        /* One KEY=VALUE, unquoted and without specifiers, is all the unit uses; anything
         * else would need systemd's own parser to read as systemd does. */
        const char *v = line + sizeof(key) - 1;
        if (!strchr(v + 1, '=') || v[0] == '=' || strpbrk(v, " \t\"'\\$%"))
            r = -EINVAL;
        else if (n_unit_env == UNIT_ENV_MAX)
            r = -E2BIG;
        else if (!(unit_env[n_unit_env] = strdup(v)))
            r = -ENOMEM;
        else
            n_unit_env++;
    }
    if (r == 0 && ferror(f))
        r = -EIO;
    fclose(f);
    return r;
}

const char *const *daemon_environment(size_t *n)
{
    *n = n_unit_env;
    return (const char *const *)unit_env;
}

int write_config(const char *path, const char *store_dir, const char *socket, const char *endpoint,
                 unsigned sources)
{
    FILE *f = fopen(path, "we");
    if (!f)
        return -errno;
    /* Serving only: the first sync fails against the unreachable endpoint (health degraded)
     * and the next is a week away. For --once the endpoint is the fake, unthrottled. */
    int r = gen_write_sources(f, sources, endpoint);
    fprintf(f,
            "[sync]\ninterval = 7d\nfull_interval = 7d\npage_size = 1000\n"
            "max_requests_per_second = 1000\n"
            "[store]\ndirectory = %s\nmax_size = 16G\n"
            "[server]\nsocket = %s\n",
            store_dir, socket);
    if (fclose(f) != 0 && r >= 0)
        r = -errno;
    return r;
}

/* posix_spawn (vfork-like in glibc), not fork: this process holds a large heap and SQLite's
 * cache, and copying its page tables would be counted in the daemon's start-up time. */
static pid_t spawn(const char *const argv[], const char *notify, const char *log_path,
                   int stdout_fd, bool no_retry_delay, bool is_copyjobd)
{
    posix_spawn_file_actions_t fa;
    char notify_env[320];
    char *envp[10 + UNIT_ENV_MAX] = {
        "PATH=/usr/local/bin:/usr/bin:/bin", "AWS_ACCESS_KEY_ID=" ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY=" SECRET_KEY, "AWS_EC2_METADATA_DISABLED=true",
        /* the account lookup (STS GetCallerIdentity) stays on loopback */
        "AWS_ENDPOINT_URL_STS=http://127.0.0.1:9"};
    size_t n_env = 5;
    pid_t pid;
    int r;

    if (notify) {
        snprintf(notify_env, sizeof(notify_env), "NOTIFY_SOCKET=%s", notify);
        envp[n_env++] = notify_env;
    }
    /* A refused connection is retried after 0.5 s and 1 s: with several sources those
     * retries would land in the first rounds measured. Without delay they are over before
     * READY=1 is 300 ms old. */
    if (no_retry_delay) {
        envp[n_env++] = "COPYJOBD_RETRY_BASE_MS=0";
        envp[n_env++] = "COPYJOBD_RETRY_CAP_MS=0";
    }
    for (size_t i = 0; is_copyjobd && i < n_unit_env; i++)
        envp[n_env++] = unit_env[i];
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, log_path, O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    if (stdout_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, stdout_fd, STDOUT_FILENO);
    else
        posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
    r = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    if (r != 0) {
        errno = r;
        return -1;
    }
    return pid;
}

static int start(const char *copyjobd, const char *store_dir, const char *workdir,
                 const char *endpoint, unsigned sources, bool no_retry_delay,
                 struct daemon_proc *d);

int daemon_start(const char *copyjobd, const char *store_dir, const char *workdir, unsigned sources,
                 struct daemon_proc *d)
{
    return start(copyjobd, store_dir, workdir, "http://127.0.0.1:1", sources, true, d);
}

int daemon_start_endpoint(const char *copyjobd, const char *store_dir, const char *workdir,
                          const char *endpoint, struct daemon_proc *d)
{
    return start(copyjobd, store_dir, workdir, endpoint, 1, false, d);
}

static int start(const char *copyjobd, const char *store_dir, const char *workdir,
                 const char *endpoint, unsigned sources, bool no_retry_delay, struct daemon_proc *d)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char log_path[320];
    int r;

    *d = (struct daemon_proc){.pid = -1, .notify_fd = -1};
    snprintf(d->dir, sizeof(d->dir), "%s", workdir);
    snprintf(d->socket, sizeof(d->socket), "%s/copyjobd.sock", workdir);
    snprintf(d->config, sizeof(d->config), "%s/copyjobd.conf", workdir);
    snprintf(d->notify, sizeof(d->notify), "%s/notify.sock", workdir);
    snprintf(log_path, sizeof(log_path), "%s/copyjobd.log", workdir);
    unlink(d->notify);
    unlink(d->socket);
    r = write_config(d->config, store_dir, d->socket, endpoint, sources);
    if (r < 0)
        return r;
    d->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (d->notify_fd < 0)
        return -errno;
    if (strlen(d->notify) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, d->notify, strlen(d->notify) + 1);
    if (bind(d->notify_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return -errno;

    const char *argv[] = {copyjobd, "--config", d->config, NULL};
    int64_t t0 = now_ns();
    d->pid = spawn(argv, d->notify, log_path, -1, no_retry_delay, true);
    if (d->pid < 0)
        return -errno;
    for (;;) {
        struct pollfd p = {.fd = d->notify_fd, .events = POLLIN};
        int64_t left = 60000 - (now_ns() - t0) / 1000000;
        int status;
        if (left <= 0) {
            fprintf(stderr, "cj-bench: copyjobd sent no READY=1 in 60 s (log: %s)\n", log_path);
            return -ETIMEDOUT;
        }
        if (poll(&p, 1, left < 50 ? (int)left : 50) <= 0) {
            if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
                fprintf(stderr, "cj-bench: copyjobd exited before READY=1 (log: %s)\n", log_path);
                d->pid = -1;
                return -ECHILD;
            }
            continue;
        }
        char msg[4096];
        ssize_t n = recv(d->notify_fd, msg, sizeof(msg) - 1, 0);
        if (n < 0)
            continue;
        msg[n] = '\0';
        if (strstr(msg, "READY=1")) {
            d->ready_ms = (double)(now_ns() - t0) / 1e6;
            struct proc_cpu pc;
            if (proc_cpu_open(d->pid, &pc) >= 0) {
                d->ready_cpu_s = (double)proc_cpu_ns(&pc) / 1e9;
                proc_cpu_close(&pc);
            }
            /* Nobody reads further notifications: with the socket gone the daemon's later
             * sends fail at once instead of filling the queue (net.unix.max_dgram_qlen, 10
             * here) and then blocking in sendmsg(). */
            close(d->notify_fd);
            d->notify_fd = -1;
            unlink(d->notify);
            return 0;
        }
    }
}

static int wait_exit(pid_t pid, int timeout_ms, struct rusage *ru, int *status)
{
    for (int waited = 0; waited < timeout_ms; waited += 5) {
        pid_t w = wait4(pid, status, WNOHANG, ru);
        if (w == pid)
            return 0;
        if (w < 0)
            return -errno;
        usleep(5000);
    }
    return -ETIMEDOUT;
}

int daemon_stop(struct daemon_proc *d)
{
    int status = 0, r = 0;
    struct rusage ru;
    if (d->pid > 0) {
        kill(d->pid, SIGTERM);
        r = wait_exit(d->pid, 20000, &ru, &status);
        if (r < 0) {
            kill(d->pid, SIGKILL);
            waitpid(d->pid, &status, 0);
        }
        d->pid = -1;
    }
    if (d->notify_fd >= 0)
        close(d->notify_fd);
    d->notify_fd = -1;
    unlink(d->notify);
    return r < 0 ? r : (WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ECHILD);
}

int proc_stat_cpu_s(pid_t pid, double *ret)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t k = read(fd, buf, sizeof(buf) - 1);
    int r = k < 0 ? -errno : 0;
    close(fd);
    if (r < 0)
        return r;
    buf[k] = '\0';
    /* The command name may hold spaces and parentheses: the fields follow its last ')'. */
    const char *p = strrchr(buf, ')');
    unsigned long long utime, stime;
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                     &stime) != 2)
        return -EBADMSG;
    *ret = (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
    return 0;
}

int read_mem(pid_t pid, struct mem *m)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    *m = (struct mem){-1, -1};
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "VmRSS:", 6) == 0)
            m->rss_kb = strtol(line + 6, NULL, 10);
        else if (strncmp(line, "RssAnon:", 8) == 0)
            m->anon_kb = strtol(line + 8, NULL, 10);
    }
    fclose(f);
    return m->rss_kb >= 0 && m->anon_kb >= 0 ? 0 : -EIO;
}

/* Reads the fake's one ready line and picks out "http":"URL". */
static int fake_url(int fd, char *url, size_t len)
{
    char line[2048];
    size_t n = 0;
    int64_t t0 = now_ns();
    while (n + 1 < sizeof(line)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if ((now_ns() - t0) / 1000000 > 120000 || poll(&p, 1, 1000) < 0)
            return -ETIMEDOUT;
        if (!(p.revents & (POLLIN | POLLHUP)))
            continue;
        ssize_t k = read(fd, line + n, sizeof(line) - 1 - n);
        if (k <= 0)
            return -EIO;
        n += (size_t)k;
        line[n] = '\0';
        if (strchr(line, '\n'))
            break;
    }
    char *h = strstr(line, "\"http\":\"");
    if (!h)
        return -EBADMSG;
    h += 8;
    char *e = strchr(h, '"');
    if (!e || (size_t)(e - h) >= len)
        return -EBADMSG;
    memcpy(url, h, (size_t)(e - h));
    url[e - h] = '\0';
    return 0;
}

pid_t fake_start(const char *node, const char *fake, size_t n, const char *workdir, char *url,
                 size_t url_len)
{
    char jobs[32], fake_log[320];
    int pipefd[2], r;

    snprintf(jobs, sizeof(jobs), "%zu", n);
    snprintf(fake_log, sizeof(fake_log), "%s/fake.log", workdir);
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return -errno;
    const char *fargv[] = {node, fake,     "--port", "0",         "--https-port", "-1", "--jobs",
                           jobs, "--seed", "7",      "--tmp-dir", workdir,        NULL};
    pid_t fpid = spawn(fargv, NULL, fake_log, pipefd[1], false, false);
    close(pipefd[1]);
    if (fpid < 0) {
        r = -errno;
        close(pipefd[0]);
        return r;
    }
    r = fake_url(pipefd[0], url, url_len);
    close(pipefd[0]);
    if (r < 0) {
        fprintf(stderr, "cj-bench: the fake endpoint did not start (log: %s)\n", fake_log);
        fake_stop(fpid);
        return r;
    }
    return fpid;
}

void fake_stop(pid_t pid)
{
    struct rusage ru;
    int status;
    kill(pid, SIGTERM);
    if (wait_exit(pid, 10000, &ru, &status) < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
}

int ingest_run(const char *copyjobd, const char *node, const char *fake, size_t n,
               const char *workdir, double *wall_s, double *cpu_s, double *sys_s, size_t *stored)
{
    char url[256], log_path[320], store_dir[320], config[320];
    char socket_path[320];
    int status = 0, r;
    struct rusage ru;

    snprintf(log_path, sizeof(log_path), "%s/copyjobd-once.log", workdir);
    snprintf(store_dir, sizeof(store_dir), "%s/ingest-store", workdir);
    snprintf(config, sizeof(config), "%s/ingest.conf", workdir);
    snprintf(socket_path, sizeof(socket_path), "%s/ingest.sock", workdir);
    /* Into an empty store, whatever an earlier run in this workdir left. */
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", store_dir);
    if (system(cmd) != 0)
        return -EIO;
    pid_t fpid = fake_start(node, fake, n, workdir, url, sizeof(url));
    if (fpid < 0)
        return fpid;
    r = write_config(config, store_dir, socket_path, url, 1);
    if (r < 0)
        goto out;

    const char *argv[] = {copyjobd, "--config", config, "--once", NULL};
    int64_t t0 = now_ns();
    pid_t pid = spawn(argv, NULL, log_path, -1, false, true);
    if (pid < 0) {
        r = -errno;
        goto out;
    }
    r = wait_exit(pid, 600000, &ru, &status);
    *wall_s = (double)(now_ns() - t0) / 1e9;
    if (r < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        goto out;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "cj-bench: copyjobd --once failed (log: %s)\n", log_path);
        r = -ECHILD;
        goto out;
    }
    *sys_s = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    *cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + *sys_s;

    struct cj_store *s = NULL;
    struct cj_store_stats st;
    struct cj_store_options so = {
        .directory = store_dir, .max_size = UINT64_C(16) << 30, .read_only = true};
    r = cj_store_open(&so, &s);
    if (r >= 0) {
        r = cj_store_stats(s, &st);
        if (r >= 0)
            *stored = st.total;
        cj_store_close(s);
    }
out:
    fake_stop(fpid);
    return r;
}

/* The full pass a running daemon repeats, over the jobs it synced: the wait is the daemon's
 * (COPYJOBD_SYNC_WAIT_SEC, 300 s by default), the socket's timeout longer. */
static int resync(const struct daemon_proc *d, pid_t fpid, const struct proc_cpu *pc,
                  struct sync_mem *res)
{
    struct hc c;
    double fake0 = 0, fake1;
    int r = hc_connect(&c, d->socket);
    if (r < 0)
        return r;
    struct timeval tv = {.tv_sec = 600};
    setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)proc_stat_cpu_s(fpid, &fake0);
    int64_t cpu0 = proc_cpu_ns(pc), t0 = now_ns();
    int st = hc_request(&c, "POST", "/v1/sync?full=true&wait=true");
    res->resync_wall_s = (double)(now_ns() - t0) / 1e9;
    res->resync_cpu_s = (double)(proc_cpu_ns(pc) - cpu0) / 1e9;
    res->resync_fake_cpu_s = proc_stat_cpu_s(fpid, &fake1) >= 0 ? fake1 - fake0 : -1;
    if (st != 200) {
        fprintf(stderr, "cj-bench: the second full pass answered %d (log: %s)\n", st, d->dir);
        hc_close(&c);
        return st < 0 ? st : -EPROTO;
    }
    json_t *body = json_loadb(c.buf + c.body_off, c.body_len, 0, NULL);
    json_t *changes = json_object_get(body, "changes");
    json_t *created = json_object_get(changes, "created"),
           *updated = json_object_get(changes, "updated");
    r = json_is_integer(created) && json_is_integer(updated) ? 0 : -EBADMSG;
    if (r < 0)
        fprintf(stderr, "cj-bench: the second full pass's answer has no changes (log: %s)\n",
                d->dir);
    else
        res->resync_changed =
            (size_t)json_integer_value(created) + (size_t)json_integer_value(updated);
    json_decref(body);
    hc_close(&c);
    return r;
}

int sync_memory_run(const char *copyjobd, const char *node, const char *fake, size_t n,
                    const char *workdir, bool keep, struct sync_mem *res)
{
    char dir[400], store_dir[420], url[256], cmd[500];
    struct daemon_proc d = {.pid = -1, .notify_fd = -1};
    struct proc_cpu pc = {.pid = -1, .stat_fd = -1};
    struct hc c = {.fd = -1};
    pid_t fpid;
    int r;

    *res = (struct sync_mem){.jobs = n};
    snprintf(dir, sizeof(dir), "%s/sync%zu", workdir, n);
    snprintf(store_dir, sizeof(store_dir), "%s/store", dir);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    fpid = fake_start(node, fake, n, dir, url, sizeof(url));
    if (fpid < 0)
        return fpid;
    double fake_cpu0 = 0;
    (void)proc_stat_cpu_s(fpid, &fake_cpu0);
    r = daemon_start_endpoint(copyjobd, store_dir, dir, url, &d);
    if (r < 0)
        goto out;
    int64_t t0 = now_ns();
    r = hc_connect(&c, d.socket);
    if (r < 0)
        goto out;
    /* /v1/health answers 200 ("ok") once a pass has succeeded; bounded at 20 minutes. */
    for (;;) {
        int st = hc_get(&c, "/v1/health");
        if (st < 0) {
            r = st;
            goto out;
        }
        if (st == 200) {
            const char *j = memmem(c.buf + c.body_off, c.body_len, "\"jobs\":", 7);
            res->stored = j ? strtoull(j + 7, NULL, 10) : 0;
            break;
        }
        if (now_ns() - t0 > INT64_C(1200) * 1000000000) {
            fprintf(stderr, "cj-bench: the %zu-job sync did not finish in 20 min (log: %s)\n", n,
                    dir);
            r = -ETIMEDOUT;
            goto out;
        }
        usleep(50000);
    }
    res->wall_s = (double)(now_ns() - t0) / 1e9;
    res->start_cpu_s = d.ready_cpu_s;
    double fake_cpu1;
    res->fake_cpu_s = proc_stat_cpu_s(fpid, &fake_cpu1) >= 0 ? fake_cpu1 - fake_cpu0 : -1;
    hc_close(&c);
    usleep(300000); /* as the idle figure after a load: settled, nothing in flight */
    r = read_mem(d.pid, &res->mem);
    if (r >= 0)
        r = proc_cpu_open(d.pid, &pc);
    if (r >= 0) {
        res->cpu_s = (double)proc_cpu_ns(&pc) / 1e9;
        r = resync(&d, fpid, &pc, res);
        proc_cpu_close(&pc);
    }
out:
    hc_close(&c);
    if (d.pid > 0 && daemon_stop(&d) < 0)
        fprintf(stderr, "cj-bench: copyjobd did not exit cleanly (log: %s/copyjobd.log)\n", dir);
    fake_stop(fpid);
    if (r >= 0)
        r = lmdb_split_read(store_dir, &res->store);
    if (!keep) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cj-bench: could not remove %s\n", dir);
    }
    return r;
}
