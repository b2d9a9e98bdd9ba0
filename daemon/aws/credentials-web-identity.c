/* SPDX-License-Identifier: MIT */
/* The third source: web identity from the environment, as EKS (IRSA) and GitHub's OIDC set it
 * up: AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE, optionally AWS_ROLE_SESSION_NAME. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "credentials-internal.h"
#include "credentials-sts.h"
#include "log.h"

static const char *getenv_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

int aws_credentials_from_web_identity_env(const char *region, struct cj_aws_credentials *c,
                                          char *source, size_t sourcelen)
{
    const char *role_arn = getenv_nonempty("AWS_ROLE_ARN");
    const char *token_file = getenv_nonempty("AWS_WEB_IDENTITY_TOKEN_FILE");
    char err[1024];

    if (!role_arn && !token_file)
        return 0;
    if (!role_arn || !token_file)
        return aws_cred_fail(EINVAL, "%s is set but %s is not",
                             role_arn ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE",
                             role_arn ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "AWS_ROLE_ARN");

    struct aws_sts_role role = {
        .role_arn = role_arn,
        .session_name = getenv_nonempty("AWS_ROLE_SESSION_NAME"),
        .region = aws_sts_region(region, NULL),
    };
    int r = aws_sts_assume_role_with_web_identity(&role, token_file, c, err, sizeof(err));
    if (r < 0)
        return aws_cred_fail(r, "Web identity from the environment: %s", err);
    snprintf(source, sourcelen, "web identity role %s (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE)",
             role_arn);
    return 1;
}
