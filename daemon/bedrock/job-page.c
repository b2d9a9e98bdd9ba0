/* SPDX-License-Identifier: MIT */
/* cj_page_parse(): a ListModelCopyJobs page in one pass, without a jansson tree.
 *
 * Building a tree for every page was most of what ingest cost (docs/performance.md): every
 * value allocated, every key hashed, all of it freed again. Here the scanner (job-scan.c)
 * walks the body once; each summary's known members are kept as slices of the body, then
 * checked and serialised exactly as cj_job_from_json() does (same order of checks, same
 * reasons, same stored bytes), and everything else is checked and skipped. The results,
 * reasons and log lines are those of cj_page_parse_reference() for every input: the unit
 * tests and tests/fuzz/fuzz-job-page-diff.c hold the two to that. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cj-buf.h"
#include "cj-time.h"
#include "job-internal.h"
#include "job-scan.h"
#include "job.h"
#include "log.h"

/* The reasons a summary is skipped for are at most this long, as in the reference. */
#define REASON_MAX 256

enum kind {
    K_ABSENT = 0,
    K_NULL,
    K_STRING,
    K_OTHER, /* any other value: an object, array, number or boolean */
};

struct field {
    enum kind kind;
    struct cj_str str; /* K_STRING: as it stands in the body */
    const char *dec;   /* K_STRING: decoded (str.raw itself when nothing was escaped) */
    size_t dec_len;    /* K_STRING */
    const char *value; /* K_OTHER: where the value starts (targetModelTags walks it again) */
    const char *end;   /* K_OTHER: where it ends */
};

/* The members of ModelCopyJobSummary that are checked and stored. */
enum {
    F_JOB_ARN,
    F_STATUS,
    F_CREATION_TIME,
    F_TARGET_MODEL_ARN,
    F_TARGET_MODEL_NAME,
    F_SOURCE_ACCOUNT_ID,
    F_SOURCE_MODEL_ARN,
    F_KMS_KEY_ARN,
    F_TARGET_MODEL_TAGS,
    F_FAILURE_MESSAGE,
    F_SOURCE_MODEL_NAME,
    _F_MAX,
};

static const struct {
    const char *name;
    size_t len;
} members[_F_MAX] = {
#define M(i, s) [i] = {s, STRLEN(s)}
    M(F_JOB_ARN, "jobArn"),
    M(F_STATUS, "status"),
    M(F_CREATION_TIME, "creationTime"),
    M(F_TARGET_MODEL_ARN, "targetModelArn"),
    M(F_TARGET_MODEL_NAME, "targetModelName"),
    M(F_SOURCE_ACCOUNT_ID, "sourceAccountId"),
    M(F_SOURCE_MODEL_ARN, "sourceModelArn"),
    M(F_KMS_KEY_ARN, "targetModelKmsKeyArn"),
    M(F_TARGET_MODEL_TAGS, "targetModelTags"),
    M(F_FAILURE_MESSAGE, "failureMessage"),
    M(F_SOURCE_MODEL_NAME, "sourceModelName"),
#undef M
};

/* targetModelTags of the summary at hand, read in the same pass: the first TAGS_MAX + 1
 * elements (enough to check them all or to refuse the list) and how many there are. */
struct tag {
    bool object;
    struct field key, value;
};

struct tags {
    struct tag *tag;
    size_t n;          /* elements in the array */
    size_t cap;        /* of tag */
    struct cj_buf dec; /* decoded strings of the tag at hand */
};

/* A summary skipped for a reason: logged only once the whole page has been accepted, since
 * the reference logs nothing for a body it refuses. */
struct skip {
    size_t index;
    char arn[LOGGED_ARN_MAX + 1];
    char reason[REASON_MAX];
};

struct page_state {
    struct cj_scan s;
    struct cj_page page;
    size_t cap_jobs;
    struct skip *skips;
    size_t n_skips, cap_skips;
    struct cj_buf dec; /* decoded strings of the summary at hand */
    struct tags tags;
    bool syntax; /* the body is not JSON as jansson reads it */
};

/* A scanner failure: -EBADMSG from it means the body is not valid JSON. */
static int scan_failed(struct page_state *ps, int r)
{
    if (r == -EBADMSG)
        ps->syntax = true;
    return r;
}

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
    *n = cj_str_decode(key, buf);
    *ret = buf;
    return true;
}

static int member_index(const struct cj_str *key)
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
        i = k[0] == 'j' ? F_JOB_ARN : F_STATUS;
        break;
    case 12:
        i = F_CREATION_TIME;
        break;
    case 14:
        i = k[0] == 't' ? F_TARGET_MODEL_ARN : k[0] == 's' ? F_SOURCE_MODEL_ARN : F_FAILURE_MESSAGE;
        break;
    case 15:
        if (k[0] == 's')
            i = k[6] == 'A' ? F_SOURCE_ACCOUNT_ID : F_SOURCE_MODEL_NAME;
        else
            i = k[11] == 'N' ? F_TARGET_MODEL_NAME : F_TARGET_MODEL_TAGS;
        break;
    case 20:
        i = F_KMS_KEY_ARN;
        break;
    default:
        return -1;
    }
    return memcmp(members[i].name, k, n) == 0 ? i : -1;
}

static bool key_is(const struct cj_str *key, const char *name)
{
    char buf[256];
    const char *k;
    size_t n;

    return key_text(key, buf, &k, &n) && n == strlen(name) && memcmp(k, name, n) == 0;
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

/* A member's value inside depth containers, kept as a field: strings in place, null as
 * such, anything else checked, skipped and remembered by where it stands. */
static int scan_field(struct cj_scan *s, unsigned depth, struct field *f)
{
    cj_scan_ws(s);
    if (s->p < s->end && *s->p == '"') {
        f->kind = K_STRING;
        return cj_scan_string(s, &f->str);
    }
    if (cj_scan_null(s)) {
        f->kind = K_NULL;
        return 0;
    }
    f->kind = K_OTHER;
    f->value = s->p;
    return cj_scan_value(s, depth);
}

/* At '{': enters the object. 1 when a member follows, 0 when it was empty (and is now
 * closed), or a negative errno. */
static int object_open(struct cj_scan *s)
{
    s->p++;
    int r = cj_scan_obj_begin(s);
    if (r < 0)
        return r;
    cj_scan_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        r = cj_scan_obj_end(s);
        return r < 0 ? r : 0;
    }
    return 1;
}

/* The next member's name, after any blanks. */
static int member_name(struct cj_scan *s, struct cj_str *key)
{
    cj_scan_ws(s);
    if (s->p >= s->end || *s->p != '"')
        return -EBADMSG;
    return cj_scan_string(s, key);
}

/* At '{': one element of targetModelTags (inside 4 containers), its key and value. */
static int scan_tag(struct cj_scan *s, struct field tag[static 2])
{
    int r;

    memset(tag, 0, sizeof(struct field) * 2);
    r = object_open(s);
    if (r <= 0)
        return r;
    do {
        struct cj_str key;
        r = member_name(s, &key);
        if (r < 0)
            return r;
        int i = key_is(&key, "key") ? 0 : key_is(&key, "value") ? 1 : -1;
        if (i < 0)
            r = cj_scan_obj_key(s, &key);
        else if (tag[i].kind != K_ABSENT)
            r = -EBADMSG; /* a duplicate */
        if (r >= 0)
            r = expect(s, ':');
        if (r >= 0)
            r = i < 0 ? cj_scan_value(s, 5) : scan_field(s, 5, &tag[i]);
        if (r >= 0)
            r = comma_or(s, '}');
        if (r < 0)
            return r;
    } while (r > 0);
    return cj_scan_obj_end(s);
}

/* At '[': targetModelTags (inside 3 containers), its elements into t. */
static int scan_tags(struct cj_scan *s, struct tags *t)
{
    int r;

    t->n = 0;
    s->p++;
    cj_scan_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return 0;
    }
    do {
        struct tag tag = {};
        cj_scan_ws(s);
        if (s->p < s->end && *s->p == '{') {
            struct field kv[2];
            r = scan_tag(s, kv);
            tag = (struct tag){.object = true, .key = kv[0], .value = kv[1]};
        } else
            r = cj_scan_value(s, 4);
        if (r < 0)
            return r;
        if (t->n <= TAGS_MAX) {
            if (t->n == t->cap) {
                size_t cap = t->cap ? t->cap * 2 : 16;
                struct tag *tg = reallocarray(t->tag, cap, sizeof(*tg));
                if (!tg)
                    return -ENOMEM;
                t->tag = tg;
                t->cap = cap;
            }
            t->tag[t->n] = tag;
        }
        t->n++;
        r = comma_or(s, ']');
        if (r < 0)
            return r;
    } while (r > 0);
    return 0;
}

/* At '{': one summary object (inside 2 containers), its known members into f. */
static int scan_summary(struct cj_scan *s, struct field f[static _F_MAX], struct tags *t)
{
    int r;

    memset(f, 0, sizeof(struct field) * _F_MAX);
    r = object_open(s);
    if (r <= 0)
        return r;
    do {
        struct cj_str key;
        r = member_name(s, &key);
        if (r < 0)
            return r;
        int i = member_index(&key);
        if (i < 0)
            r = cj_scan_obj_key(s, &key); /* an unknown one: only the duplicate check */
        else if (f[i].kind != K_ABSENT)
            r = -EBADMSG; /* a duplicate of a known one */
        if (r < 0)
            return r;
        r = expect(s, ':');
        if (r < 0)
            return r;
        cj_scan_ws(s);
        if (i == F_TARGET_MODEL_TAGS && s->p < s->end && *s->p == '[') {
            f[i].kind = K_OTHER; /* the array: the only kind that is walked */
            f[i].value = s->p;
            r = scan_tags(s, t);
        } else
            r = i < 0 ? cj_scan_value(s, 3) : scan_field(s, 3, &f[i]);
        if (r < 0)
            return r;
        r = comma_or(s, '}');
        if (r < 0)
            return r;
    } while (r > 0);
    return cj_scan_obj_end(s);
}

/* Decodes the escaped strings among f into dec, which then must not change until f is done
 * with; strings with no escape stay where they are. */
static int decode_fields(struct field *f, size_t n, struct cj_buf *dec)
{
    size_t need = 0;

    for (size_t i = 0; i < n; i++)
        if (f[i].kind == K_STRING) {
            f[i].dec = f[i].str.raw;
            f[i].dec_len = f[i].str.len;
            if (f[i].str.escaped)
                need += f[i].str.len;
        }
    if (need == 0)
        return 0;
    cj_buf_reset(dec);
    int r = cj_buf_reserve(dec, need);
    if (r < 0)
        return r;
    char *o = dec->data;
    for (size_t i = 0; i < n; i++)
        if (f[i].kind == K_STRING && f[i].str.escaped) {
            f[i].dec = o;
            f[i].dec_len = cj_str_decode(&f[i].str, o);
            o += f[i].dec_len;
        }
    return 0;
}

/* As cj_job_from_json()'s get_string(). */
static int get_string(const struct field *f, int i, bool required, const char **ret,
                      size_t *ret_len, char *err, size_t errlen)
{
    if (f[i].kind == K_ABSENT || f[i].kind == K_NULL) {
        *ret = NULL;
        *ret_len = 0;
        return required ? cj_job_fail(err, errlen, "%s: missing", members[i].name) : 0;
    }
    if (f[i].kind != K_STRING)
        return cj_job_fail(err, errlen, "%s: not a string", members[i].name);
    *ret = f[i].dec;
    *ret_len = f[i].dec_len;
    return 0;
}

static int status_from(const char *s, size_t n, enum cj_status *ret)
{
    for (unsigned i = 0; i < _CJ_STATUS_MAX; i++) {
        const char *name = cj_status_to_string((enum cj_status)i);
        if (strlen(name) == n && memcmp(name, s, n) == 0) {
            *ret = (enum cj_status)i;
            return 0;
        }
    }
    return -EINVAL;
}

/* ,"name":"value" for a member present as a string. A string with no escape in the body
 * holds no '"', '\\' or control character, so its bytes are already what
 * cj_job_append_json_string() would write: copied as they are. */
static int append_field(struct cj_buf *b, const struct field *f, int i)
{
    const struct field *v = &f[i];
    if (v->str.escaped)
        return cj_job_append_member(b, members[i].name, v->dec, v->dec_len);

    size_t n = members[i].len;
    int r = cj_buf_reserve(b, n + v->str.len + 6);
    if (r < 0)
        return r;
    char *o = b->data + b->len;
    if (b->len > 1)
        *o++ = ',';
    *o++ = '"';
    memcpy(o, members[i].name, n);
    o += n;
    *o++ = '"';
    *o++ = ':';
    *o++ = '"';
    memcpy(o, v->str.raw, v->str.len);
    o += v->str.len;
    *o++ = '"';
    *o = '\0';
    b->len = (size_t)(o - b->data);
    return 0;
}

/* As the reference's append_tags(): checks targetModelTags and appends it to b as
 * [{"key":..,"value":..},...]. */
static int append_tags(struct cj_buf *b, const struct field *f, struct tags *t, char *err,
                       size_t errlen)
{
    int r;

    if (f->kind != K_OTHER || *f->value != '[')
        return cj_job_fail(err, errlen, "targetModelTags: not an array");
    if (t->n > TAGS_MAX)
        return cj_job_fail(err, errlen, "targetModelTags: %zu tags, at most %d allowed", t->n,
                           TAGS_MAX);

    r = cj_buf_append_str(b, ",\"targetModelTags\":[");
    for (size_t i = 0; r >= 0 && i < t->n; i++) {
        struct tag *tag = &t->tag[i];
        if (!tag->object)
            return cj_job_fail(err, errlen, "targetModelTags[%zu]: not an object", i);
        struct field kv[2] = {tag->key, tag->value};
        r = decode_fields(kv, 2, &t->dec);
        if (r < 0)
            return r;
        const struct field *k = &kv[0], *v = &kv[1];
        if (k->kind == K_ABSENT || k->kind == K_NULL)
            return cj_job_fail(err, errlen, "targetModelTags[%zu].key: missing", i);
        if (k->kind != K_STRING)
            return cj_job_fail(err, errlen, "targetModelTags[%zu].key: not a string", i);
        if (!cj_valid_tag_key(k->dec, k->dec_len))
            return cj_job_fail(err, errlen,
                               "targetModelTags[%zu].key: not 1..128 of [a-zA-Z0-9 ._:/=+@-]", i);
        if (v->kind == K_ABSENT || v->kind == K_NULL)
            return cj_job_fail(err, errlen, "targetModelTags[%zu].value: missing", i);
        if (v->kind != K_STRING)
            return cj_job_fail(err, errlen, "targetModelTags[%zu].value: not a string", i);
        if (!cj_valid_tag_value(v->dec, v->dec_len))
            return cj_job_fail(err, errlen,
                               "targetModelTags[%zu].value: not 0..256 of [a-zA-Z0-9 ._:/=+@-]", i);

        r = cj_buf_append_str(b, i ? ",{\"key\":" : "{\"key\":");
        if (r >= 0)
            r = cj_job_append_json_string(b, k->dec, k->dec_len);
        if (r >= 0)
            r = cj_buf_append_str(b, ",\"value\":");
        if (r >= 0)
            r = cj_job_append_json_string(b, v->dec, v->dec_len);
        if (r >= 0)
            r = cj_buf_append_char(b, '}');
    }
    if (r >= 0)
        r = cj_buf_append_char(b, ']');
    return r;
}

/* cj_job_from_json() over the fields of one summary: the same checks in the same order,
 * the same reasons, the same stored bytes. f's strings must have been decoded. */
static int job_from_fields(const struct field *f, struct tags *t, struct cj_job *ret, char *err,
                           size_t errlen)
{
    const char *arn, *status, *ctime, *target_arn, *target_name, *account, *source_arn, *kms,
        *failure, *source_name;
    size_t arn_len, status_len, ctime_len, target_arn_len, target_name_len, account_len,
        source_arn_len, kms_len, failure_len, source_name_len;
    enum cj_status st;
    int64_t creation_ns;
    int r;

    *ret = (struct cj_job){};
    err[0] = '\0';

    r = get_string(f, F_JOB_ARN, true, &arn, &arn_len, err, errlen);
    if (r < 0)
        return r;
    if (!cj_valid_job_arn(arn, arn_len))
        return cj_job_fail(err, errlen,
                           "jobArn: not a model copy job ARN of at most %d bytes "
                           "(arn:aws:bedrock:<region>:<account>:model-copy-job/<12 chars>)",
                           CJ_JOB_ARN_MAX);

    r = get_string(f, F_STATUS, true, &status, &status_len, err, errlen);
    if (r < 0)
        return r;
    if (status_from(status, status_len, &st) < 0)
        return cj_job_fail(err, errlen, "status: not one of InProgress, Completed, Failed");

    r = get_string(f, F_CREATION_TIME, true, &ctime, &ctime_len, err, errlen);
    if (r < 0)
        return r;
    r = cj_time_parse_iso8601(ctime, ctime_len, &creation_ns);
    if (r == -ERANGE)
        return cj_job_fail(err, errlen, "creationTime: outside the years 1678..2262");
    if (r < 0 || ctime_len <= STRLEN("YYYY-MM-DD"))
        return cj_job_fail(err, errlen, "creationTime: not an ISO 8601 date and time");

    r = get_string(f, F_TARGET_MODEL_ARN, true, &target_arn, &target_arn_len, err, errlen);
    if (r < 0)
        return r;
    if (!cj_valid_custom_model_arn(target_arn, target_arn_len))
        return cj_job_fail(err, errlen, "targetModelArn: not a custom model ARN");

    r = get_string(f, F_TARGET_MODEL_NAME, false, &target_name, &target_name_len, err, errlen);
    if (r < 0)
        return r;
    if (target_name && !cj_valid_custom_model_name(target_name, target_name_len))
        return cj_job_fail(err, errlen, "targetModelName: not 1..63 of ([0-9a-zA-Z][_-]?)");

    r = get_string(f, F_SOURCE_ACCOUNT_ID, true, &account, &account_len, err, errlen);
    if (r < 0)
        return r;
    if (!cj_valid_account_id(account, account_len))
        return cj_job_fail(err, errlen, "sourceAccountId: not 12 digits");

    r = get_string(f, F_SOURCE_MODEL_ARN, true, &source_arn, &source_arn_len, err, errlen);
    if (r < 0)
        return r;
    if (!cj_valid_model_arn(source_arn, source_arn_len))
        return cj_job_fail(err, errlen, "sourceModelArn: not a model ARN");

    r = get_string(f, F_KMS_KEY_ARN, false, &kms, &kms_len, err, errlen);
    if (r < 0)
        return r;
    if (kms && !cj_valid_kms_key_arn(kms, kms_len))
        return cj_job_fail(err, errlen, "targetModelKmsKeyArn: not a KMS key ARN");

    r = get_string(f, F_FAILURE_MESSAGE, false, &failure, &failure_len, err, errlen);
    if (r < 0)
        return r;
    if (failure && cj_job_utf8_length(failure, failure_len) > FAILURE_MSG_MAX)
        return cj_job_fail(err, errlen, "failureMessage: longer than %d characters",
                           FAILURE_MSG_MAX);

    r = get_string(f, F_SOURCE_MODEL_NAME, false, &source_name, &source_name_len, err, errlen);
    if (r < 0)
        return r;
    if (source_name && !cj_valid_custom_model_name(source_name, source_name_len))
        return cj_job_fail(err, errlen, "sourceModelName: not 1..63 of ([0-9a-zA-Z][_-]?)");

    /* The served bytes, in the model's member order. */
    _cleanup_buf_ struct cj_buf b = {};
    size_t need = 256;
    for (int i = 0; i < _F_MAX; i++)
        if (f[i].kind == K_STRING)
            need += f[i].str.escaped ? f[i].dec_len * 6 : f[i].str.len;
    r = cj_buf_reserve(&b, need);
    if (r >= 0)
        r = cj_buf_append_char(&b, '{');
    if (r >= 0)
        r = append_field(&b, f, F_JOB_ARN);
    if (r >= 0)
        r = append_field(&b, f, F_STATUS);
    if (r >= 0)
        r = append_field(&b, f, F_CREATION_TIME);
    if (r >= 0)
        r = append_field(&b, f, F_TARGET_MODEL_ARN);
    if (r >= 0 && target_name)
        r = append_field(&b, f, F_TARGET_MODEL_NAME);
    if (r >= 0)
        r = append_field(&b, f, F_SOURCE_ACCOUNT_ID);
    if (r >= 0)
        r = append_field(&b, f, F_SOURCE_MODEL_ARN);
    if (r >= 0 && kms)
        r = append_field(&b, f, F_KMS_KEY_ARN);
    if (r >= 0 && f[F_TARGET_MODEL_TAGS].kind != K_ABSENT && f[F_TARGET_MODEL_TAGS].kind != K_NULL)
        r = append_tags(&b, &f[F_TARGET_MODEL_TAGS], t, err, errlen);
    if (r == -EBADMSG)
        return r;
    if (r >= 0 && failure)
        r = append_field(&b, f, F_FAILURE_MESSAGE);
    if (r >= 0 && source_name)
        r = append_field(&b, f, F_SOURCE_MODEL_NAME);
    if (r >= 0)
        r = cj_buf_append_char(&b, '}');
    if (r < 0)
        return r;

    return cj_job_assemble(&b, st, creation_ns, account, arn, arn_len, source_arn, source_arn_len,
                           target_name, target_name_len, ret);
}

static int add_skip(struct page_state *ps, size_t index, const struct field *arn,
                    const char *reason)
{
    if (ps->n_skips == ps->cap_skips) {
        size_t cap = ps->cap_skips ? ps->cap_skips * 2 : 8;
        struct skip *skips = reallocarray(ps->skips, cap, sizeof(*skips));
        if (!skips)
            return -ENOMEM;
        ps->skips = skips;
        ps->cap_skips = cap;
    }
    struct skip *k = &ps->skips[ps->n_skips++];
    k->index = index;
    k->arn[0] = '\0';
    if (arn && arn->kind == K_STRING)
        cj_job_loggable_arn(arn->dec, arn->dec_len, k->arn, sizeof(k->arn));
    snprintf(k->reason, sizeof(k->reason), "%s", reason);
    return 0;
}

static int add_job(struct page_state *ps, const struct cj_job *j)
{
    struct cj_page *p = &ps->page;
    if (p->n_jobs == ps->cap_jobs) {
        size_t cap = ps->cap_jobs ? ps->cap_jobs * 2 : 64;
        struct cj_job *jobs = reallocarray(p->jobs, cap, sizeof(*jobs));
        if (!jobs)
            return -ENOMEM;
        p->jobs = jobs;
        ps->cap_jobs = cap;
    }
    p->jobs[p->n_jobs++] = *j;
    return 0;
}

/* At '[': modelCopyJobSummaries (inside the root object), each summary checked as it
 * passes. */
static int scan_summaries(struct page_state *ps)
{
    struct cj_scan *s = &ps->s;
    int r;

    s->p++;
    cj_scan_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return 0;
    }
    for (size_t i = 0;; i++) {
        struct field f[_F_MAX];
        char reason[REASON_MAX];
        struct cj_job job;

        cj_scan_ws(s);
        if (s->p < s->end && *s->p == '{') {
            r = scan_summary(s, f, &ps->tags);
            if (r < 0)
                return scan_failed(ps, r);
            r = decode_fields(f, _F_MAX, &ps->dec);
            if (r < 0)
                return r;
            r = job_from_fields(f, &ps->tags, &job, reason, sizeof(reason));
            if (r == 0) {
                r = add_job(ps, &job);
                if (r < 0) {
                    cj_job_done(&job);
                    return r;
                }
            } else if (r == -EBADMSG) {
                r = add_skip(ps, i, &f[F_JOB_ARN], reason);
                if (r < 0)
                    return r;
            } else
                return r;
        } else {
            r = cj_scan_value(s, 2);
            if (r < 0)
                return scan_failed(ps, r);
            cj_job_fail(reason, sizeof(reason), "summary: not an object");
            r = add_skip(ps, i, NULL, reason);
            if (r < 0)
                return r;
        }
        r = comma_or(s, ']');
        if (r < 0)
            return scan_failed(ps, r);
        if (r == 0)
            return 0;
    }
}

/* The whole body: the root object and its two members we read, the rest checked and
 * skipped. Fails with ps->syntax set when it is not valid JSON. */
static int scan_page(struct page_state *ps, char *err, size_t errlen)
{
    struct cj_scan *s = &ps->s;
    struct field summaries = {}, token = {};
    int r;

    cj_scan_ws(s);
    if (s->p >= s->end)
        return scan_failed(ps, -EBADMSG);
    if (*s->p != '{') {
        r = cj_scan_value(s, 0);
        if (r < 0)
            return scan_failed(ps, r);
        cj_scan_ws(s);
        if (s->p != s->end)
            return scan_failed(ps, -EBADMSG);
        return cj_job_fail(err, errlen, "response body is not a JSON object");
    }

    r = object_open(s);
    if (r < 0)
        return scan_failed(ps, r);
    if (r > 0) {
        do {
            struct cj_str key;
            r = member_name(s, &key);
            if (r < 0)
                return scan_failed(ps, r);
            struct field *f = key_is(&key, "modelCopyJobSummaries") ? &summaries
                              : key_is(&key, "nextToken")           ? &token
                                                                    : NULL;
            if (!f)
                r = cj_scan_obj_key(s, &key);
            else if (f->kind != K_ABSENT)
                r = -EBADMSG;
            if (r >= 0)
                r = expect(s, ':');
            if (r < 0)
                return scan_failed(ps, r);
            cj_scan_ws(s);
            if (f == &summaries && s->p < s->end && *s->p == '[') {
                summaries.kind = K_OTHER; /* the array: the only kind that is read */
                summaries.value = s->p;
                r = scan_summaries(ps);
                if (r < 0)
                    return r;
            } else
                r = f ? scan_field(s, 1, f) : cj_scan_value(s, 1);
            if (r >= 0)
                r = comma_or(s, '}');
            if (r < 0)
                return scan_failed(ps, r);
        } while (r > 0);
        r = cj_scan_obj_end(s);
        if (r < 0)
            return scan_failed(ps, r);
    }
    cj_scan_ws(s);
    if (s->p != s->end)
        return scan_failed(ps, -EBADMSG);

    /* Valid JSON: now the reference's checks, in its order. */
    if (summaries.kind != K_ABSENT && summaries.kind != K_NULL &&
        !(summaries.kind == K_OTHER && *summaries.value == '['))
        return cj_job_fail(err, errlen, "modelCopyJobSummaries: not an array");
    if (token.kind == K_OTHER)
        return cj_job_fail(err, errlen, "nextToken: not a string");
    if (token.kind == K_STRING) {
        r = decode_fields(&token, 1, &ps->dec);
        if (r < 0)
            return r;
        r = cj_page_next_token(token.dec, token.dec_len, &ps->page.next_token, err, errlen);
        if (r < 0)
            return r;
    }
    ps->page.n_skipped = ps->n_skips;
    for (size_t i = 0; i < ps->n_skips; i++)
        cj_job_log_skipped(ps->skips[i].index, ps->skips[i].arn, ps->skips[i].reason);
    return 0;
}

int cj_page_parse(const char *body, size_t len, struct cj_page *ret, char *err, size_t errlen)
{
    if (!ret)
        return -EINVAL;
    *ret = (struct cj_page){};
    if (err && errlen > 0)
        err[0] = '\0';
    if (!body)
        return cj_job_fail(err, errlen, "empty response body");
    if (len > PAGE_BODY_MAX) {
        cj_job_fail(err, errlen, "response body of %zu bytes exceeds the %zu byte limit", len,
                    PAGE_BODY_MAX);
        return -E2BIG;
    }

    struct page_state ps = {};
    cj_scan_init(&ps.s, body, len);
    int r = scan_page(&ps, err, errlen);
    if (r >= 0) {
        *ret = ps.page;
        ps.page = (struct cj_page){};
    } else if (ps.syntax) {
        /* Refused as JSON: jansson says where and why, in the words the reference uses.
         * Only bodies that are not JSON pay for it. */
        json_error_t jerr;
        json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
        if (root) {
            /* Never expected (the differential fuzzer looks for this): still refused. */
            json_decref(root);
            cj_job_fail(err, errlen, "invalid JSON");
        } else
            cj_job_fail(err, errlen, "invalid JSON at line %d column %d: %s", jerr.line,
                        jerr.column, jerr.text);
        r = -EBADMSG;
    }
    cj_page_done(&ps.page);
    cj_scan_done(&ps.s);
    cj_buf_free(&ps.dec);
    cj_buf_free(&ps.tags.dec);
    free(ps.tags.tag);
    free(ps.skips);
    return r;
}
