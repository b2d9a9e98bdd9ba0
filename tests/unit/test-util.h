/* SPDX-License-Identifier: MIT */
/* Shared by the unit tests: a monotonic clock in milliseconds for their deadlines, the
 * removal of a temporary directory tree, and an AWS environment that stays on this machine.
 * Header-only. */
#pragma once

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifndef _unused_
#define _unused_ __attribute__((unused))
#endif

static _unused_ uint64_t test_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int test_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Removes dir and everything below it, not following symbolic links: nftw()'s result. */
static _unused_ int test_rm_tree(const char *dir)
{
    return nftw(dir, test_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The credential chain of a test that builds one: no instance metadata service to wait for,
 * no shared files of the user running the tests, and STS (the account of looked-up keys,
 * assumed roles) refused on loopback instead of leaving the machine. */
static _unused_ void test_aws_env_offline(void)
{
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
    setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
    setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9", 1);
}
