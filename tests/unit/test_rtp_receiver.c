#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"
#include "rtp/rtp_receiver.h"
#include "rtp/vp8.h"

#define SSRC            0x1234abcdu
#define RTX_SSRC        0x2222aaaau
#define LOCAL           0x5555bbbbu
#define PT              96
#define RTX_PT          97
#define OPUS_PT         111
#define T0              1000000ull /* virtual clock start */
#define TRANSIT         20000ull   /* one-way delay of the simulated path */
#define FRAME_US        40000ull   /* 25 fps: 3600 ticks at 90 kHz exactly */
#define FRAME_TS        3600u
#define AUDIO_US        20000ull
#define AUDIO_TS        960u
#define TOC_20MS        0x08 /* SILK narrowband 20 ms, one frame */
#define MAX_PAYLD       300
#define US_PER_SEC_TEST 1000000ull
/* 2023-ish, in NTP microseconds. */
#define NTP_BASE (3900000000ull * 1000000ull)

/* ---- packets ---- */

struct pkt {
        uint8_t *data;
        size_t len;
        uint16_t seq;
        uint32_t ts;
        size_t frame;
};

static struct pkt build(uint8_t pt, uint32_t ssrc, uint16_t seq, uint32_t ts, bool marker,
                        const void *a, size_t alen, const void *b, size_t blen)
{
        struct rtp_header h = {.pt = pt, .seq = seq, .ts = ts, .ssrc = ssrc, .marker = marker};
        struct buf out = BUF_INIT;
        assert_int_equal(rtp_build(&out, &h, NULL, 0, 0), 0);
        assert_int_equal(buf_append(&out, a, alen), 0);
        assert_int_equal(buf_append(&out, b, blen), 0);
        return (struct pkt){.data = out.data, .len = out.len, .seq = seq, .ts = ts};
}

/* RFC 4588: the same packet on the RTX SSRC and PT, its sequence number first in the payload. */
static struct pkt rtx_of(const struct pkt *p, uint16_t rtx_seq)
{
        struct rtp_packet r;
        assert_int_equal(rtp_parse(&r, p->data, p->len), 0);
        uint8_t osn[2] = {(uint8_t)(r.h.seq >> 8), (uint8_t)r.h.seq};
        return build(RTX_PT, RTX_SSRC, rtx_seq, r.h.ts, r.h.marker, osn, 2, r.payload,
                     r.payload_len);
}

/* An encoded-looking VP8 frame: a real frame header (RFC 6386 9.1), then salted filler. */
static uint8_t *make_frame(size_t len, bool key, uint8_t salt)
{
        uint8_t *f = malloc(len);
        for (size_t i = 0; i < len; i++)
                f[i] = (uint8_t)(i * 7 + 3 + salt * 31);
        uint32_t tag = 40u << 5 | 1u << 4 | (key ? 0 : 1);
        f[0] = (uint8_t)tag;
        f[1] = (uint8_t)(tag >> 8);
        f[2] = (uint8_t)(tag >> 16);
        if (key) {
                static const uint8_t rest[7] = {0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x41};
                memcpy(f + 3, rest, 7);
        }
        return f;
}

/* A VP8 sender: frames and their packets, kept for the assertions. */
struct vstream {
        struct vp8_packetizer pz;
        uint16_t seq;
        uint8_t *frame[64];
        size_t frame_len[64];
        bool key[64];
        uint32_t ts[64];
        size_t first_pkt[64], n_pkt[64];
        size_t n_frames;
        struct pkt pkts[2048];
        size_t n_pkts;
};

static struct vstream *vs_new(uint16_t first_seq)
{
        struct vstream *v = calloc(1, sizeof(*v));
        vp8_packetizer_init(&v->pz, 100);
        v->seq = first_seq;
        return v;
}

static void vs_free(struct vstream *v)
{
        for (size_t i = 0; i < v->n_frames; i++)
                free(v->frame[i]);
        for (size_t i = 0; i < v->n_pkts; i++)
                free(v->pkts[i].data);
        free(v);
}

/* Adds a frame and returns its index. */
static size_t vs_frame(struct vstream *v, size_t len, bool key, uint32_t ts)
{
        size_t f = v->n_frames++;
        v->frame[f] = make_frame(len, key, (uint8_t)f);
        v->frame_len[f] = len;
        v->key[f] = key;
        v->ts[f] = ts;
        struct vp8_fragment fr[64];
        size_t n;
        assert_int_equal(vp8_packetize(&v->pz, v->frame[f], len, MAX_PAYLD, fr, 64, &n), 0);
        v->first_pkt[f] = v->n_pkts;
        v->n_pkt[f] = n;
        for (size_t i = 0; i < n; i++) {
                struct pkt p = build(PT, SSRC, v->seq++, ts, fr[i].marker, fr[i].desc, VP8_DESC_LEN,
                                     v->frame[f] + fr[i].offset, fr[i].len);
                p.frame = f;
                v->pkts[v->n_pkts++] = p;
        }
        return f;
}

static struct pkt *vs_pkt(struct vstream *v, size_t frame, size_t i)
{
        return &v->pkts[v->first_pkt[frame] + i];
}

/* ---- what the receiver produced ---- */

struct frame_out {
        uint8_t *data;
        size_t len;
        uint32_t ts;
        bool key;
        uint64_t first_arrival, playout, at;
};

struct lost_out {
        uint32_t ts;
        uint64_t playout, at;
        uint32_t samples, skipped;
        uint8_t *fec;
        size_t fec_len;
};

struct rtcp_out {
        uint8_t *data;
        size_t len;
        uint64_t at;
};

struct sink {
        struct frame_out frames[512];
        size_t n_frames;
        struct lost_out lost[64];
        size_t n_lost;
        struct rtcp_out rtcp[256];
        size_t n_rtcp;
};

static void *dup_bytes(const void *p, size_t n)
{
        if (!p)
                return NULL;
        void *d = malloc(n ? n : 1);
        memcpy(d, p, n);
        return d;
}

static void sink_free(struct sink *k)
{
        for (size_t i = 0; i < k->n_frames; i++)
                free(k->frames[i].data);
        for (size_t i = 0; i < k->n_lost; i++)
                free(k->lost[i].fec);
        for (size_t i = 0; i < k->n_rtcp; i++)
                free(k->rtcp[i].data);
        free(k);
}

struct rx {
        struct rtp_receiver *r;
        struct sink *k;
        uint64_t now;
};

static void drain(struct rx *x)
{
        struct rtp_receiver_output o;
        struct sink *k = x->k;
        while (rtp_receiver_poll_output(x->r, &o) == 1) {
                switch (o.kind) {
                case RTP_RECEIVER_OUT_FRAME:
                        assert_true(k->n_frames < 512);
                        assert_non_null(o.data);
                        k->frames[k->n_frames++] =
                            (struct frame_out){.data = dup_bytes(o.data, o.len),
                                               .len = o.len,
                                               .ts = o.rtp_ts,
                                               .key = o.keyframe,
                                               .first_arrival = o.first_arrival_us,
                                               .playout = o.playout_us,
                                               .at = x->now};
                        /* Never before it is due. */
                        assert_true(x->now >= o.playout_us);
                        break;
                case RTP_RECEIVER_OUT_LOST:
                        assert_true(k->n_lost < 64);
                        k->lost[k->n_lost++] =
                            (struct lost_out){.ts = o.rtp_ts,
                                              .playout = o.playout_us,
                                              .at = x->now,
                                              .samples = o.samples,
                                              .skipped = o.frames_skipped,
                                              .fec = dup_bytes(o.fec_data, o.fec_len),
                                              .fec_len = o.fec_data ? o.fec_len : 0};
                        break;
                case RTP_RECEIVER_OUT_RTCP:
                        assert_true(k->n_rtcp < 256);
                        assert_int_equal(rtcp_validate(o.data, o.len), 0);
                        k->rtcp[k->n_rtcp++] = (struct rtcp_out){
                            .data = dup_bytes(o.data, o.len), .len = o.len, .at = x->now};
                        break;
                }
        }
}

static struct rx *rx_new(const struct rtp_receiver_config *cfg)
{
        struct rx *x = calloc(1, sizeof(*x));
        x->r = rtp_receiver_new(cfg);
        assert_non_null(x->r);
        x->k = calloc(1, sizeof(struct sink));
        x->now = T0;
        return x;
}

static void rx_free(struct rx *x)
{
        rtp_receiver_free(x->r);
        sink_free(x->k);
        free(x);
}

/* Runs the receiver's timers up to t (the caller's event loop, on a virtual clock). */
static void run_until(struct rx *x, uint64_t t)
{
        for (unsigned guard = 0;; guard++) {
                assert_true(guard < 100000);
                uint64_t d = rtp_receiver_next_deadline(x->r);
                if (d > t)
                        break;
                if (d > x->now)
                        x->now = d;
                rtp_receiver_handle_timeout(x->r, x->now);
                drain(x);
                /* Everything due was done: no busy loop. */
                assert_true(rtp_receiver_next_deadline(x->r) > x->now);
        }
        if (t > x->now)
                x->now = t;
}

static void feed_at(struct rx *x, uint64_t t, const struct pkt *p)
{
        run_until(x, t);
        assert_int_equal(rtp_receiver_handle_rtp(x->r, x->now, p->data, p->len), 0);
        drain(x);
}

/* Feedback in one compound RTCP packet we sent: an RR first, then NACK/PLI/FIR. */
struct fb {
        struct rtcp_report_block rb;
        size_t n_nack;
        uint16_t nack[64];
        unsigned pli, fir;
        uint8_t fir_seq;
};

static void parse_fb(const struct rtcp_out *o, struct fb *f)
{
        memset(f, 0, sizeof(*f));
        struct rtcp_iter it;
        struct rtcp_packet *p = malloc(sizeof(*p));
        assert_int_equal(rtcp_iter_init(&it, o->data, o->len), 0);
        assert_int_equal(rtcp_iter_next(&it, p), 1);
        assert_int_equal(p->kind, RTCP_KIND_RR);
        assert_int_equal(p->u.rr.ssrc, LOCAL);
        assert_int_equal(p->u.rr.rb_count, 1);
        f->rb = p->u.rr.rb[0];
        assert_int_equal(f->rb.ssrc, SSRC);
        while (rtcp_iter_next(&it, p) == 1) {
                switch (p->kind) {
                case RTCP_KIND_NACK:
                        assert_int_equal(p->u.nack.sender_ssrc, LOCAL);
                        assert_int_equal(p->u.nack.media_ssrc, SSRC);
                        f->n_nack +=
                            rtcp_nack_lost(&p->u.nack, f->nack + f->n_nack, 64 - f->n_nack);
                        break;
                case RTCP_KIND_PLI:
                        assert_int_equal(p->u.pli.sender_ssrc, LOCAL);
                        assert_int_equal(p->u.pli.media_ssrc, SSRC);
                        f->pli++;
                        break;
                case RTCP_KIND_FIR: {
                        struct rtcp_fir_entry e;
                        assert_int_equal(p->u.fir.count, 1);
                        rtcp_fir_get(&p->u.fir, 0, &e);
                        assert_int_equal(e.ssrc, SSRC);
                        f->fir++;
                        f->fir_seq = e.seq;
                        break;
                }
                default:
                        fail_msg("unexpected RTCP kind %d", (int)p->kind);
                }
        }
        free(p);
}

static struct rtp_receiver_config video_cfg(void)
{
        return (struct rtp_receiver_config){.codec = RTP_RECEIVER_CODEC_VP8,
                                            .pt = PT,
                                            .rtx_pt = RTX_PT,
                                            .rtx_ssrc = RTX_SSRC,
                                            .local_ssrc = LOCAL,
                                            .nack = true,
                                            .pli = true,
                                            .fir = true};
}

static struct rtp_receiver_config audio_cfg(void)
{
        return (struct rtp_receiver_config){.codec = RTP_RECEIVER_CODEC_OPUS,
                                            .pt = OPUS_PT,
                                            .ssrc = SSRC,
                                            .local_ssrc = LOCAL,
                                            .nack = true /* ignored for audio */};
}

static void assert_frame(const struct frame_out *o, const struct vstream *v, size_t f)
{
        assert_int_equal(o->ts, v->ts[f]);
        assert_int_equal(o->len, v->frame_len[f]);
        assert_memory_equal(o->data, v->frame[f], v->frame_len[f]);
        assert_int_equal(o->key, v->key[f]);
}

static uint64_t lcg(uint64_t *s)
{
        *s = *s * 6364136223846793005ull + 1442695040888963407ull;
        return *s >> 33;
}

/* ---- 1. in-order video ---- */

static void test_video_in_order(void **state)
{
        (void)state;
        struct rtp_receiver_config cfg = video_cfg();
        struct rx *x = rx_new(&cfg);
        assert_int_equal(rtp_receiver_ssrc(x->r), 0);
        assert_true(rtp_receiver_next_deadline(x->r) == UINT64_MAX);
        struct vstream *v = vs_new(65530); /* the sequence numbers wrap during the test */
        for (size_t f = 0; f < 10; f++)
                vs_frame(v, f == 0 ? 1400 : 500 + f * 30, f == 0 || f == 6, 7000 + f * FRAME_TS);
        for (size_t i = 0; i < v->n_pkts; i++)
                feed_at(x, T0 + TRANSIT + v->pkts[i].frame * FRAME_US, &v->pkts[i]);
        run_until(x, T0 + 2 * US_PER_SEC_TEST);
        assert_int_equal(rtp_receiver_ssrc(x->r), SSRC);
        assert_int_equal(x->k->n_frames, 10);
        assert_int_equal(x->k->n_lost, 0);
        for (size_t f = 0; f < 10; f++) {
                const struct frame_out *o = &x->k->frames[f];
                assert_frame(o, v, f);
                uint64_t arrival = T0 + TRANSIT + f * FRAME_US;
                assert_true(o->first_arrival == arrival);
                /* Steady path: no jitter, so the minimum delay of 10 ms. */
                assert_true(o->playout == arrival + RTP_RECEIVER_VIDEO_MIN_DELAY_US);
                assert_true(o->at == o->playout);
        }
        struct rtp_receiver_stats st;
        rtp_receiver_get_stats(x->r, &st);
        assert_int_equal(st.ssrc, SSRC);
        assert_int_equal(st.packets_received, v->n_pkts);
        assert_int_equal(st.packets_lost, 0);
        assert_int_equal(st.frames_received, 10);
        assert_int_equal(st.keyframes_received, 2);
        assert_int_equal(st.frames_dropped, 0);
        assert_int_equal(st.nack_count, 0);
        assert_int_equal(st.pli_count, 0);
        assert_int_equal(st.jitter_buffer_emitted_count, 10);
        assert_true(st.jitter_buffer_delay_s > 0.0999 && st.jitter_buffer_delay_s < 0.1001);
        assert_true(st.jitter_s == 0.0);
        assert_int_equal(st.target_delay_us, RTP_RECEIVER_VIDEO_MIN_DELAY_US);
        size_t bytes = 0;
        for (size_t f = 0; f < 10; f++)
                bytes += v->frame_len[f];
        assert_int_equal(st.bytes_received, bytes + v->n_pkts * VP8_DESC_LEN);
        assert_int_equal(st.header_bytes_received, v->n_pkts * 12);
        /* Only regular receiver reports went out: one a second since the first packet. */
        assert_int_equal(x->k->n_rtcp, 1);
        assert_true(x->k->rtcp[0].at == T0 + TRANSIT + 1000000);
        struct fb f;
        parse_fb(&x->k->rtcp[0], &f);
        assert_int_equal(f.rb.fraction_lost, 0);
        assert_int_equal(f.rb.cumulative_lost, 0);
        /* 65530 + packets - 1, one wrap: cycles in the upper half. */
        assert_int_equal(f.rb.ext_highest_seq, 65530 + v->n_pkts - 1);
        assert_true(f.rb.ext_highest_seq > 0xffff);
        vs_free(v);
        rx_free(x);
}

/* ---- 2. reordering, duplication, jitter ---- */

struct event {
        uint64_t at;
        size_t pkt;
};

static int event_cmp(const void *a, const void *b)
{
        const struct event *x = a, *y = b;
        if (x->at != y->at)
                return x->at < y->at ? -1 : 1;
        return x->pkt < y->pkt ? -1 : x->pkt > y->pkt;
}

static void test_video_reorder_duplicates(void **state)
{
        (void)state;
        struct rtp_receiver_config cfg = video_cfg();
        cfg.nack = false;
        cfg.min_delay_us = 50000;
        struct rx *x = rx_new(&cfg);
        struct vstream *v = vs_new(1000);
        for (size_t f = 0; f < 30; f++)
                vs_frame(v, 1500, f == 0, f * FRAME_TS);
        struct event *ev = calloc(2 * v->n_pkts, sizeof(*ev));
        size_t n = 0, dups = 0;
        uint64_t seed = 42;
        for (size_t i = 0; i < v->n_pkts; i++) {
                size_t f = v->pkts[i].frame;
                size_t k = i - v->first_pkt[f];
                /* Packets 1 ms apart, 0..8 ms of jitter each: they overtake each other. */
                uint64_t at = T0 + TRANSIT + f * FRAME_US + k * 1000 + lcg(&seed) % 8000;
                ev[n++] = (struct event){at, i};
                if (lcg(&seed) % 10 == 0) {
                        ev[n++] = (struct event){at + 3000 + lcg(&seed) % 60000, i};
                        dups++;
                }
        }
        qsort(ev, n, sizeof(*ev), event_cmp);
        for (size_t i = 0; i < n; i++)
                feed_at(x, ev[i].at, &v->pkts[ev[i].pkt]);
        run_until(x, T0 + 3 * US_PER_SEC_TEST);
        assert_true(dups > 5);
        assert_int_equal(x->k->n_frames, 30);
        assert_int_equal(x->k->n_lost, 0);
        for (size_t f = 0; f < 30; f++)
                assert_frame(&x->k->frames[f], v, f);
        for (size_t f = 1; f < 30; f++)
                assert_true(x->k->frames[f].at >= x->k->frames[f - 1].at);
        struct rtp_receiver_stats st;
        rtp_receiver_get_stats(x->r, &st);
        assert_int_equal(st.packets_duplicated, dups);
        assert_int_equal(st.packets_received, v->n_pkts);
        assert_int_equal(st.packets_lost, 0);
        assert_int_equal(st.frames_dropped, 0);
        assert_true(st.jitter_s > 0);
        free(ev);
        vs_free(v);
        rx_free(x);
}

/* ---- 3. loss recovered by NACK and RTX ---- */

static void test_nack_rtx_recovery(void **state)
{
        (void)state;
        struct rtp_receiver_config cfg = video_cfg();
        cfg.ssrc = SSRC;
        struct rx *x = rx_new(&cfg);
        rtp_receiver_set_rtt(x->r, 50000);
        struct vstream *v = vs_new(2000);
        for (size_t f = 0; f < 4; f++)
                vs_frame(v, 1500, f == 0, f * FRAME_TS);
        assert_true(v->n_pkt[1] >= 5);
        struct pkt *lost = vs_pkt(v, 1, 2);
        uint64_t t1 = T0 + TRANSIT + FRAME_US; /* frame 1 arrives */
        for (size_t i = 0; i < v->n_pkts; i++) {
                if (&v->pkts[i] == lost || v->pkts[i].frame > 1)
                        continue;
                feed_at(x, T0 + TRANSIT + v->pkts[i].frame * FRAME_US, &v->pkts[i]);
                if (v->pkts[i].seq == lost->seq + 1)
                        assert_int_equal(x->k->n_rtcp, 0); /* one later packet: maybe reordered */
        }
        /* Two later packets arrived with frame 1: the NACK went out at once, naming only it. */
        assert_int_equal(x->k->n_rtcp, 1);
        assert_true(x->k->rtcp[0].at == t1);
        struct fb f;
        parse_fb(&x->k->rtcp[0], &f);
        assert_int_equal(f.n_nack, 1);
        assert_int_equal(f.nack[0], lost->seq);
        assert_int_equal(f.pli, 0);
        /* Loss with NACK: the target makes room for a retransmission (1.5 RTT). */
        struct rtp_receiver_stats st;
        rtp_receiver_get_stats(x->r, &st);
        assert_int_equal(st.target_delay_us, 75000);

        for (size_t i = 0; i < v->n_pkt[2]; i++)
                feed_at(x, t1 + FRAME_US, vs_pkt(v, 2, i));
        /* No answer: the retry comes one RTT + 5 ms later, not before. */
        run_until(x, t1 + 54999);
        assert_int_equal(x->k->n_rtcp, 1);
        run_until(x, t1 + 55000);
        assert_int_equal(x->k->n_rtcp, 2);
        assert_true(x->k->rtcp[1].at == t1 + 55000);
        parse_fb(&x->k->rtcp[1], &f);
        assert_int_equal(f.n_nack, 1);
        assert_int_equal(f.nack[0], lost->seq);
        /* Frame 0 played; frame 1 waits, and frame 2 (complete) waits behind it. */
        assert_int_equal(x->k->n_frames, 1);

        struct pkt rtx = rtx_of(lost, 777);
        feed_at(x, t1 + 70000, &rtx);
        /* Complete, and due at its arrival plus the 75 ms target. */
        run_until(x, t1 + 74999);
        assert_int_equal(x->k->n_frames, 1);
        run_until(x, t1 + 75000);
        assert_int_equal(x->k->n_frames, 2);
        assert_frame(&x->k->frames[1], v, 1);
        assert_true(x->k->frames[1].at == t1 + 75000);
        for (size_t i = 0; i < v->n_pkt[3]; i++)
                feed_at(x, t1 + 2 * FRAME_US, vs_pkt(v, 3, i));
        run_until(x, t1 + FRAME_US + 74999);
        assert_int_equal(x->k->n_frames, 2);
        run_until(x, t1 + FRAME_US + 75000);
        assert_int_equal(x->k->n_frames, 3);
        assert_frame(&x->k->frames[2], v, 2);
        /* A late duplicate of the recovered packet changes nothing. */
        feed_at(x, t1 + 200000, lost);
        run_until(x, t1 + 3 * US_PER_SEC_TEST);
        assert_int_equal(x->k->n_frames, 4);
        assert_frame(&x->k->frames[3], v, 3);
        assert_int_equal(x->k->n_lost, 0);
        /* After the recovery only regular RRs: no more NACKs. */
        for (size_t i = 2; i < x->k->n_rtcp; i++) {
                parse_fb(&x->k->rtcp[i], &f);
                assert_int_equal(f.n_nack, 0);
        }
        rtp_receiver_get_stats(x->r, &st);
        assert_int_equal(st.nack_count, 2);
        assert_int_equal(st.nack_requested, 2);
        assert_int_equal(st.retransmitted_packets_received, 1);
        assert_int_equal(st.packets_received, v->n_pkts);
        assert_int_equal(st.packets_duplicated, 1);
        assert_int_equal(st.packets_lost, 0);
        assert_int_equal(st.frames_received, 4);
        /* Two seconds without loss: back to the minimum. */
        assert_int_equal(st.target_delay_us, RTP_RECEIVER_VIDEO_MIN_DELAY_US);
        free(rtx.data);
        vs_free(v);
        rx_free(x);
}

/* ---- 4. unrecoverable gap ---- */

static void test_unrecoverable_gap(void **state)
{
        (void)state;
        struct rtp_receiver_config cfg = video_cfg();
        struct rx *x = rx_new(&cfg);
        rtp_receiver_set_rtt(x->r, 50000);
        struct vstream *v = vs_new(100);
        for (size_t f = 0; f < 5; f++)
                vs_frame(v, 1200, f == 0, f * FRAME_TS);
        struct pkt *lost = vs_pkt(v, 1, 1);
        uint64_t t1 = T0 + TRANSIT + FRAME_US;
        for (size_t i = 0; i < v->n_pkts; i++)
                if (&v->pkts[i] != lost)
                        feed_at(x, T0 + TRANSIT + v->pkts[i].frame * FRAME_US, &v->pkts[i]);
        run_until(x, t1 + 2 * US_PER_SEC_TEST);
        assert_int_equal(x->k->n_frames, 1); /* only the key frame before the gap */
        /* NACKs RTT + 5 ms apart, the wait doubling after each (55, 110, 220, 440 ms), until
         * the frame is given up at its cap (map + 1 s): five of them. */
        static const uint64_t nack_at[] = {0, 55000, 165000, 385000, 825000};
        size_t nacks = 0, plis = 0;
        uint64_t pli_at[8];
        for (size_t i = 0; i < x->k->n_rtcp; i++) {
                struct fb f;
                parse_fb(&x->k->rtcp[i], &f);
                if (f.n_nack) {
                        assert_int_equal(f.n_nack, 1);
                        assert_int_equal(f.nack[0], lost->seq);
                        assert_true(nacks < 5);
                        assert_true(x->k->rtcp[i].at == t1 + nack_at[nacks]);
                        nacks++;
                }
                if (f.pli) {
                        assert_true(plis < 8);
                        pli_at[plis++] = x->k->rtcp[i].at;
                }
                assert_int_equal(f.fir, 0); /* PLI preferred */
        }
        assert_int_equal(nacks, 5);
        uint64_t gave_up = t1 + RTP_RECEIVER_VIDEO_MAX_DELAY_US;
        assert_int_equal(x->k->n_lost, 1);
        assert_true(x->k->lost[0].at == gave_up);
        assert_int_equal(x->k->lost[0].ts, v->ts[1]);
        assert_int_equal(x->k->lost[0].skipped, 4); /* frame 1 and the three after it */
        /* A PLI then, and again every 200 ms while no key frame comes. */
        assert_true(plis >= 5);
        for (size_t i = 0; i < plis; i++)
                assert_true(pli_at[i] == gave_up + i * RTP_RECEIVER_KEYFRAME_REPEAT_US);

        /* The key frame the PLI asked for: played at once (long overdue), then no more PLIs. */
        uint64_t tk = x->now + 10000;
        size_t kf = vs_frame(v, 2000, true, (uint32_t)((tk - T0 - TRANSIT) * 9 / 100));
        size_t inter = vs_frame(v, 800, false, v->ts[kf] + FRAME_TS);
        for (size_t i = 0; i < v->n_pkt[kf]; i++)
                feed_at(x, tk, vs_pkt(v, kf, i));
        for (size_t i = 0; i < v->n_pkt[inter]; i++)
                feed_at(x, tk + FRAME_US, vs_pkt(v, inter, i));
        size_t rtcp_before = x->k->n_rtcp;
        run_until(x, tk + 2 * US_PER_SEC_TEST);
        assert_int_equal(x->k->n_frames, 3);
        assert_frame(&x->k->frames[1], v, kf);
        assert_frame(&x->k->frames[2], v, inter);
        for (size_t i = rtcp_before; i < x->k->n_rtcp; i++) {
                struct fb f;
                parse_fb(&x->k->rtcp[i], &f);
                assert_int_equal(f.pli + f.n_nack, 0);
        }
        struct rtp_receiver_stats st;
        rtp_receiver_get_stats(x->r, &st);
        assert_int_equal(st.frames_dropped, 4);
        assert_int_equal(st.pli_count, plis);
        assert_int_equal(st.nack_count, 5);
        assert_int_equal(st.nack_requested, 5);
        assert_int_equal(st.packets_lost, 1);
        assert_int_equal(st.keyframes_received, 2);
        vs_free(v);
        rx_free(x);
}

/*
 * Frames wait for their retransmissions, but a complete key frame arrives behind them (a sender
 * that got a PLI sends one, and ignores NACKs for what came before it): the key frame plays at
 * its due time, the frames before it are given up then, no PLI is sent and the NACKs stop.
 */
static void test_complete_keyframe_ends_wait(void **state)
{
        (void)state;
        struct rtp_receiver_config cfg = video_cfg();
        struct rx *x = rx_new(&cfg);
        rtp_receiver_set_rtt(x->r, 50000);
        struct vstream *v = vs_new(100);
        vs_frame(v, 1200, true, 0);
        vs_frame(v, 1200, false, FRAME_TS);
        vs_frame(v, 1200, false, 2 * FRAME_TS);
        vs_frame(v, 1200, true, 3 * FRAME_TS);
        vs_frame(v, 800, false, 4 * FRAME_TS);
        const struct pkt *lost1 = vs_pkt(v, 1, 1), *lost2 = vs_pkt(v, 2, 0);
        for (size_t i = 0; i < v->n_pkts; i++)
                if (&v->pkts[i] != lost1 && &v->pkts[i] != lost2)
                        feed_at(x, T0 + TRANSIT + v->pkts[i].frame * FRAME_US, &v->pkts[i]);
        run_until(x, T0 + TRANSIT + 8 * FRAME_US);
        assert_int_equal(x->k->n_frames, 3);
        assert_frame(&x->k->frames[0], v, 0);
        assert_frame(&x->k->frames[1], v, 3);
        assert_frame(&x->k->frames[2], v, 4);
        /* Played when due, not after the NACKs' tries or the 1 s cap. */
        assert_true(x->k->frames[1].at == x->k->frames[1].playout);
        assert_int_equal(x->k->n_lost, 1);
        assert_int_equal(x->k->lost[0].ts, v->ts[1]);
        assert_int_equal(x->k->lost[0].skipped, 2);
        size_t rtcp_before = x->k->n_rtcp;
        run_until(x, T0 + 2 * US_PER_SEC_TEST);
        size_t nacks = 0;
        for (size_t i = 0; i < x->k->n_rtcp; i++) {
                struct fb f;
                parse_fb(&x->k->rtcp[i], &f);
                assert_int_equal(f.pli + f.fir, 0);
                nacks += f.n_nack;
                if (i >= rtcp_before)
                        assert_int_equal(f.n_nack, 0);
        }
        assert_true(nacks >= 2 && nacks <= 6);
        vs_free(v);
        rx_free(x);
}

/*
 * A queue builds up on the path (the frames come 150 ms later than the first ones) while the
 * RTT we know is the empty path's 10 ms: a lost packet is asked for again only once the answer,
 * which waits in that queue too, could have come (RTT + 150 ms + 5 ms), not every 15 ms.
 */
static void test_nack_waits_for_queue(void **state)
{
        (void)state;
        struct rtp_receiver_config cfg = video_cfg();
        struct rx *x = rx_new(&cfg);
        rtp_receiver_set_rtt(x->r, 10000);
        struct vstream *v = vs_new(100);
        for (size_t f = 0; f < 12; f++)
                vs_frame(v, 1200, f == 0, (uint32_t)(f * FRAME_TS));
        const struct pkt *lost = vs_pkt(v, 10, 1);
        for (size_t i = 0; i < v->n_pkts; i++) {
                size_t f = v->pkts[i].frame;
                /* From frame 5 on, 30 ms more queueing a frame, up to 150 ms. */
                uint64_t q = f < 5 ? 0 : (f - 4) * 30000 > 150000 ? 150000 : (f - 4) * 30000;
                if (&v->pkts[i] != lost)
                        feed_at(x, T0 + TRANSIT + f * FRAME_US + q, &v->pkts[i]);
        }
        run_until(x, T0 + 2 * US_PER_SEC_TEST);
        uint64_t at[4] = {0};
        size_t n = 0;
        for (size_t i = 0; i < x->k->n_rtcp && n < 4; i++) {
                struct fb f;
                parse_fb(&x->k->rtcp[i], &f);
                if (f.n_nack) {
                        assert_int_equal(f.nack[0], lost->seq);
                        at[n++] = x->k->rtcp[i].at;
                }
        }
        assert_true(n >= 2);
        assert_true(at[1] - at[0] >= 10000 + 150000 + 5000);
        if (n >= 3)
                assert_true(at[2] - at[1] >= 2 * (10000 + 150000));
        vs_free(v);
        rx_free(x);
}

/* Without NACK a gap is given up at the frame's due time. */
static void test_gap_without_nack(void **state)
{
        (void)state;
        struct rtp_receiver_config cfg = video_cfg();
        cfg.nack = false;
        cfg.pli = false; /* FIR only */
        struct rx *x = rx_new(&cfg);
        rtp_receiver_set_rtt(x->r, 300000); /* repeats then follow the RTT */
        struct vstream *v = vs_new(100);
        for (size_t f = 0; f < 3; f++)
                vs_frame(v, 1200, f == 0, f * FRAME_TS);
        struct pkt *lost = vs_pkt(v, 1, v->n_pkt[1] - 1); /* the marker packet */
        for (size_t i = 0; i < v->n_pkts; i++)
                if (&v->pkts[i] != lost)
                        feed_at(x, T0 + TRANSIT + v->pkts[i].frame * FRAME_US, &v->pkts[i]);
        run_until(x, T0 + 800000);
        assert_int_equal(x->k->n_frames, 1);
        assert_int_equal(x->k->n_lost, 1);
        /* Frame 1 was due 10 ms after its arrival (no jitter), but until frame 2 came it looked
         * like a paced frame still arriving. Frame 2's first packet shows the hole: frame 1,
         * overdue, is given up then, alone (frame 2 is dropped later, undecodable). */
        uint64_t t2 = T0 + TRANSIT + FRAME_US + 10000;
        uint64_t gave_up = T0 + TRANSIT + 2 * FRAME_US;
        assert_true(x->k->lost[0].at == gave_up);
        assert_true(x->k->lost[0].playout == t2);
        assert_int_equal(x->k->lost[0].skipped, 1);
        /* FIR at once, repeated after max(RTT, 200 ms) with a new sequence number. */
        size_t firs = 0;
        for (size_t i = 0; i < x->k->n_rtcp; i++) {
                struct fb f;
                parse_fb(&x->k->rtcp[i], &f);
                assert_int_equal(f.pli + f.n_nack, 0);
                if (f.fir) {
                        assert_true(x->k->rtcp[i].at == gave_up + firs * 300000);
                        assert_int_equal(f.fir_seq, firs);
                        firs++;
                }
        }
        assert_int_equal(firs, 3);
        /* The late marker packet: too late to play. */
        feed_at(x, T0 + 810000, lost);
        struct rtp_receiver_stats st;
        rtp_receiver_get_stats(x->r, &st);
        assert_int_equal(st.packets_discarded, 1);
        assert_int_equal(st.frames_dropped, 2);
        assert_int_equal(st.fir_count, 3);
        assert_int_equal(st.nack_count, 0);
        vs_free(v);
        rx_free(x);
}

/* Key frame requests at the start and from the decoder. */
static void test_keyframe_requests(void **state)
{
        (void)state;
        struct rtp_receiver_config cfg = video_cfg();
        struct rx *x = rx_new(&cfg);
        struct vstream *v = vs_new(5);
        for (size_t f = 0; f < 5; f++)
                vs_frame(v, 600, false, f * FRAME_TS); /* joined mid-stream: no key frame */
        for (size_t i = 0; i < v->n_pkts; i++)
                feed_at(x, T0 + TRANSIT + v->pkts[i].frame * FRAME_US, &v->pkts[i]);
        run_until(x, T0 + TRANSIT + 199999);
        assert_int_equal(x->k->n_rtcp, 0);
        run_until(x, T0 + TRANSIT + 200000);
        assert_int_equal(x->k->n_rtcp, 1);
        struct fb f;
        parse_fb(&x->k->rtcp[0], &f);
        assert_int_equal(f.pli, 1);
        assert_int_equal(x->k->n_frames, 0);
        assert_int_equal(x->k->n_lost, 0); /* nothing was given up: nothing had started */
        size_t kf = vs_frame(v, 900, true, 9 * FRAME_TS);
        for (size_t i = 0; i < v->n_pkt[kf]; i++)
                feed_at(x, T0 + TRANSIT + 9 * FRAME_US, vs_pkt(v, kf, i));
        run_until(x, T0 + 600000);
        assert_int_equal(x->k->n_frames, 1);
        assert_frame(&x->k->frames[0], v, kf);
        assert_int_equal(x->k->n_rtcp, 1); /* the key frame stopped the repeats */

        /* The decoder asks: at once, then every 200 ms until a key frame starts. */
        rtp_receiver_request_keyframe(x->r, x->now);
        drain(x);
        assert_int_equal(x->k->n_rtcp, 2);
        assert_true(x->k->rtcp[1].at == T0 + 600000);
        rtp_receiver_request_keyframe(x->r, x->now + 1000); /* throttled */
        drain(x);
        assert_int_equal(x->k->n_rtcp, 2);
        run_until(x, T0 + 800000);
        assert_int_equal(x->k->n_rtcp, 3);
        assert_true(x->k->rtcp[2].at == T0 + 800000);
        /* Only the first packet of a key frame: the repeats stop... */
        kf = vs_frame(v, 900, true, 21 * FRAME_TS);
        feed_at(x, T0 + 850000, vs_pkt(v, kf, 0));
        run_until(x, T0 + 999999);
        assert_int_equal(x->k->n_rtcp, 3);
        /* ...but the key frame never completes. Nothing shows a loss (the sender stopped in its
         * middle), so it is waited for up to map(ts) + max_delay (it came 10 ms early: the map
         * moved to it), then given up and asked for again. */
        run_until(x, T0 + 1849999);
        assert_int_equal(x->k->n_rtcp, 4);
        parse_fb(&x->k->rtcp[3], &f); /* the regular RR, a second after the first packet */
        assert_true(x->k->rtcp[3].at == T0 + TRANSIT + 1000000);
        assert_int_equal(f.pli, 0);
        run_until(x, T0 + 1850000);
        assert_int_equal(x->k->n_rtcp, 5);
        parse_fb(&x->k->rtcp[4], &f);
        assert_int_equal(f.pli, 1);
        assert_int_equal(x->k->n_frames, 1);
        struct rtp_receiver_stats st;
        rtp_receiver_get_stats(x->r, &st);
        assert_int_equal(st.pli_count, 4);
        /* Five undecodable before the first key frame, and the broken key frame. */
        assert_int_equal(st.frames_dropped, 6);
        vs_free(v);
        rx_free(x);
}

/* ---- 5. audio ---- */

static struct pkt opus_pkt(uint16_t seq, uint32_t ts, uint8_t salt)
{
        uint8_t payload[40];
        payload[0] = TOC_20MS;
        for (size_t i = 1; i < sizeof(payload); i++)
                payload[i] = (uint8_t)(salt + i);
        return build(OPUS_PT, SSRC, seq, ts, false, payload, sizeof(payload), NULL, 0);
}

static void assert_opus_frame(const struct frame_out *o, uint32_t ts, uint8_t salt)
{
        assert_int_equal(o->ts, ts);
        assert_int_equal(o->len, 40);
        assert_int_equal(o->data[0], TOC_20MS);
        assert_int_equal(o->data[1], (uint8_t)(salt + 1));
}

static void test_audio_loss_fec_late_dtx(void **state)
{
        (void)state;
        struct rtp_receiver_config cfg = audio_cfg();
        struct rx *x = rx_new(&cfg);
        struct pkt p[20];
        uint32_t ts0 = 0xfffff000; /* the timestamp wraps too */
        for (unsigned i = 0; i < 20; i++) {
                /* DTX after packet 12: the next one is a second later, still seq+1. */
                uint32_t ts = ts0 + i * AUDIO_TS + (i >= 13 ? 48000 : 0);
                p[i] = opus_pkt((uint16_t)(500 + i), ts, (uint8_t)i);
        }
        for (unsigned i = 0; i < 20; i++) {
                if (i == 5)
                        continue;
                uint64_t at = T0 + TRANSIT + i * AUDIO_US + (i >= 13 ? 1000000 : 0);
                feed_at(x, at, &p[i]);
                if (i == 9)
                        feed_at(x, at, &p[5]); /* long after its slot */
        }
        run_until(x, T0 + 3 * US_PER_SEC_TEST);
        assert_int_equal(x->k->n_frames, 19);
        assert_int_equal(x->k->n_lost, 1);
        const struct lost_out *l = &x->k->lost[0];
        /* Due 20 ms (the minimum) after it would have arrived, i.e. when packet 6 came. */
        uint64_t t6 = T0 + TRANSIT + 6 * AUDIO_US;
        assert_true(l->at == t6);
        assert_true(l->playout == T0 + TRANSIT + 5 * AUDIO_US + 20000);
        assert_int_equal(l->ts, ts0 + 5 * AUDIO_TS);
        assert_int_equal(l->samples, 960);
        assert_non_null(l->fec);
        assert_int_equal(l->fec_len, 40);
        assert_int_equal(l->fec[1], (uint8_t)(6 + 1)); /* packet 6, for in-band FEC */
        size_t fi = 0;
        for (unsigned i = 0; i < 20; i++) {
                if (i == 5)
                        continue;
                const struct frame_out *o = &x->k->frames[fi++];
                assert_opus_frame(o, p[i].ts, (uint8_t)i);
                uint64_t at = T0 + TRANSIT + i * AUDIO_US + (i >= 13 ? 1000000 : 0);
                assert_true(o->first_arrival == at);
                assert_true(o->at == at + 20000);
        }
        struct rtp_receiver_stats st;
        rtp_receiver_get_stats(x->r, &st);
        assert_int_equal(st.packets_received, 20);
        assert_int_equal(st.packets_discarded, 1);
        assert_int_equal(st.concealed_packets, 1);
        assert_int_equal(st.packets_lost, 0); /* it did arrive, just too late */
        assert_int_equal(st.frames_received, 19);
        assert_int_equal(st.nack_count, 0);
        for (size_t i = 0; i < x->k->n_rtcp; i++) {
                struct fb f;
                parse_fb(&x->k->rtcp[i], &f);
                assert_int_equal(f.n_nack + f.pli + f.fir, 0); /* audio: reports only */
        }
        for (unsigned i = 0; i < 20; i++)
                free(p[i].data);
        rx_free(x);
}

/* Two packets lost in a row, the second without a successor yet: concealed in order. */
static void test_audio_burst_loss(void **state)
{
        (void)state;
        struct rtp_receiver_config cfg = audio_cfg();
        struct rx *x = rx_new(&cfg);
        struct pkt p[6];
        for (unsigned i = 0; i < 6; i++)
                p[i] = opus_pkt((uint16_t)(65534 + i), 1000 + i * AUDIO_TS, (uint8_t)i);
        feed_at(x, T0, &p[0]);
        feed_at(x, T0 + 20000, &p[1]);
        feed_at(x, T0 + 80000, &p[4]);
        feed_at(x, T0 + 100000, &p[5]);
        run_until(x, T0 + 200000);
        assert_int_equal(x->k->n_frames, 4);
        assert_int_equal(x->k->n_lost, 2);
        /* Each missing packet is concealed at its own slot (or as soon as its loss shows). */
        assert_int_equal(x->k->lost[0].ts, 1000 + 2 * AUDIO_TS);
        assert_int_equal(x->k->lost[1].ts, 1000 + 3 * AUDIO_TS);
        assert_true(x->k->lost[0].at == T0 + 80000);
        assert_true(x->k->lost[1].at == T0 + 80000);
        assert_null(x->k->lost[0].fec);
        assert_int_equal(x->k->lost[1].fec_len, 40);
        assert_true(x->k->frames[2].at == T0 + 100000);
        for (unsigned i = 0; i < 6; i++)
                free(p[i].data);
        rx_free(x);
}

/* ---- 6. receiver reports ---- */

static void test_receiver_reports(void **state)
{
        (void)state;
        struct rtp_receiver_config cfg = audio_cfg();
        struct rx *x = rx_new(&cfg);
        const uint32_t X = 192; /* 4 ms at 48 kHz */
        uint16_t first = 65530;
        int64_t jq4 = 0; /* RFC 3550 A.8 reference computation */
        unsigned got = 0;
        int64_t prev_off = 0;
        for (unsigned i = 0; i < 50; i++) {
                struct pkt p = opus_pkt((uint16_t)(first + i), 5000 + i * AUDIO_TS, 1);
                /* Transit alternates between 20 ms and 24 ms. */
                uint64_t at = T0 + TRANSIT + i * AUDIO_US + (i % 2 ? 4000 : 0);
                if (i != 10 && i != 20) {
                        feed_at(x, at, &p);
                        int64_t off = i % 2 ? X : 0;
                        int64_t d = off > prev_off ? off - prev_off : prev_off - off;
                        if (got++ > 0)
                                jq4 += d - ((jq4 + 8) >> 4);
                        prev_off = off;
                }
                free(p.data);
        }
        /* Each packet moved the transit by X, except 11 and 21 (compared with 9 and 19). */
        run_until(x, T0 + TRANSIT + 1000000);
        assert_int_equal(x->k->n_rtcp, 1);
        assert_true(x->k->rtcp[0].at == T0 + TRANSIT + 1000000);
        struct fb f;
        parse_fb(&x->k->rtcp[0], &f);
        assert_int_equal(f.rb.ext_highest_seq, (uint32_t)first + 49);
        assert_int_equal(f.rb.cumulative_lost, 2);
        assert_int_equal(f.rb.fraction_lost, 2 * 256 / 50);
        assert_int_equal(f.rb.lsr, 0);
        assert_int_equal(f.rb.dlsr, 0);
        assert_int_equal(f.rb.jitter, (uint32_t)(jq4 >> 4));
        /* Close to X (1 - (15/16)^n), the closed form without the two zero steps. */
        assert_true(f.rb.jitter >= 175 && f.rb.jitter < X);

        /* An SR, then a late packet (received after all), then the next report. */
        struct rtcp_sr sr = {
            .ssrc = SSRC, .ntp = rtcp_ntp_from_us(NTP_BASE + 123456789), .rtp_ts = 77};
        struct buf b = BUF_INIT;
        assert_int_equal(rtcp_build_sr(&b, &sr), 0);
        assert_int_equal(rtp_receiver_handle_rtcp(x->r, T0 + 1200000, b.data, b.len), 0);
        buf_free(&b);
        struct pkt late = opus_pkt((uint16_t)(first + 10), 5000 + 10 * AUDIO_TS, 1);
        feed_at(x, T0 + 1300000, &late);
        free(late.data);
        run_until(x, T0 + TRANSIT + 2000000);
        assert_int_equal(x->k->n_rtcp, 2);
        parse_fb(&x->k->rtcp[1], &f);
        assert_int_equal(f.rb.cumulative_lost, 1);
        /* One more received than expected in this interval: no loss to report. */
        assert_int_equal(f.rb.fraction_lost, 0);
        assert_int_equal(f.rb.lsr, rtcp_ntp_mid32(sr.ntp));
        /* 0.82 s since the SR, in 1/65536 s. */
        assert_int_equal(f.rb.dlsr, 820000ull * 65536 / 1000000);
        struct rtp_receiver_stats st;
        rtp_receiver_get_stats(x->r, &st);
        assert_true(st.have_sr);
        assert_int_equal(st.sr_received, 1);
        assert_int_equal(st.packets_lost, 1);
        assert_int_equal(st.packets_discarded, 1);
        assert_true(st.jitter_s > 175.0 / 48000 && st.jitter_s < 192.0 / 48000);
        rx_free(x);

        /* A steady path: jitter 0. */
        x = rx_new(&cfg);
        for (unsigned i = 0; i < 60; i++) {
                struct pkt p = opus_pkt((uint16_t)i, i * AUDIO_TS, 1);
                feed_at(x, T0 + TRANSIT + i * AUDIO_US, &p);
                free(p.data);
        }
        run_until(x, T0 + TRANSIT + 1000000);
        assert_int_equal(x->k->n_rtcp, 1);
        parse_fb(&x->k->rtcp[0], &f);
        assert_int_equal(f.rb.jitter, 0);
        assert_int_equal(f.rb.fraction_lost, 0);
        assert_int_equal(f.rb.cumulative_lost, 0);
        assert_int_equal(f.rb.ext_highest_seq, 49);
        /* BYE: no more reports. */
        uint32_t bye_ssrc = SSRC;
        assert_int_equal(rtcp_build_bye(&b, &bye_ssrc, 1, NULL), 0);
        assert_int_equal(rtp_receiver_handle_rtcp(x->r, x->now, b.data, b.len), 0);
        buf_free(&b);
        run_until(x, T0 + 5000000);
        assert_int_equal(x->k->n_rtcp, 1);
        rx_free(x);
}

/* ---- 7. adaptive playout delay ---- */

static uint64_t run_audio(struct rx *x, uint64_t jitter_us, unsigned n, uint64_t seed)
{
        uint64_t prev = 0;
        for (unsigned i = 0; i < n; i++) {
                struct pkt p = opus_pkt((uint16_t)i, i * AUDIO_TS, (uint8_t)i);
                uint64_t at =
                    T0 + TRANSIT + i * AUDIO_US + (jitter_us ? lcg(&seed) % jitter_us : 0);
                if (at < prev)
                        at = prev; /* arrival order is send order here */
                prev = at;
                feed_at(x, at, &p);
                free(p.data);
        }
        run_until(x, x->now + 1000000);
        struct rtp_receiver_stats st;
        rtp_receiver_get_stats(x->r, &st);
        return st.target_delay_us;
}

static void test_adaptive_delay(void **state)
{
        (void)state;
        struct rtp_receiver_config cfg = audio_cfg();
        struct rx *x = rx_new(&cfg);
        assert_int_equal(run_audio(x, 0, 200, 1), RTP_RECEIVER_AUDIO_MIN_DELAY_US);
        assert_int_equal(x->k->n_lost, 0);
        rx_free(x);

        x = rx_new(&cfg);
        uint64_t target = run_audio(x, 60000, 200, 7);
        /* Mean |D| of two uniform 0..60 ms draws is 20 ms: about 60 ms of target. */
        assert_true(target > 40000 && target < 100000);
        struct rtp_receiver_stats st;
        rtp_receiver_get_stats(x->r, &st);
        assert_true(st.jitter_s > 0.010);
        /* Room for the jitter: few packets miss their slot, none is played out of order. */
        assert_true(x->k->n_lost < 20);
        assert_int_equal(x->k->n_frames + st.packets_discarded, 200);
        for (size_t i = 1; i < x->k->n_frames; i++)
                assert_true(x->k->frames[i].ts > x->k->frames[i - 1].ts);
        rx_free(x);

        /* Bounded by the configured maximum. */
        cfg.max_delay_us = 30000;
        x = rx_new(&cfg);
        assert_int_equal(run_audio(x, 60000, 100, 7), 30000);
        rx_free(x);
}

static void test_sync_delay(void **state)
{
        (void)state;
        struct rtp_receiver_config cfg = audio_cfg();
        struct rx *x = rx_new(&cfg);
        struct pkt p = opus_pkt(1, 0, 1), q = opus_pkt(2, AUDIO_TS, 2);
        feed_at(x, T0, &p);
        run_until(x, T0 + 20000);
        assert_int_equal(x->k->n_frames, 1);
        rtp_receiver_set_sync_delay(x->r, 30000);
        feed_at(x, T0 + AUDIO_US, &q);
        run_until(x, T0 + AUDIO_US + 49999);
        assert_int_equal(x->k->n_frames, 1);
        run_until(x, T0 + AUDIO_US + 50000);
        assert_int_equal(x->k->n_frames, 2);
        assert_true(x->k->frames[1].playout == T0 + AUDIO_US + 50000);
        free(p.data);
        free(q.data);
        rx_free(x);
}

/* ---- 8. NTP mapping ---- */

static void test_ntp_mapping(void **state)
{
        (void)state;
        struct rtp_receiver_config cfg = audio_cfg();
        struct rtp_receiver *r = rtp_receiver_new(&cfg);
        uint64_t ntp;
        assert_int_equal(rtp_receiver_ntp_time(r, 0, &ntp), -ENODATA);
        struct buf b = BUF_INIT;
        /* An SR of another SSRC does not count. */
        struct rtcp_sr other = {.ssrc = SSRC + 1, .ntp = rtcp_ntp_from_us(NTP_BASE), .rtp_ts = 1};
        assert_int_equal(rtcp_build_sr(&b, &other), 0);
        assert_int_equal(rtp_receiver_handle_rtcp(r, T0, b.data, b.len), 0);
        assert_int_equal(rtp_receiver_ntp_time(r, 0, &ntp), -ENODATA);
        buf_reset(&b);
        uint64_t base = NTP_BASE + 500000; /* .5 s: exact in NTP fractions */
        struct rtcp_sr sr = {.ssrc = SSRC, .ntp = rtcp_ntp_from_us(base), .rtp_ts = 0xffffff00};
        assert_int_equal(rtcp_build_sr(&b, &sr), 0);
        assert_int_equal(rtp_receiver_handle_rtcp(r, T0, b.data, b.len), 0);
        buf_free(&b);
        assert_int_equal(rtp_receiver_ntp_time(r, 0xffffff00, &ntp), 0);
        assert_true(ntp == base);
        /* 0x200 ticks later across the wrap: 512 / 48000 s. */
        assert_int_equal(rtp_receiver_ntp_time(r, 0x00000100, &ntp), 0);
        assert_true(ntp == base + 10666);
        /* Before the SR's timestamp: a second earlier. */
        assert_int_equal(rtp_receiver_ntp_time(r, 0xffffff00 - 48000, &ntp), 0);
        assert_true(ntp == base - 1000000);
        struct rtp_receiver_stats st;
        rtp_receiver_get_stats(r, &st);
        assert_true(st.have_sr);
        assert_int_equal(st.sr_received, 1);
        /* Malformed RTCP. */
        static const uint8_t junk[6] = {0x80, 0xc8, 0, 5, 1, 2};
        assert_int_equal(rtp_receiver_handle_rtcp(r, T0, junk, sizeof(junk)), -EBADMSG);
        rtp_receiver_free(r);
}

/* ---- 9. hostile input ---- */

static void test_malformed_input(void **state)
{
        (void)state;
        struct rtp_receiver_config cfg = video_cfg();
        cfg.ssrc = SSRC;
        struct rx *x = rx_new(&cfg);
        struct vstream *v = vs_new(40000);
        size_t f0 = vs_frame(v, 800, true, 0);
        struct pkt *p0 = vs_pkt(v, f0, 0);
        /* Truncated, wrong version. */
        assert_int_equal(rtp_receiver_handle_rtp(x->r, T0, p0->data, 11), -EBADMSG);
        assert_int_equal(rtp_receiver_handle_rtp(x->r, T0, NULL, 0), -EBADMSG);
        uint8_t bad[64];
        memcpy(bad, p0->data, 64);
        bad[0] = (uint8_t)((bad[0] & 0x3f) | 0x40);
        assert_int_equal(rtp_receiver_handle_rtp(x->r, T0, bad, 64), -EBADMSG);
        /* Other PT, other SSRC: somebody else's. */
        memcpy(bad, p0->data, 64);
        bad[1] = (uint8_t)((bad[1] & 0x80) | 100);
        assert_int_equal(rtp_receiver_handle_rtp(x->r, T0, bad, 64), -ENOENT);
        memcpy(bad, p0->data, 64);
        bad[11] ^= 1;
        assert_int_equal(rtp_receiver_handle_rtp(x->r, T0, bad, 64), -ENOENT);
        /* A VP8 descriptor with nothing after it. */
        static const uint8_t desc[4] = {0x90, 0x80, 0x80, 0x01};
        struct pkt d = build(PT, SSRC, 40000, 0, true, desc, 4, NULL, 0);
        assert_int_equal(rtp_receiver_handle_rtp(x->r, T0, d.data, d.len), -EBADMSG);
        free(d.data);
        /* RTX: one byte (no OSN) is malformed, the OSN alone a padding probe. */
        static const uint8_t one[1] = {7};
        struct pkt r1 = build(RTX_PT, RTX_SSRC, 1, 0, false, one, 1, NULL, 0);
        assert_int_equal(rtp_receiver_handle_rtp(x->r, T0, r1.data, r1.len), -EBADMSG);
        free(r1.data);
        struct pkt r2 = build(RTX_PT, RTX_SSRC, 2, 0, false, one, 1, one, 1);
        assert_int_equal(rtp_receiver_handle_rtp(x->r, T0, r2.data, r2.len), 0);
        free(r2.data);
        struct pkt r3 = build(RTX_PT, RTX_SSRC + 1, 3, 0, false, one, 1, one, 1);
        assert_int_equal(rtp_receiver_handle_rtp(x->r, T0, r3.data, r3.len), -ENOENT);
        free(r3.data);
        struct rtp_receiver_stats st;
        rtp_receiver_get_stats(x->r, &st);
        assert_int_equal(st.packets_received, 0);
        assert_true(rtp_receiver_next_deadline(x->r) == UINT64_MAX);

        /* A good key frame, then one stray packet 20000 ahead: ignored. */
        for (size_t i = 0; i < v->n_pkt[f0]; i++)
                feed_at(x, T0, vs_pkt(v, f0, i));
        run_until(x, T0 + 50000);
        assert_int_equal(x->k->n_frames, 1);
        uint8_t tail[100];
        memset(tail, 0x11, sizeof(tail));
        struct pkt stray = build(PT, SSRC, 60000, 999, true, desc, 4, tail, sizeof(tail));
        feed_at(x, T0 + 60000, &stray);
        size_t f1 = vs_frame(v, 700, false, FRAME_TS);
        for (size_t i = 0; i < v->n_pkt[f1]; i++)
                feed_at(x, T0 + 70000, vs_pkt(v, f1, i));
        run_until(x, T0 + 150000);
        assert_int_equal(x->k->n_frames, 2);
        assert_frame(&x->k->frames[1], v, f1);
        /* A sender restart far away (two packets in a row there): a new stream. */
        struct vstream *w = vs_new(20000);
        size_t g0 = vs_frame(w, 500, true, 900000);
        size_t g1 = vs_frame(w, 500, false, 900000 + FRAME_TS);
        for (size_t i = 0; i < w->n_pkts; i++)
                feed_at(x, T0 + 200000 + w->pkts[i].frame * FRAME_US, &w->pkts[i]);
        run_until(x, T0 + 400000);
        assert_int_equal(x->k->n_frames, 4);
        assert_frame(&x->k->frames[2], w, g0);
        assert_frame(&x->k->frames[3], w, g1);
        rtp_receiver_get_stats(x->r, &st);
        assert_int_equal(st.packets_lost, 0);
        rx_free(x);

        /* Frames over max_frame_size are dropped, smaller ones still play. */
        cfg.max_frame_size = 2000;
        x = rx_new(&cfg);
        size_t big = vs_frame(v, 3000, true, 5 * FRAME_TS);
        size_t ok = vs_frame(v, 1500, true, 6 * FRAME_TS);
        for (size_t i = 0; i < v->n_pkt[big]; i++)
                feed_at(x, T0, vs_pkt(v, big, i));
        for (size_t i = 0; i < v->n_pkt[ok]; i++)
                feed_at(x, T0 + FRAME_US, vs_pkt(v, ok, i));
        run_until(x, T0 + 500000);
        assert_int_equal(x->k->n_frames, 1);
        assert_frame(&x->k->frames[0], v, ok);
        rtp_receiver_get_stats(x->r, &st);
        assert_int_equal(st.frames_dropped, 1);
        rx_free(x);
        free(stray.data);
        vs_free(w);
        vs_free(v);
}

/* Memory stays bounded whatever arrives: big packets that can never play. */
static void test_bounded_memory(void **state)
{
        (void)state;
        struct rtp_receiver_config cfg = video_cfg();
        cfg.ssrc = SSRC;
        struct rx *x = rx_new(&cfg);
        static uint8_t payload[60000];
        memset(payload, 0x5a, sizeof(payload));
        static const uint8_t start[4] = {0x90, 0x80, 0x80, 0x01}; /* S=1 */
        static const uint8_t cont[4] = {0x80, 0x80, 0x80, 0x01};  /* S=0 */
        struct mallinfo2 before = mallinfo2();
        struct pkt p = build(PT, SSRC, 0, 0, false, start, 4, payload, sizeof(payload));
        feed_at(x, T0, &p);
        free(p.data);
        /* Sequence number 1 never comes: everything after it waits for it. One packet,
         * its sequence number rewritten in place. */
        p = build(PT, SSRC, 2, 0, false, cont, 4, payload, sizeof(payload));
        for (unsigned i = 2; i < 3000; i++) {
                p.data[2] = (uint8_t)(i >> 8);
                p.data[3] = (uint8_t)i;
                assert_int_equal(rtp_receiver_handle_rtp(x->r, T0 + 1000, p.data, p.len), 0);
                drain(x);
        }
        free(p.data);
        struct mallinfo2 after = mallinfo2();
        if (before.uordblks) /* zero under sanitizers that replace malloc */
                assert_true(after.uordblks < before.uordblks + (16u << 20));
        struct rtp_receiver_stats st;
        rtp_receiver_get_stats(x->r, &st);
        assert_true(st.packets_discarded > 1000);
        assert_int_equal(x->k->n_frames, 0);
        run_until(x, T0 + 3 * US_PER_SEC_TEST);
        rx_free(x);

        /* Random bytes and random fields with our SSRC and PT: no crash, no frame from junk
         * that is not a frame, and every return code is one of the documented ones. */
        cfg.nack = true;
        x = rx_new(&cfg);
        uint64_t seed = 99;
        uint8_t buf[300];
        for (unsigned i = 0; i < 20000; i++) {
                size_t len = lcg(&seed) % sizeof(buf);
                for (size_t k = 0; k < len; k++)
                        buf[k] = (uint8_t)lcg(&seed);
                if (len >= 12 && lcg(&seed) % 4) {
                        buf[0] = 0x80 | (buf[0] & 0x20);
                        buf[1] = (uint8_t)((buf[1] & 0x80) | (lcg(&seed) % 3 ? PT : RTX_PT));
                        uint32_t ssrc = buf[1] == RTX_PT ? RTX_SSRC : SSRC;
                        buf[8] = (uint8_t)(ssrc >> 24);
                        buf[9] = (uint8_t)(ssrc >> 16);
                        buf[10] = (uint8_t)(ssrc >> 8);
                        buf[11] = (uint8_t)ssrc;
                }
                x->now += lcg(&seed) % 5000;
                int rc = rtp_receiver_handle_rtp(x->r, x->now, buf, len);
                assert_true(rc == 0 || rc == -EBADMSG || rc == -ENOENT);
                drain(x);
                if (rtp_receiver_next_deadline(x->r) <= x->now) {
                        rtp_receiver_handle_timeout(x->r, x->now);
                        drain(x);
                }
                assert_true(rtp_receiver_next_deadline(x->r) > x->now);
                /* Forget what was collected so the sink does not fill. */
                sink_free(x->k);
                x->k = calloc(1, sizeof(struct sink));
        }
        rx_free(x);
}

static void test_config_checks(void **state)
{
        (void)state;
        struct rtp_receiver_config cfg = video_cfg();
        cfg.codec = 0;
        assert_null(rtp_receiver_new(&cfg));
        cfg = video_cfg();
        cfg.pt = 128;
        assert_null(rtp_receiver_new(&cfg));
        cfg = video_cfg();
        cfg.rtx_pt = cfg.pt;
        assert_null(rtp_receiver_new(&cfg));
        cfg = video_cfg();
        cfg.clock_rate = 10;
        assert_null(rtp_receiver_new(&cfg));
        assert_null(rtp_receiver_new(NULL));
        rtp_receiver_free(NULL);
        cfg = audio_cfg();
        struct rtp_receiver *r = rtp_receiver_new(&cfg);
        assert_non_null(r);
        struct rtp_receiver_stats st;
        rtp_receiver_get_stats(r, &st);
        assert_int_equal(st.ssrc, SSRC);
        assert_int_equal(st.rtt_us, RTP_RECEIVER_DEFAULT_RTT_US);
        assert_int_equal(st.target_delay_us, RTP_RECEIVER_AUDIO_MIN_DELAY_US);
        rtp_receiver_set_rtt(r, 42000);
        rtp_receiver_get_stats(r, &st);
        assert_int_equal(st.rtt_us, 42000);
        /* Audio never asks for key frames. */
        rtp_receiver_request_keyframe(r, T0);
        struct rtp_receiver_output o;
        assert_int_equal(rtp_receiver_poll_output(r, &o), 0);
        rtp_receiver_free(r);
}

/* ---- 10. paced frames ---- */

#define PACED_FRAME_US 100000ull /* 10 fps */
#define PACED_FRAME_TS 9000u
#define PACED_BURST_US 20000ull /* two packets every 20 ms: 10 packets spread over 80 ms */

/* A pacer at a low bandwidth estimate (as Chromium's): a burst of two packets every 20 ms, in
 * order, none before its frame was captured, so a big frame delays the next ones. The gaps are
 * longer than the target delay. */
static void paced_arrivals(const struct vstream *v, uint64_t *at)
{
        uint64_t slot = 0;
        unsigned in_slot = 0;
        for (size_t i = 0; i < v->n_pkts; i++) {
                uint64_t capture = T0 + TRANSIT + (v->pkts[i].ts - v->ts[0]) / 90 * 1000ull;
                if (in_slot == 2) {
                        slot += PACED_BURST_US;
                        in_slot = 0;
                }
                if (i == 0 || slot < capture) {
                        slot = capture;
                        in_slot = 0;
                }
                at[i] = slot;
                in_slot++;
        }
}

/* No loss, each frame spread over 40..180 ms, far beyond the 10 ms target: every frame plays
 * once its last packet is here, nothing is given up, no key frame is asked for. */
static void test_paced_frames(void **state)
{
        (void)state;
        struct rtp_receiver_config cfg = video_cfg();
        struct rx *x = rx_new(&cfg);
        struct vstream *v = vs_new(3000);
        for (size_t f = 0; f < 20; f++) {
                bool key = f == 0 || f == 12;
                /* Key frames 10 and 20 packets, inter frames 6..9. */
                size_t len = f == 0 ? 2900 : f == 12 ? 5800 : 1500 + (f * 7 % 4) * 290;
                vs_frame(v, len, key, 500 + (uint32_t)f * PACED_FRAME_TS);
        }
        assert_int_equal(v->n_pkt[0], 10);
        assert_int_equal(v->n_pkt[12], 20);
        uint64_t *at = calloc(v->n_pkts, sizeof(*at));
        paced_arrivals(v, at);
        /* The key frame's last packet comes 80 ms after its first. */
        assert_true(at[9] - at[0] == 80000);
        for (size_t i = 0; i < v->n_pkts; i++)
                feed_at(x, at[i], &v->pkts[i]);
        run_until(x, at[v->n_pkts - 1] + 2 * US_PER_SEC_TEST);
        assert_int_equal(x->k->n_lost, 0);
        assert_int_equal(x->k->n_frames, 20);
        for (size_t f = 0; f < 20; f++) {
                const struct frame_out *o = &x->k->frames[f];
                assert_frame(o, v, f);
                uint64_t last = at[v->first_pkt[f] + v->n_pkt[f] - 1];
                assert_true(o->at == (last > o->playout ? last : o->playout));
        }
        /* Due 10 ms after its first packet, played 80 ms after it. */
        assert_true(x->k->frames[0].playout == at[0] + RTP_RECEIVER_VIDEO_MIN_DELAY_US);
        assert_true(x->k->frames[0].at == at[9]);
        for (size_t i = 0; i < x->k->n_rtcp; i++) {
                struct fb f;
                parse_fb(&x->k->rtcp[i], &f);
                assert_int_equal(f.pli + f.fir + f.n_nack, 0);
        }
        struct rtp_receiver_stats st;
        rtp_receiver_get_stats(x->r, &st);
        assert_int_equal(st.frames_received, 20);
        assert_int_equal(st.keyframes_received, 2);
        assert_int_equal(st.frames_dropped, 0);
        assert_int_equal(st.pli_count + st.fir_count + st.nack_count, 0);
        assert_int_equal(st.packets_lost, 0);
        assert_int_equal(st.packets_discarded, 0);
        free(at);
        vs_free(v);
        rx_free(x);
}

/*
 * A slow sender's key frame, while one is needed: 30 packets over 1.45 s, far past map(ts) +
 * max_delay (300 ms). Still arriving, it is waited for and played, not given up (giving it up
 * asked for another key frame that fared the same, forever). A key frame that stops arriving
 * is given up max_delay after its last packet, and asked for again.
 */
static void test_slow_keyframe_waited_for(void **state)
{
        (void)state;
        struct rtp_receiver_config cfg = video_cfg();
        cfg.max_delay_us = 300000;
        struct rx *x = rx_new(&cfg);
        struct vstream *v = vs_new(9000);
        vs_frame(v, 8700, true, 0);
        assert_int_equal(v->n_pkt[0], 30);
        for (size_t i = 0; i < 30; i++)
                feed_at(x, T0 + TRANSIT + i * 50000, vs_pkt(v, 0, i));
        run_until(x, T0 + TRANSIT + 29 * 50000 + US_PER_SEC_TEST);
        assert_int_equal(x->k->n_lost, 0);
        assert_int_equal(x->k->n_frames, 1);
        assert_frame(&x->k->frames[0], v, 0);
        assert_true(x->k->frames[0].at == T0 + TRANSIT + 29 * 50000);
        struct rtp_receiver_stats st;
        rtp_receiver_get_stats(x->r, &st);
        assert_int_equal(st.frames_dropped, 0);
        assert_int_equal(st.pli_count, 0);
        rx_free(x);
        vs_free(v);

        /* The same frame stops after 20 packets: given up 300 ms after the 20th. */
        x = rx_new(&cfg);
        v = vs_new(9000);
        vs_frame(v, 8700, true, 0);
        for (size_t i = 0; i < 20; i++)
                feed_at(x, T0 + TRANSIT + i * 50000, vs_pkt(v, 0, i));
        uint64_t last = T0 + TRANSIT + 19 * 50000;
        run_until(x, last + 300000 - 1);
        rtp_receiver_get_stats(x->r, &st);
        assert_int_equal(st.pli_count, 0);
        run_until(x, last + 300000);
        rtp_receiver_get_stats(x->r, &st);
        assert_int_equal(st.pli_count, 1); /* given up: the key frame is asked for again */
        assert_int_equal(x->k->n_frames, 0);
        rx_free(x);
        vs_free(v);
}

/* A sender that stops in the middle of a frame: nothing shows a loss, so the frame is waited
 * for up to map(ts) + max_delay + sync, no longer; then given up and a key frame asked for.
 * Once a later frame begins, the usual rule is back. */
static void test_paced_frame_stall(void **state)
{
        (void)state;
        struct rtp_receiver_config cfg = video_cfg();
        cfg.max_delay_us = 300000;
        struct rx *x = rx_new(&cfg);
        rtp_receiver_set_sync_delay(x->r, 25000);
        struct vstream *v = vs_new(7000);
        for (size_t f = 0; f < 4; f++)
                vs_frame(v, 2900, f == 0 || f == 3, (uint32_t)f * PACED_FRAME_TS);
        uint64_t *at = calloc(v->n_pkts, sizeof(*at));
        paced_arrivals(v, at);
        for (size_t i = 0; i < v->n_pkts; i++)
                if (v->pkts[i].frame == 0 || (v->pkts[i].frame == 1 && i - v->first_pkt[1] < 6))
                        feed_at(x, at[i], &v->pkts[i]);
        /* Frame 1 (due at its first packet + 10 ms + sync) waits for its cap alone. */
        uint64_t cap = T0 + TRANSIT + PACED_FRAME_US + 300000 + 25000;
        assert_true(rtp_receiver_next_deadline(x->r) == cap);
        run_until(x, cap - 1);
        assert_int_equal(x->k->n_frames, 1);
        assert_int_equal(x->k->n_lost, 0);
        assert_int_equal(x->k->n_rtcp, 0);
        run_until(x, cap);
        assert_int_equal(x->k->n_lost, 1);
        assert_true(x->k->lost[0].at == cap);
        assert_int_equal(x->k->lost[0].ts, v->ts[1]);
        assert_int_equal(x->k->lost[0].skipped, 1);
        assert_int_equal(x->k->n_rtcp, 1);
        assert_true(x->k->rtcp[0].at == cap);
        struct fb f;
        parse_fb(&x->k->rtcp[0], &f);
        assert_int_equal(f.pli, 1);
        assert_int_equal(f.n_nack, 0);
        /* The key frame (frame 3, late) ends it: played, no more requests. */
        for (size_t i = 0; i < v->n_pkt[3]; i++)
                feed_at(x, cap + 50000 + i / 2 * PACED_BURST_US, vs_pkt(v, 3, i));
        run_until(x, cap + US_PER_SEC_TEST / 2);
        assert_int_equal(x->k->n_frames, 2);
        assert_frame(&x->k->frames[1], v, 3);
        assert_int_equal(x->k->n_lost, 1);
        struct rtp_receiver_stats st;
        rtp_receiver_get_stats(x->r, &st);
        assert_int_equal(st.pli_count, 1);
        assert_int_equal(st.frames_dropped, 1);
        rx_free(x);

        /* The same tail lost, but frame 2 follows (without NACK): the hole shows the loss, and
         * frame 1, overdue, is given up as soon as frame 2's first packet arrives. */
        cfg.nack = false;
        x = rx_new(&cfg);
        for (size_t i = 0; i < v->n_pkts; i++)
                if (v->pkts[i].frame != 1 || i - v->first_pkt[1] < 6)
                        feed_at(x, at[i], &v->pkts[i]);
        run_until(x, at[v->n_pkts - 1] + US_PER_SEC_TEST);
        assert_int_equal(x->k->n_lost, 1);
        assert_true(x->k->lost[0].at == at[v->first_pkt[2]]);
        assert_true(x->k->lost[0].at < cap);
        assert_int_equal(x->k->n_frames, 2);
        assert_frame(&x->k->frames[0], v, 0);
        assert_frame(&x->k->frames[1], v, 3);
        rx_free(x);
        free(at);
        vs_free(v);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_video_in_order),
            cmocka_unit_test(test_video_reorder_duplicates),
            cmocka_unit_test(test_nack_rtx_recovery),
            cmocka_unit_test(test_unrecoverable_gap),
            cmocka_unit_test(test_complete_keyframe_ends_wait),
            cmocka_unit_test(test_nack_waits_for_queue),
            cmocka_unit_test(test_gap_without_nack),
            cmocka_unit_test(test_keyframe_requests),
            cmocka_unit_test(test_audio_loss_fec_late_dtx),
            cmocka_unit_test(test_audio_burst_loss),
            cmocka_unit_test(test_receiver_reports),
            cmocka_unit_test(test_adaptive_delay),
            cmocka_unit_test(test_sync_delay),
            cmocka_unit_test(test_ntp_mapping),
            cmocka_unit_test(test_malformed_input),
            cmocka_unit_test(test_bounded_memory),
            cmocka_unit_test(test_config_checks),
            cmocka_unit_test(test_paced_frames),
            cmocka_unit_test(test_paced_frame_stall),
            cmocka_unit_test(test_slow_keyframe_waited_for),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
