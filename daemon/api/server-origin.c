/* SPDX-License-Identifier: MIT */
/* Host and Origin checks of the TCP listener, see server-origin.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "log.h"
#include "server-origin.h"

#define HOST_MAX 80 /* "[" INET6_ADDRSTRLEN "]:65535" */

/* The listener as this connection reached it: its port, and its address as a Host literal
 * ("192.0.2.1", "[2001:db8::1]"). */
struct local_end {
    unsigned port;
    char literal[INET6_ADDRSTRLEN + 2];
};

static int local_end_of(struct MHD_Connection *c, struct local_end *ret)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char addr[INET6_ADDRSTRLEN];

    if (!info)
        return -EBADF;
    if (getsockname(info->connect_fd, (struct sockaddr *)&ss, &len) < 0)
        return -errno;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
        if (!inet_ntop(AF_INET, &in->sin_addr, addr, sizeof(addr)))
            return -errno;
        ret->port = ntohs(in->sin_port);
        snprintf(ret->literal, sizeof(ret->literal), "%s", addr);
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
        if (!inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof(addr)))
            return -errno;
        ret->port = ntohs(in6->sin6_port);
        snprintf(ret->literal, sizeof(ret->literal), "[%s]", addr);
    } else
        return -EAFNOSUPPORT;
    return 0;
}

/* Is host (a Host header, or an Origin without its "http://") one of the listener's names
 * with its port? The port may be left out only when it is HTTP's default, 80. */
static bool host_allowed(const char *host, size_t len, const struct local_end *le)
{
    static const char *const names[] = {"localhost", "127.0.0.1", "[::1]"};
    char port[8];

    snprintf(port, sizeof(port), "%u", le->port);
    for (size_t i = 0; i <= sizeof(names) / sizeof(names[0]); i++) {
        const char *name = i < sizeof(names) / sizeof(names[0]) ? names[i] : le->literal;
        size_t n = strlen(name);
        if (len < n || strncasecmp(host, name, n) != 0)
            continue;
        if (len == n && le->port == 80)
            return true;
        if (len == n + 1 + strlen(port) && host[n] == ':' &&
            memcmp(host + n + 1, port, strlen(port)) == 0)
            return true;
    }
    return false;
}

/* Copies an untrusted header value into a message, printable ASCII only, shortened. */
static void quote_value(const char *v, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; v[i] && o + 4 < size; i++)
        out[o++] = (v[i] >= 0x20 && v[i] < 0x7f) ? v[i] : '?';
    if (v[o] && o + 4 >= size && o >= 3)
        memcpy(out + o - 3, "...", 3);
    out[o] = '\0';
}

int api_check_origin(struct cj_request *req, struct cj_reply *reply)
{
    struct MHD_Connection *c = req->connection;
    const union MHD_ConnectionInfo *client =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    struct local_end le;
    char shown[HOST_MAX + 8];

    /* Only TCP connections have a Host to check: on the Unix socket MHD reports no IP peer. */
    if (!client || !client->client_addr ||
        (client->client_addr->sa_family != AF_INET && client->client_addr->sa_family != AF_INET6))
        return 0;
    int r = local_end_of(c, &le);
    if (r < 0)
        return r;

    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (!host || !host_allowed(host, strlen(host), &le)) {
        quote_value(host ? host : "", shown, sizeof(shown));
        api_reply_error(reply, 403, "AccessDeniedException",
                        "Host '%s' is not this listener: it answers only localhost:%u, "
                        "127.0.0.1:%u or [::1]:%u (a page on another site cannot reach it "
                        "through DNS rebinding)",
                        shown, le.port, le.port, le.port);
        return 1;
    }

    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    if (!origin)
        return 0; /* not a browser, or a same-origin GET */
    static const char scheme[] = "http://";
    if (strncasecmp(origin, scheme, strlen(scheme)) != 0 ||
        !host_allowed(origin + strlen(scheme), strlen(origin) - strlen(scheme), &le)) {
        quote_value(origin, shown, sizeof(shown));
        api_reply_error(reply, 403, "AccessDeniedException",
                        "Origin '%s' is not this listener's own (http://localhost:%u, "
                        "http://127.0.0.1:%u or http://[::1]:%u): requests from other sites are "
                        "refused",
                        shown, le.port, le.port, le.port);
        return 1;
    }
    return 0;
}
