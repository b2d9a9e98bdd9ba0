/* SPDX-License-Identifier: MIT */
/* copyjobd's benchmark against a SQLite cache: the shared pieces. Not a test: it measures. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "cj-buf.h"
#include "job.h"

/* ---- the synthetic data set (bench-gen.c) ---- */

#define GEN_ACCOUNTS    20
#define GEN_MODELS      60
#define GEN_JOB_REGIONS 4
extern const char *const gen_job_regions[GEN_JOB_REGIONS];

struct gen {
    uint64_t rng;
    int64_t epoch_ns; /* newest possible creationTime */
    size_t made;
    char accounts[GEN_ACCOUNTS][13];
    char model_arns[GEN_MODELS][160];
    char model_names[GEN_MODELS][64];
    int model_account[GEN_MODELS];
    int model_fm[GEN_MODELS];
    char kms_keys[4][120];
    char region_account[13];
    /* creationTime strings of earlier jobs, for ties (a ring of recent ones is enough) */
    char tie_times[4096][40];
    size_t n_tie_times;
};

void gen_init(struct gen *g, uint64_t seed);
/* Makes the next n jobs as one ListModelCopyJobs page body and parses it with the job module's
 * own parser, so the stored bytes are exactly what a sync would store. */
int gen_page(struct gen *g, size_t n, struct cj_page *ret);

uint64_t gen_next(uint64_t *state); /* splitmix64 */

/* ---- sources (bench-sources.c) ---- */

/* A direct load tags each job with one of n sources (1..GEN_SOURCES_MAX), each a region of
 * its own; 1 is the single source a one-region daemon has. */
#define GEN_SOURCES_MAX 20
const char *gen_source_name(unsigned i); /* NULL past GEN_SOURCES_MAX */
/* The source (0..n-1) a job belongs to, from a hash of its jobArn. */
unsigned gen_source_of(const char *job_arn, unsigned n);
/* Writes the config sections that make the daemon's sources exactly those n, syncing from
 * endpoint: [aws] region for one, a [source.NAME] section each for more. -EINVAL for n out
 * of range. */
int gen_write_sources(FILE *f, unsigned n, const char *endpoint);

/* ---- the store's file, database by database (bench-store.c) ---- */

#define LMDB_SPLIT_MAX_DBS 32
struct lmdb_db_size {
    char name[64];
    uint64_t pages; /* branch + leaf + overflow */
    uint64_t entries;
    unsigned depth;
};
struct lmdb_split {
    size_t n;
    struct lmdb_db_size db[LMDB_SPLIT_MAX_DBS]; /* the named databases, in name order */
    uint64_t page_size;
    uint64_t main_pages; /* the main database, which names the others */
    uint64_t used_pages; /* the file's pages in use or free: me_last_pgno + 1 */
    uint64_t free_pages; /* free, and the free list's own */
    /* The rest: the sub-databases of sorted duplicates (MDB_DUPSORT), which mdb_stat leaves
     * out of their database's count. */
    uint64_t dup_pages;
};
/* Opens the LMDB environment in dir read-only (a running daemon may keep it) and reads every
 * named database's page counts from one read transaction. 0 or a negative errno. */
int lmdb_split_read(const char *dir, struct lmdb_split *ret);

/* ---- time (bench-util.c) ---- */
int64_t now_ns(void);
int64_t thread_cpu_ns(void); /* this thread's CPU, CLOCK_THREAD_CPUTIME_ID */

/* ---- latency samples ---- */
struct samples {
    double *v; /* microseconds */
    size_t n, cap;
};
void samples_add(struct samples *s, double us);
double samples_pct(struct samples *s, double p); /* sorts in place; p in 0..100 */
void samples_free(struct samples *s);

/* ---- SQLite, in process (bench-sqlite.c) ---- */
struct sq;
int sq_open(const char *path, struct sq **ret);
int sq_put_page(struct sq *q, const struct cj_job *jobs, size_t n); /* one transaction */
void sq_close(struct sq *q);

enum bq_kind {
    BQ_NEWEST,
    BQ_FAILED_30D,
    BQ_ACCOUNT_MONTH,
    BQ_MODEL,
    BQ_NAME_CONTAINS,
    BQ_WALK_FAILED,
    BQ_GET,
    /* The other filter combinations and the time-range/order variants, answered on
     * the SQLite side by SQL built from the fields that are set (sq_query). */
    BQ_TIME_WINDOW,
    BQ_OLDEST,
    BQ_STATUS_ACCOUNT,
    BQ_STATUS_MODEL,
    BQ_ACCOUNT_MODEL,
    BQ_ALL_FILTERS_ASC,
    /* jobRegionEquals: alone, and with a status in a window. */
    BQ_REGION,
    BQ_REGION_FAILED_30D,
    _BQ_MAX,
};

/* One query's parameters, shared by both sides. */
struct bq {
    enum bq_kind kind;
    bool has_status;
    enum cj_status status;
    bool ascending; /* sortOrder=Ascending: oldest first */
    const char *account;
    const char *model_arn;
    const char *name_contains;
    const char *region;          /* jobRegionEquals */
    int64_t after_ns, before_ns; /* 0 = none */
    unsigned max_results;
    const char *arn; /* BQ_GET */
};

/* Appends the response body (same envelope and row bytes as copyjobd) to out. For the walk,
 * follows its own keyset cursor to the end; *pages counts the pages. Returns rows or <0. */
long sq_query(struct sq *q, const struct bq *b, struct cj_buf *out, unsigned *pages);

/* ---- the HTTP client over the Unix socket (bench-client.c) ---- */
struct hc {
    int fd;
    char *buf;
    size_t cap;
    size_t len; /* bytes buffered */
    size_t body_off, body_len;
    int status;
};
int hc_connect(struct hc *c, const char *socket_path);
/* One GET on the kept-alive connection; the body is c->buf + c->body_off. Returns the status. */
int hc_get(struct hc *c, const char *path);
/* The same with another method (a POST has an empty body). */
int hc_request(struct hc *c, const char *method, const char *path);
void hc_close(struct hc *c);
/* Builds the request path of a query; for the walk, the first page (no token). */
void bq_path(const struct bq *b, const char *next_token, struct cj_buf *out);
/* Follows nextToken to the end; returns the rows (counted only when count) or <0. */
long hc_walk(struct hc *c, const struct bq *b, unsigned *pages, struct cj_buf *path, bool count);
/* Finds "nextToken":"..." in a body; copies it (unescaped JSON string) to out. */
bool body_next_token(const char *body, size_t len, char *out, size_t outlen);
long body_count_rows(const char *body, size_t len);

/* ---- the daemon as a child (bench-daemon.c) ---- */
struct daemon_proc {
    pid_t pid;
    char dir[256];
    char socket[300];
    char config[300];
    char notify[300];
    int notify_fd;
    double ready_ms;    /* from fork to READY=1 */
    double ready_cpu_s; /* its CPU at READY=1, before its loop runs: the start */
};
struct mem {
    long rss_kb, anon_kb;
};
/* The Environment= lines of the systemd unit at unit_path, given from then on to every
 * copyjobd the bench starts: -EINVAL for a line that is not one unquoted KEY=VALUE. */
int daemon_environment_load(const char *unit_path);
/* Those lines' KEY=VALUE, n of them. */
const char *const *daemon_environment(size_t *n);
/* A daemon config with the sources of gen_write_sources. */
int write_config(const char *path, const char *store_dir, const char *socket, const char *endpoint,
                 unsigned sources);
/* A daemon that serves the store in store_dir and whose `sources` sources sync from an
 * endpoint that refuses connections: each source's first pass fails at once, retrying
 * without delay, and the next is a week away. */
int daemon_start(const char *copyjobd, const char *store_dir, const char *workdir, unsigned sources,
                 struct daemon_proc *d);
/* One source syncing from endpoint (a URL) instead, retrying as the daemon does. */
int daemon_start_endpoint(const char *copyjobd, const char *store_dir, const char *workdir,
                          const char *endpoint, struct daemon_proc *d);
int daemon_stop(struct daemon_proc *d);
int read_mem(pid_t pid, struct mem *m);
/* A process's user + system CPU in seconds, all its threads (/proc/PID/stat, clock ticks). */
int proc_stat_cpu_s(pid_t pid, double *ret);
/* Runs `copyjobd --once` against the fake endpoint with n jobs: wall seconds, CPU seconds
 * (user + system) and of them the system (kernel) seconds. */
/* The fake endpoint serving n jobs (seed 7): its pid, and its URL in url. */
pid_t fake_start(const char *node, const char *fake, size_t n, const char *workdir, char *url,
                 size_t url_len);
void fake_stop(pid_t pid);
int ingest_run(const char *copyjobd, const char *node, const char *fake, size_t n,
               const char *workdir, double *wall_s, double *cpu_s, double *sys_s, size_t *stored);

/* The memory of a daemon that has synced n jobs from the fake endpoint into an empty store:
 * RSS and anonymous RSS 300 ms after its first pass succeeded (/v1/health answers 200); then
 * a second full pass over the same jobs. */
struct sync_mem {
    size_t jobs, stored;
    double wall_s;      /* from READY=1 to the health check that saw the pass done */
    double cpu_s;       /* the daemon's CPU from start to then */
    double start_cpu_s; /* of it, the CPU at READY=1 (daemon_proc.ready_cpu_s) */
    /* The fake endpoint's CPU over the same span (its dataset is built before), -1 unknown:
     * the pass's other half, which the daemon waits for. */
    double fake_cpu_s;
    struct mem mem;
    /* Then the full pass a running daemon repeats (POST /v1/sync?full=true&wait=true): every
     * job listed again, none changed. Its wall time, the daemon's and the fake's CPU over it,
     * and the jobs it created or updated (0 unless the fake's jobs changed). */
    double resync_wall_s, resync_cpu_s, resync_fake_cpu_s;
    size_t resync_changed;
    struct lmdb_split store; /* the store once the daemon has stopped */
};
int sync_memory_run(const char *copyjobd, const char *node, const char *fake, size_t n,
                    const char *workdir, bool keep, struct sync_mem *res);

/* ---- a server's CPU per answer, and the floor (bench-cpu.c) ---- */

/* The pid at the other end of a connected Unix socket (SO_PEERCRED), or <0. */
pid_t peer_pid(int fd);

#define PROC_CPU_MAX_THREADS 16
/* A process's CPU clock from /proc/PID/task/TID/schedstat, the files kept open. */
struct proc_cpu {
    pid_t pid;
    int fd[PROC_CPU_MAX_THREADS];
    int n;
    int stat_fd; /* /proc/PID/stat, to wait until the process sleeps */
};
/* Opens the files of the threads the process has now. */
int proc_cpu_open(pid_t pid, struct proc_cpu *p);
/* Nanoseconds on CPU, summed over the threads; first waits (bounded) until the main thread
 * sleeps, so that the figure includes its latest run. */
int64_t proc_cpu_ns(const struct proc_cpu *p);
void proc_cpu_close(struct proc_cpu *p);
/* The process's minor page faults so far (/proc/PID/stat), or <0. */
int64_t proc_minflt(const struct proc_cpu *p);

/* The floor: a child process that answers each request on its Unix socket with the bytes in
 * shared memory, which the client sets to copyjobd's answer before asking. One connection at
 * a time. */
#define REPLAY_MAX ((size_t)8 << 20)
struct replay_shm {
    volatile size_t len;
    char bytes[REPLAY_MAX];
};
struct replay {
    pid_t pid;
    char socket[300];
    struct replay_shm *shm;
};
/* Forks the child, listening on WORKDIR/replay.sock; call it while this process is small. */
int replay_start(const char *workdir, struct replay *rp);
/* The answer to the next request: the whole response (status line, headers, body). */
int replay_set(struct replay *rp, const char *bytes, size_t len);
void replay_stop(struct replay *rp);
