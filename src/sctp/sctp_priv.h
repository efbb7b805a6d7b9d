/*
 * Internals shared by sctp.c (the usrsctp glue) and datachannel.c (channels and DCEP). Not part
 * of the API; unit tests include it to inject raw messages.
 */
#ifndef RTCPEER_SCTP_SCTP_PRIV_H
#define RTCPEER_SCTP_SCTP_PRIV_H

#include "core/buf.h"
#include "sctp/sctp.h"

struct socket;

struct sctp_item {
        struct sctp_item *next;
        enum sctp_output_kind kind;
        uint16_t id;
        bool binary;
        int error;
        struct dc_options options;
        size_t len;          /* bytes of data used by the payload (TRANSMIT, MESSAGE) */
        size_t label_len;    /* CHANNEL_OPEN: data = label NUL protocol NUL */
        size_t protocol_len; /* ASSOC_FAILED: data = reason NUL */
        uint8_t data[];
};

/* An incoming packet with a stream reset request, held back until we have the TSNs it names. */
struct sctp_held {
        struct sctp_held *next;
        uint32_t tsn; /* the peer's last assigned TSN in the request */
        uint64_t since;
        size_t len;
        uint8_t data[];
};

enum sctp_channel_state {
        SCTP_CH_OPEN,    /* sending allowed */
        SCTP_CH_CLOSING, /* closed by either side: waiting for both directions to be reset */
        SCTP_CH_CLOSED,  /* CLOSED reported (the association ended, or both resets are done) */
};

struct sctp_channel {
        enum sctp_channel_state state;
        struct dc_options options;
        bool local;          /* we opened it */
        bool acked;          /* ACK received, or the peer opened it */
        bool ack_pending;    /* the ACK for a peer's OPEN could not be queued yet */
        bool reset_wanted;   /* our outgoing stream must be reset */
        bool reset_accepted; /* usrsctp took the reset request */
        bool out_reset_done; /* our outgoing stream is reset */
        bool in_reset_done;  /* the peer's outgoing stream is reset */
        /* Reopened by the peer before the answer to the last channel's reset reached us: that
         * answer's event belongs to the old channel (see dc_on_open). */
        bool stale_out_reset;
        uint64_t acked_us;  /* when the ACK (or the peer's first message) came: sctp_now() */
        uint64_t closed_us; /* when sctp_channel_close was called */
        bool low_armed;     /* BUFFERED_LOW is due when buffered falls to low_threshold */
        size_t low_threshold;
        uint64_t sent_since_empty; /* bytes sent since the association's send buffer was empty */
        struct buf partial;        /* deprecated PPID 52/54 fragments */
        bool partial_overflow;
};

enum sctp_assoc_state {
        SCTP_ST_IDLE,       /* created, INIT not sent */
        SCTP_ST_CONNECTING, /* INIT sent */
        SCTP_ST_UP,
        SCTP_ST_DEAD, /* DOWN or FAILED reported */
};

struct sctp_assoc {
        struct sctp_config cfg; /* defaults filled in */
        struct socket *sock;
        enum sctp_assoc_state state;
        bool freeing;
        bool rx_paused;
        bool draining; /* guards drain against re-entry */
        struct sctp_assoc *next_global;

        struct sctp_item *q_head, *q_tail, *q_polled;

        /* Stream reset requests that arrived ahead of data we miss (sctp.c, sctp_input). */
        struct sctp_held *held;
        unsigned n_held;
        uint32_t sack_cum; /* cumulative TSN of the last SACK we sent */
        bool sack_cum_valid;
        uint64_t sack_cum_moved; /* when sack_cum last advanced: sctp_now() */

        uint8_t *rdbuf; /* usrsctp_recvv target */
        struct buf rx_msg;
        bool rx_in_msg;
        bool rx_discard;
        uint16_t rx_sid;
        uint32_t rx_ppid;
        struct buf rx_notif;

        uint16_t streams; /* usable ids: min(negotiated inbound, outbound) */
        size_t send_limit;
        uint64_t next_tick;
        bool idle_tick; /* next_tick is the slow one */
        uint64_t last_activity;
        bool activity;          /* something happened since the last tick decision */
        bool resets_queued;     /* a channel waits to reset its stream (datachannel.c) */
        uint64_t status_logged; /* when sctp_log_status last wrote a line */
        bool pr_sent;           /* a partially reliable message was sent (sctp_probe_rtt) */
        uint64_t rtt_probed;    /* when sctp_probe_rtt last asked for a heartbeat */
        unsigned rtt_probes;    /* how many it asked for */

        struct sctp_channel *ch[SCTP_MAX_STREAMS];
        unsigned ch_end; /* one past the highest id in use: bounds the per-packet scans */
};

/* sctp.c */
/* The time last given to any association (microseconds, the caller's clock). */
uint64_t sctp_now(void);
/* CRC32c of an SCTP packet whose checksum field is zero, as the header stores it. */
uint32_t sctp_crc32c(const void *p, size_t n);
struct sctp_item *sctp_assoc_push(struct sctp_assoc *a, enum sctp_output_kind kind, size_t extra);
/* One message on a stream; -EAGAIN when the send buffer is full, other -errno from usrsctp. */
int sctp_assoc_send_raw(struct sctp_assoc *a, uint16_t sid, uint32_t ppid, bool unordered,
                        const struct dc_options *pr, const void *data, size_t len);
int sctp_assoc_reset_stream(struct sctp_assoc *a, uint16_t sid);
size_t sctp_assoc_total_buffered(struct sctp_assoc *a);
/* usrsctp's current retransmission timeout for the peer, in ms; 0 when it has none. */
uint32_t sctp_assoc_rto_ms(struct sctp_assoc *a);

/* datachannel.c */
void sctp_channel_on_message(struct sctp_assoc *a, uint16_t sid, uint32_t ppid, const uint8_t *data,
                             size_t len);
void sctp_channel_on_reset(struct sctp_assoc *a, uint16_t flags, const uint16_t *sids, size_t n);
void sctp_channel_on_send_buffer_empty(struct sctp_assoc *a);
/* Retries pending ACKs and resets, reports BUFFERED_LOW. */
void sctp_channel_on_tick(struct sctp_assoc *a);
/* The association ended: CLOSED for every channel not yet reported, then all released. */
void sctp_channel_on_assoc_end(struct sctp_assoc *a);
void sctp_channel_free_all(struct sctp_assoc *a);

#endif
