/* SPDX-License-Identifier: MIT */
/* cj_page_parse() and cj_job_parse(): ListModelCopyJobs pages and GetModelCopyJob bodies
 * in one pass, without a jansson tree.
 *
 * Building a tree for every page was most of what ingest cost (docs/performance.md): every
 * value allocated, every key hashed, all of it freed again. Here the scanner (job-scan.c)
 * walks the body once; each summary's known members are kept as slices of the body,
 * decoded only where they hold an escape, and handed to bedrock_job_from_values() as values;
 * everything else is checked as JSON and skipped. The tests and the differential fuzzer
 * hold this to a reader built on jansson (tests/reference/). */
#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cj-buf.h"
#include "job-internal.h"
#include "job-scan.h"
#include "job.h"
#include "log.h"

/* Which members of an object are kept (each in its slot of a struct cj_value array) and
 * which one, when it is an array, is read element by element. */
struct object_reader {
    int (*slot)(const struct cj_str *key); /* a kept member's slot, or -1 */
    int walked;                            /* the slot whose array walk() reads, or -1 */
    /* At the array's '[', inside depth containers. */
    int (*walk)(struct cj_scan *s, unsigned depth, void *userdata);
};

/* The decoded key, when it could be a name we know (at most 256 bytes in the body: an
 * escape shrinks at most 6 to 1, so a longer key decodes to more than any name's 21). */
static bool key_text(const struct cj_str *key, char buf[static 256], const char **ret, size_t *n)
{
    if (!key->escaped) {
        *ret = key->raw;
        *n = key->len;
        return true;
    }
    if (key->len > 256)
        return false;
    *n = bedrock_str_decode(key, buf);
    *ret = buf;
    return true;
}

static bool key_is(const struct cj_str *key, const char *name)
{
    char buf[256];
    const char *k;
    size_t n;

    return key_text(key, buf, &k, &n) && n == strlen(name) && memcmp(k, name, n) == 0;
}

/* The summary member of that name (enum cj_member), or -1. */
static int summary_slot(const struct cj_str *key)
{
    char buf[256];
    const char *k;
    size_t n;

    if (!key_text(key, buf, &k, &n))
        return -1;
    /* The length and a letter or two leave one candidate; this runs for every member. */
    int i;
    switch (n) {
    case 6:
        i = k[0] == 'j' ? CJ_M_JOB_ARN : CJ_M_STATUS;
        break;
    case 12:
        i = CJ_M_CREATION_TIME;
        break;
    case 14:
        i = k[0] == 't'   ? CJ_M_TARGET_MODEL_ARN
            : k[0] == 's' ? CJ_M_SOURCE_MODEL_ARN
                          : CJ_M_FAILURE_MESSAGE;
        break;
    case 15:
        if (k[0] == 's')
            i = k[6] == 'A' ? CJ_M_SOURCE_ACCOUNT_ID : CJ_M_SOURCE_MODEL_NAME;
        else
            i = k[11] == 'N' ? CJ_M_TARGET_MODEL_NAME : CJ_M_TARGET_MODEL_TAGS;
        break;
    case 20:
        i = CJ_M_TARGET_MODEL_KMS_KEY_ARN;
        break;
    default:
        return -1;
    }
    return memcmp(cj_job_members[i].name, k, n) == 0 ? i : -1;
}

static int tag_slot(const struct cj_str *key)
{
    for (int i = 0; i < _CJ_TAG_MAX; i++)
        if (key_is(key, cj_tag_members[i].name))
            return i;
    return -1;
}

/* Expects c after white space and steps over it. */
static int expect(struct cj_scan *s, char c)
{
    cj_scan_ws(s);
    if (s->p >= s->end || *s->p != c)
        return -EBADMSG;
    s->p++;
    return 0;
}

/* After a member or element: 1 at ',' (another follows), 0 at close, else -EBADMSG. */
static int comma_or(struct cj_scan *s, char close)
{
    cj_scan_ws(s);
    if (s->p < s->end && *s->p == ',') {
        s->p++;
        return 1;
    }
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return 0;
    }
    return -EBADMSG;
}

/* A kept member's value inside depth containers: strings where they stand in the body,
 * null as such, anything else checked, skipped and remembered by its kind. */
static int scan_value(struct cj_scan *s, unsigned depth, struct cj_value *v, struct cj_str *str)
{
    cj_scan_ws(s);
    if (s->p < s->end && *s->p == '"') {
        int r = bedrock_scan_string(s, str);
        if (r < 0)
            return r;
        *v = (struct cj_value){
            .kind = CJ_VALUE_STRING, .s = str->raw, .len = str->len, .plain = !str->escaped};
        return 0;
    }
    if (bedrock_scan_null(s)) {
        v->kind = CJ_VALUE_NULL;
        return 0;
    }
    v->kind = s->p < s->end && *s->p == '[' ? CJ_VALUE_ARRAY : CJ_VALUE_OTHER;
    return bedrock_scan_value(s, depth);
}

/* At '{': one object inside depth containers, the members rd keeps into v and str (which
 * start out absent), the others checked and skipped. */
static int scan_object(struct cj_scan *s, unsigned depth, const struct object_reader *rd,
                       struct cj_value *v, struct cj_str *str, void *userdata)
{
    int r;

    s->p++;
    r = bedrock_scan_obj_begin(s);
    if (r < 0)
        return r;
    cj_scan_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return bedrock_scan_obj_end(s);
    }
    do {
        struct cj_str key;
        cj_scan_ws(s);
        if (s->p >= s->end || *s->p != '"')
            return -EBADMSG;
        r = bedrock_scan_string(s, &key);
        if (r < 0)
            return r;
        int i = rd->slot(&key);
        if (i < 0)
            r = bedrock_scan_obj_key(s, &key); /* an unknown one: only the duplicate check */
        else if (v[i].kind != CJ_VALUE_ABSENT)
            r = -EBADMSG; /* a duplicate of a kept one */
        if (r >= 0)
            r = expect(s, ':');
        if (r < 0)
            return r;
        cj_scan_ws(s);
        if (i >= 0 && i == rd->walked && s->p < s->end && *s->p == '[') {
            v[i].kind = CJ_VALUE_ARRAY;
            r = rd->walk(s, depth + 1, userdata);
        } else if (i >= 0)
            r = scan_value(s, depth + 1, &v[i], &str[i]);
        else
            r = bedrock_scan_value(s, depth + 1);
        if (r >= 0)
            r = comma_or(s, '}');
        if (r < 0)
            return r;
    } while (r > 0);
    return bedrock_scan_obj_end(s);
}

/* At '[': an array inside depth containers, each element (after its blanks) read by
 * element(), which is told the element's index. */
static int scan_array(struct cj_scan *s, unsigned depth,
                      int (*element)(struct cj_scan *s, unsigned depth, size_t i, void *userdata),
                      void *userdata)
{
    s->p++;
    cj_scan_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return 0;
    }
    for (size_t i = 0;; i++) {
        cj_scan_ws(s);
        int r = element(s, depth + 1, i, userdata);
        if (r >= 0)
            r = comma_or(s, ']');
        if (r <= 0)
            return r;
    }
}

/* One whole body: 1 when it is a JSON object (read by rd), 0 when it is other JSON,
 * -EBADMSG when it is not JSON as jansson reads it, or -ENOMEM. */
static int scan_body(struct cj_scan *s, const struct object_reader *rd, struct cj_value *v,
                     struct cj_str *str, void *userdata)
{
    cj_scan_ws(s);
    bool object = s->p < s->end && *s->p == '{';
    int r = object ? scan_object(s, 0, rd, v, str, userdata) : bedrock_scan_value(s, 0);
    if (r < 0)
        return r;
    cj_scan_ws(s);
    if (s->p != s->end)
        return -EBADMSG;
    return object;
}

/* Room for item n in *items, an array of size-byte items with room for *cap: doubled when
 * full, first items to start with. */
static int grow(void *items, size_t *cap, size_t n, size_t size, size_t first)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : first;
    void *p = reallocarray(*(void **)items, c, size);
    if (!p)
        return -ENOMEM;
    *(void **)items = p;
    *cap = c;
    return 0;
}

/* Why jansson refuses a body, in its words; NULL when it takes it. */
static const char *jansson_refusal(const char *body, size_t len, size_t flags, json_error_t *jerr)
{
    json_t *root = json_loadb(body, len, flags, jerr);
    if (!root)
        return jerr->text;
    json_decref(root);
    return NULL;
}

/* ---- one summary ---- */

/* targetModelTags of the summary at hand, read in the same pass. */
struct tags {
    struct cj_tag *tag;                /* the first TAGS_KEEP_MAX + 1 elements */
    struct cj_str (*str)[_CJ_TAG_MAX]; /* where their strings stand */
    size_t n;                          /* elements in the array */
    size_t cap_tag, cap_str;
};

struct summary {
    struct cj_value v[_CJ_M_MAX];
    struct cj_str str[_CJ_M_MAX];
    struct tags tags;
    struct cj_buf dec; /* the decoded escaped strings */
};

static int tag_element(struct cj_scan *s, unsigned depth, size_t i, void *userdata)
{
    static const struct object_reader tag_reader = {.slot = tag_slot, .walked = -1};
    struct tags *t = userdata;
    struct cj_tag tag = {};
    struct cj_str str[_CJ_TAG_MAX] = {};
    int r;

    if (s->p < s->end && *s->p == '{') {
        tag.object = true;
        r = scan_object(s, depth, &tag_reader, tag.member, str, NULL);
    } else
        r = bedrock_scan_value(s, depth);
    if (r < 0)
        return r;
    if (t->n <= TAGS_KEEP_MAX) {
        r = grow(&t->tag, &t->cap_tag, t->n, sizeof(*t->tag), 16);
        if (r >= 0)
            r = grow(&t->str, &t->cap_str, t->n, sizeof(*t->str), 16);
        if (r < 0)
            return r;
        t->tag[t->n] = tag;
        memcpy(t->str[t->n], str, sizeof(str));
    }
    t->n++;
    return 0;
}

static int walk_tags(struct cj_scan *s, unsigned depth, void *userdata)
{
    return scan_array(s, depth, tag_element, userdata);
}

static const struct object_reader summary_reader = {
    .slot = summary_slot, .walked = CJ_M_TARGET_MODEL_TAGS, .walk = walk_tags};

static size_t escaped_size(const struct cj_value *v, const struct cj_str *str, size_t n)
{
    size_t need = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i].kind == CJ_VALUE_STRING && str[i].escaped)
            need += str[i].len;
    return need;
}

/* Decodes the escaped strings among v to o (room enough); returns where o ends. */
static char *decode(struct cj_value *v, const struct cj_str *str, size_t n, char *o)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].kind == CJ_VALUE_STRING && str[i].escaped) {
            v[i].s = o;
            v[i].len = bedrock_str_decode(&str[i], o);
            o += v[i].len;
        }
    return o;
}

/* At '{': one summary inside depth containers, read into sm. */
static int scan_summary(struct cj_scan *s, unsigned depth, struct summary *sm)
{
    memset(sm->v, 0, sizeof(sm->v));
    sm->tags.n = 0;
    return scan_object(s, depth, &summary_reader, sm->v, sm->str, &sm->tags);
}

/* The job of a summary scan_summary() read. */
static int summary_job(struct summary *sm, struct cj_job *ret, char *err, size_t errlen)
{
    struct tags *t = &sm->tags;
    size_t kept = t->n <= TAGS_KEEP_MAX ? t->n : TAGS_KEEP_MAX + 1;

    size_t need = escaped_size(sm->v, sm->str, _CJ_M_MAX);
    for (size_t i = 0; i < kept; i++)
        need += escaped_size(t->tag[i].member, t->str[i], _CJ_TAG_MAX);
    if (need > 0) {
        cj_buf_reset(&sm->dec);
        int r = cj_buf_reserve(&sm->dec, need);
        if (r < 0)
            return r;
        char *o = decode(sm->v, sm->str, _CJ_M_MAX, sm->dec.data);
        for (size_t i = 0; i < kept; i++)
            o = decode(t->tag[i].member, t->str[i], _CJ_TAG_MAX, o);
    }
    return bedrock_job_from_values(sm->v, &(struct cj_tags){.tag = t->tag, .n = t->n}, ret, err,
                                   errlen);
}

static void summary_done(struct summary *sm)
{
    cj_buf_free(&sm->dec);
    free(sm->tags.tag);
    free(sm->tags.str);
}

int cj_job_parse(const char *body, size_t len, struct cj_job *ret, char *err, size_t errlen)
{
    struct summary sm = {};
    struct cj_scan s;
    int r;

    assert(ret);
    *ret = (struct cj_job){};
    if (err && errlen > 0)
        err[0] = '\0';
    if (!body)
        body = "";

    bedrock_scan_init(&s, body, len);
    r = scan_body(&s, &summary_reader, sm.v, sm.str, &sm.tags);
    if (r == 1)
        r = summary_job(&sm, ret, err, errlen);
    else if (r == 0 || r == -EBADMSG) {
        /* Not an object, or not JSON: jansson says why, as the caller has always shown. */
        json_error_t jerr;
        const char *why = jansson_refusal(body, len, JSON_REJECT_DUPLICATES, &jerr);
        if (err && errlen > 0)
            snprintf(err, errlen, "not a JSON object: %s", why ? why : "wrong type");
        r = -EPROTO;
    }
    bedrock_scan_done(&s);
    summary_done(&sm);
    return r;
}

/* ---- a page ---- */

/* A summary skipped for a reason: logged only once the whole page has been accepted, since
 * nothing is logged for a body that is refused. */
struct skip {
    size_t index;
    char arn[LOGGED_ARN_MAX + 1];
    char reason[REASON_MAX];
};

enum { ROOT_SUMMARIES, ROOT_NEXT_TOKEN, _ROOT_MAX };

struct page_state {
    struct cj_scan s;
    struct cj_page page;
    size_t cap_jobs, cap_skipped_arns;
    struct skip *skips;
    size_t n_skips, cap_skips;
    struct summary sm;
};

static int add_skip(struct page_state *ps, size_t index, const struct cj_value *arn,
                    const char *reason)
{
    int r = grow(&ps->skips, &ps->cap_skips, ps->n_skips, sizeof(*ps->skips), 8);
    if (r < 0)
        return r;
    struct skip *k = &ps->skips[ps->n_skips++];
    k->index = index;
    k->arn[0] = '\0';
    if (arn && arn->kind == CJ_VALUE_STRING)
        bedrock_job_loggable_arn(arn->s, arn->len, k->arn, sizeof(k->arn));
    snprintf(k->reason, sizeof(k->reason), "%s", reason);
    return bedrock_page_add_skipped_arn(&ps->page, &ps->cap_skipped_arns, arn);
}

static int add_job(struct page_state *ps, const struct cj_job *j)
{
    struct cj_page *p = &ps->page;
    int r = grow(&p->jobs, &ps->cap_jobs, p->n_jobs, sizeof(*p->jobs), 64);
    if (r < 0)
        return r;
    p->jobs[p->n_jobs++] = *j;
    return 0;
}

/* One element of modelCopyJobSummaries, checked as it passes. */
static int summary_element(struct cj_scan *s, unsigned depth, size_t i, void *userdata)
{
    struct page_state *ps = userdata;
    char reason[REASON_MAX];
    struct cj_job job;
    int r;

    if (s->p >= s->end || *s->p != '{') {
        r = bedrock_scan_value(s, depth);
        return r < 0 ? r : add_skip(ps, i, NULL, REASON_SUMMARY_NOT_OBJECT);
    }
    r = scan_summary(s, depth, &ps->sm);
    if (r < 0)
        return r;
    r = summary_job(&ps->sm, &job, reason, sizeof(reason));
    if (r == -EBADMSG)
        return add_skip(ps, i, &ps->sm.v[CJ_M_JOB_ARN], reason);
    if (r < 0)
        return r;
    r = add_job(ps, &job);
    if (r < 0)
        cj_job_done(&job);
    return r;
}

static int walk_summaries(struct cj_scan *s, unsigned depth, void *userdata)
{
    return scan_array(s, depth, summary_element, userdata);
}

static int root_slot(const struct cj_str *key)
{
    return key_is(key, "modelCopyJobSummaries") ? ROOT_SUMMARIES
           : key_is(key, "nextToken")           ? ROOT_NEXT_TOKEN
                                                : -1;
}

static const struct object_reader page_reader = {
    .slot = root_slot, .walked = ROOT_SUMMARIES, .walk = walk_summaries};

/* The whole body: the root object and its two members we read, the rest checked and
 * skipped. -EBADMSG with *syntax set when it is not valid JSON. */
static int scan_page(struct page_state *ps, bool *syntax, char *err, size_t errlen)
{
    struct cj_value root[_ROOT_MAX] = {};
    struct cj_str str[_ROOT_MAX];

    int r = scan_body(&ps->s, &page_reader, root, str, ps);
    *syntax = r == -EBADMSG;
    if (r < 0)
        return r;
    if (r == 0)
        return bedrock_job_fail(err, errlen, REASON_BODY_NOT_OBJECT);

    /* Valid JSON: now the checks of the page itself. */
    struct cj_buf *dec = &ps->sm.dec;
    cj_buf_reset(dec);
    r = cj_buf_reserve(dec, escaped_size(&root[ROOT_NEXT_TOKEN], &str[ROOT_NEXT_TOKEN], 1));
    if (r < 0)
        return r;
    decode(&root[ROOT_NEXT_TOKEN], &str[ROOT_NEXT_TOKEN], 1, dec->data);
    r = bedrock_page_check_root(&root[ROOT_SUMMARIES], &root[ROOT_NEXT_TOKEN], &ps->page.next_token,
                                err, errlen);
    if (r < 0)
        return r;
    ps->page.n_skipped = ps->n_skips;
    for (size_t i = 0; i < ps->n_skips; i++)
        bedrock_job_log_skipped(ps->skips[i].index, ps->skips[i].arn, ps->skips[i].reason);
    return 0;
}

int cj_page_parse(const char *body, size_t len, struct cj_page *ret, char *err, size_t errlen)
{
    assert(ret);
    *ret = (struct cj_page){};
    int r = bedrock_page_check_body(body, len, err, errlen);
    if (r < 0)
        return r;

    struct page_state ps = {};
    bool syntax;
    bedrock_scan_init(&ps.s, body, len);
    r = scan_page(&ps, &syntax, err, errlen);
    if (r >= 0) {
        *ret = ps.page;
        ps.page = (struct cj_page){};
    } else if (syntax) {
        /* Refused as JSON: jansson says where and why. Only bodies that are not JSON pay
         * for it. */
        json_error_t jerr;
        if (jansson_refusal(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr))
            bedrock_job_fail(err, errlen, "invalid JSON at line %d column %d: %s", jerr.line,
                             jerr.column, jerr.text);
        else /* never expected (the differential fuzzer looks for this): still refused */
            bedrock_job_fail(err, errlen, "invalid JSON");
    }
    cj_page_done(&ps.page);
    bedrock_scan_done(&ps.s);
    summary_done(&ps.sm);
    free(ps.skips);
    return r;
}
