/* SPDX-License-Identifier: MIT */
/* Where AWS credentials come from (the contract's order). Issue 2 implements the
 * environment; the rest of the chain comes later. */
#pragma once

#include "sigv4.h"

/* Loads the first source that has credentials. -ENOKEY when none has; the error names
 * the sources tried, never a value. */
int cj_credentials_load(struct cj_aws_credentials *ret, char *source, size_t sourcelen);
/* Zeroes the secrets before freeing them. */
void cj_credentials_done(struct cj_aws_credentials *c);
