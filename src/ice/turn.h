/*
 * TURN client (RFC 8656, compatible with RFC 5766 servers), sans-IO. One client is one allocation
 * on one server over one transport: the shell moves bytes between the client and a socket (UDP,
 * or a TCP/TLS stream it owns), passes the time in, and drains outputs.
 *
 * Flow: turn_client_start() sends an Allocate without credentials; the server's 401 gives the
 * REALM and NONCE, the client derives the long-term key and asks again with MESSAGE-INTEGRITY.
 * 438 Stale Nonce is retried with the new nonce (a few times). Responses to authenticated requests
 * must carry a valid MESSAGE-INTEGRITY, otherwise they are dropped as forged. The allocation,
 * permissions (5 min on the server, refreshed every 4 min) and channels (10 min, refreshed at
 * 9 min) are refreshed by the client from turn_client_handle_timeout().
 *
 * Sending: turn_client_send() installs a permission for a new peer on its own. Data for a peer
 * whose permission is still pending is queued (bounded) and sent when the server confirms it,
 * because a server silently drops Send indications to peers without a permission, and over UDP a
 * CreatePermission and the data after it may be reordered or lost independently. Once a channel
 * is bound to the peer, data goes as ChannelData (4 bytes of overhead instead of 36); until then
 * as Send indications.
 */
#ifndef RTCPEER_ICE_TURN_H
#define RTCPEER_ICE_TURN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"

#define TURN_DEFAULT_LIFETIME_S    600u
#define TURN_PERMISSION_LIFETIME_S 300u
#define TURN_PERMISSION_REFRESH_S  240u
#define TURN_CHANNEL_LIFETIME_S    600u
#define TURN_CHANNEL_REFRESH_S     540u
/*
 * Watching the server of an allocation that carries the call (turn_client_set_watched): when a
 * STUN request relayed to a peer (an ICE consent check) has waited TURN_PROBE_UNANSWERED_MS and
 * nothing at all came back from the server (no response, no peer data) for TURN_PROBE_SILENCE_MS,
 * a Refresh goes out at once with a short budget: sent at 0, 0.5 and 1.5 s (once on TCP/TLS),
 * given up at TURN_PROBE_BUDGET_MS.
 */
#define TURN_PROBE_SILENCE_MS    3000u
#define TURN_PROBE_UNANSWERED_MS 1000u
#define TURN_PROBE_BUDGET_MS     3000u
/* After an answered check, the silence that triggers the next one doubles, up to 8 times. */
#define TURN_PROBE_BACKOFF_MAX 3u
/* How many times one request is re-sent after 438 Stale Nonce before the client gives up. */
#define TURN_MAX_NONCE_RETRIES 3u
/* Bounds so a misbehaving caller or peer fails cleanly instead of eating memory. */
#define TURN_MAX_PEERS           1024u
#define TURN_MAX_QUEUED_PER_PEER 32u
#define TURN_MAX_OUTPUTS         4096u
#define TURN_CHANNEL_MIN         0x4000u
#define TURN_CHANNEL_MAX         0x4FFFu

enum turn_transport {
        TURN_TRANSPORT_UDP = 0,
        /* TCP and TLS are the same to the client: a reliable byte stream framed by RFC 8656 §11. */
        TURN_TRANSPORT_TCP,
        TURN_TRANSPORT_TLS,
};

struct turn_config {
        struct addr server; /* used in messages and as TRANSMIT destination */
        enum turn_transport transport;
        const char *username; /* NULL for a server without authentication; copied */
        const char *password; /* copied */
        /* Relayed address family: ADDR_FAMILY_NONE or _IPV4 (the server's default), or _IPV6. */
        enum addr_family family;
        uint32_t lifetime_s;  /* requested allocation lifetime; 0 = TURN_DEFAULT_LIFETIME_S */
        const char *software; /* SOFTWARE attribute, NULL for none; copied */
};

enum turn_output_kind {
        TURN_OUT_TRANSMIT = 1,  /* send data (len bytes) to the server */
        TURN_OUT_ALLOCATED,     /* relayed, mapped, lifetime_s */
        TURN_OUT_FAILED,        /* the allocation is gone or never came: reason; client is inert */
        TURN_OUT_DATA,          /* data from peer through the relay */
        TURN_OUT_PERMISSION_OK, /* peer (port not significant) */
        TURN_OUT_PERMISSION_FAILED, /* peer, reason; queued data for it was dropped */
        TURN_OUT_CHANNEL_OK,        /* peer, channel */
        TURN_OUT_CHANNEL_FAILED, /* peer, channel, reason; data keeps going as Send indications */
        TURN_OUT_CLOSED,         /* after turn_client_close(): the release is done (or gave up) */
};

/* Pointers stay valid until the next call on the client. */
struct turn_output {
        enum turn_output_kind kind;
        const uint8_t *data; /* TRANSMIT, DATA */
        size_t len;
        struct addr dst;             /* TRANSMIT: the server */
        struct addr peer;            /* DATA, PERMISSION_*, CHANNEL_* */
        uint16_t channel;            /* CHANNEL_*, and DATA that came as ChannelData (else 0) */
        struct addr relayed, mapped; /* ALLOCATED */
        uint32_t lifetime_s;         /* ALLOCATED */
        int error;                   /* FAILED, *_FAILED: negative errno-style code */
        uint16_t stun_error;         /* FAILED, *_FAILED: the server's error code, 0 if none */
        const char *reason;          /* FAILED, *_FAILED: one line naming the server */
};

struct turn_client;

/* Returns NULL on bad configuration (no server, password without username...) or no memory. */
struct turn_client *turn_client_new(const struct turn_config *cfg);
void turn_client_free(struct turn_client *c);

/* Sends the first Allocate. Returns 0, -EALREADY, -ENOMEM. */
int turn_client_start(struct turn_client *c, uint64_t now_us);
/* Releases the allocation (Refresh with LIFETIME 0); TURN_OUT_CLOSED follows. */
int turn_client_close(struct turn_client *c, uint64_t now_us);

/* One UDP datagram from the server. Malformed or unexpected input is dropped: returns 0. */
int turn_client_handle_datagram(struct turn_client *c, uint64_t now_us, const uint8_t *data,
                                size_t len);
/*
 * Bytes read from a TCP/TLS stream to the server, in any chunking. Returns 0, or -EPROTO when
 * the stream carries something that is neither STUN nor ChannelData (the client then fails, as
 * a byte stream cannot be resynchronised).
 */
int turn_client_handle_stream(struct turn_client *c, uint64_t now_us, const uint8_t *data,
                              size_t len);
/*
 * The TCP/TLS connection to the server ended (EOF or error). The allocation is tied to the
 * connection, so this fails the client (or completes a pending close). Returns 0.
 */
int turn_client_handle_stream_closed(struct turn_client *c, uint64_t now_us);

/*
 * Installs a permission for peer's IP address (the port does not matter) and keeps it fresh.
 * Returns 0 (also when it exists or is pending), -ENOTCONN (no allocation), -ENOSPC.
 */
int turn_client_create_permission(struct turn_client *c, uint64_t now_us, const struct addr *peer);
/*
 * Binds a channel to peer (address and port) and keeps it fresh; also installs the permission.
 * *channel (may be NULL) gets the number. Returns 0, -ENOTCONN, -ENOSPC.
 */
int turn_client_bind_channel(struct turn_client *c, uint64_t now_us, const struct addr *peer,
                             uint16_t *channel);
/*
 * Relays data to peer. Returns 0 (sent or queued), -ENOTCONN (no allocation), -EACCES (the server
 * refused a permission for this peer; turn_client_create_permission() asks again), -ENOBUFS
 * (queue for a pending peer full), -EMSGSIZE.
 */
int turn_client_send(struct turn_client *c, uint64_t now_us, const struct addr *peer,
                     const uint8_t *data, size_t len);

/* 1 = *out filled, 0 = nothing, <0 = error. */
int turn_client_poll_output(struct turn_client *c, struct turn_output *out);
uint64_t turn_client_next_deadline(const struct turn_client *c);
void turn_client_handle_timeout(struct turn_client *c, uint64_t now_us);

/*
 * The allocation carries the call (the selected ICE pair is relayed through it): watch the
 * server, and when it falls silent while a check to the peer waits for its answer (see
 * TURN_PROBE_SILENCE_MS), check at once that it still holds the allocation, instead of at the
 * next scheduled refresh. 437 Allocation Mismatch (the server restarted and forgot us), another
 * error, no answer within TURN_PROBE_BUDGET_MS, fail the client (TURN_OUT_FAILED, the reason
 * names the server). An answer means the server is fine and the silence is the peer's: the client
 * carries on (ICE consent decides), and waits twice as long before the next check, until data
 * from a peer arrives again. Off by default.
 */
void turn_client_set_watched(struct turn_client *c, bool watched);

/* The relayed address once allocated. Returns 0 or -ENOTCONN. */
int turn_client_relayed_address(const struct turn_client *c, struct addr *out);
bool turn_client_is_allocated(const struct turn_client *c);

#endif
