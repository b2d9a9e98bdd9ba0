/* SPDX-License-Identifier: MIT */
/* The synthetic data set: the fake endpoint's mix (tests/fake-bedrock/lib/dataset.mjs), drawn
 * from a seeded PRNG so that every run loads the same jobs. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bench.h"

#define SPREAD_S (400 * 86400)
#define REGION   "us-east-1"

/* The regions jobs run in (their jobArn's and target's), one per job from its id's first
 * character (no draw of its own: the rest of the data set stays the same). */
const char *const gen_job_regions[GEN_JOB_REGIONS] = {REGION, "us-west-2", "eu-west-1",
                                                      "ap-northeast-1"};

static const char *const source_regions[] = {"us-west-2", "eu-central-1", "eu-west-1",
                                             "ap-northeast-1", "ap-southeast-2"};
static const char *const foundation_models[] = {
    "amazon.titan-text-express-v1:0:8k",   "amazon.titan-text-lite-v1:0:4k",
    "amazon.titan-embed-text-v2:0:8k",     "amazon.nova-micro-v1:0:128k",
    "amazon.nova-lite-v1:0:300k",          "anthropic.claude-3-haiku-20240307-v1:0:200k",
    "meta.llama3-1-8b-instruct-v1:0:128k", "meta.llama3-2-11b-instruct-v1:0:128k",
    "cohere.command-light-text-v14:7:4k",
};
static const char *const domains[] = {"claims",  "support", "legal",  "fraud",
                                      "invoice", "medical", "retail", "hr",
                                      "finance", "search",  "chat",   "code"};
static const char *const tasks[] = {"summarizer", "classifier", "extractor", "assistant",
                                    "ranker",     "translator", "tagger",    "qa"};
static const char *const suffixes[] = {"",         "",    "",      "-copy", "-prod",
                                       "-staging", "-eu", "-use1", "-dr",   "2"};
static const char *const tag_keys[] = {"team",       "env",       "cost-center",
                                       "project",    "owner",     "data-classification",
                                       "created-by", "compliance"};
static const char *const tag_values[][4] = {
    {"ml-platform", "claims-ai", "search relevance", "trust.safety"},
    {"prod", "staging", "dev", "dr"},
    {"cc:4410", "cc:5120", "cc:7781", "cc:9001"},
    {"genai/claims", "genai/support", "q3 launch", "migration=2025"},
    {"alice@example.com", "bob@example.com", "ml-ops@example.com", "carol@example.com"},
    {"internal", "confidential", "PII+restricted", "public"},
    {"copy-pipeline", "terraform", "console", "cdk"},
    {"hipaa", "soc2", "gdpr", ""},
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char id_alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";

uint64_t gen_next(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static unsigned rnd(struct gen *g, unsigned n)
{
    return (unsigned)(gen_next(&g->rng) % n);
}

static double rndf(struct gen *g)
{
    return (double)(gen_next(&g->rng) >> 11) / (double)(UINT64_C(1) << 53);
}

static void rnd_string(struct gen *g, char *out, size_t n, const char *alphabet, size_t alen)
{
    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[rnd(g, (unsigned)alen)];
    out[n] = '\0';
}

static void rnd_digits(struct gen *g, char *out, size_t n)
{
    rnd_string(g, out, n, "0123456789", 10);
    if (out[0] == '0')
        out[0] = '7';
}

void gen_init(struct gen *g, uint64_t seed)
{
    *g = (struct gen){.rng = seed};
    /* 2025-06-01T00:00:00Z: the newest job is at most this old. */
    g->epoch_ns = INT64_C(1748736000) * 1000000000;
    rnd_digits(g, g->region_account, 12);
    strcpy(g->accounts[0], g->region_account);
    for (int i = 1; i < GEN_ACCOUNTS; i++)
        rnd_digits(g, g->accounts[i], 12);
    for (int i = 0; i < 4; i++) {
        char u[37];
        rnd_string(g, u, 36, "0123456789abcdef", 16);
        u[8] = u[13] = u[18] = u[23] = '-';
        snprintf(g->kms_keys[i], sizeof(g->kms_keys[i]), "arn:aws:kms:%s:%s:key/%s", REGION,
                 g->region_account, u);
    }
    for (int i = 0; i < GEN_MODELS; i++) {
        char id[13];
        int acct = (int)rnd(g, GEN_ACCOUNTS);
        int fm = (int)rnd(g, N(foundation_models));
        const char *region = source_regions[rnd(g, N(source_regions))];
        rnd_string(g, id, 12, id_alphabet, 36);
        snprintf(g->model_names[i], sizeof(g->model_names[i]), "%s-%s-v%u",
                 domains[rnd(g, N(domains))], tasks[rnd(g, N(tasks))], 1 + rnd(g, 5));
        snprintf(g->model_arns[i], sizeof(g->model_arns[i]),
                 "arn:aws:bedrock:%s:%s:custom-model/%s/%s", region, g->accounts[acct],
                 foundation_models[fm], id);
        g->model_account[i] = acct;
        g->model_fm[i] = fm;
    }
}

static void format_time(struct gen *g, int64_t seconds, char *out, size_t len)
{
    struct tm tm;
    time_t t = (time_t)seconds;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
    double r = rndf(g);
    if (r < 0.4)
        snprintf(out + n, len - n, "Z");
    else if (r < 0.9)
        snprintf(out + n, len - n, ".%03uZ", 1 + rnd(g, 999));
    else
        snprintf(out + n, len - n, ".%06uZ", (1 + rnd(g, 999998)) | 1);
}

static int append_job(struct gen *g, struct cj_buf *b)
{
    char id[13], target_id[13], when[40];
    const char *status;
    double r = rndf(g);
    int m = (int)rnd(g, GEN_MODELS);
    int rr;

    rnd_string(g, id, 12, id_alphabet, 36);
    status = r < 0.10 ? "InProgress" : r < 0.85 ? "Completed" : "Failed";
    if (g->n_tie_times > 0 && rndf(g) < 0.07) {
        strcpy(
            when,
            g->tie_times[rnd(g, (unsigned)(g->n_tie_times < N(g->tie_times) ? g->n_tie_times
                                                                            : N(g->tie_times)))]);
    } else {
        format_time(g, g->epoch_ns / 1000000000 - 1 - rnd(g, SPREAD_S), when, sizeof(when));
        strcpy(g->tie_times[g->n_tie_times % N(g->tie_times)], when);
        g->n_tie_times++;
    }
    rnd_string(g, target_id, 12, id_alphabet, 36);
    const char *suffix = suffixes[rnd(g, N(suffixes))];
    const char *job_region = gen_job_regions[(unsigned char)id[0] % GEN_JOB_REGIONS];

    rr = cj_buf_printf(b,
                       "{\"jobArn\":\"arn:aws:bedrock:%s:%s:model-copy-job/%s\",\"status\":\"%s\","
                       "\"creationTime\":\"%s\",\"targetModelArn\":\"arn:aws:bedrock:%s:%s:custom-"
                       "model/%s/%s\",\"targetModelName\":\"%s%s\",\"sourceAccountId\":\"%s\","
                       "\"sourceModelArn\":\"%s\"",
                       job_region, g->region_account, id, status, when, job_region,
                       g->region_account, foundation_models[g->model_fm[m]], target_id,
                       g->model_names[m], suffix, g->accounts[g->model_account[m]],
                       g->model_arns[m]);
    if (rr < 0)
        return rr;
    if (rndf(g) < 0.3)
        cj_buf_printf(b, ",\"targetModelKmsKeyArn\":\"%s\"", g->kms_keys[rnd(g, 4)]);
    unsigned ntags = rnd(g, 6);
    if (ntags > 0 || rndf(g) < 0.5) {
        bool used[N(tag_keys)] = {0};
        cj_buf_append_str(b, ",\"targetModelTags\":[");
        for (unsigned i = 0; i < ntags; i++) {
            unsigned k;
            do
                k = rnd(g, N(tag_keys));
            while (used[k]);
            used[k] = true;
            cj_buf_printf(b, "%s{\"key\":\"%s\",\"value\":\"%s\"}", i ? "," : "", tag_keys[k],
                          tag_values[k][rnd(g, 4)]);
        }
        cj_buf_append_char(b, ']');
    }
    if (strcmp(status, "Failed") == 0) {
        switch (rnd(g, 5)) {
        case 0:
            cj_buf_printf(b,
                          ",\"failureMessage\":\"The source model %s could not be found or you "
                          "do not have permission to access it.\"",
                          g->model_arns[m]);
            break;
        case 1:
            cj_buf_printf(b,
                          ",\"failureMessage\":\"Access denied when using KMS key %s. Grant "
                          "Amazon Bedrock kms:Decrypt and kms:GenerateDataKey.\"",
                          g->kms_keys[rnd(g, 4)]);
            break;
        case 2:
            cj_buf_append_str(b, ",\"failureMessage\":\"An internal error occurred while copying "
                                 "the model artifacts. Retry the request.\"");
            break;
        case 3:
            cj_buf_printf(b,
                          ",\"failureMessage\":\"Cross-account copy from account %s is not "
                          "allowed by the source model's resource policy.\"",
                          g->accounts[g->model_account[m]]);
            break;
        default:
            cj_buf_append_str(
                b, ",\"failureMessage\":\"The model copy job timed out after 24 hours.\"");
        }
    }
    if (rndf(g) < 0.7)
        cj_buf_printf(b, ",\"sourceModelName\":\"%s\"", g->model_names[m]);
    return cj_buf_append_char(b, '}');
}

int gen_page(struct gen *g, size_t n, struct cj_page *ret)
{
    _cleanup_buf_ struct cj_buf b = {0};
    char err[256] = "";
    int r;

    r = cj_buf_append_str(&b, "{\"modelCopyJobSummaries\":[");
    for (size_t i = 0; r >= 0 && i < n; i++) {
        if (i)
            cj_buf_append_char(&b, ',');
        r = append_job(g, &b);
    }
    if (r >= 0)
        r = cj_buf_append_str(&b, "]}");
    if (r < 0)
        return r;
    r = cj_page_parse(b.data, b.len, ret, err, sizeof(err));
    if (r < 0) {
        fprintf(stderr, "cj-bench: generated page does not parse: %s\n", err);
        return r;
    }
    if (ret->n_jobs != n || ret->n_skipped) {
        fprintf(stderr, "cj-bench: generated %zu jobs, parser kept %zu (skipped %zu)\n", n,
                ret->n_jobs, ret->n_skipped);
        return -EBADMSG;
    }
    g->made += n;
    return 0;
}
