/* SPDX-License-Identifier: MIT */
/* The last source: EC2 instance metadata, IMDSv2 only (a session token from PUT, then the
 * role and its credentials). Short timeouts so that a machine that is not on EC2 falls
 * through quickly; no answer at all, or no role attached, is "nothing here", while an
 * answer that is wrong is an error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cj-time.h"
#include "config-endpoint.h"
#include "credentials-internal.h"
#include "log.h"

#define IMDS_DEFAULT_ENDPOINT "http://169.254.169.254"
#define IMDS_TOKEN_TTL        "21600"
#define IMDS_TOKEN_MAX        1024
#define ROLE_NAME_MAX         64
#define CONNECT_TIMEOUT_MS    1000L
#define TIMEOUT_MS            2000L
#define ATTEMPTS              2

static int imds_get(const char *method, const char *url, const char *header,
                    struct cj_secret_buf *body)
{
    const char *headers[] = {header, NULL};
    struct cj_cred_http_request req = {
        .method = method,
        .url = url,
        .headers = headers,
        .connect_timeout_ms = CONNECT_TIMEOUT_MS,
        .timeout_ms = TIMEOUT_MS,
        .attempts = ATTEMPTS,
    };
    return aws_cred_http(&req, body);
}

/* IAM role names: 1..64 of [A-Za-z0-9+=,.@_-]. */
static bool role_name_ok(const char *s, size_t len)
{
    if (len == 0 || len > ROLE_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= '0' && s[i] <= '9') || strchr("+=,.@_-", s[i])))
            return false;
    return true;
}

static int endpoint(char **ret)
{
    const char *v = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    struct cj_endpoint e;
    char why[128];

    if (!v || !*v)
        v = IMDS_DEFAULT_ENDPOINT;
    int r = cj_endpoint_parse_metadata_url(v, &e, why, sizeof(why));
    if (r == -EINVAL)
        return log_error_errno(r, "AWS_EC2_METADATA_SERVICE_ENDPOINT %s", why);
    if (r < 0)
        return r;
    *ret = TAKE_PTR(e.origin);
    cj_endpoint_done(&e);
    return 0;
}

int aws_credentials_from_imds(struct cj_aws_credentials *c, char *source, size_t sourcelen)
{
    const char *disabled = getenv("AWS_EC2_METADATA_DISABLED");
    _cleanup_free_ char *base = NULL, *url = NULL;
    _cleanup_secret_ char *token_header = NULL;
    _cleanup_secret_buf_ struct cj_secret_buf body = {0};
    char role[ROLE_NAME_MAX + 1];
    char err[200];
    int r;

    if (disabled && strcasecmp(disabled, "true") == 0) {
        log_debug("EC2 instance metadata: disabled by AWS_EC2_METADATA_DISABLED");
        return 0;
    }
    if ((r = endpoint(&base)) < 0)
        return r;

    /* 1. The session token. */
    if (asprintf(&url, "%s/latest/api/token", base) < 0)
        return url = NULL, -ENOMEM;
    r = imds_get("PUT", url, "X-aws-ec2-metadata-token-ttl-seconds: " IMDS_TOKEN_TTL, &body);
    if (r == -EHOSTUNREACH || (r > 0 && r != 200)) {
        log_debug("EC2 instance metadata at %s: %s; not on EC2 (or IMDS is off)", base,
                  r < 0 ? "no answer" : "no session token");
        return 0;
    }
    if (r < 0)
        return log_error_errno(r, "EC2 instance metadata (%s): the token request failed", base);
    if (!aws_cred_token_ok(body.data, body.len) || body.len > IMDS_TOKEN_MAX)
        return log_error_errno(EPROTO,
                               "EC2 instance metadata (%s): the session token is not "
                               "valid",
                               base);
    if (asprintf(&token_header, "X-aws-ec2-metadata-token: %s", body.data) < 0)
        return token_header = NULL, -ENOMEM;
    aws_secret_buf_done(&body);

    /* 2. The role attached to the instance (the first line). */
    free(url);
    if (asprintf(&url, "%s/latest/meta-data/iam/security-credentials/", base) < 0)
        return url = NULL, -ENOMEM;
    r = imds_get("GET", url, token_header, &body);
    if (r == 404) {
        log_debug("EC2 instance metadata (%s): no IAM role attached to the instance", base);
        return 0;
    }
    if (r < 0 || r != 200)
        return log_error_errno(
            r < 0 ? -r : EPROTO, "EC2 instance metadata (%s): the role name request %s %d", base,
            r < 0 ? "failed with error" : "was answered with HTTP", r < 0 ? -r : r);
    size_t rl = strcspn(body.data, "\r\n");
    while (rl > 0 && (body.data[rl - 1] == ' ' || body.data[rl - 1] == '\t'))
        rl--;
    if (!role_name_ok(body.data, rl))
        return log_error_errno(EPROTO,
                               "EC2 instance metadata (%s): the role name is not a valid IAM "
                               "role name",
                               base);
    memcpy(role, body.data, rl);
    role[rl] = '\0';
    aws_secret_buf_done(&body);

    /* 3. The role's credentials. */
    free(url);
    if (asprintf(&url, "%s/latest/meta-data/iam/security-credentials/%s", base, role) < 0)
        return url = NULL, -ENOMEM;
    r = imds_get("GET", url, token_header, &body);
    if (r < 0 || r != 200)
        return log_error_errno(r < 0 ? -r : EPROTO,
                               "EC2 instance metadata (%s, role %s): the credentials request %s "
                               "%d",
                               base, role, r < 0 ? "failed with error" : "was answered with HTTP",
                               r < 0 ? -r : r);
    r = aws_cred_parse_json(CJ_CRED_JSON_IMDS, body.data, body.len, cj_now_ns(), c, err,
                            sizeof(err));
    if (r < 0)
        return log_error_errno(r == -ENOMEM || r == -EKEYEXPIRED ? -r : EPROTO,
                               "EC2 instance metadata (%s, role %s): %s", base, role, err);
    snprintf(source, sourcelen, "EC2 instance metadata (role %s)", role);
    return 1;
}
