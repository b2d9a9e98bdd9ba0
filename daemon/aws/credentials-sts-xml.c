/* SPDX-License-Identifier: MIT */
/* STS answers in XML: a bounded walker of our own for the few flat shapes STS sends, rather
 * than a general XML library: no DTDs or external entities to disable, no allocation per node,
 * and every limit (depth, text length, input size) is ours. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cj-time.h"
#include "credentials-sts.h"

struct walker {
    const char *p, *end;
    char *err;
    size_t errlen;
};

static int fail(struct walker *w, const char *what)
{
    snprintf(w->err, w->errlen, "the XML answer is not valid: %s at byte %zu", what,
             (size_t)(w->end - w->p));
    return -EINVAL;
}

static bool starts(const struct walker *w, const char *s)
{
    size_t n = strlen(s);
    return (size_t)(w->end - w->p) >= n && memcmp(w->p, s, n) == 0;
}

/* Skips to just after the terminator; -EINVAL when it never comes. */
static int skip_past(struct walker *w, const char *term, const char *what)
{
    size_t n = strlen(term);
    for (const char *q = w->p; (size_t)(w->end - q) >= n; q++)
        if (memcmp(q, term, n) == 0) {
            w->p = q + n;
            return 0;
        }
    return fail(w, what);
}

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.' || c == ':' || (unsigned char)c >= 0x80;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Appends one code point as UTF-8; false when not a valid XML character. */
static bool append_code_point(char *out, size_t *len, unsigned long cp)
{
    if (cp == 0 || (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return false;
    if (cp < 0x80) {
        out[(*len)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*len)++] = (char)(0xc0 | (cp >> 6));
        out[(*len)++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out[(*len)++] = (char)(0xe0 | (cp >> 12));
        out[(*len)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[(*len)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        out[(*len)++] = (char)(0xf0 | (cp >> 18));
        out[(*len)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[(*len)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[(*len)++] = (char)(0x80 | (cp & 0x3f));
    }
    return true;
}

/* Decodes one entity at w->p ('&') into out. */
static int decode_entity(struct walker *w, char *out, size_t *len)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''}};
    for (size_t i = 0; i < ELEMENTSOF(named); i++)
        if (starts(w, named[i].name)) {
            out[(*len)++] = named[i].c;
            w->p += strlen(named[i].name);
            return 0;
        }
    if (!starts(w, "&#"))
        return fail(w, "unknown entity");
    const char *q = w->p + 2;
    bool hex = q < w->end && *q == 'x';
    if (hex)
        q++;
    unsigned long cp = 0;
    int digits = 0;
    for (; q < w->end && *q != ';'; q++, digits++) {
        int d;
        if (*q >= '0' && *q <= '9')
            d = *q - '0';
        else if (hex && *q >= 'a' && *q <= 'f')
            d = *q - 'a' + 10;
        else if (hex && *q >= 'A' && *q <= 'F')
            d = *q - 'A' + 10;
        else
            return fail(w, "bad character reference");
        if (digits >= 8)
            return fail(w, "character reference too long");
        cp = cp * (hex ? 16 : 10) + (unsigned long)d;
    }
    if (q >= w->end || digits == 0 || !append_code_point(out, len, cp))
        return fail(w, "bad character reference");
    w->p = q + 1;
    return 0;
}

struct text {
    char *buf; /* CJ_STS_XML_VALUE_MAX + 1 */
    size_t len;
    bool overflow;
};

static void text_add(struct text *t, const char *s, size_t n)
{
    if (t->len + n > CJ_STS_XML_VALUE_MAX) {
        t->overflow = true;
        return;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
}

/* Reads character data up to the next '<' that is not CDATA, decoding into t (when t). */
static int read_text(struct walker *w, struct text *t)
{
    while (w->p < w->end) {
        if (starts(w, "<![CDATA[")) {
            w->p += STRLEN("<![CDATA[");
            const char *start = w->p;
            int r = skip_past(w, "]]>", "unterminated CDATA");
            if (r < 0)
                return r;
            if (t)
                text_add(t, start, (size_t)(w->p - STRLEN("]]>") - start));
            continue;
        }
        if (*w->p == '<')
            return 0;
        if (*w->p == '&') {
            char tmp[8];
            size_t n = 0;
            int r = decode_entity(w, tmp, &n);
            if (r < 0)
                return r;
            if (t)
                text_add(t, tmp, n);
            continue;
        }
        if (*w->p == '\0')
            return fail(w, "NUL byte");
        if (t)
            text_add(t, w->p, 1);
        w->p++;
    }
    return 0;
}

/* Skips attributes up to '>' or "/>"; sets *empty for the latter. */
static int skip_attributes(struct walker *w, bool *empty)
{
    while (w->p < w->end) {
        char c = *w->p;
        if (c == '>') {
            w->p++;
            *empty = false;
            return 0;
        }
        if (c == '/' && w->p + 1 < w->end && w->p[1] == '>') {
            w->p += 2;
            *empty = true;
            return 0;
        }
        if (c == '"' || c == '\'') {
            const char *q = memchr(w->p + 1, c, (size_t)(w->end - w->p - 1));
            if (!q)
                return fail(w, "unterminated attribute value");
            if (memchr(w->p + 1, '<', (size_t)(q - w->p - 1)))
                return fail(w, "'<' in an attribute value");
            w->p = q + 1;
            continue;
        }
        if (c == '<' || c == '\0')
            return fail(w, "unterminated tag");
        w->p++;
    }
    return fail(w, "unterminated tag");
}

/* The local name (after any prefix) of the name at w->p; advances past it. */
static int read_name(struct walker *w, const char **name, size_t *namelen)
{
    const char *start = w->p;
    while (w->p < w->end && is_name_char(*w->p))
        w->p++;
    if (w->p == start)
        return fail(w, "missing element name");
    const char *local = start;
    for (const char *q = start; q < w->p; q++)
        if (*q == ':')
            local = q + 1;
    if (local == w->p)
        return fail(w, "empty local name");
    *name = local;
    *namelen = (size_t)(w->p - local);
    return 0;
}

struct frame {
    const char *name;
    size_t len;
};

/* Whether the open elements are exactly the path "A/B/C". */
static bool path_is(const struct frame *stack, size_t depth, const char *path)
{
    const char *p = path;
    for (size_t i = 0; i < depth; i++) {
        const char *slash = strchr(p, '/');
        size_t seg = slash ? (size_t)(slash - p) : strlen(p);
        if (seg != stack[i].len || memcmp(p, stack[i].name, seg) != 0)
            return false;
        if (!slash)
            return i + 1 == depth;
        p = slash + 1;
    }
    return false;
}

int aws_xml_extract(const char *data, size_t len, const char *const *paths, size_t n, char **values,
                    char *err, size_t errlen)
{
    struct walker w = {.p = data, .end = data + len, .err = err, .errlen = errlen};
    struct frame stack[CJ_STS_XML_DEPTH_MAX];
    size_t depth = 0;
    bool seen_root = false;
    struct text t = {0};
    int r = 0;

    for (size_t i = 0; i < n; i++)
        values[i] = NULL;
    if (len > CJ_CRED_RESPONSE_MAX) {
        snprintf(err, errlen, "the XML answer is larger than %zu bytes", CJ_CRED_RESPONSE_MAX);
        return -EFBIG;
    }
    t.buf = malloc(CJ_STS_XML_VALUE_MAX + 1);
    if (!t.buf)
        return -ENOMEM;

    while (w.p < w.end) {
        if (*w.p != '<' || starts(&w, "<![CDATA[")) {
            if (depth == 0) {
                while (w.p < w.end && is_space(*w.p))
                    w.p++;
                if (w.p < w.end && *w.p != '<') {
                    r = fail(&w, "text outside the root element");
                    goto out;
                }
                if (starts(&w, "<![CDATA[")) {
                    r = fail(&w, "CDATA outside the root element");
                    goto out;
                }
                continue;
            }
            /* Text: kept only when the open element is wanted, else checked and dropped. */
            ssize_t want = -1;
            for (size_t i = 0; i < n; i++)
                if (path_is(stack, depth, paths[i]))
                    want = (ssize_t)i;
            t.len = 0;
            t.overflow = false;
            r = read_text(&w, want >= 0 ? &t : NULL);
            if (r < 0)
                goto out;
            size_t oldlen = want >= 0 && values[want] ? strlen(values[want]) : 0;
            if (t.overflow || oldlen + t.len > CJ_STS_XML_VALUE_MAX) {
                r = fail(&w, "an element's text is too long");
                goto out;
            }
            if (want >= 0 && t.len > 0) {
                /* Text split by a comment joins the value already there. */
                char *v = malloc(oldlen + t.len + 1);
                if (!v) {
                    r = -ENOMEM;
                    goto out;
                }
                if (oldlen)
                    memcpy(v, values[want], oldlen);
                memcpy(v + oldlen, t.buf, t.len);
                v[oldlen + t.len] = '\0';
                aws_free_secret(values[want]);
                values[want] = v;
            }
            continue;
        }
        if (starts(&w, "<?")) {
            if ((r = skip_past(&w, "?>", "unterminated processing instruction")) < 0)
                goto out;
            continue;
        }
        if (starts(&w, "<!--")) {
            if ((r = skip_past(&w, "-->", "unterminated comment")) < 0)
                goto out;
            continue;
        }
        if (starts(&w, "<!")) {
            r = fail(&w, "DOCTYPE and declarations are not accepted");
            goto out;
        }
        if (starts(&w, "</")) {
            w.p += 2;
            const char *name;
            size_t namelen;
            if ((r = read_name(&w, &name, &namelen)) < 0)
                goto out;
            while (w.p < w.end && is_space(*w.p))
                w.p++;
            if (w.p >= w.end || *w.p != '>') {
                r = fail(&w, "bad closing tag");
                goto out;
            }
            w.p++;
            if (depth == 0 || stack[depth - 1].len != namelen ||
                memcmp(stack[depth - 1].name, name, namelen) != 0) {
                r = fail(&w, "mismatched closing tag");
                goto out;
            }
            depth--;
            continue;
        }
        /* An opening tag. */
        w.p++;
        if (depth == 0 && seen_root) {
            r = fail(&w, "a second root element");
            goto out;
        }
        if (depth == CJ_STS_XML_DEPTH_MAX) {
            r = fail(&w, "elements nested too deep");
            goto out;
        }
        const char *name;
        size_t namelen;
        if ((r = read_name(&w, &name, &namelen)) < 0)
            goto out;
        bool empty;
        if ((r = skip_attributes(&w, &empty)) < 0)
            goto out;
        seen_root = true;
        stack[depth++] = (struct frame){name, namelen};
        for (size_t i = 0; i < n; i++)
            if (path_is(stack, depth, paths[i]) && values[i]) {
                r = fail(&w, "an element appears twice");
                goto out;
            }
        if (empty)
            depth--;
    }
    if (depth > 0 || !seen_root)
        r = fail(&w, seen_root ? "unclosed element" : "no root element");
out:
    cj_explicit_zero(t.buf, CJ_STS_XML_VALUE_MAX + 1);
    free(t.buf);
    if (r < 0)
        for (size_t i = 0; i < n; i++) {
            aws_free_secret(values[i]);
            values[i] = NULL;
        }
    return r;
}

static void free_values(char **values, size_t n)
{
    for (size_t i = 0; i < n; i++)
        aws_free_secret(values[i]);
}

/* Copies s into out, replacing control characters, at most outlen - 1 bytes. */
static void copy_printable(char *out, size_t outlen, const char *s)
{
    size_t i = 0;
    for (; s && s[i] && i + 1 < outlen; i++)
        out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i];
    out[i] = '\0';
}

int aws_sts_parse_error(const char *data, size_t len, struct aws_sts_error *ret)
{
    static const char *const paths[] = {"ErrorResponse/Error/Code", "ErrorResponse/Error/Message"};
    char *values[2];
    char err[128];

    *ret = (struct aws_sts_error){0};
    int r = aws_xml_extract(data, len, paths, 2, values, err, sizeof(err));
    if (r < 0)
        return r;
    if (!values[0]) {
        free_values(values, 2);
        return -EINVAL;
    }
    /* An error code is a word; anything else is not one to echo. */
    bool word = true;
    for (const char *c = values[0]; *c; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
              *c == '.' || *c == '_'))
            word = false;
    copy_printable(ret->code, sizeof(ret->code), word ? values[0] : "");
    copy_printable(ret->message, sizeof(ret->message), values[1]);
    free_values(values, 2);
    return 0;
}

int aws_sts_parse_credentials(const char *action, const char *data, size_t len, int64_t now_ns,
                              struct cj_aws_credentials *ret, char *err, size_t errlen)
{
    enum { KEY_ID, SECRET, TOKEN, EXPIRATION, ARN, N };
    static const char *const fields[N] = {"Credentials/AccessKeyId", "Credentials/SecretAccessKey",
                                          "Credentials/SessionToken", "Credentials/Expiration",
                                          "AssumedRoleUser/Arn"};
    char paths[N][128];
    const char *path_ptrs[N];
    char *values[N];

    *ret = (struct cj_aws_credentials){0};
    if (strcmp(action, "AssumeRole") != 0 && strcmp(action, "AssumeRoleWithWebIdentity") != 0) {
        snprintf(err, errlen, "unknown STS action");
        return -EINVAL;
    }
    for (size_t i = 0; i < N; i++) {
        snprintf(paths[i], sizeof(paths[i]), "%sResponse/%sResult/%s", action, action, fields[i]);
        path_ptrs[i] = paths[i];
    }
    int r = aws_xml_extract(data, len, path_ptrs, N, values, err, errlen);
    if (r < 0)
        return r;
    if (!values[KEY_ID] || !values[SECRET] || !values[TOKEN] || !values[EXPIRATION]) {
        snprintf(err, errlen, "the %s answer has no %s", action,
                 !values[KEY_ID]   ? "AccessKeyId"
                 : !values[SECRET] ? "SecretAccessKey"
                 : !values[TOKEN]  ? "SessionToken"
                                   : "Expiration");
        r = -EINVAL;
        goto out;
    }
    char why[160];
    r = aws_cred_set(ret, values[KEY_ID], values[SECRET], values[TOKEN], values[EXPIRATION], now_ns,
                     why, sizeof(why));
    if (r < 0)
        snprintf(err, errlen, "the %s answer is not usable: %s", action, why);
out:
    free_values(values, N);
    return r;
}
