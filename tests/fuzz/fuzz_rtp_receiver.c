/*
 * RTP receiver fuzz target: the input is a script of operations on a video and an audio
 * receiver (raw packets, packets built from a few fuzzed fields so that frames, gaps,
 * retransmissions and restarts actually happen, RTCP, timer runs, RTT and sync changes), on a
 * virtual clock. Checks that nothing crashes, that every output is well formed, and that after
 * a timeout the next deadline lies in the future (no busy loop).
 *
 * Each operation: | op | dt | len | len bytes |.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"
#include "rtp/rtp_receiver.h"

#define SSRC     0x1234abcdu
#define RTX_SSRC 0x2222aaaau
#define PT       96
#define RTX_PT   97
#define OPUS_PT  111

static void check(bool ok)
{
        if (!ok)
                abort();
}

struct track {
        struct rtp_receiver *r;
        bool video;
        uint16_t seq, rtx_seq;
        uint32_t ts;
};

static void drain(struct track *t)
{
        struct rtp_receiver_output o;
        while (rtp_receiver_poll_output(t->r, &o) == 1) {
                switch (o.kind) {
                case RTP_RECEIVER_OUT_RTCP:
                        check(o.data && rtcp_validate(o.data, o.len) == 0);
                        break;
                case RTP_RECEIVER_OUT_FRAME:
                        check(o.data && o.len > 0);
                        break;
                case RTP_RECEIVER_OUT_LOST:
                        check(!o.data);
                        check(t->video ? o.frames_skipped > 0 : o.samples > 0);
                        check(!o.fec_data || o.fec_len > 0);
                        break;
                default:
                        abort();
                }
        }
}

static void timers(struct track *t, uint64_t now)
{
        if (rtp_receiver_next_deadline(t->r) <= now) {
                rtp_receiver_handle_timeout(t->r, now);
                drain(t);
                check(rtp_receiver_next_deadline(t->r) > now);
        }
}

static void feed(struct track *t, uint64_t now, const uint8_t *data, size_t len)
{
        int rc = rtp_receiver_handle_rtp(t->r, now, data, len);
        check(rc == 0 || rc == -ENOENT || rc == -EBADMSG);
        drain(t);
}

/* A plausible packet: small sequence moves, VP8 descriptors or Opus TOCs, sometimes RTX. */
static void structured(struct track *t, uint64_t now, const uint8_t *b, size_t n)
{
        if (n < 3)
                return;
        uint8_t f = b[0];
        t->seq = (uint16_t)(t->seq + (int8_t)b[1]);
        t->ts += (b[2] % 4) * (t->video ? 3000u : 960u);
        if (f & 0x80)
                t->ts += (uint32_t)b[2] << 16; /* jumps */
        bool rtx = f & 0x40;
        struct rtp_header h = {.pt = t->video ? PT : OPUS_PT,
                               .seq = t->seq,
                               .ts = t->ts,
                               .ssrc = SSRC,
                               .marker = f & 1};
        if (rtx) {
                h.pt = RTX_PT;
                h.ssrc = RTX_SSRC;
                h.seq = t->rtx_seq++;
        }
        struct buf out = BUF_INIT;
        check(rtp_build(&out, &h, NULL, 0, 0) == 0);
        if (rtx)
                buf_append_u16be(&out, t->seq);
        if (!(f & 0x20)) { /* else: padding only */
                if (t->video) {
                        uint8_t desc[5] = {(uint8_t)(0x80 | (f & 2 ? 0x10 : 0)), 0x80, 0x80, 0x01,
                                           (uint8_t)(f & 4 ? 0x10 : 0x11)};
                        buf_append(&out, desc, sizeof(desc));
                } else {
                        buf_append_u8(&out, 0x08); /* 20 ms */
                }
                buf_append(&out, b + 3, n - 3);
        }
        feed(t, now, out.data, out.len);
        buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct rtp_receiver_config vc = {.codec = RTP_RECEIVER_CODEC_VP8,
                                         .pt = PT,
                                         .rtx_pt = RTX_PT,
                                         .local_ssrc = 1,
                                         .nack = true,
                                         .pli = true,
                                         .max_frame_size = 20000};
        struct rtp_receiver_config ac = {
            .codec = RTP_RECEIVER_CODEC_OPUS, .pt = OPUS_PT, .ssrc = SSRC, .local_ssrc = 1};
        struct track tr[2] = {{.r = rtp_receiver_new(&vc), .video = true, .seq = 100},
                              {.r = rtp_receiver_new(&ac), .seq = 100}};
        check(tr[0].r && tr[1].r);
        uint64_t now = 1000000;
        size_t pos = 0;
        while (pos + 3 <= size) {
                uint8_t op = data[pos], dt = data[pos + 1];
                size_t len = data[pos + 2];
                pos += 3;
                if (len > size - pos)
                        len = size - pos;
                const uint8_t *b = data + pos;
                pos += len;
                now += (uint64_t)dt * 100;
                struct track *t = &tr[op & 1];
                switch ((op >> 1) % 7) {
                case 0:
                        feed(t, now, b, len);
                        break;
                case 1:
                case 2:
                        structured(t, now, b, len);
                        break;
                case 3:
                        for (int i = 0; i < 2; i++) {
                                int rc = rtp_receiver_handle_rtcp(tr[i].r, now, b, len);
                                check(rc == 0 || rc == -EBADMSG);
                                drain(&tr[i]);
                        }
                        break;
                case 4:
                        now += (uint64_t)dt * 10000;
                        break;
                case 5:
                        rtp_receiver_set_rtt(t->r, (uint64_t)dt * 2000);
                        rtp_receiver_set_sync_delay(t->r, len ? (uint64_t)b[0] * 1000 : 0);
                        break;
                case 6:
                        rtp_receiver_request_keyframe(t->r, now);
                        drain(t);
                        break;
                }
                for (int i = 0; i < 2; i++)
                        timers(&tr[i], now);
                uint64_t ntp;
                (void)rtp_receiver_ntp_time(t->r, t->ts, &ntp);
        }
        /* Let everything pending play out or be given up. */
        for (int step = 0; step < 200; step++) {
                now += 50000;
                for (int i = 0; i < 2; i++)
                        timers(&tr[i], now);
        }
        for (int i = 0; i < 2; i++) {
                struct rtp_receiver_stats st;
                rtp_receiver_get_stats(tr[i].r, &st);
                check(st.packets_received >= st.retransmitted_packets_received);
                check(st.target_delay_us <= 1000000);
                rtp_receiver_free(tr[i].r);
        }
        return 0;
}
