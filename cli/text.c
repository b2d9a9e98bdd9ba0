/* SPDX-License-Identifier: MIT */
#include "text.h"

#include <langinfo.h>
#include <locale.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <wchar.h>

static bool utf8_locale;

void ctl_text_init(void)
{
    if (!setlocale(LC_CTYPE, ""))
        return;
    const char *codeset = nl_langinfo(CODESET);
    utf8_locale =
        codeset && (strcasecmp(codeset, "UTF-8") == 0 || strcasecmp(codeset, "utf8") == 0);
}

/* Decodes one UTF-8 sequence. Returns its length and the code point, or length 1 and
 * -1 for a byte that does not start a valid, shortest-form sequence. */
static size_t utf8_decode(const unsigned char *s, int32_t *ret_cp)
{
    unsigned char c = s[0];
    size_t len;
    int32_t cp, min;

    if (c < 0x80) {
        *ret_cp = c;
        return 1;
    }
    if ((c & 0xe0) == 0xc0)
        len = 2, cp = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0)
        len = 3, cp = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0)
        len = 4, cp = c & 0x07, min = 0x10000;
    else
        goto invalid;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
            goto invalid;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        goto invalid;
    *ret_cp = cp;
    return len;

invalid:
    *ret_cp = -1;
    return 1;
}

/* What a terminal may act on or that makes a line read differently from what it holds: C0
 * and C1 controls, DEL, and the bidirectional embeddings, overrides and isolates. */
static bool is_unsafe(int32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f || cp == 0x061c;
}

int ctl_text_append_sanitized(struct cj_buf *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    int r = 0;

    while (*p && r >= 0) {
        int32_t cp;
        size_t len = utf8_decode(p, &cp);

        if (cp == '\t' || cp == '\n' || cp == '\r')
            r = cj_buf_append_char(out, ' ');
        else if (cp < 0 || is_unsafe(cp))
            r = cj_buf_append_char(out, '?');
        else
            r = cj_buf_append(out, p, len);
        p += len;
    }
    return r;
}

int ctl_text_append_json(struct cj_buf *out, const char *json)
{
    const unsigned char *p = (const unsigned char *)json;
    int r = 0;

    while (*p && r >= 0) {
        int32_t cp;
        size_t len = utf8_decode(p, &cp);

        if (cp == '\n') /* only between tokens: jansson escapes it inside strings */
            r = cj_buf_append_char(out, '\n');
        else if (cp < 0)
            r = cj_buf_append_str(out, "\\ufffd");
        else if (is_unsafe(cp))
            r = cj_buf_printf(out, "\\u%04x", (unsigned)cp);
        else
            r = cj_buf_append(out, p, len);
        p += len;
    }
    return r;
}

/* A spreadsheet runs a cell that starts with one of these as a formula (OWASP's list; the
 * full-width forms are read as the ASCII ones by some). Tab and CR, also on that list, never
 * reach a cell: the sanitiser made them spaces. */
static bool starts_formula(const char *s)
{
    static const char *const triggers[] = {
        "=", "+", "-", "@", "\xef\xbc\x9d", "\xef\xbc\x8b", "\xef\xbc\x8d", "\xef\xbc\xa0",
    };
    s += strspn(s, " ");
    for (size_t i = 0; i < ELEMENTSOF(triggers); i++)
        if (strncmp(s, triggers[i], strlen(triggers[i])) == 0)
            return true;
    return false;
}

int ctl_text_append_csv(struct cj_buf *out, const char *s)
{
    _cleanup_buf_ struct cj_buf clean = {0};
    int r = ctl_text_append_sanitized(&clean, s);
    if (r >= 0)
        r = cj_buf_append_str(&clean, "");
    if (r < 0)
        return r;

    bool formula = starts_formula(clean.data);
    if (!formula && !strpbrk(clean.data, ",\""))
        return cj_buf_append_str(out, clean.data);
    r = cj_buf_append_str(out, formula ? "\"'" : "\"");
    for (const char *c = clean.data; *c && r >= 0; c++)
        r = *c == '"' ? cj_buf_append_str(out, "\"\"") : cj_buf_append_char(out, *c);
    return r < 0 ? r : cj_buf_append_char(out, '"');
}

static size_t codepoint_width(int32_t cp)
{
    if (cp < 0)
        return 1;
    if (!utf8_locale)
        return cp < 0x300 || cp > 0x36f ? 1 : 0; /* combining marks take no column */
    int w = wcwidth((wchar_t)cp);
    return w < 0 ? 1 : (size_t)w;
}

size_t ctl_text_width(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t width = 0;

    while (*p) {
        int32_t cp;
        p += utf8_decode(p, &cp);
        width += codepoint_width(cp);
    }
    return width;
}

#define ELLIPSIS "\xe2\x80\xa6" /* U+2026, one column */

int ctl_text_append_fitted(struct cj_buf *out, const char *s, size_t width, bool plain_cut,
                           bool pad)
{
    _cleanup_buf_ struct cj_buf clean = {0};
    int r = ctl_text_append_sanitized(&clean, s);
    if (r < 0)
        return r;
    const char *text = clean.data ? clean.data : "";
    size_t total = ctl_text_width(text), used = 0;

    if (total <= width) {
        r = cj_buf_append_str(out, text);
        used = total;
    } else {
        /* Keep as many whole characters as fit before the ellipsis. */
        size_t room = plain_cut || width == 0 ? width : width - 1;
        const unsigned char *p = (const unsigned char *)text;
        while (*p && r >= 0) {
            int32_t cp;
            size_t len = utf8_decode(p, &cp);
            size_t w = codepoint_width(cp);
            if (used + w > room)
                break;
            r = cj_buf_append(out, p, len);
            used += w;
            p += len;
        }
        if (r >= 0 && !plain_cut && width > 0) {
            r = cj_buf_append_str(out, ELLIPSIS);
            used++;
        }
    }
    while (r >= 0 && pad && used < width) {
        r = cj_buf_append_char(out, ' ');
        used++;
    }
    return r;
}
