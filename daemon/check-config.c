/* SPDX-License-Identifier: MIT */
/* copyjobd --check-config: the configuration as the daemon will use it, and whether every
 * source's credentials work. The account of each source is learned here too, because two
 * sources that the file cannot tell apart (two profiles of one account, say) are only found
 * to be the same account and region once their credentials have been asked. */
#include "check-config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "credentials.h"

struct source_identity {
    char account[CJ_ACCOUNT_ID_STR_LEN + 1]; /* "" when unknown */
};

static int check_source(const struct cj_source_settings *src, struct source_identity *id, FILE *out)
{
    struct cj_aws_credentials c = {0};
    char source[1024] = "", why[512] = "";
    const struct cj_credentials_options o = {
        .profile = src->profile,
        .region = src->region,
        .role_arn = src->role_arn,
        .external_id = src->external_id,
        .role_session_name = src->role_session_name,
    };

    fprintf(out, "\n[credentials.%s]\n", src->name);
    int r = cj_credentials_load_with(&o, &c, source, sizeof(source));
    if (r < 0) {
        fprintf(out, "error = %s\n", source);
        fprintf(stderr, "source %s: no usable AWS credentials: %s\n", src->name, source);
        return -ENOKEY;
    }
    fprintf(out, "source = %s\naccess_key_id = %.4s****\nsession_token = %s\n", source,
            c.access_key_id, c.session_token ? "present" : "none");
    if (src->role_arn)
        r = cj_role_arn_account(src->role_arn, id->account);
    else
        r = cj_credentials_account(&c, src->region, id->account, why, sizeof(why));
    cj_credentials_done(&c);
    if (r < 0) {
        id->account[0] = '\0';
        fprintf(out, "account = (unknown: %s)\n", why[0] ? why : strerror(-r));
    } else {
        fprintf(out, "account = %s\n", id->account);
    }
    return 0;
}

int cj_check_config(const struct cj_settings *s, FILE *out)
{
    struct source_identity *ids = calloc(s->n_sources ? s->n_sources : 1, sizeof(*ids));
    int result = 0;

    if (!ids)
        return -ENOMEM;
    cj_settings_dump(s, out);
    for (size_t i = 0; i < s->n_sources; i++) {
        int r = check_source(&s->sources[i], &ids[i], out);
        if (r < 0 && result == 0)
            result = r;
    }
    for (size_t i = 0; i < s->n_sources; i++)
        for (size_t j = 0; j < i && ids[i].account[0]; j++)
            if (strcmp(ids[i].account, ids[j].account) == 0 &&
                strcmp(s->sources[i].region, s->sources[j].region) == 0) {
                fprintf(stderr,
                        "sources %s and %s are the same account and region (%s, %s): each "
                        "account and region is one source\n",
                        s->sources[j].name, s->sources[i].name, ids[i].account,
                        s->sources[i].region);
                if (result == 0)
                    result = -EINVAL;
            }
    fflush(out);
    free(ids);
    return result;
}
