/*
 * One peer connection, sans-IO: owns the ICE agent and the DTLS endpoint and routes datagrams
 * between them by their first byte (RFC 7983). The shell feeds it datagrams with the socket
 * ("base") they arrived on and the time, and drains datagrams to send and session events.
 */
#ifndef RTCPEER_SESSION_H
#define RTCPEER_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "dtls/cert.h"
#include "ice/ice.h"
#include "ice/turn.h"
#include "sctp/datachannel.h"
#include "sctp/sctp.h"
#include "sdp/sdp.h"

struct session_config {
        bool controlling;
        const char *ice_ufrag;
        const char *ice_pwd;
        enum ice_policy policy;
        const struct cert *cert;
        unsigned dtls_handshake_timeout_ms; /* 0: the DTLS default (30 s) */
        /* Media we send: SSRCs announced in our description, CNAME, target bitrates. */
        const char *cname;
        uint32_t ssrc[2];  /* SESSION_AUDIO, SESSION_VIDEO */
        uint32_t rtx_ssrc; /* video retransmissions */
        uint32_t bitrate[2];
        uint64_t ntp_offset_us; /* NTP time (µs since 1900) minus the monotonic clock */
};

enum session_media { SESSION_AUDIO = 0, SESSION_VIDEO = 1 };

enum session_event_kind {
        SESSION_EV_GATHERING_DONE = 1,
        SESSION_EV_ICE_STATE,     /* ice_state, reason */
        SESSION_EV_SELECTED_PAIR, /* selected */
        SESSION_EV_SECURE,        /* DTLS done and the fingerprint verified: cipher, srtp_profile */
        SESSION_EV_PEER_CLOSED,   /* the peer sent close_notify */
        SESSION_EV_FAILED,        /* exit_code and message: the session is over */
        SESSION_EV_RELAY_READY,   /* TURN allocation `base` is ready: local.addr = relayed */
        /*
         * TURN allocation `base` failed: message. When it carried the selected pair (the TURN
         * server restarted, stopped answering, closed the connection), SESSION_EV_FAILED with
         * EXIT_TURN and the same message comes instead: there is no other path.
         */
        SESSION_EV_RELAY_FAILED,
        SESSION_EV_DC_READY,         /* the SCTP association is up: channels may open */
        SESSION_EV_DC_OPEN,          /* the peer opened channel id: label, protocol */
        SESSION_EV_DC_MESSAGE,       /* a message on channel id: binary, data/len */
        SESSION_EV_DC_CLOSED,        /* channel id closed (both directions) */
        SESSION_EV_DC_BUFFERED_LOW,  /* channel id: the send buffer drained below the mark */
        SESSION_EV_KEYFRAME_REQUEST, /* the receiver asked for a key frame (PLI/FIR) */
        SESSION_EV_MEDIA_READY,      /* media (audio/video) can be sent: SRTP is keyed */
        SESSION_EV_REMOTE_MDNS,      /* a remote candidate needs an mDNS lookup: candidate */
        /*
         * Received media, in order at its playout time: media, data/len (a VP8 frame or an Opus
         * packet), rtp_ts, keyframe, playout_us, first_arrival_us. With `lost` set: audio
         * samples to conceal (data/len then hold the next packet for Opus FEC, or nothing);
         * video frames_skipped, decoding resumes at the next key frame.
         */
        SESSION_EV_MEDIA_FRAME,
        /* Congestion control moved a sending track's bitrate: media, bitrate_bps, and the loss
         * (percent) the estimator sees, for Opus FEC. */
        SESSION_EV_BITRATE,
};

/*
 * Bases: host sockets use the shell's numbers below SESSION_TURN_BASE. TRANSMIT outputs whose
 * base is SESSION_TURN_BASE + k go to the k-th TURN server connection (a UDP socket or a
 * TCP/TLS stream, as the shell opened it); relay candidates live on SESSION_RELAY_BASE + k.
 */
#define SESSION_TURN_BASE  1000
#define SESSION_RELAY_BASE 2000
#define SESSION_MAX_TURN   8

enum session_output_kind {
        SESSION_OUT_TRANSMIT = 1,
        SESSION_OUT_EVENT,
};

struct session_output {
        enum session_output_kind kind;
        /* TRANSMIT: valid until the next call on the session */
        int base;
        struct addr dest;
        const uint8_t *data;
        size_t len;
        /* EVENT */
        enum session_event_kind event;
        enum ice_state ice_state;
        const char *reason;
        struct ice_candidate_info local, remote;
        char cipher[64];
        uint16_t dc_id;
        bool dc_binary;
        char dc_label[256];
        char dc_protocol[256];
        int srtp_profile;
        int exit_code;
        char message[512];
        struct sdp_candidate candidate;
        /* MEDIA_FRAME */
        int media; /* enum session_media */
        bool lost, keyframe;
        uint32_t rtp_ts, samples, frames_skipped;
        uint64_t playout_us, first_arrival_us;
        /* BITRATE */
        uint32_t bitrate_bps;
        uint8_t loss_percent;
};

struct session;

int session_new(const struct session_config *cfg, struct session **out);
void session_free(struct session *s);

int session_add_host(struct session *s, int base, const struct addr *addr);
int session_add_stun_server(struct session *s, const struct addr *server);
/*
 * A TURN server reached through the shell's connection SESSION_TURN_BASE + index (the returned
 * index, counting from 0). The allocation starts at session_gather().
 */
int session_add_turn(struct session *s, const struct turn_config *cfg);
/* Bytes from TURN connection `index`: one datagram (UDP) or a piece of the stream (TCP/TLS). */
int session_handle_turn_input(struct session *s, uint64_t now, int index, const uint8_t *data,
                              size_t len);
/* The TCP/TLS connection to TURN server `index` ended (or could not be made). */
void session_turn_closed(struct session *s, uint64_t now, int index);
int session_gather(struct session *s, uint64_t now);
bool session_gathering_done(const struct session *s);
/* Local candidates in SDP form; returns the count (may exceed max) or a negative code. */
int session_local_candidates(const struct session *s, struct sdp_candidate *out, size_t max);

/*
 * Applies the negotiated descriptions: ICE credentials and candidates of the peer, the DTLS
 * role from a=setup and the peer's fingerprint. Both descriptions must be the checked pair
 * (sdp_create_answer / sdp_check_answer). Returns 0 or a negative code with msg filled.
 */
int session_apply(struct session *s, uint64_t now, const struct sdp *local,
                  const struct sdp *remote, char *msg, size_t msglen);
/*
 * A remote candidate that arrives after session_apply (trickle ICE, e.g. a WHIP PATCH). A
 * .local name is handed to the shell as SESSION_EV_REMOTE_MDNS. Returns 0 or a negative code.
 */
int session_add_remote_candidate(struct session *s, const struct sdp_candidate *c);
/* A remote .local candidate resolved by the shell's mDNS lookup. */
int session_add_resolved_candidate(struct session *s, const struct sdp_candidate *c,
                                   const struct addr *resolved);

int session_handle_datagram(struct session *s, uint64_t now, int base, const struct addr *from,
                            const uint8_t *data, size_t len);
int session_poll_output(struct session *s, struct session_output *out);
uint64_t session_next_deadline(const struct session *s);
void session_handle_timeout(struct session *s, uint64_t now);
/* Orderly hang-up: DTLS close_notify if secure, then ICE closes. Drain outputs afterwards. */
void session_close(struct session *s, uint64_t now);
int session_selected_stats(const struct session *s, struct ice_pair_stats *out);
/* "client" or "server" once the descriptions are applied, else NULL. */
const char *session_dtls_role(const struct session *s);

/*
 * Data channels (after SESSION_EV_DC_READY). The session always runs the SCTP association over
 * DTLS so that channels a peer opens come up; what to do with their messages is the caller's.
 */
int session_dc_open(struct session *s, uint64_t now, const char *label,
                    const struct dc_options *opt, uint16_t *id);
/* -EAGAIN: the send buffer is full, retry after SESSION_EV_DC_BUFFERED_LOW. */
int session_dc_send(struct session *s, uint64_t now, uint16_t id, bool binary, const uint8_t *data,
                    size_t len);
int session_dc_close(struct session *s, uint64_t now, uint16_t id);
/* Bytes given to the association and not yet acknowledged by the peer. */
size_t session_dc_buffered(struct session *s);
/*
 * What data may send, bit/s, for the shell to pace session_dc_send to; 0: no limit (no media is
 * being sent, or its feedback cannot show the queue data builds: SCTP's own congestion control
 * alone). While data flows beside media, video and data split what audio leaves evenly, and
 * the part one cannot use is the other's; the figure is kept while data is idle.
 */
uint32_t session_dc_budget_bps(const struct session *s);
/* Largest message the peer accepts (0 before the association exists). */
size_t session_dc_max_message(const struct session *s);
/* Largest message that fits one packet (0 before the association exists). */
size_t session_dc_max_unfragmented(const struct session *s);
/* A close in progress (see sctp_channel_peer_finished and sctp_channel_sent_all). */
bool session_dc_peer_finished(const struct session *s, uint16_t id);
bool session_dc_sent_all(struct session *s, uint16_t id);
/*
 * Sends one encoded frame (a VP8 frame, an Opus packet) of `media` captured at capture_us.
 * -ENOTCONN before SESSION_EV_MEDIA_READY or when the answer does not let us send it.
 */
int session_send_frame(struct session *s, uint64_t now, enum session_media media,
                       uint64_t capture_us, const uint8_t *data, size_t len);
bool session_sends(const struct session *s, enum session_media media);
uint32_t session_media_ssrc(const struct session *s, enum session_media media);
void session_set_bitrate(struct session *s, uint64_t now, enum session_media media, uint32_t bps);
struct rtp_sender_stats;
int session_media_stats(const struct session *s, enum session_media media,
                        struct rtp_sender_stats *out);

/* Counters of one data channel, for getStats-style reports. */
struct session_dc_stats {
        uint16_t id;
        char label[64];
        bool open;
        bool ours;
        uint64_t messages_sent, bytes_sent, messages_received, bytes_received;
};
/* Copies up to max channels' counters; returns how many there are. */
int session_dc_stats(const struct session *s, struct session_dc_stats *out, int max);
/* Stops taking messages from SCTP (its window closes) while the caller cannot write them. */
void session_dc_pause(struct session *s, bool paused);

/*
 * Media we receive (sections whose direction lets the peer send to us), from SESSION_EV_MEDIA_READY
 * on. -ENOENT when the track is not received.
 */
struct rtp_receiver_stats;
bool session_receives(const struct session *s, enum session_media media);
int session_recv_stats(const struct session *s, enum session_media media,
                       struct rtp_receiver_stats *out);
/* The decoder needs a key frame (it failed or starts late): PLI/FIR to the sender. */
void session_request_keyframe(struct session *s, uint64_t now, enum session_media media);
/* Lip sync: extra playout delay for one received track. */
void session_set_sync_delay(struct session *s, enum session_media media, uint64_t extra_us);
/* The sender's capture time (NTP µs) of a received RTP timestamp; -ENODATA before its first SR. */
/* Congestion control's current bitrate for a sending track (0 before the first estimate). */
uint32_t session_media_target(const struct session *s, enum session_media media);
/* The bandwidth estimate of what we send; -ENOENT when we send no media. */
struct gcc_stats;
int session_bwe_stats(const struct session *s, struct gcc_stats *out);
int session_remote_ntp(const struct session *s, enum session_media media, uint32_t rtp_ts,
                       uint64_t *ntp_us);

#endif
