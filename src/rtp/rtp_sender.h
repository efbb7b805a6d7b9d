/*
 * The sending side of one media track, sans-IO: encoded frames in, RTP and RTCP packets out.
 *
 *     encoder frame --> rtp_sender_send_frame --> packetizer --> pacer --+--> RTP out
 *                                                                        +--> send history
 *     RTCP in --> rtp_sender_handle_rtcp: NACK -> history -> RTX --> pacer (ahead of media)
 *                                         PLI/FIR -> keyframe request event (not for
 *                                           repeats of a request being answered)
 *                                         RR/SR report blocks, REMB -> stats
 *     timer --> sender reports (SR + SDES CNAME) every second; BYE on stop
 *
 * Timestamps: RTP time = ts_offset + capture_us * clock_rate / 1e6, so a sender report maps the
 * caller's clock to RTP time exactly. Opus timestamps advance by the samples each packet holds
 * (read from its TOC) and only jump to the capture clock after a gap (DTX), so capture jitter
 * does not reach the receiver's jitter buffer.
 *
 * Everything random (SSRCs, first sequence numbers, timestamp offset) comes from the caller,
 * which keeps this module deterministic under test. The transport-wide sequence number is shared
 * by all tracks of a transport, so it is not assigned here: packets carry the element with value
 * 0 and the output tells where the caller writes the real one just before SRTP protection.
 *
 * Driving it:
 *     rtp_sender_send_frame(s, now, capture_us, frame, len);   whenever the encoder has a frame
 *     rtp_sender_handle_rtcp(s, now, data, len);               for each unprotected RTCP datagram
 *     if now >= rtp_sender_next_deadline(s): rtp_sender_handle_timeout(s, now);
 *     after every call: while (rtp_sender_poll_output(s, &out) == 1) act on out;
 */
#ifndef RTCPEER_RTP_RTP_SENDER_H
#define RTCPEER_RTP_RTP_SENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTP_SENDER_DEFAULT_PACKET_SIZE 1200u
/* Room for the SRTP authentication tag: 10 bytes for HMAC-SHA1-80, 16 for AES-GCM. */
#define RTP_SENDER_SRTP_OVERHEAD      16u
#define RTP_SENDER_DEFAULT_HISTORY    512u
#define RTP_SENDER_DEFAULT_MAX_AGE_US 2000000u
#define RTP_SENDER_DEFAULT_SR_US      1000000u
#define RTP_SENDER_DEFAULT_BURST_US   10000u
/* Pacing rate = target bitrate * 5 / 2: frames leave faster than they come, but not at once. */
#define RTP_SENDER_PACING_NUM 5u
#define RTP_SENDER_PACING_DEN 2u
/* Queued media beyond this much time at the pacing rate raises the rate to drain it in time. */
#define RTP_SENDER_MAX_QUEUE_US 2000000u
/* Hard bound on queued packets: send_frame fails with -ENOBUFS past it. */
#define RTP_SENDER_MAX_QUEUE_PACKETS 4096u

enum rtp_sender_codec {
        RTP_SENDER_CODEC_VP8 = 1,
        RTP_SENDER_CODEC_OPUS,
};

/* Zero fields take the defaults above or as noted. */
struct rtp_sender_config {
        enum rtp_sender_codec codec;
        uint8_t pt;
        uint32_t clock_rate; /* 0 = 90000 for VP8, 48000 for Opus */
        uint32_t ssrc;
        bool rtx; /* RFC 4588 retransmission stream negotiated */
        uint8_t rtx_pt;
        uint32_t rtx_ssrc;
        uint16_t first_seq;
        uint16_t rtx_first_seq;
        uint32_t ts_offset;
        uint16_t first_picture_id; /* VP8 */
        const char *cname;         /* required, copied */
        const char *mid;           /* copied; sent when mid_ext_id is set */
        uint8_t mid_ext_id;        /* 0 = not negotiated */
        uint8_t twcc_ext_id;       /* 0 = not negotiated */
        size_t packet_size;        /* largest SRTP packet; 0 = 1200 */
        /* Largest RTP payload; 0 = packet_size minus header, extensions, SRTP tag and the RTX
         * OSN, so that a retransmission still fits. */
        size_t max_payload;
        /* NTP time in microseconds since 1900 minus the caller's monotonic time, for SRs. */
        uint64_t ntp_offset_us;
        uint32_t target_bitrate_bps; /* 0 = no pacing */
        uint64_t burst_us;           /* pacer bucket depth in time at the pacing rate */
        size_t history_size;         /* packets kept for NACK, rounded up to a power of two */
        uint64_t history_max_age_us;
        uint64_t sr_interval_us;
};

enum rtp_sender_output_kind {
        RTP_SENDER_OUT_RTP = 1,          /* protect with SRTP and send */
        RTP_SENDER_OUT_RTCP,             /* protect with SRTCP and send */
        RTP_SENDER_OUT_KEYFRAME_REQUEST, /* ask the encoder for a key frame */
        RTP_SENDER_OUT_NACK,             /* one NACK was handled: counts below */
        RTP_SENDER_OUT_REMB,             /* the receiver's bandwidth estimate */
};

struct rtp_sender_output {
        enum rtp_sender_output_kind kind;
        /* RTP, RTCP: valid until the next call on the sender. */
        const uint8_t *data;
        size_t len;
        bool retransmission; /* RTP: an RTX packet or a resent original */
        /* RTP with the transport-wide-cc element: offset of its 2-byte value in data, else 0. */
        size_t twcc_offset;
        bool fir; /* KEYFRAME_REQUEST: from a FIR (else a PLI) */
        uint32_t nack_requested, nack_resent, nack_missing; /* NACK */
        uint64_t remb_bps;                                  /* REMB */
};

/* Counters named after the W3C stats they feed (RTCOutboundRtpStreamStats). */
struct rtp_sender_stats {
        uint64_t packets_sent; /* including retransmissions */
        uint64_t bytes_sent;   /* payload bytes, including retransmissions */
        uint64_t header_bytes_sent;
        uint64_t retransmitted_packets_sent;
        uint64_t retransmitted_bytes_sent;
        uint64_t frames_sent;
        uint64_t nack_count; /* NACK packets for our SSRC */
        uint64_t pli_count;
        uint64_t fir_count; /* FIR entries for our SSRC, repeats included */
        uint64_t sr_sent;
        uint64_t padding_packets_sent; /* bandwidth probes */
        /* From the last report block about our SSRC (remote-inbound-rtp). */
        bool have_report;
        uint8_t fraction_lost;
        int32_t packets_lost;
        uint32_t jitter;
        bool rtt_valid;
        uint64_t rtt_us;
        uint64_t remb_bps;     /* 0 until a REMB names our SSRC */
        size_t queued_packets; /* in the pacer */
        size_t queued_bytes;
};

struct rtp_sender;

/* NULL on bad configuration (no cname, codec unknown, id 0 pt > 127...) or no memory. */
struct rtp_sender *rtp_sender_new(const struct rtp_sender_config *cfg);
void rtp_sender_free(struct rtp_sender *s);

/*
 * Packetizes one encoded frame (a VP8 frame or one Opus packet) captured at capture_us (the
 * caller's monotonic clock) and queues its packets in the pacer. 0, -EINVAL (empty frame, Opus
 * packet with a bad TOC), -ENOBUFS (pacer queue full), -EPIPE (stopped) or -ENOMEM.
 */
int rtp_sender_send_frame(struct rtp_sender *s, uint64_t now_us, uint64_t capture_us,
                          const void *frame, size_t len);
/* One received, unprotected RTCP datagram. 0 or -EPROTO (the whole datagram is ignored). */
int rtp_sender_handle_rtcp(struct rtp_sender *s, uint64_t now_us, const void *data, size_t len);
/* 1 = *out filled, 0 = nothing queued. */
int rtp_sender_poll_output(struct rtp_sender *s, struct rtp_sender_output *out);
/* Earliest time rtp_sender_handle_timeout has work; UINT64_MAX when idle. */
uint64_t rtp_sender_next_deadline(const struct rtp_sender *s);
void rtp_sender_handle_timeout(struct rtp_sender *s, uint64_t now_us);
/* Drops queued media and queues a final SR (or RR) + SDES + BYE. Later frames get -EPIPE. */
int rtp_sender_stop(struct rtp_sender *s, uint64_t now_us);
/* Sets the pacing rate (target * 2.5); 0 turns pacing off. */
void rtp_sender_set_target_bitrate(struct rtp_sender *s, uint64_t now_us, uint32_t bps);
/*
 * A padding-only packet on the RTX stream for bandwidth probing (RFC 4588 lets RTX carry
 * padding; receivers drop it): at most `size` bytes of RTP, built now and not paced, with the
 * transport-wide element at *twcc_offset when negotiated. -ENOTSUP without RTX.
 */
struct buf;
int rtp_sender_build_padding(struct rtp_sender *s, size_t size, struct buf *out,
                             size_t *twcc_offset);
void rtp_sender_get_stats(const struct rtp_sender *s, struct rtp_sender_stats *st);
/* The largest RTP payload (for VP8 including its descriptor) the sender produces. */
size_t rtp_sender_max_payload(const struct rtp_sender *s);

#endif
