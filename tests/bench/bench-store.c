/* SPDX-License-Identifier: MIT */
/* What a store's LMDB file holds, database by database: the named databases are the keys of
 * the main one, so none of their names is known here in advance. */
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

static int lmdb_errno(int rc)
{
    return rc > 0 ? -rc : rc == 0 ? 0 : -EIO;
}

int lmdb_split_read(const char *dir, struct lmdb_split *ret)
{
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_dbi main_dbi;
    MDB_stat st;
    MDB_envinfo info;
    MDB_val k, v;
    int rc;

    *ret = (struct lmdb_split){0};
    rc = mdb_env_create(&env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(env, LMDB_SPLIT_MAX_DBS + 1);
    if (rc == 0)
        rc = mdb_env_open(env, dir, MDB_RDONLY, 0);
    if (rc == 0)
        rc = mdb_env_info(env, &info);
    if (rc == 0)
        rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, NULL, 0, &main_dbi);
    if (rc == 0)
        rc = mdb_stat(txn, main_dbi, &st);
    if (rc != 0)
        goto out;
    ret->page_size = st.ms_psize;
    ret->used_pages = (uint64_t)info.me_last_pgno + 1;
    ret->main_pages = st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
    rc = mdb_cursor_open(txn, main_dbi, &cur);
    for (int op = MDB_FIRST; rc == 0; op = MDB_NEXT) {
        rc = mdb_cursor_get(cur, &k, &v, op);
        if (rc != 0)
            break;
        if (ret->n >= LMDB_SPLIT_MAX_DBS || k.mv_size >= sizeof(ret->db[0].name)) {
            fprintf(stderr, "cj-bench: %s: database '%.*s' not counted (its pages look free)\n",
                    dir, (int)(k.mv_size < 64 ? k.mv_size : 64), (const char *)k.mv_data);
            continue;
        }
        struct lmdb_db_size *d = &ret->db[ret->n];
        MDB_dbi dbi;
        memcpy(d->name, k.mv_data, k.mv_size);
        d->name[k.mv_size] = '\0';
        if (strlen(d->name) != k.mv_size || mdb_dbi_open(txn, d->name, 0, &dbi) != 0)
            continue; /* a plain key of the main database, not a database */
        if (mdb_stat(txn, dbi, &st) != 0)
            continue;
        d->pages = st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
        d->entries = st.ms_entries;
        d->depth = st.ms_depth;
        ret->n++;
    }
    if (rc == MDB_NOTFOUND)
        rc = 0;
    /* The free list is database 0: txnid -> the pages it freed, their count first. */
    if (cur)
        mdb_cursor_close(cur);
    cur = NULL;
    if (rc == 0)
        rc = mdb_stat(txn, 0, &st);
    if (rc == 0) {
        ret->free_pages = st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
        rc = mdb_cursor_open(txn, 0, &cur);
    }
    for (int op = MDB_FIRST; rc == 0; op = MDB_NEXT) {
        rc = mdb_cursor_get(cur, &k, &v, op);
        if (rc == 0 && v.mv_size >= sizeof(size_t)) {
            size_t count;
            memcpy(&count, v.mv_data, sizeof(count));
            ret->free_pages += count;
        }
    }
    if (rc == MDB_NOTFOUND)
        rc = 0;
    uint64_t named = 2 + ret->main_pages + ret->free_pages; /* pages 0 and 1: LMDB's meta */
    for (size_t i = 0; i < ret->n; i++)
        named += ret->db[i].pages;
    ret->dup_pages = ret->used_pages > named ? ret->used_pages - named : 0;
out:
    if (rc != 0)
        fprintf(stderr, "cj-bench: reading %s with LMDB: %s\n", dir, mdb_strerror(rc));
    if (cur)
        mdb_cursor_close(cur);
    if (txn)
        mdb_txn_abort(txn);
    if (env)
        mdb_env_close(env);
    return lmdb_errno(rc);
}
