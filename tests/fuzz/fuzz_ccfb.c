/*
 * RFC 8888 congestion control feedback fuzz target, both directions.
 *
 * Parsing: the input as one RTCP packet, and as a compound whose RTPFB FMT=11 packets are
 * parsed too; what parses is decoded and checked (field ranges, sequence numbers following
 * begin_seq, the report count the lengths allow), then handed to the sending side with packets
 * of the streams it names on record: every report it returns must name a recorded packet.
 *
 * Generating: the input also drives the receiving side, three bytes a packet (stream, sequence
 * step, arrival step, so reordering, duplicates, gaps and wraps all occur); every batch it
 * builds must parse, stay within the size limit, and report each number at most once per
 * batch and stream, in order.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "rtp/ccfb.h"
#include "rtp/rtcp.h"

static void check(bool ok)
{
        if (!ok)
                abort();
}

static void exercise_packet(const uint8_t *data, size_t len)
{
        struct ccfb_packet p;
        if (ccfb_parse(&p, data, len) != 0)
                return;
        check(p.n_reports <= len / 2);
        check(p.blocks_len + 12 <= len);
        struct ccfb_report *r = malloc((p.n_reports + 1) * sizeof(*r));
        check(r != NULL);
        check(ccfb_decode(&p, r, p.n_reports) == p.n_reports);
        for (size_t i = 0; i < p.n_reports; i++) {
                check(r[i].ato <= 0x1fff && r[i].ecn <= 3);
                if (!r[i].received)
                        check(r[i].ato == 0 && r[i].ecn == 0);
                if (i > 0 && r[i].ssrc == r[i - 1].ssrc)
                        check(r[i].seq == (uint16_t)(r[i - 1].seq + 1) || p.n_blocks > 1);
        }

        /* The sender has sent the first reports' packets: they map back, the rest do not. */
        struct ccfb_send *tx = ccfb_send_new();
        check(tx != NULL);
        size_t rec = p.n_reports < 64 ? p.n_reports : 64;
        for (size_t i = 0; i < rec; i++)
                ccfb_send_packet(tx, r[i].ssrc, r[i].seq, (uint16_t)(1000 + i));
        const struct gcc_packet_report *out;
        int n = ccfb_send_feedback(tx, data, len, &out);
        check(n >= 0 && (size_t)n <= p.n_reports);
        for (int i = 0; i < n; i++) {
                check(out[i].seq >= 1000 && out[i].seq < 1000 + rec);
                check(!out[i].has_arrival || out[i].received);
        }
        /* Twice: duplicated feedback is no error either. */
        check(ccfb_send_feedback(tx, data, len, &out) == n);
        ccfb_send_free(tx);
        free(r);
}

static void generate(const uint8_t *data, size_t size)
{
        struct ccfb_recv_config cfg = {.sender_ssrc = 7, .ntp_offset_us = 3900000000000000ull};
        struct ccfb_recv *c = ccfb_recv_new(&cfg);
        check(c != NULL);
        uint16_t seq[4] = {65530, 100, 30000, 0};
        uint64_t now = 1000000;
        struct buf out = BUF_INIT;
        struct ccfb_report *r = malloc(CCFB_MAX_PACKET_BYTES / 2 * sizeof(*r));
        check(r != NULL);
        for (size_t i = 0; i + 3 <= size; i += 3) {
                unsigned s = data[i] & 3;
                /* Mostly forward by one; sometimes back, far ahead, or the same again. */
                int8_t step = (int8_t)data[i + 1];
                seq[s] = (uint16_t)(seq[s] + (step > 100 ? 2000 : step));
                now += (uint64_t)data[i + 2] * 1000;
                ccfb_recv_packet(c, now, 0x1000 + s, seq[s]);
                if (ccfb_recv_next_deadline(c) > now)
                        continue;
                buf_reset(&out);
                int k = ccfb_recv_poll(c, now, &out);
                check(k >= 1);
                struct rtcp_iter it;
                check(rtcp_iter_init(&it, out.data, out.len) == 0);
                struct rtcp_packet p;
                int got = 0;
                while (rtcp_iter_next(&it, &p) == 1) {
                        got++;
                        check(p.raw_len <= CCFB_MAX_PACKET_BYTES);
                        struct ccfb_packet cp;
                        check(ccfb_parse(&cp, p.raw, p.raw_len) == 0);
                        check(cp.n_reports <= CCFB_MAX_PACKET_BYTES / 2);
                        check(ccfb_decode(&cp, r, CCFB_MAX_PACKET_BYTES / 2) == cp.n_reports);
                        for (size_t j = 1; j < cp.n_reports; j++)
                                if (r[j].ssrc == r[j - 1].ssrc)
                                        check(r[j].seq == (uint16_t)(r[j - 1].seq + 1));
                        for (size_t j = 0; j < cp.n_reports; j++)
                                check(!r[j].received || r[j].ato != CCFB_ATO_UNKNOWN);
                }
                check(got == k);
        }
        /* Whatever waits goes out in one last batch, and then nothing waits. */
        buf_reset(&out);
        uint64_t d = ccfb_recv_next_deadline(c);
        if (d != UINT64_MAX) {
                check(ccfb_recv_poll(c, d > now ? d : now, &out) >= 1);
                check(ccfb_recv_next_deadline(c) == UINT64_MAX);
        }
        free(r);
        buf_free(&out);
        ccfb_recv_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        exercise_packet(data, size);
        struct rtcp_iter it;
        if (rtcp_iter_init(&it, data, size) == 0) {
                struct rtcp_packet p;
                while (rtcp_iter_next(&it, &p) == 1)
                        if (p.pt == RTCP_PT_RTPFB && p.count == CCFB_FMT)
                                exercise_packet(p.raw, p.raw_len);
        }
        generate(data, size);
        return 0;
}
