/* SPDX-License-Identifier: MIT */
/* The shared config and credentials files, parsed as the AWS SDKs' profile file format
 * describes them, for one profile. A small parser of our own rather than inih: lines of any
 * length (session tokens are long), no process-wide knobs shared with the config module, and
 * the caller can zero the bytes it read. Only syntax is judged here; what the values mean is
 * decided by credentials-shared.c. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "credentials-internal.h"

/* The keys copyjobd reads, and where each goes. */
static const struct {
    const char *name;
    size_t offset;
} profile_keys[] = {
    {"aws_access_key_id", offsetof(struct cj_profile, access_key_id)},
    {"aws_secret_access_key", offsetof(struct cj_profile, secret_access_key)},
    {"aws_session_token", offsetof(struct cj_profile, session_token)},
    {"credential_process", offsetof(struct cj_profile, credential_process)},
    {"role_arn", offsetof(struct cj_profile, role_arn)},
    {"source_profile", offsetof(struct cj_profile, source_profile)},
    {"credential_source", offsetof(struct cj_profile, credential_source)},
    {"external_id", offsetof(struct cj_profile, external_id)},
    {"role_session_name", offsetof(struct cj_profile, role_session_name)},
    {"duration_seconds", offsetof(struct cj_profile, duration_seconds)},
    {"web_identity_token_file", offsetof(struct cj_profile, web_identity_token_file)},
    {"mfa_serial", offsetof(struct cj_profile, mfa_serial)},
    {"region", offsetof(struct cj_profile, region)},
    {"sso_session", offsetof(struct cj_profile, sso_session)},
    {"sso_start_url", offsetof(struct cj_profile, sso_start_url)},
    {"sso_region", offsetof(struct cj_profile, sso_region)},
    {"sso_account_id", offsetof(struct cj_profile, sso_account_id)},
    {"sso_role_name", offsetof(struct cj_profile, sso_role_name)},
};

static char **slot_at(struct cj_profile *p, size_t i)
{
    return (char **)((char *)p + profile_keys[i].offset);
}

void aws_profile_done(struct cj_profile *p)
{
    for (size_t i = 0; i < ELEMENTSOF(profile_keys); i++)
        cj_free_secretp(slot_at(p, i));
    *p = (struct cj_profile){0};
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && is_blank(**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && is_blank((*s)[*len - 1]))
        (*len)--;
}

static bool span_equals(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && memcmp(s, word, len) == 0;
}

static bool section_matches(enum cj_profile_file_kind kind, const char *name, size_t len,
                            const char *profile)
{
    if (kind == CJ_PROFILE_CREDENTIALS_FILE)
        return span_equals(name, len, profile);
    if (kind == CJ_PROFILE_SSO_SESSION) {
        static const char prefix[] = "sso-session";
        if (len <= STRLEN(prefix) || memcmp(name, prefix, STRLEN(prefix)) != 0 ||
            !is_blank(name[STRLEN(prefix)]))
            return false;
        const char *rest = name + STRLEN(prefix);
        size_t restlen = len - STRLEN(prefix);
        trim(&rest, &restlen);
        return span_equals(rest, restlen, profile);
    }

    if (strcmp(profile, "default") == 0 && span_equals(name, len, "default"))
        return true;
    if (len > STRLEN("profile") && memcmp(name, "profile", STRLEN("profile")) == 0 &&
        is_blank(name[STRLEN("profile")])) {
        const char *rest = name + STRLEN("profile");
        size_t restlen = len - STRLEN("profile");
        trim(&rest, &restlen);
        return span_equals(rest, restlen, profile);
    }
    return false;
}

static char **wanted_slot(struct cj_profile *p, const char *key, size_t len, const char **name)
{
    for (size_t i = 0; i < ELEMENTSOF(profile_keys); i++)
        if (strlen(profile_keys[i].name) == len &&
            strncasecmp(key, profile_keys[i].name, len) == 0) {
            *name = profile_keys[i].name;
            return slot_at(p, i);
        }
    return NULL;
}

/* Cuts an inline comment: '#' or ';' after whitespace. */
static void strip_inline_comment(const char *s, size_t *len)
{
    for (size_t i = 1; i < *len; i++)
        if ((s[i] == '#' || s[i] == ';') && is_blank(s[i - 1])) {
            *len = i;
            return;
        }
}

int aws_profile_parse(const char *data, size_t len, enum cj_profile_file_kind kind,
                      const char *profile, struct cj_profile *ret, char *err, size_t errlen)
{
    struct cj_profile p = {0};
    bool have_section = false, in_target = false, in_property = false;
    const char *property_of_interest = NULL; /* the wanted key of the last property line */
    unsigned lineno = 0;
    int r = 0;

    *ret = (struct cj_profile){0};
    if (memchr(data, '\0', len)) {
        snprintf(err, errlen, "contains a NUL byte");
        return -EINVAL;
    }

    for (size_t pos = 0; pos < len;) {
        const char *line = data + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t linelen = nl ? (size_t)(nl - line) : len - pos;
        pos += linelen + (nl ? 1 : 0);
        lineno++;
        if (linelen > 0 && line[linelen - 1] == '\r')
            linelen--;

        const char *t = line;
        size_t tlen = linelen;
        trim(&t, &tlen);
        if (tlen == 0 || t[0] == '#' || t[0] == ';')
            continue;

        if (is_blank(line[0]) && in_property) {
            /* A continuation line (or a sub-property of an empty value): ours are single
             * line values, so a continued credential is a mistake worth naming. */
            if (property_of_interest) {
                snprintf(err, errlen, "line %u: %s continues on this line; it must be one line",
                         lineno, property_of_interest);
                r = -EINVAL;
                goto fail;
            }
            continue;
        }

        if (t[0] == '[') {
            const char *close = memchr(t, ']', tlen);
            if (!close) {
                snprintf(err, errlen, "line %u: section header without ']'", lineno);
                r = -EINVAL;
                goto fail;
            }
            const char *after = close + 1;
            size_t afterlen = tlen - (size_t)(after - t);
            trim(&after, &afterlen);
            if (afterlen > 0 && after[0] != '#' && after[0] != ';') {
                snprintf(err, errlen, "line %u: text after the section header", lineno);
                r = -EINVAL;
                goto fail;
            }
            const char *name = t + 1;
            size_t namelen = (size_t)(close - name);
            trim(&name, &namelen);
            if (namelen == 0) {
                snprintf(err, errlen, "line %u: empty section name", lineno);
                r = -EINVAL;
                goto fail;
            }
            have_section = true;
            in_property = false;
            property_of_interest = NULL;
            in_target = section_matches(kind, name, namelen, profile);
            if (in_target)
                p.found = true;
            continue;
        }

        const char *eq = memchr(t, '=', tlen);
        if (!eq) {
            snprintf(err, errlen, "line %u: expected a [section] or 'key = value'", lineno);
            r = -EINVAL;
            goto fail;
        }
        if (!have_section) {
            snprintf(err, errlen, "line %u: a property before the first [section]", lineno);
            r = -EINVAL;
            goto fail;
        }
        const char *key = t;
        size_t keylen = (size_t)(eq - t);
        trim(&key, &keylen);
        if (keylen == 0) {
            snprintf(err, errlen, "line %u: a property without a name", lineno);
            r = -EINVAL;
            goto fail;
        }
        const char *value = eq + 1;
        size_t valuelen = tlen - (size_t)(value - t);
        trim(&value, &valuelen);
        strip_inline_comment(value, &valuelen);
        trim(&value, &valuelen);

        in_property = true;
        property_of_interest = NULL;
        if (!in_target)
            continue;

        const char *name = NULL;
        char **slot = wanted_slot(&p, key, keylen, &name);
        if (slot) {
            char *copy = strndup(value, valuelen);
            if (!copy) {
                r = -ENOMEM;
                snprintf(err, errlen, "out of memory");
                goto fail;
            }
            aws_free_secret(*slot); /* a later value overrides an earlier one */
            *slot = copy;
            property_of_interest = name;
        }
    }

    *ret = p;
    return 0;
fail:
    aws_profile_done(&p);
    return r;
}
