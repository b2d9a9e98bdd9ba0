/* SPDX-License-Identifier: MIT */
/* The keys of `jobs`. A jobArn in Bedrock's own form,
 *
 *     arn:PARTITION:bedrock:REGION:ACCOUNT:model-copy-job/ID
 *
 * with a partition of jobs_key_partitions[], a region the store has a code for, a 12-digit
 * account and an ID of 12 characters [0-9a-z], is kept in JOBS_KEY_PACKED bytes:
 *
 *     0 1 + the partition's index   1 the region code (be16)   3 the account (be40)
 *     8 the ID read as a base-36 number, '0' = 0 .. 'z' = 35 (be64)
 *
 * where the jobArn itself takes ~70. Every part has a fixed width and keeps the order of the
 * text it stands for, so the keys of one region sort as their jobArns do. 36^12 < 2^63 and
 * 10^12 < 2^40, so every such ID and account fits and every 16 bytes decode to at most one
 * jobArn. Any other jobArn is its own key: it begins with "arn:" (store_job_check), whose
 * first byte is no tag, so a key's first byte tells the two apart. */
#include <errno.h>

#include "store-internal.h"

/* A partition's index is in the key: entries are only ever appended. */
static const char *const jobs_key_partitions[] = {
    "aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc",
};
#define PARTITIONS (sizeof(jobs_key_partitions) / sizeof(jobs_key_partitions[0]))
_Static_assert(PARTITIONS < JOBS_KEY_FIRST_RAW, "a tag would meet a jobArn's first byte");
#define SERVICE       ":bedrock:"
#define RESOURCE      ":model-copy-job/"
#define ID_LEN        12
#define ACCOUNT_LIMIT UINT64_C(1000000000000)       /* 10^12 */
#define ID_LIMIT      UINT64_C(4738381338321616896) /* 36^12 */

static int digit36(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    return -1;
}

static bool has(const char **p, const char *end, const char *text, size_t len)
{
    if ((size_t)(end - *p) < len || memcmp(*p, text, len) != 0)
        return false;
    *p += len;
    return true;
}

/* The packed key of arn, whose region is `region`'s; false when it has not the form. */
static bool jobs_key_pack(const char *arn, size_t len, uint16_t region,
                          uint8_t out[JOBS_KEY_PACKED])
{
    const char *p = arn, *end = arn + len;
    if (!has(&p, end, "arn:", 4))
        return false;
    const char *colon = memchr(p, ':', (size_t)(end - p));
    if (!colon)
        return false;
    size_t tag = 0;
    while (tag < PARTITIONS && !(strlen(jobs_key_partitions[tag]) == (size_t)(colon - p) &&
                                 memcmp(jobs_key_partitions[tag], p, (size_t)(colon - p)) == 0))
        tag++;
    p = colon;
    if (tag == PARTITIONS || !has(&p, end, SERVICE, sizeof(SERVICE) - 1) ||
        !(colon = memchr(p, ':', (size_t)(end - p))))
        return false;
    p = colon + 1; /* the region: the caller's code stands for it */
    if ((size_t)(end - p) != CJ_ACCOUNT_ID_LEN + sizeof(RESOURCE) - 1 + ID_LEN)
        return false;
    uint64_t account = 0, id = 0;
    for (size_t i = 0; i < CJ_ACCOUNT_ID_LEN; i++, p++) {
        if (*p < '0' || *p > '9')
            return false;
        account = account * 10 + (uint64_t)(*p - '0');
    }
    if (!has(&p, end, RESOURCE, sizeof(RESOURCE) - 1))
        return false;
    for (size_t i = 0; i < ID_LEN; i++, p++) {
        int d = digit36(*p);
        if (d < 0)
            return false;
        id = id * 36 + (uint64_t)d;
    }
    out[0] = (uint8_t)(1 + tag);
    out[1] = (uint8_t)(region >> 8);
    out[2] = (uint8_t)region;
    for (int i = 0; i < 5; i++)
        out[3 + i] = (uint8_t)(account >> (8 * (4 - i)));
    put_be64(out + 8, id);
    return true;
}

void store_jobs_key(const char *arn, size_t len, uint16_t region, uint8_t buf[JOBS_KEY_PACKED],
                    MDB_val *key)
{
    if (jobs_key_pack(arn, len, region, buf))
        *key = (MDB_val){.mv_size = JOBS_KEY_PACKED, .mv_data = buf};
    else
        *key = (MDB_val){.mv_size = len, .mv_data = (void *)arn};
}

int store_jobs_key_find(struct cj_store *s, MDB_txn *txn, const char *arn, size_t len,
                        uint8_t buf[JOBS_KEY_PACKED], MDB_val *key)
{
    const char *region, *account;
    size_t region_len;
    uint16_t code;
    if (!store_arn_parse(arn, len, &region, &region_len, &account))
        return -ENOENT; /* store_job_check refuses it: never stored */
    int r = store_names_code(s, txn, META_REGION_NAMES, region, region_len, false, 0, &code);
    if (r < 0)
        return r; /* -ENOENT: no job of that region is stored */
    store_jobs_key(arn, len, code, buf, key);
    return 0;
}

bool store_jobs_key_packed(const MDB_val *key)
{
    return key->mv_size == JOBS_KEY_PACKED && ((const uint8_t *)key->mv_data)[0] >= 1 &&
           ((const uint8_t *)key->mv_data)[0] <= PARTITIONS;
}

uint16_t store_jobs_key_region(const MDB_val *key)
{
    const uint8_t *k = key->mv_data;
    return (uint16_t)(k[1] << 8 | k[2]);
}

int store_jobs_key_unpack(const MDB_val *key, const char *region, size_t region_len,
                          char buf[CJ_JOB_ARN_MAX], MDB_val *arn)
{
    if (!store_jobs_key_packed(key))
        return -EUCLEAN;
    const uint8_t *k = key->mv_data;
    uint64_t account = 0, id = get_be64(k + 8);
    for (int i = 0; i < 5; i++)
        account = account << 8 | k[3 + i];
    if (account >= ACCOUNT_LIMIT || id >= ID_LIMIT || !cj_valid_region_name(region, region_len))
        return -EUCLEAN;

    const char *partition = jobs_key_partitions[k[0] - 1];
    size_t plen = strlen(partition);
    char *p = buf;
    memcpy(p, "arn:", 4), p += 4;
    memcpy(p, partition, plen), p += plen;
    memcpy(p, SERVICE, sizeof(SERVICE) - 1), p += sizeof(SERVICE) - 1;
    memcpy(p, region, region_len), p += region_len;
    *p++ = ':';
    for (int i = CJ_ACCOUNT_ID_LEN - 1; i >= 0; i--, account /= 10)
        p[i] = (char)('0' + account % 10);
    p += CJ_ACCOUNT_ID_LEN;
    memcpy(p, RESOURCE, sizeof(RESOURCE) - 1), p += sizeof(RESOURCE) - 1;
    for (int i = ID_LEN - 1; i >= 0; i--, id /= 36)
        p[i] = "0123456789abcdefghijklmnopqrstuvwxyz"[id % 36];
    p += ID_LEN;
    *arn = (MDB_val){.mv_size = (size_t)(p - buf), .mv_data = buf};
    return 0;
}

int store_jobs_key_arn(struct cj_store *s, MDB_txn *txn, const MDB_val *key,
                       struct store_region_name *cache, char buf[CJ_JOB_ARN_MAX], MDB_val *arn)
{
    if (!store_jobs_key_packed(key)) {
        if (key->mv_size < 4 || key->mv_size > CJ_JOB_ARN_MAX ||
            memcmp(key->mv_data, "arn:", 4) != 0)
            return -EUCLEAN;
        *arn = *key;
        return 0;
    }
    uint16_t code = store_jobs_key_region(key);
    if (!cache->valid || cache->code != code) {
        const char *name;
        size_t len;
        cache->valid = false;
        int r = store_names_name(s, txn, META_REGION_NAMES, code, &name, &len);
        if (r == -ENOENT || (r >= 0 && (len == 0 || len > sizeof(cache->name))))
            return -EUCLEAN;
        if (r < 0)
            return r;
        /* Copied: the caller may write to meta before the next key. */
        memcpy(cache->name, name, len);
        cache->len = (uint8_t)len;
        cache->code = code;
        cache->valid = true;
    }
    return store_jobs_key_unpack(key, cache->name, cache->len, buf, arn);
}
