/*
 * The receiving side of one media track (one remote SSRC, VP8 video or Opus audio), sans-IO:
 * unprotected RTP and RTCP in; complete frames in order at their playout time, RTCP feedback and
 * receiver reports out. The mirror of rtp_sender.
 *
 *     RTP in --> RTX unwrap --> packet buffer (by unwrapped sequence number, 1024 packets)
 *                                 |-- gaps --> NACK list --> RR + NACK          (video)
 *                                 |-- VP8 frames: assembled, decodability chain --> FRAME / LOST
 *                                 |-- Opus packets: one per playout slot        --> FRAME / LOST
 *     RTCP in --> SR (LSR/DLSR, NTP<->RTP map), BYE
 *     timer --> playout, NACK retries, PLI/FIR repeats, RR every rr_interval
 *
 * Playout time. RTP time maps to the caller's clock through the smallest transit (arrival minus
 * RTP time) seen: an earlier packet re-anchors the map at once; when every packet of a 1 s window
 * came later, the map moves up by a quarter of the excess, so clock drift or a longer path does
 * not add delay for ever. A frame is due at map(ts) + target + sync, where
 *     target = clamp(3 * jitter + (NACK and a loss in the last 2 s ? 1.5 * RTT : 0), min, max)
 * and jitter is the RFC 3550 interarrival jitter (itself smoothed with gain 1/16; no further
 * smoothing). As in libwebrtc, only in-order packets with a new timestamp feed the jitter (the
 * rest of a video frame left together; a late packet must not delay all others), and
 * retransmissions feed neither the jitter nor the map.
 *
 * Video. A frame is complete when the packets from its first one (VP8 S=1, partition 0) to the
 * marker are all here with one timestamp. It is released at max(now, due), in sequence order,
 * only when it is a key frame or follows the last released frame without a gap. A frame that is
 * incomplete at its due time but shows no loss (no hole from its first packet to the highest, no
 * later frame begun: a paced frame still arriving) is waited for. Once a hole or a later frame
 * shows loss, it is waited for while its packets still come (one target delay after the last) or
 * NACK can still bring them (tries left, or an answer to the last try due within RTT + 5 ms).
 * Never beyond map(ts) + max_delay + sync (also when the sender stops mid-frame); then it is
 * given up: the frames that cannot be decoded any more are dropped, one LOST tells how many
 * (frames_skipped counts those dropped at that moment; undecodable frames that arrive later while
 * waiting for the key frame are only counted in frames_dropped), and a key frame is requested. A
 * frame over max_frame_size, or whose packets do not form one VP8 frame, is given up at once;
 * so is every frame before a key frame that is complete (no request then: it is here), and,
 * while waiting for a key frame, a delta frame that shows loss or any frame before a key frame.
 *
 * Key frame requests: PLI, or FIR when only FIR was negotiated (each FIR is a new request with a
 * new sequence number: we repeat only because no key frame came, and a sender ignores a repeated
 * number), sent at once and then every max(RTT, 200 ms) until the first packet of a key frame
 * arrives. At the start, one is requested when no key frame began within 200 ms of the first
 * packet. Without PLI or FIR negotiated nothing is sent and the receiver just waits.
 *
 * NACK (video with cfg.nack only): a missing sequence number is asked for once a packet two past
 * it arrived or 5 ms after the gap was seen (reordering tolerance), then again RTT + Q + 5 ms
 * later, where Q is how much later than the fastest the last frames came (a queue the answer
 * waits in too, which an RTT measured on the empty path does not show), the wait doubling after
 * each unanswered try (at most 8x), at most 10 times, never once its frame was given up.
 * Requests go in a compound RR + NACK.
 *
 * Audio. Each packet is released at its due time in sequence order. A missing packet becomes a
 * LOST at its due time (once a later packet shows it is missing), carrying the next packet for
 * Opus in-band FEC when that is here; a packet arriving after its slot was played or concealed is
 * discarded. A sequence-contiguous packet whose timestamp jumps ahead (DTX) simply plays later.
 *
 * Sequence numbers: a jump of more than 3000 from the highest is taken as a restart of the sender
 * (new state, like a new stream) when the next packet follows it (RFC 3550 A.1; the first packet
 * is held back until then, not lost), else ignored. Memory: 1024 packets, at most
 * 2 * max_frame_size + 2 MiB of payload (packets beyond are discarded), 4096 queued outputs.
 * Times are microseconds of the caller's monotonic clock; values above 2^52 are clamped.
 *
 * Driving it:
 *     rtp_receiver_handle_rtp(r, now, data, len);     for each unprotected RTP packet (-ENOENT:
 *                                                     another track's packet)
 *     rtp_receiver_handle_rtcp(r, now, data, len);    for each unprotected RTCP datagram
 *     if now >= rtp_receiver_next_deadline(r): rtp_receiver_handle_timeout(r, now);
 *     after every call: while (rtp_receiver_poll_output(r, &out) == 1) act on out;
 */
#ifndef RTCPEER_RTP_RTP_RECEIVER_H
#define RTCPEER_RTP_RTP_RECEIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTP_RECEIVER_BUFFER_PACKETS     1024u
#define RTP_RECEIVER_MAX_DROPOUT        3000
#define RTP_RECEIVER_DEFAULT_RTT_US     100000u
#define RTP_RECEIVER_NACK_MAX_TRIES     10u
#define RTP_RECEIVER_NACK_REORDER_US    5000u
#define RTP_RECEIVER_NACK_REORDER_PKTS  2
#define RTP_RECEIVER_NACK_MARGIN_US     5000u
#define RTP_RECEIVER_NACK_MAX_BACKOFF   3 /* retry intervals double up to 8x */
#define RTP_RECEIVER_LOSS_MEMORY_US     2000000u
#define RTP_RECEIVER_KEYFRAME_GRACE_US  200000u
#define RTP_RECEIVER_KEYFRAME_REPEAT_US 200000u
#define RTP_RECEIVER_DEFAULT_FRAME_SIZE (4u << 20)
#define RTP_RECEIVER_DEFAULT_RR_US      1000000u
#define RTP_RECEIVER_MAX_SYNC_DELAY_US  10000000u
#define RTP_RECEIVER_VIDEO_MIN_DELAY_US 10000u
#define RTP_RECEIVER_VIDEO_MAX_DELAY_US 1000000u
#define RTP_RECEIVER_AUDIO_MIN_DELAY_US 20000u
#define RTP_RECEIVER_AUDIO_MAX_DELAY_US 500000u
#define RTP_RECEIVER_AUDIO_LOST_SAMPLES 960u

enum rtp_receiver_codec {
        RTP_RECEIVER_CODEC_VP8 = 1,
        RTP_RECEIVER_CODEC_OPUS,
};

/* Zero fields take the defaults above or as noted. */
struct rtp_receiver_config {
        enum rtp_receiver_codec codec;
        uint8_t pt;
        uint32_t clock_rate; /* 0: 90000 for VP8, 48000 for Opus; else 1000..1000000 */
        uint32_t ssrc;       /* remote media SSRC; 0: the first packet with `pt` fixes it */
        uint8_t rtx_pt;      /* 0: no RTX (RFC 4588) */
        uint32_t rtx_ssrc;   /* 0: any SSRC whose packets carry rtx_pt */
        uint32_t local_ssrc; /* packet sender SSRC of our RTCP (RR, NACK, PLI, FIR) */
        bool nack, pli, fir; /* feedback the SDP negotiated (rtcp-fb) */
        /* Playout delay bounds; 0: defaults (video 10 ms..1 s, audio 20 ms..500 ms). A max below
         * the min is raised to it. */
        uint64_t min_delay_us;
        uint64_t max_delay_us;
        uint64_t rr_interval_us; /* 0: 1 s, exactly (deterministic) */
        size_t max_frame_size;   /* 0: 4 MiB */
};

enum rtp_receiver_output_kind {
        RTP_RECEIVER_OUT_RTCP = 1, /* a compound RTCP packet: protect with SRTCP and send */
        RTP_RECEIVER_OUT_FRAME,    /* one complete frame (video) or packet (audio), in order, due */
        /* Audio: one packet missing at its playout time (conceal it). Video: frames given up,
         * decoding resumes at the next key frame. */
        RTP_RECEIVER_OUT_LOST,
};

struct rtp_receiver_output {
        enum rtp_receiver_output_kind kind;
        const uint8_t *data; /* RTCP, FRAME: valid until the next call on the receiver */
        size_t len;
        uint32_t rtp_ts;           /* FRAME, LOST */
        bool keyframe;             /* FRAME, video */
        uint64_t first_arrival_us; /* FRAME: arrival of its first packet */
        uint64_t playout_us;       /* FRAME, LOST: the time it was due */
        /* LOST audio: samples (48 kHz) to conceal: the duration of the last good packet, 960 if
         * unknown. */
        uint32_t samples;
        /* LOST audio: the following packet when it is already here (Opus in-band FEC), else
         * NULL. Valid until the next call. */
        const uint8_t *fec_data;
        size_t fec_len;
        uint32_t frames_skipped; /* LOST video: frames dropped */
};

/* Names follow W3C RTCInboundRtpStreamStats. */
struct rtp_receiver_stats {
        uint32_t ssrc;
        /* Media packets incl. recovered by RTX and late ones, excl. duplicates. */
        uint64_t packets_received;
        uint64_t bytes_received; /* payload bytes */
        uint64_t header_bytes_received;
        int64_t packets_lost; /* RFC 3550 cumulative: expected - received */
        uint64_t packets_duplicated;
        uint64_t packets_discarded;              /* arrived too late for playout */
        uint64_t retransmitted_packets_received; /* via RTX or a resent original */
        uint64_t nack_count;                     /* NACK packets sent */
        uint64_t nack_requested;                 /* sequence numbers asked for, retries included */
        uint64_t pli_count, fir_count;
        uint64_t frames_received; /* complete frames assembled (audio: packets) */
        uint64_t frames_dropped;  /* given up or undecodable */
        uint64_t keyframes_received;
        uint64_t concealed_packets;   /* audio LOST outputs */
        double jitter_s;              /* RFC 3550 interarrival jitter, seconds */
        double jitter_buffer_delay_s; /* sum over emitted frames of (emit time - first arrival) */
        uint64_t jitter_buffer_emitted_count;
        uint64_t target_delay_us; /* current playout delay target */
        uint64_t rtt_us;          /* as set by rtp_receiver_set_rtt */
        bool have_sr;
        uint64_t sr_received;
};

struct rtp_receiver;

/* NULL on bad configuration (unknown codec, pt > 127, rtx_pt == pt...) or no memory. */
struct rtp_receiver *rtp_receiver_new(const struct rtp_receiver_config *cfg);
void rtp_receiver_free(struct rtp_receiver *r);
/*
 * One unprotected RTP packet. 0 (also for packets dropped as duplicate, late, padding or a
 * suspected sequence jump); -ENOENT: not this track (other SSRC/PT: the caller tries the next
 * receiver); -EBADMSG: malformed (RTP header, VP8 descriptor, Opus TOC, RTX without its OSN).
 */
int rtp_receiver_handle_rtp(struct rtp_receiver *r, uint64_t now, const uint8_t *data, size_t len);
/* One unprotected (compound) RTCP datagram: SR from our remote SSRC (for LSR/DLSR and the
 * NTP<->RTP map), BYE (no more RRs until the SSRC sends again). Everything else ignored. 0 or
 * -EBADMSG. */
int rtp_receiver_handle_rtcp(struct rtp_receiver *r, uint64_t now, const uint8_t *data, size_t len);
/* Default 100 ms until set. */
void rtp_receiver_set_rtt(struct rtp_receiver *r, uint64_t rtt_us);
/*
 * Lip sync: extra playout delay added to every frame's due time, applied at once (the caller's
 * sync loop changes it in small steps); at most 10 s.
 */
void rtp_receiver_set_sync_delay(struct rtp_receiver *r, uint64_t extra_us);
/* The remote capture time (NTP, microseconds since 1900) of an RTP timestamp, from the last SR.
 * -ENODATA before an SR. */
int rtp_receiver_ntp_time(const struct rtp_receiver *r, uint32_t rtp_ts, uint64_t *ntp_us);
/*
 * The decoder failed or needs a key frame: PLI (or FIR when only FIR was negotiated) now, and
 * again every max(RTT, 200 ms) until the first packet of a key frame arrives. Video only; a
 * request before the first packet goes out with the first RR, after the first packet.
 */
void rtp_receiver_request_keyframe(struct rtp_receiver *r, uint64_t now);
uint64_t rtp_receiver_next_deadline(const struct rtp_receiver *r); /* UINT64_MAX: nothing */
void rtp_receiver_handle_timeout(struct rtp_receiver *r, uint64_t now);
int rtp_receiver_poll_output(struct rtp_receiver *r, struct rtp_receiver_output *out); /* 1/0 */
void rtp_receiver_get_stats(const struct rtp_receiver *r, struct rtp_receiver_stats *out);
uint32_t rtp_receiver_ssrc(const struct rtp_receiver *r); /* 0 until known */

#endif
