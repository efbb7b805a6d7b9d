#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"

static void test_append_and_printf(void **state)
{
        (void)state;
        struct buf b = BUF_INIT;
        assert_int_equal(buf_append_str(&b, "abc"), 0);
        assert_int_equal(buf_printf(&b, "-%d-%s", 42, "x"), 0);
        assert_int_equal(buf_append_u16be(&b, 0x0102), 0);
        assert_int_equal(buf_append_u32be(&b, 0x03040506), 0);
        assert_int_equal(b.len, 3 + 5 + 2 + 4);
        assert_memory_equal(b.data, "abc-42-x\x01\x02\x03\x04\x05\x06", b.len);
        buf_consume(&b, 4);
        assert_memory_equal(b.data, "42-x", 4);
        assert_int_equal(buf_terminate(&b), 0);
        assert_int_equal(b.data[b.len], 0);
        buf_free(&b);
        assert_null(b.data);
        buf_free(NULL);
}

static void test_grow_large(void **state)
{
        (void)state;
        struct buf b = BUF_INIT;
        for (int i = 0; i < 10000; i++)
                assert_int_equal(buf_printf(&b, "%05d", i), 0);
        assert_int_equal(b.len, 50000);
        assert_memory_equal(b.data + 49995, "09999", 5);
        buf_free(&b);
}

static void test_reader_bounds(void **state)
{
        (void)state;
        const uint8_t in[] = {1, 2, 3, 4, 5, 6, 7};
        struct buf_rd r;
        buf_rd_init(&r, in, sizeof(in));
        assert_int_equal(buf_rd_u8(&r), 1);
        assert_int_equal(buf_rd_u16be(&r), 0x0203);
        assert_int_equal(buf_rd_u32be(&r), 0x04050607);
        assert_true(buf_rd_ok(&r));
        assert_int_equal(buf_rd_remaining(&r), 0);
        assert_int_equal(buf_rd_u8(&r), 0);
        assert_false(buf_rd_ok(&r));
        /* The error is sticky: later reads fail even if they would fit. */
        buf_rd_init(&r, in, sizeof(in));
        assert_null(buf_rd_bytes(&r, 8));
        assert_int_equal(buf_rd_u8(&r), 0);
        assert_false(buf_rd_ok(&r));
}

static void test_reader_sub(void **state)
{
        (void)state;
        const uint8_t in[] = {0xaa, 0xbb, 0xcc, 0xdd};
        struct buf_rd r, s;
        buf_rd_init(&r, in, sizeof(in));
        s = buf_rd_sub(&r, 2);
        assert_int_equal(buf_rd_u16be(&s), 0xaabb);
        assert_int_equal(buf_rd_u8(&s), 0);
        assert_false(buf_rd_ok(&s));
        assert_true(buf_rd_ok(&r));
        assert_int_equal(buf_rd_u16be(&r), 0xccdd);
        s = buf_rd_sub(&r, 1);
        assert_false(buf_rd_ok(&s));
        assert_false(buf_rd_ok(&r));
        uint8_t out[2];
        buf_rd_init(&r, in, 1);
        assert_int_equal(buf_rd_copy(&r, out, 2), -EBADMSG);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_append_and_printf),
            cmocka_unit_test(test_grow_large),
            cmocka_unit_test(test_reader_bounds),
            cmocka_unit_test(test_reader_sub),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
