/* SPDX-License-Identifier: MIT */
/* Which account a set of credentials belongs to, asked of STS once per access key id: a
 * source learns its account at each credential refresh, and temporary keys change with every
 * refresh while long-term ones never do, so a small cache keyed by the key id is exact. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "credentials-sts.h"
#include "credentials.h"

#define ACCOUNT_CACHE_SIZE 64
#define KEY_ID_MAX         128

static struct {
    char key_id[KEY_ID_MAX + 1];
    char account[CJ_ACCOUNT_ID_STR_LEN + 1];
} cache[ACCOUNT_CACHE_SIZE];
static size_t cache_next; /* the slot to overwrite next: the oldest */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static bool cache_get(const char *key_id, char *account)
{
    bool hit = false;
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < ACCOUNT_CACHE_SIZE && !hit; i++)
        if (cache[i].key_id[0] && strcmp(cache[i].key_id, key_id) == 0) {
            memcpy(account, cache[i].account, CJ_ACCOUNT_ID_STR_LEN + 1);
            hit = true;
        }
    pthread_mutex_unlock(&cache_lock);
    return hit;
}

static void cache_put(const char *key_id, const char *account)
{
    pthread_mutex_lock(&cache_lock);
    snprintf(cache[cache_next].key_id, sizeof(cache[cache_next].key_id), "%s", key_id);
    memcpy(cache[cache_next].account, account, CJ_ACCOUNT_ID_STR_LEN + 1);
    cache_next = (cache_next + 1) % ACCOUNT_CACHE_SIZE;
    pthread_mutex_unlock(&cache_lock);
}

int cj_credentials_account(const struct cj_aws_credentials *c, const char *region,
                           char account[static CJ_ACCOUNT_ID_STR_LEN + 1], char *err, size_t errlen)
{
    if (!c || !c->access_key_id || !c->secret_access_key || !region) {
        snprintf(err, errlen, "no credentials to ask STS with");
        return -ENOKEY;
    }
    if (strlen(c->access_key_id) > KEY_ID_MAX) {
        snprintf(err, errlen, "the access key id is too long");
        return -EINVAL;
    }
    if (cache_get(c->access_key_id, account))
        return 0;
    int r = aws_sts_get_caller_account(c, region, account, err, errlen);
    if (r < 0)
        return r;
    cache_put(c->access_key_id, account);
    return 0;
}
