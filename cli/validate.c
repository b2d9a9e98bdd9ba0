/* SPDX-License-Identifier: MIT */
#include "validate.h"

#include <regex.h>
#include <string.h>

/* The patterns of service-2.json, anchored; POSIX extended syntax reads them unchanged. */
#define MODEL_ARN_PATTERN                                                                          \
    "^arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:(([0-9]{12}:custom-model/((imported)|"              \
    "([a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}))(([:][a-z0-9-]{1,63}){0,2})?/[a-z0-9]{12})|"           \
    "(:foundation-model/[a-z0-9-]{1,63}[.]{1}([a-z0-9-]{1,63}[.]){0,2}[a-z0-9-]{1,63}"             \
    "([:][a-z0-9-]{1,63}){0,2}))$"
#define MODEL_COPY_JOB_ARN_PATTERN                                                                 \
    "^arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:model-copy-job/[a-z0-9]{12}$"

static bool matches(const char *pattern, const char *s)
{
    regex_t re;

    if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
        return false;
    bool ok = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

bool ctl_valid_account_id(const char *s)
{
    size_t n = strlen(s);
    return n == 12 && strspn(s, "0123456789") == 12;
}

bool ctl_valid_model_name_part(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 63)
        return false;
    /* Each alphanumeric may be followed by one '_' or '-'. */
    for (size_t i = 0; i < n; i++) {
        bool alnum =
            strchr("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", s[i]) != NULL;
        if (alnum)
            continue;
        if ((s[i] == '_' || s[i] == '-') && i > 0 && s[i - 1] != '_' && s[i - 1] != '-')
            continue;
        return false;
    }
    return true;
}

bool ctl_valid_model_arn(const char *s)
{
    size_t n = strlen(s);
    return n >= 20 && n <= 1011 && matches(MODEL_ARN_PATTERN, s);
}

bool ctl_valid_model_copy_job_arn(const char *s)
{
    return strlen(s) <= 1011 && matches(MODEL_COPY_JOB_ARN_PATTERN, s);
}
