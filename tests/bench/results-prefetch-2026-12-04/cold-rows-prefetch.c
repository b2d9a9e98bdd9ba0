/* SPDX-License-Identifier: MIT */
/* results-rowfloor-2026-12-04/cold-rows.c with the rows' bytes asked for ahead of their copy:
 * what fetching a page's 100 rows costs when the caches are cold, in a real store of
 * 1,000,000 jobs synced by copyjobd (schema 10), without the daemon, the socket or HTTP.
 * Modes here: in place and fetched as there; "pipelined prefetch": the cursor moves to row
 * i + 1 and asks for its bytes (__builtin_prefetch of each 64-byte line) before row i is
 * copied; "two phases": every row found first, each one's bytes asked for as it is found,
 * then all copied (what cj_store_list does since this measurement). The original's notes:
 *
 *   in place  100 consecutive rows of rows_completed by cursor (a newest page's reads);
 *   fetched   100 rows 20 apart, each found by mdb_get from its key (a secondary index page:
 *             one account of 20, its rows spread through the time order);
 *   touched   the same rows' bytes only, their addresses found beforehand (what any layout
 *             that keeps a page's rows apart must still read: the floor under "fetched");
 *   one run   the same bytes from one contiguous buffer of their own (a layout that stored
 *             every page's rows one after the other: the floor under any layout).
 *
 * Each round copies the rows into one buffer, as the daemon assembles an answer. "cold": new
 * rows, and a 64 MiB buffer (twice the L3) written before the round, as SQLite's queries and
 * the other answers do between two of the benchmark's answers; "warm": the same round again
 * at once.
 * CPU time of the thread per round (CLOCK_THREAD_CPUTIME_ID), ROUNDS rounds from random
 * starts; medians and 90th percentiles.
 *
 * cc -O2 -o cold-rows-prefetch cold-rows-prefetch.c -llmdb && ./cold-rows-prefetch STORE_DIR */
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

static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
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
    sink += sweep_buf[rng % SWEEP];
}

static void report(const char *name, uint64_t *ns)
{
    qsort(ns, ROUNDS, sizeof(*ns), cmp_u64);
    printf("%-22s median %7.1f us (%5.2f us/row)  p90 %7.1f us\n", name, ns[ROUNDS / 2] / 1e3,
           ns[ROUNDS / 2] / 1e3 / ROWS, ns[ROUNDS * 9 / 10] / 1e3);
}

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_) {                                                                                 \
            fprintf(stderr, "%s: %s\n", #x, mdb_strerror(rc_));                                    \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s STORE_DIR\n", argv[0]);
        return 2;
    }
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur;
    MDB_val k, v;
    CHECK(mdb_env_create(&env));
    CHECK(mdb_env_set_maxdbs(env, 32));
    CHECK(mdb_env_set_mapsize(env, (size_t)16 << 30));
    CHECK(mdb_env_open(env, argv[1], MDB_RDONLY | MDB_NOLOCK, 0600));
    CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn));
    CHECK(mdb_dbi_open(txn, "rows_completed", 0, &dbi));
    CHECK(mdb_cursor_open(txn, dbi, &cur));

    /* Every key (copied: they are the lookups' input) and value address; this read also
     * maps every page of the database, as a daemon that has served for a while has. */
    size_t n = 0, cap = 1u << 20;
    MDB_val *keys = malloc(cap * sizeof(*keys)), *vals = malloc(cap * sizeof(*vals));
    unsigned char *out = malloc((size_t)ROWS * 4096);
    sweep_buf = calloc(1, SWEEP);
    uint64_t *t = malloc(ROUNDS * sizeof(*t));
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (n == cap) {
            cap *= 2;
            keys = realloc(keys, cap * sizeof(*keys));
            vals = realloc(vals, cap * sizeof(*vals));
        }
        void *kc = malloc(k.mv_size);
        memcpy(kc, k.mv_data, k.mv_size);
        keys[n] = (MDB_val){k.mv_size, kc};
        vals[n++] = v;
        sink += ((unsigned char *)v.mv_data)[0];
    }
    printf("rows_completed: %zu rows\n", n);

    /* Each round: new rows from a random start, the caches swept, the round timed (cold);
     * then the same round again at once (warm: only the instructions and the L1/L2). */
    uint64_t *tw = malloc(ROUNDS * sizeof(*tw));
    static MDB_val got[ROWS];
    static const int modes[] = {0, 4, 5, 1, 6};
    for (int mi = 0; mi < 5; mi++) {
        int mode = modes[mi];
        static const char *const names[] = {"in place",
                                            "fetched",
                                            "",
                                            "",
                                            "in place, pipelined prefetch",
                                            "in place, two phases",
                                            "fetched, two phases"};
        for (int r = 0; r < ROUNDS; r++) {
            size_t start = next() % (n - ROWS * STRIDE);
            evict();
            for (int pass = 0; pass < 2; pass++) {
                uint64_t t0 = cpu_ns();
                size_t at = 0;
                if (mode == 0 || mode == 1) {
                    for (int i = 0; i < ROWS; i++) {
                        if (mode == 0) {
                            k = keys[start];
                            CHECK(mdb_cursor_get(cur, &k, &v, i == 0 ? MDB_SET_KEY : MDB_NEXT));
                        } else {
                            k = keys[start + (size_t)i * STRIDE];
                            CHECK(mdb_get(txn, dbi, &k, &v));
                        }
                        memcpy(out + at, v.mv_data, v.mv_size);
                        at += v.mv_size;
                    }
                } else if (mode == 4) {
                    MDB_val cv;
                    k = keys[start];
                    CHECK(mdb_cursor_get(cur, &k, &cv, MDB_SET_KEY));
                    for (int i = 0; i < ROWS; i++) {
                        MDB_val nv = {0};
                        if (i + 1 < ROWS) {
                            CHECK(mdb_cursor_get(cur, &k, &nv, MDB_NEXT));
                            for (size_t o = 0; o < nv.mv_size; o += 64)
                                __builtin_prefetch((char *)nv.mv_data + o);
                        }
                        memcpy(out + at, cv.mv_data, cv.mv_size);
                        at += cv.mv_size;
                        cv = nv;
                    }
                } else {
                    for (int i = 0; i < ROWS; i++) {
                        if (mode == 5) {
                            k = keys[start];
                            CHECK(
                                mdb_cursor_get(cur, &k, &got[i], i == 0 ? MDB_SET_KEY : MDB_NEXT));
                        } else {
                            k = keys[start + (size_t)i * STRIDE];
                            CHECK(mdb_get(txn, dbi, &k, &got[i]));
                        }
                        for (size_t o = 0; o < got[i].mv_size; o += 64)
                            __builtin_prefetch((char *)got[i].mv_data + o);
                    }
                    for (int i = 0; i < ROWS; i++) {
                        memcpy(out + at, got[i].mv_data, got[i].mv_size);
                        at += got[i].mv_size;
                    }
                }
                (pass == 0 ? t : tw)[r] = cpu_ns() - t0;
                sink += out[at / 2];
            }
        }
        char name[64];
        snprintf(name, sizeof(name), "%s, cold", names[mode]);
        report(name, t);
        snprintf(name, sizeof(name), "%s, warm", names[mode]);
        report(name, tw);
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return 0;
}
