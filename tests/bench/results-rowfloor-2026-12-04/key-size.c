/* SPDX-License-Identifier: MIT */
/* Builds two copies of rows_completed (same values, in order by MDB_APPEND): keys as they are
 * (time | jobArn text) and 24-byte keys (time | 16 bytes keeping the order), then times 100
 * rows 20 apart fetched by mdb_get, cold (64 MiB swept before each round) and warm (the same
 * round again), the two stores alternating round by round.
 *
 * cc -O2 -o key-size key-size.c -llmdb && mkdir -p /tmp/kx/long /tmp/kx/short &&
 * ./key-size STORE_DIR /tmp/kx */
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define ROUNDS 2000
#define ROWS   100
#define STRIDE 20
#define SWEEP  (64u << 20)
#define CHECK(x)                                                                                   \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_) {                                                                                 \
            fprintf(stderr, "%s: %s\n", #x, mdb_strerror(rc_));                                    \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)
static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}
static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}
static uint64_t rng = 88172645463325252u;
static uint64_t next(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}
static unsigned char *sweep_buf;
static volatile unsigned sink;
static void evict(void)
{
    for (size_t i = 0; i < SWEEP; i += 64)
        sweep_buf[i]++;
}
int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s STORE_DIR EMPTY_DIR (with long/ and short/ in it)\n", argv[0]);
        return 2;
    }
    MDB_env *src, *dst[2];
    MDB_txn *txn, *wt;
    MDB_dbi dbi, d[2];
    MDB_cursor *cur;
    MDB_val k, v;
    CHECK(mdb_env_create(&src));
    CHECK(mdb_env_set_maxdbs(src, 32));
    CHECK(mdb_env_set_mapsize(src, (size_t)16 << 30));
    CHECK(mdb_env_open(src, argv[1], MDB_RDONLY | MDB_NOLOCK, 0600));
    CHECK(mdb_txn_begin(src, NULL, MDB_RDONLY, &txn));
    CHECK(mdb_dbi_open(txn, "rows_completed", 0, &dbi));
    size_t n = 0;
    MDB_val *keys[2];
    keys[0] = malloc(sizeof(MDB_val) << 20);
    keys[1] = malloc(sizeof(MDB_val) << 20);
    sweep_buf = calloc(1, SWEEP);
    unsigned char *out = malloc(ROWS * 4096);
    for (int x = 0; x < 2; x++) {
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", argv[2], x ? "short" : "long");
        CHECK(mdb_env_create(&dst[x]));
        CHECK(mdb_env_set_mapsize(dst[x], (size_t)4 << 30));
        CHECK(mdb_env_open(dst[x], path, MDB_NOSYNC, 0600));
        CHECK(mdb_txn_begin(dst[x], NULL, 0, &wt));
        CHECK(mdb_dbi_open(wt, NULL, 0, &d[x]));
        CHECK(mdb_cursor_open(txn, dbi, &cur));
        n = 0;
        for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            unsigned char *kc = malloc(k.mv_size);
            size_t ks = k.mv_size;
            memcpy(kc, k.mv_data, 8);
            if (x) {
                memset(kc + 8, 0, 16);
                uint64_t c = n;
                for (int b = 0; b < 8; b++)
                    kc[23 - b] = (unsigned char)(c >> (8 * b));
                ks = 24;
            } else
                memcpy(kc, k.mv_data, ks);
            keys[x][n] = (MDB_val){ks, kc};
            MDB_val kk = keys[x][n];
            CHECK(mdb_put(wt, d[x], &kk, &v, MDB_APPEND));
            n++;
        }
        mdb_cursor_close(cur);
        CHECK(mdb_txn_commit(wt));
        MDB_stat st;
        CHECK(mdb_txn_begin(dst[x], NULL, MDB_RDONLY, &wt));
        mdb_stat(wt, d[x], &st);
        mdb_txn_abort(wt);
        printf("%s keys: %zu rows, depth %u, branch pages %zu, leaf pages %zu\n",
               x ? "24-byte" : "text", n, st.ms_depth, st.ms_branch_pages, st.ms_leaf_pages);
    }
    uint64_t *t = malloc(ROUNDS * 8), *tw = malloc(ROUNDS * 8), *t2 = malloc(ROUNDS * 8),
             *tw2 = malloc(ROUNDS * 8);
    MDB_txn *rt[2];
    for (int x = 0; x < 2; x++)
        CHECK(mdb_txn_begin(dst[x], NULL, MDB_RDONLY, &rt[x]));
    /* touch every page once, so both maps are faulted in */
    for (int x = 0; x < 2; x++)
        for (size_t i = 0; i < n; i++) {
            MDB_val kk = keys[x][i];
            CHECK(mdb_get(rt[x], d[x], &kk, &v));
            sink += ((unsigned char *)v.mv_data)[0];
        }
    for (int r = 0; r < ROUNDS; r++) {
        size_t start = next() % (n - ROWS * STRIDE);
        for (int y = 0; y < 2; y++) {
            int x = (r + y) & 1; /* alternate which goes first */
            evict();
            for (int pass = 0; pass < 2; pass++) {
                uint64_t t0 = cpu_ns();
                size_t at = 0;
                for (int i = 0; i < ROWS; i++) {
                    MDB_val kk = keys[x][start + (size_t)i * STRIDE];
                    CHECK(mdb_get(rt[x], d[x], &kk, &v));
                    memcpy(out + at, v.mv_data, v.mv_size);
                    at += v.mv_size;
                }
                uint64_t dt = cpu_ns() - t0;
                sink += out[at / 2];
                if (x == 0)
                    (pass ? tw : t)[r] = dt;
                else
                    (pass ? tw2 : t2)[r] = dt;
            }
        }
    }
    uint64_t *all[4] = {t, tw, t2, tw2};
    const char *nm[4] = {"text keys, cold", "text keys, warm", "24-byte keys, cold",
                         "24-byte keys, warm"};
    for (int i = 0; i < 4; i++) {
        qsort(all[i], ROUNDS, 8, cmp_u64);
        printf("%-20s median %7.1f us  p90 %7.1f us\n", nm[i], all[i][ROUNDS / 2] / 1e3,
               all[i][ROUNDS * 9 / 10] / 1e3);
    }
    return 0;
}
