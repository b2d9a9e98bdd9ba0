/* SPDX-License-Identifier: MIT */
/* The credential chain of the contract. Each source either has a complete set of keys, has
 * none (the next source is tried), or is configured but broken, which is an error: silently
 * falling through to another identity would be worse than refusing to start. */
#include "credentials.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "credentials-internal.h"
#include "credentials-sts.h"
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

static _Thread_local char last_error[768];

int aws_cred_fail(int error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof(last_error), fmt, ap);
    va_end(ap);
    return log_error_errno(error, "%s", last_error);
}

void aws_cred_error_reset(void)
{
    last_error[0] = '\0';
}

const char *aws_cred_last_error(void)
{
    return last_error;
}

const char *aws_sts_region(const char *explicit_region, const char *profile_region)
{
    const char *env[] = {"AWS_REGION", "AWS_DEFAULT_REGION"};
    if (explicit_region && *explicit_region)
        return explicit_region;
    for (size_t i = 0; i < ELEMENTSOF(env); i++) {
        const char *v = getenv(env[i]);
        if (v && *v)
            return v;
    }
    return profile_region && *profile_region ? profile_region : "us-east-1";
}

static int load_chain(const struct cj_credentials_options *o, struct cj_aws_credentials *ret,
                      char *source, size_t sourcelen)
{
    struct cj_aws_credentials c = {0};
    const char *profile = o ? o->profile : NULL;
    const char *region = o ? o->region : NULL;
    char dummy[1];
    int r;

    if (!source || sourcelen == 0) {
        source = dummy;
        sourcelen = sizeof(dummy);
    }
    source[0] = '\0';
    *ret = (struct cj_aws_credentials){0};
    aws_cred_error_reset();

    if (!profile || !*profile)
        profile = "default";
    if (!aws_profile_name_ok(profile)) {
        r = aws_cred_fail(EINVAL,
                          "AWS profile name is not valid (1..%d printable characters, no "
                          "spaces or brackets)",
                          CJ_CRED_PROFILE_MAX);
        snprintf(source, sourcelen, "%s", aws_cred_last_error());
        return r;
    }

    r = aws_credentials_from_environment(&c, source, sourcelen);
    if (r == 0)
        r = aws_credentials_from_systemd(&c, source, sourcelen);
    if (r == 0)
        r = aws_credentials_from_web_identity_env(region, &c, source, sourcelen);
    if (r == 0)
        r = aws_credentials_from_shared_files(profile, region, &c, source, sourcelen);
    if (r == 0)
        r = aws_credentials_from_container(&c, source, sourcelen);
    if (r == 0)
        r = aws_credentials_from_imds(&c, source, sourcelen);

    if (r > 0) {
        *ret = c;
        return 0;
    }
    cj_credentials_done(&c);
    if (r < 0) {
        snprintf(source, sourcelen, "%s",
                 aws_cred_last_error()[0] ? aws_cred_last_error()
                                          : "the credential source failed (see the log)");
        return r;
    }
    r = aws_cred_fail(ENOKEY,
                      "No AWS credentials found (tried: environment AWS_ACCESS_KEY_ID and "
                      "AWS_SECRET_ACCESS_KEY; systemd credentials "
                      "$CREDENTIALS_DIRECTORY/aws-access-key-id and aws-secret-access-key; "
                      "web identity (AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE not set); "
                      "shared credentials and config files for profile %s; container "
                      "credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI not "
                      "set); EC2 instance metadata)",
                      profile);
    snprintf(source, sourcelen, "%s", aws_cred_last_error());
    return r;
}

/* A source's role, assumed with the chain's credentials for its profile. */
static int assume_source_role(const struct cj_credentials_options *o,
                              struct cj_aws_credentials *ret, char *source, size_t sourcelen)
{
    struct cj_aws_credentials base = {0};
    char base_source[512] = "", err[1024] = "";
    int r = load_chain(o, &base, base_source, sizeof(base_source));
    if (r < 0) {
        snprintf(source, sourcelen, "%s", base_source);
        return r;
    }
    const struct aws_sts_role role = {
        .role_arn = o->role_arn,
        .session_name = o->role_session_name,
        .external_id = o->external_id,
        .region = aws_sts_region(o->region, NULL),
    };
    r = aws_sts_assume_role(&role, &base, ret, err, sizeof(err));
    cj_credentials_done(&base);
    if (r < 0) {
        (void)aws_cred_fail(-r, "%s (with the credentials of %s)", err, base_source);
        snprintf(source, sourcelen, "%s", aws_cred_last_error());
        return r;
    }
    snprintf(source, sourcelen, "role %s, assumed with %s", o->role_arn, base_source);
    return 0;
}

int cj_credentials_load_with(const struct cj_credentials_options *o, struct cj_aws_credentials *ret,
                             char *source, size_t sourcelen)
{
    char dummy[1];
    if (!source || sourcelen == 0) {
        source = dummy;
        sourcelen = sizeof(dummy);
    }
    const bool own_cancel = o && o->cancel;
    const atomic_bool *outer = own_cancel ? aws_cred_set_cancel(o->cancel) : NULL;
    int r = o && o->role_arn ? assume_source_role(o, ret, source, sourcelen)
                             : load_chain(o, ret, source, sourcelen);
    bool cancelled = aws_cred_cancelled();
    if (own_cancel)
        aws_cred_set_cancel(outer);
    if (cancelled) {
        cj_credentials_done(ret);
        source[0] = '\0';
        return -ECANCELED;
    }
    return r;
}

int cj_credentials_load_for_profile(const char *profile, struct cj_aws_credentials *ret,
                                    char *source, size_t sourcelen)
{
    struct cj_credentials_options o = {.profile = profile};
    return cj_credentials_load_with(&o, ret, source, sourcelen);
}

int cj_credentials_load(struct cj_aws_credentials *ret, char *source, size_t sourcelen)
{
    const char *profile = getenv("AWS_PROFILE");
    return cj_credentials_load_for_profile(profile && *profile ? profile : "default", ret, source,
                                           sourcelen);
}
