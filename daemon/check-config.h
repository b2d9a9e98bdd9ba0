/* SPDX-License-Identifier: MIT */
/* copyjobd --check-config. */
#pragma once

#include <stdio.h>

#include "config.h"

/* Prints the effective settings, then, for each source, where its credentials come from (the
 * first four characters of the key id at most, never a secret) and its account (the role's,
 * else STS GetCallerIdentity's). Looks the credentials up on the calling thread (it may wait
 * on STS, a credential_process or instance metadata). 0 when every source has credentials
 * and no two sources are the same account and region; else -ENOKEY or -EINVAL, each problem
 * said on stderr. */
int cj_check_config(const struct cj_settings *s, FILE *out);
