/* SPDX-License-Identifier: MIT */
/* base64url without padding: RFC 4648 §10's vectors (their padding dropped), the two
 * characters that differ from base64, and the strict decoder's refusals. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base64url.h"

static const struct {
    const char *raw;
    size_t raw_len;
    const char *enc;
} vectors[] = {
    {"", 0, ""},
    {"f", 1, "Zg"},
    {"fo", 2, "Zm8"},
    {"foo", 3, "Zm9v"},
    {"foob", 4, "Zm9vYg"},
    {"fooba", 5, "Zm9vYmE"},
    {"foobar", 6, "Zm9vYmFy"},
    /* base64's "+/8=" and "+/+/": the url alphabet's 62 and 63. */
    {"\xfb\xff", 2, "-_8"},
    {"\xfb\xff\xbf", 3, "-_-_"},
    {"\x00\x00\x00\xff", 4, "AAAA_w"},
};

static void test_encode(void **state)
{
    for (unsigned i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        _cleanup_buf_ struct cj_buf b = {0};
        assert_int_equal(cj_buf_append_str(&b, "x:"), 0);
        assert_int_equal(cj_base64url_encode(vectors[i].raw, vectors[i].raw_len, &b), 0);
        assert_string_equal(b.data + 2, vectors[i].enc);
        assert_int_equal(b.len, 2 + strlen(vectors[i].enc));
        assert_int_equal(cj_base64url_encoded_len(vectors[i].raw_len), strlen(vectors[i].enc));
    }
}

static void test_decode(void **state)
{
    for (unsigned i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        uint8_t out[8];
        const char *enc = vectors[i].enc;
        ssize_t n = cj_base64url_decode(enc, strlen(enc), out, sizeof(out));
        assert_int_equal(n, vectors[i].raw_len);
        assert_memory_equal(out, vectors[i].raw, vectors[i].raw_len);
    }
}

/* Every byte string has one encoding: anything else is refused. */
static void test_decode_strict(void **state)
{
    static const char *const bad[] = {
        "Zg==",     /* padding */
        "Zm8=",     /* padding */
        "Zm+v",     /* base64's alphabet, not base64url's */
        "Zm/v",     /* likewise */
        "Zm9 v",    /* a space */
        "Zm9\nv",   /* a newline */
        "Zh",       /* "f" with a non-zero bit left over */
        "Zm9",      /* "fo" with non-zero bits left over */
        "Zm9vY",    /* 4k+1 characters say nothing whole */
        "Zm9vYmFyZ" /* likewise */
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t out[16];
        print_message("%s\n", bad[i]);
        assert_int_equal(cj_base64url_decode(bad[i], strlen(bad[i]), out, sizeof(out)), -EINVAL);
    }
    /* An embedded NUL is outside the alphabet too. */
    uint8_t out[16];
    assert_int_equal(cj_base64url_decode("Zm\0v", 4, out, sizeof(out)), -EINVAL);
}

static void test_decode_bounded(void **state)
{
    uint8_t out[6] = {0};
    assert_int_equal(cj_base64url_decode("Zm9vYmFy", 8, out, 5), -EINVAL);
    assert_int_equal(out[5], 0); /* nothing past the size given */
    assert_int_equal(cj_base64url_decode("Zm9vYmFy", 8, out, 6), 6);
    assert_memory_equal(out, "foobar", 6);
}

/* Every byte value survives a round trip. */
static void test_round_trip(void **state)
{
    uint8_t raw[256], back[256];
    for (unsigned i = 0; i < sizeof(raw); i++)
        raw[i] = (uint8_t)(255 - i);
    for (size_t n = 0; n <= sizeof(raw); n += 37) {
        _cleanup_buf_ struct cj_buf b = {0};
        assert_int_equal(cj_base64url_encode(raw, n, &b), 0);
        assert_int_equal(b.len, cj_base64url_encoded_len(n));
        assert_int_equal(cj_base64url_decode(b.data, b.len, back, sizeof(back)), n);
        assert_memory_equal(back, raw, n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode),        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_decode_strict), cmocka_unit_test(test_decode_bounded),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
