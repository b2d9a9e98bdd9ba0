/* SPDX-License-Identifier: MIT */
/* cj_sigv4_sign against the AWS SigV4 test suites and botocore's Bedrock known answers
 * (tests/data/sigv4, see its README), byte for byte: canonical request, string to sign,
 * Authorization. Every vector found is run; the count is asserted so none goes missing.
 *
 * What is not run, and why:
 * - the aws-c-auth `query-*` (presigned URL) variants: copyjobd signs headers only, and
 *   those files were not copied;
 * - nothing else: POST bodies are hashed into payload_sha256, `sign_body` adds the
 *   x-amz-content-sha256 header, repeated query keys, multi-line and repeated headers,
 *   raw spaces and UTF-8 in paths are all handled. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sigv4.h"

#define VECTOR_TIME     INT64_C(1440938160) /* 2015-08-30T12:36:00Z */
#define VECTOR_DATE     "20150830T123600Z"
#define VECTOR_AKID     "AKIDEXAMPLE"
#define VECTOR_SECRET   "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define VECTOR_REGION   "us-east-1"
#define VECTOR_SERVICE  "service"
#define VANILLA_TOKEN   "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"
#define MAX_HEADERS     32
#define MAX_PARAMS      32
#define MAX_FILE_SIZE   (1024 * 1024)
#define CLASSIC_DIR     CJ_TEST_DATA "/sigv4/aws-sig-v4-test-suite"
#define NEW_DIR         CJ_TEST_DATA "/sigv4/aws-signing-test-suite-v4"
#define BOTOCORE_ANSWER CJ_TEST_DATA "/sigv4/bedrock/sigv4-known-answers.botocore.json"

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(MAX_FILE_SIZE + 1);
    assert_non_null(buf);
    size_t n = fread(buf, 1, MAX_FILE_SIZE + 1, f);
    fclose(f);
    assert_true(n <= MAX_FILE_SIZE);
    buf[n] = '\0';
    return buf;
}

static char *read_file_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *read_file_fmt(const char *fmt, ...)
{
    char *path;
    va_list ap;
    va_start(ap, fmt);
    assert_true(vasprintf(&path, fmt, ap) > 0);
    va_end(ap);
    char *s = read_file(path);
    if (!s)
        print_error("cannot read %s: %s\n", path, strerror(errno));
    free(path);
    return s;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..len) ('+' stays '+': it is not a space in SigV4). */
static char *percent_decode(const char *s, size_t len)
{
    char *out = malloc(len + 1), *p = out;
    assert_non_null(out);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            *p++ = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
            i += 2;
        } else {
            *p++ = s[i];
        }
    }
    *p = '\0';
    return out;
}

/* A request as the vectors describe it, split into what cj_sigv4_sign takes. */
struct vector_request {
    char *method;
    char *path;
    char *host;
    char *amz_date;
    char *token;
    struct cj_kv headers[MAX_HEADERS];
    size_t n_headers;
    struct cj_kv params[MAX_PARAMS];
    size_t n_params;
    char *body;
};

static void vector_request_done(struct vector_request *v)
{
    free(v->method);
    free(v->path);
    free(v->host);
    free(v->amz_date);
    free(v->token);
    for (size_t i = 0; i < v->n_headers; i++) {
        free((char *)v->headers[i].key);
        free((char *)v->headers[i].value);
    }
    for (size_t i = 0; i < v->n_params; i++) {
        free((char *)v->params[i].key);
        free((char *)v->params[i].value);
    }
    free(v->body);
    *v = (struct vector_request){};
}

/* "k=v&k2&..." into decoded pairs; "k" alone is a valueless parameter. */
static void parse_query(const char *q, struct vector_request *v)
{
    while (*q) {
        size_t len = strcspn(q, "&");
        if (len > 0) {
            assert_true(v->n_params < MAX_PARAMS);
            const char *eq = memchr(q, '=', len);
            struct cj_kv *kv = &v->params[v->n_params++];
            if (eq) {
                kv->key = percent_decode(q, (size_t)(eq - q));
                kv->value = percent_decode(eq + 1, len - (size_t)(eq - q) - 1);
            } else {
                kv->key = percent_decode(q, len);
                kv->value = NULL;
            }
        }
        q += len;
        if (*q == '&')
            q++;
    }
}

static void set_target(const char *target, size_t len, struct vector_request *v)
{
    const char *qm = memchr(target, '?', len);
    size_t path_len = qm ? (size_t)(qm - target) : len;
    v->path = strndup(target, path_len);
    assert_non_null(v->path);
    if (qm) {
        char *q = strndup(qm + 1, len - path_len - 1);
        assert_non_null(q);
        parse_query(q, v);
        free(q);
    }
}

/* Request line (the target may hold spaces: method is up to the first one, the version
 * after the last), headers with continuation lines kept as "\n" + line (the signer folds
 * them), Host / X-Amz-Date / X-Amz-Security-Token taken out, then the body. */
static void parse_request(const char *text, struct vector_request *v)
{
    const char *line = text;
    const char *eol = strchr(line, '\n');
    size_t len = eol ? (size_t)(eol - line) : strlen(line);
    const char *sp1 = memchr(line, ' ', len);
    const char *sp2 = memrchr(line, ' ', len);
    assert_non_null(sp1);
    assert_true(sp2 > sp1);
    v->method = strndup(line, (size_t)(sp1 - line));
    set_target(sp1 + 1, (size_t)(sp2 - sp1 - 1), v);

    struct cj_kv *last = NULL;
    line = eol ? eol + 1 : line + len;
    while (*line) {
        eol = strchr(line, '\n');
        len = eol ? (size_t)(eol - line) : strlen(line);
        const char *next = eol ? eol + 1 : line + len;
        if (len > 0 && line[len - 1] == '\r')
            len--;
        if (len == 0) {
            v->body = strdup(next);
            break;
        }
        if (line[0] == ' ' || line[0] == '\t') {
            assert_non_null(last);
            char *joined;
            assert_true(asprintf(&joined, "%s\n%.*s", last->value, (int)len, line) > 0);
            free((char *)last->value);
            last->value = joined;
        } else {
            const char *colon = memchr(line, ':', len);
            assert_non_null(colon);
            assert_true(v->n_headers < MAX_HEADERS);
            last = &v->headers[v->n_headers++];
            last->key = strndup(line, (size_t)(colon - line));
            last->value = strndup(colon + 1, len - (size_t)(colon - line) - 1);
        }
        line = next;
    }
    if (!v->body)
        v->body = strdup("");

    /* Move out what the signer takes from the request and the credentials. */
    size_t kept = 0;
    for (size_t i = 0; i < v->n_headers; i++) {
        char **dest = NULL;
        if (strcasecmp(v->headers[i].key, "host") == 0)
            dest = &v->host;
        else if (strcasecmp(v->headers[i].key, "x-amz-date") == 0)
            dest = &v->amz_date;
        else if (strcasecmp(v->headers[i].key, "x-amz-security-token") == 0)
            dest = &v->token;
        if (dest) {
            assert_null(*dest);
            *dest = (char *)v->headers[i].value;
            free((char *)v->headers[i].key);
        } else {
            v->headers[kept++] = v->headers[i];
        }
    }
    v->n_headers = kept;
    assert_non_null(v->host);
}

static bool same(const char *vector, const char *what, const char *expected, const char *got)
{
    if (expected && got && strcmp(expected, got) == 0)
        return true;
    print_error("%s: %s differs\n--- expected\n%s\n--- got\n%s\n---\n", vector, what,
                expected ? expected : "(none)", got ? got : "(none)");
    return false;
}

struct vector_context {
    const char *name;
    const char *region, *service;
    const char *token; /* signed as x-amz-security-token when set */
    bool normalize;
    bool sign_body;
};

struct vector_expectation {
    const char *creq, *sts, *authz, *date;
};

/* Signs v under ctx; true when all of exp matches. */
static bool sign_and_compare(struct vector_request *v, const struct vector_context *ctx,
                             const struct vector_expectation *exp)
{
    _cleanup_buf_ struct cj_buf query = {};
    struct cj_sigv4_result res = {};
    char payload[65];
    bool ok = true;

    assert_int_equal(cj_sigv4_canonical_query(v->params, v->n_params, &query), 0);
    assert_int_equal(cj_sha256_hex(v->body, strlen(v->body), payload), 0);
    if (ctx->sign_body) {
        assert_true(v->n_headers < MAX_HEADERS);
        v->headers[v->n_headers].key = strdup("X-Amz-Content-Sha256");
        v->headers[v->n_headers].value = strdup(payload);
        v->n_headers++;
    }

    struct cj_sigv4_request req = {
        .method = v->method,
        .path = v->path,
        .query = query.data,
        .headers = v->headers,
        .n_headers = v->n_headers,
        .host = v->host,
        .payload_sha256 = payload,
        .region = ctx->region,
        .service = ctx->service,
        .time_sec = VECTOR_TIME,
        .double_encode_path = true,
        .normalize_path = ctx->normalize,
    };
    struct cj_aws_credentials creds = {
        .access_key_id = (char *)VECTOR_AKID,
        .secret_access_key = (char *)VECTOR_SECRET,
        .session_token = (char *)ctx->token,
    };
    int r = cj_sigv4_sign(&req, &creds, &res);
    if (r < 0) {
        print_error("%s: cj_sigv4_sign failed: %s\n", ctx->name, strerror(-r));
        return false;
    }
    ok &= same(ctx->name, "canonical request", exp->creq, res.canonical_request);
    ok &= same(ctx->name, "string to sign", exp->sts, res.string_to_sign);
    ok &= same(ctx->name, "authorization", exp->authz, res.authorization);
    ok &= same(ctx->name, "x-amz-date", exp->date ? exp->date : VECTOR_DATE, res.amz_date);
    /* The secret never appears in anything the signer hands out. */
    ok &= !strstr(res.canonical_request, VECTOR_SECRET) &&
          !strstr(res.string_to_sign, VECTOR_SECRET) && !strstr(res.authorization, VECTOR_SECRET);
    cj_sigv4_result_done(&res);
    return ok;
}

/* ---- classic format: <dir>/<case>/<case>.{req,creq,sts,authz} ---- */

static bool run_classic_case(const char *rel)
{
    const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
    _cleanup_free_ char *req_text = read_file_fmt("%s/%s/%s.req", CLASSIC_DIR, rel, base);
    _cleanup_free_ char *creq = read_file_fmt("%s/%s/%s.creq", CLASSIC_DIR, rel, base);
    _cleanup_free_ char *sts = read_file_fmt("%s/%s/%s.sts", CLASSIC_DIR, rel, base);
    _cleanup_free_ char *authz = read_file_fmt("%s/%s/%s.authz", CLASSIC_DIR, rel, base);
    struct vector_request v = {};

    assert_non_null(req_text);
    assert_non_null(creq);
    assert_non_null(sts);
    assert_non_null(authz);
    parse_request(req_text, &v);
    assert_string_equal(v.amz_date, VECTOR_DATE);

    /* The classic format has no context file: botocore's runner supplies this token. */
    if (strcmp(base, "get-vanilla-with-session-token") == 0) {
        assert_null(v.token);
        v.token = strdup(VANILLA_TOKEN);
    }
    struct vector_context ctx = {
        .name = rel,
        .region = VECTOR_REGION,
        .service = VECTOR_SERVICE,
        .token = v.token,
        .normalize = true, /* every classic case is a non-S3 request */
    };
    struct vector_expectation exp = {.creq = creq, .sts = sts, .authz = authz};
    bool ok = sign_and_compare(&v, &ctx, &exp);
    vector_request_done(&v);
    return ok;
}

static int dirent_compare(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int select_case_dir(const struct dirent *d)
{
    /* d_type may be DT_UNKNOWN; the callers stat what they need. */
    return d->d_name[0] != '.' && (d->d_type == DT_DIR || d->d_type == DT_UNKNOWN);
}

/* Walks rel (relative to CLASSIC_DIR): a folder holding <name>.req is a case, any other
 * folder (normalize-path, post-sts-token) groups cases. Depth is bounded by the data. */
static void walk_classic(const char *rel, int depth, size_t *n_run, size_t *n_failed)
{
    struct dirent **list = NULL;
    _cleanup_free_ char *dir = NULL;

    assert_true(depth < 3);
    assert_true(asprintf(&dir, "%s%s%s", CLASSIC_DIR, *rel ? "/" : "", rel) > 0);
    int n = scandir(dir, &list, select_case_dir, dirent_compare);
    assert_true(n >= 0);
    for (int i = 0; i < n; i++) {
        _cleanup_free_ char *sub = NULL, *req = NULL, *path = NULL;
        assert_true(asprintf(&sub, "%s%s%s", rel, *rel ? "/" : "", list[i]->d_name) > 0);
        assert_true(asprintf(&req, "%s/%s/%s.req", CLASSIC_DIR, sub, list[i]->d_name) > 0);
        struct stat st;
        assert_true(asprintf(&path, "%s/%s", CLASSIC_DIR, sub) > 0);
        assert_int_equal(stat(path, &st), 0);
        if (!S_ISDIR(st.st_mode)) {
            /* a file (LICENSE, NOTICE) seen through DT_UNKNOWN */
        } else if (access(req, R_OK) == 0) {
            (*n_run)++;
            if (!run_classic_case(sub))
                (*n_failed)++;
        } else {
            walk_classic(sub, depth + 1, n_run, n_failed);
        }
        free(list[i]);
    }
    free(list);
}

static void test_classic_suite(void **state)
{
    size_t n_run = 0, n_failed = 0;
    walk_classic("", 0, &n_run, &n_failed);
    print_message("classic suite: %zu cases, %zu failed\n", n_run, n_failed);
    assert_int_equal(n_run, 34);
    assert_int_equal(n_failed, 0);
}

/* ---- aws-c-auth format: context.json, request.txt, header-*.txt ---- */

/* The value of a top-level "key": true/false in context.json (a flat, known file). */
static bool json_bool(const char *json, const char *key, bool dflt)
{
    _cleanup_free_ char *needle = NULL;
    assert_true(asprintf(&needle, "\"%s\":", key) > 0);
    const char *p = strstr(json, needle);
    if (!p)
        return dflt;
    p += strlen(needle);
    p += strspn(p, " \t\r\n");
    if (strncmp(p, "true", 4) == 0)
        return true;
    assert_true(strncmp(p, "false", 5) == 0);
    return false;
}

/* Decodes the JSON string starting at p (on its opening quote); handles the escapes the
 * vector files use. */
static char *json_string_at(const char *p)
{
    assert_int_equal(*p, '"');
    p++;
    size_t cap = strlen(p) + 1, n = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    for (; *p && *p != '"'; p++) {
        char c = *p;
        if (c == '\\') {
            p++;
            switch (*p) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case '"':
            case '\\':
            case '/':
                c = *p;
                break;
            default:
                fail_msg("unsupported JSON escape \\%c", *p);
            }
        }
        out[n++] = c;
    }
    assert_int_equal(*p, '"');
    out[n] = '\0';
    return out;
}

/* The string (or NULL for null / absent) of the first "key": after `from` and before `end`. */
static char *json_string(const char *from, const char *end, const char *key)
{
    _cleanup_free_ char *needle = NULL;
    assert_true(asprintf(&needle, "\"%s\":", key) > 0);
    const char *p = strstr(from, needle);
    if (!p || (end && p >= end))
        return NULL;
    p += strlen(needle);
    p += strspn(p, " \t\r\n");
    if (strncmp(p, "null", 4) == 0)
        return NULL;
    return json_string_at(p);
}

/* The value of the Authorization line of a signed request. */
static char *authorization_line(const char *signed_request)
{
    const char *p = strstr(signed_request, "\nAuthorization:");
    assert_non_null(p);
    p += strlen("\nAuthorization:");
    p += strspn(p, " ");
    return strndup(p, strcspn(p, "\r\n"));
}

static bool run_new_case(const char *name)
{
    _cleanup_free_ char *ctx_json = read_file_fmt("%s/%s/context.json", NEW_DIR, name);
    _cleanup_free_ char *req_text = read_file_fmt("%s/%s/request.txt", NEW_DIR, name);
    _cleanup_free_ char *creq = read_file_fmt("%s/%s/header-canonical-request.txt", NEW_DIR, name);
    _cleanup_free_ char *sts = read_file_fmt("%s/%s/header-string-to-sign.txt", NEW_DIR, name);
    _cleanup_free_ char *sig = read_file_fmt("%s/%s/header-signature.txt", NEW_DIR, name);
    _cleanup_free_ char *sreq = read_file_fmt("%s/%s/header-signed-request.txt", NEW_DIR, name);
    struct vector_request v = {};

    assert_non_null(ctx_json);
    assert_non_null(req_text);
    assert_non_null(creq);
    assert_non_null(sts);
    assert_non_null(sig);
    assert_non_null(sreq);

    _cleanup_free_ char *akid = json_string(ctx_json, NULL, "access_key_id");
    _cleanup_free_ char *secret = json_string(ctx_json, NULL, "secret_access_key");
    _cleanup_free_ char *region = json_string(ctx_json, NULL, "region");
    _cleanup_free_ char *service = json_string(ctx_json, NULL, "service");
    _cleanup_free_ char *timestamp = json_string(ctx_json, NULL, "timestamp");
    _cleanup_free_ char *token = json_string(ctx_json, NULL, "token");
    assert_string_equal(akid, VECTOR_AKID);
    assert_string_equal(secret, VECTOR_SECRET);
    assert_string_equal(timestamp, "2015-08-30T12:36:00Z");
    _cleanup_free_ char *authz = authorization_line(sreq);

    parse_request(req_text, &v);
    assert_null(v.amz_date); /* this format leaves X-Amz-Date to the signer */
    assert_null(v.token);

    /* omit_session_token: the token is added to the request after signing (unsigned). */
    struct vector_context ctx = {
        .name = name,
        .region = region,
        .service = service,
        .token = json_bool(ctx_json, "omit_session_token", false) ? NULL : token,
        .normalize = json_bool(ctx_json, "normalize", true),
        .sign_body = json_bool(ctx_json, "sign_body", false),
    };
    struct vector_expectation exp = {.creq = creq, .sts = sts, .authz = authz};
    bool ok = sign_and_compare(&v, &ctx, &exp);
    /* header-signature.txt and the signature inside Authorization must agree. */
    const char *tail = strstr(authz, "Signature=");
    ok &= tail && same(name, "signature", sig, tail + strlen("Signature="));
    vector_request_done(&v);
    return ok;
}

static void test_aws_c_auth_suite(void **state)
{
    struct dirent **list = NULL;
    size_t n_run = 0, n_failed = 0;

    int n = scandir(NEW_DIR, &list, select_case_dir, dirent_compare);
    assert_true(n > 0);
    for (int i = 0; i < n; i++) {
        _cleanup_free_ char *path = NULL;
        struct stat st;
        assert_true(asprintf(&path, "%s/%s", NEW_DIR, list[i]->d_name) > 0);
        assert_int_equal(stat(path, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            n_run++;
            if (!run_new_case(list[i]->d_name))
                n_failed++;
        }
        free(list[i]);
    }
    free(list);
    print_message("aws-c-auth suite: %zu cases, %zu failed\n", n_run, n_failed);
    assert_int_equal(n_run, 38);
    assert_int_equal(n_failed, 0);
}

/* ---- botocore known answers for Bedrock ---- */

static void test_botocore_bedrock(void **state)
{
    _cleanup_free_ char *json = read_file(BOTOCORE_ANSWER);
    const char *expected_names[] = {"list-no-params", "list-all-params", "list-session-token",
                                    "get-by-arn"};
    size_t n_cases = 0;

    assert_non_null(json);
    _cleanup_free_ char *akid = json_string(json, NULL, "access_key");
    _cleanup_free_ char *secret = json_string(json, NULL, "secret_key");
    _cleanup_free_ char *region = json_string(json, NULL, "region");
    _cleanup_free_ char *service = json_string(json, NULL, "service");
    assert_string_equal(akid, VECTOR_AKID);
    assert_string_equal(secret, VECTOR_SECRET);
    assert_string_equal(service, "bedrock");

    const char *p = strstr(json, "\"cases\":");
    assert_non_null(p);
    for (p = strstr(p, "\"name\":"); p; n_cases++) {
        const char *next = strstr(p + 1, "\"name\":");
        _cleanup_free_ char *name = json_string(p, next, "name");
        _cleanup_free_ char *method = json_string(p, next, "method");
        _cleanup_free_ char *url = json_string(p, next, "url");
        _cleanup_free_ char *token = json_string(p, next, "session_token");
        _cleanup_free_ char *amz_date = json_string(p, next, "X-Amz-Date");
        _cleanup_free_ char *sent_token = json_string(p, next, "X-Amz-Security-Token");
        _cleanup_free_ char *authz = json_string(p, next, "Authorization");
        _cleanup_free_ char *creq = json_string(p, next, "canonical_request");
        _cleanup_free_ char *sts = json_string(p, next, "string_to_sign");
        struct vector_request v = {};

        assert_true(n_cases < ELEMENTSOF(expected_names));
        assert_string_equal(name, expected_names[n_cases]);
        assert_non_null(url);
        assert_true(strncmp(url, "https://", 8) == 0);
        const char *host = url + 8, *target = strchr(host, '/');
        assert_non_null(target);
        v.method = strdup(method);
        v.host = strndup(host, (size_t)(target - host));
        v.body = strdup("");
        set_target(target, strlen(target), &v);
        if (token)
            assert_string_equal(sent_token, token);

        struct vector_context ctx = {
            .name = name,
            .region = region,
            .service = service,
            .token = token,
            .normalize = true, /* botocore normalises every non-S3 path */
        };
        struct vector_expectation exp = {
            .creq = creq, .sts = sts, .authz = authz, .date = amz_date};
        assert_true(sign_and_compare(&v, &ctx, &exp));
        vector_request_done(&v);
        p = next;
    }
    assert_int_equal(n_cases, ELEMENTSOF(expected_names));
}

/* The query the sync module sends is exactly the canonical one: for the all-parameters
 * case, our string must be the third line of botocore's canonical request. */
static void test_botocore_query_is_canonical(void **state)
{
    const struct cj_kv params[] = {
        {"creationTimeAfter", "2024-01-01T00:00:00Z"},
        {"creationTimeBefore", "2024-06-30T23:59:59Z"},
        {"statusEquals", "Completed"},
        {"sourceAccountEquals", "123456789012"},
        {"sourceModelArnEquals", "arn:aws:bedrock:us-west-2:123456789012:custom-model/"
                                 "amazon.titan-text-express-v1:0:8k/abcdefghijkl"},
        {"outputModelNameContains", "my-model"},
        {"maxResults", "100"},
        {"nextToken", "ab+cd/ef=="},
        {"sortBy", "CreationTime"},
        {"sortOrder", "Descending"},
    };
    _cleanup_buf_ struct cj_buf q = {};
    assert_int_equal(cj_sigv4_canonical_query(params, ELEMENTSOF(params), &q), 0);
    assert_string_equal(
        q.data,
        "creationTimeAfter=2024-01-01T00%3A00%3A00Z&creationTimeBefore=2024-06-30T23%3A59%3A59Z&"
        "maxResults=100&nextToken=ab%2Bcd%2Fef%3D%3D&outputModelNameContains=my-model&"
        "sortBy=CreationTime&sortOrder=Descending&sourceAccountEquals=123456789012&"
        "sourceModelArnEquals=arn%3Aaws%3Abedrock%3Aus-west-2%3A123456789012%3Acustom-model%"
        "2Famazon.titan-text-express-v1%3A0%3A8k%2Fabcdefghijkl&statusEquals=Completed");
}

/* ---- the signer's own contract ---- */

static const struct cj_aws_credentials example_creds = {
    .access_key_id = (char *)VECTOR_AKID,
    .secret_access_key = (char *)VECTOR_SECRET,
};

static struct cj_sigv4_request bedrock_get(void)
{
    return (struct cj_sigv4_request){
        .method = "GET",
        .path = "/model-copy-jobs",
        .query = "",
        .host = "bedrock.us-east-1.amazonaws.com",
        .region = "us-east-1",
        .service = "bedrock",
        .time_sec = VECTOR_TIME,
        .double_encode_path = true,
        .normalize_path = true,
    };
}

static void test_sign_rejects_bad_input(void **state)
{
    struct cj_sigv4_result res = {};
    struct cj_sigv4_request req;
    struct cj_aws_credentials creds;
    const struct cj_kv host_header[] = {{"Host", "evil.example"}};
    const struct cj_kv date_header[] = {{"X-Amz-Date", "20200101T000000Z"}};
    const struct cj_kv token_header[] = {{"x-amz-security-token", "t"}};
    const struct cj_kv auth_header[] = {{"Authorization", "x"}};
    const struct cj_kv bad_name[] = {{"bad name", "v"}};
    const struct cj_kv empty_name[] = {{"", "v"}};
    const struct cj_kv null_value[] = {{"x-a", NULL}};
    const struct cj_kv ctl_value[] = {{"x-a", "a\001b"}};

#define EXPECT_EINVAL(mutation)                                                                    \
    do {                                                                                           \
        req = bedrock_get();                                                                       \
        creds = example_creds;                                                                     \
        mutation;                                                                                  \
        assert_int_equal(cj_sigv4_sign(&req, &creds, &res), -EINVAL);                              \
        assert_null(res.authorization);                                                            \
        assert_null(res.canonical_request);                                                        \
        assert_null(res.string_to_sign);                                                           \
    } while (0)

    EXPECT_EINVAL(req.method = NULL);
    EXPECT_EINVAL(req.method = "G T");
    EXPECT_EINVAL(req.host = NULL);
    EXPECT_EINVAL(req.host = "");
    EXPECT_EINVAL(req.host = "a b");
    EXPECT_EINVAL(req.region = "us/east");
    EXPECT_EINVAL(req.region = NULL);
    EXPECT_EINVAL(req.service = "");
    EXPECT_EINVAL(req.path = "model-copy-jobs");
    EXPECT_EINVAL(req.query = "a=b c");
    EXPECT_EINVAL(req.query = "a=b+c");
    EXPECT_EINVAL(req.payload_sha256 =
                      "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855");
    EXPECT_EINVAL(req.payload_sha256 = "e3b0");
    EXPECT_EINVAL(req.headers = host_header; req.n_headers = 1);
    EXPECT_EINVAL(req.headers = date_header; req.n_headers = 1);
    EXPECT_EINVAL(req.headers = token_header; req.n_headers = 1);
    EXPECT_EINVAL(req.headers = auth_header; req.n_headers = 1);
    EXPECT_EINVAL(req.headers = bad_name; req.n_headers = 1);
    EXPECT_EINVAL(req.headers = empty_name; req.n_headers = 1);
    EXPECT_EINVAL(req.headers = null_value; req.n_headers = 1);
    EXPECT_EINVAL(req.headers = ctl_value; req.n_headers = 1);
    EXPECT_EINVAL(req.headers = NULL; req.n_headers = 1);
    EXPECT_EINVAL(req.double_encode_path = false; req.path = "/a b");
    EXPECT_EINVAL(creds.access_key_id = NULL);
    EXPECT_EINVAL(creds.access_key_id = (char *)"AKID/X");
    EXPECT_EINVAL(creds.access_key_id = (char *)"AKID, Signature=x");
    EXPECT_EINVAL(creds.secret_access_key = NULL);
    EXPECT_EINVAL(creds.secret_access_key = (char *)"");
    EXPECT_EINVAL(creds.session_token = (char *)"tok\nen");
#undef EXPECT_EINVAL

    req = bedrock_get();
    req.time_sec = -1;
    assert_int_equal(cj_sigv4_sign(&req, &example_creds, &res), -ERANGE);
    req.time_sec = INT64_C(253402300800); /* year 10000 does not fit X-Amz-Date */
    assert_int_equal(cj_sigv4_sign(&req, &example_creds, &res), -ERANGE);
    req.time_sec = INT64_C(253402300799);
    assert_int_equal(cj_sigv4_sign(&req, &example_creds, &res), 0);
    assert_string_equal(res.amz_date, "99991231T235959Z");
    cj_sigv4_result_done(&res);
    req.time_sec = 0;
    assert_int_equal(cj_sigv4_sign(&req, &example_creds, &res), 0);
    assert_string_equal(res.amz_date, "19700101T000000Z");
    assert_non_null(strstr(res.authorization, "Credential=AKIDEXAMPLE/19700101/us-east-1/"));
    cj_sigv4_result_done(&res);
    cj_sigv4_result_done(&res); /* idempotent */
}

/* An empty session token is no token; a NULL query or path is the empty one. */
static void test_sign_defaults(void **state)
{
    struct cj_sigv4_request req = bedrock_get();
    struct cj_sigv4_result a = {}, b = {};
    struct cj_aws_credentials creds = example_creds;

    assert_int_equal(cj_sigv4_sign(&req, &creds, &a), 0);
    creds.session_token = (char *)"";
    req.query = NULL;
    assert_int_equal(cj_sigv4_sign(&req, &creds, &b), 0);
    assert_string_equal(a.canonical_request, b.canonical_request);
    assert_string_equal(a.authorization, b.authorization);
    assert_string_equal(
        a.authorization,
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/"
        "aws4_request, SignedHeaders=host;x-amz-date, "
        "Signature=179b27fe19320a431e4107e731c03335b786cd8ff65ca7fbe606a047dc2fe1b6");
    cj_sigv4_result_done(&a);
    cj_sigv4_result_done(&b);

    req.path = NULL;
    assert_int_equal(cj_sigv4_sign(&req, &example_creds, &a), 0);
    assert_true(strncmp(a.canonical_request, "GET\n/\n\n", 7) == 0);
    cj_sigv4_result_done(&a);
}

/* Header canonicalisation beyond the vectors: name case, a name that prefixes another,
 * tabs and CRLF folds, an empty value, and the header order in the input being irrelevant
 * except among repeats. */
static void test_sign_header_canonicalisation(void **state)
{
    const struct cj_kv headers[] = {
        {"X-Amz-Meta-AB", "  two\t\twords \r\n\t folded  "},
        {"x-amz-meta-a", "first"},
        {"Content-Type", "application/json"},
        {"X-AMZ-META-A", ""},
        {"x-amz-meta-a", " third "},
    };
    struct cj_sigv4_request req = bedrock_get();
    struct cj_sigv4_result res = {};

    req.headers = headers;
    req.n_headers = ELEMENTSOF(headers);
    assert_int_equal(cj_sigv4_sign(&req, &example_creds, &res), 0);
    assert_string_equal(res.canonical_request,
                        "GET\n/model-copy-jobs\n\n"
                        "content-type:application/json\n"
                        "host:bedrock.us-east-1.amazonaws.com\n"
                        "x-amz-date:20150830T123600Z\n"
                        "x-amz-meta-a:first,,third\n"
                        "x-amz-meta-ab:two words folded\n"
                        "\n"
                        "content-type;host;x-amz-date;x-amz-meta-a;x-amz-meta-ab\n"
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_non_null(
        strstr(res.authorization,
               "SignedHeaders=content-type;host;x-amz-date;x-amz-meta-a;x-amz-meta-ab,"));
    cj_sigv4_result_done(&res);
}

static void test_sign_limits(void **state)
{
    struct cj_sigv4_request req = bedrock_get();
    struct cj_sigv4_result res = {};
    size_t len = CJ_SIGV4_MAX_CANONICAL_REQUEST;
    char *path = malloc(len + 2);

    assert_non_null(path);
    path[0] = '/';
    memset(path + 1, 'a', len);
    path[len + 1] = '\0';
    req.path = path;
    assert_int_equal(cj_sigv4_sign(&req, &example_creds, &res), -E2BIG);
    assert_null(res.authorization);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classic_suite),
        cmocka_unit_test(test_aws_c_auth_suite),
        cmocka_unit_test(test_botocore_bedrock),
        cmocka_unit_test(test_botocore_query_is_canonical),
        cmocka_unit_test(test_sign_rejects_bad_input),
        cmocka_unit_test(test_sign_defaults),
        cmocka_unit_test(test_sign_header_canonicalisation),
        cmocka_unit_test(test_sign_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
