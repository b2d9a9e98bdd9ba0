/* SPDX-License-Identifier: MIT */
/* Status codes for the statuses the service model does not name: a status Bedrock starts
 * sending is stored, indexed and counted under a code of its own, registered in meta the
 * first time a job carries it. The known statuses keep the codes they always had. */
#include <errno.h>

#include "store-internal.h"

/* Calls back with each registered name and its code; stops at the first nonzero return. */
static int names_walk(const MDB_val *v,
                      int (*fn)(const char *name, size_t len, uint8_t code, void *userdata),
                      void *userdata)
{
    const char *p = v->mv_data, *end = p + v->mv_size;
    unsigned code = _CJ_STATUS_MAX;
    while (p < end) {
        const char *nul = memchr(p, '\0', (size_t)(end - p));
        if (!nul || code >= STORE_STATUS_CODES)
            return -EUCLEAN;
        int r = fn(p, (size_t)(nul - p), (uint8_t)code, userdata);
        if (r != 0)
            return r;
        p = nul + 1;
        code++;
    }
    return 0;
}

struct find {
    const char *name;
    size_t len;
    uint8_t code;
    const char *found;
    size_t found_len;
    unsigned count;
};

static int by_name(const char *name, size_t len, uint8_t code, void *userdata)
{
    struct find *f = userdata;
    f->count++;
    if (len != f->len || memcmp(name, f->name, len) != 0)
        return 0;
    f->code = code;
    return 1;
}

static int by_code(const char *name, size_t len, uint8_t code, void *userdata)
{
    struct find *f = userdata;
    if (code != f->code)
        return 0;
    f->found = name;
    f->found_len = len;
    return 1;
}

static int names_get(struct cj_store *s, MDB_txn *txn, MDB_val *v)
{
    int r = store_meta_get(s, txn, META_STATUS_NAMES, v);
    if (r == -ENOENT) {
        *v = (MDB_val){0};
        return 0;
    }
    return r;
}

int store_status_code(struct cj_store *s, MDB_txn *txn, const struct cj_job *j, bool create,
                      uint8_t *ret)
{
    if ((unsigned)j->status < _CJ_STATUS_MAX) {
        *ret = (uint8_t)j->status;
        return 0;
    }
    if (j->status != CJ_STATUS_OTHER || !j->status_name)
        return -EINVAL;

    MDB_val v;
    int r = names_get(s, txn, &v);
    if (r < 0)
        return r;
    struct find f = {.name = j->status_name, .len = strlen(j->status_name)};
    r = names_walk(&v, by_name, &f);
    if (r < 0)
        return r;
    if (r > 0) {
        *ret = f.code;
        return 0;
    }
    if (!create)
        return -ENOENT;
    if (_CJ_STATUS_MAX + f.count >= STORE_STATUS_CODES)
        return -ERANGE;

    /* The value lies in the map, which the put may move: copied out first. */
    _cleanup_buf_ struct cj_buf b = {};
    r = cj_buf_reserve(&b, v.mv_size + f.len + 1);
    if (r >= 0)
        r = cj_buf_append(&b, v.mv_data, v.mv_size);
    if (r >= 0)
        r = cj_buf_append(&b, f.name, f.len + 1);
    if (r >= 0)
        r = store_meta_put(s, txn, META_STATUS_NAMES, b.data, b.len);
    if (r < 0)
        return r;
    *ret = (uint8_t)(_CJ_STATUS_MAX + f.count);
    return 0;
}

int store_status_name(struct cj_store *s, MDB_txn *txn, uint8_t code, const char **name,
                      size_t *len)
{
    if (code < _CJ_STATUS_MAX) {
        *name = cj_status_to_string((enum cj_status)code);
        *len = strlen(*name);
        return 0;
    }
    MDB_val v;
    int r = names_get(s, txn, &v);
    if (r < 0)
        return r;
    struct find f = {.code = code};
    r = names_walk(&v, by_code, &f);
    if (r < 0)
        return r;
    if (r == 0)
        return -ENOENT;
    *name = f.found;
    *len = f.found_len;
    return 0;
}
