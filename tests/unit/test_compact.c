#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "sdp/compact.h"

static void test_round_trip_fixture(void **state)
{
        (void)state;
        char path[4096];
        snprintf(path, sizeof(path), "%s/sdp/chromium-offer-av-data.sdp",
                 getenv("RTCPEER_FIXTURES"));
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        static char text[65536];
        size_t n = fread(text, 1, sizeof(text), f);
        fclose(f);
        assert_true(n > 1000);

        struct buf tok = BUF_INIT, out = BUF_INIT;
        assert_int_equal(compact_encode(text, n, &tok), 0);
        assert_true(compact_is_token((const char *)tok.data, tok.len));
        /* Compression makes a real offer much shorter than its text. */
        assert_true(tok.len < n * 3 / 4);
        for (size_t i = 0; i < tok.len; i++)
                assert_true(tok.data[i] > ' ' && tok.data[i] < 127);
        assert_int_equal(compact_decode((const char *)tok.data, tok.len, &out), 0);
        assert_int_equal(out.len, n);
        assert_memory_equal(out.data, text, n);
        buf_free(&tok);
        buf_free(&out);
}

static void test_every_prefix_is_incomplete_or_bad(void **state)
{
        (void)state;
        const char *text = "v=0\r\ns=-\r\n";
        struct buf tok = BUF_INIT, out = BUF_INIT;
        assert_int_equal(compact_encode(text, strlen(text), &tok), 0);
        size_t plen = strlen(COMPACT_PREFIX);
        for (size_t i = plen; i < tok.len; i++) {
                int rc = compact_decode((const char *)tok.data, i, &out);
                assert_true(rc == -EAGAIN || rc == -EBADMSG);
                assert_int_equal(out.len, 0);
        }
        /* Trailing garbage after the stream is refused. */
        buf_append_str(&tok, "AAAA");
        assert_int_equal(compact_decode((const char *)tok.data, tok.len, &out), -EBADMSG);
        buf_free(&tok);
        buf_free(&out);
}

static void test_not_a_token(void **state)
{
        (void)state;
        struct buf out = BUF_INIT;
        assert_false(compact_is_token("v=0", 3));
        assert_false(compact_is_token("rtcpeer2.abc", 12));
        assert_int_equal(compact_decode("v=0\r\n", 5, &out), -EBADMSG);
        assert_int_equal(compact_decode("rtcpeer1.!!!!", 13, &out), -EBADMSG);
        buf_free(&out);
}

/* A small token that inflates past the limit (a "zip bomb") is refused without decoding it all. */
static void test_bomb(void **state)
{
        (void)state;
        size_t big = COMPACT_MAX_DECODED * 4;
        char *zeros = calloc(1, big);
        assert_non_null(zeros);
        struct buf tok = BUF_INIT, out = BUF_INIT;
        assert_int_equal(compact_encode(zeros, big, &tok), 0);
        assert_true(tok.len < 8192);
        assert_int_equal(compact_decode((const char *)tok.data, tok.len, &out), -E2BIG);
        assert_int_equal(out.len, 0);
        free(zeros);
        buf_free(&tok);
        buf_free(&out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_round_trip_fixture),
            cmocka_unit_test(test_every_prefix_is_incomplete_or_bad),
            cmocka_unit_test(test_not_a_token),
            cmocka_unit_test(test_bomb),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
