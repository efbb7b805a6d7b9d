/*
 * Offer/answer for rtcpeer (JSEP, RFC 8829), max-bundle only: one transport for everything.
 *
 * What rtcpeer speaks: audio opus/48000/2, video VP8/90000 with rtx, data channels over
 * UDP/DTLS/SCTP (also the older DTLS/SCTP + a=sctpmap form when answering), header extensions
 * sdes:mid and transport-wide-cc, congestion control feedback transport-cc and RFC 8888 ccfb.
 */
#ifndef RTCPEER_SDP_NEGOTIATE_H
#define RTCPEER_SDP_NEGOTIATE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "sdp/sdp.h"

#define SDP_PT_OPUS          111
#define SDP_PT_VP8           96
#define SDP_PT_RTX           97
#define SDP_SCTP_PORT        5000
#define SDP_MAX_MESSAGE_SIZE 262144
/* RFC 8841: no a=max-message-size means 64 KiB. */
#define SDP_DEFAULT_MAX_MESSAGE_SIZE 65536
#define SDP_EXT_MID_URI              "urn:ietf:params:rtp-hdrext:sdes:mid"
#define SDP_EXT_TWCC_URI             "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
/* RFC 8888 congestion control feedback, offered and answered as a=rtcp-fb:* ack ccfb. */
#define SDP_FB_CCFB "ack ccfb"
#define SDP_FB_TWCC "transport-cc"
/* Ids in our offers, the same in every section of the bundle. */
#define SDP_EXT_MID_ID  1
#define SDP_EXT_TWCC_ID 2

/*
 * Which congestion control feedback for audio and video we offer, and accept in an answer:
 * transport-wide (a=rtcp-fb transport-cc and its header extension), RFC 8888 (ack ccfb), or both.
 * SDP_FEEDBACK_DEFAULT is both. (The shell maps the RTCPEER_FEEDBACK test aid onto this.)
 */
enum sdp_feedback {
        SDP_FEEDBACK_DEFAULT = 0,
        SDP_FEEDBACK_BOTH,
        SDP_FEEDBACK_TWCC,
        SDP_FEEDBACK_CCFB,
};

/* Our side. Strings and arrays belong to the caller and are copied. */
struct sdp_local {
        const char *ice_ufrag;
        const char *ice_pwd;
        const char *fingerprint_algo; /* "sha-256" */
        const char *fingerprint;      /* "AB:CD:..." */
        uint64_t session_id;
        const struct sdp_candidate *candidates; /* may be NULL when n_candidates is 0 */
        size_t n_candidates;
        bool end_of_candidates;
        const char *cname;       /* required when sending audio or video */
        const char *stream_id;   /* msid stream; NULL or "" means "-" */
        const char *audio_track; /* msid track ids; NULL: derived from stream_id */
        const char *video_track;
        bool data;                 /* data channels */
        uint64_t max_message_size; /* 0: SDP_MAX_MESSAGE_SIZE */
        enum sdp_direction audio;  /* SDP_DIR_NONE: no audio at all */
        enum sdp_direction video;
        uint32_t audio_ssrc;
        uint32_t video_ssrc;
        uint32_t video_rtx_ssrc; /* 0: no rtx stream announced */
        enum sdp_feedback feedback;
};

/* Our offer: audio, video, application sections for what is enabled, all in one BUNDLE. */
int sdp_create_offer(const struct sdp_local *local, struct sdp **out);

/*
 * Our answer to a remote offer. -ENOTSUP when no section can be accepted (err->msg names the
 * reason for each section), -EBADMSG when the offer is unusable (missing ICE credentials or
 * fingerprint in a section we would accept, a=setup:holdconn...), -EINVAL for a bad `local`.
 */
int sdp_create_answer(const struct sdp *offer, const struct sdp_local *local, struct sdp **out,
                      struct sdp_error *err);

/* Checks a remote answer against our offer. 0, -EBADMSG or -ENOTSUP (nothing accepted). */
int sdp_check_answer(const struct sdp *offer, const struct sdp *answer, struct sdp_error *err);

/* One line for logs: "audio opus sendrecv, video VP8 recvonly, data sctp:5000 (bundle 0 1 2)". */
int sdp_describe(const struct sdp *s, struct buf *out);

#endif
