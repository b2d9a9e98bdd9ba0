/* SPDX-License-Identifier: MIT */
/* The first two sources: the environment, then systemd credentials. Their limits (any
 * printable value without spaces, up to 4096 bytes) predate the stricter checks of the
 * other sources and are kept so existing deployments keep working. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cj-util.h"
#include "credentials-internal.h"
#include "log.h"
#include "secret-file.h"

/* Long enough for any STS session token seen in practice, short enough to keep a stray
 * file from becoming a header. */
#define CJ_CREDENTIAL_MAX 4096

/* Values end up in HTTP headers: printable ASCII without spaces only, so that a stray
 * newline cannot inject a header. */
static bool credential_value_ok(const char *s, size_t len)
{
    if (len == 0 || len > CJ_CREDENTIAL_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return false;
    return true;
}

static const char *getenv_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

int aws_credentials_from_environment(struct cj_aws_credentials *c, char *source, size_t sourcelen)
{
    const char *id = getenv_nonempty("AWS_ACCESS_KEY_ID");
    const char *secret = getenv_nonempty("AWS_SECRET_ACCESS_KEY");
    const char *token = getenv_nonempty("AWS_SESSION_TOKEN");

    if (!id && !secret) {
        if (token)
            log_warning("AWS_SESSION_TOKEN is set without AWS_ACCESS_KEY_ID and "
                        "AWS_SECRET_ACCESS_KEY; ignoring the environment");
        return 0;
    }
    if (!id)
        return log_error_errno(EINVAL, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
    if (!secret)
        return log_error_errno(EINVAL, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");

    static const char *const names[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                        "AWS_SESSION_TOKEN"};
    const char *values[] = {id, secret, token};
    for (size_t i = 0; i < ELEMENTSOF(names); i++)
        if (values[i] && !credential_value_ok(values[i], strlen(values[i])))
            return log_error_errno(EINVAL,
                                   "%s is not a valid credential (1..%d printable characters "
                                   "without spaces)",
                                   names[i], CJ_CREDENTIAL_MAX);

    c->access_key_id = strdup(id);
    c->secret_access_key = strdup(secret);
    c->session_token = token ? strdup(token) : NULL;
    if (!c->access_key_id || !c->secret_access_key || (token && !c->session_token))
        return -ENOMEM;
    snprintf(source, sourcelen, "environment");
    return 1;
}

/* Reads one credential file of at most CJ_CREDENTIAL_MAX bytes (plus one newline).
 * -ENOENT when missing; other errors are logged naming the file. */
static int read_credential_file(int dirfd, const char *dir, const char *name, char **ret)
{
    _cleanup_secret_file_ struct cj_secret_file f = {0};
    char what[PATH_MAX + 32];

    snprintf(what, sizeof(what), "credential %s/%s", dir, name);
    int r = cj_secret_file_read(dirfd, name, what, CJ_CREDENTIAL_MAX + 1, &f);
    if (r < 0)
        return r;

    if (f.len > 0 && f.data[f.len - 1] == '\n')
        f.data[--f.len] = '\0';
    if (f.len == 0)
        return log_error_errno(EINVAL, "Credential %s/%s is empty", dir, name);
    if (f.len > CJ_CREDENTIAL_MAX)
        return log_error_errno(EFBIG, "Credential %s/%s is larger than %d bytes", dir, name,
                               CJ_CREDENTIAL_MAX);
    if (!credential_value_ok(f.data, f.len))
        return log_error_errno(
            EINVAL, "Credential %s/%s contains spaces or non-printable characters", dir, name);

    *ret = TAKE_PTR(f.data);
    return 0;
}

int aws_credentials_from_systemd(struct cj_aws_credentials *c, char *source, size_t sourcelen)
{
    const char *dir = getenv_nonempty("CREDENTIALS_DIRECTORY");
    if (!dir)
        return 0;

    _cleanup_close_ int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        if (errno == ENOENT)
            return 0;
        return log_error_errno(errno, "Cannot open CREDENTIALS_DIRECTORY %s: %m", dir);
    }

    int r_id = read_credential_file(dirfd, dir, "aws-access-key-id", &c->access_key_id);
    if (r_id < 0 && r_id != -ENOENT)
        return r_id;
    int r_secret = read_credential_file(dirfd, dir, "aws-secret-access-key", &c->secret_access_key);
    if (r_secret < 0 && r_secret != -ENOENT)
        return r_secret;

    if (r_id == -ENOENT && r_secret == -ENOENT)
        return 0;
    if (r_id == -ENOENT)
        return log_error_errno(EINVAL,
                               "Credential %s/aws-secret-access-key exists but "
                               "aws-access-key-id does not",
                               dir);
    if (r_secret == -ENOENT)
        return log_error_errno(EINVAL,
                               "Credential %s/aws-access-key-id exists but "
                               "aws-secret-access-key does not",
                               dir);

    int r = read_credential_file(dirfd, dir, "aws-session-token", &c->session_token);
    if (r < 0 && r != -ENOENT)
        return r;

    snprintf(source, sourcelen, "systemd credentials (%s)", dir);
    return 1;
}
