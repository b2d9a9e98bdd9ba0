/* SPDX-License-Identifier: MIT */
/* The credential chain of the contract. Each source either has a complete set of keys, has
 * none (the next source is tried), or is configured but broken, which is an error: silently
 * falling through to another identity would be worse than refusing to start. */
#include "credentials.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "credentials-internal.h"
#include "log.h"

void cj_credentials_done(struct cj_aws_credentials *c)
{
    if (!c)
        return;
    cj_free_secretp(&c->access_key_id);
    cj_free_secretp(&c->secret_access_key);
    cj_free_secretp(&c->session_token);
    c->expiration_ns = 0;
}

bool cj_credentials_need_refresh(const struct cj_aws_credentials *c, int64_t now_ns)
{
    if (!c || !c->access_key_id || !c->secret_access_key)
        return true;
    if (c->expiration_ns == 0)
        return false;
    return now_ns >= c->expiration_ns - CJ_CRED_REFRESH_WINDOW;
}

int cj_credentials_load_for_profile(const char *profile, struct cj_aws_credentials *ret,
                                    char *source, size_t sourcelen)
{
    struct cj_aws_credentials c = {0};
    char dummy[1];
    int r;

    if (!source || sourcelen == 0) {
        source = dummy;
        sourcelen = sizeof(dummy);
    }
    source[0] = '\0';
    *ret = (struct cj_aws_credentials){0};

    if (!profile || !*profile)
        profile = "default";
    if (!aws_profile_name_ok(profile))
        return log_error_errno(EINVAL,
                               "AWS profile name is not valid (1..%d printable characters, no "
                               "spaces or brackets)",
                               CJ_CRED_PROFILE_MAX);

    r = aws_credentials_from_environment(&c, source, sourcelen);
    if (r == 0)
        r = aws_credentials_from_systemd(&c, source, sourcelen);
    if (r == 0)
        r = aws_credentials_from_shared_files(profile, &c, source, sourcelen);
    if (r == 0)
        r = aws_credentials_from_container(&c, source, sourcelen);
    if (r == 0)
        r = aws_credentials_from_imds(&c, source, sourcelen);

    if (r > 0) {
        *ret = c;
        return 0;
    }
    cj_credentials_done(&c);
    source[0] = '\0';
    if (r < 0)
        return r;
    return log_error_errno(ENOKEY,
                           "No AWS credentials found (tried: environment AWS_ACCESS_KEY_ID and "
                           "AWS_SECRET_ACCESS_KEY; systemd credentials "
                           "$CREDENTIALS_DIRECTORY/aws-access-key-id and aws-secret-access-key; "
                           "shared credentials and config files for profile %s; container "
                           "credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI not "
                           "set); EC2 instance metadata)",
                           profile);
}

int cj_credentials_load(struct cj_aws_credentials *ret, char *source, size_t sourcelen)
{
    const char *profile = getenv("AWS_PROFILE");
    return cj_credentials_load_for_profile(profile && *profile ? profile : "default", ret, source,
                                           sourcelen);
}
