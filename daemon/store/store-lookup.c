/* SPDX-License-Identifier: MIT */
/* Finding a job's row by jobArn: `jobs` gives its creation time, which with the jobArn is
 * the row's key in the time index. */
#include <errno.h>

#include "store-internal.h"

int store_row_key(const MDB_val *jobs_value, const void *arn, size_t arn_len,
                  uint8_t out[INDEX_KEY_MAX], size_t *len)
{
    if (jobs_value->mv_size != TIME_KEY_SIZE || arn_len == 0 || arn_len > CJ_JOB_ARN_MAX)
        return -EUCLEAN;
    memcpy(out, jobs_value->mv_data, TIME_KEY_SIZE);
    *len = TIME_KEY_SIZE + put_arn_key(out + TIME_KEY_SIZE, arn, arn_len);
    return 0;
}

int store_row_get(struct cj_store *s, MDB_txn *txn, const void *arn, size_t arn_len, MDB_val *row)
{
    uint8_t key[INDEX_KEY_MAX];
    MDB_val k = {.mv_size = arn_len, .mv_data = (void *)arn}, t;

    int rc = mdb_get(txn, s->dbi_jobs, &k, &t);
    if (rc != MDB_SUCCESS)
        return store_errno(rc);
    int r = store_row_key(&t, arn, arn_len, key, &k.mv_size);
    if (r < 0)
        return r;
    k.mv_data = key;
    rc = mdb_get(txn, s->dbi_index[CJ_INDEX_TIME], &k, row);
    /* A job without its row is damage, not absence: verify reports it. */
    return rc == MDB_NOTFOUND ? -EUCLEAN : store_errno(rc);
}
