/* SPDX-License-Identifier: MIT */
/* The one check of an endpoint URL: the Bedrock endpoint of copyjobd.conf or the
 * environment, and the instance metadata endpoint. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* A parsed endpoint URL ("https://bedrock.us-east-1.amazonaws.com", "http://127.0.0.1:8080"). */
struct cj_endpoint {
    char *origin; /* "scheme://host[:port]" (port only when not the scheme's default): the
                     URL's one normal form */
    char *host;   /* Host header value: "host" or "host:port" */
    bool https;
};

#define CJ_ENDPOINT_URL_MAX 1024

/* Accepts "http://" or "https://" (lower case), then a host and an optional port from 1 to
 * 65535 (libcurl, the sender, must read them as such), then nothing but '/'s: no path, user, query
 * or fragment; at most CJ_ENDPOINT_URL_MAX bytes of printable ASCII. Plain http:// only when the
 * host is a loopback address (127.0.0.0/8, ::1) or "localhost": signed requests and the answers
 * cross no network in clear text. -EINVAL with the reason ("has no host", ...) in reason, or
 * -ENOMEM; *ret is untouched on failure. */
int cj_endpoint_parse_url(const char *url, struct cj_endpoint *ret, char *reason, size_t reasonlen);
/* The same, but plain http:// to any host: for the instance metadata service, which AWS serves
 * only so, on a link-local address. */
int cj_endpoint_parse_metadata_url(const char *url, struct cj_endpoint *ret, char *reason,
                                   size_t reasonlen);
void cj_endpoint_done(struct cj_endpoint *e);
