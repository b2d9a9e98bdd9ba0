/* SPDX-License-Identifier: MIT */
/* IAM Identity Center profiles: the token `aws sso login` cached in ~/.aws/sso/cache/, the
 * portal's GetRoleCredentials, and the OIDC CreateToken refresh that keeps the token alive
 * the way the AWS CLI does, writing the cache file back atomically so the CLI and copyjobd
 * share one login. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cj-buf.h"
#include "cj-time.h"
#include "credentials-sts.h"
#include "log.h"
#include "secret-file.h"
#include "sigv4.h"

#define CONNECT_TIMEOUT_MS 5000L
#define TIMEOUT_MS         20000L
#define ATTEMPTS           3
#define TOKEN_FILE_MAX     ((size_t)64 * 1024)

int aws_sso_cache_file_name(const char *key, char out[static 46])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
        return -EIO;
    for (unsigned i = 0; i < 20; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    memcpy(out + 40, ".json", 6);
    return 0;
}

void aws_sso_token_done(struct aws_sso_token *t)
{
    aws_free_secret(t->access_token);
    aws_free_secret(t->refresh_token);
    aws_free_secret(t->client_id);
    aws_free_secret(t->client_secret);
    *t = (struct aws_sso_token){0};
}

/* The CLI writes "2024-06-04T19:37:02Z"; the first CLI v1 versions wrote "...UTC". */
static int parse_time(const char *s, int64_t *ret)
{
    char buf[64];
    size_t len = strlen(s);
    if (len >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, s, len + 1);
    if (len > 3 && strcmp(buf + len - 3, "UTC") == 0) {
        buf[len - 3] = 'Z';
        buf[len - 2] = '\0';
        len -= 2;
    }
    return cj_time_parse_iso8601(buf, len, ret);
}

static const char *json_str(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v)
               ? json_string_value(v)
               : NULL;
}

static int dup_opt(const char *s, char **ret)
{
    *ret = NULL;
    if (!s)
        return 0;
    *ret = strdup(s);
    return *ret ? 0 : -ENOMEM;
}

int aws_sso_token_parse(const char *data, size_t len, struct aws_sso_token *ret, char *err,
                        size_t errlen)
{
    json_error_t jerr;
    int r = -EINVAL;

    *ret = (struct aws_sso_token){0};
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !json_is_object(root)) {
        snprintf(err, errlen, "the cached token is not a JSON object");
        goto out;
    }
    const char *access = json_str(root, "accessToken");
    const char *expires = json_str(root, "expiresAt");
    if (!access || !*access || !aws_cred_token_ok(access, strlen(access))) {
        snprintf(err, errlen, "the cached token has no usable accessToken");
        goto out;
    }
    if (!expires || parse_time(expires, &ret->expires_at_ns) < 0) {
        snprintf(err, errlen, "the cached token has no valid expiresAt");
        goto out;
    }
    const char *reg = json_str(root, "registrationExpiresAt");
    if (reg && parse_time(reg, &ret->registration_expires_at_ns) < 0)
        ret->registration_expires_at_ns = 0;
    if ((r = dup_opt(access, &ret->access_token)) < 0 ||
        (r = dup_opt(json_str(root, "refreshToken"), &ret->refresh_token)) < 0 ||
        (r = dup_opt(json_str(root, "clientId"), &ret->client_id)) < 0 ||
        (r = dup_opt(json_str(root, "clientSecret"), &ret->client_secret)) < 0)
        goto out;
    r = 0;
out:
    json_decref(root);
    if (r < 0) {
        int64_t keep = ret->expires_at_ns;
        aws_sso_token_done(ret);
        ret->expires_at_ns = keep;
    }
    return r;
}

bool aws_sso_token_refreshable(const struct aws_sso_token *t, int64_t now_ns)
{
    return t->refresh_token && *t->refresh_token && t->client_id && *t->client_id &&
           t->client_secret && *t->client_secret && t->registration_expires_at_ns > now_ns;
}

int aws_sso_parse_role_credentials(const char *data, size_t len, int64_t now_ns,
                                   struct cj_aws_credentials *ret, char *err, size_t errlen)
{
    json_error_t jerr;
    int r = -EINVAL;

    *ret = (struct cj_aws_credentials){0};
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *rc = root ? json_object_get(root, "roleCredentials") : NULL;
    if (!json_is_object(rc)) {
        snprintf(err, errlen, "the answer has no roleCredentials object");
        goto out;
    }
    json_t *exp = json_object_get(rc, "expiration");
    /* Milliseconds; the limit keeps the nanoseconds within int64_t (the year 2262). */
    if (!json_is_integer(exp) || json_integer_value(exp) <= 0 ||
        json_integer_value(exp) > INT64_MAX / INT64_C(1000000)) {
        snprintf(err, errlen, "roleCredentials.expiration is not a time in milliseconds");
        goto out;
    }
    char when[CJ_ISO8601_MAX];
    if (cj_time_format_iso8601(json_integer_value(exp) * INT64_C(1000000), when, sizeof(when)) <
        0) {
        snprintf(err, errlen, "roleCredentials.expiration is out of range");
        goto out;
    }
    char why[160];
    r = aws_cred_set(ret, json_str(rc, "accessKeyId"), json_str(rc, "secretAccessKey"),
                     json_str(rc, "sessionToken"), when, now_ns, why, sizeof(why));
    if (r < 0)
        snprintf(err, errlen, "roleCredentials: %s", why);
out:
    json_decref(root);
    return r;
}

/* ---- the cache file ---- */

static int cache_path(const char *key, char **ret)
{
    const char *home = getenv("HOME");
    if (!home || !*home) {
        struct passwd *pw = getpwuid(getuid());
        home = pw && pw->pw_dir && *pw->pw_dir ? pw->pw_dir : NULL;
    }
    char name[46];
    int r = aws_sso_cache_file_name(key, name);
    if (r < 0)
        return r;
    if (!home)
        return -ENOENT;
    if (asprintf(ret, "%s/.aws/sso/cache/%s", home, name) < 0) {
        *ret = NULL;
        return -ENOMEM;
    }
    return 0;
}

/* Replaces the token fields of the cache file with a refreshed token: written to a temporary
 * file beside it (mode 0600), synced, then renamed over it, as the CLI does. */
static int write_back(const char *path, const char *old, size_t oldlen, const char *access,
                      int64_t expires_ns, const char *refresh)
{
    json_error_t jerr;
    char when[CJ_ISO8601_MAX];
    char *text = NULL, *tmp = NULL;
    int fd = -1, r;

    json_t *root = json_loadb(old, oldlen, 0, &jerr);
    if (!root)
        return -EINVAL;
    /* Whole seconds, as the CLI writes it. */
    if ((r = cj_time_format_iso8601(expires_ns / 1000000000 * 1000000000, when, sizeof(when))) < 0)
        goto out;
    char *dot = strchr(when, '.');
    if (dot)
        memcpy(dot, "Z", 2);
    r = -ENOMEM;
    if (json_object_set_new(root, "accessToken", json_string(access)) < 0 ||
        json_object_set_new(root, "expiresAt", json_string(when)) < 0 ||
        (refresh && json_object_set_new(root, "refreshToken", json_string(refresh)) < 0))
        goto out;
    text = json_dumps(root, JSON_INDENT(0) | JSON_COMPACT);
    if (!text || asprintf(&tmp, "%s.copyjobd-%ld.tmp", path, (long)getpid()) < 0) {
        tmp = NULL;
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        r = -errno;
        goto out;
    }
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r = -errno;
            goto out;
        }
        off += (size_t)n;
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        fd = -1;
        r = -errno;
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        r = -errno;
        goto out;
    }
    r = 0;
out:
    if (fd >= 0)
        close(fd);
    if (tmp && r < 0)
        (void)unlink(tmp);
    free(tmp);
    if (text) {
        cj_explicit_zero(text, strlen(text));
        free(text);
    }
    json_decref(root);
    return r;
}

/* ---- the calls ---- */

/* The error of a JSON service answer: the x-amzn-ErrorType is not kept, so the body's
 * "error" (OIDC) or the status names it. */
static void describe_error(int status, const char *data, size_t len, char *out, size_t outlen)
{
    json_error_t jerr;
    json_t *root = json_loadb(data, len, 0, &jerr);
    const char *code = root ? json_str(root, "error") : NULL;
    const char *msg = root ? json_str(root, "message") : NULL;
    if (!msg && root)
        msg = json_str(root, "error_description");
    const char *by_status = status == 401   ? "UnauthorizedException"
                            : status == 403 ? "ForbiddenException"
                            : status == 404 ? "ResourceNotFoundException"
                            : status == 429 ? "TooManyRequestsException"
                            : status == 400 ? "InvalidRequestException"
                                            : "HTTP error";
    char safe[200] = "";
    for (size_t i = 0; msg && msg[i] && i + 1 < sizeof(safe); i++)
        safe[i] = (unsigned char)msg[i] < 0x20 ? ' ' : msg[i];
    bool code_ok = code && strlen(code) < 64 &&
                   strspn(code, "abcdefghijklmnopqrstuvwxyz_"
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == strlen(code);
    snprintf(out, outlen, "%s (HTTP %d)%s%s", code_ok ? code : by_status, status,
             safe[0] ? ": " : "", safe);
    json_decref(root);
}

static int refresh_token(const struct aws_sso_profile *p, const struct aws_sso_token *t,
                         char **access, int64_t *expires_ns, char **refresh, char *err,
                         size_t errlen)
{
    _cleanup_secret_buf_ struct cj_secret_buf answer = {0};
    _cleanup_free_ char *endpoint = NULL, *url = NULL;
    char why[300];
    int r;

    *access = *refresh = NULL;
    if ((r = aws_service_endpoint("SSO_OIDC", "oidc", p->region, &endpoint, why, sizeof(why))) <
        0) {
        snprintf(err, errlen, "%s", why);
        return r;
    }
    if (asprintf(&url, "%s/token", endpoint) < 0) {
        url = NULL;
        return -ENOMEM;
    }
    json_t *req =
        json_pack("{s:s, s:s, s:s, s:s}", "clientId", t->client_id, "clientSecret",
                  t->client_secret, "grantType", "refresh_token", "refreshToken", t->refresh_token);
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!body)
        return -ENOMEM;
    const char *headers[] = {"Content-Type: application/json", NULL};
    struct cj_cred_http_request hreq = {
        .method = "POST",
        .url = url,
        .headers = headers,
        .body = body,
        .body_len = strlen(body),
        .connect_timeout_ms = CONNECT_TIMEOUT_MS,
        .timeout_ms = TIMEOUT_MS,
        .attempts = ATTEMPTS,
        .remote = true,
    };
    r = aws_cred_http(&hreq, &answer);
    cj_explicit_zero(body, strlen(body));
    free(body);
    if (r < 0) {
        snprintf(err, errlen, "OIDC CreateToken at %s cannot be reached", url);
        return r == -EFBIG ? r : -EHOSTUNREACH;
    }
    if (r != 200) {
        describe_error(r, answer.data, answer.len, why, sizeof(why));
        snprintf(err, errlen, "OIDC CreateToken refused the refresh token: %s", why);
        return r >= 500 ? -EAGAIN : -EKEYEXPIRED;
    }
    json_error_t jerr;
    json_t *root = json_loadb(answer.data, answer.len, JSON_REJECT_DUPLICATES, &jerr);
    const char *a = root ? json_str(root, "accessToken") : NULL;
    json_t *in = root ? json_object_get(root, "expiresIn") : NULL;
    if (!a || !aws_cred_token_ok(a, strlen(a)) || !json_is_integer(in) ||
        json_integer_value(in) <= 0 || json_integer_value(in) > 366 * 86400) {
        snprintf(err, errlen, "OIDC CreateToken answered without a usable accessToken/expiresIn");
        json_decref(root);
        return -EINVAL;
    }
    *expires_ns = cj_now_ns() + json_integer_value(in) * INT64_C(1000000000);
    r = dup_opt(a, access);
    if (r == 0)
        r = dup_opt(json_str(root, "refreshToken"), refresh);
    json_decref(root);
    if (r < 0) {
        aws_free_secret(*access);
        *access = NULL;
    }
    return r;
}

static bool account_ok(const char *s)
{
    return strlen(s) == 12 && strspn(s, "0123456789") == 12;
}

static bool role_name_ok(const char *s)
{
    size_t len = strlen(s);
    return len >= 1 && len <= 64 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+=,.@-") ==
               len;
}

static int get_role_credentials(const struct aws_sso_profile *p, const char *access_token,
                                struct cj_aws_credentials *ret, char *err, size_t errlen)
{
    _cleanup_secret_buf_ struct cj_secret_buf answer = {0};
    _cleanup_free_ char *endpoint = NULL, *url = NULL;
    char *bearer = NULL, why[300];
    int r;

    if ((r = aws_service_endpoint("SSO", "portal.sso", p->region, &endpoint, why, sizeof(why))) <
        0) {
        snprintf(err, errlen, "AWS profile %s: %s", p->profile, why);
        return r;
    }
    _cleanup_buf_ struct cj_buf u = {0};
    if ((r = cj_buf_printf(&u, "%s/federation/credentials?account_id=%s&role_name=", endpoint,
                           p->account_id)) < 0 ||
        (r = cj_uri_encode(p->role_name, strlen(p->role_name), false, &u)) < 0)
        return r;
    url = cj_buf_steal(&u);
    if (asprintf(&bearer, "x-amz-sso_bearer_token: %s", access_token) < 0)
        return -ENOMEM;
    const char *headers[] = {bearer, NULL};
    struct cj_cred_http_request hreq = {
        .method = "GET",
        .url = url,
        .headers = headers,
        .connect_timeout_ms = CONNECT_TIMEOUT_MS,
        .timeout_ms = TIMEOUT_MS,
        .attempts = ATTEMPTS,
        .remote = true,
    };
    r = aws_cred_http(&hreq, &answer);
    aws_free_secret(bearer);
    if (r < 0) {
        snprintf(err, errlen, "AWS profile %s: IAM Identity Center at %s cannot be reached",
                 p->profile, endpoint);
        return r == -EFBIG ? r : -EHOSTUNREACH;
    }
    if (r != 200) {
        describe_error(r, answer.data, answer.len, why, sizeof(why));
        if (r == 401) {
            snprintf(err, errlen,
                     "AWS profile %s: IAM Identity Center refused the cached token (%s); run "
                     "aws sso login --profile %s",
                     p->profile, why, p->profile);
            return -EKEYEXPIRED;
        }
        snprintf(err, errlen,
                 "AWS profile %s: IAM Identity Center GetRoleCredentials of role %s "
                 "in account %s: %s",
                 p->profile, p->role_name, p->account_id, why);
        return r >= 500 ? -EAGAIN : -EACCES;
    }
    r = aws_sso_parse_role_credentials(answer.data, answer.len, cj_now_ns(), ret, why, sizeof(why));
    if (r < 0)
        snprintf(err, errlen, "AWS profile %s: IAM Identity Center GetRoleCredentials: %s",
                 p->profile, why);
    return r;
}

int aws_sso_get_credentials(const struct aws_sso_profile *p, struct cj_aws_credentials *ret,
                            char *err, size_t errlen)
{
    _cleanup_secret_file_ struct cj_secret_file f = {0};
    _cleanup_free_ char *path = NULL;
    _cleanup_buf_ struct cj_buf key = {0};
    struct aws_sso_token t = {0};
    char *new_access = NULL, *new_refresh = NULL, why[600];
    const char *cache_key_src = p->session_name ? p->session_name : p->start_url;
    int64_t now = cj_now_ns();
    int r;

    *ret = (struct cj_aws_credentials){0};
    if (!account_ok(p->account_id) || !role_name_ok(p->role_name)) {
        snprintf(err, errlen,
                 "AWS profile %s: sso_account_id must be 12 digits and sso_role_name a role "
                 "name",
                 p->profile);
        return -EINVAL;
    }
    if ((r = cj_buf_printf(&key, "sso\n%s\n%s\n%s\n%s", p->start_url, p->region, p->account_id,
                           p->role_name)) < 0)
        return r;
    if (aws_role_cache_get(key.data, now, ret))
        return 0;

    if ((r = cache_path(cache_key_src, &path)) < 0) {
        snprintf(err, errlen, "AWS profile %s: no home directory for ~/.aws/sso/cache", p->profile);
        return r;
    }
    char what[PATH_MAX + 64];
    snprintf(what, sizeof(what), "the IAM Identity Center token cache %s", path);
    r = cj_secret_file_read(AT_FDCWD, path, what, TOKEN_FILE_MAX, &f);
    if (r == -ENOENT) {
        snprintf(err, errlen,
                 "AWS profile %s: no IAM Identity Center token is cached (%s); run aws sso "
                 "login --profile %s",
                 p->profile, path, p->profile);
        return -EKEYEXPIRED;
    }
    if (r < 0) {
        snprintf(err, errlen, "AWS profile %s: %s cannot be read: %s", p->profile, path,
                 strerror(-r));
        return r;
    }
    if ((r = aws_sso_token_parse(f.data, f.len, &t, why, sizeof(why))) < 0) {
        snprintf(err, errlen, "AWS profile %s: %s: %s; run aws sso login --profile %s", p->profile,
                 path, why, p->profile);
        return r;
    }

    const char *access = t.access_token;
    if (now >= t.expires_at_ns - CJ_CRED_REFRESH_WINDOW) {
        bool expired = now >= t.expires_at_ns;
        if (!aws_sso_token_refreshable(&t, now)) {
            if (expired) {
                snprintf(err, errlen,
                         "AWS profile %s: the IAM Identity Center token has expired and cannot "
                         "be refreshed; run aws sso login --profile %s",
                         p->profile, p->profile);
                r = -EKEYEXPIRED;
                goto out;
            }
        } else {
            int64_t expires_ns = 0;
            r = refresh_token(p, &t, &new_access, &expires_ns, &new_refresh, why, sizeof(why));
            if (r < 0 && expired) {
                snprintf(err, errlen,
                         "AWS profile %s: the IAM Identity Center token has expired: %s; run "
                         "aws sso login --profile %s",
                         p->profile, why, p->profile);
                goto out;
            }
            if (r < 0)
                log_warning("AWS profile %s: %s; using the cached token until it expires",
                            p->profile, why);
            else {
                access = new_access;
                int w = write_back(path, f.data, f.len, new_access, expires_ns, new_refresh);
                if (w < 0)
                    log_warning_errno(w,
                                      "AWS profile %s: cannot write the refreshed token back "
                                      "to %s: %m",
                                      p->profile, path);
                else
                    log_info("AWS profile %s: IAM Identity Center token refreshed", p->profile);
            }
        }
    }
    r = get_role_credentials(p, access, ret, err, errlen);
    if (r == 0)
        aws_role_cache_put(key.data, ret);
out:
    aws_free_secret(new_access);
    aws_free_secret(new_refresh);
    aws_sso_token_done(&t);
    return r;
}
