/* SPDX-License-Identifier: MIT */
/* One bounded HTTP exchange with libcurl's easy interface, for the container and instance
 * metadata endpoints, STS and IAM Identity Center. It blocks its thread: the daemon looks
 * credentials up on a worker thread (and once at start), and an abandoned lookup aborts the
 * transfer. Proxies are never used for the local endpoints (they are link-local or loopback,
 * and a proxy would see the tokens), redirects are not followed, and the body lands in a
 * secret buffer that is zeroed after use. */
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "credentials-internal.h"
#include "log.h"

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct cj_secret_buf *b = userdata;
    size_t n = size * nmemb;
    aws_secret_buf_append(b, ptr, n);
    return b->overflow ? 0 : n; /* 0 aborts the transfer */
}

/* Aborts the transfer (CURLE_ABORTED_BY_CALLBACK) once the lookup is abandoned; curl calls
 * this at least once a second, also while it connects. */
static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    return aws_cred_cancelled() ? 1 : 0;
}

static int once(const struct cj_cred_http_request *req, struct curl_slist *headers,
                struct cj_secret_buf *body, long *status)
{
    CURL *curl = curl_easy_init();
    if (!curl)
        return -ENOMEM;

    body->len = 0;
    body->overflow = false;
    body->data[0] = '\0';

    curl_easy_setopt(curl, CURLOPT_URL, req->url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    if (!req->remote)
        curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    else {
        const char *ca = getenv("AWS_CA_BUNDLE");
        if (ca && *ca)
            curl_easy_setopt(curl, CURLOPT_CAINFO, ca);
    }
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, req->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)body->limit);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "copyjobd/" CJ_VERSION);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    if (strcmp(req->method, "POST") == 0) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    } else if (strcmp(req->method, "PUT") == 0) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "PUT");
    }

    CURLcode cc = curl_easy_perform(curl);
    int r;
    switch (cc) {
    case CURLE_OK:
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
        r = 0;
        break;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
        r = -EHOSTUNREACH;
        break;
    case CURLE_ABORTED_BY_CALLBACK:
        r = -ECANCELED;
        break;
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
        r = body->overflow || cc == CURLE_FILESIZE_EXCEEDED ? -EFBIG : -EIO;
        break;
    default:
        r = -EIO;
        break;
    }
    if (r < 0)
        log_debug("%s %s: %s", req->method, req->url, curl_easy_strerror(cc));
    curl_easy_cleanup(curl);
    return r;
}

int aws_cred_http(const struct cj_cred_http_request *req, struct cj_secret_buf *body)
{
    struct curl_slist *headers = NULL;
    int r = 0;

    if ((r = aws_secret_buf_init(body, CJ_CRED_RESPONSE_MAX)) < 0)
        return r;
    /* An empty Content-Type stops curl from adding a form type to the empty PUT; a POST sets
     * its own and never waits for a 100-continue. */
    struct curl_slist *h =
        curl_slist_append(NULL, strcmp(req->method, "POST") == 0 ? "Expect:" : "Content-Type:");
    if (!h)
        return -ENOMEM;
    headers = h;
    for (size_t i = 0; req->headers && req->headers[i]; i++) {
        h = curl_slist_append(headers, req->headers[i]);
        if (!h) {
            r = -ENOMEM;
            goto out;
        }
        headers = h;
    }

    unsigned attempts = req->attempts ? req->attempts : 1;
    for (unsigned i = 0; i < attempts; i++) {
        long status = 0;
        r = once(req, headers, body, &status);
        if (r == 0)
            r = (int)status;
        /* Retry what may pass on a second try: no answer, or a server error. */
        if (!(r == -EHOSTUNREACH || r == -EIO || r >= 500))
            break;
    }
out:
    for (struct curl_slist *l = headers; l; l = l->next)
        cj_explicit_zero(l->data, strlen(l->data));
    curl_slist_free_all(headers);
    return r;
}
