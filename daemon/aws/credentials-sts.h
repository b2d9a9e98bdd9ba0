/* SPDX-License-Identifier: MIT */
/* Temporary credentials from a service: STS (AssumeRole, AssumeRoleWithWebIdentity) and IAM
 * Identity Center (the portal's GetRoleCredentials, OIDC CreateToken), their answers' parsers
 * (pure, no I/O, for the unit tests and the fuzzer) and the per-role cache. Not for other
 * modules.
 *
 * Every function that calls a service is blocking (libcurl easy) and thread-safe; on failure it
 * writes a sentence into err that names the call, the role or profile and AWS's error code
 * (AccessDenied, ExpiredToken, RegionDisabledException, ...), never a secret. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "credentials-internal.h"

#define CJ_STS_XML_DEPTH_MAX      16
#define CJ_STS_XML_VALUE_MAX      ((size_t)20000) /* one element's text, decoded */
#define CJ_STS_DEFAULT_SESSION    "copyjobd"
#define CJ_STS_DURATION_MIN       900
#define CJ_STS_DURATION_MAX       43200
#define CJ_WEB_IDENTITY_TOKEN_MAX 20000 /* STS's limit on WebIdentityToken */

/* ---- the XML of STS's Query API ---- */

/* Walks a small XML document and picks the text of the elements named by paths
 * ("A/B/C": local names, namespace prefixes ignored) into values[i] (NUL-terminated, owned,
 * free with aws_free_secret; NULL when absent). Entities (&lt; &gt; &amp; &quot; &apos;,
 * &#N; &#xN;) and CDATA are decoded; comments, processing instructions and the XML
 * declaration are skipped; a DOCTYPE, an unknown entity, a mismatched or unclosed tag,
 * a wanted element seen twice, nesting deeper than CJ_STS_XML_DEPTH_MAX or a text longer than
 * CJ_STS_XML_VALUE_MAX is -EINVAL with err saying what (never quoting the input). */
int aws_xml_extract(const char *data, size_t len, const char *const *paths, size_t n, char **values,
                    char *err, size_t errlen);

/* An STS error answer, <ErrorResponse><Error><Code/><Message/>. */
struct aws_sts_error {
    char code[64];     /* e.g. "AccessDenied"; "" when the answer had none */
    char message[256]; /* AWS's message, control characters replaced */
};
/* An STS answer; action is "AssumeRole" or "AssumeRoleWithWebIdentity". On success *ret holds
 * the credentials with their expiration; else -EINVAL with err saying what. */
int aws_sts_parse_credentials(const char *action, const char *data, size_t len, int64_t now_ns,
                              struct cj_aws_credentials *ret, char *err, size_t errlen);
/* 0 with code and message (bounded, control characters replaced; code "" unless a word), or
 * -EINVAL when data is not an STS error. */
int aws_sts_parse_error(const char *data, size_t len, struct aws_sts_error *ret);

/* ---- calls ---- */

struct aws_sts_role {
    const char *role_arn;
    const char *session_name; /* NULL: CJ_STS_DEFAULT_SESSION */
    const char *external_id;  /* NULL: none */
    int duration_seconds;     /* 0: STS's default (one hour) */
    const char *region;       /* signing region and the regional endpoint's */
};

/* The endpoint of a service: $AWS_ENDPOINT_URL_<SERVICE>, else $AWS_ENDPOINT_URL, else
 * https://<host_prefix>.<region>.amazonaws.com. An override must be https, or http to a
 * loopback address. env_service is "STS", "SSO" or "SSO_OIDC". Owned result. */
int aws_service_endpoint(const char *env_service, const char *host_prefix, const char *region,
                         char **ret, char *err, size_t errlen);

/* AssumeRole signed with source. Cached: see aws_role_cache_*. */
int aws_sts_assume_role(const struct aws_sts_role *role, const struct cj_aws_credentials *source,
                        struct cj_aws_credentials *ret, char *err, size_t errlen);
/* GetCallerIdentity signed with c: the account of the caller. -ENODATA when the answer names
 * none. Not cached (cj_credentials_account() caches). */
int aws_sts_get_caller_account(const struct cj_aws_credentials *c, const char *region,
                               char account[static 13], char *err, size_t errlen);
/* AssumeRoleWithWebIdentity (unsigned) with the token read from token_file on each call that
 * the cache does not answer. */
int aws_sts_assume_role_with_web_identity(const struct aws_sts_role *role, const char *token_file,
                                          struct cj_aws_credentials *ret, char *err, size_t errlen);

/* ---- the cache of temporary credentials, per role and caller ---- */

/* A hit returns a copy of credentials that are valid for more than CJ_CRED_REFRESH_WINDOW.
 * key identifies the role and everything that changes its answer (role ARN, session name,
 * external id, the caller's access key id). Guarded by a mutex; bounded in size (the oldest
 * entry is dropped). */
bool aws_role_cache_get(const char *key, int64_t now_ns, struct cj_aws_credentials *ret);
void aws_role_cache_put(const char *key, const struct cj_aws_credentials *c);
/* Forgets everything (tests, and a reload that must not reuse anything). */
void aws_role_cache_clear(void);

/* ---- IAM Identity Center ---- */

/* The cache file name of a token: lower-case hex SHA-1 of the session name (sso_session
 * profiles) or of the start URL (legacy profiles), then ".json". */
int aws_sso_cache_file_name(const char *key, char out[static 46]);

struct aws_sso_token {
    char *access_token;
    int64_t expires_at_ns;
    char *refresh_token;
    char *client_id;
    char *client_secret;
    int64_t registration_expires_at_ns; /* 0: unknown */
};
void aws_sso_token_done(struct aws_sso_token *t);
/* Parses the cached token file. Missing accessToken or expiresAt is -EINVAL. */
int aws_sso_token_parse(const char *data, size_t len, struct aws_sso_token *ret, char *err,
                        size_t errlen);
/* Whether the token can be refreshed at now_ns (refresh token, client id and secret, a client
 * registration that has not expired). */
bool aws_sso_token_refreshable(const struct aws_sso_token *t, int64_t now_ns);
/* The portal's answer {"roleCredentials": {...}} (expiration in milliseconds). */
int aws_sso_parse_role_credentials(const char *data, size_t len, int64_t now_ns,
                                   struct cj_aws_credentials *ret, char *err, size_t errlen);

struct aws_sso_profile {
    const char *profile;      /* for messages */
    const char *session_name; /* NULL for legacy */
    const char *start_url;
    const char *region; /* sso_region */
    const char *account_id;
    const char *role_name;
};
/* Reads the cached token (refreshing it through OIDC and writing the file back when it has
 * expired and can be), then calls GetRoleCredentials. An expired token that cannot be
 * refreshed, or a portal answer of 401, is -EKEYEXPIRED with err saying
 * "aws sso login --profile NAME" is needed. */
int aws_sso_get_credentials(const struct aws_sso_profile *p, struct cj_aws_credentials *ret,
                            char *err, size_t errlen);
