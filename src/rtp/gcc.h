/*
 * Send-side bandwidth estimation in the style of Google Congestion Control
 * (draft-ietf-rmcat-gcc-02, as libwebrtc's GoogCcNetworkController does it), sans-IO: sent
 * packets, transport-wide feedback, REMB and receiver reports in; a target bitrate and probe
 * requests out. Times are the caller's monotonic µs; arrival times in feedback are the remote
 * clock and only their differences are used.
 *
 *   feedback -> sent-packet ring (8192) -> packets sorted by arrival
 *        -> 5 ms send groups -> inter-group delay variation -> trendline (20 groups, least
 *           squares over the smoothed accumulated delay) -> overuse detector (adaptive
 *           threshold) -> AIMD rate controller                             = delay-based estimate
 *        -> acknowledged bitrate (bytes acked over 500 ms of arrival time): overuse sets the
 *           delay-based estimate to 0.85x it; increases stop at 1.5x it (app-limited)
 *        -> loss per >= 20 reported packets: > 10% cut by (1 - loss/2) at most every
 *           300 ms + RTT, 2-10% hold, < 2% raise 5% (to at most 5% above the delay-based
 *           estimate, so a later cut bites at once)                = loss-based estimate
 *        -> probe clusters (send rate vs receive rate)  -> raise both estimates
 *   target = min(delay-based, loss-based, REMB), clamped to [min, max]; it follows a fall at
 *   once and a rise at most twofold a second (a probe's jump included: a shaper's burst
 *   allowance can make a short probe pass at its own rate, well above the path's).
 *
 * Outages: without feedback for 2 s (or 3 RTTs) the estimate backs off by a fifth a second;
 * when feedback comes back it is at once 0.8x what it was when feedback stopped, and the
 * packets sent into the outage, reported lost, do not count as loss.
 *
 * One addition to the draft: loss of 2% or more while packets queue 40 ms beyond the path's
 * minimum one-way delay (the lowest of the last 30-60 s) counts as an overuse. A full drop-tail
 * queue has no delay gradient, and holding there (2-10% loss) starved a competing TCP flow.
 *
 * Without transport feedback (the peer only does REMB and receiver reports) the delay-based part
 * stays out: target = min(loss-based from receiver reports, REMB).
 *
 * Transport feedback comes in two kinds, both turned into the same per-packet reports ("packet
 * seq received at remote time t", or lost): transport-wide feedback (gcc_on_twcc, the packets'
 * transport-wide numbers) and RFC 8888 congestion control feedback (rtp/ccfb.h maps its
 * per-SSRC RTP sequence numbers back to the numbers given here, then gcc_on_feedback). The two
 * have different remote clocks: when the kind changes, the delay filters start over.
 *
 * Driving it:
 *     gcc_on_packet_sent(g, now, seq, size);    every packet with a transport-wide seq number
 *     gcc_on_twcc (or gcc_on_feedback) / gcc_on_remb / gcc_on_receiver_report as RTCP arrives
 *     gcc_on_other_sent(g, now, size);           every other datagram on the path (SCTP data)
 *     if now >= gcc_next_deadline(g): gcc_handle_timeout(g, now);
 *     after any of these: use gcc_target_bps(g), and drain gcc_poll_probe (below).
 *
 * Other traffic. Data channels (SCTP over DTLS) share the path but carry no transport-wide
 * numbers: their queueing shows only in the delay of our RTP packets. Their send rate (the last
 * 500 ms of gcc_on_other_sent) is added to the acknowledged bitrate where AIMD uses it (the
 * 1.5x growth limit, the 0.85x decrease, the capacity estimate), so the estimate is of media and
 * data together: counting media alone, a data flow taking half the path would have each decrease
 * go to 0.85x the media half, and the estimate shrink geometrically. The caller splits the target
 * between media and data and keeps data to its share.
 *
 * Probing. A probe is a cluster of packets sent at a given rate; the delay between them at the
 * receiver shows what the path carries. gcc_poll_probe hands out one cluster at a time: send at
 * probe.bps until at least probe.bytes AND probe.min_packets have gone out (media, RTX or padding
 * alike: everything sent meanwhile belongs to the cluster), calling gcc_probe_sent(g, seq, id)
 * right after gcc_on_packet_sent for each of them; then poll for the next one. Probes become
 * ready with the first sent packet (3x and 6x the start rate, as libwebrtc) and after an estimate
 * that came close to the last probe's rate (2x the estimate: exponential search, given up after
 * 1 s without such a result). Periodic probing in application-limited periods (ALR) is not done:
 * while app-limited the delay-based estimate may not grow past 1.5x the acknowledged rate.
 *
 * Feedback is processed per packet at most once: duplicated or reordered feedback only adds the
 * packets not seen before; a packet reported lost and later received counts as received. Packets
 * older than the ring, unknown or never sent are ignored, as is feedback that does not decode.
 */
#ifndef RTCPEER_RTP_GCC_H
#define RTCPEER_RTP_GCC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtp/rtcp.h"

#define GCC_DEFAULT_START_BPS 300000u
#define GCC_DEFAULT_MIN_BPS   30000u
#define GCC_DEFAULT_MAX_BPS   20000000u
#define GCC_HISTORY           8192u /* sent packets remembered for feedback */

struct gcc_config {
        uint32_t start_bps; /* 0: 300 kbit/s */
        uint32_t min_bps;   /* 0: 30 kbit/s */
        uint32_t max_bps;   /* 0: 20 Mbit/s */
};

struct gcc_probe {
        uint16_t id;          /* cluster id for gcc_probe_sent, never 0 */
        uint32_t bps;         /* rate to send the cluster at */
        size_t bytes;         /* send at least this much (whole packets on the wire)... */
        uint32_t min_packets; /* ...and at least this many packets */
};

enum gcc_feedback {
        GCC_FEEDBACK_NONE = 0,
        GCC_FEEDBACK_TWCC, /* transport-wide (draft-holmer-rmcat-transport-wide-cc-extensions) */
        GCC_FEEDBACK_CCFB, /* RFC 8888 */
};

/* One sent packet's fate, as transport feedback tells it. */
struct gcc_packet_report {
        uint16_t seq;       /* the number the packet was given to gcc_on_packet_sent with */
        bool received;      /* false: reported lost (it may still be reported received later) */
        bool has_arrival;   /* received, and arrival_us is known (RFC 8888 may not know it) */
        int64_t arrival_us; /* remote clock, any origin; one clock per feedback kind */
};

enum gcc_usage {
        GCC_UNDERUSE = -1,
        GCC_NORMAL = 0,
        GCC_OVERUSE = 1,
};

struct gcc_stats {
        uint32_t target_bps;
        uint32_t delay_bps; /* delay-based (AIMD) estimate */
        uint32_t loss_bps;  /* loss-based estimate */
        uint32_t acked_bps; /* acknowledged bitrate, 0 until known */
        uint32_t other_bps; /* send rate of gcc_on_other_sent traffic (last 500 ms) */
        uint64_t remb_bps;  /* 0: no REMB */
        double trend;       /* trendline slope, ms of queueing per ms */
        double modified_trend;
        double threshold;
        int state;         /* enum gcc_usage */
        double loss_ratio; /* of the last loss window */
        uint64_t rtt_us;
        uint64_t queue_us;       /* one-way delay above its minimum of the last 5-10 s */
        uint64_t feedback_count; /* feedback that decoded */
        uint64_t malformed;      /* feedback that did not */
        uint64_t acked;          /* packets reported received (first time) */
        uint64_t lost;           /* packets reported lost (first time) */
        uint64_t duplicates;     /* statuses for packets already reported received */
        uint64_t unknown;        /* statuses for packets not (or no longer) in the ring */
        uint64_t overuses;       /* decreases by the delay-based controller */
        uint64_t probes;         /* clusters handed out */
        uint64_t probe_results;  /* cluster estimates that raised the estimate */
        uint32_t last_probe_bps; /* last cluster estimate */
        uint64_t timeouts;       /* feedback timeouts (estimate halved) */
        uint64_t delay_resets;   /* delay filters restarted: remote clock jump, reordering, gap */
        int feedback;            /* enum gcc_feedback: the kind of the last transport feedback */
};

struct gcc;

/* NULL on allocation failure. cfg may be NULL for the defaults. */
struct gcc *gcc_new(const struct gcc_config *cfg);
void gcc_free(struct gcc *g);
/* Every packet sent with a transport-wide sequence number: its size on the wire (the whole SRTP
 * packet) and send time. */
void gcc_on_packet_sent(struct gcc *g, uint64_t now, uint16_t twcc_seq, size_t size);
/* A datagram without a transport-wide number sent on the same path (SCTP data in DTLS): its
 * size on the wire, as for gcc_on_packet_sent. It expects no feedback. */
void gcc_on_other_sent(struct gcc *g, uint64_t now, size_t size);
/* Tags a packet just passed to gcc_on_packet_sent as part of probe cluster id. 0, or -ENOENT
 * when the packet is not in the history, -EINVAL for an unknown cluster. */
int gcc_probe_sent(struct gcc *g, uint16_t twcc_seq, uint16_t id);
/* A transport feedback for our packets (already parsed). */
void gcc_on_twcc(struct gcc *g, uint64_t now, const struct rtcp_twcc *fb);
/*
 * Transport feedback already reduced to per-packet reports, in any order (RFC 8888 feedback
 * through rtp/ccfb.h; gcc_on_twcc comes here too). Counts as one feedback.
 */
void gcc_on_feedback(struct gcc *g, uint64_t now, enum gcc_feedback kind,
                     const struct gcc_packet_report *reports, size_t n);
/* The peer's REMB: its estimate caps ours. */
void gcc_on_remb(struct gcc *g, uint64_t now, uint64_t bps);
/* A report block about our stream: loss (fraction_lost/256) counts only while no transport
 * feedback flows; rtt_us (0: unknown) tunes the controllers. */
void gcc_on_receiver_report(struct gcc *g, uint64_t now, uint8_t fraction_lost, uint64_t rtt_us);
/* The feedback timeout (sent packets, no feedback for 1 s); UINT64_MAX: none. */
uint64_t gcc_next_deadline(const struct gcc *g);
void gcc_handle_timeout(struct gcc *g, uint64_t now);
/* A new configured maximum (0: the default), e.g. raised while data channels share the path;
 * the estimates are clamped to it. */
void gcc_set_max_bps(struct gcc *g, uint32_t max_bps);
/* What the encoders and data may send in total, bits per second. */
uint32_t gcc_target_bps(const struct gcc *g);
/* 1: *out is a probe cluster to send now, 0: none. */
int gcc_poll_probe(struct gcc *g, uint64_t now, struct gcc_probe *out);
void gcc_get_stats(const struct gcc *g, struct gcc_stats *out);

#endif
