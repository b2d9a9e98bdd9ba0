/* SPDX-License-Identifier: MIT */
/* The sources of the contract: the [aws] regions and every [source.NAME] section, read
 * key by key, then resolved into one list (names, defaults, endpoints) and checked as a
 * whole, so that two sources that are the same account and region are caught before a
 * single request goes out. */
#include "config-sources.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bedrock-syntax.h"
#include "cj-util.h"
#include "config-keys.h"

enum source_key {
    SOURCE_KEY_REGION,
    SOURCE_KEY_PROFILE,
    SOURCE_KEY_ROLE_ARN,
    SOURCE_KEY_EXTERNAL_ID,
    SOURCE_KEY_ROLE_SESSION_NAME,
    SOURCE_KEY_ENDPOINT,
    _SOURCE_KEY_MAX,
};

static const char *const source_key_names[_SOURCE_KEY_MAX] = {
    [SOURCE_KEY_REGION] = "region",
    [SOURCE_KEY_PROFILE] = "profile",
    [SOURCE_KEY_ROLE_ARN] = "role_arn",
    [SOURCE_KEY_EXTERNAL_ID] = "external_id",
    [SOURCE_KEY_ROLE_SESSION_NAME] = "role_session_name",
    [SOURCE_KEY_ENDPOINT] = "endpoint",
};

_Static_assert(_SOURCE_KEY_MAX <= ELEMENTSOF(((struct cj_source_settings *)0)->key_line),
               "key_line has a slot per key");

/* Characters of IAM's patterns: a role path and name ([\w+=,.@/-]), a session name
 * ([\w+=,.@-]) and an external id ([\w+=,.@:/-]). */
static bool all_in(const char *s, const char *extra)
{
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && !strchr(extra, *s))
            return false;
    return true;
}

int cj_role_arn_account(const char *arn, char account[static 13])
{
    /* arn:PARTITION:iam::ACCOUNT:role/PATH/NAME */
    const char *p = arn;
    if (strncmp(p, "arn:aws", 7) != 0)
        return -EINVAL;
    p += 7;
    while (islower((unsigned char)*p) || *p == '-')
        p++;
    if (strncmp(p, ":iam::", 6) != 0)
        return -EINVAL;
    p += 6;
    for (int i = 0; i < 12; i++)
        if (!isdigit((unsigned char)p[i]))
            return -EINVAL;
    if (strncmp(p + 12, ":role/", 6) != 0)
        return -EINVAL;
    const char *rest = p + 18;
    size_t n = strlen(rest);
    if (n < 1 || n > 576 || !all_in(rest, "+=,.@/-") || rest[n - 1] == '/')
        return -EINVAL;
    memcpy(account, p, 12);
    account[12] = '\0';
    return 0;
}

static int check_source_value(enum source_key k, const char *value, char *reason, size_t reasonlen)
{
    size_t n = strlen(value);
    char account[13];

    switch (k) {
    case SOURCE_KEY_REGION:
        if (cj_valid_region_name(value, strlen(value)))
            return 0;
        snprintf(reason, reasonlen, "must be a region name like us-east-1");
        return -EINVAL;
    case SOURCE_KEY_PROFILE:
        if (n >= 1 && n <= 128 && !strpbrk(value, "[] \t"))
            return 0;
        snprintf(reason, reasonlen, "must be a profile name without spaces or brackets");
        return -EINVAL;
    case SOURCE_KEY_ROLE_ARN:
        if (cj_role_arn_account(value, account) == 0)
            return 0;
        snprintf(reason, reasonlen, "must be an IAM role ARN, arn:aws:iam::ACCOUNT:role/NAME");
        return -EINVAL;
    case SOURCE_KEY_EXTERNAL_ID:
        if (n >= 2 && n <= 1224 && all_in(value, "+=,.@:/-"))
            return 0;
        snprintf(reason, reasonlen,
                 "must be 2 to 1224 letters, digits or any of _+=,.@:/- (STS's rule)");
        return -EINVAL;
    case SOURCE_KEY_ROLE_SESSION_NAME:
        if (n >= 2 && n <= 64 && all_in(value, "+=,.@-"))
            return 0;
        snprintf(reason, reasonlen,
                 "must be 2 to 64 letters, digits or any of _+=,.@- (STS's rule)");
        return -EINVAL;
    case SOURCE_KEY_ENDPOINT:
    case _SOURCE_KEY_MAX:
        break;
    }
    return 0;
}

static char **source_field(struct cj_source_settings *src, enum source_key k)
{
    switch (k) {
    case SOURCE_KEY_REGION:
        return &src->region;
    case SOURCE_KEY_PROFILE:
        return &src->profile;
    case SOURCE_KEY_ROLE_ARN:
        return &src->role_arn;
    case SOURCE_KEY_EXTERNAL_ID:
        return &src->external_id;
    case SOURCE_KEY_ROLE_SESSION_NAME:
        return &src->role_session_name;
    case SOURCE_KEY_ENDPOINT:
        return &src->endpoint;
    case _SOURCE_KEY_MAX:
        break;
    }
    return NULL;
}

static struct cj_source_settings *source_add(struct cj_settings *s, const char *name, int *r)
{
    *r = 0;
    for (size_t i = 0; i < s->n_sources; i++)
        if (strcmp(s->sources[i].name, name) == 0)
            return &s->sources[i];
    if (s->n_sources >= CJ_SOURCES_MAX) {
        *r = -E2BIG;
        return NULL;
    }
    struct cj_source_settings *n = realloc(s->sources, (s->n_sources + 1) * sizeof(*n));
    if (!n) {
        *r = -ENOMEM;
        return NULL;
    }
    s->sources = n;
    struct cj_source_settings *src = &s->sources[s->n_sources];
    *src = (struct cj_source_settings){.name = strdup(name)};
    if (!src->name) {
        *r = -ENOMEM;
        return NULL;
    }
    s->n_sources++;
    return src;
}

int config_source_key(struct cj_settings *s, const char *file, const char *section,
                      const char *name, const char *value, unsigned line, char *reason,
                      size_t reasonlen)
{
    const char *source = section + strlen(CJ_SOURCE_SECTION_PREFIX);
    enum source_key k;
    int r;

    if (!cj_valid_source_name(source)) {
        snprintf(reason, reasonlen, "[%.80s]: a source name is 1 to %d of a-z, 0-9 and '-'",
                 section, CJ_SOURCE_NAME_MAX);
        return -EINVAL;
    }
    for (k = 0; k < _SOURCE_KEY_MAX; k++)
        if (strcmp(source_key_names[k], name) == 0)
            break;
    if (k == _SOURCE_KEY_MAX) {
        snprintf(reason, reasonlen, "[%s] unknown key '%.80s'", section, name);
        return -EINVAL;
    }
    struct cj_source_settings *src = source_add(s, source, &r);
    if (r == -E2BIG) {
        snprintf(reason, reasonlen, "[%s]: more than %d sources", section, CJ_SOURCES_MAX);
        return -EINVAL;
    }
    if (r < 0)
        return r;
    if (src->key_line[k]) {
        snprintf(reason, reasonlen, "[%s] %s: already set on line %u", section, name,
                 src->key_line[k]);
        return -EINVAL;
    }
    src->key_line[k] = line;
    if (!src->file && !(src->file = strdup(file)))
        return -ENOMEM;

    char why[160] = "";
    char **field = source_field(src, k);
    if (!*value) {
        free(*field); /* "key =": the default */
        *field = NULL;
        return 0;
    }
    if (k == SOURCE_KEY_ENDPOINT)
        r = config_normalize_endpoint(value, field, why, sizeof(why));
    else if ((r = check_source_value(k, value, why, sizeof(why))) == 0) {
        free(*field);
        *field = strdup(value);
        if (!*field)
            return -ENOMEM;
    }
    if (r == -ENOMEM)
        return r;
    if (r < 0) {
        snprintf(reason, reasonlen, "[%s] %s: %s", section, name, why);
        return r;
    }
    if (k == SOURCE_KEY_REGION)
        src->line = line;
    return 0;
}

void config_regions_free(char **regions)
{
    if (!regions)
        return;
    for (char **p = regions; *p; p++)
        free(*p);
    free(regions);
}

int config_regions_parse(const char *value, char ***ret, char *reason, size_t reasonlen)
{
    char **list = NULL;
    size_t n = 0;
    const char *p = value;
    int r = -EINVAL;

    while (*p) {
        p += strspn(p, " \t");
        size_t len = strcspn(p, ", \t");
        char region[CJ_REGION_NAME_MAX + 2];
        if (len == 0 || len > CJ_REGION_NAME_MAX) {
            snprintf(reason, reasonlen, "must be region names separated by commas");
            goto fail;
        }
        memcpy(region, p, len);
        region[len] = '\0';
        if (!cj_valid_region_name(region, strlen(region))) {
            snprintf(reason, reasonlen, "'%s' is not a region name like us-east-1", region);
            goto fail;
        }
        for (size_t i = 0; i < n; i++)
            if (strcmp(list[i], region) == 0) {
                snprintf(reason, reasonlen, "'%s' is named twice", region);
                goto fail;
            }
        if (n >= CJ_SOURCES_MAX) {
            snprintf(reason, reasonlen, "names more than %d regions", CJ_SOURCES_MAX);
            goto fail;
        }
        char **grown = realloc(list, (n + 2) * sizeof(*list));
        if (!grown) {
            r = -ENOMEM;
            goto fail;
        }
        list = grown;
        if (!(list[n] = strdup(region))) {
            r = -ENOMEM;
            goto fail;
        }
        list[++n] = NULL;
        p += len;
        p += strspn(p, " \t");
        if (*p == ',') {
            p++;
            if (!*(p + strspn(p, " \t"))) {
                snprintf(reason, reasonlen, "must not end with a comma");
                goto fail;
            }
        } else if (*p) {
            snprintf(reason, reasonlen, "must be region names separated by commas");
            goto fail;
        }
    }
    if (n == 0) {
        *ret = NULL; /* "regions =": unset */
        return 0;
    }
    *ret = list;
    return 0;
fail:
    if (list)
        list[n] = NULL;
    config_regions_free(list);
    return r;
}

void config_source_done(struct cj_source_settings *src)
{
    free(src->name);
    free(src->region);
    free(src->profile);
    free(src->role_arn);
    free(src->external_id);
    free(src->role_session_name);
    free(src->endpoint);
    free(src->file);
    *src = (struct cj_source_settings){0};
}

/* ---- resolving ---- */

static int set_default(char **dst, const char *value)
{
    if (*dst || !value)
        return 0;
    *dst = strdup(value);
    return *dst ? 0 : -ENOMEM;
}

_printf_(5, 6) static int source_error(const struct cj_source_settings *src, unsigned line,
                                       char *err, size_t errlen, const char *fmt, ...)
{
    int n;
    if (src->file)
        n = snprintf(err, errlen, "%s:%u: ", src->file, line);
    else
        n = snprintf(err, errlen, "environment: ");
    if (n >= 0 && (size_t)n < errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static const char *section_of(const struct cj_source_settings *src, char *buf, size_t n)
{
    if (src->from_aws)
        snprintf(buf, n, "[aws]");
    else
        snprintf(buf, n, "[source.%s]", src->name);
    return buf;
}

/* What makes two sources the same account and region as far as the file tells: the account
 * of the role, or the profile whose own credentials are used. */
static bool same_identity(const struct cj_source_settings *a, const struct cj_source_settings *b)
{
    if (strcmp(a->region, b->region) != 0)
        return false;
    if (a->role_arn && b->role_arn) {
        char x[13], y[13];
        return cj_role_arn_account(a->role_arn, x) == 0 &&
               cj_role_arn_account(b->role_arn, y) == 0 && strcmp(x, y) == 0;
    }
    return !a->role_arn && !b->role_arn && strcmp(a->profile, b->profile) == 0;
}

static int resolve_endpoint(struct cj_source_settings *src, const char *inherited,
                            const char *env_endpoint)
{
    if (src->endpoint)
        return 0;
    const char *v = inherited ? inherited : env_endpoint;
    if (v)
        return set_default(&src->endpoint, v);
    return config_default_endpoint(src->region, &src->endpoint);
}

int config_default_endpoint(const char *region, char **ret)
{
    const char *suffix = strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
    if (asprintf(ret, "https://bedrock.%s.%s", region, suffix) < 0) {
        *ret = NULL;
        return -ENOMEM;
    }
    return 0;
}

int config_sources_resolve(struct cj_settings *s, const char *aws_endpoint,
                           const char *env_endpoint, char *err, size_t errlen)
{
    /* The [aws] sources come first, then [source.NAME] in file order. */
    char *const single[] = {s->aws.region, NULL};
    char *const *regions = s->aws.regions ? s->aws.regions : (s->aws.region ? single : NULL);
    size_t n_aws = 0;
    int r;

    for (char *const *p = regions; p && *p; p++)
        n_aws++;
    if (n_aws + s->n_sources == 0) {
        snprintf(err, errlen,
                 "no AWS region: set [aws] region or regions, AWS_REGION or AWS_DEFAULT_REGION, "
                 "a region for profile '%s' in the AWS config file, or a [source.NAME]",
                 s->aws.profile);
        return -EINVAL;
    }
    if (n_aws + s->n_sources > CJ_SOURCES_MAX) {
        snprintf(err, errlen, "more than %d sources", CJ_SOURCES_MAX);
        return -EINVAL;
    }
    struct cj_source_settings *all = calloc(n_aws + s->n_sources, sizeof(*all));
    if (!all)
        return -ENOMEM;
    for (size_t i = 0; i < n_aws; i++) {
        struct cj_source_settings *src = &all[i];
        src->from_aws = true;
        src->line = s->aws.region_line;
        if ((s->aws.file && !(src->file = strdup(s->aws.file))) ||
            !(src->name = strdup(regions[i])) || !(src->region = strdup(regions[i])) ||
            set_default(&src->profile, s->aws.profile) < 0) {
            r = -ENOMEM;
            goto fail;
        }
    }
    if (s->n_sources > 0)
        memcpy(all + n_aws, s->sources, s->n_sources * sizeof(*all));
    free(s->sources);
    s->sources = all;
    s->n_sources += n_aws;

    char sect[64], other[64];
    for (size_t i = 0; i < s->n_sources; i++) {
        struct cj_source_settings *src = &s->sources[i];
        if (!src->region) {
            unsigned first = 0;
            for (size_t k = 0; k < _SOURCE_KEY_MAX; k++)
                if (src->key_line[k] && (!first || src->key_line[k] < first))
                    first = src->key_line[k];
            return source_error(src, first, err, errlen, "[source.%s] region: required", src->name);
        }
        if (set_default(&src->profile, s->aws.profile) < 0 ||
            set_default(&src->role_session_name, CJ_SOURCE_DEFAULT_SESSION_NAME) < 0)
            return -ENOMEM;
        r = resolve_endpoint(src, src->from_aws ? aws_endpoint : NULL, env_endpoint);
        if (r < 0)
            return r;
        if (src->external_id && !src->role_arn)
            return source_error(src, src->key_line[SOURCE_KEY_EXTERNAL_ID], err, errlen,
                                "%s external_id: needs role_arn", section_of(src, sect, 64));
        for (size_t j = 0; j < i; j++) {
            const struct cj_source_settings *prev = &s->sources[j];
            if (strcmp(prev->name, src->name) == 0)
                return source_error(src, src->line, err, errlen,
                                    "%s: a source named '%s' is already configured by %s",
                                    section_of(src, sect, 64), src->name,
                                    section_of(prev, other, 64));
            if (same_identity(prev, src))
                return source_error(
                    src, src->line, err, errlen,
                    "%s region: source '%s' is the same account and region as source '%s' "
                    "(%s, %s %s)",
                    section_of(src, sect, 64), src->name, prev->name, src->region,
                    src->role_arn ? "role" : "profile",
                    src->role_arn ? src->role_arn : src->profile);
        }
    }
    return 0;
fail:
    for (size_t i = 0; i < n_aws; i++)
        config_source_done(&all[i]);
    free(all);
    return r;
}

void config_sources_dump(const struct cj_settings *s, FILE *f)
{
    for (size_t i = 0; i < s->n_sources; i++) {
        const struct cj_source_settings *src = &s->sources[i];
        fprintf(f, "\n[source.%s]\n", src->name);
        if (src->from_aws)
            fprintf(f, "# from [aws]\n");
        fprintf(f, "region = %s\nprofile = %s\n", src->region, src->profile ? src->profile : "");
        if (src->role_arn)
            fprintf(f, "role_arn = %s\nexternal_id = %s\nrole_session_name = %s\n", src->role_arn,
                    src->external_id ? "(set)" : "", src->role_session_name);
        fprintf(f, "endpoint = %s\n", src->endpoint ? src->endpoint : "");
    }
}
