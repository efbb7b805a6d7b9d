#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "rtp/rtcp.h"

/* Parses a datagram expected to hold exactly n packets, into a heap array (they are large). */
static struct rtcp_packet *parse_all(const void *data, size_t len, size_t n)
{
        struct rtcp_iter it;
        assert_int_equal(rtcp_iter_init(&it, data, len), 0);
        struct rtcp_packet *p = calloc(n + 1, sizeof(*p));
        size_t got = 0;
        while (got <= n && rtcp_iter_next(&it, &p[got]) == 1)
                got++;
        assert_int_equal(got, n);
        return p;
}

/* Field by field: the padding inside the struct is not part of the value. */
static void assert_rb_equal(const struct rtcp_report_block *a, const struct rtcp_report_block *b)
{
        assert_int_equal(a->ssrc, b->ssrc);
        assert_int_equal(a->fraction_lost, b->fraction_lost);
        assert_int_equal(a->cumulative_lost, b->cumulative_lost);
        assert_int_equal(a->ext_highest_seq, b->ext_highest_seq);
        assert_int_equal(a->jitter, b->jitter);
        assert_int_equal(a->lsr, b->lsr);
        assert_int_equal(a->dlsr, b->dlsr);
}

static void test_sr_vector_and_round_trip(void **state)
{
        (void)state;
        struct rtcp_sr sr = {
            .ssrc = 0x11223344,
            .ntp = 0x0102030405060708ull,
            .rtp_ts = 0xa0b0c0d0,
            .packet_count = 10,
            .octet_count = 12000,
            .rb_count = 1,
        };
        sr.rb[0] = (struct rtcp_report_block){.ssrc = 0x55667788,
                                              .fraction_lost = 0x40,
                                              .cumulative_lost = -5,
                                              .ext_highest_seq = 0x00011234,
                                              .jitter = 33,
                                              .lsr = 0xdeadbeef,
                                              .dlsr = 0x00010000};
        struct buf b = BUF_INIT;
        assert_int_equal(rtcp_build_sr(&b, &sr), 0);
        static const uint8_t want[] = {
            0x81, 0xc8, 0x00, 0x0c, 0x11, 0x22, 0x33, 0x44, 0x01, 0x02, 0x03, 0x04, 0x05,
            0x06, 0x07, 0x08, 0xa0, 0xb0, 0xc0, 0xd0, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00,
            0x2e, 0xe0, 0x55, 0x66, 0x77, 0x88, 0x40, 0xff, 0xff, 0xfb, 0x00, 0x01, 0x12,
            0x34, 0x00, 0x00, 0x00, 0x21, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x00, 0x00};
        assert_int_equal(b.len, sizeof(want));
        assert_memory_equal(b.data, want, sizeof(want));
        struct rtcp_packet *p = parse_all(b.data, b.len, 1);
        assert_int_equal(p->kind, RTCP_KIND_SR);
        assert_int_equal(p->u.sr.ssrc, sr.ssrc);
        assert_true(p->u.sr.ntp == sr.ntp);
        assert_int_equal(p->u.sr.rtp_ts, sr.rtp_ts);
        assert_int_equal(p->u.sr.packet_count, 10);
        assert_int_equal(p->u.sr.octet_count, 12000);
        assert_int_equal(p->u.sr.rb_count, 1);
        assert_rb_equal(&p->u.sr.rb[0], &sr.rb[0]);
        free(p);
        buf_free(&b);
}

static void test_rr_full_and_empty(void **state)
{
        (void)state;
        struct rtcp_rr rr = {.ssrc = 7, .rb_count = 31};
        for (unsigned i = 0; i < 31; i++)
                rr.rb[i] = (struct rtcp_report_block){
                    .ssrc = 100 + i, .cumulative_lost = (int32_t)i * 1000 - 8388608, .jitter = i};
        rr.rb[30].cumulative_lost = 0x7fffff;
        struct buf b = BUF_INIT;
        assert_int_equal(rtcp_build_rr(&b, &rr), 0);
        assert_int_equal(b.len, 8 + 31 * 24);
        struct rtcp_rr empty = {.ssrc = 8};
        assert_int_equal(rtcp_build_rr(&b, &empty), 0);
        struct rtcp_packet *p = parse_all(b.data, b.len, 2);
        assert_int_equal(p[0].kind, RTCP_KIND_RR);
        assert_int_equal(p[0].u.rr.rb_count, 31);
        for (unsigned i = 0; i < 31; i++)
                assert_rb_equal(&p[0].u.rr.rb[i], &rr.rb[i]);
        assert_int_equal(p[1].kind, RTCP_KIND_RR);
        assert_int_equal(p[1].u.rr.ssrc, 8);
        assert_int_equal(p[1].u.rr.rb_count, 0);
        free(p);
        /* Out-of-range loss is clamped to the 24-bit field, not wrapped. */
        buf_reset(&b);
        rr.rb_count = 1;
        rr.rb[0].cumulative_lost = 20000000;
        assert_int_equal(rtcp_build_rr(&b, &rr), 0);
        p = parse_all(b.data, b.len, 1);
        assert_int_equal(p->u.rr.rb[0].cumulative_lost, 0x7fffff);
        free(p);
        rr.rb_count = 32;
        assert_int_equal(rtcp_build_rr(&b, &rr), -EINVAL);
        buf_free(&b);
}

static void test_sdes_bye_vectors(void **state)
{
        (void)state;
        struct buf b = BUF_INIT;
        uint32_t ssrcs[2] = {0x01020304, 0x0a0b0c0d};
        const char *cn[2] = {"abc", "ab"};
        assert_int_equal(rtcp_build_sdes_cname(&b, ssrcs, cn, 2), 0);
        static const uint8_t sdes[] = {0x82, 0xca, 0x00, 0x06, 0x01, 0x02, 0x03, 0x04, 0x01, 0x03,
                                       'a',  'b',  'c',  0x00, 0x00, 0x00, 0x0a, 0x0b, 0x0c, 0x0d,
                                       0x01, 0x02, 'a',  'b',  0x00, 0x00, 0x00, 0x00};
        assert_int_equal(b.len, sizeof(sdes));
        assert_memory_equal(b.data, sdes, sizeof(sdes));
        size_t sdes_len = b.len;
        assert_int_equal(rtcp_build_bye(&b, ssrcs, 1, "bye"), 0);
        static const uint8_t bye[] = {0x81, 0xcb, 0x00, 0x02, 0x01, 0x02,
                                      0x03, 0x04, 0x03, 'b',  'y',  'e'};
        assert_int_equal(b.len - sdes_len, sizeof(bye));
        assert_memory_equal(b.data + sdes_len, bye, sizeof(bye));
        assert_int_equal(rtcp_build_bye(&b, ssrcs, 2, NULL), 0);
        assert_int_equal(rtcp_build_bye(&b, ssrcs, 1, "hi"), 0);

        struct rtcp_packet *p = parse_all(b.data, b.len, 4);
        assert_int_equal(p[0].kind, RTCP_KIND_SDES);
        assert_int_equal(p[0].u.sdes.count, 2);
        assert_int_equal(p[0].u.sdes.chunk[0].ssrc, 0x01020304);
        assert_int_equal(p[0].u.sdes.chunk[0].cname_len, 3);
        assert_memory_equal(p[0].u.sdes.chunk[0].cname, "abc", 3);
        assert_int_equal(p[0].u.sdes.chunk[1].cname_len, 2);
        assert_int_equal(p[1].kind, RTCP_KIND_BYE);
        assert_int_equal(p[1].u.bye.count, 1);
        assert_int_equal(p[1].u.bye.reason_len, 3);
        assert_memory_equal(p[1].u.bye.reason, "bye", 3);
        assert_int_equal(p[2].u.bye.count, 2);
        assert_int_equal(p[2].u.bye.ssrc[1], 0x0a0b0c0d);
        assert_null(p[2].u.bye.reason);
        assert_int_equal(p[3].u.bye.reason_len, 2);
        free(p);

        /* SDES items other than CNAME are skipped; a chunk without CNAME reports NULL. */
        static const uint8_t note[] = {0x81, 0xca, 0x00, 0x03, 0, 0, 0, 9,
                                       0x07, 0x02, 'h',  'i',  0, 0, 0, 0};
        p = parse_all(note, sizeof(note), 1);
        assert_null(p->u.sdes.chunk[0].cname);
        free(p);
        buf_free(&b);
}

static void test_nack_pli_fir_remb(void **state)
{
        (void)state;
        struct buf b = BUF_INIT;
        static const uint16_t lost[] = {100, 101, 116, 117, 200};
        assert_int_equal(rtcp_build_nack(&b, 1, 2, lost, 5), 0);
        static const uint8_t nack[] = {0x81, 0xcd, 0x00, 0x05, 0,    0,    0,    1,
                                       0,    0,    0,    2,    0x00, 0x64, 0x80, 0x01,
                                       0x00, 0x75, 0x00, 0x00, 0x00, 0xc8, 0x00, 0x00};
        assert_int_equal(b.len, sizeof(nack));
        assert_memory_equal(b.data, nack, sizeof(nack));
        size_t at = b.len;
        static const uint16_t wrap[] = {65535, 65535, 0, 3};
        assert_int_equal(rtcp_build_nack(&b, 1, 2, wrap, 4), 0);
        assert_int_equal(b.len - at, 16);
        assert_int_equal(b.data[at + 12], 0xff);
        assert_int_equal(b.data[at + 13], 0xff);
        assert_int_equal(b.data[at + 15], 0x09);
        assert_int_equal(rtcp_build_nack(&b, 1, 2, wrap, 0), -EINVAL);

        at = b.len;
        assert_int_equal(rtcp_build_pli(&b, 0xa, 0xb), 0);
        static const uint8_t pli[] = {0x81, 0xce, 0x00, 0x02, 0, 0, 0, 0xa, 0, 0, 0, 0xb};
        assert_memory_equal(b.data + at, pli, sizeof(pli));

        at = b.len;
        struct rtcp_fir_entry fe[2] = {{.ssrc = 0x33, .seq = 7}, {.ssrc = 0x44, .seq = 255}};
        assert_int_equal(rtcp_build_fir(&b, 0xa, fe, 2), 0);
        static const uint8_t fir[] = {0x84, 0xce, 0x00, 0x06, 0, 0, 0, 0xa, 0, 0,    0,    0, 0, 0,
                                      0,    0x33, 7,    0,    0, 0, 0, 0,   0, 0x44, 0xff, 0, 0, 0};
        assert_int_equal(b.len - at, sizeof(fir));
        assert_memory_equal(b.data + at, fir, sizeof(fir));

        at = b.len;
        uint32_t media = 0x12345678;
        assert_int_equal(rtcp_build_remb(&b, 0xa, 1000000, &media, 1), 0);
        static const uint8_t remb[] = {0x8f, 0xce, 0x00, 0x05, 0,    0,    0,    0xa,
                                       0,    0,    0,    0,    'R',  'E',  'M',  'B',
                                       0x01, 0x0b, 0xd0, 0x90, 0x12, 0x34, 0x56, 0x78};
        assert_int_equal(b.len - at, sizeof(remb));
        assert_memory_equal(b.data + at, remb, sizeof(remb));

        struct rtcp_packet *p = parse_all(b.data, b.len, 5);
        assert_int_equal(p[0].kind, RTCP_KIND_NACK);
        assert_int_equal(p[0].u.nack.count, 3);
        uint16_t seqs[32];
        assert_int_equal(rtcp_nack_lost(&p[0].u.nack, seqs, 32), 5);
        assert_memory_equal(seqs, lost, sizeof(lost));
        assert_int_equal(rtcp_nack_lost(&p[0].u.nack, seqs, 2), 5); /* count beyond cap */
        assert_int_equal(rtcp_nack_lost(&p[1].u.nack, seqs, 32), 3);
        assert_int_equal(seqs[0], 65535);
        assert_int_equal(seqs[1], 0);
        assert_int_equal(seqs[2], 3);
        assert_int_equal(p[2].kind, RTCP_KIND_PLI);
        assert_int_equal(p[2].u.pli.sender_ssrc, 0xa);
        assert_int_equal(p[2].u.pli.media_ssrc, 0xb);
        assert_int_equal(p[3].kind, RTCP_KIND_FIR);
        assert_int_equal(p[3].u.fir.count, 2);
        struct rtcp_fir_entry e;
        rtcp_fir_get(&p[3].u.fir, 1, &e);
        assert_int_equal(e.ssrc, 0x44);
        assert_int_equal(e.seq, 255);
        assert_int_equal(p[4].kind, RTCP_KIND_REMB);
        assert_int_equal(p[4].u.remb.bitrate_bps, 1000000);
        assert_int_equal(p[4].u.remb.ssrc_count, 1);
        assert_int_equal(p[4].u.remb.ssrc[0], media);
        free(p);

        /* Large bitrates keep 18 significant bits. */
        buf_reset(&b);
        assert_int_equal(rtcp_build_remb(&b, 1, 123456789012ull, NULL, 0), 0);
        p = parse_all(b.data, b.len, 1);
        assert_true(p->u.remb.bitrate_bps <= 123456789012ull);
        assert_true(p->u.remb.bitrate_bps > 123456789012ull - (123456789012ull >> 17));
        free(p);
        buf_free(&b);
}

/*
 * Transport-wide feedback, assembled by hand: base 100, 5 packets, reference time 16 (x 64 ms),
 * feedback count 3. A run-length chunk "2 x received, small delta", then a two-bit status
 * vector "not received, large, small" (the remaining 4 symbols past the count). Deltas: 1 ms,
 * 2 ms, -0.5 ms, 4 ms. Three zero bytes pad to 32 bits.
 */
static const uint8_t twcc_pkt[] = {0x8f, 0xcd, 0x00, 0x07, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
                                   0x02, 0x00, 0x64, 0x00, 0x05, 0x00, 0x00, 0x10, 0x03, 0x20, 0x02,
                                   0xc9, 0x00, 0x04, 0x08, 0xff, 0xfe, 0x10, 0x00, 0x00, 0x00};

static void check_twcc(const struct rtcp_packet *p)
{
        assert_int_equal(p->kind, RTCP_KIND_TWCC);
        const struct rtcp_twcc *t = &p->u.twcc;
        assert_int_equal(t->sender_ssrc, 1);
        assert_int_equal(t->media_ssrc, 2);
        assert_int_equal(t->base_seq, 100);
        assert_int_equal(t->status_count, 5);
        assert_int_equal(t->reference_time, 16);
        assert_int_equal(t->fb_pkt_count, 3);
        struct rtcp_twcc_status st[5];
        assert_int_equal(rtcp_twcc_decode(t, st, 5), 5);
        static const bool recv[5] = {true, true, false, true, true};
        static const int32_t delta[5] = {1000, 2000, 0, -500, 4000};
        for (int i = 0; i < 5; i++) {
                assert_int_equal(st[i].seq, 100 + i);
                assert_int_equal(st[i].received, recv[i]);
                assert_int_equal(st[i].delta_us, delta[i]);
        }
        assert_int_equal(rtcp_twcc_decode(t, st, 2), 5); /* a smaller cap only truncates */
}

static void test_twcc_parse(void **state)
{
        (void)state;
        struct rtcp_packet *p = parse_all(twcc_pkt, sizeof(twcc_pkt), 1);
        check_twcc(p);
        free(p);

        /* The same with the padding bit and count, as browsers pad it: accepted as well. */
        uint8_t padded[sizeof(twcc_pkt)];
        memcpy(padded, twcc_pkt, sizeof(padded));
        padded[0] |= 0x20;
        padded[sizeof(padded) - 1] = 3;
        p = parse_all(padded, sizeof(padded), 1);
        check_twcc(p);
        free(p);

        /* One-bit status vector: 14 packets, the first and last received. */
        static const uint8_t onebit[] = {0x8f, 0xcd, 0x00, 0x05, 0,    0,    0,    1,
                                         0,    0,    0,    2,    0xff, 0xff, 0x00, 0x0e,
                                         0xff, 0xff, 0xff, 0,    0xa0, 0x01, 0x01, 0x02};
        p = parse_all(onebit, sizeof(onebit), 1);
        assert_int_equal(p->u.twcc.reference_time, -1);
        struct rtcp_twcc_status st[14];
        assert_int_equal(rtcp_twcc_decode(&p->u.twcc, st, 14), 14);
        assert_int_equal(st[0].seq, 65535);
        assert_true(st[0].received);
        assert_int_equal(st[0].delta_us, 250);
        assert_int_equal(st[1].seq, 0);
        for (int i = 1; i < 13; i++)
                assert_false(st[i].received);
        assert_true(st[13].received);
        assert_int_equal(st[13].delta_us, 500);
        free(p);
}

static void test_twcc_malformed(void **state)
{
        (void)state;
        uint8_t m[sizeof(twcc_pkt)];
        /* No chunks at all for the 5 packets. */
        memcpy(m, twcc_pkt, 20);
        m[3] = 0x04;
        assert_int_equal(rtcp_validate(m, 20), -EPROTO);
        /* Run of the reserved symbol 3. */
        memcpy(m, twcc_pkt, sizeof(m));
        m[20] = 0x60;
        assert_int_equal(rtcp_validate(m, sizeof(m)), -EPROTO);
        /* Reserved two-bit symbol inside the count. */
        memcpy(m, twcc_pkt, sizeof(m));
        m[22] = 0xf9;
        assert_int_equal(rtcp_validate(m, sizeof(m)), -EPROTO);
        /* ... but past the count it is ignored. */
        memcpy(m, twcc_pkt, sizeof(m));
        m[23] = 0x03;
        assert_int_equal(rtcp_validate(m, sizeof(m)), 0);
        /* Deltas truncated: the packet ends one word early. */
        memcpy(m, twcc_pkt, sizeof(m));
        m[3] = 0x06;
        assert_int_equal(rtcp_validate(m, 28), -EPROTO);
        /* Four surplus bytes after the deltas. */
        uint8_t longer[sizeof(twcc_pkt) + 4] = {0};
        memcpy(longer, twcc_pkt, sizeof(twcc_pkt));
        longer[3] = 0x08;
        assert_int_equal(rtcp_validate(longer, sizeof(longer)), -EPROTO);
        /* Run length 0. */
        memcpy(m, twcc_pkt, sizeof(m));
        m[20] = 0x20;
        m[21] = 0x00;
        assert_int_equal(rtcp_validate(m, sizeof(m)), -EPROTO);
}

/*
 * A compound as a browser receiver sends it: RR with one report block, SDES CNAME (a 16-byte
 * random CNAME) and REMB, constructed here; then a reduced-size datagram with a lone PLI and
 * one with two padded TWCC packets back to back.
 */
static void test_browser_shaped_compounds(void **state)
{
        (void)state;
        static const uint8_t compound[] = {
            /* RR, 1 block */
            0x81, 0xc9, 0x00, 0x07, 0x00, 0x00, 0x00, 0x01, 0x9a, 0x3f, 0x10, 0x77, 0x05, 0x00,
            0x00, 0x0c, 0x00, 0x00, 0x3a, 0x98, 0x00, 0x00, 0x00, 0x2d, 0x6c, 0x12, 0x34, 0x56,
            0x00, 0x00, 0x80, 0x00,
            /* SDES CNAME "Zy1Qp0Wk7cVb2NmA" */
            0x81, 0xca, 0x00, 0x06, 0x00, 0x00, 0x00, 0x01, 0x01, 0x10, 'Z', 'y', '1', 'Q', 'p',
            '0', 'W', 'k', '7', 'c', 'V', 'b', '2', 'N', 'm', 'A', 0x00, 0x00,
            /* REMB 300 kbit/s (mantissa 150000, exponent 1) for one SSRC */
            0x8f, 0xce, 0x00, 0x05, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 'R', 'E', 'M',
            'B', 0x01, 0x06, 0x49, 0xf0, 0x9a, 0x3f, 0x10, 0x77};
        struct rtcp_packet *p = parse_all(compound, sizeof(compound), 3);
        assert_int_equal(p[0].kind, RTCP_KIND_RR);
        assert_int_equal(p[0].u.rr.rb[0].ssrc, 0x9a3f1077);
        assert_int_equal(p[0].u.rr.rb[0].fraction_lost, 5);
        assert_int_equal(p[0].u.rr.rb[0].cumulative_lost, 12);
        assert_int_equal(p[0].u.rr.rb[0].ext_highest_seq, 15000);
        assert_int_equal(p[0].u.rr.rb[0].jitter, 45);
        assert_int_equal(p[0].u.rr.rb[0].dlsr, 0x8000);
        assert_int_equal(p[1].kind, RTCP_KIND_SDES);
        assert_int_equal(p[1].u.sdes.chunk[0].cname_len, 16);
        assert_int_equal(p[2].kind, RTCP_KIND_REMB);
        assert_int_equal(p[2].u.remb.bitrate_bps, 300000);
        free(p);

        static const uint8_t lone_pli[] = {0x81, 0xce, 0x00, 0x02, 0,    0,
                                           0,    1,    0x9a, 0x3f, 0x10, 0x77};
        p = parse_all(lone_pli, sizeof(lone_pli), 1);
        assert_int_equal(p->kind, RTCP_KIND_PLI);
        free(p);

        uint8_t two[2 * sizeof(twcc_pkt)];
        memcpy(two, twcc_pkt, sizeof(twcc_pkt));
        memcpy(two + sizeof(twcc_pkt), twcc_pkt, sizeof(twcc_pkt));
        two[0] |= 0x20;
        two[sizeof(twcc_pkt) - 1] = 3;
        p = parse_all(two, sizeof(two), 2);
        check_twcc(&p[0]);
        check_twcc(&p[1]);
        free(p);
}

static void test_other_types_pass_through(void **state)
{
        (void)state;
        /* APP packet, an unknown RTPFB FMT (TMMBR = 3) and a non-REMB AFB. */
        static const uint8_t d[] = {0x80, 0xcc, 0x00, 0x02, 0,    0,    0,    1,    'n', 'a',
                                    'm',  'e',  0x83, 0xcd, 0x00, 0x02, 0,    0,    0,   1,
                                    0,    0,    0,    2,    0x8f, 0xce, 0x00, 0x03, 0,   0,
                                    0,    1,    0,    0,    0,    2,    'X',  'Y',  'Z', 'W'};
        struct rtcp_packet *p = parse_all(d, sizeof(d), 3);
        assert_int_equal(p[0].kind, RTCP_KIND_OTHER);
        assert_int_equal(p[0].pt, RTCP_PT_APP);
        assert_int_equal(p[0].raw_len, 12);
        assert_int_equal(p[1].kind, RTCP_KIND_OTHER);
        assert_int_equal(p[1].count, 3);
        assert_int_equal(p[2].kind, RTCP_KIND_OTHER);
        free(p);
}

static void test_malformed_list(void **state)
{
        (void)state;
        struct {
                const char *name;
                uint8_t d[40];
                size_t len;
        } bad[] = {
            {"empty", {0}, 0},
            {"short header", {0x80, 0xc9, 0x00}, 3},
            {"version 1", {0x41, 0xc9, 0x00, 0x01, 0, 0, 0, 1}, 8},
            {"length past end", {0x80, 0xc9, 0x00, 0x02, 0, 0, 0, 1}, 8},
            {"trailing bytes", {0x80, 0xc9, 0x00, 0x01, 0, 0, 0, 1, 0x80, 0xc9}, 10},
            {"padding count 0", {0xa0, 0xc9, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 0}, 12},
            {"padding past body", {0xa0, 0xc9, 0x00, 0x01, 0, 0, 0, 9}, 8},
            {"RR without ssrc", {0x80, 0xc9, 0x00, 0x00}, 4},
            {"SR block missing",
             {0x81, 0xc8, 0x00, 0x06, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
              0,    0,    0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
             28},
            {"SDES without END", {0x81, 0xca, 0x00, 0x02, 0, 0, 0, 1, 0x01, 0x02, 'a', 'b'}, 12},
            {"SDES item too long", {0x81, 0xca, 0x00, 0x02, 0, 0, 0, 1, 0x01, 0x09, 'a', 'b'}, 12},
            {"SDES padding not zero", {0x81, 0xca, 0x00, 0x02, 0, 0, 0, 1, 0x01, 0x00, 0, 1}, 12},
            {"SDES chunk missing", {0x82, 0xca, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 0}, 12},
            {"BYE ssrc missing", {0x82, 0xcb, 0x00, 0x01, 0, 0, 0, 1}, 8},
            {"BYE reason too long", {0x81, 0xcb, 0x00, 0x02, 0, 0, 0, 1, 0x05, 'a', 'b', 'c'}, 12},
            {"BYE junk after reason",
             {0x81, 0xcb, 0x00, 0x02, 0, 0, 0, 1, 0x01, 'a', 'b', 'c'},
             12},
            {"NACK without FCI", {0x81, 0xcd, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2}, 12},
            {"RTPFB without media ssrc", {0x81, 0xcd, 0x00, 0x01, 0, 0, 0, 1}, 8},
            {"PLI with FCI", {0x81, 0xce, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0}, 16},
            {"FIR half entry", {0x84, 0xce, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2}, 16},
            {"FIR without FCI", {0x84, 0xce, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 0}, 12},
            {"REMB ssrc missing",
             {0x8f, 0xce, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 0, 'R', 'E', 'M', 'B', 0x01, 0, 0, 1},
             20},
            {"REMB extra bytes",
             {0x8f, 0xce, 0x00, 0x05, 0,    0, 0, 1, 0, 0, 0, 0,
              'R',  'E',  'M',  'B',  0x00, 0, 0, 1, 0, 0, 0, 0},
             24},
            {"TWCC header short", {0x8f, 0xcd, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1, 0, 1}, 16},
            {"good RR then bad",
             {0x80, 0xc9, 0x00, 0x01, 0, 0, 0, 1, 0x81, 0xc9, 0x00, 0x01, 0, 0, 0, 1},
             16},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                int rc = rtcp_validate(bad[i].d, bad[i].len);
                if (rc != -EPROTO)
                        fail_msg("%s: accepted (%d)", bad[i].name, rc);
                struct rtcp_iter it;
                assert_int_equal(rtcp_iter_init(&it, bad[i].d, bad[i].len), -EPROTO);
                struct rtcp_packet p;
                assert_int_equal(rtcp_iter_next(&it, &p), 0);
        }
}

static void test_ntp(void **state)
{
        (void)state;
        assert_true(rtcp_ntp_from_us(1500000) == (1ull << 32 | 0x80000000u));
        assert_true(rtcp_ntp_from_us(0) == 0);
        assert_int_equal(rtcp_ntp_mid32(0x1122334455667788ull), 0x33445566);
        /* Whole seconds and fractions survive a round trip to within a microsecond. */
        uint64_t ntp = rtcp_ntp_from_us(3900000000ull * 1000000 + 123456);
        assert_int_equal(ntp >> 32, 3900000000ull);
        uint64_t frac_us = ((ntp & 0xffffffffu) * 1000000) >> 32;
        assert_true(frac_us == 123455 || frac_us == 123456);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_sr_vector_and_round_trip),
            cmocka_unit_test(test_rr_full_and_empty),
            cmocka_unit_test(test_sdes_bye_vectors),
            cmocka_unit_test(test_nack_pli_fir_remb),
            cmocka_unit_test(test_twcc_parse),
            cmocka_unit_test(test_twcc_malformed),
            cmocka_unit_test(test_browser_shaped_compounds),
            cmocka_unit_test(test_other_types_pass_through),
            cmocka_unit_test(test_malformed_list),
            cmocka_unit_test(test_ntp),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
