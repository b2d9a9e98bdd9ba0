/* SPDX-License-Identifier: MIT */
/* The fourth source: the shared credentials and config files of a profile, resolved in
 * botocore's order. For the profile asked for: role_arn (assume role with web_identity_token_file,
 * source_profile or credential_source), then IAM Identity Center (sso_session or
 * sso_start_url), then static keys of the credentials file, credential_process (the credentials
 * file's entry wins), static keys of the config file. For a source_profile, static keys win
 * over its own role_arn (so a profile may name itself as its source). A profile that is
 * configured but cannot be used is an error rather than a fall-through, because any other
 * source would be a different identity than the one configured. */
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
#include "credentials-sts.h"
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
        return aws_cred_fail(r, "The shared AWS file %s cannot be parsed: %s", path, err);
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
        return aws_cred_fail(EINVAL, "%s %s, profile %s: %s is set but %s is not", what, path,
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
        return aws_cred_fail(r, "%s %s, profile %s: %s", what, path, profile, why);
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
        return aws_cred_fail(errno, "%s, profile %s: cannot stat it: %m", path, profile);
    if (((mode | st.st_mode) & (S_IWGRP | S_IWOTH)) || (st.st_uid != me && st.st_uid != 0))
        return aws_cred_fail(EPERM,
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
        return aws_cred_fail(EINVAL,
                             "%s, profile %s: credential_process is empty or longer "
                             "than %d bytes",
                             path, profile, CREDENTIAL_PROCESS_MAX);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)command[i] < 0x20 && command[i] != '\t')
            return aws_cred_fail(EINVAL,
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

#define CHAIN_MAX 8 /* profiles in one source_profile chain */

struct resolver {
    const char *region; /* explicit, or NULL */
    char *cred_path;    /* NULL without a home */
    char *config_path;
    const char *chain[CHAIN_MAX]; /* the profiles being resolved, outermost first */
    size_t depth;
    char top_region[64]; /* the first profile's region, for STS */
};

/* Both files' sections of one profile. 1 = found in either, 0 = in neither, <0 = error. */
static int load_profile(struct resolver *rs, const char *profile, struct cj_profile *cp,
                        mode_t *cred_mode, struct cj_profile *fp, mode_t *config_mode)
{
    int have;
    *cp = *fp = (struct cj_profile){0};
    if (rs->cred_path) {
        have = parse_file(rs->cred_path, CJ_PROFILE_CREDENTIALS_FILE, profile, cp, cred_mode);
        if (have < 0)
            return have;
        if (have && cp->found)
            warn_if_readable(rs->cred_path, *cred_mode);
    }
    if (rs->config_path) {
        have = parse_file(rs->config_path, CJ_PROFILE_CONFIG_FILE, profile, fp, config_mode);
        if (have < 0) {
            aws_profile_done(cp);
            return have;
        }
    }
    return cp->found || fp->found;
}

/* A key of the profile: the credentials file's value wins over the config file's. */
#define PICK(cp, fp, key) ((cp)->key ? (cp)->key : (fp)->key)

static bool has_role_keys(const struct cj_profile *cp, const struct cj_profile *fp)
{
    return PICK(cp, fp, role_arn) != NULL;
}

static bool has_sso_keys(const struct cj_profile *cp, const struct cj_profile *fp)
{
    return PICK(cp, fp, sso_session) || PICK(cp, fp, sso_start_url) ||
           PICK(cp, fp, sso_account_id) || PICK(cp, fp, sso_role_name);
}

static int resolve(struct resolver *rs, const char *profile, bool top, struct cj_aws_credentials *c,
                   char *source, size_t sourcelen);

static int chain_text(const struct resolver *rs, const char *last, char *out, size_t outlen)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < rs->depth; i++)
        o += (size_t)snprintf(out + o, o < outlen ? outlen - o : 0, "%s -> ", rs->chain[i]);
    if (o < outlen)
        snprintf(out + o, outlen - o, "%s", last);
    return 0;
}

/* The credentials a role is assumed with. */
static int role_source_credentials(struct resolver *rs, const char *profile,
                                   const struct cj_profile *cp, const struct cj_profile *fp,
                                   struct cj_aws_credentials *src, char *srcname, size_t srclen)
{
    const char *source_profile = PICK(cp, fp, source_profile);
    const char *credential_source = PICK(cp, fp, credential_source);
    int r;

    if (source_profile && credential_source)
        return aws_cred_fail(EINVAL,
                             "AWS profile %s sets both source_profile and credential_source; "
                             "it must set one",
                             profile);
    if (credential_source) {
        if (strcmp(credential_source, "Environment") == 0)
            r = aws_credentials_from_environment(src, srcname, srclen);
        else if (strcmp(credential_source, "Ec2InstanceMetadata") == 0)
            r = aws_credentials_from_imds(src, srcname, srclen);
        else if (strcmp(credential_source, "EcsContainer") == 0)
            r = aws_credentials_from_container(src, srcname, srclen);
        else
            return aws_cred_fail(EINVAL,
                                 "AWS profile %s: credential_source must be Environment, "
                                 "Ec2InstanceMetadata or EcsContainer",
                                 profile);
        if (r == 0)
            return aws_cred_fail(ENOKEY, "AWS profile %s: credential_source %s has no credentials",
                                 profile, credential_source);
        return r;
    }
    if (!source_profile)
        return aws_cred_fail(EINVAL,
                             "AWS profile %s sets role_arn but neither source_profile, "
                             "credential_source nor web_identity_token_file",
                             profile);
    if (!aws_profile_name_ok(source_profile))
        return aws_cred_fail(EINVAL, "AWS profile %s: source_profile is not a profile name",
                             profile);

    /* A profile may name itself when it has static keys (botocore allows it); any other
     * profile seen before in this chain is a cycle. */
    bool self = strcmp(source_profile, profile) == 0;
    for (size_t i = 0; i < rs->depth; i++)
        if (strcmp(rs->chain[i], source_profile) == 0 && !self) {
            char chain[512];
            chain_text(rs, source_profile, chain, sizeof(chain));
            return aws_cred_fail(ELOOP, "AWS profile %s: source_profile forms a cycle: %s",
                                 rs->chain[0], chain);
        }
    if (self) {
        if (!has_static_keys(cp) && !has_static_keys(fp))
            return aws_cred_fail(ELOOP,
                                 "AWS profile %s names itself as source_profile but has no "
                                 "static keys",
                                 profile);
        return take_static_keys(
            has_static_keys(cp) ? cp : fp,
            has_static_keys(cp) ? "shared credentials file" : "shared config file",
            has_static_keys(cp) ? rs->cred_path : rs->config_path, profile, src, srcname, srclen);
    }
    if (rs->depth >= CHAIN_MAX)
        return aws_cred_fail(ELOOP, "AWS profile %s: the source_profile chain is longer than %d",
                             rs->chain[0], CHAIN_MAX);
    r = resolve(rs, source_profile, false, src, srcname, srclen);
    if (r == 0)
        return aws_cred_fail(ENOKEY, "AWS profile %s: its source_profile %s has no credentials",
                             profile, source_profile);
    return r;
}

static int parse_duration(const char *profile, const char *s, int *ret)
{
    char *end;
    *ret = 0;
    if (!s)
        return 0;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < CJ_STS_DURATION_MIN || v > CJ_STS_DURATION_MAX)
        return aws_cred_fail(EINVAL, "AWS profile %s: duration_seconds must be %d..%d", profile,
                             CJ_STS_DURATION_MIN, CJ_STS_DURATION_MAX);
    *ret = (int)v;
    return 0;
}

static int assume_role(struct resolver *rs, const char *profile, const struct cj_profile *cp,
                       const struct cj_profile *fp, struct cj_aws_credentials *c, char *source,
                       size_t sourcelen)
{
    struct aws_sts_role role = {
        .role_arn = PICK(cp, fp, role_arn),
        .session_name = PICK(cp, fp, role_session_name),
        .external_id = PICK(cp, fp, external_id),
        .region = aws_sts_region(rs->region, rs->top_region[0] ? rs->top_region : NULL),
    };
    const char *token_file = PICK(cp, fp, web_identity_token_file);
    char err[1024];
    int r;

    if (PICK(cp, fp, mfa_serial))
        return aws_cred_fail(EOPNOTSUPP,
                             "AWS profile %s sets mfa_serial: a daemon cannot ask for an MFA "
                             "code; use a role without an MFA condition",
                             profile);
    if ((r = parse_duration(profile, PICK(cp, fp, duration_seconds), &role.duration_seconds)) < 0)
        return r;

    if (token_file) {
        r = aws_sts_assume_role_with_web_identity(&role, token_file, c, err, sizeof(err));
        if (r < 0)
            return aws_cred_fail(r, "AWS profile %s: %s", profile, err);
        snprintf(source, sourcelen, "web identity role %s (profile %s)", role.role_arn, profile);
        return 1;
    }

    struct cj_aws_credentials src = {0};
    char srcname[256] = "";
    r = role_source_credentials(rs, profile, cp, fp, &src, srcname, sizeof(srcname));
    if (r < 0) {
        cj_credentials_done(&src);
        return r;
    }
    r = aws_sts_assume_role(&role, &src, c, err, sizeof(err));
    cj_credentials_done(&src);
    if (r < 0)
        return aws_cred_fail(r, "AWS profile %s: %s", profile, err);
    snprintf(source, sourcelen, "role %s (profile %s, from %s)", role.role_arn, profile, srcname);
    return 1;
}

static int sso(struct resolver *rs, const char *profile, const struct cj_profile *cp,
               const struct cj_profile *fp, struct cj_aws_credentials *c, char *source,
               size_t sourcelen)
{
    struct cj_profile session = {0};
    mode_t mode;
    const char *session_name = PICK(cp, fp, sso_session);
    struct aws_sso_profile p = {
        .profile = profile,
        .session_name = session_name,
        .start_url = PICK(cp, fp, sso_start_url),
        .region = PICK(cp, fp, sso_region),
        .account_id = PICK(cp, fp, sso_account_id),
        .role_name = PICK(cp, fp, sso_role_name),
    };
    char err[1024];
    int r;

    if (session_name) {
        if (!aws_profile_name_ok(session_name))
            return aws_cred_fail(EINVAL, "AWS profile %s: sso_session is not a valid name",
                                 profile);
        r = rs->config_path
                ? parse_file(rs->config_path, CJ_PROFILE_SSO_SESSION, session_name, &session, &mode)
                : 0;
        if (r < 0)
            return r;
        if (!session.found) {
            r = aws_cred_fail(ENOKEY, "AWS profile %s: there is no [sso-session %s] in %s", profile,
                              session_name, rs->config_path ? rs->config_path : "~/.aws/config");
            goto out;
        }
        /* The session's values are the ones used; a profile that repeats them differently
         * is a mistake botocore refuses too. */
        if ((p.start_url && session.sso_start_url &&
             strcmp(p.start_url, session.sso_start_url) != 0) ||
            (p.region && session.sso_region && strcmp(p.region, session.sso_region) != 0)) {
            r = aws_cred_fail(EINVAL,
                              "AWS profile %s: its sso_start_url or sso_region differs from "
                              "[sso-session %s]",
                              profile, session_name);
            goto out;
        }
        p.start_url = session.sso_start_url;
        p.region = session.sso_region;
    }
    if (!p.start_url || !p.region || !p.account_id || !p.role_name) {
        r = aws_cred_fail(EINVAL, "AWS profile %s: IAM Identity Center needs %s", profile,
                          !p.start_url    ? "sso_start_url"
                          : !p.region     ? "sso_region"
                          : !p.account_id ? "sso_account_id"
                                          : "sso_role_name");
        goto out;
    }
    r = aws_sso_get_credentials(&p, c, err, sizeof(err));
    if (r < 0) {
        r = aws_cred_fail(r, "%s", err);
        goto out;
    }
    snprintf(source, sourcelen, "IAM Identity Center role %s in account %s (profile %s)",
             p.role_name, p.account_id, profile);
    r = 1;
out:
    aws_profile_done(&session);
    return r;
}

static int resolve(struct resolver *rs, const char *profile, bool top, struct cj_aws_credentials *c,
                   char *source, size_t sourcelen)
{
    struct cj_profile cp = {0}, fp = {0};
    mode_t cred_mode = 0, config_mode = 0;
    int r;

    r = load_profile(rs, profile, &cp, &cred_mode, &fp, &config_mode);
    if (r < 0)
        return r;
    if (r == 0) {
        r = 0;
        if (!top || strcmp(profile, "default") != 0)
            r = aws_cred_fail(ENOKEY, "AWS profile %s is in neither %s nor %s", profile,
                              rs->cred_path ? rs->cred_path : "~/.aws/credentials",
                              rs->config_path ? rs->config_path : "~/.aws/config");
        goto out;
    }
    if (top) {
        const char *region = PICK(&cp, &fp, region);
        if (region)
            snprintf(rs->top_region, sizeof(rs->top_region), "%s", region);
    }
    rs->chain[rs->depth++] = profile;

    bool statics = has_static_keys(&cp) || has_static_keys(&fp);
    if (has_role_keys(&cp, &fp) && (top || !statics))
        r = assume_role(rs, profile, &cp, &fp, c, source, sourcelen);
    else if (has_sso_keys(&cp, &fp) && (top || !statics))
        r = sso(rs, profile, &cp, &fp, c, source, sourcelen);
    else if (has_static_keys(&cp))
        r = take_static_keys(&cp, "shared credentials file", rs->cred_path, profile, c, source,
                             sourcelen);
    else if (cp.credential_process)
        r = run_credential_process(cp.credential_process, rs->cred_path, cred_mode, profile, c,
                                   source, sourcelen);
    else if (fp.credential_process)
        r = run_credential_process(fp.credential_process, rs->config_path, config_mode, profile, c,
                                   source, sourcelen);
    else if (has_static_keys(&fp)) {
        warn_if_readable(rs->config_path, config_mode);
        r = take_static_keys(&fp, "shared config file", rs->config_path, profile, c, source,
                             sourcelen);
    } else {
        log_debug("AWS profile %s has no credentials in the shared files", profile);
        r = 0;
    }
    rs->depth--;
out:
    aws_profile_done(&cp);
    aws_profile_done(&fp);
    return r;
}

int aws_credentials_from_shared_files(const char *profile, const char *region,
                                      struct cj_aws_credentials *c, char *source, size_t sourcelen)
{
    struct resolver rs = {.region = region};
    int r;

    if ((r = resolve_path("AWS_SHARED_CREDENTIALS_FILE", "credentials", &rs.cred_path)) < 0 ||
        (r = resolve_path("AWS_CONFIG_FILE", "config", &rs.config_path)) < 0)
        goto out;
    r = resolve(&rs, profile, true, c, source, sourcelen);
out:
    free(rs.cred_path);
    free(rs.config_path);
    return r;
}
