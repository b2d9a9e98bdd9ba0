/* SPDX-License-Identifier: MIT */
/* The third source: the shared credentials and config files of a profile. The order inside
 * it is botocore's: static keys of the credentials file, then credential_process (the
 * credentials file's entry wins), then static keys of the config file. A profile that asks
 * for assume-role, SSO or web identity is an error rather than a fall-through, because any
 * other source would be a different identity than the one configured. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "credentials-internal.h"
#include "log.h"
#include "secret-file.h"

#define CREDENTIAL_PROCESS_MAX 4096

/* $HOME, else the user database's (getpwuid_r: lookups may run on a worker thread). */
static char *home_directory(void)
{
    const char *home = getenv("HOME");
    if (home && *home)
        return strdup(home);

    struct passwd pw, *found = NULL;
    long size = sysconf(_SC_GETPW_R_SIZE_MAX);
    _cleanup_free_ char *buf = malloc(size > 0 ? (size_t)size : 16384);
    if (!buf || getpwuid_r(getuid(), &pw, buf, size > 0 ? (size_t)size : 16384, &found) != 0 ||
        !found || !pw.pw_dir || !*pw.pw_dir)
        return NULL;
    return strdup(pw.pw_dir);
}

/* $env (with "~/" expanded, as the SDKs do) or ~/.aws/<name>; NULL without a home. */
static int resolve_path(const char *env, const char *name, char **ret)
{
    const char *v = getenv(env);
    _cleanup_free_ char *home = home_directory();
    int n;

    *ret = NULL;
    if (v && *v) {
        if (v[0] == '~' && v[1] == '/' && home)
            n = asprintf(ret, "%s%s", home, v + 1);
        else
            n = (*ret = strdup(v)) ? 0 : -1;
    } else if (home) {
        n = asprintf(ret, "%s/.aws/%s", home, name);
    } else {
        return 0;
    }
    if (n < 0) {
        *ret = NULL;
        return -ENOMEM;
    }
    return 0;
}

/* 1 = parsed, 0 = no such file, <0 = error (logged). */
static int parse_file(const char *path, enum cj_profile_file_kind kind, const char *profile,
                      struct cj_profile *ret, mode_t *ret_mode)
{
    _cleanup_secret_file_ struct cj_secret_file f = {0};
    char what[PATH_MAX + 32];

    snprintf(what, sizeof(what), "the shared AWS file %s", path);
    int r = cj_secret_file_read(AT_FDCWD, path, what, CJ_CRED_FILE_MAX, &f);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    *ret_mode = f.mode;

    char err[160];
    r = aws_profile_parse(f.data, f.len, kind, profile, ret, err, sizeof(err));
    if (r < 0)
        return log_error_errno(r, "The shared AWS file %s cannot be parsed: %s", path, err);
    return 1;
}

static void warn_if_readable(const char *path, mode_t mode)
{
    if (mode & (S_IRGRP | S_IROTH))
        log_warning("%s holds AWS secrets but is readable by its group or others (mode %04o); "
                    "chmod 600 it",
                    path, (unsigned)(mode & 07777));
}

static bool has_static_keys(const struct cj_profile *p)
{
    return p->access_key_id || p->secret_access_key || p->session_token;
}

static int take_static_keys(const struct cj_profile *p, const char *what, const char *path,
                            const char *profile, struct cj_aws_credentials *c, char *source,
                            size_t sourcelen)
{
    if (!p->access_key_id || !p->secret_access_key)
        return log_error_errno(EINVAL, "%s %s, profile %s: %s is set but %s is not", what, path,
                               profile,
                               p->access_key_id       ? "aws_access_key_id"
                               : p->secret_access_key ? "aws_secret_access_key"
                                                      : "aws_session_token",
                               p->access_key_id ? "aws_secret_access_key" : "aws_access_key_id");

    char why[160];
    const char *token = p->session_token && *p->session_token ? p->session_token : NULL;
    int r =
        aws_cred_set(c, p->access_key_id, p->secret_access_key, token, NULL, 0, why, sizeof(why));
    if (r < 0)
        return log_error_errno(r, "%s %s, profile %s: %s", what, path, profile, why);
    snprintf(source, sourcelen, "%s (%s, profile %s)", what, path, profile);
    return 1;
}

/* credential_process runs a command as the daemon, so whoever may write the file it came from
 * chooses that command. As sshd's StrictModes: the file must be owned by us or root and not
 * writable by group or others. `mode` is the one fstat() saw when the file was read; the owner
 * comes from the path (swapping the file there takes write access to its directory). */
static int check_command_file(const char *path, const char *profile, mode_t mode)
{
    struct stat st;
    uid_t me = geteuid();

    if (stat(path, &st) < 0)
        return log_error_errno(errno, "%s, profile %s: cannot stat it: %m", path, profile);
    if (((mode | st.st_mode) & (S_IWGRP | S_IWOTH)) || (st.st_uid != me && st.st_uid != 0))
        return log_error_errno(EPERM,
                               "%s, profile %s: refusing its credential_process: the file is "
                               "owned by uid %u with mode %04o, so someone else could choose "
                               "the command copyjobd runs; it must be owned by uid %u or root "
                               "and not writable by group or others (chmod go-w)",
                               path, profile, (unsigned)st.st_uid,
                               (unsigned)((mode | st.st_mode) & 07777), (unsigned)me);
    return 0;
}

static int run_credential_process(const char *command, const char *path, mode_t mode,
                                  const char *profile, struct cj_aws_credentials *c, char *source,
                                  size_t sourcelen)
{
    int r = check_command_file(path, profile, mode);
    if (r < 0)
        return r;

    size_t len = strlen(command);
    if (len == 0 || len > CREDENTIAL_PROCESS_MAX)
        return log_error_errno(EINVAL,
                               "%s, profile %s: credential_process is empty or longer "
                               "than %d bytes",
                               path, profile, CREDENTIAL_PROCESS_MAX);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)command[i] < 0x20 && command[i] != '\t')
            return log_error_errno(EINVAL,
                                   "%s, profile %s: credential_process contains a "
                                   "control character",
                                   path, profile);

    log_debug("Running credential_process of profile %s from %s", profile, path);
    r = aws_credential_process_run(command, profile, CJ_CRED_PROCESS_TIMEOUT_USEC, c);
    if (r < 0)
        return r;
    snprintf(source, sourcelen, "credential_process (profile %s)", profile);
    return 1;
}

int aws_credentials_from_shared_files(const char *profile, struct cj_aws_credentials *c,
                                      char *source, size_t sourcelen)
{
    _cleanup_free_ char *cred_path = NULL, *config_path = NULL;
    struct cj_profile cp = {0}, fp = {0};
    mode_t cred_mode = 0, config_mode = 0;
    int r;

    if ((r = resolve_path("AWS_SHARED_CREDENTIALS_FILE", "credentials", &cred_path)) < 0 ||
        (r = resolve_path("AWS_CONFIG_FILE", "config", &config_path)) < 0)
        return r;

    int have_cred = 0, have_config = 0;
    if (cred_path) {
        have_cred = parse_file(cred_path, CJ_PROFILE_CREDENTIALS_FILE, profile, &cp, &cred_mode);
        if (have_cred < 0)
            return have_cred;
        if (have_cred)
            warn_if_readable(cred_path, cred_mode);
    }
    if (config_path) {
        have_config = parse_file(config_path, CJ_PROFILE_CONFIG_FILE, profile, &fp, &config_mode);
        if (have_config < 0) {
            r = have_config;
            goto out;
        }
    }

    if (!cp.found && !fp.found) {
        r = 0;
        if (strcmp(profile, "default") != 0)
            r = log_error_errno(ENOKEY, "AWS profile %s is in neither %s nor %s", profile,
                                cred_path ? cred_path : "~/.aws/credentials",
                                config_path ? config_path : "~/.aws/config");
        goto out;
    }
    if (cp.unsupported[0] || fp.unsupported[0]) {
        r = log_error_errno(EOPNOTSUPP,
                            "AWS profile %s uses %s (assume role, SSO or web identity), which "
                            "copyjobd does not support; give it static keys or a "
                            "credential_process",
                            profile, cp.unsupported[0] ? cp.unsupported : fp.unsupported);
        goto out;
    }

    if (has_static_keys(&cp))
        r = take_static_keys(&cp, "shared credentials file", cred_path, profile, c, source,
                             sourcelen);
    else if (cp.credential_process)
        r = run_credential_process(cp.credential_process, cred_path, cred_mode, profile, c, source,
                                   sourcelen);
    else if (fp.credential_process)
        r = run_credential_process(fp.credential_process, config_path, config_mode, profile, c,
                                   source, sourcelen);
    else if (has_static_keys(&fp)) {
        warn_if_readable(config_path, config_mode);
        r = take_static_keys(&fp, "shared config file", config_path, profile, c, source, sourcelen);
    } else {
        log_debug("AWS profile %s has no credentials in the shared files", profile);
        r = 0;
    }
out:
    aws_profile_done(&cp);
    aws_profile_done(&fp);
    return r;
}
