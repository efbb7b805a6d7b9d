/*
 * RTCP fuzz target. A datagram that validates is walked packet by packet: every accessor runs,
 * the types we build are rebuilt from their fields and must parse back to the same fields, and
 * the datagram is fed to a sender that has media in its history (NACK, PLI, FIR, reports).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "rtp/rtcp.h"
#include "rtp/rtp_sender.h"

static void check(bool ok)
{
        if (!ok)
                abort();
}

static struct rtcp_packet *reparse(const struct buf *b)
{
        static struct rtcp_packet q;
        check(rtcp_parse_packet(&q, b->data, b->len) == 0);
        return &q;
}

static void check_blocks(const struct rtcp_report_block *a, const struct rtcp_report_block *b,
                         unsigned n)
{
        for (unsigned i = 0; i < n; i++)
                check(memcmp(&a[i], &b[i], sizeof(a[i])) == 0);
}

static void exercise(const struct rtcp_packet *p)
{
        struct buf b = BUF_INIT;
        check(p->raw_len >= 4 && p->raw_len % 4 == 0);
        switch (p->kind) {
        case RTCP_KIND_SR: {
                check(rtcp_build_sr(&b, &p->u.sr) == 0);
                const struct rtcp_sr *q = &reparse(&b)->u.sr;
                check(q->ssrc == p->u.sr.ssrc && q->ntp == p->u.sr.ntp &&
                      q->rtp_ts == p->u.sr.rtp_ts && q->rb_count == p->u.sr.rb_count);
                check_blocks(q->rb, p->u.sr.rb, q->rb_count);
                break;
        }
        case RTCP_KIND_RR: {
                check(rtcp_build_rr(&b, &p->u.rr) == 0);
                const struct rtcp_rr *q = &reparse(&b)->u.rr;
                check(q->ssrc == p->u.rr.ssrc && q->rb_count == p->u.rr.rb_count);
                check_blocks(q->rb, p->u.rr.rb, q->rb_count);
                break;
        }
        case RTCP_KIND_SDES:
                for (unsigned i = 0; i < p->u.sdes.count; i++)
                        check(!p->u.sdes.chunk[i].cname || p->u.sdes.chunk[i].cname_len <= 255);
                break;
        case RTCP_KIND_BYE:
                check(rtcp_build_bye(&b, p->u.bye.ssrc, p->u.bye.count, NULL) == 0);
                check(reparse(&b)->u.bye.count == p->u.bye.count);
                break;
        case RTCP_KIND_NACK: {
                size_t total = rtcp_nack_lost(&p->u.nack, NULL, 0);
                check(total >= p->u.nack.count && total <= 17 * p->u.nack.count);
                if (total > 512)
                        break;
                uint16_t seqs[512], again[512];
                check(rtcp_nack_lost(&p->u.nack, seqs, total) == total);
                check(rtcp_build_nack(&b, p->u.nack.sender_ssrc, p->u.nack.media_ssrc, seqs,
                                      total) == 0);
                const struct rtcp_nack *q = &reparse(&b)->u.nack;
                size_t n = rtcp_nack_lost(q, again, 512);
                check(n <= total);
                /* Same set: each side's numbers appear on the other. */
                for (size_t i = 0; i < n; i++) {
                        size_t k = 0;
                        while (k < total && seqs[k] != again[i])
                                k++;
                        check(k < total);
                }
                for (size_t i = 0; i < total; i++) {
                        size_t k = 0;
                        while (k < n && again[k] != seqs[i])
                                k++;
                        check(k < n);
                }
                break;
        }
        case RTCP_KIND_FIR:
                for (size_t i = 0; i < p->u.fir.count; i++) {
                        struct rtcp_fir_entry e;
                        rtcp_fir_get(&p->u.fir, i, &e);
                }
                break;
        case RTCP_KIND_REMB: {
                check(rtcp_build_remb(&b, p->u.remb.sender_ssrc, p->u.remb.bitrate_bps,
                                      p->u.remb.ssrc, p->u.remb.ssrc_count) == 0);
                const struct rtcp_remb *q = &reparse(&b)->u.remb;
                check(q->bitrate_bps <= p->u.remb.bitrate_bps);
                check(q->ssrc_count == p->u.remb.ssrc_count);
                check(memcmp(q->ssrc, p->u.remb.ssrc, 4 * (size_t)q->ssrc_count) == 0);
                break;
        }
        case RTCP_KIND_TWCC: {
                struct rtcp_twcc_status *st = malloc(sizeof(*st) * (p->u.twcc.status_count + 1));
                int n = rtcp_twcc_decode(&p->u.twcc, st, p->u.twcc.status_count);
                check(n == p->u.twcc.status_count);
                for (int i = 0; i < n; i++)
                        check(st[i].seq == (uint16_t)(p->u.twcc.base_seq + i));
                free(st);
                break;
        }
        default:
                break;
        }
        buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct rtcp_iter it;
        if (rtcp_iter_init(&it, data, size) != 0)
                return 0;
        struct rtcp_packet *p = malloc(sizeof(*p));
        size_t bytes = 0;
        while (rtcp_iter_next(&it, p) == 1) {
                bytes += p->raw_len;
                exercise(p);
        }
        check(bytes == size);
        free(p);

        /* A sender whose SSRC the seeds name (0x11111111), with some media sent. */
        struct rtp_sender_config cfg = {
            .codec = RTP_SENDER_CODEC_VP8,
            .pt = 96,
            .ssrc = 0x11111111,
            .rtx = true,
            .rtx_pt = 97,
            .rtx_ssrc = 0x22222222,
            .cname = "fuzz",
            .target_bitrate_bps = 500000,
        };
        struct rtp_sender *s = rtp_sender_new(&cfg);
        check(s != NULL);
        static uint8_t frame[4000];
        struct rtp_sender_output o;
        for (uint64_t i = 0; i < 4; i++) {
                check(rtp_sender_send_frame(s, i * 33000, i * 33000, frame, sizeof(frame)) == 0);
                rtp_sender_handle_timeout(s, i * 33000 + 30000);
                while (rtp_sender_poll_output(s, &o) == 1)
                        ;
        }
        check(rtp_sender_handle_rtcp(s, 200000, data, size) == 0);
        uint64_t t = 200000;
        for (int i = 0; i < 100000 && rtp_sender_next_deadline(s) < 600000; i++) {
                if (rtp_sender_next_deadline(s) > t)
                        t = rtp_sender_next_deadline(s);
                rtp_sender_handle_timeout(s, t);
                while (rtp_sender_poll_output(s, &o) == 1)
                        check(o.kind != RTP_SENDER_OUT_RTP || o.len <= 1200);
        }
        /* The pacer and report timers always move forward: nothing is due any more. */
        check(rtp_sender_next_deadline(s) >= 600000);
        rtp_sender_free(s);
        return 0;
}
