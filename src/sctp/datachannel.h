/*
 * WebRTC data channels (RFC 8831) on an SCTP association, opened in-band with DCEP (RFC 8832).
 *
 * A channel is one SCTP stream id used in both directions. The DTLS client opens channels on
 * even ids and the DTLS server on odd ids, so the two sides never pick the same one. Opening
 * sends DATA_CHANNEL_OPEN on the stream; the channel is usable at once (messages sent before
 * the peer's ACK go ordered, so they cannot overtake the OPEN). A channel the peer opens is
 * acknowledged and reported as SCTP_OUTPUT_CHANNEL_OPEN.
 *
 * Closing resets our outgoing stream (RFC 6525); the peer answers by resetting its own, and each
 * side reports SCTP_OUTPUT_CHANNEL_CLOSED once both directions are reset; the id is then free
 * for reuse. The side that answers a close reports it last, when its own reset completes: by
 * then the other side has its CLOSED too, so hanging up on CLOSED never cuts the other short.
 *
 * Malformed DCEP messages, unknown PPIDs and data on streams without a channel are logged and
 * dropped; they never end the association.
 */
#ifndef RTCPEER_SCTP_DATACHANNEL_H
#define RTCPEER_SCTP_DATACHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sctp/sctp.h"

/*
 * Opens a channel; *id gets its stream id. label and protocol are UTF-8 C strings (NULL means
 * ""), copied. opt NULL means reliable and ordered. -ENOTCONN before ASSOC_UP, -EINVAL for bad
 * options or text (not UTF-8, longer than 65535 bytes), -ENOSPC when every id of our parity is
 * taken, -EAGAIN when the send buffer cannot take the OPEN right now.
 */
int sctp_channel_open(struct sctp_assoc *a, const char *label, const char *protocol,
                      const struct dc_options *opt, uint16_t *id);

/*
 * Sends one message; binary selects PPID 53 (57 when empty) over 51 (56). Returns 0 once the
 * whole message is queued in the association, or:
 *   -EMSGSIZE  len exceeds sctp_assoc_max_message_size
 *   -EAGAIN    the send buffer is full: nothing was queued; retry after BUFFERED_LOW
 *   -ENOENT    no such channel;  -EPIPE  the channel is closing or closed
 *   -ENOTCONN  the association is not up
 */
int sctp_channel_send(struct sctp_assoc *a, uint16_t id, bool binary, const void *data, size_t len);

/*
 * Starts closing: no more sends; messages already queued are still delivered before the reset
 * (RFC 8831 section 6.7). The reset of a channel we opened also waits for the peer's ACK and
 * half a second after it: Chromium drops the messages of a channel that closes before its page
 * has taken it. CHANNEL_CLOSED follows once both directions are reset. -ENOENT for an unknown
 * id, 0 if already closing.
 */
int sctp_channel_close(struct sctp_assoc *a, uint16_t id);

/* Sets the BUFFERED_LOW threshold of one channel (default: the config's buffered_low). */
int sctp_channel_set_buffered_low(struct sctp_assoc *a, uint16_t id, size_t threshold);

/* True while id names a channel that is open for sending. */
bool sctp_channel_is_open(const struct sctp_assoc *a, uint16_t id);

/*
 * Where a close stands while CLOSED is not reported yet, for an application that sees the peer
 * hang up meanwhile (the last reset answer can be lost as the other side leaves):
 * peer_finished: the peer reset its direction, so every message it sent on id has arrived;
 * sent_all: we closed id and the peer acknowledged every byte we sent on it (it answered our
 * reset, or nothing is left unacknowledged on the association).
 */
bool sctp_channel_peer_finished(const struct sctp_assoc *a, uint16_t id);
bool sctp_channel_sent_all(struct sctp_assoc *a, uint16_t id);

#endif
