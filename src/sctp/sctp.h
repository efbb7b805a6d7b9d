/*
 * SCTP over DTLS (RFC 8261) with usrsctp, sans-IO. Each decrypted DTLS record goes in with the
 * time; packets for dtls_send, association and channel events, and the next deadline come out.
 * The data channels on top (RFC 8831/8832) are in datachannel.h.
 *
 * usrsctp is one global stack per process. It runs in its no-threads mode: its packet output
 * callback only appends to the owning association's queue, and its timers advance when any
 * association is given input or a timeout, by the time elapsed since the last call. So:
 *   - all associations of a process must be given times from the same monotonic clock;
 *   - input or a timeout on one association can run another's timers: after handling anything,
 *     poll every association you own (the shell has one; tests have two).
 * The library is initialised on the first sctp_assoc_new and stays so for the process.
 *
 * usrsctp also reads gettimeofday() itself, to measure round trips and to decide which chunks
 * have waited a full RTO when a retransmission timer fires. now_us must therefore advance with
 * real time; a test that runs a virtual clock has to present it through gettimeofday() as well
 * (tests/unit/test_sctp.c does).
 *
 * Both sides connect to each other (RFC 8841 section 4: no client/server at the SCTP level);
 * usrsctp resolves the simultaneous INITs. Ports come from a=sctp-port (default 5000).
 *
 * Typical loop (the session):
 *   sctp_assoc_new(&cfg, &a);                   when the SDP is negotiated
 *   sctp_assoc_start(a, now);                   when DTLS is CONNECTED
 *   sctp_assoc_handle_input(a, now, d, n);      for every DTLS_OUTPUT_DATA record
 *   while (sctp_assoc_poll_output(a, &o) == 1)  after every call into the module
 *           TRANSMIT -> dtls_send(o.data, o.len); events -> the application
 *   sctp_assoc_next_deadline(a) / sctp_assoc_handle_timeout(a, now)
 */
#ifndef RTCPEER_SCTP_SCTP_H
#define RTCPEER_SCTP_SCTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCTP_DEFAULT_PORT 5000
/* RFC 8841 section 6: what to assume when the peer's SDP has no a=max-message-size. */
#define SCTP_DEFAULT_MAX_MESSAGE_SIZE 65536
/* Largest message we accept unless configured otherwise (announce it in our SDP). */
#define SCTP_DEFAULT_RECEIVE_LIMIT (256 * 1024)
/*
 * Largest SCTP packet: what fits one DTLS record in a 1200-byte datagram with the worst common
 * record overhead (AES-CBC-SHA1: 13 header + 16 IV + 20 MAC + 16 padding). Prefer
 * dtls_max_payload() once DTLS is connected.
 */
#define SCTP_DEFAULT_MTU          1135
#define SCTP_DEFAULT_BUFFER       (1024 * 1024) /* send and receive socket buffers */
#define SCTP_DEFAULT_BUFFERED_LOW (256 * 1024)
/* Streams we ask for in each direction; channel ids are below the negotiated count. */
#define SCTP_MAX_STREAMS 1024

struct sctp_config {
        /* Our DTLS role: the DTLS client opens channels on even ids, the server on odd. */
        bool dtls_client;
        uint16_t local_port;  /* our a=sctp-port; 0: SCTP_DEFAULT_PORT */
        uint16_t remote_port; /* the peer's a=sctp-port; 0: SCTP_DEFAULT_PORT */
        /*
         * The peer's a=max-message-size. 0: absent, SCTP_DEFAULT_MAX_MESSAGE_SIZE applies. The
         * SDP value 0 means "no limit": pass SIZE_MAX. Sends are also capped by send_buffer.
         */
        size_t peer_max_message_size;
        size_t receive_limit;  /* largest message we deliver; 0: SCTP_DEFAULT_RECEIVE_LIMIT */
        unsigned mtu;          /* largest packet handed out; 0: SCTP_DEFAULT_MTU (>= 512) */
        size_t send_buffer;    /* SO_SNDBUF; 0: SCTP_DEFAULT_BUFFER */
        size_t receive_buffer; /* SO_RCVBUF (the advertised window); 0: SCTP_DEFAULT_BUFFER */
        size_t buffered_low; /* BUFFERED_LOW threshold per channel; 0: SCTP_DEFAULT_BUFFERED_LOW */
};

/* Reliability of a channel, as carried in DATA_CHANNEL_OPEN. All zero: reliable and ordered. */
enum dc_reliability {
        DC_RELIABLE = 0,
        DC_MAX_RETRANSMITS, /* PR-SCTP SCTP_PR_SCTP_RTX: reliability_param retransmissions */
        DC_MAX_LIFETIME,    /* PR-SCTP SCTP_PR_SCTP_TTL: reliability_param milliseconds */
};

struct dc_options {
        bool unordered;
        enum dc_reliability reliability;
        uint32_t reliability_param;
        uint16_t priority; /* DCEP priority; 0 means DCEP_PRIORITY_NORMAL (256) */
};

enum sctp_output_kind {
        SCTP_OUTPUT_TRANSMIT,        /* data/len: one SCTP packet, to send with dtls_send */
        SCTP_OUTPUT_ASSOC_UP,        /* the association is established; channels may open */
        SCTP_OUTPUT_ASSOC_DOWN,      /* orderly end (SHUTDOWN done); the association is dead */
        SCTP_OUTPUT_ASSOC_FAILED,    /* error/reason: setup failed, peer aborted or timed out */
        SCTP_OUTPUT_CHANNEL_OPEN,    /* id, label, protocol, options: the peer opened a channel */
        SCTP_OUTPUT_CHANNEL_MESSAGE, /* id, binary, data/len (len may be 0) */
        SCTP_OUTPUT_CHANNEL_CLOSED,  /* id: both directions reset, or the association ended */
        SCTP_OUTPUT_BUFFERED_LOW,    /* id: sctp_assoc_buffered fell to the threshold again */
};

/*
 * ASSOC_FAILED error codes:
 *   -ECONNREFUSED  the association could not be set up (INIT or COOKIE retransmissions ran out)
 *   -ECONNRESET    the peer aborted it
 *   -ETIMEDOUT     the peer stopped answering (retransmission limit reached)
 */
struct sctp_output {
        enum sctp_output_kind kind;
        const uint8_t *data; /* TRANSMIT, CHANNEL_MESSAGE: valid until the next poll or free */
        size_t len;
        uint16_t id;       /* CHANNEL_*, BUFFERED_LOW */
        bool binary;       /* CHANNEL_MESSAGE: PPID binary (53/57) rather than string (51/56) */
        const char *label; /* CHANNEL_OPEN: NUL-terminated UTF-8, valid like data */
        size_t label_len;  /* label may itself contain NUL bytes */
        const char *protocol;
        size_t protocol_len;
        struct dc_options options; /* CHANNEL_OPEN */
        int error;                 /* ASSOC_FAILED */
        char reason[128];          /* ASSOC_FAILED: one line for the user */
};

struct sctp_assoc;

/*
 * Starts usrsctp now (about 6 ms: it seeds its random numbers and lists the host's interfaces)
 * rather than in the first sctp_assoc_new, which the session calls once DTLS is connected, while
 * the peer waits for our last handshake flight. Optional; idempotent.
 */
void sctp_lib_prepare(void);

/* Creates the socket and binds the local port. -ENOMEM, -EINVAL, or -EIO if usrsctp fails. */
int sctp_assoc_new(const struct sctp_config *cfg, struct sctp_assoc **out);
/* Aborts the association (nothing more is sent) and releases it. Accepts NULL. */
void sctp_assoc_free(struct sctp_assoc *a);

/*
 * Sets the largest packet (what one DTLS record carries: dtls_max_payload) before start, for an
 * association made ahead of the DTLS handshake. -EINVAL out of range, -EALREADY once started.
 */
int sctp_assoc_set_mtu(struct sctp_assoc *a, unsigned mtu);

/* Sends our INIT. Input before start starts the association too. */
int sctp_assoc_start(struct sctp_assoc *a, uint64_t now_us);

/* One decrypted DTLS record carrying one SCTP packet. Returns 0, or -EINVAL for bad arguments. */
int sctp_assoc_handle_input(struct sctp_assoc *a, uint64_t now_us, const void *data, size_t len);

/* 1 and *out filled, or 0 when nothing is queued. */
int sctp_assoc_poll_output(struct sctp_assoc *a, struct sctp_output *out);

/* When sctp_assoc_handle_timeout wants to run next; UINT64_MAX before start and once dead. */
uint64_t sctp_assoc_next_deadline(const struct sctp_assoc *a);
void sctp_assoc_handle_timeout(struct sctp_assoc *a, uint64_t now_us);

/*
 * Bytes given to the association and not yet acknowledged by the peer: queued, in flight or
 * waiting for retransmission. id < 0: the whole association. For a channel: the bytes sent on
 * it since the send buffer was last empty, capped by the association total, so with one busy
 * channel it is exact and with several it is an upper bound. Stop feeding a channel above a
 * bound of your choosing and resume on BUFFERED_LOW. 0 for an unknown id.
 */
size_t sctp_assoc_buffered(struct sctp_assoc *a, int id);

/*
 * Stops (true) or resumes reading received messages from the SCTP stack, for when the consumer
 * of CHANNEL_MESSAGE cannot keep up: unread data stays in the receive buffer, our advertised
 * window closes and the peer's sctp_assoc_buffered grows. Packets and timers keep running.
 * Events that follow unread data (stream resets, shutdown) wait behind it.
 */
void sctp_assoc_set_receive_paused(struct sctp_assoc *a, bool paused);

/* Starts an orderly SHUTDOWN once queued data is acknowledged; ASSOC_DOWN reports the end. */
int sctp_assoc_shutdown(struct sctp_assoc *a);

bool sctp_assoc_is_up(const struct sctp_assoc *a);
/*
 * Largest message that travels in a single packet. A partially reliable message is lost as a
 * whole when any of its packets is, so a sender that may choose its sizes keeps them to this.
 */
size_t sctp_assoc_max_unfragmented(const struct sctp_assoc *a);
/* Largest message sctp_channel_send accepts: min(peer's max-message-size, send buffer). */
size_t sctp_assoc_max_message_size(const struct sctp_assoc *a);

#endif
