#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "dtls/srtp.h"
#include "rtp/opus.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"
#include "rtp/rtp_sender.h"
#include "rtp/vp8.h"

#define SSRC      0x11111111u
#define RTX_SSRC  0x22222222u
#define REMOTE    0x33333333u
#define TS_OFFSET 12345u
/* 2023-ish in NTP seconds, as a caller would compute from the wall clock. */
#define NTP_OFFSET (3900000000ull * 1000000ull)

struct out_pkt {
        uint8_t *data;
        size_t len;
        bool retransmission;
        size_t twcc_offset;
        uint64_t at;
};

/* Everything a sender produced, collected by drain(). */
struct sink {
        struct out_pkt rtp[8192];
        size_t n_rtp;
        struct out_pkt rtcp[64];
        size_t n_rtcp;
        unsigned keyframe_pli, keyframe_fir;
        unsigned nack_events;
        uint32_t nack_requested, nack_resent, nack_missing;
        unsigned remb_events;
        uint64_t remb_bps;
};

static struct sink *sink_new(void)
{
        return calloc(1, sizeof(struct sink));
}

static void sink_free(struct sink *k)
{
        for (size_t i = 0; i < k->n_rtp; i++)
                free(k->rtp[i].data);
        for (size_t i = 0; i < k->n_rtcp; i++)
                free(k->rtcp[i].data);
        free(k);
}

static void copy_pkt(struct out_pkt *p, const struct rtp_sender_output *o, uint64_t at)
{
        p->data = malloc(o->len);
        memcpy(p->data, o->data, o->len);
        p->len = o->len;
        p->retransmission = o->retransmission;
        p->twcc_offset = o->twcc_offset;
        p->at = at;
}

static void drain(struct rtp_sender *s, struct sink *k, uint64_t now)
{
        struct rtp_sender_output o;
        while (rtp_sender_poll_output(s, &o) == 1) {
                switch (o.kind) {
                case RTP_SENDER_OUT_RTP:
                        assert_true(k->n_rtp < 8192);
                        copy_pkt(&k->rtp[k->n_rtp++], &o, now);
                        break;
                case RTP_SENDER_OUT_RTCP:
                        assert_true(k->n_rtcp < 64);
                        copy_pkt(&k->rtcp[k->n_rtcp++], &o, now);
                        break;
                case RTP_SENDER_OUT_KEYFRAME_REQUEST:
                        if (o.fir)
                                k->keyframe_fir++;
                        else
                                k->keyframe_pli++;
                        break;
                case RTP_SENDER_OUT_NACK:
                        k->nack_events++;
                        k->nack_requested += o.nack_requested;
                        k->nack_resent += o.nack_resent;
                        k->nack_missing += o.nack_missing;
                        break;
                case RTP_SENDER_OUT_REMB:
                        k->remb_events++;
                        k->remb_bps = o.remb_bps;
                        break;
                }
        }
}

static struct rtp_sender_config vp8_config(void)
{
        return (struct rtp_sender_config){
            .codec = RTP_SENDER_CODEC_VP8,
            .pt = 96,
            .ssrc = SSRC,
            .rtx = true,
            .rtx_pt = 97,
            .rtx_ssrc = RTX_SSRC,
            .first_seq = 1000,
            .rtx_first_seq = 5000,
            .ts_offset = TS_OFFSET,
            .first_picture_id = 0x7ffe,
            .cname = "cname-1",
            .mid = "0",
            .mid_ext_id = 1,
            .twcc_ext_id = 3,
            .ntp_offset_us = NTP_OFFSET,
        };
}

static uint8_t *frame_bytes(size_t len, bool key)
{
        uint8_t *f = malloc(len);
        for (size_t i = 0; i < len; i++)
                f[i] = (uint8_t)(i * 13 + 1);
        f[0] = key ? 0x10 : 0x11; /* P bit: 0 = key frame; no valid start code: plain split */
        return f;
}

static void send(struct rtp_sender *s, uint64_t now, uint64_t capture, size_t len)
{
        uint8_t *f = frame_bytes(len, false);
        assert_int_equal(rtp_sender_send_frame(s, now, capture, f, len), 0);
        free(f);
}

static void parse_rtp(const struct out_pkt *p, struct rtp_packet *r)
{
        assert_int_equal(rtp_parse(r, p->data, p->len), 0);
}

static void test_packets_and_timestamps(void **state)
{
        (void)state;
        struct rtp_sender_config cfg = vp8_config();
        struct rtp_sender *s = rtp_sender_new(&cfg);
        assert_non_null(s);
        /* 1200 - 12 header - 8 extensions (mid, twcc) - 4 extension header - 16 SRTP - 2 OSN */
        assert_int_equal(rtp_sender_max_payload(s), 1158);
        struct sink *k = sink_new();
        size_t len = 5000;
        uint8_t *f = frame_bytes(len, true);
        assert_int_equal(rtp_sender_send_frame(s, 1000000, 1000000, f, len), 0);
        drain(s, k, 1000000);
        send(s, 1033333, 1033333, 800);
        drain(s, k, 1033333);
        assert_int_equal(k->n_rtp, 6); /* 5000 / 1154 -> 5 packets, then 1 */

        struct buf frame = BUF_INIT;
        struct vp8_rtp_payload in[5];
        for (size_t i = 0; i < k->n_rtp; i++) {
                struct rtp_packet r;
                parse_rtp(&k->rtp[i], &r);
                assert_int_equal(r.h.ssrc, SSRC);
                assert_int_equal(r.h.pt, 96);
                assert_int_equal(r.h.seq, 1000 + i);
                assert_true(k->rtp[i].len + RTP_SENDER_SRTP_OVERHEAD + 2 <= 1200);
                char mid[8];
                assert_int_equal(rtp_header_get_mid(&r.h, 1, mid, sizeof(mid)), 0);
                assert_string_equal(mid, "0");
                uint16_t tw;
                assert_int_equal(rtp_header_get_twcc_seq(&r.h, 3, &tw), 0);
                size_t off = k->rtp[i].twcc_offset;
                assert_true(off > 12 && off + 2 <= r.h.header_len);
                /* The caller writes the transport-wide number there: it must land in the element.
                 */
                k->rtp[i].data[off] = 0xab;
                k->rtp[i].data[off + 1] = (uint8_t)i;
                parse_rtp(&k->rtp[i], &r);
                assert_int_equal(rtp_header_get_twcc_seq(&r.h, 3, &tw), 0);
                assert_int_equal(tw, 0xab00 + i);
                if (i < 5) {
                        assert_int_equal(r.h.ts, TS_OFFSET + 90000);
                        assert_int_equal(r.h.marker, i == 4);
                        in[i] = (struct vp8_rtp_payload){.data = r.payload,
                                                         .len = r.payload_len,
                                                         .seq = r.h.seq,
                                                         .marker = r.h.marker};
                } else {
                        /* 33333 us at 90 kHz is 2999.97 ticks: truncated. */
                        assert_int_equal(r.h.ts, TS_OFFSET + 90000 + 2999);
                        assert_true(r.h.marker);
                }
        }
        struct vp8_frame_info info;
        assert_int_equal(vp8_depacketize(&frame, in, 5, &info), 0);
        assert_int_equal(frame.len, len);
        assert_memory_equal(frame.data, f, len);
        assert_true(info.keyframe);
        assert_int_equal(info.picture_id, 0x7ffe);

        struct rtp_sender_stats st;
        rtp_sender_get_stats(s, &st);
        assert_int_equal(st.packets_sent, 6);
        assert_int_equal(st.bytes_sent, 5000 + 800 + 6 * VP8_DESC_LEN);
        assert_int_equal(st.frames_sent, 2);
        assert_int_equal(st.retransmitted_packets_sent, 0);
        buf_free(&frame);
        free(f);
        sink_free(k);
        rtp_sender_free(s);
}

static void test_sender_reports(void **state)
{
        (void)state;
        struct rtp_sender_config cfg = vp8_config();
        cfg.rtx = false;
        struct rtp_sender *s = rtp_sender_new(&cfg);
        struct sink *k = sink_new();
        /* Nothing sent yet: no reports, no timer. */
        assert_true(rtp_sender_next_deadline(s) == UINT64_MAX);
        send(s, 1000000, 990000, 3000);
        drain(s, k, 1000000);
        size_t n = k->n_rtp;
        assert_int_equal(n, 3);
        /* The first SR is due at once. */
        assert_true(rtp_sender_next_deadline(s) == 1000000);
        rtp_sender_handle_timeout(s, 1000000);
        drain(s, k, 1000000);
        assert_int_equal(k->n_rtcp, 1);
        assert_true(rtp_sender_next_deadline(s) == 2000000);

        struct rtcp_iter it;
        struct rtcp_packet *p = malloc(sizeof(*p));
        assert_int_equal(rtcp_iter_init(&it, k->rtcp[0].data, k->rtcp[0].len), 0);
        assert_int_equal(rtcp_iter_next(&it, p), 1);
        assert_int_equal(p->kind, RTCP_KIND_SR);
        assert_int_equal(p->u.sr.ssrc, SSRC);
        assert_true(p->u.sr.ntp == rtcp_ntp_from_us(NTP_OFFSET + 1000000));
        /* The RTP time of "now": 10 ms after the frame's capture. */
        assert_int_equal(p->u.sr.rtp_ts, TS_OFFSET + 89100 + 900);
        assert_int_equal(p->u.sr.packet_count, 3);
        assert_int_equal(p->u.sr.octet_count, 3000 + 3 * VP8_DESC_LEN);
        assert_int_equal(p->u.sr.rb_count, 0);
        assert_int_equal(rtcp_iter_next(&it, p), 1);
        assert_int_equal(p->kind, RTCP_KIND_SDES);
        assert_int_equal(p->u.sdes.chunk[0].ssrc, SSRC);
        assert_int_equal(p->u.sdes.chunk[0].cname_len, 7);
        assert_memory_equal(p->u.sdes.chunk[0].cname, "cname-1", 7);
        assert_int_equal(rtcp_iter_next(&it, p), 0);

        /* Not early, then on time, each second; the RTP time follows the capture clock. */
        send(s, 1500000, 1500000, 500);
        rtp_sender_handle_timeout(s, 1999999);
        drain(s, k, 1999999);
        assert_int_equal(k->n_rtcp, 1);
        rtp_sender_handle_timeout(s, 2000000);
        drain(s, k, 2000000);
        assert_int_equal(k->n_rtcp, 2);
        assert_int_equal(rtcp_iter_init(&it, k->rtcp[1].data, k->rtcp[1].len), 0);
        assert_int_equal(rtcp_iter_next(&it, p), 1);
        assert_int_equal(p->u.sr.rtp_ts, TS_OFFSET + 180000);
        assert_int_equal(p->u.sr.packet_count, 4);
        assert_true(p->u.sr.ntp == rtcp_ntp_from_us(NTP_OFFSET + 2000000));
        struct rtp_sender_stats st;
        rtp_sender_get_stats(s, &st);
        assert_int_equal(st.sr_sent, 2);

        /* A receiver report echoing the SR gives the RTT: sent at 2 s, held 50 ms by the
         * receiver, back at 2.15 s -> 100 ms. */
        struct buf rr = BUF_INIT;
        struct rtcp_rr r = {.ssrc = REMOTE, .rb_count = 1};
        r.rb[0] = (struct rtcp_report_block){
            .ssrc = SSRC,
            .fraction_lost = 12,
            .cumulative_lost = 3,
            .jitter = 77,
            .lsr = rtcp_ntp_mid32(rtcp_ntp_from_us(NTP_OFFSET + 2000000)),
            .dlsr = 65536 / 20};
        assert_int_equal(rtcp_build_rr(&rr, &r), 0);
        assert_int_equal(rtp_sender_handle_rtcp(s, 2150000, rr.data, rr.len), 0);
        rtp_sender_get_stats(s, &st);
        assert_true(st.have_report);
        assert_int_equal(st.fraction_lost, 12);
        assert_int_equal(st.packets_lost, 3);
        assert_int_equal(st.jitter, 77);
        assert_true(st.rtt_valid);
        assert_true(st.rtt_us >= 99000 && st.rtt_us <= 101000);
        buf_free(&rr);
        free(p);
        sink_free(k);
        rtp_sender_free(s);
}

static void nack(struct rtp_sender *s, uint64_t now, uint32_t media, const uint16_t *seqs, size_t n)
{
        struct buf b = BUF_INIT;
        struct rtcp_rr rr = {.ssrc = REMOTE};
        assert_int_equal(rtcp_build_rr(&b, &rr), 0);
        assert_int_equal(rtcp_build_nack(&b, REMOTE, media, seqs, n), 0);
        assert_int_equal(rtp_sender_handle_rtcp(s, now, b.data, b.len), 0);
        buf_free(&b);
}

static void test_nack_rtx(void **state)
{
        (void)state;
        struct rtp_sender_config cfg = vp8_config();
        struct rtp_sender *s = rtp_sender_new(&cfg);
        struct sink *k = sink_new();
        for (int i = 0; i < 3; i++) {
                send(s, 1000000 + 33000 * (uint64_t)i, 1000000 + 33000 * (uint64_t)i, 2000);
                drain(s, k, 0);
        }
        assert_int_equal(k->n_rtp, 6); /* seq 1000..1005 */
        size_t base = k->n_rtp;
        static const uint16_t lost[] = {1001, 1003, 900};
        nack(s, 1200000, SSRC, lost, 3);
        drain(s, k, 1200000);
        assert_int_equal(k->n_rtp, base + 2);
        assert_int_equal(k->nack_events, 1);
        assert_int_equal(k->nack_requested, 3);
        assert_int_equal(k->nack_resent, 2);
        assert_int_equal(k->nack_missing, 1);
        for (int i = 0; i < 2; i++) {
                const struct out_pkt *rx = &k->rtp[base + i];
                const struct out_pkt *orig = &k->rtp[i == 0 ? 1 : 3];
                struct rtp_packet r, o;
                parse_rtp(rx, &r);
                parse_rtp(orig, &o);
                assert_true(rx->retransmission);
                assert_int_equal(r.h.pt, 97);
                assert_int_equal(r.h.ssrc, RTX_SSRC);
                assert_int_equal(r.h.seq, 5000 + i);
                assert_int_equal(r.h.ts, o.h.ts);
                assert_int_equal(r.h.marker, o.h.marker);
                /* OSN, then the original payload. */
                assert_int_equal(r.payload_len, o.payload_len + 2);
                assert_int_equal(r.payload[0] << 8 | r.payload[1], o.h.seq);
                assert_int_equal(o.h.seq, i == 0 ? 1001 : 1003);
                assert_memory_equal(r.payload + 2, o.payload, o.payload_len);
                char mid[8];
                assert_int_equal(rtp_header_get_mid(&r.h, 1, mid, sizeof(mid)), 0);
                assert_true(rx->twcc_offset > 0);
                assert_true(rx->len + RTP_SENDER_SRTP_OVERHEAD <= 1200);
        }
        struct rtp_sender_stats st;
        rtp_sender_get_stats(s, &st);
        assert_int_equal(st.nack_count, 1);
        assert_int_equal(st.retransmitted_packets_sent, 2);
        assert_int_equal(st.packets_sent, 8);

        /* The same NACK again at once is a duplicate; after the minimum interval it is not. */
        nack(s, 1201000, SSRC, lost, 2);
        drain(s, k, 1201000);
        assert_int_equal(k->n_rtp, base + 2);
        nack(s, 1230000, SSRC, lost, 1);
        drain(s, k, 1230000);
        assert_int_equal(k->n_rtp, base + 3);
        struct rtp_packet r;
        parse_rtp(&k->rtp[base + 2], &r);
        assert_int_equal(r.h.seq, 5002);
        /* A NACK about another SSRC is not ours. */
        nack(s, 1300000, 0x12345678, lost, 1);
        drain(s, k, 1300000);
        assert_int_equal(k->n_rtp, base + 3);
        rtp_sender_get_stats(s, &st);
        assert_int_equal(st.nack_count, 3);
        sink_free(k);
        rtp_sender_free(s);
}

static void test_nack_without_rtx(void **state)
{
        (void)state;
        struct rtp_sender_config cfg = vp8_config();
        cfg.rtx = false;
        struct rtp_sender *s = rtp_sender_new(&cfg);
        assert_int_equal(rtp_sender_max_payload(s), 1160);
        struct sink *k = sink_new();
        send(s, 0, 0, 3000);
        drain(s, k, 0);
        static const uint16_t lost[] = {1002};
        nack(s, 50000, SSRC, lost, 1);
        drain(s, k, 50000);
        assert_int_equal(k->n_rtp, 4);
        assert_true(k->rtp[3].retransmission);
        assert_int_equal(k->rtp[3].len, k->rtp[2].len);
        assert_memory_equal(k->rtp[3].data, k->rtp[2].data, k->rtp[2].len);
        sink_free(k);
        rtp_sender_free(s);
}

static void test_history_eviction(void **state)
{
        (void)state;
        struct rtp_sender_config cfg = vp8_config();
        struct rtp_sender *s = rtp_sender_new(&cfg);
        struct sink *k = sink_new();
        /* 600 one-packet frames, 1 ms apart: seq 1000..1599; 512 are kept. */
        for (uint64_t i = 0; i < 600; i++) {
                send(s, i * 1000, i * 1000, 100);
                drain(s, k, i * 1000);
        }
        assert_int_equal(k->n_rtp, 600);
        uint64_t now = 600000;
        static const uint16_t old[] = {1000, 1087};  /* overwritten by 1512, 1599 */
        static const uint16_t kept[] = {1088, 1599}; /* the oldest and newest kept */
        nack(s, now, SSRC, old, 2);
        drain(s, k, now);
        assert_int_equal(k->nack_missing, 2);
        assert_int_equal(k->nack_resent, 0);
        nack(s, now, SSRC, kept, 2);
        drain(s, k, now);
        assert_int_equal(k->nack_resent, 2);
        struct rtp_packet r;
        parse_rtp(&k->rtp[600], &r);
        assert_int_equal(r.payload[0] << 8 | r.payload[1], 1088);
        parse_rtp(&k->rtp[601], &r);
        assert_int_equal(r.payload[0] << 8 | r.payload[1], 1599);
        /* Older than two seconds: gone, even though the slot still holds it. */
        static const uint16_t last[] = {1599};
        nack(s, 599000 + RTP_SENDER_DEFAULT_MAX_AGE_US + 1, SSRC, last, 1);
        drain(s, k, 0);
        assert_int_equal(k->nack_missing, 3);
        assert_int_equal(k->n_rtp, 602);
        sink_free(k);
        rtp_sender_free(s);
}

static void psfb_at(struct rtp_sender *s, uint64_t now, int what, uint32_t target, uint8_t fir_seq)
{
        struct buf b = BUF_INIT;
        if (what == 0) {
                assert_int_equal(rtcp_build_pli(&b, REMOTE, target), 0);
        } else {
                struct rtcp_fir_entry e[2] = {{.ssrc = 0x999, .seq = 42},
                                              {.ssrc = target, .seq = fir_seq}};
                assert_int_equal(rtcp_build_fir(&b, REMOTE, e, 2), 0);
        }
        assert_int_equal(rtp_sender_handle_rtcp(s, now, b.data, b.len), 0);
        buf_free(&b);
}

static void psfb(struct rtp_sender *s, int what, uint32_t target, uint8_t fir_seq)
{
        psfb_at(s, 0, what, target, fir_seq);
}

/* The encoder answers a request: a key frame, sent at once (no pacing). */
static void key_frame_at(struct rtp_sender *s, struct sink *k, uint64_t now, size_t len)
{
        uint8_t *f = frame_bytes(len, true);
        assert_int_equal(rtp_sender_send_frame(s, now, now, f, len), 0);
        free(f);
        drain(s, k, now);
}

/* A PLI at now; afterwards `want` requests have been passed on in all. */
static void pli_passed(struct rtp_sender *s, struct sink *k, uint64_t now, unsigned want)
{
        psfb_at(s, now, 0, SSRC, 0);
        drain(s, k, now);
        assert_int_equal(k->keyframe_pli, want);
}

static void test_pli_fir(void **state)
{
        (void)state;
        struct rtp_sender_config cfg = vp8_config();
        struct rtp_sender *s = rtp_sender_new(&cfg);
        struct sink *k = sink_new();
        psfb(s, 0, SSRC, 0);
        drain(s, k, 0);
        assert_int_equal(k->keyframe_pli, 1);
        psfb(s, 0, 0x999, 0); /* someone else's */
        drain(s, k, 0);
        assert_int_equal(k->keyframe_pli, 1);
        /* Two more before the encoder coded the key frame: the same request. */
        psfb(s, 0, SSRC, 0);
        psfb(s, 0, SSRC, 0);
        drain(s, k, 0);
        assert_int_equal(k->keyframe_pli, 1);
        key_frame_at(s, k, 10000, 3000);
        /* Answered and a round trip (100 ms without an RTT) gone: a new request. */
        pli_passed(s, k, 200000, 2);
        key_frame_at(s, k, 210000, 3000);

        psfb_at(s, 400000, 1, SSRC, 7);
        drain(s, k, 400000);
        assert_int_equal(k->keyframe_fir, 1);
        key_frame_at(s, k, 410000, 3000);
        psfb_at(s, 600000, 1, SSRC, 7); /* repeated request: same sequence number */
        drain(s, k, 600000);
        assert_int_equal(k->keyframe_fir, 1);
        psfb_at(s, 600000, 1, SSRC, 8);
        drain(s, k, 600000);
        assert_int_equal(k->keyframe_fir, 2);
        key_frame_at(s, k, 610000, 3000);
        psfb_at(s, 800000, 1, 0x4444, 9);
        drain(s, k, 800000);
        assert_int_equal(k->keyframe_fir, 2);

        struct rtp_sender_stats st;
        rtp_sender_get_stats(s, &st);
        assert_int_equal(st.pli_count, 4); /* every one counted, passed on or not */
        assert_int_equal(st.fir_count, 3);

        /* REMB naming our SSRC among others. */
        struct buf b = BUF_INIT;
        uint32_t ssrcs[2] = {0x999, SSRC};
        assert_int_equal(rtcp_build_remb(&b, REMOTE, 1500000, ssrcs, 2), 0);
        assert_int_equal(rtp_sender_handle_rtcp(s, 0, b.data, b.len), 0);
        drain(s, k, 0);
        assert_int_equal(k->remb_events, 1);
        assert_int_equal(k->remb_bps, 1500000);
        /* Malformed: dropped whole, nothing happens. */
        b.data[b.len - 5] ^= 0xff;
        b.len -= 2;
        assert_int_equal(rtp_sender_handle_rtcp(s, 0, b.data, b.len), -EPROTO);
        drain(s, k, 0);
        assert_int_equal(k->remb_events, 1);
        buf_free(&b);
        sink_free(k);
        rtp_sender_free(s);
}

/*
 * A receiver repeats its PLI until a key frame reaches it; on a slow path the key frame spends
 * longer than that in the pacer. Repeats sent before the receiver could see it are not passed
 * on (each would make another large key frame): while it is queued, and for a round trip after
 * its last packet left. A request the encoder never answered is passed on again after 1 s.
 */
static void test_keyframe_request_repeats(void **state)
{
        (void)state;
        struct rtp_sender_config cfg = vp8_config();
        cfg.target_bitrate_bps = 100000; /* paced at 250 kbit/s */
        struct rtp_sender *s = rtp_sender_new(&cfg);
        struct sink *k = sink_new();
        psfb_at(s, 1000000, 0, SSRC, 0);
        drain(s, k, 1000000);
        assert_int_equal(k->keyframe_pli, 1);
        uint8_t *f = frame_bytes(20000, true); /* 18 packets: ~0.66 s at 250 kbit/s */
        assert_int_equal(rtp_sender_send_frame(s, 1050000, 1050000, f, 20000), 0);
        free(f);
        drain(s, k, 1050000);
        uint64_t last_out = 0;
        unsigned passed_while_queued = 0;
        for (uint64_t t = 1050000; t < 3000000; t += 1000) {
                if (rtp_sender_next_deadline(s) <= t)
                        rtp_sender_handle_timeout(s, t);
                size_t before = k->n_rtp;
                drain(s, k, t);
                if (k->n_rtp > before)
                        last_out = t;
                if (k->n_rtp < 18 && t % 100000 == 0) {
                        psfb_at(s, t, 0, SSRC, 0); /* the receiver's repeats */
                        drain(s, k, t);
                        passed_while_queued += k->keyframe_pli - 1;
                }
                if (k->n_rtp == 18)
                        break;
        }
        assert_int_equal(k->n_rtp, 18);
        print_message("key frame of 18 packets sent in %.0f ms\n",
                      (double)(last_out - 1050000) / 1000);
        assert_true(last_out - 1050000 > 500000);
        assert_int_equal(passed_while_queued, 0);
        /* Within a round trip of its last packet: still the same request; after it: new. */
        pli_passed(s, k, last_out + 90000, 1);
        pli_passed(s, k, last_out + 110000, 2);
        /* Not answered: repeats within 1 s are the same request, then it is passed on again. */
        pli_passed(s, k, last_out + 900000, 2);
        pli_passed(s, k, last_out + 1110000, 3);
        struct rtp_sender_stats st;
        rtp_sender_get_stats(s, &st);
        assert_true(st.pli_count >= 9); /* every PLI counted, passed on or not */
        sink_free(k);
        rtp_sender_free(s);
}

static void test_pacer_spreads_keyframe(void **state)
{
        (void)state;
        struct rtp_sender_config cfg = vp8_config();
        cfg.target_bitrate_bps = 1000000; /* pacing at 2.5 Mbit/s = 312500 bytes/s */
        struct rtp_sender *s = rtp_sender_new(&cfg);
        struct sink *k = sink_new();
        const uint64_t rate = 312500, burst = rate * RTP_SENDER_DEFAULT_BURST_US / 1000000;
        uint64_t t0 = 5000000;
        send(s, t0, t0, 30000);
        drain(s, k, t0);
        size_t at_once = k->n_rtp;
        /* The bucket holds 10 ms (3125 bytes): three 1200-byte packets, not the frame. */
        assert_int_equal(at_once, 3);
        struct rtp_sender_stats st;
        rtp_sender_get_stats(s, &st);
        assert_int_equal(st.queued_packets, 26 - 3);
        uint64_t now = t0;
        while (k->n_rtp < 26) {
                uint64_t d = rtp_sender_next_deadline(s);
                assert_true(d != UINT64_MAX && d >= now);
                now = d;
                rtp_sender_handle_timeout(s, now);
                drain(s, k, now);
        }
        uint64_t total = 0;
        for (size_t i = 0; i < k->n_rtp; i++)
                total += k->rtp[i].len;
        /* Released at the pacing rate: the last one no sooner than the bytes before it allow,
         * and not much later either. */
        uint64_t before_last = total - k->rtp[25].len;
        uint64_t min_end = (before_last - burst) * 1000000 / rate;
        uint64_t span = k->rtp[25].at - t0;
        assert_true(span >= min_end - 1000);
        assert_true(span <= min_end + 5000);
        assert_true(span > 80000 && span < 100000);
        /* No window of the run carries more than its share plus the bucket and one packet. */
        for (size_t i = 0; i < k->n_rtp; i++) {
                uint64_t bytes = 0;
                for (size_t j = i; j < k->n_rtp; j++) {
                        bytes += k->rtp[j].len;
                        uint64_t win = k->rtp[j].at - k->rtp[i].at;
                        assert_true(bytes <= win * rate / 1000000 + burst + 1200 + 1200);
                }
        }
        /* Sequence order is kept. */
        for (size_t i = 0; i < k->n_rtp; i++) {
                struct rtp_packet r;
                parse_rtp(&k->rtp[i], &r);
                assert_int_equal(r.h.seq, 1000 + i);
        }
        /* A retransmission overtakes queued media. */
        send(s, now, now, 6000);
        drain(s, k, now);
        size_t before = k->n_rtp;
        static const uint16_t lost[] = {1010};
        now += 1;
        nack(s, now, SSRC, lost, 1);
        drain(s, k, now);
        while (k->n_rtp == before) {
                now = rtp_sender_next_deadline(s);
                rtp_sender_handle_timeout(s, now);
                drain(s, k, now);
        }
        assert_true(k->rtp[before].retransmission);
        /* Pacing off: everything at once. */
        rtp_sender_set_target_bitrate(s, now, 0);
        drain(s, k, now);
        rtp_sender_get_stats(s, &st);
        assert_int_equal(st.queued_packets, 0);
        assert_int_equal(st.queued_bytes, 0);
        sink_free(k);
        rtp_sender_free(s);
}

/* ---- recovery after an outage, through SRTP as the session sends ---- */

struct wire {
        struct rtp_sender *s;
        struct sink *k;
        struct srtp_ctx *tx;
        size_t n_sealed; /* sink packets already through SRTP */
        unsigned refused;
        uint64_t now;
        uint16_t rtx_seq[1024]; /* the RTX stream's sequence numbers, in the order protected */
        size_t n_rtx;
};

static void wire_protect(struct wire *w, const uint8_t *data, size_t len)
{
        uint8_t pkt[1500 + SRTP_CTX_MAX_TRAILER];
        assert_true(len <= 1500);
        memcpy(pkt, data, len);
        size_t n = len;
        struct rtp_packet r;
        assert_int_equal(rtp_parse(&r, data, len), 0);
        if (r.h.ssrc == RTX_SSRC && w->n_rtx < 1024)
                w->rtx_seq[w->n_rtx++] = r.h.seq;
        if (srtp_ctx_protect_rtp(w->tx, pkt, &n, sizeof(pkt)) < 0)
                w->refused++;
}

/* Drains the sender and protects what it released, in that order. */
static void wire_drain(struct wire *w)
{
        drain(w->s, w->k, w->now);
        for (; w->n_sealed < w->k->n_rtp; w->n_sealed++)
                wire_protect(w, w->k->rtp[w->n_sealed].data, w->k->rtp[w->n_sealed].len);
}

/* Runs the pacer up to t. */
static void wire_until(struct wire *w, uint64_t t)
{
        for (;;) {
                uint64_t d = rtp_sender_next_deadline(w->s);
                if (d > t)
                        break;
                if (d > w->now)
                        w->now = d;
                rtp_sender_handle_timeout(w->s, w->now);
                wire_drain(w);
        }
        w->now = t;
}

static void wire_srtp(struct wire *w)
{
        struct dtls_srtp_keys keys = {.profile = DTLS_SRTP_AES128_CM_SHA1_80};
        for (int i = 0; i < DTLS_SRTP_KEY_LEN; i++)
                keys.client_key[i] = (uint8_t)(0x10 + i);
        assert_int_equal(srtp_ctx_new(&keys, DTLS_ROLE_CLIENT, &w->tx), 0);
}

static void wire_frame(struct wire *w, size_t len, bool key)
{
        uint8_t *f = frame_bytes(len, key);
        assert_int_equal(rtp_sender_send_frame(w->s, w->now, w->now, f, len), 0);
        free(f);
        wire_drain(w);
}

/*
 * Retransmissions queued behind the pacer, and bandwidth-probe padding on the same RTX stream
 * sent at once meanwhile: the RTX sequence numbers must still rise in the order the packets
 * reach SRTP. (They were given when queued: padding then took numbers ahead of hundreds still
 * queued, and srtp_protect refused every one more than 128 behind with "replay_old".) A NACK
 * repeated while its packets wait queues nothing twice.
 */
static void test_rtx_numbered_as_sent(void **state)
{
        (void)state;
        struct rtp_sender_config cfg = vp8_config();
        cfg.target_bitrate_bps = 1000000;
        struct wire w = {.s = rtp_sender_new(&cfg), .k = sink_new(), .now = 1000000};
        wire_srtp(&w);
        for (int i = 0; i < 40; i++) {
                wire_frame(&w, 6000, i == 0);
                wire_until(&w, w.now + 33333);
        }
        size_t before = w.k->n_rtp;
        assert_int_equal(before, 240);
        uint16_t lost[200];
        for (int i = 0; i < 200; i++)
                lost[i] = (uint16_t)(1010 + i);
        nack(w.s, w.now, SSRC, lost, 200);
        wire_drain(&w);
        nack(w.s, w.now + 1000, SSRC, lost, 200); /* the receiver's retry */
        wire_drain(&w);
        struct buf pad = BUF_INIT;
        size_t off;
        assert_int_equal(rtp_sender_build_padding(w.s, 300, &pad, &off), 0);
        wire_protect(&w, pad.data, pad.len);
        buf_free(&pad);
        wire_until(&w, w.now + 3000000);
        assert_int_equal(w.refused, 0);
        assert_int_equal(w.k->n_rtp - before, 200);
        assert_int_equal(w.n_rtx, 201);
        for (size_t i = 0; i < w.n_rtx; i++)
                assert_int_equal(w.rtx_seq[i], 5000 + i);
        srtp_ctx_free(w.tx);
        sink_free(w.k);
        rtp_sender_free(w.s);
}

/*
 * The faults test's 5 s cut: when the path came back, the receiver NACKed the hundreds of
 * packets sent into the cut, repeated the NACK every RTT + 5 ms, and asked for a key frame.
 * The retransmissions went ahead of all media, so the key frame waited behind them for
 * seconds (and with them most of the decoded video). Now retransmissions keep to the target
 * bitrate, and the key frame asked for drops those queued and makes NACKs for older packets
 * moot: it leaves at once, and the frames after it follow.
 */
static void test_outage_recovery(void **state)
{
        (void)state;
        struct rtp_sender_config cfg = vp8_config();
        cfg.target_bitrate_bps = 1000000;
        struct wire w = {.s = rtp_sender_new(&cfg), .k = sink_new()};
        wire_srtp(&w);

        /* 3 s at 1 Mbit/s (30 frames a second of 4000 bytes) into a cut path. */
        const uint64_t t0 = 1000000, cut_end = t0 + 3000000;
        for (uint64_t t = t0; t < cut_end; t += 33333) {
                wire_until(&w, t);
                wire_frame(&w, 4000, t == t0);
        }
        wire_until(&w, cut_end);
        size_t before = w.k->n_rtp;
        assert_true(before > 300);
        uint16_t last = (uint16_t)(1000 + before - 1);
        uint16_t key_seq = (uint16_t)(last + 1);

        /* The path is back: the estimate is low; the receiver NACKs the 400 packets it misses
         * within the history and repeats that every 10 ms for 100 ms; a probe sends padding; a
         * PLI follows. The key frame comes with the next picture, then one frame every 33 ms. */
        rtp_sender_set_target_bitrate(w.s, w.now, 200000);
        wire_drain(&w);
        uint16_t lost[400];
        for (int i = 0; i < 400; i++)
                lost[i] = (uint16_t)(last - 399 + i);
        const uint64_t key_at = cut_end + 33000;
        for (uint64_t t = cut_end; t < cut_end + 1000000; t += 1000) {
                wire_until(&w, t);
                uint64_t dt = t - cut_end;
                if (dt <= 100000 && dt % 10000 == 0) {
                        nack(w.s, w.now, SSRC, lost, 200);
                        nack(w.s, w.now, SSRC, lost + 200, 200);
                        wire_drain(&w);
                }
                if (dt == 1000 || dt == 50000) {
                        struct buf pad = BUF_INIT;
                        size_t off;
                        assert_int_equal(rtp_sender_build_padding(w.s, 300, &pad, &off), 0);
                        wire_protect(&w, pad.data, pad.len);
                        buf_free(&pad);
                }
                if (dt == 20000) {
                        psfb(w.s, 0, SSRC, 0);
                        wire_drain(&w);
                }
                if (t >= key_at && (t - key_at) % 33000 == 0)
                        wire_frame(&w, t == key_at ? 8000 : 800, t == key_at);
        }
        assert_int_equal(w.refused, 0);
        uint64_t key_done = 0;
        size_t media_after = 0, rtx_after = 0;
        for (size_t i = before; i < w.k->n_rtp; i++) {
                struct rtp_packet r;
                parse_rtp(&w.k->rtp[i], &r);
                if (w.k->rtp[i].retransmission) {
                        rtx_after++;
                        continue;
                }
                media_after++;
                if (r.h.seq == (uint16_t)(key_seq + 6)) /* 8000 bytes: 7 packets */
                        key_done = w.k->rtp[i].at;
        }
        /* At the pacing rate (62.5 kB/s) the key frame takes ~130 ms; it waited for nothing. */
        assert_true(key_done > key_at && key_done - key_at < 200000);
        /* Every frame after it went out too, and few retransmissions. */
        assert_true(media_after >= 7 + 28);
        assert_true(rtx_after <= 20);
        srtp_ctx_free(w.tx);
        sink_free(w.k);
        rtp_sender_free(w.s);
}

/*
 * A flood of NACKs with no key frame to end it (a peer that keeps asking): retransmissions take
 * at most the target bitrate (with a 150 ms bucket, first), so the frames wait 100 ms at most,
 * then leave within their frame interval; what is still queued once its original is older than
 * the history is dropped.
 */
static void test_rtx_budget(void **state)
{
        (void)state;
        struct rtp_sender_config cfg = vp8_config();
        cfg.target_bitrate_bps = 400000; /* pacing 125 kB/s, retransmissions 50 kB/s */
        struct wire w = {.s = rtp_sender_new(&cfg), .k = sink_new(), .now = 1000000};
        wire_srtp(&w);
        for (int i = 0; i < 60; i++) {
                wire_frame(&w, 1500, i == 0);
                wire_until(&w, w.now + 33333);
        }
        size_t before = w.k->n_rtp;
        assert_int_equal(before, 120);
        uint16_t lost[120];
        for (int i = 0; i < 120; i++)
                lost[i] = (uint16_t)(1000 + i);
        uint64_t queued[30];
        for (int f = 0; f < 30; f++) {
                nack(w.s, w.now, SSRC, lost, 120);
                queued[f] = w.now;
                wire_frame(&w, 1500, false);
                wire_until(&w, w.now + 33333);
        }
        size_t rtx = 0, media = 0;
        for (size_t i = before; i < w.k->n_rtp; i++) {
                if (w.k->rtp[i].retransmission) {
                        rtx++;
                        continue;
                }
                uint64_t wait = w.k->rtp[i].at - queued[media / 2];
                assert_true(wait <= 100000 + 10000);
                if (queued[media / 2] - queued[0] >= 200000)
                        assert_true(wait < 33333);
                media++;
        }
        assert_int_equal(media, 60);
        /* 1 s: 50 kB plus the 7.5 kB bucket, in packets of 770 bytes on average. */
        assert_true(rtx >= 60 && rtx <= 80);
        /* The rest is dropped once the originals pass the history's age (2 s). */
        wire_until(&w, w.now + 2000000);
        struct rtp_sender_stats st;
        rtp_sender_get_stats(w.s, &st);
        assert_int_equal(st.queued_packets, 0);
        assert_int_equal(st.queued_bytes, 0);
        assert_int_equal(w.refused, 0);
        srtp_ctx_free(w.tx);
        sink_free(w.k);
        rtp_sender_free(w.s);
}

static void test_queue_bound(void **state)
{
        (void)state;
        struct rtp_sender_config cfg = vp8_config();
        cfg.target_bitrate_bps = 100000;
        struct rtp_sender *s = rtp_sender_new(&cfg);
        size_t len = (RTP_SENDER_MAX_QUEUE_PACKETS + 10) * 1154;
        uint8_t *f = frame_bytes(len, true);
        assert_int_equal(rtp_sender_send_frame(s, 0, 0, f, len), -ENOBUFS);
        struct rtp_sender_stats st;
        rtp_sender_get_stats(s, &st);
        assert_int_equal(st.queued_packets, 0);
        assert_int_equal(rtp_sender_send_frame(s, 0, 0, f, 10 * 1154), 0);
        free(f);
        rtp_sender_free(s);
}

static void test_stop_bye(void **state)
{
        (void)state;
        struct rtp_sender_config cfg = vp8_config();
        struct rtp_sender *s = rtp_sender_new(&cfg);
        struct sink *k = sink_new();
        send(s, 0, 0, 100);
        assert_int_equal(rtp_sender_stop(s, 10000), 0);
        assert_int_equal(rtp_sender_stop(s, 10000), 0);
        drain(s, k, 10000);
        assert_int_equal(k->n_rtcp, 1);
        struct rtcp_iter it;
        struct rtcp_packet *p = malloc(sizeof(*p));
        assert_int_equal(rtcp_iter_init(&it, k->rtcp[0].data, k->rtcp[0].len), 0);
        assert_int_equal(rtcp_iter_next(&it, p), 1);
        assert_int_equal(p->kind, RTCP_KIND_SR);
        assert_int_equal(rtcp_iter_next(&it, p), 1);
        assert_int_equal(p->kind, RTCP_KIND_SDES);
        assert_int_equal(rtcp_iter_next(&it, p), 1);
        assert_int_equal(p->kind, RTCP_KIND_BYE);
        assert_int_equal(p->u.bye.count, 2);
        assert_int_equal(p->u.bye.ssrc[0], SSRC);
        assert_int_equal(p->u.bye.ssrc[1], RTX_SSRC);
        assert_int_equal(rtcp_iter_next(&it, p), 0);
        assert_int_equal(rtp_sender_send_frame(s, 20000, 20000, "x", 1), -EPIPE);
        assert_true(rtp_sender_next_deadline(s) == UINT64_MAX);
        sink_free(k);
        rtp_sender_free(s);

        /* Stopped before sending anything: an empty RR leads the compound. */
        cfg.rtx = false;
        s = rtp_sender_new(&cfg);
        k = sink_new();
        assert_int_equal(rtp_sender_stop(s, 0), 0);
        drain(s, k, 0);
        assert_int_equal(rtcp_iter_init(&it, k->rtcp[0].data, k->rtcp[0].len), 0);
        assert_int_equal(rtcp_iter_next(&it, p), 1);
        assert_int_equal(p->kind, RTCP_KIND_RR);
        assert_int_equal(rtcp_iter_next(&it, p), 1);
        assert_int_equal(rtcp_iter_next(&it, p), 1);
        assert_int_equal(p->kind, RTCP_KIND_BYE);
        assert_int_equal(p->u.bye.count, 1);
        free(p);
        sink_free(k);
        rtp_sender_free(s);
}

static void test_opus_toc(void **state)
{
        (void)state;
        struct opus_toc t;
        static const uint8_t silk_nb_10[] = {0x00};
        assert_int_equal(opus_toc_parse(&t, silk_nb_10, 1), 0);
        assert_int_equal(t.packet_samples, 480);
        static const uint8_t silk_60[] = {3 << 3};
        assert_int_equal(opus_packet_samples(silk_60, 1), 2880);
        static const uint8_t hybrid_fb_20_two[] = {15 << 3 | 0x04 | 1};
        assert_int_equal(opus_toc_parse(&t, hybrid_fb_20_two, 1), 0);
        assert_true(t.stereo);
        assert_int_equal(t.frame_count, 2);
        assert_int_equal(t.packet_samples, 1920);
        static const uint8_t celt_2_5[] = {16 << 3};
        assert_int_equal(opus_packet_samples(celt_2_5, 1), 120);
        static const uint8_t celt_fb_20[] = {31 << 3};
        assert_int_equal(opus_packet_samples(celt_fb_20, 1), 960);
        static const uint8_t code3_48[] = {16 << 3 | 3, 48};
        assert_int_equal(opus_packet_samples(code3_48, 2), 5760);
        static const uint8_t code3_49[] = {16 << 3 | 3, 49};
        assert_int_equal(opus_packet_samples(code3_49, 2), -EPROTO);
        static const uint8_t code3_0[] = {16 << 3 | 3, 0x80};
        assert_int_equal(opus_packet_samples(code3_0, 2), -EPROTO);
        assert_int_equal(opus_packet_samples(code3_0, 1), -EPROTO);
        assert_int_equal(opus_packet_samples(code3_0, 0), -EPROTO);
        static const uint8_t silk_40_code2[] = {2 << 3 | 2};
        assert_int_equal(opus_packet_samples(silk_40_code2, 1), 3840);
}

static void test_opus_timestamps(void **state)
{
        (void)state;
        struct rtp_sender_config cfg = {
            .codec = RTP_SENDER_CODEC_OPUS,
            .pt = 111,
            .ssrc = SSRC,
            .ts_offset = 1000,
            .cname = "a",
            .mid = "1",
            .mid_ext_id = 4,
        };
        struct rtp_sender *s = rtp_sender_new(&cfg);
        struct sink *k = sink_new();
        uint8_t pkt20[40] = {31 << 3};        /* CELT FB 20 ms */
        uint8_t pkt60[40] = {31 << 3 | 3, 3}; /* three 20 ms frames */
        /* Capture times jitter by a few ms; timestamps advance by exactly 960. */
        static const uint64_t cap[] = {0, 23000, 38000, 61000};
        for (int i = 0; i < 4; i++)
                assert_int_equal(rtp_sender_send_frame(s, cap[i], cap[i], pkt20, 40), 0);
        assert_int_equal(rtp_sender_send_frame(s, 80000, 80000, pkt60, 40), 0);
        assert_int_equal(rtp_sender_send_frame(s, 140000, 140000, pkt20, 40), 0);
        /* DTX: nothing for 400 ms, then the capture clock wins and the marker is set. */
        assert_int_equal(rtp_sender_send_frame(s, 560000, 560000, pkt20, 40), 0);
        drain(s, k, 0);
        assert_int_equal(k->n_rtp, 7);
        static const uint32_t want_ts[] = {1000, 1960,        2920,           3880,
                                           4840, 4840 + 2880, 1000 + 560 * 48};
        for (int i = 0; i < 7; i++) {
                struct rtp_packet r;
                parse_rtp(&k->rtp[i], &r);
                assert_int_equal(r.h.ts, want_ts[i]);
                assert_int_equal(r.h.marker, i == 0 || i == 6);
                assert_int_equal(r.h.pt, 111);
                assert_int_equal(r.payload_len, 40);
                char mid[4];
                assert_int_equal(rtp_header_get_mid(&r.h, 4, mid, sizeof(mid)), 0);
                assert_string_equal(mid, "1");
                assert_int_equal(k->rtp[i].twcc_offset, 0);
        }
        static const uint8_t bad[2] = {31 << 3 | 3, 0};
        assert_int_equal(rtp_sender_send_frame(s, 600000, 600000, bad, 2), -EINVAL);
        assert_int_equal(rtp_sender_send_frame(s, 600000, 600000, bad, 0), -EINVAL);
        sink_free(k);
        rtp_sender_free(s);
}

static void test_config_checks(void **state)
{
        (void)state;
        rtp_sender_free(NULL);
        struct rtp_sender_config cfg = vp8_config();
        cfg.cname = NULL;
        assert_null(rtp_sender_new(&cfg));
        cfg = vp8_config();
        cfg.mid = NULL;
        assert_null(rtp_sender_new(&cfg));
        cfg = vp8_config();
        cfg.twcc_ext_id = cfg.mid_ext_id;
        assert_null(rtp_sender_new(&cfg));
        cfg = vp8_config();
        cfg.codec = 0;
        assert_null(rtp_sender_new(&cfg));
        cfg = vp8_config();
        cfg.pt = 200;
        assert_null(rtp_sender_new(&cfg));
        cfg = vp8_config();
        cfg.packet_size = 40;
        assert_null(rtp_sender_new(&cfg));
        assert_null(rtp_sender_new(NULL));
        /* An explicit max payload is used as given. */
        cfg = vp8_config();
        cfg.max_payload = 504;
        struct rtp_sender *s = rtp_sender_new(&cfg);
        assert_int_equal(rtp_sender_max_payload(s), 504);
        struct sink *k = sink_new();
        send(s, 0, 0, 1000);
        drain(s, k, 0);
        assert_int_equal(k->n_rtp, 2);
        sink_free(k);
        rtp_sender_free(s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_packets_and_timestamps),
            cmocka_unit_test(test_sender_reports),
            cmocka_unit_test(test_nack_rtx),
            cmocka_unit_test(test_rtx_numbered_as_sent),
            cmocka_unit_test(test_outage_recovery),
            cmocka_unit_test(test_rtx_budget),
            cmocka_unit_test(test_nack_without_rtx),
            cmocka_unit_test(test_history_eviction),
            cmocka_unit_test(test_pli_fir),
            cmocka_unit_test(test_keyframe_request_repeats),
            cmocka_unit_test(test_pacer_spreads_keyframe),
            cmocka_unit_test(test_queue_bound),
            cmocka_unit_test(test_stop_bye),
            cmocka_unit_test(test_opus_toc),
            cmocka_unit_test(test_opus_timestamps),
            cmocka_unit_test(test_config_checks),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
