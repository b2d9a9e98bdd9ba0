/* SPDX-License-Identifier: MIT */
/* The listening sockets: adopted from systemd, or the Unix socket created here with exactly
 * the configured mode, plus the optional loopback TCP listener. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "log.h"
#include "server-internal.h"

typedef char sock_name[128];

struct socket_list {
    int *fds;
    sock_name *names;
    size_t n;
};

static void socket_list_done(struct socket_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->fds[i] >= 0)
            close(l->fds[i]);
    free(l->fds);
    free(l->names);
    *l = (struct socket_list){0};
}

static int socket_list_add(struct socket_list *l, int fd, const char *name)
{
    int *fds = reallocarray(l->fds, l->n + 1, sizeof(*fds));
    if (!fds)
        return -ENOMEM;
    l->fds = fds;
    sock_name *names = reallocarray(l->names, l->n + 1, sizeof(*names));
    if (!names)
        return -ENOMEM;
    l->names = names;
    l->fds[l->n] = fd;
    snprintf(l->names[l->n], sizeof(sock_name), "%s", name);
    l->n++;
    return 0;
}

int api_check_listen_fd(int fd)
{
    static const int families[] = {AF_UNIX, AF_INET, AF_INET6};

    for (size_t i = 0; i < ELEMENTSOF(families); i++) {
        int r = sd_is_socket(fd, families[i], SOCK_STREAM, 1);
        if (r < 0)
            return r;
        if (r > 0)
            return 0;
    }
    return -ENOTSOCK;
}

static int mkdir_parents(const char *path, mode_t mode)
{
    _cleanup_free_ char *copy = strdup(path);
    if (!copy)
        return -ENOMEM;

    for (char *p = copy + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        if (mkdir(copy, mode) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    return 0;
}

/* A socket file left by a daemon that died is replaced; one that still answers belongs to
 * a running copyjobd, and anything that is not a socket is not ours to remove. */
static int clear_socket_path(const char *path)
{
    struct stat st;

    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : log_error_errno(errno, "server.socket %s: %m", path);
    if (!S_ISSOCK(st.st_mode))
        return log_error_errno(EEXIST,
                               "server.socket %s: exists and is not a socket; refusing to "
                               "replace it",
                               path);

    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, path); /* length checked by the caller */
    _cleanup_close_ int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0)
        return -errno;
    if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0)
        return log_error_errno(EADDRINUSE, "server.socket %s: another process is serving on it",
                               path);

    log_debug("server.socket %s: removing the stale socket", path);
    if (unlink(path) < 0 && errno != ENOENT)
        return log_error_errno(errno, "server.socket %s: cannot remove the stale socket: %m", path);
    return 0;
}

static int create_unix_socket(struct cj_server *s, const char *path, mode_t mode, int *ret_fd)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    int r;

    if (!path || path[0] != '/')
        return log_error_errno(EINVAL, "server.socket: must be an absolute path");
    if (strlen(path) >= sizeof(sa.sun_path))
        return log_error_errno(ENAMETOOLONG, "server.socket %s: longer than %zu bytes", path,
                               sizeof(sa.sun_path) - 1);
    strcpy(sa.sun_path, path);
    mode &= 0777;

    r = mkdir_parents(path, 0755);
    if (r < 0)
        return log_error_errno(r, "server.socket %s: cannot create its directory: %m", path);
    r = clear_socket_path(path);
    if (r < 0)
        return r;

    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return log_error_errno(errno, "socket(AF_UNIX): %m");

    /* bind() creates the file with 0777 & ~umask; the daemon is single-threaded here, so
     * changing the process umask for this one call is safe. */
    mode_t old_umask = umask(~mode & 0777);
    r = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
    umask(old_umask);
    if (r < 0)
        return log_error_errno(r, "server.socket %s: bind: %m", path);

    if (lstat(path, &st) < 0)
        return log_error_errno(errno, "server.socket %s: stat after bind: %m", path);
    if (!S_ISSOCK(st.st_mode))
        return log_error_errno(EEXIST, "server.socket %s: replaced after bind", path);
    if ((st.st_mode & 07777) != mode && fchmodat(AT_FDCWD, path, mode, 0) < 0) {
        r = log_error_errno(errno, "server.socket %s: chmod %04o: %m", path, (unsigned)mode);
        unlink(path);
        return r;
    }
    if (listen(fd, SOMAXCONN) < 0) {
        r = log_error_errno(errno, "server.socket %s: listen: %m", path);
        unlink(path);
        return r;
    }

    s->socket_path = strdup(path);
    if (!s->socket_path) {
        unlink(path);
        return -ENOMEM;
    }
    s->socket_dev = st.st_dev;
    s->socket_ino = st.st_ino;
    *ret_fd = TAKE_FD(fd);
    return 0;
}

static bool is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
    }
    return false;
}

/* "host:port" or "[v6]:port" into host and port strings; the port must be 1..65535. */
static int split_host_port(const char *spec, char *host, size_t hostlen, char *port, size_t portlen)
{
    const char *colon;
    size_t hlen;

    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (!close || close[1] != ':')
            return -EINVAL;
        hlen = (size_t)(close - spec - 1);
        spec++;
        colon = close + 1;
    } else {
        colon = strrchr(spec, ':');
        if (!colon || memchr(spec, ':', (size_t)(colon - spec)))
            return -EINVAL; /* a bare IPv6 address needs brackets */
        hlen = (size_t)(colon - spec);
    }
    if (hlen == 0 || hlen >= hostlen)
        return -EINVAL;
    memcpy(host, spec, hlen);
    host[hlen] = '\0';

    const char *p = colon + 1;
    size_t plen = strlen(p);
    if (plen == 0 || plen > 5 || plen >= portlen || strspn(p, "0123456789") != plen)
        return -EINVAL;
    unsigned long v = strtoul(p, NULL, 10);
    if (v < 1 || v > 65535)
        return -EINVAL;
    memcpy(port, p, plen + 1);
    return 0;
}

static int listen_on(const struct addrinfo *ai, const char *name, int *ret_fd)
{
    int one = 1;

    _cleanup_close_ int fd =
        socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0)
        return log_error_errno(errno, "server.listen_tcp %s: socket: %m", name);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
        return log_error_errno(errno, "server.listen_tcp %s: SO_REUSEADDR: %m", name);
    if (ai->ai_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
        return log_error_errno(errno, "server.listen_tcp %s: IPV6_V6ONLY: %m", name);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0)
        return log_error_errno(errno, "server.listen_tcp %s: bind: %m", name);
    if (listen(fd, SOMAXCONN) < 0)
        return log_error_errno(errno, "server.listen_tcp %s: listen: %m", name);
    *ret_fd = TAKE_FD(fd);
    return 0;
}

static int open_tcp(const char *spec, bool allow_remote, struct socket_list *out)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC,
        .ai_socktype = SOCK_STREAM,
        .ai_flags = AI_NUMERICSERV,
    };
    struct addrinfo *res = NULL;
    char host[256], port[8];
    int r;

    if (split_host_port(spec, host, sizeof(host), port, sizeof(port)) < 0)
        return log_error_errno(EINVAL,
                               "server.listen_tcp '%s': expected HOST:PORT such as "
                               "127.0.0.1:7605, [::1]:7605 or localhost:7605",
                               spec);
    r = getaddrinfo(host, port, &hints, &res);
    if (r != 0)
        return log_error_errno(EADDRNOTAVAIL, "server.listen_tcp '%s': cannot resolve %s: %s", spec,
                               host, gai_strerror(r));

    /* Every address must be loopback before anything is bound: the API has no
     * authentication of its own, so it is reachable from the network only when
     * listen_tcp_allow_remote says so explicitly. */
    r = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (is_loopback(ai->ai_addr))
            continue;
        if (!allow_remote) {
            r = log_error_errno(EPERM,
                                "server.listen_tcp '%s': %s is not a loopback address; the "
                                "API is unauthenticated, so only 127.0.0.0/8, ::1 and "
                                "localhost are allowed unless listen_tcp_allow_remote = yes",
                                spec, host);
            break;
        }
        log_warning("server.listen_tcp '%s': listening on a non-loopback address "
                    "(listen_tcp_allow_remote = yes); the API is unauthenticated and anyone "
                    "who can reach it can read every cached job and start syncs",
                    spec);
        break;
    }

    for (struct addrinfo *ai = res; r >= 0 && ai; ai = ai->ai_next) {
        char addr[INET6_ADDRSTRLEN] = "?", name[sizeof(sock_name)];
        const void *a = ai->ai_family == AF_INET
                            ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                            : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
        inet_ntop(ai->ai_family, a, addr, sizeof(addr));
        snprintf(name, sizeof(name), ai->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s", addr, port);

        int fd = -1;
        r = listen_on(ai, name, &fd);
        if (r >= 0) {
            r = socket_list_add(out, fd, name);
            if (r < 0)
                close(fd);
        }
    }
    freeaddrinfo(res);
    return r;
}

static int adopt_passed_fds(int n, struct socket_list *out)
{
    for (int i = 0; i < n; i++) {
        int fd = SD_LISTEN_FDS_START + i;
        char name[sizeof(sock_name)];

        int r = api_check_listen_fd(fd);
        if (r < 0)
            return log_error_errno(r,
                                   "fd %d passed by systemd is not a listening stream socket "
                                   "(AF_UNIX, AF_INET or AF_INET6): %m",
                                   fd);
        int flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
            return log_error_errno(errno, "fd %d: O_NONBLOCK: %m", fd);
        snprintf(name, sizeof(name), "passed fd %d", fd);
        r = socket_list_add(out, fd, name);
        if (r < 0)
            return r;
    }
    return 0;
}

int api_open_sockets(struct cj_server *s, const struct cj_settings *settings, int **ret_fds,
                     char (**ret_names)[128], size_t *ret_n)
{
    struct socket_list l = {0};
    int r;

    int n = sd_listen_fds(1);
    if (n < 0) {
        r = log_error_errno(n, "LISTEN_FDS: %m");
        goto fail;
    }
    if (n > 0) {
        r = adopt_passed_fds(n, &l);
        if (r < 0)
            goto fail;
    } else {
        int fd = -1;
        r = create_unix_socket(s, settings->server.socket, settings->server.socket_mode, &fd);
        if (r < 0)
            goto fail;
        r = socket_list_add(&l, fd, settings->server.socket);
        if (r < 0) {
            close(fd);
            goto fail;
        }
    }

    if (settings->server.listen_tcp && settings->server.listen_tcp[0]) {
        r = open_tcp(settings->server.listen_tcp, settings->server.listen_tcp_allow_remote, &l);
        if (r < 0)
            goto fail;
    }

    *ret_fds = l.fds;
    *ret_names = l.names;
    *ret_n = l.n;
    return 0;

fail:
    socket_list_done(&l);
    return r;
}
