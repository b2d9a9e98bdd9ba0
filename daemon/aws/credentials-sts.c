/* SPDX-License-Identifier: MIT */
/* STS: AssumeRole (SigV4-signed Query API, form body) and AssumeRoleWithWebIdentity
 * (unsigned), at the regional endpoint or the one the environment names, and the cache that
 * makes each role's credentials be asked for once per lifetime. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cj-buf.h"
#include "cj-time.h"
#include "credentials-sts.h"
#include "log.h"
#include "secret-file.h"
#include "sigv4.h"

#define STS_VERSION        "2011-06-15"
#define CONNECT_TIMEOUT_MS 5000L
#define TIMEOUT_MS         20000L
#define ATTEMPTS           3
#define CACHE_SIZE         64

/* ---- the cache ---- */

struct cache_entry {
    char *key;
    struct cj_aws_credentials c;
    uint64_t stamp; /* insertion order, to drop the oldest */
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cache_entry cache[CACHE_SIZE]; /* guarded by cache_lock */
static uint64_t cache_clock;                 /* guarded by cache_lock */

static int cred_copy(const struct cj_aws_credentials *from, struct cj_aws_credentials *to)
{
    *to = (struct cj_aws_credentials){.expiration_ns = from->expiration_ns};
    to->access_key_id = strdup(from->access_key_id);
    to->secret_access_key = strdup(from->secret_access_key);
    to->session_token = from->session_token ? strdup(from->session_token) : NULL;
    if (!to->access_key_id || !to->secret_access_key ||
        (from->session_token && !to->session_token)) {
        cj_credentials_done(to);
        return -ENOMEM;
    }
    return 0;
}

static void entry_clear(struct cache_entry *e)
{
    aws_free_secret(e->key);
    cj_credentials_done(&e->c);
    *e = (struct cache_entry){0};
}

bool aws_role_cache_get(const char *key, int64_t now_ns, struct cj_aws_credentials *ret)
{
    bool hit = false;
    *ret = (struct cj_aws_credentials){0};
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < CACHE_SIZE; i++) {
        struct cache_entry *e = &cache[i];
        if (!e->key || strcmp(e->key, key) != 0)
            continue;
        if (cj_credentials_need_refresh(&e->c, now_ns))
            entry_clear(e);
        else
            hit = cred_copy(&e->c, ret) == 0;
        break;
    }
    pthread_mutex_unlock(&cache_lock);
    return hit;
}

void aws_role_cache_put(const char *key, const struct cj_aws_credentials *c)
{
    pthread_mutex_lock(&cache_lock);
    struct cache_entry *slot = NULL;
    for (size_t i = 0; i < CACHE_SIZE && !slot; i++)
        if (cache[i].key && strcmp(cache[i].key, key) == 0)
            slot = &cache[i];
    for (size_t i = 0; i < CACHE_SIZE && !slot; i++)
        if (!cache[i].key)
            slot = &cache[i];
    if (!slot) {
        slot = &cache[0];
        for (size_t i = 1; i < CACHE_SIZE; i++)
            if (cache[i].stamp < slot->stamp)
                slot = &cache[i];
    }
    entry_clear(slot);
    slot->key = strdup(key);
    if (slot->key && cred_copy(c, &slot->c) == 0)
        slot->stamp = ++cache_clock;
    else
        entry_clear(slot);
    pthread_mutex_unlock(&cache_lock);
}

void aws_role_cache_clear(void)
{
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < CACHE_SIZE; i++)
        entry_clear(&cache[i]);
    pthread_mutex_unlock(&cache_lock);
}

/* ---- endpoints ---- */

static bool host_is_loopback(const char *host)
{
    if (strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0)
        return true;
    unsigned a, b, c, d;
    char tail;
    return sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 && b < 256 &&
           c < 256 && d < 256;
}

/* Region names are short lower-case words with dashes; anything else must not become a host. */
static bool region_ok(const char *region)
{
    size_t len = region ? strlen(region) : 0;
    if (len == 0 || len > 32)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((region[i] >= 'a' && region[i] <= 'z') || (region[i] >= '0' && region[i] <= '9') ||
              region[i] == '-'))
            return false;
    return true;
}

int aws_service_endpoint(const char *env_service, const char *host_prefix, const char *region,
                         char **ret, char *err, size_t errlen)
{
    char env[64];
    snprintf(env, sizeof(env), "AWS_ENDPOINT_URL_%s", env_service);
    const char *v = getenv(env);
    if (!v || !*v) {
        snprintf(env, sizeof(env), "AWS_ENDPOINT_URL");
        v = getenv(env);
    }
    *ret = NULL;
    if (!v || !*v) {
        if (!region_ok(region)) {
            snprintf(err, errlen, "the region is missing or not a region name");
            return -EINVAL;
        }
        if (asprintf(ret, "https://%s.%s.amazonaws.com", host_prefix, region) < 0) {
            *ret = NULL;
            return -ENOMEM;
        }
        return 0;
    }

    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *user = NULL, *query = NULL;
    int r = -EINVAL;
    if (!u)
        return -ENOMEM;
    if (curl_url_set(u, CURLUPART_URL, v, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
        snprintf(err, errlen, "%s is not a valid URL", env);
    else if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
             curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK)
        snprintf(err, errlen, "%s must not carry a user name or a query", env);
    else if (strcmp(scheme, "https") != 0 &&
             !(strcmp(scheme, "http") == 0 && host_is_loopback(host)))
        snprintf(err, errlen, "%s must be https (http only to a loopback address)", env);
    else {
        size_t len = strlen(v);
        while (len > 0 && v[len - 1] == '/')
            len--;
        *ret = strndup(v, len);
        r = *ret ? 0 : -ENOMEM;
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(user);
    curl_free(query);
    curl_url_cleanup(u);
    return r;
}

/* The Host header value and path of an endpoint URL, as curl will send them. */
static int url_host_and_path(const char *url, char **host_header, char **path)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, *p = NULL;
    int r = -EINVAL;

    *host_header = *path = NULL;
    if (!u)
        return -ENOMEM;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PATH, &p, 0) == CURLUE_OK) {
        bool has_port = curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK;
        int n = has_port ? asprintf(host_header, "%s:%s", host, port)
                         : asprintf(host_header, "%s", host);
        *path = strdup(p && *p ? p : "/");
        if (n < 0)
            *host_header = NULL;
        r = *host_header && *path ? 0 : -ENOMEM;
        if (r < 0) {
            free(*host_header);
            free(*path);
            *host_header = *path = NULL;
        }
    }
    curl_free(host);
    curl_free(port);
    curl_free(p);
    curl_url_cleanup(u);
    return r;
}

/* ---- the calls ---- */

/* Form bodies hold the web identity token: built in a buffer sized once and zeroed after. */
static void buf_zero_free(struct cj_buf *b)
{
    if (b->data)
        cj_explicit_zero(b->data, b->cap);
    cj_buf_free(b);
}

static int form_add(struct cj_buf *b, const char *key, const char *value)
{
    int r;
    if (b->len > 0 && (r = cj_buf_append_char(b, '&')) < 0)
        return r;
    if ((r = cj_buf_append_str(b, key)) < 0 || (r = cj_buf_append_char(b, '=')) < 0)
        return r;
    return cj_uri_encode(value, strlen(value), false, b);
}

static bool chars_ok(const char *s, size_t min, size_t max, const char *extra)
{
    size_t len = strlen(s);
    if (len < min || len > max)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || strchr(extra, c)))
            return false;
    }
    return true;
}

static int check_role(const struct aws_sts_role *role, char *err, size_t errlen)
{
    /* STS's own patterns: the role ARN is printable (20..2048), the session name
     * [\w+=,.@-]{2,64}, the external id [\w+=,.@:\/-]{2,1224}. */
    size_t len = role->role_arn ? strlen(role->role_arn) : 0;
    bool arn_ok = len >= 20 && len <= 2048 && strncmp(role->role_arn, "arn:", 4) == 0;
    for (size_t i = 0; arn_ok && i < len; i++)
        if ((unsigned char)role->role_arn[i] <= 0x20 || (unsigned char)role->role_arn[i] >= 0x7f)
            arn_ok = false;
    if (!arn_ok) {
        snprintf(err, errlen, "role_arn is not a role ARN");
        return -EINVAL;
    }
    if (role->session_name && !chars_ok(role->session_name, 2, 64, "+=,.@-")) {
        snprintf(err, errlen, "role_session_name must be 2..64 of A-Z a-z 0-9 _+=,.@-");
        return -EINVAL;
    }
    if (role->external_id && !chars_ok(role->external_id, 2, 1224, "+=,.@:/-")) {
        snprintf(err, errlen, "external_id must be 2..1224 of A-Z a-z 0-9 _+=,.@:/-");
        return -EINVAL;
    }
    if (role->duration_seconds != 0 && (role->duration_seconds < CJ_STS_DURATION_MIN ||
                                        role->duration_seconds > CJ_STS_DURATION_MAX)) {
        snprintf(err, errlen, "duration_seconds must be %d..%d", CJ_STS_DURATION_MIN,
                 CJ_STS_DURATION_MAX);
        return -EINVAL;
    }
    return 0;
}

static int build_body(const char *action, const struct aws_sts_role *role, const char *token,
                      struct cj_buf *body)
{
    char duration[16];
    int r;

    /* Sized once for the longest body, so the token is never left behind by a realloc. */
    if ((r = cj_buf_reserve(body, 3 * (CJ_WEB_IDENTITY_TOKEN_MAX + 4096))) < 0)
        return r;
    if ((r = form_add(body, "Action", action)) < 0 ||
        (r = form_add(body, "Version", STS_VERSION)) < 0 ||
        (r = form_add(body, "RoleArn", role->role_arn)) < 0 ||
        (r = form_add(body, "RoleSessionName",
                      role->session_name ? role->session_name : CJ_STS_DEFAULT_SESSION)) < 0)
        return r;
    if (role->external_id && (r = form_add(body, "ExternalId", role->external_id)) < 0)
        return r;
    if (role->duration_seconds > 0) {
        snprintf(duration, sizeof(duration), "%d", role->duration_seconds);
        if ((r = form_add(body, "DurationSeconds", duration)) < 0)
            return r;
    }
    if (token && (r = form_add(body, "WebIdentityToken", token)) < 0)
        return r;
    return 0;
}

static int errno_for_code(const char *code, int status)
{
    if (strcmp(code, "ExpiredToken") == 0 || strcmp(code, "ExpiredTokenException") == 0)
        return -EKEYEXPIRED;
    if (strcmp(code, "RegionDisabledException") == 0)
        return -EHOSTDOWN;
    if (strcmp(code, "Throttling") == 0 || status >= 500)
        return -EAGAIN;
    return -EACCES;
}

/* Sends one STS request: 0 with the answer of a 200, else an error naming what failed. */
static int sts_post(const char *url, const char *const *headers, const struct cj_buf *body,
                    const char *what, struct cj_secret_buf *answer, char *err, size_t errlen)
{
    struct cj_cred_http_request req = {
        .method = "POST",
        .url = url,
        .headers = headers,
        .body = body->data,
        .body_len = body->len,
        .connect_timeout_ms = CONNECT_TIMEOUT_MS,
        .timeout_ms = TIMEOUT_MS,
        .attempts = ATTEMPTS,
        .remote = true,
    };
    int r = aws_cred_http(&req, answer);
    if (r == -EHOSTUNREACH || r == -EIO) {
        snprintf(err, errlen, "%s: STS at %s cannot be reached", what, url);
        return -EHOSTUNREACH;
    }
    if (r == -EFBIG) {
        snprintf(err, errlen, "%s: the answer of STS is too large", what);
        return r;
    }
    if (r < 0) {
        snprintf(err, errlen, "%s: %s", what, strerror(-r));
        return r;
    }
    if (r != 200) {
        struct aws_sts_error e;
        if (aws_sts_parse_error(answer->data, answer->len, &e) == 0 && e.code[0]) {
            snprintf(err, errlen, "%s: %s: %s", what, e.code, e.message);
            return errno_for_code(e.code, r);
        }
        snprintf(err, errlen, "%s: STS answered HTTP %d", what, r);
        return r >= 500 ? -EAGAIN : -EACCES;
    }
    return 0;
}

/* Sends one STS request and parses the credentials of its answer. what names the call and
 * role in messages. */
static int sts_call(const char *action, const char *url, const char *const *headers,
                    const struct cj_buf *body, const char *what, struct cj_aws_credentials *ret,
                    char *err, size_t errlen)
{
    _cleanup_secret_buf_ struct cj_secret_buf answer = {0};
    int r = sts_post(url, headers, body, what, &answer, err, errlen);
    if (r < 0)
        return r;
    char why[200];
    r = aws_sts_parse_credentials(action, answer.data, answer.len, cj_now_ns(), ret, why,
                                  sizeof(why));
    if (r < 0)
        snprintf(err, errlen, "%s: %s", what, why);
    return r;
}

static int cache_key(struct cj_buf *key, const char *action, const struct aws_sts_role *role,
                     const char *caller)
{
    return cj_buf_printf(key, "%s\n%s\n%s\n%s\n%d\n%s\n%s", action, role->role_arn,
                         role->session_name ? role->session_name : CJ_STS_DEFAULT_SESSION,
                         role->external_id ? role->external_id : "", role->duration_seconds,
                         role->region ? role->region : "", caller);
}

/* Signs a form body for STS in `region` with source's keys and sends it: 0 with the answer of
 * a 200 in *answer. */
static int sts_signed_post(const struct cj_buf *body, const char *region,
                           const struct cj_aws_credentials *source, const char *what,
                           struct cj_secret_buf *answer, char *err, size_t errlen)
{
    _cleanup_free_ char *url = NULL, *host = NULL, *path = NULL;
    struct cj_sigv4_result sig = {0};
    char payload_hash[65], why[200];
    char *auth = NULL, *date = NULL, *token = NULL;
    int r;

    if ((r = aws_service_endpoint("STS", "sts", region, &url, why, sizeof(why))) < 0) {
        snprintf(err, errlen, "%s: %s", what, why);
        return r;
    }
    if ((r = url_host_and_path(url, &host, &path)) < 0) {
        snprintf(err, errlen, "%s: the STS endpoint %s cannot be used", what, url);
        return r;
    }
    if ((r = cj_sha256_hex(body->data, body->len, payload_hash)) < 0)
        return r;

    static const char content_type[] = "application/x-www-form-urlencoded; charset=utf-8";
    const struct cj_kv signed_headers[] = {{"content-type", content_type}};
    struct cj_sigv4_request sreq = {
        .method = "POST",
        .path = path,
        .query = "",
        .headers = signed_headers,
        .n_headers = 1,
        .host = host,
        .payload_sha256 = payload_hash,
        .region = region,
        .service = "sts",
        .time_sec = (int64_t)time(NULL),
        .double_encode_path = true,
        .normalize_path = true,
    };
    if ((r = cj_sigv4_sign(&sreq, source, &sig)) < 0) {
        snprintf(err, errlen, "%s: cannot sign the request (%s)", what, strerror(-r));
        return r;
    }
    if (asprintf(&auth, "Authorization: %s", sig.authorization) < 0)
        auth = NULL;
    if (asprintf(&date, "X-Amz-Date: %s", sig.amz_date) < 0)
        date = NULL;
    if (source->session_token && *source->session_token &&
        asprintf(&token, "X-Amz-Security-Token: %s", source->session_token) < 0)
        token = NULL;
    cj_sigv4_result_done(&sig);
    if (!auth || !date || (source->session_token && *source->session_token && !token)) {
        r = -ENOMEM;
        goto out;
    }
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded; charset=utf-8", auth,
                             date, token, NULL};
    log_debug("%s at %s", what, url);
    r = sts_post(url, headers, body, what, answer, err, errlen);
out:
    aws_free_secret(auth);
    aws_free_secret(date);
    aws_free_secret(token);
    return r;
}

int aws_sts_assume_role(const struct aws_sts_role *role, const struct cj_aws_credentials *source,
                        struct cj_aws_credentials *ret, char *err, size_t errlen)
{
    _cleanup_(buf_zero_free) struct cj_buf body = {0};
    _cleanup_buf_ struct cj_buf key = {0};
    _cleanup_secret_buf_ struct cj_secret_buf answer = {0};
    char what[2200], why[200];
    int r;

    *ret = (struct cj_aws_credentials){0};
    snprintf(what, sizeof(what), "STS AssumeRole of %s", role->role_arn ? role->role_arn : "?");
    if ((r = check_role(role, why, sizeof(why))) < 0) {
        snprintf(err, errlen, "%s: %s", what, why);
        return r;
    }
    if ((r = cache_key(&key, "AssumeRole", role, source->access_key_id)) < 0)
        return r;
    if (aws_role_cache_get(key.data, cj_now_ns(), ret)) {
        log_debug("%s: cached credentials are still valid", what);
        return 0;
    }
    if ((r = build_body("AssumeRole", role, NULL, &body)) < 0)
        return r;
    r = sts_signed_post(&body, role->region, source, what, &answer, err, errlen);
    if (r < 0)
        return r;
    r = aws_sts_parse_credentials("AssumeRole", answer.data, answer.len, cj_now_ns(), ret, why,
                                  sizeof(why));
    if (r < 0) {
        snprintf(err, errlen, "%s: %s", what, why);
        return r;
    }
    aws_role_cache_put(key.data, ret);
    return 0;
}

int aws_sts_get_caller_account(const struct cj_aws_credentials *c, const char *region,
                               char account[static 13], char *err, size_t errlen)
{
    _cleanup_(buf_zero_free) struct cj_buf body = {0};
    _cleanup_secret_buf_ struct cj_secret_buf answer = {0};
    static const char *const paths[] = {
        "GetCallerIdentityResponse/GetCallerIdentityResult/Account"};
    char *values[1] = {NULL};
    char why[200];
    int r;

    if ((r = form_add(&body, "Action", "GetCallerIdentity")) < 0 ||
        (r = form_add(&body, "Version", STS_VERSION)) < 0)
        return r;
    r = sts_signed_post(&body, region, c, "STS GetCallerIdentity", &answer, err, errlen);
    if (r < 0)
        return r;
    r = aws_xml_extract(answer.data, answer.len, paths, 1, values, why, sizeof(why));
    if (r < 0) {
        snprintf(err, errlen, "STS GetCallerIdentity: %s", why);
        return -ENODATA;
    }
    bool ok = values[0] && strlen(values[0]) == 12 && strspn(values[0], "0123456789") == 12;
    if (ok)
        memcpy(account, values[0], 13);
    else
        snprintf(err, errlen, "STS GetCallerIdentity: the answer names no 12-digit account");
    aws_free_secret(values[0]);
    return ok ? 0 : -ENODATA;
}

/* The token, without the trailing newline a file usually has. */
static int read_token(const char *path, struct cj_secret_file *f, char *err, size_t errlen)
{
    char what[300];
    snprintf(what, sizeof(what), "the web identity token file %s", path);
    int r = cj_secret_file_read(AT_FDCWD, path, what, CJ_WEB_IDENTITY_TOKEN_MAX + 2, f);
    if (r < 0) {
        snprintf(err, errlen, "%s cannot be read: %s", what, strerror(-r));
        return r;
    }
    while (f->len > 0 && (f->data[f->len - 1] == '\n' || f->data[f->len - 1] == '\r' ||
                          f->data[f->len - 1] == ' ' || f->data[f->len - 1] == '\t'))
        f->data[--f->len] = '\0';
    if (f->len < 4 || f->len > CJ_WEB_IDENTITY_TOKEN_MAX) {
        snprintf(err, errlen, "%s does not hold a token (4..%d printable characters)", what,
                 CJ_WEB_IDENTITY_TOKEN_MAX);
        return -EINVAL;
    }
    for (size_t i = 0; i < f->len; i++)
        if ((unsigned char)f->data[i] <= 0x20 || (unsigned char)f->data[i] >= 0x7f) {
            snprintf(err, errlen, "%s does not hold a token (4..%d printable characters)", what,
                     CJ_WEB_IDENTITY_TOKEN_MAX);
            return -EINVAL;
        }
    return 0;
}

int aws_sts_assume_role_with_web_identity(const struct aws_sts_role *role, const char *token_file,
                                          struct cj_aws_credentials *ret, char *err, size_t errlen)
{
    _cleanup_(buf_zero_free) struct cj_buf body = {0};
    _cleanup_buf_ struct cj_buf key = {0};
    _cleanup_secret_file_ struct cj_secret_file token = {0};
    _cleanup_free_ char *url = NULL;
    char what[2200], why[400];
    int r;

    *ret = (struct cj_aws_credentials){0};
    snprintf(what, sizeof(what), "STS AssumeRoleWithWebIdentity of %s",
             role->role_arn ? role->role_arn : "?");
    if ((r = check_role(role, why, sizeof(why))) < 0) {
        snprintf(err, errlen, "%s: %s", what, why);
        return r;
    }
    if ((r = cache_key(&key, "AssumeRoleWithWebIdentity", role, token_file)) < 0)
        return r;
    if (aws_role_cache_get(key.data, cj_now_ns(), ret)) {
        log_debug("%s: cached credentials are still valid", what);
        return 0;
    }
    /* Read on every call the cache does not answer: EKS and GitHub rotate the file. */
    if ((r = read_token(token_file, &token, why, sizeof(why))) < 0) {
        snprintf(err, errlen, "%s: %s", what, why);
        return r;
    }
    if ((r = aws_service_endpoint("STS", "sts", role->region, &url, why, sizeof(why))) < 0) {
        snprintf(err, errlen, "%s: %s", what, why);
        return r;
    }
    if ((r = build_body("AssumeRoleWithWebIdentity", role, token.data, &body)) < 0)
        return r;
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded; charset=utf-8",
                             NULL};
    log_debug("%s at %s", what, url);
    r = sts_call("AssumeRoleWithWebIdentity", url, headers, &body, what, ret, err, errlen);
    if (r == 0)
        aws_role_cache_put(key.data, ret);
    return r;
}
