/*
 * RTP Control Protocol (RTCP) Feedback for Congestion Control (RFC 8888, "ccfb": RTCP RTPFB,
 * PT=205, FMT=11), sans-IO. Negotiated with a=rtcp-fb:* ack ccfb (RFC 8888 section 6).
 *
 * The packet (section 3.1; num_reports counts the reports, as verified erratum 8166 reads it):
 *   |V=2|P| FMT=11  |   PT = 205    |           length              |
 *   |                 SSRC of RTCP packet sender                    |
 *   then for each reported RTP stream:
 *   |                 SSRC of the RTP stream                        |
 *   |          begin_seq            |          num_reports          |
 *   num_reports x |R|ECN|  Arrival time offset (13) |, padded with 16 zero bits to 32
 *   and last
 *   |   Report Timestamp: NTP middle 32 bits of the time the report was sent   |
 * R=0: not received (ECN and offset zero). The arrival time offset (ATO) is how long before the
 * Report Timestamp the packet arrived, in 1/1024 s; CCFB_ATO_OVER (0x1FFE) for more than
 * 8189/1024 s, CCFB_ATO_UNKNOWN (0x1FFF) when not known or after the Report Timestamp. A block
 * reports at most 16384 packets (a quarter of the sequence space).
 *
 * Three parts, one per direction plus the wire format:
 *
 * ccfb_recv, what we receive: the SSRC, sequence number and arrival time of every received RTP
 * packet in (ECN is reported Not-ECT: the shell does not read it from the socket); RTCP packets
 * out, one batch per feedback interval (50 ms, as our transport-wide feedback). Per stream a batch
 * reports from the first number not reported yet to the highest received, gaps as lost, and then
 * starts after it. A packet that arrives after its number was reported (reordering) makes the
 * next batch start again at it, if it is at most CCFB_REORDER behind, so the sender learns it
 * arrived; older ones and duplicates are counted and ignored. At most CCFB_HISTORY numbers per
 * stream wait for a report (feedback is due at once when half of that waits); a jump further
 * ahead than that starts the stream afresh. CCFB_MAX_SSRCS streams are tracked; a new one
 * replaces the one heard least recently. Packets stay within CCFB_MAX_PACKET_BYTES: a batch is
 * split into several, a stream's block across them when needed, all with the same timestamp.
 *
 * ccfb_parse / ccfb_decode: one RTCP packet, validated as a whole, then its reports in order.
 *
 * ccfb_send, what we send: feedback names packets by (SSRC, RTP sequence number), the estimator
 * (gcc.h) by the transport-wide number it was given at send time. ccfb_send_packet records the
 * pair for every RTP packet sent, and ccfb_send_feedback turns a feedback packet into gcc's
 * per-packet reports (gcc_on_feedback), with arrival times on the remote's clock (the Report
 * Timestamp unwrapped, minus the offsets). Packets not sent, or sent longer ago than gcc
 * remembers (GCC_HISTORY transport-wide numbers), are left out and counted as unknown.
 */
#ifndef RTCPEER_RTP_CCFB_H
#define RTCPEER_RTP_CCFB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "rtp/gcc.h"

#define CCFB_FMT                 11
#define CCFB_DEFAULT_INTERVAL_US 50000
#define CCFB_MAX_PACKET_BYTES    1200
#define CCFB_MAX_REPORTS         16384 /* per block (RFC 8888 section 3.1) */
#define CCFB_MAX_SSRCS           8     /* streams tracked at once, each side */
#define CCFB_HISTORY             1024  /* receiving side: numbers waiting per stream */
#define CCFB_REORDER             64    /* how far back a late packet is still reported */
#define CCFB_SEND_HISTORY        4096  /* sending side: packets remembered per stream */
#define CCFB_ATO_OVER            0x1ffe
#define CCFB_ATO_UNKNOWN         0x1fff

/* ---- receiving side ---- */

struct ccfb_recv_config {
        uint32_t sender_ssrc;   /* our RTCP sender SSRC */
        uint64_t ntp_offset_us; /* NTP time (µs since 1900) minus the caller's clock */
        uint64_t interval_us;   /* 0: CCFB_DEFAULT_INTERVAL_US */
};

struct ccfb_recv_stats {
        uint64_t packets;       /* ccfb_recv_packet calls */
        uint64_t feedback_sent; /* RTCP packets built */
        uint64_t reports;       /* per-packet reports sent (received or lost) */
        uint64_t lost_reported; /* "not received" reports */
        uint64_t reordered;     /* arrived after a higher sequence number */
        uint64_t duplicates;
        uint64_t dropped; /* not reported: too old, a stream replaced or restarted */
};

struct ccfb_recv;

/* NULL on allocation failure or a NULL cfg. */
struct ccfb_recv *ccfb_recv_new(const struct ccfb_recv_config *cfg);
void ccfb_recv_free(struct ccfb_recv *c);
/* One received RTP packet (authenticated) and its arrival time, the caller's monotonic µs. */
void ccfb_recv_packet(struct ccfb_recv *c, uint64_t now, uint32_t ssrc, uint16_t seq);
/* When ccfb_recv_poll will have something; UINT64_MAX when nothing waits. */
uint64_t ccfb_recv_next_deadline(const struct ccfb_recv *c);
/*
 * Builds due feedback: appends complete RTCP packets to out, back to back, when the interval has
 * passed and reports wait. Returns the number of packets appended (0 when nothing is due), or
 * -ENOMEM / -EINVAL with out and the state unchanged. Send them separately or a few at a time
 * (their length fields delimit them).
 */
int ccfb_recv_poll(struct ccfb_recv *c, uint64_t now, struct buf *out);
void ccfb_recv_get_stats(const struct ccfb_recv *c, struct ccfb_recv_stats *out);

/* ---- the wire format ---- */

struct ccfb_packet {
        uint32_t sender_ssrc;
        uint32_t report_timestamp; /* NTP middle 32 bits, 1/65536 s */
        size_t n_blocks;
        size_t n_reports;      /* in all blocks */
        const uint8_t *blocks; /* the report blocks, into the packet */
        size_t blocks_len;
};

struct ccfb_report {
        uint32_t ssrc;
        uint16_t seq;
        bool received;
        uint8_t ecn;  /* 0 Not-ECT, 1 ECT(1), 2 ECT(0), 3 CE */
        uint16_t ato; /* 1/1024 s before the Report Timestamp, or CCFB_ATO_OVER/UNKNOWN */
};

/*
 * Parses exactly one RTCP packet of len bytes (header included, as rtcp_packet.raw): PT 205,
 * FMT 11, blocks that fill it exactly, none over CCFB_MAX_REPORTS. 0 or -EPROTO.
 */
int ccfb_parse(struct ccfb_packet *out, const void *data, size_t len);
/* Writes the reports of a parsed packet in order (at most cap); returns n_reports. */
size_t ccfb_decode(const struct ccfb_packet *p, struct ccfb_report *out, size_t cap);

/* ---- sending side ---- */

struct ccfb_send_stats {
        uint64_t feedback;  /* packets that parsed */
        uint64_t malformed; /* packets that did not */
        uint64_t reports;   /* reports matched to a sent packet */
        uint64_t unknown;   /* reports for packets not sent, or no longer remembered */
};

struct ccfb_send;

struct ccfb_send *ccfb_send_new(void);
void ccfb_send_free(struct ccfb_send *c);
/* Every RTP packet sent: its SSRC and sequence number, and the number gcc_on_packet_sent got. */
void ccfb_send_packet(struct ccfb_send *c, uint32_t ssrc, uint16_t seq, uint16_t transport_seq);
/*
 * Turns one feedback packet (a whole RTCP packet, as ccfb_parse takes) into reports for
 * gcc_on_feedback(GCC_FEEDBACK_CCFB): *out points to them (valid until the next call) and the
 * count is returned; -EPROTO when it does not parse, -ENOMEM.
 */
int ccfb_send_feedback(struct ccfb_send *c, const void *data, size_t len,
                       const struct gcc_packet_report **out);
void ccfb_send_get_stats(const struct ccfb_send *c, struct ccfb_send_stats *out);

#endif
