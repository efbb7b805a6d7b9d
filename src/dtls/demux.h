/*
 * RFC 7983 demultiplexing: STUN, DTLS, TURN channel data, ZRTP and SRTP/SRTCP share one
 * 5-tuple under BUNDLE, and the first byte of a datagram tells them apart. Under rtcp-mux
 * (RFC 5761) the second byte then separates RTP from RTCP.
 */
#ifndef RTCPEER_DTLS_DEMUX_H
#define RTCPEER_DTLS_DEMUX_H

#include <stddef.h>
#include <stdint.h>

enum demux_kind {
        DEMUX_UNKNOWN = 0,  /* empty, truncated or a first byte no protocol claims: drop it */
        DEMUX_STUN,         /* 0..3 */
        DEMUX_ZRTP,         /* 16..19 */
        DEMUX_DTLS,         /* 20..63 */
        DEMUX_TURN_CHANNEL, /* 64..79 */
        DEMUX_RTP,          /* 128..191, payload type outside 64..95 */
        DEMUX_RTCP,         /* 128..191, packet type 192..223 */
};

/* Classifies one received datagram. Never reads past len. */
enum demux_kind demux_classify(const void *data, size_t len);

/* A short lowercase name for logs: "stun", "dtls", "rtp"... */
const char *demux_kind_name(enum demux_kind kind);

#endif
