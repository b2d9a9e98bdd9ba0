/* SPDX-License-Identifier: MIT */
/* The fourth source: container credentials (ECS task roles, EKS Pod Identity), as the SDKs
 * read them. Only https, or http to loopback and the link-local addresses the platforms use,
 * so that the Authorization token is not sent in clear text across a network. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cj-time.h"
#include "credentials-internal.h"
#include "log.h"
#include "secret-file.h"

#define ECS_HOST           "169.254.170.2"
#define TOKEN_MAX          16384
#define CONNECT_TIMEOUT_MS 2000L
#define TIMEOUT_MS         5000L
#define ATTEMPTS           2

static bool host_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (strcasecmp(host, "localhost") == 0)
        return true; /* curl resolves "localhost" to loopback itself */
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}

static bool host_is_allowed_link_local(const char *host)
{
    struct in6_addr a6, eks6;
    if (strcmp(host, "169.254.170.2") == 0 || strcmp(host, "169.254.170.23") == 0)
        return true;
    return inet_pton(AF_INET6, host, &a6) == 1 && inet_pton(AF_INET6, "fd00:ec2::23", &eks6) == 1 &&
           memcmp(&a6, &eks6, sizeof(a6)) == 0;
}

int aws_cred_container_url_check(const char *url, char *err, size_t errlen)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *user = NULL;
    int r = -EINVAL;

    if (!u)
        return -ENOMEM;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        snprintf(err, errlen, "not a valid URL");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
        snprintf(err, errlen, "the URL must not carry a user name or password");
        goto out;
    }
    if (strcmp(scheme, "https") == 0) {
        r = 0;
        goto out;
    }
    if (strcmp(scheme, "http") != 0) {
        snprintf(err, errlen, "the scheme must be http or https");
        goto out;
    }
    /* curl keeps the brackets of an IPv6 host. */
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    if (host_is_loopback(host) || host_is_allowed_link_local(host))
        r = 0;
    else
        snprintf(err, errlen,
                 "http is only allowed to loopback, 169.254.170.2, 169.254.170.23 or "
                 "[fd00:ec2::23]; use https");
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(user);
    curl_url_cleanup(u);
    return r;
}

/* cj_credentials_set_container_host()'s host; "" = none. Set by the main thread (on reload)
 * while a lookup may read it on a worker thread. */
static char host_override[256];
static pthread_mutex_t host_override_lock = PTHREAD_MUTEX_INITIALIZER;

int cj_credentials_set_container_host(const char *host)
{
    if (host && strlen(host) >= sizeof(host_override))
        return -EINVAL;
    pthread_mutex_lock(&host_override_lock);
    snprintf(host_override, sizeof(host_override), "%s", host ? host : "");
    pthread_mutex_unlock(&host_override_lock);
    return 0;
}

/* The test-only host override must be loopback ("127.0.0.1:port", "[::1]:port",
 * "localhost:port"): it exists for the tests' stand-in, not to send tokens elsewhere. */
static int container_host(char **ret)
{
    char override[sizeof(host_override)];
    pthread_mutex_lock(&host_override_lock);
    memcpy(override, host_override, sizeof(override));
    pthread_mutex_unlock(&host_override_lock);
    if (!*override) {
        *ret = strdup(ECS_HOST);
        return *ret ? 0 : -ENOMEM;
    }
    _cleanup_free_ char *url = NULL;
    if (asprintf(&url, "http://%s/", override) < 0)
        return -ENOMEM;
    char err[160];
    if (strchr(override, '/') || strchr(override, '@') ||
        aws_cred_container_url_check(url, err, sizeof(err)) < 0)
        return log_error_errno(EINVAL, "COPYJOBD_CONTAINER_CREDENTIALS_HOST (test-only) must be a "
                                       "loopback host[:port]");
    /* Loopback only: the check above allows the link-local addresses too. */
    _cleanup_free_ char *host = strdup(override);
    if (!host)
        return -ENOMEM;
    char *h = host;
    if (h[0] == '[') {
        h++;
        char *close = strchr(h, ']');
        if (close)
            *close = '\0';
    } else {
        char *colon = strchr(h, ':');
        if (colon)
            *colon = '\0';
    }
    if (!host_is_loopback(h))
        return log_error_errno(EINVAL, "COPYJOBD_CONTAINER_CREDENTIALS_HOST (test-only) must be a "
                                       "loopback host[:port]");
    *ret = strdup(override);
    return *ret ? 0 : -ENOMEM;
}

/* The Authorization value: the token file wins over the variable, as in the SDKs. */
static int authorization_token(char **ret)
{
    const char *file = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *value = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    _cleanup_secret_file_ struct cj_secret_file f = {0};
    const char *what;

    *ret = NULL;
    if (file && *file) {
        what = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";
        char label[PATH_MAX + 64];
        snprintf(label, sizeof(label), "the container authorization token file %s (%s)", file,
                 what);
        int r = cj_secret_file_read(AT_FDCWD, file, label, TOKEN_MAX, &f);
        if (r == -ENOENT)
            return log_error_errno(r, "Cannot open %s: %m", label);
        if (r < 0)
            return r;
        /* Token files are often written with a trailing newline. */
        while (f.len > 0 &&
               (f.data[f.len - 1] == '\n' || f.data[f.len - 1] == '\r' || f.data[f.len - 1] == ' '))
            f.data[--f.len] = '\0';
        value = f.data;
    } else if (value && *value) {
        what = "AWS_CONTAINER_AUTHORIZATION_TOKEN";
    } else {
        return 0;
    }

    size_t len = strlen(value);
    if (len == 0 || len > TOKEN_MAX)
        return log_error_errno(EINVAL, "Container credentials: %s is empty or too long", what);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)value[i] < 0x20 || (unsigned char)value[i] >= 0x7f)
            return log_error_errno(EINVAL,
                                   "Container credentials: %s contains a line break or a "
                                   "non-printable character",
                                   what);
    if (asprintf(ret, "Authorization: %s", value) < 0) {
        *ret = NULL;
        return -ENOMEM;
    }
    return 0;
}

int aws_credentials_from_container(struct cj_aws_credentials *c, char *source, size_t sourcelen)
{
    const char *relative = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    _cleanup_free_ char *url = NULL;
    _cleanup_secret_ char *auth = NULL;
    _cleanup_secret_buf_ struct cj_secret_buf body = {0};
    char err[200];
    int r;

    if (relative && *relative) {
        _cleanup_free_ char *host = NULL;
        if (relative[0] != '/')
            return log_error_errno(EINVAL,
                                   "Container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI "
                                   "must start with '/'");
        if ((r = container_host(&host)) < 0)
            return r;
        if (asprintf(&url, "http://%s%s", host, relative) < 0) {
            url = NULL;
            return -ENOMEM;
        }
    } else if (full && *full) {
        if (aws_cred_container_url_check(full, err, sizeof(err)) < 0)
            return log_error_errno(
                EINVAL, "Container credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI: %s", err);
        if (!(url = strdup(full)))
            return -ENOMEM;
    } else {
        return 0;
    }
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return log_error_errno(EINVAL, "Container credentials: the URI contains spaces or "
                                           "non-printable characters");

    if ((r = authorization_token(&auth)) < 0)
        return r;

    const char *headers[] = {"Accept: application/json", auth, NULL};
    struct cj_cred_http_request req = {
        .method = "GET",
        .url = url,
        .headers = headers,
        .connect_timeout_ms = CONNECT_TIMEOUT_MS,
        .timeout_ms = TIMEOUT_MS,
        .attempts = ATTEMPTS,
    };
    r = aws_cred_http(&req, &body);
    if (r == -EHOSTUNREACH)
        return log_error_errno(EHOSTUNREACH, "Container credentials (%s): no answer", url);
    if (r == -EFBIG)
        return log_error_errno(EFBIG,
                               "Container credentials (%s): the answer is larger than %zu "
                               "bytes",
                               url, CJ_CRED_RESPONSE_MAX);
    if (r < 0)
        return log_error_errno(r, "Container credentials (%s): the request failed", url);
    if (r != 200)
        return log_error_errno(EPROTO, "Container credentials (%s): the endpoint answered HTTP %d",
                               url, r);

    r = aws_cred_parse_json(CJ_CRED_JSON_CONTAINER, body.data, body.len, cj_now_ns(), c, err,
                            sizeof(err));
    if (r < 0)
        return log_error_errno(r == -ENOMEM || r == -EKEYEXPIRED ? -r : EPROTO,
                               "Container credentials (%s): %s", url, err);
    snprintf(source, sourcelen, "container credentials (%s)", url);
    return 1;
}
