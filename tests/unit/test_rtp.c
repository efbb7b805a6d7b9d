#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "rtp/rtp.h"

static void test_fixed_header_vector(void **state)
{
        (void)state;
        struct rtp_header h = {
            .marker = true, .pt = 96, .seq = 0x1234, .ts = 0xdeadbeef, .ssrc = 0x11223344};
        struct buf b = BUF_INIT;
        assert_int_equal(rtp_build(&b, &h, "xyz", 3, 0), 0);
        static const uint8_t want[] = {0x80, 0xe0, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef,
                                       0x11, 0x22, 0x33, 0x44, 'x',  'y',  'z'};
        assert_int_equal(b.len, sizeof(want));
        assert_memory_equal(b.data, want, sizeof(want));
        assert_int_equal(rtp_header_size(&h), 12);

        struct rtp_packet p;
        assert_int_equal(rtp_parse(&p, b.data, b.len), 0);
        assert_true(p.h.marker);
        assert_int_equal(p.h.pt, 96);
        assert_int_equal(p.h.seq, 0x1234);
        assert_int_equal(p.h.ts, 0xdeadbeef);
        assert_int_equal(p.h.ssrc, 0x11223344);
        assert_false(p.h.extension);
        assert_int_equal(p.h.header_len, 12);
        assert_int_equal(p.payload_len, 3);
        assert_memory_equal(p.payload, "xyz", 3);
        buf_free(&b);
}

static void test_one_byte_extensions_vector(void **state)
{
        (void)state;
        struct rtp_header h = {.pt = 111, .seq = 1, .ts = 2, .ssrc = 3};
        assert_int_equal(rtp_header_add_mid(&h, 1, "0"), 0);
        assert_int_equal(rtp_header_add_twcc_seq(&h, 3, 0x0102), 0);
        struct buf b = BUF_INIT;
        assert_int_equal(rtp_build(&b, &h, "P", 1, 0), 0);
        /* mid: ID 1, L 0, '0'; twcc: ID 3, L 1, 01 02; three bytes of padding to 8. */
        static const uint8_t want[] = {0x90, 0x6f, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00,
                                       0x00, 0x00, 0x03, 0xbe, 0xde, 0x00, 0x02, 0x10, '0',
                                       0x31, 0x01, 0x02, 0x00, 0x00, 0x00, 'P'};
        assert_int_equal(b.len, sizeof(want));
        assert_memory_equal(b.data, want, sizeof(want));
        assert_int_equal(rtp_header_size(&h), 24);

        struct rtp_packet p;
        assert_int_equal(rtp_parse(&p, b.data, b.len), 0);
        assert_int_equal(p.h.ext_profile, RTP_EXT_PROFILE_ONE_BYTE);
        assert_int_equal(p.h.ext_count, 2);
        assert_int_equal(p.h.header_len, 24);
        char mid[8];
        assert_int_equal(rtp_header_get_mid(&p.h, 1, mid, sizeof(mid)), 0);
        assert_string_equal(mid, "0");
        uint16_t seq;
        assert_int_equal(rtp_header_get_twcc_seq(&p.h, 3, &seq), 0);
        assert_int_equal(seq, 0x0102);
        assert_int_equal(rtp_header_get_twcc_seq(&p.h, 4, &seq), -ENOENT);
        assert_int_equal(rtp_header_get_twcc_seq(&p.h, 1, &seq), -EPROTO); /* 1 byte long */
        assert_int_equal(rtp_header_get_mid(&p.h, 1, mid, 1), -ENOSPC);

        size_t off, n;
        assert_int_equal(rtp_find_ext_value(b.data, b.len, 3, &off, &n), 0);
        assert_int_equal(off, 19);
        assert_int_equal(n, 2);
        assert_int_equal(rtp_find_ext_value(b.data, b.len, 9, &off, &n), -ENOENT);
        buf_free(&b);
}

static void test_two_byte_extensions(void **state)
{
        (void)state;
        static const uint8_t v20[3] = {0xaa, 0xbb, 0xcc};
        uint8_t big[40];
        for (size_t i = 0; i < sizeof(big); i++)
                big[i] = (uint8_t)i;
        struct rtp_header h = {.pt = 96, .seq = 7, .ssrc = 9};
        assert_int_equal(rtp_header_add_ext(&h, 20, v20, 3), 0);
        assert_int_equal(rtp_header_add_ext(&h, 2, NULL, 0), 0); /* zero length: two-byte only */
        assert_int_equal(rtp_header_add_ext(&h, 5, big, sizeof(big)), 0);
        struct buf b = BUF_INIT;
        assert_int_equal(rtp_build(&b, &h, NULL, 0, 0), 0);
        /* 2+3 + 2+0 + 2+40 = 49 bytes, padded to 52 = 13 words. */
        static const uint8_t head[] = {0x10, 0x00, 0x00, 0x0d, 20, 3, 0xaa,
                                       0xbb, 0xcc, 2,    0,    5,  40};
        assert_int_equal(b.len, 12 + 4 + 52);
        assert_memory_equal(b.data + 12, head, sizeof(head));

        struct rtp_packet p;
        assert_int_equal(rtp_parse(&p, b.data, b.len), 0);
        assert_int_equal(p.h.ext_profile, RTP_EXT_PROFILE_TWO_BYTE);
        assert_int_equal(p.h.ext_count, 3);
        const struct rtp_ext *e = rtp_header_find_ext(&p.h, 20);
        assert_non_null(e);
        assert_int_equal(e->len, 3);
        assert_memory_equal(e->data, v20, 3);
        e = rtp_header_find_ext(&p.h, 2);
        assert_non_null(e);
        assert_int_equal(e->len, 0);
        e = rtp_header_find_ext(&p.h, 5);
        assert_non_null(e);
        assert_int_equal(e->len, 40);
        assert_memory_equal(e->data, big, 40);
        assert_int_equal(p.payload_len, 0);
        buf_free(&b);
}

static void test_csrc_padding_round_trip(void **state)
{
        (void)state;
        struct rtp_header h = {.pt = 0, .seq = 65535, .ts = 0xffffffff, .ssrc = 0xcafebabe};
        h.csrc_count = 3;
        h.csrc[0] = 1, h.csrc[1] = 0x80000000u, h.csrc[2] = 0xffffffffu;
        struct buf b = BUF_INIT;
        assert_int_equal(rtp_build(&b, &h, "abcdef", 6, 6), 0);
        assert_int_equal(b.len, 12 + 12 + 6 + 6);
        assert_int_equal(b.data[0], 0xa3); /* V=2, P=1, CC=3 */
        assert_int_equal(b.data[b.len - 1], 6);
        struct rtp_packet p;
        assert_int_equal(rtp_parse(&p, b.data, b.len), 0);
        assert_true(p.h.padding);
        assert_int_equal(p.h.padding_len, 6);
        assert_int_equal(p.h.csrc_count, 3);
        assert_int_equal(p.h.csrc[1], 0x80000000u);
        assert_int_equal(p.h.csrc[2], 0xffffffffu);
        assert_int_equal(p.payload_len, 6);
        assert_memory_equal(p.payload, "abcdef", 6);

        /* Padding only, no payload. */
        buf_reset(&b);
        assert_int_equal(rtp_build(&b, &h, NULL, 0, 1), 0);
        assert_int_equal(rtp_parse(&p, b.data, b.len), 0);
        assert_int_equal(p.payload_len, 0);
        buf_free(&b);
}

static void test_extension_parsing_rules(void **state)
{
        (void)state;
        /* Padding bytes between one-byte elements, then ID 15 ends the list: the element after
         * it is not reported even though it is well-formed. */
        static const uint8_t pkt[] = {0x90, 0x60, 0,    1,    0, 0, 0,    2,    0,    0,
                                      0,    3,    0xbe, 0xde, 0, 3, 0x00, 0x00, 0x21, 0xaa,
                                      0xbb, 0xf0, 0x11, 0xcc, 0, 0, 0,    0};
        struct rtp_packet p;
        assert_int_equal(rtp_parse(&p, pkt, sizeof(pkt)), 0);
        assert_int_equal(p.h.ext_count, 1);
        assert_int_equal(p.h.ext[0].id, 2);
        assert_int_equal(p.h.ext[0].len, 2);
        assert_int_equal(p.h.ext[0].data[1], 0xbb);
        assert_null(rtp_header_find_ext(&p.h, 1));

        /* A byte with ID 0 is one byte of padding whatever its length nibble says. */
        static const uint8_t id0[] = {0x90, 0x60, 0,    1,    0, 0, 0,    2,    0,   0,
                                      0,    3,    0xbe, 0xde, 0, 1, 0x02, 0x10, 'a', 0x00};
        assert_int_equal(rtp_parse(&p, id0, sizeof(id0)), 0);
        assert_int_equal(p.h.ext_count, 1);
        assert_int_equal(p.h.ext[0].id, 1);
        assert_int_equal(p.h.ext[0].data[0], 'a');

        /* An unknown profile keeps its raw body and yields no elements. */
        static const uint8_t foreign[] = {0x90, 0x60, 0, 1, 0, 0, 0, 2, 0,    0,    0,   3,
                                          0x12, 0x34, 0, 1, 1, 2, 3, 4, 0x55, 0x66, 0x77};
        assert_int_equal(rtp_parse(&p, foreign, sizeof(foreign)), 0);
        assert_int_equal(p.h.ext_profile, 0x1234);
        assert_int_equal(p.h.ext_count, 0);
        assert_int_equal(p.h.ext_body_len, 4);
        assert_int_equal(p.payload_len, 3);

        /* A MID with a NUL inside is refused rather than truncated. */
        static const uint8_t nulmid[] = {0x90, 0x60, 0,    1,    0, 0, 0,    2,   0, 0,
                                         0,    3,    0xbe, 0xde, 0, 1, 0x11, 'a', 0, 0};
        char mid[8];
        assert_int_equal(rtp_parse(&p, nulmid, sizeof(nulmid)), 0);
        assert_int_equal(rtp_header_get_mid(&p.h, 1, mid, sizeof(mid)), -EPROTO);
}

static void test_build_rejects(void **state)
{
        (void)state;
        struct buf b = BUF_INIT;
        struct rtp_header h = {.pt = 128};
        assert_int_equal(rtp_build(&b, &h, NULL, 0, 0), -EINVAL);
        h.pt = 1;
        h.csrc_count = 16;
        assert_int_equal(rtp_build(&b, &h, NULL, 0, 0), -EINVAL);
        h.csrc_count = 0;
        assert_int_equal(rtp_header_add_ext(&h, 0, "a", 1), -EINVAL);
        for (int i = 0; i < RTP_MAX_EXT; i++)
                assert_int_equal(rtp_header_add_ext(&h, (uint8_t)(i + 1), "a", 1), 0);
        assert_int_equal(rtp_header_add_ext(&h, 100, "a", 1), -ENOSPC);
        assert_int_equal(b.len, 0);
        buf_free(&b);
}

static void test_malformed(void **state)
{
        (void)state;
        struct rtp_packet p;
        static const uint8_t ok[] = {0x80, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3};
        assert_int_equal(rtp_parse(&p, ok, sizeof(ok)), 0);
        assert_int_equal(rtp_parse(&p, ok, 11), -EPROTO);
        assert_int_equal(rtp_parse(&p, ok, 0), -EPROTO);
        assert_int_equal(rtp_parse(&p, NULL, 0), -EPROTO);

        uint8_t v1[12];
        memcpy(v1, ok, 12);
        v1[0] = 0x40; /* version 1 */
        assert_int_equal(rtp_parse(&p, v1, sizeof(v1)), -EPROTO);

        static const uint8_t csrc_short[] = {0x82, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 9};
        assert_int_equal(rtp_parse(&p, csrc_short, sizeof(csrc_short)), -EPROTO);

        /* Extension length says 2 words, 1 present. */
        static const uint8_t ext_long[] = {0x90, 0x60, 0,    1,    0, 0, 0,    2,   0, 0,
                                           0,    3,    0xbe, 0xde, 0, 2, 0x10, 'a', 0, 0};
        assert_int_equal(rtp_parse(&p, ext_long, sizeof(ext_long)), -EPROTO);
        /* Extension header itself truncated. */
        assert_int_equal(rtp_parse(&p, ext_long, 14), -EPROTO);
        /* One-byte element claims 4 bytes, 3 remain in the body. */
        static const uint8_t elem_long[] = {0x90, 0x60, 0,    1,    0, 0, 0,    2,   0,   0,
                                            0,    3,    0xbe, 0xde, 0, 1, 0x13, 'a', 'b', 'c'};
        assert_int_equal(rtp_parse(&p, elem_long, sizeof(elem_long)), -EPROTO);
        /* Two-byte element without its length byte. */
        static const uint8_t two_short[] = {0x90, 0x60, 0,    1,    0, 0, 0, 2, 0, 0,
                                            0,    3,    0x10, 0x00, 0, 1, 0, 0, 0, 7};
        assert_int_equal(rtp_parse(&p, two_short, sizeof(two_short)), -EPROTO);

        /* Padding count 0, and a count larger than what follows the header. */
        static const uint8_t pad0[] = {0xa0, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 'a', 0};
        assert_int_equal(rtp_parse(&p, pad0, sizeof(pad0)), -EPROTO);
        static const uint8_t pad_big[] = {0xa0, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 'a', 3};
        assert_int_equal(rtp_parse(&p, pad_big, sizeof(pad_big)), -EPROTO);
        static const uint8_t pad_none[] = {0xa0, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3};
        assert_int_equal(rtp_parse(&p, pad_none, sizeof(pad_none)), -EPROTO);
        static const uint8_t pad_all[] = {0xa0, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 'a', 2};
        assert_int_equal(rtp_parse(&p, pad_all, sizeof(pad_all)), 0);
        assert_int_equal(p.payload_len, 0);
}

static void test_seq_helpers(void **state)
{
        (void)state;
        assert_true(rtp_seq_newer(1, 0));
        assert_true(rtp_seq_newer(0, 65535));
        assert_false(rtp_seq_newer(65535, 0));
        assert_false(rtp_seq_newer(5, 5));
        assert_true(rtp_seq_newer(0x7fff, 0));
        assert_false(rtp_seq_newer(0x8000, 0));

        struct rtp_seq_unwrapper u = {0};
        assert_int_equal(rtp_seq_unwrap(&u, 65534), 65534);
        assert_int_equal(rtp_seq_unwrap(&u, 65535), 65535);
        assert_int_equal(rtp_seq_unwrap(&u, 0), 65536);
        assert_int_equal(rtp_seq_unwrap(&u, 1), 65537);
        assert_int_equal(rtp_seq_unwrap(&u, 65535), 65535); /* late packet from before */
        assert_int_equal(rtp_seq_unwrap(&u, 2), 65538);
        for (unsigned i = 0; i < 3 * 65536; i += 1000)
                rtp_seq_unwrap(&u, (uint16_t)(2 + i + 1000));
        assert_int_equal(rtp_seq_unwrap(&u, 3), 65536 * 4 + 3);

        struct rtp_seq_unwrapper back = {0};
        assert_int_equal(rtp_seq_unwrap(&back, 0), 0);
        assert_int_equal(rtp_seq_unwrap(&back, 65535), -1);

        struct rtp_ts_unwrapper t = {0};
        assert_int_equal(rtp_ts_unwrap(&t, 0xfffff000u), 0xfffff000LL);
        assert_int_equal(rtp_ts_unwrap(&t, 0x00000800u), 0x100000800LL);
        assert_int_equal(rtp_ts_unwrap(&t, 0xffffff00u), 0xffffff00LL);
        assert_int_equal(rtp_ts_unwrap(&t, 0x7ffffe00u), 0x17ffffe00LL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_fixed_header_vector),
            cmocka_unit_test(test_one_byte_extensions_vector),
            cmocka_unit_test(test_two_byte_extensions),
            cmocka_unit_test(test_csrc_padding_round_trip),
            cmocka_unit_test(test_extension_parsing_rules),
            cmocka_unit_test(test_build_rejects),
            cmocka_unit_test(test_malformed),
            cmocka_unit_test(test_seq_helpers),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
