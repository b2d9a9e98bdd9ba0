/* SPDX-License-Identifier: MIT */
/* Shared between the credentials-*.c files, the unit tests and the fuzzer: the parsers (pure,
 * no I/O), the value checks, and the building blocks of each source. Not for other modules.
 *
 * Every source returns 1 = loaded (credentials and source string set), 0 = this source has
 * nothing (the next one is tried), or a negative errno after logging an error that names the
 * source and never a value. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "credentials.h"

/* Bounds of what the new sources accept (IAM: access key ids are 16..128 word characters;
 * STS session tokens are well under 8 KiB). */
#define CJ_CRED_KEY_ID_MIN     16
#define CJ_CRED_KEY_ID_MAX     128
#define CJ_CRED_SECRET_MAX     256
#define CJ_CRED_TOKEN_MAX      8192
#define CJ_CRED_RESPONSE_MAX   ((size_t)64 * 1024)   /* HTTP bodies and process output */
#define CJ_CRED_FILE_MAX       ((size_t)1024 * 1024) /* a shared file larger than this: error */
#define CJ_CRED_PROFILE_MAX    128
#define CJ_CRED_REFRESH_WINDOW (INT64_C(5) * 60 * INT64_C(1000000000))

/* A byte buffer for secrets: allocated once at its limit (never realloc'ed, so no copy is
 * left behind in freed memory) and zeroed before it is freed. */
struct cj_secret_buf {
    char *data; /* NUL-terminated, limit + 1 bytes */
    size_t len;
    size_t limit;
    bool overflow; /* an append went past limit; data holds the first limit bytes */
};

int aws_secret_buf_init(struct cj_secret_buf *b, size_t limit);
void aws_secret_buf_append(struct cj_secret_buf *b, const void *data, size_t len);
void aws_secret_buf_done(struct cj_secret_buf *b);
#define _cleanup_secret_buf_ _cleanup_(aws_secret_buf_done)

/* Zeroes and frees a NUL-terminated secret string; NULL is fine. */
void aws_free_secret(char *s);
static inline void cj_free_secretp(char **p)
{
    aws_free_secret(*p);
    *p = NULL;
}
#define _cleanup_secret_ _cleanup_(cj_free_secretp)

/* Value checks of the new sources: key id 16..128 of [A-Z0-9]; secret 1..256 and token
 * 1..8 KiB of printable ASCII without spaces. */
bool aws_cred_key_id_ok(const char *s, size_t len);
bool aws_cred_secret_ok(const char *s, size_t len);
bool aws_cred_token_ok(const char *s, size_t len);

/* Checks and copies a set of values into *c (empty on failure). token and expiration may be
 * NULL. An expiration at or before now_ns is -EKEYEXPIRED. On error, err says which field was
 * wrong (never its value). */
int aws_cred_set(struct cj_aws_credentials *c, const char *key_id, const char *secret,
                 const char *token, const char *expiration, int64_t now_ns, char *err,
                 size_t errlen);

/* ---- The shared files ---- */

enum cj_profile_file_kind {
    CJ_PROFILE_CREDENTIALS_FILE, /* sections are [name] */
    CJ_PROFILE_CONFIG_FILE,      /* sections are [default] and [profile name] */
    CJ_PROFILE_SSO_SESSION,      /* the config file's [sso-session name] */
};

struct cj_profile {
    bool found; /* the file has a section for the profile */
    /* Owned copies of the values of the profile (NULL = absent); zeroed when freed. */
    char *access_key_id;
    char *secret_access_key;
    char *session_token;
    char *credential_process;
    /* Assume role, web identity and IAM Identity Center (and the region STS is called in). */
    char *role_arn;
    char *source_profile;
    char *credential_source;
    char *external_id;
    char *role_session_name;
    char *duration_seconds;
    char *web_identity_token_file;
    char *mfa_serial;
    char *region;
    char *sso_session;
    char *sso_start_url;
    char *sso_region;
    char *sso_account_id;
    char *sso_role_name;
};

/* Parses one shared file (the SDKs' profile file format: '#' and ';' comment lines, inline
 * comments after whitespace, "key = value", indented continuation lines and sub-properties,
 * later values override earlier ones, section of the same name merged) and picks the keys of
 * one profile. Key names are case-insensitive. A credential key continued onto a following
 * line is -EINVAL. Syntax errors are -EINVAL with "line N: what" in err (never a value). */
int aws_profile_parse(const char *data, size_t len, enum cj_profile_file_kind kind,
                      const char *profile, struct cj_profile *ret, char *err, size_t errlen);
void aws_profile_done(struct cj_profile *p);

/* The profile name as given to cj_credentials_load_for_profile: 1..128 printable characters,
 * none of them a space, '[' or ']'. */
bool aws_profile_name_ok(const char *profile);

/* The fourth source. region is where STS is called (NULL: aws_sts_region's fallbacks). A
 * profile with role_arn assumes it with the credentials of its source_profile (chained; a
 * cycle is an error naming it) or credential_source, or with web_identity_token_file; one
 * with sso_session or sso_start_url asks IAM Identity Center. */
int aws_credentials_from_shared_files(const char *profile, const char *region,
                                      struct cj_aws_credentials *c, char *source, size_t sourcelen);

/* The third source: AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE (+ AWS_ROLE_SESSION_NAME). */
int aws_credentials_from_web_identity_env(const char *region, struct cj_aws_credentials *c,
                                          char *source, size_t sourcelen);

/* The region STS is called in: explicit, else $AWS_REGION, $AWS_DEFAULT_REGION, the
 * profile's region, else us-east-1. */
const char *aws_sts_region(const char *explicit_region, const char *profile_region);

/* Logs an error of the chain and keeps its text as this thread's last credential error (what
 * cj_credentials_load_with reports on failure). Never pass a secret. Returns -abs(error). */
int aws_cred_fail(int error, const char *fmt, ...) _printf_(2, 3);
void aws_cred_error_reset(void);
const char *aws_cred_last_error(void);

/* ---- JSON answers ---- */

enum cj_cred_json_kind {
    CJ_CRED_JSON_PROCESS, /* Version 1, AccessKeyId, SecretAccessKey, SessionToken?, Expiration? */
    CJ_CRED_JSON_CONTAINER, /* AccessKeyId, SecretAccessKey, Token?, Expiration? */
    CJ_CRED_JSON_IMDS,      /* Code "Success", AccessKeyId, SecretAccessKey, Token, Expiration */
};

/* Parses and checks an answer; *ret is empty on failure and err names the field at fault. */
int aws_cred_parse_json(enum cj_cred_json_kind kind, const char *data, size_t len, int64_t now_ns,
                        struct cj_aws_credentials *ret, char *err, size_t errlen);

/* True when the lookup running on this thread was abandoned (cj_credentials_load_cancellable):
 * the sources that wait poll it and then stop with -ECANCELED. */
bool aws_cred_cancelled(void);
/* Makes cancel this thread's flag (NULL: none); returns the one before, to restore. */
const atomic_bool *aws_cred_set_cancel(const atomic_bool *cancel);

/* ---- credential_process ---- */

#define CJ_CRED_PROCESS_TIMEOUT_USEC (UINT64_C(60) * 1000000)

/* Runs command with /bin/sh -c (stdin /dev/null, stderr to the debug log, stdout up to
 * CJ_CRED_RESPONSE_MAX), in its own process group that is killed after timeout_usec.
 * Errors: -ETIME timeout, -EFBIG output too large, -EPROTO non-zero exit or bad output,
 * -ECANCELED the lookup was abandoned (the group is killed then too). */
int aws_credential_process_run(const char *command, const char *profile, uint64_t timeout_usec,
                               struct cj_aws_credentials *ret);

/* ---- HTTP (libcurl easy, blocking, bounded) ---- */

struct cj_cred_http_request {
    const char *method; /* "GET", "PUT" (empty body) or "POST" (body) */
    const char *url;
    const char *const *headers; /* "Name: value" lines (may hold secrets), NULL-terminated */
    const char *body;           /* POST only; may hold secrets */
    size_t body_len;
    long connect_timeout_ms;
    long timeout_ms;
    unsigned attempts; /* tries on connection errors and 5xx answers */
    /* A service across the network (STS, IAM Identity Center) rather than a local endpoint:
     * the proxy environment applies and $AWS_CA_BUNDLE, when set, replaces the system CAs. */
    bool remote;
};

/* Returns the HTTP status (> 0) with the body in *body (a secret buffer of
 * CJ_CRED_RESPONSE_MAX), or -EHOSTUNREACH when nothing answered (connection refused, timed
 * out, no route), -EFBIG for a body over the limit, -ECANCELED when the lookup was abandoned,
 * -EIO for other transfer errors. Logs at
 * debug only: the caller says what failed. */
int aws_cred_http(const struct cj_cred_http_request *req, struct cj_secret_buf *body);

/* Whether an http:// URL may be used for container credentials (loopback or the container
 * and EKS Pod Identity link-local addresses); https is always allowed. 0 ok, -EINVAL not. */
int aws_cred_container_url_check(const char *url, char *err, size_t errlen);

int aws_credentials_from_environment(struct cj_aws_credentials *c, char *source, size_t sourcelen);
int aws_credentials_from_systemd(struct cj_aws_credentials *c, char *source, size_t sourcelen);
int aws_credentials_from_container(struct cj_aws_credentials *c, char *source, size_t sourcelen);
int aws_credentials_from_imds(struct cj_aws_credentials *c, char *source, size_t sourcelen);
