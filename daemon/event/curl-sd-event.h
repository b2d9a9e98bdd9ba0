/* SPDX-License-Identifier: MIT */
/* libcurl's multi interface driven by an sd-event loop: one CURLM whose sockets become
 * sd-event IO sources and whose timeout is one CLOCK_MONOTONIC timer. The multi keeps the
 * connection cache, so consecutive requests to the same endpoint reuse a connection. */
#pragma once

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "cj-buf.h"

/* Largest response body accepted; a longer one aborts the transfer. */
#define CJ_HTTP_BODY_MAX ((size_t)64 * 1024 * 1024)

struct cj_curl;
struct cj_http;

typedef void (*cj_http_done_fn)(struct cj_http *h, void *userdata);

struct cj_http_options {
    const char *url;
    const struct curl_slist *headers; /* not copied: keep it alive until done or cancel */
    uint64_t timeout_usec;            /* whole transfer; 0 = none */
    const char *ca_file;              /* NULL = the system store */
};

/* What one finished transfer gave. Valid from the done callback until the next start. */
struct cj_http_response {
    CURLcode code;       /* CURLE_OK when an HTTP response arrived */
    bool body_too_large; /* the body passed CJ_HTTP_BODY_MAX; code is an error */
    long status;         /* HTTP status, 0 when none arrived */
    char curl_error[CURL_ERROR_SIZE];
    char error_type[128]; /* x-amzn-ErrorType header, "" when absent */
    char request_id[128]; /* x-amzn-RequestId */
    char date[64];        /* Date */
    struct cj_buf body;
};

int cj_curl_new(sd_event *event, struct cj_curl **ret);
/* Every cj_http on it must have been freed (or at least cancelled) first. */
void cj_curl_free(struct cj_curl *c);

/* One reusable transfer slot (one easy handle). */
int cj_http_new(struct cj_curl *c, struct cj_http **ret);
/* Cancels a transfer in flight (its callback is not called) and frees. */
void cj_http_free(struct cj_http *h);

/* Starts a GET. done is called from the event loop once it ends, successfully or not; it
 * may start the next transfer on the same cj_http, but must not free the cj_curl. */
int cj_http_start(struct cj_http *h, const struct cj_http_options *o, cj_http_done_fn done,
                  void *userdata);
/* Takes the transfers started since the loop last turned as far as they go without waiting
 * (connected, the request written), for a caller about to be busy a while: the server works
 * on the answer meanwhile, where it would otherwise hear of the request only when the loop
 * turns again. Calls no done callback: a transfer that ended here is reported from the loop. */
void cj_curl_advance(struct cj_curl *c);
/* Abandons the transfer in flight without calling done. No-op when idle. */
void cj_http_cancel(struct cj_http *h);
/* Gives back the memory the last transfers kept for the next (the response body grown to the
 * largest answer, curl's receive buffer): for a client that will be idle a while. The
 * response is emptied; connections stay in the cj_curl's cache. Nothing while a transfer runs;
 * -ENOMEM if no new handle can be made (then h stays as it was). */
int cj_http_release(struct cj_http *h);
bool cj_http_busy(const struct cj_http *h);
const struct cj_http_response *cj_http_response(const struct cj_http *h);
