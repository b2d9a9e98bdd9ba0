/* SPDX-License-Identifier: MIT */
/* The encoders SigV4 signs and the sync module builds URLs with: cj_uri_encode,
 * cj_sigv4_canonical_query, cj_sigv4_canonical_uri, cj_sha256_hex. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sigv4.h"

static char *encode(const char *s, size_t len, bool keep_slash)
{
    struct cj_buf b = {};
    assert_int_equal(cj_uri_encode(s, len, keep_slash, &b), 0);
    char *out = cj_buf_steal(&b);
    assert_non_null(out);
    return out;
}

#define ASSERT_ENCODES(in, keep_slash, expected)                                                   \
    do {                                                                                           \
        char *_got = encode((in), sizeof(in) - 1, (keep_slash));                                   \
        assert_string_equal(_got, (expected));                                                     \
        free(_got);                                                                                \
    } while (0)

static void test_uri_encode(void **state)
{
    ASSERT_ENCODES("", false, "");
    ASSERT_ENCODES("AZaz09-_.~", false, "AZaz09-_.~");
    ASSERT_ENCODES("a b", false, "a%20b"); /* never '+' */
    ASSERT_ENCODES("a+b", false, "a%2Bb");
    ASSERT_ENCODES("a/b", false, "a%2Fb");
    ASSERT_ENCODES("a/b", true, "a/b");
    ASSERT_ENCODES("%3a", false, "%253a"); /* input is data, not pre-encoded: '%' itself */
    ASSERT_ENCODES("arn:aws:bedrock", false, "arn%3Aaws%3Abedrock");
    ASSERT_ENCODES("=&?#[]@!$'()*,;", false, "%3D%26%3F%23%5B%5D%40%21%24%27%28%29%2A%2C%3B");
    ASSERT_ENCODES("\xe1\x88\xb4", false, "%E1%88%B4"); /* UTF-8 bytes, upper-case hex */
    ASSERT_ENCODES("\xff\x7f\x01", false, "%FF%7F%01");
    ASSERT_ENCODES("a\0b", false, "a%00b"); /* length-delimited, NUL included */
    ASSERT_ENCODES("~/~", true, "~/~");

    /* Appends to what is there. */
    struct cj_buf b = {};
    assert_int_equal(cj_buf_append_str(&b, "x="), 0);
    assert_int_equal(cj_uri_encode("a b", 3, false, &b), 0);
    assert_string_equal(b.data, "x=a%20b");
    cj_buf_free(&b);

    /* Empty input still leaves a usable string. */
    assert_int_equal(cj_uri_encode(NULL, 0, false, &b), 0);
    assert_non_null(b.data);
    assert_string_equal(b.data, "");
    cj_buf_free(&b);

    /* The buffer's ceiling applies to the encoded length. */
    struct cj_buf small = {.limit = 8};
    assert_int_equal(cj_uri_encode("a b c", 5, false, &small), -E2BIG);
    assert_int_equal(small.len, 0);
    assert_int_equal(cj_uri_encode("abcdefgh", 8, false, &small), 0);
    assert_string_equal(small.data, "abcdefgh");
    assert_int_equal(cj_uri_encode("i", 1, false, &small), -E2BIG);
    assert_string_equal(small.data, "abcdefgh");
    cj_buf_free(&small);
}

/* Every byte value: unreserved ones kept, all others %XX upper-case. */
static void test_uri_encode_every_byte(void **state)
{
    for (unsigned c = 0; c < 256; c++) {
        char in = (char)c, expected[4];
        bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
        if (unreserved)
            snprintf(expected, sizeof(expected), "%c", c);
        else
            snprintf(expected, sizeof(expected), "%%%02X", c);
        char *got = encode(&in, 1, false);
        assert_string_equal(got, expected);
        free(got);
    }
}

static char *canonical_query(const struct cj_kv *params, size_t n)
{
    struct cj_buf b = {};
    assert_int_equal(cj_sigv4_canonical_query(params, n, &b), 0);
    char *out = cj_buf_steal(&b);
    assert_non_null(out);
    return out;
}

#define ASSERT_QUERY(expected, ...)                                                                \
    do {                                                                                           \
        const struct cj_kv _p[] = {__VA_ARGS__};                                                   \
        char *_got = canonical_query(_p, ELEMENTSOF(_p));                                          \
        assert_string_equal(_got, (expected));                                                     \
        free(_got);                                                                                \
    } while (0)

static void test_canonical_query(void **state)
{
    char *empty = canonical_query(NULL, 0);
    assert_string_equal(empty, "");
    free(empty);

    ASSERT_QUERY("a=1", {"a", "1"});
    ASSERT_QUERY("a=", {"a", NULL});                 /* valueless */
    ASSERT_QUERY("a=", {"a", ""});                   /* empty value */
    ASSERT_QUERY("a=1&b=2", {"b", "2"}, {"a", "1"}); /* sorted by key */
    ASSERT_QUERY("B=1&a=2", {"a", "2"}, {"B", "1"}); /* byte order: upper case first */
    ASSERT_QUERY("a=1&a=2", {"a", "2"}, {"a", "1"}); /* same key: by value */
    ASSERT_QUERY("a=Value1&a=value2", {"a", "value2"}, {"a", "Value1"});
    ASSERT_QUERY("a=&a=x", {"a", "x"}, {"a", NULL});
    ASSERT_QUERY("k=a%20b%2Bc", {"k", "a b+c"});
    ASSERT_QUERY("a%20b=1", {"a b", "1"});
    ASSERT_QUERY("t=~x.y_z-", {"t", "~x.y_z-"});
    ASSERT_QUERY("=v", {"", "v"});
    /* Sorting happens after encoding: "%E1%88%B4" < "Param" < "Param-3" (aws-c-auth
     * get-vanilla-query-order-encoded), whereas raw UTF-8 would sort last. */
    ASSERT_QUERY("%E1%88%B4=Value1&Param=Value2&Param-3=Value3", {"Param-3", "Value3"},
                 {"Param", "Value2"}, {"\xe1\x88\xb4", "Value1"});
    /* Encoded '%2F' (from '/') sorts before letters and digits; '~' after all of them. */
    ASSERT_QUERY("a=%2F&a=0&a=~", {"a", "~"}, {"a", "0"}, {"a", "/"});
    /* By encoded key first, then value: "a-b" < "a.b" < "a_b" < "a~b" byte-wise. */
    ASSERT_QUERY("a-b=3&a.b=2&a_b=1&a~b=0", {"a~b", "0"}, {"a_b", "1"}, {"a.b", "2"}, {"a-b", "3"});
    /* A key that is a prefix of another: "a" < "a%20" < "ab". */
    ASSERT_QUERY("a=3&a%20=2&ab=1", {"ab", "1"}, {"a ", "2"}, {"a", "3"});

    /* Appends; leaves the buffer untouched when it fails. */
    struct cj_buf b = {};
    const struct cj_kv one[] = {{"x", "y"}};
    assert_int_equal(cj_buf_append_str(&b, "?"), 0);
    assert_int_equal(cj_sigv4_canonical_query(one, 1, &b), 0);
    assert_string_equal(b.data, "?x=y");
    cj_buf_free(&b);

    const struct cj_kv null_key[] = {{"a", "1"}, {NULL, "2"}};
    assert_int_equal(cj_sigv4_canonical_query(null_key, 2, &b), -EINVAL);
    cj_buf_free(&b);

    struct cj_buf small = {.limit = 6};
    assert_int_equal(cj_buf_append_str(&small, "q:"), 0);
    const struct cj_kv two[] = {{"a", "1"}, {"b", "2"}};
    assert_int_equal(cj_sigv4_canonical_query(two, 2, &small), -E2BIG);
    assert_string_equal(small.data, "q:");
    cj_buf_free(&small);
}

static char *canonical_uri(const char *path, bool double_encode, bool normalize)
{
    struct cj_buf b = {};
    assert_int_equal(cj_sigv4_canonical_uri(path, double_encode, normalize, &b), 0);
    char *out = cj_buf_steal(&b);
    assert_non_null(out);
    return out;
}

#define ASSERT_URI(path, double_encode, normalize, expected)                                       \
    do {                                                                                           \
        char *_got = canonical_uri((path), (double_encode), (normalize));                          \
        assert_string_equal(_got, (expected));                                                     \
        free(_got);                                                                                \
    } while (0)

static void test_canonical_uri(void **state)
{
    ASSERT_URI(NULL, true, true, "/");
    ASSERT_URI("", true, true, "/");
    ASSERT_URI("", false, false, "/");
    ASSERT_URI("/", true, true, "/");
    /* The Bedrock GetModelCopyJob path: the wire path is encoded once more. */
    ASSERT_URI("/model-copy-jobs/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Amodel-copy-job%"
               "2Fabcdefghijkl",
               true, true,
               "/model-copy-jobs/arn%253Aaws%253Abedrock%253Aus-east-1%253A123456789012%253Amodel-"
               "copy-job%252Fabcdefghijkl");
    ASSERT_URI("/model-copy-jobs/arn%3Aaws", false, true, "/model-copy-jobs/arn%3Aaws");
    ASSERT_URI("/\xe1\x88\xb4", true, false, "/%E1%88%B4");
    ASSERT_URI("/example space/", true, false, "/example%20space/");
    ASSERT_URI("/example/$delete", true, true, "/example/%24delete");
    /* Normalisation (aws-c-auth `normalize: true`). */
    ASSERT_URI("/example/..", true, true, "/");
    ASSERT_URI("/example1/example2/../..", true, true, "/");
    ASSERT_URI("/./", true, true, "/");
    ASSERT_URI("/./example", true, true, "/example");
    ASSERT_URI("//", true, true, "/");
    ASSERT_URI("//example//", true, true, "/example/");
    ASSERT_URI("/a/b/../c", true, true, "/a/c");
    ASSERT_URI("/a/./b/.", true, true, "/a/b");
    ASSERT_URI("/a/b/./", true, true, "/a/b/");
    ASSERT_URI("/../../a", true, true, "/a"); /* ".." above the root stays at the root */
    ASSERT_URI("/...", true, true, "/...");   /* only "." and ".." are special */
    ASSERT_URI("/.a/..b", true, true, "/.a/..b");
    ASSERT_URI("/a%2F..", false, true, "/a%2F.."); /* an encoded slash is no separator */
    /* Without normalisation everything stays. */
    ASSERT_URI("//example//", true, false, "//example//");
    ASSERT_URI("/example1/example2/../..", true, false, "/example1/example2/../..");

    struct cj_buf b = {};
    assert_int_equal(cj_sigv4_canonical_uri("relative", true, true, &b), -EINVAL);
    assert_int_equal(cj_sigv4_canonical_uri("/a b", false, false, &b), -EINVAL);
    assert_int_equal(cj_sigv4_canonical_uri("/a\x80", false, true, &b), -EINVAL);
    assert_true(b.len == 0);
    cj_buf_free(&b);
}

static void test_sha256_hex(void **state)
{
    char hex[65];
    assert_int_equal(cj_sha256_hex("", 0, hex), 0);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(cj_sha256_hex(NULL, 0, hex), 0);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(cj_sha256_hex("Param1=value1", 13, hex), 0);
    assert_string_equal(hex, "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uri_encode),      cmocka_unit_test(test_uri_encode_every_byte),
        cmocka_unit_test(test_canonical_query), cmocka_unit_test(test_canonical_uri),
        cmocka_unit_test(test_sha256_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
