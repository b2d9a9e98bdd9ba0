/* SPDX-License-Identifier: MIT */
/* Where AWS credentials come from (the contract's order): the environment, systemd
 * credentials, web identity from the environment (STS AssumeRoleWithWebIdentity), the shared
 * files of the profile (static keys, credential_process, assume role with source_profile,
 * credential_source or web_identity_token_file, IAM Identity Center), container credentials,
 * EC2 instance metadata (IMDSv2).
 *
 * Loading may call STS or IAM Identity Center over the network and so blocks for seconds:
 * never call it on the event loop. It is thread-safe; temporary credentials from STS and IAM
 * Identity Center are cached per role (role ARN, session name, external id, caller) and reused
 * until 5 minutes before they expire, so STS is asked once per credential lifetime. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sigv4.h"

/* Loads the first source that has credentials. -ENOKEY when none has. On failure `source`
 * holds the reason (naming the source, profile, role and AWS's error code such as
 * AccessDenied or ExpiredToken, never a value), for logs and health. */
int cj_credentials_load(struct cj_aws_credentials *ret, char *source, size_t sourcelen);
/* Zeroes the secrets before freeing them. */
void cj_credentials_done(struct cj_aws_credentials *c);

/* The same chain with the shared-files profile given
 * explicitly (NULL or "" = "default"); cj_credentials_load() uses $AWS_PROFILE or "default".
 * A source that is configured but broken (half a key pair, a failing credential_process, a
 * container endpoint that does not answer, a named profile that exists nowhere, an
 * assume-role, web identity or SSO setup that fails) is an error naming the source: the
 * chain never falls through to another identity. Temporary credentials carry expiration_ns.
 * `source` names the source on success and says why on failure. */
int cj_credentials_load_for_profile(const char *profile, struct cj_aws_credentials *ret,
                                    char *source, size_t sourcelen);

struct cj_credentials_options {
    const char *profile; /* NULL or "": "default" */
    /* Where STS is called (https://sts.REGION.amazonaws.com unless AWS_ENDPOINT_URL_STS):
     * NULL for $AWS_REGION, $AWS_DEFAULT_REGION, the profile's region, else us-east-1. */
    const char *region;
    /* A source's role: when set, the chain's credentials for `profile` assume it (STS
     * AssumeRole, cached per role like every other), and those are the result. */
    const char *role_arn;
    const char *external_id;       /* NULL: none */
    const char *role_session_name; /* NULL: "copyjobd" */
    const atomic_bool *cancel;     /* NULL, or as cj_credentials_load_cancellable() */
};
/* cj_credentials_load_for_profile with the STS region, a role to assume and cancellation
 * given. */
int cj_credentials_load_with(const struct cj_credentials_options *o, struct cj_aws_credentials *ret,
                             char *source, size_t sourcelen);

/* The 12-digit account the credentials c belong to: STS GetCallerIdentity signed with c in
 * `region` (blocking, thread-safe; the answer cached per access key id, so asked once per
 * credential lifetime). -ENODATA when STS cannot tell, with err saying why (never a
 * secret). */
#define CJ_ACCOUNT_ID_STR_LEN 12
int cj_credentials_account(const struct cj_aws_credentials *c, const char *region,
                           char account[static CJ_ACCOUNT_ID_STR_LEN + 1], char *err,
                           size_t errlen);
/* cj_credentials_load_for_profile() that gives up once *cancel is true: a credential_process
 * it runs is killed with its whole process group within about 50 ms, an HTTP request to a
 * container or instance metadata endpoint is aborted within about a second; it then returns
 * -ECANCELED with *ret empty. The chain may run on any thread, beside other lookups, as long
 * as nothing changes the environment meanwhile (cj_credentials_set_container_host() may be
 * called at any time). */
int cj_credentials_load_cancellable(const char *profile, const atomic_bool *cancel,
                                    struct cj_aws_credentials *ret, char *source, size_t sourcelen);

/* True when c holds no credentials or they expire within 5 minutes of now_ns (call it
 * before each pass and after an ExpiredToken error, and reload when true). */
bool cj_credentials_need_refresh(const struct cj_aws_credentials *c, int64_t now_ns);

/* Test-only (settings->test.container_credentials_host, from
 * COPYJOBD_CONTAINER_CREDENTIALS_HOST): host replaces 169.254.170.2 for
 * AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, so the tests can run the stand-in on loopback.
 * Only a loopback host with an optional port ("127.0.0.1:8080", "[::1]:8080",
 * "localhost:8080") is used: loading container credentials with any other is -EINVAL.
 * NULL or "" restores the default. The host is copied; -EINVAL when longer than 255. Safe to call
 * while a lookup runs on another thread (it sees the old host or the new one). */
int cj_credentials_set_container_host(const char *host);
