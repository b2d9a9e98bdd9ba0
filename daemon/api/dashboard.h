/* SPDX-License-Identifier: MIT */
/* The built-in dashboard: its files, compiled into the daemon (dashboard/embed.cmake), and
 * the handler that serves them on GET / and GET /dashboard/... with their ETag and a strict
 * Content-Security-Policy. */
#pragma once

#include <stddef.h>

struct cj_dashboard_asset {
    const char *url;          /* "/" or "/dashboard/NAME" */
    const char *content_type; /* with charset for text */
    const unsigned char *data;
    size_t size;
    const char *etag; /* a quoted strong ETag: the file's SHA-256, shortened */
};

extern const struct cj_dashboard_asset cj_dashboard_assets[];
extern const size_t cj_dashboard_n_assets;

/* The asset served at url, or NULL. */
const struct cj_dashboard_asset *api_dashboard_find(const char *url);

struct cj_request;
struct cj_reply;
/* GET/HEAD of an asset: 200 with the bytes, or 304 when If-None-Match names its ETag; 404
 * for a URL under /dashboard/ that is not one. Every answer carries the CSP, nosniff,
 * Referrer-Policy: no-referrer and Cache-Control: no-cache (revalidated by ETag, so a new
 * daemon's page is never mixed with an old one's script). */
int api_handle_dashboard(struct cj_request *req, struct cj_reply *reply); /* req->url */

/* What the page may load and where from: only this origin, no inline script or style, no
 * framing, no forms. */
#define CJ_DASHBOARD_CSP                                                                           \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
