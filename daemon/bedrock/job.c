/* SPDX-License-Identifier: MIT */
/* ModelCopyJobSummary: the table of its members' rules, the one check of a summary's
 * values against it, the stored JSON; and what a page adds around the summaries. */
#include "job.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cj-buf.h"
#include "cj-time.h"
#include "job-internal.h"
#include "log.h"

static const char *const status_names[_CJ_STATUS_MAX] = {
    [CJ_STATUS_IN_PROGRESS] = "InProgress",
    [CJ_STATUS_COMPLETED] = "Completed",
    [CJ_STATUS_FAILED] = "Failed",
};

const char *cj_status_to_string(enum cj_status s)
{
    if ((unsigned)s >= _CJ_STATUS_MAX)
        return NULL;
    return status_names[s];
}

/* The status of that name: exact and case-sensitive. */
static int status_from(const char *s, size_t n, enum cj_status *ret)
{
    for (unsigned i = 0; i < _CJ_STATUS_MAX; i++)
        if (strlen(status_names[i]) == n && memcmp(status_names[i], s, n) == 0) {
            if (ret)
                *ret = (enum cj_status)i;
            return 0;
        }
    return -EINVAL;
}

int cj_status_from_string(const char *s, enum cj_status *ret)
{
    return s ? status_from(s, strlen(s), ret) : -EINVAL;
}

/* Replaces control characters (which a reason may quote from the input) with '?'. */
static void sanitize(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

int bedrock_job_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
        sanitize(err);
    }
    return -EBADMSG;
}

void cj_job_done(struct cj_job *j)
{
    if (!j)
        return;
    if (j->mem)
        free(j->mem);
    else {
        free(j->job_arn);
        free(j->source_model_arn);
        free(j->target_model_name);
        free(j->status_name);
        free(j->note);
        free(j->json);
    }
    *j = (struct cj_job){};
}

/* JSON string literal, escaped exactly as cj_buf_append_json_string does (so every part
 * of the project spells a string the same way), written in one reservation: this runs
 * for every string of every job on every sync. */
static int append_json_string(struct cj_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    if (len > (SIZE_MAX - 2) / 6)
        return -E2BIG;
    int r = cj_buf_reserve(b, len * 6 + 2);
    if (r < 0)
        return r;
    char *o = b->data + b->len;
    *o++ = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"':
        case '\\':
            *o++ = (char)c;
            break;
        case '\n':
            *o++ = 'n';
            break;
        case '\r':
            *o++ = 'r';
            break;
        case '\t':
            *o++ = 't';
            break;
        default:
            memcpy(o, "u00", 3);
            o[3] = hex[c >> 4];
            o[4] = hex[c & 0xf];
            o += 5;
        }
    }
    *o++ = '"';
    *o = '\0';
    b->len = (size_t)(o - b->data);
    return 0;
}

/* Limits spelt into the reasons. */
#define STR_(x)              #x
#define STR(x)               STR_(x)
#define JOB_ARN_MAX_TEXT     STR(CJ_JOB_ARN_MAX)
#define FAILURE_MSG_MAX_TEXT STR(FAILURE_MSG_MAX)

static bool valid_status(const char *s, size_t len)
{
    return status_from(s, len, NULL) == 0;
}

/* The rules, and what breaking each means. Refused (SKIP) is only what the cache cannot
 * store or serve safely: the jobArn (the key), the creationTime (the order of every index),
 * the sourceAccountId (a fixed 12-byte index key), a value of the wrong JSON type, a status
 * or sourceModelArn too long to index. Everything else the model documents (an enum value,
 * a length, a pattern) is kept as sent and noted, as AWS SDKs treat what a newer service
 * sends. */
const struct cj_member_rule cj_job_members[_CJ_M_MAX] = {
#define M(i, n, need, t, fn, brk, max, why) [i] = {n, STRLEN(n), need, t, fn, brk, max, why}
    M(CJ_M_JOB_ARN, "jobArn", CJ_REQUIRED, CJ_TYPE_STRING, cj_valid_job_arn, CJ_BREAK_SKIP, 0,
      "not a model copy job ARN of at most " JOB_ARN_MAX_TEXT " bytes "
      "(arn:aws:bedrock:<region>:<account>:model-copy-job/<12 chars>)"),
    M(CJ_M_STATUS, "status", CJ_REQUIRED, CJ_TYPE_ENUM, valid_status, CJ_BREAK_KEEP,
      CJ_STATUS_NAME_MAX, "not one of InProgress, Completed, Failed"),
    M(CJ_M_CREATION_TIME, "creationTime", CJ_REQUIRED, CJ_TYPE_TIMESTAMP, NULL, CJ_BREAK_SKIP, 0,
      "not an ISO 8601 date and time"),
    M(CJ_M_TARGET_MODEL_ARN, "targetModelArn", CJ_EXPECTED, CJ_TYPE_STRING,
      cj_valid_custom_model_arn, CJ_BREAK_KEEP, 0, "not a custom model ARN"),
    M(CJ_M_TARGET_MODEL_NAME, "targetModelName", CJ_OPTIONAL, CJ_TYPE_STRING,
      cj_valid_custom_model_name, CJ_BREAK_KEEP, 0, "not 1..63 of ([0-9a-zA-Z][_-]?)"),
    M(CJ_M_SOURCE_ACCOUNT_ID, "sourceAccountId", CJ_REQUIRED, CJ_TYPE_STRING, cj_valid_account_id,
      CJ_BREAK_SKIP, 0, "not 12 digits"),
    M(CJ_M_SOURCE_MODEL_ARN, "sourceModelArn", CJ_EXPECTED, CJ_TYPE_STRING, cj_valid_model_arn,
      CJ_BREAK_KEEP, CJ_SOURCE_MODEL_ARN_KEEP_MAX, "not a model ARN"),
    M(CJ_M_TARGET_MODEL_KMS_KEY_ARN, "targetModelKmsKeyArn", CJ_OPTIONAL, CJ_TYPE_STRING,
      cj_valid_kms_key_arn, CJ_BREAK_KEEP, 0, "not a KMS key ARN"),
    M(CJ_M_TARGET_MODEL_TAGS, "targetModelTags", CJ_OPTIONAL, CJ_TYPE_TAGS, NULL, CJ_BREAK_KEEP,
      TAGS_KEEP_MAX, "more than " STR(TAGS_MAX) " tags"),
    M(CJ_M_FAILURE_MESSAGE, "failureMessage", CJ_OPTIONAL, CJ_TYPE_STRING, cj_valid_failure_message,
      CJ_BREAK_KEEP, 0, "longer than " FAILURE_MSG_MAX_TEXT " characters"),
    M(CJ_M_SOURCE_MODEL_NAME, "sourceModelName", CJ_OPTIONAL, CJ_TYPE_STRING,
      cj_valid_custom_model_name, CJ_BREAK_KEEP, 0, "not 1..63 of ([0-9a-zA-Z][_-]?)"),
};

/* A tag that is not an object, or lacks a string key or value, cannot be served as a tag:
 * refused by the type rule. Its text outside the pattern or length is kept. */
const struct cj_member_rule cj_tag_members[_CJ_TAG_MAX] = {
    M(CJ_TAG_KEY, "key", CJ_REQUIRED, CJ_TYPE_STRING, cj_valid_tag_key, CJ_BREAK_KEEP, 0,
      "not 1..128 of [a-zA-Z0-9 ._:/=+@-]"),
    M(CJ_TAG_VALUE, "value", CJ_REQUIRED, CJ_TYPE_STRING, cj_valid_tag_value, CJ_BREAK_KEEP, 0,
      "not 0..256 of [a-zA-Z0-9 ._:/=+@-]"),
#undef M
};

static bool present(const struct cj_value *v)
{
    return v->kind != CJ_VALUE_ABSENT && v->kind != CJ_VALUE_NULL;
}

enum verdict {
    VERDICT_OK,
    VERDICT_NOTE,   /* kept, with the reason as the note */
    VERDICT_REFUSE, /* the job is refused for the reason */
};

/* A status name the store can index: 1..CJ_STATUS_NAME_MAX bytes, no control character. */
static bool indexable_status(const char *s, size_t len)
{
    if (len == 0 || len > CJ_STATUS_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* How a scalar value stands with rule m; *why gets the reason after its name. A timestamp's
 * time is put into *ns. */
static enum verdict judge(const struct cj_member_rule *m, const struct cj_value *v, int64_t *ns,
                          const char **why)
{
    *why = NULL;
    if (!present(v)) {
        if (m->presence == CJ_OPTIONAL)
            return VERDICT_OK;
        *why = "missing";
        return m->presence == CJ_EXPECTED ? VERDICT_NOTE : VERDICT_REFUSE;
    }
    if (v->kind != CJ_VALUE_STRING) {
        *why = "not a string";
        return VERDICT_REFUSE;
    }
    if (m->type == CJ_TYPE_TIMESTAMP) {
        int r = cj_time_parse_iso8601(v->s, v->len, ns);
        if (r == -ERANGE)
            *why = "outside the years 1678..2262";
        else if (r >= 0 && v->len > STRLEN("YYYY-MM-DD"))
            return VERDICT_OK; /* a date alone is no creation time */
    } else if (m->valid(v->s, v->len))
        return VERDICT_OK;
    if (!*why)
        *why = m->broken;
    if (m->on_break == CJ_BREAK_SKIP)
        return VERDICT_REFUSE;
    if (m->keep_max > 0 && v->len > m->keep_max) {
        *why = "too long to index";
        return VERDICT_REFUSE;
    }
    if (m->type == CJ_TYPE_ENUM && !indexable_status(v->s, v->len)) {
        *why = "not a status name that can be indexed (empty, or a control character)";
        return VERDICT_REFUSE;
    }
    return VERDICT_NOTE;
}

/* Keeps the first note: "<what>: <why>". */
static void note(char *buf, size_t size, const char *what, const char *why)
{
    if (buf[0] == '\0')
        snprintf(buf, size, "%s: %s", what, why);
}

static int check_tags(const struct cj_value *v, const struct cj_tags *t, char *notes,
                      size_t notes_size, char *err, size_t errlen)
{
    const struct cj_member_rule *m = &cj_job_members[CJ_M_TARGET_MODEL_TAGS];

    if (v->kind != CJ_VALUE_ARRAY)
        return bedrock_job_fail(err, errlen, "%s: not an array", m->name);
    if (t->n > m->keep_max)
        return bedrock_job_fail(err, errlen, "%s: %zu tags, more than the %zu kept", m->name, t->n,
                                m->keep_max);
    if (t->n > TAGS_MAX)
        note(notes, notes_size, m->name, m->broken);
    for (size_t i = 0; i < t->n; i++) {
        if (!t->tag[i].object)
            return bedrock_job_fail(err, errlen, "%s[%zu]: not an object", m->name, i);
        for (int k = 0; k < _CJ_TAG_MAX; k++) {
            const char *why;
            switch (judge(&cj_tag_members[k], &t->tag[i].member[k], NULL, &why)) {
            case VERDICT_OK:
                break;
            case VERDICT_NOTE: {
                char what[64];
                snprintf(what, sizeof(what), "%s[%zu].%s", m->name, i, cj_tag_members[k].name);
                note(notes, notes_size, what, why);
                break;
            }
            case VERDICT_REFUSE:
                return bedrock_job_fail(err, errlen, "%s[%zu].%s: %s", m->name, i,
                                        cj_tag_members[k].name, why);
            }
        }
    }
    return 0;
}

/* ,"name": (no comma for an object's first member), with room for extra bytes after it. */
static int append_name(struct cj_buf *b, const char *name, size_t name_len, size_t extra)
{
    int r = cj_buf_reserve(b, name_len + 4 + extra);
    if (r < 0)
        return r;
    char *o = b->data + b->len;
    if (b->len > 0 && o[-1] != '{')
        *o++ = ',';
    *o++ = '"';
    memcpy(o, name, name_len);
    o += name_len;
    *o++ = '"';
    *o++ = ':';
    b->len = (size_t)(o - b->data);
    return 0;
}

/* ,"name":"value". A plain string's bytes are copied as they are: they are already what
 * append_json_string() would write. */
static int append_member(struct cj_buf *b, const struct cj_member_rule *m, const struct cj_value *v)
{
    int r = append_name(b, m->name, m->name_len, v->plain ? v->len + 3 : 0);
    if (r < 0 || !v->plain)
        return r < 0 ? r : append_json_string(b, v->s, v->len);
    char *o = b->data + b->len;
    *o++ = '"';
    memcpy(o, v->s, v->len);
    o += v->len;
    *o++ = '"';
    *o = '\0';
    b->len = (size_t)(o - b->data);
    return 0;
}

/* ,"targetModelTags":[{"key":..,"value":..},...] of checked tags. */
static int append_tags(struct cj_buf *b, const struct cj_member_rule *m, const struct cj_tags *t)
{
    int r = append_name(b, m->name, m->name_len, 1);
    if (r >= 0)
        r = cj_buf_append_char(b, '[');
    for (size_t i = 0; r >= 0 && i < t->n; i++) {
        r = cj_buf_append_str(b, i ? ",{" : "{");
        for (int k = 0; r >= 0 && k < _CJ_TAG_MAX; k++)
            r = append_member(b, &cj_tag_members[k], &t->tag[i].member[k]);
        if (r >= 0)
            r = cj_buf_append_char(b, '}');
    }
    return r < 0 ? r : cj_buf_append_char(b, ']');
}

/* Appends s and a NUL; *at is where s begins. */
static int append_string(struct cj_buf *b, const char *s, size_t len, size_t *at)
{
    *at = b->len;
    int r = cj_buf_append(b, s, len);
    return r < 0 ? r : cj_buf_append_char(b, '\0');
}

int bedrock_job_from_values(const struct cj_value v[static _CJ_M_MAX], const struct cj_tags *tags,
                            struct cj_job *ret, char *err, size_t errlen)
{
    int64_t creation_ns = 0;
    char notes[REASON_MAX] = "";
    int r;

    *ret = (struct cj_job){};
    if (err && errlen > 0)
        err[0] = '\0';

    /* Every member first, in the table's order, so the reason names the first bad one;
     * the tags last, being the costliest. */
    for (int i = 0; i < _CJ_M_MAX; i++)
        if (cj_job_members[i].type != CJ_TYPE_TAGS) {
            const char *why;
            switch (judge(&cj_job_members[i], &v[i], &creation_ns, &why)) {
            case VERDICT_OK:
                break;
            case VERDICT_NOTE:
                note(notes, sizeof(notes), cj_job_members[i].name, why);
                break;
            case VERDICT_REFUSE:
                return bedrock_job_fail(err, errlen, "%s: %s", cj_job_members[i].name, why);
            }
        }
    if (present(&v[CJ_M_TARGET_MODEL_TAGS])) {
        r = check_tags(&v[CJ_M_TARGET_MODEL_TAGS], tags, notes, sizeof(notes), err, errlen);
        if (r < 0)
            return r;
    }

    /* The served bytes, in the table's order, then the strings the store reads: one
     * allocation for the whole job (a sync parses a million of them). */
    const struct cj_value *name = &v[CJ_M_TARGET_MODEL_NAME], *status = &v[CJ_M_STATUS];
    const struct cj_value *model = &v[CJ_M_SOURCE_MODEL_ARN], *arn = &v[CJ_M_JOB_ARN];
    struct cj_job j = {.creation_ns = creation_ns};
    bool other = status_from(status->s, status->len, &j.status) < 0;
    _cleanup_buf_ struct cj_buf b = {};
    size_t model_len = present(model) ? model->len : 0, name_len = present(name) ? name->len : 0;
    size_t need =
        256 + 1 + arn->len + 1 + model_len + 1 + name_len + 1 + status->len + 1 + strlen(notes) + 1;
    for (int i = 0; i < _CJ_M_MAX; i++)
        if (v[i].kind == CJ_VALUE_STRING)
            need += v[i].plain ? v[i].len : v[i].len * 6;
    r = cj_buf_reserve(&b, need);
    if (r >= 0)
        r = cj_buf_append_char(&b, '{');
    for (int i = 0; r >= 0 && i < _CJ_M_MAX; i++)
        if (present(&v[i]))
            r = cj_job_members[i].type == CJ_TYPE_TAGS
                    ? append_tags(&b, &cj_job_members[i], tags)
                    : append_member(&b, &cj_job_members[i], &v[i]);
    if (r >= 0)
        r = cj_buf_append_char(&b, '}');
    j.json_len = b.len;
    size_t arn_at = 0, model_at = 0, name_at = 0, status_at = 0, note_at = 0;
    if (r >= 0)
        r = cj_buf_append_char(&b, '\0');
    if (r >= 0)
        r = append_string(&b, arn->s, arn->len, &arn_at);
    if (r >= 0)
        r = append_string(&b, present(model) ? model->s : "", model_len, &model_at);
    if (r >= 0 && present(name))
        r = append_string(&b, name->s, name_len, &name_at);
    if (r >= 0 && other)
        r = append_string(&b, status->s, status->len, &status_at);
    if (r >= 0 && notes[0])
        r = append_string(&b, notes, strlen(notes), &note_at);
    if (r < 0)
        return r;

    j.mem = j.json = cj_buf_steal(&b);
    j.job_arn = j.mem + arn_at;
    j.source_model_arn = j.mem + model_at;
    j.target_model_name = present(name) ? j.mem + name_at : NULL;
    if (other) {
        j.status = CJ_STATUS_OTHER;
        j.status_name = j.mem + status_at;
    }
    j.note = notes[0] ? j.mem + note_at : NULL;
    memcpy(j.source_account, v[CJ_M_SOURCE_ACCOUNT_ID].s, CJ_ACCOUNT_ID_LEN);
    *ret = j;
    return 0;
}

void cj_page_done(struct cj_page *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_jobs; i++)
        cj_job_done(&p->jobs[i]);
    free(p->jobs);
    for (size_t i = 0; i < p->n_skipped_arns; i++)
        free(p->skipped_arns[i]);
    free(p->skipped_arns);
    free(p->next_token);
    *p = (struct cj_page){};
}

int bedrock_page_add_skipped_arn(struct cj_page *page, size_t *cap, const struct cj_value *arn)
{
    if (!arn || arn->kind != CJ_VALUE_STRING || !cj_valid_job_arn(arn->s, arn->len))
        return 0;
    if (page->n_skipped_arns == *cap) {
        size_t c = *cap ? *cap * 2 : 8;
        char **a = reallocarray(page->skipped_arns, c, sizeof(*a));
        if (!a)
            return -ENOMEM;
        page->skipped_arns = a;
        *cap = c;
    }
    char *copy = strndup(arn->s, arn->len);
    if (!copy)
        return -ENOMEM;
    page->skipped_arns[page->n_skipped_arns++] = copy;
    return 0;
}

void bedrock_job_loggable_arn(const char *s, size_t n, char *buf, size_t size)
{
    if (n > size - 1) {
        n = size - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--; /* s[n] is where the cut falls; never split a character */
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    sanitize(buf);
}

void bedrock_job_log_skipped(size_t i, const char *arn, const char *reason)
{
    if (arn[0])
        log_warning("Skipping model copy job summary %zu (jobArn %s): %s", i, arn, reason);
    else
        log_warning("Skipping model copy job summary %zu: %s", i, reason);
}

int bedrock_page_check_body(const char *body, size_t len, char *err, size_t errlen)
{
    if (err && errlen > 0)
        err[0] = '\0';
    if (!body)
        return bedrock_job_fail(err, errlen, "empty response body");
    if (len > PAGE_BODY_MAX) {
        bedrock_job_fail(err, errlen, "response body of %zu bytes exceeds the %zu byte limit", len,
                         PAGE_BODY_MAX);
        return -E2BIG;
    }
    return 0;
}

int bedrock_page_check_root(const struct cj_value *summaries, const struct cj_value *token,
                            char **next_token, char *err, size_t errlen)
{
    *next_token = NULL;
    if (present(summaries) && summaries->kind != CJ_VALUE_ARRAY)
        return bedrock_job_fail(err, errlen, "modelCopyJobSummaries: not an array");
    if (!present(token))
        return 0;
    if (token->kind != CJ_VALUE_STRING)
        return bedrock_job_fail(err, errlen, "nextToken: not a string");
    if (token->len == 0)
        return 0;
    if (token->len > NEXT_TOKEN_MAX)
        return bedrock_job_fail(err, errlen, "nextToken: %zu bytes, at most %d allowed", token->len,
                                NEXT_TOKEN_MAX);
    if (!cj_valid_next_token(token->s, token->len))
        return bedrock_job_fail(err, errlen, "nextToken: contains white space");
    *next_token = strndup(token->s, token->len);
    return *next_token ? 0 : -ENOMEM;
}
