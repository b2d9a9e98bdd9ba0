/* SPDX-License-Identifier: MIT */
/* Where AWS credentials come from (the contract's order): the environment, systemd
 * credentials, the shared files of the profile (static keys or credential_process),
 * container credentials, EC2 instance metadata (IMDSv2). */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sigv4.h"

/* Loads the first source that has credentials. -ENOKEY when none has; the error names
 * the sources tried, never a value. */
int cj_credentials_load(struct cj_aws_credentials *ret, char *source, size_t sourcelen);
/* Zeroes the secrets before freeing them. */
void cj_credentials_done(struct cj_aws_credentials *c);

/* The same chain with the shared-files profile given
 * explicitly (NULL or "" = "default"); cj_credentials_load() uses $AWS_PROFILE or "default".
 * A source that is configured but broken (half a key pair, a failing credential_process, a
 * container endpoint that does not answer, a named profile that exists nowhere or needs
 * role_arn/SSO) is an error naming the source: the chain never falls through to another
 * identity. Temporary credentials carry expiration_ns. `source` is filled in on success. */
int cj_credentials_load_for_profile(const char *profile, struct cj_aws_credentials *ret,
                                    char *source, size_t sourcelen);

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
