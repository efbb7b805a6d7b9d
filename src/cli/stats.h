/*
 * --stats: one JSON object per second (JSON Lines) with the W3C webrtc-stats names and types
 * (https://www.w3.org/TR/webrtc-stats/) for what this version carries: transport,
 * candidate-pair, local-candidate, remote-candidate, outbound-rtp, remote-inbound-rtp,
 * inbound-rtp and data-channel. Figures of ours without a W3C name are prefixed "rtcpeer". The last
 * line, written at exit, has "final": true.
 */
#ifndef RTCPEER_CLI_STATS_H
#define RTCPEER_CLI_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/buf.h"
#include "ice/ice.h"
#include "cli/mediarecv.h"
#include "rtp/gcc.h"
#include "rtp/rtp_receiver.h"
#include "rtp/rtp_sender.h"

struct stats_channel {
        uint16_t id;
        char label[64];
        const char *state; /* "open", "closed" */
        uint64_t messages_sent, bytes_sent, messages_received, bytes_received;
};

struct stats_outbound {
        const char *kind; /* "audio", "video" */
        uint32_t ssrc;
        uint32_t clock_rate;
        uint32_t target_bps; /* congestion control's share for this track, 0: none yet */
        double fps;          /* video frames sent per second since the previous line */
        /* The size video is coded at (congestion control may scale it down); 0: unknown. */
        unsigned frame_width, frame_height;
        struct rtp_sender_stats rtp;
};

struct stats_inbound {
        const char *kind; /* "audio", "video" */
        uint32_t clock_rate;
        struct rtp_receiver_stats rtp;
        bool have_media; /* decoder and output figures below */
        double fps;      /* video frames decoded per second since the previous line */
        struct mediarecv_stats media;
};

struct stats_snapshot {
        uint64_t timestamp_ms; /* wall clock, ms since 1970 (DOMHighResTimeStamp) */
        const char *ice_state; /* "new", "checking", "connected", ... */
        const char *dtls_state;
        const char *dtls_role; /* "client", "server", or NULL before the handshake */
        const char *dtls_cipher;
        const char *srtp_cipher;
        bool have_pair;
        struct ice_pair_stats pair;
        const char *local_relay_protocol; /* "udp", "tcp", "tls" for a relay candidate */
        struct stats_outbound outbound[2];
        int n_outbound;
        bool have_bwe;
        struct gcc_stats bwe;
        uint32_t data_budget_bps; /* with have_bwe: what data channels may send, 0: no limit */
        struct stats_inbound inbound[2];
        int n_inbound;
        struct stats_channel channels[8];
        int n_channels;
};

/* Appends one JSON line (with a newline) for the snapshot. */
int stats_format(const struct stats_snapshot *st, bool final, struct buf *out);

#endif
