#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "rtp/vp8.h"

/* An encoded-looking frame: a real frame header (RFC 6386 9.1) and filler bytes. */
static uint8_t *make_frame(size_t len, bool key, uint32_t first_part_size)
{
        uint8_t *f = malloc(len);
        for (size_t i = 0; i < len; i++)
                f[i] = (uint8_t)(i * 7 + 3);
        uint32_t tag = first_part_size << 5 | 1u << 4 | (key ? 0 : 1);
        f[0] = (uint8_t)tag;
        f[1] = (uint8_t)(tag >> 8);
        f[2] = (uint8_t)(tag >> 16);
        if (key && len >= 10) {
                static const uint8_t rest[7] = {0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x41};
                memcpy(f + 3, rest, 7); /* 640 wide, 480 high with vertical scale 1 */
        }
        return f;
}

/* Assembles the RTP payloads the fragments describe. */
static uint8_t **payloads(const uint8_t *frame, const struct vp8_fragment *fr, size_t n)
{
        uint8_t **p = calloc(n, sizeof(*p));
        for (size_t i = 0; i < n; i++) {
                p[i] = malloc(VP8_DESC_LEN + fr[i].len);
                memcpy(p[i], fr[i].desc, VP8_DESC_LEN);
                memcpy(p[i] + VP8_DESC_LEN, frame + fr[i].offset, fr[i].len);
        }
        return p;
}

static void free_payloads(uint8_t **p, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(p[i]);
        free(p);
}

static void test_descriptor_bits(void **state)
{
        (void)state;
        struct vp8_packetizer pk;
        vp8_packetizer_init(&pk, 0x1234);
        uint8_t *f = make_frame(250, false, 10);
        struct vp8_fragment fr[8];
        size_t n;
        assert_int_equal(vp8_packetize(&pk, f, 250, 104, fr, 8, &n), 0);
        assert_int_equal(n, 3);
        /* First: X=1 S=1 PID=0; I=1; M=1 and the 15-bit id 0x1234. */
        static const uint8_t first[4] = {0x90, 0x80, 0x92, 0x34};
        static const uint8_t other[4] = {0x80, 0x80, 0x92, 0x34};
        assert_memory_equal(fr[0].desc, first, 4);
        assert_memory_equal(fr[1].desc, other, 4);
        assert_memory_equal(fr[2].desc, other, 4);
        assert_false(fr[0].marker);
        assert_false(fr[1].marker);
        assert_true(fr[2].marker);
        assert_int_equal(pk.picture_id, 0x1235);
        free(f);
}

static void test_picture_id_wrap(void **state)
{
        (void)state;
        struct vp8_packetizer pk;
        vp8_packetizer_init(&pk, 0x7ffe);
        uint8_t frame[20] = {1};
        struct vp8_fragment fr[2];
        size_t n;
        static const uint8_t want[3][4] = {
            {0x90, 0x80, 0xff, 0xfe}, {0x90, 0x80, 0xff, 0xff}, {0x90, 0x80, 0x80, 0x00}};
        for (int i = 0; i < 3; i++) {
                assert_int_equal(vp8_packetize(&pk, frame, sizeof(frame), 1200, fr, 2, &n), 0);
                assert_int_equal(n, 1);
                assert_true(fr[0].marker);
                assert_memory_equal(fr[0].desc, want[i], 4);
        }
        assert_int_equal(pk.picture_id, 1);
        struct vp8_descriptor d;
        assert_int_equal(vp8_descriptor_parse(&d, want[2], 4), 0);
        assert_true(d.picture_id_15bit);
        assert_int_equal(d.picture_id, 0);
        assert_int_equal(vp8_descriptor_parse(&d, want[1], 4), 0);
        assert_int_equal(d.picture_id, 0x7fff);
        /* The initial value is masked to 15 bits too. */
        vp8_packetizer_init(&pk, 0xffff);
        assert_int_equal(pk.picture_id, 0x7fff);
}

static void test_keyframe_detection(void **state)
{
        (void)state;
        uint8_t *key = make_frame(300, true, 50);
        uint8_t *inter = make_frame(300, false, 50);
        struct vp8_packetizer pk;
        vp8_packetizer_init(&pk, 5);
        struct vp8_fragment fr[4];
        size_t n;
        assert_int_equal(vp8_packetize(&pk, key, 300, 204, fr, 4, &n), 0);
        uint8_t **p = payloads(key, fr, n);
        assert_true(vp8_payload_is_keyframe(p[0], VP8_DESC_LEN + fr[0].len));
        assert_false(vp8_payload_is_keyframe(p[1], VP8_DESC_LEN + fr[1].len)); /* S=0 */
        free_payloads(p, n);
        assert_int_equal(vp8_packetize(&pk, inter, 300, 204, fr, 4, &n), 0);
        p = payloads(inter, fr, n);
        assert_false(vp8_payload_is_keyframe(p[0], VP8_DESC_LEN + fr[0].len));
        free_payloads(p, n);
        /* Descriptor alone, nothing after it. */
        static const uint8_t bare[4] = {0x90, 0x80, 0x80, 0x01};
        assert_false(vp8_payload_is_keyframe(bare, 4));
        /* S=1 but partition 1: not the frame start. */
        static const uint8_t pid1[5] = {0x11, 0x00};
        assert_false(vp8_payload_is_keyframe(pid1, 2));

        struct vp8_frame_header h;
        assert_int_equal(vp8_frame_header_parse(&h, key, 300), 0);
        assert_true(h.keyframe);
        assert_true(h.show_frame);
        assert_int_equal(h.first_part_size, 50);
        assert_int_equal(h.width, 640);
        assert_int_equal(h.height, 480);
        assert_int_equal(h.hscale, 0);
        assert_int_equal(h.vscale, 1);
        assert_int_equal(h.header_len, 10);
        assert_int_equal(vp8_frame_header_parse(&h, inter, 300), 0);
        assert_false(h.keyframe);
        assert_int_equal(h.header_len, 3);
        assert_int_equal(vp8_frame_header_parse(&h, key, 9), -EPROTO);
        key[4] = 0x02; /* broken start code */
        assert_int_equal(vp8_frame_header_parse(&h, key, 300), -EPROTO);
        assert_int_equal(vp8_frame_header_parse(&h, inter, 2), -EPROTO);
        free(key);
        free(inter);
}

static void check_sizes(size_t len, size_t max_payload, size_t want_n, const size_t *want_len)
{
        /* Not a parseable frame header (a key frame without start code), so plain splitting. */
        uint8_t *f = calloc(1, len);
        struct vp8_packetizer pk;
        vp8_packetizer_init(&pk, 0);
        size_t cap = vp8_fragment_count_max(len, max_payload);
        struct vp8_fragment *fr = calloc(cap, sizeof(*fr));
        size_t n;
        assert_int_equal(vp8_packetize(&pk, f, len, max_payload, fr, cap, &n), 0);
        assert_int_equal(n, want_n);
        size_t off = 0;
        for (size_t i = 0; i < n; i++) {
                assert_int_equal(fr[i].offset, off);
                if (want_len)
                        assert_int_equal(fr[i].len, want_len[i]);
                assert_true(fr[i].len + VP8_DESC_LEN <= max_payload);
                off += fr[i].len;
        }
        assert_int_equal(off, len);
        free(fr);
        free(f);
}

static void test_mtu_boundaries(void **state)
{
        (void)state;
        /* 100 bytes of room per packet after the 4-byte descriptor. */
        static const size_t three[3] = {100, 100, 100};
        check_sizes(300, 104, 3, three);
        static const size_t four[4] = {76, 75, 75, 75};
        check_sizes(301, 104, 4, four);
        static const size_t one[1] = {100};
        check_sizes(100, 104, 1, one);
        static const size_t two[2] = {51, 50};
        check_sizes(101, 104, 2, two);
        check_sizes(1, 104, 1, NULL);
        for (size_t k = 1; k <= 40; k++)
                check_sizes(k * 1196, 1200, k, NULL);
        check_sizes(30000, 1200, 26, NULL);
        /* A valid header whose partition 0 fits still may not cost an extra packet. */
        uint8_t *f = make_frame(300, true, 20);
        struct vp8_packetizer pk;
        vp8_packetizer_init(&pk, 0);
        struct vp8_fragment fr[4];
        size_t n;
        assert_int_equal(vp8_packetize(&pk, f, 300, 104, fr, 4, &n), 0);
        assert_int_equal(n, 3);
        assert_int_equal(fr[0].len, 100);
        free(f);
}

static void test_partition_boundary(void **state)
{
        (void)state;
        struct vp8_packetizer pk;
        vp8_packetizer_init(&pk, 0);
        struct vp8_fragment fr[8];
        size_t n;
        /* Key frame: 10-byte header + 40-byte first partition = 50; 140 bytes in 2 packets. */
        uint8_t *f = make_frame(140, true, 40);
        assert_int_equal(vp8_packetize(&pk, f, 140, 104, fr, 8, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(fr[0].len, 50);
        assert_int_equal(fr[1].offset, 50);
        assert_int_equal(fr[1].len, 90);
        free(f);
        /* Interframe: 3 + 77 = 80, then 290 more over 3 packets: 1 + 3 = 4 = plain count. */
        f = make_frame(370, false, 77);
        assert_int_equal(vp8_packetize(&pk, f, 370, 104, fr, 8, &n), 0);
        assert_int_equal(n, 4);
        assert_int_equal(fr[0].len, 80);
        assert_int_equal(fr[1].len, 97);
        assert_int_equal(fr[2].len, 97);
        assert_int_equal(fr[3].len, 96);
        free(f);
        /* 300 bytes: aligning would need 1 + 3 packets instead of 3, so plain splitting. */
        f = make_frame(300, false, 77);
        assert_int_equal(vp8_packetize(&pk, f, 300, 104, fr, 8, &n), 0);
        assert_int_equal(n, 3);
        assert_int_equal(fr[0].len, 100);
        free(f);
        /* Partition 0 larger than a packet: plain fragmentation. */
        f = make_frame(300, false, 150);
        assert_int_equal(vp8_packetize(&pk, f, 300, 104, fr, 8, &n), 0);
        assert_int_equal(n, 3);
        assert_int_equal(fr[0].len, 100);
        free(f);
        /* First partition size beyond the frame: header ignored, plain fragmentation. */
        f = make_frame(150, false, 5000);
        assert_int_equal(vp8_packetize(&pk, f, 150, 104, fr, 8, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(fr[0].len, 75);
        free(f);
}

static void test_packetize_errors(void **state)
{
        (void)state;
        struct vp8_packetizer pk;
        vp8_packetizer_init(&pk, 9);
        uint8_t f[300] = {0};
        struct vp8_fragment fr[2];
        size_t n = 77;
        assert_int_equal(vp8_packetize(&pk, f, 300, 104, fr, 2, &n), -ENOSPC);
        assert_int_equal(vp8_packetize(&pk, f, 0, 104, fr, 2, &n), -EINVAL);
        assert_int_equal(vp8_packetize(&pk, f, 3, VP8_DESC_LEN, fr, 2, &n), -EINVAL);
        assert_int_equal(n, 77);
        assert_int_equal(pk.picture_id, 9);
        assert_int_equal(vp8_fragment_count_max(10, 4), 0);
        assert_true(vp8_fragment_count_max(300, 104) >= 3);
}

static void test_depacketize_round_trip(void **state)
{
        (void)state;
        struct vp8_packetizer pk;
        vp8_packetizer_init(&pk, 0x7fff);
        size_t len = 30000;
        uint8_t *f = make_frame(len, true, 700);
        size_t cap = vp8_fragment_count_max(len, 1200);
        struct vp8_fragment *fr = calloc(cap, sizeof(*fr));
        size_t n;
        assert_int_equal(vp8_packetize(&pk, f, len, 1200, fr, cap, &n), 0);
        assert_int_equal(n, 26);
        assert_int_equal(fr[0].len, 710);
        uint8_t **p = payloads(f, fr, n);
        struct vp8_rtp_payload *in = calloc(n, sizeof(*in));
        for (size_t i = 0; i < n; i++)
                in[i] = (struct vp8_rtp_payload){.data = p[i],
                                                 .len = VP8_DESC_LEN + fr[i].len,
                                                 .seq = (uint16_t)(65530 + i),
                                                 .marker = fr[i].marker};
        struct buf out = BUF_INIT;
        struct vp8_frame_info info;
        assert_int_equal(vp8_depacketize(&out, in, n, &info), 0);
        assert_int_equal(out.len, len);
        assert_memory_equal(out.data, f, len);
        assert_true(info.keyframe);
        assert_true(info.has_picture_id);
        assert_int_equal(info.picture_id, 0x7fff);

        /* Each way a packet list can fail to be one frame; out stays as it was. */
        buf_reset(&out);
        assert_int_equal(vp8_depacketize(&out, in + 1, n - 1, &info), -EPROTO); /* no start */
        assert_int_equal(vp8_depacketize(&out, in, n - 1, &info), -EPROTO);     /* no marker */
        assert_int_equal(vp8_depacketize(&out, in, 0, &info), -EPROTO);
        in[5].seq++; /* a gap */
        assert_int_equal(vp8_depacketize(&out, in, n, &info), -EPROTO);
        in[5].seq--;
        in[3].marker = true;
        assert_int_equal(vp8_depacketize(&out, in, n, &info), -EPROTO);
        in[3].marker = false;
        p[4][3] ^= 1; /* another PictureID */
        assert_int_equal(vp8_depacketize(&out, in, n, &info), -EPROTO);
        p[4][3] ^= 1;
        p[6][0] |= 0x10; /* S=1, PID 0: a second frame start */
        assert_int_equal(vp8_depacketize(&out, in, n, &info), -EPROTO);
        p[6][0] |= 0x01; /* S=1 with PID 1 is a partition start: fine */
        assert_int_equal(vp8_depacketize(&out, in, n, &info), 0);
        assert_int_equal(out.len, len);
        buf_reset(&out);
        in[7].len = VP8_DESC_LEN; /* empty payload */
        assert_int_equal(vp8_depacketize(&out, in, n, &info), -EPROTO);
        in[7].len = 2; /* truncated descriptor */
        assert_int_equal(vp8_depacketize(&out, in, n, &info), -EPROTO);
        assert_int_equal(out.len, 0);

        /* A single-packet interframe with a short descriptor (no extension byte). */
        static const uint8_t one[] = {0x10, 0x01, 0xaa, 0xbb};
        struct vp8_rtp_payload single = {.data = one, .len = sizeof(one), .seq = 1, .marker = true};
        assert_int_equal(vp8_depacketize(&out, &single, 1, &info), 0);
        assert_int_equal(out.len, 3);
        assert_false(info.keyframe);
        assert_false(info.has_picture_id);

        buf_free(&out);
        free(in);
        free_payloads(p, n);
        free(fr);
        free(f);
}

static void test_descriptor_full(void **state)
{
        (void)state;
        /* X N S PID=2 | I L T K | 7-bit id 0x15 | TL0PICIDX 0x33 | TID 2, Y, KEYIDX 5 */
        static const uint8_t d6[] = {0xb2, 0xf0, 0x15, 0x33, 0xa5, 0xee};
        struct vp8_descriptor d;
        assert_int_equal(vp8_descriptor_parse(&d, d6, sizeof(d6)), 0);
        assert_int_equal(d.len, 5);
        assert_true(d.non_reference);
        assert_true(d.start);
        assert_int_equal(d.pid, 2);
        assert_true(d.has_picture_id);
        assert_false(d.picture_id_15bit);
        assert_int_equal(d.picture_id, 0x15);
        assert_true(d.has_tl0picidx);
        assert_int_equal(d.tl0picidx, 0x33);
        assert_true(d.has_tid);
        assert_int_equal(d.tid, 2);
        assert_true(d.layer_sync);
        assert_true(d.has_keyidx);
        assert_int_equal(d.keyidx, 5);
        uint8_t w[VP8_DESC_MAX_LEN];
        assert_int_equal(vp8_descriptor_write(w, &d), 5);
        assert_memory_equal(w, d6, 5);
        for (size_t len = 0; len < 5; len++)
                assert_int_equal(vp8_descriptor_parse(&d, d6, len), -EPROTO);
        /* 15-bit id with only its first byte present. */
        static const uint8_t cut[] = {0x90, 0x80, 0x81};
        assert_int_equal(vp8_descriptor_parse(&d, cut, sizeof(cut)), -EPROTO);
        /* K alone still takes the shared byte. */
        static const uint8_t konly[] = {0x80, 0x10, 0x07};
        assert_int_equal(vp8_descriptor_parse(&d, konly, sizeof(konly)), 0);
        assert_int_equal(d.len, 3);
        assert_int_equal(d.keyidx, 7);
        assert_false(d.has_tid);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_descriptor_bits),        cmocka_unit_test(test_picture_id_wrap),
            cmocka_unit_test(test_keyframe_detection),     cmocka_unit_test(test_mtu_boundaries),
            cmocka_unit_test(test_partition_boundary),     cmocka_unit_test(test_packetize_errors),
            cmocka_unit_test(test_depacketize_round_trip), cmocka_unit_test(test_descriptor_full),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
