#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sdp/compact.h"
#include "sdp/frame.h"

static const char sdp_text[] = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

/* Feeds the input in chunks of `step` bytes; returns the result and the consumed count. */
static int feed_all(struct frame_reader *fr, const char *in, size_t len, size_t step, size_t *total)
{
        *total = 0;
        while (*total < len) {
                size_t n = len - *total < step ? len - *total : step, used;
                int rc = frame_reader_feed(fr, (const uint8_t *)in + *total, n, &used);
                *total += used;
                if (rc != 0)
                        return rc;
                assert_int_equal(used, n);
        }
        return 0;
}

static void test_plain_ends_at_empty_line_and_leaves_data(void **state)
{
        (void)state;
        const char in[] = "\n\r\nv=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\r\nDATA\nmore";
        for (size_t step = 1; step <= sizeof(in); step++) {
                struct frame_reader fr;
                frame_reader_init(&fr);
                size_t used;
                assert_int_equal(feed_all(&fr, in, sizeof(in) - 1, step, &used), 1);
                assert_memory_equal(in + used, "DATA\nmore", 9);
                size_t len;
                const char *t = frame_reader_text(&fr, &len);
                assert_non_null(t);
                assert_int_equal(len, strlen(sdp_text));
                assert_string_equal(t, sdp_text);
                assert_false(frame_reader_was_token(&fr));
                frame_reader_free(&fr);
        }
}

static void test_plain_ends_at_eof(void **state)
{
        (void)state;
        struct frame_reader fr;
        frame_reader_init(&fr);
        size_t used;
        const char in[] = "v=0\no=- 1 2 IN IP4 127.0.0.1\ns=-\nt=0 0"; /* no final newline */
        assert_int_equal(feed_all(&fr, in, sizeof(in) - 1, 7, &used), 0);
        assert_int_equal(frame_reader_eof(&fr), 1);
        size_t len;
        const char *t = frame_reader_text(&fr, &len);
        assert_string_equal(t, "v=0\no=- 1 2 IN IP4 127.0.0.1\ns=-\nt=0 0\n");
        frame_reader_free(&fr);
}

static void test_empty_input(void **state)
{
        (void)state;
        struct frame_reader fr;
        frame_reader_init(&fr);
        size_t used;
        assert_int_equal(feed_all(&fr, "\n \n\t\r\n", 6, 2, &used), 0);
        assert_int_equal(frame_reader_eof(&fr), -ENODATA);
        assert_null(frame_reader_text(&fr, NULL));
        frame_reader_free(&fr);
}

static void test_token_with_pasted_line_breaks(void **state)
{
        (void)state;
        struct buf tok = BUF_INIT;
        assert_int_equal(compact_encode(sdp_text, strlen(sdp_text), &tok), 0);
        /* Break the token in three places like a chat client, add spaces, then trailing data. */
        struct buf in = BUF_INIT;
        buf_append_str(&in, "  ");
        buf_append(&in, tok.data, 10);
        buf_append_str(&in, "\r\n");
        buf_append(&in, tok.data + 10, 5);
        buf_append_str(&in, " \n");
        buf_append(&in, tok.data + 15, tok.len - 15);
        buf_append_str(&in, "  \nrest");
        for (size_t step = 1; step < in.len; step += 3) {
                struct frame_reader fr;
                frame_reader_init(&fr);
                size_t used;
                assert_int_equal(feed_all(&fr, (const char *)in.data, in.len, step, &used), 1);
                assert_int_equal(in.len - used, 4);
                assert_true(frame_reader_was_token(&fr));
                assert_string_equal(frame_reader_text(&fr, NULL), sdp_text);
                frame_reader_free(&fr);
        }
        buf_free(&tok);
        buf_free(&in);
}

static void test_damaged_token(void **state)
{
        (void)state;
        struct buf tok = BUF_INIT;
        assert_int_equal(compact_encode(sdp_text, strlen(sdp_text), &tok), 0);
        struct frame_reader fr;
        size_t used;

        /* Truncated and followed by an empty line. */
        frame_reader_init(&fr);
        assert_int_equal(feed_all(&fr, (const char *)tok.data, tok.len - 3, 100, &used), 0);
        assert_int_equal(frame_reader_feed(&fr, (const uint8_t *)"\n\n", 2, &used), -EBADMSG);
        frame_reader_free(&fr);

        /* Truncated at EOF. */
        frame_reader_init(&fr);
        assert_int_equal(feed_all(&fr, (const char *)tok.data, tok.len - 3, 100, &used), 0);
        assert_int_equal(frame_reader_eof(&fr), -EBADMSG);
        frame_reader_free(&fr);

        /* A character outside base64url. */
        tok.data[tok.len / 2] = '*';
        frame_reader_init(&fr);
        buf_append_str(&tok, "\n");
        assert_int_equal(feed_all(&fr, (const char *)tok.data, tok.len, 100, &used), -EBADMSG);
        frame_reader_free(&fr);
        buf_free(&tok);
}

static void test_oversized(void **state)
{
        (void)state;
        struct frame_reader fr;
        frame_reader_init(&fr);
        static char chunk[65536];
        memset(chunk, 'a', sizeof(chunk));
        chunk[sizeof(chunk) - 1] = '\n';
        int rc = 0;
        size_t used;
        for (int i = 0; i < 40 && rc == 0; i++)
                rc = frame_reader_feed(&fr, (const uint8_t *)chunk, sizeof(chunk), &used);
        assert_int_equal(rc, -E2BIG);
        frame_reader_free(&fr);

        /* One endless line without a newline is refused too. */
        frame_reader_init(&fr);
        memset(chunk, 'b', sizeof(chunk));
        rc = 0;
        for (int i = 0; i < 40 && rc == 0; i++)
                rc = frame_reader_feed(&fr, (const uint8_t *)chunk, sizeof(chunk), &used);
        assert_int_equal(rc, -E2BIG);
        frame_reader_free(&fr);
}

static void test_write(void **state)
{
        (void)state;
        struct buf out = BUF_INIT;
        assert_int_equal(frame_write(sdp_text, strlen(sdp_text), false, &out), 0);
        assert_int_equal(out.len, strlen(sdp_text) + 2);
        assert_memory_equal(out.data + out.len - 4, "\r\n\r\n", 4);
        buf_reset(&out);
        assert_int_equal(frame_write(sdp_text, strlen(sdp_text), true, &out), 0);
        assert_true(compact_is_token((const char *)out.data, out.len));
        assert_memory_equal(out.data + out.len - 2, "\n\n", 2);
        assert_null(memchr(out.data, '\n', out.len - 2));
        /* What frame_write produces, frame_reader reads back. */
        struct frame_reader fr;
        frame_reader_init(&fr);
        size_t used;
        assert_int_equal(frame_reader_feed(&fr, out.data, out.len, &used), 1);
        assert_string_equal(frame_reader_text(&fr, NULL), sdp_text);
        frame_reader_free(&fr);
        buf_free(&out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_plain_ends_at_empty_line_and_leaves_data),
            cmocka_unit_test(test_plain_ends_at_eof),
            cmocka_unit_test(test_empty_input),
            cmocka_unit_test(test_token_with_pasted_line_breaks),
            cmocka_unit_test(test_damaged_token),
            cmocka_unit_test(test_oversized),
            cmocka_unit_test(test_write),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
