/* SPDX-License-Identifier: MIT */
/* The binary row header and the composite index keys. */
#include <errno.h>

#include "log.h"
#include "store-internal.h"

bool store_arn_parse(const char *arn, size_t len, const char **region, size_t *region_len,
                     const char **account)
{
    static const char head[] = "arn:";
    const char *end = arn + len, *p = arn + sizeof(head) - 1;
    if (len < sizeof(head) - 1 || memcmp(arn, head, sizeof(head) - 1) != 0)
        return false;
    /* partition and service: anything up to their colons; the job model checks them */
    for (int i = 0; i < 2; i++) {
        const char *c = memchr(p, ':', (size_t)(end - p));
        if (!c)
            return false;
        p = c + 1;
    }
    const char *c = memchr(p, ':', (size_t)(end - p));
    if (!c || !cj_valid_region_name(p, (size_t)(c - p)))
        return false;
    *region = p;
    *region_len = (size_t)(c - p);
    p = c + 1;
    if (end - p < CJ_ACCOUNT_ID_LEN + 1 || p[CJ_ACCOUNT_ID_LEN] != ':' ||
        !cj_valid_account_id(p, CJ_ACCOUNT_ID_LEN))
        return false;
    *account = p;
    return true;
}

int store_job_check(const struct cj_job *j)
{
    const char *region, *account;
    size_t region_len;
    if (!j->job_arn || j->job_arn[0] == '\0' || strlen(j->job_arn) > CJ_JOB_ARN_MAX)
        return log_warning_errno(EINVAL, "store: job without a usable jobArn");
    if (!store_arn_parse(j->job_arn, strlen(j->job_arn), &region, &region_len, &account))
        return log_warning_errno(EINVAL, "store: %s: jobArn names no region and account",
                                 j->job_arn);
    if ((unsigned)j->status >= _CJ_STATUS_MAX &&
        (j->status != CJ_STATUS_OTHER || !j->status_name || !j->status_name[0] ||
         strlen(j->status_name) > CJ_STATUS_NAME_MAX))
        return log_warning_errno(EINVAL, "store: %s: status out of range", j->job_arn);
    if (!cj_valid_account_id(j->source_account,
                             strnlen(j->source_account, sizeof(j->source_account))))
        return log_warning_errno(EINVAL, "store: %s: sourceAccountId is not 12 digits", j->job_arn);
    if (!j->source_model_arn || strlen(j->source_model_arn) > CJ_MODEL_ARN_MAX)
        return log_warning_errno(EINVAL, "store: %s: sourceModelArn missing or too long",
                                 j->job_arn);
    if (!j->json || j->json_len == 0 || j->json_len > UINT32_MAX)
        return log_warning_errno(EINVAL, "store: %s: no JSON to serve", j->job_arn);
    return 0;
}

/* Where the JSON holds the string value of a member as exactly these bytes (no escape in
 * it): the offset of its first byte, or ROW_COPIED. `head` is the member's name and the start
 * of its value, `"name":"`. The JSON is the parser's compact object (job.h), whose members
 * are flat: the first `head` in it is the member's, since a quote inside a string is
 * escaped. The search starts at `from`, past members known to come first. */
static size_t json_value_at(const char *json, size_t json_len, size_t from, const char *head,
                            size_t head_len, const char *value, size_t value_len)
{
    const char *p = memmem(json + from, json_len - from, head, head_len);
    if (!p)
        return ROW_COPIED;
    size_t at = (size_t)(p - json) + head_len;
    if (at + value_len >= json_len || at >= ROW_COPIED ||
        memcmp(json + at, value, value_len) != 0 || json[at + value_len] != '"')
        return ROW_COPIED;
    return at;
}

#define MEMBER_HEAD(name) "\"" name "\":\"", sizeof("\"" name "\":\"") - 1

int store_row_encode(const struct cj_job *j, uint8_t status, uint16_t region, struct cj_buf *b)
{
    size_t name_len = j->target_model_name ? strlen(j->target_model_name) : 0;
    bool has_name = j->target_model_name && name_len <= UINT8_MAX;
    if (!has_name)
        name_len = 0;
    size_t arn_len = strlen(j->source_model_arn);
    size_t name_at = has_name
                         ? json_value_at(j->json, j->json_len, 0, MEMBER_HEAD("targetModelName"),
                                         j->target_model_name, name_len)
                         : ROW_COPIED;
    /* The parser writes sourceModelArn after targetModelName (the service model's order): the
     * search for it starts past the name's value. In a JSON of another order it is not found
     * there, and the row carries a copy of the ARN instead. */
    size_t model_from = name_at == ROW_COPIED ? 0 : name_at + name_len + 1;
    size_t model_at = json_value_at(j->json, j->json_len, model_from, MEMBER_HEAD("sourceModelArn"),
                                    j->source_model_arn, arn_len);
    size_t copied = (name_at == ROW_COPIED ? name_len : 0) + (model_at == ROW_COPIED ? arn_len : 0);
    size_t json_off = ROW_HEADER_SIZE + copied;
    uint8_t h[ROW_HEADER_SIZE] = {0};
    int r;

    h[0] = ROW_VERSION; /* the event seq stays 0 until store_row_set_event_seq */
    h[1] = status;
    h[2] = (uint8_t)name_len;
    h[3] = has_name ? ROW_HAS_NAME : 0;
    put_le16(h + 4, (uint16_t)arn_len);
    put_le16(h + 6, (uint16_t)json_off);
    put_le64(h + 8, (uint64_t)j->creation_ns);
    put_le64(h + 16, store_model_hash(j->source_model_arn, arn_len));
    memcpy(h + 24, j->source_account, CJ_ACCOUNT_ID_LEN);
    put_le16(h + 36, region);
    put_le16(h + ROW_NAME_AT, (uint16_t)name_at);
    put_le16(h + ROW_MODEL_AT, (uint16_t)model_at);

    cj_buf_reset(b);
    r = cj_buf_reserve(b, json_off + j->json_len);
    if (r < 0)
        return r;
    cj_buf_append(b, h, sizeof(h));
    if (name_at == ROW_COPIED)
        cj_buf_append(b, j->target_model_name, name_len);
    if (model_at == ROW_COPIED)
        cj_buf_append(b, j->source_model_arn, arn_len);
    return cj_buf_append(b, j->json, j->json_len);
}

int store_row_decode(const void *data, size_t size, struct store_row *ret)
{
    const uint8_t *h = data;
    struct store_row_view v;

    if (!store_row_view(h, size, &v) || h[1] >= STORE_STATUS_CODES)
        return -EUCLEAN;
    *ret = (struct store_row){
        .status = h[1],
        .has_name = h[3] & ROW_HAS_NAME,
        .name_len = (uint8_t)v.name_len,
        .model_arn_len = (uint16_t)v.model_arn_len,
        .creation_ns = (int64_t)get_le64(h + 8),
        .model_hash = get_le64(h + 16),
        .region_code = get_le16(h + 36),
        .event_seq = h[0] == ROW_VERSION_1 ? 0 : get_le64(h + ROW_EVENT_SEQ_AT),
        .account = (const char *)h + 24,
        .name = v.name,
        .model_arn = v.model_arn,
        .json = v.json,
        .json_len = v.json_len,
    };
    return 0;
}

bool store_row_same(const void *a, size_t a_len, const void *b, size_t b_len)
{
    const uint8_t *ab = a, *bb = b;
    struct store_row x, y;
    /* Every pass compares each job it lists: rows of this version are equal when their bytes
     * are, but for the event seq. */
    if (a_len == b_len && a_len >= ROW_HEADER_SIZE && ab[0] == ROW_VERSION &&
        bb[0] == ROW_VERSION && memcmp(ab, bb, ROW_EVENT_SEQ_AT) == 0 &&
        memcmp(ab + ROW_EVENT_SEQ_AT + 8, bb + ROW_EVENT_SEQ_AT + 8,
               a_len - ROW_EVENT_SEQ_AT - 8) == 0)
        return true;
    if (store_row_decode(a, a_len, &x) < 0 || store_row_decode(b, b_len, &y) < 0)
        return false;
    return x.status == y.status && x.has_name == y.has_name && x.creation_ns == y.creation_ns &&
           x.model_hash == y.model_hash && x.region_code == y.region_code &&
           memcmp(x.account, y.account, CJ_ACCOUNT_ID_LEN) == 0 && x.name_len == y.name_len &&
           memcmp(x.name, y.name, x.name_len) == 0 && x.model_arn_len == y.model_arn_len &&
           memcmp(x.model_arn, y.model_arn, x.model_arn_len) == 0 && x.json_len == y.json_len &&
           memcmp(x.json, y.json, x.json_len) == 0;
}

size_t store_index_prefix(enum cj_index i, const struct store_prefix_of *of,
                          uint8_t out[INDEX_PREFIX_MAX])
{
    switch (i) {
    case CJ_INDEX_STATUS_TIME:
        out[0] = of->status;
        return 1;
    case CJ_INDEX_ACCOUNT_TIME:
        memcpy(out, of->account, CJ_ACCOUNT_ID_LEN);
        return CJ_ACCOUNT_ID_LEN;
    case CJ_INDEX_MODEL_TIME:
        put_be64(out, of->model_hash);
        return 8;
    case CJ_INDEX_JOB_REGION_TIME:
        out[0] = (uint8_t)(of->region_code >> 8);
        out[1] = (uint8_t)of->region_code;
        return 2;
    case CJ_INDEX_JOB_ACCOUNT_TIME:
        /* A jobArn without an account is never stored; zeros keep the key well-formed for
         * verify to report. */
        if (of->job_account)
            memcpy(out, of->job_account, CJ_ACCOUNT_ID_LEN);
        else
            memset(out, 0, CJ_ACCOUNT_ID_LEN);
        return CJ_ACCOUNT_ID_LEN;
    default:
        return 0;
    }
}

static size_t index_prefix_of_row(enum cj_index i, const struct store_row *r, const char *arn,
                                  size_t arn_len, uint8_t out[INDEX_PREFIX_MAX])
{
    struct store_prefix_of of = {.status = r->status,
                                 .account = r->account,
                                 .model_hash = r->model_hash,
                                 .region_code = r->region_code};
    if (i == CJ_INDEX_JOB_ACCOUNT_TIME) {
        const char *region;
        size_t region_len;
        if (!store_arn_parse(arn, arn_len, &region, &region_len, &of.job_account))
            of.job_account = NULL;
    }
    return store_index_prefix(i, &of, out);
}

size_t store_index_key(enum cj_index i, const struct store_row *r, const char *arn, size_t arn_len,
                       uint8_t out[INDEX_KEY_MAX])
{
    size_t n = index_prefix_of_row(i, r, arn, arn_len, out);
    put_time_key(out + n, r->creation_ns);
    return n + 8 + put_arn_key(out + n + 8, arn, arn_len);
}

size_t store_index_key_v6(enum cj_index i, const struct store_row *r, const char *arn,
                          size_t arn_len, uint8_t out[INDEX_KEY_MAX])
{
    size_t n = index_prefix_of_row(i, r, arn, arn_len, out);
    put_time_key_v6(out + n, r->creation_ns);
    return n + 8 + put_arn_key_v6(out + n + 8, arn, arn_len);
}
