/* SPDX-License-Identifier: MIT */
/* The characters are checked here; libcurl then reads host and port, since it is libcurl
 * that connects: a URL it read differently would be checked as one and sent to another. */
#include "config-endpoint.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cj-util.h"

void cj_endpoint_done(struct cj_endpoint *e)
{
    if (!e)
        return;
    free(e->origin);
    free(e->host);
    *e = (struct cj_endpoint){0};
}

static int fail(char *reason, size_t reasonlen, const char *msg)
{
    snprintf(reason, reasonlen, "%s", msg);
    return -EINVAL;
}

/* host as libcurl gives it: a name, an IPv4 address, or an IPv6 address in brackets. Only
 * the literal forms count: a name other than localhost may resolve anywhere. */
static bool host_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    char v6[INET6_ADDRSTRLEN];
    size_t n = strlen(host);

    if (strcasecmp(host, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (n < 3 || host[0] != '[' || host[n - 1] != ']' || n - 2 >= sizeof(v6))
        return false;
    memcpy(v6, host + 1, n - 2);
    v6[n - 2] = '\0';
    if (inet_pton(AF_INET6, v6, &a6) != 1)
        return false;
    if (IN6_IS_ADDR_LOOPBACK(&a6))
        return true;
    return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
}

static int parse_url(const char *url, bool plain_http_anywhere, struct cj_endpoint *ret,
                     char *reason, size_t reasonlen)
{
    struct cj_endpoint e = {0};
    char *scheme = NULL, *host = NULL, *port = NULL;
    const char *rest;
    int r;

    if (!url || !*url)
        return fail(reason, reasonlen, "is empty");
    if (strncmp(url, "https://", 8) == 0)
        rest = url + 8;
    else if (strncmp(url, "http://", 7) == 0)
        rest = url + 7;
    else
        return fail(reason, reasonlen, "must start with https:// or http://");
    size_t n = strlen(url);
    if (n > CJ_ENDPOINT_URL_MAX)
        return fail(reason, reasonlen, "is longer than 1024 bytes");
    while (n > (size_t)(rest - url) && url[n - 1] == '/')
        n--;
    if (n == (size_t)(rest - url))
        return fail(reason, reasonlen, "has no host");
    for (const char *p = rest; p < url + n; p++)
        if (*p == '/' || *p == '?' || *p == '#' || *p == '@' || (unsigned char)*p <= 0x20 ||
            (unsigned char)*p >= 0x7f)
            return fail(reason, reasonlen,
                        "must be scheme://host[:port] without path, query or user");

    CURLU *u = curl_url();
    if (!u)
        return -ENOMEM;
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (uc == CURLUE_OK)
        uc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    if (uc == CURLUE_OK)
        uc = curl_url_get(u, CURLUPART_HOST, &host, 0);
    if (uc == CURLUE_OK) {
        uc = curl_url_get(u, CURLUPART_PORT, &port, CURLU_NO_DEFAULT_PORT);
        if (uc == CURLUE_NO_PORT)
            uc = CURLUE_OK;
    }
    if (uc != CURLUE_OK) {
        r = uc == CURLUE_OUT_OF_MEMORY ? -ENOMEM
                                       : fail(reason, reasonlen, "is not a valid host[:port]");
        goto out;
    }
    if (port && strtoul(port, NULL, 10) == 0) {
        r = fail(reason, reasonlen, "is not a valid host[:port]");
        goto out;
    }

    e.https = strcmp(scheme, "https") == 0;
    if (!e.https && !plain_http_anywhere && !host_is_loopback(host)) {
        r = fail(reason, reasonlen,
                 "may use plain http:// only for a loopback address (127.0.0.1, [::1], "
                 "localhost); use https:// for any other host");
        goto out;
    }

    r = -ENOMEM;
    if (port ? asprintf(&e.host, "%s:%s", host, port) < 0 : !(e.host = strdup(host))) {
        e.host = NULL;
        goto out;
    }
    if (asprintf(&e.origin, "%s://%s", scheme, e.host) < 0) {
        e.origin = NULL;
        goto out;
    }
    *ret = e;
    e = (struct cj_endpoint){0};
    r = 0;
out:
    cj_endpoint_done(&e);
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return r;
}

int cj_endpoint_parse_url(const char *url, struct cj_endpoint *ret, char *reason, size_t reasonlen)
{
    return parse_url(url, false, ret, reason, reasonlen);
}

int cj_endpoint_parse_metadata_url(const char *url, struct cj_endpoint *ret, char *reason,
                                   size_t reasonlen)
{
    return parse_url(url, true, ret, reason, reasonlen);
}
