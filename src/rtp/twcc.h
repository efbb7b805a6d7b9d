/*
 * Transport-wide congestion control feedback, the receiving side
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01), sans-IO: the transport-wide sequence
 * number and arrival time of every received RTP packet in; RTCP RTPFB FMT=15 packets out, one
 * batch per feedback interval (50 ms by default, as libwebrtc's receiver).
 *
 * What a batch reports. Sequence numbers are unwrapped to 64 bits. A batch starts where the last
 * one ended, so a gap across two intervals is reported as lost, and it ends at the highest packet
 * received. A packet arriving out of order is reported if its number has not been reported yet;
 * one older than that is counted (reordered, dropped) and ignored, as are duplicates.
 *
 * Splitting. Each RTCP packet stays within TWCC_MAX_PACKET_BYTES and TWCC_MAX_STATUS statuses. A
 * new one starts, with its own reference time, when the next delta does not fit 16 bits
 * (8.19 s); a gap of TWCC_MAX_STATUS or more lost packets is not reported at all: the next packet
 * starts at the next received one, since a sender has long forgotten packets that old.
 *
 * Encoding, as libwebrtc: run-length chunks while the status repeats, 1-bit vector chunks for
 * mixed received/lost, 2-bit vector chunks when a delta is large or negative; 1-byte deltas for
 * 0..63.75 ms, 2-byte signed deltas otherwise, in 250 us units computed from absolute times so
 * the rounding does not accumulate. Padding uses the P bit and a count in the last byte.
 *
 * Memory: at most TWCC_MAX_PENDING received packets wait for a feedback; feedback is due at once
 * when half of that is used, so a caller that polls at the deadline never loses one.
 */
#ifndef RTCPEER_RTP_TWCC_H
#define RTCPEER_RTP_TWCC_H

#include <stdint.h>

#include "core/buf.h"

#define TWCC_DEFAULT_INTERVAL_US 50000
#define TWCC_MAX_PACKET_BYTES    1200
#define TWCC_MAX_STATUS          4096
#define TWCC_MAX_PENDING         8192

struct twcc_recv_config {
        uint32_t sender_ssrc; /* our RTCP sender SSRC */
        uint32_t media_ssrc;  /* one of the remote's media SSRCs (Chromium puts its own there) */
        uint64_t interval_us; /* 0: TWCC_DEFAULT_INTERVAL_US */
};

struct twcc_recv_stats {
        uint64_t packets;       /* twcc_recv_packet calls */
        uint64_t feedback_sent; /* RTCP packets built */
        uint64_t reordered;     /* arrived after a higher sequence number (reported or not) */
        uint64_t lost_reported; /* "not received" statuses sent */
        uint64_t dropped;       /* not reported: too late, or the pending buffer was full */
        uint64_t duplicates;
};

struct twcc_recv;

/* NULL on allocation failure or a NULL cfg. */
struct twcc_recv *twcc_recv_new(const struct twcc_recv_config *cfg);
void twcc_recv_free(struct twcc_recv *t);
void twcc_recv_set_media_ssrc(struct twcc_recv *t, uint32_t ssrc);
/* One received packet's transport-wide sequence number and arrival time (caller's monotonic µs). */
void twcc_recv_packet(struct twcc_recv *t, uint64_t now, uint16_t seq);
/* When twcc_recv_poll will have something; UINT64_MAX when nothing is pending. */
uint64_t twcc_recv_next_deadline(const struct twcc_recv *t);
/*
 * Builds due feedback: appends one or more complete RTCP RTPFB FMT=15 packets to out, back to
 * back, when a feedback interval has passed and packets arrived since the last one. Returns the
 * number of packets appended (0 when nothing is due), or -ENOMEM / -EINVAL with out and the
 * state unchanged. A batch can exceed one MTU: send the packets separately (their RTCP length
 * fields delimit them), or a few per datagram.
 */
int twcc_recv_poll(struct twcc_recv *t, uint64_t now, struct buf *out);
void twcc_recv_get_stats(const struct twcc_recv *t, struct twcc_recv_stats *out);

#endif
