/*
 * RFC 8888 congestion control feedback: the receiving side's batches read back through the
 * parser (framing, arrival offsets, losses, wrap, reordering, several streams, splitting), the
 * sending side's mapping to gcc reports, and hostile packets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "rtp/ccfb.h"
#include "rtp/rtcp.h"

#define MS  1000ull
#define SEC 1000000ull
/* NTP 2024-ish: µs since 1900, so Report Timestamps look real. */
#define NTP_OFFSET (3900000000ull * SEC)

struct pkt_info {
        struct ccfb_packet p;
        const uint8_t *raw;
        size_t len;
};

/*
 * Walks a batch with the generic RTCP iterator (it must validate as a compound), checks each
 * packet's framing, and appends the decoded reports. Returns the number of reports.
 */
static size_t collect(const struct buf *out, struct ccfb_report *r, size_t cap, struct pkt_info *pk,
                      size_t pk_cap, size_t *npk)
{
        struct rtcp_iter it;
        assert_int_equal(rtcp_iter_init(&it, out->data, out->len), 0);
        struct rtcp_packet p;
        size_t n = 0, k = 0;
        while (rtcp_iter_next(&it, &p) == 1) {
                assert_int_equal(p.pt, RTCP_PT_RTPFB);
                assert_int_equal(p.count, CCFB_FMT);
                assert_true(p.raw_len <= CCFB_MAX_PACKET_BYTES);
                assert_int_equal(p.raw_len % 4, 0);
                assert_int_equal(p.raw[0] & 0x20, 0); /* no padding bit: blocks are aligned */
                assert_true(k < pk_cap);
                pk[k].raw = p.raw;
                pk[k].len = p.raw_len;
                assert_int_equal(ccfb_parse(&pk[k].p, p.raw, p.raw_len), 0);
                assert_true(n + pk[k].p.n_reports <= cap);
                assert_int_equal(ccfb_decode(&pk[k].p, r + n, cap - n), pk[k].p.n_reports);
                n += pk[k].p.n_reports;
                k++;
        }
        *npk = k;
        return n;
}

static uint32_t rts_at(uint64_t now)
{
        return rtcp_ntp_mid32(rtcp_ntp_from_us(now + NTP_OFFSET));
}

static struct ccfb_recv *recv_new(void)
{
        struct ccfb_recv_config cfg = {.sender_ssrc = 0xabcdef01, .ntp_offset_us = NTP_OFFSET};
        struct ccfb_recv *c = ccfb_recv_new(&cfg);
        assert_non_null(c);
        return c;
}

/* Polls at the deadline (which must be at most `by`). */
static int poll_due(struct ccfb_recv *c, uint64_t by, struct buf *out, uint64_t *when)
{
        uint64_t d = ccfb_recv_next_deadline(c);
        assert_true(d > 0 && d <= by);
        assert_int_equal(ccfb_recv_poll(c, d - 1, out), 0); /* not before */
        *when = d;
        return ccfb_recv_poll(c, d, out);
}

static void test_round_trip(void **state)
{
        (void)state;
        struct ccfb_recv *c = recv_new();
        /* Two streams, interleaved; a gap (lost 102, 103) on the first. */
        uint64_t t0 = 5 * SEC;
        uint16_t a[] = {100, 101, 104, 105};
        uint16_t v[] = {7000, 7001, 7002};
        uint64_t ta[4], tv[3];
        for (int i = 0; i < 4; i++) {
                ta[i] = t0 + (uint64_t)i * 7 * MS + 123;
                ccfb_recv_packet(c, ta[i], 0x1111, a[i]);
                if (i < 3) {
                        tv[i] = ta[i] + 2 * MS;
                        ccfb_recv_packet(c, tv[i], 0x2222, v[i]);
                }
        }
        assert_int_equal(ccfb_recv_next_deadline(c), t0 + 123 + CCFB_DEFAULT_INTERVAL_US);
        struct buf out = BUF_INIT;
        uint64_t now;
        assert_int_equal(poll_due(c, t0 + SEC, &out, &now), 1);
        struct ccfb_report r[32];
        struct pkt_info pk[4];
        size_t npk;
        size_t n = collect(&out, r, 32, pk, 4, &npk);
        assert_int_equal(npk, 1);
        assert_int_equal(pk[0].p.sender_ssrc, 0xabcdef01);
        assert_int_equal(pk[0].p.report_timestamp, rts_at(now));
        assert_int_equal(pk[0].p.n_blocks, 2);
        /* 6 reports for 100..105, 3 for 7000..7002 (odd: padded). */
        assert_int_equal(n, 9);
        assert_int_equal(pk[0].len, 12 + 8 + 12 + 8 + 8);
        for (int i = 0; i < 6; i++) {
                assert_int_equal(r[i].ssrc, 0x1111);
                assert_int_equal(r[i].seq, 100 + i);
                assert_int_equal(r[i].ecn, 0);
        }
        assert_false(r[2].received);
        assert_false(r[3].received);
        assert_int_equal(r[2].ato, 0);
        int ai = 0;
        for (int i = 0; i < 6; i++) {
                if (!r[i].received)
                        continue;
                /* The offset is the time to the report in 1/1024 s, rounded. */
                uint64_t d = now - ta[ai++];
                assert_int_equal(r[i].ato, (d * 1024 + SEC / 2) / SEC);
        }
        for (int i = 0; i < 3; i++) {
                assert_int_equal(r[6 + i].ssrc, 0x2222);
                assert_int_equal(r[6 + i].seq, 7000 + i);
                assert_true(r[6 + i].received);
                assert_int_equal(r[6 + i].ato, ((now - tv[i]) * 1024 + SEC / 2) / SEC);
        }
        struct ccfb_recv_stats st;
        ccfb_recv_get_stats(c, &st);
        assert_int_equal(st.packets, 7);
        assert_int_equal(st.feedback_sent, 1);
        assert_int_equal(st.reports, 9);
        assert_int_equal(st.lost_reported, 2);
        /* Reported: nothing waits, the next batch starts after 105 and 7002. */
        assert_int_equal(ccfb_recv_next_deadline(c), UINT64_MAX);
        ccfb_recv_packet(c, now + 10 * MS, 0x1111, 107);
        buf_reset(&out);
        assert_int_equal(poll_due(c, now + SEC, &out, &now), 1);
        n = collect(&out, r, 32, pk, 4, &npk);
        assert_int_equal(n, 2);
        assert_int_equal(r[0].seq, 106);
        assert_false(r[0].received);
        assert_int_equal(r[1].seq, 107);
        assert_true(r[1].received);
        buf_free(&out);
        ccfb_recv_free(c);
}

static void test_offsets_over_range(void **state)
{
        (void)state;
        struct ccfb_recv_config cfg = {.sender_ssrc = 1, .interval_us = SEC};
        struct ccfb_recv *c = ccfb_recv_new(&cfg);
        /* 9 s, exactly 8189/1024 s, 1 ms and 0 before the report. */
        uint64_t now = 20 * SEC;
        uint64_t at[4] = {now - 9 * SEC, now - 8189ull * SEC / 1024, now - MS, now};
        for (int i = 0; i < 4; i++)
                ccfb_recv_packet(c, at[i], 9, (uint16_t)(65534 + i)); /* wraps: 65534..1 */
        struct buf out = BUF_INIT;
        assert_int_equal(ccfb_recv_poll(c, now, &out), 1);
        struct ccfb_report r[8];
        struct pkt_info pk[2];
        size_t npk;
        assert_int_equal(collect(&out, r, 8, pk, 2, &npk), 4);
        assert_int_equal(r[0].seq, 65534);
        assert_int_equal(r[3].seq, 1);
        assert_int_equal(r[0].ato, CCFB_ATO_OVER);
        assert_int_equal(r[1].ato, 8189);
        assert_int_equal(r[2].ato, 1);
        assert_int_equal(r[3].ato, 0);
        for (int i = 0; i < 4; i++)
                assert_true(r[i].received);
        buf_free(&out);
        ccfb_recv_free(c);
}

static void test_reorder_duplicates(void **state)
{
        (void)state;
        struct ccfb_recv *c = recv_new();
        struct buf out = BUF_INIT;
        struct ccfb_report r[64];
        struct pkt_info pk[2];
        size_t npk;
        uint64_t now = SEC;
        ccfb_recv_packet(c, now, 5, 10);
        ccfb_recv_packet(c, now + 1, 5, 12);
        ccfb_recv_packet(c, now + 2, 5, 11); /* reordered, not reported yet */
        ccfb_recv_packet(c, now + 3, 5, 12); /* duplicate */
        assert_int_equal(poll_due(c, now + SEC, &out, &now), 1);
        assert_int_equal(collect(&out, r, 64, pk, 2, &npk), 3);
        for (int i = 0; i < 3; i++)
                assert_true(r[i].received);
        /* 13 lost, then 14; 13 arrives after its loss was reported: the next batch reports
         * from 13 again, 14 included. */
        ccfb_recv_packet(c, now + MS, 5, 14);
        buf_reset(&out);
        assert_int_equal(poll_due(c, now + SEC, &out, &now), 1);
        assert_int_equal(collect(&out, r, 64, pk, 2, &npk), 2);
        assert_int_equal(r[0].seq, 13);
        assert_false(r[0].received);
        ccfb_recv_packet(c, now + MS, 5, 13);
        ccfb_recv_packet(c, now + 2 * MS, 5, 15);
        buf_reset(&out);
        assert_int_equal(poll_due(c, now + SEC, &out, &now), 1);
        assert_int_equal(collect(&out, r, 64, pk, 2, &npk), 3);
        assert_int_equal(r[0].seq, 13);
        assert_true(r[0].received);
        assert_int_equal(r[1].seq, 14);
        assert_int_equal(r[2].seq, 15);
        assert_true(r[1].received && r[2].received);
        /* Far behind (more than CCFB_REORDER): ignored. */
        ccfb_recv_packet(c, now + MS, 5, (uint16_t)(15 - CCFB_REORDER - 1));
        assert_int_equal(ccfb_recv_next_deadline(c), UINT64_MAX);
        struct ccfb_recv_stats st;
        ccfb_recv_get_stats(c, &st);
        assert_int_equal(st.duplicates, 1);
        assert_int_equal(st.reordered, 3);
        assert_int_equal(st.dropped, 1);
        buf_free(&out);
        ccfb_recv_free(c);
}

/* A big batch splits into packets within the size limit that together cover every number. */
static void test_split(void **state)
{
        (void)state;
        struct ccfb_recv *c = recv_new();
        uint64_t now = SEC;
        uint16_t seq = 65000;
        /* 500 per stream (some lost) for three streams: 1500 reports, over 3000 bytes. */
        for (int i = 0; i < 500; i++, seq++) {
                for (uint32_t s = 1; s <= 3; s++)
                        if ((i + (int)s) % 9 != 0)
                                ccfb_recv_packet(c, now + (uint64_t)i * 50, s, seq);
        }
        struct buf out = BUF_INIT;
        int k = ccfb_recv_poll(c, now + SEC, &out);
        assert_true(k >= 3);
        struct ccfb_report *r = calloc(4000, sizeof(*r));
        struct pkt_info pk[16];
        size_t npk;
        size_t n = collect(&out, r, 4000, pk, 16, &npk);
        assert_int_equal(npk, (size_t)k);
        assert_int_equal(n, 1500);
        /* In order per stream, contiguous across packets. */
        size_t i = 0;
        for (uint32_t s = 1; s <= 3; s++)
                for (int j = 0; j < 500; j++, i++) {
                        assert_int_equal(r[i].ssrc, s);
                        assert_int_equal(r[i].seq, (uint16_t)(65000 + j));
                        assert_int_equal(r[i].received, (j + (int)s) % 9 != 0);
                }
        for (size_t p = 0; p < npk; p++)
                assert_int_equal(pk[p].p.report_timestamp, rts_at(now + SEC));
        free(r);
        buf_free(&out);
        ccfb_recv_free(c);
}

/* Feedback is due at once when half the history waits; a huge jump restarts the stream. */
static void test_limits(void **state)
{
        (void)state;
        struct ccfb_recv *c = recv_new();
        uint64_t now = SEC;
        for (int i = 0; i < CCFB_HISTORY / 2; i++)
                ccfb_recv_packet(c, now + (uint64_t)i, 1, (uint16_t)i);
        assert_int_equal(ccfb_recv_next_deadline(c), now + CCFB_HISTORY / 2 - 1);
        struct buf out = BUF_INIT;
        assert_true(ccfb_recv_poll(c, now + CCFB_HISTORY / 2 - 1, &out) >= 1);
        /* A jump of more than the history: not reported as thousands of losses. */
        ccfb_recv_packet(c, now + MS, 1, 30000);
        ccfb_recv_packet(c, now + MS + 1, 1, 30001);
        buf_reset(&out);
        assert_int_equal(ccfb_recv_poll(c, now + SEC, &out), 1);
        struct ccfb_report r[8];
        struct pkt_info pk[2];
        size_t npk;
        assert_int_equal(collect(&out, r, 8, pk, 2, &npk), 2);
        assert_int_equal(r[0].seq, 30000);
        /* More streams than tracked: the least recently heard makes room. */
        for (uint32_t s = 100; s < 100 + CCFB_MAX_SSRCS + 2; s++)
                ccfb_recv_packet(c, now + 2 * SEC + s, s, 1);
        buf_reset(&out);
        assert_int_equal(ccfb_recv_poll(c, now + 3 * SEC, &out), 1);
        assert_int_equal(collect(&out, r, 8, pk, 2, &npk), CCFB_MAX_SSRCS);
        struct ccfb_recv_stats st;
        ccfb_recv_get_stats(c, &st);
        assert_int_equal(st.dropped, 2); /* streams 100 and 101, unreported */
        /* Edges. */
        assert_int_equal(ccfb_recv_poll(NULL, 0, &out), -EINVAL);
        assert_int_equal(ccfb_recv_poll(c, 0, NULL), -EINVAL);
        assert_null(ccfb_recv_new(NULL));
        assert_int_equal(ccfb_recv_next_deadline(NULL), UINT64_MAX);
        ccfb_recv_packet(NULL, 0, 0, 0);
        ccfb_recv_free(NULL);
        buf_free(&out);
        ccfb_recv_free(c);
}

/* The sending side: sent packets by (SSRC, seq), feedback back to transport-wide numbers. */
static void test_send_mapping(void **state)
{
        (void)state;
        struct ccfb_send *tx = ccfb_send_new();
        assert_non_null(tx);
        struct ccfb_recv *rx = recv_new();
        /* Transport-wide numbers wrap at 65535 -> 0; audio and video interleave. */
        uint16_t tseq = 65530, aseq = 65533, vseq = 100;
        uint64_t arrival[20];
        uint16_t tn[20];
        for (int i = 0; i < 20; i++) {
                bool audio = i % 4 == 0;
                uint32_t ssrc = audio ? 0xaaaa : 0xbbbb;
                uint16_t seq = audio ? aseq++ : vseq++;
                tn[i] = tseq;
                ccfb_send_packet(tx, ssrc, seq, tseq++);
                arrival[i] = 3 * SEC + (uint64_t)i * 3 * MS;
                if (i != 7) /* lost */
                        ccfb_recv_packet(rx, arrival[i], ssrc, seq);
        }
        /* A packet of an SSRC we never sent. */
        ccfb_recv_packet(rx, 3 * SEC + 70 * MS, 0xcccc, 1);
        struct buf out = BUF_INIT;
        assert_int_equal(ccfb_recv_poll(rx, 3 * SEC + 100 * MS, &out), 1);
        const struct gcc_packet_report *rep;
        int n = ccfb_send_feedback(tx, out.data, out.len, &rep);
        assert_int_equal(n, 20);
        struct ccfb_send_stats st;
        ccfb_send_get_stats(tx, &st);
        assert_int_equal(st.unknown, 1);
        assert_int_equal(st.feedback, 1);
        /* Every packet once, with its transport-wide number; arrival differences kept (the
         * offsets have 1/1024 s resolution). */
        int64_t base = 0;
        bool have = false;
        for (int i = 0; i < 20; i++) {
                int k = -1;
                for (int j = 0; j < n; j++)
                        if (rep[j].seq == tn[i])
                                k = j;
                assert_true(k >= 0);
                assert_int_equal(rep[k].received, i != 7);
                assert_int_equal(rep[k].has_arrival, i != 7);
                if (i == 7)
                        continue;
                if (!have) {
                        base = rep[k].arrival_us - (int64_t)arrival[i];
                        have = true;
                }
                int64_t err = rep[k].arrival_us - (int64_t)arrival[i] - base;
                assert_true(err >= -1000 && err <= 1000);
        }
        /* Garbage is counted and refused. */
        uint8_t junk[8] = {0x8b, 205, 0, 1, 0, 0, 0, 0};
        assert_int_equal(ccfb_send_feedback(tx, junk, sizeof(junk), &rep), -EPROTO);
        ccfb_send_get_stats(tx, &st);
        assert_int_equal(st.malformed, 1);
        /* Once gcc's history has moved on, old numbers are unknown rather than misattributed. */
        for (int i = 0; i < (int)GCC_HISTORY; i++)
                ccfb_send_packet(tx, 0xdddd, (uint16_t)i, tseq++);
        n = ccfb_send_feedback(tx, out.data, out.len, &rep);
        assert_int_equal(n, 0);
        buf_free(&out);
        ccfb_recv_free(rx);
        ccfb_send_free(tx);
        ccfb_send_free(NULL);
}

/* The Report Timestamp (1/65536 s) wraps every 65536 s: arrival times go on smoothly. */
static void test_send_rts_wrap(void **state)
{
        (void)state;
        struct ccfb_send *tx = ccfb_send_new();
        /* The receiver's NTP time is 1 s before a wrap of the middle 32 bits. */
        struct ccfb_recv_config cfg = {.sender_ssrc = 1,
                                       .ntp_offset_us = 65536ull * 50000 * SEC - 1 * SEC};
        struct ccfb_recv *rx = ccfb_recv_new(&cfg);
        struct buf out = BUF_INIT;
        const struct gcc_packet_report *rep;
        int64_t prev = 0;
        for (int i = 0; i < 40; i++) {
                uint64_t t = (uint64_t)i * 100 * MS;
                ccfb_send_packet(tx, 7, (uint16_t)i, (uint16_t)i);
                ccfb_recv_packet(rx, t, 7, (uint16_t)i);
                buf_reset(&out);
                assert_int_equal(ccfb_recv_poll(rx, t + 60 * MS, &out), 1);
                assert_int_equal(ccfb_send_feedback(tx, out.data, out.len, &rep), 1);
                assert_true(rep[0].has_arrival);
                if (i > 0) {
                        int64_t d = rep[0].arrival_us - prev;
                        assert_true(d >= 99000 && d <= 101000);
                }
                prev = rep[0].arrival_us;
        }
        buf_free(&out);
        ccfb_recv_free(rx);
        ccfb_send_free(tx);
}

static size_t put_block(uint8_t *p, uint32_t ssrc, uint16_t begin, uint16_t n)
{
        p[0] = (uint8_t)(ssrc >> 24);
        p[1] = (uint8_t)(ssrc >> 16);
        p[2] = (uint8_t)(ssrc >> 8);
        p[3] = (uint8_t)ssrc;
        p[4] = (uint8_t)(begin >> 8);
        p[5] = (uint8_t)begin;
        p[6] = (uint8_t)(n >> 8);
        p[7] = (uint8_t)n;
        return 8;
}

/* Header and sender SSRC for a packet of `words` 32-bit words in all. */
static void put_head(uint8_t *p, size_t words, bool pad)
{
        p[0] = (uint8_t)(0x80 | (pad ? 0x20 : 0) | CCFB_FMT);
        p[1] = RTCP_PT_RTPFB;
        p[2] = (uint8_t)((words - 1) >> 8);
        p[3] = (uint8_t)(words - 1);
        memset(p + 4, 0x11, 4);
}

static void test_parse_hostile(void **state)
{
        (void)state;
        struct ccfb_packet p;
        uint8_t b[256] = {0};
        /* Smallest valid: no blocks, only the timestamp. */
        put_head(b, 3, false);
        b[8] = 0x12;
        b[11] = 0x34;
        assert_int_equal(ccfb_parse(&p, b, 12), 0);
        assert_int_equal(p.n_blocks, 0);
        assert_int_equal(p.report_timestamp, 0x12000034);
        assert_int_equal(ccfb_decode(&p, NULL, 0), 0);
        /* Too short for the timestamp; length field disagreeing; wrong FMT, PT, version. */
        put_head(b, 2, false);
        assert_int_equal(ccfb_parse(&p, b, 8), -EPROTO);
        put_head(b, 3, false);
        assert_int_equal(ccfb_parse(&p, b, 16), -EPROTO);
        assert_int_equal(ccfb_parse(&p, b, 4), -EPROTO);
        b[0] = 0x80 | 15;
        assert_int_equal(ccfb_parse(&p, b, 12), -EPROTO);
        put_head(b, 3, false);
        b[1] = RTCP_PT_PSFB;
        assert_int_equal(ccfb_parse(&p, b, 12), -EPROTO);
        put_head(b, 3, false);
        b[0] = 0x40 | CCFB_FMT;
        assert_int_equal(ccfb_parse(&p, b, 12), -EPROTO);
        assert_int_equal(ccfb_parse(&p, NULL, 0), -EPROTO);

        /* One block of 3 reports (padded to 4): 12 + 8 + 8 = 28 bytes. */
        memset(b, 0, sizeof(b));
        put_head(b, 7, false);
        put_block(b + 8, 0x55, 65535, 3);
        b[16] = 0x80 | 0x60; /* received, CE */
        b[17] = 0x05;
        b[18] = 0x00;
        b[20] = 0x9f;
        b[21] = 0xfe; /* received, Not-ECT, over-range */
        assert_int_equal(ccfb_parse(&p, b, 28), 0);
        struct ccfb_report r[8];
        assert_int_equal(ccfb_decode(&p, r, 8), 3);
        assert_int_equal(r[0].seq, 65535);
        assert_true(r[0].received);
        assert_int_equal(r[0].ecn, 3);
        assert_int_equal(r[0].ato, 5);
        assert_int_equal(r[1].seq, 0);
        assert_false(r[1].received);
        assert_int_equal(r[2].seq, 1);
        assert_int_equal(r[2].ecn, 0);
        assert_int_equal(r[2].ato, CCFB_ATO_OVER);
        /* Fewer slots than reports: the count still says how many there are. */
        assert_int_equal(ccfb_decode(&p, r, 1), 3);
        /* The same block claiming 4 reports fits exactly too (the pad was a report). */
        b[15] = 4;
        assert_int_equal(ccfb_parse(&p, b, 28), 0);
        assert_int_equal(p.n_reports, 4);
        /* num_reports beyond the packet; the packet cut before the padding. */
        b[15] = 5;
        assert_int_equal(ccfb_parse(&p, b, 28), -EPROTO);
        b[15] = 3;
        put_head(b, 6, false);
        assert_int_equal(ccfb_parse(&p, b, 24), -EPROTO);
        /* A truncated block header before the timestamp. */
        memset(b, 0, sizeof(b));
        put_head(b, 5, false);
        put_block(b + 8, 1, 0, 0);
        assert_int_equal(ccfb_parse(&p, b, 20), 0); /* a block with no reports is fine */
        put_head(b, 4, false);
        assert_int_equal(ccfb_parse(&p, b, 16), -EPROTO);
        /* Over 16384 reports in one block, with the bytes for them. */
        size_t big = 12 + 8 + 2 * 16386;
        uint8_t *bb = calloc(1, big);
        put_head(bb, big / 4, false);
        put_block(bb + 8, 1, 0, 16385);
        assert_int_equal(ccfb_parse(&p, bb, big), -EPROTO);
        put_head(bb, (big - 4) / 4, false);
        put_block(bb + 8, 1, 0, 16384);
        assert_int_equal(ccfb_parse(&p, bb, big - 4), 0);
        assert_int_equal(p.n_reports, 16384);
        free(bb);
        /* Padding: a valid count is accepted, zero or past the body is not. */
        memset(b, 0, sizeof(b));
        put_head(b, 4, true);
        b[15] = 4;
        assert_int_equal(ccfb_parse(&p, b, 16), 0);
        b[15] = 0;
        assert_int_equal(ccfb_parse(&p, b, 16), -EPROTO);
        b[15] = 13;
        assert_int_equal(ccfb_parse(&p, b, 16), -EPROTO);
        b[15] = 8; /* leaves only the sender SSRC: no timestamp */
        assert_int_equal(ccfb_parse(&p, b, 16), -EPROTO);
        assert_int_equal(ccfb_parse(NULL, b, 16), -EINVAL);
        assert_int_equal(ccfb_decode(NULL, r, 8), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_round_trip),
            cmocka_unit_test(test_offsets_over_range),
            cmocka_unit_test(test_reorder_duplicates),
            cmocka_unit_test(test_split),
            cmocka_unit_test(test_limits),
            cmocka_unit_test(test_send_mapping),
            cmocka_unit_test(test_send_rts_wrap),
            cmocka_unit_test(test_parse_hostile),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
