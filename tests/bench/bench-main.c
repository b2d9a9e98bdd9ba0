/* SPDX-License-Identifier: MIT */
/* cj-bench: copyjobd end to end over its Unix socket against an in-process SQLite cache with
 * the same indexes, on the same synthetic jobs, in one run. Prints a table, writes JSON.
 * Not a test: it asserts nothing about speed. --smoke runs the whole pipeline small. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "store.h"

#define DAY_NS      (INT64_C(86400) * 1000000000)
#define VARIANTS    16
#define PAGE        1000
#define MAX_SAMPLES 1024

static const char *const kind_names[_BQ_MAX] = {
    [BQ_NEWEST] = "newest_100",
    [BQ_FAILED_30D] = "failed_30d_100",
    [BQ_ACCOUNT_MONTH] = "account_month_100",
    [BQ_MODEL] = "source_model_100",
    [BQ_NAME_CONTAINS] = "name_contains_100",
    [BQ_WALK_FAILED] = "walk_failed_1000",
    [BQ_GET] = "get_by_arn",
    [BQ_TIME_WINDOW] = "time_window_100",
    [BQ_OLDEST] = "oldest_100",
    [BQ_STATUS_ACCOUNT] = "status_account_100",
    [BQ_STATUS_MODEL] = "status_model_100",
    [BQ_ACCOUNT_MODEL] = "account_model_100",
    [BQ_ALL_FILTERS_ASC] = "all_filters_asc_100",
    [BQ_REGION] = "region_100",
    [BQ_REGION_FAILED_30D] = "region_failed_30d_100",
};
/* Indexed: answered by a range scan of one index (the contains filter scans rows). */
static const bool kind_indexed[_BQ_MAX] = {
    [BQ_NEWEST] = true,
    [BQ_FAILED_30D] = true,
    [BQ_ACCOUNT_MONTH] = true,
    [BQ_MODEL] = true,
    [BQ_NAME_CONTAINS] = false,
    [BQ_WALK_FAILED] = true,
    [BQ_GET] = true,
    [BQ_TIME_WINDOW] = true,
    [BQ_OLDEST] = true,
    [BQ_STATUS_ACCOUNT] = true,
    [BQ_STATUS_MODEL] = true,
    [BQ_ACCOUNT_MODEL] = true,
    [BQ_ALL_FILTERS_ASC] = true,
    [BQ_REGION] = true,
    [BQ_REGION_FAILED_30D] = true,
};

struct opts {
    size_t sizes[4];
    size_t n_sizes;
    size_t sync_sizes[4]; /* memory after a sync of this many jobs; none when n_sync_sizes is 0 */
    size_t n_sync_sizes;
    unsigned cpu_batch; /* answers per round of the CPU figures */
    int pin_cpu;        /* the CPU of client, daemon and floor while measuring; -1: no pinning */
    struct replay *replay;
    const char *copyjobd, *node, *fake, *json_path, *workdir;
    const char *unit; /* whose Environment= every copyjobd started gets; NULL: none */
    size_t ingest_jobs;
    unsigned sources; /* the direct load's jobs belong to this many sources */
    /* The LMDB database counted as the change log, not the store, with its generations
     * (NAME.1, ...). */
    const char *changelog_db;
    unsigned iterations, walk_iterations, ready_runs;
    double duration_s;
    bool keep, random_order;
    bool interleave;     /* the sources' pages written in turn, not in one listing's order */
    unsigned growth_pct; /* the newest share of the jobs added after the full passes */
};

struct stats {
    double p50, p99, mean;
    size_t n;
};

/* Database `name` is the change log `base` or one of its generations, "base.N". */
static bool is_changelog_db(const char *name, const char *base)
{
    size_t n = strlen(base);
    if (strncmp(name, base, n) != 0)
        return false;
    if (name[n] == '\0')
        return true;
    return name[n] == '.' && name[n + 1] &&
           strspn(name + n + 1, "0123456789") == strlen(name + n + 1);
}

static struct stats summarize(struct samples *s)
{
    struct stats st = {.n = s->n};
    double sum = 0;
    for (size_t i = 0; i < s->n; i++)
        sum += s->v[i];
    st.mean = s->n ? sum / (double)s->n : 0;
    st.p50 = samples_pct(s, 50);
    st.p99 = samples_pct(s, 99);
    return st;
}

static json_t *stats_json(const struct stats *s)
{
    return json_pack("{s:f,s:f,s:f,s:I}", "p50_us", s->p50, "p99_us", s->p99, "mean_us", s->mean,
                     "samples", (json_int_t)s->n);
}

/* ---- one data set ---- */

struct dataset {
    struct gen gen;
    char *arns[MAX_SAMPLES];
    size_t n_arns;
    double store_load_s, sqlite_load_s, gen_s;
    size_t source_jobs_min, source_jobs_max; /* jobs of the smallest and largest source */
    struct bq q[_BQ_MAX][VARIANTS];
};

/* A full sync lists the jobs oldest first (sortOrder=Ascending). */
static int cmp_oldest_first(const void *a, const void *b)
{
    const struct cj_job *x = a, *y = b;
    if (x->creation_ns != y->creation_ns)
        return x->creation_ns < y->creation_ns ? -1 : 1;
    return strcmp(x->job_arn, y->job_arn);
}

/* The direct load writes through each source's full pass (cj_store_pass_begin), as a sync
 * does: the pages of every pass share write transactions (STORE_BATCH_JOBS). */
struct loader {
    struct cj_store *store;
    unsigned sources;
    struct cj_store_pass *pass[GEN_SOURCES_MAX];
    size_t per_source[GEN_SOURCES_MAX];
};

static int loader_put(struct loader *l, unsigned src, const struct cj_job *jobs, size_t k)
{
    l->per_source[src] += k;
    return cj_store_put_jobs(l->store, gen_source_name(src), l->pass[src], jobs, k, NULL);
}

/* In the order given: each run of jobs of one source is one put, so the store sees the jobs
 * in exactly that order whatever the number of sources. */
static int load_in_order(struct loader *l, const struct cj_job *all, size_t n)
{
    int r = 0;
    for (size_t i = 0; r >= 0 && i < n;) {
        unsigned src = gen_source_of(all[i].job_arn, l->sources);
        size_t j = i + 1;
        while (j < n && j - i < PAGE && gen_source_of(all[j].job_arn, l->sources) == src)
            j++;
        r = loader_put(l, src, all + i, j - i);
        i = j;
    }
    return r;
}

/* As full passes of all sources at one rate: each source's jobs in pages of PAGE in the order
 * given, the sources' pages in turn. */
static int load_interleaved(struct loader *l, const struct cj_job *all, size_t n,
                            struct cj_job *part)
{
    size_t next[GEN_SOURCES_MAX] = {0};
    size_t done = 0;
    int r = 0;
    while (r >= 0 && done < n)
        for (unsigned src = 0; r >= 0 && src < l->sources; src++) {
            size_t m = 0, i = next[src];
            for (; i < n && m < PAGE; i++)
                if (gen_source_of(all[i].job_arn, l->sources) == src)
                    part[m++] = all[i]; /* shallow: the strings stay with `all` */
            next[src] = i;
            if (m > 0)
                r = loader_put(l, src, part, m);
            done += m;
        }
    return r;
}

/* As a running daemon's quick syncs add new jobs: the k of `all` (oldest first) in pages of
 * QUICK_PAGE from the oldest page to the newest, each page newest first as a quick sync lists
 * it, each run of one source's jobs one put without a pass. */
#define QUICK_PAGE 100
static size_t quick_page(const struct cj_job *all, size_t k, size_t start, struct cj_job *part)
{
    size_t end = k - start < QUICK_PAGE ? k : start + QUICK_PAGE, m = 0;
    for (size_t i = end; i > start; i--)
        part[m++] = all[i - 1]; /* shallow: the strings stay with `all` */
    return m;
}

static int load_growth(struct loader *l, const struct cj_job *all, size_t k, struct cj_job *part)
{
    int r = 0;
    for (size_t start = 0; r >= 0 && start < k;) {
        size_t m = quick_page(all, k, start, part);
        start += m;
        for (size_t i = 0; r >= 0 && i < m;) {
            unsigned src = gen_source_of(part[i].job_arn, l->sources);
            size_t j = i + 1;
            while (j < m && gen_source_of(part[j].job_arn, l->sources) == src)
                j++;
            l->per_source[src] += j - i;
            r = cj_store_put_jobs(l->store, gen_source_name(src), NULL, part + i, j - i, NULL);
            i = j;
        }
    }
    return r;
}

/* Generates all n jobs, then loads both stores: oldest first like a full sync (or in
 * generation order, random in time, with random_order); the store's jobs belong to
 * `sources` sources, each source's written by its pass, in that order or, with interleave,
 * page by page in turn. With growth_pct, the full passes list only the oldest jobs, and the
 * newest growth_pct % are added after them as quick syncs would (load_growth). SQLite gets
 * the same pages (PAGE jobs each for the passes) in the same order, one transaction each. */
static int load(size_t n, bool random_order, unsigned sources, bool interleave, unsigned growth_pct,
                const char *store_dir, const char *sqlite_path, struct dataset *ds,
                struct sq **sqret)
{
    struct loader l = {.sources = sources};
    struct sq *sq = NULL;
    struct cj_store_options so = {.directory = store_dir, .max_size = UINT64_C(16) << 30};
    size_t every = n / MAX_SAMPLES ? n / MAX_SAMPLES : 1, made = 0;
    struct cj_job *all = calloc(n, sizeof(*all)), *part = calloc(PAGE, sizeof(*part));
    int r = 0;

    if (!all || !part) {
        free(all);
        free(part);
        return -ENOMEM;
    }
    gen_init(&ds->gen, 42);
    int64_t t0 = now_ns();
    while (r >= 0 && made < n) {
        struct cj_page page = {0};
        size_t k = n - made < PAGE ? n - made : PAGE;
        r = gen_page(&ds->gen, k, &page);
        if (r < 0)
            break;
        memcpy(all + made, page.jobs, k * sizeof(*all)); /* the strings move to `all` */
        free(page.jobs);
        free(page.next_token);
        made += k;
    }
    if (r >= 0 && !random_order)
        qsort(all, n, sizeof(*all), cmp_oldest_first);
    ds->gen_s = (double)(now_ns() - t0) / 1e9;
    for (size_t i = 0; r >= 0 && i < n && ds->n_arns < MAX_SAMPLES; i += every)
        ds->arns[ds->n_arns++] = strdup(all[i].job_arn);

    if (r >= 0)
        r = cj_store_open(&so, &l.store);
    for (unsigned src = 0; r >= 0 && src < sources; src++)
        r = cj_store_pass_begin(l.store, gen_source_name(src), &l.pass[src]);
    int64_t t1 = now_ns();
    size_t grown = n * growth_pct / 100;
    if (r >= 0)
        r = interleave ? load_interleaved(&l, all, n - grown, part)
                       : load_in_order(&l, all, n - grown);
    /* As after a successful full sync of every source: answers carry Age and
     * x-copyjobd-synced-at. */
    for (unsigned src = 0; src < sources; src++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        if (l.pass[src] && r >= 0)
            r = cj_store_pass_finish(l.store, l.pass[src], true,
                                     (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, NULL);
        cj_store_pass_free(l.pass[src]);
    }
    if (r >= 0 && grown > 0)
        r = load_growth(&l, all + (n - grown), grown, part);
    ds->store_load_s = (double)(now_ns() - t1) / 1e9;
    if (r >= 0)
        r = sq_open(sqlite_path, &sq);
    int64_t t2 = now_ns();
    for (size_t done = 0; r >= 0 && done < n - grown; done += PAGE)
        r = sq_put_page(sq, all + done, n - grown - done < PAGE ? n - grown - done : PAGE);
    for (size_t start = 0; r >= 0 && start < grown;) {
        size_t m = quick_page(all + (n - grown), grown, start, part);
        start += m;
        r = sq_put_page(sq, part, m);
    }
    ds->sqlite_load_s = (double)(now_ns() - t2) / 1e9;
    ds->source_jobs_min = SIZE_MAX;
    for (unsigned src = 0; src < sources; src++) {
        if (l.per_source[src] < ds->source_jobs_min)
            ds->source_jobs_min = l.per_source[src];
        if (l.per_source[src] > ds->source_jobs_max)
            ds->source_jobs_max = l.per_source[src];
    }
    cj_store_close(l.store);
    for (size_t i = 0; i < made; i++)
        cj_job_done(&all[i]);
    free(all);
    free(part);
    if (r < 0) {
        sq_close(sq);
        return r;
    }
    *sqret = sq;
    return 0;
}

static void make_queries(struct dataset *ds)
{
    struct gen *g = &ds->gen;
    for (int v = 0; v < VARIANTS; v++) {
        int64_t before = g->epoch_ns - (int64_t)v * 7 * DAY_NS;
        int64_t month_before = g->epoch_ns - (int64_t)(v % 12) * 30 * DAY_NS;
        ds->q[BQ_NEWEST][v] = (struct bq){.kind = BQ_NEWEST, .max_results = 100};
        ds->q[BQ_FAILED_30D][v] = (struct bq){.kind = BQ_FAILED_30D,
                                              .has_status = true,
                                              .status = CJ_STATUS_FAILED,
                                              .max_results = 100,
                                              .after_ns = before - 30 * DAY_NS,
                                              .before_ns = before};
        ds->q[BQ_ACCOUNT_MONTH][v] = (struct bq){.kind = BQ_ACCOUNT_MONTH,
                                                 .max_results = 100,
                                                 .account = g->accounts[v % GEN_ACCOUNTS],
                                                 .after_ns = month_before - 30 * DAY_NS,
                                                 .before_ns = month_before};
        ds->q[BQ_MODEL][v] = (struct bq){
            .kind = BQ_MODEL, .max_results = 100, .model_arn = g->model_arns[(v * 7) % GEN_MODELS]};
        /* A name that exists: a source model's name (targets are that name + a suffix). */
        ds->q[BQ_NAME_CONTAINS][v] =
            (struct bq){.kind = BQ_NAME_CONTAINS,
                        .max_results = 100,
                        .name_contains = g->model_names[(v * 11) % GEN_MODELS]};
        ds->q[BQ_WALK_FAILED][v] = (struct bq){.kind = BQ_WALK_FAILED,
                                               .has_status = true,
                                               .status = CJ_STATUS_FAILED,
                                               .max_results = 1000};
        ds->q[BQ_GET][v] = (struct bq){
            .kind = BQ_GET, .arn = ds->arns[(size_t)(v * 61) % (ds->n_arns ? ds->n_arns : 1)]};

        /* The other filter combinations. A source model belongs to one account
         * (bench-gen.c), so account and model pairs are a model and its own account. */
        int m_sa = (v * 7 + 3) % GEN_MODELS, m_sm = (v * 13 + 5) % GEN_MODELS;
        int m_am = (v * 11 + 1) % GEN_MODELS, m_all = (v * 17 + 2) % GEN_MODELS;
        int64_t half_year_before = g->epoch_ns - (int64_t)(v % 4) * 30 * DAY_NS;
        ds->q[BQ_TIME_WINDOW][v] = (struct bq){.kind = BQ_TIME_WINDOW,
                                               .max_results = 100,
                                               .after_ns = before - 30 * DAY_NS,
                                               .before_ns = before};
        ds->q[BQ_OLDEST][v] = (struct bq){.kind = BQ_OLDEST, .max_results = 100, .ascending = true};
        ds->q[BQ_STATUS_ACCOUNT][v] = (struct bq){.kind = BQ_STATUS_ACCOUNT,
                                                  .has_status = true,
                                                  .status = CJ_STATUS_COMPLETED,
                                                  .max_results = 100,
                                                  .account = g->accounts[g->model_account[m_sa]]};
        ds->q[BQ_STATUS_MODEL][v] = (struct bq){.kind = BQ_STATUS_MODEL,
                                                .has_status = true,
                                                .status = CJ_STATUS_COMPLETED,
                                                .max_results = 100,
                                                .model_arn = g->model_arns[m_sm]};
        ds->q[BQ_ACCOUNT_MODEL][v] = (struct bq){.kind = BQ_ACCOUNT_MODEL,
                                                 .max_results = 100,
                                                 .account = g->accounts[g->model_account[m_am]],
                                                 .model_arn = g->model_arns[m_am]};
        ds->q[BQ_ALL_FILTERS_ASC][v] = (struct bq){.kind = BQ_ALL_FILTERS_ASC,
                                                   .has_status = true,
                                                   .status = CJ_STATUS_COMPLETED,
                                                   .ascending = true,
                                                   .max_results = 100,
                                                   .account = g->accounts[g->model_account[m_all]],
                                                   .model_arn = g->model_arns[m_all],
                                                   .after_ns = half_year_before - 180 * DAY_NS,
                                                   .before_ns = half_year_before};
        ds->q[BQ_REGION][v] = (struct bq){
            .kind = BQ_REGION, .max_results = 100, .region = gen_job_regions[v % GEN_JOB_REGIONS]};
        ds->q[BQ_REGION_FAILED_30D][v] =
            (struct bq){.kind = BQ_REGION_FAILED_30D,
                        .has_status = true,
                        .status = CJ_STATUS_FAILED,
                        .max_results = 100,
                        .region = gen_job_regions[(v + 1) % GEN_JOB_REGIONS],
                        .after_ns = before - 30 * DAY_NS,
                        .before_ns = before};
    }
}

/* The rows part of a body: everything before ,"nextToken" (tokens differ by design). */
static size_t rows_part(const char *b, size_t len)
{
    const char *k = memmem(b, len, "],\"nextToken\":\"", 15);
    return k ? (size_t)(k - b) + 1 : len;
}

/* CPU per answer in µs: the daemon, the replay server (the floor) and SQLite in process.
 * Per answer, and per round (the mean of a round's answers); a round is cpu_batch answers, or
 * one whole walk. */
struct cpu_acc {
    struct samples d, f, over, sq;
    struct samples rd, rf, rover, rsq;
    double sd, sf, ssq;
    unsigned in_round;
};

struct cpu_result {
    double d, f, over, sq;         /* medians over rounds */
    double d50, f50, over50, sq50; /* medians over answers */
    size_t rounds, answers;        /* answers measured one by one (the walk's pages) */
    double worst_page_over;        /* the walk: the largest of the pages' medians over the walks */
    json_t *pages;                 /* the walk: each page's median over the floor */
};

static void cpu_round_end(struct cpu_acc *a)
{
    if (!a->in_round)
        return;
    double n = a->in_round;
    samples_add(&a->rd, a->sd / n);
    samples_add(&a->rf, a->sf / n);
    samples_add(&a->rover, (a->sd - a->sf) / n);
    samples_add(&a->rsq, a->ssq / n);
    a->sd = a->sf = a->ssq = 0;
    a->in_round = 0;
}

/* A round measured as a whole: the CPU totals over its n answers. */
static void cpu_round_add(struct cpu_acc *a, double d, double f, double sq, unsigned n)
{
    samples_add(&a->rd, d / n);
    samples_add(&a->rf, f / n);
    samples_add(&a->rover, (d - f) / n);
    samples_add(&a->rsq, sq / n);
}

/* One answer measured on its own (the walk's pages). */
static void cpu_add(struct cpu_acc *a, double d, double f, double sq, unsigned per_round)
{
    samples_add(&a->d, d);
    samples_add(&a->f, f);
    samples_add(&a->over, d - f);
    samples_add(&a->sq, sq);
    a->sd += d;
    a->sf += f;
    a->ssq += sq;
    if (++a->in_round >= per_round)
        cpu_round_end(a);
}

static void cpu_summarize(struct cpu_acc *a, struct cpu_result *r)
{
    cpu_round_end(a);
    r->d = samples_pct(&a->rd, 50);
    r->f = samples_pct(&a->rf, 50);
    r->over = samples_pct(&a->rover, 50);
    r->sq = samples_pct(&a->rsq, 50);
    r->d50 = samples_pct(&a->d, 50);
    r->f50 = samples_pct(&a->f, 50);
    r->over50 = samples_pct(&a->over, 50);
    r->sq50 = samples_pct(&a->sq, 50);
    r->rounds = a->rd.n;
    r->answers = a->d.n;
    struct samples *all[] = {&a->d, &a->f, &a->over, &a->sq, &a->rd, &a->rf, &a->rover, &a->rsq};
    for (size_t i = 0; i < sizeof(all) / sizeof(*all); i++)
        samples_free(all[i]);
}

static json_t *cpu_json(const struct cpu_result *r, unsigned per_round)
{
    json_t *j = json_pack("{s:f,s:f,s:f,s:f,s:I,s:I}", "daemon_us", r->d, "floor_us", r->f,
                          "over_floor_us", r->over, "sqlite_us", r->sq, "rounds",
                          (json_int_t)r->rounds, "answers_per_round", (json_int_t)per_round);
    if (j && r->pages) {
        json_object_set_new(j, "page_daemon_p50_us", json_real(r->d50));
        json_object_set_new(j, "page_floor_p50_us", json_real(r->f50));
        json_object_set_new(j, "page_over_floor_p50_us", json_real(r->over50));
        json_object_set_new(j, "page_sqlite_p50_us", json_real(r->sq50));
        json_object_set_new(j, "worst_page_over_floor_us", json_real(r->worst_page_over));
        json_object_set(j, "page_over_floor_us", r->pages);
    }
    return j;
}

/* What the targets judge: a walk by its worst page, any other query by its answers. */
static double cpu_over(const struct cpu_result *r)
{
    return r->pages ? r->worst_page_over : r->over;
}

struct result {
    struct stats cj, sq, floor;
    struct cpu_result cpu;
    struct stats conn[3]; /* 1, 2, 8 connections */
    double rps[3];
    long rows;
    unsigned pages;
    bool same_bytes;
    size_t body_bytes;
    double minflt; /* the daemon's minor page faults per answer while measured */
};

static const int conn_counts[3] = {1, 2, 8};

/* ---- throughput with several connections ---- */

struct worker {
    const char *socket;
    const struct bq *variants;
    int64_t deadline;
    struct samples lat;
    long done;
    int err;
    pthread_t thread;
};

static void *worker_run(void *arg)
{
    struct worker *w = arg;
    struct hc c;
    struct cj_buf path = {0};
    int r = hc_connect(&c, w->socket);
    if (r < 0) {
        w->err = r;
        return NULL;
    }
    for (unsigned i = 0; now_ns() < w->deadline; i++) {
        const struct bq *b = &w->variants[i % VARIANTS];
        int64_t t0 = now_ns();
        bq_path(b, NULL, &path);
        r = hc_get(&c, path.data);
        if (r != 200) {
            w->err = r < 0 ? r : -EIO;
            break;
        }
        samples_add(&w->lat, (double)(now_ns() - t0) / 1e3);
        w->done++;
    }
    cj_buf_free(&path);
    hc_close(&c);
    return NULL;
}

struct sampler {
    pid_t pid;
    volatile bool stop;
    struct mem max;
    pthread_t thread;
};

static void *sampler_run(void *arg)
{
    struct sampler *s = arg;
    while (!s->stop) {
        struct mem m;
        if (read_mem(s->pid, &m) >= 0) {
            if (m.rss_kb > s->max.rss_kb)
                s->max.rss_kb = m.rss_kb;
            if (m.anon_kb > s->max.anon_kb)
                s->max.anon_kb = m.anon_kb;
        }
        usleep(20000);
    }
    return NULL;
}

static int throughput(const char *socket, const struct bq *variants, int conns, double seconds,
                      struct stats *st, double *rps)
{
    struct worker w[8] = {0};
    struct samples all = {0};
    long total = 0;
    int err = 0;
    int64_t t0 = now_ns();
    for (int i = 0; i < conns; i++) {
        w[i] = (struct worker){
            .socket = socket, .variants = variants, .deadline = t0 + (int64_t)(seconds * 1e9)};
        pthread_create(&w[i].thread, NULL, worker_run, &w[i]);
    }
    for (int i = 0; i < conns; i++) {
        pthread_join(w[i].thread, NULL);
        for (size_t k = 0; k < w[i].lat.n; k++)
            samples_add(&all, w[i].lat.v[k]);
        total += w[i].done;
        if (w[i].err)
            err = w[i].err;
        samples_free(&w[i].lat);
    }
    double elapsed = (double)(now_ns() - t0) / 1e9;
    *st = summarize(&all);
    *rps = (double)total / elapsed;
    samples_free(&all);
    return err;
}

/* ---- CPU per answer against the floor ---- */

struct meter {
    struct hc *cj, *floor;
    struct replay *rp;
    struct proc_cpu dcpu, fcpu;
};

/* One request to copyjobd, then its answer's bytes replayed by the floor for the same request;
 * the wall times (ns) and, when d_us is set, the CPU of each server over its own answer (µs):
 * the servers' clocks read before either request and after both, when both sleep again.
 * Reading /proc between requests costs the server read a few µs of its own (the same for
 * both), so answers that need no figure of their own are measured over a batch instead. */
static int meter_get(struct meter *m, const char *path, double *d_us, double *f_us, int64_t *cj_ns,
                     int64_t *floor_ns)
{
    int64_t d0 = d_us ? proc_cpu_ns(&m->dcpu) : 0, f0 = d_us ? proc_cpu_ns(&m->fcpu) : 0;
    int64_t t0 = now_ns();
    int st = hc_get(m->cj, path);
    int64_t t1 = now_ns();
    if (st != 200) {
        fprintf(stderr, "cj-bench: %s: HTTP %d\n", path, st);
        return -EIO;
    }
    int r = replay_set(m->rp, m->cj->buf, m->cj->body_off + m->cj->body_len);
    if (r < 0)
        return r;
    int64_t t2 = now_ns();
    st = hc_get(m->floor, path);
    int64_t t3 = now_ns();
    if (st != 200 || m->floor->body_len != m->cj->body_len) {
        fprintf(stderr, "cj-bench: the replay server answered %s wrongly (HTTP %d)\n", path, st);
        return -EIO;
    }
    *cj_ns = t1 - t0;
    *floor_ns = t3 - t2;
    if (!d_us)
        return 0;
    int64_t d1 = proc_cpu_ns(&m->dcpu), f1 = proc_cpu_ns(&m->fcpu);
    *d_us = (double)(d1 - d0) / 1e3;
    *f_us = (double)(f1 - f0) / 1e3;
    return 0;
}

/* A whole nextToken walk, page by page through meter_get; d_us and f_us get each page's CPU
 * (up to max pages). Returns the pages or <0. */
static long meter_walk(struct meter *m, const struct bq *b, struct cj_buf *path, double *d_us,
                       double *f_us, size_t max, int64_t *cj_ns, int64_t *floor_ns)
{
    char token[4096];
    bool more = false;
    long n = 0;
    *cj_ns = *floor_ns = 0;
    do {
        double d, f;
        int64_t a, z;
        bq_path(b, more ? token : NULL, path);
        int r = meter_get(m, path->data, &d, &f, &a, &z);
        if (r < 0)
            return r;
        if ((size_t)n < max) {
            d_us[n] = d;
            f_us[n] = f;
        }
        *cj_ns += a;
        *floor_ns += z;
        n++;
        more = body_next_token(m->cj->buf + m->cj->body_off, m->cj->body_len, token, sizeof(token));
    } while (more && n < 100000);
    return n;
}

/* Puts the client's thread, copyjobd and the floor on one CPU (cpu >= 0), or back on every CPU
 * (cpu < 0). Waking a server on another vCPU costs the waker an inter-processor interrupt, a
 * VM exit here: a bare replay of 57 KB took ~11 µs of CPU next to its client and ~59 µs one
 * CPU away, so two servers compared by their CPU must sit where the client is. */
static void pin(int cpu, pid_t daemon, pid_t floor)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (cpu >= 0)
        CPU_SET(cpu, &set);
    else
        for (int i = 0; i < CPU_SETSIZE && i < sysconf(_SC_NPROCESSORS_CONF); i++)
            CPU_SET(i, &set);
    pid_t who[] = {0, daemon, floor};
    for (size_t i = 0; i < sizeof(who) / sizeof(*who); i++)
        if (sched_setaffinity(who[i], sizeof(set), &set) < 0)
            fprintf(stderr, "cj-bench: sched_setaffinity(%d, CPU %d): %m\n", (int)who[i], cpu);
}

/* ---- the store's size, database by database ---- */

/* Reads the stopped daemon's store and prints its split: each LMDB database's pages, the
 * change log apart (SQLite keeps none), the rest against SQLite's file. NULL when the store
 * cannot be read. */
static json_t *store_split(const struct opts *o, const char *store_dir, long store_kb,
                           long sqlite_kb)
{
    struct lmdb_split ss;
    if (lmdb_split_read(store_dir, &ss) < 0 || store_kb <= 0 || sqlite_kb <= 0)
        return NULL;
    json_t *dbs = json_object();
    uint64_t changelog = 0;
    bool have_changelog = false;
    printf("store by LMDB database (KiB, pages x %" PRIu64 " B):", ss.page_size);
    for (size_t i = 0; i < ss.n; i++) {
        const struct lmdb_db_size *d = &ss.db[i];
        uint64_t bytes = d->pages * ss.page_size;
        if (is_changelog_db(d->name, o->changelog_db)) {
            changelog += bytes;
            have_changelog = true;
        }
        printf("%s %s %" PRIu64, i ? "," : "", d->name, bytes / 1024);
        json_object_set_new(dbs, d->name,
                            json_pack("{s:I,s:I,s:I,s:I}", "bytes", (json_int_t)bytes, "pages",
                                      (json_int_t)d->pages, "entries", (json_int_t)d->entries,
                                      "depth", (json_int_t)d->depth));
    }
    /* The secondary indexes' duplicates are in sub-databases mdb_stat does not count: what is
     * left once the free pages are. */
    printf("; main %" PRIu64 ", free and free list %" PRIu64 ", sorted duplicates %" PRIu64 "\n",
           ss.main_pages * ss.page_size / 1024, ss.free_pages * ss.page_size / 1024,
           ss.dup_pages * ss.page_size / 1024);
    json_object_set_new(dbs, "(sorted duplicates)",
                        json_pack("{s:I,s:I}", "bytes", (json_int_t)(ss.dup_pages * ss.page_size),
                                  "pages", (json_int_t)ss.dup_pages));
    json_object_set_new(dbs, "(free)",
                        json_pack("{s:I,s:I}", "bytes", (json_int_t)(ss.free_pages * ss.page_size),
                                  "pages", (json_int_t)ss.free_pages));
    if (!have_changelog)
        fprintf(stderr, "cj-bench: the store has no database named '%s' (--changelog-db)\n",
                o->changelog_db);
    double whole = (double)store_kb * 1024, sqlite = (double)sqlite_kb * 1024;
    double jobs_indexes = whole - (double)changelog;
    printf("store (jobs + indexes) %.0f KiB vs SQLite %ld KiB: %.2fx; change log (%s) %" PRIu64
           " KiB; whole store %ld KiB: %.2fx\n",
           jobs_indexes / 1024, sqlite_kb, jobs_indexes / sqlite, o->changelog_db, changelog / 1024,
           store_kb, whole / sqlite);
    double live = jobs_indexes - (double)(ss.free_pages * ss.page_size);
    printf("store (jobs + indexes) without its free pages %.0f KiB: %.2fx SQLite's\n", live / 1024,
           live / sqlite);
    return json_pack("{s:I,s:o,s:I,s:I,s:s,s:b,s:I,s:I,s:I,s:I,s:f,s:f}", "page_size",
                     (json_int_t)ss.page_size, "databases", dbs, "main_bytes",
                     (json_int_t)(ss.main_pages * ss.page_size), "free_bytes",
                     (json_int_t)(ss.free_pages * ss.page_size), "changelog_db", o->changelog_db,
                     "changelog_found", have_changelog, "changelog_bytes", (json_int_t)changelog,
                     "jobs_indexes_bytes", (json_int_t)jobs_indexes, "whole_bytes",
                     (json_int_t)whole, "sqlite_bytes", (json_int_t)sqlite, "ratio_whole",
                     whole / sqlite, "ratio_jobs_indexes", jobs_indexes / sqlite);
}

/* ---- one size: load, start, measure ---- */

static int run_size(const struct opts *o, size_t n, json_t *out_sizes)
{
    char dir[512], store_dir[600], sqlite_path[600], cmd[1300];
    struct dataset *ds = calloc(1, sizeof(*ds));
    struct sq *sq = NULL;
    struct daemon_proc d = {.pid = -1, .notify_fd = -1};
    struct result res[_BQ_MAX] = {0};
    struct cj_buf sqbody = {0}, path = {0};
    struct hc c = {.fd = -1}, rc = {.fd = -1};
    struct meter m = {.dcpu = {.pid = -1, .stat_fd = -1}, .fcpu = {.pid = -1, .stat_fd = -1}};
    struct mem idle = {0}, idle_after = {0};
    struct sampler smp = {0};
    double ready[8] = {0};
    int r;

    if (!ds)
        return -ENOMEM;
    snprintf(dir, sizeof(dir), "%s/n%zu", o->workdir, n);
    snprintf(store_dir, sizeof(store_dir), "%s/store", dir);
    snprintf(sqlite_path, sizeof(sqlite_path), "%s/jobs.sqlite", dir);
    mkdir(dir, 0700);

    fprintf(stderr, "cj-bench: %zu jobs: generating and loading into %s ...\n", n, dir);
    r = load(n, o->random_order, o->sources, o->interleave, o->growth_pct, store_dir, sqlite_path,
             ds, &sq);
    if (r < 0) {
        fprintf(stderr, "cj-bench: loading failed: %s\n", strerror(-r));
        goto out;
    }
    make_queries(ds);
    fprintf(stderr,
            "cj-bench: loaded: generate+parse %.1f s, copyjobd store %.1f s, SQLite %.1f s; %u "
            "source(s)%s, %zu..%zu jobs each\n",
            ds->gen_s, ds->store_load_s, ds->sqlite_load_s, o->sources,
            o->interleave ? " interleaved" : "", ds->source_jobs_min, ds->source_jobs_max);

    /* READY=1: several starts; the first one after the load. */
    for (unsigned i = 0; i < o->ready_runs; i++) {
        r = daemon_start(o->copyjobd, store_dir, dir, o->sources, &d);
        if (r < 0)
            goto out;
        ready[i] = d.ready_ms;
        if (i + 1 < o->ready_runs && daemon_stop(&d) < 0)
            fprintf(stderr, "cj-bench: copyjobd did not exit cleanly (log: %s/copyjobd.log)\n",
                    dir);
    }
    usleep(300000); /* lets the first (failing) sync settle */
    read_mem(d.pid, &idle);
    r = hc_connect(&c, d.socket);
    if (r < 0) {
        fprintf(stderr, "cj-bench: connect %s: %s\n", d.socket, strerror(-r));
        goto out;
    }

    /* Same answers first: the rows of each query's first variant, byte for byte. */
    for (int k = 0; k < _BQ_MAX; k++) {
        const struct bq *b = &ds->q[k][0];
        cj_buf_reset(&sqbody);
        long sq_rows = sq_query(sq, b, &sqbody, &res[k].pages);
        if (k == BQ_WALK_FAILED) {
            unsigned pages = 0;
            long rows = hc_walk(&c, b, &pages, &path, true);
            res[k].rows = rows;
            res[k].same_bytes = rows == sq_rows && pages == res[k].pages;
            continue;
        }
        bq_path(b, NULL, &path);
        int st = hc_get(&c, path.data);
        if (st != 200) {
            fprintf(stderr, "cj-bench: %s: HTTP %d: %.*s\n", path.data, st,
                    st > 0 ? (int)c.body_len : 0, st > 0 ? c.buf + c.body_off : "");
            r = -EIO;
            goto out;
        }
        const char *body = c.buf + c.body_off;
        size_t a = rows_part(body, c.body_len), bl = rows_part(sqbody.data, sqbody.len);
        res[k].rows = sq_rows;
        res[k].body_bytes = c.body_len;
        res[k].same_bytes = a == bl && memcmp(body, sqbody.data, a) == 0;
        if (!res[k].same_bytes)
            fprintf(stderr, "cj-bench: %s: copyjobd and SQLite answers differ (%zu vs %zu bytes)\n",
                    kind_names[k], a, bl);
    }

    /* Latency and CPU per answer, one connection each: copyjobd, the replay server (the floor)
     * with copyjobd's answer, then SQLite, request by request (the walk: page by page for the
     * two servers, then SQLite's whole walk). */
    r = hc_connect(&rc, o->replay->socket);
    if (r < 0) {
        fprintf(stderr, "cj-bench: connect %s: %s\n", o->replay->socket, strerror(-r));
        goto out;
    }
    if (peer_pid(c.fd) != d.pid)
        fprintf(stderr, "cj-bench: SO_PEERCRED says pid %d, copyjobd is %d\n", (int)peer_pid(c.fd),
                (int)d.pid);
    m.cj = &c;
    m.floor = &rc;
    m.rp = o->replay;
    r = proc_cpu_open(peer_pid(c.fd), &m.dcpu);
    if (r >= 0)
        r = proc_cpu_open(peer_pid(rc.fd), &m.fcpu);
    if (r < 0) {
        fprintf(stderr, "cj-bench: /proc/PID/task/*/schedstat: %s\n", strerror(-r));
        goto out;
    }
    if (o->pin_cpu >= 0)
        pin(o->pin_cpu, d.pid, o->replay->pid);
    for (int k = 0; k < _BQ_MAX; k++) {
        struct samples scj = {0}, ssq = {0}, sfl = {0};
        struct cpu_acc acc = {0};
        unsigned iters = k == BQ_WALK_FAILED ? o->walk_iterations : o->iterations;
        size_t max_pages = res[k].pages + 1;
        double *pd = calloc(max_pages, sizeof(*pd)), *pf = calloc(max_pages, sizeof(*pf));
        struct samples *per_page = calloc(max_pages, sizeof(*per_page));
        if (!pd || !pf || !per_page) {
            free(pd);
            free(pf);
            free(per_page);
            r = -ENOMEM;
            goto out;
        }
        int64_t rd0 = 0, rf0 = 0, mf0 = proc_minflt(&m.dcpu), answers = 0;
        double rsq = 0;
        for (unsigned i = 0; i < iters; i++) {
            const struct bq *b = &ds->q[k][i % VARIANTS];
            unsigned pages;
            int64_t cj_ns, floor_ns;
            long walked = 1;
            if (k != BQ_WALK_FAILED && i % o->cpu_batch == 0) {
                rd0 = proc_cpu_ns(&m.dcpu);
                rf0 = proc_cpu_ns(&m.fcpu);
                rsq = 0;
            }
            if (k == BQ_WALK_FAILED)
                r = (int)(walked = meter_walk(&m, b, &path, pd, pf, max_pages, &cj_ns, &floor_ns));
            else {
                bq_path(b, NULL, &path);
                r = meter_get(&m, path.data, NULL, NULL, &cj_ns, &floor_ns);
            }
            if (r < 0)
                break;
            answers += walked;
            cj_buf_reset(&sqbody);
            int64_t c0 = thread_cpu_ns(), t1 = now_ns();
            r = sq_query(sq, b, &sqbody, &pages) < 0 ? -EIO : 0;
            int64_t t2 = now_ns(), c1 = thread_cpu_ns();
            if (r < 0)
                break;
            double sq_us = (double)(c1 - c0) / 1e3;
            samples_add(&scj, (double)cj_ns / 1e3);
            samples_add(&sfl, (double)floor_ns / 1e3);
            samples_add(&ssq, (double)(t2 - t1) / 1e3);
            if (k != BQ_WALK_FAILED) {
                rsq += sq_us;
                if (i % o->cpu_batch == o->cpu_batch - 1 || i + 1 == iters)
                    cpu_round_add(&acc, (double)(proc_cpu_ns(&m.dcpu) - rd0) / 1e3,
                                  (double)(proc_cpu_ns(&m.fcpu) - rf0) / 1e3, rsq,
                                  i % o->cpu_batch + 1);
                continue;
            }
            /* A walk is one round; SQLite's CPU is per page of its own walk. */
            for (long p = 0; p < walked && (size_t)p < max_pages; p++) {
                cpu_add(&acc, pd[p], pf[p], sq_us / (double)pages, (unsigned)walked);
                samples_add(&per_page[p], pd[p] - pf[p]);
            }
        }
        int64_t mf1 = proc_minflt(&m.dcpu);
        res[k].minflt =
            mf0 >= 0 && mf1 >= mf0 && answers ? (double)(mf1 - mf0) / (double)answers : -1;
        res[k].cj = summarize(&scj);
        res[k].sq = summarize(&ssq);
        res[k].floor = summarize(&sfl);
        cpu_summarize(&acc, &res[k].cpu);
        if (k == BQ_WALK_FAILED && r >= 0) {
            res[k].cpu.pages = json_array();
            for (size_t p = 0; p < max_pages && per_page[p].n; p++) {
                double v = samples_pct(&per_page[p], 50);
                json_array_append_new(res[k].cpu.pages, json_real(v));
                if (p == 0 || v > res[k].cpu.worst_page_over)
                    res[k].cpu.worst_page_over = v;
            }
        }
        for (size_t p = 0; p < max_pages; p++)
            samples_free(&per_page[p]);
        free(per_page);
        free(pd);
        free(pf);
        samples_free(&scj);
        samples_free(&ssq);
        samples_free(&sfl);
        if (r < 0) {
            fprintf(stderr, "cj-bench: %s: measuring failed: %s\n", kind_names[k], strerror(-r));
            if (o->pin_cpu >= 0)
                pin(-1, d.pid, o->replay->pid);
            goto out;
        }
    }
    if (o->pin_cpu >= 0)
        pin(-1, d.pid, o->replay->pid);
    proc_cpu_close(&m.dcpu);
    proc_cpu_close(&m.fcpu);
    hc_close(&rc);
    hc_close(&c);

    /* Requests per second with 1, 2, 8 connections (not for the walk: it is many requests),
     * memory sampled throughout. */
    smp = (struct sampler){.pid = d.pid};
    pthread_create(&smp.thread, NULL, sampler_run, &smp);
    for (int k = 0; k < _BQ_MAX; k++) {
        if (k == BQ_WALK_FAILED)
            continue;
        for (int ci = 0; ci < 3; ci++) {
            r = throughput(d.socket, ds->q[k], conn_counts[ci], o->duration_s, &res[k].conn[ci],
                           &res[k].rps[ci]);
            if (r < 0) {
                fprintf(stderr, "cj-bench: %s with %d connections: %s\n", kind_names[k],
                        conn_counts[ci], strerror(-r));
                smp.stop = true;
                pthread_join(smp.thread, NULL);
                goto out;
            }
        }
    }
    smp.stop = true;
    pthread_join(smp.thread, NULL);
    usleep(200000);
    read_mem(d.pid, &idle_after);

    r = daemon_stop(&d);
    if (r < 0)
        fprintf(stderr, "cj-bench: copyjobd did not exit cleanly (log: %s/copyjobd.log)\n", dir);
    r = 0;

    /* ---- print and record ---- */
    printf("\ncopyjobd (end to end, Unix socket, keep-alive) vs SQLite (in process) -- %zu jobs, "
           "%u source(s)\n",
           n, o->sources);
    printf("%-19s %6s %5s %20s %20s %6s %27s\n", "query", "rows", "same", "copyjobd p50/p99 us",
           "SQLite p50/p99 us", "ratio", "copyjobd req/s 1c/2c/8c");
    json_t *queries = json_object();
    for (int k = 0; k < _BQ_MAX; k++) {
        struct result *x = &res[k];
        double ratio = x->sq.p50 > 0 ? x->cj.p50 / x->sq.p50 : 0;
        char rps[64] = "-";
        if (k != BQ_WALK_FAILED)
            snprintf(rps, sizeof(rps), "%.0f/%.0f/%.0f", x->rps[0], x->rps[1], x->rps[2]);
        printf("%-19s %6ld %5s %9.1f/%-10.1f %9.1f/%-10.1f %6.2f %27s\n", kind_names[k], x->rows,
               x->same_bytes ? "yes" : "NO", x->cj.p50, x->cj.p99, x->sq.p50, x->sq.p99, ratio,
               rps);
        unsigned per_round = k == BQ_WALK_FAILED ? x->pages : o->cpu_batch;
        json_t *q = json_pack("{s:b,s:I,s:b,s:o,s:o,s:o,s:f,s:o}", "indexed", kind_indexed[k],
                              "rows", (json_int_t)x->rows, "same_bytes", x->same_bytes, "copyjobd",
                              stats_json(&x->cj), "sqlite", stats_json(&x->sq), "floor",
                              stats_json(&x->floor), "ratio_p50", ratio, "cpu",
                              cpu_json(&x->cpu, per_round));
        json_object_set_new(q, "daemon_minor_faults_per_answer", json_real(x->minflt));
        if (k == BQ_WALK_FAILED)
            json_object_set_new(q, "pages", json_integer(x->pages));
        else {
            json_object_set_new(q, "body_bytes", json_integer((json_int_t)x->body_bytes));
            json_t *conns = json_object();
            for (int ci = 0; ci < 3; ci++) {
                char key[8];
                snprintf(key, sizeof(key), "%d", conn_counts[ci]);
                json_t *s = stats_json(&x->conn[ci]);
                json_object_set_new(s, "requests_per_s", json_real(x->rps[ci]));
                json_object_set_new(conns, key, s);
            }
            json_object_set_new(q, "connections", conns);
        }
        json_object_set_new(queries, kind_names[k], q);
    }
    char where[48] = "where the scheduler put them";
    if (o->pin_cpu >= 0)
        snprintf(where, sizeof(where), "on CPU %d", o->pin_cpu);
    printf(
        "\nCPU per answer (us): copyjobd and the replay server of its bytes (the floor), from\n"
        "/proc/PID/schedstat; SQLite in process (CLOCK_THREAD_CPUTIME_ID). Median over rounds of\n"
        "%u answers (the walk: per page, a round per walk; 'over' is its worst page); client,\n"
        "copyjobd and floor %s -- %zu jobs, %u source(s); faults: copyjobd's minor page faults\n"
        "per answer\n",
        o->cpu_batch, where, n, o->sources);
    printf("%-19s %8s %8s %8s %8s %9s %15s %7s %s\n", "query", "daemon", "floor", "over", "SQLite",
           "over/SQL", "floor wall p50", "faults", "over <= 20 us");
    for (int k = 0; k < _BQ_MAX; k++) {
        struct cpu_result *x = &res[k].cpu;
        double over = cpu_over(x);
        printf("%-19s %8.1f %8.1f %8.1f %8.1f %9.2f %15.1f %7.2f %s\n", kind_names[k], x->d, x->f,
               over, x->sq, x->sq > 0 ? over / x->sq : 0, res[k].floor.p50, res[k].minflt,
               over <= 20 ? "met" : "MISSED");
    }
    json_t *readies = json_array();
    printf("READY=1 after start (ms):");
    for (unsigned i = 0; i < o->ready_runs; i++) {
        printf(" %.1f", ready[i]);
        json_array_append_new(readies, json_real(ready[i]));
    }
    printf("\nmemory (KiB): idle RSS %ld anon %ld; under load max RSS %ld anon %ld; idle after "
           "load RSS %ld anon %ld\n",
           idle.rss_kb, idle.anon_kb, smp.max.rss_kb, smp.max.anon_kb, idle_after.rss_kb,
           idle_after.anon_kb);
    printf("load: generate+parse %.1f s, copyjobd store %.1f s (%.0f jobs/s), SQLite %.1f s "
           "(%.0f jobs/s)\n",
           ds->gen_s, ds->store_load_s, (double)n / ds->store_load_s, ds->sqlite_load_s,
           (double)n / ds->sqlite_load_s);
    snprintf(cmd, sizeof(cmd), "du -sk '%s' '%s' 2>/dev/null", store_dir, sqlite_path);
    fflush(stdout);
    {
        long store_kb = -1, sqlite_kb = -1;
        char line[800];
        FILE *f = popen(cmd, "r");
        if (f) {
            if (fgets(line, sizeof(line), f))
                store_kb = strtol(line, NULL, 10);
            if (fgets(line, sizeof(line), f))
                sqlite_kb = strtol(line, NULL, 10);
            pclose(f);
        }
        printf("disk (KiB): copyjobd store %ld, SQLite %ld\n", store_kb, sqlite_kb);
        json_t *split = store_split(o, store_dir, store_kb, sqlite_kb);
        json_t *size = json_pack(
            "{s:I,s:s,s:o,s:o,s:{s:{s:I,s:I},s:{s:I,s:I},s:{s:I,s:I}},s:{s:f,s:f,s:f},s:{s:I,s:I}}",
            "jobs", (json_int_t)n, "load_order", o->random_order ? "generated" : "oldest_first",
            "queries", queries, "ready_ms", readies, "memory_kib", "idle", "rss",
            (json_int_t)idle.rss_kb, "anon", (json_int_t)idle.anon_kb, "under_load", "rss",
            (json_int_t)smp.max.rss_kb, "anon", (json_int_t)smp.max.anon_kb, "idle_after_load",
            "rss", (json_int_t)idle_after.rss_kb, "anon", (json_int_t)idle_after.anon_kb, "load_s",
            "generate_parse", ds->gen_s, "copyjobd", ds->store_load_s, "sqlite", ds->sqlite_load_s,
            "disk_kib", "copyjobd_store", (json_int_t)store_kb, "sqlite", (json_int_t)sqlite_kb);
        if (size) {
            json_object_set_new(size, "sources", json_integer(o->sources));
            json_object_set_new(size, "source_order",
                                json_string(o->interleave ? "interleaved" : "in_order"));
            json_object_set_new(size, "growth_pct", json_integer(o->growth_pct));
            json_object_set_new(size, "source_jobs",
                                json_pack("{s:I,s:I}", "min", (json_int_t)ds->source_jobs_min,
                                          "max", (json_int_t)ds->source_jobs_max));
            json_object_set_new(size, "store_size", split ? split : json_null());
        } else
            json_decref(split);
        if (!size) {
            r = -ENOMEM;
            goto out;
        }
        json_array_append_new(out_sizes, size);
    }
out:
    if (d.pid > 0)
        daemon_stop(&d);
    hc_close(&c);
    hc_close(&rc);
    proc_cpu_close(&m.dcpu);
    proc_cpu_close(&m.fcpu);
    for (int k = 0; k < _BQ_MAX; k++)
        json_decref(res[k].cpu.pages);
    cj_buf_free(&sqbody);
    cj_buf_free(&path);
    sq_close(sq);
    for (size_t i = 0; i < ds->n_arns; i++)
        free(ds->arns[i]);
    free(ds);
    if (!o->keep) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cj-bench: could not remove %s\n", dir);
    }
    return r;
}

/* ---- the performance targets ---- */

static json_t *check_targets(json_t *sizes, json_t *ingest, json_t *syncs)
{
    json_t *t = json_array(), *big = NULL;
    size_t i;
    json_t *v;
    json_array_foreach(sizes, i,
                       v) if (!big || json_integer_value(json_object_get(v, "jobs")) >
                                          json_integer_value(json_object_get(big, "jobs"))) big = v;
    if (!big)
        return t;
#define TARGET(name, value, op, limit, unit)                                                       \
    do {                                                                                           \
        double _v = (value);                                                                       \
        bool _ok = _v op(limit);                                                                   \
        printf("  %-46s %12.2f %-6s target %s %g %s  %s\n", name, _v, unit, #op, (double)(limit),  \
               unit, _ok ? "met" : "MISSED");                                                      \
        json_array_append_new(t, json_pack("{s:s,s:f,s:s,s:f,s:s,s:b}", "target", name, "value",   \
                                           _v, "op", #op, "limit", (double)(limit), "unit", unit,  \
                                           "met", _ok));                                           \
    } while (0)
    printf("\nperformance targets, at %" JSON_INTEGER_FORMAT " jobs:\n",
           json_integer_value(json_object_get(big, "jobs")));
    json_t *qs = json_object_get(big, "queries");
    const char *key;
    json_object_foreach(qs, key, v)
    {
        if (!json_is_true(json_object_get(v, "indexed")))
            continue;
        char name[96];
        snprintf(name, sizeof(name), "ratio p50 copyjobd/SQLite %s", key);
        TARGET(name, json_real_value(json_object_get(v, "ratio_p50")), <=, 1.0, "x");
    }
    json_object_foreach(qs, key, v)
    {
        json_t *cpu = json_object_get(v, "cpu");
        json_t *worst = json_object_get(cpu, "worst_page_over_floor_us");
        char name[96];
        snprintf(name, sizeof(name), "daemon CPU over the floor %s%s", key,
                 worst ? " (worst page)" : "");
        TARGET(name, json_real_value(worst ? worst : json_object_get(cpu, "over_floor_us")), <=, 20,
               "us");
    }
    TARGET("GetModelCopyJob p50",
           json_real_value(json_object_get(
               json_object_get(json_object_get(qs, "get_by_arn"), "copyjobd"), "p50_us")),
           <, 50, "us");
    TARGET("req/s, 100-row page failed_30d, 2 connections",
           json_real_value(json_object_get(
               json_object_get(
                   json_object_get(json_object_get(qs, "failed_30d_100"), "connections"), "2"),
               "requests_per_s")),
           >=, 30000, "req/s");
    json_t *mem = json_object_get(big, "memory_kib");
    double anon = 0;
    json_object_foreach(mem, key, v)
    {
        double a = (double)json_integer_value(json_object_get(v, "anon"));
        if (a > anon)
            anon = a;
    }
    TARGET("anon RSS (max of idle / under load)", anon / 1024.0, <, 16, "MiB");
    json_array_foreach(syncs, i, v)
    {
        char name[96];
        snprintf(name, sizeof(name), "anon RSS after a sync of %" JSON_INTEGER_FORMAT " jobs",
                 json_integer_value(json_object_get(v, "jobs")));
        TARGET(name, (double)json_integer_value(json_object_get(v, "anon_kib")) / 1024.0, <, 16,
               "MiB");
    }
    json_t *readies = json_object_get(big, "ready_ms");
    double best_ready = 1e18, med[8];
    size_t nr = json_array_size(readies);
    json_array_foreach(readies, i, v)
    {
        med[i < 8 ? i : 7] = json_real_value(v);
        if (med[i < 8 ? i : 7] < best_ready)
            best_ready = med[i < 8 ? i : 7];
    }
    for (size_t a = 0; a < nr; a++) /* median */
        for (size_t b = a + 1; b < nr; b++)
            if (med[b] < med[a]) {
                double x = med[a];
                med[a] = med[b];
                med[b] = x;
            }
    if (nr)
        TARGET("READY=1 after start (median)", med[nr / 2], <, 100, "ms");
    if (ingest && json_is_number(json_object_get(ingest, "jobs_per_cpu_s")))
        TARGET("ingest jobs per daemon CPU second",
               json_real_value(json_object_get(ingest, "jobs_per_cpu_s")), >=, 100000, "jobs/s");
    json_array_foreach(syncs, i, v)
    {
        char name[96];
        json_int_t n = json_integer_value(json_object_get(v, "stored"));
        double first = json_real_value(json_object_get(v, "cpu_s"));
        double again = json_real_value(json_object_get(json_object_get(v, "resync"), "cpu_s"));
        snprintf(name, sizeof(name), "first sync of %" JSON_INTEGER_FORMAT ", jobs per CPU s", n);
        TARGET(name, first > 0 ? (double)n / first : 0, >=, 100000, "jobs/s");
        snprintf(name, sizeof(name), "full pass repeated, %" JSON_INTEGER_FORMAT ", jobs per CPU s",
                 n);
        TARGET(name, again > 0 ? (double)n / again : 0, >=, 100000, "jobs/s");
    }
    return t;
}

/* The first line of a file, or of its line starting with prefix (the value after ':'). */
static void read_line(const char *path, const char *prefix, char *out, size_t len)
{
    char line[512];
    FILE *f = fopen(path, "re");
    snprintf(out, len, "?");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        if (prefix && strncmp(line, prefix, strlen(prefix)) != 0)
            continue;
        char *v = prefix ? strchr(line, ':') : NULL;
        v = v ? v + 1 : line;
        v += strspn(v, " \t");
        v[strcspn(v, "\n")] = '\0';
        snprintf(out, len, "%s", v);
        break;
    }
    fclose(f);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: cj-bench --copyjobd PATH [--jobs N[,N...]] [--ingest-jobs N] [--fake "
            "server.mjs] [--node node]\n"
            "                [--iterations N] [--walk-iterations N] [--ready-runs N] "
            "[--duration S]\n"
            "                [--sync-jobs N[,N...]|0] [--cpu-batch N] [--pin CPU|-1]\n"
            "                [--sources N] [--interleave] [--growth PCT] [--changelog-db NAME]\n"
            "                [--json FILE] [--workdir DIR] [--keep] [--random-order] [--smoke]\n"
            "--sources N: the loaded jobs belong to N sources (1..%d), the daemon configured with\n"
            "them, written through each source's pass in one listing's order or, with\n"
            "--interleave, a page of each source in turn; --growth PCT: the newest PCT %% of the\n"
            "jobs added after the passes as quick syncs add new jobs (pages of 100, each newest\n"
            "first);\n"
            "--changelog-db: the LMDB database of the change log (default events);\n"
            "--unit: every copyjobd started gets the Environment= of this unit (default %s)\n",
            GEN_SOURCES_MAX, CJ_BENCH_UNIT);
}

/* "N[,N...]", up to 4 sizes of 1..100,000,000 */
static int parse_sizes(const char *s, size_t sizes[4], size_t *n)
{
    *n = 0;
    for (const char *p = s; *p && *n < 4;) {
        char *end;
        unsigned long long v = strtoull(p, &end, 10);
        if (end == p || v == 0 || v > 100000000)
            return -EINVAL;
        sizes[(*n)++] = (size_t)v;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -EINVAL;
    }
    return *n ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
    struct opts o = {.sizes = {10000, 1000000},
                     .n_sizes = 2,
                     .node = "node",
                     .ingest_jobs = 100000,
                     .iterations = 2000,
                     .walk_iterations = 5,
                     .ready_runs = 5,
                     .duration_s = 1.5,
                     .sync_sizes = {10000, 200000, 1000000},
                     .n_sync_sizes = 3,
                     .cpu_batch = 200,
                     .pin_cpu = 0,
                     .sources = 1,
                     .changelog_db = "events",
                     .unit = CJ_BENCH_UNIT};
    static const struct option longopts[] = {
        {"jobs", required_argument, NULL, 'n'},
        {"copyjobd", required_argument, NULL, 'c'},
        {"node", required_argument, NULL, 'N'},
        {"fake", required_argument, NULL, 'f'},
        {"json", required_argument, NULL, 'j'},
        {"workdir", required_argument, NULL, 'w'},
        {"ingest-jobs", required_argument, NULL, 'i'},
        {"iterations", required_argument, NULL, 'I'},
        {"walk-iterations", required_argument, NULL, 'W'},
        {"ready-runs", required_argument, NULL, 'R'},
        {"duration", required_argument, NULL, 'd'},
        {"sync-jobs", required_argument, NULL, 'S'},
        {"cpu-batch", required_argument, NULL, 'B'},
        {"pin", required_argument, NULL, 'P'},
        {"sources", required_argument, NULL, 'M'},
        {"changelog-db", required_argument, NULL, 'E'},
        {"unit", required_argument, NULL, 'U'},
        {"interleave", no_argument, NULL, 'L'},
        {"growth", required_argument, NULL, 'G'},
        {"keep", no_argument, NULL, 'k'},
        {"random-order", no_argument, NULL, 'O'},
        {"smoke", no_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {},
    };
    char workdir[512] = "";
    int c, r;

    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) >= 0) {
        switch (c) {
        case 'n':
            if (parse_sizes(optarg, o.sizes, &o.n_sizes) < 0) {
                fprintf(stderr, "cj-bench: --jobs: a list of 1..100000000\n");
                return 2;
            }
            break;
        case 'c':
            o.copyjobd = optarg;
            break;
        case 'N':
            o.node = optarg;
            break;
        case 'f':
            o.fake = optarg;
            break;
        case 'j':
            o.json_path = optarg;
            break;
        case 'w':
            o.workdir = optarg;
            break;
        case 'i':
            o.ingest_jobs = strtoul(optarg, NULL, 10);
            break;
        case 'I':
            o.iterations = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'W':
            o.walk_iterations = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'R':
            o.ready_runs = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'd':
            o.duration_s = strtod(optarg, NULL);
            break;
        case 'S':
            if (strcmp(optarg, "0") == 0)
                o.n_sync_sizes = 0;
            else if (parse_sizes(optarg, o.sync_sizes, &o.n_sync_sizes) < 0) {
                fprintf(stderr, "cj-bench: --sync-jobs: 0 or a list of 1..100000000\n");
                return 2;
            }
            break;
        case 'B':
            o.cpu_batch = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'P':
            o.pin_cpu = atoi(optarg);
            break;
        case 'M': {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (*end || v < 1 || v > GEN_SOURCES_MAX) {
                fprintf(stderr, "cj-bench: --sources: 1..%d\n", GEN_SOURCES_MAX);
                return 2;
            }
            o.sources = (unsigned)v;
            break;
        }
        case 'E':
            o.changelog_db = optarg;
            break;
        case 'U':
            o.unit = strcmp(optarg, "none") == 0 ? NULL : optarg;
            break;
        case 'L':
            o.interleave = true;
            break;
        case 'G': {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (*end || v > 99) {
                fprintf(stderr, "cj-bench: --growth: 0..99 (percent)\n");
                return 2;
            }
            o.growth_pct = (unsigned)v;
            break;
        }
        case 'k':
            o.keep = true;
            break;
        case 'O':
            o.random_order = true;
            break;
        case 's':
            o.sizes[0] = 10000;
            o.n_sizes = 1;
            o.ingest_jobs = 2000;
            o.iterations = 64;
            o.walk_iterations = 1;
            o.ready_runs = 2;
            o.duration_s = 0.1;
            o.sync_sizes[0] = 2000;
            o.n_sync_sizes = 1;
            o.cpu_batch = 32;
            break;
        default:
            usage();
            return c == 'h' ? 0 : 2;
        }
    }
    if (!o.copyjobd || access(o.copyjobd, X_OK) < 0 || o.iterations < 1 || o.ready_runs < 1 ||
        o.ready_runs > 8 || o.walk_iterations < 1 || !(o.duration_s > 0 && o.duration_s < 60) ||
        o.cpu_batch < 1) {
        usage();
        return 2;
    }
    if (o.unit && (r = daemon_environment_load(o.unit)) < 0) {
        fprintf(stderr, "cj-bench: %s: cannot take its Environment= lines: %s\n", o.unit,
                strerror(-r));
        return 2;
    }
    if (!o.workdir) {
        const char *tmp = getenv("TMPDIR");
        snprintf(workdir, sizeof(workdir), "%s/cj-bench-XXXXXX", tmp && *tmp ? tmp : "/var/tmp");
        if (!mkdtemp(workdir)) {
            fprintf(stderr, "cj-bench: mkdtemp %s: %m\n", workdir);
            return 1;
        }
        o.workdir = workdir;
    } else if (mkdir(o.workdir, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "cj-bench: mkdir %s: %m\n", o.workdir);
        return 1;
    }

    char cpu_model[256], memtotal[64], load_start[128], load_end[128];
    read_line("/proc/cpuinfo", "model name", cpu_model, sizeof(cpu_model));
    read_line("/proc/meminfo", "MemTotal", memtotal, sizeof(memtotal));
    read_line("/proc/loadavg", NULL, load_start, sizeof(load_start));
    /* The floor's process, forked now while this one is small (before any data set). */
    struct replay replay;
    r = replay_start(o.workdir, &replay);
    if (r < 0) {
        fprintf(stderr, "cj-bench: the replay server: %s\n", strerror(-r));
        return 1;
    }
    o.replay = &replay;
    json_t *sizes = json_array();
    for (size_t i = 0; i < o.n_sizes; i++) {
        r = run_size(&o, o.sizes[i], sizes);
        if (r < 0) {
            fprintf(stderr, "cj-bench: the %zu-job run failed: %s\n", o.sizes[i], strerror(-r));
            return 1;
        }
    }

    json_t *ingest = json_null();
    if (o.ingest_jobs > 0) {
        if (!o.fake) {
            fprintf(stderr, "cj-bench: --ingest-jobs needs --fake PATH/server.mjs\n");
            return 2;
        }
        double wall = 0, cpu = 0, sys = 0;
        size_t stored = 0;
        fprintf(stderr, "cj-bench: ingest: copyjobd --once from the fake endpoint, %zu jobs ...\n",
                o.ingest_jobs);
        r = ingest_run(o.copyjobd, o.node, o.fake, o.ingest_jobs, o.workdir, &wall, &cpu, &sys,
                       &stored);
        if (r < 0) {
            fprintf(stderr, "cj-bench: ingest failed: %s\n", strerror(-r));
            return 1;
        }
        printf("\ningest: %zu jobs (stored %zu) by copyjobd --once: wall %.2f s (%.0f jobs/s), "
               "daemon CPU %.2f s (user %.2f, system %.2f; %.2f s per 100,000 jobs, %.0f jobs per "
               "CPU second)\n",
               o.ingest_jobs, stored, wall, (double)o.ingest_jobs / wall, cpu, cpu - sys, sys,
               cpu * 100000.0 / (double)o.ingest_jobs, (double)o.ingest_jobs / cpu);
        ingest = json_pack(
            "{s:I,s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "jobs", (json_int_t)o.ingest_jobs, "stored",
            (json_int_t)stored, "wall_s", wall, "cpu_s", cpu, "user_s", cpu - sys, "system_s", sys,
            "jobs_per_wall_s", (double)o.ingest_jobs / wall, "cpu_s_per_100k",
            cpu * 100000.0 / (double)o.ingest_jobs, "jobs_per_cpu_s", (double)o.ingest_jobs / cpu);
    }

    replay_stop(&replay);

    json_t *syncs = json_array();
    if (o.n_sync_sizes > 0 && !o.fake) {
        fprintf(stderr, "cj-bench: --sync-jobs needs --fake PATH/server.mjs\n");
        return 2;
    }
    if (o.n_sync_sizes > 0)
        printf("\nmemory after a sync from the fake endpoint (KiB, 300 ms after /v1/health says "
               "ok):\n");
    for (size_t i = 0; i < o.n_sync_sizes; i++) {
        struct sync_mem sm;
        fprintf(stderr, "cj-bench: memory: copyjobd syncing %zu jobs from the fake endpoint ...\n",
                o.sync_sizes[i]);
        r = sync_memory_run(o.copyjobd, o.node, o.fake, o.sync_sizes[i], o.workdir, o.keep, &sm);
        if (r < 0) {
            fprintf(stderr, "cj-bench: the %zu-job sync failed: %s\n", o.sync_sizes[i],
                    strerror(-r));
            return 1;
        }
        printf("  %8zu jobs (stored %zu): RSS %ld anon %ld; sync %.1f s wall, daemon CPU %.2f s "
               "(%.0f jobs per CPU second; %.3f s of it to READY=1), the fake's CPU %.2f s\n",
               sm.jobs, sm.stored, sm.mem.rss_kb, sm.mem.anon_kb, sm.wall_s, sm.cpu_s,
               sm.cpu_s > 0 ? (double)sm.stored / sm.cpu_s : 0, sm.start_cpu_s, sm.fake_cpu_s);
        printf("           the full pass repeated over them: %.1f s wall, daemon CPU %.2f s (%.0f "
               "jobs per CPU second), the fake's CPU %.2f s, %zu changed\n",
               sm.resync_wall_s, sm.resync_cpu_s,
               sm.resync_cpu_s > 0 ? (double)sm.stored / sm.resync_cpu_s : 0, sm.resync_fake_cpu_s,
               sm.resync_changed);
        const struct lmdb_split *ls = &sm.store;
        uint64_t events = 0, kib = ls->page_size / 1024;
        for (size_t d = 0; d < ls->n; d++)
            if (is_changelog_db(ls->db[d].name, "events"))
                events += ls->db[d].pages;
        printf("           store: file %" PRIu64 " KiB, of which change log %" PRIu64
               " KiB and free %" PRIu64 " KiB\n",
               ls->used_pages * kib, events * kib, ls->free_pages * kib);
        json_array_append_new(
            syncs,
            json_pack("{s:I,s:I,s:I,s:I,s:f,s:f,s:f,s:f,s:I,s:I,s:I,s:{s:f,s:f,s:f,s:I}}", "jobs",
                      (json_int_t)sm.jobs, "stored", (json_int_t)sm.stored, "rss_kib",
                      (json_int_t)sm.mem.rss_kb, "anon_kib", (json_int_t)sm.mem.anon_kb, "wall_s",
                      sm.wall_s, "cpu_s", sm.cpu_s, "start_cpu_s", sm.start_cpu_s, "fake_cpu_s",
                      sm.fake_cpu_s, "store_kib", (json_int_t)(ls->used_pages * kib), "events_kib",
                      (json_int_t)(events * kib), "free_kib", (json_int_t)(ls->free_pages * kib),
                      "resync", "wall_s", sm.resync_wall_s, "cpu_s", sm.resync_cpu_s, "fake_cpu_s",
                      sm.resync_fake_cpu_s, "changed", (json_int_t)sm.resync_changed));
    }

    json_t *targets = check_targets(sizes, ingest, syncs);
    read_line("/proc/loadavg", NULL, load_end, sizeof(load_end));
    printf("\nmachine: %ld CPUs, %s, memory %s; load average at start %s, at end %s\n",
           sysconf(_SC_NPROCESSORS_ONLN), cpu_model, memtotal, load_start, load_end);
    size_t n_env;
    const char *const *env = daemon_environment(&n_env);
    json_t *env_json = json_array();
    printf("copyjobd's environment from %s:", o.unit ? o.unit : "no unit");
    for (size_t i = 0; i < n_env; i++) {
        printf(" %s", env[i]);
        json_array_append_new(env_json, json_string(env[i]));
    }
    printf("%s\n", n_env ? "" : " none");
    struct utsname un;
    uname(&un);
    time_t now = time(NULL);
    char when[32];
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    json_t *root = json_pack(
        "{s:s,s:I,s:{s:s,s:s,s:I,s:s,s:s,s:s,s:s},s:o,s:o,s:o,s:o,s:{s:I,s:I,s:I,s:f,s:I,s:I}}",
        "date", when, "sources", (json_int_t)o.sources, "machine", "kernel", un.release, "arch",
        un.machine, "cpus", (json_int_t)sysconf(_SC_NPROCESSORS_ONLN), "cpu_model", cpu_model,
        "memory", memtotal, "loadavg_start", load_start, "loadavg_end", load_end, "sizes", sizes,
        "ingest", ingest, "sync_memory", syncs, "targets", targets, "settings", "iterations",
        (json_int_t)o.iterations, "walk_iterations", (json_int_t)o.walk_iterations, "ready_runs",
        (json_int_t)o.ready_runs, "duration_s", o.duration_s, "cpu_batch", (json_int_t)o.cpu_batch,
        "pin_cpu", (json_int_t)o.pin_cpu);
    if (root) {
        json_object_set_new(root, "source_order",
                            json_string(o.interleave ? "interleaved" : "in_order"));
        json_object_set_new(root, "daemon_environment", env_json);
    } else {
        json_decref(env_json);
    }
    if (!root) {
        fprintf(stderr, "cj-bench: cannot build the JSON result\n");
        return 1;
    }
    if (o.json_path && json_dump_file(root, o.json_path, JSON_INDENT(2) | JSON_SORT_KEYS) < 0) {
        fprintf(stderr, "cj-bench: cannot write %s\n", o.json_path);
        return 1;
    }
    json_decref(root);
    if (workdir[0] && !o.keep) {
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", workdir);
        if (system(cmd) != 0)
            fprintf(stderr, "cj-bench: could not remove %s\n", workdir);
    }
    return 0;
}
