/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "output.h"
#include "text.h"

json_t *ctl_json_parse_object(const struct ctl_response *resp, const char *what)
{
    json_error_t error;

    if (resp->body.len == 0) {
        ctl_error("copyjobd sent an empty answer for %s", what);
        return NULL;
    }
    json_t *value = json_loadb(resp->body.data, resp->body.len, 0, &error);
    if (!value) {
        /* error.text quotes the offending bytes; ctl_error() sanitises them. */
        ctl_error("copyjobd sent invalid JSON for %s (line %d: %s)", what, error.line, error.text);
        return NULL;
    }
    if (!json_is_object(value)) {
        ctl_error("copyjobd sent JSON that is not an object for %s", what);
        json_decref(value);
        return NULL;
    }
    return value;
}

int ctl_json_dump(const json_t *value, size_t flags, struct cj_buf *out)
{
    _cleanup_free_ char *text = json_dumps(value, flags | JSON_ENCODE_ANY);
    if (!text)
        return -ENOMEM;
    int r = ctl_text_append_json(out, text);
    return r < 0 ? r : cj_buf_append_str(out, "");
}

static int print_dump(FILE *f, const json_t *value, size_t flags)
{
    _cleanup_buf_ struct cj_buf text = {0};
    int r = ctl_json_dump(value, flags, &text);
    if (r < 0)
        return r;
    if (fwrite(text.data, 1, text.len, f) != text.len)
        return -EIO;
    return fputc('\n', f) == EOF ? -EIO : 0;
}

int ctl_json_print(FILE *f, const json_t *value)
{
    return print_dump(f, value, JSON_INDENT(2));
}

int ctl_json_print_line(FILE *f, const json_t *value)
{
    return print_dump(f, value, JSON_COMPACT);
}

const char *ctl_json_text(const json_t *obj, const char *key, struct cj_buf *scratch)
{
    json_t *v = json_object_get(obj, key);
    int r;

    if (!v)
        return NULL;
    cj_buf_reset(scratch);
    switch (json_typeof(v)) {
    case JSON_STRING:
        return json_string_value(v);
    case JSON_INTEGER:
        r = cj_buf_printf(scratch, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        r = cj_buf_printf(scratch, "%.17g", json_real_value(v));
        break;
    case JSON_TRUE:
        return "true";
    case JSON_FALSE:
        return "false";
    case JSON_OBJECT:
    case JSON_ARRAY: {
        char *s = json_dumps(v, JSON_COMPACT);
        r = s ? cj_buf_append_str(scratch, s) : -ENOMEM;
        free(s);
        break;
    }
    default: /* null */
        return NULL;
    }
    return r < 0 ? NULL : scratch->data;
}
