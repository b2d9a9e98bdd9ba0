/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "output.h"

json_t *ctl_json_parse_object(const struct ctl_response *resp, const char *what)
{
    json_error_t error;

    if (resp->body.len == 0) {
        fprintf(stderr, "copyjobctl: copyjobd sent an empty answer for %s\n", what);
        return NULL;
    }
    json_t *value = json_loadb(resp->body.data, resp->body.len, 0, &error);
    if (!value) {
        fprintf(stderr, "copyjobctl: copyjobd sent invalid JSON for %s (line %d: %s)\n", what,
                error.line, error.text);
        return NULL;
    }
    if (!json_is_object(value)) {
        fprintf(stderr, "copyjobctl: copyjobd sent JSON that is not an object for %s\n", what);
        json_decref(value);
        return NULL;
    }
    return value;
}

int ctl_json_print(FILE *f, const json_t *value)
{
    if (json_dumpf(value, f, JSON_INDENT(2) | JSON_ENCODE_ANY) < 0)
        return -EIO;
    return fputc('\n', f) == EOF ? -EIO : 0;
}

int ctl_json_print_line(FILE *f, const json_t *value)
{
    if (json_dumpf(value, f, JSON_COMPACT | JSON_ENCODE_ANY) < 0)
        return -EIO;
    return fputc('\n', f) == EOF ? -EIO : 0;
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
